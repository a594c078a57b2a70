/* api_creds.c: /api/volt/docker-credentials. The password is sealed in the vault in the same
 * transaction as the row and never leaves it through the API. */
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/store/stores.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"

#define PASSWORD_MAX 8192

static cJSON *cred_json(const cred_rec *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "registry", r->registry);
    cJSON_AddStringToObject(o, "username", r->username);
    gb_json_add_time(o, "created_at", r->created_at);
    return o;
}

static void add_cred(void *ud, const cred_rec *r)
{
    cJSON_AddItemToArray(ud, cred_json(r));
}

void h_creds_list(api_req *rq, api_resp *rs)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "credentials");
    api_list(rs, o, arr, cred_list(rq->db, rq->account_id, add_cred, arr), "Docker credentials");
}

/* A registry is a host name with an optional port and path: no spaces or scheme. */
static int registry_ok(const char *r)
{
    if (strstr(r, "://")) return 0;
    for (const char *p = r; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '@' || *p == '"' || *p == '\\') return 0;
    return 1;
}

void h_creds_create(api_req *rq, api_resp *rs)
{
    static const char *const allowed[] = {"name", "registry", "username", "password", NULL};
    char err[GB_JSON_ERR_MAX];
    const char *name = NULL, *registry = NULL, *user = NULL, *pass = NULL;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_str(body, "name", 1, NAME_MAX_LEN, true, &name, err) ||
        gb_json_str(body, "registry", 1, 253, true, &registry, err) ||
        gb_json_str(body, "username", 1, 255, true, &user, err) ||
        gb_json_str(body, "password", 1, PASSWORD_MAX, true, &pass, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    if (!registry_ok(registry)) {
        api_error(rs, 400, "VALIDATION_ERROR",
                  "field 'registry' must be a registry host such as ghcr.io (no scheme)");
        goto done;
    }
    cred_rec rec;
    memset(&rec, 0, sizeof(rec));
    gb_id_new("cred_", rec.id, sizeof(rec.id));
    gb_strlcpy(rec.account_id, rq->account_id, sizeof(rec.account_id));
    gb_strlcpy(rec.name, name, sizeof(rec.name));
    gb_strlcpy(rec.registry, registry, sizeof(rec.registry));
    gb_strlcpy(rec.username, user, sizeof(rec.username));
    rec.created_at = gb_now_ms();
    char ref[128];
    cred_secret_ref(rec.id, ref, sizeof(ref));
    gb_err e = gb_db_begin(rq->db);
    if (!e) e = account_room(rq->db, rec.account_id, cred_count, rq->app->cfg.max_list_items);
    if (!e) e = cred_insert(rq->db, &rec);
    if (!e) e = vault_put(rq->app->vault, rq->db, ref, pass, strlen(pass));
    if (!e) e = gb_db_made(rq->db, rec.id); /* for an Idempotency-Key (idem.c) */
    if (!e)
        e = gb_db_commit(rq->db);
    else
        gb_db_rollback(rq->db);
    if (e)
        api_owned_error(rs, e, rq->app->cfg.max_list_items, "Docker credentials",
                        "Docker credential");
    else
        api_json(rs, 201, cred_json(&rec));
done:
    /* wipe the password from the parsed body before it is freed */
    if (pass) gb_memzero((char *)pass, strlen(pass));
    cJSON_Delete(body);
}

void h_creds_get(api_req *rq, api_resp *rs)
{
    cred_rec rec;
    gb_err e = cred_get(rq->db, rq->account_id, rq->params[0], &rec);
    if (e)
        api_error_from(rs, e, "Docker credential");
    else
        api_json(rs, 200, cred_json(&rec));
}

void h_creds_delete(api_req *rq, api_resp *rs)
{
    char ref[128];
    cred_secret_ref(rq->params[0], ref, sizeof(ref));
    gb_err e = gb_db_begin(rq->db);
    if (!e) e = cred_delete(rq->db, rq->account_id, rq->params[0]);
    if (!e) {
        e = vault_delete(rq->db, ref);
        if (e == GB_ERR_NOT_FOUND) e = GB_OK;
    }
    if (!e)
        e = gb_db_commit(rq->db);
    else
        gb_db_rollback(rq->db);
    if (e)
        api_error_from(rs, e, "Docker credential");
    else
        api_deleted(rs, rq->params[0], "Docker credential removed.");
}
