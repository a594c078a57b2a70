/* wake.h: the delivery workers running in this process (wh_worker_start adds, wh_worker_stop
 * removes), woken when a transaction that queued a message commits (outbox_store.c), so this
 * broker's messages leave at once instead of at the next poll. Internal to webhooks/. */
#ifndef GB_WEBHOOKS_WAKE_H
#define GB_WEBHOOKS_WAKE_H

#include "webhooks/outbox.h"

/* GB_ERR_NOMEM when WH_WAKE_MAX workers are already registered (that one then only polls). */
gb_err wh_wake_add(wh_worker *w);
/* After it returns, w is no longer woken (a wake under way has finished). */
void wh_wake_remove(wh_worker *w);
/* Wakes every registered worker; ud is unused (the gb_db_after_commit signature). */
void wh_wake_all(void *ud);

#endif
