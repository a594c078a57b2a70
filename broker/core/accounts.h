/* accounts.h: creating accounts (with their first API key and opening credit) and
 * crediting them: shared by the admin API, `gpubroker init` and the sandbox. */
#ifndef GB_ACCOUNTS_H
#define GB_ACCOUNTS_H

#include "broker/core/app.h"
#include "broker/api/auth.h"
#include "broker/store/stores.h"
#include "common/money.h"

/* In one transaction: the account, a key named key_name with scopes, and a credit of
 * opening (0 = none). CONFLICT when the name is taken. */
gb_err accounts_create(app *a, gb_db *db, const char *name, int is_admin, gb_money opening,
                       const char *key_name, unsigned scopes, account_rec *acc,
                       char key_out[AUTH_KEY_MAX], apikey_rec *key);
/* Credits amount (> 0) in its own transaction; *balance gets the new balance. */
gb_err accounts_credit(gb_db *db, const char *account_id, gb_money amount, const char *note,
                       gb_money *balance);

#endif
