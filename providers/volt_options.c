/* volt_options.c: validation of the Volt adapter's provider_options (provider, resource_name,
 * cost_per_hour, template_id, volume_size_gb, ssh_key_ids), with messages naming the field. */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/volt_int.h"

#define VOLT_MAX_KEYS 16

static bool slug_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-')) return false;
    return true;
}

gb_err prov_volt_validate_options(const cJSON *o, char *err)
{
    static const char *const allowed[] = {"provider",    "resource_name",  "cost_per_hour",
                                          "template_id", "volume_size_gb", "ssh_key_ids",
                                          NULL};
    char jerr[GB_JSON_ERR_MAX];
    const char *prov = "lium", *res = NULL, *tid = NULL;
    gb_money cost;
    int64_t vol;
    const cJSON *ids = NULL;
    if (!o || cJSON_IsNull(o)) return GB_OK;
    if (!cJSON_IsObject(o)) {
        snprintf(err, PROV_ERR_MAX, "provider_options must be a JSON object");
        return GB_ERR_INVALID;
    }
    if (gb_json_only_keys(o, allowed, jerr) ||
        gb_json_str(o, "provider", 1, 16, false, &prov, jerr) == GB_ERR_INVALID ||
        gb_json_str(o, "resource_name", 1, 63, false, &res, jerr) == GB_ERR_INVALID ||
        gb_json_money(o, "cost_per_hour", 1, 10000 * GB_MONEY_PER_DOLLAR, false, &cost, jerr) ==
            GB_ERR_INVALID ||
        gb_json_str(o, "template_id", 1, 63, false, &tid, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "volume_size_gb", 1, 100000, false, &vol, jerr) == GB_ERR_INVALID ||
        gb_json_array(o, "ssh_key_ids", VOLT_MAX_KEYS, false, &ids, jerr) == GB_ERR_INVALID)
        goto bad;
    if (strcmp(prov, "lium") != 0 && strcmp(prov, "targon") != 0) {
        gb_snprintf(jerr, sizeof(jerr), "field 'provider' must be 'lium' or 'targon'");
        goto bad;
    }
    bool targon = strcmp(prov, "targon") == 0;
    if (res && !slug_ok(res)) {
        gb_snprintf(jerr, sizeof(jerr), "field 'resource_name' must be like 'h200-small'");
        goto bad;
    }
    const char *wrong = NULL;
    if (!targon && (res || cJSON_GetObjectItemCaseSensitive(o, "cost_per_hour")))
        wrong = res ? "resource_name" : "cost_per_hour";
    if (wrong) {
        gb_snprintf(jerr, sizeof(jerr), "field '%s' needs \"provider\": \"targon\"", wrong);
        goto bad;
    }
    if (targon && (tid || cJSON_GetObjectItemCaseSensitive(o, "volume_size_gb"))) {
        gb_snprintf(jerr, sizeof(jerr), "field '%s' is not used by Targon pods",
                    tid ? "template_id" : "volume_size_gb");
        goto bad;
    }
    if (tid && !prov_volt_id_ok(tid)) {
        gb_snprintf(jerr, sizeof(jerr), "field 'template_id' is not a Volt template id");
        goto bad;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, ids)
    {
        if (!cJSON_IsString(it) || !prov_volt_id_ok(it->valuestring)) {
            gb_snprintf(jerr, sizeof(jerr), "field 'ssh_key_ids' must hold Volt SSH key ids");
            goto bad;
        }
    }
    return GB_OK;
bad:
    snprintf(err, PROV_ERR_MAX, "provider_options: %.440s", jerr);
    return GB_ERR_INVALID;
}
