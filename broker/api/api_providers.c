/* api_providers.c: GET /api/volt/machines (the Volt inventory, built from every provider's
 * live offers) and the admin endpoints for providers: list with health, register (after one
 * authenticated call that checks the key), remove, and the orphan report. */
#include <stdlib.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/core/meter.h"
#include "broker/placement/offers.h"
#include "broker/store/orphan_store.h"
#include "broker/core/registry.h"
#include "common/json.h"
#include "common/str.h"

void h_machines_list(api_req *rq, api_resp *rs)
{
    prov_offer *all = NULL;
    size_t n = 0;
    gb_err e = offers_all(rq->app, &all, &n, NULL);
    if (e) {
        api_error_from(rs, e, "machines");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "machines");
    for (size_t i = 0; i < n; i++) {
        const prov_offer *f = &all[i];
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", f->id);
        api_add_gpu_type(m, f->gpu_type);
        cJSON_AddNumberToObject(m, "gpu_count", f->gpu_count);
        cJSON_AddNumberToObject(m, "gpu_vram_gb", f->gpu_vram_gb);
        cJSON_AddNumberToObject(m, "cpu_cores", f->vcpu);
        cJSON_AddNumberToObject(m, "ram_gb", f->ram_gb);
        cJSON_AddNumberToObject(m, "storage_gb", f->storage_gb);
        /* what the user pays: the provider's price plus its margin (metering.margins), the
         * figure a create's cost_per_hour is held to */
        gb_money per_gpu = f->price_per_gpu_hour ? f->price_per_gpu_hour
                           : f->gpu_count        ? f->price_per_hour / f->gpu_count
                                                 : f->price_per_hour,
                 cost, cost_gpu; /* (out of range: the price itself) */
        (void)meter_price_rate(rq->app, f->provider, f->price_per_hour, &cost);
        (void)meter_price_rate(rq->app, f->provider, per_gpu, &cost_gpu);
        gb_json_add_money(m, "cost_per_gpu_hour", cost_gpu);
        gb_json_add_money(m, "cost_per_hour", cost);
        cJSON_AddNumberToObject(m, "available_gpus",
                                f->available_gpus ? f->available_gpus
                                                  : f->available * f->gpu_count);
        cJSON_AddStringToObject(m, "location", f->location);
        cJSON_AddStringToObject(m, "provider", f->provider);
        if (f->confidential) cJSON_AddTrueToObject(m, "confidential");
        if (f->tier[0]) cJSON_AddStringToObject(m, "tier", f->tier);
        cJSON_AddItemToArray(arr, m);
    }
    free(all);
    cJSON_AddNumberToObject(o, "total", cJSON_GetArraySize(arr));
    api_json(rs, 200, o);
}

void h_admin_providers_list(api_req *rq, api_resp *rs)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = registry_health_json(rq->app);
    cJSON_AddItemToObject(o, "providers", arr);
    cJSON_AddNumberToObject(o, "total", cJSON_GetArraySize(arr));
    api_json(rs, 200, o);
}

/* The answer when the platform did not accept the new key (registry_add_checked's verify):
 * nothing was registered. */
static void verify_failed(api_resp *rs, const char *name, gb_err e, const char *why)
{
    static const char SKIP[] = "(\"verify\": false registers it without this check)";
    switch (e) {
    case GB_ERR_AUTH:
    case GB_ERR_FORBIDDEN:
        api_error(rs, 422, "PROVIDER_KEY_REFUSED",
                  "Provider %s refused this key, nothing was registered: %s", name, why);
        return;
    case GB_ERR_HTTP:
    case GB_ERR_TIMEOUT:
        api_error(rs, 502, "PROVIDER_UNREACHABLE",
                  "Provider %s could not be reached to check the key, nothing was registered: "
                  "%s %s",
                  name, why, SKIP);
        return;
    case GB_ERR_LIMIT:
        api_error(rs, 503, "PROVIDER_BUSY",
                  "Provider %s rate-limits the check of the key, nothing was registered: %s %s",
                  name, why, SKIP);
        return;
    default:
        api_error(rs, 502, "PROVIDER_ERROR",
                  "Provider %s failed while checking the key, nothing was registered: %s %s", name,
                  why, SKIP);
    }
}

void h_admin_providers_add(api_req *rq, api_resp *rs)
{
    static const char *const allowed[] = {"name",     "kind",   "base_url", "secret",
                                          "settings", "verify", NULL};
    char err[512] = "";
    const char *name = NULL, *kind = NULL, *url = NULL, *secret = NULL;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(body, "settings");
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_str(body, "name", 1, PROV_NAME_MAX - 1, true, &name, err) ||
        gb_json_str(body, "kind", 1, PROV_NAME_MAX - 1, false, &kind, err) == GB_ERR_INVALID ||
        gb_json_str(body, "base_url", 8, 255, true, &url, err) ||
        gb_json_str(body, "secret", 1, 4096, true, &secret, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    if (settings && !cJSON_IsObject(settings)) {
        api_error(rs, 400, "VALIDATION_ERROR", "field 'settings' must be an object");
        goto done;
    }
    const cJSON *verify = cJSON_GetObjectItemCaseSensitive(body, "verify");
    if (verify && !cJSON_IsBool(verify)) {
        api_error(rs, 400, "VALIDATION_ERROR", "field 'verify' must be a boolean");
        goto done;
    }
    gb_err refused = GB_OK;
    gb_err e = registry_add_checked(rq->app, rq->db, name, kind ? kind : name, url, secret,
                                    settings, !cJSON_IsFalse(verify), &refused, err, sizeof(err));
    if (e && refused)
        verify_failed(rs, name, refused, err);
    else if (e == GB_ERR_INVALID)
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
    else if (e)
        api_error_from(rs, e, "provider");
    else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "kind", kind ? kind : name);
        cJSON_AddStringToObject(o, "base_url", url);
        cJSON_AddStringToObject(o, "message",
                                "Provider registered; its secret is stored encrypted.");
        api_json(rs, 201, o);
    }
done:
    if (secret) gb_memzero((char *)secret, strlen(secret));
    cJSON_Delete(body);
}

void h_admin_providers_delete(api_req *rq, api_resp *rs)
{
    gb_err e = registry_remove(rq->app, rq->db, rq->params[0]);
    if (e)
        api_error_from(rs, e, "Provider");
    else
        api_deleted(rs, rq->params[0], "Provider removed. Its pods are no longer managed.");
}

typedef struct {
    cJSON *arr;
    int64_t grace_ms;
} orphans_ctx;

static void add_orphan(void *ud, const orphan_rec *r)
{
    orphans_ctx *c = ud;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "provider", r->provider);
    cJSON_AddStringToObject(o, "provider_id", r->provider_id);
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "status", r->status);
    gb_json_add_time(o, "seen_at", r->seen_at);
    gb_json_add_time(o, "first_seen_at", r->first_seen_at);
    cJSON_AddNumberToObject(o, "first_seen_ms", (double)r->first_seen_at);
    gb_json_add_time(o, "settle_at", r->first_seen_at + c->grace_ms);
    if (r->action[0]) cJSON_AddStringToObject(o, "action", r->action);
    cJSON_AddItemToArray(c->arr, o);
}

/* The report every broker on the store shares (broker/store/orphan_store.h). */
void h_admin_orphans(api_req *rq, api_resp *rs)
{
    orphans_ctx c = {.arr = cJSON_CreateArray(), .grace_ms = rq->app->cfg.orphan_grace_ms};
    gb_err e = orphan_report_list(rq->db, add_orphan, &c);
    if (e) {
        cJSON_Delete(c.arr);
        api_error_from(rs, e, "Orphan report");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "orphans", c.arr);
    cJSON_AddNumberToObject(o, "total", cJSON_GetArraySize(c.arr));
    api_json(rs, 200, o);
}
