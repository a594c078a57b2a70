/* api_keys.c: /api/volt/api-keys: list (previews only), create (the key shown once), revoke. */
#include <stdio.h>
#include <string.h>

#include "broker/api/auth.h"
#include "broker/api/handlers.h"
#include "broker/api/keycache.h"
#include "broker/api/scopes.h"
#include "common/json.h"
#include "common/str.h"

#define MAX_KEYS_PER_ACCOUNT 100

static void key_json(void *ud, const apikey_rec *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "key_preview", r->preview);
    scope_to_json(r->scopes, cJSON_AddArrayToObject(o, "scopes"));
    gb_json_add_time(o, "last_used", r->last_used);
    gb_json_add_time(o, "created_at", r->created_at);
    cJSON_AddItemToArray(ud, o);
}

void h_keys_list(api_req *rq, api_resp *rs)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "api_keys");
    api_list(rs, o, arr, apikey_list(rq->db, rq->account_id, key_json, arr), "API keys");
}

/* Reads "scopes" (array of names) into *mask; default: every user scope the caller has. */
static int parse_scopes(const cJSON *body, unsigned caller, unsigned *mask, char *err)
{
    const cJSON *arr = NULL;
    gb_err e = gb_json_array(body, "scopes", 16, false, &arr, err);
    if (e == GB_ERR_NOT_FOUND) {
        *mask = caller & SCOPE_ALL_USER;
        return 0;
    }
    if (e) return -1;
    unsigned m = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        unsigned bit = cJSON_IsString(it) ? scope_parse(it->valuestring) : 0;
        if (!bit) {
            snprintf(err, GB_JSON_ERR_MAX, "field 'scopes': unknown scope (use %s)", scope_names());
            return -1;
        }
        m |= bit;
    }
    if (!m) {
        snprintf(err, GB_JSON_ERR_MAX, "field 'scopes' must name at least one scope");
        return -1;
    }
    *mask = m;
    return 0;
}

void h_keys_create(api_req *rq, api_resp *rs)
{
    static const char *const allowed[] = {"name", "scopes", NULL};
    char err[GB_JSON_ERR_MAX];
    const char *name = NULL;
    unsigned scopes = 0;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_str(body, "name", 1, NAME_MAX_LEN, true, &name, err) ||
        parse_scopes(body, rq->scopes, &scopes, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    if ((scopes & ~rq->scopes) && !(rq->scopes & SCOPE_ADMIN)) {
        api_error(rs, 403, "INSUFFICIENT_SCOPE",
                  "A key cannot grant scopes it does not have itself");
        goto done;
    }
    if (apikey_count(rq->db, rq->account_id) >= MAX_KEYS_PER_ACCOUNT) {
        api_error(rs, 409, "LIMIT_REACHED", "An account may have at most %d API keys",
                  MAX_KEYS_PER_ACCOUNT);
        goto done;
    }
    char key[AUTH_KEY_MAX];
    apikey_rec rec;
    gb_err e = gb_db_begin(rq->db);
    if (!e) e = auth_issue_key(rq->app, rq->db, rq->account_id, name, scopes, key, &rec);
    if (!e)
        e = gb_db_commit(rq->db);
    else
        gb_db_rollback(rq->db);
    if (e) {
        api_error_from(rs, e, "API key");
        goto done;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", rec.id);
    cJSON_AddStringToObject(o, "name", rec.name);
    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddStringToObject(o, "key_preview", rec.preview);
    scope_to_json(rec.scopes, cJSON_AddArrayToObject(o, "scopes"));
    gb_json_add_time(o, "created_at", rec.created_at);
    cJSON_AddStringToObject(o, "message", "Store this key securely. It will not be shown again.");
    gb_memzero(key, sizeof(key));
    api_json(rs, 201, o);
done:
    cJSON_Delete(body);
}

void h_keys_delete(api_req *rq, api_resp *rs)
{
    static const char *const allowed[] = {"key_id", NULL};
    char err[GB_JSON_ERR_MAX];
    const char *id = NULL;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_str(body, "key_id", 1, GB_ID_MAX - 1, true, &id, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
    } else {
        gb_err e = apikey_delete(rq->db, rq->account_id, id);
        if (!e) keycache_drop_key(rq->app->keys, id); /* committed: refused from now on */
        if (e)
            api_error_from(rs, e, "API key");
        else
            api_deleted(rs, id,
                        "API key revoked. Any requests using this key will now return 401.");
    }
    cJSON_Delete(body);
}
