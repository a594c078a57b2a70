/* runai_int.h: what the NVIDIA Run:ai adapter's files share (token-authenticated calls, the
 * operator's settings, workload parsing, the Kubernetes manifest builder). Private to
 * providers/runai*.c. */
#ifndef GB_RUNAI_INT_H
#define GB_RUNAI_INT_H

#include <stdbool.h>

#include "providers/provider.h"

#define RUNAI_WORKLOADS "/api/v2/workloads"
#define RUNAI_TOKEN_PATH "/api/v1/token"
#define RUNAI_MANIFEST_MAX 2097152 /* manifestBase64Encoded: at most 2 MiB of base 64 */
#define RUNAI_NAME_MAX 63          /* a Kubernetes object name (DNS-1123 label) */
#define RUNAI_MAX_GPUS 64          /* GPUs one workload may ask for */
#define RUNAI_SSH_ENV "PUBLIC_KEY" /* env var that carries the pod's SSH public keys */
#define RUNAI_DISPLAY_ANNOTATION "gpubroker.io/display-name"

/* The operator's settings (a->settings), with defaults filled in. */
typedef struct {
    gb_money rate; /* per GPU-hour; 0 when not set */
    bool has_rate;
    char gpu_name[96]; /* as configured ("H100") */
    char gpu_type[32]; /* normalized */
    int gpu_vram_gb;
    int gpus_per_node; /* [8] */
    int max_gpus;      /* the cluster's GPUs for gpubroker [gpus_per_node] */
    char location[64];
    char project[64];
    char cluster_id[64];
} runai_settings;

/* Reads a->settings; GB_ERR_INVALID with err naming "settings.<key>" when one is malformed. */
gb_err prov_runai_settings(prov_adapter *a, runai_settings *s, char *err);

/* One call to Run:ai with a cached Bearer token (fetched from POST /api/v1/token with the
 * client credentials, refreshed before it expires, and once more after a 401). On GB_OK the
 * answer was 2xx and *out (when out is not NULL) holds its parsed JSON (NULL for an empty
 * body). *status (may be NULL) gets the HTTP status, 0 when no answer came. */
gb_err prov_runai_call(prov_adapter *a, const char *method, const char *path, const cJSON *body,
                       bool idempotent, cJSON **out, long *status, char *err);

/* Reads one workload object (fields at top level or under "metadata") into out; -1 when it has
 * no id. The price comes from the settings' rate. */
int prov_runai_parse_workload(const runai_settings *s, const cJSON *j, prov_pod *out);
/* The GPUs a workload object asks for (requestedGPUs, else its manifest), 0 if unknown. */
int prov_runai_workload_gpus(const cJSON *j);
/* Frees the adapter's token cache (prov_ops.state_free). */
void prov_runai_state_free(void *state);
/* True for a workload id Run:ai would have made (a UUID). */
bool prov_runai_uuid_ok(const char *id);
pod_status prov_runai_map_status(const char *raw);
/* A string member or NULL. */
const char *prov_runai_str(const cJSON *j, const char *key);

/* Every workload the credentials see, as raw JSON objects (an array the caller frees).
 * GB_ERR_NOT_FOUND when the platform has no list endpoint (404/405). */
gb_err prov_runai_list_raw(prov_adapter *a, cJSON **out, char *err);
gb_err prov_runai_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err);

/* runai_manifest.c */
gb_err prov_runai_validate_options(const cJSON *options, char *err);
/* The Kubernetes manifest (JSON form) for req; NULL with err on bad input or no memory. */
cJSON *prov_runai_manifest_new(prov_adapter *a, const prov_create_req *req, int gpus, gb_err *e,
                               char *err);
/* The first container of a Pod or Deployment manifest, or NULL. */
cJSON *prov_runai_manifest_container(cJSON *manifest);
/* Sets (or, with value NULL, removes) one env var of a container. */
gb_err prov_runai_container_env(cJSON *container, const char *name, const char *value);
/* Writes manifest as YAML and base 64; GB_ERR_INVALID when the result is above 2 MiB. */
gb_err prov_runai_manifest_encode(prov_adapter *a, const cJSON *manifest, char **b64, char *err);

/* runai_create.c */
gb_err prov_runai_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err);
gb_err prov_runai_update(prov_adapter *a, const char *id, const cJSON *changes, char *err);

#endif
