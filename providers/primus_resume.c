/* primus_resume.c: the Primus adapter's start and update, both built from the workload's GET
 * answer. start is POST /api/v1/workloads/{id}/resume, whose body is a whole
 * CreateWorkloadRequest (the server re-creates the workload under the same id: routers.go
 * registers it, workload.go resumeWorkload parses the body as CreateWorkloadRequest; the
 * console sends the create body without workloadId, Web/apps/safe/src/services/workload/
 * type.ts ResumeWorkloadRequest). update is PATCH /api/v1/workloads/{id} with a
 * PatchWorkloadRequest: resources[], images[] and entryPoints[] replace the whole lists
 * (workload.go applyWorkloadPatch), so they are rebuilt from the current ones. All in
 * AMD-AGI/Primus-SaFE SaFE/apiserver/pkg/handlers/resources/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/primus_int.h"

static bool ended(const char *phase)
{
    return phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0 ||
                     strcmp(phase, "Stopped") == 0);
}

/* Adds a copy of src[key] to dst when it is present and not null. */
static bool copy_key(cJSON *dst, const cJSON *src, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
    if (!v || cJSON_IsNull(v)) return true;
    cJSON *c = cJSON_Duplicate(v, 1);
    return c && cJSON_AddItemToObject(dst, key, c);
}

/* GET answers carry entryPoints decoded (workload.go cvtToWorkloadEntryPoints); requests
 * carry them in base64. An array of n entries (the last one repeated when src is shorter). */
static cJSON *encoded_entry_points(const cJSON *src, int n)
{
    cJSON *out = cJSON_CreateArray();
    int have = cJSON_GetArraySize(src);
    for (int i = 0; out && i < n && have > 0; i++) {
        const cJSON *e = cJSON_GetArrayItem(src, i < have ? i : have - 1);
        const char *t = cJSON_IsString(e) ? e->valuestring : "";
        char *b = gb_base64_encode(t, strlen(t));
        if (!b || !cJSON_AddItemToArray(out, cJSON_CreateString(b))) {
            free(b);
            cJSON_Delete(out);
            return NULL;
        }
        free(b);
    }
    return out;
}

/* The strings of src resized to n (the last one repeated). */
static cJSON *resized(const cJSON *src, int n)
{
    cJSON *out = cJSON_CreateArray();
    int have = cJSON_GetArraySize(src);
    for (int i = 0; out && i < n && have > 0; i++) {
        const cJSON *e = cJSON_GetArrayItem(src, i < have ? i : have - 1);
        if (!cJSON_AddItemToArray(out, cJSON_Duplicate(e, 1))) {
            cJSON_Delete(out);
            return NULL;
        }
    }
    return out;
}

/* resources[] as a request takes them: without gpuName and rdmaResource, which the server
 * sets itself (workload_types.go WorkloadResource). */
static cJSON *request_resources(const cJSON *src)
{
    cJSON *out = cJSON_Duplicate(src, 1), *r;
    cJSON_ArrayForEach(r, out)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(r, "gpuName");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "rdmaResource");
    }
    return out;
}

/* The resume body (a CreateWorkloadRequest) for the workload w of a GET answer. */
static gb_err resume_body(const cJSON *w, cJSON **out)
{
    static const char *const copies[] = {"displayName",
                                         "workspaceId",
                                         "groupVersionKind",
                                         "priority",
                                         "timeout",
                                         "maxRetry",
                                         "env",
                                         "isSupervised",
                                         "isTolerateAll",
                                         "customerLabels",
                                         "liveness",
                                         "readiness",
                                         "service",
                                         "specifiedNodes",
                                         "nodesAffinity",
                                         "excludedNodes",
                                         "dependencies",
                                         "cronJobs",
                                         "privileged",
                                         "useWorkspaceStorage",
                                         "forceHostNetwork",
                                         "ttlSecondsAfterFinished"};
    cJSON *b = cJSON_CreateObject();
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(w, "resources");
    int n = cJSON_GetArraySize(res);
    cJSON *r = request_resources(res);
    if (!b || !r) {
        cJSON_Delete(r);
        goto nomem;
    }
    cJSON_AddItemToObject(b, "resources", r);
    for (size_t i = 0; i < GB_ARRAY_LEN(copies); i++)
        if (!copy_key(b, w, copies[i])) goto nomem;
    const char *desc = gb_jstr(w, "description");
    if (desc && desc[0] && !cJSON_AddStringToObject(b, "description", desc)) goto nomem;
    cJSON *img = resized(cJSON_GetObjectItemCaseSensitive(w, "images"), n);
    if (!img || !cJSON_AddItemToObject(b, "images", img)) goto nomem;
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(w, "entryPoints");
    if (cJSON_GetArraySize(eps) > 0) { /* an Authoring has none: the server sets its own */
        cJSON *e = encoded_entry_points(eps, n);
        if (!e || !cJSON_AddItemToObject(b, "entryPoints", e)) goto nomem;
    }
    const cJSON *sec, *secrets = cJSON_GetObjectItemCaseSensitive(w, "secrets");
    if (cJSON_GetArraySize(secrets) > 0) {
        cJSON *s = cJSON_AddArrayToObject(b, "secrets");
        cJSON_ArrayForEach(sec, secrets)
        {
            const char *sid = gb_jstr(sec, "id");
            cJSON *o = sid ? cJSON_CreateObject() : NULL;
            if (!sid) continue;
            if (!s || !o || !cJSON_AddStringToObject(o, "id", sid) || !cJSON_AddItemToArray(s, o)) {
                cJSON_Delete(o);
                goto nomem;
            }
        }
    }
    *out = b;
    return GB_OK;
nomem:
    cJSON_Delete(b);
    return GB_ERR_NOMEM;
}

gb_err prov_primus_start(prov_adapter *a, const char *id, char *err)
{
    cJSON *w = NULL, *body = NULL;
    char path[192];
    gb_err e = prov_primus_get_json(a, id, &w, err);
    if (e) return e;
    const char *phase = gb_jstr(w, "phase");
    if (!ended(phase)) goto done; /* Pending, Running, ...: already started */
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(w, "resources")) == 0) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: workload %.96s has no resources",
                 a->name, id);
        e = GB_ERR_PROVIDER;
        goto done;
    }
    if ((e = resume_body(w, &body))) {
        snprintf(err, PROV_ERR_MAX, "%s: out of memory", a->name);
        goto done;
    }
    snprintf(path, sizeof(path), PRIMUS_API "/workloads/%s/resume", id);
    /* the same id again: a repeat cannot make a second workload, the server answers 409 */
    e = prov_call(a, "POST", path, body, true, NULL, NULL, err);
    if (e == GB_ERR_CONFLICT) {
        cJSON *again = NULL;
        char gerr[PROV_ERR_MAX];
        if (prov_primus_get_json(a, id, &again, gerr) == GB_OK && !ended(gb_jstr(again, "phase")))
            e = GB_OK; /* our earlier attempt resumed it */
        cJSON_Delete(again);
    }
done:
    cJSON_Delete(body);
    cJSON_Delete(w);
    return e;
}

/* ---- update ---- */

static bool has(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v && !cJSON_IsNull(v);
}

/* An integer member given as a number or a digit string; def otherwise. */
static int64_t int_of(const cJSON *o, const char *key, int64_t def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    int64_t out = def;
    if (cJSON_IsString(v) && gb_parse_i64(v->valuestring, 0, 100000, &out) != 0) out = def;
    if (cJSON_IsNumber(v)) out = gb_jint(o, key, def);
    return out;
}

/* The new resources[] for the changes to the current cur (same kind). NULL with err. */
static cJSON *new_resources(prov_adapter *a, const cJSON *ch, const cJSON *cur, const char *kind,
                            char *err)
{
    const cJSON *first = cJSON_GetArrayItem(cur, 0), *r;
    int64_t rep = 0;
    cJSON_ArrayForEach(r, cur) rep += gb_jint(r, "replica", 0);
    rep = int_of(ch, "replica", rep > 0 ? rep : 1);
    int64_t per = int_of(first, "gpu", 0);
    if (has(ch, "gpu")) per = int_of(ch, "gpu", per);
    if (has(ch, "gpu_count")) {
        int64_t total = int_of(ch, "gpu_count", 0);
        if (rep <= 0 || total % rep != 0) {
            snprintf(err, PROV_ERR_MAX, "%s: gpu_count %lld cannot be split over %lld node(s)",
                     a->name, (long long)total, (long long)rep);
            return NULL;
        }
        per = total / rep;
    }
    /* the current quantities, overridden by the changes */
    cJSON *o = cJSON_CreateObject();
    static const char *const Q[] = {"cpu", "memory", "ephemeralStorage", "sharedMemory"};
    char q[32], jerr[GB_JSON_ERR_MAX];
    for (size_t i = 0; o && i < GB_ARRAY_LEN(Q); i++) {
        bool milli = i == 0;
        const char *unit = i == 0 ? "" : "Gi";
        if (prov_primus_quantity(ch, Q[i], milli, unit, q, sizeof(q), jerr) == GB_OK)
            cJSON_AddStringToObject(o, Q[i], q);
        else if (gb_jstr(first, Q[i]) && gb_jstr(first, Q[i])[0])
            cJSON_AddStringToObject(o, Q[i], gb_jstr(first, Q[i]));
    }
    cJSON *out = o ? prov_primus_resources(a, o, kind, (int)(per * rep), (int)rep, 0, err) : NULL;
    const char *shm = gb_jstr(o, "sharedMemory");
    cJSON *each;
    cJSON_ArrayForEach(each, out) if (shm) cJSON_AddStringToObject(each, "sharedMemory", shm);
    cJSON_Delete(o);
    return out;
}

gb_err prov_primus_update(prov_adapter *a, const char *id, const cJSON *ch, char *err)
{
    static const char *const copies[] = {"priority", "description", "timeout", "maxRetry",
                                         "env",      "cronJobs",    "service"};
    static const char *const res_keys[] = {
        "replica", "cpu", "gpu", "gpu_count", "memory", "ephemeralStorage", "sharedMemory"};
    char cerr[PROV_ERR_MAX], path[192];
    cJSON *w = NULL, *b = NULL;
    gb_err e = prov_primus_check_changes(ch, cerr);
    if (e) {
        snprintf(err, PROV_ERR_MAX, "%s: %.440s", a->name, cerr);
        return e;
    }
    if ((e = prov_primus_get_json(a, id, &w, err))) return e;
    if (ended(gb_jstr(w, "phase"))) {
        /* the server answers 500 "The workload can only be edited when it is running." */
        snprintf(err, PROV_ERR_MAX, "%s: workload %.96s is %s: it can only be edited while it runs",
                 a->name, id, gb_jstr(w, "phase"));
        e = GB_ERR_CONFLICT;
        goto done;
    }
    e = GB_ERR_NOMEM;
    if (!(b = cJSON_CreateObject())) goto done;
    for (size_t i = 0; i < GB_ARRAY_LEN(copies); i++)
        if (!copy_key(b, ch, copies[i])) goto done;
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(w, "resources");
    const cJSON *gvk = cJSON_GetObjectItemCaseSensitive(w, "groupVersionKind");
    const char *kind = gb_jstr(gvk, "kind");
    int n = cJSON_GetArraySize(cur);
    bool res_changed = false;
    for (size_t i = 0; i < GB_ARRAY_LEN(res_keys); i++)
        res_changed |= has(ch, res_keys[i]);
    if (res_changed) {
        cJSON *nr = new_resources(a, ch, cur, kind ? kind : "PyTorchJob", err);
        if (!nr) {
            e = GB_ERR_INVALID;
            goto done;
        }
        cJSON_AddItemToObject(b, "resources", nr);
    }
    int nn = res_changed ? cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(b, "resources")) : n;
    const char *img = gb_jstr(ch, "image"), *cmd = gb_jstr(ch, "command");
    const char *ep = gb_jstr(ch, "entryPoint");
    if (img || nn != n) { /* images[] must keep the length of resources[] */
        cJSON *one = img ? cJSON_CreateStringArray(&img, 1) : NULL;
        cJSON *arr = resized(img ? one : cJSON_GetObjectItemCaseSensitive(w, "images"), nn);
        cJSON_Delete(one);
        if (!arr || !cJSON_AddItemToObject(b, "images", arr)) goto done;
    }
    bool authoring = kind && strcmp(kind, "Authoring") == 0; /* the server sets its command */
    if (!authoring && (cmd || ep || nn != n)) {
        cJSON *arr;
        if (cmd || ep) {
            char *enc = cmd ? gb_base64_encode(cmd, strlen(cmd)) : NULL;
            const char *v = cmd ? enc : ep;
            cJSON *one = v ? cJSON_CreateStringArray(&v, 1) : NULL;
            arr = resized(one, nn);
            cJSON_Delete(one);
            free(enc);
        } else {
            arr = encoded_entry_points(cJSON_GetObjectItemCaseSensitive(w, "entryPoints"), nn);
        }
        if (!arr || !cJSON_AddItemToObject(b, "entryPoints", arr)) goto done;
    }
    if (cJSON_GetArraySize(b) == 0) {
        e = GB_OK;
        goto done;
    }
    snprintf(path, sizeof(path), PRIMUS_API "/workloads/%s", id);
    e = prov_call(a, "PATCH", path, b, true, NULL, NULL, err);
done:
    if (e == GB_ERR_NOMEM) snprintf(err, PROV_ERR_MAX, "%s: out of memory", a->name);
    cJSON_Delete(b);
    cJSON_Delete(w);
    return e;
}
