/* offer_cache.c: per-provider offer lists with TTL, stale-while-revalidate and concurrent
 * fetch threads. One mutex guards the entries; fetches run outside it. */
#include "broker/placement/offer_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"

#define MAX_ENTRIES 64

typedef struct {
    char name[PROV_NAME_MAX];
    prov_adapter *ad;
    prov_offer *offers;
    size_t n;
    int64_t fetched_at; /* domain clock of the last success; 0 = never */
    char error[256];
    gb_err error_code;
    int64_t error_at;
    int refreshing;
    int has_thread;
    pthread_t th;
    struct offer_cache *cache;
} entry;

struct offer_cache {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    entry e[MAX_ENTRIES];
    int n;
    int64_t ttl_ms, drop_ms;
    offer_note_fn note;
    void *ud;
};

offer_cache *offer_cache_new(int64_t ttl_ms, int64_t drop_after_ms, offer_note_fn note, void *ud)
{
    offer_cache *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->ttl_ms = ttl_ms;
    c->drop_ms = drop_after_ms > ttl_ms ? drop_after_ms : ttl_ms;
    c->note = note;
    c->ud = ud;
    return c;
}

void offer_cache_free(offer_cache *c)
{
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        if (c->e[i].has_thread) pthread_join(c->e[i].th, NULL);
        free(c->e[i].offers);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void *fetch(void *arg)
{
    entry *x = arg;
    offer_cache *c = x->cache;
    prov_adapter *ad = x->ad;
    prov_offer *offers = NULL;
    size_t n = 0;
    char err[PROV_ERR_MAX] = "";
    int64_t t0 = gb_mono_ms();
    gb_err e = ad->ops->list_offers(ad, &offers, &n, err);
    int64_t latency = gb_mono_ms() - t0;
    if (c->note) c->note(c->ud, ad->name, e, latency, err);
    int64_t now = gb_now_ms();
    pthread_mutex_lock(&c->mu);
    if (!e) {
        for (size_t i = 0; i < n; i++)
            offers[i].fetched_at = now;
        free(x->offers);
        x->offers = offers;
        x->n = n;
        x->fetched_at = now;
        x->error[0] = '\0';
    } else {
        free(offers);
        gb_strlcpy(x->error, err[0] ? err : gb_strerror(e), sizeof(x->error));
        x->error_code = e;
        x->error_at = now;
        GB_WARN("offers", "refreshing %s failed: %s", ad->name, x->error);
    }
    x->refreshing = 0;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Starts a fetch thread for x (mutex held). */
static void start_fetch(entry *x, prov_adapter *ad)
{
    if (x->refreshing) return;
    if (x->has_thread) { /* the previous one has finished (refreshing == 0) */
        pthread_join(x->th, NULL);
        x->has_thread = 0;
    }
    x->ad = ad;
    x->refreshing = 1;
    if (pthread_create(&x->th, NULL, fetch, x) == 0) {
        x->has_thread = 1;
    } else {
        x->refreshing = 0;
        gb_strlcpy(x->error, "cannot start a fetch thread", sizeof(x->error));
    }
}

static entry *find(offer_cache *c, const char *name, int create)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->e[i].name, name) == 0) return &c->e[i];
    if (!create || c->n >= MAX_ENTRIES) return NULL;
    entry *x = &c->e[c->n++];
    memset(x, 0, sizeof(*x));
    gb_strlcpy(x->name, name, sizeof(x->name));
    x->cache = c;
    return x;
}

gb_err offer_cache_get(offer_cache *c, prov_adapter *const *ads, size_t nads, prov_offer **out,
                       size_t *n, cJSON *status)
{
    *out = NULL;
    *n = 0;
    entry *wait_for[MAX_ENTRIES];
    size_t nwait = 0;
    pthread_mutex_lock(&c->mu);
    int64_t now = gb_now_ms();
    for (size_t i = 0; i < nads; i++) {
        entry *x = find(c, ads[i]->name, 1);
        if (!x) continue;
        if (x->ad != ads[i]) { /* new or re-registered provider: old offers are void */
            while (x->refreshing)
                pthread_cond_wait(&c->cv, &c->mu);
            free(x->offers);
            x->offers = NULL;
            x->n = 0;
            x->fetched_at = x->error_at = 0;
            x->error[0] = '\0';
        }
        int64_t age = x->fetched_at ? now - x->fetched_at : INT64_MAX;
        int usable = age < c->drop_ms;
        /* A provider whose last fetch failed within the TTL is not asked again until the TTL
         * has passed, and never waited for meanwhile: one that is down costs one timeout per
         * TTL, not one per request. */
        int failed_lately = x->error_at && now - x->error_at < c->ttl_ms;
        if (failed_lately) continue;
        if (!usable) { /* nothing to serve: fetch now and wait (all such concurrently) */
            start_fetch(x, ads[i]);
            wait_for[nwait++] = x;
        } else if (age >= c->ttl_ms) {
            start_fetch(x, ads[i]); /* serve what we have; refresh behind */
        }
    }
    for (size_t i = 0; i < nwait; i++)
        while (wait_for[i]->refreshing)
            pthread_cond_wait(&c->cv, &c->mu);
    now = gb_now_ms();
    gb_err e = GB_OK;
    size_t total = 0;
    for (size_t i = 0; i < nads; i++) {
        entry *x = find(c, ads[i]->name, 0);
        if (x && x->fetched_at && now - x->fetched_at < c->drop_ms) total += x->n;
    }
    *out = malloc((total ? total : 1) * sizeof(prov_offer));
    if (!*out) e = GB_ERR_NOMEM;
    for (size_t i = 0; i < nads && !e; i++) {
        entry *x = find(c, ads[i]->name, 0);
        if (!x) continue;
        int64_t age = x->fetched_at ? now - x->fetched_at : -1;
        int usable = x->fetched_at && age < c->drop_ms;
        if (usable && x->n) {
            memcpy(*out + *n, x->offers, x->n * sizeof(prov_offer));
            *n += x->n;
        }
        if (status) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "provider", x->name);
            cJSON_AddNumberToObject(o, "offers", usable ? (double)x->n : 0);
            gb_json_add_time(o, "fetched_at", x->fetched_at);
            if (x->fetched_at)
                cJSON_AddNumberToObject(o, "age_ms", (double)age);
            else
                cJSON_AddNullToObject(o, "age_ms");
            cJSON_AddBoolToObject(o, "stale", !usable || age >= c->ttl_ms);
            cJSON_AddBoolToObject(o, "refreshing", x->refreshing);
            gb_json_add_str_or_null(o, "error",
                                    x->error[0] && x->error_at >= x->fetched_at ? x->error : NULL);
            cJSON_AddItemToArray(status, o);
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (e) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return e;
}

void offer_cache_forget(offer_cache *c, const char *provider)
{
    pthread_mutex_lock(&c->mu);
    entry *x = find(c, provider, 0);
    if (x) x->fetched_at = 0;
    pthread_mutex_unlock(&c->mu);
}

gb_err offer_cache_last_error(offer_cache *c, const char *provider, char *err, size_t errsz)
{
    gb_err e = GB_OK;
    pthread_mutex_lock(&c->mu);
    entry *x = find(c, provider, 0);
    if (x && x->error_at && x->error_at >= x->fetched_at) {
        e = x->error_code ? x->error_code : GB_ERR_PROVIDER;
        gb_strlcpy(err, x->error, errsz);
    }
    pthread_mutex_unlock(&c->mu);
    return e;
}

void offer_cache_ages(offer_cache *c, void (*fn)(void *ud, const char *provider, int64_t age_ms),
                      void *ud)
{
    if (!c) return;
    int64_t now = gb_now_ms();
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < c->n; i++)
        fn(ud, c->e[i].name, c->e[i].fetched_at ? now - c->e[i].fetched_at : -1);
    pthread_mutex_unlock(&c->mu);
}
