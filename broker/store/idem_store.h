/* idem_store.h: the idempotency_keys table behind the Idempotency-Key header
 * (broker/api/idem.c): one row per (account, key) holding the request's digest, and once the
 * work is done its answer. A row is a reservation (status 0) while the first request runs. */
#ifndef GB_IDEM_STORE_H
#define GB_IDEM_STORE_H

#include <stdint.h>

#include "common/db.h"

#define IDEM_KEY_MAX 255            /* bytes of a key, printable ASCII */
#define IDEM_TTL_MS 86400000LL      /* a key is remembered for 24 h from its first use */
#define IDEM_LEASE_MS 60000LL       /* a reservation with no answer after this is abandoned */
#define IDEM_BODY_MAX (1024 * 1024) /* answers larger than this are not stored */
#define IDEM_MADE_MAX 128           /* bytes of what a request made (an id), with its NUL */

const gb_migration_set *idem_migrations(void);

typedef struct {
    char digest[65]; /* BLAKE2b-256 hex of method, path and body */
    int status;      /* 0: reserved, the first request still runs */
    char *body;      /* the stored answer (malloc'd) or NULL */
    int64_t created_at;
    char made[IDEM_MADE_MAX]; /* what the first request made ("" nothing yet), see idem_made */
} idem_rec;

void idem_rec_clear(idem_rec *r);

/* Inserts the reservation (status 0) in its own statement (no transaction of the caller's):
 * GB_OK when this caller now owns the key, GB_ERR_CONFLICT when a row exists. */
gb_err idem_reserve(gb_db *db, const char *account_id, const char *key, const char *digest,
                    int64_t now_ms);
/* The row of (account, key); GB_ERR_NOT_FOUND when none. */
gb_err idem_get(gb_db *db, const char *account_id, const char *key, idem_rec *out);
/* Stores the answer of the reservation made at created_at (GB_ERR_NOT_FOUND when that
 * reservation is gone, e.g. pruned as abandoned). */
gb_err idem_finish(gb_db *db, const char *account_id, const char *key, int64_t created_at,
                   int status, const char *body);
/* Records, inside the transaction that made it, what the reservation made at created_at made
 * (an id, 1 to IDEM_MADE_MAX - 1 bytes): from its commit on, the key's work is done even when
 * its answer is never stored (a crash right after the commit), so it never runs again.
 * GB_ERR_NOT_FOUND when that reservation is gone or already answered. */
gb_err idem_made(gb_db *db, const char *account_id, const char *key, int64_t created_at,
                 const char *what);
/* Deletes the row of (account, key) made at created_at, if it is still there; with
 * unmade_only, only when it made nothing (a row whose work committed stays: a retry must not
 * make it again). GB_OK either way. */
gb_err idem_forget(gb_db *db, const char *account_id, const char *key, int64_t created_at,
                   int unmade_only);
/* Deletes every row older than IDEM_TTL_MS and every reservation older than IDEM_LEASE_MS
 * that made nothing, at now_ms; *n (may be NULL) gets how many. */
gb_err idem_prune(gb_db *db, int64_t now_ms, int *n);

#endif
