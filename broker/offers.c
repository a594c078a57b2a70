/* offers.c: fetching offers from the providers' adapters. */
#include "broker/offers.h"

#include <stdlib.h>
#include <string.h>

#include "broker/registry.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

static gb_err fetch(app *a, prov_adapter *ad, prov_offer **out, size_t *n, char *err)
{
    int64_t t0 = gb_mono_ms();
    gb_err e = ad->ops->list_offers(ad, out, n, err);
    registry_note(a, ad->name, e, gb_mono_ms() - t0, err);
    return e;
}

gb_err offers_all(app *a, prov_offer **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t np = 0;
    const char **names = registry_names(a, &np);
    if (!names) return GB_ERR_NOMEM;
    gb_err e = GB_OK;
    for (size_t i = 0; i < np && !e; i++) {
        prov_adapter *ad = registry_get(a, names[i]);
        prov_offer *some = NULL;
        size_t k = 0;
        char err[PROV_ERR_MAX] = "";
        if (!ad || fetch(a, ad, &some, &k, err) != GB_OK) {
            GB_WARN("offers", "no offers from %s: %s", names[i], err);
            continue;
        }
        prov_offer *grown = realloc(*out, (*n + k + 1) * sizeof(prov_offer));
        if (!grown) e = GB_ERR_NOMEM;
        else {
            *out = grown;
            if (k) memcpy(*out + *n, some, k * sizeof(prov_offer));
            *n += k;
        }
        free(some);
    }
    free(names);
    return e;
}

gb_err offers_find(app *a, prov_adapter *ad, const char *offer_id, prov_offer *out, char *err)
{
    prov_offer *all = NULL;
    size_t n = 0;
    gb_err e = fetch(a, ad, &all, &n, err);
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
    return e;
}
