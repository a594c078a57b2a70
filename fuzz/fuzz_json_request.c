/* fuzz_json_request.c: request bodies as the API receives them: gb_json_parse with a depth
 * limit, the field readers on the result, then the fine-tuning request validator
 * ft_request_parse and the pricing that follows it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "jobs/finetune.h"

#define FUZZ_MAX_DEPTH 32 /* the default of server.max_json_depth is far lower */

static void read_fields(const cJSON *j)
{
    char err[GB_JSON_ERR_MAX];
    const char *s;
    int64_t i;
    gb_money m;
    bool b;
    const cJSON *arr;
    static const char *const allowed[] = {"name",  "taskType", "model", "dsRepo", "hours",
                                          "price", "tags",     "ok",    NULL};
    (void)gb_json_str(j, "name", 1, 128, false, &s, err);
    (void)gb_json_str(j, "model", 0, 256, true, &s, err);
    (void)gb_json_int(j, "hours", 1, 168, false, &i, err);
    (void)gb_json_int(j, "count", INT64_MIN, INT64_MAX, true, &i, err);
    (void)gb_json_money(j, "price", 0, GB_MONEY_MAX, false, &m, err);
    (void)gb_json_money(j, "max_price_per_hour", -GB_MONEY_MAX, GB_MONEY_MAX, true, &m, err);
    (void)gb_json_bool(j, "ok", false, &b, err);
    if (gb_json_array(j, "tags", 16, false, &arr, err) == GB_OK && arr) {
        const cJSON *it;
        cJSON_ArrayForEach(it, arr)(void) gb_json_str(it, "k", 0, 64, false, &s, err);
    }
    (void)gb_json_only_keys(j, allowed, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *j = NULL;
    char err[GB_JSON_ERR_MAX];
    if (gb_json_parse((const char *)data, size, FUZZ_MAX_DEPTH, &j, err) != GB_OK) {
        if (j) __builtin_trap(); /* a failed parse must not hand back a tree */
        return 0;
    }
    read_fields(j);

    ft_request r;
    memset(&r, 0, sizeof(r));
    if (ft_request_parse(j, &r, err) == GB_OK) {
        gb_money per_hour;
        char *params = NULL;
        if (ft_price_per_hour(&r, NULL, &per_hour, err) == GB_OK) (void)ft_total(per_hour, r.hours);
        if (ft_request_params_json(&r, &params) == GB_OK) free(params);
    }
    /* the model-size reader on whatever "model" string came in */
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    if (cJSON_IsString(model) && model->valuestring) {
        int64_t millions;
        (void)ft_model_size_m(model->valuestring, NULL, &millions, err);
    }
    char *out = gb_json_print(j);
    free(out);
    cJSON_Delete(j);
    return 0;
}
