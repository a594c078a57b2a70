/* datarobot_create.c: the DataRobot adapter's settings (the operator's rate: DataRobot has no
 * price API), its offers (one per GPU resource bundle, GET /mlops/compute/bundles/),
 * provider_options validation, and creating a workload (an inline draft artifact plus its
 * runtime) without ever creating it twice (an ambiguous failure is followed by a lookup by
 * name).
 *
 * Create body (tests/fixtures/wire/datarobot/create_request.json; sources in SOURCES.md):
 * {name, description, importance: low|moderate|high|critical, artifact{name, spec{type:
 * "service", containerGroups:[{name, containers:[{name, imageUri, port >= 1024, primary: true,
 * environmentVars:[{name, value}]}]}]}} | artifactId, runtime{containerGroups:[{name,
 * replicaCount | autoscaling{enabled, minReplicaCount, maxReplicaCount, policies}, containers:
 * [{name, resourceAllocation{cpu, memory: "<n>MB", gpu}}], resourceBundles:[bundle id]}]}}. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/datarobot_int.h"

#define DR_CREATE_TRIES 3
#define DR_MAX_ENV 64
#define DR_DEFAULT_PORT 8080
#define GIB (1024.0 * 1024.0 * 1024.0)

static const char *const LEVELS[] = {"low", "moderate", "high", "critical"};

/* ---- settings ---- */

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
    const char *loc = NULL;
    int64_t max = 16;
    char jerr[GB_JSON_ERR_MAX];
    if (gb_json_str(s, "location", 1, 63, false, &loc, jerr) == GB_ERR_INVALID ||
        gb_json_int(s, "max_gpus", 1, 100000, false, &max, jerr) == GB_ERR_INVALID) {
        snprintf(err, PROV_ERR_MAX, "datarobot settings: %.440s", jerr);
        return GB_ERR_INVALID;
    }
    gb_strlcpy(c->location, loc ? loc : "datarobot", sizeof(c->location));
    c->max_gpus = (int)max;
    return GB_OK;
}

/* ---- resource bundles ---- */

void prov_datarobot_bundle_gpu(const cJSON *b, char gpu_type[32], int *vram_gb)
{
    char seg[48] = "";
    const char *id = gb_jstr(b, "id");
    const char *dot = id ? strchr(id, '.') : NULL;
    *vram_gb = 0;
    if (dot) { /* "gpu.a100.large" -> "a100" */
        const char *end = strchr(dot + 1, '.');
        size_t n = end ? (size_t)(end - dot - 1) : strlen(dot + 1);
        if (n < sizeof(seg)) {
            memcpy(seg, dot + 1, n);
            seg[n] = '\0';
        }
    }
    const char *cands[] = {gb_jstr(b, "name"), gb_jstr(b, "description"), seg};
    for (size_t i = 0; i < GB_ARRAY_LEN(cands); i++) {
        char t[32];
        int v = 0;
        if (!cands[i] || !cands[i][0]) continue;
        /* "2 x NVIDIA A100 80GB, 24 CPU": the name between the count and the comma */
        const char *x = strstr(cands[i], " x ");
        char buf[96];
        gb_strlcpy(buf, x ? x + 3 : cands[i], sizeof(buf));
        char *comma = strchr(buf, ',');
        if (comma) *comma = '\0';
        if (gpu_normalize(buf, t, &v) == 0) {
            gb_strlcpy(gpu_type, t, 32);
            *vram_gb = v;
            return;
        }
    }
    gpu_normalize(seg[0] ? seg : (id ? id : "GPU"), gpu_type, vram_gb);
}

/* Every bundle (GET /mlops/compute/bundles/?offset&limit, paginated as {data, next}). */
static gb_err bundles(prov_adapter *a, cJSON **out, char *err)
{
    return prov_datarobot_all_pages(a, "/mlops/compute/bundles/", DR_MAX_PAGES, out, err);
}

/* A GPU bundle the broker can offer: not deleted, at least one GPU, a safe id. */
static int bundle_gpus(const cJSON *b)
{
    const cJSON *del = cJSON_GetObjectItemCaseSensitive(b, "isDeleted");
    double g = gb_jnum(b, "gpuCount", 0);
    if (cJSON_IsTrue(del) || g < 1 || g > 64 || !prov_datarobot_bundle_id_ok(gb_jstr(b, "id")))
        return 0;
    return (int)g;
}

/* ---- offers ---- */

typedef struct {
    prov_adapter *a;
    cJSON *bs;
    gb_err e;
    char err[PROV_ERR_MAX];
} bundles_job;

static void *bundles_thread(void *arg)
{
    bundles_job *j = arg;
    j->e = bundles(j->a, &j->bs, j->err);
    return NULL;
}

/* One offer per GPU bundle (offer_id = the bundle id); price = rate x the bundle's GPUs;
 * available_gpus = max_gpus minus the GPUs of the workloads that are up (submitted ...
 * stopping); available = how many of this offer fit in that. */
gb_err prov_datarobot_list_offers(prov_adapter *a, prov_offer **out, size_t *n, char *err)
{
    *out = NULL;
    *n = 0;
    dr_conf c;
    gb_err e = prov_datarobot_conf(a, &c, err);
    if (e) return e;
    if (!c.have_rate) {
        snprintf(err, PROV_ERR_MAX,
                 "datarobot settings: field 'rate_per_gpu_hour' is required (DataRobot has no "
                 "price API)");
        return GB_ERR_INVALID;
    }
    /* the catalog and the workloads at once: a cold offer list costs one round trip, as on
     * every other platform (bench/fanout.sh) */
    bundles_job job = {.a = a};
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, bundles_thread, &job) == 0;
    if (!threaded) bundles_thread(&job);
    prov_pod *pods = NULL;
    size_t np = 0;
    e = prov_datarobot_list(a, NULL, &pods, &np, err);
    if (threaded) pthread_join(th, NULL);
    cJSON *bs = job.bs;
    if (!e && job.e) {
        e = job.e;
        memcpy(err, job.err, PROV_ERR_MAX);
    }
    if (e) {
        free(pods);
        cJSON_Delete(bs);
        return e;
    }
    int used = 0;
    for (size_t i = 0; i < np; i++) {
        pod_status s = pods[i].status;
        if (s == POD_PENDING || s == POD_DEPLOYING || s == POD_RUNNING || s == POD_STOPPING)
            used += pods[i].gpu_count;
    }
    free(pods);
    int free_gpus = c.max_gpus > used ? c.max_gpus - used : 0;
    *out = calloc((size_t)cJSON_GetArraySize(bs) + 1, sizeof(**out));
    if (!*out) {
        cJSON_Delete(bs);
        return GB_ERR_NOMEM;
    }
    int64_t now = gb_now_ms();
    const cJSON *b;
    cJSON_ArrayForEach(b, bs)
    {
        int g = bundle_gpus(b);
        if (!g) continue;
        prov_offer *o = &(*out)[(*n)++];
        const char *desc = gb_jstr(b, "description"), *name = gb_jstr(b, "name");
        gb_strlcpy(o->offer_id, gb_jstr(b, "id"), sizeof(o->offer_id));
        snprintf(o->id, sizeof(o->id), "%s:%s", a->name, o->offer_id);
        gb_strlcpy(o->provider, a->name, sizeof(o->provider));
        prov_datarobot_bundle_gpu(b, o->gpu_type, &o->gpu_vram_gb);
        gb_strlcpy(o->gpu_name, desc ? desc : name ? name : o->offer_id, sizeof(o->gpu_name));
        o->gpu_count = g;
        double gmem = gb_jnum(b, "gpuMemoryBytes", 0);
        if (!o->gpu_vram_gb && gmem > 0) o->gpu_vram_gb = (int)(gmem / GIB / g);
        o->vcpu = (int)gb_jnum(b, "cpuCount", 0);
        o->ram_gb = (int)(gb_jnum(b, "memoryBytes", 0) / GIB);
        gb_strlcpy(o->location, c.location, sizeof(o->location));
        o->price_per_gpu_hour = c.rate;
        o->price_per_hour = c.rate * g;
        o->available_gpus = free_gpus;
        o->available = free_gpus / g;
        gb_strlcpy(o->tier, "secure", sizeof(o->tier));
        o->fetched_at = now;
    }
    cJSON_Delete(bs);
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
    static const char *const allowed[] = {"importance",   "description",  "replicas",
                                          "cpu",          "memory_mb",    "port",
                                          "min_replicas", "max_replicas", NULL};
    char jerr[GB_JSON_ERR_MAX];
    const char *imp = NULL, *desc = NULL;
    int64_t v, lo = 1, hi = DR_MAX_REPLICAS;
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
        gb_json_int(o, "port", 1024, 65535, false, &v, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "min_replicas", 1, DR_MAX_REPLICAS, false, &lo, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "max_replicas", 1, DR_MAX_REPLICAS, false, &hi, jerr) == GB_ERR_INVALID)
        goto bad;
    if (imp && level_of(imp) < 0) {
        gb_snprintf(jerr, sizeof(jerr),
                    "field 'importance' must be one of low, moderate, high, critical");
        goto bad;
    }
    if (lo > hi) {
        gb_snprintf(jerr, sizeof(jerr), "field 'min_replicas' must not exceed 'max_replicas'");
        goto bad;
    }
    return GB_OK;
bad:
    snprintf(err, PROV_ERR_MAX, "provider_options: %.440s", jerr);
    return GB_ERR_INVALID;
}

/* ---- create ---- */

static gb_err invalid(prov_adapter *a, char *err, const char *msg)
{
    snprintf(err, PROV_ERR_MAX, "%s: %.440s", a->name, msg);
    return GB_ERR_INVALID;
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

/* POST /workloads/ without ever creating twice: after an ambiguous failure the workload is
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
        e = prov_call(a, "POST", "/workloads/", body, false, &j, &status, err);
        if (e == GB_OK) {
            int r = prov_datarobot_parse_wl(c, j, out, NULL);
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

/* The artifact of the create body: one group of one primary container. */
static gb_err build_artifact(prov_adapter *a, const prov_create_req *req, int64_t port, cJSON *art,
                             char *err)
{
    cJSON *spec = cJSON_AddObjectToObject(art, "spec");
    cJSON *groups = spec ? cJSON_AddArrayToObject(spec, "containerGroups") : NULL;
    cJSON *g = groups ? cJSON_CreateObject() : NULL;
    if (!g || !cJSON_AddItemToArray(groups, g)) {
        cJSON_Delete(g);
        return GB_ERR_NOMEM;
    }
    cJSON *cs = cJSON_AddArrayToObject(g, "containers");
    cJSON *c = cs ? cJSON_CreateObject() : NULL;
    if (!c || !cJSON_AddItemToArray(cs, c)) {
        cJSON_Delete(c);
        return GB_ERR_NOMEM;
    }
    cJSON *env = env_json(a, req, err);
    if (!env) return GB_ERR_INVALID;
    if (!cJSON_AddStringToObject(art, "name", req->name) ||
        !cJSON_AddStringToObject(spec, "type", "service") ||
        !cJSON_AddStringToObject(g, "name", DR_GROUP) ||
        !cJSON_AddStringToObject(c, "name", DR_CONTAINER) ||
        !cJSON_AddStringToObject(c, "imageUri", req->image) ||
        !cJSON_AddNumberToObject(c, "port", (double)port) ||
        !cJSON_AddBoolToObject(c, "primary", 1)) {
        cJSON_Delete(env);
        return GB_ERR_NOMEM;
    }
    if (cJSON_GetArraySize(env) == 0)
        cJSON_Delete(env);
    else if (!cJSON_AddItemToObject(c, "environmentVars", env)) {
        cJSON_Delete(env);
        return GB_ERR_NOMEM;
    }
    return GB_OK;
}

/* The runtime of the create body: replicas (or autoscaling) of the bundle's GPUs. */
static gb_err build_runtime(const prov_create_req *req, const char *bundle, int rep, int per,
                            cJSON *rt)
{
    const cJSON *o = req->options;
    int64_t cpu = 0, mem = 0, lo = 0, hi = 0;
    bool as = gb_json_int(o, "min_replicas", 1, DR_MAX_REPLICAS, false, &lo, NULL) == GB_OK;
    as = gb_json_int(o, "max_replicas", 1, DR_MAX_REPLICAS, false, &hi, NULL) == GB_OK || as;
    cJSON *groups = cJSON_AddArrayToObject(rt, "containerGroups");
    cJSON *g = groups ? cJSON_CreateObject() : NULL;
    if (!g || !cJSON_AddItemToArray(groups, g)) {
        cJSON_Delete(g);
        return GB_ERR_NOMEM;
    }
    cJSON_AddStringToObject(g, "name", DR_GROUP);
    if (as) {
        cJSON *asj = cJSON_AddObjectToObject(g, "autoscaling");
        cJSON *pol = asj ? cJSON_CreateObject() : NULL;
        cJSON *pols = asj ? cJSON_AddArrayToObject(asj, "policies") : NULL;
        if (!pol || !pols || !cJSON_AddItemToArray(pols, pol)) {
            cJSON_Delete(pol);
            return GB_ERR_NOMEM;
        }
        cJSON_AddBoolToObject(asj, "enabled", 1);
        cJSON_AddNumberToObject(asj, "minReplicaCount", (double)(lo ? lo : rep));
        cJSON_AddNumberToObject(asj, "maxReplicaCount", (double)(hi ? hi : rep));
        cJSON_AddStringToObject(pol, "scalingMetric", "cpuAverageUtilization");
        cJSON_AddNumberToObject(pol, "target", 70);
    } else {
        cJSON_AddNumberToObject(g, "replicaCount", rep);
    }
    cJSON *cs = cJSON_AddArrayToObject(g, "containers");
    cJSON *c = cs ? cJSON_CreateObject() : NULL;
    cJSON *ra = c ? cJSON_AddObjectToObject(c, "resourceAllocation") : NULL;
    cJSON *rb = cJSON_AddArrayToObject(g, "resourceBundles");
    if (!ra || !rb || !cJSON_AddItemToArray(cs, c)) {
        if (!ra || !rb) cJSON_Delete(c);
        return GB_ERR_NOMEM;
    }
    cJSON_AddStringToObject(c, "name", DR_CONTAINER);
    /* the bundle defines cpu and memory; they are sent only when asked for */
    if (gb_json_int(o, "cpu", 1, 128, false, &cpu, NULL) == GB_OK)
        cJSON_AddNumberToObject(ra, "cpu", (double)cpu);
    if (gb_json_int(o, "memory_mb", 256, 1048576, false, &mem, NULL) == GB_OK) {
        char m[32];
        snprintf(m, sizeof(m), "%lldMB", (long long)mem);
        cJSON_AddStringToObject(ra, "memory", m);
    }
    cJSON_AddNumberToObject(ra, "gpu", per);
    cJSON_AddItemToArray(rb, cJSON_CreateString(bundle));
    return GB_OK;
}

/* The bundle of offer_id: its GPUs per replica (GET /mlops/compute/bundles/{id}/). */
static gb_err bundle_of(prov_adapter *a, const char *id, int *per, char *err)
{
    char path[96];
    cJSON *j = NULL;
    if (!prov_datarobot_bundle_id_ok(id))
        return invalid(a, err, "field 'offer_id': no such bundle");
    snprintf(path, sizeof(path), "/mlops/compute/bundles/%s/", id);
    gb_err e = prov_call(a, "GET", path, NULL, true, &j, NULL, err);
    *per = e ? 0 : bundle_gpus(j);
    cJSON_Delete(j);
    if (e == GB_ERR_NOT_FOUND) return invalid(a, err, "field 'offer_id': no such resource bundle");
    if (!e && !*per) return invalid(a, err, "field 'offer_id': the bundle has no GPU");
    return e;
}

gb_err prov_datarobot_precheck(const prov_create_req *req, char *err)
{
    const char *why =
        req->template_id ? "field 'template_id': DataRobot has no templates"
        : req->registry_username || req->registry_password
            ? "private registry credentials are not supported by the Workload API"
        : req->nssh > 0           ? "field 'ssh_public_keys': DataRobot workloads take no SSH keys"
        : req->volume_size_gb > 0 ? "field 'volume_size_gb': DataRobot workloads have no volumes"
        : req->nports > 1         ? "field 'ports': a DataRobot workload serves one port"
                                  : NULL;
    if (!why) return GB_OK;
    snprintf(err, PROV_ERR_MAX, "%s", why);
    return GB_ERR_INVALID;
}

gb_err prov_datarobot_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err)
{
    memset(out, 0, sizeof(*out));
    const cJSON *o = req->options;
    dr_conf c;
    int per = 0;
    gb_err e = prov_datarobot_validate_options(o, err);
    if (e || (e = prov_datarobot_conf(a, &c, err))) return e;
    if (!req->name || !req->name[0] || strlen(req->name) > 255)
        return invalid(a, err, "a workload name (1-255 characters) is needed");
    if (!req->image || !req->image[0] || strlen(req->image) > 512)
        return invalid(a, err, "field 'image': a container image (1-512 characters) is needed");
    gb_errmsg why;
    if (prov_datarobot_precheck(req, why)) return invalid(a, err, why);
    if (req->nenv > DR_MAX_ENV) return invalid(a, err, "field 'env': at most 64 entries");
    int64_t port = req->nports == 1 ? req->ports[0] : DR_DEFAULT_PORT;
    gb_json_int(o, "port", 1024, 65535, false, &port, NULL);
    if (port < 1024 || port > 65535)
        return invalid(a, err, "field 'ports': DataRobot needs a port of 1024 or above");
    if ((e = bundle_of(a, req->offer_id, &per, err))) return e;
    int gpus = req->gpu_count > 0 ? req->gpu_count : per;
    int64_t rep = gpus / per;
    if (gb_json_int(o, "replicas", 1, DR_MAX_REPLICAS, false, &rep, NULL) == GB_OK &&
        rep * per != gpus)
        rep = 0;
    if (gpus % per != 0 || rep < 1 || rep > DR_MAX_REPLICAS) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: field 'gpu_count': bundle %s has %d GPU(s) per replica; %d GPUs must be a "
                 "multiple of it (at most %d replicas)",
                 a->name, req->offer_id, per, gpus, DR_MAX_REPLICAS);
        return GB_ERR_INVALID;
    }
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
    cJSON *body = cJSON_CreateObject();
    cJSON *art = body ? cJSON_AddObjectToObject(body, "artifact") : NULL;
    cJSON *rt = body ? cJSON_AddObjectToObject(body, "runtime") : NULL;
    e = GB_ERR_NOMEM;
    if (!art || !rt || !cJSON_AddStringToObject(body, "name", req->name) ||
        !cJSON_AddStringToObject(body, "description", desc) ||
        !cJSON_AddStringToObject(body, "importance", imp ? LEVELS[level_of(imp)] : "moderate"))
        goto done;
    if ((e = build_artifact(a, req, port, art, err)) ||
        (e = build_runtime(req, req->offer_id, (int)rep, per, rt)))
        goto done;
    e = post_wl(a, &c, req->name, body, out, err);
    if (e == GB_OK) {
        if (!out->name[0]) gb_strlcpy(out->name, req->name, sizeof(out->name));
        if (!out->gpu_count) out->gpu_count = gpus;
        if (c.have_rate) out->price_per_hour = c.rate * out->gpu_count;
    }
done:
    cJSON_Delete(body);
    return e;
}
