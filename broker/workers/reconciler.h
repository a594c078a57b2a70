/* reconciler.h: the worker that polls active pods at their providers, records every state
 * change as an event, marks pods deleted out of band, and reports orphans (workloads with
 * gpubroker's name that have no record) in the store (broker/store/orphan_store.h). */
#ifndef GB_RECONCILER_H
#define GB_RECONCILER_H

#include "broker/core/app.h"

typedef struct reconciler reconciler;

/* Starts the worker thread (its own database connection). */
gb_err reconciler_start(app *a, reconciler **out);
/* Stops and joins the thread. NULL is fine. */
void reconciler_stop(reconciler *r);
/* Runs one round now on the caller's connection (tests and the worker use it). */
void reconciler_round(app *a, gb_db *db, reconciler *r);
/* How long the pods a round claims are this broker's to poll: two provider calls' timeouts
 * and 10 s (as an intent's lease), at least four rounds. A broker killed or paused mid-round
 * leaves its claimed pods to the other brokers' reconcilers after it; a round that outlasts
 * it (many slow providers) only lets another broker poll the same pods too, since every
 * write back is conditional on the status the claim read (pod_update_from). */
int64_t reconciler_lease_ms(const app *a);

#endif
