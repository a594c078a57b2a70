/* api_limits.c: an account's money guards in the API: the fields every account answer carries
 * (limits, budget used, running cost, time left), the holder's PUT /api/volt/account (their own
 * spend limit and budget, never above what an administrator set) and the administrator's
 * PUT /api/volt/admin/accounts/:id/limits. */
#include <stdio.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/core/billing.h"
#include "broker/core/meter.h"
#include "common/clock.h"
#include "common/json.h"
#include "jobs/ledger.h"

static void add_cap(cJSON *o, const char *key, gb_money v)
{
    if (v > 0)
        gb_json_add_money(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

int account_money_fields(const app *a, gb_db *db, const char *id, gb_money balance, cJSON *o)
{
    account_money m;
    gb_money spent = 0, per_hour = 0;
    if (account_money_get(db, id, &m) != GB_OK ||
        ledger_spent_since(db, id, billing_month_start(gb_now_ms(), NULL), &spent) != GB_OK ||
        meter_running_cost(a, db, id, &per_hour) != GB_OK)
        return -1;
    gb_money limit = account_cap(m.spend_limit, m.admin_spend_limit);
    gb_money budget = account_cap(m.budget, m.admin_budget);
    add_cap(o, "spend_limit_per_hour", limit);
    add_cap(o, "monthly_budget", budget);
    gb_json_add_money(o, "month_spent", spent);
    if (budget > 0)
        cJSON_AddNumberToObject(o, "budget_used_percent",
                                (double)(spent * 1000 / budget) / 10.0); /* one decimal */
    else
        cJSON_AddNullToObject(o, "budget_used_percent");
    gb_json_add_money(o, "running_cost_per_hour", per_hour);
    if (per_hour > 0)
        cJSON_AddNumberToObject(o, "estimated_hours_left",
                                (double)(balance * 100 / per_hour) / 100.0);
    else
        cJSON_AddNullToObject(o, "estimated_hours_left");
    cJSON *l = cJSON_AddObjectToObject(o, "limits");
    cJSON *own = cJSON_AddObjectToObject(l, "account");
    add_cap(own, "spend_limit_per_hour", m.spend_limit);
    add_cap(own, "monthly_budget", m.budget);
    cJSON *adm = cJSON_AddObjectToObject(l, "admin");
    add_cap(adm, "spend_limit_per_hour", m.admin_spend_limit);
    add_cap(adm, "monthly_budget", m.admin_budget);
    cJSON_AddBoolToObject(o, "balance_low", m.low_balance_at != 0);
    return 0;
}

/* Reads the two optional caps of a limits body (0 or null: none). -1 with err. */
static int read_caps(const cJSON *body, gb_money *limit, bool *has_limit, gb_money *budget,
                     bool *has_budget, char *err)
{
    static const char *const allowed[] = {"spend_limit_per_hour", "monthly_budget", NULL};
    if (gb_json_only_keys(body, allowed, err)) return -1;
    gb_err e1 =
        gb_json_money(body, "spend_limit_per_hour", 0, GB_MONEY_MAX / 1000, false, limit, err);
    if (e1 == GB_ERR_INVALID) return -1;
    gb_err e2 = gb_json_money(body, "monthly_budget", 0, GB_MONEY_MAX / 1000, false, budget, err);
    if (e2 == GB_ERR_INVALID) return -1;
    *has_limit = cJSON_HasObjectItem(body, "spend_limit_per_hour");
    *has_budget = cJSON_HasObjectItem(body, "monthly_budget");
    if (!*has_limit && !*has_budget) {
        snprintf(err, GB_JSON_ERR_MAX, "give 'spend_limit_per_hour' or 'monthly_budget'");
        return -1;
    }
    if (e1 == GB_ERR_NOT_FOUND) *limit = 0;
    if (e2 == GB_ERR_NOT_FOUND) *budget = 0;
    return 0;
}

/* Writes the caps (own or admin) of account id and answers it. */
static void set_caps(api_req *rq, api_resp *rs, const char *id, bool admin)
{
    char err[GB_JSON_ERR_MAX], a[32], b[32];
    gb_money limit = 0, budget = 0;
    bool has_limit = false, has_budget = false;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    if (read_caps(body, &limit, &has_limit, &budget, &has_budget, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    gb_err e = gb_db_begin(rq->db);
    account_money m;
    if (!e) e = account_money_get(rq->db, id, &m);
    if (e) {
        gb_db_rollback(rq->db);
        api_error_from(rs, e, "Account");
        goto done;
    }
    /* the holder can lower what an administrator set, never raise or remove it */
    const char *raised = NULL;
    gb_money cap = 0, asked = 0;
    if (!admin && has_limit && m.admin_spend_limit > 0 &&
        (limit == 0 || limit > m.admin_spend_limit)) {
        raised = "spend_limit_per_hour";
        cap = m.admin_spend_limit;
        asked = limit;
    } else if (!admin && has_budget && m.admin_budget > 0 &&
               (budget == 0 || budget > m.admin_budget)) {
        raised = "monthly_budget";
        cap = m.admin_budget;
        asked = budget;
    }
    if (raised) {
        gb_db_rollback(rq->db);
        api_error(rs, 403, "FORBIDDEN",
                  "field '%s': an administrator set it to $%s; you can lower it, not raise or "
                  "remove it (asked for %s%s)",
                  raised, gb_money_format(cap, a, sizeof(a)), asked ? "$" : "none",
                  asked ? gb_money_format(asked, b, sizeof(b)) : "");
        goto done;
    }
    if (has_limit) *(admin ? &m.admin_spend_limit : &m.spend_limit) = limit;
    if (has_budget) *(admin ? &m.admin_budget : &m.budget) = budget;
    e = account_money_set(rq->db, id, &m);
    if (!e)
        e = gb_db_commit(rq->db);
    else
        gb_db_rollback(rq->db);
    if (e) {
        api_error_from(rs, e, "Account");
        goto done;
    }
    gb_money bal = 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    if (ledger_balance(rq->db, id, &bal) != GB_OK ||
        account_money_fields(rq->app, rq->db, id, bal, o)) {
        cJSON_Delete(o);
        api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
        goto done;
    }
    cJSON_AddStringToObject(o, "message",
                            admin ? "Limits set by an administrator." : "Limits set.");
    api_json(rs, 200, o);
done:
    cJSON_Delete(body);
}

void h_account_update(api_req *rq, api_resp *rs)
{
    set_caps(rq, rs, rq->account_id, false);
}

void h_admin_accounts_limits(api_req *rq, api_resp *rs)
{
    set_caps(rq, rs, rq->params[0], true);
}
