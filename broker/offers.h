/* offers.h: live offers from the registered providers (the Volt machines list, and the
 * offer a pod is created on). */
#ifndef GB_OFFERS_H
#define GB_OFFERS_H

#include "broker/app.h"
#include "providers/provider.h"

/* Every offer of every registered provider; a provider that fails is skipped (logged and noted
 * in its health). *out is malloc'd (free()). */
gb_err offers_all(app *a, prov_offer **out, size_t *n);
/* The offer offer_id of adapter ad. GB_ERR_NOT_FOUND when the provider does not list it. */
gb_err offers_find(app *a, prov_adapter *ad, const char *offer_id, prov_offer *out, char *err);

#endif
