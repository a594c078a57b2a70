/* sim_internal.h: what the simulator framework's own files share (the server struct, fault
 * rules, request counters, the clock and the control endpoints). Platform modules use sim.h. */
#ifndef GB_SIM_INTERNAL_H
#define GB_SIM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "providers/sim/sim.h"

#define SIM_MAX_BODY ((size_t)4 << 20) /* larger request bodies get the platform's 413 */
#define SIM_MAX_FAULTS 256             /* rules kept at once (spent ones count too) */
#define SIM_MAX_ROUTE_KEYS 1024        /* distinct "METHOD pattern" counters */
#define SIM_MAX_RIDS 64                /* request ids kept for GET /_sim/requests */
#define SIM_MAX_LATENCY_MS 600000
#define SIM_MAX_SPEED 100000.0

/* One fault rule from POST /_sim/faults. */
typedef struct {
    int64_t id;
    char method[16];         /* "" or "*" = any method */
    char *path_prefix;       /* owned; NULL in the copies sim_faults_take hands out */
    int status;              /* 0 = none */
    int64_t count;           /* matching requests left; -1 = forever */
    int64_t latency_ms;      /* before the request is handled */
    int64_t answer_after_ms; /* after it is handled, before the answer: done, but late */
    int retry_after;         /* seconds; 0 = no header */
    bool drop_response;
    bool capacity_error;
    bool truncate_body;
    int64_t fired; /* how many requests it hit */
} sim_fault;

typedef struct {
    char *key; /* "GET /v1/items/:id" */
    int64_t n;
} sim_count;

struct sim_server {
    const sim_platform *p;
    void *state;
    char *secret;
    struct MHD_Daemon *d;
    uint16_t port;
    pthread_mutex_t lock; /* the platform state: auth, tick, handlers, dump */
    pthread_mutex_t meta; /* everything below; never taken before lock */
    pthread_cond_t wake;  /* broadcast by sim_stop to cut latency sleeps short */
    bool stopping;
    /* clock: now = base_sim + (mono_us - base_mono_us) * speed / 1000 */
    int64_t clk_base_sim;
    int64_t clk_base_mono_us;
    double clk_speed;
    /* fault rules, in the order they were added */
    sim_fault *faults;
    size_t nfaults;
    int64_t next_fault_id;
    /* request counters (control endpoints are not counted) */
    sim_count *counts;
    size_t ncounts;
    int64_t total;
    int64_t connections; /* TCP connections accepted (a client's keep-alive shows here) */
    /* the X-Request-Id of the last SIM_MAX_RIDS counted requests that had one (a ring) */
    char rids[SIM_MAX_RIDS][129];
    size_t nrids;
};

/* Clock (sim_util.c). Each takes meta. */
void sim_clock_init(sim_server *s);
void sim_clock_advance(sim_server *s, int64_t ms);
/* Rebases so the clock stays continuous, then runs at speed (0 < speed <= SIM_MAX_SPEED). */
void sim_clock_set_speed(sim_server *s, double speed);
double sim_clock_speed(sim_server *s);
/* Sleeps ms of real time; returns false at once when the server is stopping. */
bool sim_sleep_ms(sim_server *s, int64_t ms);

/* Fault rules and counters (sim_faults.c). Each takes meta. */
/* Finds the first live rule for method and path, spends one of its count and copies it to
 * *out (path_prefix NULL). Returns false when no rule matches. */
bool sim_faults_take(sim_server *s, const char *method, const char *path, sim_fault *out);
void sim_faults_clear(sim_server *s);
/* rid: the request's X-Request-Id or NULL (kept for GET /_sim/requests). */
void sim_count_request(sim_server *s, const char *key, const char *rid);
/* Frees rules and counters (at stop). */
void sim_faults_free(sim_server *s);

/* The simulated trainers (sim_trainer.c). */
void sim_trainers_stop_all(sim_server *s);
void sim_trainer_control(sim_server *s, const sim_req *rq, sim_resp *rs);
/* Serves GET /_trainer/<workload id>: the trainer's state (docs/fine-tuning.md, the trainer
 * protocol), 404 when no trainer runs there. */
void sim_trainer_state(sim_server *s, const sim_req *rq, sim_resp *rs);

/* Serves a /_sim/... request (sim_faults.c); too_large when the body was over the limit. */
void sim_control(sim_server *s, const sim_req *rq, bool too_large, sim_resp *rs);

#endif
