/* runai_int.h: what the NVIDIA Run:ai adapter's files share (tokens and the project cache,
 * the operator's settings, workload parsing, the Kubernetes manifest builder). Private to
 * providers/runai*.c. Wire shapes: public OpenAPI spec, repository
 * runai-professional-services/runapy, .generator/swagger.json (version 1.224.0). */
#ifndef GB_RUNAI_INT_H
#define GB_RUNAI_INT_H

#include <stdbool.h>

#include "providers/provider.h"

#define RUNAI_WORKLOADS "/api/v2/workloads"    /* create, get, update, delete */
#define RUNAI_WORKLOADS_V1 "/api/v1/workloads" /* list, get with phase and phaseMessage */
#define RUNAI_PROJECTS "/api/v1/org-unit/projects"
#define RUNAI_TOKEN_V2 "/api/v2/token" /* OAuth2 form (spec 1.224.0 and later) */
#define RUNAI_TOKEN_V1 "/api/v1/token" /* JSON TokenRequest (older control planes) */
#define RUNAI_MANIFEST_MAX 2097152     /* manifestBase64Encoded: at most 2 MiB of base 64 */
#define RUNAI_NAME_MAX 63              /* a Kubernetes object name (DNS-1123 label) */
#define RUNAI_MAX_GPUS 64              /* GPUs one workload may ask for */
#define RUNAI_SSH_ENV "PUBLIC_KEY"     /* env var that carries the pod's SSH public keys */
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

/* runai_auth.c: prov_ops.auth (a cached Bearer token from POST /api/v2/token, or from
 * POST /api/v1/token where the control plane has no v2 token endpoint), state_free, and the
 * project cache. */
gb_err prov_runai_auth(prov_adapter *a, const char *rejected, char **hdr, char *err);
void prov_runai_state_free(void *state);
/* Run:ai's project id (and its cluster id, "" when not given) for a project name, resolved
 * through GET /api/v1/org-unit/projects once and then cached. cluster: settings.cluster_id
 * ("" = any, but then the name must be unique across clusters). */
gb_err prov_runai_project_id(prov_adapter *a, const char *name, const char *cluster, char id[64],
                             char cluster_out[64], char *err);
/* prov_ops.error: prov_status_error, plus 429 -> GB_ERR_LIMIT and capacity/quota refusals ->
 * GB_ERR_CAPACITY. */
gb_err prov_runai_error(prov_adapter *a, const gb_http_resp *r, char *err);

/* Reads one v1 Workload (GET /api/v1/workloads[/{id}]: id, name, phase, phaseMessage,
 * workloadRequestedResources, createdAt) into out; -1 when it has no id. */
int prov_runai_parse_v1(const runai_settings *s, const cJSON *j, prov_pod *out);
/* Reads a v2 answer into out: a WorkloadV2GetResponse {workload, syncInfo} or a bare
 * WorkloadV2 (the 202 of create/update/delete); -1 when metadata.id is missing. A v2 answer
 * has no phase: raw_status is syncInfo.status ("Queued", "Applying", "Synced", "Deleting",
 * "Deleted", "Failed"), or "Creating" when there is none. */
int prov_runai_parse_v2(const runai_settings *s, const cJSON *j, prov_pod *out);
/* The GPUs a v1 Workload asks for (workloadRequestedResources.gpu), 0 if unknown. */
int prov_runai_v1_gpus(const cJSON *j);
/* True for a workload id Run:ai would have made (a UUID). */
bool prov_runai_uuid_ok(const char *id);
pod_status prov_runai_map_status(const char *raw);

/* Every workload the credentials see (v1 Workload objects, an array the caller frees); name
 * (may be NULL) narrows the list to that exact name with filterBy. */
gb_err prov_runai_list_raw(prov_adapter *a, const char *name, cJSON **out, char *err);
gb_err prov_runai_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err);

/* runai_manifest.c */
gb_err prov_runai_validate_options(const cJSON *options, char *err);
/* [a-z0-9-], 1..63, starting and ending with a letter or digit (a Kubernetes name). */
bool prov_runai_dns_label(const char *s);
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
/* prov_ops.precheck: no registry credentials (the Run:ai project's pull secret applies). */
gb_err prov_runai_precheck(const prov_create_req *req, char *err);
gb_err prov_runai_update(prov_adapter *a, const char *id, const cJSON *changes, char *err);

#endif
