/* orphan_store.c: the orphan report and the orphan checks' schedule in the store
 * (orphan_store.h; tables orphan_reports and orphan_checks, broker migration 7). */
#include "broker/store/orphan_store.h"

#include <string.h>

#include "broker/store/store_util.h"

/* When provider's check is due (*due_at 0: never taken). */
static gb_err check_due_at(gb_db *db, const char *provider, int64_t *due_at)
{
    gb_q *q = gb_q_prep(db, "SELECT next_at FROM orphan_checks WHERE provider = ?1");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, provider);
    return sq_int64(q, due_at);
}

gb_err orphan_check_take(gb_db *db, const char *provider, int64_t now, int64_t period, bool *taken,
                         int64_t *due_at)
{
    *taken = false;
    *due_at = 0;
    if (!provider || !provider[0] || period <= 0) return GB_ERR_INVALID;
    /* a read first: a check not due is the common case, and needs no write */
    gb_err e = check_due_at(db, provider, due_at);
    if (e || *due_at > now) return e;
    /* one statement decides between brokers: the check is this caller's when it was never
     * taken or is still due (no row back: another broker took it since the read) */
    gb_q *q = gb_q_prep(db, "INSERT INTO orphan_checks(provider, next_at) VALUES(?1, ?2)"
                            " ON CONFLICT(provider) DO UPDATE SET next_at = excluded.next_at"
                            " WHERE orphan_checks.next_at <= ?3 RETURNING next_at");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, provider);
    gb_q_int64(q, 2, now + period);
    gb_q_int64(q, 3, now);
    int row = 0;
    e = gb_q_step(q, &row);
    gb_q_reset(q);
    if (e) return e;
    *taken = row != 0;
    if (*taken) {
        *due_at = now + period;
        return GB_OK;
    }
    return check_due_at(db, provider, due_at);
}

gb_err orphan_first_seen(gb_db *db, const char *provider, const char *provider_id, int64_t *first)
{
    *first = 0;
    gb_q *q = gb_q_prep(db, "SELECT first_seen_at FROM orphan_reports"
                            " WHERE provider = ?1 AND provider_id = ?2");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, provider);
    gb_q_text(q, 2, provider_id);
    gb_err e = sq_int64(q, first);
    return e == GB_ERR_NOT_FOUND ? GB_OK : e;
}

static gb_err put_rows(gb_db *db, const char *provider, const orphan_rec *rows, size_t n,
                       int64_t now)
{
    /* an upsert, not a delete and inserts: two brokers' checks of one provider at once
     * (a period taken over from a broker that paused) then cannot collide on a key */
    gb_q *q = gb_q_prep(
        db, "INSERT INTO orphan_reports(provider, provider_id, name, status, action,"
            " first_seen_at, seen_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            " ON CONFLICT(provider, provider_id) DO UPDATE SET name = excluded.name,"
            " status = excluded.status, action = excluded.action, seen_at = excluded.seen_at");
    if (!q) return GB_ERR_DB;
    gb_err e = GB_OK;
    for (size_t i = 0; !e && i < n; i++) {
        gb_q_text(q, 1, provider);
        gb_q_text(q, 2, rows[i].provider_id);
        gb_q_text(q, 3, rows[i].name);
        gb_q_text(q, 4, rows[i].status);
        gb_q_text(q, 5, rows[i].action);
        gb_q_int64(q, 6, rows[i].first_seen_at ? rows[i].first_seen_at : now);
        gb_q_int64(q, 7, now);
        e = gb_q_run(q, NULL);
    }
    if (e) return e;
    /* what this check did not find (seen before it) is no longer an orphan */
    q = gb_q_prep(db, "DELETE FROM orphan_reports WHERE provider = ?1 AND seen_at < ?2");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, provider);
    gb_q_int64(q, 2, now);
    return gb_q_run(q, NULL);
}

gb_err orphan_report_put(gb_db *db, const char *provider, const orphan_rec *rows, size_t n,
                         int64_t now)
{
    if (!provider || !provider[0] || (n && !rows)) return GB_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].provider, provider) != 0 || !rows[i].provider_id[0])
            return GB_ERR_INVALID;
    gb_err e = gb_db_begin(db);
    if (e) return e;
    e = put_rows(db, provider, rows, n, now);
    if (!e) e = gb_db_commit(db);
    if (e) gb_db_rollback(db);
    return e;
}

gb_err orphan_report_list(gb_db *db, orphan_each_fn fn, void *ud)
{
    gb_q *q = gb_q_prep(db, "SELECT provider, provider_id, name, status, action, first_seen_at,"
                            " seen_at FROM orphan_reports"
                            " ORDER BY provider, first_seen_at, provider_id");
    if (!q) return GB_ERR_DB;
    int row = 0;
    gb_err e;
    while (!(e = gb_q_step(q, &row)) && row) {
        orphan_rec r;
        memset(&r, 0, sizeof(r));
        sq_col(q, 0, r.provider, sizeof(r.provider));
        sq_col(q, 1, r.provider_id, sizeof(r.provider_id));
        sq_col(q, 2, r.name, sizeof(r.name));
        sq_col(q, 3, r.status, sizeof(r.status));
        sq_col(q, 4, r.action, sizeof(r.action));
        r.first_seen_at = gb_q_col_int64(q, 5);
        r.seen_at = gb_q_col_int64(q, 6);
        fn(ud, &r);
    }
    gb_q_reset(q);
    return e;
}
