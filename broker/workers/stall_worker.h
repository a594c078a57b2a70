/* stall_worker.h: on PostgreSQL, the sweep that ends the sessions of another broker stalled
 * inside a transaction (gb_db_pg_end_stalled, common/dbq.h), run every quarter of
 * storage.idle_in_transaction_ms (at most every second, at least every 100 ms) on its own
 * database connection. */
#ifndef GB_STALL_WORKER_H
#define GB_STALL_WORKER_H

#include "broker/core/app.h"

typedef struct stall_worker stall_worker;

/* *out NULL (GB_OK) on SQLite or with the limit off: there is nothing to sweep. */
gb_err stall_worker_start(app *a, stall_worker **out);
/* Stops and joins the thread. NULL is fine. */
void stall_worker_stop(stall_worker *w);

#endif
