/* api_usage.c: the money reports: GET /api/volt/account/ledger (the caller's entries, newest
 * first, paged, by kind and time) and GET /api/volt/account/usage (the window's spend summed
 * by pod, provider, GPU type or day, with the credits and the net), and their administrator
 * forms across accounts. Every sum comes from the ledger, so it adds up to the balance. */
#include <stdio.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/core/billing.h"
#include "broker/store/stores.h"
#include "broker/store/usage.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"

/* RFC 3339 UTC, with milliseconds when the instant has any (so an entry's time given back as
 * from or to selects exactly that instant). */
static void add_time_ms(cJSON *o, const char *key, int64_t ms)
{
    char buf[40];
    if (ms == 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    int64_t frac = ((ms % 1000) + 1000) % 1000;
    if (frac == 0) {
        gb_json_add_time(o, key, ms);
        return;
    }
    gb_time_format(ms - frac, buf, sizeof(buf));
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == 'Z') buf[n - 1] = '\0';
    char out[48];
    snprintf(out, sizeof(out), "%s.%03dZ", buf, (int)frac);
    cJSON_AddStringToObject(o, key, out);
}

/* Money both ways: dollars as the Volt API shows them, and exact micro-dollars. */
static void add_money2(cJSON *o, const char *key, gb_money m)
{
    char k[48];
    gb_json_add_money(o, key, m);
    snprintf(k, sizeof(k), "%s_micros", key);
    cJSON_AddNumberToObject(o, k, (double)m);
}

/* Reads the from/to query parameters into f (defaults given); -1 after answering 400. */
static int read_window(api_req *rq, api_resp *rs, usage_filter *f)
{
    static const char *const names[] = {"from", "to"};
    int64_t *dst[] = {&f->from_ms, &f->to_ms};
    for (int i = 0; i < 2; i++) {
        const char *v = api_query(rq, names[i]);
        if (v && gb_time_parse(v, dst[i])) {
            api_error(rs, 400, "VALIDATION_ERROR",
                      "query '%s' must be an RFC 3339 UTC time like 2026-03-28T14:00:00Z",
                      names[i]);
            return -1;
        }
    }
    if (f->from_ms > f->to_ms) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'from' must not be after 'to'");
        return -1;
    }
    return 0;
}

/* The administrator's optional account_id: it must name an account. -1 after answering. */
static int read_account(api_req *rq, api_resp *rs, usage_filter *f)
{
    const char *id = api_query(rq, "account_id");
    if (!id) return 0;
    account_rec acc;
    if (!id[0] || strlen(id) >= GB_ID_MAX) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'account_id' is not an account id");
        return -1;
    }
    gb_err e = account_get(rq->db, id, &acc);
    if (e) {
        api_error_from(rs, e, "Account");
        return -1;
    }
    f->account_id = id;
    return 0;
}

typedef struct {
    cJSON *arr;
    bool with_account;
} entries_ctx;

static void add_entry(void *ud, const usage_entry *e)
{
    entries_ctx *c = ud;
    cJSON *o = cJSON_CreateObject();
    if (!o) return;
    cJSON_AddNumberToObject(o, "id", (double)e->id);
    if (c->with_account) gb_json_add_str_or_null(o, "account_id", e->account_id);
    cJSON_AddStringToObject(o, "kind", usage_kind_name(e->kind));
    add_money2(o, "amount", e->amount);
    gb_json_add_str_or_null(o, "ref", e->ref);
    gb_json_add_str_or_null(o, "pod_id", e->pod_id);
    bool usage = e->kind == USAGE_KIND_USAGE;
    if (usage) {
        add_time_ms(o, "period_start", e->period_start);
        add_time_ms(o, "period_end", e->period_end);
    } else {
        cJSON_AddNullToObject(o, "period_start");
        cJSON_AddNullToObject(o, "period_end");
    }
    gb_json_add_str_or_null(o, "note", e->note);
    add_time_ms(o, "created_at", e->created_at);
    cJSON_AddItemToArray(c->arr, o);
}

static void ledger(api_req *rq, api_resp *rs, bool admin)
{
    usage_filter f = {admin ? NULL : rq->account_id, USAGE_KIND_ANY, INT64_MIN, INT64_MAX};
    const char *ls = api_query(rq, "limit"), *os = api_query(rq, "offset"),
               *kind = api_query(rq, "kind");
    int limit = 100;
    int64_t offset = 0, total = 0;
    if (ls && gb_parse_int(ls, 1, 1000, &limit)) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'limit' must be a number from 1 to 1000");
        return;
    }
    if (os && gb_parse_i64(os, 0, INT64_C(1000000000000), &offset)) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'offset' must be a number >= 0");
        return;
    }
    if (kind && usage_kind_parse(kind, &f.kind)) {
        api_error(rs, 400, "VALIDATION_ERROR",
                  "query 'kind' must be one of credit, debit, refund, usage");
        return;
    }
    if (read_window(rq, rs, &f) || (admin && read_account(rq, rs, &f))) return;
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    cJSON_AddTrueToObject(o, "success");
    entries_ctx c = {cJSON_AddArrayToObject(o, "entries"), admin};
    gb_err e = usage_count(rq->db, &f, &total);
    if (!e) e = usage_entries(rq->db, &f, limit, offset, add_entry, &c);
    if (e) {
        cJSON_Delete(o);
        api_error_from(rs, e, "ledger");
        return;
    }
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddNumberToObject(o, "limit", limit);
    cJSON_AddNumberToObject(o, "offset", (double)offset);
    api_json(rs, 200, o);
}

static void add_group(void *ud, const usage_group *g)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return;
    cJSON_AddStringToObject(o, "key", g->key);
    add_money2(o, "spend", g->spend);
    cJSON_AddNumberToObject(o, "entries", (double)g->entries);
    cJSON_AddItemToArray(ud, o);
}

static void usage(api_req *rq, api_resp *rs, bool admin)
{
    int64_t now = gb_now_ms();
    usage_filter f = {admin ? NULL : rq->account_id, USAGE_KIND_ANY, billing_month_start(now, NULL),
                      now};
    usage_group_by by = USAGE_BY_POD;
    const char *gs = api_query(rq, "group_by");
    if (gs && (usage_group_parse(gs, &by) || (!admin && by == USAGE_BY_ACCOUNT))) {
        api_error(rs, 400, "VALIDATION_ERROR",
                  "query 'group_by' must be one of pod, provider, "
                  "gpu, day%s",
                  admin ? ", account" : "");
        return;
    }
    if (read_window(rq, rs, &f) || (admin && read_account(rq, rs, &f))) return;
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    cJSON_AddTrueToObject(o, "success");
    if (f.account_id) cJSON_AddStringToObject(o, "account_id", f.account_id);
    add_time_ms(o, "from", f.from_ms);
    add_time_ms(o, "to", f.to_ms);
    cJSON_AddStringToObject(o, "group_by", gs ? gs : "pod");
    cJSON *groups = cJSON_CreateArray();
    usage_totals t;
    gb_err e = groups ? usage_sum(rq->db, &f, by, add_group, groups, &t) : GB_ERR_NOMEM;
    if (e) {
        cJSON_Delete(groups);
        cJSON_Delete(o);
        api_error_from(rs, e, "usage");
        return;
    }
    add_money2(o, "spend", t.spend);
    add_money2(o, "credits", t.credits);
    add_money2(o, "net", t.credits - t.spend);
    cJSON_AddNumberToObject(o, "entries", (double)t.entries);
    cJSON_AddItemToObject(o, "groups", groups);
    api_json(rs, 200, o);
}

void h_account_ledger(api_req *rq, api_resp *rs)
{
    ledger(rq, rs, false);
}

void h_admin_ledger(api_req *rq, api_resp *rs)
{
    ledger(rq, rs, true);
}

void h_account_usage(api_req *rq, api_resp *rs)
{
    usage(rq, rs, false);
}

void h_admin_usage(api_req *rq, api_resp *rs)
{
    usage(rq, rs, true);
}
