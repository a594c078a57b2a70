/* meter_store.c: the pod_meters table (broker/core/meter.h). */
#include "broker/core/meter.h"
#include "broker/store/store_util.h"

#define METER_COLS                                                                                 \
    "pod_id, account_id, rate, idle_rate, period_from, settled_at, run_ms, run_charged,"           \
    " idle_ms, idle_charged, unpaid, open"

static void meter_row(sqlite3_stmt *s, void *out)
{
    meter_rec *m = out;
    su_col(s, 0, m->pod_id, sizeof(m->pod_id));
    su_col(s, 1, m->account_id, sizeof(m->account_id));
    m->rate = sqlite3_column_int64(s, 2);
    m->idle_rate = sqlite3_column_int64(s, 3);
    m->period_from = sqlite3_column_int64(s, 4);
    m->settled_at = sqlite3_column_int64(s, 5);
    m->run_ms = sqlite3_column_int64(s, 6);
    m->run_charged = sqlite3_column_int64(s, 7);
    m->idle_ms = sqlite3_column_int64(s, 8);
    m->idle_charged = sqlite3_column_int64(s, 9);
    m->unpaid = sqlite3_column_int64(s, 10);
    m->open = sqlite3_column_int(s, 11) != 0;
}

gb_err meter_get(gb_db *db, const char *pod_id, meter_rec *out)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT " METER_COLS " FROM pod_meters WHERE pod_id = ?1");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, pod_id);
    return su_one(db, s, meter_row, out, "meter get");
}

/* An existing meter is updated in place: INSERT OR REPLACE would delete the row and insert it
 * again (its two indexes too, and secure_delete zeroes the freed cells) for every pod, every
 * round; that was a fifth of a round's time (docs/benchmarks.md, "Metering round"). */
gb_err meter_put(gb_db *db, const meter_rec *m)
{
    sqlite3_stmt *s = gb_db_stmt(
        db, "INSERT INTO pod_meters(" METER_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
            " ON CONFLICT(pod_id) DO UPDATE SET account_id = ?2, rate = ?3, idle_rate = ?4,"
            " period_from = ?5, settled_at = ?6, run_ms = ?7, run_charged = ?8, idle_ms = ?9,"
            " idle_charged = ?10, unpaid = ?11, open = ?12");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, m->pod_id);
    su_bind_text(s, 2, m->account_id);
    sqlite3_bind_int64(s, 3, m->rate);
    sqlite3_bind_int64(s, 4, m->idle_rate);
    sqlite3_bind_int64(s, 5, m->period_from);
    sqlite3_bind_int64(s, 6, m->settled_at);
    sqlite3_bind_int64(s, 7, m->run_ms);
    sqlite3_bind_int64(s, 8, m->run_charged);
    sqlite3_bind_int64(s, 9, m->idle_ms);
    sqlite3_bind_int64(s, 10, m->idle_charged);
    sqlite3_bind_int64(s, 11, m->unpaid);
    sqlite3_bind_int(s, 12, m->open);
    return su_change(db, s, 0, "meter put");
}
