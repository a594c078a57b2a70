/* vault_recent.c: vault_get_recent (vault.h), stored secrets answered from memory for a
 * short time. A job creation read the Hub token from the store on every request: a read
 * transaction and an unsealing, 7% of its time (docs/benchmarks.md). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/memo.h"
#include "vault/vault_internal.h"

#define RECENT_SLOTS 16

/* Puts and deletes of this process so far, each counted when it runs and again when its
 * transaction commits: an answer read before either is not given again. */
static uint64_t g_changes;

void vault_changed(gb_db *db)
{
    /* without the commit's count, an answer read between now and the commit may be given for
     * up to its max_age_ms, as another broker's change is */
    if (gb_memo_changed(db, &g_changes) != GB_OK)
        GB_WARN("vault", "a secret's change may be answered late from memory (up to "
                         "jobs.hub_memory_ms): its transaction has no room for another "
                         "after-commit call");
}

static void *guarded_alloc(size_t n)
{
    return sodium_malloc(n);
}

static void guarded_release(void *p, size_t n)
{
    (void)n;
    sodium_free(p); /* zeroes first */
}

static gb_memo *memo_of(vault *v)
{
    pthread_mutex_lock(&v->mu);
    if (!v->recent) {
        const gb_memo_mem mem = {guarded_alloc, guarded_release};
        v->recent = gb_memo_new(RECENT_SLOTS, &mem);
    }
    gb_memo *m = v->recent;
    pthread_mutex_unlock(&v->mu);
    return m;
}

void vault_recent_free(vault *v)
{
    gb_memo_free(v->recent);
    v->recent = NULL;
}

gb_err vault_get_recent(vault *v, gb_db *db, const char *ref, int64_t max_age_ms, char **pt,
                        size_t *n)
{
    *pt = NULL;
    *n = 0;
    if (!v || !db || !ref) return GB_ERR_INVALID;
    gb_memo *m = max_age_ms > 0 && !gb_db_in_txn(db) ? memo_of(v) : NULL;
    char key[GB_MEMO_KEY_MAX];
    if (!m || !gb_memo_key(key, gb_db_path(db), ref)) return vault_get(v, db, ref, pt, n);
    uint64_t gen = gb_memo_changes(&g_changes); /* before the read */
    int64_t now = gb_mono_ms();
    void *val = NULL;
    size_t len = 0;
    if (gb_memo_get(m, key, now, max_age_ms, gen, &val, &len)) {
        *pt = val;
        *n = len;
        return val ? GB_OK : GB_ERR_NOT_FOUND;
    }
    gb_err e = vault_get(v, db, ref, pt, n);
    if (e == GB_OK)
        gb_memo_put(m, key, now, gen, *pt, *n);
    else if (e == GB_ERR_NOT_FOUND)
        gb_memo_put(m, key, now, gen, NULL, 0);
    return e;
}
