/* api_webhooks.c: /api/volt/webhooks: the account's endpoints (list, add, change, remove,
 * send a test event), its signing secret (read, rotate), and its deliveries (list with
 * attempts, redeliver). Delivery itself is the webhook worker's (webhooks/deliver.c). */
#include <stdlib.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/store/stores.h"
#include "broker/store/webhook_secrets.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "webhooks/outbox.h"
#include "webhooks/sign.h"

static cJSON *endpoint_json(const wh_endpoint *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", e->id);
    cJSON_AddStringToObject(o, "url", e->url);
    cJSON_AddStringToObject(o, "events", e->events);
    cJSON_AddBoolToObject(o, "enabled", e->enabled);
    gb_json_add_str_or_null(o, "disabled_reason",
                            e->disabled_reason[0] ? e->disabled_reason : NULL);
    gb_json_add_time(o, "created_at", e->created_at);
    return o;
}

void h_webhooks_list(api_req *rq, api_resp *rs)
{
    wh_endpoint *all = NULL;
    size_t n = 0;
    gb_err e = wh_endpoint_list(rq->db, rq->account_id, &all, &n);
    if (e) {
        api_error_from(rs, e, "webhooks");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "webhooks");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, endpoint_json(&all[i]));
    free(all);
    cJSON_AddNumberToObject(o, "total", (double)n);
    api_json(rs, 200, o);
}

/* url, events and enabled from a body (each optional unless required). */
static int fields(const cJSON *body, bool create, const char **url, const char **events,
                  int *enabled, char *err)
{
    static const char *const allowed[] = {"url", "events", "enabled", NULL};
    bool en = true;
    gb_err be;
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_str(body, "url", 1, WH_URL_MAX, create, url, err) == GB_ERR_INVALID ||
        (create && !*url) ||
        gb_json_str(body, "events", 1, WH_EVENTS_MAX, false, events, err) == GB_ERR_INVALID ||
        (be = gb_json_bool(body, "enabled", false, &en, err)) == GB_ERR_INVALID)
        return -1;
    if (*url && !wh_url_valid(*url)) {
        gb_snprintf(err, GB_JSON_ERR_MAX, "field 'url' must be an http:// or https:// URL");
        return -1;
    }
    *enabled = be == GB_OK ? (en ? 1 : 0) : -1;
    return 0;
}

void h_webhooks_create(api_req *rq, api_resp *rs)
{
    char err[GB_JSON_ERR_MAX] = "";
    const char *url = NULL, *events = NULL;
    int enabled = -1;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    if (fields(body, true, &url, &events, &enabled, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    wh_endpoint ep;
    int64_t max = rq->app->cfg.max_list_items;
    /* one transaction: the room check, and an endpoint asked disabled is never seen enabled */
    gb_err e = gb_db_begin(rq->db);
    if (!e) e = account_room(rq->db, rq->account_id, wh_endpoint_count, max);
    if (!e) e = wh_endpoint_insert(rq->db, rq->account_id, url, events ? events : "*", &ep);
    if (!e && enabled == 0)
        e = wh_endpoint_update(rq->db, rq->account_id, ep.id, NULL, NULL, 0, &ep);
    if (!e)
        e = gb_db_commit(rq->db);
    else
        gb_db_rollback(rq->db);
    if (e == GB_ERR_INVALID)
        api_error(rs, 400, "VALIDATION_ERROR",
                  "field 'events' must list event names, 'prefix.*' or '*'");
    else if (e)
        api_owned_error(rs, e, max, "webhook endpoints", "webhook");
    else
        api_json(rs, 201, endpoint_json(&ep));
done:
    cJSON_Delete(body);
}

void h_webhooks_update(api_req *rq, api_resp *rs)
{
    char err[GB_JSON_ERR_MAX] = "";
    const char *url = NULL, *events = NULL;
    int enabled = -1;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    if (fields(body, false, &url, &events, &enabled, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    wh_endpoint ep;
    gb_err e = wh_endpoint_update(rq->db, rq->account_id, rq->params[0], url, events, enabled, &ep);
    if (e == GB_ERR_INVALID)
        api_error(rs, 400, "VALIDATION_ERROR",
                  "field 'events' must list event names, 'prefix.*' or '*'");
    else if (e)
        api_error_from(rs, e, "Webhook");
    else
        api_json(rs, 200, endpoint_json(&ep));
done:
    cJSON_Delete(body);
}

void h_webhooks_delete(api_req *rq, api_resp *rs)
{
    gb_err e = wh_endpoint_delete(rq->db, rq->account_id, rq->params[0]);
    if (e)
        api_error_from(rs, e, "Webhook");
    else
        api_deleted(rs, rq->params[0], "Webhook endpoint removed.");
}

void h_webhooks_test(api_req *rq, api_resp *rs)
{
    wh_endpoint ep;
    gb_err e = wh_endpoint_get(rq->db, rq->account_id, rq->params[0], &ep);
    if (e) {
        api_error_from(rs, e, "Webhook");
        return;
    }
    cJSON *payload = cJSON_CreateObject();
    cJSON_AddStringToObject(payload, "event", "webhook.test");
    cJSON_AddStringToObject(payload, "webhookId", ep.id);
    gb_json_add_time(payload, "sentAt", gb_now_ms());
    size_t queued = 0;
    e = gb_db_begin(rq->db);
    if (!e)
        e = wh_enqueue_endpoint(rq->db, rq->account_id, ep.id, "webhook.test", payload, &queued);
    if (!e)
        e = gb_db_commit(rq->db);
    else
        gb_db_rollback(rq->db);
    cJSON_Delete(payload);
    if (e) {
        api_error_from(rs, e, "webhook test");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", ep.id);
    cJSON_AddNumberToObject(o, "queued", (double)queued);
    cJSON_AddStringToObject(o, "message", "A webhook.test event is on its way.");
    api_json(rs, 202, o);
}

void h_webhooks_secret(api_req *rq, api_resp *rs)
{
    char s[WEBHOOK_SECRET_MAX];
    gb_err e = webhook_secret_current(rq->app, rq->db, rq->account_id, s);
    if (e) {
        api_error_from(rs, e, "webhook secret");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "secret", s);
    gb_memzero(s, sizeof(s));
    api_json(rs, 200, o);
}

void h_webhooks_rotate(api_req *rq, api_resp *rs)
{
    char s[WEBHOOK_SECRET_MAX];
    int64_t until = 0;
    gb_err e = webhook_secret_rotate(rq->app, rq->db, rq->account_id, s, &until);
    if (e) {
        api_error_from(rs, e, "webhook secret");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "secret", s);
    gb_json_add_time(o, "previous_valid_until", until);
    cJSON_AddStringToObject(
        o, "message",
        "New secret in use; the previous one keeps signing until previous_valid_until.");
    gb_memzero(s, sizeof(s));
    api_json(rs, 200, o);
}

void h_webhooks_deliveries(api_req *rq, api_resp *rs)
{
    const char *status = api_query(rq, "status"), *ls = api_query(rq, "limit");
    int limit = 20;
    if (status && strcmp(status, "pending") && strcmp(status, "delivered") &&
        strcmp(status, "failed")) {
        api_error(rs, 400, "VALIDATION_ERROR",
                  "query 'status' must be pending, delivered or failed");
        return;
    }
    if (ls && gb_parse_int(ls, 1, 100, &limit)) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'limit' must be 1-100");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "deliveries");
    api_list(rs, o, arr, wh_deliveries_list(rq->db, rq->account_id, status, limit, arr),
             "deliveries");
}

void h_webhooks_redeliver(api_req *rq, api_resp *rs)
{
    gb_err e = wh_redeliver(rq->db, rq->account_id, rq->params[0]);
    if (e == GB_ERR_CONFLICT) {
        api_error(rs, 409, "CONFLICT", "The message is still being delivered");
        return;
    }
    if (e) {
        api_error_from(rs, e, "Delivery");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", rq->params[0]);
    cJSON_AddStringToObject(o, "status", "pending");
    cJSON_AddStringToObject(o, "message", "The message will be delivered again.");
    api_json(rs, 202, o);
}

void h_webhooks_ed25519_get(api_req *rq, api_resp *rs)
{
    char pk[WH_PK_MAX];
    gb_err e = webhook_ed25519_public(rq->app, rq->db, rq->account_id, pk, sizeof(pk));
    if (e == GB_ERR_NOT_FOUND) {
        api_error(rs, 404, "NOT_FOUND", "No Ed25519 signing key; POST to create one");
        return;
    }
    if (e) {
        api_error_from(rs, e, "Ed25519 key");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "public_key", pk);
    api_json(rs, 200, o);
}

void h_webhooks_ed25519_create(api_req *rq, api_resp *rs)
{
    char pk[WH_PK_MAX];
    gb_err e = webhook_ed25519_create(rq->app, rq->db, rq->account_id, pk, sizeof(pk));
    if (e) {
        api_error_from(rs, e, "Ed25519 key");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "public_key", pk);
    cJSON_AddStringToObject(o, "message", "Messages now also carry a v1a (Ed25519) signature.");
    api_json(rs, 201, o);
}

void h_webhooks_ed25519_delete(api_req *rq, api_resp *rs)
{
    gb_err e = webhook_ed25519_delete(rq->db, rq->account_id);
    if (e)
        api_error_from(rs, e, "Ed25519 key");
    else
        api_deleted(rs, "ed25519", "Ed25519 signing stopped.");
}
