/* sim_targon.c: the Targon simulator's core: its inventory, state, clock-driven status
 * progression, Bearer auth, {"error": message, "reason": CODE} errors and the JSON shapes of
 * workloads (targon-sdk libs/go/workload.go, docs.targon.com/api). Test double and sandbox
 * backend; it shares no code with the Targon adapter. Routes: sim_targon_routes.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_targon_int.h"

#define USD(d, c) ((gb_money)(d)*GB_MONEY_PER_DOLLAR + (gb_money)(c)*10000)

/* The resources the simulator rents out, with list prices and units on hand. */
static const sim_targon_res INVENTORY[] = {
    {"h200-small", "NVIDIA H200 - Small", "H200", 1, 12, 115000, 512000, USD(2, 49), 8},
    {"h200-medium", "NVIDIA H200 - Medium", "H200", 2, 24, 230000, 1024000, USD(4, 98), 4},
    {"h200-large", "NVIDIA H200 - Large", "H200", 4, 48, 460000, 2048000, USD(9, 96), 2},
    {"h200-xl", "NVIDIA H200 - XL", "H200", 8, 96, 920000, 4096000, USD(19, 92), 1},
    {"b200-small", "NVIDIA B200 - Small", "B200", 1, 16, 180000, 1024000, USD(3, 99), 4},
    {"b200-large", "NVIDIA B200 - Large", "B200", 8, 128, 1440000, 8192000, USD(31, 92), 1},
    {"rtx4090-small", "NVIDIA RTX 4090 - Small", "RTX4090", 1, 8, 48000, 204800, USD(0, 59), 10},
    {"rtx4090-medium", "NVIDIA RTX 4090 - Medium", "RTX4090", 2, 16, 96000, 409600, USD(1, 18), 5},
    {"cpu-small", "CPU - Small", "", 0, 4, 16000, 102400, USD(0, 12), 20},
};

void sim_targon_time(int64_t ms, char buf[32])
{
    gb_time_format(ms, buf, 32);
}

static uint64_t fnv1a(const char *s, uint64_t seed)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void sim_targon_digest(const char *image, char out[72])
{
    int off = snprintf(out, 72, "sha256:");
    for (uint64_t i = 0; i < 4 && off > 0 && off < 72; i++)
        off += snprintf(out + off, (size_t)(72 - off), "%016llx",
                        (unsigned long long)fnv1a(image, i * 0x9e3779b97f4a7c15ULL));
}

int sim_targon_res_find(const sim_targon_state *st, const char *name)
{
    for (int i = 0; name && i < st->ninv; i++)
        if (strcmp(st->inv[i].name, name) == 0) return i;
    return -1;
}

cJSON *sim_targon_res_json(const sim_targon_res *r)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "name", r->name);
    cJSON_AddStringToObject(j, "display_name", r->display_name);
    cJSON_AddStringToObject(j, "gpu_type", r->gpu_type);
    cJSON_AddNumberToObject(j, "gpu_count", r->gpu_count);
    cJSON_AddNumberToObject(j, "vcpu", r->vcpu);
    cJSON_AddNumberToObject(j, "cpu_millicores", r->vcpu * 1000);
    cJSON_AddNumberToObject(j, "memory", r->memory_mb);
    cJSON_AddNumberToObject(j, "memory_mib", r->memory_mb);
    return j;
}

cJSON *sim_targon_inventory_json(const sim_targon_res *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *spec = cJSON_CreateObject();
    if (!j || !spec) {
        cJSON_Delete(j);
        cJSON_Delete(spec);
        return NULL;
    }
    cJSON_AddStringToObject(j, "name", r->name);
    cJSON_AddStringToObject(j, "display_name", r->display_name);
    char desc[160];
    snprintf(desc, sizeof(desc), "%s rental instance", r->display_name);
    cJSON_AddStringToObject(j, "description", desc);
    cJSON_AddStringToObject(j, "type", "rental");
    cJSON_AddBoolToObject(j, "gpu", r->gpu_count > 0);
    if (r->gpu_count > 0)
        cJSON_AddStringToObject(spec, "gpu_type", r->gpu_type);
    else
        cJSON_AddNullToObject(spec, "gpu_type");
    cJSON_AddNumberToObject(spec, "gpu_count", r->gpu_count);
    cJSON_AddNumberToObject(spec, "vcpu", r->vcpu);
    cJSON_AddNumberToObject(spec, "memory", r->memory_mb);
    cJSON_AddNumberToObject(spec, "storage", r->storage_mb);
    cJSON_AddItemToObject(j, "spec", spec);
    gb_json_add_money(j, "cost_per_hour", r->cost_per_hour);
    cJSON_AddNumberToObject(j, "available", r->available);
    return j;
}

sim_targon_wl *sim_targon_wl_find(sim_targon_state *st, const char *uid, bool include_deleted)
{
    for (int i = 0; uid && i < st->nwl; i++) {
        sim_targon_wl *w = st->wl[i];
        if (strcmp(w->uid, uid) != 0) continue;
        if (!include_deleted && strcmp(w->status, "deleted") == 0) return NULL;
        return w;
    }
    return NULL;
}

static const char *spec_str(const sim_targon_wl *w, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(w->spec, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static bool is_rental(const sim_targon_wl *w)
{
    return strcmp(spec_str(w, "type"), "RENTAL") == 0;
}

static void add_urls(const sim_targon_wl *w, cJSON *urls)
{
    const cJSON *ports = cJSON_GetObjectItemCaseSensitive(w->spec, "ports");
    const cJSON *p;
    int n = 0;
    char url[128];
    cJSON_ArrayForEach(p, ports)
    {
        const cJSON *port = cJSON_GetObjectItemCaseSensitive(p, "port");
        const cJSON *routing = cJSON_GetObjectItemCaseSensitive(p, "routing");
        if (!cJSON_IsNumber(port)) continue;
        if (cJSON_IsString(routing) && strcmp(routing->valuestring, "DIRECT") == 0) continue;
        if (n++ == 0)
            snprintf(url, sizeof(url), "https://%s.caas.targon.com", w->uid);
        else
            snprintf(url, sizeof(url), "https://%s-%d.caas.targon.com", w->uid, port->valueint);
        cJSON *u = cJSON_CreateObject();
        if (!u) return;
        cJSON_AddNumberToObject(u, "port", port->valueint);
        cJSON_AddStringToObject(u, "url", url);
        cJSON_AddItemToArray(urls, u);
    }
    if (n == 0 && !is_rental(w)) { /* a serverless endpoint always gets its URL */
        cJSON *u = cJSON_CreateObject();
        if (!u) return;
        snprintf(url, sizeof(url), "https://%s.caas.targon.com", w->uid);
        cJSON_AddNumberToObject(u, "port", 8080);
        cJSON_AddStringToObject(u, "url", url);
        cJSON_AddItemToArray(urls, u);
    }
}

cJSON *sim_targon_state_json(const sim_targon_state *st, const sim_targon_wl *w, bool top)
{
    (void)st;
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    bool running = strcmp(w->status, "running") == 0;
    bool deploying = strcmp(w->status, "provisioning") == 0;
    if (top) {
        cJSON_AddStringToObject(j, "uid", w->uid);
        cJSON_AddStringToObject(j, "workload_type", spec_str(w, "type"));
    }
    cJSON_AddStringToObject(j, "status", w->status);
    cJSON_AddStringToObject(j, "message", w->message);
    cJSON_AddNumberToObject(j, "ready_replicas", running ? 1 : 0);
    cJSON_AddNumberToObject(j, "total_replicas", running || deploying ? 1 : 0);
    cJSON *urls = cJSON_AddArrayToObject(j, "urls");
    if (running && urls) add_urls(w, urls);
    if (running && is_rental(w)) {
        /* The real service adds the rental's address (public_ip, ssh_port) to the state. */
        uint64_t h = fnv1a(w->uid, 7);
        char ip[32];
        snprintf(ip, sizeof(ip), "203.0.113.%d", (int)(1 + h % 254));
        cJSON_AddStringToObject(j, "public_ip", ip);
        cJSON_AddNumberToObject(j, "ssh_port", (double)(30000 + (h >> 8) % 10000));
    }
    if (top) {
        char t[32];
        sim_targon_time(w->updated_ms, t);
        cJSON_AddStringToObject(j, "updated_at", t);
    }
    return j;
}

static cJSON *volumes_json(const sim_targon_wl *w)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(w->spec, "volumes"))
    {
        cJSON *c = cJSON_Duplicate(v, 1);
        const cJSON *uid = cJSON_GetObjectItemCaseSensitive(v, "uid");
        if (!c || !out) {
            cJSON_Delete(c);
            break;
        }
        char name[64];
        snprintf(name, sizeof(name), "volume-%s",
                 cJSON_IsString(uid) && strlen(uid->valuestring) > 4 ? uid->valuestring + 4 : "x");
        if (!cJSON_HasObjectItem(c, "name")) cJSON_AddStringToObject(c, "name", name);
        if (!cJSON_HasObjectItem(c, "read_only")) cJSON_AddFalseToObject(c, "read_only");
        cJSON_AddItemToArray(out, c);
    }
    return out;
}

sim_targon_key *sim_targon_key_find(sim_targon_state *st, const char *uid)
{
    for (int i = 0; uid && i < st->nkeys; i++)
        if (strcmp(st->keys[i].uid, uid) == 0) return &st->keys[i];
    return NULL;
}

/* A workload's ssh_keys: [{uid, name, public_key_raw}] (libs/go/workload.go WorkloadSSHKey). */
static cJSON *keys_json(const sim_targon_state *st, const sim_targon_wl *w)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(w->spec, "ssh_keys"))
    {
        const sim_targon_key *key =
            cJSON_IsString(k) ? sim_targon_key_find((sim_targon_state *)st, k->valuestring) : NULL;
        cJSON *o = key ? cJSON_CreateObject() : NULL;
        if (!o || !out) {
            cJSON_Delete(o);
            continue;
        }
        cJSON_AddStringToObject(o, "uid", key->uid);
        cJSON_AddStringToObject(o, "name", key->name);
        cJSON_AddStringToObject(o, "public_key_raw", key->public_key_raw);
        cJSON_AddItemToArray(out, o);
    }
    return out;
}

cJSON *sim_targon_wl_json(const sim_targon_state *st, const sim_targon_wl *w, bool summary)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    static const char *const full_keys[] = {
        "project_id",        "app_id",       "ports", "envs", "commands", "args",
        "serverless_config", "registry_auth"};
    char t[32], rev[16];
    cJSON_AddStringToObject(j, "uid", w->uid);
    cJSON_AddStringToObject(j, "name", spec_str(w, "name"));
    cJSON_AddStringToObject(j, "image", spec_str(w, "image"));
    cJSON_AddStringToObject(j, "type", spec_str(w, "type"));
    if (!summary) {
        cJSON_AddStringToObject(j, "resource_name", spec_str(w, "resource_name"));
        for (size_t i = 0; i < GB_ARRAY_LEN(full_keys); i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(w->spec, full_keys[i]);
            if (v) cJSON_AddItemToObject(j, full_keys[i], cJSON_Duplicate(v, 1));
        }
        if (is_rental(w)) cJSON_AddItemToObject(j, "ssh_keys", keys_json(st, w));
    }
    if (is_rental(w) || summary) cJSON_AddItemToObject(j, "volumes", volumes_json(w));
    cJSON_AddItemToObject(j, "state", sim_targon_state_json(st, w, false));
    cJSON_AddItemToObject(j, "resource", sim_targon_res_json(&st->inv[w->res]));
    gb_json_add_money(j, "cost_per_hour", st->inv[w->res].cost_per_hour);
    snprintf(rev, sizeof(rev), "%d", w->revision);
    cJSON_AddStringToObject(j, "revision", rev);
    sim_targon_time(w->created_ms, t);
    cJSON_AddStringToObject(j, "created_at", t);
    sim_targon_time(w->updated_ms, t);
    cJSON_AddStringToObject(j, "updated_at", t);
    return j;
}

void sim_targon_event(sim_targon_state *st, sim_targon_wl *w, int64_t now, const char *type,
                      const char *status, const char *display)
{
    if (status) {
        gb_strlcpy(w->status, status, sizeof(w->status));
        w->updated_ms = now;
    }
    cJSON *e = cJSON_CreateObject();
    if (!e) return;
    char t[32], pod[40];
    sim_targon_time(now, t);
    snprintf(pod, sizeof(pod), "%s-0", w->uid);
    cJSON_AddStringToObject(e, "workload_uid", w->uid);
    cJSON_AddStringToObject(e, "workload_type", spec_str(w, "type"));
    cJSON_AddStringToObject(e, "event_type", type);
    cJSON_AddStringToObject(e, "new_status", status ? status : w->status);
    cJSON_AddStringToObject(e, "message", display);
    cJSON_AddStringToObject(e, "display_message", display);
    cJSON_AddStringToObject(e, "reason", "");
    cJSON_AddStringToObject(e, "pod_name", pod);
    cJSON_AddStringToObject(e, "container_name", "main");
    cJSON_AddStringToObject(e, "container_image", spec_str(w, "image"));
    cJSON_AddNumberToObject(e, "exit_code", 0);
    cJSON_AddNumberToObject(e, "replica_count", strcmp(w->status, "running") == 0 ? 1 : 0);
    cJSON_AddStringToObject(e, "resource_name", st->inv[w->res].name);
    cJSON_AddStringToObject(e, "created_at", t);
    while (cJSON_GetArraySize(w->events) >= SIM_TARGON_MAX_EVENTS)
        cJSON_DeleteItemFromArray(w->events, 0);
    cJSON_AddItemToArray(w->events, e);
}

/* ---- platform callbacks ---- */

void *sim_targon_state_new(sim_server *s)
{
    sim_targon_state *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->srv = s;
    st->ninv = (int)GB_ARRAY_LEN(INVENTORY);
    st->inv = malloc(sizeof(INVENTORY));
    if (!st->inv) {
        free(st);
        return NULL;
    }
    memcpy(st->inv, INVENTORY, sizeof(INVENTORY));
    return st;
}

void sim_targon_state_free(void *state)
{
    sim_targon_state *st = state;
    if (!st) return;
    for (int i = 0; i < st->nkeys; i++)
        free(st->keys[i].public_key_raw);
    for (int i = 0; i < st->nwl; i++) {
        cJSON_Delete(st->wl[i]->spec);
        cJSON_Delete(st->wl[i]->events);
        free(st->wl[i]);
    }
    free(st->inv);
    free(st);
}

void sim_targon_tick(void *state, int64_t now_ms)
{
    sim_targon_state *st = state;
    for (int i = 0; i < st->nwl; i++) {
        sim_targon_wl *w = st->wl[i];
        if (strcmp(w->status, "provisioning") != 0) continue;
        int64_t at = w->deploy_ms + SIM_TARGON_DEPLOY_MS;
        if (now_ms < at) continue;
        w->running_ms = at;
        sim_targon_event(st, w, at, "STATUS_CHANGE", "running", "Workload is now running");
    }
}

/* Targon's error body: {"error": the message, "reason": a code} (targon-sdk libs/go/http.go
 * errorBody and apiErrorFromResponse; libs/python core/objects.py _handle_response). The codes
 * here are the simulator's own in the style of the published ones (WORKLOAD_SANDBOX_...). */
static const char *code_for(int status)
{
    switch (status) {
    case 400:
        return "BAD_REQUEST";
    case 401:
        return "UNAUTHORIZED";
    case 403:
        return "FORBIDDEN";
    case 404:
        return "NOT_FOUND";
    case 409:
        return "CONFLICT";
    case 413:
        return "PAYLOAD_TOO_LARGE";
    case 429:
        return "RATE_LIMITED";
    case 502:
        return "BAD_GATEWAY";
    case 503:
        return "SERVICE_UNAVAILABLE";
    case 504:
        return "GATEWAY_TIMEOUT";
    default:
        return status >= 500 ? "INTERNAL_ERROR" : "ERROR";
    }
}

void sim_targon_error(sim_resp *rs, int status, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "error", message && message[0] ? message : code_for(status));
        cJSON_AddStringToObject(j, "reason", code_for(status));
    }
    sim_json(rs, status, j);
}

/* The answer when a resource has no units left: 409 with a capacity code (modelled on
 * WORKLOAD_SANDBOX_NO_CAPACITY, libs/go/errors.go). */
void sim_targon_capacity(sim_resp *rs)
{
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(
            j, "error", "no capacity available for the requested resource; try again later");
        cJSON_AddStringToObject(j, "reason", "WORKLOAD_NO_CAPACITY");
    }
    sim_json(rs, 409, j);
}

int sim_targon_auth(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)state;
    const char *h = sim_header(rq, "Authorization");
    const char *secret = sim_secret(s);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        sim_targon_error(rs, 401, "missing Authorization: Bearer <api key> header");
        return -1;
    }
    const char *tok = h + 7;
    size_t tl = strlen(tok), sl = strlen(secret ? secret : "");
    unsigned diff = (unsigned)(tl != sl);
    for (size_t i = 0; i < tl && i < sl; i++)
        diff |= (unsigned)(tok[i] ^ secret[i]);
    if (diff || sl == 0) {
        sim_targon_error(rs, 401, "invalid API key");
        return -1;
    }
    return 0;
}

cJSON *sim_targon_dump(void *state)
{
    sim_targon_state *st = state;
    cJSON *j = cJSON_CreateObject();
    cJSON *wl = cJSON_AddArrayToObject(j, "workloads");
    cJSON *inv = cJSON_AddArrayToObject(j, "inventory");
    if (!j || !wl || !inv) {
        cJSON_Delete(j);
        return NULL;
    }
    for (int i = 0; i < st->nwl; i++) {
        cJSON *w = sim_targon_wl_json(st, st->wl[i], false);
        if (!w) continue;
        char dg[72];
        sim_targon_digest(spec_str(st->wl[i], "image"), dg);
        cJSON_AddStringToObject(w, "image_digest", dg);
        cJSON_AddBoolToObject(w, "holds_unit", st->wl[i]->holds_unit);
        cJSON_AddItemToObject(w, "events", cJSON_Duplicate(st->wl[i]->events, 1));
        cJSON_AddItemToArray(wl, w);
    }
    for (int i = 0; i < st->ninv; i++)
        cJSON_AddItemToArray(inv, sim_targon_inventory_json(&st->inv[i]));
    cJSON *keys = cJSON_AddArrayToObject(j, "ssh_keys");
    for (int i = 0; keys && i < st->nkeys; i++)
        cJSON_AddItemToArray(keys, sim_targon_key_json(&st->keys[i]));
    return j;
}
