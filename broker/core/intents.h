/* intents.h: provider mutations as durable intents. The API (and the job runner) never calls a
 * provider to create, start, stop, update or delete a workload: it writes the pod's new state
 * and an intent row in one transaction (with the money it reserves), answers at once, and the
 * intent pool (broker/workers/intents.c) executes the intent on its own threads. An intent
 * carries the workload's name at the provider, so after a timeout, a lost answer or a crash it
 * is found by name and adopted instead of created twice. docs/intents.md has the whole design.
 * SQL lives in broker/store/intent_store.c. */
#ifndef GB_INTENTS_H
#define GB_INTENTS_H

#include <stdint.h>

#include "broker/core/app.h"
#include "common/db.h"
#include "common/ids.h"
#include "common/log.h"

typedef enum {
    INTENT_CREATE = 0,
    INTENT_START,
    INTENT_STOP,
    INTENT_UPDATE,
    INTENT_DELETE,
} intent_kind;

const char *intent_kind_name(intent_kind k);
int intent_kind_parse(const char *s, intent_kind *out);

typedef struct {
    int64_t id; /* also the order of a pod's intents */
    char pod_id[GB_ID_MAX];
    char account_id[GB_ID_MAX];
    intent_kind kind;
    char state[12];       /* "queued" | "done" | "failed" | "cancelled" */
    int attempts;         /* provider calls made so far (all offers) */
    int offer_index;      /* create: the offer of offers[] being tried */
    char *offers;         /* create: JSON [{provider, offer_id, id, price, count, ...}] (owned) */
    char *changes;        /* update: JSON of the changes (owned) */
    int64_t unsure_until; /* > 0: the last call's outcome is unknown; look the workload up
                           * by name (until this time, ms) before calling again */
    int64_t next_at;
    char lease_owner[64];
    int64_t lease_until;
    int64_t created_at;
    char last_error[256];
    char request_id[GB_REQUEST_ID_MAX + 1]; /* the queuing request's id, or "" */
} intent_rec;

void intent_rec_clear(intent_rec *r);
/* The vault reference of a create intent's sealed request (image, env, ports, keys, ...). */
void intent_spec_ref(int64_t id, char *out, size_t n);

/* Inserts r (state queued) in the caller's transaction; r->id gets the new id. The calling
 * thread's request id (gb_request_id()) is stored with it unless r->request_id is set. */
gb_err intent_insert(gb_db *db, intent_rec *r);
/* Claims the next due intent (queued, next_at and any lease passed, no earlier queued intent
 * of the same pod) for owner until now + lease_ms. GB_ERR_NOT_FOUND when none is due. */
gb_err intent_claim(gb_db *db, const char *owner, int64_t now, int64_t lease_ms, intent_rec *out);
/* The intent id as stored now (GB_ERR_NOT_FOUND when there is none). */
gb_err intent_get(gb_db *db, int64_t id, intent_rec *out);
/* Writes r's progress (attempts, offer_index, unsure_until, next_at, last_error, state) while
 * owner holds it, releasing the lease (lease_until = 0) when release is set.
 * GB_ERR_CONFLICT when the lease was lost. */
gb_err intent_save(gb_db *db, const intent_rec *r, const char *owner, int release);
/* Moves the lease of the intent owner holds to until: the fence of its provider calls. Held
 * while lease_owner is still owner, even past lease_until (nobody has claimed it then: a claim
 * names its new owner). GB_ERR_CONFLICT when another worker holds it or it is finished. */
gb_err intent_renew(gb_db *db, int64_t id, const char *owner, int64_t until);
/* Cancels the pod's queued create that no worker has started (attempts 0, not leased);
 * *cancelled tells whether there was one. In the caller's transaction. */
gb_err intent_cancel_unstarted_create(gb_db *db, const char *pod_id, int64_t now, int *cancelled);
/* Queued intents (all pods, claimed ones included): the /metrics backlog gauge. */
gb_err intent_count_queued(gb_db *db, int64_t *out);
/* True (1) when the pod has a queued create (its workload may still appear at the provider). */
int intent_create_pending(gb_db *db, const char *pod_id);

/* Hands back the leases of intents whose lease_owner starts with prefix (a pool's owners, at
 * a shutdown cut short): they are due again at once for the next start. */
gb_err intent_release_prefix(gb_db *db, const char *prefix, int64_t *released);

/* The pool (broker/workers/intents.c). */
typedef struct intent_pool intent_pool;
gb_err intent_pool_start(app *a, intent_pool **out);
void intent_pool_stop(intent_pool *p);
/* Tells the pool new work is queued (no-op when a is not running one). */
void intent_pool_wake(app *a);
/* Claims and runs due intents on the caller's connection until none is due or max ran;
 * returns how many ran. For tests and the pool's threads. */
int intent_pool_run_due(app *a, gb_db *db, const char *owner, int max);
/* The prefix every lease owner of this pool starts with ("intents-<pid>-<random>-"). */
void intent_pool_owner_prefix(const intent_pool *p, char *out, size_t n);

#endif
