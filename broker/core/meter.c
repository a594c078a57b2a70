/* meter.c: a pod's rates and settling its meter (meter.h). */
#include "broker/core/meter.h"

#include <string.h>

#include "broker/core/registry.h"
#include "common/log.h"
#include "common/str.h"
#include "jobs/ledger.h"

#define HOUR_MS INT64_C(3600000)

int meter_price_rate(const app *a, const char *provider, gb_money price, gb_money *out)
{
    int bp = gb_config_margin(a->cfg.metering_margins, provider);
    *out = price;
    return bp > 0 && gb_money_plus_bp(price, bp, out) != 0 ? -1 : 0;
}

gb_money meter_price_cap(const app *a, const char *provider, gb_money cap)
{
    int bp = gb_config_margin(a->cfg.metering_margins, provider);
    gb_money p, r;
    if (bp <= 0 || cap <= 0 || gb_money_mul_ratio(cap, 10000, 10000 + (int64_t)bp, &p) != 0)
        return cap;
    p++; /* the division rounds to the nearest: start above it and come down to the cap */
    while (p > 0 && (meter_price_rate(a, provider, p, &r) != 0 || r > cap))
        p--;
    return p;
}

gb_money meter_rate(const app *a, const pod_rec *p)
{
    if (p->meter_rate > 0) return p->meter_rate; /* locked at its first charge */
    gb_money r;
    return meter_price_rate(a, p->provider, p->price_per_hour, &r) ? p->price_per_hour : r;
}

gb_money meter_idle_rate(app *a, gb_db *db, const pod_rec *p)
{
    if (p->volume_size_gb <= 0) return 0;
    /* a rate 0 locked at a meter's opening would leave its stopped storage unpaid for good */
    prov_adapter *ad = registry_get_synced(a, db, p->provider);
    if (!ad) return 0;
    gb_money per_gb = ad->ops->stopped_price_per_gb_hour, m;
    if (registry_stopped_price(ad->settings, &m) == 1) per_gb = m;
    gb_money r = 0;
    if (gb_money_mul_ratio(per_gb, p->volume_size_gb, 1, &r) != 0) return 0;
    return r;
}

/* A new meter for p: its rates locked now, its interval starting where it began to run. */
static void meter_open(app *a, gb_db *db, const pod_rec *p, int64_t now, meter_rec *m)
{
    memset(m, 0, sizeof(*m));
    gb_strlcpy(m->pod_id, p->id, sizeof(m->pod_id));
    gb_strlcpy(m->account_id, p->account_id, sizeof(m->account_id));
    m->rate = meter_rate(a, p);
    m->idle_rate = meter_idle_rate(a, db, p);
    int64_t began = p->running_since ? p->running_since - p->running_ms
                                     : (p->stopped_at ? p->stopped_at : now) - p->running_ms;
    m->period_from = m->settled_at = began < now ? began : now;
    m->open = true;
}

bool meter_charges(const pod_rec *p)
{
    return !p->job_id[0];
}

gb_err meter_settle(app *a, gb_db *db, const pod_rec *p, pod_status was, int64_t now,
                    meter_result *out)
{
    meter_result res = {0, 0, 0};
    meter_rec m;
    if (out) *out = res;
    if (!meter_charges(p)) return GB_OK;
    /* the balance's row before the meter's, in every transaction that settles (the metering
     * round, a stop or delete, the reconciler's status change): on PostgreSQL two of them
     * taking the two in turn deadlocked */
    gb_err e = ledger_lock(db, p->account_id);
    if (e) return e;
    e = meter_get(db, p->id, &m);
    if (e == GB_ERR_NOT_FOUND) {
        if (pod_running_ms(p, now) <= 0) return GB_OK; /* never ran: nothing to pay */
        meter_open(a, db, p, now, &m);
    } else if (e) {
        return e;
    } else if (!m.open) {
        return GB_OK;
    } else if (now < m.settled_at) {
        /* a meter's time never goes back: a settle whose clock is behind the last one's (a
         * broker's clock behind another's, a round that read its clock before it waited for
         * the locks) would have moved settled_at back, and the next settle charged the stopped
         * time between the two again (test_broker_metering test_stopped_storage) */
        now = m.settled_at;
    }
    int64_t run = pod_running_ms(p, now), idle = m.idle_ms;
    if (run < m.run_ms) run = m.run_ms; /* time charged is never given back */
    if (was == POD_STOPPED && m.idle_rate > 0) {
        int64_t from = m.settled_at > p->stopped_at ? m.settled_at : p->stopped_at;
        if (now > from) idle += now - from;
    }
    gb_money run_total, idle_total;
    if (gb_money_mul_ratio(m.rate, run, HOUR_MS, &run_total) != 0 ||
        gb_money_mul_ratio(m.idle_rate, idle, HOUR_MS, &idle_total) != 0)
        return GB_ERR_LIMIT;
    gb_money due = (run_total - m.run_charged) + (idle_total - m.idle_charged);
    if (due > 0 && now <= m.period_from) return GB_OK; /* an empty interval: the next settle */
    m.run_ms = run;
    m.run_charged = run_total;
    m.idle_ms = idle;
    m.idle_charged = idle_total;
    m.settled_at = now;
    if (due > 0) {
        gb_money bal = 0;
        e = ledger_balance(db, p->account_id, &bal);
        if (e) return e;
        res.charged = due < bal ? due : (bal > 0 ? bal : 0);
        res.unpaid = due - res.charged;
        if (res.charged > 0) {
            e = ledger_add_usage(db, p->account_id, res.charged, p->id, m.period_from, now,
                                 "pod usage");
            if (e) return e;
            m.period_from = now;
        }
        m.unpaid += res.unpaid;
    }
    if (p->status == POD_DELETED) m.open = false;
    res.total = run_total + idle_total;
    e = meter_put(db, &m);
    if (!e && out) *out = res;
    return e;
}
