/* lium_map.c: the Lium adapter's translation of Lium JSON into gpubroker's model: executors
 * into offers, pods into prov_pod (statuses, SSH command, price), and provider_options checks. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/lium.h"

/* Raw Lium pod statuses, case-insensitive. Datura-ai/lium-sdk lium/models/pod.py lists
 * RUNNING, STOPPED, FAILED, PENDING and DELETING; PROVIDERS.md adds REBOOT_PENDING; the rest are
 * the states a rental platform's pod passes through and are mapped so that none of them lands in
 * "unknown" if Lium sends it. */
static const struct {
    const char *raw;
    pod_status st;
} STATUS_MAP[] = {
    {"PENDING", POD_PENDING},     {"CREATING", POD_DEPLOYING}, {"DEPLOYING", POD_DEPLOYING},
    {"STARTING", POD_DEPLOYING},  {"RUNNING", POD_RUNNING},    {"REBOOT_PENDING", POD_DEPLOYING},
    {"REBOOTING", POD_DEPLOYING}, {"STOPPING", POD_STOPPING},  {"DELETING", POD_STOPPING},
    {"STOPPED", POD_STOPPED},     {"FAILED", POD_FAILED},      {"ERROR", POD_FAILED},
    {"TERMINATED", POD_DELETED},  {"DELETED", POD_DELETED},
};

pod_status prov_lium_map_status(const char *raw)
{
    for (size_t i = 0; raw && i < sizeof(STATUS_MAP) / sizeof(STATUS_MAP[0]); i++)
        if (gb_str_ieq(raw, STATUS_MAP[i].raw)) return STATUS_MAP[i].st;
    return POD_UNKNOWN;
}

bool prov_lium_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > PROV_LIUM_ID_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_') return false;
    return true;
}

gb_err prov_lium_validate_options(const cJSON *o, char *err)
{
    if (!o || cJSON_IsNull(o)) return GB_OK;
    if (!cJSON_IsObject(o)) {
        snprintf(err, PROV_ERR_MAX, "provider_options: must be an object for lium");
        return GB_ERR_INVALID;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, o)
    {
        const char *k = v->string ? v->string : "";
        if (strcmp(k, "template_id") == 0 || strcmp(k, "volume_id") == 0) {
            if (!cJSON_IsString(v) || !prov_lium_id_ok(v->valuestring)) {
                snprintf(err, PROV_ERR_MAX,
                         "provider_options.%s: must be a Lium id (letters, digits, '-', at "
                         "most %d characters)",
                         k, PROV_LIUM_ID_MAX);
                return GB_ERR_INVALID;
            }
        } else if (strcmp(k, "initial_port_count") == 0) {
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
                v->valuedouble < 1 || v->valuedouble > 20) {
                snprintf(err, PROV_ERR_MAX,
                         "provider_options.initial_port_count: must be an integer 1-20");
                return GB_ERR_INVALID;
            }
        } else {
            snprintf(err, PROV_ERR_MAX,
                     "provider_options.%.64s: unknown field for lium (allowed: template_id, "
                     "volume_id, initial_port_count)",
                     k);
            return GB_ERR_INVALID;
        }
    }
    return GB_OK;
}

const cJSON *prov_lium_list_items(const cJSON *j, const char *key)
{
    if (cJSON_IsArray(j)) return j;
    const char *keys[] = {key, "items", "data"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const cJSON *v = keys[i] ? cJSON_GetObjectItemCaseSensitive(j, keys[i]) : NULL;
        if (cJSON_IsArray(v)) return v;
    }
    return NULL;
}

/* A non-negative number that fits an int (or a decimal string: Lium's pod gpu_count is a
 * string in Datura-ai/lium-sdk lium/models/pod.py), else def. */
static int int_of(const cJSON *o, const char *key, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    int n;
    if (cJSON_IsString(v)) return gb_parse_int(v->valuestring, 0, 1000000000, &n) == 0 ? n : def;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1e9) return def;
    return (int)v->valuedouble;
}

/* A price as a JSON number (or a decimal string); -1 when absent or invalid. */
/* A kB quantity (specs.ram.total, specs.hard_disk.total) in whole GB; 0 when absent. */
static int gb_of_kb(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || v->valuedouble > 1e15) return 0;
    return (int)(v->valuedouble / 1048576.0);
}

static int money_of(const cJSON *o, const char *key, gb_money *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    gb_money m;
    int rc = -1;
    if (cJSON_IsString(v))
        rc = gb_money_parse(v->valuestring, &m);
    else if (cJSON_IsNumber(v))
        rc = gb_money_from_double(v->valuedouble, &m);
    if (rc != 0 || m < 0) return -1;
    *out = m;
    return 0;
}

static const cJSON *path2(const cJSON *o, const char *a, const char *b)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);
}

/* The GPU count of an executor: specs.gpu.count, else its details, else gpu_count. */
static int exec_gpu_count(const cJSON *x)
{
    const cJSON *gpu = path2(x, "specs", "gpu");
    int n = int_of(gpu, "count", 0);
    if (n <= 0) n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(gpu, "details"));
    if (n <= 0) n = int_of(x, "gpu_count", 0);
    return n;
}

/* gpu_type and VRAM from machine_name, else specs.gpu.details[0].name (and its capacity in
 * MiB when the table does not know the GPU); name gets the platform's own name. */
static void exec_gpu(const cJSON *x, char type[32], int *vram, char *name, size_t name_n)
{
    const cJSON *d0 = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(path2(x, "specs", "gpu"), "details"), 0);
    const char *mn = gb_jstr(x, "machine_name");
    const char *dn = gb_jstr(d0, "name");
    if (!mn) mn = gb_jstr(x, "gpu_name");
    *vram = 0;
    gb_strlcpy(name, mn ? mn : dn ? dn : "", name_n);
    if (gpu_normalize(mn, type, vram) == 0) return;
    char alt[32];
    if (dn && gpu_normalize(dn, alt, vram) == 0) {
        gb_strlcpy(type, alt, 32);
        return;
    }
    if ((!mn || !mn[0]) && dn) gb_strlcpy(type, alt, 32); /* unknown either way: keep a name */
    int mib = int_of(d0, "capacity", 0);
    if (*vram == 0 && mib > 0) *vram = (mib + 512) / 1024;
}

/* "US-East" from {country, region}; a plain string location is kept. */
static void exec_location(const cJSON *x, char *out, size_t n)
{
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(x, "location");
    out[0] = '\0';
    if (cJSON_IsString(loc)) {
        gb_strlcpy(out, loc->valuestring, n);
        return;
    }
    const char *c = gb_jstr(loc, "country_code");
    if (!c) c = gb_jstr(loc, "country");
    const char *r = gb_jstr(loc, "region");
    if (!r) r = gb_jstr(loc, "city");
    if (c && c[0] && r && r[0])
        gb_snprintf(out, n, "%s-%s", c, r);
    else
        gb_strlcpy(out, c && c[0] ? c : r ? r : "", n);
}

int prov_lium_offer_from_json(const prov_adapter *a, const cJSON *x, prov_offer *o)
{
    memset(o, 0, sizeof(*o));
    const char *id = gb_jstr(x, "id");
    int count = exec_gpu_count(x);
    if (!prov_lium_id_ok(id) || count <= 0 || count > 1024) return -1;
    gb_money ppg = 0, total = 0;
    if (money_of(x, "price_per_gpu", &ppg) == 0) {
        if (gb_money_mul_ratio(ppg, count, 1, &total) != 0) return -1;
    } else if (money_of(x, "price_per_hour", &total) == 0) {
        /* older answers: the executor's total per hour */
        if (gb_money_mul_ratio(total, 1, count, &ppg) != 0) return -1;
    } else {
        return -1;
    }
    gb_snprintf(o->id, sizeof(o->id), "%s:%s", a->name, id);
    gb_strlcpy(o->provider, a->name, sizeof(o->provider));
    gb_strlcpy(o->offer_id, id, sizeof(o->offer_id));
    exec_gpu(x, o->gpu_type, &o->gpu_vram_gb, o->gpu_name, sizeof(o->gpu_name));
    o->gpu_count = count;
    const cJSON *specs = cJSON_GetObjectItemCaseSensitive(x, "specs");
    o->vcpu = int_of(cJSON_GetObjectItemCaseSensitive(specs, "cpu"), "count", 0);
    /* specs.ram.total and specs.hard_disk.total are kB, as Lium's machine scrape reports */
    o->ram_gb = gb_of_kb(cJSON_GetObjectItemCaseSensitive(specs, "ram"), "total");
    o->storage_gb = gb_of_kb(cJSON_GetObjectItemCaseSensitive(specs, "hard_disk"), "total");
    exec_location(x, o->location, sizeof(o->location));
    o->price_per_gpu_hour = ppg;
    o->price_per_hour = total;
    /* GET /executors lists what can be rented now (Lium.ls: "List available nodes"); a whole
     * executor is one unit. A status saying otherwise (seen in pods' executor objects) wins. */
    const char *status = gb_jstr(x, "status");
    static const char *const busy[] = {"rented", "unavailable", "offline", "occupied"};
    bool free_now = true;
    for (size_t i = 0; status && i < sizeof(busy) / sizeof(busy[0]); i++)
        if (gb_str_ieq(status, busy[i])) free_now = false;
    o->available_gpus = free_now ? count : 0;
    o->available = free_now ? 1 : 0;
    const char *tier = gb_jstr(x, "tier");
    if (tier && (gb_str_ieq(tier, "spot") || gb_str_ieq(tier, "secure"))) {
        for (size_t i = 0; tier[i] && i + 1 < sizeof(o->tier); i++)
            o->tier[i] = (char)tolower((unsigned char)tier[i]);
    }
    o->confidential = false;
    o->fetched_at = gb_now_ms();
    return 0;
}

int prov_lium_parse_ssh(const char *cmd, char *user, size_t user_n, char *host, size_t host_n,
                        int *port)
{
    user[0] = host[0] = '\0';
    *port = 0;
    if (!cmd || strlen(cmd) > 512) return -1;
    char tok[8][160];
    int n = 0;
    for (const char *p = cmd; *p && n < 8;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p) break;
        size_t len = strcspn(p, " \t");
        if (len >= sizeof(tok[0])) return -1;
        memcpy(tok[n], p, len);
        tok[n++][len] = '\0';
        p += len;
    }
    if (n < 2 || strcmp(tok[0], "ssh") != 0) return -1;
    for (int i = 1; i < n; i++) {
        if (strcmp(tok[i], "-p") == 0 && i + 1 < n) {
            if (gb_parse_int(tok[++i], 1, 65535, port) != 0) return -1;
        } else if (tok[i][0] == '-') {
            if (strchr("ilJoF", tok[i][1]) && !tok[i][2]) i++; /* option with an argument */
        } else if (!host[0]) {
            const char *at = strchr(tok[i], '@');
            if (at) {
                size_t ul = (size_t)(at - tok[i]);
                if (ul >= user_n) ul = user_n - 1;
                memcpy(user, tok[i], ul);
                user[ul] = '\0';
            }
            gb_strlcpy(host, at ? at + 1 : tok[i], host_n);
        }
    }
    return host[0] ? 0 : -1;
}

/* "2026-03-28T14:00:00.123456+00:00", "...Z" or no zone (UTC) -> ms; 0 when unreadable. */
static int64_t parse_time(const char *s)
{
    if (!s || strlen(s) < 19) return 0;
    char buf[24];
    memcpy(buf, s, 19);
    buf[19] = 'Z';
    buf[20] = '\0';
    int64_t ms;
    if (gb_time_parse(buf, &ms) != 0) return 0;
    const char *z = s + 19;
    if (*z == '.')
        for (z++; isdigit((unsigned char)*z); z++) {
        }
    int hh, mm;
    if ((z[0] == '+' || z[0] == '-') && sscanf(z + 1, "%2d:%2d", &hh, &mm) == 2)
        ms -= (z[0] == '+' ? 1 : -1) * ((int64_t)hh * 3600 + mm * 60) * 1000;
    return ms;
}

int prov_lium_pod_from_json(const cJSON *p, prov_pod *out)
{
    memset(out, 0, sizeof(*out));
    const char *id = gb_jstr(p, "id");
    if (!id || !id[0]) return -1;
    gb_strlcpy(out->provider_id, id, sizeof(out->provider_id));
    const char *name = gb_jstr(p, "pod_name");
    gb_strlcpy(out->name,
               name                 ? name
               : gb_jstr(p, "name") ? gb_jstr(p, "name")
                                    : "",
               sizeof(out->name));
    const char *raw = gb_jstr(p, "status");
    gb_strlcpy(out->raw_status, raw ? raw : "", sizeof(out->raw_status));
    out->status = prov_lium_map_status(raw);
    const char *cmd = gb_jstr(p, "ssh_connect_cmd");
    char user[64], host[64];
    int port = 0;
    const cJSON *ports = cJSON_GetObjectItemCaseSensitive(p, "ports_mapping");
    if (cmd && cmd[0] &&
        prov_lium_parse_ssh(cmd, user, sizeof(user), host, sizeof(host), &port) == 0) {
        if (!port) port = int_of(ports, "22", 22);
        gb_strlcpy(out->ip, host, sizeof(out->ip));
        out->ssh_port = port;
        gb_snprintf(out->ssh_command, sizeof(out->ssh_command), "ssh -p %d %s@%s", port,
                    user[0] ? user : "root", host);
    } else if (cmd && cmd[0]) {
        gb_strlcpy(out->ssh_command, cmd, sizeof(out->ssh_command));
    }
    /* Ready means RUNNING with an SSH command: until then a RUNNING pod is deploying. */
    if (out->status == POD_RUNNING && !(cmd && cmd[0])) {
        out->status = POD_DEPLOYING;
        gb_strlcpy(out->message, "container running; waiting for SSH", sizeof(out->message));
    }
    const char *jupyter = gb_jstr(p, "jupyter_url");
    if (jupyter && jupyter[0]) {
        gb_strlcpy(out->url, jupyter, sizeof(out->url));
    } else if (out->ip[0]) {
        const cJSON *m;
        cJSON_ArrayForEach(m, ports)
        {
            if (m->string && strcmp(m->string, "22") != 0 && cJSON_IsNumber(m)) {
                gb_snprintf(out->url, sizeof(out->url), "http://%s:%d", out->ip, m->valueint);
                break;
            }
        }
    }
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(p, "executor");
    int vram;
    char gname[96];
    exec_gpu(x ? x : p, out->gpu_type, &vram, gname, sizeof(gname));
    out->gpu_count = x ? exec_gpu_count(x) : 0;
    if (out->gpu_count <= 0) out->gpu_count = int_of(p, "gpu_count", 0);
    /* "price" is the pod's total per hour; without it, price_per_gpu x the executor's GPUs */
    gb_money ppg;
    if (money_of(p, "price", &out->price_per_hour) != 0) {
        out->price_per_hour = 0;
        if (money_of(x, "price_per_gpu", &ppg) == 0 &&
            gb_money_mul_ratio(ppg, out->gpu_count > 0 ? out->gpu_count : 1, 1,
                               &out->price_per_hour) != 0)
            out->price_per_hour = 0;
    }
    out->created_at = parse_time(gb_jstr(p, "created_at"));
    return 0;
}

static bool pod_live(const cJSON *p)
{
    pod_status s = prov_lium_map_status(gb_jstr(p, "status"));
    return s != POD_STOPPING && s != POD_DELETED && s != POD_STOPPED && s != POD_FAILED;
}

const cJSON *prov_lium_pod_by_name(const cJSON *items, const char *name)
{
    const cJSON *any = NULL, *p;
    int seen = 0;
    cJSON_ArrayForEach(p, items)
    {
        if (++seen > PROV_LIUM_MAX_ITEMS) break;
        const char *n = gb_jstr(p, "pod_name");
        if (!n) n = gb_jstr(p, "name");
        if (!n || !name || strcmp(n, name) != 0) continue;
        if (pod_live(p)) return p;
        if (!any) any = p;
    }
    return any;
}
