/* event_store.c: the SQL of the durable event log (events.h): appending an event in the
 * caller's transaction, reading an account's events after a seq, the highest seq, pruning.
 * The table is created by the webhooks migrations (outbox_store.c, step 2). */
#include <stdbool.h>
#include <string.h>

#include "common/dbq.h"
#include "common/ids.h"
#include "webhooks/events.h"
#include "webhooks/outbox.h"

/* PostgreSQL's advisory lock key serializing appends ("whevents"), see wh_event_append. */
#define EVENTS_LOCK_KEY 0x77686576656e7473LL

gb_err wh_event_append(gb_db *db, const char *account_id, const char *event, const char *subject_id,
                       const char *payload, int64_t now_ms)
{
    if (!db || !gb_db_in_txn(db)) return GB_ERR_INTERNAL;
    if (!account_id || !account_id[0] || strlen(account_id) >= GB_ID_MAX || !event || !event[0] ||
        strlen(event) > WH_EVENT_MAX || !payload ||
        (subject_id && strlen(subject_id) > WH_SUBJECT_MAX))
        return GB_ERR_INVALID;
    gb_err e;
    /* The stream reads an account's events after the last seq it sent, so seqs must become
     * visible in their order. SQLite has one writer: an append's transaction commits before
     * the next one's begins. PostgreSQL hands out identity values at insert time to
     * transactions that may commit in another order (seq 11 visible before 10, and a reader
     * at 11 would never see 10): an append first takes a lock held until its transaction
     * ends, so the seqs commit in order. Only PostgreSQL needs (and has) the statement. */
    bool pg = gb_db_kind_of(db) == GB_DB_POSTGRESQL;
    /* On PostgreSQL the lock and the insert are one statement (one round trip): the
     * materialized CTE takes the lock before its row reaches the INSERT, whose seq (identity)
     * is drawn for that row, so after the lock. */
    gb_q *s = gb_q_prep(db, pg ? "WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock(?6))"
                                 " INSERT INTO wh_events(account_id, event, subject_id, payload,"
                                 " created_at) SELECT ?1, ?2, ?3, ?4, ?5 FROM l"
                               : "INSERT INTO wh_events(account_id, event, subject_id,"
                                 " payload, created_at) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!s) return GB_ERR_DB;
    if (pg) gb_q_int64(s, 6, EVENTS_LOCK_KEY);
    gb_q_text(s, 1, account_id);
    gb_q_text(s, 2, event);
    gb_q_text(s, 3, subject_id ? subject_id : "");
    gb_q_text(s, 4, payload);
    gb_q_int64(s, 5, now_ms);
    /* on PostgreSQL sent with the COMMIT, whatever the transaction runs after it: the lock is
     * taken and released in that one round trip, never held while the server waits for a
     * broker (one paused inside the transaction held every broker's appends; docs/store.md) */
    e = gb_q_defer_commit(s);
    if (!e) wh_events_notify();
    return e;
}

static const char *col(gb_q *q, int i)
{
    const char *t = gb_q_col_text(q, i);
    return t ? t : "";
}

gb_err wh_events_read(gb_db *db, const char *account_id, int64_t after, int64_t upto, int limit,
                      int (*fn)(void *ud, const wh_event_row *row), void *ud, int64_t *last)
{
    if (last) *last = after;
    if (!db || !account_id || !fn || limit < 1 || limit > 1000) return GB_ERR_INVALID;
    gb_q *s = gb_q_prep(db, "SELECT seq, event, subject_id, payload, created_at"
                            " FROM wh_events WHERE account_id = ?1 AND seq > ?2"
                            " AND seq <= ?3 ORDER BY seq LIMIT ?4");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, account_id);
    gb_q_int64(s, 2, after);
    gb_q_int64(s, 3, upto);
    gb_q_int64(s, 4, limit);
    gb_err e;
    int row = 0;
    while (!(e = gb_q_step(s, &row)) && row) {
        wh_event_row r = {.seq = gb_q_col_int64(s, 0),
                          .event = col(s, 1),
                          .subject_id = col(s, 2),
                          .payload = col(s, 3),
                          .created_at = gb_q_col_int64(s, 4)};
        if (last) *last = r.seq;
        if (fn(ud, &r)) break;
    }
    gb_q_reset(s);
    return e;
}

gb_err wh_events_bounds(gb_db *db, int64_t *newest, int64_t *pruned)
{
    *newest = *pruned = 0;
    gb_q *s = gb_q_prep(db, "SELECT COALESCE((SELECT MAX(seq) FROM wh_events), 0),"
                            " COALESCE((SELECT through FROM wh_events_pruned WHERE id = 1), 0)");
    if (!s) return GB_ERR_DB;
    int row = 0;
    gb_err e = gb_q_step(s, &row);
    if (!e && row) {
        *newest = gb_q_col_int64(s, 0);
        *pruned = gb_q_col_int64(s, 1);
        if (*pruned > *newest) *newest = *pruned; /* every event was pruned */
    }
    gb_q_reset(s);
    return e;
}

gb_err wh_events_max_seq(gb_db *db, int64_t *out)
{
    int64_t pruned;
    return wh_events_bounds(db, out, &pruned);
}

/* wh_events_prune's statements, in the open transaction. */
static gb_err prune_in(gb_db *db, int64_t before_ms, int64_t *deleted)
{
    /* the mark: the highest seq about to go (no row changes when nothing goes) */
    gb_q *s = gb_q_prep(db, "UPDATE wh_events_pruned SET through = m.s FROM (SELECT MAX(seq) AS s"
                            " FROM wh_events WHERE created_at < ?1) AS m"
                            " WHERE id = 1 AND m.s > through");
    if (!s) return GB_ERR_DB;
    gb_q_int64(s, 1, before_ms);
    gb_err e = gb_q_run(s, NULL);
    if (e) return e;
    if (!(s = gb_q_prep(db, "DELETE FROM wh_events WHERE created_at < ?1"))) return GB_ERR_DB;
    gb_q_int64(s, 1, before_ms);
    return gb_q_run(s, deleted);
}

gb_err wh_events_prune(gb_db *db, int64_t before_ms, int64_t *deleted)
{
    int64_t n = 0;
    bool own = !gb_db_in_txn(db); /* the mark and the deletion commit together */
    gb_err e = own ? gb_db_begin(db) : GB_OK;
    if (!e) e = prune_in(db, before_ms, &n);
    if (own && !e) e = gb_db_commit(db);
    if (own && e) gb_db_rollback(db);
    if (deleted) *deleted = e ? 0 : n;
    return e;
}
