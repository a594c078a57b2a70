/* cred_store.c: the docker_credentials table (the password itself is a vault secret). */
#include <stdio.h>

#include "broker/store/store_util.h"
#include "broker/store/stores.h"

#define COLS "id, account_id, name, registry, username, created_at"

void cred_secret_ref(const char *cred_id, char *out, size_t n)
{
    snprintf(out, n, "docker_credentials/%s/password", cred_id);
}

static void row(gb_q *q, void *out)
{
    cred_rec *r = out;
    sq_col(q, 0, r->id, sizeof(r->id));
    sq_col(q, 1, r->account_id, sizeof(r->account_id));
    sq_col(q, 2, r->name, sizeof(r->name));
    sq_col(q, 3, r->registry, sizeof(r->registry));
    sq_col(q, 4, r->username, sizeof(r->username));
    r->created_at = gb_q_col_int64(q, 5);
}

gb_err cred_insert(gb_db *db, const cred_rec *rec)
{
    gb_q *q = gb_q_prep(db, "INSERT INTO docker_credentials(" COLS ") VALUES(?1,?2,?3,?4,?5,?6)");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, rec->id);
    gb_q_text(q, 2, rec->account_id);
    gb_q_text(q, 3, rec->name);
    gb_q_text(q, 4, rec->registry);
    gb_q_text(q, 5, rec->username);
    gb_q_int64(q, 6, rec->created_at);
    return sq_change(q, 0, NULL);
}

gb_err cred_get(gb_db *db, const char *account_id, const char *id, cred_rec *out)
{
    gb_q *q =
        gb_q_prep(db, "SELECT " COLS " FROM docker_credentials WHERE id = ?1 AND account_id = ?2");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, account_id);
    return sq_one(q, row, out);
}

gb_err cred_list(gb_db *db, const char *account_id, cred_each fn, void *ud)
{
    gb_q *q = gb_q_prep(db, "SELECT " COLS " FROM docker_credentials "
                            "WHERE account_id = ?1 ORDER BY created_at, id");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    int has = 0;
    gb_err e;
    while (!(e = gb_q_step(q, &has)) && has) {
        cred_rec r;
        row(q, &r);
        fn(ud, &r);
    }
    gb_q_reset(q);
    return e;
}

gb_err cred_count(gb_db *db, const char *account_id, int64_t *n)
{
    gb_q *q = gb_q_prep(db, "SELECT count(*) FROM docker_credentials WHERE account_id = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    return sq_int64(q, n);
}

gb_err cred_delete(gb_db *db, const char *account_id, const char *id)
{
    gb_q *q = gb_q_prep(db, "DELETE FROM docker_credentials WHERE id = ?1 AND account_id = ?2");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, account_id);
    return sq_change(q, 1, NULL);
}
