/* hub_dscache.c: the Hub's dataset answers kept in memory for jobs.hub_dataset_ttl_ms, so a
 * burst of jobs on one dataset asks the Hub once instead of once per job (the dataset GET was a
 * quarter of a job create's time: docs/benchmarks.md). Only a 200 answer is kept: a dataset
 * created a moment ago must be seen at once, and a refusal is asked again each time. An entry
 * is keyed by a digest of the Hub URL, the dataset and the token the answer was read with (a
 * gated or private dataset answers differently with and without access, and a new token must
 * not see an answer read with the old one); the token itself is not kept. Per process: each
 * broker keeps its own (a stale answer costs at most the TTL; the trainer finds a dataset that
 * went away, as when the Hub is down). */
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "jobs/hub.h"

#define DS_SLOTS 64

typedef struct {
    unsigned char key[crypto_generichash_BYTES];
    int64_t at; /* gb_mono_ms() when read; 0 = empty */
    hub_dataset d;
} ds_slot;

static ds_slot slots[DS_SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void ds_key(const char *base, const char *repo, const char *token,
                   unsigned char out[crypto_generichash_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
    /* each part with its terminating NUL, so ("ab", "c") and ("a", "bc") differ */
    crypto_generichash_update(&st, (const unsigned char *)base, strlen(base) + 1);
    crypto_generichash_update(&st, (const unsigned char *)repo, strlen(repo) + 1);
    if (token) crypto_generichash_update(&st, (const unsigned char *)token, strlen(token) + 1);
    crypto_generichash_final(&st, out, crypto_generichash_BYTES);
}

bool hub_dscache_get(const char *base, const char *repo, const char *token, int64_t now,
                     int64_t ttl_ms, hub_dataset *out)
{
    if (ttl_ms <= 0) return false;
    unsigned char k[crypto_generichash_BYTES];
    ds_key(base, repo, token, k);
    bool hit = false;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < DS_SLOTS && !hit; i++) {
        ds_slot *s = &slots[i];
        if (!s->at || memcmp(s->key, k, sizeof(k)) != 0) continue;
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

void hub_dscache_put(const char *base, const char *repo, const char *token, int64_t now,
                     const hub_dataset *d)
{
    unsigned char k[crypto_generichash_BYTES];
    ds_key(base, repo, token, k);
    pthread_mutex_lock(&mu);
    ds_slot *use = NULL; /* the same key, else an empty slot, else the oldest */
    for (int i = 0; i < DS_SLOTS; i++) {
        ds_slot *s = &slots[i];
        if (s->at && !memcmp(s->key, k, sizeof(k))) {
            use = s;
            break;
        }
        if (!use || (use->at && (!s->at || s->at < use->at))) use = s;
    }
    memcpy(use->key, k, sizeof(k));
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
