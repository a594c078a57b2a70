/* db_stalled.c: the sweep that ends a stalled process's PostgreSQL sessions (dbq.h,
 * gb_db_pg_end_stalled). Its one statement reads pg_stat_activity (a role sees its own
 * sessions' states) and calls pg_terminate_backend (allowed on sessions of the same role). */
#include "common/dbq.h"

#include <stdint.h>

/* Among the sessions of the same database: the processes (by application_name) other than
 * this one with a session idle in a transaction since before the limit; then every session of
 * theirs that is not idle (idle ones hold no lock). clock_timestamp(), not now(): now() is the
 * start of this statement's own transaction. */
static const char SQL_END_STALLED[] =
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid)) FROM pg_stat_activity a"
    " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
    " AND a.state <> 'idle' AND a.application_name IN ("
    "  SELECT s.application_name FROM pg_stat_activity s"
    "  WHERE s.datname = current_database()"
    "  AND starts_with(s.application_name, '" GB_DB_PG_APP_PREFIX "')"
    "  AND s.application_name <> current_setting('application_name')"
    "  AND s.state IN ('idle in transaction', 'idle in transaction (aborted)')"
    "  AND s.state_change <= clock_timestamp() - CAST(?1 AS BIGINT) * interval '1 millisecond')";

static _Atomic uint64_t g_ended; /* gb_db_pg_stalled_ended */

uint64_t gb_db_pg_stalled_ended(void)
{
    return g_ended;
}

gb_err gb_db_pg_end_stalled(gb_db *db, int idle_ms, int *ended)
{
    if (ended) *ended = 0;
    if (!db || idle_ms <= 0 || gb_db_kind_of(db) != GB_DB_POSTGRESQL) return GB_OK;
    gb_q *q = gb_q_prep(db, SQL_END_STALLED);
    if (!q) return GB_ERR_DB;
    gb_q_int64(q, 1, idle_ms);
    int row = 0;
    gb_err e = gb_q_step(q, &row);
    int64_t n = !e && row ? gb_q_col_int64(q, 0) : 0;
    if (n > 0) g_ended += (uint64_t)n;
    if (ended) *ended = (int)n;
    gb_q_reset(q);
    return e;
}
