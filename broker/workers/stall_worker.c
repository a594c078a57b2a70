/* stall_worker.c: the stalled-broker sweep on a worker thread (stall_worker.h). */
#include "broker/workers/stall_worker.h"

#include <stdlib.h>

#include "common/dbq.h"
#include "common/log.h"
#include "common/worker.h"

struct stall_worker {
    app *a;
    int idle_ms;
    gb_worker *w;
};

static int64_t interval_ms(int idle_ms)
{
    int64_t ms = idle_ms / 4;
    return ms < 100 ? 100 : ms > 1000 ? 1000 : ms;
}

static bool round_fn(void *ud)
{
    stall_worker *s = ud;
    gb_db *db = app_db(s->a);
    int ended = 0;
    if (db && gb_db_pg_end_stalled(db, s->idle_ms, &ended) == GB_OK && ended > 0)
        GB_WARN("store",
                "ended %d database session(s) of another broker idle inside a transaction for "
                "over %d ms (stopped or stalled; it reconnects when it wakes)",
                ended, s->idle_ms);
    return false;
}

static void thread_end(void *ud)
{
    (void)ud;
    app_db_release();
}

gb_err stall_worker_start(app *a, stall_worker **out)
{
    *out = NULL;
    int idle_ms = a->cfg.idle_txn_ms; /* the limit app_open gave the sessions */
    if (!gb_db_url_is_pg(a->cfg.database) || idle_ms <= 0) return GB_OK;
    stall_worker *s = calloc(1, sizeof(*s));
    if (!s) return GB_ERR_NOMEM;
    s->a = a;
    s->idle_ms = idle_ms;
    gb_worker_cfg wc = {.name = "stall sweep",
                        .interval_ms = interval_ms(idle_ms),
                        .round = round_fn,
                        .thread_end = thread_end,
                        .ud = s};
    gb_err e = gb_worker_start(&wc, &s->w);
    if (e) {
        free(s);
        return e;
    }
    *out = s;
    return GB_OK;
}

void stall_worker_stop(stall_worker *s)
{
    if (!s) return;
    gb_worker_stop(s->w);
    free(s);
}
