/* template_store.c: the templates table (system templates have no account). */
#include <stdlib.h>

#include "broker/store/store_util.h"
#include "broker/store/stores.h"

#define COLS                                                                                       \
    "id, coalesce(account_id, ''), name, image, category, description,"                            \
    " coalesce(docker_credential_id, ''), ports, env_vars, is_system, created_at, updated_at"

void template_rec_clear(template_rec *rec)
{
    if (!rec) return;
    free(rec->ports_json);
    free(rec->env_json);
    rec->ports_json = rec->env_json = NULL;
}

static void row(sqlite3_stmt *s, void *out)
{
    template_rec *r = out;
    su_col(s, 0, r->id, sizeof(r->id));
    su_col(s, 1, r->account_id, sizeof(r->account_id));
    su_col(s, 2, r->name, sizeof(r->name));
    su_col(s, 3, r->image, sizeof(r->image));
    su_col(s, 4, r->category, sizeof(r->category));
    su_col(s, 5, r->description, sizeof(r->description));
    su_col(s, 6, r->docker_credential_id, sizeof(r->docker_credential_id));
    r->ports_json = su_col_dup(s, 7);
    r->env_json = su_col_dup(s, 8);
    r->is_system = sqlite3_column_int(s, 9);
    r->created_at = sqlite3_column_int64(s, 10);
    r->updated_at = sqlite3_column_int64(s, 11);
}

static void bind_common(sqlite3_stmt *s, const template_rec *rec)
{
    su_bind_text(s, 1, rec->id);
    su_bind_text(s, 2, rec->account_id);
    su_bind_text(s, 3, rec->name);
    su_bind_text(s, 4, rec->image);
    su_bind_text(s, 5, rec->category);
    su_bind_text(s, 6, rec->description);
    su_bind_text(s, 7, rec->docker_credential_id[0] ? rec->docker_credential_id : NULL);
    su_bind_text(s, 8, rec->ports_json);
    su_bind_text(s, 9, rec->env_json);
    sqlite3_bind_int64(s, 10, rec->updated_at);
}

gb_err template_insert(gb_db *db, const template_rec *rec)
{
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO templates(id, account_id, name, image, "
                                     "category, description, docker_credential_id, ports, "
                                     "env_vars, updated_at, created_at, is_system) "
                                     "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,0)");
    if (!s) return GB_ERR_DB;
    bind_common(s, rec);
    sqlite3_bind_int64(s, 11, rec->created_at);
    return su_change(db, s, 0, "template insert");
}

gb_err template_update(gb_db *db, const template_rec *rec)
{
    sqlite3_stmt *s = gb_db_stmt(db, "UPDATE templates SET name = ?3, image = ?4, category = ?5,"
                                     " description = ?6, docker_credential_id = ?7, ports = ?8,"
                                     " env_vars = ?9, updated_at = ?10"
                                     " WHERE id = ?1 AND account_id = ?2 AND is_system = 0");
    if (!s) return GB_ERR_DB;
    bind_common(s, rec);
    return su_change(db, s, 1, "template update");
}

gb_err template_get(gb_db *db, const char *account_id, const char *id, template_rec *out)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT " COLS " FROM templates WHERE id = ?1 AND "
                                     "(account_id = ?2 OR is_system = 1)");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    su_bind_text(s, 2, account_id);
    return su_one(db, s, row, out, "template get");
}

gb_err template_list(gb_db *db, const char *account_id, template_each fn, void *ud)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT " COLS " FROM templates WHERE account_id = ?1 OR "
                                     "is_system = 1 ORDER BY is_system DESC, created_at, id");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, account_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        template_rec r;
        row(s, &r);
        fn(ud, &r);
        template_rec_clear(&r);
    }
    sqlite3_reset(s);
    return gb_db_check(db, rc, "template list");
}

gb_err template_delete(gb_db *db, const char *account_id, const char *id)
{
    sqlite3_stmt *s =
        gb_db_stmt(db, "DELETE FROM templates WHERE id = ?1 AND account_id = ?2 AND is_system = 0");
    if (!s) return GB_ERR_DB;
    su_bind_text(s, 1, id);
    su_bind_text(s, 2, account_id);
    return su_change(db, s, 1, "template delete");
}
