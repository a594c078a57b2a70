/* sim_runai_int.h: what the NVIDIA Run:ai simulator's files share (cluster, tokens, workloads,
 * the manifest reader). Private to providers/sim/sim_runai*.c; shares nothing with the
 * adapter. */
#ifndef GB_SIM_RUNAI_INT_H
#define GB_SIM_RUNAI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/sim/sim.h"

#define SR_CLUSTER_ID "3f1c6d2e-7a4b-4c1d-9e8f-0a1b2c3d4e5f"
#define SR_TENANT_ID 1001
#define SR_DEPARTMENT_ID "1"
#define SR_DEPARTMENT_NAME "default"
#define SR_SUBMITTER "gpubroker-app"
#define SR_NODES 2 /* the simulated cluster: 2 nodes of 8 H100 = 16 GPUs */
#define SR_GPUS_PER_NODE 8
#define SR_MAX_WORKLOADS 1024
#define SR_MAX_TOKENS 64 /* live access tokens kept (the oldest goes first) */
#define SR_TOKEN_CHARS 40
#define SR_TOKEN_LIFE_S 300 /* expiresIn of every access token (simulator clock) */
#define SR_MANIFEST_B64_MAX 2097152
#define SR_NAME_MAX 63
#define SR_MAX_REPLICAS 16
#define SR_MAX_CONTAINERS 16

/* Phase timings (simulator clock): Creating 2 s, Pending >= 3 s (until the GPUs fit),
 * Initializing 15 s: Running ~20 s after the create. */
#define SR_CREATING_MS 2000
#define SR_PENDING_MS 3000
#define SR_INITIALIZING_MS 15000
#define SR_UPDATING_MS 3000
#define SR_STOPPING_MS 3000
#define SR_RESUMING_MS 5000
#define SR_DELETING_MS 3000

typedef enum {
    SR_CREATING,
    SR_PENDING,
    SR_INITIALIZING,
    SR_RUNNING,
    SR_UPDATING,
    SR_RESUMING,
    SR_STOPPING,
    SR_STOPPED,
    SR_DELETING,
    SR_FAILED,
    SR_COMPLETED
} sr_phase;

/* What the simulator reads out of a manifest. */
typedef struct {
    char kind[16]; /* "Pod" | "Deployment" */
    char name[SR_NAME_MAX + 1];
    char image[256];  /* the first container's (cut to fit) */
    int gpus_per_pod; /* sum of the containers' nvidia.com/gpu limits */
    int replicas;
} sr_manifest;

/* One project of the simulated tenant (GET /api/v1/org-unit/projects). */
typedef struct {
    const char *id; /* Run:ai project ids are numeric strings */
    const char *name;
} sr_project;

typedef struct {
    char id[37];
    char name[SR_NAME_MAX + 1];
    const sr_project *project;
    char priority[33]; /* "" = the workload type's default */
    sr_phase phase;
    bool want_running; /* desiredPhase Running (else Stopped) */
    bool gone;         /* deleted: dropped at the end of the tick */
    int64_t created_at;
    int64_t updated_at;
    int64_t until; /* when the current timed phase ends */
    sr_manifest info;
    int held[SR_NODES]; /* GPUs this workload holds on each node */
    cJSON *manifest;    /* JSON form, owned */
} sr_workload;

typedef struct {
    char token[SR_TOKEN_CHARS + 1];
    int64_t expires_at;
} sr_token;

typedef struct {
    sim_server *srv;
    int64_t now;      /* the simulator clock at the current request (set by tick) */
    int64_t freed_at; /* when GPUs were last given back */
    int node_free[SR_NODES];
    sr_workload **wl; /* in creation order */
    size_t n, cap;
    sr_token tokens[SR_MAX_TOKENS];
    size_t ntokens;
    int64_t tokens_issued;
} sr_state;

/* sim_runai.c (the entry point; the lead declares it in sim.h too) */
const sim_platform *sim_platform_runai(void);
void sim_runai_err(sim_resp *rs, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Places every replica of w on a node with room; false (nothing taken) when they do not fit. */
bool sim_runai_alloc(sr_state *st, sr_workload *w);
void sim_runai_release(sr_state *st, sr_workload *w, int64_t at);
int sim_runai_held(const sr_workload *w);
/* The project with this id, or NULL. */
const sr_project *sim_runai_project(const char *id);
const sr_project *sim_runai_projects(size_t *n);
const char *sim_runai_phase_name(sr_phase p);
/* sim_runai_view.c: the far-side view for /_sim/workloads. */
cJSON *sim_runai_workloads(void *state);
bool sim_runai_uuid(const char *s);

/* sim_runai_auth.c: POST /api/v1/token (JSON), POST /api/v2/token (OAuth2 form) and the
 * Bearer check of every other route. */
void sim_runai_token_v1(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_runai_token_v2(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
int sim_runai_auth(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);

/* sim_runai_wl.c: workloads v2 (create, get, update, delete). */
/* The workload as the test dump shows it (v2 metadata plus phase and GPUs). */
cJSON *sim_runai_wl_dump(const sr_workload *w);
void sim_runai_wl_free(sr_workload *w);
void sim_runai_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_runai_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_runai_put(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_runai_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);

/* sim_runai_v1.c: the v1 reads (workload list and one workload with phase and phaseMessage)
 * and the projects of the tenant. */
cJSON *sim_runai_v1_json(const sr_workload *w);
const char *sim_runai_phase_message(const sr_workload *w);
void sim_runai_v1_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_runai_v1_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_runai_projects_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);

/* sim_runai_yaml.c: reads body.manifest or body.manifestBase64Encoded (YAML or JSON text)
 * into *out (JSON form) and checks it; -1 with msg (the 400 reason) otherwise. */
int sim_runai_manifest_read(const cJSON *body, cJSON **out, sr_manifest *info, char *msg, size_t n);
bool sim_runai_dns_label(const char *s);

#endif
