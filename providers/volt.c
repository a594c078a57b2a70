/* volt.c: gpubroker's adapter for the VoltageGPU Volt API (seed 004): offers from
 * GET /api/volt/machines, pods through /api/volt/pods, Volt statuses and errors mapped to the
 * unified model. Creation (SSH keys, templates, no double create) lives in volt_create.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/volt_int.h"

#define VOLT_MAX_ITEMS 4096 /* machines or pods read from one answer */

/* ---- small JSON readers (lenient: Volt sends numbers, tolerate strings) ---- */

static int num_int(const cJSON *j, const char *key, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    int out = def;
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e7)
        out = (int)v->valuedouble;
    else if (cJSON_IsString(v) && gb_parse_int(v->valuestring, 0, 10000000, &out) != 0)
        out = def;
    return out;
}

/* 0 and *m set when key holds a non-negative dollar amount. */
static int num_money(const cJSON *j, const char *key, gb_money *m)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    int bad = -1;
    if (cJSON_IsNumber(v))
        bad = gb_money_from_double(v->valuedouble, m);
    else if (cJSON_IsString(v))
        bad = gb_money_parse(v->valuestring, m);
    return bad == 0 && *m >= 0 ? 0 : -1;
}

const cJSON *prov_volt_list_of(const cJSON *j, const char *key)
{
    if (cJSON_IsArray(j)) return j;
    static const char *const alts[] = {"data", "items"};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    for (size_t i = 0; !cJSON_IsArray(v) && i < GB_ARRAY_LEN(alts); i++)
        v = cJSON_GetObjectItemCaseSensitive(j, alts[i]);
    return cJSON_IsArray(v) ? v : NULL;
}

bool prov_volt_id_ok(const char *id)
{
    size_t n = 0;
    for (const char *p = id ? id : ""; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return n >= 1 && n <= 127;
}

/* ---- calls and errors ---- */

/* prov_status_error plus Volt's error codes: {"error":true,"status":N,"message","code"}. */
static gb_err volt_error(prov_adapter *a, const gb_http_resp *r, char *err)
{
    static const char *const capacity_codes[] = {"NO_CAPACITY", "INSUFFICIENT_CAPACITY",
                                                 "CAPACITY_UNAVAILABLE", "OUT_OF_CAPACITY",
                                                 "NO_AVAILABLE_GPUS"};
    gb_err e = prov_status_error(a, r, err);
    cJSON *j = cJSON_ParseWithLength(r->body ? r->body : "", r->body_len);
    const char *code = j ? gb_jstr(j, "code") : NULL;
    const char *msg = j ? gb_jstr(j, "message") : NULL;
    for (size_t i = 0; code && i < GB_ARRAY_LEN(capacity_codes); i++)
        if (gb_str_ieq(code, capacity_codes[i])) e = GB_ERR_CAPACITY;
    if (code && gb_str_ieq(code, "INSUFFICIENT_BALANCE")) e = GB_ERR_PAYMENT;
    if (code && gb_str_ieq(code, "INVALID_API_KEY")) e = GB_ERR_AUTH;
    if (r->status == 429) e = GB_ERR_LIMIT;
    if ((e == GB_ERR_CONFLICT || e == GB_ERR_PROVIDER) && msg &&
        (gb_str_icontains(msg, "no capacity") || gb_str_icontains(msg, "not enough gpus") ||
         gb_str_icontains(msg, "no gpus available")))
        e = GB_ERR_CAPACITY;
    if (code && code[0]) {
        size_t len = strlen(err);
        if (len + strlen(code) + 4 < PROV_ERR_MAX)
            snprintf(err + len, PROV_ERR_MAX - len, " (%s)", code);
    }
    cJSON_Delete(j);
    return e;
}

/* The seed documents the base URL as https://api.voltagegpu.com/api/volt; an operator may
 * give that or the bare host. Paths are sent below /api/volt exactly once either way. */
const char *prov_volt_api_prefix(const prov_adapter *a)
{
    size_t n = strlen(a->base_url), k = strlen(VOLT_API);
    return n >= k && strcmp(a->base_url + n - k, VOLT_API) == 0 ? "" : VOLT_API;
}

/* ops->auth: the seed's static key in X-API-Key. */
static gb_err volt_auth(prov_adapter *a, const char *rejected, char **hdr, char *err)
{
    *hdr = NULL;
    if (rejected) {
        snprintf(err, PROV_ERR_MAX, "%s refused the API key", a->name);
        return GB_ERR_AUTH;
    }
    *hdr = prov_auth_line("X-API-Key", a->secret);
    return *hdr ? GB_OK : GB_ERR_NOMEM;
}

gb_err prov_volt_call(prov_adapter *a, const char *method, const char *path, const cJSON *body,
                      bool idempotent, cJSON **out, long *status, char *err)
{
    if (out) *out = NULL;
    if (status) *status = 0;
    char *full = gb_asprintf("%s%s", prov_volt_api_prefix(a), path);
    if (!full) {
        snprintf(err, PROV_ERR_MAX, "%s: out of memory", a->name);
        return GB_ERR_NOMEM;
    }
    gb_err e = prov_call(a, method, full, body, idempotent, out, status, err);
    free(full);
    return e;
}

/* ---- statuses ---- */

static const struct {
    const char *raw;
    pod_status st;
} STATUS_MAP[] = {
    /* the seed's pod statuses */
    {"deploying", POD_DEPLOYING},
    {"running", POD_RUNNING},
    {"starting", POD_DEPLOYING},
    {"stopping", POD_STOPPING},
    {"stopped", POD_STOPPED},
    {"deleted", POD_DELETED},
    /* what Volt passes through from Lium and Targon, and common variants */
    {"pending", POD_PENDING},
    {"queued", POD_PENDING},
    {"registered", POD_PENDING},
    {"created", POD_PENDING},
    {"creating", POD_DEPLOYING},
    {"provisioning", POD_DEPLOYING},
    {"initializing", POD_DEPLOYING},
    {"deploying_pending", POD_DEPLOYING},
    {"restarting", POD_DEPLOYING},
    {"rebooting", POD_DEPLOYING},
    {"reboot_pending", POD_DEPLOYING},
    {"ready", POD_RUNNING},
    {"active", POD_RUNNING},
    {"paused", POD_STOPPED},
    {"suspended", POD_STOPPED},
    {"exited", POD_STOPPED},
    {"deleting", POD_STOPPING},
    {"terminating", POD_STOPPING},
    {"terminated", POD_DELETED},
    {"destroyed", POD_DELETED},
    {"removed", POD_DELETED},
    {"failed", POD_FAILED},
    {"failure", POD_FAILED},
    {"error", POD_FAILED},
    {"errored", POD_FAILED},
    {"crashed", POD_FAILED},
    {"completed", POD_SUCCEEDED},
    {"succeeded", POD_SUCCEEDED},
    {"success", POD_SUCCEEDED},
    {"finished", POD_SUCCEEDED},
};

static pod_status map_status(const char *raw)
{
    for (size_t i = 0; raw && i < GB_ARRAY_LEN(STATUS_MAP); i++)
        if (gb_str_ieq(raw, STATUS_MAP[i].raw)) return STATUS_MAP[i].st;
    return POD_UNKNOWN;
}

/* ---- pods ---- */

int prov_volt_parse_pod(const cJSON *j, prov_pod *out)
{
    memset(out, 0, sizeof(*out));
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(j, "pod");
    if (cJSON_IsObject(inner)) j = inner;
    const char *id = gb_jstr(j, "id");
    if (!cJSON_IsObject(j) || !id || !id[0]) return -1;
    gb_strlcpy(out->provider_id, id, sizeof(out->provider_id));
    const char *s;
    if ((s = gb_jstr(j, "name"))) gb_strlcpy(out->name, s, sizeof(out->name));
    if ((s = gb_jstr(j, "status"))) gb_strlcpy(out->raw_status, s, sizeof(out->raw_status));
    out->status = map_status(out->raw_status);
    if ((s = gb_jstr(j, "message"))) gb_strlcpy(out->message, s, sizeof(out->message));
    if ((s = gb_jstr(j, "ip"))) gb_strlcpy(out->ip, s, sizeof(out->ip));
    out->ssh_port = num_int(j, "ssh_port", 0);
    if (out->ssh_port > 65535) out->ssh_port = 0;
    if (out->ip[0] && out->ssh_port)
        snprintf(out->ssh_command, sizeof(out->ssh_command), "ssh -p %d root@%s", out->ssh_port,
                 out->ip);
    if ((s = gb_jstr(j, "gpu_type"))) gpu_normalize(s, out->gpu_type, NULL);
    out->gpu_count = num_int(j, "gpu_count", 0);
    if (num_money(j, "cost_per_hour", &out->price_per_hour)) out->price_per_hour = 0;
    if ((s = gb_jstr(j, "created_at")) && gb_time_parse(s, &out->created_at)) out->created_at = 0;
    return 0;
}

static gb_err get(prov_adapter *a, const char *provider_id, prov_pod *out, char *err)
{
    if (!prov_volt_id_ok(provider_id)) {
        snprintf(err, PROV_ERR_MAX, "%s: invalid pod id", a->name);
        return GB_ERR_INVALID;
    }
    char path[160];
    snprintf(path, sizeof(path), "/pods/%s", provider_id);
    cJSON *j = NULL;
    gb_err e = prov_volt_call(a, "GET", path, NULL, true, &j, NULL, err);
    if (e == GB_OK && prov_volt_parse_pod(j, out) != 0) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: pod without an id", a->name);
        e = GB_ERR_PROVIDER;
    }
    cJSON_Delete(j);
    return e;
}

static gb_err list_pods(prov_adapter *a, prov_pod **out, size_t *n, char *err)
{
    *out = NULL;
    *n = 0;
    cJSON *j = NULL;
    gb_err e = prov_volt_call(a, "GET", "/pods", NULL, true, &j, NULL, err);
    if (e) return e;
    const cJSON *arr = prov_volt_list_of(j, "pods");
    if (!arr) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: no 'pods' list", a->name);
        e = GB_ERR_PROVIDER;
        goto done;
    }
    int total = cJSON_GetArraySize(arr);
    if (total > VOLT_MAX_ITEMS) total = VOLT_MAX_ITEMS;
    *out = calloc(total ? (size_t)total : 1, sizeof(**out));
    if (!*out) {
        e = GB_ERR_NOMEM;
        goto done;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (*n >= (size_t)total) break;
        if (prov_volt_parse_pod(it, &(*out)[*n]) == 0) (*n)++;
    }
done:
    cJSON_Delete(j);
    return e;
}

gb_err prov_volt_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err)
{
    prov_pod *pods = NULL;
    size_t n = 0;
    gb_err e = list_pods(a, &pods, &n, err);
    if (e) return e;
    const prov_pod *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!name || strcmp(pods[i].name, name) != 0 || pods[i].status == POD_DELETED) continue;
        if (!best || pods[i].created_at > best->created_at) best = &pods[i];
    }
    if (best)
        *out = *best;
    else {
        snprintf(err, PROV_ERR_MAX, "%s: no pod named '%.96s'", a->name, name ? name : "");
        e = GB_ERR_NOT_FOUND;
    }
    free(pods);
    return e;
}

/* POST /pods/:id/start|stop. Repeating one is harmless, so it is retried like a GET; a 409
 * ("already stopped") counts as done when the pod is already where the call would take it. */
static gb_err action(prov_adapter *a, const char *id, const char *verb, char *err)
{
    if (!prov_volt_id_ok(id)) {
        snprintf(err, PROV_ERR_MAX, "%s: invalid pod id", a->name);
        return GB_ERR_INVALID;
    }
    char path[180];
    snprintf(path, sizeof(path), "/pods/%s/%s", id, verb);
    gb_err e = prov_volt_call(a, "POST", path, NULL, true, NULL, NULL, err);
    if (e != GB_ERR_CONFLICT) return e;
    prov_pod p;
    char err2[PROV_ERR_MAX];
    if (get(a, id, &p, err2) != GB_OK) return e;
    bool starting = strcmp(verb, "start") == 0;
    if (starting ? (p.status == POD_RUNNING || p.status == POD_DEPLOYING)
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

/* changes: {name, ssh_public_keys:[...]} -> PUT {name, ssh_key_ids:[...]} (keys are
 * registered at Volt first, reusing one with the same public key). */
static gb_err update(prov_adapter *a, const char *id, const cJSON *changes, char *err)
{
    static const char *const allowed[] = {"name", "ssh_public_keys", NULL};
    char jerr[GB_JSON_ERR_MAX];
    const char *name = NULL;
    const cJSON *keys = NULL;
    if (!prov_volt_id_ok(id)) {
        snprintf(err, PROV_ERR_MAX, "%s: invalid pod id", a->name);
        return GB_ERR_INVALID;
    }
    if (!cJSON_IsObject(changes) || gb_json_only_keys(changes, allowed, jerr) ||
        gb_json_str(changes, "name", 1, 128, false, &name, jerr) == GB_ERR_INVALID ||
        gb_json_array(changes, "ssh_public_keys", 16, false, &keys, jerr) == GB_ERR_INVALID) {
        snprintf(err, PROV_ERR_MAX, "%s: %.440s", a->name,
                 cJSON_IsObject(changes) ? jerr : "changes must be a JSON object");
        return GB_ERR_INVALID;
    }
    cJSON *body = cJSON_CreateObject();
    gb_err e = GB_ERR_NOMEM;
    if (!body || (name && !cJSON_AddStringToObject(body, "name", name))) goto done;
    if (keys) {
        const char *lines[16];
        int n = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, keys)
        {
            if (!cJSON_IsString(it)) {
                snprintf(err, PROV_ERR_MAX, "%s: field 'ssh_public_keys' must hold strings",
                         a->name);
                e = GB_ERR_INVALID;
                goto done;
            }
            lines[n++] = it->valuestring;
        }
        cJSON *ids = cJSON_AddArrayToObject(body, "ssh_key_ids");
        if (!ids) goto done;
        e = prov_volt_ensure_keys(a, lines, n, name ? name : id, ids, err);
        if (e) goto done;
    }
    char path[160];
    snprintf(path, sizeof(path), "/pods/%s", id);
    e = cJSON_GetArraySize(body) ? prov_volt_call(a, "PUT", path, body, true, NULL, NULL, err)
                                 : GB_OK;
done:
    cJSON_Delete(body);
    return e;
}

/* DELETE is idempotent: a pod that is already gone (404) counts as removed. The pod is read
 * first (its name and ssh_keys), and once it is deleted the template and SSH keys the adapter
 * registered for it are deleted too (volt_cleanup.c), so none pile up at Volt. */
static gb_err remove_pod(prov_adapter *a, const char *id, char *err)
{
    if (!prov_volt_id_ok(id)) {
        snprintf(err, PROV_ERR_MAX, "%s: invalid pod id", a->name);
        return GB_ERR_INVALID;
    }
    char path[160];
    snprintf(path, sizeof(path), "/pods/%s", id);
    cJSON *pod = NULL;
    gb_err e = prov_volt_call(a, "GET", path, NULL, true, &pod, NULL, err);
    if (e == GB_ERR_NOT_FOUND) return GB_OK;
    if (e) return e;
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(pod, "pod");
    const cJSON *p = cJSON_IsObject(inner) ? inner : pod;
    const char *st = gb_jstr(p, "status");
    if (!(st && gb_str_ieq(st, "deleted"))) {
        e = prov_volt_call(a, "DELETE", path, NULL, true, NULL, NULL, err);
        if (e == GB_ERR_NOT_FOUND) e = GB_OK;
    }
    if (e == GB_OK) prov_volt_cleanup(a, id, p);
    cJSON_Delete(pod);
    return e;
}

/* ---- offers ---- */

/* Offer granularity: one offer per Volt machine, for ONE GPU of it (gpu_count 1, price =
 * cost_per_gpu_hour, available = available_gpus, vcpu/ram/storage = the per-GPU share). The
 * broker asks for N GPUs of that machine through prov_create_req.gpu_count, which Volt's
 * create takes as gpu_count; the total is N x the per-GPU price. */
static int fill_offer(prov_adapter *a, const cJSON *m, prov_offer *o, int64_t now)
{
    const char *id = gb_jstr(m, "id");
    if (!prov_volt_id_ok(id) || strlen(id) > 126) return -1;
    memset(o, 0, sizeof(*o));
    int mg = num_int(m, "gpu_count", 1);
    if (mg < 1) mg = 1;
    gb_money per_gpu;
    if (num_money(m, "cost_per_gpu_hour", &per_gpu) != 0) {
        gb_money total;
        if (num_money(m, "cost_per_hour", &total) != 0) return -1;
        per_gpu = total / mg;
    }
    gb_strlcpy(o->offer_id, id, sizeof(o->offer_id));
    snprintf(o->id, sizeof(o->id), "%s:%s", a->name, id);
    gb_strlcpy(o->provider, a->name, sizeof(o->provider));
    const char *gpu = gb_jstr(m, "gpu_type");
    gb_strlcpy(o->gpu_name, gpu ? gpu : "", sizeof(o->gpu_name));
    int vram = 0;
    gpu_normalize(o->gpu_name, o->gpu_type, &vram);
    o->gpu_vram_gb = num_int(m, "gpu_vram_gb", vram);
    o->gpu_count = 1;
    o->vcpu = num_int(m, "cpu_cores", 0) / mg;
    o->ram_gb = num_int(m, "ram_gb", 0) / mg;
    o->storage_gb = num_int(m, "storage_gb", 0) / mg;
    const char *loc = gb_jstr(m, "location");
    gb_strlcpy(o->location, loc ? loc : "", sizeof(o->location));
    o->price_per_gpu_hour = per_gpu;
    o->price_per_hour = per_gpu;
    o->available_gpus = num_int(m, "available_gpus", 0);
    o->available = o->available_gpus;
    const char *prov = gb_jstr(m, "provider");
    o->confidential = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "confidential")) ||
                      (prov && gb_str_ieq(prov, "targon"));
    o->fetched_at = now;
    return 0;
}

static gb_err list_offers(prov_adapter *a, prov_offer **out, size_t *n, char *err)
{
    *out = NULL;
    *n = 0;
    cJSON *j = NULL;
    gb_err e = prov_volt_call(a, "GET", "/machines", NULL, true, &j, NULL, err);
    if (e) return e;
    const cJSON *arr = prov_volt_list_of(j, "machines");
    if (!arr) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: no 'machines' list", a->name);
        e = GB_ERR_PROVIDER;
        goto done;
    }
    int total = cJSON_GetArraySize(arr);
    if (total > VOLT_MAX_ITEMS) total = VOLT_MAX_ITEMS;
    *out = calloc(total ? (size_t)total : 1, sizeof(**out));
    if (!*out) {
        e = GB_ERR_NOMEM;
        goto done;
    }
    int64_t now = gb_now_ms();
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (*n >= (size_t)total) break;
        if (cJSON_IsObject(it) && fill_offer(a, it, &(*out)[*n], now) == 0) (*n)++;
    }
done:
    cJSON_Delete(j);
    return e;
}

const prov_ops prov_volt_ops = {
    .kind = "volt",
    /* stopped: the sources this adapter follows (docs/providers.md) publish no price for a
     * stopped workload's storage, so none is metered; a provider's
     * "stopped_price_per_gb_hour" setting sets one */
    .stopped_price_per_gb_hour = 0,
    /* "Rate limit: 1,000 requests/hour per API key" (the Volt API document, seed 004) */
    .requests_per_hour = 1000,
    .list_offers = list_offers,
    .create = prov_volt_create,
    .precheck = prov_volt_precheck,
    .get = get,
    .find_by_name = prov_volt_find_by_name,
    .abandoned = prov_volt_drop_template,
    .list_pods = list_pods,
    .start = start,
    .stop = stop,
    .update = update,
    .remove = remove_pod,
    .logs = NULL,
    .events = NULL,
    .map_status = map_status,
    .validate_options = prov_volt_validate_options,
    .state_free = NULL,
    .auth = volt_auth,
    .error = volt_error,
};
