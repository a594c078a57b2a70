/* offers.c: the offers of the registered providers, through the app's offer cache. */
#include "broker/placement/offers.h"

#include <stdlib.h>
#include <string.h>

#include "broker/placement/offer_cache.h"
#include "broker/core/registry.h"
#include "common/str.h"

static void note(void *ud, const char *provider, gb_err e, int64_t latency_ms, const char *err)
{
    registry_note(ud, provider, e, latency_ms, err);
}

gb_err offers_init(app *a)
{
    a->offers = offer_cache_new(a->cfg.offers_ttl_ms, a->cfg.offers_drop_after_ms, note, a);
    return a->offers ? GB_OK : GB_ERR_NOMEM;
}

gb_err offers_all(app *a, prov_offer **out, size_t *n, cJSON *status)
{
    size_t np = 0;
    const char **names = registry_names(a, &np);
    if (!names) return GB_ERR_NOMEM;
    prov_adapter **ads = calloc(np + 1, sizeof(*ads));
    size_t k = 0;
    for (size_t i = 0; ads && i < np; i++) {
        prov_adapter *ad = registry_get(a, names[i]);
        if (ad) ads[k++] = ad;
    }
    free(names);
    if (!ads) return GB_ERR_NOMEM;
    gb_err e = offer_cache_get(a->offers, ads, k, out, n, status);
    free(ads);
    return e;
}

gb_err offers_find(app *a, prov_adapter *ad, const char *offer_id, prov_offer *out, char *err)
{
    prov_offer *all = NULL;
    size_t n = 0;
    gb_err e = offer_cache_get(a->offers, &ad, 1, &all, &n, NULL);
    if (e) return e;
    e = GB_ERR_NOT_FOUND;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i].offer_id, offer_id) == 0) {
            *out = all[i];
            e = GB_OK;
            break;
        }
    }
    free(all);
    if (e == GB_ERR_NOT_FOUND && n == 0) {
        gb_err fe = offer_cache_last_error(a->offers, ad->name, err, PROV_ERR_MAX);
        if (fe) return fe; /* the provider could not be asked: say why */
    }
    return e;
}

void offer_cache_forget_provider(app *a, const char *provider)
{
    offer_cache_forget(a->offers, provider);
}
