/* sim_volt_int.h: what the Volt simulator's files share (account state, inventory, pods, SSH
 * keys, templates, Volt-format errors). Private to providers/sim/sim_volt*.c. */
#ifndef GB_SIM_VOLT_INT_H
#define GB_SIM_VOLT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/money.h"
#include "providers/sim/sim.h"

#define SV_MAX_MACHINES 16
#define SV_MAX_PODS 4096
#define SV_MAX_KEYS 256
#define SV_MAX_TEMPLATES 256
#define SV_MAX_POD_KEYS 16
#define SV_NAME_MAX 128
#define SV_IMAGE_MAX 512
#define SV_PUBKEY_MAX 16384

#define SV_DEPLOY_MS 15000 /* deploying -> running */
#define SV_START_MS 15000  /* starting -> running */
#define SV_STOP_MS 5000    /* stopping -> stopped */
#define SV_HOUR_MS INT64_C(3600000)
#define SV_RATE_LIMIT 1000 /* requests per hour per API key (the seed's limit) */
#define SV_BALANCE (INT64_C(500) * GB_MONEY_PER_DOLLAR)

typedef enum {
    SV_DEPLOYING,
    SV_RUNNING,
    SV_STARTING,
    SV_STOPPING,
    SV_STOPPED,
    SV_DELETED
} sv_status;

typedef struct {
    char id[48];
    char gpu_type[32];
    int gpu_count, gpu_vram_gb, cpu_cores, ram_gb, storage_gb;
    gb_money cost_per_gpu_hour;
    int available_gpus;
    char location[32];
    char provider[16]; /* "lium" | "targon" */
    bool confidential;
} sv_machine;

typedef struct {
    char id[GB_ID_MAX];
    char name[SV_NAME_MAX + 1];
    sv_status status;
    int machine; /* index into machines */
    bool targon;
    bool holds_gpus; /* its GPUs are taken from the machine's available_gpus */
    char resource_name[32];
    char gpu_type[32];
    int gpu_count;
    gb_money cost_per_hour;
    char template_id[GB_ID_MAX];
    char image[SV_IMAGE_MAX + 1];
    int volume_size_gb;
    char ssh_keys[SV_MAX_POD_KEYS][GB_ID_MAX];
    int nssh;
    char ip[20];
    int64_t created_at;
    int64_t until;         /* when the current transition (deploying/starting/stopping) ends */
    int64_t running_since; /* 0 when not billing */
    int64_t running_ms;    /* billed time before running_since */
} sv_pod;

typedef struct {
    char id[GB_ID_MAX];
    char name[SV_NAME_MAX + 1];
    char *public_key;
    char fingerprint[64];
    int64_t created_at;
} sv_key;

typedef struct {
    char id[GB_ID_MAX];
    char name[SV_NAME_MAX + 1];
    char image[SV_IMAGE_MAX + 1];
    char category[64];
    char description[256];
    bool is_system;
    cJSON *ports;    /* owned or NULL */
    cJSON *env_vars; /* owned or NULL */
    int64_t created_at;
} sv_tpl;

typedef struct {
    sim_server *srv;
    int64_t now; /* the simulator clock at the current request (set by tick) */
    sv_machine machines[SV_MAX_MACHINES];
    size_t nmachines;
    sv_pod *pods;
    size_t npods, cap;
    sv_key keys[SV_MAX_KEYS];
    size_t nkeys;
    sv_tpl tpls[SV_MAX_TEMPLATES];
    size_t ntpls;
    gb_money balance_start;
    gb_money spent; /* billed cost of deleted pods */
    int rate_limit; /* requests per hour per key; tests may lower it */
    int64_t window_start;
    int window_used;
    unsigned ip_seq;
} sv_state;

/* A Volt error body {"error":true,"status":N,"message":...,"code":...}. */
void sim_volt_err(sim_resp *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Refuses (400 VALIDATION_ERROR, answered; returns -1) a body that is not an object or has
 * a field outside allowed (NULL-terminated): the seed's bodies are the only ones served. */
int sim_volt_only(sim_resp *rs, const cJSON *body, const char *const *allowed);
/* Runs cost of a pod up to st->now; the account balance now. */
int64_t sim_volt_pod_running_ms(const sv_state *st, const sv_pod *p);
gb_money sim_volt_pod_cost(const sv_state *st, const sv_pod *p);
gb_money sim_volt_balance(const sv_state *st);
sv_key *sim_volt_key_find(sv_state *st, const char *id);
sv_tpl *sim_volt_tpl_find(sv_state *st, const char *id);
void sim_volt_tpls_seed(sv_state *st);
cJSON *sim_volt_pod_json(const sv_state *st, const sv_pod *p, bool full);
/* sim_volt_view.c: the far-side view for /_sim/workloads. */
cJSON *sim_volt_workloads(void *state);
cJSON *sim_volt_key_json(const sv_key *k);
cJSON *sim_volt_tpl_json(const sv_tpl *t, bool full);

/* Route handlers. */
void sim_volt_pods_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_pods_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_pod_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_pod_put(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_pod_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_pod_start(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_pod_stop(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_keys_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_keys_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_key_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_tpls_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_tpls_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_tpl_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_volt_tpl_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);

#endif
