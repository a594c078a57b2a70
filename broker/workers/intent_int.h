/* intent_int.h: what the intent pool's files share: the intent being run with its pod, and
 * the helpers that end or reschedule it. */
#ifndef GB_INTENT_INT_H
#define GB_INTENT_INT_H

#include "broker/core/intents.h"
#include "broker/core/pods.h"
#include "broker/core/registry.h"

typedef struct {
    app *a;
    gb_db *db;
    const char *owner;
    intent_rec *r;
    pod_rec *p;
    /* the look-by-name window of the create call under way (its unsure_until, intent_create.c),
     * 0: none; its requests must leave settle_ms before a worker that takes the intent over
     * stops looking (intent_lease_held) */
    int64_t window_until;
} intent_job;

/* Creates: the offers, each call, lookups by name, adoption, failover (intent_create.c). */
void intent_run_create(intent_job *j);
/* Start, stop, update, delete (intent_ops.c). */
void intent_run_op(intent_job *j);

/* An outcome that may have happened at the provider although we did not hear it. */
int intent_unsure(gb_err e);
/* The wait before retry n (1, 2, ...): 1 s doubling, at most 5 minutes. */
int64_t intent_backoff(int n);
/* Opens the transaction that ends the intent: the caller writes the pod's side, then calls
 * intent_end(). */
gb_err intent_begin(intent_job *j);
/* Inside intent_begin's transaction: marks the intent state ("done", "failed", "cancelled")
 * with err as its last error, forgets a create's sealed request, releases it and commits
 * (rolls back when e, the caller's own result so far, is set). */
gb_err intent_end(intent_job *j, gb_err e, const char *state, const char *err);
/* How long a worker holds a claimed intent (intents.claim_ms, or 2 x providers.timeout_ms +
 * 10 s). */
int64_t intent_lease_ms(const app *a);
/* The fence of an intent's provider calls (prov_fence_set, ud the intent_job): moves the
 * intent's lease on while this worker still holds it (a slow provider does not lose it), and
 * is false once another worker holds it (a worker paused past its lease, whose intent was
 * taken over, must not post a second workload under the same name, as e2e_brokers saw, nor
 * repeat a start or stop the holder has carried out since). */
bool intent_lease_held(void *ud, int64_t *send_by);
/* Puts j's provider calls from here on under intent_lease_held (prov_fence_set). */
void intent_fence_begin(intent_job *j);
/* Ends the fence; true, with a warning naming what (the call), when it refused a request:
 * another worker holds the intent, and the call's failure is not the provider's. */
bool intent_fence_end(intent_job *j, const char *what);
/* Saves the intent queued again for at (with err), releasing it. GB_ERR_CONFLICT when another
 * worker holds it now. */
gb_err intent_retry(intent_job *j, int64_t at, const char *err);
/* intent_retry with an event (type, msg) of the pod in the same transaction. */
gb_err intent_retry_noting(intent_job *j, int64_t at, const char *err, const char *type,
                           const char *msg);
/* The workload named name at ad: GB_ERR_NOT_FOUND when its list does not show it. */
gb_err intent_find_by_name(app *a, prov_adapter *ad, const char *name, prov_pod *out, char *err);

#endif
