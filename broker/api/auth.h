/* auth.h: API keys: issuing (random, prefixed, shown once, stored as a keyed hash) and
 * checking the key a request carries. */
#ifndef GB_AUTH_H
#define GB_AUTH_H

#include "broker/api/api.h"
#include "broker/store/stores.h"

#define AUTH_KEY_PREFIX "gpb_sk_"
#define AUTH_KEY_RANDOM 40 /* base62 characters: ~238 bits */
#define AUTH_KEY_MAX 64

/* Authenticates key (may be NULL) for rq: fills rq->account_id/key_id/scopes and returns 0,
 * or writes a 401 into rs and returns -1. */
int auth_check(api_req *rq, api_resp *rs, const char *key);

/* Creates a key for account with name and scopes inside the caller's transaction.
 * key_out (AUTH_KEY_MAX bytes) gets the plaintext, the only time it exists. */
gb_err auth_issue_key(app *a, gb_db *db, const char *account_id, const char *name, unsigned scopes,
                      char key_out[AUTH_KEY_MAX], apikey_rec *rec);

#endif
