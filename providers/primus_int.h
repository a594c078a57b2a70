/* primus_int.h: what the Primus-SaFE adapter's files share (authenticated calls with login and
 * re-login, error mapping, workload parsing, paging, settings). Private to providers/primus*.c. */
#ifndef GB_PRIMUS_INT_H
#define GB_PRIMUS_INT_H

#include <stdbool.h>

#include "providers/primus.h"

#define PRIMUS_API "/api/v1"
#define PRIMUS_PAGE 100      /* the API's default limit */
#define PRIMUS_MAX_PAGES 100 /* at most 10,000 workloads read when paging */
#define PRIMUS_TOKEN_MAX 4096
#define PRIMUS_NAME_MAX 63 /* displayName is a Kubernetes label value */
#define PRIMUS_MAX_BATCH 1000

/* One call to the Primus API (path below /api/v1, query included) with its Bearer header: the
 * secret itself for an API key ("ak-...") or a token, or a token from POST /api/v1/login when
 * the secret is "user:password" (cached; after a 401 the adapter logs in again once and
 * repeats the call). On GB_OK the answer was 2xx and *out (when out is not NULL) holds its
 * parsed JSON (caller frees). Otherwise err says why; *status (may be NULL) gets the HTTP
 * status, 0 when no answer came. */
gb_err prov_primus_call(prov_adapter *a, const char *method, const char *path, const cJSON *body,
                        bool idempotent, cJSON **out, long *status, char *err);
/* prov_ops.state_free: the cached login token. */
void prov_primus_state_free(void *state);
/* True when id is safe in a path: 1..127 of [A-Za-z0-9_.-]. */
bool prov_primus_id_ok(const char *id);
/* A string member or NULL. */
const char *prov_primus_str(const cJSON *j, const char *key);

/* Reads a workload (list item or GET answer) into out; -1 when it has no workloadId. */
int prov_primus_parse_pod(prov_adapter *a, const cJSON *j, prov_pod *out);
pod_status prov_primus_map_status(const char *raw);
/* Every workload of GET /api/v1/workloads?<query> (query may be "" ; offset/limit added),
 * paging through totalCount. Caller frees *out. */
gb_err prov_primus_list(prov_adapter *a, const char *query, prov_pod **out, size_t *n, char *err);
gb_err prov_primus_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err);

/* Settings (a->settings, may be NULL): a string or NULL; an integer or def; the operator's
 * rate per GPU-hour (-1 when absent or malformed). */
const char *prov_primus_setting(const prov_adapter *a, const char *key);
int prov_primus_setting_int(const prov_adapter *a, const char *key, int min, int max, int def);
gb_money prov_primus_rate(const prov_adapter *a);
/* "workspaceId=<settings.workspace_id>&" or "" (for list queries). */
void prov_primus_ws_query(const prov_adapter *a, char *buf, size_t n);

/* primus_options.c */
gb_err prov_primus_validate_options(const cJSON *options, char *err);
bool prov_primus_kind_ok(const char *kind);
/* A resource quantity member: a positive integer (printed with unit, e.g. "Gi") or a
 * Kubernetes quantity string ("128Gi", "96", "500m" when milli). GB_ERR_NOT_FOUND when
 * absent; GB_ERR_INVALID with jerr (GB_JSON_ERR_MAX) naming key. */
gb_err prov_primus_quantity(const cJSON *o, const char *key, bool milli, const char *unit,
                            char *out, size_t n, char *jerr);
/* Base64 (standard, padded) of len bytes; caller frees. NULL on allocation failure. */
char *prov_primus_b64(const char *data, size_t len);
bool prov_primus_b64_valid(const char *s);
/* The PATCH body for the broker's changes (the seed's PatchWorkloadRequest fields, plus
 * "command" and "gpu_count"); *out NULL when there is nothing to change. */
gb_err prov_primus_patch_body(const cJSON *changes, cJSON **out, char *err);

/* primus_create.c */
gb_err prov_primus_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err);
gb_err prov_primus_list_offers(prov_adapter *a, prov_offer **out, size_t *n, char *err);

#endif
