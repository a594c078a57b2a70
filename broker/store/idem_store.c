/* idem_store.c: the SQL of the idempotency_keys table (idem_store.h): reserve a key before
 * the work, store the answer after it, forget or prune it. */
#include "broker/store/idem_store.h"

#include <stdlib.h>

#include "broker/store/store_util.h"

/* the primary key makes concurrent reservations of one key safe: one INSERT wins, the others
 * insert nothing (ON CONFLICT DO NOTHING) and read the winner's row */
static const gb_migration STEPS[] = {
    {1, "CREATE TABLE idempotency_keys ("
        " account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        " key TEXT NOT NULL, digest TEXT NOT NULL, status INTEGER NOT NULL DEFAULT 0,"
        " body TEXT, created_at INTEGER NOT NULL, PRIMARY KEY(account_id, key));"
        "CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);"},
    /* what the first request made, written in the transaction that made it (idem_made) */
    {2, "ALTER TABLE idempotency_keys ADD COLUMN made TEXT;"},
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
    /* DO NOTHING and the count rather than a failed INSERT: in PostgreSQL a failed statement
     * aborts the transaction it runs in */
    gb_q *q = gb_q_prep(db, "INSERT INTO idempotency_keys(account_id, key, digest, status,"
                            " created_at) VALUES(?1, ?2, ?3, 0, ?4) ON CONFLICT DO NOTHING");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    gb_q_text(q, 2, key);
    gb_q_text(q, 3, digest);
    gb_q_int64(q, 4, now_ms);
    int64_t n = 0;
    gb_err e = sq_change(q, 0, &n);
    return e ? e : n ? GB_OK : GB_ERR_CONFLICT;
}

static void idem_row(gb_q *q, void *out)
{
    idem_rec *r = out;
    sq_col(q, 0, r->digest, sizeof(r->digest));
    r->status = (int)gb_q_col_int64(q, 1);
    r->body = sq_col_dup(q, 2);
    r->created_at = gb_q_col_int64(q, 3);
    sq_col(q, 4, r->made, sizeof(r->made));
}

gb_err idem_get(gb_db *db, const char *account_id, const char *key, idem_rec *out)
{
    memset(out, 0, sizeof(*out));
    gb_q *q = gb_q_prep(db, "SELECT digest, status, body, created_at, made FROM"
                            " idempotency_keys WHERE account_id = ?1 AND key = ?2");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    gb_q_text(q, 2, key);
    return sq_one(q, idem_row, out);
}

gb_err idem_finish(gb_db *db, const char *account_id, const char *key, int64_t created_at,
                   int status, const char *body)
{
    if (status <= 0 || !body) return GB_ERR_INVALID;
    gb_q *q = gb_q_prep(db, "UPDATE idempotency_keys SET status = ?4, body = ?5"
                            " WHERE account_id = ?1 AND key = ?2 AND created_at = ?3"
                            " AND status = 0");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    gb_q_text(q, 2, key);
    gb_q_int64(q, 3, created_at);
    gb_q_int64(q, 4, status);
    gb_q_text(q, 5, body);
    return sq_change(q, 1, NULL);
}

gb_err idem_made(gb_db *db, const char *account_id, const char *key, int64_t created_at,
                 const char *what)
{
    if (!what || !what[0] || strlen(what) >= IDEM_MADE_MAX) return GB_ERR_INVALID;
    gb_q *q = gb_q_prep(db, "UPDATE idempotency_keys SET made = ?4 WHERE account_id = ?1 AND"
                            " key = ?2 AND created_at = ?3 AND status = 0");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    gb_q_text(q, 2, key);
    gb_q_int64(q, 3, created_at);
    gb_q_text(q, 4, what);
    return sq_change(q, 1, NULL);
}

gb_err idem_forget(gb_db *db, const char *account_id, const char *key, int64_t created_at,
                   int unmade_only)
{
    gb_q *q = gb_q_prep(db, unmade_only ? "DELETE FROM idempotency_keys WHERE account_id = ?1"
                                          " AND key = ?2 AND created_at = ?3 AND made IS NULL"
                                        : "DELETE FROM idempotency_keys WHERE account_id = ?1"
                                          " AND key = ?2 AND created_at = ?3");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    gb_q_text(q, 2, key);
    gb_q_int64(q, 3, created_at);
    return sq_change(q, 0, NULL);
}

gb_err idem_prune(gb_db *db, int64_t now_ms, int *n)
{
    if (n) *n = 0;
    gb_q *q = gb_q_prep(db, "DELETE FROM idempotency_keys WHERE created_at < ?1 OR"
                            " (status = 0 AND made IS NULL AND created_at < ?2)");
    if (!q) return GB_ERR_DB;
    gb_q_int64(q, 1, now_ms - IDEM_TTL_MS);
    gb_q_int64(q, 2, now_ms - IDEM_LEASE_MS);
    int64_t changed = 0;
    gb_err e = sq_change(q, 0, &changed);
    if (!e && n) *n = (int)changed;
    return e;
}
