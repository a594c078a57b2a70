/* hub_store.c: the model sizes read from the Hub, kept in the store (table hub_model_sizes of
 * the jobs migrations) so a Hub that is down or slow still prices models seen before, across
 * restarts, and so a size is not asked again before jobs.hub_cache_ttl_ms; and each answer
 * of the store kept in memory for jobs.hub_memory_ms (hub_cache_get_recent). */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/dbq.h"
#include "common/memo.h"
#include "jobs/hub.h"

#define SIZES_SLOTS 64 /* models in use at once; the oldest answer makes room */

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

/* Sizes read from the store, per store and model (hub_cache_get_recent); g_puts counts this
 * process's puts, so an answer read before one is not given again. */
static gb_memo *g_sizes;
static pthread_once_t g_sizes_once = PTHREAD_ONCE_INIT;
static uint64_t g_puts;

static void sizes_new(void)
{
    g_sizes = gb_memo_new(SIZES_SLOTS, NULL);
}

gb_err hub_cache_get_recent(gb_db *db, const char *model, int64_t max_age_ms, int64_t *millions,
                            int64_t *fetched_at)
{
    char key[GB_MEMO_KEY_MAX];
    if (max_age_ms > 0) pthread_once(&g_sizes_once, sizes_new);
    if (max_age_ms <= 0 || !g_sizes || !gb_memo_key(key, gb_db_path(db), model))
        return hub_cache_get(db, model, millions, fetched_at);
    for (char *c = strchr(key, '\n') + 1; *c; c++)
        *c = (char)tolower((unsigned char)*c);                 /* ids compare case-insensitively */
    uint64_t gen = __atomic_load_n(&g_puts, __ATOMIC_SEQ_CST); /* before the read */
    int64_t now = gb_mono_ms(), v[2];
    void *val = NULL;
    size_t n = 0;
    gb_err e;
    if (gb_memo_get(g_sizes, key, now, max_age_ms, gen, &val, &n)) {
        e = val && n == sizeof(v) ? GB_OK : GB_ERR_NOT_FOUND;
        if (!e) memcpy(v, val, sizeof(v));
        free(val);
    } else {
        e = hub_cache_get(db, model, &v[0], &v[1]);
        if (e == GB_OK || e == GB_ERR_NOT_FOUND)
            gb_memo_put(g_sizes, key, now, gen, e ? NULL : v, e ? 0 : sizeof(v));
    }
    if (e) return e;
    *millions = v[0];
    if (fetched_at) *fetched_at = v[1];
    return GB_OK;
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
    gb_err e = gb_q_run(q, NULL);
    /* counted now and, inside a transaction, again at its commit: an answer read before
     * either is not given again */
    gb_err ce = gb_memo_changed(db, &g_puts);
    return e ? e : ce;
}
