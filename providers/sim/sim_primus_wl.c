/* sim_primus_wl.c: the Primus simulator's workload requests: create (POST /api/v1/workloads),
 * resume (POST /api/v1/workloads/{id}/resume: the same body re-creates a stopped or ended
 * workload under its id; 409 "AlreadyExists" while its Kubernetes object still exists), get and
 * PATCH (the server answers 500 "The workload can only be edited when it is running." once the
 * object is gone). Sources: AMD-AGI/Primus-SaFE SaFE/apiserver/pkg/handlers/resources/
 * routers.go and workload.go. The bodies are read by sim_primus_spec.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_primus_int.h"

/* The owned JSON members of a workload (for copies and resets). */
#define SP_OWNED(w)                                                                                \
    {                                                                                              \
        &(w)->resources, &(w)->images, &(w)->entry_points, &(w)->env, &(w)->labels,                \
            &(w)->liveness, &(w)->readiness, &(w)->service, &(w)->deps, &(w)->cron,                \
            &(w)->nodes_spec, &(w)->excluded, &(w)->secrets                                        \
    }

/* A fresh Pending workload state for a create or a resume (conditions restart). */
static void start_pending(sp_state *st, sp_wl *w, const char *reason)
{
    gb_id_new("", w->uid, sizeof(w->uid));
    gb_strlcpy(w->user_name, st->cur_user, sizeof(w->user_name));
    snprintf(w->user_id, sizeof(w->user_id), "user-%s", st->cur_user);
    w->phase = SP_PENDING;
    w->created = st->now;
    w->dispatched = w->started = w->ended = w->ready_at = w->update_until = w->finish_at = 0;
    w->holds = w->fails_at_finish = false;
    w->held = w->queue_pos = w->nconds = 0;
    w->k8s_uid[0] = '\0';
    gb_strlcpy(w->message, "waiting to be scheduled", sizeof(w->message));
    sim_primus_cond(w, st->now, "AdminScheduled", reason, "the workload is created");
}

static void answer_id(sim_resp *rs, const char *id)
{
    cJSON *j = cJSON_CreateObject();
    if (j) cJSON_AddStringToObject(j, "workloadId", id);
    sim_json(rs, 200, j);
}

void sim_primus_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sp_state *st = state;
    char err[640];
    int status = 400;
    const char *code = SP_E_BAD_REQUEST;
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    sp_wl *w = sim_primus_wl_new(st);
    if (!w) {
        sim_primus_err(rs, 500, SP_E_INTERNAL, "Internal error. too many workloads");
        goto out;
    }
    if (sim_primus_spec_create(st, body, w, &status, &code, err, sizeof(err))) {
        sim_primus_err(rs, status, code, "%s", err);
        sim_primus_wl_remove(st, w);
        goto out;
    }
    const char *wid = gb_jstr(body, "workloadId");
    if (wid && wid[0]) {
        if (sim_primus_wl_find(st, wid)) {
            sim_primus_err(rs, 409, "AlreadyExists", "workloads.amd.com \"%.96s\" already exists",
                           wid);
            sim_primus_wl_remove(st, w);
            goto out;
        }
        gb_strlcpy(w->id, wid, sizeof(w->id));
    } else {
        sim_primus_make_id(w->display_name, w->id, sizeof(w->id));
    }
    start_pending(st, w, "Created");
    answer_id(rs, w->id);
out:
    cJSON_Delete(body);
}

static sp_wl *found_or_404(sp_state *st, const char *id, sim_resp *rs)
{
    sp_wl *w = sim_primus_wl_find(st, id);
    if (!w) sim_primus_err(rs, 404, SP_E_WL_NOT_FOUND, "Workload %.96s not found.", id);
    return w;
}

/* Does w's Kubernetes object still exist? Stop deletes it at once; an ended workload keeps
 * it ttlSecondsAfterFinished seconds (workload.go stopWorkloadImpl, workload_types.go). */
static bool object_exists(const sp_state *st, const sp_wl *w)
{
    if (w->phase == SP_STOPPED) return false;
    if (w->phase == SP_SUCCEEDED || w->phase == SP_FAILED)
        return st->now < w->ended + w->ttl_after_s * 1000;
    return true;
}

void sim_primus_resume(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sp_state *st = state;
    char err[640];
    int status = 400;
    const char *code = SP_E_BAD_REQUEST;
    sp_wl *w = found_or_404(st, rq->params[0], rs);
    if (!w) return;
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    if (object_exists(st, w)) {
        sim_primus_err(rs, 409, "AlreadyExists", "workloads.amd.com \"%.96s\" already exists",
                       w->id);
        goto out;
    }
    sp_wl *nw = sim_primus_wl_new(st); /* read into a scratch slot: a bad body changes nothing */
    if (!nw) {
        sim_primus_err(rs, 500, SP_E_INTERNAL, "Internal error. too many workloads");
        goto out;
    }
    if (sim_primus_spec_create(st, body, nw, &status, &code, err, sizeof(err))) {
        sim_primus_err(rs, status, code, "%s", err);
        sim_primus_wl_remove(st, nw);
        goto out;
    }
    w = sim_primus_wl_find(st, rq->params[0]); /* the array may have moved */
    sim_primus_release(st, w, st->now);
    cJSON **to[] = SP_OWNED(w), **from[] = SP_OWNED(nw);
    for (size_t i = 0; i < GB_ARRAY_LEN(to); i++) {
        cJSON *t = *to[i];
        *to[i] = *from[i];
        *from[i] = t;
    }
    w->ws = nw->ws;
    memcpy(w->kind, nw->kind, sizeof(w->kind));
    memcpy(w->version, nw->version, sizeof(w->version));
    memcpy(w->display_name, nw->display_name, sizeof(w->display_name));
    memcpy(w->description, nw->description, sizeof(w->description));
    memcpy(w->nodes_affinity, nw->nodes_affinity, sizeof(w->nodes_affinity));
    w->replica = nw->replica;
    w->gpus = nw->gpus;
    w->gpu_per_replica = nw->gpu_per_replica;
    w->priority = nw->priority;
    w->timeout_s = nw->timeout_s;
    w->max_retry = nw->max_retry;
    w->ttl_after_s = nw->ttl_after_s;
    w->supervised = nw->supervised;
    w->tolerate_all = nw->tolerate_all;
    w->privileged = nw->privileged;
    w->use_ws_storage = nw->use_ws_storage;
    w->force_host_net = nw->force_host_net;
    sim_primus_wl_remove(st, nw);
    w->seq = ++st->next_seq; /* it queues anew */
    start_pending(st, w, "Resumed");
    answer_id(rs, w->id);
out:
    cJSON_Delete(body);
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
    char err[640];
    int status = 400;
    const char *code = SP_E_BAD_REQUEST;
    sp_wl *w = sim_primus_wl_find(st, rq->params[0]);
    if (!w || !object_exists(st, w)) { /* patchWorkload: getAdminWorkload not found */
        sim_primus_err(rs, 500, SP_E_INTERNAL,
                       "Internal error. The workload can only be edited when it is running.");
        return;
    }
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    sp_wl nw = *w; /* read into a copy first: a bad field changes nothing */
    cJSON **own[] = SP_OWNED(&nw);
    bool ok = true;
    for (size_t i = 0; i < GB_ARRAY_LEN(own); i++) {
        const cJSON *from = *own[i];
        *own[i] = from ? cJSON_Duplicate(from, 1) : NULL;
        ok = ok && (!from || *own[i]);
    }
    if (!ok) {
        sim_primus_err(rs, 500, SP_E_INTERNAL, "Internal error. out of memory");
        goto undo;
    }
    if (sim_primus_spec_patch(body, &nw, &status, &code, err, sizeof(err))) {
        sim_primus_err(rs, status, code, "%s", err);
        goto undo;
    }
    sp_workspace *ws = &st->ws[w->ws];
    int need = nw.gpus;
    if (need > ws->total_gpus || (w->holds && ws->used_gpus - w->held + need > ws->total_gpus)) {
        sim_primus_err(rs, 503, SP_E_QUOTA,
                       "Insufficient resource quota: %d GPUs requested, %d free in workspace %s",
                       need, ws->total_gpus - ws->used_gpus + w->held, ws->id);
        goto undo;
    }
    static const char *const respec[] = {"resources", "images", "entryPoints", "env"};
    bool changed = false;
    for (size_t i = 0; i < GB_ARRAY_LEN(respec); i++)
        changed |= cJSON_GetObjectItemCaseSensitive(body, respec[i]) != NULL;
    if (w->holds) {
        ws->used_gpus += need - w->held;
        nw.held = need;
    }
    cJSON **old[] = SP_OWNED(w);
    for (size_t i = 0; i < GB_ARRAY_LEN(old); i++)
        cJSON_Delete(*old[i]);
    *w = nw;
    if (changed && (w->phase == SP_RUNNING || w->phase == SP_NOTREADY)) {
        w->phase = SP_UPDATING;
        w->update_until = st->now + SP_UPDATE_MS;
        sim_primus_cond(w, st->now, "K8sUpdating", "Updating", "the workload is being updated");
    }
    sim_json(rs, 200, cJSON_CreateNull()); /* handle() writes c.JSON(200, nil): "null" */
    goto out;
undo:
    for (size_t i = 0; i < GB_ARRAY_LEN(own); i++)
        cJSON_Delete(*own[i]);
out:
    cJSON_Delete(body);
}
