/* runai_create.c: creating a Run:ai workload (validated here, then submitted once: an
 * ambiguous failure is followed by a lookup by name; the spec has no dry run) and updating one
 * (PUT with a new manifest made from the one Run:ai reports, with the changes applied).
 * Sources (public OpenAPI spec, runai-professional-services/runapy, .generator/swagger.json
 * 1.224.0, tag "Workloads V2"):
 *  - POST /api/v2/workloads WorkloadV2CreateRequest {metadata:{name, projectId, clusterId,
 *    priority}, manifestBase64Encoded} -> 202 WorkloadV2 {metadata:{id, ...}, desiredPhase,
 *    workloadManifest, rawManifest}; 409 when the name exists in the project;
 *  - GET /api/v2/workloads/{id} -> {workload:{..., rawManifest}, syncInfo};
 *  - PUT /api/v2/workloads/{id} WorkloadV2UpdateRequest {manifestBase64Encoded} -> 202. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/runai_int.h"

#define CREATE_TRIES 3

static bool ambiguous(gb_err e, long status)
{
    return e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT ||
           (e == GB_ERR_PROVIDER && (status >= 500 || (status >= 200 && status < 300)));
}

static void append(char *err, const char *fmt, const char *arg)
{
    size_t l = strlen(err);
    if (l + 1 < PROV_ERR_MAX) snprintf(err + l, PROV_ERR_MAX - l, fmt, arg);
}

/* POST /api/v2/workloads without ever creating twice. After an ambiguous failure the workload
 * is looked up by its name. The POST is tried again (CREATE_TRIES in all) only when Run:ai
 * answered with a 5xx and the workload does not exist; after a transport failure (timeout,
 * dropped or cut answer) the request may still be in flight, so the adapter looks twice and
 * then reports the failure instead of posting again (a late workload is found by name later).
 * A 202 without a usable id is resolved by name too, and so is a 409 "already exists" on a
 * retry (names are unique in a project: Run:ai refuses the duplicate itself). */
static gb_err post_workload(prov_adapter *a, const runai_settings *s, const char *name,
                            const cJSON *body, prov_pod *out, char *err)
{
    gb_err e = GB_OK;
    int64_t delay = a->policy.base_delay_ms > 0 ? a->policy.base_delay_ms : 250;
    for (int attempt = 0; attempt < CREATE_TRIES; attempt++, delay *= 2) {
        if (attempt) prov_sleep(a, delay);
        cJSON *j = NULL;
        long status = 0;
        e = prov_call(a, "POST", RUNAI_WORKLOADS, body, false, &j, &status, err);
        if (e == GB_OK) {
            int bad = prov_runai_parse_v2(s, j, out);
            cJSON_Delete(j);
            if (!bad) return GB_OK;
            snprintf(err, PROV_ERR_MAX,
                     "malformed response from %s: accepted workload without "
                     "an id",
                     a->name);
            e = GB_ERR_PROVIDER;
        }
        if (e == GB_ERR_CONFLICT && attempt > 0) { /* our earlier POST made it after all */
            char ferr[PROV_ERR_MAX];
            if (prov_runai_find_by_name(a, name, out, ferr) == GB_OK) return GB_OK;
        }
        if (!ambiguous(e, status)) return e;
        char ferr[PROV_ERR_MAX];
        gb_err fe = prov_runai_find_by_name(a, name, out, ferr);
        if (fe == GB_ERR_NOT_FOUND && status == 0) { /* maybe still in flight: look again */
            prov_sleep(a, delay);
            fe = prov_runai_find_by_name(a, name, out, ferr);
        }
        if (fe == GB_OK) return GB_OK;
        if (fe != GB_ERR_NOT_FOUND) {
            append(err, "; not retried: looking the workload up by name failed too (%.200s)", ferr);
            return e;
        }
        if (status < 500) {
            append(err, "; no workload named '%.64s' yet, not retried to avoid a duplicate", name);
            return e;
        }
    }
    return e;
}

/* "gpu-N" -> N (1..RUNAI_MAX_GPUS); 0 otherwise. */
static int offer_gpus(const char *offer)
{
    int n = 0;
    if (!offer || strncmp(offer, "gpu-", 4) != 0 || gb_parse_int(offer + 4, 1, RUNAI_MAX_GPUS, &n))
        return 0;
    return n;
}

/* The project name of a request: provider_options.project, else settings.project; NULL
 * with err when there is none. */
static const char *project_of(prov_adapter *a, const runai_settings *s, const prov_create_req *req,
                              char *err)
{
    const char *project = req->options ? gb_jstr(req->options, "project") : NULL;
    if (!project) project = s->project[0] ? s->project : NULL;
    if (!project || !prov_runai_dns_label(project)) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: a Run:ai project name is needed (settings.project or "
                 "provider_options.project: lowercase letters, digits and '-')",
                 a->name);
        return NULL;
    }
    return project;
}

/* WorkloadV2CreateRequest: {"metadata":{name, projectId, clusterId, priority},
 * "manifestBase64Encoded"}; project_id and cluster_id as resolved ("" = not sent). */
static cJSON *create_body(prov_adapter *a, const prov_create_req *req, const char *project_id,
                          const char *cluster_id, const char *b64, char *err, gb_err *e)
{
    const char *prio = req->options ? gb_jstr(req->options, "priority") : NULL;
    *e = GB_ERR_NOMEM;
    cJSON *body = cJSON_CreateObject();
    cJSON *md = body ? cJSON_AddObjectToObject(body, "metadata") : NULL;
    if (!md || !cJSON_AddStringToObject(md, "name", req->name) ||
        !cJSON_AddStringToObject(md, "projectId", project_id) ||
        (cluster_id[0] && !cJSON_AddStringToObject(md, "clusterId", cluster_id)) ||
        (prio && !cJSON_AddStringToObject(md, "priority", prio)) ||
        !cJSON_AddStringToObject(body, "manifestBase64Encoded", b64)) {
        cJSON_Delete(body);
        snprintf(err, PROV_ERR_MAX, "%s: out of memory", a->name);
        return NULL;
    }
    *e = GB_OK;
    return body;
}

gb_err prov_runai_precheck(const prov_create_req *req, char *err)
{
    if (!req->registry_username && !req->registry_password) return GB_OK;
    snprintf(err, PROV_ERR_MAX,
             "private registry credentials are not supported (use an image pull secret "
             "configured in the Run:ai project)");
    return GB_ERR_INVALID;
}

gb_err prov_runai_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err)
{
    memset(out, 0, sizeof(*out));
    runai_settings s;
    cJSON *manifest = NULL, *body = NULL;
    char *b64 = NULL;
    gb_err e = prov_runai_validate_options(req->options, err);
    if (!e) e = prov_runai_settings(a, &s, err);
    if (e) return e;
    int from_offer = offer_gpus(req->offer_id);
    if (req->offer_id && req->offer_id[0] && !from_offer) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: offer_id '%.64s' is not a Run:ai offer (gpu-1, gpu-2, "
                 "...)",
                 a->name, req->offer_id);
        return GB_ERR_INVALID;
    }
    int gpus = req->gpu_count > 0 ? req->gpu_count : from_offer > 0 ? from_offer : 1;
    if (gpus > s.gpus_per_node) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: gpu_count %d is more than one node has (gpus_per_node "
                 "%d)",
                 a->name, gpus, s.gpus_per_node);
        return GB_ERR_INVALID;
    }
    gb_errmsg why;
    if (prov_runai_precheck(req, why)) {
        snprintf(err, PROV_ERR_MAX, "%s: %.440s", a->name, why);
        return GB_ERR_INVALID;
    }
    if (s.has_rate && req->max_price_per_hour > 0 && s.rate * gpus > req->max_price_per_hour) {
        char p[32], m[32];
        snprintf(err, PROV_ERR_MAX, "%s: price changed: $%s/hour now, above the limit $%s/hour",
                 a->name, gb_money_format(s.rate * gpus, p, sizeof(p)),
                 gb_money_format(req->max_price_per_hour, m, sizeof(m)));
        return GB_ERR_CONFLICT;
    }
    const char *project = project_of(a, &s, req, err);
    if (!project) return GB_ERR_INVALID;
    /* everything is checked here before anything is sent (the spec has no dry run) */
    if (!(manifest = prov_runai_manifest_new(a, req, gpus, &e, err))) goto done;
    if ((e = prov_runai_manifest_encode(a, manifest, &b64, err))) goto done;
    char pid[64], cid[64];
    if ((e = prov_runai_project_id(a, project, s.cluster_id, pid, cid, err))) goto done;
    if (!(body = create_body(a, req, pid, s.cluster_id[0] ? s.cluster_id : cid, b64, err, &e)))
        goto done;
    e = post_workload(a, &s, req->name, body, out, err);
    if (e == GB_OK) {
        if (!out->name[0]) gb_strlcpy(out->name, req->name, sizeof(out->name));
        if (!out->gpu_count) out->gpu_count = gpus;
        if (s.has_rate) out->price_per_hour = s.rate * out->gpu_count;
        if (!out->raw_status[0]) {
            gb_strlcpy(out->raw_status, "Creating", sizeof(out->raw_status));
            out->status = POD_PENDING;
        }
    }
done:
    cJSON_Delete(manifest);
    cJSON_Delete(body);
    free(b64);
    return e;
}

/* ---- update ---- */

/* Applies changes {name, ssh_public_keys, image, gpu_count} to the manifest; -1 with err. */
static int apply_changes(prov_adapter *a, const runai_settings *s, const cJSON *ch, cJSON *m,
                         char *err)
{
    cJSON *c = prov_runai_manifest_container(m);
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(ch, "ssh_public_keys");
    const char *name = gb_jstr(ch, "name"), *image = gb_jstr(ch, "image");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(ch, "gpu_count");
    if (!c) {
        snprintf(err, PROV_ERR_MAX, "%s: the workload's manifest has no container", a->name);
        return -1;
    }
    if (cJSON_IsNumber(g) && g->valuedouble > s->gpus_per_node) {
        snprintf(err, PROV_ERR_MAX, "%s: field 'gpu_count' is more than one node has (%d)", a->name,
                 s->gpus_per_node);
        return -1;
    }
    if (name) {
        cJSON *md = cJSON_GetObjectItemCaseSensitive(m, "metadata");
        cJSON *an = cJSON_GetObjectItemCaseSensitive(md, "annotations");
        if (!cJSON_IsObject(md)) goto nomem;
        if (!cJSON_IsObject(an)) {
            cJSON_DeleteItemFromObjectCaseSensitive(md, "annotations");
            if (!(an = cJSON_AddObjectToObject(md, "annotations"))) goto nomem;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(an, RUNAI_DISPLAY_ANNOTATION);
        if (!cJSON_AddStringToObject(an, RUNAI_DISPLAY_ANNOTATION, name)) goto nomem;
    }
    if (image) {
        cJSON_DeleteItemFromObjectCaseSensitive(c, "image");
        if (!cJSON_AddStringToObject(c, "image", image)) goto nomem;
    }
    if (cJSON_IsNumber(g)) {
        cJSON *res = cJSON_GetObjectItemCaseSensitive(c, "resources");
        if (!cJSON_IsObject(res) && (cJSON_DeleteItemFromObjectCaseSensitive(c, "resources"),
                                     !(res = cJSON_AddObjectToObject(c, "resources"))))
            goto nomem;
        cJSON *lim = cJSON_GetObjectItemCaseSensitive(res, "limits");
        if (!cJSON_IsObject(lim) && (cJSON_DeleteItemFromObjectCaseSensitive(res, "limits"),
                                     !(lim = cJSON_AddObjectToObject(res, "limits"))))
            goto nomem;
        cJSON_DeleteItemFromObjectCaseSensitive(lim, "nvidia.com/gpu");
        if (!cJSON_AddNumberToObject(lim, "nvidia.com/gpu", g->valuedouble)) goto nomem;
    }
    if (keys) {
        gb_buf b = {0};
        const cJSON *it;
        cJSON_ArrayForEach(it, keys)
        {
            if (!cJSON_IsString(it) || !it->valuestring[0] || strchr(it->valuestring, '\n') ||
                gb_buf_printf(&b, "%s%s", b.len ? "\n" : "", it->valuestring)) {
                gb_buf_free(&b);
                snprintf(err, PROV_ERR_MAX,
                         "%s: field 'ssh_public_keys' must hold OpenSSH "
                         "public key lines",
                         a->name);
                return -1;
            }
        }
        gb_err e = prov_runai_container_env(c, RUNAI_SSH_ENV, b.len ? b.data : NULL);
        gb_buf_free(&b);
        if (e) goto nomem;
    }
    return 0;
nomem:
    snprintf(err, PROV_ERR_MAX, "%s: out of memory", a->name);
    return -1;
}

gb_err prov_runai_update(prov_adapter *a, const char *id, const cJSON *changes, char *err)
{
    static const char *const allowed[] = {"name", "ssh_public_keys", "image", "gpu_count", NULL};
    char jerr[GB_JSON_ERR_MAX];
    const char *s = NULL;
    const cJSON *arr = NULL;
    int64_t g;
    runai_settings st;
    if (!prov_runai_uuid_ok(id)) {
        snprintf(err, PROV_ERR_MAX, "%s: invalid workload id (Run:ai workload ids are UUIDs)",
                 a->name);
        return GB_ERR_INVALID;
    }
    if (!cJSON_IsObject(changes) || gb_json_only_keys(changes, allowed, jerr) ||
        gb_json_str(changes, "name", 1, 128, false, &s, jerr) == GB_ERR_INVALID ||
        gb_json_str(changes, "image", 1, 1024, false, &s, jerr) == GB_ERR_INVALID ||
        gb_json_array(changes, "ssh_public_keys", 16, false, &arr, jerr) == GB_ERR_INVALID ||
        gb_json_int(changes, "gpu_count", 1, RUNAI_MAX_GPUS, false, &g, jerr) == GB_ERR_INVALID) {
        snprintf(err, PROV_ERR_MAX, "%s: %.440s", a->name,
                 cJSON_IsObject(changes) ? jerr : "changes must be a JSON object");
        return GB_ERR_INVALID;
    }
    if (!changes->child) return GB_OK;
    gb_err e = prov_runai_settings(a, &st, err);
    if (e) return e;
    char path[96];
    snprintf(path, sizeof(path), RUNAI_WORKLOADS "/%s", id);
    cJSON *w = NULL, *body = NULL;
    char *b64 = NULL;
    if ((e = prov_call(a, "GET", path, NULL, true, &w, NULL, err))) goto done;
    cJSON *wl = cJSON_GetObjectItemCaseSensitive(w, "workload"); /* WorkloadV2GetResponse */
    cJSON *m = cJSON_GetObjectItemCaseSensitive(wl, "rawManifest");
    if (!cJSON_IsObject(m)) m = cJSON_GetObjectItemCaseSensitive(wl, "workloadManifest");
    if (!cJSON_IsObject(m)) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: the workload's manifest is not in Run:ai's answer; it "
                 "cannot be updated",
                 a->name);
        e = GB_ERR_PROVIDER;
        goto done;
    }
    if (apply_changes(a, &st, changes, m, err)) {
        e = strstr(err, "out of memory") ? GB_ERR_NOMEM : GB_ERR_INVALID;
        goto done;
    }
    if ((e = prov_runai_manifest_encode(a, m, &b64, err))) goto done;
    body = cJSON_CreateObject();
    if (!body || !cJSON_AddStringToObject(body, "manifestBase64Encoded", b64)) {
        e = GB_ERR_NOMEM;
        goto done;
    }
    e = prov_call(a, "PUT", path, body, true, NULL, NULL, err);
done:
    cJSON_Delete(w);
    cJSON_Delete(body);
    free(b64);
    return e;
}
