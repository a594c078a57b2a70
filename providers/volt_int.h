/* volt_int.h: what the Volt adapter's files share (one authenticated call to the Volt API,
 * error mapping, pod parsing). Private to providers/volt*.c. */
#ifndef GB_VOLT_INT_H
#define GB_VOLT_INT_H

#include <stdbool.h>

#include "providers/provider.h"

#define VOLT_API "/api/volt"

/* One call to the Volt API (path below /api/volt) through prov_call. On GB_OK the answer was 2xx
 * and *out (when out is not NULL) holds its parsed JSON (caller frees). Otherwise err says why;
 * *status (may be NULL) gets the HTTP status, 0 when no answer came. */
gb_err prov_volt_call(prov_adapter *a, const char *method, const char *path, const cJSON *body,
                      bool idempotent, cJSON **out, long *status, char *err);
/* Reads one Volt pod object (or {"pod":{...}}) into out; -1 when it has no id. */
int prov_volt_parse_pod(const cJSON *j, prov_pod *out);
/* The array under key (or the answer itself when it is an array, or "data"/"items"). */
const cJSON *prov_volt_list_of(const cJSON *j, const char *key);
/* True when id is safe to put in a path: 1..127 of [A-Za-z0-9_.-]. */
bool prov_volt_id_ok(const char *id);

/* Registers each OpenSSH public key line at Volt (reusing a key with the same type and key
 * data) and appends the key ids to the JSON array ids. label names new keys. */
gb_err prov_volt_ensure_keys(prov_adapter *a, const char *const *lines, int n, const char *label,
                             cJSON *ids, char *err);

/* "" when the base URL already ends in /api/volt, else "/api/volt". */
const char *prov_volt_api_prefix(const prov_adapter *a);
/* "gpubroker-<pod name>": the template the adapter makes for a pod (at most 128 chars). */
void prov_volt_template_name(const char *pod_name, char *out, size_t n);
/* After pod id (its JSON in pod) was deleted: deletes its template named
 * prov_volt_template_name and the SSH keys named "gpubroker-..." that it used and no other
 * live pod uses. Best effort: failures leave the objects in place. */
void prov_volt_cleanup(prov_adapter *a, const char *id, const cJSON *pod);
/* Deletes the template the adapter made for pod name ("gpubroker-<name>"), best effort. */
void prov_volt_drop_template(prov_adapter *a, const char *name);

gb_err prov_volt_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err);
/* prov_ops.precheck: registry credentials only with provider_options.template_id. */
gb_err prov_volt_precheck(const prov_create_req *req, char *err);
gb_err prov_volt_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err);
gb_err prov_volt_validate_options(const cJSON *options, char *err);

#endif
