/* sim_primus.c: the AMD Primus-SaFE workloads API simulator: routes under /api/v1,
 * login and API-key auth, workspaces with GPU capacity, the scheduler that moves workloads
 * through their phases on the simulator clock, Primus-format errors and the state dump.
 *
 * Where the seed is silent, the simulator follows the real service (AMD-AGI/Primus-SaFE): auth:
 * POST /api/v1/login {"type":"default","name","password"} -> {..., "token", "expire"} when the
 * simulator's secret is "user:password", any other secret (an "ak-" key or a plain token) is taken
 * as a Bearer key; errors are {"errorCode":"Primus.NNNNN", "errorMessage"}. Capacity: a workspace
 * has a fixed number of GPUs; a workload that does not fit waits in Pending (message and
 * schedulerOrder say why, strict FIFO by priority then age); one larger than the whole workspace is
 * refused with 503 Primus.00008 (QuotaInsufficient). Phases: dispatched workloads become Running 20
 * s later (NotReady first while a readiness probe's initialDelaySeconds runs); a PyTorchJob
 * Succeeds after PRIMUS_SIM_RUN_SECONDS (env, default 300) or Fails at its timeout when that comes
 * first; other kinds Fail at their timeout; a PATCH of a running workload's spec shows Updating for
 * 10 s. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_primus_int.h"

const char *const SIM_PRIMUS_PHASES[] = {"Pending",   "Running", "Updating", "NotReady",
                                         "Succeeded", "Failed",  "Stopped"};

/* ---- errors ---- */

void sim_primus_err(sim_resp *rs, int status, const char *code, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) msg[0] = '\0';
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "errorCode", code);
        cJSON_AddStringToObject(j, "errorMessage", msg);
    }
    sim_json(rs, status, j);
}

/* The framework's hook (faults, bad JSON, unknown routes). */
static void primus_error(sim_resp *rs, int status, const char *message)
{
    const char *code = status >= 500 ? SP_E_INTERNAL : SP_E_BAD_REQUEST;
    bool injected = !message || !message[0] || strcmp(message, "injected fault") == 0;
    const char *std = NULL;
    switch (status) {
    case 401:
        code = SP_E_UNAUTHORIZED;
        std = "token not present";
        break;
    case 403:
        code = SP_E_FORBIDDEN;
        std = "The user is not allowed to access this resource";
        break;
    case 404:
        code = SP_E_NOT_FOUND;
        std = "Not found.";
        break;
    case 409:
        code = SP_E_PROCESSING;
        std = "The resource is being processed.";
        break;
    case 413:
        code = SP_E_TOO_LARGE;
        break;
    case 429:
        code = SP_E_INTERNAL;
        std = "Too many requests, please retry later.";
        break;
    case 500:
        std = "Internal error. injected fault";
        break;
    case 502:
        std = "Bad gateway: the Primus-SaFE API server is unavailable.";
        break;
    case 503:
        std = "Service unavailable, please retry later.";
        break;
    case 504:
        std = "Gateway timeout: the Primus-SaFE API server did not answer in time.";
        break;
    default:
        break;
    }
    if (injected && std) message = std;
    /* an unknown route (gin NoRoute, no 405s): 404 Primus.00005 "<uri> not found"
     * (SaFE/apiserver/pkg/handlers/handlers.go) */
    const char *route = message ? strstr(message, "no route for ") : NULL;
    if (!route && (status == 405) && message) route = message;
    if (route || status == 405) {
        const char *sp = message ? strchr(message, '/') : NULL;
        char path[300];
        size_t k = 0;
        for (; sp && sp[k] && sp[k] != ' ' && k + 1 < sizeof(path); k++)
            path[k] = sp[k];
        path[k] = '\0';
        sim_primus_err(rs, 404, SP_E_NOT_FOUND, "%s not found", path);
        return;
    }
    if (status == 400 && message && strncmp(message, "Bad request.", 12) != 0) {
        sim_primus_err(rs, status, code, "Bad request. %s", message);
        return;
    }
    sim_primus_err(rs, status, code, "%s", message ? message : "");
}

/* QuotaInsufficient, as the real service answers it (503). */
static void primus_capacity_error(sim_resp *rs)
{
    sim_primus_err(rs, 503, SP_E_QUOTA,
                   "Insufficient resource quota: the workspace does not have enough GPUs for "
                   "this workload");
}

/* ---- helpers shared by the handlers ---- */

int sim_primus_ws_find(const sp_state *st, const char *id)
{
    for (int i = 0; id && i < st->nws; i++)
        if (strcmp(st->ws[i].id, id) == 0) return i;
    return -1;
}

sp_wl *sim_primus_wl_find(sp_state *st, const char *id)
{
    for (size_t i = 0; id && i < st->nwls; i++)
        if (strcmp(st->wls[i]->id, id) == 0) return st->wls[i];
    return NULL;
}

void sim_primus_cond(sp_wl *w, int64_t at, const char *type, const char *reason,
                     const char *message)
{
    if (w->nconds == SP_MAX_CONDS) {
        memmove(&w->conds[0], &w->conds[1], sizeof(w->conds[0]) * (SP_MAX_CONDS - 1));
        w->nconds--;
    }
    sp_cond *c = &w->conds[w->nconds++];
    memset(c, 0, sizeof(*c));
    gb_strlcpy(c->type, type, sizeof(c->type));
    gb_strlcpy(c->status, "True", sizeof(c->status));
    gb_strlcpy(c->reason, reason, sizeof(c->reason));
    gb_strlcpy(c->message, message ? message : "", sizeof(c->message));
    c->at = at;
}

void sim_primus_release(sp_state *st, sp_wl *w, int64_t at)
{
    if (!w->holds) return;
    sp_workspace *ws = &st->ws[w->ws];
    ws->used_gpus -= w->held;
    if (ws->used_gpus < 0) ws->used_gpus = 0;
    if (at > ws->freed_at) ws->freed_at = at;
    w->holds = false;
    w->held = 0;
}

sp_wl *sim_primus_wl_new(sp_state *st)
{
    if (st->nwls >= SP_MAX_WORKLOADS) return NULL;
    if (st->nwls == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 64;
        sp_wl **nw = realloc(st->wls, nc * sizeof(*nw));
        if (!nw) return NULL;
        st->wls = nw;
        st->cap = nc;
    }
    sp_wl *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->seq = ++st->next_seq;
    st->wls[st->nwls++] = w;
    return w;
}

void sim_primus_wl_free(sp_wl *w)
{
    if (!w) return;
    cJSON *owned[] = {w->resources,  w->images,    w->entry_points, w->env,  w->labels,
                      w->liveness,   w->readiness, w->service,      w->deps, w->cron,
                      w->nodes_spec, w->excluded,  w->secrets};
    for (size_t i = 0; i < GB_ARRAY_LEN(owned); i++)
        cJSON_Delete(owned[i]);
    free(w);
}

void sim_primus_wl_remove(sp_state *st, sp_wl *w)
{
    for (size_t i = 0; i < st->nwls; i++) {
        if (st->wls[i] != w) continue;
        memmove(&st->wls[i], &st->wls[i + 1], (st->nwls - i - 1) * sizeof(st->wls[0]));
        st->nwls--;
        sim_primus_wl_free(w);
        return;
    }
}

void sim_primus_make_id(const char *display, char *id, size_t n)
{
    char base[48];
    size_t k = 0;
    for (const char *p = display; *p && k + 1 < sizeof(base) - 8; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) c = '-';
        if (c == '-' && (k == 0 || base[k - 1] == '-')) continue;
        base[k++] = c;
    }
    while (k && base[k - 1] == '-')
        k--;
    base[k] = '\0';
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[5];
    char suf[6];
    gb_random_bytes(r, sizeof(r));
    for (int i = 0; i < 5; i++)
        suf[i] = alnum[r[i] % 36];
    suf[5] = '\0';
    snprintf(id, n, "%s%s%s", k ? base : "workload", "-", suf);
}

void sim_primus_time(int64_t ms, char *buf, size_t n)
{
    if (!ms) {
        gb_strlcpy(buf, "", n);
        return;
    }
    char t[32];
    gb_time_format(ms, t, sizeof(t)); /* "2026-03-28T14:00:00Z" */
    size_t l = strlen(t);
    if (l && t[l - 1] == 'Z') t[l - 1] = '\0';
    gb_strlcpy(buf, t, n);
}

/* ---- the scheduler clock ---- */

static int64_t env_run_ms(const sp_wl *w)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(w->env, "PRIMUS_SIM_RUN_SECONDS");
    int64_t s = SP_DEFAULT_RUN_S;
    if (cJSON_IsString(v) && gb_parse_i64(v->valuestring, 0, INT64_C(315360000), &s) != 0)
        s = SP_DEFAULT_RUN_S;
    return s * 1000;
}

static bool is_service(const sp_wl *w)
{
    return strcmp(w->kind, "Deployment") == 0 || strcmp(w->kind, "StatefulSet") == 0;
}

/* Moves one dispatched workload along; true when something changed. */
static bool advance(sp_state *st, sp_wl *w)
{
    int64_t now = st->now;
    if (w->phase == SP_PENDING && w->dispatched && now >= w->dispatched + SP_DISPATCH_MS) {
        w->started = w->dispatched + SP_DISPATCH_MS;
        w->message[0] = '\0';
        int64_t delay = 600;
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(w->readiness, "initialDelaySeconds");
        if (cJSON_IsNumber(d)) delay = (int64_t)d->valuedouble;
        bool probe = is_service(w) && cJSON_IsObject(w->readiness);
        w->phase = probe ? SP_NOTREADY : SP_RUNNING;
        w->ready_at = probe ? w->started + delay * 1000 : 0;
        int64_t run = strcmp(w->kind, "PyTorchJob") == 0 ? env_run_ms(w) : 0;
        int64_t limit = w->timeout_s > 0 ? w->timeout_s * 1000 : 0;
        w->fails_at_finish = limit && (!run || limit < run);
        w->finish_at = w->fails_at_finish ? w->started + limit : run ? w->started + run : 0;
        sim_primus_cond(w, w->started, "K8sRunning", "RunSucceeded", "the workload is running");
        return true;
    }
    if (w->phase == SP_NOTREADY && now >= w->ready_at &&
        (!w->finish_at || w->ready_at < w->finish_at)) {
        w->phase = SP_RUNNING;
        sim_primus_cond(w, w->ready_at, "K8sReady", "ReadinessSucceeded", "all pods are ready");
        return true;
    }
    if (w->phase == SP_UPDATING && now >= w->update_until) {
        w->phase = SP_RUNNING;
        sim_primus_cond(w, w->update_until, "K8sUpdated", "UpdateSucceeded", "the update is done");
        return true;
    }
    if ((w->phase == SP_RUNNING || w->phase == SP_NOTREADY || w->phase == SP_UPDATING) &&
        w->finish_at && now >= w->finish_at) {
        w->phase = w->fails_at_finish ? SP_FAILED : SP_SUCCEEDED;
        w->ended = w->finish_at;
        if (w->fails_at_finish)
            snprintf(w->message, sizeof(w->message), "the workload timed out after %lld seconds",
                     (long long)w->timeout_s);
        sim_primus_cond(w, w->ended, w->fails_at_finish ? "K8sFailed" : "K8sSucceeded",
                        w->fails_at_finish ? "Timeout" : "Completed", w->message);
        sim_primus_release(st, w, w->ended);
        return true;
    }
    return false;
}

/* 1 = every dependency Succeeded, 0 = wait, -1 = one failed, stopped or is gone. */
static int deps_state(sp_state *st, const sp_wl *w, const char **bad)
{
    const cJSON *it;
    int r = 1;
    cJSON_ArrayForEach(it, w->deps)
    {
        sp_wl *d = cJSON_IsString(it) ? sim_primus_wl_find(st, it->valuestring) : NULL;
        if (!d || d->phase == SP_FAILED || d->phase == SP_STOPPED) {
            *bad = cJSON_IsString(it) ? it->valuestring : "?";
            return -1;
        }
        if (d->phase != SP_SUCCEEDED) r = 0;
    }
    return r;
}

static int queue_cmp(const void *a, const void *b)
{
    const sp_wl *x = *(const sp_wl *const *)a, *y = *(const sp_wl *const *)b;
    if (x->ws != y->ws) return x->ws - y->ws;
    if (x->priority != y->priority) return y->priority - x->priority;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The queue: pending workloads not yet dispatched, in scheduling order. *n gets its length;
 * NULL when empty (or out of memory). */
static sp_wl **queue(sp_state *st, size_t *n)
{
    *n = 0;
    sp_wl **q = st->nwls ? malloc(st->nwls * sizeof(*q)) : NULL;
    for (size_t i = 0; q && i < st->nwls; i++)
        if (st->wls[i]->phase == SP_PENDING && !st->wls[i]->dispatched) q[(*n)++] = st->wls[i];
    if (q && *n) qsort(q, *n, sizeof(*q), queue_cmp);
    return q;
}

/* Dispatches queued workloads that fit (strict FIFO per workspace); true when any moved. */
static bool dispatch(sp_state *st)
{
    size_t n;
    sp_wl **q = queue(st, &n);
    bool changed = false;
    int blocked = -1, order = 0;
    for (size_t i = 0; i < n; i++) {
        sp_wl *w = q[i];
        sp_workspace *ws = &st->ws[w->ws];
        const char *bad = NULL;
        int ds = deps_state(st, w, &bad);
        if (ds < 0) {
            w->phase = SP_FAILED;
            w->ended = st->now;
            snprintf(w->message, sizeof(w->message), "the dependency %.80s did not succeed", bad);
            sim_primus_cond(w, st->now, "K8sFailed", "DependencyFailed", w->message);
            changed = true;
            continue;
        }
        if (ds == 0) {
            gb_strlcpy(w->message, "waiting for the dependencies to succeed", sizeof(w->message));
            continue;
        }
        if (w->ws != blocked) order = 0;
        int need = w->gpus;
        if (w->ws == blocked || ws->total_gpus - ws->used_gpus < need) {
            blocked = w->ws;
            w->queue_pos = ++order;
            snprintf(w->message, sizeof(w->message),
                     "Insufficient resources: %d GPUs requested, %d of %d free in workspace %s "
                     "(queue position %d)",
                     need, ws->total_gpus - ws->used_gpus, ws->total_gpus, ws->id, order);
            continue;
        }
        w->dispatched = w->created > ws->freed_at ? w->created : ws->freed_at;
        if (w->dispatched > st->now) w->dispatched = st->now;
        w->holds = true;
        w->held = need;
        w->queue_pos = 0;
        ws->used_gpus += need;
        w->dispatch_count++;
        w->node = ws->used_gpus / SP_GPUS_PER_NODE % (ws->nodes ? ws->nodes : 1);
        gb_strlcpy(w->message, "the workload is dispatched, pods are starting", sizeof(w->message));
        gb_id_new("", w->k8s_uid, sizeof(w->k8s_uid));
        sim_primus_cond(w, w->dispatched, "AdminDispatched", "DispatchSucceeded",
                        "the workload is dispatched to the cluster");
        changed = true;
    }
    free(q);
    return changed;
}

static void primus_tick(void *state, int64_t now_ms)
{
    sp_state *st = state;
    if (now_ms > st->now) st->now = now_ms;
    for (int round = 0; round < 256; round++) {
        bool changed = false;
        for (size_t i = 0; i < st->nwls; i++)
            changed |= advance(st, st->wls[i]);
        changed |= dispatch(st);
        if (!changed) break;
    }
}

/* ---- state ---- */

static void *primus_state_new(sim_server *s)
{
    sp_state *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->srv = s;
    st->now = sim_now(s);
    const char *secret = sim_secret(s), *colon = secret ? strchr(secret, ':') : NULL;
    st->login_mode = colon && colon != secret && strncmp(secret, "ak-", 3) != 0;
    if (st->login_mode) {
        size_t ul = (size_t)(colon - secret) + 1;
        gb_strlcpy(st->user, secret, ul < sizeof(st->user) ? ul : sizeof(st->user));
    } else {
        gb_strlcpy(st->user, "api-user", sizeof(st->user));
    }
    static const struct {
        const char *id;
        int nodes;
    } WS[] = {{"ws-sandbox", 4}, {"ws-research", 2}};
    int base = 1;
    for (size_t i = 0; i < GB_ARRAY_LEN(WS); i++) {
        sp_workspace *w = &st->ws[st->nws++];
        gb_strlcpy(w->id, WS[i].id, sizeof(w->id));
        w->nodes = WS[i].nodes;
        w->total_gpus = WS[i].nodes * SP_GPUS_PER_NODE;
        w->node_base = base;
        base += WS[i].nodes;
    }
    return st;
}

static void primus_state_free(void *state)
{
    sp_state *st = state;
    if (!st) return;
    for (size_t i = 0; i < st->nwls; i++)
        sim_primus_wl_free(st->wls[i]);
    free(st->wls);
    gb_memzero(st->tokens, sizeof(st->tokens));
    free(st);
}

static cJSON *primus_dump(void *state)
{
    sp_state *st = state;
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    int live = 0;
    for (int i = 0; i < st->ntokens; i++)
        live += st->tokens[i].expire > st->now;
    cJSON_AddStringToObject(j, "auth", st->login_mode ? "login" : "api_key");
    cJSON_AddStringToObject(j, "user", st->user);
    cJSON_AddNumberToObject(j, "logins", (double)st->logins);
    cJSON_AddNumberToObject(j, "live_tokens", live);
    cJSON_AddStringToObject(j, "clusterId", SP_CLUSTER);
    cJSON *wss = cJSON_AddArrayToObject(j, "workspaces");
    for (int i = 0; wss && i < st->nws; i++) {
        cJSON *w = cJSON_CreateObject();
        cJSON_AddStringToObject(w, "workspaceId", st->ws[i].id);
        cJSON_AddNumberToObject(w, "nodes", st->ws[i].nodes);
        cJSON_AddNumberToObject(w, "totalGpus", st->ws[i].total_gpus);
        cJSON_AddNumberToObject(w, "usedGpus", st->ws[i].used_gpus);
        cJSON_AddNumberToObject(w, "freeGpus", st->ws[i].total_gpus - st->ws[i].used_gpus);
        cJSON_AddItemToArray(wss, w);
    }
    cJSON *ws = cJSON_AddArrayToObject(j, "workloads");
    for (size_t i = 0; ws && i < st->nwls; i++) {
        const sp_wl *w = st->wls[i];
        cJSON *o = sim_primus_wl_json(st, w, true);
        char *cmd = o ? sim_primus_command(w) : NULL;
        if (o) {
            gb_json_add_str_or_null(o, "command", cmd);
            cJSON_AddNumberToObject(o, "gpus", w->gpus);
            cJSON_AddBoolToObject(o, "holdsGpus", w->holds);
        }
        free(cmd);
        cJSON_AddItemToArray(ws, o);
    }
    return j;
}

/* The workload routes of SaFE/apiserver/pkg/handlers/resources/routers.go (batch routes come
 * before ":id" routes of the same shape). There is no batch clone any more: it answers 404 like
 * every unknown route. */
static const sim_route ROUTES[] = {
    {"POST", "/api/v1/login", sim_primus_login},
    {"POST", "/api/v1/workloads", sim_primus_create},
    {"GET", "/api/v1/workloads", sim_primus_list},
    {"POST", "/api/v1/workloads/delete", sim_primus_batch_delete},
    {"POST", "/api/v1/workloads/stop", sim_primus_batch_stop},
    {"GET", "/api/v1/workloads/:id", sim_primus_get},
    {"PATCH", "/api/v1/workloads/:id", sim_primus_patch},
    {"DELETE", "/api/v1/workloads/:id", sim_primus_delete},
    {"POST", "/api/v1/workloads/:id/stop", sim_primus_stop},
    {"POST", "/api/v1/workloads/:id/resume", sim_primus_resume},
    {"GET", "/api/v1/workloads/:id/pods/:pod/logs", sim_primus_logs},
    {"GET", "/api/v1/workloads/:id/pods/:pod/containers", sim_primus_containers},
};

static const sim_platform PRIMUS = {
    .name = "primus",
    .routes = ROUTES,
    .nroutes = GB_ARRAY_LEN(ROUTES),
    .state_new = primus_state_new,
    .state_free = primus_state_free,
    .tick = primus_tick,
    .auth = sim_primus_auth,
    .error = primus_error,
    .capacity_error = primus_capacity_error,
    .dump = primus_dump,
    .workloads = sim_primus_workloads,
    .api_path = "",
    .sandbox_settings = "{\"rate_per_gpu_hour\":\"1.40\",\"gpu_type\":\"MI300X\","
                        "\"gpu_vram_gb\":192,\"gpus_per_node\":8,\"max_gpus\":32,"
                        "\"location\":\"on-prem\",\"workspace_id\":\"ws-sandbox\"}",
};

const sim_platform *sim_platform_primus(void)
{
    return &PRIMUS;
}
