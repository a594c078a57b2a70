/* budget_store.c: provider request budgets kept in the store, so that several brokers using
 * one platform account stay inside the platform's published limit together (stores.h). */
#include "broker/store/store_util.h"
#include "broker/store/stores.h"

gb_err provider_budget_take(gb_db *db, const char *provider, int64_t limit, int64_t window_ms,
                            int64_t now, bool *taken)
{
    *taken = false;
    if (!provider || !provider[0] || limit <= 0 || window_ms <= 0) return GB_ERR_INVALID;
    /* one statement: a window over (or none yet) starts again with this request; else the
     * request is counted only while the window has room (no row back: refused) */
    gb_q *q =
        gb_q_prep(db, "INSERT INTO provider_budgets(provider, window_ms, started_at, used)"
                      " VALUES(?1, ?2, ?3, 1) ON CONFLICT(provider, window_ms) DO UPDATE SET"
                      " started_at = CASE WHEN ?3 - provider_budgets.started_at >= ?2 THEN ?3"
                      "  ELSE provider_budgets.started_at END,"
                      " used = CASE WHEN ?3 - provider_budgets.started_at >= ?2 THEN 1"
                      "  ELSE provider_budgets.used + 1 END"
                      " WHERE ?3 - provider_budgets.started_at >= ?2 OR provider_budgets.used < ?4"
                      " RETURNING used");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, provider);
    gb_q_int64(q, 2, window_ms);
    gb_q_int64(q, 3, now);
    gb_q_int64(q, 4, limit);
    int row = 0;
    gb_err e = gb_q_step(q, &row);
    gb_q_reset(q);
    if (!e) *taken = row != 0;
    return e;
}
