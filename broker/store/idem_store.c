/* idem_store.c: the SQL of the idempotency_keys table (idem_store.h): reserve a key before
 * the work, store the answer after it, forget or prune it. */
#include "broker/store/idem_store.h"

#include <stdlib.h>

#include "broker/store/store_util.h"

/* the primary key makes concurrent reservations of one key safe: one INSERT wins, the others
 * meet the constraint and read the winner's row */
static const gb_migration STEPS[] = {
    {1, "CREATE TABLE idempotency_keys ("
        " account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        " key TEXT NOT NULL, digest TEXT NOT NULL, status INTEGER NOT NULL DEFAULT 0,"
        " body TEXT, created_at INTEGER NOT NULL, PRIMARY KEY(account_id, key));"
        "CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);"},
};

static const gb_migration_set SET = {
    .module = "idempotency", .steps = STEPS, .count = sizeof(STEPS) / sizeof(STEPS[0])};

const gb_migration_set *idem_migrations(void)
{
    return &SET;
}

void idem_rec_clear(idem_rec *r)
{
    if (!r) return;
    free(r->body);
    r->body = NULL;
}

gb_err idem_reserve(gb_db *db, const char *account_id, const char *key, const char *digest,
                    int64_t now_ms)
{
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO idempotency_keys(account_id, key, digest,"
                                     " status, created_at) VALUES(?1, ?2, ?3, 0, ?4)");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, account_id);
    su_bind_text(s, 2, key);
    su_bind_text(s, 3, digest);
    sqlite3_bind_int64(s, 4, now_ms);
    return su_change(db, s, 0, "idempotency reserve");
}

static void idem_row(sqlite3_stmt *s, void *out)
{
    idem_rec *r = out;
    su_col(s, 0, r->digest, sizeof(r->digest));
    r->status = sqlite3_column_int(s, 1);
    r->body = su_col_dup(s, 2);
    r->created_at = sqlite3_column_int64(s, 3);
}

gb_err idem_get(gb_db *db, const char *account_id, const char *key, idem_rec *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT digest, status, body, created_at FROM"
                                     " idempotency_keys WHERE account_id = ?1 AND key = ?2");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, account_id);
    su_bind_text(s, 2, key);
    return su_one(db, s, idem_row, out, "idempotency get");
}

gb_err idem_finish(gb_db *db, const char *account_id, const char *key, int64_t created_at,
                   int status, const char *body)
{
    if (status <= 0 || !body) return GB_ERR_INVALID;
    sqlite3_stmt *s = gb_db_stmt(db, "UPDATE idempotency_keys SET status = ?4, body = ?5"
                                     " WHERE account_id = ?1 AND key = ?2 AND created_at = ?3"
                                     " AND status = 0");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, account_id);
    su_bind_text(s, 2, key);
    sqlite3_bind_int64(s, 3, created_at);
    sqlite3_bind_int(s, 4, status);
    su_bind_text(s, 5, body);
    return su_change(db, s, 1, "idempotency finish");
}

gb_err idem_forget(gb_db *db, const char *account_id, const char *key, int64_t created_at)
{
    sqlite3_stmt *s = gb_db_stmt(db, "DELETE FROM idempotency_keys WHERE account_id = ?1 AND"
                                     " key = ?2 AND created_at = ?3");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, account_id);
    su_bind_text(s, 2, key);
    sqlite3_bind_int64(s, 3, created_at);
    return su_change(db, s, 0, "idempotency forget");
}

gb_err idem_prune(gb_db *db, int64_t now_ms, int *n)
{
    if (n) *n = 0;
    sqlite3_stmt *s = gb_db_stmt(db, "DELETE FROM idempotency_keys WHERE created_at < ?1 OR"
                                     " (status = 0 AND created_at < ?2)");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_int64(s, 1, now_ms - IDEM_TTL_MS);
    sqlite3_bind_int64(s, 2, now_ms - IDEM_LEASE_MS);
    gb_err e = su_change(db, s, 0, "idempotency prune");
    if (!e && n) *n = sqlite3_changes(gb_db_handle(db));
    return e;
}
