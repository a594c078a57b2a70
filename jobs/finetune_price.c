/* finetune_price.c: a model's size (from the caller's model table or from its name), the
 * size tiers with their hourly price and default GPUs, and the GPU table override. Sizes are
 * integers in millions of parameters so tier boundaries compare exactly. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "gpu/gpu.h"
#include "jobs/finetune.h"

#define SETERR(...)                                                                                \
    do {                                                                                           \
        if (err) (void)gb_snprintf_words(err, GB_JSON_ERR_MAX, __VA_ARGS__);                       \
    } while (0)

#define SIZE_MAX_M INT64_C(100000000) /* 100T parameters: anything larger is a typo */
#define GPU_COUNT_MAX 64

typedef struct {
    const char *name;
    int64_t max_m; /* the tier holds sizes <= max_m millions */
    gb_money per_hour;
    int gpu_count;
    const char *gpu_type;
} tier;

/* The price and GPU tables (docs/fine-tuning.md). */
static const tier TIERS[] = {
    {"small", 1000, INT64_C(18500000), 1, "RTX4090"},
    {"medium", 8000, INT64_C(27750000), 1, "H100"},
    {"large", 40000, INT64_C(46250000), 2, "H100"},
    {"xlarge", SIZE_MAX_M, INT64_C(92500000), 8, "H100"},
};
static const tier IMAGE_TIER = {"image", 0, INT64_C(9250000), 1, "RTX4090"};

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses a whole token "[Nx]D[.DDD]U" (U one of B, M, T in either case), e.g. "8B", "0.5b",
 * "8x7B", "500M", into millions of parameters. -1 when it is not a size. */
static int token_size(const char *t, size_t n, int64_t *millions)
{
    size_t i = 0;
    int64_t mult = 1, whole = 0, frac = 0;
    int fd = 0;
    /* an "Nx" multiplier (mixture of experts: 8x7B is 56B) */
    size_t k = 0;
    while (k < n && k < 3 && digit(t[k]))
        k++;
    if (k > 0 && k < n && (t[k] == 'x' || t[k] == 'X') && k + 1 < n && digit(t[k + 1])) {
        mult = 0;
        for (; i < k; i++)
            mult = mult * 10 + (t[i] - '0');
        i = k + 1;
        if (mult < 1 || mult > 256) return -1;
    }
    size_t start = i;
    for (; i < n && digit(t[i]); i++) {
        if (i - start >= 6) return -1;
        whole = whole * 10 + (t[i] - '0');
    }
    if (i == start) return -1;
    if (i < n && t[i] == '.') {
        for (i++; i < n && digit(t[i]); i++) {
            if (++fd > 3) return -1;
            frac = frac * 10 + (t[i] - '0');
        }
        if (fd == 0) return -1;
    }
    for (; fd < 3; fd++)
        frac *= 10;
    int64_t thousandths = whole * 1000 + frac; /* of the unit */
    if (i + 1 != n) return -1;                 /* exactly one unit letter ends the token */
    int64_t m;
    switch (t[i]) {
    case 'b':
    case 'B':
        m = thousandths;
        break;
    case 'm':
    case 'M':
        m = (thousandths + 500) / 1000;
        if (m == 0 && thousandths > 0) m = 1;
        break;
    case 't':
    case 'T':
        m = thousandths * 1000;
        break;
    default:
        return -1;
    }
    m *= mult;
    if (m <= 0 || m > SIZE_MAX_M) return -1;
    *millions = m;
    return 0;
}

/* The largest size token of a model id; tokens are split at '/', '-', '_', ':' and spaces. */
static int name_size(const char *model, int64_t *millions)
{
    int64_t best = 0, m;
    const char *p = model;
    while (*p) {
        size_t n = strcspn(p, "/-_: ");
        if (n > 0 && token_size(p, n, &m) == 0 && m > best) best = m;
        p += n;
        if (*p) p++;
    }
    if (best == 0) return -1;
    *millions = best;
    return 0;
}

static gb_err table_size(const cJSON *table, const char *model, int64_t *millions, char *err)
{
    if (!table) return GB_ERR_NOT_FOUND;
    if (!cJSON_IsObject(table)) {
        SETERR("the model table must be a JSON object");
        return GB_ERR_INVALID;
    }
    for (const cJSON *c = table->child; c; c = c->next) {
        if (!c->string || !gb_str_ieq(c->string, model)) continue;
        int bad = 1;
        if (cJSON_IsString(c) && c->valuestring)
            bad = token_size(c->valuestring, strlen(c->valuestring), millions);
        else if (cJSON_IsNumber(c) && isfinite(c->valuedouble) && c->valuedouble > 0 &&
                 c->valuedouble * 1000.0 <= (double)SIZE_MAX_M) {
            *millions = llround(c->valuedouble * 1000.0);
            bad = *millions <= 0;
        }
        if (bad) {
            SETERR("the model table's size for this model is not a size like 7B or 500M");
            return GB_ERR_INVALID;
        }
        return GB_OK;
    }
    return GB_ERR_NOT_FOUND;
}

gb_err ft_model_size_m(const char *model, const cJSON *model_table, int64_t *millions, char *err)
{
    if (!model || !model[0]) {
        SETERR("field 'model' is required");
        return GB_ERR_INVALID;
    }
    gb_err e = table_size(model_table, model, millions, err);
    if (e != GB_ERR_NOT_FOUND) return e;
    if (name_size(model, millions) == 0) return GB_OK;
    SETERR("field 'model': the model's size is not in its name (like 8B or 500M) nor in the "
           "model table, so it cannot be priced");
    return GB_ERR_INVALID;
}

gb_err ft_model_params(const char *model, const cJSON *model_table, double *billions, char *err)
{
    int64_t m = 0;
    gb_err e = ft_model_size_m(model, model_table, &m, err);
    if (!e) *billions = (double)m / 1000.0;
    return e;
}

static const tier *tier_of(int64_t millions, const char *task_type)
{
    if (task_type && strcmp(task_type, "image") == 0) return &IMAGE_TIER;
    if (millions <= 0) return NULL;
    for (size_t i = 0; i < GB_ARRAY_LEN(TIERS); i++)
        if (millions <= TIERS[i].max_m) return &TIERS[i];
    return &TIERS[GB_ARRAY_LEN(TIERS) - 1];
}

gb_err ft_price_per_hour(const ft_request *r, const cJSON *model_table, gb_money *per_hour,
                         char *err)
{
    int64_t m = 0;
    if (strcmp(r->task_type, "image") != 0) {
        gb_err e = ft_model_size_m(r->model, model_table, &m, err);
        if (e) return e;
    }
    *per_hour = tier_of(m, r->task_type)->per_hour;
    return GB_OK;
}

gb_err ft_price_for_size(const char *task_type, int64_t millions, gb_money *per_hour)
{
    const tier *t = tier_of(millions, task_type);
    if (!t) return GB_ERR_INVALID;
    *per_hour = t->per_hour;
    return GB_OK;
}

const char *ft_tier_for_size(const char *task_type, int64_t millions)
{
    const tier *t = tier_of(millions, task_type);
    return t ? t->name : NULL;
}

gb_money ft_total(gb_money per_hour, int hours)
{
    gb_money out;
    if (per_hour < 0 || hours < 0 || gb_money_mul_ratio(per_hour, hours, 1, &out) != 0) return -1;
    return out;
}

/* Reads one override entry: {"gpuType": "H100", "gpuCount": 2}, either key optional. */
static gb_err gpu_entry(const cJSON *e, int *count, char *type, char *err)
{
    static const char *const keys[] = {"gpuType", "gpuCount", NULL};
    const char *t = NULL;
    int64_t c = 0;
    gb_err r = gb_json_only_keys(e, keys, err);
    if (r) return r;
    r = gb_json_str(e, "gpuType", 1, 31, false, &t, err);
    if (r && r != GB_ERR_NOT_FOUND) return r;
    r = gb_json_int(e, "gpuCount", 1, GPU_COUNT_MAX, false, &c, err);
    if (r && r != GB_ERR_NOT_FOUND) return r;
    if (t && type) gpu_normalize(t, type, NULL);
    if (c && count) *count = (int)c;
    return GB_OK;
}

const char *ft_gpu_tier(double billions, const char *task_type, const cJSON *gpu_table,
                        int *gpu_count, char *gpu_type)
{
    int64_t m = isfinite(billions) && billions > 0 && billions * 1000.0 <= (double)SIZE_MAX_M
                    ? llround(billions * 1000.0)
                    : 0;
    const tier *t = tier_of(m, task_type);
    if (!t) return NULL;
    int count = t->gpu_count;
    char type[32];
    gb_strlcpy(type, t->gpu_type, sizeof(type));
    const cJSON *o =
        cJSON_IsObject(gpu_table) ? cJSON_GetObjectItemCaseSensitive(gpu_table, t->name) : NULL;
    if (o) {
        int c2 = count;
        char t2[32];
        gb_strlcpy(t2, type, sizeof(t2));
        if (gpu_entry(o, &c2, t2, NULL) == GB_OK) { /* a bad entry keeps the defaults */
            count = c2;
            gb_strlcpy(type, t2, sizeof(type));
        }
    }
    if (gpu_count) *gpu_count = count;
    if (gpu_type) gb_strlcpy(gpu_type, type, 32);
    return t->name;
}

gb_err ft_gpu_table_check(const cJSON *gpu_table, char *err)
{
    if (!gpu_table) return GB_OK;
    if (!cJSON_IsObject(gpu_table)) {
        SETERR("the GPU table must be a JSON object keyed by tier");
        return GB_ERR_INVALID;
    }
    for (const cJSON *c = gpu_table->child; c; c = c->next) {
        bool known = c->string && strcmp(c->string, IMAGE_TIER.name) == 0;
        for (size_t i = 0; !known && c->string && i < GB_ARRAY_LEN(TIERS); i++)
            known = strcmp(c->string, TIERS[i].name) == 0;
        if (!known) {
            SETERR("GPU table: unknown tier (tiers: small, medium, large, xlarge, image)");
            return GB_ERR_INVALID;
        }
        int count = 0;
        char type[32];
        char inner[GB_JSON_ERR_MAX];
        if (gpu_entry(c, &count, type, inner) != GB_OK) {
            SETERR("GPU table, tier '%s': %.200s", c->string, inner);
            return GB_ERR_INVALID;
        }
    }
    return GB_OK;
}
