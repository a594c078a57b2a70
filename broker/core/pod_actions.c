/* pod_actions.c: asking for a start, stop, update or delete of a pod: the pod's new state, its
 * event and webhook, and the intent that carries the provider call out later, in one
 * transaction (see intents.h). Shared by the pods API and the job runner. */
#include "broker/core/pod_actions.h"

#include <stdbool.h>
#include <string.h>

#include "broker/core/meter.h"
#include "jobs/ledger.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

static gb_err queue(gb_db *db, const pod_rec *p, intent_kind kind, const char *changes, int64_t now)
{
    intent_rec r;
    memset(&r, 0, sizeof(r));
    gb_strlcpy(r.pod_id, p->id, sizeof(r.pod_id));
    gb_strlcpy(r.account_id, p->account_id, sizeof(r.account_id));
    r.kind = kind;
    r.changes = (char *)changes; /* borrowed: intent_insert only reads it */
    r.next_at = now;
    r.created_at = now;
    return intent_insert(db, &r);
}

static gb_err request(app *a, gb_db *db, pod_rec *p, intent_kind kind, const char *changes,
                      const char *why, billing_refusal *refusal)
{
    int64_t now = 0;
    const char *from = pod_status_name(p->status);
    pod_status read_as = p->status;
    pod_status to = kind == INTENT_START    ? POD_DEPLOYING
                    : kind == INTENT_STOP   ? POD_STOPPING
                    : kind == INTENT_DELETE ? POD_DELETED
                                            : p->status;
    const char *type = kind == INTENT_UPDATE ? "update" : intent_kind_name(kind);
    gb_err e = gb_db_begin(db);
    if (e) return e;
    int cancelled = 0;
    /* the pod's row before its intents' rows, in the order the intent workers take them (the
     * other order deadlocked with a create finishing on PostgreSQL) */
    e = pod_lock(db, p->id);
    /* then the balance, before the account's row (billing_admit) and the meter's
     * (meter_settle), in the metering round's order; a job's pod has neither */
    if (!e && meter_charges(p)) e = ledger_lock(db, p->account_id);
    /* the time of the change read once the locks are held: a metering round that held them
     * first charged the pod up to its own clock, and a time read before the wait would
     * record the pod stopping before the end of what it was charged (test_broker_metering
     * test_delete_behind_a_round) */
    now = gb_now_ms();
    /* a start is a pod that costs again: checked with the other writes, like a create */
    if (!e && refusal && meter_charges(p))
        e = billing_admit(a, db, p->account_id, p->provider, p->price_per_hour, refusal);
    if (!e && kind == INTENT_DELETE) e = intent_cancel_unstarted_create(db, p->id, now, &cancelled);
    /* a pod whose create no worker has started has nothing at the provider to remove */
    if (!e && !(kind == INTENT_DELETE && cancelled && !p->provider_id[0]) &&
        !(kind == INTENT_UPDATE && !changes))
        e = queue(db, p, kind, changes, now);
    if (kind == INTENT_START) p->stop_reason[0] = '\0';
    pod_set_status(p, to, now);
    if (to != POD_DELETED && p->provider_id[0]) p->next_poll_at = now;
    /* the pod's time up to now is charged with the change (its last entry on a stop or a
     * delete) */
    if (!e && read_as != to) e = meter_settle(a, db, p, read_as, now, NULL);
    /* only over the state the caller read: a worker may have moved the pod since (then
     * GB_ERR_CONFLICT, and nothing is queued) */
    if (!e) e = pod_update_from(db, p, read_as);
    bool changed = strcmp(from, pod_status_name(to)) != 0;
    if (!e)
        e = pod_event_add(db, p->id, now, type, changed ? from : NULL,
                          changed ? pod_status_name(to) : NULL, why);
    if (!e && changed) e = pod_notify(db, p, from);
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    if (!e)
        intent_pool_wake(a);
    else if (e != GB_ERR_PAYMENT)
        GB_WARN("pods", "%s: could not queue %s: %s", p->id, type, gb_strerror(e));
    return e;
}

gb_err pod_request(app *a, gb_db *db, pod_rec *p, intent_kind kind, const char *changes,
                   const char *why)
{
    return request(a, db, p, kind, changes, why, NULL);
}

gb_err pod_request_start(app *a, gb_db *db, pod_rec *p, billing_refusal *refusal)
{
    return request(a, db, p, INTENT_START, NULL, NULL, refusal);
}
