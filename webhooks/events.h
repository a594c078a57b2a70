/* events.h: the durable event log. Every event wh_enqueue queues as a webhook is also appended,
 * in the same transaction, to wh_events with a database-wide increasing seq, whether or not
 * the account has endpoints; the event stream (GET /api/volt/events, broker/api/api_events.c)
 * reads it back per account after a seq, and the webhook worker prunes it after a retention. */
#ifndef GB_WEBHOOKS_EVENTS_H
#define GB_WEBHOOKS_EVENTS_H

#include <stdint.h>

#include "common/db.h"
#include "common/gb.h"

#define WH_SUBJECT_MAX 64 /* a pod or job id, or the account id */

/* One row of the log, valid during the callback only. */
typedef struct {
    int64_t seq;
    const char *event;      /* "pod.running", "placement.attempt", ... */
    const char *subject_id; /* the payload's podId, else jobId, else accountId, else "" */
    const char *payload;    /* the webhook's exact JSON body */
    int64_t created_at;     /* ms */
} wh_event_row;

/* Appends one event (inside the caller's open transaction: GB_ERR_INTERNAL otherwise).
 * payload is the printed JSON body; subject_id may be NULL. Used by wh_enqueue. */
gb_err wh_event_append(gb_db *db, const char *account_id, const char *event, const char *subject_id,
                       const char *payload, int64_t now_ms);

/* Calls fn for each event of account_id with after < seq <= upto, oldest first, at most limit
 * (1..1000) of them; fn returning nonzero stops early. *last (may be NULL) gets the seq of
 * the last row handed to fn (after when none). */
gb_err wh_events_read(gb_db *db, const char *account_id, int64_t after, int64_t upto, int limit,
                      int (*fn)(void *ud, const wh_event_row *row), void *ud, int64_t *last);

/* The highest seq ever committed (0 for a log never written), also once pruning emptied the
 * log. */
gb_err wh_events_max_seq(gb_db *db, int64_t *out);
/* The same, and *pruned: the highest seq pruning removed (0 when none). A reader resuming
 * after a seq below it may have missed events. One statement. */
gb_err wh_events_bounds(gb_db *db, int64_t *newest, int64_t *pruned);

/* Deletes the events created before before_ms and raises the pruned mark to the highest seq
 * deleted, in one transaction (the caller's when one is open); *deleted (may be NULL) gets
 * the count. The seq never goes back (AUTOINCREMENT): a pruned id is never handed out again. */
gb_err wh_events_prune(gb_db *db, int64_t before_ms, int64_t *deleted);

/* ---- telling a reader that an event was appended (event_notify.c) ---- */

/* Registers the one listener (NULL to clear): wh_event_append calls fn(ud) after each append,
 * BEFORE the transaction commits, from the appending thread: fn must be quick, must not touch
 * the database, and should look at the log a little later (the commit follows). */
void wh_events_set_listener(void (*fn)(void *ud), void *ud);
/* Clears the listener if it is still the one registered with ud (another may have replaced
 * it); waits for a call under way. */
void wh_events_drop_listener(void *ud);
/* Calls the listener, if any (wh_event_append does). */
void wh_events_notify(void);

#endif
