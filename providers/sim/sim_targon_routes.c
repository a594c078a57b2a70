/* sim_targon_routes.c: the Targon simulator's routes and platform table. It serves both API
 * versions: /tha/v2/... (docs.targon.com/api, for providers that still say api_version v2) and
 * the current organization-scoped /tha/v3/orgs/{org}/... (targon-sdk libs/go, CHANGELOG
 * python/3.0.0 and cli/3.0.0). A v3 route checks the org, strips it from the parameters and
 * runs the shared handler with st->api = 3, so handlers validate by version. */
#include <string.h>

#include "providers/sim/sim_targon_int.h"

static void as_v2(sim_server *s, void *state, const sim_req *rq, sim_resp *rs, sim_handler fn)
{
    ((sim_targon_state *)state)->api = 2;
    fn(s, state, rq, rs);
}

static void as_v3(sim_server *s, void *state, const sim_req *rq, sim_resp *rs, sim_handler fn)
{
    if (rq->nparams < 1 || strcmp(rq->params[0], SIM_TARGON_ORG) != 0) {
        sim_error(s, rs, 404, "organization not found");
        return;
    }
    sim_req r = *rq;
    for (int i = 1; i < rq->nparams; i++)
        r.params[i - 1] = rq->params[i];
    r.nparams = rq->nparams - 1;
    ((sim_targon_state *)state)->api = 3;
    fn(s, state, &r, rs);
}

#define BOTH(name)                                                                                 \
    static void name##_2(sim_server *s, void *st, const sim_req *rq, sim_resp *rs)                 \
    {                                                                                              \
        as_v2(s, st, rq, rs, sim_targon_##name);                                                   \
    }                                                                                              \
    static void name##_3(sim_server *s, void *st, const sim_req *rq, sim_resp *rs)                 \
    {                                                                                              \
        as_v3(s, st, rq, rs, sim_targon_##name);                                                   \
    }

BOTH(create)
BOTH(list)
BOTH(verify)
BOTH(get)
BOTH(patch)
BOTH(delete)
BOTH(deploy)
BOTH(get_state)
BOTH(events)
BOTH(logs)
BOTH(vol_put)
BOTH(vol_del)
BOTH(key_put)
BOTH(key_del)
BOTH(keys_create)
BOTH(keys_list)
BOTH(keys_get)
BOTH(keys_delete)

static void suspend_3(sim_server *s, void *st, const sim_req *rq, sim_resp *rs)
{
    as_v3(s, st, rq, rs, sim_targon_suspend); /* v3 only */
}

static void inventory_2(sim_server *s, void *st, const sim_req *rq, sim_resp *rs)
{
    as_v2(s, st, rq, rs, sim_targon_inventory);
}

static void inventory_v3(sim_server *s, void *st, const sim_req *rq, sim_resp *rs)
{
    ((sim_targon_state *)st)->api = 3; /* not org-scoped (libs/go/inventory.go) */
    sim_targon_inventory(s, st, rq, rs);
}

#define WL2 "/tha/v2/workloads"
#define WL3 "/tha/v3/orgs/:org/workloads"
#define KEY2 "/tha/v2/ssh-keys"
#define KEY3 "/tha/v3/orgs/:org/ssh-keys"
static const sim_route ROUTES[] = {
    /* v2: docs.targon.com/api/workloads, /api/ssh-keys, /api/inventory (no suspend in v2) */
    {"POST", WL2, create_2},
    {"GET", WL2, list_2},
    {"POST", WL2 "/verify", verify_2},
    {"GET", WL2 "/:uid", get_2},
    {"PATCH", WL2 "/:uid", patch_2},
    {"DELETE", WL2 "/:uid", delete_2},
    {"POST", WL2 "/:uid/deploy", deploy_2},
    {"GET", WL2 "/:uid/state", get_state_2},
    {"GET", WL2 "/:uid/events", events_2},
    {"GET", WL2 "/:uid/logs", logs_2},
    {"PUT", WL2 "/:uid/volumes/:vol", vol_put_2},
    {"DELETE", WL2 "/:uid/volumes/:vol", vol_del_2},
    {"PUT", WL2 "/:uid/ssh-keys/:key", key_put_2},
    {"DELETE", WL2 "/:uid/ssh-keys/:key", key_del_2},
    {"POST", KEY2, keys_create_2},
    {"GET", KEY2, keys_list_2},
    {"GET", KEY2 "/:key", keys_get_2},
    {"DELETE", KEY2 "/:key", keys_delete_2},
    {"GET", "/tha/v2/inventory", inventory_2},
    /* v3: targon-sdk libs/go (workload.go, ssh_key.go, org.go, inventory.go) */
    {"GET", "/tha/v3/orgs", sim_targon_orgs},
    {"GET", "/tha/v3/orgs/:org", sim_targon_org_get},
    {"POST", WL3, create_3},
    {"GET", WL3, list_3},
    {"POST", WL3 "/verify", verify_3},
    {"GET", WL3 "/:uid", get_3},
    {"PATCH", WL3 "/:uid", patch_3},
    {"DELETE", WL3 "/:uid", delete_3},
    {"POST", WL3 "/:uid/deploy", deploy_3},
    {"POST", WL3 "/:uid/suspend", suspend_3},
    {"GET", WL3 "/:uid/state", get_state_3},
    {"GET", WL3 "/:uid/events", events_3},
    {"GET", WL3 "/:uid/logs", logs_3},
    {"PUT", WL3 "/:uid/volumes/:vol", vol_put_3},
    {"DELETE", WL3 "/:uid/volumes/:vol", vol_del_3},
    {"PUT", WL3 "/:uid/ssh-keys/:key", key_put_3},
    {"DELETE", WL3 "/:uid/ssh-keys/:key", key_del_3},
    {"POST", KEY3, keys_create_3},
    {"GET", KEY3, keys_list_3},
    {"GET", KEY3 "/:key", keys_get_3},
    {"DELETE", KEY3 "/:key", keys_delete_3},
    {"GET", "/tha/v3/inventory", inventory_v3},
};

static const sim_platform PLATFORM = {
    .name = "targon",
    .routes = ROUTES,
    .nroutes = sizeof(ROUTES) / sizeof(ROUTES[0]),
    .state_new = sim_targon_state_new,
    .state_free = sim_targon_state_free,
    .tick = sim_targon_tick,
    .auth = sim_targon_auth,
    .error = sim_targon_error,
    .capacity_error = sim_targon_capacity,
    .dump = sim_targon_dump,
    .workloads = sim_targon_workloads,
    .api_path = "",
    /* no settings: the sandbox registers Targon as a new provider would be, on v3 with the
     * organization found through GET /tha/v3/orgs */
    .sandbox_settings = NULL,
};

const sim_platform *sim_platform_targon(void)
{
    return &PLATFORM;
}
