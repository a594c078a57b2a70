/* runai_ops.c: the Run:ai adapter's vtable (prov_runai_ops): workloads read through the v1
 * endpoints that carry phase and phaseMessage, listed, deleted through v2; and offers built
 * from the operator's settings (Run:ai has no price API) with the GPUs left after the
 * workloads that hold or wait for them. Sources (public OpenAPI spec,
 * runai-professional-services/runapy, .generator/swagger.json 1.224.0):
 *  - GET /api/v1/workloads/{workloadId} -> WorkloadDetailed {id, name, phase, phaseMessage,
 *    workloadRequestedResources, createdAt, ...};
 *  - GET /api/v1/workloads?offset&limit&filterBy -> {workloads:[Workload], next};
 *  - GET /api/v2/workloads/{id} -> {workload:{metadata, desiredPhase, workloadManifest,
 *    rawManifest}, syncInfo:{status, message}}: asked only when v1 does not know the id yet
 *    (a workload the cluster has not reported);
 *  - DELETE /api/v2/workloads/{id} -> 202 WorkloadV2.
 * Workloads v2 has no stop or start (no PATCH, no desiredPhase in WorkloadV2UpdateRequest),
 * and the v1 suspend/resume endpoints exist only for Run:ai's own types (workspaces,
 * trainings, distributed): start and stop are left out, so the broker answers 409
 * NOT_SUPPORTED. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/runai_int.h"

#define PAGE 500     /* workloads asked for per page */
#define MAX_PAGES 40 /* 20,000 workloads at most */

static gb_err bad_id(prov_adapter *a, char *err)
{
    snprintf(err, PROV_ERR_MAX, "%s: invalid workload id (Run:ai workload ids are UUIDs)", a->name);
    return GB_ERR_INVALID;
}

/* GET path and read it with parse; GB_ERR_PROVIDER when the answer has no id. */
static gb_err read_one(prov_adapter *a, const runai_settings *s, const char *path,
                       int (*parse)(const runai_settings *, const cJSON *, prov_pod *),
                       prov_pod *out, char *err)
{
    cJSON *j = NULL;
    gb_err e = prov_call(a, "GET", path, NULL, true, &j, NULL, err);
    if (e == GB_OK && parse(s, j, out) != 0) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: workload without an id", a->name);
        e = GB_ERR_PROVIDER;
    }
    cJSON_Delete(j);
    return e;
}

static gb_err get(prov_adapter *a, const char *id, prov_pod *out, char *err)
{
    memset(out, 0, sizeof(*out));
    if (!prov_runai_uuid_ok(id)) return bad_id(a, err);
    runai_settings s;
    gb_err e = prov_runai_settings(a, &s, err);
    if (e) return e;
    char path[96];
    snprintf(path, sizeof(path), RUNAI_WORKLOADS_V1 "/%s", id);
    e = read_one(a, &s, path, prov_runai_parse_v1, out, err);
    if (e != GB_ERR_NOT_FOUND) return e;
    /* not reported by the cluster (yet, or any more): workloads v2 knows what was submitted */
    snprintf(path, sizeof(path), RUNAI_WORKLOADS "/%s", id);
    return read_one(a, &s, path, prov_runai_parse_v2, out, err);
}

gb_err prov_runai_list_raw(prov_adapter *a, const char *name, cJSON **out, char *err)
{
    cJSON *all = cJSON_CreateArray();
    gb_err e = all ? GB_OK : GB_ERR_NOMEM;
    long offset = 0;
    for (int page = 0; !e && page < MAX_PAGES; page++) {
        char path[192];
        cJSON *j = NULL;
        /* filterBy=name==<name> ("==" escaped); names are DNS labels, checked by the caller */
        snprintf(path, sizeof(path), RUNAI_WORKLOADS_V1 "?offset=%ld&limit=%d%s%s", offset, PAGE,
                 name ? "&filterBy=name%3D%3D" : "", name ? name : "");
        e = prov_call(a, "GET", path, NULL, true, &j, NULL, err);
        if (e) break;
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "workloads");
        if (!cJSON_IsArray(arr)) arr = NULL;
        if (!arr) {
            snprintf(err, PROV_ERR_MAX, "malformed response from %s: no 'workloads' list", a->name);
            e = GB_ERR_PROVIDER;
        }
        while (arr && cJSON_GetArraySize(arr) > 0)
            cJSON_AddItemToArray(all, cJSON_DetachItemFromArray(arr, 0));
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next");
        bool more = !e && cJSON_IsNumber(next) && next->valuedouble > (double)offset &&
                    next->valuedouble < 1e9;
        if (more) offset = (long)next->valuedouble;
        cJSON_Delete(j);
        if (!more) break;
    }
    if (e) {
        cJSON_Delete(all);
        all = NULL;
    }
    *out = all;
    return e;
}

static gb_err list_pods(prov_adapter *a, prov_pod **out, size_t *n, char *err)
{
    *out = NULL;
    *n = 0;
    runai_settings s;
    cJSON *all = NULL;
    gb_err e = prov_runai_settings(a, &s, err);
    if (!e) e = prov_runai_list_raw(a, NULL, &all, err);
    if (e) return e;
    int total = cJSON_GetArraySize(all);
    *out = calloc(total ? (size_t)total : 1, sizeof(**out));
    if (!*out) {
        cJSON_Delete(all);
        return GB_ERR_NOMEM;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, all)
    {
        if (prov_runai_parse_v1(&s, it, &(*out)[*n]) == 0) (*n)++;
    }
    cJSON_Delete(all);
    return GB_OK;
}

/* The live workload named name (the newest; one being deleted does not count). */
gb_err prov_runai_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err)
{
    runai_settings s;
    cJSON *all = NULL;
    if (!name || !prov_runai_dns_label(name)) {
        snprintf(err, PROV_ERR_MAX, "%s: no workload named '%.96s'", a->name, name ? name : "");
        return GB_ERR_NOT_FOUND; /* Run:ai names are DNS labels: no such workload */
    }
    gb_err e = prov_runai_settings(a, &s, err);
    if (!e) e = prov_runai_list_raw(a, name, &all, err);
    if (e) return e;
    bool found = false;
    const cJSON *it;
    cJSON_ArrayForEach(it, all)
    {
        prov_pod p;
        if (prov_runai_parse_v1(&s, it, &p) != 0 || strcmp(p.name, name) != 0 ||
            gb_str_ieq(p.raw_status, "Deleting") || gb_str_ieq(p.raw_status, "Terminating"))
            continue;
        if (!found || p.created_at > out->created_at) *out = p;
        found = true;
    }
    cJSON_Delete(all);
    if (!found) {
        snprintf(err, PROV_ERR_MAX, "%s: no workload named '%.96s'", a->name, name ? name : "");
        return GB_ERR_NOT_FOUND;
    }
    return GB_OK;
}

/* DELETE is idempotent: a workload that is already gone (404) counts as removed. */
static gb_err remove_workload(prov_adapter *a, const char *id, char *err)
{
    if (!prov_runai_uuid_ok(id)) return bad_id(a, err);
    char path[96];
    snprintf(path, sizeof(path), RUNAI_WORKLOADS "/%s", id);
    gb_err e = prov_call(a, "DELETE", path, NULL, true, NULL, NULL, err);
    return e == GB_ERR_NOT_FOUND ? GB_OK : e;
}

/* ---- offers ---- */

/* GPUs the workloads take or wait for: every workload not Stopped, Completed, Failed or
 * Deleted counts its requested GPUs (pending ones are ahead of a new request in the queue). */
static int gpus_in_use(const cJSON *all)
{
    int used = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, all)
    {
        pod_status st = prov_runai_map_status(gb_jstr(it, "phase"));
        if (st == POD_STOPPED || st == POD_SUCCEEDED || st == POD_FAILED || st == POD_DELETED)
            continue;
        int g = prov_runai_v1_gpus(it);
        if (g > 0 && used < 1000000) used += g;
    }
    return used;
}

/* One offer per GPU count a workload can take on one node: 1, 2, 4, ... and gpus_per_node. */
static gb_err list_offers(prov_adapter *a, prov_offer **out, size_t *n, char *err)
{
    *out = NULL;
    *n = 0;
    runai_settings s;
    gb_err e = prov_runai_settings(a, &s, err);
    if (e) return e;
    if (!s.has_rate) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: settings.rate_per_gpu_hour is required for offers (Run:ai has no price API)",
                 a->name);
        return GB_ERR_INVALID;
    }
    cJSON *all = NULL;
    e = prov_runai_list_raw(a, NULL, &all, err);
    if (e) return e;
    int free_gpus = s.max_gpus - gpus_in_use(all);
    cJSON_Delete(all);
    if (free_gpus < 0) free_gpus = 0;
    int counts[16], nc = 0;
    for (int c = 1; c <= s.gpus_per_node && nc < 15; c *= 2)
        counts[nc++] = c;
    if (counts[nc - 1] != s.gpus_per_node) counts[nc++] = s.gpus_per_node;
    *out = calloc((size_t)nc, sizeof(**out));
    if (!*out) return GB_ERR_NOMEM;
    int64_t now = gb_now_ms();
    for (int i = 0; i < nc; i++) {
        prov_offer *o = &(*out)[i];
        snprintf(o->offer_id, sizeof(o->offer_id), "gpu-%d", counts[i]);
        snprintf(o->id, sizeof(o->id), "%s:%s", a->name, o->offer_id);
        gb_strlcpy(o->provider, a->name, sizeof(o->provider));
        gb_strlcpy(o->gpu_type, s.gpu_type, sizeof(o->gpu_type));
        gb_strlcpy(o->gpu_name, s.gpu_name, sizeof(o->gpu_name));
        o->gpu_count = counts[i];
        o->gpu_vram_gb = s.gpu_vram_gb;
        gb_strlcpy(o->location, s.location, sizeof(o->location));
        o->price_per_gpu_hour = s.rate;
        o->price_per_hour = s.rate * counts[i];
        o->available_gpus = free_gpus;
        o->available = free_gpus / counts[i];
        o->confidential = false;
        gb_strlcpy(o->tier, "secure", sizeof(o->tier));
        o->fetched_at = now;
    }
    *n = (size_t)nc;
    return GB_OK;
}

const prov_ops prov_runai_ops = {
    .kind = "runai",
    .list_offers = list_offers,
    .create = prov_runai_create,
    .precheck = prov_runai_precheck,
    .get = get,
    .find_by_name = prov_runai_find_by_name,
    .list_pods = list_pods,
    .start = NULL, /* no stop or start for workloads v2 (see the top of this file) */
    .stop = NULL,
    .update = prov_runai_update,
    .remove = remove_workload,
    .logs = NULL,
    .events = NULL,
    .map_status = prov_runai_map_status,
    .validate_options = prov_runai_validate_options,
    .state_free = prov_runai_state_free,
    .auth = prov_runai_auth,
    .error = prov_runai_error,
};
