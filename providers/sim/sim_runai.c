/* sim_runai.c: the NVIDIA Run:ai simulator (seed 003, workloads v2): the application token
 * endpoint and Bearer auth, the simulated cluster (2 nodes x 8 H100) and its scheduler, the
 * clock that moves workloads through their phases, Run:ai-style errors and the state dump.
 * Workload handlers are in sim_runai_wl.c, the manifest reader in sim_runai_yaml.c.
 *
 * Where the seed is silent, the simulator chooses (the adapter does the same):
 *  - POST /api/v1/token {"grantType":"client_credentials","clientID","clientSecret"} -> 200
 *    {"accessToken","expiresIn":300,"tokenType":"Bearer"}; the credentials are the simulator's
 *    secret "clientID:clientSecret"; tokens expire on the simulator clock. Other routes need
 *    "Authorization: Bearer <live token>", else 401.
 *  - Errors are {"code":N,"message":"..."}. Capacity: a workload whose GPUs do not fit stays
 *    Pending (phaseMessage says why) until GPUs are freed, as Run:ai's scheduler does; the
 *    capacity fault answers 409 "Insufficient capacity ..." (a quota refusal).
 *  - GET /api/v2/workloads?offset=&limit= lists workloads (an assumption: the seed has no
 *    list; gpubroker needs one to find a workload by name); PATCH /api/v2/workloads/{id}
 *    {"desiredPhase":"Running"|"Stopped"|"Deleted"} starts, stops or deletes one.
 *  - Projects "team-a" and "team-b"; metadata.clusterId, when given, must be SR_CLUSTER_ID. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ids.h"
#include "common/str.h"
#include "providers/sim/sim_runai_int.h"

static const char *const PROJECTS[] = {"team-a", "team-b"};

/* ---- errors ---- */

static void err_body(sim_resp *rs, int status, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddNumberToObject(j, "code", status);
        cJSON_AddStringToObject(j, "message", message);
    }
    sim_json(rs, status, j);
}

void sim_runai_err(sim_resp *rs, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) msg[0] = '\0';
    err_body(rs, status, msg);
}

static const char *standard_message(int status)
{
    switch (status) {
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 429:
        return "Too many requests, retry later";
    case 500:
        return "Internal server error";
    case 502:
        return "Bad gateway: the cluster did not answer";
    case 503:
        return "Service unavailable, retry later";
    case 504:
        return "Gateway timeout";
    default:
        return NULL;
    }
}

static void runai_error(sim_resp *rs, int status, const char *message)
{
    const char *std = standard_message(status);
    if (std && (!message || !message[0] || strcmp(message, "injected fault") == 0)) message = std;
    err_body(rs, status, message ? message : "");
}

static void runai_capacity_error(sim_resp *rs)
{
    err_body(rs, 409,
             "Insufficient capacity: the project's GPU quota and the node pool's free "
             "GPUs cannot hold this workload (over-quota is disabled)");
}

/* ---- the cluster ---- */

bool sim_runai_known_project(const char *p)
{
    for (size_t i = 0; p && i < GB_ARRAY_LEN(PROJECTS); i++)
        if (strcmp(p, PROJECTS[i]) == 0) return true;
    return false;
}

int sim_runai_held(const sr_workload *w)
{
    int n = 0;
    for (int i = 0; i < SR_NODES; i++)
        n += w->held[i];
    return n;
}

bool sim_runai_alloc(sr_state *st, sr_workload *w)
{
    int free_gpus[SR_NODES], take[SR_NODES] = {0};
    memcpy(free_gpus, st->node_free, sizeof(free_gpus));
    for (int r = 0; r < w->info.replicas && w->info.gpus_per_pod > 0; r++) {
        int best = -1; /* the fullest node the replica fits on */
        for (int i = 0; i < SR_NODES; i++)
            if (free_gpus[i] >= w->info.gpus_per_pod &&
                (best < 0 || free_gpus[i] < free_gpus[best]))
                best = i;
        if (best < 0) return false;
        free_gpus[best] -= w->info.gpus_per_pod;
        take[best] += w->info.gpus_per_pod;
    }
    for (int i = 0; i < SR_NODES; i++) {
        st->node_free[i] -= take[i];
        w->held[i] += take[i];
    }
    return true;
}

void sim_runai_release(sr_state *st, sr_workload *w, int64_t at)
{
    if (sim_runai_held(w) > 0 && at > st->freed_at) st->freed_at = at;
    for (int i = 0; i < SR_NODES; i++) {
        st->node_free[i] += w->held[i];
        w->held[i] = 0;
    }
}

/* ---- the clock ---- */

/* One timed transition of w if its time has come; true when it moved. */
static bool step(sr_state *st, sr_workload *w)
{
    int64_t t = w->until;
    if (w->gone || st->now < t) return false;
    switch (w->phase) {
    case SR_CREATING:
        w->phase = SR_PENDING;
        w->until = t + SR_PENDING_MS;
        return true;
    case SR_PENDING:
        if (!sim_runai_alloc(st, w)) return false;
        w->phase = SR_INITIALIZING;
        w->until = (st->freed_at > t ? st->freed_at : t) + SR_INITIALIZING_MS;
        return true;
    case SR_INITIALIZING:
        w->phase = SR_RUNNING;
        return true;
    case SR_UPDATING: /* the new spec replaces the old one: its GPUs are placed again */
    case SR_RESUMING:
        sim_runai_release(st, w, t);
        w->phase = sim_runai_alloc(st, w) ? SR_RUNNING : SR_PENDING;
        return true;
    case SR_STOPPING:
        sim_runai_release(st, w, t);
        w->phase = SR_STOPPED;
        if (w->want_running) {
            w->phase = SR_RESUMING;
            w->until = t + SR_RESUMING_MS;
        }
        return true;
    case SR_DELETING:
        sim_runai_release(st, w, t);
        w->gone = true;
        return true;
    default:
        return false;
    }
}

static void runai_tick(void *state, int64_t now_ms)
{
    sr_state *st = state;
    if (now_ms > st->now) st->now = now_ms;
    bool moved = true;
    for (int round = 0; moved && round < 32; round++) {
        moved = false;
        for (size_t i = 0; i < st->n; i++)
            moved |= step(st, st->wl[i]);
    }
    size_t k = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (st->wl[i]->gone)
            sim_runai_wl_free(st->wl[i]);
        else
            st->wl[k++] = st->wl[i];
    }
    st->n = k;
}

/* ---- tokens ---- */

static void token_issue(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sr_state *st = state;
    cJSON *b = sim_body(s, rq, rs);
    if (!b) return;
    const char *gt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "grantType"));
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "clientID"));
    const char *sec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "clientSecret"));
    char *pair = id && sec ? gb_asprintf("%s:%s", id, sec) : NULL;
    if (!gt || strcmp(gt, "client_credentials") != 0) {
        sim_runai_err(rs, 400, "grantType must be \"client_credentials\"");
    } else if (!id || !sec || !id[0] || !sec[0]) {
        sim_runai_err(rs, 400, "clientID and clientSecret are required");
    } else if (!pair || strcmp(pair, sim_secret(s)) != 0) {
        sim_runai_err(rs, 401, "Invalid client credentials");
    } else {
        size_t k = 0; /* drop expired tokens, then the oldest when full */
        for (size_t i = 0; i < st->ntokens; i++)
            if (st->tokens[i].expires_at > st->now) st->tokens[k++] = st->tokens[i];
        st->ntokens = k;
        if (st->ntokens == SR_MAX_TOKENS) {
            memmove(st->tokens, st->tokens + 1, (SR_MAX_TOKENS - 1) * sizeof(st->tokens[0]));
            st->ntokens--;
        }
        sr_token *t = &st->tokens[st->ntokens++];
        gb_random_base62(t->token, SR_TOKEN_CHARS);
        t->expires_at = st->now + SR_TOKEN_LIFE_S * INT64_C(1000);
        st->tokens_issued++;
        cJSON *j = cJSON_CreateObject();
        if (j) {
            cJSON_AddStringToObject(j, "accessToken", t->token);
            cJSON_AddNumberToObject(j, "expiresIn", SR_TOKEN_LIFE_S);
            cJSON_AddStringToObject(j, "tokenType", "Bearer");
        }
        sim_json(rs, 200, j);
    }
    if (pair) gb_memzero(pair, strlen(pair));
    free(pair);
    if (sec) gb_memzero((char *)sec, strlen(sec));
    cJSON_Delete(b);
}

static int runai_auth(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sr_state *st = state;
    int64_t now = sim_now(s);
    if (now > st->now) st->now = now;
    if (strcmp(rq->path, "/api/v1/token") == 0) return 0;
    const char *h = sim_header(rq, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        err_body(rs, 401, "Unauthorized: a Bearer access token is required (POST /api/v1/token)");
        return -1;
    }
    for (size_t i = 0; i < st->ntokens; i++) {
        if (strcmp(st->tokens[i].token, h + 7) != 0) continue;
        if (st->tokens[i].expires_at > st->now) return 0;
        err_body(rs, 401, "Unauthorized: the access token has expired");
        return -1;
    }
    err_body(rs, 401, "Unauthorized: invalid access token");
    return -1;
}

/* ---- state ---- */

static void *runai_state_new(sim_server *s)
{
    sr_state *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->srv = s;
    st->now = sim_now(s);
    for (int i = 0; i < SR_NODES; i++)
        st->node_free[i] = SR_GPUS_PER_NODE;
    return st;
}

static void runai_state_free(void *state)
{
    sr_state *st = state;
    if (!st) return;
    for (size_t i = 0; i < st->n; i++)
        sim_runai_wl_free(st->wl[i]);
    free(st->wl);
    gb_memzero(st->tokens, sizeof(st->tokens));
    free(st);
}

static cJSON *runai_dump(void *state)
{
    sr_state *st = state;
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    int free_total = 0, live = 0;
    cJSON_AddStringToObject(j, "clusterId", SR_CLUSTER_ID);
    cJSON *nodes = cJSON_AddArrayToObject(j, "nodes");
    for (int i = 0; nodes && i < SR_NODES; i++) {
        cJSON *nd = cJSON_CreateObject();
        char name[16];
        snprintf(name, sizeof(name), "node-%d", i + 1);
        if (!nd || !cJSON_AddItemToArray(nodes, nd)) {
            cJSON_Delete(nd);
            break;
        }
        cJSON_AddStringToObject(nd, "name", name);
        cJSON_AddStringToObject(nd, "gpuType", "NVIDIA H100 80GB HBM3");
        cJSON_AddNumberToObject(nd, "gpus", SR_GPUS_PER_NODE);
        cJSON_AddNumberToObject(nd, "freeGPUs", st->node_free[i]);
        free_total += st->node_free[i];
    }
    for (size_t i = 0; i < st->ntokens; i++)
        live += st->tokens[i].expires_at > st->now;
    cJSON_AddNumberToObject(j, "freeGPUs", free_total);
    cJSON_AddItemToObject(j, "projects", cJSON_CreateStringArray(PROJECTS, 2));
    cJSON_AddNumberToObject(j, "tokensIssued", (double)st->tokens_issued);
    cJSON_AddNumberToObject(j, "liveTokens", live);
    cJSON_AddNumberToObject(j, "dryRuns", (double)st->dry_runs);
    cJSON *ws = cJSON_AddArrayToObject(j, "workloads");
    for (size_t i = 0; ws && i < st->n; i++)
        cJSON_AddItemToArray(ws, sim_runai_wl_json(st->wl[i], true));
    return j;
}

static const sim_route ROUTES[] = {
    {"POST", "/api/v1/token", token_issue},
    {"GET", "/api/v2/workloads", sim_runai_list},
    {"POST", "/api/v2/workloads", sim_runai_create},
    {"GET", "/api/v2/workloads/:id", sim_runai_get},
    {"PUT", "/api/v2/workloads/:id", sim_runai_put},
    {"PATCH", "/api/v2/workloads/:id", sim_runai_patch},
    {"DELETE", "/api/v2/workloads/:id", sim_runai_delete},
};

static const sim_platform RUNAI = {
    .name = "runai",
    .routes = ROUTES,
    .nroutes = GB_ARRAY_LEN(ROUTES),
    .state_new = runai_state_new,
    .state_free = runai_state_free,
    .tick = runai_tick,
    .auth = runai_auth,
    .error = runai_error,
    .capacity_error = runai_capacity_error,
    .dump = runai_dump,
    .api_path = "",
    .sandbox_settings = "{\"rate_per_gpu_hour\":\"1.80\",\"gpu_type\":\"H100\",\"gpu_vram_gb\":80,"
                        "\"gpus_per_node\":8,\"max_gpus\":16,\"location\":\"on-prem\","
                        "\"project\":\"team-a\",\"cluster_id\":\"" SR_CLUSTER_ID "\"}",
};

const sim_platform *sim_platform_runai(void)
{
    return &RUNAI;
}
