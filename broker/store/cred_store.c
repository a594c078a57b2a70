/* cred_store.c: the docker_credentials table (the password itself is a vault secret). */
#include <stdio.h>

#include "broker/store/store_util.h"
#include "broker/store/stores.h"

#define COLS "id, account_id, name, registry, username, created_at"

void cred_secret_ref(const char *cred_id, char *out, size_t n)
{
    snprintf(out, n, "docker_credentials/%s/password", cred_id);
}

static void row(sqlite3_stmt *s, void *out)
{
    cred_rec *r = out;
    su_col(s, 0, r->id, sizeof(r->id));
    su_col(s, 1, r->account_id, sizeof(r->account_id));
    su_col(s, 2, r->name, sizeof(r->name));
    su_col(s, 3, r->registry, sizeof(r->registry));
    su_col(s, 4, r->username, sizeof(r->username));
    r->created_at = sqlite3_column_int64(s, 5);
}

gb_err cred_insert(gb_db *db, const cred_rec *rec)
{
    sqlite3_stmt *s =
        gb_db_stmt(db, "INSERT INTO docker_credentials(" COLS ") VALUES(?1,?2,?3,?4,?5,?6)");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, rec->id);
    su_bind_text(s, 2, rec->account_id);
    su_bind_text(s, 3, rec->name);
    su_bind_text(s, 4, rec->registry);
    su_bind_text(s, 5, rec->username);
    sqlite3_bind_int64(s, 6, rec->created_at);
    return su_change(db, s, 0, "credential insert");
}

gb_err cred_get(gb_db *db, const char *account_id, const char *id, cred_rec *out)
{
    sqlite3_stmt *s =
        gb_db_stmt(db, "SELECT " COLS " FROM docker_credentials WHERE id = ?1 AND account_id = ?2");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    su_bind_text(s, 2, account_id);
    return su_one(db, s, row, out, "credential get");
}

gb_err cred_list(gb_db *db, const char *account_id, cred_each fn, void *ud)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT " COLS " FROM docker_credentials "
                                     "WHERE account_id = ?1 ORDER BY created_at, id");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, account_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cred_rec r;
        row(s, &r);
        fn(ud, &r);
    }
    sqlite3_reset(s);
    return gb_db_check(db, rc, "credential list");
}

gb_err cred_delete(gb_db *db, const char *account_id, const char *id)
{
    sqlite3_stmt *s =
        gb_db_stmt(db, "DELETE FROM docker_credentials WHERE id = ?1 AND account_id = ?2");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    su_bind_text(s, 2, account_id);
    return su_change(db, s, 1, "credential delete");
}
