/* sim_runai.c: the NVIDIA Run:ai simulator, following the public OpenAPI spec (repository
 * runai-professional-services/runapy, .generator/swagger.json, version 1.224.0): the simulated
 * cluster (2 nodes x 8 H100) and its scheduler, the clock that moves workloads through their
 * phases, the tenant's projects, Run:ai's error body {"code","message"} (schema Error) and the
 * state dump. Tokens are in sim_runai_auth.c, workloads v2 in sim_runai_wl.c, the v1 reads
 * in sim_runai_v1.c, the manifest reader in sim_runai_yaml.c.
 *
 * The routes are the spec's, and only those: GET /api/v2/workloads (no list in v2) and
 * PATCH /api/v2/workloads/{id} (no such operation) answer 405 as a server without them would.
 * Capacity: a workload whose GPUs do not fit stays Pending (phaseMessage says why) until GPUs
 * are freed, as Run:ai's scheduler does; the capacity fault answers 409 "Insufficient
 * capacity ..." (a quota refusal). Projects: "team-a" (id "1") and "team-b" (id "2"). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/str.h"
#include "providers/sim/sim_runai_int.h"

static const sr_project PROJECTS[] = {{"1", "team-a"}, {"2", "team-b"}};
static const char *const PHASE[] = {"Creating", "Pending",  "Initializing", "Running",
                                    "Updating", "Resuming", "Stopping",     "Stopped",
                                    "Deleting", "Failed",   "Completed"};

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

const sr_project *sim_runai_project(const char *id)
{
    for (size_t i = 0; id && i < GB_ARRAY_LEN(PROJECTS); i++)
        if (strcmp(id, PROJECTS[i].id) == 0) return &PROJECTS[i];
    return NULL;
}

const sr_project *sim_runai_projects(size_t *n)
{
    *n = GB_ARRAY_LEN(PROJECTS);
    return PROJECTS;
}

const char *sim_runai_phase_name(sr_phase p)
{
    return PHASE[p];
}

bool sim_runai_uuid(const char *s)
{
    if (!s || strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? c != '-' : !hex) return false;
    }
    return true;
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
    cJSON_AddNumberToObject(j, "tokensIssued", (double)st->tokens_issued);
    cJSON_AddNumberToObject(j, "liveTokens", live);
    cJSON *ws = cJSON_AddArrayToObject(j, "workloads");
    for (size_t i = 0; ws && i < st->n; i++)
        cJSON_AddItemToArray(ws, sim_runai_wl_dump(st->wl[i]));
    return j;
}

static const sim_route ROUTES[] = {
    {"POST", "/api/v1/token", sim_runai_token_v1},
    {"POST", "/api/v2/token", sim_runai_token_v2},
    {"GET", "/api/v1/org-unit/projects", sim_runai_projects_list},
    {"GET", "/api/v1/workloads", sim_runai_v1_list},
    {"GET", "/api/v1/workloads/:id", sim_runai_v1_get},
    {"POST", "/api/v2/workloads", sim_runai_create},
    {"GET", "/api/v2/workloads/:id", sim_runai_get},
    {"PUT", "/api/v2/workloads/:id", sim_runai_put},
    {"DELETE", "/api/v2/workloads/:id", sim_runai_delete},
};

static const sim_platform RUNAI = {
    .name = "runai",
    .routes = ROUTES,
    .nroutes = GB_ARRAY_LEN(ROUTES),
    .state_new = runai_state_new,
    .state_free = runai_state_free,
    .tick = runai_tick,
    .auth = sim_runai_auth,
    .error = runai_error,
    .capacity_error = runai_capacity_error,
    .dump = runai_dump,
    .workloads = sim_runai_workloads,
    .api_path = "",
    .sandbox_settings = "{\"rate_per_gpu_hour\":\"1.80\",\"gpu_type\":\"H100\",\"gpu_vram_gb\":80,"
                        "\"gpus_per_node\":8,\"max_gpus\":16,\"location\":\"on-prem\","
                        "\"project\":\"team-a\",\"cluster_id\":\"" SR_CLUSTER_ID "\"}",
};

const sim_platform *sim_platform_runai(void)
{
    return &RUNAI;
}
