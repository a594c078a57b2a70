/* sim_datarobot_int.h: what the DataRobot Workload API simulator's files share (workloads,
 * protons, settings, replacements, events, shared roles, request statistics, DataRobot-format
 * errors). Private to providers/sim/sim_datarobot*.c; shares nothing with the adapter. */
#ifndef GB_SIM_DATAROBOT_INT_H
#define GB_SIM_DATAROBOT_INT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/sim/sim.h"

#define SDR_API "/api/v2"
#define SDR_ID_LEN 24 /* ObjectId-style lowercase hex ids */
#define SDR_MAX_WORKLOADS 512
#define SDR_MAX_EVENTS 100 /* per workload; the oldest are dropped */
#define SDR_MAX_ROLES 100  /* the seed's limit on PATCH .../sharedRoles */
#define SDR_MAX_RUNS 32    /* running intervals kept per workload (statistics) */
#define SDR_MAX_TAGS 50
#define SDR_MAX_ENV 64
#define SDR_MAX_DELETED 64 /* ids of deleted workloads kept for the dump */
#define SDR_NAME_MAX 255
#define SDR_DESC_MAX 1000
#define SDR_IMAGE_MAX 512
#define SDR_POOL_GPUS 16 /* the simulated cluster's GPUs (sandbox max_gpus) */
#define SDR_NODE_GPUS 8  /* GPUs of one node: resources.gpu per replica */
#define SDR_MAX_REPLICAS 16

/* Timings on the simulator clock. */
#define SDR_PROVISION_MS 2000 /* create: submitted -> provisioning */
#define SDR_LAUNCH_MS 8000    /* create/start: -> launching */
#define SDR_READY_MS 20000    /* create/start: -> running (or errored) */
#define SDR_STOP_MS 5000      /* stopping -> stopped */
#define SDR_REPLACE_MS 30000  /* a settings replacement, start to switch-over */

/* Workload and proton statuses (initializing, warming and draining are proton-only). */
typedef enum {
    SDR_UNKNOWN,
    SDR_SUBMITTED,
    SDR_INITIALIZING,
    SDR_PROVISIONING,
    SDR_LAUNCHING,
    SDR_RUNNING,
    SDR_SUSPENDED,
    SDR_WARMING,
    SDR_DRAINING,
    SDR_INTERRUPTED,
    SDR_STOPPING,
    SDR_STOPPED,
    SDR_ERRORED,
    SDR_TERMINATED
} sdr_status;

typedef enum { SDR_OP_NONE, SDR_OP_CREATE, SDR_OP_START, SDR_OP_STOP } sdr_op;

/* What one workload runs: its artifact's one container (spec.containerGroups[0].containers[0])
 * and its runtime for that group. */
typedef struct {
    char group[64];     /* the container group's name (artifact and runtime must agree) */
    char container[64]; /* the container's name */
    char image[SDR_IMAGE_MAX + 1];
    int port;           /* >= 1024 */
    cJSON *environment; /* owned array of environmentVars entries, or NULL */
    int replicas;       /* replicaCount, or minReplicaCount under autoscaling */
    bool autoscaling;
    int min_replicas, max_replicas;
    cJSON *policies; /* owned autoscaling policies, or NULL */
    int gpu;         /* per replica (resourceAllocation.gpu or the bundle's gpuCount) */
    double cpu;      /* cores per replica */
    int64_t memory;  /* bytes per replica */
    char bundle[48]; /* resourceBundles[0], "" = none */
} sdr_settings;

/* One entry of the simulated resource-bundle catalog (GET /mlops/compute/bundles/). */
typedef struct {
    const char *id, *name, *description;
    double cpu;
    int64_t memory;
    int gpus;
    int64_t gpu_memory;
} sdr_bundle;

typedef struct {
    char id[SDR_ID_LEN + 1];
    bool candidate; /* the new proton of a replacement */
    sdr_status status;
    int replicas;
    int64_t created_at;
    int64_t snapshot_at; /* first status snapshot (when it first ran); 0 = none yet */
} sdr_proton;

typedef struct {
    char id[SDR_ID_LEN + 1];
    int64_t at;
    char type[16];   /* Normal, Warning */
    char reason[32]; /* Created, StatusChange, ... */
    char status[16]; /* details.status, "" = none */
    char message[256];
} sdr_event;

typedef struct {
    char type[16]; /* user, group, organization */
    char id[SDR_ID_LEN + 1];
    char name[128];
    char role[16]; /* OWNER, EDITOR, CONSUMER */
} sdr_role;

typedef struct {
    char id[SDR_ID_LEN + 1];
    char name[SDR_NAME_MAX + 1];
    char description[SDR_DESC_MAX + 1];
    char importance[16];
    sdr_status status;
    char status_message[256];
    sdr_op op; /* the transition under way */
    int64_t op_at;
    int op_step;
    bool fail_launch;  /* env SIM_FAULT=fail-launch: ends launching in errored */
    bool stuck_proton; /* env SIM_FAULT=stuck-proton: the first DELETE cannot stop its protons */
    char artifact_id[SDR_ID_LEN + 1];
    char artifact_name[SDR_NAME_MAX + 1];
    sdr_settings settings;
    sdr_proton protons[2];
    int nprotons; /* protons[0] is the active one */
    bool replacing;
    char repl_id[SDR_ID_LEN + 1];
    char repl_state[16]; /* replacement status: initializing, promoting, completed, ... */
    int64_t repl_at;
    sdr_settings repl_settings;
    sdr_event events[SDR_MAX_EVENTS];
    int nevents;
    sdr_role roles[SDR_MAX_ROLES];
    int nroles;
    int64_t runs[SDR_MAX_RUNS][2]; /* closed running intervals [start, end) */
    int nruns;
    int64_t running_since; /* 0 when not running */
    int64_t created_at, updated_at;
} sdr_wl;

typedef struct {
    sim_server *srv;
    int64_t now; /* the simulator clock at the current request */
    sdr_wl **wls;
    size_t n, cap;
    char deleted[SDR_MAX_DELETED][SDR_ID_LEN + 1];
    size_t ndeleted;
} sdr_state;

/* ---- sim_datarobot.c: errors, ids, JSON, statuses, pagination ---- */
const char *sim_datarobot_status_name(sdr_status s);
/* sim_datarobot_view.c: the far-side view for /_sim/workloads. */
cJSON *sim_datarobot_workloads(void *state);
/* DataRobot's error body {"detail": "..."} with status. */
void sim_datarobot_err(sim_resp *rs, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 422 {"detail":[{"path", "message", "code"}]}. */
void sim_datarobot_invalid(sim_resp *rs, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 422 naming the first key of j not in keys (code extra_forbidden); 0 when there is none. */
int sim_datarobot_only_keys(const cJSON *j, const char *const *keys, const char *at, sim_resp *rs);
/* 403 {"detail": "Requested replicas (N) exceeds the maximum allowed (M)."}. */
void sim_datarobot_limit(sim_resp *rs, int want, int max);
void sim_datarobot_new_id(char out[SDR_ID_LEN + 1]);
/* The workload with id, or NULL after answering 404. */
sdr_wl *sim_datarobot_find(sdr_state *st, const char *id, sim_resp *rs);
/* True while a workload's protons are up (submitted, provisioning, launching, running,
 * stopping). */
bool sim_datarobot_up(const sdr_wl *w);
/* GPUs a workload holds now (none unless it is up). */
int sim_datarobot_wl_gpus(const sdr_wl *w);
int sim_datarobot_free_gpus(const sdr_state *st);
cJSON *sim_datarobot_wl_json(const sdr_state *st, const sdr_wl *w);
/* The runtime object {containerGroups:[...]} of s. */
cJSON *sim_datarobot_runtime_json(const sdr_settings *s);
/* The bundle catalog. */
const sdr_bundle *sim_datarobot_bundles(size_t *n);
const sdr_bundle *sim_datarobot_bundle(const char *id);
cJSON *sim_datarobot_proton_json(const sdr_wl *w, const sdr_proton *p);
/* Reads offset/limit (0 <= offset, 1 <= limit <= 1000, default 100); -1 after a 422. */
int sim_datarobot_page(const sim_req *rq, sim_resp *rs, int *offset, int *limit);
/* {count, next, previous, totalCount, data} around items (taken), for offset/limit of total. */
cJSON *sim_datarobot_page_json(sdr_state *st, const char *path, cJSON *items, int offset, int limit,
                               int total);

/* ---- sim_datarobot_wl.c: workloads and their clock ---- */
/* Appends an event (type Normal or Warning, reason, details.status or NULL). */
void sim_datarobot_event(sdr_wl *w, int64_t at, const char *type, const char *reason,
                         const char *status, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void sim_datarobot_tick(void *state, int64_t now_ms);
void sim_datarobot_wl_free(sdr_wl *w);
/* Closes the current running interval (statistics) at `at`. */
void sim_datarobot_set_status(sdr_wl *w, sdr_status s, int64_t at);
void sim_datarobot_wl_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_wl_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_wl_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_wl_patch(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_wl_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_wl_start(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_wl_stop(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
/* True when w passes the list filters (status, importance, search) of rq. */
bool sim_datarobot_wl_matches(const sdr_wl *w, const sim_req *rq);

/* ---- sim_datarobot_settings.c: artifacts and runtimes ---- */
/* Reads an inline artifact {name?, description?, spec{type, containerGroups}} into io and
 * *name; -1 after answering 422. */
int sim_datarobot_artifact_read(const cJSON *j, sdr_settings *io, char *name, size_t name_len,
                                sim_resp *rs);
/* Reads a runtime {containerGroups:[...]} for the artifact already in io (names must match);
 * -1 after answering 422. */
int sim_datarobot_runtime_read(const cJSON *j, sdr_settings *io, sim_resp *rs);
int sim_datarobot_settings_copy(sdr_settings *dst, const sdr_settings *src);
void sim_datarobot_settings_free(sdr_settings *s);
/* The artifact view {id, name, status, type, spec} of w. */
cJSON *sim_datarobot_artifact_json(const sdr_wl *w);
void sim_datarobot_bundles_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_bundle_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);

/* ---- sim_datarobot_ops.c: settings, replacements, sharing, protons, events ---- */
void sim_datarobot_settings_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_settings_patch(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_roles_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_roles_patch(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_protons_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_proton_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_proton_details(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_events(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_related(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
/* Advances a replacement in progress to now (called by the tick). */
void sim_datarobot_replace_tick(sdr_wl *w, int64_t now);
/* Cancels a replacement in progress (stop, delete). */
void sim_datarobot_replace_cancel(sdr_wl *w, int64_t now);

/* ---- sim_datarobot_stats.c: request statistics ---- */
void sim_datarobot_stats(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_stats_metric(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_stats_reset(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_datarobot_stats_all(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);

#endif
