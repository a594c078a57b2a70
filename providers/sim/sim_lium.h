/* sim_lium.h: what the Lium simulator's files share: its in-memory state (executors, pods,
 * templates, SSH keys) and the handlers each file provides. Only sim_lium*.c include it. */
#ifndef GB_SIM_LIUM_H
#define GB_SIM_LIUM_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/money.h"
#include "providers/sim/sim.h"

#define SIM_LIUM_NEXEC 8
#define SIM_LIUM_MAX_PODS 64       /* pods kept at once, deleting ones included */
#define SIM_LIUM_MAX_TEMPLATES 256 /* system plus user templates */
#define SIM_LIUM_MAX_KEYS 256
#define SIM_LIUM_NAME_MAX 128 /* pod, template and key names */
#define SIM_LIUM_IMAGE_MAX 255
#define SIM_LIUM_MAX_PUBKEYS 16 /* user_public_key entries per rent */
#define SIM_LIUM_PUBKEY_MAX 8192

/* Simulated timings (simulator clock): a rented pod is PENDING until BOOT, RUNNING without
 * ssh_connect_cmd until READY, then RUNNING with it; a deleted pod is DELETING for DELETE ms
 * and then gone (404) with its executor free again. */
#define SIM_LIUM_BOOT_MS 25000
#define SIM_LIUM_READY_MS 30000
#define SIM_LIUM_DELETE_MS 5000

/* One machine of the fixed inventory. */
typedef struct {
    const char *id;
    const char *machine_name;
    int gpu_count;
    int gpu_mem_mb;
    gb_money price_per_gpu;
    int cpu_count;
    const char *cpu_model;
    int ram_gb;
    int disk_gb;
    const char *country;
    const char *region;
    const char *city;
    const char *tier;
    const char *ip;
} sim_lium_exec_spec;

typedef struct {
    const sim_lium_exec_spec *spec;
    char pod_id[40]; /* "" = free to rent */
    int rents;       /* how many times it was rented (for tests, in the dump) */
} sim_lium_exec;

typedef struct {
    char id[40];
    char name[SIM_LIUM_NAME_MAX + 1];
    char template_id[40];
    int exec; /* index into executors */
    int64_t created_ms;
    int64_t deleting_ms; /* 0 = not being deleted */
    int port_base;       /* first external port of this pod's mapping */
    cJSON *keys;         /* user_public_key as sent */
} sim_lium_pod;

typedef struct {
    sim_server *srv;
    sim_lium_exec exec[SIM_LIUM_NEXEC];
    sim_lium_pod pods[SIM_LIUM_MAX_PODS];
    int npods;
    int next_port;      /* grows by 10 per rent */
    cJSON *templates;   /* array of template objects (system ones first) */
    cJSON *keys;        /* array of {id, name, public_key, created_at} */
    int logs_calls;     /* GET /pods/{id}/logs answered (for tests, in the dump) */
    char logs_tail[16]; /* the last one's tail and follow query values, as sent */
    char logs_follow[16];
    int price_pct; /* listed prices: this % of the inventory's (POST /_sim/prices; 100) */
} sim_lium_state;

/* sim_lium.c */
cJSON *sim_lium_exec_json(const sim_lium_state *st, int i);
void sim_lium_uuid(char out[37]);
void sim_lium_time(cJSON *obj, const char *key, int64_t ms);
/* Answers 422 the way FastAPI reports a validation error ({"detail":[{loc,msg,type}]});
 * field is "pod_name" (in the body) or "query.gpu_count_gte". */
void sim_lium_invalid(sim_resp *rs, const char *field, const char *msg, const char *type);
const cJSON *sim_lium_template_find(const sim_lium_state *st, const char *id);
/* Refuses (422 extra_forbidden, answered; returns -1) a body that is not an object or has a
 * field outside allowed (NULL-terminated), as a FastAPI model with extra="forbid" does. */
int sim_lium_only(sim_resp *rs, const cJSON *b, const char *const *allowed);

/* sim_lium_pods.c */
void sim_lium_rent(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_lium_pods_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_lium_pod_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_lium_pod_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_lium_pod_logs(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_lium_pods_tick(sim_lium_state *st, int64_t now_ms);
cJSON *sim_lium_pod_json(const sim_lium_state *st, const sim_lium_pod *p, int64_t now_ms);
/* sim_lium_view.c: the far-side view for /_sim/workloads. */
cJSON *sim_lium_workloads(void *state);

/* sim_lium_catalog.c */
void sim_lium_templates_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_lium_template_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_lium_template_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_lium_template_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
/* Drops template id when it is a one-time template no pod uses any more. */
void sim_lium_template_release(sim_lium_state *st, const char *id);
void sim_lium_keys_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_lium_key_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
/* Adds the system templates to st->templates; -1 on allocation failure. */
int sim_lium_templates_init(sim_lium_state *st, int64_t now_ms);

#endif
