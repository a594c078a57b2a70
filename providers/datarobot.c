/* datarobot.c: gpubroker's adapter for the DataRobot Workload API: the vtable, Bearer auth and
 * DataRobot's error bodies (through prov_call), statuses, and workload reads, start/stop,
 * metadata updates and deletion. Create, options and offers live in datarobot_create.c;
 * settings, protons, statistics, sharing and events in datarobot_ops.c.
 *
 * Wire shapes (each cited in tests/fixtures/wire/datarobot/SOURCES.md and
 * docs/providers/datarobot.md):
 *  - base_url is the API endpoint ending in /api/v2; every path ends in "/" as documented
 *    (datarobot-oss/datarobot-agent-skills skills/datarobot-workload-api/SKILL.md).
 *  - GET /workloads/?offset&limit[&search] -> {count, next, previous, totalCount, data};
 *    GET /workloads/{id}/ -> WorkloadFormatted {id, name, description, status, importance,
 *    artifactId, endpoint, runtime{containerGroups}, protonId, replacement, statusDetails,
 *    createdAt} (datarobot-oss/cli internal/workload/workload.go; terraform-provider-datarobot
 *    internal/client/workloads_service.go).
 *  - Errors: {"detail": "..."} or, on 422, {"detail":[{"path","message","code"}]}; 401
 *    {"message"}; a replica limit is 403 {"detail":"Requested replicas (N) exceeds the maximum
 *    allowed (M)."} -> GB_ERR_CAPACITY (SKILL.md; datarobot-oss/cli tests).
 *  - Statuses: submitted, provisioning, launching, running, suspended, interrupted, stopping,
 *    stopped, errored, terminated, unknown (cli workload.go) and updating, failed (SKILL.md):
 *    errored is recoverable (failed, can be started again); failed and terminated are
 *    unrecoverable (failed: the workload still exists and must be deleted); updating is a
 *    rolling redeploy of a running workload; interrupted and suspended are platform pauses.
 *  - DELETE stops the protons first and answers 502 "please retry" when one will not stop
 *    (cli workload.go): sent without blind retries; after a 502, a 5xx or a lost answer the
 *    adapter looks the workload up: gone -> deleted, still there -> the DELETE again. */
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

bool prov_datarobot_bundle_id_ok(const char *id)
{
    size_t n = 0;
    for (const char *p = id ? id : ""; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return n >= 1 && n <= 47 && id[0] != '.';
}

static gb_err bad_id(prov_adapter *a, char *err)
{
    snprintf(err, PROV_ERR_MAX, "%s: invalid workload id", a->name);
    return GB_ERR_INVALID;
}

/* ---- errors ---- */

/* prov_status_error plus DataRobot's bodies: {"detail": "..."}, {"detail":[{"path",
 * "message", "code"}]} (422) and {"message"}. */
static gb_err dr_error(prov_adapter *a, const gb_http_resp *r, char *err)
{
    gb_err e = prov_status_error(a, r, err);
    cJSON *j = cJSON_ParseWithLength(r->body ? r->body : "", r->body_len);
    const cJSON *det = cJSON_GetObjectItemCaseSensitive(j, "detail"), *it;
    const char *text = cJSON_IsString(det) ? det->valuestring : gb_jstr(j, "message");
    if (cJSON_IsArray(det)) {
        size_t len = (size_t)snprintf(err, PROV_ERR_MAX, "%s: HTTP %ld: invalid request", a->name,
                                      r->status);
        cJSON_ArrayForEach(it, det)
        {
            const char *path = gb_jstr(it, "path"), *msg = gb_jstr(it, "message");
            if (len + 8 >= PROV_ERR_MAX) break;
            snprintf(err + len, PROV_ERR_MAX - len, " (%s: %s)", path ? path : "?",
                     msg ? msg : "?");
            len = strlen(err);
        }
    }
    if (r->status == 429) e = GB_ERR_LIMIT;
    /* a replica/GPU limit is no credentials problem: the platform cannot take this now */
    if (r->status == 403 && text && gb_str_icontains(text, "exceeds the maximum allowed"))
        e = GB_ERR_CAPACITY;
    cJSON_Delete(j);
    return e;
}

/* ---- statuses ---- */

static const struct {
    const char *raw;
    pod_status st;
} STATUS_MAP[] = {
    {"unknown", POD_UNKNOWN},     {"submitted", POD_PENDING},  {"provisioning", POD_DEPLOYING},
    {"launching", POD_DEPLOYING}, {"running", POD_RUNNING},    {"updating", POD_RUNNING},
    {"suspended", POD_STOPPED},   {"interrupted", POD_FAILED}, {"stopping", POD_STOPPING},
    {"stopped", POD_STOPPED},     {"errored", POD_FAILED},     {"failed", POD_FAILED},
    {"terminated", POD_FAILED},
};

static pod_status map_status(const char *raw)
{
    for (size_t i = 0; raw && i < GB_ARRAY_LEN(STATUS_MAP); i++)
        if (gb_str_ieq(raw, STATUS_MAP[i].raw)) return STATUS_MAP[i].st;
    return POD_UNKNOWN;
}

/* ---- workloads ---- */

int prov_datarobot_runtime_gpus(const cJSON *runtime, char bundle[48])
{
    const cJSON *g, *c;
    int total = 0;
    bundle[0] = '\0';
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(runtime, "containerGroups"))
    {
        const cJSON *as = cJSON_GetObjectItemCaseSensitive(g, "autoscaling");
        int64_t rep = gb_jint(g, "replicaCount", 0);
        if (rep <= 0 && cJSON_IsObject(as)) rep = gb_jint(as, "minReplicaCount", 1);
        if (rep <= 0) rep = 1;
        int64_t per = 0;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(g, "containers"))
        {
            int64_t n = (int64_t)gb_jnum(cJSON_GetObjectItemCaseSensitive(c, "resourceAllocation"),
                                         "gpu", 0);
            if (n > 0 && n <= 64) per += n;
        }
        const char *b = cJSON_GetStringValue(cJSON_GetArrayItem(gb_jpath(g, "resourceBundles"), 0));
        if (b && !bundle[0]) gb_strlcpy(bundle, b, 48);
        if (rep <= DR_MAX_REPLICAS * 4) total += (int)(rep * per);
    }
    return total;
}

static void set_price(const dr_conf *c, prov_pod *p)
{
    if (c->have_rate) p->price_per_hour = c->rate * p->gpu_count;
}

/* The last line of statusDetails.logTail: what a failed workload says about itself. */
static void failure_reason(const cJSON *j, prov_pod *out)
{
    const cJSON *tail = gb_jpath(j, "statusDetails.logTail");
    int n = cJSON_GetArraySize(tail);
    for (int i = n - 1; i >= 0; i--) {
        const char *line = cJSON_GetStringValue(cJSON_GetArrayItem(tail, i));
        if (line && line[0]) {
            gb_strlcpy(out->message, line, sizeof(out->message));
            return;
        }
    }
}

int prov_datarobot_parse_wl(const dr_conf *c, const cJSON *j, prov_pod *out, char *bundle)
{
    char b[48] = "";
    memset(out, 0, sizeof(*out));
    if (bundle) bundle[0] = '\0';
    const char *id = gb_jstr(j, "id"), *s;
    if (!cJSON_IsObject(j) || !prov_datarobot_id_ok(id)) return -1;
    gb_strlcpy(out->provider_id, id, sizeof(out->provider_id));
    if ((s = gb_jstr(j, "name"))) gb_strlcpy(out->name, s, sizeof(out->name));
    if ((s = gb_jstr(j, "status"))) gb_strlcpy(out->raw_status, s, sizeof(out->raw_status));
    out->status = map_status(out->raw_status);
    if (out->status == POD_FAILED) failure_reason(j, out);
    if ((s = gb_jstr(j, "endpoint"))) gb_strlcpy(out->url, s, sizeof(out->url));
    if ((s = gb_jstr(j, "createdAt")) && gb_time_parse(s, &out->created_at)) out->created_at = 0;
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(j, "runtime");
    if (cJSON_IsObject(rt)) out->gpu_count = prov_datarobot_runtime_gpus(rt, b);
    if (b[0]) {
        int vram = 0;
        cJSON *fake = cJSON_CreateObject();
        if (fake && cJSON_AddStringToObject(fake, "id", b))
            prov_datarobot_bundle_gpu(fake, out->gpu_type, &vram);
        cJSON_Delete(fake);
    }
    if (bundle) gb_strlcpy(bundle, b, 48);
    set_price(c, out);
    return cJSON_IsObject(rt) ? 1 : 0;
}

/* Adds, best effort, what the workload alone does not say: its runtime (GET .../settings/)
 * when it came without one, and the GPUs of a bundle whose resourceAllocation names none (GET
 * /mlops/compute/bundles/{id}/). */
static void enrich(prov_adapter *a, const dr_conf *c, bool have_runtime, const char *bundle_in,
                   prov_pod *p)
{
    char path[200], err2[PROV_ERR_MAX], bundle[48];
    cJSON *j = NULL;
    gb_strlcpy(bundle, bundle_in, sizeof(bundle));
    if (!have_runtime) {
        snprintf(path, sizeof(path), "/workloads/%s/settings/", p->provider_id);
        if (prov_call(a, "GET", path, NULL, true, &j, NULL, err2) == GB_OK && j)
            p->gpu_count = prov_datarobot_runtime_gpus(gb_jpath(j, "runtime"), bundle);
        cJSON_Delete(j);
        j = NULL;
    }
    if (p->gpu_count == 0 && bundle[0] && prov_datarobot_bundle_id_ok(bundle)) {
        snprintf(path, sizeof(path), "/mlops/compute/bundles/%s/", bundle);
        if (prov_call(a, "GET", path, NULL, true, &j, NULL, err2) == GB_OK && j) {
            int vram = 0;
            p->gpu_count = (int)gb_jnum(j, "gpuCount", 0);
            prov_datarobot_bundle_gpu(j, p->gpu_type, &vram);
        }
        cJSON_Delete(j);
    }
    set_price(c, p);
}

static gb_err get(prov_adapter *a, const char *id, prov_pod *out, char *err)
{
    dr_conf c;
    memset(out, 0, sizeof(*out));
    if (!prov_datarobot_id_ok(id)) return bad_id(a, err);
    gb_err e = prov_datarobot_conf(a, &c, err);
    if (e) return e;
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s/", id);
    cJSON *j = NULL;
    char bundle[48] = "";
    e = prov_call(a, "GET", path, NULL, true, &j, NULL, err);
    int r = e == GB_OK ? prov_datarobot_parse_wl(&c, j, out, bundle) : 0;
    cJSON_Delete(j);
    if (e) return e;
    if (r < 0) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: workload without an id", a->name);
        return GB_ERR_PROVIDER;
    }
    enrich(a, &c, r == 1, bundle, out);
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
        snprintf(path, sizeof(path), "/workloads/?offset=%d&limit=%d%s%s", offset, DR_PAGE,
                 search ? "&search=" : "", search ? search : "");
        cJSON *j = NULL;
        if ((e = prov_call(a, "GET", path, NULL, true, &j, NULL, err))) break;
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
            if (prov_datarobot_parse_wl(&c, it, &(*out)[*n], NULL) >= 0) (*n)++;
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

/* POST .../start/ or .../stop/ {} (202 queued, 200 already there: datarobot-oss/cli
 * internal/workload/operations.go). Repeating one is harmless, so it is retried like a GET; a
 * 409 counts as done when the workload is already where the call would take it. */
static gb_err action(prov_adapter *a, const char *id, const char *verb, char *err)
{
    if (!prov_datarobot_id_ok(id)) return bad_id(a, err);
    char path[160];
    snprintf(path, sizeof(path), "/workloads/%s/%s/", id, verb);
    cJSON *empty = cJSON_CreateObject();
    if (!empty) return GB_ERR_NOMEM;
    gb_err e = prov_call(a, "POST", path, empty, true, NULL, NULL, err);
    cJSON_Delete(empty);
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

/* changes: {name, description, importance} -> PATCH /workloads/{id}/ (UpdateWorkloadRequest,
 * terraform-provider-datarobot internal/client/workloads_service.go). */
static gb_err update(prov_adapter *a, const char *id, const cJSON *changes, char *err)
{
    static const char *const allowed[] = {"name", "description", "importance", "ssh_public_keys",
                                          NULL};
    static const char *const levels[] = {"low", "moderate", "high", "critical"};
    char jerr[GB_JSON_ERR_MAX] = "";
    const char *name = NULL, *desc = NULL, *imp = NULL;
    const cJSON *keys = NULL;
    if (!prov_datarobot_id_ok(id)) return bad_id(a, err);
    if (!cJSON_IsObject(changes) || gb_json_only_keys(changes, allowed, jerr) ||
        gb_json_str(changes, "name", 1, 255, false, &name, jerr) == GB_ERR_INVALID ||
        gb_json_str(changes, "description", 0, 1000, false, &desc, jerr) == GB_ERR_INVALID ||
        gb_json_str(changes, "importance", 1, 15, false, &imp, jerr) == GB_ERR_INVALID ||
        gb_json_array(changes, "ssh_public_keys", 16, false, &keys, jerr) == GB_ERR_INVALID) {
        snprintf(err, PROV_ERR_MAX, "%s: %.440s", a->name,
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
                 "%s: field 'importance' must be one of low, moderate, high, critical", a->name);
        return GB_ERR_INVALID;
    }
    cJSON *body = cJSON_CreateObject();
    gb_err e = GB_ERR_NOMEM;
    if (!body || (name && !cJSON_AddStringToObject(body, "name", name)) ||
        (desc && !cJSON_AddStringToObject(body, "description", desc)) ||
        (imp && !cJSON_AddStringToObject(body, "importance", levels[k])))
        goto done;
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s/", id);
    e = cJSON_GetArraySize(body) ? prov_call(a, "PATCH", path, body, true, NULL, NULL, err) : GB_OK;
done:
    cJSON_Delete(body);
    return e;
}

/* DELETE /workloads/{id}/: see the top of this file. */
static gb_err remove_wl(prov_adapter *a, const char *id, char *err)
{
    err[0] = '\0';
    if (!prov_datarobot_id_ok(id)) return bad_id(a, err);
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s/", id);
    int64_t delay = a->policy.base_delay_ms > 0 ? a->policy.base_delay_ms : 250;
    gb_err e = GB_OK;
    for (int attempt = 0; attempt < DR_DELETE_TRIES; attempt++, delay *= 2) {
        if (attempt) prov_sleep(a, delay);
        long status = 0;
        e = prov_call(a, "DELETE", path, NULL, false, NULL, &status, err);
        if (e == GB_OK || e == GB_ERR_NOT_FOUND) { /* deleted, or already gone */
            err[0] = '\0';
            return GB_OK;
        }
        if (!(e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT || status >= 500)) return e;
        prov_pod p;
        char gerr[PROV_ERR_MAX];
        gb_err ge = get(a, id, &p, gerr);
        if (ge == GB_ERR_NOT_FOUND) { /* it is gone */
            err[0] = '\0';
            return GB_OK;
        }
        if (ge != GB_OK) return e; /* cannot tell: report the DELETE's failure */
    }
    return e;
}

const prov_ops prov_datarobot_ops = {
    .kind = "datarobot",
    /* stopped: the sources this adapter follows (docs/providers.md) publish no price for a
     * stopped workload's storage, so none is metered; a provider's
     * "stopped_price_per_gb_hour" setting sets one */
    .stopped_price_per_gb_hour = 0,
    .list_offers = prov_datarobot_list_offers,
    .create = prov_datarobot_create,
    .precheck = prov_datarobot_precheck,
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
    .auth = prov_auth_bearer,
    .error = dr_error,
};
