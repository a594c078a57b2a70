/* api_hub.c: the Hugging Face Hub token the fine-tuning checks send (jobs/hub_check.c),
 * sealed in the vault as HUB_TOKEN_REF: set, removed and shown as set or not, never shown
 * itself (admin). GPUBROKER_HUB_TOKEN at start seals it too (broker/core/app.c). */
#include <string.h>

#include "broker/api/api.h"
#include "broker/api/handlers.h"
#include "broker/core/app.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "jobs/hub.h"

#define HUB_TOKEN_LEN_MAX 512

static void reply(api_resp *rs, bool set)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddTrueToObject(o, "success");
    cJSON_AddBoolToObject(o, "hub_token_set", set);
    api_json(rs, 200, o);
}

/* Printable ASCII without spaces: what an Authorization header can carry. */
static bool token_ok(const char *t)
{
    for (; *t; t++)
        if (*t <= 0x20 || *t >= 0x7f) return false;
    return true;
}

void h_admin_hub_token_get(api_req *rq, api_resp *rs)
{
    char *t = NULL;
    size_t n = 0;
    gb_err e = vault_get(rq->app->vault, rq->db, HUB_TOKEN_REF, &t, &n);
    vault_secret_free(t, n);
    if (e && e != GB_ERR_NOT_FOUND) {
        api_error_from(rs, e, "Hub token");
        return;
    }
    reply(rs, e == GB_OK);
}

void h_admin_hub_token_put(api_req *rq, api_resp *rs)
{
    static const char *const KEYS[] = {"token", NULL};
    char err[GB_JSON_ERR_MAX] = "";
    const char *t = NULL;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    if (gb_json_only_keys(body, KEYS, err) ||
        gb_json_str(body, "token", 1, HUB_TOKEN_LEN_MAX, true, &t, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    if (!token_ok(t)) {
        api_error(rs, 400, "VALIDATION_ERROR",
                  "field 'token' must be printable ASCII without spaces (a Hub token, hf_...)");
        goto done;
    }
    if (hub_token_put(rq->app->vault, rq->db, t) != GB_OK) {
        api_error(rs, 500, "INTERNAL_ERROR", "The Hub token could not be sealed");
        goto done;
    }
    GB_INFO("hub", "Hub token set by key %s", rq->key_id);
    reply(rs, true);
done:
    if (t) gb_memzero((char *)t, strlen(t));
    cJSON_Delete(body);
}

void h_admin_hub_token_delete(api_req *rq, api_resp *rs)
{
    if (vault_delete(rq->db, HUB_TOKEN_REF) != GB_OK) {
        api_error(rs, 500, "INTERNAL_ERROR", "The Hub token could not be removed");
        return;
    }
    GB_INFO("hub", "Hub token removed by key %s", rq->key_id);
    reply(rs, false);
}
