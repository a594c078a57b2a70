/* sim_primus_wl.c: the Primus simulator's workload requests: create (the seed's
 * CreateWorkloadRequest, validated field by field), get, list with the seed's filters, sorting
 * and offset/limit paging, and PATCH (the seed's PatchWorkloadRequest). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_primus_int.h"

static const char *const KINDS[] = {"PyTorchJob", "Deployment", "StatefulSet", "Authoring"};

/* ---- base64 ---- */

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool sim_primus_b64_ok(const char *s, size_t *n)
{
    size_t len = strlen(s), pad = 0;
    if (len % 4 != 0) return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=') {
            if (i + 2 < len) return false;
            pad++;
        } else if (pad || b64_val(s[i]) < 0) {
            return false;
        }
    }
    if (n) *n = len / 4 * 3 - pad;
    return true;
}

char *sim_primus_b64_decode(const char *s)
{
    size_t n;
    if (!sim_primus_b64_ok(s, &n)) return NULL;
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; s[i]; i += 4) {
        unsigned v = 0;
        for (int j = 0; j < 4; j++)
            v = v << 6 | (unsigned)(s[i + j] == '=' ? 0 : b64_val(s[i + j]));
        char b[3] = {(char)(v >> 16), (char)(v >> 8 & 0xff), (char)(v & 0xff)};
        for (int j = 0; j < 3 && k < n; j++)
            out[k++] = b[j];
    }
    out[k] = '\0';
    return out;
}

/* ---- field checks ---- */

/* A Kubernetes quantity: digits[.digits][suffix]; milli allows "500m". */
static bool quantity_ok(const char *s, bool milli)
{
    static const char *const suffixes[] = {"",  "Ki", "Mi", "Gi", "Ti", "Pi",
                                           "k", "K",  "M",  "G",  "T",  "P"};
    const char *p = s;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (!digits || strlen(s) > 20) return false;
    if (milli && strcmp(p, "m") == 0) return true;
    for (size_t i = 0; i < GB_ARRAY_LEN(suffixes); i++)
        if (strcmp(p, suffixes[i]) == 0) return true;
    return false;
}

/* An object of string values (env, customerLabels). */
static bool str_map_ok(const cJSON *m, const char *what, char *err)
{
    const cJSON *it;
    if (!cJSON_IsObject(m) || cJSON_GetArraySize(m) > 256) {
        snprintf(err, GB_JSON_ERR_MAX, "%s must be an object of at most 256 strings", what);
        return false;
    }
    cJSON_ArrayForEach(it, m)
    {
        if (!it->string || !it->string[0] || strlen(it->string) > 253 || !cJSON_IsString(it) ||
            strlen(it->valuestring) > 32768) {
            snprintf(err, GB_JSON_ERR_MAX, "%s: '%.64s' must be a string", what,
                     it->string ? it->string : "");
            return false;
        }
    }
    return true;
}

static bool probe_ok(const cJSON *p, const char *what, char *err)
{
    char e[GB_JSON_ERR_MAX];
    const char *path;
    int64_t v;
    if (!cJSON_IsObject(p) || gb_json_str(p, "path", 0, 256, false, &path, e) == GB_ERR_INVALID ||
        gb_json_int(p, "port", 1, 65535, true, &v, e) ||
        gb_json_int(p, "initialDelaySeconds", 0, 86400, false, &v, e) == GB_ERR_INVALID ||
        gb_json_int(p, "periodSeconds", 1, 3600, false, &v, e) == GB_ERR_INVALID ||
        gb_json_int(p, "failureThreshold", 1, 100, false, &v, e) == GB_ERR_INVALID) {
        snprintf(err, GB_JSON_ERR_MAX, "%s: %.200s", what,
                 cJSON_IsObject(p) ? e : "must be an object");
        return false;
    }
    return true;
}

static bool service_ok(const cJSON *s, char *err)
{
    char e[GB_JSON_ERR_MAX] = "";
    const char *proto = "TCP", *type = "ClusterIP";
    int64_t v;
    if (!cJSON_IsObject(s)) {
        snprintf(err, GB_JSON_ERR_MAX, "service: must be an object");
        return false;
    }
    if (gb_json_str(s, "protocol", 1, 8, false, &proto, e) == GB_ERR_INVALID ||
        gb_json_int(s, "port", 1, 65535, true, &v, e) ||
        gb_json_int(s, "nodePort", 0, 32767, false, &v, e) == GB_ERR_INVALID ||
        gb_json_int(s, "targetPort", 0, 65535, false, &v, e) == GB_ERR_INVALID ||
        gb_json_str(s, "serviceType", 1, 16, false, &type, e) == GB_ERR_INVALID) {
        snprintf(err, GB_JSON_ERR_MAX, "service: %.200s", e);
        return false;
    }
    if (strcmp(proto, "TCP") != 0 && strcmp(proto, "UDP") != 0) {
        snprintf(err, GB_JSON_ERR_MAX, "service: field 'protocol' must be TCP or UDP");
        return false;
    }
    if (strcmp(type, "ClusterIP") != 0 && strcmp(type, "NodePort") != 0) {
        snprintf(err, GB_JSON_ERR_MAX,
                 "service: field 'serviceType' must be ClusterIP or NodePort");
        return false;
    }
    return true;
}

/* An optional array of at most max strings; false with err naming key otherwise. */
static bool str_array_ok(const cJSON *b, const char *key, int max, const cJSON **out, char *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(b, key), *it;
    *out = NULL;
    if (!a || cJSON_IsNull(a)) return true;
    bool ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) <= max;
    const cJSON *arr = ok ? a : NULL;
    cJSON_ArrayForEach(it, arr) ok =
        ok && cJSON_IsString(it) && it->valuestring[0] && strlen(it->valuestring) < 96;
    if (!ok) {
        snprintf(err, GB_JSON_ERR_MAX, "field '%s' must be an array of at most %d names", key, max);
        return false;
    }
    *out = a;
    return true;
}

/* Replaces *slot with a copy of v (when present). */
static bool keep(cJSON **slot, const cJSON *v)
{
    if (!v || cJSON_IsNull(v)) return true;
    cJSON *c = cJSON_Duplicate(v, 1);
    if (!c) return false;
    cJSON_Delete(*slot);
    *slot = c;
    return true;
}

/* The resource fields of a create ("resource" object) or a PATCH (top level). */
static bool resource_ok(const cJSON *r, sp_wl *w, bool create, char *err)
{
    static const struct {
        const char *key;
        bool required, milli;
        size_t off;
    } F[] = {{"cpu", true, true, offsetof(sp_wl, cpu)},
             {"gpu", false, false, offsetof(sp_wl, gpu)},
             {"memory", true, false, offsetof(sp_wl, memory)},
             {"ephemeralStorage", false, false, offsetof(sp_wl, storage)},
             {"sharedMemory", false, false, offsetof(sp_wl, shm)}};
    char e[GB_JSON_ERR_MAX];
    int64_t rep = w->replica;
    if (gb_json_int(r, "replica", 1, 1024, false, &rep, e) == GB_ERR_INVALID) goto bad;
    for (size_t i = 0; i < GB_ARRAY_LEN(F); i++) {
        const char *v = NULL;
        if (gb_json_str(r, F[i].key, 1, 20, create && F[i].required, &v, e) == GB_ERR_INVALID)
            goto bad;
        if (!v) continue;
        bool gpu = strcmp(F[i].key, "gpu") == 0;
        int g = 0;
        if (gpu ? gb_parse_int(v, 0, SP_GPUS_PER_NODE, &g) != 0 : !quantity_ok(v, F[i].milli)) {
            snprintf(e, sizeof(e), "field '%s' is not a valid quantity: '%.20s'%s", F[i].key, v,
                     gpu ? " (0-8 GPUs per replica)" : "");
            goto bad;
        }
        gb_strlcpy((char *)w + F[i].off, v, 24);
        if (gpu) w->gpu_per_replica = g;
    }
    w->replica = (int)rep;
    if (!w->storage[0]) gb_strlcpy(w->storage, "50Gi", sizeof(w->storage));
    if (!w->gpu[0]) gb_strlcpy(w->gpu, "0", sizeof(w->gpu));
    return true;
bad:
    snprintf(err, GB_JSON_ERR_MAX, "%s%.200s", create ? "resource: " : "", e);
    return false;
}

/* The spec fields create and PATCH share; -1 with err on a bad one. */
static int common_fields(const cJSON *b, sp_wl *w, bool create, char *err)
{
    char e[GB_JSON_ERR_MAX];
    const char *img = NULL, *ep = NULL, *desc = NULL;
    int64_t prio = w->priority, tmo = w->timeout_s, retry = w->max_retry;
    size_t n = 0;
    if (gb_json_str(b, "image", 1, SP_IMAGE_MAX, create, &img, e) == GB_ERR_INVALID ||
        gb_json_str(b, "entryPoint", 1, SP_ENTRY_MAX * 2, create, &ep, e) == GB_ERR_INVALID ||
        gb_json_str(b, "description", 0, SP_DESC_MAX, false, &desc, e) == GB_ERR_INVALID ||
        gb_json_int(b, "priority", 0, 2, false, &prio, e) == GB_ERR_INVALID ||
        gb_json_int(b, "timeout", 0, INT64_C(31536000), false, &tmo, e) == GB_ERR_INVALID ||
        gb_json_int(b, "maxRetry", 0, 100, false, &retry, e) == GB_ERR_INVALID)
        goto bad;
    if (ep && (!sim_primus_b64_ok(ep, &n) || n > SP_ENTRY_MAX)) {
        snprintf(e, sizeof(e), "field 'entryPoint' must be the startup command in base64");
        goto bad;
    }
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(b, "env");
    const cJSON *cron = cJSON_GetObjectItemCaseSensitive(b, "cronJobs");
    const cJSON *svc = cJSON_GetObjectItemCaseSensitive(b, "service");
    if (env && !cJSON_IsNull(env) && !str_map_ok(env, "env", e)) goto bad;
    if (svc && !cJSON_IsNull(svc) && !service_ok(svc, e)) goto bad;
    if (cron && !cJSON_IsNull(cron)) {
        const cJSON *it;
        bool ok = cJSON_IsArray(cron) && cJSON_GetArraySize(cron) <= 16;
        const cJSON *arr = ok ? cron : NULL;
        cJSON_ArrayForEach(it, arr)
        {
            const char *sched, *act;
            if (gb_json_str(it, "schedule", 1, 64, true, &sched, e) ||
                gb_json_str(it, "action", 1, 16, true, &act, e) || strcmp(act, "start") != 0)
                ok = false;
        }
        if (!ok) {
            snprintf(e, sizeof(e), "field 'cronJobs' must hold {schedule, action:\"start\"}");
            goto bad;
        }
    }
    if (img) gb_strlcpy(w->image, img, sizeof(w->image));
    if (desc) gb_strlcpy(w->description, desc, sizeof(w->description));
    if (ep) {
        char *c = gb_strdup(ep);
        if (!c) goto nomem;
        free(w->entry_point);
        w->entry_point = c;
    }
    w->priority = (int)prio;
    w->timeout_s = tmo;
    w->max_retry = retry;
    if (!keep(&w->env, env) || !keep(&w->cron, cron) || !keep(&w->service, svc)) goto nomem;
    return 0;
bad:
    gb_strlcpy(err, e, GB_JSON_ERR_MAX);
    return -1;
nomem:
    gb_strlcpy(err, "out of memory", GB_JSON_ERR_MAX);
    return -1;
}

/* The create-only fields; -1 with err (and *status) on a bad one. */
static int create_fields(sp_state *st, const cJSON *b, sp_wl *w, int *status, char *err)
{
    char e[GB_JSON_ERR_MAX];
    const char *name = NULL, *wsid = NULL, *kind = "PyTorchJob", *ver = "v1";
    int64_t ttl = 60;
    bool sup = false, tol = false;
    const cJSON *gvk = cJSON_GetObjectItemCaseSensitive(b, "groupVersionKind");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(b, "resource");
    const cJSON *nodes = NULL, *deps = NULL;
    *status = 400;
    if (gb_json_str(b, "displayName", 1, SP_NAME_MAX, true, &name, e) ||
        gb_json_str(b, "workspaceId", 1, 63, true, &wsid, e) ||
        gb_json_int(b, "ttlSecondsAfterFinished", 0, 86400 * 30, false, &ttl, e) ==
            GB_ERR_INVALID ||
        gb_json_bool(b, "isSupervised", false, &sup, e) == GB_ERR_INVALID ||
        gb_json_bool(b, "isTolerateAll", false, &tol, e) == GB_ERR_INVALID ||
        !str_array_ok(b, "specifiedNodes", 16, &nodes, e) ||
        !str_array_ok(b, "dependencies", 64, &deps, e))
        goto bad;
    if (gvk && !cJSON_IsNull(gvk) &&
        (!cJSON_IsObject(gvk) ||
         gb_json_str(gvk, "kind", 1, 32, false, &kind, e) == GB_ERR_INVALID ||
         gb_json_str(gvk, "version", 1, 16, false, &ver, e) == GB_ERR_INVALID)) {
        if (!cJSON_IsObject(gvk))
            snprintf(e, sizeof(e), "field 'groupVersionKind' must be an object");
        goto bad;
    }
    size_t k = 0;
    while (k < GB_ARRAY_LEN(KINDS) && strcmp(KINDS[k], kind) != 0)
        k++;
    if (k == GB_ARRAY_LEN(KINDS)) {
        snprintf(e, sizeof(e),
                 "unsupported kind '%.32s': PyTorchJob, Deployment, StatefulSet "
                 "or Authoring",
                 kind);
        goto bad;
    }
    if (!cJSON_IsObject(res)) {
        snprintf(e, sizeof(e), "field 'resource' is required");
        goto bad;
    }
    if (!resource_ok(res, w, true, e)) goto bad;
    bool service = k == 1 || k == 2;
    static const char *const probes[] = {"liveness", "readiness"};
    for (int i = 0; i < 2; i++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(b, probes[i]);
        if (!p || cJSON_IsNull(p)) continue;
        if (!service) {
            snprintf(e, sizeof(e), "%s is only used by a Deployment or a StatefulSet", probes[i]);
            goto bad;
        }
        if (!probe_ok(p, probes[i], e) || !keep(i ? &w->readiness : &w->liveness, p)) goto bad;
    }
    if (cJSON_GetArraySize(nodes) > 0) w->replica = cJSON_GetArraySize(nodes);
    if (k == 3 && w->replica != 1) {
        snprintf(e, sizeof(e), "the authoring can only be created with one node");
        goto bad;
    }
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(b, "customerLabels");
    if (labels && !cJSON_IsNull(labels) && !str_map_ok(labels, "customerLabels", e)) goto bad;
    int wi = sim_primus_ws_find(st, wsid);
    if (wi < 0) {
        *status = 404;
        snprintf(err, GB_JSON_ERR_MAX, "Workspace %.63s not found.", wsid);
        return -1;
    }
    if (w->gpu_per_replica * w->replica > st->ws[wi].total_gpus) {
        *status = 503;
        snprintf(err, GB_JSON_ERR_MAX,
                 "Insufficient resource quota: %d GPUs requested, workspace %s has %d",
                 w->gpu_per_replica * w->replica, st->ws[wi].id, st->ws[wi].total_gpus);
        return -1;
    }
    w->ws = wi;
    gb_strlcpy(w->display_name, name, sizeof(w->display_name));
    gb_strlcpy(w->kind, KINDS[k], sizeof(w->kind));
    gb_strlcpy(w->version, ver, sizeof(w->version));
    w->ttl_after_s = ttl;
    w->supervised = sup;
    w->tolerate_all = tol;
    if (!keep(&w->labels, labels) || !keep(&w->nodes_spec, nodes) || !keep(&w->deps, deps)) {
        *status = 500;
        snprintf(err, GB_JSON_ERR_MAX, "out of memory");
        return -1;
    }
    return 0;
bad:
    gb_strlcpy(err, e, GB_JSON_ERR_MAX);
    return -1;
}

void sim_primus_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sp_state *st = state;
    char err[GB_JSON_ERR_MAX];
    int status = 400;
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    sp_wl *w = cJSON_IsObject(body) ? sim_primus_wl_new(st) : NULL;
    if (!w) {
        if (cJSON_IsObject(body))
            sim_primus_err(rs, 500, SP_E_INTERNAL, "Internal error. too many workloads");
        else
            sim_primus_err(rs, 400, SP_E_BAD_REQUEST, "Bad request. the body must be an object");
        goto out;
    }
    w->replica = 1;
    if (create_fields(st, body, w, &status, err) ||
        (status = 400, common_fields(body, w, true, err))) {
        const char *code = status == 404   ? SP_E_WS_NOT_FOUND
                           : status == 503 ? SP_E_QUOTA
                                           : SP_E_BAD_REQUEST;
        sim_primus_err(rs, status, code, "%s%s", status == 400 ? "Bad request. " : "", err);
        sim_primus_wl_remove(st, w);
        goto out;
    }
    sim_primus_make_id(w->display_name, w->id, sizeof(w->id));
    gb_id_new("", w->uid, sizeof(w->uid));
    gb_strlcpy(w->user_name, st->cur_user, sizeof(w->user_name));
    snprintf(w->user_id, sizeof(w->user_id), "user-%s", st->cur_user);
    w->phase = SP_PENDING;
    w->created = st->now;
    gb_strlcpy(w->message, "waiting to be scheduled", sizeof(w->message));
    sim_primus_cond(w, st->now, "AdminScheduled", "Created", "the workload is created");
    cJSON *j = cJSON_CreateObject();
    if (j) cJSON_AddStringToObject(j, "workloadId", w->id);
    sim_json(rs, 200, j);
out:
    cJSON_Delete(body);
}

static sp_wl *found_or_404(sp_state *st, const char *id, sim_resp *rs)
{
    sp_wl *w = sim_primus_wl_find(st, id);
    if (!w) sim_primus_err(rs, 404, SP_E_WL_NOT_FOUND, "Workload %.96s not found.", id);
    return w;
}

void sim_primus_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sp_wl *w = found_or_404(state, rq->params[0], rs);
    if (w) sim_json(rs, 200, sim_primus_wl_json(state, w, true));
}

/* ---- PATCH ---- */

void sim_primus_patch(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sp_state *st = state;
    char err[GB_JSON_ERR_MAX];
    sp_wl *w = found_or_404(st, rq->params[0], rs);
    if (!w) return;
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    if (!cJSON_IsObject(body)) {
        sim_primus_err(rs, 400, SP_E_BAD_REQUEST, "Bad request. the body must be an object");
        goto out;
    }
    if (w->phase == SP_SUCCEEDED || w->phase == SP_FAILED || w->phase == SP_STOPPED) {
        sim_primus_err(rs, 409, SP_E_PROCESSING,
                       "The workload can only be edited when it is "
                       "running.");
        goto out;
    }
    sp_wl nw = *w; /* validated into a copy first: a bad field changes nothing */
    nw.entry_point = NULL;
    nw.env = nw.cron = nw.service = NULL;
    if (!resource_ok(body, &nw, false, err) || common_fields(body, &nw, false, err)) {
        sim_primus_err(rs, 400, SP_E_BAD_REQUEST, "Bad request. %s", err);
        goto undo;
    }
    if (strcmp(w->kind, "Authoring") == 0 && nw.replica != 1) {
        sim_primus_err(rs, 400, SP_E_BAD_REQUEST, "Bad request. an authoring has one replica");
        goto undo;
    }
    int need = nw.gpu_per_replica * nw.replica;
    sp_workspace *ws = &st->ws[w->ws];
    if (need > ws->total_gpus || (w->holds && ws->used_gpus - w->held + need > ws->total_gpus)) {
        sim_primus_err(rs, 503, SP_E_QUOTA,
                       "Insufficient resource quota: %d GPUs requested, %d "
                       "free in workspace %s",
                       need, ws->total_gpus - ws->used_gpus + w->held, ws->id);
        goto undo;
    }
    static const char *const respec[] = {
        "replica",      "cpu",   "gpu",        "memory", "ephemeralStorage",
        "sharedMemory", "image", "entryPoint", "env"};
    bool changed = false;
    for (size_t i = 0; i < GB_ARRAY_LEN(respec); i++)
        changed |= cJSON_GetObjectItemCaseSensitive(body, respec[i]) != NULL;
    if (nw.entry_point)
        free(w->entry_point);
    else
        nw.entry_point = w->entry_point;
    if (nw.env)
        cJSON_Delete(w->env);
    else
        nw.env = w->env;
    if (nw.cron)
        cJSON_Delete(w->cron);
    else
        nw.cron = w->cron;
    if (nw.service)
        cJSON_Delete(w->service);
    else
        nw.service = w->service;
    if (w->holds) {
        ws->used_gpus += need - w->held;
        nw.held = need;
    }
    *w = nw;
    if (changed && (w->phase == SP_RUNNING || w->phase == SP_NOTREADY)) {
        w->phase = SP_UPDATING;
        w->update_until = st->now + SP_UPDATE_MS;
        sim_primus_cond(w, st->now, "K8sUpdating", "Updating", "the workload is being updated");
    }
    sim_json(rs, 200, NULL);
    goto out;
undo:
    free(nw.entry_point);
    cJSON_Delete(nw.env);
    cJSON_Delete(nw.cron);
    cJSON_Delete(nw.service);
out:
    cJSON_Delete(body);
}
