/* sim_primus_int.h: what the Primus-SaFE simulator's files share (workspaces, workloads, login
 * tokens, the scheduler clock, Primus-format errors). Private to providers/sim/sim_primus*.c. */
#ifndef GB_SIM_PRIMUS_INT_H
#define GB_SIM_PRIMUS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/sim/sim.h"

#define SP_MAX_WORKLOADS 8192
#define SP_MAX_TOKENS 64
#define SP_MAX_CONDS 16
#define SP_MAX_BATCH 1000
#define SP_NAME_MAX 63 /* displayName: a Kubernetes label value */
#define SP_DESC_MAX 1024
#define SP_IMAGE_MAX 512
#define SP_ENTRY_MAX 65536 /* decoded entryPoint bytes */
#define SP_GPUS_PER_NODE 8
#define SP_DISPATCH_MS 20000 /* dispatched -> Running (image pull, container start) */
#define SP_UPDATE_MS 10000   /* Updating -> Running after a PATCH of a running workload */
#define SP_DEFAULT_RUN_S 300 /* a PyTorchJob's run time unless PRIMUS_SIM_RUN_SECONDS says */
#define SP_TOKEN_TTL_MS (INT64_C(24) * 3600 * 1000)
#define SP_LOG_EVERY_MS 30000 /* one synthetic log line per 30 s of running */
#define SP_CLUSTER "primus-sim-cluster"

#define SP_WEBHOOK "admission webhook \"vworkload.kb.io\" denied the request: "

/* Primus error codes (SaFE common/pkg/errors/error_code.go). */
#define SP_E_INTERNAL "Primus.00001"
#define SP_E_BAD_REQUEST "Primus.00002"
#define SP_E_FORBIDDEN "Primus.00003"
#define SP_E_EXISTS "Primus.00004"
#define SP_E_NOT_FOUND "Primus.00005"
#define SP_E_TOO_LARGE "Primus.00006"
#define SP_E_QUOTA "Primus.00008"
#define SP_E_UNAUTHORIZED "Primus.00009"
#define SP_E_NOT_REGISTERED "Primus.00011"
#define SP_E_PROCESSING "Primus.00010"
#define SP_E_WL_NOT_FOUND "Primus.01001"
#define SP_E_WS_NOT_FOUND "Primus.02001"

typedef enum {
    SP_PENDING = 0,
    SP_RUNNING,
    SP_UPDATING,
    SP_NOTREADY,
    SP_SUCCEEDED,
    SP_FAILED,
    SP_STOPPED
} sp_phase;

typedef struct {
    char id[64];
    int total_gpus;
    int used_gpus;
    int64_t freed_at; /* the last time GPUs were given back (dispatch time of the next) */
    int nodes;
    int node_base; /* node names mi300x-node-NN from here */
} sp_workspace;

typedef struct {
    char type[32];
    char status[8];
    char reason[64];
    char message[160];
    int64_t at;
} sp_cond;

typedef struct {
    char id[96];
    char uid[40];
    char k8s_uid[40];
    char display_name[SP_NAME_MAX + 1];
    char description[SP_DESC_MAX + 1];
    int ws; /* index into workspaces */
    char kind[16];
    char version[16];
    char user_id[80];
    char user_name[72];
    /* resources[] (WorkloadResource objects as stored after the server's defaults),
     * images[] and entryPoints[] (base64), one entry per resource; owned */
    cJSON *resources, *images, *entry_points;
    int replica;         /* pods in all: the sum of resources[].replica */
    int gpus;            /* GPUs in all: the sum of gpu x replica */
    int gpu_per_replica; /* resources[0].gpu, for node placement */
    int priority;
    int64_t timeout_s;
    int64_t max_retry;
    int64_t ttl_after_s;
    bool supervised, tolerate_all;
    cJSON *env, *labels, *liveness, *readiness, *service, *deps, *cron, *nodes_spec; /* owned */
    cJSON *excluded, *secrets;                                                       /* owned */
    char nodes_affinity[16];
    bool privileged, use_ws_storage, force_host_net;
    sp_phase phase;
    char message[256];
    int64_t seq;
    int64_t created, dispatched, started, ended, ready_at, update_until, finish_at;
    bool holds; /* its GPUs count in the workspace's used_gpus */
    int held;   /* how many */
    int dispatch_count;
    int queue_pos; /* schedulerOrder while queued, else 0 */
    int node;      /* first node index in its workspace */
    bool fails_at_finish;
    sp_cond conds[SP_MAX_CONDS];
    int nconds;
} sp_wl;

typedef struct {
    char token[40];
    int64_t expire; /* sim ms */
} sp_token;

typedef struct {
    sim_server *srv;
    int64_t now;
    bool login_mode; /* secret "user:password": tokens from POST /api/v1/login */
    char user[72];   /* the login name (or "api-user" for a key) */
    char cur_user[72];
    sp_workspace ws[4];
    int nws;
    sp_wl **wls;
    size_t nwls, cap;
    int64_t next_seq;
    sp_token tokens[SP_MAX_TOKENS];
    int ntokens, next_token;
    int64_t logins;
} sp_state;

/* ---- sim_primus.c ---- */
/* A Primus error answer {"errorCode","errorMessage"} with status. */
void sim_primus_err(sim_resp *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int sim_primus_ws_find(const sp_state *st, const char *id);
sp_wl *sim_primus_wl_find(sp_state *st, const char *id);
/* Appends a condition to w's history (the oldest drops out when full). */
void sim_primus_cond(sp_wl *w, int64_t at, const char *type, const char *reason,
                     const char *message);
/* Gives w's GPUs back to its workspace at time at. */
void sim_primus_release(sp_state *st, sp_wl *w, int64_t at);
/* Takes a new workload slot (NULL when full or out of memory). */
sp_wl *sim_primus_wl_new(sp_state *st);
void sim_primus_wl_free(sp_wl *w);
/* Removes w from the state and frees it. */
void sim_primus_wl_remove(sp_state *st, sp_wl *w);
/* Fills id with the normalized display name and a random 5-character suffix. */
void sim_primus_make_id(const char *display, char *id, size_t n);
/* "2006-01-02T15:04:05" (the seed's form) or "" for 0. */
void sim_primus_time(int64_t ms, char *buf, size_t n);
extern const char *const SIM_PRIMUS_PHASES[];
/* sim_primus_view.c: the far-side view for /_sim/workloads. */
cJSON *sim_primus_workloads(void *state);

/* ---- sim_primus_auth.c ---- */
int sim_primus_auth(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_primus_login(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);

/* ---- sim_primus_spec.c: the request bodies ---- */
/* Reads a CreateWorkloadRequest (create and resume) into w; 0, or -1 with *status, *code and
 * err (the whole errorMessage) set. */
int sim_primus_spec_create(sp_state *st, const cJSON *b, sp_wl *w, int *status, const char **code,
                           char *err, size_t errn);
/* Reads a PatchWorkloadRequest into w (a copy of the workload); same contract. */
int sim_primus_spec_patch(const cJSON *b, sp_wl *w, int *status, const char **code, char *err,
                          size_t errn);
/* The first image / decoded first entry point of w ("" when none; free the latter). */
const char *sim_primus_image(const sp_wl *w);
char *sim_primus_command(const sp_wl *w);

/* ---- sim_primus_wl.c (create, resume, get, patch) and sim_primus_list.c ---- */
void sim_primus_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_primus_resume(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_primus_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_primus_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_primus_patch(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
/* Base64 (standard alphabet, padded) check; decoded length into *n. */
bool sim_primus_b64_ok(const char *s, size_t *n);
/* Decodes valid base64 into a new NUL-terminated string (NULL on failure). */
char *sim_primus_b64_decode(const char *s);

/* ---- sim_primus_ops.c: stop, delete, batches, pods, logs ---- */
void sim_primus_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_primus_stop(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_primus_batch_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_primus_batch_stop(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_primus_logs(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_primus_containers(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
/* Stops w (no-op when it has ended) as user. */
void sim_primus_stop_wl(sp_state *st, sp_wl *w, const char *user);
/* ---- sim_primus_json.c ---- */
/* The list item (full = false) or GET answer (full = true) of w. */
cJSON *sim_primus_wl_json(const sp_state *st, const sp_wl *w, bool full);
bool sim_primus_ended(const sp_wl *w);
bool sim_primus_has_pods(const sp_wl *w);
void sim_primus_pod_id(const sp_wl *w, int i, char *buf, size_t n);
const char *sim_primus_container(const sp_wl *w);

/* The simulator of this platform (declared in sim.h by the registry owner). */
const sim_platform *sim_platform_primus(void);

#endif
