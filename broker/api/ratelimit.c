/* ratelimit.c: fixed-window counters per API key id in a chained hash table behind a mutex.
 * A window starts at a key's first request and lasts one hour. Entries whose window ended
 * are reused, so memory stays bounded by the number of keys active in the last hour. */
#include "broker/api/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"

#define WINDOW_MS (3600 * 1000)
#define BUCKETS 1024

typedef struct entry {
    char *key;
    int64_t window_start;
    int count;
    struct entry *next;
} entry;

struct ratelimit {
    int per_hour;
    pthread_mutex_t mu;
    entry *buckets[BUCKETS];
};

ratelimit *ratelimit_new(int per_hour)
{
    ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl) return NULL;
    rl->per_hour = per_hour > 0 ? per_hour : 1;
    pthread_mutex_init(&rl->mu, NULL);
    return rl;
}

void ratelimit_free(ratelimit *rl)
{
    if (!rl) return;
    for (int i = 0; i < BUCKETS; i++) {
        entry *e = rl->buckets[i];
        while (e) {
            entry *n = e->next;
            free(e->key);
            free(e);
            e = n;
        }
    }
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static unsigned hash(const char *s)
{
    unsigned h = 5381;
    for (; *s; s++)
        h = h * 33u + (unsigned char)*s;
    return h % BUCKETS;
}

void ratelimit_hit(ratelimit *rl, const char *key, int64_t now_ms, ratelimit_result *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&rl->mu);
    out->limit = rl->per_hour;
    unsigned b = hash(key);
    entry *e = rl->buckets[b], *stale = NULL;
    for (; e; e = e->next) {
        if (strcmp(e->key, key) == 0) break;
        if (!stale && now_ms - e->window_start >= WINDOW_MS) stale = e;
    }
    if (!e && stale) { /* reuse an expired entry of another key */
        char *k = gb_strdup(key);
        if (k) {
            free(stale->key);
            stale->key = k;
            stale->count = 0;
            stale->window_start = now_ms;
            e = stale;
        }
    }
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (e) e->key = gb_strdup(key);
        if (!e || !e->key) { /* out of memory: fail open rather than lock everybody out */
            if (e) free(e);
            pthread_mutex_unlock(&rl->mu);
            out->allowed = 1;
            out->remaining = rl->per_hour;
            out->reset_at_s = (now_ms + WINDOW_MS) / 1000;
            return;
        }
        e->window_start = now_ms;
        e->next = rl->buckets[b];
        rl->buckets[b] = e;
    }
    if (now_ms - e->window_start >= WINDOW_MS || now_ms < e->window_start) {
        e->window_start = now_ms;
        e->count = 0;
    }
    int64_t reset_ms = e->window_start + WINDOW_MS;
    out->reset_at_s = (reset_ms + 999) / 1000;
    if (e->count < rl->per_hour) {
        e->count++;
        out->allowed = 1;
        out->remaining = rl->per_hour - e->count;
    } else {
        out->allowed = 0;
        out->remaining = 0;
        int64_t wait = (reset_ms - now_ms + 999) / 1000;
        out->retry_after_s = wait < 1 ? 1 : (int)wait;
    }
    pthread_mutex_unlock(&rl->mu);
}

void ratelimit_set_limit(ratelimit *rl, int per_hour)
{
    pthread_mutex_lock(&rl->mu);
    rl->per_hour = per_hour > 0 ? per_hour : 1;
    pthread_mutex_unlock(&rl->mu);
}
