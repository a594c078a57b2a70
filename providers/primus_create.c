/* primus_create.c: Primus offers (the operator's rate and GPU model from settings, capacity
 * from the GPUs in resources[] of the workloads running in the workspace) and creating a
 * workload (POST /api/v1/workloads with resources[], images[], base64 entryPoints[]; source
 * AMD-AGI/Primus-SaFE SaFE/apiserver/pkg/handlers/resources/view/workload_view.go), never
 * twice: after an ambiguous failure the workload is looked up by its displayName before
 * anything is posted again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/primus_int.h"

#define PRIMUS_CREATE_TRIES 3

/* ---- offers ---- */

/* GPUs held by Running, Updating and NotReady workloads of the workspace. */
static gb_err used_gpus(prov_adapter *a, int *used, char *err)
{
    char q[160];
    prov_primus_ws_query(a, q, sizeof(q));
    size_t l = strlen(q);
    snprintf(q + l, sizeof(q) - l, "phase=Running,Updating,NotReady");
    prov_pod *pods = NULL;
    size_t n = 0;
    gb_err e = prov_primus_list(a, q, &pods, &n, err);
    *used = 0;
    for (size_t i = 0; !e && i < n; i++)
        *used += pods[i].gpu_count;
    free(pods);
    return e;
}

gb_err prov_primus_list_offers(prov_adapter *a, prov_offer **out, size_t *n, char *err)
{
    static const int COUNTS[] = {1, 2, 4, 8};
    *out = NULL;
    *n = 0;
    gb_money rate = prov_primus_rate(a);
    if (rate < 0) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: settings.rate_per_gpu_hour (the operator's price, e.g. \"1.40\") is "
                 "missing or malformed",
                 a->name);
        return GB_ERR_INVALID;
    }
    const char *gt = prov_primus_setting(a, "gpu_type"), *loc = prov_primus_setting(a, "location");
    int gpn = prov_primus_setting_int(a, "gpus_per_node", 1, 64, 8);
    int max = prov_primus_setting_int(a, "max_gpus", 1, 1000000, gpn);
    int used = 0;
    gb_err e = used_gpus(a, &used, err);
    if (e) return e;
    int free_gpus = max > used ? max - used : 0;
    prov_offer *o = calloc(GB_ARRAY_LEN(COUNTS), sizeof(*o));
    if (!o) return GB_ERR_NOMEM;
    char type[32], lower[32];
    int vram = 0;
    gpu_normalize(gt ? gt : "MI300X", type, &vram);
    size_t k = 0;
    for (; type[k] && k + 1 < sizeof(lower); k++)
        lower[k] = (char)(type[k] >= 'A' && type[k] <= 'Z' ? type[k] + 32 : type[k]);
    lower[k] = '\0';
    int64_t now = gb_now_ms();
    for (size_t i = 0; i < GB_ARRAY_LEN(COUNTS); i++) {
        int c = COUNTS[i];
        if (c > max || (c > gpn && c % gpn != 0)) continue;
        prov_offer *f = &o[(*n)++];
        snprintf(f->offer_id, sizeof(f->offer_id), "%s-%dx", lower, c);
        snprintf(f->id, sizeof(f->id), "%s:%s", a->name, f->offer_id);
        gb_strlcpy(f->provider, a->name, sizeof(f->provider));
        gb_strlcpy(f->gpu_type, type, sizeof(f->gpu_type));
        gb_strlcpy(f->gpu_name, gt ? gt : "MI300X", sizeof(f->gpu_name));
        f->gpu_count = c;
        f->gpu_vram_gb = prov_primus_setting_int(a, "gpu_vram_gb", 1, 100000, vram);
        f->vcpu = c * prov_primus_setting_int(a, "cpu_per_gpu", 1, 1024, 16);
        f->ram_gb = c * prov_primus_setting_int(a, "memory_gb_per_gpu", 1, 100000, 128);
        f->storage_gb = prov_primus_setting_int(a, "ephemeral_storage_gb", 1, 1000000, 50);
        gb_strlcpy(f->location, loc ? loc : "", sizeof(f->location));
        f->price_per_gpu_hour = rate;
        f->price_per_hour = rate * c;
        f->available_gpus = free_gpus;
        f->available = free_gpus / c;
        gb_strlcpy(f->tier, "secure", sizeof(f->tier));
        f->fetched_at = now;
    }
    *out = o;
    return GB_OK;
}

/* ---- the create body ---- */

static gb_err invalid(prov_adapter *a, char *err, const char *msg)
{
    snprintf(err, PROV_ERR_MAX, "%s: %.440s", a->name, msg);
    return GB_ERR_INVALID;
}

/* GPUs asked for: gpu_count, else the offer's "<type>-<n>x", else 1. */
static int gpus_of(const prov_create_req *req)
{
    int n = 0;
    const char *dash = req->offer_id ? strrchr(req->offer_id, '-') : NULL;
    char num[8];
    size_t l = dash ? strlen(dash + 1) : 0;
    if (req->gpu_count > 0) return req->gpu_count;
    if (l >= 2 && l < sizeof(num) && dash[l] == 'x') {
        gb_strlcpy(num, dash + 1, l);
        if (gb_parse_int(num, 1, 64, &n) == 0) return n;
    }
    return 1;
}

int prov_primus_gpus_of(const cJSON *resources)
{
    const cJSON *r, *each = cJSON_IsArray(resources) ? resources : NULL;
    int64_t total = 0;
    cJSON_ArrayForEach(r, each)
    {
        int64_t gpu = 0, rep = gb_jint(r, "replica", 1);
        const char *g = gb_jstr(r, "gpu"); /* a quantity string ("8"); "" or absent: none */
        if (g && g[0] && gb_parse_i64(g, 0, 1024, &gpu) != 0) gpu = 0;
        if (rep > 0 && rep <= 100000) total += gpu * rep;
    }
    return total > 1000000 ? 1000000 : (int)total;
}

/* One WorkloadResource {replica, cpu, gpu, memory, ephemeralStorage} (workload_types.go). */
static cJSON *one_resource(int replica, const char *cpu, int gpu, const char *mem,
                           const char *storage)
{
    char g[16];
    cJSON *r = cJSON_CreateObject();
    snprintf(g, sizeof(g), "%d", gpu);
    if (!r || !cJSON_AddNumberToObject(r, "replica", replica) ||
        !cJSON_AddStringToObject(r, "cpu", cpu) ||
        (gpu > 0 && !cJSON_AddStringToObject(r, "gpu", g)) ||
        !cJSON_AddStringToObject(r, "memory", mem) ||
        !cJSON_AddStringToObject(r, "ephemeralStorage", storage)) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

cJSON *prov_primus_resources(prov_adapter *a, const cJSON *o, const char *kind, int gpus,
                             int replica, int volume_gb, char *err)
{
    char jerr[GB_JSON_ERR_MAX], cpu[32], mem[32], sto[32];
    int gpn = prov_primus_setting_int(a, "gpus_per_node", 1, 64, 8);
    int64_t rep = replica > 0 ? replica : gpus > gpn ? (gpus + gpn - 1) / gpn : 1;
    if (o) gb_json_int(o, "replica", 1, 1024, false, &rep, NULL);
    if (gpus < 0 || gpus > 64 || (gpus && (gpus % rep != 0 || gpus / rep > gpn))) {
        snprintf(err, PROV_ERR_MAX, "%s: gpu_count %d cannot be split over %lld node(s) of %d GPUs",
                 a->name, gpus, (long long)rep, gpn);
        return NULL;
    }
    if (rep > 1 && strcmp(kind, "Authoring") == 0) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: an Authoring workload runs on one node: at most %d GPUs (use "
                 "provider_options.kind PyTorchJob for more)",
                 a->name, gpn);
        return NULL;
    }
    int per = gpus / (int)rep, share = per > 0 ? per : 1;
    if (!o || prov_primus_quantity(o, "cpu", true, "", cpu, sizeof(cpu), jerr) != GB_OK)
        snprintf(cpu, sizeof(cpu), "%d",
                 share * prov_primus_setting_int(a, "cpu_per_gpu", 1, 1024, 16));
    if (!o || prov_primus_quantity(o, "memory", false, "Gi", mem, sizeof(mem), jerr) != GB_OK)
        snprintf(mem, sizeof(mem), "%dGi",
                 share * prov_primus_setting_int(a, "memory_gb_per_gpu", 1, 100000, 128));
    if (!o ||
        prov_primus_quantity(o, "ephemeralStorage", false, "Gi", sto, sizeof(sto), jerr) != GB_OK)
        snprintf(sto, sizeof(sto), "%dGi",
                 volume_gb > 0
                     ? volume_gb
                     : prov_primus_setting_int(a, "ephemeral_storage_gb", 1, 1000000, 50));
    cJSON *arr = cJSON_CreateArray(), *r;
    bool job = strcmp(kind, "PyTorchJob") == 0;
    /* a PyTorchJob: master (one replica) and workers (the rest), as ConvertResourceToList */
    int first = job && rep > 1 ? 1 : (int)rep;
    if (!arr || !(r = one_resource(first, cpu, per, mem, sto)) || !cJSON_AddItemToArray(arr, r))
        goto nomem;
    if (job && rep > 1 &&
        (!(r = one_resource((int)rep - 1, cpu, per, mem, sto)) || !cJSON_AddItemToArray(arr, r)))
        goto nomem;
    return arr;
nomem:
    cJSON_Delete(arr);
    snprintf(err, PROV_ERR_MAX, "%s: out of memory", a->name);
    return NULL;
}

/* env: the request's NAME=value entries, then provider_options.env over them. */
static gb_err env_of(prov_adapter *a, const prov_create_req *req, cJSON *body, char *err)
{
    cJSON *env = cJSON_AddObjectToObject(body, "env");
    if (!env) return GB_ERR_NOMEM;
    for (int i = 0; i < req->nenv; i++) {
        const char *eq = req->env[i] ? strchr(req->env[i], '=') : NULL;
        char key[256];
        if (!eq || eq == req->env[i] || (size_t)(eq - req->env[i]) >= sizeof(key)) {
            snprintf(err, PROV_ERR_MAX, "%s: env entry %d must be NAME=value", a->name, i + 1);
            return GB_ERR_INVALID;
        }
        gb_strlcpy(key, req->env[i], (size_t)(eq - req->env[i]) + 1);
        cJSON_DeleteItemFromObjectCaseSensitive(env, key);
        if (!cJSON_AddStringToObject(env, key, eq + 1)) return GB_ERR_NOMEM;
    }
    const cJSON *it,
        *more = req->options ? cJSON_GetObjectItemCaseSensitive(req->options, "env") : NULL;
    if (!cJSON_IsObject(more)) more = NULL;
    cJSON_ArrayForEach(it, more)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(env, it->string);
        if (!cJSON_AddStringToObject(env, it->string, it->valuestring)) return GB_ERR_NOMEM;
    }
    return GB_OK;
}

/* The CreateWorkloadRequest for req (options validated): workload_view.go
 * CreateWorkloadRequest with its embedded v1.WorkloadSpec (workload_types.go); the flat
 * resource/image/entryPoint of the seed were removed upstream (PR #487). */
gb_err prov_primus_precheck(const prov_create_req *req, char *err)
{
    const char *why =
        req->registry_username || req->registry_password
            ? "private registry credentials are not supported: use an image the workspace can "
              "pull"
        /* refused, never dropped: the user would wait for a key that never came */
        : req->nssh > 0   ? "field 'ssh_key_ids': Primus-SaFE workloads take no SSH keys (the "
                            "workspace's own access applies)"
        : req->nports > 1 ? "field 'ports': a Primus workload exposes one service port (or pass "
                            "provider_options.service)"
                          : NULL;
    if (!why) return GB_OK;
    snprintf(err, PROV_ERR_MAX, "%s", why);
    return GB_ERR_INVALID;
}

static gb_err build_body(prov_adapter *a, const prov_create_req *req, cJSON *b, char *err)
{
    static const char *const copies[] = {
        "description",  "priority",       "timeout",        "maxRetry", "ttlSecondsAfterFinished",
        "isSupervised", "isTolerateAll",  "customerLabels", "liveness", "readiness",
        "service",      "specifiedNodes", "dependencies",   "cronJobs"};
    const cJSON *o = req->options;
    const char *kind = o ? gb_jstr(o, "kind") : NULL;
    if (!kind) kind = prov_primus_setting(a, "default_kind");
    if (!kind || !prov_primus_kind_ok(kind)) kind = "Authoring";
    const char *ws = o ? gb_jstr(o, "workspaceId") : NULL;
    if (!ws) ws = prov_primus_setting(a, "workspace_id");
    if (!ws || !prov_primus_id_ok(ws))
        return invalid(a, err,
                       "a workspace is needed: settings.workspace_id or "
                       "provider_options.workspaceId");
    if (!req->image || !req->image[0] || strlen(req->image) > 512)
        return invalid(a, err,
                       req->template_id ? "field 'template_id' is not supported: give an "
                                          "image"
                                        : "an image (at most 512 characters) is needed");
    gb_errmsg why;
    if (prov_primus_precheck(req, why)) return invalid(a, err, why);
    bool svc = strcmp(kind, "Deployment") == 0 || strcmp(kind, "StatefulSet") == 0;
    if (!svc && o &&
        (cJSON_GetObjectItemCaseSensitive(o, "liveness") ||
         cJSON_GetObjectItemCaseSensitive(o, "readiness")))
        return invalid(a, err,
                       "provider_options: field 'liveness'/'readiness' needs \"kind\": "
                       "Deployment or StatefulSet");
    const char *cmd = o ? gb_jstr(o, "command") : NULL;
    const char *ep = o ? gb_jstr(o, "entryPoint") : NULL;
    if ((cmd || ep) && strcmp(kind, "Authoring") == 0)
        return invalid(a, err,
                       "provider_options: an Authoring workload runs \"sleep infinity\" (the "
                       "server replaces its entry point): use \"kind\": PyTorchJob or Deployment "
                       "for a command");
    if (!cmd && !ep && strcmp(kind, "PyTorchJob") == 0)
        return invalid(a, err, "provider_options: field 'command' is required for a PyTorchJob");
    if (!cmd && !ep) cmd = "sleep infinity";
    char *enc = ep ? NULL : gb_base64_encode(cmd, strlen(cmd));
    gb_err e = GB_ERR_NOMEM;
    cJSON *gvk = NULL, *images = NULL, *eps = NULL;
    cJSON *res = prov_primus_resources(a, o, kind, gpus_of(req), 0, req->volume_size_gb, err);
    if (!res) {
        free(enc);
        return GB_ERR_INVALID;
    }
    cJSON_AddItemToObject(b, "resources", res);
    /* images[] and entryPoints[] "must match the length of resources" (WorkloadSpec) */
    if ((!ep && !enc) || !cJSON_AddStringToObject(b, "displayName", req->name) ||
        !cJSON_AddStringToObject(b, "workspaceId", ws) ||
        !(images = cJSON_AddArrayToObject(b, "images")) ||
        !(eps = cJSON_AddArrayToObject(b, "entryPoints")) ||
        !(gvk = cJSON_AddObjectToObject(b, "groupVersionKind")) ||
        !cJSON_AddStringToObject(gvk, "version", "v1") ||
        !cJSON_AddStringToObject(gvk, "kind", kind))
        goto done;
    for (int i = 0; i < cJSON_GetArraySize(res); i++)
        if (!cJSON_AddItemToArray(images, cJSON_CreateString(req->image)) ||
            !cJSON_AddItemToArray(eps, cJSON_CreateString(ep ? ep : enc)))
            goto done;
    if ((e = env_of(a, req, b, err))) goto done;
    e = GB_ERR_NOMEM;
    for (size_t i = 0; o && i < GB_ARRAY_LEN(copies); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, copies[i]);
        if (v && !cJSON_IsNull(v) && !cJSON_AddItemToObject(b, copies[i], cJSON_Duplicate(v, 1)))
            goto done;
    }
    if (req->nports == 1 && !cJSON_GetObjectItemCaseSensitive(b, "service")) {
        cJSON *s = cJSON_AddObjectToObject(b, "service");
        if (!s || !cJSON_AddStringToObject(s, "protocol", "TCP") ||
            !cJSON_AddNumberToObject(s, "port", req->ports[0]) ||
            !cJSON_AddNumberToObject(s, "targetPort", req->ports[0]) ||
            !cJSON_AddStringToObject(s, "serviceType", "ClusterIP"))
            goto done;
    }
    e = GB_OK;
done:
    free(enc);
    return e;
}

/* ---- create ---- */

static bool ambiguous(gb_err e, long status)
{
    return e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT ||
           (e == GB_ERR_PROVIDER && (status >= 500 || (status >= 200 && status < 300)));
}

/* POST /workloads -> {workloadId} without ever creating twice. After an ambiguous failure the
 * workload is looked up by its displayName. The POST is repeated (at most PRIMUS_CREATE_TRIES
 * in all) only after a 5xx answer and when no workload has that name; after a transport
 * failure (timeout, dropped or cut answer) the request may still be in flight, so the adapter
 * looks twice and then reports the failure instead of posting again. */
static gb_err post(prov_adapter *a, const char *name, const cJSON *body, char *id, size_t idn,
                   char *err)
{
    gb_err e = GB_OK;
    int64_t delay = a->policy.base_delay_ms > 0 ? a->policy.base_delay_ms : 250;
    for (int attempt = 0; attempt < PRIMUS_CREATE_TRIES; attempt++, delay *= 2) {
        if (attempt) prov_sleep(a, delay);
        cJSON *j = NULL;
        long status = 0;
        e = prov_call(a, "POST", PRIMUS_API "/workloads", body, false, &j, &status, err);
        if (e == GB_OK) {
            const char *wid = gb_jstr(j, "workloadId");
            bool ok = wid && prov_primus_id_ok(wid);
            if (ok) gb_strlcpy(id, wid, idn);
            cJSON_Delete(j);
            if (ok) return GB_OK;
            snprintf(err, PROV_ERR_MAX, "malformed response from %s: no workloadId", a->name);
            e = GB_ERR_PROVIDER;
        }
        if (!ambiguous(e, status)) return e;
        prov_pod p;
        char ferr[PROV_ERR_MAX];
        gb_err fe = prov_primus_find_by_name(a, name, &p, ferr);
        if (fe == GB_ERR_NOT_FOUND && status == 0) { /* maybe still in flight: look again */
            prov_sleep(a, delay);
            fe = prov_primus_find_by_name(a, name, &p, ferr);
        }
        if (fe == GB_OK) {
            gb_strlcpy(id, p.provider_id, idn);
            return GB_OK;
        }
        size_t l = strlen(err);
        if (fe != GB_ERR_NOT_FOUND) {
            snprintf(err + l, PROV_ERR_MAX - l,
                     "; not retried: looking the workload up by name failed too (%.200s)", ferr);
            return e;
        }
        if (status < 500) {
            snprintf(err + l, PROV_ERR_MAX - l,
                     "; no workload named '%.63s' yet, not retried to avoid a duplicate", name);
            return e;
        }
    }
    return e;
}

gb_err prov_primus_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err)
{
    memset(out, 0, sizeof(*out));
    gb_err e = prov_primus_validate_options(req->options, err);
    if (e) return e;
    if (!req->name || !req->name[0] || strlen(req->name) > PRIMUS_NAME_MAX)
        return invalid(a, err, "a workload name (1-63 characters) is needed");
    gb_money rate = prov_primus_rate(a);
    int gpus = gpus_of(req);
    if (rate > 0 && req->max_price_per_hour > 0 && rate * gpus > req->max_price_per_hour) {
        char p[32], m[32];
        snprintf(err, PROV_ERR_MAX, "%s: price $%s/hour is above the limit $%s/hour", a->name,
                 gb_money_format(rate * gpus, p, sizeof(p)),
                 gb_money_format(req->max_price_per_hour, m, sizeof(m)));
        return GB_ERR_CONFLICT;
    }
    cJSON *body = cJSON_CreateObject();
    char id[128];
    if (!body) return GB_ERR_NOMEM;
    if ((e = build_body(a, req, body, err)) || (e = post(a, req->name, body, id, sizeof(id), err)))
        goto done;
    char gerr[PROV_ERR_MAX];
    if (prov_primus_ops.get(a, id, out, gerr) != GB_OK) { /* created: report what we know */
        memset(out, 0, sizeof(*out));
        gb_strlcpy(out->provider_id, id, sizeof(out->provider_id));
        gb_strlcpy(out->raw_status, "Pending", sizeof(out->raw_status));
        out->status = POD_PENDING;
        out->created_at = gb_now_ms();
    }
    if (!out->name[0]) gb_strlcpy(out->name, req->name, sizeof(out->name));
    if (!out->gpu_count) out->gpu_count = gpus;
    if (!out->gpu_type[0]) {
        const char *gt = prov_primus_setting(a, "gpu_type");
        gpu_normalize(gt ? gt : "MI300X", out->gpu_type, NULL);
    }
    if (!out->price_per_hour && rate > 0) out->price_per_hour = rate * out->gpu_count;
done:
    cJSON_Delete(body);
    return e;
}
