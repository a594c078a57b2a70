/* meter_round.c: one metering round (meter.h): settle every metered pod in one transaction,
 * the account alerts that follow from it, then the stops it calls for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/core/billing.h"
#include "broker/core/meter.h"
#include "broker/core/pod_actions.h"
#include "broker/core/registry.h"
#include "common/dbq.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "jobs/ledger.h"
#include "webhooks/outbox.h"

typedef struct {
    pod_rec *v;
    size_t n, cap;
    gb_err e;
} pod_vec;

/* Copies the pod (without its owned strings, which the round does not need). */
static void collect(void *ud, const pod_rec *p)
{
    pod_vec *pv = ud;
    if (pv->e) return;
    if (pv->n == pv->cap) {
        size_t cap = pv->cap ? pv->cap * 2 : 64;
        pod_rec *nv = realloc(pv->v, cap * sizeof(*nv));
        if (!nv) {
            pv->e = GB_ERR_NOMEM;
            return;
        }
        pv->v = nv;
        pv->cap = cap;
    }
    pv->v[pv->n] = *p;
    pv->v[pv->n].ssh_key_ids = pv->v[pv->n].options = NULL;
    pv->n++;
}

/* What a round found that needs a stop: a pod past a guard, or an account gone low. */
typedef struct {
    char id[GB_ID_MAX];
    char account_id[GB_ID_MAX];
    char reason[128];
} stop_item;

typedef struct {
    stop_item *v;
    size_t n, cap;
} stop_list;

static void stop_add(stop_list *l, const pod_rec *p, const char *reason)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        stop_item *nv = realloc(l->v, cap * sizeof(*nv));
        if (!nv) return; /* the next round finds it again */
        l->v = nv;
        l->cap = cap;
    }
    gb_strlcpy(l->v[l->n].id, p->id, sizeof(l->v[0].id));
    gb_strlcpy(l->v[l->n].account_id, p->account_id, sizeof(l->v[0].account_id));
    gb_strlcpy(l->v[l->n].reason, reason, sizeof(l->v[0].reason));
    l->n++;
}

static int cmp_account(const void *x, const void *y)
{
    return strcmp(((const pod_rec *)x)->account_id, ((const pod_rec *)y)->account_id);
}

/* The guards of one settled pod. */
static void check_guards(const pod_rec *p, const meter_result *r, int64_t now, stop_list *stops)
{
    char reason[128], a[32];
    if (p->status != POD_RUNNING) return;
    if (p->max_duration_ms > 0 && pod_running_ms(p, now) >= p->max_duration_ms) {
        snprintf(reason, sizeof(reason), "max_duration reached (%lld s)",
                 (long long)(p->max_duration_ms / 1000));
        stop_add(stops, p, reason);
    } else if (p->max_cost > 0 && r->total >= p->max_cost) {
        snprintf(reason, sizeof(reason), "max_cost reached ($%s)",
                 gb_money_format(p->max_cost, a, sizeof(a)));
        stop_add(stops, p, reason);
    }
}

static gb_err account_event(gb_db *db, const char *account_id, const char *event, cJSON *o,
                            int64_t now)
{
    cJSON_AddStringToObject(o, "event", event);
    cJSON_AddStringToObject(o, "accountId", account_id);
    gb_json_add_time(o, "at", now);
    gb_err e = wh_enqueue(db, account_id, event, o, NULL, NULL);
    cJSON_Delete(o);
    return e;
}

/* After the account's pods were settled: account.balance_low once while low (the account is
 * then added to *low), or the mark cleared when it is not low any more. */
static gb_err check_balance(const app *a, gb_db *db, const char *account_id, gb_money water,
                            gb_money unpaid, int64_t now, int *low)
{
    gb_money bal = 0, per_hour = 0;
    account_money m;
    gb_err e = ledger_balance(db, account_id, &bal);
    if (!e) e = account_money_get(db, account_id, &m);
    if (e) return e;
    *low = bal <= water || unpaid > 0;
    if (!*low) return m.low_balance_at ? account_set_low_balance(db, account_id, 0) : GB_OK;
    if (m.low_balance_at) return GB_OK; /* said already */
    e = meter_running_cost(a, db, account_id, &per_hour);
    if (e) return e;
    cJSON *o = cJSON_CreateObject();
    if (!o) return GB_ERR_NOMEM;
    gb_json_add_money(o, "balance", bal);
    gb_json_add_money(o, "lowWater", water);
    gb_json_add_money(o, "unpaid", unpaid);
    gb_json_add_money(o, "runningCostPerHour", per_hour);
    cJSON_AddStringToObject(o, "action", "stopping the account's pods");
    e = account_event(db, account_id, "account.balance_low", o, now);
    if (!e) e = account_set_low_balance(db, account_id, now);
    return e;
}

/* account.budget at 50, 80 and 100 % of the month's budget, each once a month. */
static gb_err check_budget(gb_db *db, const char *account_id, int64_t now)
{
    static const int steps[] = {50, 80, 100};
    account_money m;
    gb_err e = account_money_get(db, account_id, &m);
    if (e) return e;
    gb_money budget = account_cap(m.budget, m.admin_budget), spent = 0;
    if (budget <= 0) return GB_OK;
    char month[8];
    e = ledger_spent_since(db, account_id, billing_month_start(now, month), &spent);
    for (size_t i = 0; !e && i < sizeof(steps) / sizeof(steps[0]); i++) {
        gb_money at = 0;
        int fresh = 0;
        if (gb_money_mul_ratio(budget, steps[i], 100, &at) != 0 || spent < at) break;
        e = budget_alert_once(db, account_id, month, steps[i], now, &fresh);
        if (e || !fresh) continue;
        cJSON *o = cJSON_CreateObject();
        if (!o) return GB_ERR_NOMEM;
        cJSON_AddStringToObject(o, "month", month);
        cJSON_AddNumberToObject(o, "percent", steps[i]);
        gb_json_add_money(o, "budget", budget);
        gb_json_add_money(o, "spent", spent);
        e = account_event(db, account_id, "account.budget", o, now);
    }
    return e;
}

typedef struct {
    gb_db *db;
    int64_t now;
    gb_money water; /* metering.low_water */
    gb_err e;
} account_ctx;

static void budget_each(void *ud, const account_rec *r)
{
    account_ctx *c = ud;
    if (!c->e) c->e = check_budget(c->db, r->id, c->now);
}

/* An account seen low that no pod brought to this round (credited since, say): cleared once
 * its balance is above the mark. */
static void low_again(void *ud, const account_rec *r)
{
    account_ctx *c = ud;
    gb_money bal = 0;
    if (!c->e) c->e = ledger_balance(c->db, r->id, &bal);
    if (!c->e && bal > c->water) c->e = account_set_low_balance(c->db, r->id, 0);
}

typedef struct {
    stop_list *stops;
    const char *reason;
    app *a;
    gb_db *db;
} low_ctx;

/* A low account's pods that cost or are about to: stopped (or deleted) with the reason. */
static void low_each(void *ud, const pod_rec *p)
{
    low_ctx *c = ud;
    if (!meter_charges(p) || p->status == POD_STOPPING || p->status == POD_DELETED ||
        p->status == POD_SUCCEEDED || p->status == POD_FAILED)
        return;
    if (p->status == POD_STOPPED && meter_idle_rate(c->a, c->db, p) <= 0) return;
    stop_add(c->stops, p, c->reason);
}

/* Settles every metered pod and checks the accounts, in one transaction. */
static gb_err settle_all(app *a, gb_db *db, int64_t now, meter_stats *st, stop_list *stops,
                         char (**low)[GB_ID_MAX], size_t *nlow)
{
    pod_vec pv = {NULL, 0, 0, GB_OK};
    gb_money water = 0; /* the config loader checked that it parses */
    gb_money_parse(a->cfg.metering_low_water, &water);
    gb_err e = gb_db_begin(db);
    if (e) return e;
    int got = 0; /* one round at a time across brokers: the others skip theirs */
    e = gb_db_try_lock(db, METER_ROUND_LOCK, &got);
    if (!e && !got) {
        st->skipped = 1;
        gb_db_rollback(db);
        return GB_OK;
    }
    if (!e) e = pod_list_metered(db, collect, &pv);
    if (!e) e = pv.e;
    if (!e && pv.n) qsort(pv.v, pv.n, sizeof(pv.v[0]), cmp_account);
    gb_money unpaid = 0;
    for (size_t i = 0; !e && i < pv.n; i++) {
        meter_result r;
        e = meter_settle(a, db, &pv.v[i], pv.v[i].status, now, &r);
        if (e) break;
        st->pods++;
        if (r.charged > 0) {
            st->entries++;
            st->charged += r.charged;
        }
        unpaid += r.unpaid;
        check_guards(&pv.v[i], &r, now, stops);
        if (i + 1 < pv.n && !strcmp(pv.v[i + 1].account_id, pv.v[i].account_id)) continue;
        int is_low = 0; /* the account's last pod: its balance now */
        e = check_balance(a, db, pv.v[i].account_id, water, unpaid, now, &is_low);
        unpaid = 0;
        if (!e && is_low) {
            char(*nv)[GB_ID_MAX] = realloc(*low, (*nlow + 1) * sizeof(**low));
            if (!nv) {
                e = GB_ERR_NOMEM;
                break;
            }
            *low = nv;
            gb_strlcpy((*low)[(*nlow)++], pv.v[i].account_id, GB_ID_MAX);
            st->accounts_low++;
        }
    }
    account_ctx bc = {db, now, water, GB_OK};
    if (!e) e = account_with_budgets(db, budget_each, &bc);
    if (!e) e = account_low(db, low_again, &bc);
    if (!e) e = bc.e;
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    free(pv.v);
    return e;
}

/* Asks for the stop of one pod (a delete where the platform cannot stop, or where a stop
 * failed already since since_ms, 0: since it last started running), reading it again; 1 when
 * asked. */
static int stop_one(app *a, gb_db *db, const stop_item *it, int64_t since_ms)
{
    const char *id = it->id, *reason = it->reason;
    pod_rec p;
    memset(&p, 0, sizeof(p));
    int asked = 0;
    for (int i = 0; i < 3; i++) {
        pod_rec_clear(&p);
        memset(&p, 0, sizeof(p));
        if (pod_get(db, it->account_id, id, &p) != GB_OK || p.status == POD_DELETED ||
            p.status == POD_STOPPING)
            break;
        /* a provider another broker registered since this one's last sync is looked up
         * again: taken for unknown, the pod would be deleted where a stop was possible */
        prov_adapter *ad = registry_get_synced(a, db, p.provider);
        bool can_stop =
            ad && ad->ops->stop && p.provider_id[0] && p.status != POD_STOPPED &&
            !pod_event_since(db, p.id, "stop_failed", since_ms ? since_ms : p.running_since);
        gb_strlcpy(p.stop_reason, reason, sizeof(p.stop_reason));
        gb_err e = pod_request(a, db, &p, can_stop ? INTENT_STOP : INTENT_DELETE, NULL, reason);
        if (e == GB_ERR_CONFLICT) continue;
        if (!e) {
            asked = 1;
            GB_INFO("metering", "%s: %s (%s)", id, can_stop ? "stop" : "delete", reason);
        }
        break;
    }
    pod_rec_clear(&p);
    return asked;
}

gb_err meter_round(app *a, gb_db *db, int64_t now, meter_stats *st)
{
    meter_stats local;
    if (!st) st = &local;
    memset(st, 0, sizeof(*st));
    stop_list stops = {NULL, 0, 0};
    char(*low)[GB_ID_MAX] = NULL;
    size_t nlow = 0;
    gb_err e = settle_all(a, db, now, st, &stops, &low, &nlow);
    if (e) {
        GB_WARN("metering", "round failed: %s", gb_strerror(e));
        stops.n = nlow = 0;
    }
    size_t guards = stops.n;
    for (size_t i = 0; i < nlow; i++) {
        char reason[128];
        account_money m;
        if (account_money_get(db, low[i], &m) != GB_OK) continue;
        snprintf(reason, sizeof(reason), "the account's balance is exhausted (at or below $%s)",
                 a->cfg.metering_low_water);
        low_ctx c = {&stops, reason, a, db};
        size_t before = stops.n;
        pod_list(db, low[i], NULL, NULL, low_each, &c);
        for (size_t k = before; k < stops.n; k++)
            st->stops_requested +=
                stop_one(a, db, &stops.v[k], m.low_balance_at ? m.low_balance_at : now);
    }
    for (size_t k = 0; k < guards; k++)
        st->stops_requested += stop_one(a, db, &stops.v[k], 0);
    free(stops.v);
    free(low);
    return e;
}

typedef struct {
    const app *a;
    gb_money sum;
    int overflow;
} cost_sum;

static void add_rate(void *ud, const char *provider, gb_money price, gb_money locked)
{
    cost_sum *c = ud;
    gb_money r = locked;
    if (r <= 0 && meter_price_rate(c->a, provider, price, &r)) c->overflow = 1;
    if (r > GB_MONEY_MAX - c->sum) c->overflow = 1;
    if (!c->overflow) c->sum += r;
}

gb_err meter_pods_cost(const app *a, gb_db *db, const char *account_id, int committed,
                       gb_money *per_hour)
{
    cost_sum c = {a, 0, 0};
    gb_err e = pod_rates_each(db, account_id, committed, add_rate, &c);
    if (!e && c.overflow) e = GB_ERR_LIMIT;
    *per_hour = e ? 0 : c.sum;
    return e;
}

gb_err meter_running_cost(const app *a, gb_db *db, const char *account_id, gb_money *per_hour)
{
    return meter_pods_cost(a, db, account_id, 0, per_hour);
}
