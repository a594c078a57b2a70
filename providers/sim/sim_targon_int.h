/* sim_targon_int.h: what the Targon simulator's files share: its inventory, workloads, SSH keys,
 * the API version of the request being served (v2, or v3 under /tha/v3/orgs/{org}) and the
 * helpers that render them as Targon's JSON. Private to providers/sim/sim_targon*.c. */
#ifndef GB_SIM_TARGON_INT_H
#define GB_SIM_TARGON_INT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/money.h"
#include "providers/sim/sim.h"

#define SIM_TARGON_MAX_WORKLOADS 512
#define SIM_TARGON_MAX_EVENTS 200  /* per workload; the oldest go first */
#define SIM_TARGON_DEPLOY_MS 20000 /* provisioning -> running on the simulator clock */
#define SIM_TARGON_MAX_KEYS 256
#define SIM_TARGON_ORG "gpubroker-sim" /* the one organization the simulator's key belongs to */
#define SIM_TARGON_UID_LEN 16          /* "wrk-" + 12 */

/* One resource of GET /tha/v{2,3}/inventory. */
typedef struct {
    const char *name;
    const char *display_name;
    const char *gpu_type; /* "" for CPU-only */
    int gpu_count;
    int vcpu;
    int memory_mb;
    int storage_mb; /* spec.storage is in MB (docs.targon.com/api/inventory) */
    gb_money cost_per_hour;
    int available; /* units left; deploy takes one, delete gives it back */
} sim_targon_res;

/* One registered workload. spec holds the configuration fields as the client sent them
 * (name, image, type, resource_name, project_id, app_id, ports, envs, commands, args, volumes,
 * ssh_keys as uid strings, serverless_config, registry_auth). */
typedef struct {
    char uid[SIM_TARGON_UID_LEN + 1];
    cJSON *spec;
    int res;         /* index into the inventory */
    char status[16]; /* registered, provisioning, running, suspended, error, deleted */
    char message[128];
    int revision;
    bool holds_unit;
    int64_t created_ms, updated_ms, deploy_ms, running_ms;
    cJSON *events; /* array of event objects, oldest first */
} sim_targon_wl;

/* One SSH key of the organization (targon-sdk libs/go/ssh_key.go SSHKey). */
typedef struct {
    char uid[24];
    char name[128];
    char *public_key_raw;
    int64_t created_ms;
} sim_targon_key;

typedef struct {
    sim_server *srv;
    int api; /* 2 or 3: the version of the request being served (set by the route wrappers) */
    sim_targon_key keys[SIM_TARGON_MAX_KEYS];
    int nkeys;
    sim_targon_res *inv;
    int ninv;
    sim_targon_wl *wl[SIM_TARGON_MAX_WORKLOADS];
    int nwl;
} sim_targon_state;

/* sim_targon.c */
int sim_targon_res_find(const sim_targon_state *st, const char *name);
cJSON *sim_targon_res_json(const sim_targon_res *r);       /* the workload's "resource" */
cJSON *sim_targon_inventory_json(const sim_targon_res *r); /* one inventory entry */
/* The live (not deleted) workload with uid, or NULL. include_deleted also finds deleted ones. */
sim_targon_wl *sim_targon_wl_find(sim_targon_state *st, const char *uid, bool include_deleted);
/* The seed's full workload object; summary = the list/deploy item shape. */
cJSON *sim_targon_wl_json(const sim_targon_state *st, const sim_targon_wl *w, bool summary);
cJSON *sim_targon_state_json(const sim_targon_state *st, const sim_targon_wl *w, bool top);
/* Records an event and moves the status (status may be NULL for a non-status event). */
void sim_targon_event(sim_targon_state *st, sim_targon_wl *w, int64_t now, const char *type,
                      const char *status, const char *display);
void sim_targon_time(int64_t ms, char buf[32]);
/* The image digest the simulator pretends the registry has ("sha256:" + 64 hex). */
void sim_targon_digest(const char *image, char out[72]);

/* The key with uid, or NULL. */
sim_targon_key *sim_targon_key_find(sim_targon_state *st, const char *uid);

/* sim_targon_check.c: validation of create and PATCH bodies. Returns 0, or fills rs with the
 * platform's 400 and returns -1. */
int sim_targon_check_spec(sim_server *s, sim_targon_state *st, cJSON *spec, bool create,
                          const char *type, sim_resp *rs);

/* Platform callbacks (sim_targon.c), for the platform table in sim_targon_routes.c. */
void *sim_targon_state_new(sim_server *s);
void sim_targon_state_free(void *state);
void sim_targon_tick(void *state, int64_t now_ms);
int sim_targon_auth(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_error(sim_resp *rs, int status, const char *message);
void sim_targon_capacity(sim_resp *rs);
cJSON *sim_targon_dump(void *state);
/* sim_targon_view.c: the far-side view for /_sim/workloads. */
cJSON *sim_targon_workloads(void *state);

/* Route handlers (uid = params[0]; the v3 wrappers strip the org first). */
void sim_targon_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_patch(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_deploy(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_get_state(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_events(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_logs(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_verify(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_vol_put(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_vol_del(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_key_put(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_key_del(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_inventory(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_suspend(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
/* sim_targon_keys.c: organizations and SSH keys. */
void sim_targon_orgs(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_org_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_keys_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_keys_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_keys_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
void sim_targon_keys_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
cJSON *sim_targon_key_json(const sim_targon_key *k);

#endif
