/* hub_store.c: the model sizes read from the Hub, kept in the store (table hub_model_sizes of
 * the jobs migrations) so a Hub that is down or slow still prices models seen before, across
 * restarts, and so a size is not asked again before jobs.hub_cache_ttl_ms. */
#include "common/dbq.h"
#include "jobs/hub.h"

gb_err hub_cache_get(gb_db *db, const char *model, int64_t *millions, int64_t *fetched_at)
{
    gb_q *q =
        gb_q_prep(db, "SELECT millions, fetched_at FROM hub_model_sizes WHERE model = lower(?1)");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, model);
    int row = 0;
    gb_err e = gb_q_step(q, &row);
    if (!e && !row) e = GB_ERR_NOT_FOUND;
    if (!e) {
        *millions = gb_q_col_int64(q, 0);
        if (fetched_at) *fetched_at = gb_q_col_int64(q, 1);
    }
    gb_q_reset(q);
    return e;
}

gb_err hub_cache_put(gb_db *db, const char *model, int64_t millions, int64_t now_ms)
{
    gb_q *q = gb_q_prep(db, "INSERT INTO hub_model_sizes(model, millions, fetched_at)"
                            " VALUES (lower(?1), ?2, ?3) ON CONFLICT(model) DO UPDATE"
                            " SET millions = excluded.millions,"
                            " fetched_at = excluded.fetched_at");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, model);
    gb_q_int64(q, 2, millions);
    gb_q_int64(q, 3, now_ms);
    return gb_q_run(q, NULL);
}
