/* account_store.c: the accounts table and the API keys table. */
#include <sqlite3.h>

#include "broker/store/store_util.h"
#include "broker/store/stores.h"

#define ACCOUNT_COLS "id, name, is_admin, created_at"

static void account_row(sqlite3_stmt *s, account_rec *r)
{
    su_col(s, 0, r->id, sizeof(r->id));
    su_col(s, 1, r->name, sizeof(r->name));
    r->is_admin = sqlite3_column_int(s, 2);
    r->created_at = sqlite3_column_int64(s, 3);
}

gb_err account_insert(gb_db *db, const account_rec *rec)
{
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO accounts(" ACCOUNT_COLS ") VALUES(?1,?2,?3,?4)");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, rec->id);
    su_bind_text(s, 2, rec->name);
    sqlite3_bind_int(s, 3, rec->is_admin);
    sqlite3_bind_int64(s, 4, rec->created_at);
    return su_change(db, s, 0, "account insert");
}

static gb_err account_one(gb_db *db, const char *sql, const char *arg, account_rec *out)
{
    sqlite3_stmt *s = gb_db_stmt(db, sql);
    if (!s) return GB_ERR_DB;
    if (arg) su_bind_text(s, 1, arg);
    int rc = sqlite3_step(s);
    gb_err e = rc == SQLITE_ROW    ? GB_OK
               : rc == SQLITE_DONE ? GB_ERR_NOT_FOUND
                                   : gb_db_check(db, rc, "account get");
    if (!e) account_row(s, out);
    sqlite3_reset(s);
    return e;
}

gb_err account_get(gb_db *db, const char *id, account_rec *out)
{
    return account_one(db, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ?1", id, out);
}

gb_err account_find_by_name(gb_db *db, const char *name, account_rec *out)
{
    return account_one(db, "SELECT " ACCOUNT_COLS " FROM accounts WHERE name = ?1", name, out);
}

gb_err account_find_admin(gb_db *db, account_rec *out)
{
    return account_one(db,
                       "SELECT " ACCOUNT_COLS " FROM accounts WHERE is_admin = 1 "
                       "ORDER BY created_at LIMIT 1",
                       NULL, out);
}

gb_money account_cap(gb_money own, gb_money admin)
{
    if (own <= 0) return admin > 0 ? admin : 0;
    return admin > 0 && admin < own ? admin : own;
}

static void money_row(sqlite3_stmt *s, void *out)
{
    account_money *m = out;
    m->spend_limit = sqlite3_column_int64(s, 0);
    m->admin_spend_limit = sqlite3_column_int64(s, 1);
    m->budget = sqlite3_column_int64(s, 2);
    m->admin_budget = sqlite3_column_int64(s, 3);
    m->low_balance_at = sqlite3_column_int64(s, 4);
}

gb_err account_money_get(gb_db *db, const char *id, account_money *out)
{
    sqlite3_stmt *s =
        gb_db_stmt(db, "SELECT spend_limit_per_hour, admin_spend_limit, monthly_budget, "
                       "admin_budget, low_balance_at FROM accounts WHERE id = ?1");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    return su_one(db, s, money_row, out, "account money");
}

gb_err account_money_set(gb_db *db, const char *id, const account_money *m)
{
    sqlite3_stmt *s = gb_db_stmt(db, "UPDATE accounts SET spend_limit_per_hour = ?2, "
                                     "admin_spend_limit = ?3, monthly_budget = ?4, "
                                     "admin_budget = ?5 WHERE id = ?1");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, m->spend_limit);
    sqlite3_bind_int64(s, 3, m->admin_spend_limit);
    sqlite3_bind_int64(s, 4, m->budget);
    sqlite3_bind_int64(s, 5, m->admin_budget);
    return su_change(db, s, 1, "account money set");
}

gb_err account_set_low_balance(gb_db *db, const char *id, int64_t at)
{
    sqlite3_stmt *s = gb_db_stmt(db, "UPDATE accounts SET low_balance_at = ?2 WHERE id = ?1");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, at);
    return su_change(db, s, 1, "account low balance");
}

gb_err budget_alert_once(gb_db *db, const char *id, const char *month, int percent, int64_t at,
                         int *fresh)
{
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT OR IGNORE INTO budget_alerts(account_id, month, "
                                     "percent, at) VALUES(?1, ?2, ?3, ?4)");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    su_bind_text(s, 2, month);
    sqlite3_bind_int(s, 3, percent);
    sqlite3_bind_int64(s, 4, at);
    int rc = sqlite3_step(s);
    gb_err e = gb_db_check(db, rc, "budget alert");
    *fresh = !e && sqlite3_changes(gb_db_handle(db)) > 0;
    sqlite3_reset(s);
    return e;
}

gb_err account_spend_limit(gb_db *db, const char *id, gb_money *out)
{
    account_money m;
    gb_err e = account_money_get(db, id, &m);
    if (!e) *out = account_cap(m.spend_limit, m.admin_spend_limit);
    return e;
}

gb_err account_set_spend_limit(gb_db *db, const char *id, gb_money limit)
{
    sqlite3_stmt *s = gb_db_stmt(db, "UPDATE accounts SET spend_limit_per_hour = ?2 WHERE id = ?1");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, limit);
    return su_change(db, s, 1, "set spend limit");
}

gb_err job_token_put(gb_db *db, const char *job_id, const char *hash, int64_t now_ms)
{
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO job_tokens(job_id, hash, created_at) "
                                     "VALUES(?1, ?2, ?3) ON CONFLICT(job_id) DO UPDATE SET "
                                     "hash = excluded.hash, created_at = excluded.created_at");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, job_id);
    su_bind_text(s, 2, hash);
    sqlite3_bind_int64(s, 3, now_ms);
    return su_change(db, s, 0, "job token");
}

int job_token_check(gb_db *db, const char *job_id, const char *hash)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT 1 FROM job_tokens WHERE job_id = ?1 AND hash = ?2");
    if (!s) return 0;
    su_bind_text(s, 1, job_id);
    su_bind_text(s, 2, hash);
    int ok = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_reset(s);
    return ok;
}

gb_err webhook_rotation_set(gb_db *db, const char *account_id, int64_t previous_until)
{
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO webhook_rotations(account_id, previous_until) "
                                     "VALUES(?1, ?2) ON CONFLICT(account_id) DO UPDATE SET "
                                     "previous_until = excluded.previous_until");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, account_id);
    sqlite3_bind_int64(s, 2, previous_until);
    return su_change(db, s, 0, "webhook rotation");
}

static void rotation_row(sqlite3_stmt *s, void *out)
{
    *(int64_t *)out = sqlite3_column_int64(s, 0);
}

gb_err webhook_rotation_get(gb_db *db, const char *account_id, int64_t *previous_until)
{
    sqlite3_stmt *s =
        gb_db_stmt(db, "SELECT previous_until FROM webhook_rotations WHERE account_id = ?1");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, account_id);
    return su_one(db, s, rotation_row, previous_until, "webhook rotation get");
}

static gb_err account_each_row(gb_db *db, sqlite3_stmt *s, account_each fn, void *ud)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        account_rec r;
        account_row(s, &r);
        fn(ud, &r);
    }
    sqlite3_reset(s);
    return gb_db_check(db, rc, "account list");
}

gb_err account_with_budgets(gb_db *db, account_each fn, void *ud)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT " ACCOUNT_COLS " FROM accounts WHERE "
                                     "monthly_budget > 0 OR admin_budget > 0");
    if (!s) return GB_ERR_DB;
    return account_each_row(db, s, fn, ud);
}

gb_err account_low(gb_db *db, account_each fn, void *ud)
{
    sqlite3_stmt *s =
        gb_db_stmt(db, "SELECT " ACCOUNT_COLS " FROM accounts WHERE low_balance_at > 0");
    if (!s) return GB_ERR_DB;
    return account_each_row(db, s, fn, ud);
}

gb_err account_list(gb_db *db, account_each fn, void *ud)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY created_at");
    if (!s) return GB_ERR_DB;
    return account_each_row(db, s, fn, ud);
}

#define KEY_COLS "id, account_id, name, preview, scopes, created_at, last_used"

static void key_row(sqlite3_stmt *s, apikey_rec *r)
{
    su_col(s, 0, r->id, sizeof(r->id));
    su_col(s, 1, r->account_id, sizeof(r->account_id));
    su_col(s, 2, r->name, sizeof(r->name));
    su_col(s, 3, r->preview, sizeof(r->preview));
    r->scopes = (unsigned)sqlite3_column_int(s, 4);
    r->created_at = sqlite3_column_int64(s, 5);
    r->last_used = sqlite3_column_int64(s, 6);
}

gb_err apikey_insert(gb_db *db, const apikey_rec *rec, const char *hash)
{
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO api_keys(" KEY_COLS ", hash) "
                                     "VALUES(?1,?2,?3,?4,?5,?6,0,?7)");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, rec->id);
    su_bind_text(s, 2, rec->account_id);
    su_bind_text(s, 3, rec->name);
    su_bind_text(s, 4, rec->preview);
    sqlite3_bind_int(s, 5, (int)rec->scopes);
    sqlite3_bind_int64(s, 6, rec->created_at);
    su_bind_text(s, 7, hash);
    return su_change(db, s, 0, "api key insert");
}

gb_err apikey_lookup_hash(gb_db *db, const char *hash, apikey_rec *out)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT " KEY_COLS " FROM api_keys WHERE hash = ?1");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, hash);
    int rc = sqlite3_step(s);
    gb_err e = rc == SQLITE_ROW    ? GB_OK
               : rc == SQLITE_DONE ? GB_ERR_NOT_FOUND
                                   : gb_db_check(db, rc, "api key get");
    if (!e) key_row(s, out);
    sqlite3_reset(s);
    return e;
}

gb_err apikey_touch(gb_db *db, const char *id, int64_t now_ms)
{
    sqlite3_stmt *s = gb_db_stmt(db, "UPDATE api_keys SET last_used = ?2 WHERE id = ?1");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, now_ms);
    return su_change(db, s, 0, "api key touch");
}

gb_err apikey_list(gb_db *db, const char *account_id, apikey_each fn, void *ud)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT " KEY_COLS " FROM api_keys WHERE account_id = ?1 "
                                     "ORDER BY created_at, id");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, account_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        apikey_rec r;
        key_row(s, &r);
        fn(ud, &r);
    }
    sqlite3_reset(s);
    return gb_db_check(db, rc, "api key list");
}

gb_err apikey_delete(gb_db *db, const char *account_id, const char *id)
{
    sqlite3_stmt *s = gb_db_stmt(db, "DELETE FROM api_keys WHERE id = ?1 AND account_id = ?2");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    su_bind_text(s, 2, account_id);
    return su_change(db, s, 1, "api key delete");
}

int apikey_count(gb_db *db, const char *account_id)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT count(*) FROM api_keys WHERE account_id = ?1");
    if (!s) return -1;
    su_bind_text(s, 1, account_id);
    int n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    sqlite3_reset(s);
    return n;
}
