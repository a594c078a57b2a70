/* offer_cache.h: every provider's offers, cached with a TTL and served stale while a
 * refresh runs. Providers are fetched concurrently (one thread each, since an adapter's
 * list_offers is a blocking call), so a cold fetch takes as long as the slowest provider and a
 * slow or failing provider never delays the others' answer once they are cached. */
#ifndef GB_OFFER_CACHE_H
#define GB_OFFER_CACHE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/provider.h"

typedef struct offer_cache offer_cache;

/* Outcome of each fetch, for the provider's health figures (called from fetch threads). */
typedef void (*offer_note_fn)(void *ud, const char *provider, gb_err e, int64_t latency_ms,
                              const char *err);

/* ttl_ms: offers younger than this are fresh; drop_after_ms: offers older than this are no
 * longer served (their provider then counts as having none until a fetch succeeds). */
offer_cache *offer_cache_new(int64_t ttl_ms, int64_t drop_after_ms, offer_note_fn note, void *ud);
/* Waits for running fetches, then frees. NULL is fine. */
void offer_cache_free(offer_cache *c);

/* The offers of the adapters ads (concatenated, each stamped with its fetched_at). A provider
 * never fetched, or whose offers are older than drop_after, is fetched now (all such
 * concurrently) and waited for; one whose offers are older than the TTL is served as it is
 * and refreshed in the background. status (a JSON array, may be NULL) gets one object per
 * provider: {provider, offers, fetched_at, age_ms, stale, refreshing, error}. *out is
 * malloc'd (free()). */
gb_err offer_cache_get(offer_cache *c, prov_adapter *const *ads, size_t nads, prov_offer **out,
                       size_t *n, cJSON *status);
/* The error of the provider's last fetch when it failed after the last success (GB_OK
 * otherwise); err gets its message. */
gb_err offer_cache_last_error(offer_cache *c, const char *provider, char *err, size_t errsz);
/* Calls fn with each provider's name and the age of its offers (now - last successful
 * fetch, domain clock; -1 when never fetched), under the cache's lock. */
void offer_cache_ages(offer_cache *c, void (*fn)(void *ud, const char *provider, int64_t age_ms),
                      void *ud);
/* Forgets a provider's offers (the next get fetches them again). */
void offer_cache_forget(offer_cache *c, const char *provider);

#endif
