/* worker.h: the one loop every background worker runs on: a thread that runs a round function
 * at once, then every interval (measured on the monotonic clock, so setting the wall clock
 * neither stalls nor hurries it), at once again when woken, and until stopped. Under a test
 * clock (common/clock.h) a round also runs as soon as the test clock is moved past the
 * deadline, so tests can drive a worker by moving time. */
#ifndef GB_WORKER_H
#define GB_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/gb.h"

typedef struct gb_worker gb_worker;

/* One round of work on the worker's thread. Returns true when more is due at once (the next
 * round starts without waiting), false to wait the interval. */
typedef bool (*gb_worker_round_fn)(void *ud);

typedef struct {
    const char *name;             /* for logs ("reconciler"); borrowed for the worker's life */
    int64_t interval_ms;          /* between the end of one round and the next (below 1: 1) */
    gb_worker_round_fn round;     /* required */
    void (*thread_end)(void *ud); /* on the worker's thread after its last round (release its
                                   * per-thread resources, such as a database connection); or
                                   * NULL */
    void *ud;
} gb_worker_cfg;

/* Starts the thread; its first round runs at once. GB_ERR_INVALID without a round function,
 * GB_ERR_INTERNAL when no thread could be made (*out NULL on failure). */
gb_err gb_worker_start(const gb_worker_cfg *cfg, gb_worker **out);
/* Asks the worker to stop, waits for the round under way (no new one starts), joins the
 * thread and frees w. Returns promptly however long the interval. NULL is fine. */
void gb_worker_stop(gb_worker *w);
/* Runs a round now: at once if the worker waits, else right after the round under way. */
void gb_worker_wake(gb_worker *w);
/* How many rounds have finished. */
long gb_worker_rounds(gb_worker *w);
/* While the worker waits: when its next round is due, in gb_mono_ms() time; 0 while a round
 * runs (or before the first wait). */
int64_t gb_worker_deadline(gb_worker *w);

/* What readiness checks look at in a running worker. */
typedef struct {
    const char *name;
    int64_t interval_ms;
    long rounds;
    int64_t last_progress_ms; /* gb_mono_ms() when its last round started or ended */
    bool in_round;            /* a round is under way (or the thread has not waited yet) */
} gb_worker_status;
/* Calls fn for every running worker (under the list's lock: fn must not start or stop one). */
void gb_worker_each(void (*fn)(const gb_worker_status *st, void *ud), void *ud);

#endif
