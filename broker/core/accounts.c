/* accounts.c: account creation and credit, each in one transaction. */
#include "broker/core/accounts.h"

#include <string.h>

#include "common/clock.h"
#include "common/str.h"
#include "jobs/ledger.h"

gb_err accounts_create(app *a, gb_db *db, const char *name, int is_admin, gb_money opening,
                       const char *key_name, unsigned scopes, account_rec *acc,
                       char key_out[AUTH_KEY_MAX], apikey_rec *key)
{
    memset(acc, 0, sizeof(*acc));
    gb_id_new("acct_", acc->id, sizeof(acc->id));
    gb_strlcpy(acc->name, name, sizeof(acc->name));
    acc->is_admin = is_admin;
    acc->created_at = gb_now_ms();
    gb_err e = gb_db_begin(db);
    if (e) return e;
    e = account_insert(db, acc);
    if (!e) e = auth_issue_key(a, db, acc->id, key_name, scopes, key_out, key);
    if (!e && opening > 0)
        e = ledger_add(db, acc->id, LEDGER_CREDIT, opening, NULL, "opening credit");
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    if (e) gb_memzero(key_out, AUTH_KEY_MAX);
    return e;
}

gb_err accounts_credit(gb_db *db, const char *account_id, gb_money amount, const char *note,
                       gb_money *balance)
{
    gb_err e = gb_db_begin(db);
    if (e) return e;
    account_rec acc;
    e = account_get(db, account_id, &acc);
    if (!e) e = ledger_add(db, account_id, LEDGER_CREDIT, amount, NULL, note);
    if (!e) e = gb_db_made(db, "a credit"); /* an Idempotency-Key's request made it (idem.c) */
    if (!e) e = ledger_balance(db, account_id, balance);
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    return e;
}
