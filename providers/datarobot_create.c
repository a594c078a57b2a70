/* datarobot_create.c: the DataRobot adapter's settings (rate, GPU type, cluster size: the API
 * has no prices), its offers, provider_options validation, and creating a workload without
 * ever creating it twice (an ambiguous failure is followed by a lookup by name). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/datarobot_int.h"

#define DR_CREATE_TRIES 3
#define DR_MAX_ENV 64

static const char *const LEVELS[] = {"LOW", "MODERATE", "HIGH", "CRITICAL"};
static const int OFFER_GPUS[] = {1, 2, 4, 8};

/* ---- settings ---- */

static gb_err conf_int(const cJSON *s, const char *key, int64_t lo, int64_t hi, int def, int *out,
                       char *err)
{
    int64_t v = def;
    char jerr[GB_JSON_ERR_MAX];
    if (gb_json_int(s, key, lo, hi, false, &v, jerr) == GB_ERR_INVALID) {
        snprintf(err, PROV_ERR_MAX, "datarobot settings: %s", jerr);
        return GB_ERR_INVALID;
    }
    *out = (int)v;
    return GB_OK;
}

gb_err prov_datarobot_conf(prov_adapter *a, dr_conf *c, char *err)
{
    const cJSON *s = a->settings;
    memset(c, 0, sizeof(*c));
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(s, "rate_per_gpu_hour");
    if (rate && !cJSON_IsNull(rate)) {
        int bad = cJSON_IsString(rate)   ? gb_money_parse(rate->valuestring, &c->rate)
                  : cJSON_IsNumber(rate) ? gb_money_from_double(rate->valuedouble, &c->rate)
                                         : -1;
        if (bad || c->rate <= 0) {
            snprintf(err, PROV_ERR_MAX,
                     "datarobot settings: field 'rate_per_gpu_hour' must be a positive dollar "
                     "amount such as \"2.10\"");
            return GB_ERR_INVALID;
        }
        c->have_rate = true;
    }
    const char *gpu = NULL, *loc = NULL;
    char jerr[GB_JSON_ERR_MAX];
    if (gb_json_str(s, "gpu_type", 1, 95, false, &gpu, jerr) == GB_ERR_INVALID ||
        gb_json_str(s, "location", 1, 63, false, &loc, jerr) == GB_ERR_INVALID) {
        snprintf(err, PROV_ERR_MAX, "datarobot settings: %s", jerr);
        return GB_ERR_INVALID;
    }
    int vram = 0;
    if (gpu) {
        gb_strlcpy(c->gpu_name, gpu, sizeof(c->gpu_name));
        prov_gpu_normalize(gpu, c->gpu_type, &vram);
    }
    gb_strlcpy(c->location, loc ? loc : "datarobot", sizeof(c->location));
    gb_err e;
    if ((e = conf_int(s, "gpu_vram_gb", 1, 1024, vram, &c->gpu_vram_gb, err)) ||
        (e = conf_int(s, "gpus_per_node", 1, 64, 8, &c->gpus_per_node, err)) ||
        (e = conf_int(s, "max_gpus", 1, 100000, c->gpus_per_node, &c->max_gpus, err)) ||
        (e = conf_int(s, "vcpu_per_gpu", 1, 256, 8, &c->vcpu_per_gpu, err)) ||
        (e = conf_int(s, "ram_gb_per_gpu", 1, 4096, 64, &c->ram_gb_per_gpu, err)))
        return e;
    return GB_OK;
}

/* ---- offers ---- */

/* One offer per GPU count 1, 2, 4, 8 (up to max_gpus) of the configured GPU type; price =
 * rate x count; available_gpus = max_gpus minus the GPUs of the workloads that are up
 * (submitted ... stopping); available = how many of this offer fit in that. */
gb_err prov_datarobot_list_offers(prov_adapter *a, prov_offer **out, size_t *n, char *err)
{
    *out = NULL;
    *n = 0;
    dr_conf c;
    gb_err e = prov_datarobot_conf(a, &c, err);
    if (e) return e;
    if (!c.have_rate || !c.gpu_type[0]) {
        snprintf(err, PROV_ERR_MAX,
                 "datarobot settings: field '%s' is required (DataRobot has no price API)",
                 c.have_rate ? "gpu_type" : "rate_per_gpu_hour");
        return GB_ERR_INVALID;
    }
    prov_pod *pods = NULL;
    size_t np = 0;
    if ((e = prov_datarobot_list(a, NULL, &pods, &np, err))) return e;
    int used = 0;
    for (size_t i = 0; i < np; i++) {
        pod_status s = pods[i].status;
        if (s == POD_PENDING || s == POD_DEPLOYING || s == POD_RUNNING || s == POD_STOPPING)
            used += pods[i].gpu_count;
    }
    free(pods);
    int free_gpus = c.max_gpus > used ? c.max_gpus - used : 0;
    *out = calloc(GB_ARRAY_LEN(OFFER_GPUS), sizeof(**out));
    if (!*out) return GB_ERR_NOMEM;
    char lower[32];
    size_t k = 0;
    for (; c.gpu_type[k] && k + 1 < sizeof(lower); k++)
        lower[k] = (char)(c.gpu_type[k] >= 'A' && c.gpu_type[k] <= 'Z' ? c.gpu_type[k] + 32
                                                                       : c.gpu_type[k]);
    lower[k] = '\0';
    int64_t now = gb_now_ms();
    for (size_t i = 0; i < GB_ARRAY_LEN(OFFER_GPUS); i++) {
        int g = OFFER_GPUS[i];
        if (g > c.max_gpus) break;
        prov_offer *o = &(*out)[(*n)++];
        snprintf(o->offer_id, sizeof(o->offer_id), "%s-x%d", lower, g);
        snprintf(o->id, sizeof(o->id), "%s:%s", a->name, o->offer_id);
        gb_strlcpy(o->provider, a->name, sizeof(o->provider));
        gb_strlcpy(o->gpu_type, c.gpu_type, sizeof(o->gpu_type));
        gb_strlcpy(o->gpu_name, c.gpu_name, sizeof(o->gpu_name));
        o->gpu_count = g;
        o->gpu_vram_gb = c.gpu_vram_gb;
        o->vcpu = c.vcpu_per_gpu * g;
        o->ram_gb = c.ram_gb_per_gpu * g;
        gb_strlcpy(o->location, c.location, sizeof(o->location));
        o->price_per_gpu_hour = c.rate;
        o->price_per_hour = c.rate * g;
        o->available_gpus = free_gpus;
        o->available = free_gpus / g;
        gb_strlcpy(o->tier, "secure", sizeof(o->tier));
        o->fetched_at = now;
    }
    return GB_OK;
}

/* ---- provider_options ---- */

static int level_of(const char *s)
{
    for (size_t i = 0; s && i < GB_ARRAY_LEN(LEVELS); i++)
        if (gb_str_ieq(s, LEVELS[i])) return (int)i;
    return -1;
}

gb_err prov_datarobot_validate_options(const cJSON *o, char *err)
{
    static const char *const allowed[] = {
        "importance", "description",  "replicas",     "cpu",  "memory_mb",
        "port",       "min_replicas", "max_replicas", "tags", NULL};
    char jerr[GB_JSON_ERR_MAX];
    const char *imp = NULL, *desc = NULL;
    int64_t v, lo = 1, hi = DR_MAX_REPLICAS;
    const cJSON *tags = NULL, *it;
    if (!o || cJSON_IsNull(o)) return GB_OK;
    if (!cJSON_IsObject(o)) {
        snprintf(err, PROV_ERR_MAX, "provider_options must be a JSON object");
        return GB_ERR_INVALID;
    }
    if (gb_json_only_keys(o, allowed, jerr) ||
        gb_json_str(o, "importance", 1, 15, false, &imp, jerr) == GB_ERR_INVALID ||
        gb_json_str(o, "description", 0, 1000, false, &desc, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "replicas", 1, DR_MAX_REPLICAS, false, &v, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "cpu", 1, 128, false, &v, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "memory_mb", 256, 1048576, false, &v, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "port", 1, 65535, false, &v, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "min_replicas", 1, DR_MAX_REPLICAS, false, &lo, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "max_replicas", 1, DR_MAX_REPLICAS, false, &hi, jerr) == GB_ERR_INVALID ||
        gb_json_array(o, "tags", 50, false, &tags, jerr) == GB_ERR_INVALID)
        goto bad;
    if (imp && level_of(imp) < 0) {
        gb_snprintf(jerr, sizeof(jerr),
                    "field 'importance' must be one of LOW, MODERATE, HIGH, CRITICAL");
        goto bad;
    }
    if (lo > hi) {
        gb_snprintf(jerr, sizeof(jerr), "field 'min_replicas' must not exceed 'max_replicas'");
        goto bad;
    }
    cJSON_ArrayForEach(it, tags)
    {
        const char *k = NULL, *val = NULL;
        static const char *const tkeys[] = {"key", "value", NULL};
        if (!cJSON_IsObject(it) || gb_json_only_keys(it, tkeys, NULL) ||
            gb_json_str(it, "key", 1, 128, true, &k, NULL) ||
            gb_json_str(it, "value", 0, 256, true, &val, NULL)) {
            gb_snprintf(jerr, sizeof(jerr), "field 'tags' must hold {\"key\", \"value\"} strings");
            goto bad;
        }
    }
    return GB_OK;
bad:
    snprintf(err, PROV_ERR_MAX, "provider_options: %s", jerr);
    return GB_ERR_INVALID;
}

/* ---- create ---- */

static gb_err invalid(prov_adapter *a, char *err, const char *msg)
{
    snprintf(err, PROV_ERR_MAX, "%s: %s", a->name, msg);
    return GB_ERR_INVALID;
}

/* GPUs named by an offer id "<gpu>-x<N>"; 0 when it is not one. */
static int offer_gpus(const char *offer)
{
    const char *x = offer ? strrchr(offer, 'x') : NULL;
    int g = 0;
    if (!x || x == offer || x[-1] != '-' || gb_parse_int(x + 1, 1, 4096, &g)) return 0;
    return g;
}

static bool env_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 128 || (s[0] >= '0' && s[0] <= '9')) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static cJSON *env_json(prov_adapter *a, const prov_create_req *req, char *err)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < req->nenv; i++) {
        const char *eq = req->env[i] ? strchr(req->env[i], '=') : NULL;
        char key[129];
        if (!eq || !env_name_ok(req->env[i], (size_t)(eq - req->env[i]))) {
            snprintf(err, PROV_ERR_MAX, "%s: env entry %d must be NAME=value", a->name, i + 1);
            cJSON_Delete(arr);
            return NULL;
        }
        gb_strlcpy(key, req->env[i], (size_t)(eq - req->env[i]) + 1);
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddStringToObject(e, "name", key) ||
            !cJSON_AddStringToObject(e, "value", eq + 1) || !cJSON_AddItemToArray(arr, e)) {
            cJSON_Delete(e);
            cJSON_Delete(arr);
            snprintf(err, PROV_ERR_MAX, "%s: out of memory", a->name);
            return NULL;
        }
    }
    return arr;
}

static bool ambiguous(gb_err e, long status)
{
    return e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT ||
           (e == GB_ERR_PROVIDER && (status >= 500 || (status >= 200 && status < 300)));
}

/* POST /workloads without ever creating twice: after an ambiguous failure the workload is
 * looked up by name. The POST is sent again (DR_CREATE_TRIES in all) only after a 5xx with no
 * such workload; after a lost or cut answer the request may still be in flight, so the
 * adapter looks twice and then reports the failure (a late workload is found by name later). */
static gb_err post_wl(prov_adapter *a, const dr_conf *c, const char *name, const cJSON *body,
                      prov_pod *out, char *err)
{
    gb_err e = GB_OK;
    int64_t delay = a->policy.base_delay_ms > 0 ? a->policy.base_delay_ms : 250;
    for (int attempt = 0; attempt < DR_CREATE_TRIES; attempt++, delay *= 2) {
        if (attempt) prov_sleep(a, delay);
        cJSON *j = NULL;
        long status = 0;
        e = prov_datarobot_call(a, "POST", "/workloads", body, false, &j, &status, err);
        if (e == GB_OK) {
            int r = prov_datarobot_parse_wl(c, j, out);
            cJSON_Delete(j);
            if (r >= 0) return GB_OK;
            snprintf(err, PROV_ERR_MAX,
                     "malformed response from %s: created workload without an id", a->name);
            e = GB_ERR_PROVIDER;
        }
        if (!ambiguous(e, status)) return e;
        char ferr[PROV_ERR_MAX];
        gb_err fe = prov_datarobot_find_by_name(a, name, out, ferr);
        if (fe == GB_ERR_NOT_FOUND && status == 0) { /* maybe still in flight: look again */
            prov_sleep(a, delay);
            fe = prov_datarobot_find_by_name(a, name, out, ferr);
        }
        if (fe == GB_OK) return GB_OK;
        size_t l = strlen(err);
        if (fe != GB_ERR_NOT_FOUND) {
            snprintf(err + l, PROV_ERR_MAX - l,
                     "; not retried: looking the workload up by name failed too (%.200s)", ferr);
            return e;
        }
        if (status < 500) {
            snprintf(err + l, PROV_ERR_MAX - l,
                     "; no workload named '%.64s' yet, not retried to avoid a duplicate", name);
            return e;
        }
    }
    return e;
}

/* The settings object of the create body. */
static gb_err build_settings(prov_adapter *a, const dr_conf *c, const prov_create_req *req,
                             int gpus, cJSON *set, char *err)
{
    const cJSON *o = req->options;
    int64_t rep = gpus <= c->gpus_per_node ? 1 : (gpus + c->gpus_per_node - 1) / c->gpus_per_node;
    int64_t cpu = 0, mem = 0, port = req->nports == 1 ? req->ports[0] : 0, lo = 0, hi = 0;
    gb_json_int(o, "replicas", 1, DR_MAX_REPLICAS, false, &rep, NULL);
    if (gpus % rep != 0 || gpus / rep > c->gpus_per_node) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: field 'replicas': %d GPUs must split evenly over %lld replicas of at most "
                 "%d GPUs each",
                 a->name, gpus, (long long)rep, c->gpus_per_node);
        return GB_ERR_INVALID;
    }
    int per = (int)(gpus / rep), unit = per > 0 ? per : 1;
    if (gb_json_int(o, "cpu", 1, 128, false, &cpu, NULL) != GB_OK)
        cpu = c->vcpu_per_gpu * unit > 128 ? 128 : c->vcpu_per_gpu * unit;
    if (gb_json_int(o, "memory_mb", 256, 1048576, false, &mem, NULL) != GB_OK)
        mem = (int64_t)c->ram_gb_per_gpu * 1024 * unit > 1048576
                  ? 1048576
                  : (int64_t)c->ram_gb_per_gpu * 1024 * unit;
    gb_json_int(o, "port", 1, 65535, false, &port, NULL);
    bool as = gb_json_int(o, "min_replicas", 1, DR_MAX_REPLICAS, false, &lo, NULL) == GB_OK;
    as = gb_json_int(o, "max_replicas", 1, DR_MAX_REPLICAS, false, &hi, NULL) == GB_OK || as;
    cJSON *res = cJSON_AddObjectToObject(set, "resources");
    cJSON *env = env_json(a, req, err);
    if (!env) return GB_ERR_INVALID;
    if (!res || !cJSON_AddItemToObject(set, "environment", env)) {
        cJSON_Delete(env);
        return GB_ERR_NOMEM;
    }
    cJSON_AddNumberToObject(set, "replicas", (double)rep);
    cJSON_AddNumberToObject(res, "gpu", per);
    cJSON_AddNumberToObject(res, "cpu", (double)cpu);
    cJSON_AddNumberToObject(res, "memory", (double)mem);
    cJSON_AddStringToObject(set, "image", req->image);
    if (port) cJSON_AddNumberToObject(set, "port", (double)port);
    if (as) {
        cJSON *asj = cJSON_AddObjectToObject(set, "autoscaling");
        if (!asj) return GB_ERR_NOMEM;
        cJSON_AddBoolToObject(asj, "enabled", 1);
        cJSON_AddNumberToObject(asj, "minReplicas", (double)(lo ? lo : rep));
        cJSON_AddNumberToObject(asj, "maxReplicas", (double)(hi ? hi : rep));
    }
    return GB_OK;
}

gb_err prov_datarobot_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err)
{
    memset(out, 0, sizeof(*out));
    const cJSON *o = req->options;
    dr_conf c;
    gb_err e = prov_datarobot_validate_options(o, err);
    if (e || (e = prov_datarobot_conf(a, &c, err))) return e;
    if (!req->name || !req->name[0] || strlen(req->name) > 255)
        return invalid(a, err, "a workload name (1-255 characters) is needed");
    if (!req->image || !req->image[0] || strlen(req->image) > 512)
        return invalid(a, err, "field 'image': a container image (1-512 characters) is needed");
    if (req->template_id) return invalid(a, err, "field 'template_id': DataRobot has no templates");
    if (req->registry_username || req->registry_password)
        return invalid(a, err, "private registry credentials are not supported yet");
    if (req->nssh > 0)
        return invalid(a, err, "field 'ssh_public_keys': DataRobot workloads take no SSH keys");
    if (req->volume_size_gb > 0)
        return invalid(a, err, "field 'volume_size_gb': DataRobot workloads have no volumes");
    if (req->nports > 1)
        return invalid(a, err, "field 'ports': a DataRobot workload serves one port");
    if (req->nenv > DR_MAX_ENV) return invalid(a, err, "field 'env': at most 64 entries");
    int gpus = req->gpu_count > 0 ? req->gpu_count : offer_gpus(req->offer_id);
    if (gpus <= 0) gpus = 1;
    if (gpus > c.max_gpus) {
        snprintf(err, PROV_ERR_MAX, "%s: field 'gpu_count': at most %d GPUs", a->name, c.max_gpus);
        return GB_ERR_INVALID;
    }
    gb_money price = c.have_rate ? c.rate * gpus : 0;
    if (req->max_price_per_hour > 0 && price > req->max_price_per_hour) {
        char p1[32], p2[32];
        snprintf(err, PROV_ERR_MAX, "%s: price changed: $%s/hour now, above the limit $%s/hour",
                 a->name, gb_money_format(price, p1, sizeof(p1)),
                 gb_money_format(req->max_price_per_hour, p2, sizeof(p2)));
        return GB_ERR_CONFLICT;
    }
    const char *desc = "Created by gpubroker", *imp = NULL;
    gb_json_str(o, "description", 0, 1000, false, &desc, NULL);
    gb_json_str(o, "importance", 1, 15, false, &imp, NULL);
    const cJSON *tags = o ? cJSON_GetObjectItemCaseSensitive(o, "tags") : NULL;
    cJSON *body = cJSON_CreateObject();
    cJSON *set = body ? cJSON_AddObjectToObject(body, "settings") : NULL;
    e = GB_ERR_NOMEM;
    if (!set || !cJSON_AddStringToObject(body, "name", req->name) ||
        !cJSON_AddStringToObject(body, "description", desc) ||
        (imp && !cJSON_AddStringToObject(body, "importance", LEVELS[level_of(imp)])) ||
        (tags && !cJSON_AddItemToObject(body, "tags", cJSON_Duplicate(tags, 1))))
        goto done;
    if ((e = build_settings(a, &c, req, gpus, set, err))) goto done;
    e = post_wl(a, &c, req->name, body, out, err);
    if (e == GB_OK) {
        if (!out->name[0]) gb_strlcpy(out->name, req->name, sizeof(out->name));
        if (!out->gpu_count) out->gpu_count = gpus;
        if (c.gpu_type[0]) gb_strlcpy(out->gpu_type, c.gpu_type, sizeof(out->gpu_type));
        if (c.have_rate) out->price_per_hour = c.rate * out->gpu_count;
    }
done:
    cJSON_Delete(body);
    return e;
}
