/* registry.h: the providers the daemon talks to: adapter instances built from the providers
 * table and their vault-sealed secrets, with health figures (last success, last error,
 * latency) kept in memory. */
#ifndef GB_REGISTRY_H
#define GB_REGISTRY_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "broker/core/app.h"
#include "providers/provider.h"

typedef struct registry registry;

registry *registry_new(void);
void registry_free(registry *r);
/* Builds an adapter for every row of the providers table (secrets opened from the vault). */
gb_err registry_load(app *a, gb_db *db);
/* Registers (or replaces) a provider: row and sealed secret in one transaction, then the
 * adapter. err gets a message for people. */
gb_err registry_add(app *a, gb_db *db, const char *name, const char *kind, const char *base_url,
                    const char *secret, const cJSON *settings, char *err, size_t errsz);
/* registry_add that first, when verify, makes one authenticated call to the platform with the
 * new key: when it fails nothing is registered, *refused (may be NULL) gets the call's error
 * (GB_ERR_AUTH: the key was refused; GB_ERR_HTTP/GB_ERR_TIMEOUT: unreachable; ...), the
 * function returns GB_ERR_FORBIDDEN and err the platform's reason (never the secret). */
gb_err registry_add_checked(app *a, gb_db *db, const char *name, const char *kind,
                            const char *base_url, const char *secret, const cJSON *settings,
                            bool verify, gb_err *refused, char *err, size_t errsz);
gb_err registry_remove(app *a, gb_db *db, const char *name);
/* Several brokers on one database: brings this broker's adapters in line with the providers
 * table (a registration, re-registration or removal made through another broker), at most
 * every 2 s unless force. The reconciler calls it each round. A listing that races a
 * registration on this broker can undo it in memory until the next sync. */
gb_err registry_sync(app *a, gb_db *db, bool force);
/* The adapter registered as name, or NULL. Adapters stay valid until registry_free (a
 * replaced or removed one is retired, not freed, so calls in flight finish safely). */
prov_adapter *registry_get(app *a, const char *name);
/* registry_get, and when this broker does not know the name, again after a forced sync: a
 * provider registered through another broker since this one's last sync (at most every 2 s)
 * is found, not taken for a removed one. NULL when the providers table has no such name. */
prov_adapter *registry_get_synced(app *a, gb_db *db, const char *name);
/* A provider's `stopped_price_per_gb_hour` setting (dollars per GB-hour of a stopped pod's
 * volume, a string amount or a number, 0 or more) into *out: 1 when set, 0 when absent (or no
 * settings), -1 when it is not such an amount. */
int registry_stopped_price(const cJSON *settings, gb_money *out);
/* Names of the registered providers (NULL-terminated, caller frees the array only). */
const char **registry_names(app *a, size_t *n);
/* Records the outcome of one call to a provider for its health figures. */
void registry_note(app *a, const char *name, gb_err e, int64_t latency_ms, const char *err);
/* [{name, kind, base_url, healthy, last_success, last_error, last_error_at, latency_ms}] */
cJSON *registry_health_json(app *a);

#endif
