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

static void row(gb_q *q, void *out)
{
    template_rec *r = out;
    sq_col(q, 0, r->id, sizeof(r->id));
    sq_col(q, 1, r->account_id, sizeof(r->account_id));
    sq_col(q, 2, r->name, sizeof(r->name));
    sq_col(q, 3, r->image, sizeof(r->image));
    sq_col(q, 4, r->category, sizeof(r->category));
    sq_col(q, 5, r->description, sizeof(r->description));
    sq_col(q, 6, r->docker_credential_id, sizeof(r->docker_credential_id));
    r->ports_json = sq_col_dup(q, 7);
    r->env_json = sq_col_dup(q, 8);
    r->is_system = (int)gb_q_col_int64(q, 9);
    r->created_at = gb_q_col_int64(q, 10);
    r->updated_at = gb_q_col_int64(q, 11);
}

static void bind_common(gb_q *q, const template_rec *rec)
{
    gb_q_text(q, 1, rec->id);
    gb_q_text(q, 2, rec->account_id);
    gb_q_text(q, 3, rec->name);
    gb_q_text(q, 4, rec->image);
    gb_q_text(q, 5, rec->category);
    gb_q_text(q, 6, rec->description);
    gb_q_text(q, 7, rec->docker_credential_id[0] ? rec->docker_credential_id : NULL);
    gb_q_text(q, 8, rec->ports_json);
    gb_q_text(q, 9, rec->env_json);
    gb_q_int64(q, 10, rec->updated_at);
}

gb_err template_insert(gb_db *db, const template_rec *rec)
{
    gb_q *q = gb_q_prep(db, "INSERT INTO templates(id, account_id, name, image, "
                            "category, description, docker_credential_id, ports, "
                            "env_vars, updated_at, created_at, is_system) "
                            "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,0)");
    if (!q) return GB_ERR_DB;
    bind_common(q, rec);
    gb_q_int64(q, 11, rec->created_at);
    return sq_change(q, 0, NULL);
}

gb_err template_update(gb_db *db, const template_rec *rec)
{
    gb_q *q = gb_q_prep(db, "UPDATE templates SET name = ?3, image = ?4, category = ?5,"
                            " description = ?6, docker_credential_id = ?7, ports = ?8,"
                            " env_vars = ?9, updated_at = ?10"
                            " WHERE id = ?1 AND account_id = ?2 AND is_system = 0");
    if (!q) return GB_ERR_DB;
    bind_common(q, rec);
    return sq_change(q, 1, NULL);
}

gb_err template_get(gb_db *db, const char *account_id, const char *id, template_rec *out)
{
    gb_q *q = gb_q_prep(db, "SELECT " COLS " FROM templates WHERE id = ?1 AND "
                            "(account_id = ?2 OR is_system = 1)");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, account_id);
    return sq_one(q, row, out);
}

gb_err template_list(gb_db *db, const char *account_id, template_each fn, void *ud)
{
    gb_q *q = gb_q_prep(db, "SELECT " COLS " FROM templates WHERE account_id = ?1 OR "
                            "is_system = 1 ORDER BY is_system DESC, created_at, id");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    int has = 0;
    gb_err e;
    while (!(e = gb_q_step(q, &has)) && has) {
        template_rec r;
        row(q, &r);
        fn(ud, &r);
        template_rec_clear(&r);
    }
    gb_q_reset(q);
    return e;
}

gb_err template_count(gb_db *db, const char *account_id, int64_t *n)
{
    gb_q *q =
        gb_q_prep(db, "SELECT count(*) FROM templates WHERE account_id = ?1 AND is_system = 0");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    return sq_int64(q, n);
}

gb_err template_delete(gb_db *db, const char *account_id, const char *id)
{
    gb_q *q =
        gb_q_prep(db, "DELETE FROM templates WHERE id = ?1 AND account_id = ?2 AND is_system = 0");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, account_id);
    return sq_change(q, 1, NULL);
}
