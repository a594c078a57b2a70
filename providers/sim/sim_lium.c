/* sim_lium.c: the Lium simulator (native API, as Lium's public SDK uses it): executor
 * inventory, X-API-KEY auth, FastAPI-style errors, routes, clock tick and state dump; pods are
 * in sim_lium_pods.c, templates and keys in sim_lium_catalog.c. It shares no code with the
 * Lium adapter. */

/* Shapes from Lium's public SDK: Datura-ai/lium lium/sdk/client.py and models.py (2026-06:
 * Lium.ls, ps, up, logs, create_template) and Datura-ai/lium-sdk lium/models/ (field types).
 * Where they are silent, the simulator chooses:
 *  - GET /executors lists the executors that can be rented now (Lium.ls: "List available
 *    nodes"); a rented one is not listed. Query: size (1-1000; the SDK sends 1000; without it
 *    a page of SIM_LIUM_PAGE_DEFAULT, the real default being unpublished), gpu_count_gte,
 *    gpu_count_lte, machine_names; other query arguments are ignored, as FastAPI does.
 *    specs.ram and specs.hard_disk are kB and specs.gpu.details[].capacity MiB, as Lium's
 *    machine scrape reports them. location is {country (ISO code), country_code, region,
 *    city, ...}.
 *  - Errors are FastAPI's: {"detail": "..."}; body/query validation 422 with
 *    {"detail":[{"loc":[...],"msg","type"}]}, unknown body fields included (extra_forbidden);
 *    no X-API-KEY 403 "Not authenticated"; a wrong one 401 "Invalid API key". Renting a rented
 *    executor (and the capacity fault) answers 400 {"detail":"Executor is not available"}; an
 *    unknown executor 404; an unknown template 400 "Template not found".
 *  - A pod's "price" is its total per hour (price_per_gpu x GPUs). Statuses: PENDING, RUNNING
 *    (ssh_connect_cmd null until SIM_LIUM_READY_MS), DELETING, then 404.
 *  - GET /pods/{id}/logs?tail=N&follow=B: text/event-stream, one "data: {\"log\": ...}" event
 *    per line (lium/cli/logs/actions.py parses this), the last N lines. Templates are verified
 *    at once (VERIFY_SUCCESS); docker_image carries no tag (docker_image_tag does); a
 *    one_time_template is deleted when its pod is gone.
 *  - The dump adds rented_by_pod and rent_count to each executor and logs_calls,
 *    logs_tail, logs_follow (the last logs query), for tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/str.h"
#include "providers/sim/sim_lium.h"

#define SIM_LIUM_PAGE_DEFAULT 5
#define USD(d, c) ((gb_money)(d)*GB_MONEY_PER_DOLLAR + (gb_money)(c)*10000)

/* The fixed inventory: machine names as NVML reports them, per-GPU prices per hour. */
static const sim_lium_exec_spec INVENTORY[SIM_LIUM_NEXEC] = {
    {"6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e01", "NVIDIA H100 80GB HBM3", 8, 81559, USD(2, 10), 192,
     "Intel(R) Xeon(R) Platinum 8468", 2048, 16000, "US", "East", "Ashburn", "secure",
     "198.51.100.11"},
    {"6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e02", "NVIDIA GeForce RTX 4090", 4, 24564, USD(0, 35), 64,
     "AMD EPYC 7443P 24-Core Processor", 256, 4000, "CA", "Quebec", "Montreal", "spot",
     "198.51.100.12"},
    {"6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e03", "NVIDIA H200", 8, 143771, USD(2, 90), 224,
     "Intel(R) Xeon(R) Platinum 8480+", 3072, 30000, "US", "Central", "Dallas", "secure",
     "198.51.100.13"},
    {"6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e04", "NVIDIA A100-SXM4-80GB", 8, 81920, USD(1, 20), 128,
     "AMD EPYC 7763 64-Core Processor", 1024, 14000, "NL", "North Holland", "Amsterdam", "secure",
     "198.51.100.14"},
    {"6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e05", "NVIDIA B200", 8, 183359, USD(4, 50), 256,
     "Intel(R) Xeon(R) Platinum 8570", 4096, 30000, "US", "West", "San Jose", "secure",
     "198.51.100.15"},
    {"6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e06", "NVIDIA H100 80GB HBM3", 1, 81559, USD(2, 25), 24,
     "Intel(R) Xeon(R) Platinum 8468", 240, 2000, "FI", "Uusimaa", "Helsinki", "spot",
     "198.51.100.16"},
    {"6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e07", "NVIDIA GeForce RTX 4090", 2, 24564, USD(0, 38), 32,
     "AMD Ryzen Threadripper PRO 5975WX", 128, 2000, "US", "West", "Los Angeles", "spot",
     "198.51.100.17"},
    {"6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e08", "NVIDIA L40S", 4, 46068, USD(0, 85), 64,
     "AMD EPYC 9354 32-Core Processor", 512, 8000, "US", "East", "New York", "spot",
     "198.51.100.18"},
};

void sim_lium_uuid(char out[37])
{
    unsigned char b[16];
    gb_random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

void sim_lium_time(cJSON *obj, const char *key, int64_t ms)
{
    char buf[32];
    gb_time_format(ms, buf, sizeof(buf));
    cJSON_AddStringToObject(obj, key, buf);
}

void sim_lium_invalid(sim_resp *rs, const char *field, const char *msg, const char *type)
{
    bool q = gb_str_starts_with(field, "query.");
    cJSON *j = cJSON_CreateObject();
    cJSON *detail = cJSON_AddArrayToObject(j, "detail");
    cJSON *e = cJSON_CreateObject();
    cJSON *loc = cJSON_AddArrayToObject(e, "loc");
    cJSON_AddItemToArray(loc, cJSON_CreateString(q ? "query" : "body"));
    cJSON_AddItemToArray(loc, cJSON_CreateString(q ? field + 6 : field));
    cJSON_AddStringToObject(e, "msg", msg);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddItemToArray(detail, e);
    sim_json(rs, 422, j);
}

int sim_lium_only(sim_resp *rs, const cJSON *b, const char *const *allowed)
{
    if (!cJSON_IsObject(b)) {
        sim_lium_invalid(rs, "__root__", "Input should be a valid dictionary", "dict_type");
        return -1;
    }
    const cJSON *k;
    cJSON_ArrayForEach(k, b)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], k->string) == 0;
        if (!ok) {
            sim_lium_invalid(rs, k->string, "Extra inputs are not permitted", "extra_forbidden");
            return -1;
        }
    }
    return 0;
}

static void add_money(cJSON *obj, const char *key, gb_money m)
{
    cJSON_AddNumberToObject(obj, key, (double)m / (double)GB_MONEY_PER_DOLLAR);
}

cJSON *sim_lium_exec_json(const sim_lium_state *st, int i)
{
    const sim_lium_exec_spec *x = st->exec[i].spec;
    bool rented = st->exec[i].pod_id[0] != '\0';
    gb_money per_gpu = x->price_per_gpu * st->price_pct / 100;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", x->id);
    cJSON_AddStringToObject(j, "machine_name", x->machine_name);
    add_money(j, "price_per_gpu", per_gpu);
    cJSON *loc = cJSON_AddObjectToObject(j, "location");
    cJSON_AddStringToObject(loc, "country", x->country);
    cJSON_AddStringToObject(loc, "region", x->region);
    cJSON_AddStringToObject(loc, "city", x->city);
    cJSON_AddStringToObject(loc, "country_code", x->country);
    cJSON_AddStringToObject(loc, "timezone", "UTC");
    add_money(j, "price_per_hour", per_gpu * x->gpu_count);
    cJSON_AddStringToObject(j, "status", rented ? "rented" : "available");
    cJSON_AddStringToObject(j, "tier", x->tier);
    cJSON_AddStringToObject(j, "executor_ip_address", x->ip);
    cJSON_AddStringToObject(j, "validator_hotkey",
                            "5F4sim0000000000000000000000000000000000000000");
    cJSON_AddNumberToObject(j, "uptime_in_minutes", 43200);
    cJSON_AddNumberToObject(j, "max_cuda_version", 12.4);
    cJSON_AddNumberToObject(j, "effective_upload_speed_mbps", 2500);
    cJSON_AddNumberToObject(j, "effective_download_speed_mbps", 5000);
    cJSON *specs = cJSON_AddObjectToObject(j, "specs");
    cJSON *gpu = cJSON_AddObjectToObject(specs, "gpu");
    cJSON_AddNumberToObject(gpu, "count", x->gpu_count);
    cJSON_AddStringToObject(gpu, "driver", "550.127.05");
    cJSON *details = cJSON_AddArrayToObject(gpu, "details");
    for (int g = 0; g < x->gpu_count; g++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "name", x->machine_name);
        cJSON_AddNumberToObject(d, "capacity", x->gpu_mem_mb); /* MiB, as NVML / 2^20 */
        cJSON_AddItemToArray(details, d);
    }
    cJSON *cpu = cJSON_AddObjectToObject(specs, "cpu");
    cJSON_AddNumberToObject(cpu, "count", x->cpu_count);
    cJSON_AddStringToObject(cpu, "model", x->cpu_model);
    cJSON *ram = cJSON_AddObjectToObject(specs, "ram");
    cJSON_AddNumberToObject(ram, "total", (double)x->ram_gb * 1024.0 * 1024.0); /* kB */
    cJSON_AddNumberToObject(ram, "used", 0);
    cJSON_AddNumberToObject(ram, "free", (double)x->ram_gb * 1024.0 * 1024.0);
    cJSON *disk = cJSON_AddObjectToObject(specs, "hard_disk");
    cJSON_AddNumberToObject(disk, "total", (double)x->disk_gb * 1024.0 * 1024.0); /* kB */
    cJSON_AddNumberToObject(disk, "used", 0);
    cJSON_AddNumberToObject(disk, "free", (double)x->disk_gb * 1024.0 * 1024.0);
    cJSON_AddNumberToObject(specs, "available_port_count", 100);
    cJSON_AddStringToObject(specs, "os", "Ubuntu 22.04.4 LTS");
    cJSON_AddBoolToObject(specs, "sysbox_runtime", true);
    return j;
}

const cJSON *sim_lium_template_find(const sim_lium_state *st, const char *id)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, st->templates)
    {
        const cJSON *tid = cJSON_GetObjectItemCaseSensitive(t, "id");
        if (cJSON_IsString(tid) && id && strcmp(tid->valuestring, id) == 0) return t;
    }
    return NULL;
}

/* Reads an optional integer query argument; answers 422 and returns -1 when malformed. */
static int query_int(const sim_req *rq, const char *name, int *out, sim_resp *rs)
{
    const char *v = sim_query(rq, name);
    if (!v || !v[0]) return 0;
    if (gb_parse_int(v, 0, 1000000, out) != 0) {
        char field[64];
        snprintf(field, sizeof(field), "query.%s", name);
        sim_lium_invalid(rs, field, "value is not a valid integer", "type_error.integer");
        return -1;
    }
    return 1;
}

/* machine_names: a comma-separated list of exact machine names (as the SDK sends). */
static bool name_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        while (len && *p == ' ')
            p++, len--;
        while (len && p[len - 1] == ' ')
            len--;
        if (len == n && strncmp(p, name, n) == 0) return true;
        p = c ? c + 1 : NULL;
    }
    return false;
}

static void h_executors(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sim_lium_state *st = state;
    int gte = 0, lte = 1000000, size = SIM_LIUM_PAGE_DEFAULT;
    if (query_int(rq, "gpu_count_gte", &gte, rs) < 0) return;
    if (query_int(rq, "gpu_count_lte", &lte, rs) < 0) return;
    if (query_int(rq, "size", &size, rs) < 0) return;
    if (size < 1 || size > 1000) {
        sim_lium_invalid(rs, "query.size", "ensure this value is between 1 and 1000",
                         "value_error.number");
        return;
    }
    const char *names = sim_query(rq, "machine_names");
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < SIM_LIUM_NEXEC && cJSON_GetArraySize(arr) < size; i++) {
        const sim_lium_exec_spec *x = st->exec[i].spec;
        if (st->exec[i].pod_id[0]) continue; /* rented: not offered */
        if (x->gpu_count < gte || x->gpu_count > lte) continue;
        if (names && names[0] && !name_listed(names, x->machine_name)) continue;
        cJSON_AddItemToArray(arr, sim_lium_exec_json(st, i));
    }
    sim_json(rs, 200, arr);
}

static const sim_route ROUTES[] = {
    {"GET", "/api/executors", h_executors},
    {"POST", "/api/executors/:id/rent", sim_lium_rent},
    {"GET", "/api/pods", sim_lium_pods_list},
    {"GET", "/api/pods/:id", sim_lium_pod_get},
    {"DELETE", "/api/pods/:id", sim_lium_pod_delete},
    {"GET", "/api/pods/:id/logs", sim_lium_pod_logs},
    {"GET", "/api/templates", sim_lium_templates_list},
    {"POST", "/api/templates", sim_lium_template_create},
    {"GET", "/api/templates/:id", sim_lium_template_get},
    {"DELETE", "/api/templates/:id", sim_lium_template_delete},
    {"GET", "/api/ssh-keys", sim_lium_keys_list},
    {"POST", "/api/ssh-keys", sim_lium_key_create},
};

static void state_free(void *state)
{
    sim_lium_state *st = state;
    if (!st) return;
    for (int i = 0; i < st->npods; i++)
        cJSON_Delete(st->pods[i].keys);
    cJSON_Delete(st->templates);
    cJSON_Delete(st->keys);
    free(st);
}

static void *state_new(sim_server *s)
{
    sim_lium_state *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->srv = s;
    st->next_port = 40000;
    st->price_pct = 100;
    for (int i = 0; i < SIM_LIUM_NEXEC; i++)
        st->exec[i].spec = &INVENTORY[i];
    st->templates = cJSON_CreateArray();
    st->keys = cJSON_CreateArray();
    if (!st->templates || !st->keys || sim_lium_templates_init(st, sim_now(s)) != 0) {
        state_free(st);
        return NULL;
    }
    return st;
}

static void reprice(void *state, int percent)
{
    ((sim_lium_state *)state)->price_pct = percent;
}

static void tick(void *state, int64_t now_ms)
{
    sim_lium_pods_tick(state, now_ms);
}

/* Compares without an early exit, so timing does not reveal the key's prefix. */
static bool key_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

static void error_body(sim_resp *rs, int status, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "detail", message);
    sim_json(rs, status, j);
}

/* Lium checks X-API-KEY: FastAPI's APIKeyHeader answers 403 "Not authenticated" when the
 * header is missing; a key that matches no account gets 401 "Invalid API key". */
static int auth(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)state;
    const char *k = sim_header(rq, "X-API-KEY");
    if (!k || !k[0]) {
        error_body(rs, 403, "Not authenticated");
        return -1;
    }
    const char *secret = sim_secret(s);
    if (!secret || !key_equal(k, secret)) {
        error_body(rs, 401, "Invalid API key");
        return -1;
    }
    return 0;
}

static void capacity_error(sim_resp *rs)
{
    error_body(rs, 400, "Executor is not available");
}

static cJSON *dump(void *state)
{
    sim_lium_state *st = state;
    int64_t now = sim_now(st->srv);
    cJSON *j = cJSON_CreateObject();
    cJSON *ex = cJSON_AddArrayToObject(j, "executors");
    for (int i = 0; i < SIM_LIUM_NEXEC; i++) {
        cJSON *e = sim_lium_exec_json(st, i);
        cJSON_AddStringToObject(e, "rented_by_pod", st->exec[i].pod_id);
        cJSON_AddNumberToObject(e, "rent_count", st->exec[i].rents);
        cJSON_AddItemToArray(ex, e);
    }
    cJSON *pods = cJSON_AddArrayToObject(j, "pods");
    for (int i = 0; i < st->npods; i++)
        cJSON_AddItemToArray(pods, sim_lium_pod_json(st, &st->pods[i], now));
    cJSON_AddItemToObject(j, "templates", cJSON_Duplicate(st->templates, 1));
    cJSON_AddNumberToObject(j, "logs_calls", st->logs_calls);
    cJSON_AddStringToObject(j, "logs_tail", st->logs_tail);
    cJSON_AddStringToObject(j, "logs_follow", st->logs_follow);
    cJSON_AddItemToObject(j, "ssh_keys", cJSON_Duplicate(st->keys, 1));
    return j;
}

static const sim_platform LIUM = {
    .name = "lium",
    .routes = ROUTES,
    .nroutes = sizeof(ROUTES) / sizeof(ROUTES[0]),
    .state_new = state_new,
    .state_free = state_free,
    .tick = tick,
    .auth = auth,
    .error = error_body,
    .capacity_error = capacity_error,
    .dump = dump,
    .workloads = sim_lium_workloads,
    .reprice = reprice,
    .api_path = "/api",
};

const sim_platform *sim_platform_lium(void)
{
    return &LIUM;
}
