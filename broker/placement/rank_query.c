/* rank_query.c: turns query-string style placement arguments (?gpu=H100:2&max_price=3) into a
 * rank_filter, with an error naming the parameter for every bad value. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "broker/placement/rank.h"
#include "common/str.h"

/* The value as given, shortened and with control characters replaced, for error messages. */
static const char *shown(const char *v, char *buf, size_t n)
{
    size_t k = 0, max = n - 1 < 40 ? n - 1 : 40;
    for (; v[k] && k < max; k++) {
        unsigned char ch = (unsigned char)v[k];
        buf[k] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    buf[k] = '\0';
    if (v[k] && k >= 3) memcpy(buf + k - 3, "...", 3);
    return buf;
}

static gb_err bad(char *err, const char *param, const char *what, const char *value)
{
    char v[48];
    if (value)
        snprintf(err, GB_ERRMSG_MAX, "query '%s': %s (got '%s')", param, what,
                 shown(value, v, sizeof(v)));
    else
        snprintf(err, GB_ERRMSG_MAX, "query '%s': %s", param, what);
    return GB_ERR_INVALID;
}

static int given(const char *s)
{
    return s && s[0];
}

/* Parses a comma list of provider names into list (trimmed; at most RANK_MAX_PROVIDERS). */
static gb_err parse_names(const char *param, const char *v, char (*list)[32], int *count, char *err)
{
    int nl = 0;
    const char *p = v;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (len && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (len == 0) return bad(err, param, "empty provider name in the list", v);
        if (len > 31) return bad(err, param, "provider names have at most 31 characters", v);
        for (size_t i = 0; i < len; i++) {
            char ch = s[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
                return bad(err, param,
                           "provider names are letters, digits, '-', '_' and '.' separated by "
                           "commas",
                           v);
        }
        if (nl == RANK_MAX_PROVIDERS) return bad(err, param, "at most 16 providers", v);
        memcpy(list[nl], s, len);
        list[nl][len] = '\0';
        nl++;
        if (!end) break;
        p = end + 1;
    }
    *count = nl;
    return GB_OK;
}

/* gpu: "H100", "RTX 4090", "H100:2". Sets the type and, with ":N", *count. */
static gb_err parse_gpu(const char *v, rank_filter *f, int *count, char *err)
{
    const char *colon = strrchr(v, ':');
    size_t tlen = colon ? (size_t)(colon - v) : strlen(v);
    if (tlen > 63) return bad(err, "gpu", "GPU name too long (at most 63 characters)", v);
    char type[64];
    memcpy(type, v, tlen);
    type[tlen] = '\0';
    size_t a = 0, b = tlen;
    while (a < b && (type[a] == ' ' || type[a] == '\t'))
        a++;
    while (b > a && (type[b - 1] == ' ' || type[b - 1] == '\t'))
        b--;
    if (a == b) return bad(err, "gpu", "GPU type is missing (like H100 or H100:2)", v);
    type[b] = '\0';
    for (size_t i = a; i < b; i++) {
        unsigned char ch = (unsigned char)type[i];
        if (ch < 0x20 || ch == 0x7f) return bad(err, "gpu", "GPU name has a control character", v);
    }
    gpu_normalize(type + a, f->gpu_type, NULL); /* unknown: upper-cased, matches none */
    if (colon && gb_parse_int(colon + 1, 1, RANK_MAX_GPU_COUNT, count) != 0)
        return bad(err, "gpu", "count must be a number from 1 to 64", colon + 1);
    return GB_OK;
}

gb_err rank_filter_from_query(const rank_query *q, rank_filter *f, gb_errmsg err)
{
    if (!f || !err) return GB_ERR_INVALID;
    err[0] = '\0';
    memset(f, 0, sizeof(*f));
    f->confidential = -1;
    f->sort = RANK_SORT_PRICE;
    if (!q) return GB_OK;

    int gpu_count_in_gpu = 0;
    if (given(q->gpu) && parse_gpu(q->gpu, f, &gpu_count_in_gpu, err) != GB_OK)
        return GB_ERR_INVALID;
    if (given(q->gpu_count)) {
        if (gb_parse_int(q->gpu_count, 1, RANK_MAX_GPU_COUNT, &f->gpu_count) != 0)
            return bad(err, "gpu_count", "must be a number from 1 to 64", q->gpu_count);
        if (gpu_count_in_gpu && gpu_count_in_gpu != f->gpu_count) {
            snprintf(err, GB_ERRMSG_MAX,
                     "query 'gpu' and 'gpu_count': two different GPU counts (%d in 'gpu', %d in "
                     "'gpu_count'); give one",
                     gpu_count_in_gpu, f->gpu_count);
            return GB_ERR_INVALID;
        }
    } else {
        f->gpu_count = gpu_count_in_gpu;
    }
    if (given(q->min_vram_gb) && gb_parse_int(q->min_vram_gb, 0, 10000, &f->min_vram_gb) != 0)
        return bad(err, "min_vram_gb", "must be a number of GB from 0 to 10000", q->min_vram_gb);
    if (given(q->max_price)) {
        if (gb_money_parse(q->max_price, &f->max_price) != 0 || f->max_price <= 0)
            return bad(err, "max_price", "must be a dollar amount per hour above 0, like 3 or 2.50",
                       q->max_price);
    }
    if (given(q->confidential)) {
        const char *v = q->confidential;
        if (gb_str_ieq(v, "true") || strcmp(v, "1") == 0)
            f->confidential = 1;
        else if (gb_str_ieq(v, "false") || strcmp(v, "0") == 0)
            f->confidential = 0;
        else
            return bad(err, "confidential", "must be true, false, 1 or 0", v);
    }
    if (given(q->tier)) {
        if (gb_str_ieq(q->tier, "secure"))
            gb_strlcpy(f->tier, "secure", sizeof(f->tier));
        else if (gb_str_ieq(q->tier, "spot"))
            gb_strlcpy(f->tier, "spot", sizeof(f->tier));
        else
            return bad(err, "tier", "must be secure or spot", q->tier);
    }
    if (given(q->provider) &&
        parse_names("provider", q->provider, f->providers, &f->nproviders, err) != GB_OK)
        return GB_ERR_INVALID;
    if (given(q->exclude_provider) && parse_names("exclude_provider", q->exclude_provider,
                                                  f->exclude, &f->nexclude, err) != GB_OK)
        return GB_ERR_INVALID;
    if (given(q->location)) {
        if (strlen(q->location) >= sizeof(f->location))
            return bad(err, "location", "at most 63 characters", q->location);
        for (const char *p = q->location; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return bad(err, "location", "has a control character", q->location);
        gb_strlcpy(f->location, q->location, sizeof(f->location));
    }
    if (given(q->sort)) {
        static const rank_sort sorts[] = {RANK_SORT_PRICE, RANK_SORT_PRICE_PER_GPU, RANK_SORT_VRAM,
                                          RANK_SORT_AVAILABLE};
        size_t i = 0;
        while (i < GB_ARRAY_LEN(sorts) && strcmp(q->sort, rank_sort_name(sorts[i])) != 0)
            i++;
        if (i == GB_ARRAY_LEN(sorts))
            return bad(err, "sort", "must be one of price, price_per_gpu, vram, available",
                       q->sort);
        f->sort = sorts[i];
    }
    if (given(q->limit) && gb_parse_int(q->limit, 1, RANK_MAX_LIMIT, &f->limit) != 0)
        return bad(err, "limit", "must be a number from 1 to 1000", q->limit);
    return GB_OK;
}
