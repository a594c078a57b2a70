/* support_daemon.h: end-to-end test support: start the real gpubroker binary (sandbox or
 * serve) on a free loopback port in a temporary directory, talk HTTP to it, run CLI
 * commands, and stop or kill it. */
#ifndef GB_SUPPORT_DAEMON_H
#define GB_SUPPORT_DAEMON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/db.h"
#include "common/dbq.h"
#include "common/http_client.h"

typedef struct {
    pid_t pid;
    char dir[256];      /* temporary data directory */
    char log_path[320]; /* the daemon's stderr */
    char url[128];
    char key[96];         /* GPUBROKER_API_KEY printed by the sandbox */
    char admin_key[96];   /* GPUBROKER_ADMIN_API_KEY */
    char sim_name[8][16]; /* from SIM_<NAME>_URL lines, lower-cased */
    char sim_url[8][128];
    int nsims;
} e2e_daemon;

typedef struct {
    long status;
    char *body;
    char *headers;
    cJSON *json; /* parsed body or NULL */
} e2e_resp;

/* A fresh temporary directory (mkdtemp) into out. */
void e2e_tmpdir(char *out, size_t n);
/* Starts `gpubroker sandbox --port 0 --data-dir <dir>` with extra environment entries
 * ("NAME=value", NULL-terminated, may be NULL); waits for its lines. dir may be NULL for a
 * fresh temporary one. Fails the test if it does not come up within 15 s. */
void e2e_start_sandbox(e2e_daemon *d, const char *dir, const char *const *env);
/* Starts the gpubroker binary with args (NULL-terminated, without "gpubroker") and extra
 * env in d->dir (which the caller set, or a fresh temp dir); waits up to 15 s for a line
 * "GPUBROKER_URL=..." or "... serving on URL" on its stdout and fills d->url. Lines
 * GPUBROKER_API_KEY= / GPUBROKER_ADMIN_API_KEY= fill the keys. */
void e2e_start(e2e_daemon *d, const char *const *args, const char *const *env);
/* e2e_start_sandbox with extra sandbox arguments (NULL-terminated, e.g. "--sim-speed", "100"). */
void e2e_start_sandbox_args(e2e_daemon *d, const char *dir, const char *const *env,
                            const char *const *extra);
/* The SIM_<NAME>_URL the sandbox printed for provider name, or fails the test. */
const char *e2e_sim_url(const e2e_daemon *d, const char *name);
/* A machine id (`provider:offer`) of provider with free GPUs, from GET /api/volt/machines
 * with d's user key; its GPU count into *gpus (may be NULL). Fails the test when none. */
void e2e_machine_of(const e2e_daemon *d, const char *provider, char *out, size_t n, int *gpus);
/* The same view from the simulator at sim_url (a standalone one, say). */
cJSON *e2e_sim_workloads_at(const char *sim_url);
/* The far side: the simulator's own view of what exists at provider (GET <sim>/_sim/workloads,
 * an array of {id, name, status, image, ssh_keys, registry_username}); caller deletes it. */
cJSON *e2e_sim_workloads(const e2e_daemon *d, const char *provider);
/* The far side's request log: how many requests of method ("POST", ...) provider's simulator
 * served since its counts were last cleared (GET <sim>/_sim/requests, by_route). */
int e2e_sim_requests(const e2e_daemon *d, const char *provider, const char *method);
/* The far side's whole record: GET <provider's simulator>/_sim/state, parsed (caller deletes). */
cJSON *e2e_sim_state(const e2e_daemon *d, const char *provider);
/* How many workloads exist at provider's simulator now; with id, how many have that id. */
int e2e_sim_count(const e2e_daemon *d, const char *provider, const char *id);
/* Polls GET /api/volt/pods/ID (as key) until its status is want, for at most timeout_ms;
 * fails the test with the last status otherwise. */
void e2e_wait_pod(const e2e_daemon *d, const char *key, const char *id, const char *want,
                  int timeout_ms);
/* Polls the pod until its create intent placed it (provider_id set) and copies that id into
 * pid (pn bytes); fails the test after timeout_ms or when the pod fails. */
void e2e_wait_placed(const e2e_daemon *d, const char *key, const char *id, char *pid, size_t pn,
                     int timeout_ms);
/* 1 when the pod's events include one of type (and, when contains is set, whose message
 * contains it). */
int e2e_pod_event(const e2e_daemon *d, const char *key, const char *id, const char *type,
                  const char *contains);
/* Starts a standalone `gpubroker sim --provider provider --secret secret` on a free port into
 * sim (it outlives a daemon's kill -9). */
void e2e_start_sim(e2e_daemon *sim, const char *provider, const char *secret);
/* A request to a standalone simulator with its secret as X-API-Key; the status, and its body
 * into *out (caller frees) when out is set. */
long e2e_sim_req(const e2e_daemon *sim, const char *secret, const char *method, const char *path,
                 const char *body, char **out);
/* Creates a workload named name directly at a standalone Volt simulator (behind gpubroker's
 * back) on machine (a "provider:offer" id or a bare one); its id into id (n bytes). */
void e2e_sim_volt_create(const e2e_daemon *sim, const char *secret, const char *machine,
                         const char *name, char *id, size_t n);
/* Requests a standalone simulator has served on route ("POST /api/volt/pods"). */
long e2e_sim_served(const e2e_daemon *sim, const char *secret, const char *route);
/* The standalone simulator's request log (GET /_sim/requests, docs/simulators.md) as JSON:
 * {count, connections, by_route, request_ids}; the caller deletes it. */
cJSON *e2e_sim_request_log(const e2e_daemon *sim, const char *secret);
/* Registers the standalone simulator as provider name of kind at d (settings: a JSON object
 * text or NULL); fails the test unless it answers 201. */
void e2e_register_sim(const e2e_daemon *d, const e2e_daemon *sim, const char *name,
                      const char *kind, const char *secret, const char *settings);
/* A canary: a loopback listener that only counts the connections it gets (a request that
 * should never be sent, e.g. to http://localhost:PORT, must leave it at 0). */
typedef struct e2e_canary e2e_canary;
e2e_canary *e2e_canary_start(int *port);
int e2e_canary_count(e2e_canary *c);
void e2e_canary_stop(e2e_canary *c);
/* SIGTERM and wait; asserts a clean exit (status 0). */
void e2e_stop(e2e_daemon *d);
/* SIGKILL and wait. */
void e2e_kill9(e2e_daemon *d);
/* fork(2) for a helper process a test starts (a webhook receiver): the child is killed when
 * the test process ends, even by a failed assertion that skips the test's own kill, so no
 * helper outlives its test holding a descriptor ctest waits on. Returns as fork does. */
pid_t e2e_fork(void);
/* Removes the temporary directory (kept, and named on stderr, when GB_E2E_KEEP is set). */
void e2e_cleanup(e2e_daemon *d);

/* One request; key may be NULL (no auth header). Fails the test when no response comes. */
void e2e_req(const e2e_daemon *d, const char *method, const char *path, const char *key,
             const char *body, e2e_resp *out);
/* Same with extra headers (NULL-terminated "Name: value" list). */
void e2e_req_h(const e2e_daemon *d, const char *method, const char *path,
               const char *const *headers, const char *body, e2e_resp *out);
void e2e_resp_free(e2e_resp *r);
/* Asserts a Volt error body with this status and code. */
void e2e_expect_error(const e2e_resp *r, long status, const char *code);
/* Value of a response header or NULL (static buffer). */
const char *e2e_header(const e2e_resp *r, const char *name);
/* A string field of the JSON body (or of a nested object by "a.b"), NULL if absent. */
const char *e2e_str(const e2e_resp *r, const char *path);

/* Runs the gpubroker binary with args (NULL-terminated), extra env, optional stdin text;
 * returns the exit status and the captured stdout/stderr (malloc'd, caller frees). */
int e2e_cli(const char *const *args, const char *const *env, const char *stdin_text, char **out,
            char **err);

/* ---- the daemon's database, on whichever backend this run uses ---- */
/* A text fine-tuning job's body for POST /api/volt/fine-tuning (the sandbox's Hub simulator
 * knows its model and dataset), named name; into out. */
void e2e_text_job(const char *name, char *out, size_t n);
/* POST of a JSON body to base_url + path with the key (Authorization: Bearer), for threads:
 * no cmocka assertion, the transport's error returned (GB_OK: *out has the answer, freed by
 * the caller with gb_http_resp_free). */
gb_err e2e_post_raw(const char *base_url, const char *path, const char *key, const char *body,
                    int timeout_ms, gb_http_resp *out);

/* The value of series (a name with its labels, as /metrics prints it) in Prometheus text;
 * -1 when absent. */
double e2e_metric(const char *text, const char *series);

/* 1 in the PostgreSQL variant (ctest e2e.<name>.postgresql: GB_E2E_DB_URL_FILE is set). */
int e2e_db_is_pg(void);
/* The database of the daemon started in dir: dir/gpubroker.db on SQLite, on PostgreSQL the
 * database this file's daemons got for dir (see pg_env_for_dir). Fails the test when it cannot
 * be opened; close it with gb_db_close. Statements: gb_q_* (common/dbq.h), placeholders ?N. */
gb_db *e2e_db_open_dir(const char *dir);
gb_db *e2e_db_open(const e2e_daemon *d);
/* "GPUBROKER_STORAGE_DATABASE=<url>" of that database into out on PostgreSQL (for a command
 * that is not given it by itself: one without --config), returning 1; 0 on SQLite. */
int e2e_db_env(const char *dir, char *out, size_t n);
/* The first column of sql's first row as an integer, with the text arguments a1, a2 (each
 * bound as ?1, ?2 when not NULL); *found (may be NULL) 0 when there is no row (then 0 is
 * returned; without found, no row fails the test). A statement error fails the test. */
int64_t e2e_db_int(gb_db *db, const char *sql, const char *a1, const char *a2, int *found);

/* Makes a fresh ed25519 key (ssh-keygen, in d's directory) and adds it to the account of the
 * API key `key` (POST /api/volt/ssh-keys, which must answer 201): its id into kid, its public
 * key line into pub unless pub is NULL. Lium needs one on every pod. */
void e2e_add_ssh_key(const e2e_daemon *d, const char *key, char *kid, size_t kn, char *pub,
                     size_t pn);
/* Reads a whole file (NULL if missing); *len gets its size. */
char *e2e_slurp(const char *path, size_t *len);
/* True if needle occurs in the file's bytes (binary safe). */
int e2e_file_contains(const char *path, const char *needle);

#endif
