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
#include <string.h>

#include "jobs/hub.h"

#define DS_SLOTS 64

typedef struct {
    char key[VAULT_HASH_HEX];
    int64_t at; /* gb_mono_ms() when read; 0 = empty */
    hub_dataset d;
} ds_slot;

static ds_slot slots[DS_SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

bool hub_dscache_get(const char *k, int64_t now, int64_t ttl_ms, hub_dataset *out)
{
    if (ttl_ms <= 0 || !k || strlen(k) >= VAULT_HASH_HEX) return false;
    bool hit = false;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < DS_SLOTS && !hit; i++) {
        ds_slot *s = &slots[i];
        if (!s->at || strcmp(s->key, k) != 0) continue;
        if (now - s->at < ttl_ms) {
            *out = s->d;
            hit = true;
        } else {
            s->at = 0; /* expired: read again */
        }
    }
    pthread_mutex_unlock(&mu);
    return hit;
}

void hub_dscache_put(const char *k, int64_t now, const hub_dataset *d)
{
    if (!k || strlen(k) >= VAULT_HASH_HEX) return;
    pthread_mutex_lock(&mu);
    ds_slot *use = NULL; /* the same key, else an empty slot, else the oldest */
    for (int i = 0; i < DS_SLOTS; i++) {
        ds_slot *s = &slots[i];
        if (s->at && !strcmp(s->key, k)) {
            use = s;
            break;
        }
        if (!use || (use->at && (!s->at || s->at < use->at))) use = s;
    }
    memcpy(use->key, k, strlen(k) + 1);
    use->at = now > 0 ? now : 1;
    use->d = *d;
    pthread_mutex_unlock(&mu);
}

void hub_dscache_clear(void)
{
    pthread_mutex_lock(&mu);
    memset(slots, 0, sizeof(slots));
    pthread_mutex_unlock(&mu);
}
