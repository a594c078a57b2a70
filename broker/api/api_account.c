/* api_account.c: GET /api/volt/account (the caller's account and balance) and the admin
 * endpoints under /api/volt/admin/accounts (create, list, show, credit). */
#include <string.h>

#include "broker/core/accounts.h"
#include "broker/api/handlers.h"
#include "broker/api/scopes.h"
#include "common/json.h"
#include "common/str.h"
#include "jobs/ledger.h"

static cJSON *account_json(const app *a, gb_db *db, const account_rec *r)
{
    gb_money bal = 0;
    cJSON *o = cJSON_CreateObject();
    if (!o || ledger_balance(db, r->id, &bal) != GB_OK ||
        account_money_fields(a, db, r->id, bal, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "name", r->name);
    gb_json_add_money(o, "balance", bal);
    cJSON_AddBoolToObject(o, "is_admin", r->is_admin);
    gb_json_add_time(o, "created_at", r->created_at);
    return o;
}

static void reply_account(api_req *rq, api_resp *rs, const char *id)
{
    account_rec r;
    gb_err e = account_get(rq->db, id, &r);
    if (e) {
        api_error_from(rs, e, "Account");
        return;
    }
    api_json(rs, 200, account_json(rq->app, rq->db, &r));
}

/* The caller's own account also says what the calling key may do (`scopes`, an extension the
 * dashboard uses to show only what the key allows). */
void h_account_get(api_req *rq, api_resp *rs)
{
    account_rec r;
    gb_err e = account_get(rq->db, rq->account_id, &r);
    if (e) {
        api_error_from(rs, e, "Account");
        return;
    }
    cJSON *o = account_json(rq->app, rq->db, &r);
    cJSON *sc = o ? cJSON_AddArrayToObject(o, "scopes") : NULL;
    if (sc) scope_to_json(rq->scopes, sc);
    api_json(rs, 200, o);
}

void h_admin_accounts_get(api_req *rq, api_resp *rs)
{
    reply_account(rq, rs, rq->params[0]);
}

typedef struct {
    const app *a;
    gb_db *db;
    cJSON *arr;
} list_ctx;

static void add_account(void *ud, const account_rec *r)
{
    list_ctx *c = ud;
    cJSON *o = account_json(c->a, c->db, r);
    if (o) cJSON_AddItemToArray(c->arr, o);
}

void h_admin_accounts_list(api_req *rq, api_resp *rs)
{
    cJSON *o = cJSON_CreateObject();
    list_ctx c = {rq->app, rq->db, cJSON_AddArrayToObject(o, "accounts")};
    api_list(rs, o, c.arr, account_list(rq->db, add_account, &c), "accounts");
}

void h_admin_accounts_create(api_req *rq, api_resp *rs)
{
    static const char *const allowed[] = {"name", "credit", "admin", NULL};
    char err[GB_JSON_ERR_MAX];
    const char *name = NULL;
    gb_money credit = 0;
    bool admin = false;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_str(body, "name", 1, NAME_MAX_LEN, true, &name, err) ||
        gb_json_money(body, "credit", 0, GB_MONEY_MAX / 1000, false, &credit, err) ==
            GB_ERR_INVALID ||
        gb_json_bool(body, "admin", false, &admin, err) == GB_ERR_INVALID) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    account_rec acc;
    apikey_rec key;
    char plain[AUTH_KEY_MAX];
    gb_err e = accounts_create(rq->app, rq->db, name, admin, credit, "default",
                               admin ? SCOPE_ALL : SCOPE_ALL_USER, &acc, plain, &key);
    if (e == GB_ERR_CONFLICT) {
        api_error(rs, 409, "CONFLICT", "An account named '%s' exists already", acc.name);
        goto done;
    }
    if (e) {
        api_error_from(rs, e, "account");
        goto done;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "account", account_json(rq->app, rq->db, &acc));
    cJSON *k = cJSON_AddObjectToObject(o, "api_key");
    cJSON_AddStringToObject(k, "id", key.id);
    cJSON_AddStringToObject(k, "key", plain);
    cJSON_AddStringToObject(k, "key_preview", key.preview);
    cJSON_AddStringToObject(o, "message", "Store this key securely. It will not be shown again.");
    gb_memzero(plain, sizeof(plain));
    api_json(rs, 201, o);
done:
    cJSON_Delete(body);
}

void h_admin_accounts_credit(api_req *rq, api_resp *rs)
{
    static const char *const allowed[] = {"amount", "note", NULL};
    char err[GB_JSON_ERR_MAX];
    gb_money amount = 0, bal = 0;
    const char *note = "admin credit";
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_money(body, "amount", 10000, GB_MONEY_MAX / 1000, true, &amount, err) ||
        gb_json_str(body, "note", 0, 256, false, &note, err) == GB_ERR_INVALID) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    gb_err e = accounts_credit(rq->db, rq->params[0], amount, note, &bal);
    if (e == GB_ERR_LIMIT) {
        api_error(rs, 400, "VALIDATION_ERROR", "field 'amount': the balance would overflow");
        goto done;
    }
    if (e) {
        api_error_from(rs, e, "Account");
        goto done;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", rq->params[0]);
    gb_json_add_money(o, "credited", amount);
    gb_json_add_money(o, "balance", bal);
    api_json(rs, 200, o);
done:
    cJSON_Delete(body);
}
