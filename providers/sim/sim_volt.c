/* sim_volt.c: the VoltageGPU Volt API simulator (seed 004): routes under /api/volt, the
 * account (balance, X-API-Key auth, 1,000 requests/hour), the machine inventory, the clock
 * that moves pods through their states, Volt-format errors and the state dump.
 *
 * Where the seed is silent: no capacity -> 409 NO_CAPACITY; a Targon cost_per_hour below the
 * live price -> 409 PRICE_CHANGED; a Lium-standard create needs template_id (no bare image);
 * gpu_count/volume_size_gb changes while not stopped -> 409 POD_NOT_STOPPED; start/stop in
 * the wrong state -> 409 INVALID_STATE; a deleted pod leaves GET /pods but GET /pods/:id still
 * answers with status "deleted"; the $500 balance falls with running time (pods are not
 * stopped when it runs out); stopping a pod gives its GPUs back, starting takes them again. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_internal.h"
#include "providers/sim/sim_volt_int.h"

/* ---- errors ---- */

static const char *code_for(int status)
{
    switch (status) {
    case 400:
        return "VALIDATION_ERROR";
    case 401:
        return "INVALID_API_KEY";
    case 402:
        return "INSUFFICIENT_BALANCE";
    case 403:
        return "FORBIDDEN";
    case 404:
        return "NOT_FOUND";
    case 405:
        return "METHOD_NOT_ALLOWED";
    case 409:
        return "CONFLICT";
    case 413:
        return "PAYLOAD_TOO_LARGE";
    case 429:
        return "RATE_LIMITED";
    case 502:
        return "UPSTREAM_UNAVAILABLE";
    case 503:
        return "SERVICE_UNAVAILABLE";
    case 504:
        return "GATEWAY_TIMEOUT";
    default:
        return status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST";
    }
}

static void err_body(sim_resp *rs, int status, const char *code, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddBoolToObject(j, "error", 1);
        cJSON_AddNumberToObject(j, "status", status);
        cJSON_AddStringToObject(j, "message", message);
        cJSON_AddStringToObject(j, "code", code);
    }
    sim_json(rs, status, j);
}

void sim_volt_err(sim_resp *rs, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) msg[0] = '\0';
    err_body(rs, status, code, msg);
}

/* Volt's own wording (the seed's error table) for statuses injected without a reason. */
static const char *standard_message(int status)
{
    switch (status) {
    case 429:
        return "Rate limit exceeded (1,000 req/hour). Wait for the Retry-After period.";
    case 500:
        return "Unexpected server error. Retry with exponential backoff. Contact support if "
               "persistent.";
    case 502:
        return "Upstream provider (Lium/Targon) temporarily unavailable. Retry after a few "
               "seconds.";
    case 503:
        return "Service temporarily unavailable. Retry after a few seconds.";
    case 504:
        return "Upstream provider (Lium/Targon) did not answer in time.";
    default:
        return NULL;
    }
}

int sim_volt_only(sim_resp *rs, const cJSON *body, const char *const *allowed)
{
    char err[GB_JSON_ERR_MAX];
    if (!cJSON_IsObject(body)) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR", "request body must be a JSON object");
        return -1;
    }
    if (gb_json_only_keys(body, allowed, err) != GB_OK) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR", "%s", err);
        return -1;
    }
    return 0;
}

/* The framework's hook: platform error for a status (faults, bad JSON, unknown routes). */
static void volt_error(sim_resp *rs, int status, const char *message)
{
    const char *std = standard_message(status);
    if (std && (!message || !message[0] || strcmp(message, "injected fault") == 0)) message = std;
    err_body(rs, status, code_for(status), message ? message : "");
}

/* Capacity: 409 with code NO_CAPACITY (the seed documents no capacity error; 409 says "not
 * now, with this request" and is not retried blindly by clients, unlike 503). */
static void volt_capacity_error(sim_resp *rs)
{
    err_body(rs, 409, "NO_CAPACITY",
             "No capacity: not enough GPUs available for this request right now. Try another "
             "machine or fewer GPUs.");
}

/* ---- inventory (the seed's three machines plus a few more) ---- */

static const sv_machine INVENTORY[] = {
    {"mach_rtx4090_01", "RTX 4090", 4, 24, 32, 128, 2000, 390000, 3, "US-East", "lium", false},
    {"mach_rtx4090_02", "RTX 4090", 8, 24, 64, 256, 4000, 420000, 8, "US-West", "lium", false},
    {"mach_a100_01", "A100 80GB", 8, 80, 96, 1024, 4000, 1290000, 8, "US-East", "lium", false},
    {"mach_l40s_01", "L40S", 4, 48, 48, 256, 2000, 890000, 4, "EU-Central", "lium", false},
    {"mach_h100_02", "H100 80GB", 8, 80, 128, 512, 8000, 2690000, 4, "EU-West", "lium", false},
    {"mach_h200_targon_01", "H200", 8, 141, 128, 1024, 8000, 2400000, 8, "US-Central", "targon",
     true},
    {"mach_b200_targon_01", "B200", 8, 180, 192, 2048, 16000, 4900000, 8, "US-Central", "targon",
     true},
};

static cJSON *machine_json(const sv_machine *m)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "id", m->id);
    cJSON_AddStringToObject(j, "gpu_type", m->gpu_type);
    cJSON_AddNumberToObject(j, "gpu_count", m->gpu_count);
    cJSON_AddNumberToObject(j, "gpu_vram_gb", m->gpu_vram_gb);
    cJSON_AddNumberToObject(j, "cpu_cores", m->cpu_cores);
    cJSON_AddNumberToObject(j, "ram_gb", m->ram_gb);
    cJSON_AddNumberToObject(j, "storage_gb", m->storage_gb);
    gb_json_add_money(j, "cost_per_gpu_hour", m->cost_per_gpu_hour);
    cJSON_AddNumberToObject(j, "available_gpus", m->available_gpus);
    cJSON_AddStringToObject(j, "location", m->location);
    cJSON_AddStringToObject(j, "provider", m->provider);
    if (m->confidential) cJSON_AddBoolToObject(j, "confidential", 1);
    return j;
}

static void machines_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    (void)rq;
    sv_state *st = state;
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = j ? cJSON_AddArrayToObject(j, "machines") : NULL;
    for (size_t i = 0; arr && i < st->nmachines; i++)
        cJSON_AddItemToArray(arr, machine_json(&st->machines[i]));
    if (j) cJSON_AddNumberToObject(j, "total", (double)st->nmachines);
    sim_json(rs, 200, j);
}

/* ---- money ---- */

int64_t sim_volt_pod_running_ms(const sv_state *st, const sv_pod *p)
{
    int64_t ms = p->running_ms;
    if (p->running_since && st->now > p->running_since) ms += st->now - p->running_since;
    return ms;
}

gb_money sim_volt_pod_cost(const sv_state *st, const sv_pod *p)
{
    gb_money c = 0;
    if (gb_money_mul_ratio(p->cost_per_hour, sim_volt_pod_running_ms(st, p), SV_HOUR_MS, &c))
        c = GB_MONEY_MAX;
    return c;
}

gb_money sim_volt_balance(const sv_state *st)
{
    gb_money b = st->balance_start - st->spent;
    for (size_t i = 0; i < st->npods; i++)
        if (st->pods[i].status != SV_DELETED) b -= sim_volt_pod_cost(st, &st->pods[i]);
    return b;
}

/* ---- clock ---- */

static void assign_ip(sv_state *st, sv_pod *p)
{
    unsigned n = st->ip_seq++;
    snprintf(p->ip, sizeof(p->ip), "203.0.%u.%u", 113u + (n / 254u) % 8u, n % 254u + 1u);
}

static void volt_tick(void *state, int64_t now_ms)
{
    sv_state *st = state;
    if (now_ms > st->now) st->now = now_ms;
    for (size_t i = 0; i < st->npods; i++) {
        sv_pod *p = &st->pods[i];
        if ((p->status == SV_DEPLOYING || p->status == SV_STARTING) && st->now >= p->until) {
            p->status = SV_RUNNING;
            p->running_since = p->until; /* billing starts when it is running */
            assign_ip(st, p);
            const cJSON *env = NULL;
            for (size_t k = 0; k < st->ntpls; k++)
                if (strcmp(st->tpls[k].id, p->template_id) == 0) env = st->tpls[k].env_vars;
            sim_trainer_start(st->srv, p->id, p->image, env);
        } else if (p->status == SV_STOPPING && st->now >= p->until) {
            sim_trainer_stop(st->srv, p->id);
            p->status = SV_STOPPED;
            p->ip[0] = '\0';
        }
    }
}

/* ---- auth and the per-key rate limit ---- */

static int volt_auth(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sv_state *st = state;
    const char *key = sim_header(rq, "X-API-Key");
    const char *secret = sim_secret(s);
    if (!key || !secret || strcmp(key, secret) != 0) {
        err_body(rs, 401, "INVALID_API_KEY",
                 "Invalid API key. Generate a new key at Dashboard > API Keys.");
        return -1;
    }
    int64_t now = sim_now(s);
    if (now > st->now) st->now = now;
    if (st->window_start == 0 || st->now - st->window_start >= SV_HOUR_MS) {
        st->window_start = st->now;
        st->window_used = 0;
    }
    if (st->window_used >= st->rate_limit) {
        int64_t left = st->window_start + SV_HOUR_MS - st->now;
        /* the window runs on the simulator's clock, Retry-After is in real seconds: at speed
         * 1200 the hour ends 3 s from now, not in an hour (brokers slept 60 s capped waits) */
        double speed = sim_clock_speed(s);
        if (speed > 1) left = (int64_t)((double)left / speed);
        int64_t secs = (left + 999) / 1000;
        if (secs < 1 || secs > 3600) secs = secs < 1 ? 1 : 3600;
        snprintf(rs->retry_after, sizeof(rs->retry_after), "%d", (int)secs);
        sim_volt_err(rs, 429, "RATE_LIMITED",
                     "Rate limit exceeded (%d requests/hour). Retry after %lld seconds.",
                     st->rate_limit, (long long)secs);
        return -1;
    }
    st->window_used++;
    return 0;
}

/* ---- state ---- */

static void *volt_state_new(sim_server *s)
{
    sv_state *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->srv = s;
    st->now = sim_now(s);
    st->nmachines = GB_ARRAY_LEN(INVENTORY);
    memcpy(st->machines, INVENTORY, sizeof(INVENTORY));
    st->balance_start = SV_BALANCE;
    st->rate_limit = SV_RATE_LIMIT;
    sim_volt_tpls_seed(st);
    return st;
}

static void volt_state_free(void *state)
{
    sv_state *st = state;
    if (!st) return;
    for (size_t i = 0; i < st->nkeys; i++)
        free(st->keys[i].public_key);
    for (size_t i = 0; i < st->ntpls; i++) {
        cJSON_Delete(st->tpls[i].ports);
        cJSON_Delete(st->tpls[i].env_vars);
    }
    free(st->pods);
    free(st);
}

static cJSON *volt_dump(void *state)
{
    sv_state *st = state;
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    gb_json_add_money(j, "balance", sim_volt_balance(st));
    gb_json_add_money(j, "spent_on_deleted_pods", st->spent);
    cJSON_AddNumberToObject(j, "rate_limit_per_hour", st->rate_limit);
    cJSON_AddNumberToObject(j, "requests_this_hour", st->window_used);
    cJSON *ms = cJSON_AddArrayToObject(j, "machines");
    for (size_t i = 0; ms && i < st->nmachines; i++)
        cJSON_AddItemToArray(ms, machine_json(&st->machines[i]));
    cJSON *ps = cJSON_AddArrayToObject(j, "pods");
    for (size_t i = 0; ps && i < st->npods; i++)
        cJSON_AddItemToArray(ps, sim_volt_pod_json(st, &st->pods[i], true));
    cJSON *ks = cJSON_AddArrayToObject(j, "ssh_keys");
    for (size_t i = 0; ks && i < st->nkeys; i++)
        cJSON_AddItemToArray(ks, sim_volt_key_json(&st->keys[i]));
    cJSON *ts = cJSON_AddArrayToObject(j, "templates");
    for (size_t i = 0; ts && i < st->ntpls; i++)
        cJSON_AddItemToArray(ts, sim_volt_tpl_json(&st->tpls[i], false));
    return j;
}

static const sim_route ROUTES[] = {
    {"GET", "/api/volt/machines", machines_list},
    {"GET", "/api/volt/pods", sim_volt_pods_list},
    {"POST", "/api/volt/pods", sim_volt_pods_create},
    {"GET", "/api/volt/pods/:id", sim_volt_pod_get},
    {"PUT", "/api/volt/pods/:id", sim_volt_pod_put},
    {"DELETE", "/api/volt/pods/:id", sim_volt_pod_delete},
    {"POST", "/api/volt/pods/:id/start", sim_volt_pod_start},
    {"POST", "/api/volt/pods/:id/stop", sim_volt_pod_stop},
    {"GET", "/api/volt/ssh-keys", sim_volt_keys_list},
    {"POST", "/api/volt/ssh-keys", sim_volt_keys_create},
    {"DELETE", "/api/volt/ssh-keys/:id", sim_volt_key_delete},
    {"GET", "/api/volt/templates", sim_volt_tpls_list},
    {"POST", "/api/volt/templates", sim_volt_tpls_create},
    {"GET", "/api/volt/templates/:id", sim_volt_tpl_get},
    {"DELETE", "/api/volt/templates/:id", sim_volt_tpl_delete},
};

static const sim_platform VOLT = {
    .name = "volt",
    .routes = ROUTES,
    .nroutes = GB_ARRAY_LEN(ROUTES),
    .state_new = volt_state_new,
    .state_free = volt_state_free,
    .tick = volt_tick,
    .auth = volt_auth,
    .error = volt_error,
    .capacity_error = volt_capacity_error,
    .dump = volt_dump,
    .workloads = sim_volt_workloads,
    .api_path = "",
};

const sim_platform *sim_platform_volt(void)
{
    return &VOLT;
}
