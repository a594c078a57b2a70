/* sshkey_store.c: the ssh_keys table. */
#include <stdlib.h>

#include "broker/store/store_util.h"
#include "broker/store/stores.h"

#define COLS "id, account_id, name, public_key, fingerprint, created_at"

void sshkey_rec_clear(sshkey_rec *rec)
{
    if (!rec) return;
    free(rec->public_key);
    rec->public_key = NULL;
}

static void row(gb_q *q, void *out)
{
    sshkey_rec *r = out;
    sq_col(q, 0, r->id, sizeof(r->id));
    sq_col(q, 1, r->account_id, sizeof(r->account_id));
    sq_col(q, 2, r->name, sizeof(r->name));
    r->public_key = sq_col_dup(q, 3);
    sq_col(q, 4, r->fingerprint, sizeof(r->fingerprint));
    r->created_at = gb_q_col_int64(q, 5);
}

gb_err sshkey_insert(gb_db *db, const sshkey_rec *rec)
{
    gb_q *q = gb_q_prep(db, "INSERT INTO ssh_keys(" COLS ") VALUES(?1,?2,?3,?4,?5,?6)");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, rec->id);
    gb_q_text(q, 2, rec->account_id);
    gb_q_text(q, 3, rec->name);
    gb_q_text(q, 4, rec->public_key);
    gb_q_text(q, 5, rec->fingerprint);
    gb_q_int64(q, 6, rec->created_at);
    gb_err e = sq_change(q, 0, NULL);
    if (!e) sshkey_changed(db);
    return e;
}

gb_err sshkey_get(gb_db *db, const char *account_id, const char *id, sshkey_rec *out)
{
    gb_q *q = gb_q_prep(db, "SELECT " COLS " FROM ssh_keys WHERE id = ?1 AND account_id = ?2");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, account_id);
    return sq_one(q, row, out);
}

gb_err sshkey_list(gb_db *db, const char *account_id, sshkey_each fn, void *ud)
{
    gb_q *q = gb_q_prep(db, "SELECT " COLS " FROM ssh_keys WHERE account_id = ?1 "
                            "ORDER BY created_at, id");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    int has = 0;
    gb_err e;
    while (!(e = gb_q_step(q, &has)) && has) {
        sshkey_rec r;
        row(q, &r);
        fn(ud, &r);
        sshkey_rec_clear(&r);
    }
    gb_q_reset(q);
    return e;
}

gb_err sshkey_count(gb_db *db, const char *account_id, int64_t *n)
{
    gb_q *q = gb_q_prep(db, "SELECT count(*) FROM ssh_keys WHERE account_id = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    return sq_int64(q, n);
}

gb_err sshkey_delete(gb_db *db, const char *account_id, const char *id)
{
    gb_q *q = gb_q_prep(db, "DELETE FROM ssh_keys WHERE id = ?1 AND account_id = ?2");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, account_id);
    gb_err e = sq_change(q, 1, NULL);
    if (!e) sshkey_changed(db);
    return e;
}
