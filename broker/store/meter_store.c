/* meter_store.c: the pod_meters table (broker/core/meter.h). */
#include "broker/core/meter.h"
#include "broker/store/store_util.h"

#define METER_COLS                                                                                 \
    "pod_id, account_id, rate, idle_rate, period_from, settled_at, run_ms, run_charged,"           \
    " idle_ms, idle_charged, unpaid, open"

static void meter_row(gb_q *s, void *out)
{
    meter_rec *m = out;
    sq_col(s, 0, m->pod_id, sizeof(m->pod_id));
    sq_col(s, 1, m->account_id, sizeof(m->account_id));
    m->rate = gb_q_col_int64(s, 2);
    m->idle_rate = gb_q_col_int64(s, 3);
    m->period_from = gb_q_col_int64(s, 4);
    m->settled_at = gb_q_col_int64(s, 5);
    m->run_ms = gb_q_col_int64(s, 6);
    m->run_charged = gb_q_col_int64(s, 7);
    m->idle_ms = gb_q_col_int64(s, 8);
    m->idle_charged = gb_q_col_int64(s, 9);
    m->unpaid = gb_q_col_int64(s, 10);
    m->open = gb_q_col_int64(s, 11) != 0;
}

gb_err meter_get(gb_db *db, const char *pod_id, meter_rec *out)
{
    gb_q *s = gb_q_prep(db, "SELECT " METER_COLS " FROM pod_meters WHERE pod_id = ?1");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, pod_id);
    return sq_one(s, meter_row, out);
}

/* An existing meter is updated in place: INSERT OR REPLACE would delete the row and insert it
 * again (its two indexes too, and secure_delete zeroes the freed cells) for every pod, every
 * round; that was a fifth of a round's time (docs/benchmarks.md, "Metering round"). */
gb_err meter_put(gb_db *db, const meter_rec *m)
{
    gb_q *s = gb_q_prep(
        db, "INSERT INTO pod_meters(" METER_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
            " ON CONFLICT(pod_id) DO UPDATE SET account_id = ?2, rate = ?3, idle_rate = ?4,"
            " period_from = ?5, settled_at = ?6, run_ms = ?7, run_charged = ?8, idle_ms = ?9,"
            " idle_charged = ?10, unpaid = ?11, open = ?12");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, m->pod_id);
    gb_q_text(s, 2, m->account_id);
    gb_q_int64(s, 3, m->rate);
    gb_q_int64(s, 4, m->idle_rate);
    gb_q_int64(s, 5, m->period_from);
    gb_q_int64(s, 6, m->settled_at);
    gb_q_int64(s, 7, m->run_ms);
    gb_q_int64(s, 8, m->run_charged);
    gb_q_int64(s, 9, m->idle_ms);
    gb_q_int64(s, 10, m->idle_charged);
    gb_q_int64(s, 11, m->unpaid);
    gb_q_int64(s, 12, m->open);
    return sq_change(s, 0, NULL);
}
