/* account_store.c: the accounts table and the API keys table. */
#include "broker/store/store_util.h"
#include "broker/store/stores.h"

#define ACCOUNT_COLS "id, name, is_admin, created_at"

static void account_row(gb_q *q, account_rec *r)
{
    sq_col(q, 0, r->id, sizeof(r->id));
    sq_col(q, 1, r->name, sizeof(r->name));
    r->is_admin = (int)gb_q_col_int64(q, 2);
    r->created_at = gb_q_col_int64(q, 3);
}

static void account_row_v(gb_q *q, void *out)
{
    account_row(q, out);
}

gb_err account_insert(gb_db *db, const account_rec *rec)
{
    gb_q *q = gb_q_prep(db, "INSERT INTO accounts(" ACCOUNT_COLS ") VALUES(?1,?2,?3,?4)");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, rec->id);
    gb_q_text(q, 2, rec->name);
    gb_q_int64(q, 3, rec->is_admin);
    gb_q_int64(q, 4, rec->created_at);
    return sq_change(q, 0, NULL);
}

gb_err account_get(gb_db *db, const char *id, account_rec *out)
{
    gb_q *q = gb_q_prep(db, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    return sq_one(q, account_row_v, out);
}

gb_err account_find_by_name(gb_db *db, const char *name, account_rec *out)
{
    gb_q *q = gb_q_prep(db, "SELECT " ACCOUNT_COLS " FROM accounts WHERE name = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, name);
    return sq_one(q, account_row_v, out);
}

gb_err account_find_admin(gb_db *db, account_rec *out)
{
    /* the first admin; id breaks a tie of created_at the same way on both backends */
    gb_q *q = gb_q_prep(db, "SELECT " ACCOUNT_COLS " FROM accounts WHERE is_admin = 1 "
                            "ORDER BY created_at, id LIMIT 1");
    if (!q) return GB_ERR_DB;
    return sq_one(q, account_row_v, out);
}

gb_money account_cap(gb_money own, gb_money admin)
{
    if (own <= 0) return admin > 0 ? admin : 0;
    return admin > 0 && admin < own ? admin : own;
}

static void money_row(gb_q *q, void *out)
{
    account_money *m = out;
    m->spend_limit = gb_q_col_int64(q, 0);
    m->admin_spend_limit = gb_q_col_int64(q, 1);
    m->budget = gb_q_col_int64(q, 2);
    m->admin_budget = gb_q_col_int64(q, 3);
    m->low_balance_at = gb_q_col_int64(q, 4);
}

gb_err account_money_lock(gb_db *db, const char *id, account_money *out)
{
    gb_q *q = gb_q_prep(db, "SELECT spend_limit_per_hour, admin_spend_limit, monthly_budget, "
                            "admin_budget, low_balance_at FROM accounts WHERE id = ?1 FOR UPDATE");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    return sq_one(q, money_row, out);
}

gb_err account_money_get(gb_db *db, const char *id, account_money *out)
{
    gb_q *q = gb_q_prep(db, "SELECT spend_limit_per_hour, admin_spend_limit, monthly_budget, "
                            "admin_budget, low_balance_at FROM accounts WHERE id = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    return sq_one(q, money_row, out);
}

gb_err account_money_set(gb_db *db, const char *id, const account_money *m)
{
    gb_q *q = gb_q_prep(db, "UPDATE accounts SET spend_limit_per_hour = ?2, "
                            "admin_spend_limit = ?3, monthly_budget = ?4, "
                            "admin_budget = ?5 WHERE id = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_int64(q, 2, m->spend_limit);
    gb_q_int64(q, 3, m->admin_spend_limit);
    gb_q_int64(q, 4, m->budget);
    gb_q_int64(q, 5, m->admin_budget);
    return sq_change(q, 1, NULL);
}

gb_err account_set_low_balance(gb_db *db, const char *id, int64_t at)
{
    gb_q *q = gb_q_prep(db, "UPDATE accounts SET low_balance_at = ?2 WHERE id = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_int64(q, 2, at);
    return sq_change(q, 1, NULL);
}

gb_err budget_alert_once(gb_db *db, const char *id, const char *month, int percent, int64_t at,
                         int *fresh)
{
    /* DO NOTHING rather than a failed INSERT: in PostgreSQL a failed statement would abort
     * the caller's transaction */
    gb_q *q = gb_q_prep(db, "INSERT INTO budget_alerts(account_id, month, percent, at) "
                            "VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, month);
    gb_q_int64(q, 3, percent);
    gb_q_int64(q, 4, at);
    int64_t n = 0;
    gb_err e = sq_change(q, 0, &n);
    *fresh = !e && n > 0;
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
    gb_q *q = gb_q_prep(db, "UPDATE accounts SET spend_limit_per_hour = ?2 WHERE id = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_int64(q, 2, limit);
    return sq_change(q, 1, NULL);
}

gb_err job_token_put(gb_db *db, const char *job_id, const char *hash, int64_t now_ms)
{
    gb_q *q = gb_q_prep(db, "INSERT INTO job_tokens(job_id, hash, created_at) "
                            "VALUES(?1, ?2, ?3) ON CONFLICT(job_id) DO UPDATE SET "
                            "hash = excluded.hash, created_at = excluded.created_at");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, job_id);
    gb_q_text(q, 2, hash);
    gb_q_int64(q, 3, now_ms);
    return sq_change(q, 0, NULL);
}

int job_token_check(gb_db *db, const char *job_id, const char *hash)
{
    gb_q *q = gb_q_prep(db, "SELECT 1 FROM job_tokens WHERE job_id = ?1 AND hash = ?2");
    if (!q) return 0;
    gb_q_text(q, 1, job_id);
    gb_q_text(q, 2, hash);
    int row = 0;
    int ok = gb_q_step(q, &row) == GB_OK && row;
    gb_q_reset(q);
    return ok;
}

gb_err webhook_rotation_set(gb_db *db, const char *account_id, int64_t previous_until)
{
    gb_q *q = gb_q_prep(db, "INSERT INTO webhook_rotations(account_id, previous_until) "
                            "VALUES(?1, ?2) ON CONFLICT(account_id) DO UPDATE SET "
                            "previous_until = excluded.previous_until");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    gb_q_int64(q, 2, previous_until);
    return sq_change(q, 0, NULL);
}

static void rotation_row(gb_q *q, void *out)
{
    *(int64_t *)out = gb_q_col_int64(q, 0);
}

gb_err webhook_rotation_get(gb_db *db, const char *account_id, int64_t *previous_until)
{
    gb_q *q = gb_q_prep(db, "SELECT previous_until FROM webhook_rotations WHERE account_id = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    return sq_one(q, rotation_row, previous_until);
}

static gb_err account_each_row(gb_q *q, account_each fn, void *ud)
{
    int row = 0;
    gb_err e;
    while (!(e = gb_q_step(q, &row)) && row) {
        account_rec r;
        account_row(q, &r);
        fn(ud, &r);
    }
    gb_q_reset(q);
    return e;
}

gb_err account_with_budgets(gb_db *db, account_each fn, void *ud)
{
    gb_q *q = gb_q_prep(db, "SELECT " ACCOUNT_COLS " FROM accounts WHERE "
                            "monthly_budget > 0 OR admin_budget > 0");
    if (!q) return GB_ERR_DB;
    return account_each_row(q, fn, ud);
}

gb_err account_low(gb_db *db, account_each fn, void *ud)
{
    gb_q *q = gb_q_prep(db, "SELECT " ACCOUNT_COLS " FROM accounts WHERE low_balance_at > 0");
    if (!q) return GB_ERR_DB;
    return account_each_row(q, fn, ud);
}

gb_err account_list(gb_db *db, account_each fn, void *ud)
{
    /* id breaks ties of created_at: the same order on both backends */
    gb_q *q = gb_q_prep(db, "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY created_at, id");
    if (!q) return GB_ERR_DB;
    return account_each_row(q, fn, ud);
}

#define KEY_COLS "id, account_id, name, preview, scopes, created_at, last_used"

static void key_row(gb_q *q, void *out)
{
    apikey_rec *r = out;
    sq_col(q, 0, r->id, sizeof(r->id));
    sq_col(q, 1, r->account_id, sizeof(r->account_id));
    sq_col(q, 2, r->name, sizeof(r->name));
    sq_col(q, 3, r->preview, sizeof(r->preview));
    r->scopes = (unsigned)gb_q_col_int64(q, 4);
    r->created_at = gb_q_col_int64(q, 5);
    r->last_used = gb_q_col_int64(q, 6);
}

gb_err apikey_insert(gb_db *db, const apikey_rec *rec, const char *hash)
{
    gb_q *q = gb_q_prep(db, "INSERT INTO api_keys(" KEY_COLS ", hash) "
                            "VALUES(?1,?2,?3,?4,?5,?6,0,?7)");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, rec->id);
    gb_q_text(q, 2, rec->account_id);
    gb_q_text(q, 3, rec->name);
    gb_q_text(q, 4, rec->preview);
    gb_q_int64(q, 5, (int)rec->scopes);
    gb_q_int64(q, 6, rec->created_at);
    gb_q_text(q, 7, hash);
    return sq_change(q, 0, NULL);
}

gb_err apikey_lookup_hash(gb_db *db, const char *hash, apikey_rec *out)
{
    gb_q *q = gb_q_prep(db, "SELECT " KEY_COLS " FROM api_keys WHERE hash = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, hash);
    return sq_one(q, key_row, out);
}

gb_err apikey_touch(gb_db *db, const char *id, int64_t now_ms)
{
    gb_q *q = gb_q_prep(db, "UPDATE api_keys SET last_used = ?2 WHERE id = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_int64(q, 2, now_ms);
    return sq_change(q, 0, NULL);
}

gb_err apikey_list(gb_db *db, const char *account_id, apikey_each fn, void *ud)
{
    gb_q *q = gb_q_prep(db, "SELECT " KEY_COLS " FROM api_keys WHERE account_id = ?1 "
                            "ORDER BY created_at, id");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    int row = 0;
    gb_err e;
    while (!(e = gb_q_step(q, &row)) && row) {
        apikey_rec r;
        key_row(q, &r);
        fn(ud, &r);
    }
    gb_q_reset(q);
    return e;
}

gb_err apikey_delete(gb_db *db, const char *account_id, const char *id)
{
    gb_q *q = gb_q_prep(db, "DELETE FROM api_keys WHERE id = ?1 AND account_id = ?2");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, account_id);
    return sq_change(q, 1, NULL);
}

gb_err account_lock(gb_db *db, const char *account_id)
{
    gb_q *q = gb_q_prep(db, "SELECT id FROM accounts WHERE id = ?1 FOR UPDATE");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    int row = 0;
    gb_err e = gb_q_step(q, &row);
    gb_q_reset(q);
    return e;
}

gb_err account_room(gb_db *db, const char *account_id, account_count_fn count, int64_t max)
{
    int64_t n = 0;
    gb_err e = account_lock(db, account_id);
    if (!e) e = count(db, account_id, &n);
    return e ? e : n >= max ? GB_ERR_LIMIT : GB_OK;
}

int apikey_count(gb_db *db, const char *account_id)
{
    gb_q *q = gb_q_prep(db, "SELECT count(*) FROM api_keys WHERE account_id = ?1");
    if (!q) return -1;
    gb_q_text(q, 1, account_id);
    int64_t n = -1;
    return sq_int64(q, &n) == GB_OK ? (int)n : -1;
}
