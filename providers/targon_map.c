/* targon_map.c: the Targon adapter's translation of Targon answers into the unified model:
 * statuses, workloads, inventory offers, events, capacity errors, and the API paths. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/targon.h"

/* Every status Targon sends: registered, provisioning, running, error, suspended, deleted
 * (targon-sdk cli/src/client/types/common.rs State; libs/go/workload.go terminal states), and
 * the old seed's "deploying". Compared case-insensitively. */
static const struct {
    const char *raw;
    pod_status st;
} STATUS_MAP[] = {
    {"registered", POD_PENDING}, {"deploying", POD_DEPLOYING}, {"provisioning", POD_DEPLOYING},
    {"running", POD_RUNNING},    {"error", POD_FAILED},        {"suspended", POD_STOPPED},
    {"deleted", POD_DELETED},
};

pod_status prov_targon_map_status(const char *raw)
{
    if (!raw) return POD_UNKNOWN;
    while (*raw == ' ')
        raw++;
    size_t n = strlen(raw);
    while (n && raw[n - 1] == ' ')
        n--;
    for (size_t i = 0; i < GB_ARRAY_LEN(STATUS_MAP); i++)
        if (strlen(STATUS_MAP[i].raw) == n && strncasecmp(raw, STATUS_MAP[i].raw, n) == 0)
            return STATUS_MAP[i].st;
    return POD_UNKNOWN;
}

/* ---- paths ---- */

static bool slug_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return n > 0 && n <= max;
}

int prov_targon_version(const cJSON *settings, char *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(settings, "api_version");
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(settings, "org");
    int version = 3; /* the current API; v2 only when a provider says so */
    if (cJSON_IsString(v) && strcmp(v->valuestring, "v2") == 0)
        version = 2;
    else if (v && !cJSON_IsNull(v) && !(cJSON_IsString(v) && strcmp(v->valuestring, "v3") == 0)) {
        snprintf(err, PROV_ERR_MAX, "targon settings: api_version must be \"v2\" or \"v3\"");
        return -1;
    }
    if (o && !cJSON_IsNull(o) && !(cJSON_IsString(o) && slug_ok(o->valuestring, 64))) {
        snprintf(
            err, PROV_ERR_MAX,
            "targon settings: org must be an organization slug (1-64 letters, digits, - or _)");
        return -1;
    }
    return version;
}

gb_err prov_targon_path_for(int version, const char *org, const char *kind, const char *suffix,
                            char *out, size_t n, char *err)
{
    int rc;
    if (version == 3 && !slug_ok(org, 64)) {
        snprintf(err, PROV_ERR_MAX,
                 "targon: the v3 API needs an organization slug (1-64 letters, digits, - or _)");
        return GB_ERR_INVALID;
    }
    /* v3 paths: targon-sdk libs/go/constants.go orgPath; v2: docs.targon.com/api/workloads. */
    if (version == 3)
        rc = gb_snprintf(out, n, "/tha/v3/orgs/%s/%s%s", org, kind, suffix ? suffix : "");
    else
        rc = gb_snprintf(out, n, "/tha/v2/%s%s", kind, suffix ? suffix : "");
    if (rc != 0) {
        snprintf(err, PROV_ERR_MAX, "targon: request path too long");
        return GB_ERR_INVALID;
    }
    return GB_OK;
}

gb_err prov_targon_inventory_path(const cJSON *settings, char *out, size_t n, char *err)
{
    int v = prov_targon_version(settings, err);
    if (v < 0) return GB_ERR_INVALID;
    if (gb_snprintf(out, n, "/tha/v%d/inventory", v) != 0) {
        snprintf(err, PROV_ERR_MAX, "targon: request path too long");
        return GB_ERR_INVALID;
    }
    return GB_OK;
}

/* ---- JSON helpers ---- */

static bool int_of(const cJSON *o, const char *key, int min, int max, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max) return false;
    *out = (int)v->valuedouble;
    return true;
}

static void copy(char *dst, size_t n, const char *src)
{
    gb_strlcpy(dst, src ? src : "", n);
}

/* ---- workloads ---- */

void prov_targon_parse_pod(const cJSON *w, prov_pod *p)
{
    memset(p, 0, sizeof(*p));
    copy(p->provider_id, sizeof(p->provider_id), gb_jstr(w, "uid"));
    copy(p->name, sizeof(p->name), gb_jstr(w, "name"));
    /* A workload nests its state; GET .../state answers with the state fields at the top. */
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(w, "state");
    if (!cJSON_IsObject(st)) st = w;
    const char *raw = gb_jstr(st, "status");
    copy(p->raw_status, sizeof(p->raw_status), raw);
    p->status = prov_targon_map_status(raw);
    copy(p->message, sizeof(p->message), gb_jstr(st, "message"));
    copy(p->ip, sizeof(p->ip), gb_jstr(st, "public_ip"));
    int port;
    if (int_of(st, "ssh_port", 1, 65535, &port)) p->ssh_port = port;
    if (p->ip[0] && p->ssh_port)
        snprintf(p->ssh_command, sizeof(p->ssh_command), "ssh -p %d root@%s", p->ssh_port, p->ip);
    const cJSON *u;
    cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(st, "urls"))
    {
        const char *url = cJSON_IsString(u) ? u->valuestring : gb_jstr(u, "url");
        if (url && url[0]) {
            copy(p->url, sizeof(p->url), url);
            break;
        }
    }
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(w, "resource");
    const char *gt = gb_jstr(res, "gpu_type");
    if (gt && gt[0]) gpu_normalize(gt, p->gpu_type, NULL);
    int count;
    if (int_of(res, "gpu_count", 0, 1024, &count)) p->gpu_count = count;
    const cJSON *cost = cJSON_GetObjectItemCaseSensitive(w, "cost_per_hour");
    gb_money m;
    if (cJSON_IsNumber(cost) && gb_money_from_double(cost->valuedouble, &m) == 0 && m >= 0)
        p->price_per_hour = m;
    int64_t at;
    const char *created = gb_jstr(w, "created_at");
    if (created && gb_time_parse(created, &at) == 0) p->created_at = at;
}

/* ---- inventory ---- */

int prov_targon_parse_offer(const cJSON *it, const char *provider, int64_t now_ms, prov_offer *o)
{
    memset(o, 0, sizeof(*o));
    const char *name = gb_jstr(it, "name");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(it, "spec");
    const cJSON *cost = cJSON_GetObjectItemCaseSensitive(it, "cost_per_hour");
    if (!name || !name[0] || strlen(name) >= sizeof(o->offer_id) || !cJSON_IsObject(spec) ||
        !cJSON_IsNumber(cost))
        return -1;
    const cJSON *gpu = cJSON_GetObjectItemCaseSensitive(it, "gpu");
    int count = 0;
    int_of(spec, "gpu_count", 0, 1024, &count);
    if (cJSON_IsFalse(gpu) || count <= 0) return 1;
    gb_money price;
    if (gb_money_from_double(cost->valuedouble, &price) != 0 || price < 0) return -1;
    const char *gt = gb_jstr(spec, "gpu_type");
    int vram = 0;
    if (gpu_normalize(gt && gt[0] ? gt : name, o->gpu_type, &vram) != 0) vram = 0;
    copy(o->provider, sizeof(o->provider), provider);
    copy(o->offer_id, sizeof(o->offer_id), name);
    snprintf(o->id, sizeof(o->id), "%s:%s", o->provider, name);
    const char *disp = gb_jstr(it, "display_name");
    copy(o->gpu_name, sizeof(o->gpu_name), disp && disp[0] ? disp : gt);
    o->gpu_count = count;
    o->gpu_vram_gb = vram;
    int v = 0;
    if (int_of(spec, "vcpu", 0, 100000, &v)) o->vcpu = v;
    /* memory and storage are in MB (MiB): docs.targon.com/api/inventory; targon-sdk
     * cli/src/commands/inventory.rs prints both with mib_to_human. */
    if (int_of(spec, "memory", 0, 1 << 30, &v)) o->ram_gb = (v + 512) / 1024;
    if (int_of(spec, "storage", 0, 1 << 30, &v)) o->storage_gb = (v + 512) / 1024;
    o->price_per_hour = price;
    if (gb_money_mul_ratio(price, 1, count, &o->price_per_gpu_hour) != 0)
        o->price_per_gpu_hour = price;
    if (int_of(it, "available", 0, 1000000, &v)) o->available = v;
    o->available_gpus = o->available * count;
    o->confidential = true; /* Targon runs every workload in Intel TDX */
    copy(o->tier, sizeof(o->tier), "secure");
    o->fetched_at = now_ms;
    return 0;
}

/* ---- events ---- */

void prov_targon_parse_event(const cJSON *e, prov_event *out)
{
    memset(out, 0, sizeof(*out));
    int64_t at;
    const char *created = gb_jstr(e, "created_at");
    if (created && gb_time_parse(created, &at) == 0) out->at = at;
    copy(out->type, sizeof(out->type), gb_jstr(e, "event_type"));
    const char *msg = gb_jstr(e, "display_message");
    if (!msg || !msg[0]) msg = gb_jstr(e, "message");
    const char *ns = gb_jstr(e, "new_status");
    const char *reason = gb_jstr(e, "reason");
    char extra[96] = "";
    if (reason && reason[0]) snprintf(extra, sizeof(extra), " (%.80s)", reason);
    /* Longer messages are cut to fit (gb_snprintf reports that; nothing to do about it). */
    if (ns && ns[0])
        (void)gb_snprintf(out->message, sizeof(out->message), "[%.32s] %s%s", ns, msg ? msg : "",
                          extra);
    else
        (void)gb_snprintf(out->message, sizeof(out->message), "%s%s", msg ? msg : "", extra);
}

/* ---- errors ---- */

static bool contains(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = s; p && *p; p++)
        if (strncasecmp(p, word, n) == 0) return true;
    return false;
}

bool prov_targon_is_capacity(const char *body, size_t len)
{
    static const char *const phrases[] = {"no capacity", "insufficient capacity", "out of capacity",
                                          "not enough capacity", "capacity exhausted"};
    cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
    /* Targon's error body is {error: message, reason: CODE} (targon-sdk libs/go/http.go
     * errorBody); a capacity code names it (WORKLOAD_SANDBOX_NO_CAPACITY in libs/go/errors.go),
     * or the message's wording says so. */
    bool yes = j && contains(gb_jstr(j, "reason"), "capacity");
    for (size_t i = 0; j && !yes && i < GB_ARRAY_LEN(phrases); i++)
        yes = contains(gb_jstr(j, "error"), phrases[i]) ||
              contains(gb_jstr(j, "message"), phrases[i]);
    cJSON_Delete(j);
    return yes;
}
