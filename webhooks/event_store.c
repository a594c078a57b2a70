/* event_store.c: the SQL of the durable event log (events.h): appending an event in the
 * caller's transaction, reading an account's events after a seq, the highest seq, pruning.
 * The table is created by the webhooks migrations (outbox_store.c, step 2). */
#include <sqlite3.h>
#include <string.h>

#include "common/ids.h"
#include "webhooks/events.h"
#include "webhooks/outbox.h"

gb_err wh_event_append(gb_db *db, const char *account_id, const char *event, const char *subject_id,
                       const char *payload, int64_t now_ms)
{
    if (!db || !gb_db_in_txn(db)) return GB_ERR_INTERNAL;
    if (!account_id || !account_id[0] || strlen(account_id) >= GB_ID_MAX || !event || !event[0] ||
        strlen(event) > WH_EVENT_MAX || !payload ||
        (subject_id && strlen(subject_id) > WH_SUBJECT_MAX))
        return GB_ERR_INVALID;
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO wh_events(account_id, event, subject_id,"
                                     " payload, created_at) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, account_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, event, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, subject_id ? subject_id : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, payload, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, now_ms);
    gb_err e = gb_db_check(db, sqlite3_step(s), "event append");
    sqlite3_reset(s);
    if (!e) wh_events_notify();
    return e;
}

static const char *col(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
}

gb_err wh_events_read(gb_db *db, const char *account_id, int64_t after, int64_t upto, int limit,
                      int (*fn)(void *ud, const wh_event_row *row), void *ud, int64_t *last)
{
    if (last) *last = after;
    if (!db || !account_id || !fn || limit < 1 || limit > 1000) return GB_ERR_INVALID;
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT seq, event, subject_id, payload, created_at"
                                     " FROM wh_events WHERE account_id = ?1 AND seq > ?2"
                                     " AND seq <= ?3 ORDER BY seq LIMIT ?4");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, account_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int64(s, 3, upto);
    sqlite3_bind_int(s, 4, limit);
    gb_err e = GB_OK;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        wh_event_row r = {.seq = sqlite3_column_int64(s, 0),
                          .event = col(s, 1),
                          .subject_id = col(s, 2),
                          .payload = col(s, 3),
                          .created_at = sqlite3_column_int64(s, 4)};
        if (last) *last = r.seq;
        if (fn(ud, &r)) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) e = gb_db_check(db, rc, "events read");
    sqlite3_reset(s);
    return e;
}

gb_err wh_events_max_seq(gb_db *db, int64_t *out)
{
    *out = 0;
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT coalesce(max(seq), 0) FROM wh_events");
    if (!s) return GB_ERR_DB;
    int rc = sqlite3_step(s);
    gb_err e = GB_OK;
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        e = gb_db_check(db, rc, "events max");
    sqlite3_reset(s);
    return e;
}

gb_err wh_events_prune(gb_db *db, int64_t before_ms, int64_t *deleted)
{
    if (deleted) *deleted = 0;
    sqlite3_stmt *s = gb_db_stmt(db, "DELETE FROM wh_events WHERE created_at < ?1");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_int64(s, 1, before_ms);
    gb_err e = gb_db_check(db, sqlite3_step(s), "events prune");
    sqlite3_reset(s);
    if (!e && deleted) *deleted = sqlite3_changes(gb_db_handle(db));
    return e;
}
