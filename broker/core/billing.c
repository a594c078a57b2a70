/* billing.c: budget, balance and spend-limit checks before a pod starts to cost. */
#include "broker/core/billing.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker/core/meter.h"
#include "broker/core/pods.h"
#include "broker/store/stores.h"
#include "common/clock.h"
#include "common/str.h"
#include "jobs/ledger.h"

int64_t billing_month_start(int64_t now_ms, char month[8])
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (month) {
        unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u, mo = (unsigned)tm.tm_mon % 12u + 1u;
        snprintf(month, 8, "%04u-%02u", y, mo);
    }
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    return (int64_t)timegm(&tm) * 1000;
}

static gb_err refuse(billing_refusal *why, const char *code, const char *fmt, const char *a,
                     const char *b, const char *c)
{
    why->code = code;
    snprintf(why->message, sizeof(why->message), fmt, a, b, c);
    return GB_ERR_PAYMENT;
}

gb_err billing_admit(app *a, gb_db *db, const char *account_id, const char *provider,
                     gb_money price, billing_refusal *why)
{
    char x[32], y[32], z[32];
    account_money m;
    gb_money bal = 0, spent = 0, need = 0, running = 0, rate = price;
    memset(why, 0, sizeof(*why));
    /* locked: the checks below and the caller's reservation are one step per account on
     * PostgreSQL too (READ COMMITTED would let concurrent creates each see the others absent) */
    gb_err e = account_money_lock(db, account_id, &m);
    if (!e) e = ledger_balance(db, account_id, &bal);
    if (e) return e;
    gb_money budget = account_cap(m.budget, m.admin_budget);
    if (budget > 0) {
        e = ledger_spent_since(db, account_id, billing_month_start(gb_now_ms(), NULL), &spent);
        if (e) return e;
        if (spent >= budget)
            return refuse(why, "BUDGET",
                          "This month's spending ($%s) has reached your budget of $%s; no new "
                          "pods until it is raised or the month ends%s",
                          gb_money_format(spent, x, sizeof(x)),
                          gb_money_format(budget, y, sizeof(y)), "");
    }
    /* every figure below is what the user pays: the price with the provider's margin */
    if (meter_price_rate(a, provider, price, &rate)) return GB_ERR_LIMIT;
    if (gb_money_mul_ratio(rate, a->cfg.metering_min_run_min, 60, &need) != 0) return GB_ERR_LIMIT;
    /* and never on credit: a priced pod needs some balance even with no minimum run time */
    if (bal < need || (rate > 0 && bal <= 0)) {
        snprintf(y, sizeof(y), "%d", a->cfg.metering_min_run_min);
        return refuse(why, "INSUFFICIENT_BALANCE",
                      "Your balance ($%s) does not cover %s minutes of this pod ($%s); add "
                      "credit first",
                      gb_money_format(bal, x, sizeof(x)), y, gb_money_format(need, z, sizeof(z)));
    }
    gb_money limit = account_cap(m.spend_limit, m.admin_spend_limit);
    if (limit > 0) {
        e = meter_pods_cost(a, db, account_id, 1, &running);
        if (e) return e;
        if (running + rate > limit)
            return refuse(why, "SPEND_LIMIT",
                          "This pod ($%s/h) would take your running cost to $%s/h, above your "
                          "spend limit of $%s/h",
                          gb_money_format(rate, x, sizeof(x)),
                          gb_money_format(running + rate, y, sizeof(y)),
                          gb_money_format(limit, z, sizeof(z)));
    }
    return GB_OK;
}
