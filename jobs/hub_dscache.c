/* hub_dscache.c: the Hub's dataset answers kept in memory for jobs.hub_dataset_ttl_ms, so a
 * burst of jobs on one dataset asks the Hub once instead of once per job (the dataset GET was a
 * quarter of a job create's time: docs/benchmarks.md). Only a 200 answer is kept: a dataset
 * created a moment ago must be seen at once, and a refusal is asked again each time. An entry
 * is keyed by the caller's digest of the Hub URL, the dataset and the token the answer was read
 * with (hub_check.c: vault_digest, keyed by the vault's pepper; a gated or private dataset
 * answers differently with and without access, and a new token must not see an answer read
 * with the old one); the token itself is not kept. Per process: each broker keeps its own (a
 * stale answer costs at most the TTL; the trainer finds a dataset that went away, as when the
 * Hub is down). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/memo.h"
#include "jobs/hub.h"

#define DS_SLOTS 64

static gb_memo *g_ds;
static pthread_once_t g_ds_once = PTHREAD_ONCE_INIT;

static void ds_new(void)
{
    g_ds = gb_memo_new(DS_SLOTS, NULL);
}

bool hub_dscache_get(const char *k, int64_t now, int64_t ttl_ms, hub_dataset *out)
{
    if (ttl_ms <= 0 || !k || strlen(k) >= VAULT_HASH_HEX) return false;
    pthread_once(&g_ds_once, ds_new);
    void *v = NULL;
    size_t n = 0;
    bool hit = gb_memo_get(g_ds, k, now, ttl_ms, 0, &v, &n) && v && n == sizeof(*out);
    if (hit) memcpy(out, v, sizeof(*out));
    free(v);
    return hit;
}

void hub_dscache_put(const char *k, int64_t now, const hub_dataset *d)
{
    if (!k || strlen(k) >= VAULT_HASH_HEX) return;
    pthread_once(&g_ds_once, ds_new);
    gb_memo_put(g_ds, k, now, 0, d, sizeof(*d));
}

void hub_dscache_clear(void)
{
    pthread_once(&g_ds_once, ds_new);
    gb_memo_clear(g_ds);
}
