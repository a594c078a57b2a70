/* primus_int.h: what the Primus-SaFE adapter's files share (auth and error ops for prov_call,
 * workload parsing, paging, settings, resources[]). Private to providers/primus*.c. */
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

/* ops->auth and ops->error for prov_call (paths passed to prov_call start with PRIMUS_API):
 * the secret itself as a Bearer key ("ak-..." or a token), or, for "user:password", a token
 * from POST /api/v1/login (cached, renewed after a 401); Primus error bodies
 * {"errorCode","errorMessage"} mapped to gb_err. */
gb_err prov_primus_auth(prov_adapter *a, const char *rejected, char **hdr, char *err);
gb_err prov_primus_error(prov_adapter *a, const gb_http_resp *resp, char *err);
/* prov_ops.state_free: the cached login token. */
void prov_primus_state_free(void *state);
/* True when id is safe in a path: 1..127 of [A-Za-z0-9_.-]. */
bool prov_primus_id_ok(const char *id);

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
/* True when s is standard padded base64. */
bool prov_primus_b64_valid(const char *s);
/* Checks the broker's changes for update (the PatchWorkloadRequest fields priority,
 * description, timeout, maxRetry, env, cronJobs, service; the resource fields replica, cpu,
 * gpu / gpu_count, memory, ephemeralStorage, sharedMemory; image; command or base64
 * entryPoint). GB_ERR_INVALID with err naming the field. */
gb_err prov_primus_check_changes(const cJSON *changes, char *err);

/* primus_create.c */
gb_err prov_primus_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err);
/* prov_ops.precheck: registry credentials, SSH keys, more than one port. */
gb_err prov_primus_precheck(const prov_create_req *req, char *err);
gb_err prov_primus_list_offers(prov_adapter *a, prov_offer **out, size_t *n, char *err);
/* The resources[] of gpus GPUs for kind: split over nodes of settings.gpus_per_node (a
 * PyTorchJob as a master of one replica and workers of the rest, the server's own split in
 * SaFE/common/pkg/workload/workload.go ConvertResourceToList); cpu, memory and storage per
 * node from o (options or changes, may be NULL) or settings. NULL with err on a bad split. */
cJSON *prov_primus_resources(prov_adapter *a, const cJSON *o, const char *kind, int gpus,
                             int replica, int volume_gb, char *err);
/* The GPUs a resources[] asks for: the sum of gpu x replica. */
int prov_primus_gpus_of(const cJSON *resources);

/* primus_resume.c: start (POST /workloads/{id}/resume) and update (PATCH /workloads/{id}),
 * both built from the workload's GET answer. */
gb_err prov_primus_start(prov_adapter *a, const char *id, char *err);
gb_err prov_primus_update(prov_adapter *a, const char *id, const cJSON *changes, char *err);
/* GET /workloads/{id} (id checked); caller deletes *out. */
gb_err prov_primus_get_json(prov_adapter *a, const char *id, cJSON **out, char *err);

#endif
