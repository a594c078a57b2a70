/* keycache.c: the verified-key cache: a set-associative table (KEYCACHE_SETS sets of
 * KEYCACHE_WAYS entries, so its memory is fixed) indexed by the leading bits of the keyed hash
 * (uniform: it is a BLAKE2b output), one mutex per stripe of sets, and a generation that every
 * invalidation bumps so that a row read before a revoke is never put back after it. */
#include "broker/api/keycache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"

#define STRIPES 64 /* mutexes; set i uses stripe i % STRIPES */

typedef struct {
    bool used;
    char hash[VAULT_HASH_HEX];
    keycache_val v;
    int64_t stored_at; /* when it was read from the store (the caller's monotonic ms) */
} entry;

struct keycache {
    int64_t ttl_ms;
    _Atomic uint64_t gen;
    pthread_mutex_t mu[STRIPES];
    entry sets[KEYCACHE_SETS][KEYCACHE_WAYS];
};

keycache *keycache_new(int64_t ttl_ms)
{
    keycache *kc = calloc(1, sizeof(*kc));
    if (!kc) return NULL;
    kc->ttl_ms = ttl_ms;
    atomic_init(&kc->gen, 1);
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&kc->mu[i], NULL);
    return kc;
}

void keycache_free(keycache *kc)
{
    if (!kc) return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&kc->mu[i]);
    gb_memzero(kc->sets, sizeof(kc->sets));
    free(kc);
}

/* The set of hash: its first hex digits (any other text still lands in some set). */
static unsigned set_of(const char *hash)
{
    unsigned h = 0;
    for (int i = 0; i < 8 && hash[i]; i++) {
        char c = hash[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : (unsigned)(c | 0x20) - 'a' + 10;
        h = (h << 4) ^ (d & 0xf);
    }
    return h % KEYCACHE_SETS;
}

static bool same(const entry *e, const char *hash)
{
    return e->used && strncmp(e->hash, hash, VAULT_HASH_HEX) == 0;
}

uint64_t keycache_gen(keycache *kc)
{
    return kc ? atomic_load(&kc->gen) : 0;
}

bool keycache_get(keycache *kc, const char *hash, int64_t now_ms, keycache_val *out)
{
    if (!kc || kc->ttl_ms <= 0 || !hash) return false;
    unsigned s = set_of(hash);
    bool hit = false;
    pthread_mutex_lock(&kc->mu[s % STRIPES]);
    for (int w = 0; w < KEYCACHE_WAYS; w++) {
        entry *e = &kc->sets[s][w];
        if (!same(e, hash)) continue;
        if (now_ms - e->stored_at < kc->ttl_ms) { /* (another thread may have put it after
                                                   * this one read its clock: fresh) */
            *out = e->v;
            hit = true;
        } else {
            e->used = false; /* expired: the next lookup reads the store */
        }
        break;
    }
    pthread_mutex_unlock(&kc->mu[s % STRIPES]);
    return hit;
}

void keycache_put(keycache *kc, const char *hash, const keycache_val *v, uint64_t gen,
                  int64_t now_ms)
{
    if (!kc || kc->ttl_ms <= 0 || !hash || strlen(hash) >= VAULT_HASH_HEX) return;
    unsigned s = set_of(hash);
    pthread_mutex_lock(&kc->mu[s % STRIPES]);
    /* checked under the set's lock: an invalidation bumps gen before it takes the locks, so
     * either it is seen here or its sweep comes after this put and removes the entry */
    if (atomic_load(&kc->gen) == gen) {
        entry *slot = NULL;
        for (int w = 0; w < KEYCACHE_WAYS && !slot; w++)
            if (same(&kc->sets[s][w], hash)) slot = &kc->sets[s][w];
        for (int w = 0; w < KEYCACHE_WAYS && !slot; w++)
            if (!kc->sets[s][w].used) slot = &kc->sets[s][w];
        if (!slot) { /* full: the oldest goes */
            slot = &kc->sets[s][0];
            for (int w = 1; w < KEYCACHE_WAYS; w++)
                if (kc->sets[s][w].stored_at < slot->stored_at) slot = &kc->sets[s][w];
        }
        slot->used = true;
        gb_strlcpy(slot->hash, hash, sizeof(slot->hash));
        slot->v = *v;
        slot->stored_at = now_ms;
    }
    pthread_mutex_unlock(&kc->mu[s % STRIPES]);
}

void keycache_touched(keycache *kc, const char *hash, int64_t last_used)
{
    if (!kc || !hash) return;
    unsigned s = set_of(hash);
    pthread_mutex_lock(&kc->mu[s % STRIPES]);
    for (int w = 0; w < KEYCACHE_WAYS; w++)
        if (same(&kc->sets[s][w], hash)) kc->sets[s][w].v.last_used = last_used;
    pthread_mutex_unlock(&kc->mu[s % STRIPES]);
}

/* Bumps the generation, then drops the entries of key_id (every entry when NULL). */
static void drop(keycache *kc, const char *key_id)
{
    if (!kc) return;
    atomic_fetch_add(&kc->gen, 1);
    for (unsigned s = 0; s < KEYCACHE_SETS; s++) {
        pthread_mutex_lock(&kc->mu[s % STRIPES]);
        for (int w = 0; w < KEYCACHE_WAYS; w++) {
            entry *e = &kc->sets[s][w];
            if (e->used && (!key_id || strcmp(e->v.key_id, key_id) == 0)) e->used = false;
        }
        pthread_mutex_unlock(&kc->mu[s % STRIPES]);
    }
}

void keycache_drop_key(keycache *kc, const char *key_id)
{
    if (key_id) drop(kc, key_id);
}

void keycache_clear(keycache *kc)
{
    drop(kc, NULL);
}

int keycache_count(keycache *kc)
{
    if (!kc) return 0;
    int n = 0;
    for (unsigned s = 0; s < KEYCACHE_SETS; s++) {
        pthread_mutex_lock(&kc->mu[s % STRIPES]);
        for (int w = 0; w < KEYCACHE_WAYS; w++)
            n += kc->sets[s][w].used;
        pthread_mutex_unlock(&kc->mu[s % STRIPES]);
    }
    return n;
}
