/* sim.h: the simulator framework: a loopback HTTP server (libmicrohttpd) that serves one
 * platform's API from in-memory state, with a clock tests can speed up and fault injection.
 * Each platform module (sim_targon.c, ...) provides a sim_platform; it shares no code with
 * the adapter that talks to it. Simulators are test doubles and what `gpubroker sandbox` runs.
 *
 * Control endpoints every simulator serves (no auth):
 *   POST   /_sim/faults  {"method":"POST","path_prefix":"/tha/v2/workloads","status":502,
 *                         "count":2,"latency_ms":0,"answer_after_ms":0,"retry_after":1,
 *                         "drop_response":false,"capacity_error":false,"truncate_body":false}
 *          adds a rule; the next `count` matching requests (count -1 = all) get it.
 *          latency_ms waits before the request is handled, answer_after_ms after it (the
 *          work is done, the answer late: a create that succeeds after the caller's timeout).
 *   DELETE /_sim/faults  clears every rule.
 *   GET    /_sim/faults  lists the rules with their remaining counts.
 *   POST   /_sim/clock   {"advance_ms":N} and/or {"speed":X}: moves the simulator clock.
 *   GET    /_sim/state   the platform's whole state as JSON (for tests).
 *   GET    /_sim/requests  {"count":N, "by_route":{"POST /tha/v2/workloads":3,...}}
 *   POST   /_sim/trainer {"fail_next":N}: the next N simulated trainers fail half-way.
 *   POST   /_sim/prices {"percent":N}: the platform's listed prices become N % of the
 *          inventory's (100 restores them; a live price that moves between a broker's
 *          listing and its create); 501 for a platform that cannot.
 * And, outside the control namespace because a real trainer serves the same (the trainer
 * protocol of docs/fine-tuning.md):
 *   GET    /_trainer/<workload id>  the state of the trainer running in that workload.
 */
#ifndef GB_SIM_H
#define GB_SIM_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"

#define SIM_MAX_PARAMS 4

typedef struct sim_server sim_server;

typedef struct {
    const char *method;
    const char *path;
    const char *params[SIM_MAX_PARAMS]; /* ":x" segments of the matched pattern */
    int nparams;
    const char *body;
    size_t body_len;
    void *conn; /* opaque */
} sim_req;

typedef struct {
    int status;
    char *body;               /* malloc'd; NULL = empty */
    const char *content_type; /* default application/json */
    char retry_after[16];     /* "" = no header */
} sim_resp;

typedef struct sim_platform sim_platform;

/* A handler runs with the server's state lock held. */
typedef void (*sim_handler)(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);

typedef struct {
    const char *method;
    const char *pattern; /* "/tha/v2/workloads/:uid/deploy" */
    sim_handler fn;
} sim_route;

struct sim_platform {
    const char *name; /* "targon" */
    const sim_route *routes;
    size_t nroutes;
    /* New platform state (inventory, empty workloads). */
    void *(*state_new)(sim_server *s);
    void (*state_free)(void *state);
    /* Advances workloads to now_ms (the simulator clock); called before every request. */
    void (*tick)(void *state, int64_t now_ms);
    /* Checks the request's credentials as the platform does; returns 0 when allowed or fills
     * rs with the platform's 401 answer and returns -1. NULL = no auth. */
    int (*auth)(sim_server *s, void *state, const sim_req *rq, sim_resp *rs);
    /* Fills rs with the platform's error body for status and message. */
    void (*error)(sim_resp *rs, int status, const char *message);
    /* Fills rs with the platform's "no capacity" answer for this request. */
    void (*capacity_error)(sim_resp *rs);
    /* The whole state as JSON for GET /_sim/state. */
    cJSON *(*dump)(void *state);
    /* The far side in one shape for every platform, for GET /_sim/workloads: an array of
     * {id, name, status (the platform's own word), image, ssh_keys:[public key or key name],
     * registry_username (or null)} of the workloads that exist now (deleted ones left out).
     * Tests use it to check what really happened at the provider. */
    cJSON *(*workloads)(void *state);
    /* Lists its prices at percent % of the inventory's from now on (POST /_sim/prices); NULL
     * for a platform without the control. */
    void (*reprice)(void *state, int percent);
    /* Where the platform's API lives below the simulator's root ("" or "/api"): the base URL
     * an adapter is given is root + api_path. */
    const char *api_path;
    /* The provider settings (JSON object text, or NULL) the sandbox registers this simulator
     * with, e.g. the operator's rate for platforms whose API has no prices. */
    const char *sandbox_settings;
};

/* Starts the simulator of platform on 127.0.0.1:port (0 = any free port). secret is the
 * credential it accepts (API key, token or "clientID:clientSecret"), copied. */
gb_err sim_start(const sim_platform *p, uint16_t port, const char *secret, sim_server **out,
                 uint16_t *port_out);
void sim_stop(sim_server *s);
uint16_t sim_port(const sim_server *s);
const char *sim_secret(const sim_server *s);
/* The simulator clock in ms: starts at real time; speed and advances from /_sim/clock. */
int64_t sim_now(sim_server *s);
/* A request header (case-insensitive) or NULL; a query argument or NULL. */
const char *sim_header(const sim_req *rq, const char *name);
const char *sim_query(const sim_req *rq, const char *name);

/* Reply helpers (take ownership of body). */
void sim_json(sim_resp *rs, int status, cJSON *body);
/* Parses the request body as JSON; on failure fills rs with the platform's 400 and returns
 * NULL. */
cJSON *sim_body(sim_server *s, const sim_req *rq, sim_resp *rs);
void sim_error(sim_server *s, sim_resp *rs, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The simulated trainer (sim_trainer.c): a platform calls sim_trainer_start when one of its
 * workloads starts running (nothing happens unless image starts with SIM_TRAINER_IMAGE; env is
 * the workload's environment as {"K":"V"}, [{"name","value"}] or ["K=V"]) and
 * sim_trainer_stop when it stops or is deleted. */
#define SIM_TRAINER_IMAGE "gpubroker/sim-trainer"
void sim_trainer_start(sim_server *s, const char *workload, const char *image, const cJSON *env);
void sim_trainer_stop(sim_server *s, const char *workload);

/* The platforms, for sandbox and `gpubroker sim --provider NAME`. */
const sim_platform *sim_platform_targon(void);
const sim_platform *sim_platform_volt(void);
const sim_platform *sim_platform_lium(void);
const sim_platform *sim_platform_runai(void);
const sim_platform *sim_platform_primus(void);
const sim_platform *sim_platform_datarobot(void);
/* The Hugging Face Hub (sim_hub.c): no provider, so not among the names below; the sandbox
 * starts it apart and points jobs.hub_url at it. */
const sim_platform *sim_platform_hub(void);
/* By name ("targon"); NULL if unknown. */
const sim_platform *sim_platform_by_name(const char *name);
const char *const *sim_platform_names(void);

#endif
