/* offers.h: live offers from the registered providers (the Volt machines list, and the
 * offer a pod is created on). */
#ifndef GB_OFFERS_H
#define GB_OFFERS_H

#include "broker/core/app.h"
#include "providers/provider.h"

/* Creates the app's offer cache (config offers.ttl_ms, offers.drop_after_ms). */
gb_err offers_init(app *a);
/* Every offer of every registered provider, from the cache (see offer_cache.h); a provider
 * that fails is left out and noted in its health. status: see offer_cache_get. *out is
 * malloc'd (free()). */
gb_err offers_all(app *a, prov_offer **out, size_t *n, cJSON *status);
/* The offer offer_id of adapter ad. GB_ERR_NOT_FOUND when the provider does not list it; the
 * fetch's error when the provider could not be asked. */
gb_err offers_find(app *a, prov_adapter *ad, const char *offer_id, prov_offer *out, char *err);

/* After a failed create: the provider's next offers are fetched anew. */
void offer_cache_forget_provider(app *a, const char *provider);

#endif
