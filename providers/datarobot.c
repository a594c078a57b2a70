/* datarobot.c: gpubroker's adapter for the DataRobot Workload API (seed 002): the vtable,
 * Bearer-authenticated calls with DataRobot's error bodies, statuses, and workload reads,
 * start/stop, metadata updates and deletion (with the seed's 502 "deleted, but some protons
 * could not be stopped"). Create, options and offers live in datarobot_create.c; settings,
 * protons, statistics, sharing and events in datarobot_ops.c.
 *
 * Where the seed is silent (the simulator, written apart, assumes the same):
 *  - base_url is DataRobot's API endpoint ending in /api/v2; the seed's paths follow it.
 *  - Create: POST /workloads {name, description, importance, settings{replicas, autoscaling,
 *    resources{gpu per replica, cpu cores, memory MiB}, image, port, environment[{name,
 *    value}]}, tags} -> 201 with the workload; list: GET /workloads?offset&limit[&search] ->
 *    {count, next, previous, totalCount, data}; GET /workloads/{id} -> the workload. A
 *    workload carries its settings inline; when it does not, get asks .../settings.
 *  - importance: LOW, MODERATE, HIGH, CRITICAL. Errors: {"message"} (+ "errors" per field on
 *    422, "detail", "errorCode": INSUFFICIENT_CAPACITY -> GB_ERR_CAPACITY).
 *  - interrupted (the runtime was preempted, not stopped by anyone) maps to failed: the
 *    workload no longer serves and was not asked to stop; it can be started again, and a
 *    settled pod is still polled, so a recovery is seen.
 *  - DELETE is sent without blind retries: after a 502, a 5xx or a lost answer the adapter
 *    looks the workload up; gone -> deleted (a 502's message becomes the warning), still there
 *    -> the DELETE is sent again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/datarobot_int.h"

#define DR_DELETE_TRIES 3

/* ---- small helpers ---- */

const char *prov_datarobot_str(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

bool prov_datarobot_id_ok(const char *id)
{
    size_t n = 0;
    for (const char *p = id ? id : ""; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return n >= 1 && n <= 64;
}

static gb_err bad_id(prov_adapter *a, char *err)
{
    snprintf(err, PROV_ERR_MAX, "%s: invalid workload id", a->name);
    return GB_ERR_INVALID;
}

/* ---- calls and errors ---- */

/* prov_status_error plus DataRobot's bodies: {"message", "errors":{field: reason}, "detail",
 * "errorCode"}. */
static gb_err dr_error(prov_adapter *a, const gb_http_resp *r, char *err)
{
    gb_err e = prov_status_error(a, r, err);
    cJSON *j = cJSON_ParseWithLength(r->body ? r->body : "", r->body_len);
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(j, "errors"), *it;
    const char *detail = prov_datarobot_str(j, "detail");
    const char *code = prov_datarobot_str(j, "errorCode");
    const char *msg = prov_datarobot_str(j, "message");
    size_t len = strlen(err);
    if (!cJSON_IsObject(errs)) errs = NULL;
    cJSON_ArrayForEach(it, errs)
    {
        if (!cJSON_IsString(it) || len + 8 >= PROV_ERR_MAX) continue;
        snprintf(err + len, PROV_ERR_MAX - len, " (%s: %s)", it->string, it->valuestring);
        len = strlen(err);
    }
    if (detail && msg && strcmp(detail, msg) != 0 && len + 8 < PROV_ERR_MAX)
        snprintf(err + len, PROV_ERR_MAX - len, " (detail: %s)", detail);
    if (r->status == 429) e = GB_ERR_LIMIT;
    if ((code && gb_str_ieq(code, "INSUFFICIENT_CAPACITY")) ||
        ((e == GB_ERR_CONFLICT || e == GB_ERR_PROVIDER) && msg &&
         gb_str_icontains(msg, "insufficient") && gb_str_icontains(msg, "capacity")))
        e = GB_ERR_CAPACITY;
    cJSON_Delete(j);
    return e;
}

gb_err prov_datarobot_call(prov_adapter *a, const char *method, const char *path, const cJSON *body,
                           bool idempotent, cJSON **out, long *status, char *err)
{
    if (out) *out = NULL;
    if (status) *status = 0;
    for (const char *p = a->secret; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(err, PROV_ERR_MAX, "%s: the API token contains control characters", a->name);
            return GB_ERR_AUTH;
        }
    }
    gb_http_resp resp;
    memset(&resp, 0, sizeof(resp));
    char *auth = gb_asprintf("Authorization: Bearer %s", a->secret);
    if (!auth) return GB_ERR_NOMEM;
    const char *hdrs[] = {auth, NULL};
    gb_err e = prov_http(a, method, path, hdrs, body, idempotent, &resp, err);
    gb_memzero(auth, strlen(auth));
    free(auth);
    if (e) goto done;
    if (status) *status = resp.status;
    if (resp.status < 200 || resp.status > 299)
        e = dr_error(a, &resp, err);
    else if (out && resp.status != 204 && resp.body_len > 0)
        e = prov_parse_json(a, &resp, out, err);
done:
    gb_http_resp_free(&resp);
    return e;
}

/* ---- statuses ---- */

static const struct {
    const char *raw;
    pod_status st;
} STATUS_MAP[] = {
    {"unknown", POD_UNKNOWN},     {"submitted", POD_PENDING}, {"provisioning", POD_DEPLOYING},
    {"launching", POD_DEPLOYING}, {"running", POD_RUNNING},   {"suspended", POD_STOPPED},
    {"interrupted", POD_FAILED},  {"stopping", POD_STOPPING}, {"stopped", POD_STOPPED},
    {"errored", POD_FAILED},
};

static pod_status map_status(const char *raw)
{
    for (size_t i = 0; raw && i < GB_ARRAY_LEN(STATUS_MAP); i++)
        if (gb_str_ieq(raw, STATUS_MAP[i].raw)) return STATUS_MAP[i].st;
    return POD_UNKNOWN;
}

/* ---- workloads ---- */

static int num_int(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e6 ? (int)v->valuedouble
                                                                             : 0;
}

/* GPUs of a settings object: replicas x resources.gpu. */
static int settings_gpus(const cJSON *s)
{
    int rep = num_int(s, "replicas");
    int per = num_int(cJSON_GetObjectItemCaseSensitive(s, "resources"), "gpu");
    return (rep ? rep : 1) * per;
}

static void set_price(const dr_conf *c, prov_pod *p)
{
    if (c->gpu_type[0]) gb_strlcpy(p->gpu_type, c->gpu_type, sizeof(p->gpu_type));
    if (c->have_rate) p->price_per_hour = c->rate * p->gpu_count;
}

int prov_datarobot_parse_wl(const dr_conf *c, const cJSON *j, prov_pod *out)
{
    memset(out, 0, sizeof(*out));
    const char *id = prov_datarobot_str(j, "id"), *s;
    if (!cJSON_IsObject(j) || !prov_datarobot_id_ok(id)) return -1;
    gb_strlcpy(out->provider_id, id, sizeof(out->provider_id));
    if ((s = prov_datarobot_str(j, "name"))) gb_strlcpy(out->name, s, sizeof(out->name));
    if ((s = prov_datarobot_str(j, "status")))
        gb_strlcpy(out->raw_status, s, sizeof(out->raw_status));
    out->status = map_status(out->raw_status);
    if ((s = prov_datarobot_str(j, "statusMessage")))
        gb_strlcpy(out->message, s, sizeof(out->message));
    if ((s = prov_datarobot_str(j, "endpoint"))) gb_strlcpy(out->url, s, sizeof(out->url));
    if ((s = prov_datarobot_str(j, "createdAt")) && gb_time_parse(s, &out->created_at))
        out->created_at = 0;
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(j, "settings");
    if (cJSON_IsObject(set)) out->gpu_count = settings_gpus(set);
    set_price(c, out);
    return cJSON_IsObject(set) ? 1 : 0;
}

/* Adds, best effort, what the workload alone does not say: its GPU count from .../settings,
 * and for a failed one the reason a proton gives. */
static void enrich(prov_adapter *a, const dr_conf *c, bool have_settings, prov_pod *p)
{
    char path[160], err2[PROV_ERR_MAX];
    cJSON *j = NULL;
    if (!have_settings) {
        snprintf(path, sizeof(path), "/workloads/%s/settings", p->provider_id);
        if (prov_datarobot_call(a, "GET", path, NULL, true, &j, NULL, err2) == GB_OK && j) {
            p->gpu_count = settings_gpus(j);
            set_price(c, p);
        }
        cJSON_Delete(j);
        j = NULL;
    }
    if (p->status != POD_FAILED || p->message[0]) return;
    snprintf(path, sizeof(path), "/workloads/%s/protons", p->provider_id);
    if (prov_datarobot_call(a, "GET", path, NULL, true, &j, NULL, err2) == GB_OK) {
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "data"))
        {
            const char *m = prov_datarobot_str(it, "statusMessage");
            if (m && m[0]) {
                gb_strlcpy(p->message, m, sizeof(p->message));
                break;
            }
        }
    }
    cJSON_Delete(j);
}

static gb_err get(prov_adapter *a, const char *id, prov_pod *out, char *err)
{
    dr_conf c;
    memset(out, 0, sizeof(*out));
    if (!prov_datarobot_id_ok(id)) return bad_id(a, err);
    gb_err e = prov_datarobot_conf(a, &c, err);
    if (e) return e;
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s", id);
    cJSON *j = NULL;
    e = prov_datarobot_call(a, "GET", path, NULL, true, &j, NULL, err);
    int r = e == GB_OK ? prov_datarobot_parse_wl(&c, j, out) : 0;
    cJSON_Delete(j);
    if (e) return e;
    if (r < 0) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: workload without an id", a->name);
        return GB_ERR_PROVIDER;
    }
    enrich(a, &c, r == 1, out);
    return GB_OK;
}

/* Safe in a query string as it is. */
static bool query_safe(const char *s)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    return n > 0 && n <= 128;
}

gb_err prov_datarobot_list(prov_adapter *a, const char *search, prov_pod **out, size_t *n,
                           char *err)
{
    *out = NULL;
    *n = 0;
    dr_conf c;
    gb_err e = prov_datarobot_conf(a, &c, err);
    size_t cap = 0;
    for (int page = 0, offset = 0; !e && page < DR_MAX_PAGES; page++) {
        char path[256];
        snprintf(path, sizeof(path), "/workloads?offset=%d&limit=%d%s%s", offset, DR_PAGE,
                 search ? "&search=" : "", search ? search : "");
        cJSON *j = NULL;
        if ((e = prov_datarobot_call(a, "GET", path, NULL, true, &j, NULL, err))) break;
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data"), *it;
        if (!cJSON_IsArray(data)) {
            snprintf(err, PROV_ERR_MAX, "malformed response from %s: no 'data' list", a->name);
            e = GB_ERR_PROVIDER;
        }
        int got = cJSON_GetArraySize(data);
        if (!e && *n + (size_t)got > cap) {
            size_t nc = *n + (size_t)got + DR_PAGE;
            prov_pod *np = realloc(*out, nc * sizeof(*np));
            if (!np)
                e = GB_ERR_NOMEM;
            else {
                *out = np;
                cap = nc;
            }
        }
        if (e) data = NULL;
        cJSON_ArrayForEach(it, data)
        {
            if (prov_datarobot_parse_wl(&c, it, &(*out)[*n]) >= 0) (*n)++;
        }
        bool more = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "next")) && got > 0;
        cJSON_Delete(j);
        if (!more) break;
        offset += got;
    }
    if (e) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return e;
}

static gb_err list_pods(prov_adapter *a, prov_pod **out, size_t *n, char *err)
{
    return prov_datarobot_list(a, NULL, out, n, err);
}

gb_err prov_datarobot_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err)
{
    prov_pod *pods = NULL;
    size_t n = 0;
    gb_err e = prov_datarobot_list(a, name && query_safe(name) ? name : NULL, &pods, &n, err);
    if (e) return e;
    const prov_pod *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!name || strcmp(pods[i].name, name) != 0) continue;
        if (!best || pods[i].created_at > best->created_at) best = &pods[i];
    }
    if (best) {
        *out = *best;
    } else {
        snprintf(err, PROV_ERR_MAX, "%s: no workload named '%.96s'", a->name, name ? name : "");
        e = GB_ERR_NOT_FOUND;
    }
    free(pods);
    return e;
}

/* ---- start, stop, update, delete ---- */

/* POST .../start|stop (202). Repeating one is harmless, so it is retried like a GET; a 409
 * counts as done when the workload is already where the call would take it. */
static gb_err action(prov_adapter *a, const char *id, const char *verb, char *err)
{
    if (!prov_datarobot_id_ok(id)) return bad_id(a, err);
    char path[160];
    snprintf(path, sizeof(path), "/workloads/%s/%s", id, verb);
    gb_err e = prov_datarobot_call(a, "POST", path, NULL, true, NULL, NULL, err);
    if (e != GB_ERR_CONFLICT) return e;
    prov_pod p;
    char err2[PROV_ERR_MAX];
    if (get(a, id, &p, err2) != GB_OK) return e;
    bool starting = strcmp(verb, "start") == 0;
    if (starting ? (p.status == POD_RUNNING || p.status == POD_DEPLOYING || p.status == POD_PENDING)
                 : (p.status == POD_STOPPING || p.status == POD_STOPPED))
        return GB_OK;
    return e;
}

static gb_err start(prov_adapter *a, const char *id, char *err)
{
    return action(a, id, "start", err);
}

static gb_err stop(prov_adapter *a, const char *id, char *err)
{
    return action(a, id, "stop", err);
}

/* changes: {name, description, importance} -> PATCH /workloads/{id}. */
static gb_err update(prov_adapter *a, const char *id, const cJSON *changes, char *err)
{
    static const char *const allowed[] = {"name", "description", "importance", "ssh_public_keys",
                                          NULL};
    static const char *const levels[] = {"LOW", "MODERATE", "HIGH", "CRITICAL"};
    char jerr[GB_JSON_ERR_MAX] = "";
    const char *name = NULL, *desc = NULL, *imp = NULL;
    const cJSON *keys = NULL;
    if (!prov_datarobot_id_ok(id)) return bad_id(a, err);
    if (!cJSON_IsObject(changes) || gb_json_only_keys(changes, allowed, jerr) ||
        gb_json_str(changes, "name", 1, 255, false, &name, jerr) == GB_ERR_INVALID ||
        gb_json_str(changes, "description", 0, 1000, false, &desc, jerr) == GB_ERR_INVALID ||
        gb_json_str(changes, "importance", 1, 15, false, &imp, jerr) == GB_ERR_INVALID ||
        gb_json_array(changes, "ssh_public_keys", 16, false, &keys, jerr) == GB_ERR_INVALID) {
        snprintf(err, PROV_ERR_MAX, "%s: %s", a->name,
                 cJSON_IsObject(changes) ? jerr : "changes must be a JSON object");
        return GB_ERR_INVALID;
    }
    if (cJSON_GetArraySize(keys) > 0) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: field 'ssh_public_keys': DataRobot workloads take no SSH keys", a->name);
        return GB_ERR_INVALID;
    }
    size_t k = 0;
    while (imp && k < GB_ARRAY_LEN(levels) && !gb_str_ieq(imp, levels[k]))
        k++;
    if (imp && k == GB_ARRAY_LEN(levels)) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: field 'importance' must be one of LOW, MODERATE, HIGH, CRITICAL", a->name);
        return GB_ERR_INVALID;
    }
    cJSON *body = cJSON_CreateObject();
    gb_err e = GB_ERR_NOMEM;
    if (!body || (name && !cJSON_AddStringToObject(body, "name", name)) ||
        (desc && !cJSON_AddStringToObject(body, "description", desc)) ||
        (imp && !cJSON_AddStringToObject(body, "importance", levels[k])))
        goto done;
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s", id);
    e = cJSON_GetArraySize(body)
            ? prov_datarobot_call(a, "PATCH", path, body, true, NULL, NULL, err)
            : GB_OK;
done:
    cJSON_Delete(body);
    return e;
}

/* See datarobot.h: GB_OK with err non-empty = deleted, but some protons could not be stopped. */
static gb_err remove_wl(prov_adapter *a, const char *id, char *err)
{
    err[0] = '\0';
    if (!prov_datarobot_id_ok(id)) return bad_id(a, err);
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s", id);
    int64_t delay = a->policy.base_delay_ms > 0 ? a->policy.base_delay_ms : 250;
    gb_err e = GB_OK;
    for (int attempt = 0; attempt < DR_DELETE_TRIES; attempt++, delay *= 2) {
        if (attempt) prov_sleep(a, delay);
        long status = 0;
        e = prov_datarobot_call(a, "DELETE", path, NULL, false, NULL, &status, err);
        if (e == GB_OK || e == GB_ERR_NOT_FOUND) { /* deleted, or already gone */
            err[0] = '\0';
            return GB_OK;
        }
        if (!(e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT || status >= 500)) return e;
        prov_pod p;
        char gerr[PROV_ERR_MAX];
        gb_err ge = get(a, id, &p, gerr);
        if (ge == GB_ERR_NOT_FOUND) { /* it is gone: a 502 says what could not be stopped */
            if (status != 502) err[0] = '\0';
            return GB_OK;
        }
        if (ge != GB_OK) return e; /* cannot tell: report the DELETE's failure */
    }
    return e;
}

const prov_ops prov_datarobot_ops = {
    .kind = "datarobot",
    .caps = PROV_CAP_START_STOP | PROV_CAP_EVENTS | PROV_CAP_UPDATE,
    .list_offers = prov_datarobot_list_offers,
    .create = prov_datarobot_create,
    .get = get,
    .find_by_name = prov_datarobot_find_by_name,
    .list_pods = list_pods,
    .start = start,
    .stop = stop,
    .update = update,
    .remove = remove_wl,
    .logs = NULL,
    .events = prov_datarobot_events,
    .map_status = map_status,
    .validate_options = prov_datarobot_validate_options,
    .state_free = NULL,
};
