/* idem.h: the Idempotency-Key header on the POSTs that create or charge (idem.c): the same
 * key and body within 24 h answer the first answer again, another body is 409
 * IDEMPOTENCY_MISMATCH, concurrent duplicates run the work once. */
#ifndef GB_IDEM_H
#define GB_IDEM_H

#include "broker/api/api.h"
#include "broker/store/idem_store.h"

/* How long a duplicate waits for the first request's answer before it is answered 409
 * IDEMPOTENCY_IN_PROGRESS. */
#define IDEM_WAIT_MS 10000

/* True when route (its name, "POST /api/volt/pods") takes an Idempotency-Key. */
int idem_route(const char *route_name);
/* True when a request to method and a concrete path ("/api/volt/admin/accounts/acc_x/credit")
 * takes one (the CLI asks before it sends a key and retries). */
int idem_covers(const char *method, const char *path);
typedef enum {
    IDEM_RUN,      /* the caller reserved the key: run the work, then idem_finish/idem_forget */
    IDEM_REPLAY,   /* done before with this request: r holds the answer */
    IDEM_MISMATCH, /* used before with another request: 409 IDEMPOTENCY_MISMATCH */
    IDEM_WAIT,     /* the first request with it still runs */
    IDEM_LOST      /* the first request's work committed (r->made) but its owner died before
                      storing the answer: 409 IDEMPOTENCY_ANSWER_LOST, nothing runs again */
} idem_verdict;

/* The key's state for a request of this digest at now (ms, the domain clock): reserves it
 * when free (also when its row is past IDEM_TTL_MS, or a reservation past IDEM_LEASE_MS that
 * made nothing: the first owner died before its work committed), else tells what the row
 * says. r gets the row (for IDEM_RUN the new
 * reservation's created_at); idem_rec_clear it. */
gb_err idem_begin(gb_db *db, const char *account_id, const char *key, const char *digest,
                  int64_t now, idem_verdict *v, idem_rec *r);
/* Runs fn for the request under the key's rules when the route takes a key and the request
 * carries one, else just runs fn. */
void idem_handle(const char *route_name, api_handler fn, api_req *rq, api_resp *rs);
/* idem_handle's work for a request that carries key: refuses a bad key (400), replays, refuses
 * a mismatch (409), or runs fn as the key's owner and stores its answer; a duplicate waits at
 * most wait_ms for the first one's answer. */
void idem_run(const char *key, api_handler fn, api_req *rq, api_resp *rs, int wait_ms);

#endif
