/* hub_store.c: the model sizes read from the Hub, kept in SQLite (table hub_model_sizes of
 * the jobs migrations) so a Hub that is down or slow still prices models seen before, across
 * restarts, and so a size is not asked again before jobs.hub_cache_ttl_ms. */
#include <sqlite3.h>

#include "jobs/hub.h"

gb_err hub_cache_get(gb_db *db, const char *model, int64_t *millions, int64_t *fetched_at)
{
    sqlite3_stmt *s =
        gb_db_stmt(db, "SELECT millions, fetched_at FROM hub_model_sizes WHERE model = lower(?1)");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, model, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    gb_err e = rc == SQLITE_DONE ? GB_ERR_NOT_FOUND : gb_db_check(db, rc, "hub cache get");
    if (!e) {
        *millions = sqlite3_column_int64(s, 0);
        if (fetched_at) *fetched_at = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return e;
}

gb_err hub_cache_put(gb_db *db, const char *model, int64_t millions, int64_t now_ms)
{
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO hub_model_sizes(model, millions, fetched_at)"
                                     " VALUES (lower(?1), ?2, ?3) ON CONFLICT(model) DO UPDATE"
                                     " SET millions = excluded.millions,"
                                     " fetched_at = excluded.fetched_at");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, model, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, millions);
    sqlite3_bind_int64(s, 3, now_ms);
    gb_err e = gb_db_check(db, sqlite3_step(s), "hub cache put");
    sqlite3_reset(s);
    return e;
}
