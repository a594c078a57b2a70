/* meter_worker.c: metering rounds on a worker thread (meter_worker.h); each round also prunes
 * the Idempotency-Keys past 24 h. */
#include "broker/workers/meter_worker.h"

#include <stdlib.h>

#include "broker/core/meter.h"
#include "broker/store/idem_store.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/worker.h"

struct meter_worker {
    app *a;
    gb_worker *w;
};

static bool round_fn(void *ud)
{
    meter_worker *m = ud;
    gb_db *db = app_db(m->a);
    meter_stats st;
    if (db && meter_round(m->a, db, gb_now_ms(), &st) == GB_OK &&
        (st.entries || st.stops_requested))
        GB_DEBUG("metering", "%d pods, %d entries, %d stops asked", st.pods, st.entries,
                 st.stops_requested);
    int pruned = 0; /* Idempotency-Keys past 24 h and abandoned reservations (idem_store.h) */
    if (db && idem_prune(db, gb_now_ms(), &pruned) == GB_OK && pruned)
        GB_DEBUG("metering", "forgot %d idempotency key(s)", pruned);
    return false;
}

static void thread_end(void *ud)
{
    (void)ud;
    app_db_release();
}

gb_err meter_worker_start(app *a, meter_worker **out)
{
    meter_worker *m = calloc(1, sizeof(*m));
    if (!m) return GB_ERR_NOMEM;
    m->a = a;
    gb_worker_cfg wc = {.name = "metering",
                        .interval_ms = a->cfg.metering_period_ms,
                        .round = round_fn,
                        .thread_end = thread_end,
                        .ud = m};
    gb_err e = gb_worker_start(&wc, &m->w);
    if (e) {
        free(m);
        return e;
    }
    *out = m;
    return GB_OK;
}

void meter_worker_stop(meter_worker *m)
{
    if (!m) return;
    gb_worker_stop(m->w);
    free(m);
}
