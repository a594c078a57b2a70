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
    SDR_ERRORED
} sdr_status;

typedef enum { SDR_OP_NONE, SDR_OP_CREATE, SDR_OP_START, SDR_OP_STOP } sdr_op;

typedef struct {
    int replicas;
    bool autoscaling;
    int min_replicas, max_replicas;
    int gpu;       /* per replica */
    int cpu;       /* cores per replica */
    int memory_mb; /* MiB per replica */
    int port;      /* 0 = image default */
    char image[SDR_IMAGE_MAX + 1];
    cJSON *environment; /* owned array of {name, value}, or NULL */
} sdr_settings;

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
    char type[32];
    char status[16];
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
    bool fail_launch;  /* tag sim=fail-launch: ends launching in errored */
    bool stuck_proton; /* tag sim=stuck-proton: its protons cannot be stopped on delete */
    sdr_settings settings;
    cJSON *tags; /* owned array of {key, value} */
    sdr_proton protons[2];
    int nprotons; /* protons[0] is the active one */
    bool replacing;
    char repl_id[SDR_ID_LEN + 1];
    char repl_state[16]; /* last replacement: inProgress, completed, cancelled, "" */
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
/* {"message": ...} with status. */
void sim_datarobot_err(sim_resp *rs, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 422 {"message":"Invalid field data","errors":{field: reason}}. */
void sim_datarobot_invalid(sim_resp *rs, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sim_datarobot_capacity(sim_resp *rs, int want, int free_gpus);
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
cJSON *sim_datarobot_settings_json(const sdr_settings *s);
cJSON *sim_datarobot_proton_json(const sdr_wl *w, const sdr_proton *p);
/* Reads offset/limit (0 <= offset, 1 <= limit <= 1000, default 100); -1 after a 422. */
int sim_datarobot_page(const sim_req *rq, sim_resp *rs, int *offset, int *limit);
/* {count, next, previous, totalCount, data} around items (taken), for offset/limit of total. */
cJSON *sim_datarobot_page_json(sdr_state *st, const char *path, cJSON *items, int offset, int limit,
                               int total);

/* ---- sim_datarobot_wl.c: workloads and their clock ---- */
void sim_datarobot_event(sdr_wl *w, int64_t at, const char *type, const char *status,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
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

/* ---- sim_datarobot_settings.c: runtime settings ---- */
/* Reads a settings object (all of it at create, only what is present at PATCH) into io;
 * -1 after answering 422. */
int sim_datarobot_settings_read(const cJSON *j, sdr_settings *io, bool create, sim_resp *rs);
int sim_datarobot_settings_copy(sdr_settings *dst, const sdr_settings *src);
void sim_datarobot_settings_free(sdr_settings *s);

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
