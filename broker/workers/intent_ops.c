/* intent_ops.c: carrying out start, stop, update and delete intents. The pod's state was
 * written when the intent was queued; here the provider is told. Start, stop and update are
 * retried on an unsure outcome up to OP_TRIES calls, then recorded as failed with an
 * event (the reconciler then reports the pod's real state). A delete is retried until the
 * provider confirms, however long it takes: a workload must not run on unrecorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/workers/intent_int.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

/* Calls a start, stop or update makes after unsure outcomes (a lost answer, a timeout, a 5xx)
 * before it is recorded as failed; the provider is asked again each time. */
#define OP_TRIES 3

static gb_err call(intent_job *j, prov_adapter *ad, char *err)
{
    const char *id = j->p->provider_id;
    gb_err e = GB_ERR_INVALID;
    int64_t t0 = gb_mono_ms();
    intent_fence_begin(j); /* a worker paused past its lease changes nothing */
    switch (j->r->kind) {
    case INTENT_START:
        e = ad->ops->start ? ad->ops->start(ad, id, err) : GB_ERR_INVALID;
        break;
    case INTENT_STOP:
        e = ad->ops->stop ? ad->ops->stop(ad, id, err) : GB_ERR_INVALID;
        break;
    case INTENT_UPDATE: {
        cJSON *changes = j->r->changes ? cJSON_Parse(j->r->changes) : NULL;
        e = ad->ops->update && changes ? ad->ops->update(ad, id, changes, err) : GB_ERR_INVALID;
        cJSON_Delete(changes);
        break;
    }
    case INTENT_DELETE:
        e = ad->ops->remove(ad, id, err);
        break;
    case INTENT_CREATE:
        break;
    }
    /* a call whose best-effort step the fence kept back (Volt's template cleanup after a
     * delete) is asked again, so the step is not lost: e2e_brokers saw a template left behind
     * by a delete that a broker woken from SIGSTOP marked done */
    e = prov_fence_outcome(e, err);
    if (!intent_fence_end(j, intent_kind_name(j->r->kind)))
        registry_note(j->a, ad->name, e, gb_mono_ms() - t0, err);
    return e;
}

/* Ends the intent with an event of type on the pod (and asks the reconciler to look). */
static void finish(intent_job *j, const char *state, const char *type, const char *msg)
{
    int64_t now = gb_now_ms();
    gb_err e = intent_begin(j);
    /* only the poll time: the pod's state may have moved on since the intent was claimed */
    if (!e && j->p->status != POD_DELETED) e = pod_poll_at(j->db, j->p->id, now);
    if (!e && type) e = pod_event_add(j->db, j->p->id, now, type, NULL, NULL, msg);
    intent_end(j, e, state, strcmp(state, "done") ? msg : NULL);
}

void intent_run_op(intent_job *j)
{
    intent_rec *r = j->r;
    const char *kind = intent_kind_name(r->kind);
    char err[PROV_ERR_MAX] = "", type[32];
    prov_adapter *ad = j->p->provider[0] ? registry_get_synced(j->a, j->db, j->p->provider) : NULL;
    if (!j->p->provider_id[0] && r->kind == INTENT_DELETE && ad && j->p->workload_name[0]) {
        /* never placed, so nothing should run at the provider its create chose; a second
         * guard against a paid workload left running unrecorded (a create's answer lost and
         * missed): one look by its workload name, and a workload found is removed */
        prov_pod pp;
        memset(&pp, 0, sizeof(pp));
        gb_err fe = intent_find_by_name(j->a, ad, j->p->workload_name, &pp, err);
        if (fe && fe != GB_ERR_NOT_FOUND) { /* asked again later, as a delete is */
            r->attempts++;
            intent_retry(j, gb_now_ms() + intent_backoff(r->attempts), err);
            return;
        }
        if (!fe) {
            GB_WARN("intents",
                    "%s: deleted before placement, yet %s runs its workload %s (%s): "
                    "removing it",
                    j->p->id, j->p->provider, j->p->workload_name, pp.provider_id);
            gb_strlcpy(j->p->provider_id, pp.provider_id, sizeof(j->p->provider_id));
        }
        err[0] = '\0';
    }
    if (!j->p->provider_id[0]) {
        /* its create never placed it: nothing exists at the provider */
        finish(j, "done", NULL, NULL);
        return;
    }
    if (!ad) {
        snprintf(err, sizeof(err), "provider %s is not registered now", j->p->provider);
        r->attempts++;
        intent_retry(j, gb_now_ms() + intent_backoff(r->attempts), err);
        return;
    }
    r->attempts++;
    gb_err e = call(j, ad, err);
    if (r->kind == INTENT_DELETE && (!e || e == GB_ERR_NOT_FOUND)) {
        /* OK with a message: removed, but the provider warned (e.g. DataRobot's 502 when some
         * protons could not be stopped); the warning becomes the event's message */
        bool warned = !e && err[0];
        finish(j, "done", warned ? "delete_warning" : "removed",
               warned ? err : "the workload is gone at the provider");
        return;
    }
    if (!e) {
        finish(j, "done", NULL, NULL);
        return;
    }
    GB_WARN("intents", "%s: %s at %s failed (attempt %d): %s", j->p->id, kind, j->p->provider,
            r->attempts, err);
    if (r->kind == INTENT_DELETE) { /* said once; the retries go on quietly */
        intent_retry_noting(j, gb_now_ms() + intent_backoff(r->attempts), err,
                            r->attempts == 1 ? "delete_retrying" : NULL, err);
        return;
    }
    if (intent_unsure(e) && r->attempts < OP_TRIES) {
        intent_retry(j, gb_now_ms() + intent_backoff(r->attempts), err);
        return;
    }
    snprintf(type, sizeof(type), "%s_failed", kind);
    finish(j, "failed", type, err[0] ? err : gb_strerror(e));
}
