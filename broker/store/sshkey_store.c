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

static void row(sqlite3_stmt *s, void *out)
{
    sshkey_rec *r = out;
    su_col(s, 0, r->id, sizeof(r->id));
    su_col(s, 1, r->account_id, sizeof(r->account_id));
    su_col(s, 2, r->name, sizeof(r->name));
    r->public_key = su_col_dup(s, 3);
    su_col(s, 4, r->fingerprint, sizeof(r->fingerprint));
    r->created_at = sqlite3_column_int64(s, 5);
}

gb_err sshkey_insert(gb_db *db, const sshkey_rec *rec)
{
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO ssh_keys(" COLS ") VALUES(?1,?2,?3,?4,?5,?6)");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, rec->id);
    su_bind_text(s, 2, rec->account_id);
    su_bind_text(s, 3, rec->name);
    su_bind_text(s, 4, rec->public_key);
    su_bind_text(s, 5, rec->fingerprint);
    sqlite3_bind_int64(s, 6, rec->created_at);
    return su_change(db, s, 0, "ssh key insert");
}

gb_err sshkey_get(gb_db *db, const char *account_id, const char *id, sshkey_rec *out)
{
    sqlite3_stmt *s =
        gb_db_stmt(db, "SELECT " COLS " FROM ssh_keys WHERE id = ?1 AND account_id = ?2");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    su_bind_text(s, 2, account_id);
    return su_one(db, s, row, out, "ssh key get");
}

gb_err sshkey_list(gb_db *db, const char *account_id, sshkey_each fn, void *ud)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT " COLS " FROM ssh_keys WHERE account_id = ?1 "
                                     "ORDER BY created_at, id");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, account_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sshkey_rec r;
        row(s, &r);
        fn(ud, &r);
        sshkey_rec_clear(&r);
    }
    sqlite3_reset(s);
    return gb_db_check(db, rc, "ssh key list");
}

gb_err sshkey_delete(gb_db *db, const char *account_id, const char *id)
{
    sqlite3_stmt *s = gb_db_stmt(db, "DELETE FROM ssh_keys WHERE id = ?1 AND account_id = ?2");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    su_bind_text(s, 2, account_id);
    return su_change(db, s, 1, "ssh key delete");
}
