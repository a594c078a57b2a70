/* sim_datarobot.c: the DataRobot Workload API simulator: routes under /api/v2 (every path ends
 * in "/", as documented), Bearer auth, DataRobot's error bodies, ids, JSON views, pagination,
 * state and its dump. Shares nothing with the adapter.
 *
 * The shapes follow the public sources named in tests/fixtures/wire/datarobot/SOURCES.md:
 *  - POST /workloads/ {name, description?, importance? (low|moderate|high|critical),
 *    artifactId | artifact{...}, runtime{containerGroups[...]}} -> 201 WorkloadFormatted;
 *    anything else in the body (the old settings{...}, tags) -> 422.
 *  - GET /workloads/?offset&limit[&search&status&importance] -> {count, next, previous,
 *    totalCount, data}; GET|PATCH|DELETE /workloads/{id}/; POST .../start/ and .../stop/
 *    (202 queued, 200 when already there; start of a running one: 409).
 *  - Errors: {"detail": "..."}; validation 422 {"detail":[{"path","message","code"}]};
 *    401 {"message":"Invalid API key"}; replica/GPU limit 403 {"detail":"Requested replicas
 *    (N) exceeds the maximum allowed (M)."}.
 *  - Statuses: submitted, provisioning, launching, running, stopping, stopped, errored,
 *    terminated, ... (datarobot-oss/cli internal/workload/workload.go).
 *  - The cluster has 16 GPUs: a create or start that does not fit answers the 403 above.
 *  - Deterministic faults by the container's environmentVars SIM_FAULT: "stuck-proton": the
 *    first DELETE while the protons are up answers 502 "please retry" and leaves the workload
 *    (its protons then stop); "fail-launch": launching ends in errored.
 *  - Events {id, timestamp, type Normal|Warning, reason, message, details{status}};
 *    statistics are synthetic (1 request/s per running replica). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ids.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_datarobot.h"
#include "providers/sim/sim_datarobot_int.h"

static const char *const STATUS[] = {
    "unknown", "submitted", "initializing", "provisioning", "launching", "running", "suspended",
    "warming", "draining",  "interrupted",  "stopping",     "stopped",   "errored", "terminated"};

const char *sim_datarobot_status_name(sdr_status s)
{
    return (unsigned)s < GB_ARRAY_LEN(STATUS) ? STATUS[s] : "unknown";
}

/* ---- errors ---- */

static void detail_body(sim_resp *rs, int status, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    if (j) cJSON_AddStringToObject(j, "detail", msg);
    sim_json(rs, status, j);
}

void sim_datarobot_err(sim_resp *rs, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) msg[0] = '\0';
    detail_body(rs, status, msg);
}

static void invalid_body(sim_resp *rs, const char *path, const char *code, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = j ? cJSON_AddArrayToObject(j, "detail") : NULL;
    cJSON *e = arr ? cJSON_CreateObject() : NULL;
    if (e && cJSON_AddItemToArray(arr, e)) {
        cJSON_AddStringToObject(e, "path", path);
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddStringToObject(e, "code", code);
    } else {
        cJSON_Delete(e);
    }
    sim_json(rs, 422, j);
}

void sim_datarobot_invalid(sim_resp *rs, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) msg[0] = '\0';
    invalid_body(rs, path, "invalid", msg);
}

int sim_datarobot_only_keys(const cJSON *j, const char *const *keys, const char *at, sim_resp *rs)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, j)
    {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k->string) != 0)
            i++;
        if (keys[i]) continue;
        char path[300];
        snprintf(path, sizeof(path), "%s%s%.100s", at, at[0] ? "." : "", k->string);
        invalid_body(rs, path, "extra_forbidden", "Extra inputs are not permitted");
        return -1;
    }
    return 0;
}

void sim_datarobot_limit(sim_resp *rs, int want, int max)
{
    sim_datarobot_err(rs, 403, "Requested replicas (%d) exceeds the maximum allowed (%d).", want,
                      max);
}

/* The framework's hook (faults, bad JSON, unknown routes): DataRobot's wording when the
 * fault gave no reason of its own. */
static void dr_error(sim_resp *rs, int status, const char *message)
{
    const char *std = NULL;
    switch (status) {
    case 429:
        std = "Too many requests: rate limit exceeded; retry after the Retry-After period";
        break;
    case 500:
        std = "Internal server error";
        break;
    case 502:
        std = "Bad gateway: the service is temporarily unavailable";
        break;
    case 503:
        std = "Service unavailable; retry later";
        break;
    case 504:
        std = "Gateway timeout";
        break;
    default:
        break;
    }
    if (std && (!message || !message[0] || strcmp(message, "injected fault") == 0)) message = std;
    detail_body(rs, status, message ? message : "");
}

static void dr_capacity_error(sim_resp *rs)
{
    sim_datarobot_limit(rs, 1, 0);
}

/* ---- ids, lookups, GPUs ---- */

void sim_datarobot_new_id(char out[SDR_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[SDR_ID_LEN / 2];
    gb_random_bytes(b, sizeof(b));
    for (size_t i = 0; i < sizeof(b); i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[SDR_ID_LEN] = '\0';
}

sdr_wl *sim_datarobot_find(sdr_state *st, const char *id, sim_resp *rs)
{
    for (size_t i = 0; id && i < st->n; i++)
        if (strcmp(st->wls[i]->id, id) == 0) return st->wls[i];
    sim_datarobot_err(rs, 404, "Workload not found");
    return NULL;
}

bool sim_datarobot_up(const sdr_wl *w)
{
    switch (w->status) {
    case SDR_SUBMITTED:
    case SDR_PROVISIONING:
    case SDR_LAUNCHING:
    case SDR_RUNNING:
    case SDR_STOPPING:
        return true;
    default:
        return false;
    }
}

int sim_datarobot_wl_gpus(const sdr_wl *w)
{
    return sim_datarobot_up(w) ? w->settings.replicas * w->settings.gpu : 0;
}

int sim_datarobot_free_gpus(const sdr_state *st)
{
    int used = 0;
    for (size_t i = 0; i < st->n; i++) {
        const sdr_wl *w = st->wls[i];
        int g = sim_datarobot_wl_gpus(w);
        if (w->replacing) {
            int ng = w->repl_settings.replicas * w->repl_settings.gpu;
            if (ng > g) g = ng; /* a replacement holds the larger of the two */
        }
        used += g;
    }
    return SDR_POOL_GPUS - used;
}

/* ---- JSON views ---- */

cJSON *sim_datarobot_proton_json(const sdr_wl *w, const sdr_proton *p)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "id", p->id);
    cJSON_AddStringToObject(j, "workloadId", w->id);
    cJSON_AddStringToObject(j, "role", p->candidate ? "candidate" : "active");
    cJSON_AddStringToObject(j, "status", sim_datarobot_status_name(p->status));
    cJSON_AddNumberToObject(j, "replicas", p->replicas);
    gb_json_add_time(j, "createdAt", p->created_at);
    gb_json_add_time(j, "snapshotAt", p->snapshot_at);
    return j;
}

static cJSON *replacement_view(const sdr_wl *w)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "id", w->repl_id);
    cJSON_AddStringToObject(j, "workloadId", w->id);
    cJSON_AddStringToObject(j, "candidateArtifactId", w->artifact_id);
    cJSON_AddStringToObject(j, "status", w->repl_state);
    cJSON_AddStringToObject(j, "strategy", "rolling");
    cJSON_AddItemToObject(j, "config", cJSON_CreateObject());
    cJSON_AddItemToObject(j, "runtime", sim_datarobot_runtime_json(&w->repl_settings));
    cJSON_AddNullToObject(j, "message");
    return j;
}

cJSON *sim_datarobot_wl_json(const sdr_state *st, const sdr_wl *w)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    char url[160];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u" SDR_API "/endpoints/workloads/%s/",
             (unsigned)sim_port(st->srv), w->id);
    cJSON_AddStringToObject(j, "id", w->id);
    cJSON_AddStringToObject(j, "name", w->name);
    cJSON_AddStringToObject(j, "description", w->description);
    cJSON_AddStringToObject(j, "status", sim_datarobot_status_name(w->status));
    cJSON_AddStringToObject(j, "importance", w->importance);
    cJSON_AddStringToObject(j, "type", "service");
    cJSON_AddStringToObject(j, "artifactId", w->artifact_id);
    cJSON_AddStringToObject(j, "endpoint", url);
    cJSON_AddItemToObject(j, "runtime", sim_datarobot_runtime_json(&w->settings));
    gb_json_add_str_or_null(j, "protonId", w->nprotons ? w->protons[0].id : NULL);
    if (w->replacing)
        cJSON_AddItemToObject(j, "replacement", replacement_view(w));
    else
        cJSON_AddNullToObject(j, "replacement");
    /* statusDetails is null until the platform has a snapshot (submitted, provisioning) */
    if (w->status == SDR_SUBMITTED || w->status == SDR_PROVISIONING) {
        cJSON_AddNullToObject(j, "statusDetails");
    } else {
        cJSON *sd = cJSON_AddObjectToObject(j, "statusDetails");
        cJSON *lt = sd ? cJSON_AddArrayToObject(sd, "logTail") : NULL;
        if (sd) cJSON_AddItemToObject(sd, "conditions", cJSON_CreateArray());
        if (lt && w->status_message[0])
            cJSON_AddItemToArray(lt, cJSON_CreateString(w->status_message));
    }
    gb_json_add_time(j, "createdAt", w->created_at);
    gb_json_add_time(j, "updatedAt", w->updated_at);
    return j;
}

/* ---- pagination ---- */

int sim_datarobot_page(const sim_req *rq, sim_resp *rs, int *offset, int *limit)
{
    const char *o = sim_query(rq, "offset"), *l = sim_query(rq, "limit");
    *offset = 0;
    *limit = 100;
    if (o && gb_parse_int(o, 0, 1000000, offset) != 0) {
        sim_datarobot_invalid(rs, "offset", "must be an integer between 0 and 1000000");
        return -1;
    }
    if (l && gb_parse_int(l, 1, 1000, limit) != 0) {
        sim_datarobot_invalid(rs, "limit", "must be an integer between 1 and 1000");
        return -1;
    }
    return 0;
}

static void add_link(cJSON *j, const char *key, sdr_state *st, const char *path, int offset,
                     int limit, bool present)
{
    if (!present) {
        cJSON_AddNullToObject(j, key);
        return;
    }
    char url[300];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s?offset=%d&limit=%d",
             (unsigned)sim_port(st->srv), path, offset, limit);
    cJSON_AddStringToObject(j, key, url);
}

cJSON *sim_datarobot_page_json(sdr_state *st, const char *path, cJSON *items, int offset, int limit,
                               int total)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !items) {
        cJSON_Delete(j);
        cJSON_Delete(items);
        return NULL;
    }
    cJSON_AddNumberToObject(j, "count", cJSON_GetArraySize(items));
    add_link(j, "next", st, path, offset + limit, limit, offset + limit < total);
    add_link(j, "previous", st, path, offset > limit ? offset - limit : 0, limit, offset > 0);
    cJSON_AddNumberToObject(j, "totalCount", total);
    cJSON_AddItemToObject(j, "data", items);
    return j;
}

/* ---- auth ---- */

static int dr_auth(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)state;
    const char *h = sim_header(rq, "Authorization");
    const char *secret = sim_secret(s);
    if (h && strncasecmp(h, "Bearer ", 7) == 0 && secret && secret[0]) {
        const char *tok = h + 7;
        while (*tok == ' ')
            tok++;
        if (strcmp(tok, secret) == 0) return 0;
    }
    cJSON *j = cJSON_CreateObject();
    if (j) cJSON_AddStringToObject(j, "message", "Invalid API key");
    sim_json(rs, 401, j);
    return -1;
}

/* ---- state ---- */

static void *dr_state_new(sim_server *s)
{
    sdr_state *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->srv = s;
    st->now = sim_now(s);
    return st;
}

static void dr_state_free(void *state)
{
    sdr_state *st = state;
    if (!st) return;
    for (size_t i = 0; i < st->n; i++)
        sim_datarobot_wl_free(st->wls[i]);
    free(st->wls);
    free(st);
}

static cJSON *wl_dump(const sdr_state *st, const sdr_wl *w)
{
    cJSON *j = sim_datarobot_wl_json(st, w);
    cJSON *ps = j ? cJSON_AddArrayToObject(j, "protons") : NULL;
    cJSON *es = j ? cJSON_AddArrayToObject(j, "events") : NULL;
    cJSON *rl = j ? cJSON_AddArrayToObject(j, "sharedRoles") : NULL;
    cJSON *rp = j ? cJSON_AddObjectToObject(j, "replacement") : NULL;
    if (!ps || !es || !rl || !rp) return j;
    for (int i = 0; i < w->nprotons; i++)
        cJSON_AddItemToArray(ps, sim_datarobot_proton_json(w, &w->protons[i]));
    for (int i = 0; i < w->nevents; i++) {
        cJSON *e = cJSON_CreateObject();
        if (!e) break;
        cJSON_AddStringToObject(e, "id", w->events[i].id);
        cJSON_AddStringToObject(e, "type", w->events[i].type);
        cJSON_AddStringToObject(e, "reason", w->events[i].reason);
        gb_json_add_str_or_null(e, "status", w->events[i].status[0] ? w->events[i].status : NULL);
        cJSON_AddStringToObject(e, "message", w->events[i].message);
        gb_json_add_time(e, "timestamp", w->events[i].at);
        cJSON_AddItemToArray(es, e);
    }
    for (int i = 0; i < w->nroles; i++) {
        cJSON *r = cJSON_CreateObject();
        if (!r) break;
        cJSON_AddStringToObject(r, "shareRecipientType", w->roles[i].type);
        cJSON_AddStringToObject(r, "id", w->roles[i].id);
        cJSON_AddStringToObject(r, "name", w->roles[i].name);
        cJSON_AddStringToObject(r, "role", w->roles[i].role);
        cJSON_AddItemToArray(rl, r);
    }
    gb_json_add_str_or_null(rp, "id", w->repl_id[0] ? w->repl_id : NULL);
    gb_json_add_str_or_null(rp, "status", w->repl_state[0] ? w->repl_state : NULL);
    if (w->replacing)
        cJSON_AddItemToObject(rp, "runtime", sim_datarobot_runtime_json(&w->repl_settings));
    cJSON_AddItemToObject(j, "artifact", sim_datarobot_artifact_json(w));
    cJSON_AddBoolToObject(j, "stuckProton", w->stuck_proton);
    cJSON_AddBoolToObject(j, "failLaunch", w->fail_launch);
    cJSON_AddNumberToObject(j, "gpusHeld", sim_datarobot_wl_gpus(w));
    cJSON_AddStringToObject(j, "operation",
                            w->op == SDR_OP_CREATE  ? "create"
                            : w->op == SDR_OP_START ? "start"
                            : w->op == SDR_OP_STOP  ? "stop"
                                                    : "none");
    gb_json_add_time(j, "runningSince", w->running_since);
    cJSON *runs = cJSON_AddArrayToObject(j, "runs");
    for (int i = 0; runs && i < w->nruns; i++) {
        cJSON *r = cJSON_CreateObject();
        if (!r) break;
        gb_json_add_time(r, "start", w->runs[i][0]);
        gb_json_add_time(r, "end", w->runs[i][1]);
        cJSON_AddItemToArray(runs, r);
    }
    return j;
}

static cJSON *dr_dump(void *state)
{
    sdr_state *st = state;
    cJSON *j = cJSON_CreateObject();
    cJSON *ws = j ? cJSON_AddArrayToObject(j, "workloads") : NULL;
    cJSON *del = j ? cJSON_AddArrayToObject(j, "deleted") : NULL;
    if (!ws || !del) return j;
    cJSON_AddNumberToObject(j, "poolGpus", SDR_POOL_GPUS);
    cJSON_AddNumberToObject(j, "freeGpus", sim_datarobot_free_gpus(st));
    for (size_t i = 0; i < st->n; i++)
        cJSON_AddItemToArray(ws, wl_dump(st, st->wls[i]));
    for (size_t i = 0; i < st->ndeleted; i++)
        cJSON_AddItemToArray(del, cJSON_CreateString(st->deleted[i]));
    return j;
}

#define W SDR_API "/workloads"
static const sim_route ROUTES[] = {
    {"GET", W "/", sim_datarobot_wl_list},
    {"POST", W "/", sim_datarobot_wl_create},
    {"GET", W "/stats/", sim_datarobot_stats_all},
    {"GET", W "/:id/", sim_datarobot_wl_get},
    {"PATCH", W "/:id/", sim_datarobot_wl_patch},
    {"DELETE", W "/:id/", sim_datarobot_wl_delete},
    {"POST", W "/:id/start/", sim_datarobot_wl_start},
    {"POST", W "/:id/stop/", sim_datarobot_wl_stop},
    {"GET", W "/:id/settings/", sim_datarobot_settings_get},
    {"PATCH", W "/:id/settings/", sim_datarobot_settings_patch},
    {"GET", W "/:id/sharedRoles/", sim_datarobot_roles_get},
    {"PATCH", W "/:id/sharedRoles/", sim_datarobot_roles_patch},
    {"GET", W "/:id/protons/", sim_datarobot_protons_list},
    {"GET", W "/:id/protons/:pid/", sim_datarobot_proton_get},
    {"GET", W "/:id/protons/:pid/statusDetails/", sim_datarobot_proton_details},
    {"GET", W "/:id/stats/", sim_datarobot_stats},
    {"DELETE", W "/:id/stats/", sim_datarobot_stats_reset},
    {"GET", W "/:id/stats/:metric/", sim_datarobot_stats_metric},
    {"GET", W "/:id/events/", sim_datarobot_events},
    {"GET", W "/:id/related/", sim_datarobot_related},
    {"GET", SDR_API "/mlops/compute/bundles/", sim_datarobot_bundles_list},
    {"GET", SDR_API "/mlops/compute/bundles/:bid/", sim_datarobot_bundle_get},
};
#undef W

static const sim_platform DATAROBOT = {
    .name = "datarobot",
    .routes = ROUTES,
    .nroutes = GB_ARRAY_LEN(ROUTES),
    .state_new = dr_state_new,
    .state_free = dr_state_free,
    .tick = sim_datarobot_tick,
    .auth = dr_auth,
    .error = dr_error,
    .capacity_error = dr_capacity_error,
    .dump = dr_dump,
    .workloads = sim_datarobot_workloads,
    .api_path = SDR_API,
    .sandbox_settings = "{\"rate_per_gpu_hour\":\"2.10\",\"max_gpus\":16,"
                        "\"location\":\"datarobot-us\"}",
};

const sim_platform *sim_platform_datarobot(void)
{
    return &DATAROBOT;
}
