/* outbox_record.c: recording delivery attempts. An attempt's outcome moves its message on
 * (delivered, retried per the schedule, failed; a 410 disables the endpoint) under the lease's
 * fencing token. wh_store_record records one; wh_store_record_claim records the attempts a
 * worker's sweep finished and claims the messages that refill its slots, on PostgreSQL in one
 * statement per 32 attempts (the attempts' rows, their messages moved on, the claim: WITH
 * queries over one VALUES list), since there each statement is a round trip to the server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dbq.h"
#include "common/log.h"
#include "common/str.h"
#include "webhooks/outbox.h"
#include "webhooks/outbox_int.h"

/* What an outcome does to its message. */
typedef struct {
    const char *status, *error;
    int64_t next;
    wh_rec r;
    char buf[300];
} verdict;

static void judge(const wh_claimed *m, const wh_outcome *o, int64_t now_ms, verdict *v)
{
    v->status = "pending";
    v->error = o->error;
    v->next = now_ms;
    if (o->status >= 200 && o->status < 300 && !o->error) {
        v->status = "delivered";
        v->r = WH_REC_DELIVERED;
    } else if (o->status == 410 && !o->error) {
        v->status = "failed";
        v->error = "410 Gone from receiver";
        v->r = m->endpoint_id[0] ? WH_REC_DISABLED : WH_REC_FAILED;
    } else {
        int64_t d = wh_next_delay_ms(m->attempts + 1, o->retry_after_ms, o->rnd);
        if (!v->error) {
            gb_snprintf(v->buf, sizeof(v->buf), "HTTP %ld", o->status);
            v->error = v->buf;
        }
        if (d < 0) {
            v->status = "failed";
            v->r = WH_REC_FAILED;
        } else {
            v->next = now_ms + d;
            v->r = WH_REC_RETRY;
        }
    }
}

gb_err wh_store_record(gb_db *db, const wh_claimed *m, const char *owner, const wh_outcome *o,
                       int64_t now_ms, wh_rec *result)
{
    bool own = !gb_db_in_txn(db);
    gb_err e;
    verdict v;
    judge(m, o, now_ms, &v);
    const char *status = v.status, *error = v.error;
    int64_t next = v.next;
    wh_rec r = v.r;
    if (own && (e = gb_db_begin(db))) return e;
    gb_q *s = gb_q_prep(db, "INSERT INTO wh_attempts(message_id, at, status, latency_ms,"
                            " response_head, error) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (!s) {
        e = GB_ERR_DB;
        goto fail;
    }
    gb_q_text(s, 1, m->id);
    gb_q_int64(s, 2, now_ms);
    gb_q_int64(s, 3, o->status);
    gb_q_int64(s, 4, o->latency_ms);
    if (o->head) gb_q_text(s, 5, o->head);
    if (error) gb_q_text(s, 6, error);
    if ((e = gb_q_defer(s))) goto fail; /* sent with the UPDATE below */
    /* a 410 locks its endpoint before the message: two brokers recording 410s of one endpoint
     * would otherwise each hold its message and wait for the other's (PostgreSQL; SQLite
     * runs it as a plain read) */
    if (r == WH_REC_DISABLED) {
        s = gb_q_prep(db, "SELECT 1 FROM wh_endpoints WHERE id = ?1 FOR UPDATE");
        if (!s) {
            e = GB_ERR_DB;
            goto fail;
        }
        gb_q_text(s, 1, m->endpoint_id);
        int row = 0;
        e = gb_q_step(s, &row);
        gb_q_reset(s);
        if (e) goto fail;
    }
    s = gb_q_prep(
        db, "UPDATE wh_messages SET status = ?3, attempts = attempts + 1,"
            " next_attempt_at = ?4, delivered_at = ?5, last_status = ?6,"
            " last_error = ?7, lease_owner = '', lease_until = 0"
            " WHERE id = ?1 AND lease_owner = ?2 AND lease_token = ?8 AND status = 'pending'");
    if (!s) {
        e = GB_ERR_DB;
        goto fail;
    }
    gb_q_text(s, 1, m->id);
    gb_q_text(s, 2, owner);
    gb_q_text(s, 3, status);
    gb_q_int64(s, 4, next);
    if (r == WH_REC_DELIVERED) gb_q_int64(s, 5, now_ms);
    gb_q_int64(s, 6, o->status);
    if (error) gb_q_text(s, 7, error);
    gb_q_int64(s, 8, m->token);
    int64_t changed = 0;
    if ((e = gb_q_run(s, &changed))) goto fail;
    if (changed == 0) {
        GB_WARN("webhooks", "lease on %s lost before its attempt was recorded", m->id);
        r = WH_REC_LOST;
    } else if (r == WH_REC_DISABLED) {
        s = gb_q_prep(db, "UPDATE wh_endpoints SET enabled = 0, disabled_reason = ?2"
                          " WHERE id = ?1 AND enabled = 1");
        if (!s) {
            e = GB_ERR_DB;
            goto fail;
        }
        gb_q_text(s, 1, m->endpoint_id);
        gb_q_text(s, 2, "410 Gone from receiver");
        if ((e = gb_q_run(s, NULL))) goto fail;
        if ((e = wh_fail_pending_of(db, m->endpoint_id,
                                    "endpoint disabled: 410 Gone from receiver")))
            goto fail;
    }
    if (own && (e = gb_db_commit(db))) goto fail;
    own = false;
    if (result) *result = r;
fail:
    if (own) gb_db_rollback(db);
    return e;
}

/* Most attempts one statement of wh_store_record_many carries (more are recorded in chunks). */
#define MANY_CHUNK 32

/* SQL text of n rows of "(" row ")" joined by commas, row k's placeholders numbered from
 * first + k * per; appended to out (GB_ERR_NOMEM when it does not fit). */
static gb_err rows_sql(char *out, size_t cap, size_t n, const char *const *cols, int per, int first)
{
    size_t len = strlen(out);
    for (size_t k = 0; k < n; k++) {
        int w = snprintf(out + len, cap - len, "%s(", k ? "," : "");
        if (w < 0 || (size_t)w >= cap - len) return GB_ERR_NOMEM;
        len += (size_t)w;
        for (int c = 0; c < per; c++) {
            w = snprintf(out + len, cap - len, cols[c], first + (int)(k * (size_t)per) + c);
            if (w < 0 || (size_t)w >= cap - len) return GB_ERR_NOMEM;
            len += (size_t)w;
            if (c + 1 < per) out[len++] = ',';
        }
        if (len + 2 >= cap) return GB_ERR_NOMEM;
        out[len++] = ')';
        out[len] = '\0';
    }
    return GB_OK;
}

/* an attempt's row: id, status, next, delivered_at, http status, error, token, latency, head */
static const char *const ROW_COLS[] = {
    "CAST(?%d AS TEXT)",   "CAST(?%d AS TEXT)",   "CAST(?%d AS BIGINT)",
    "CAST(?%d AS BIGINT)", "CAST(?%d AS BIGINT)", "CAST(?%d AS TEXT)",
    "CAST(?%d AS BIGINT)", "CAST(?%d AS BIGINT)", "CAST(?%d AS TEXT)"};
#define ROW_PER 9

/* the claim, except the sweep's own messages (one statement cannot change a row twice) */
#define SWEEP_CLAIM WH_CLAIM_SQL(" AND m.id NOT IN (SELECT id FROM v)")
/* After the VALUES of v: ?1 owner, ?2 now, ?3 lease, ?4 at most (the claim's own numbers) */
static const char SWEEP_TAIL[] =
    "), a AS (INSERT INTO wh_attempts(message_id, at, status, latency_ms, response_head, error)"
    " SELECT id, ?2, http, latency, head, error FROM v),"
    " r AS (UPDATE wh_messages SET status = v.status, attempts = attempts + 1,"
    " next_attempt_at = v.next, delivered_at = v.delivered_at, last_status = v.http,"
    " last_error = v.error, lease_owner = '', lease_until = 0 FROM v"
    " WHERE wh_messages.id = v.id AND wh_messages.lease_owner = ?1"
    " AND wh_messages.lease_token = v.token AND wh_messages.status = 'pending'"
    " RETURNING wh_messages.id),"
    " c AS (" SWEEP_CLAIM ")"
    " SELECT 0, id, '', '', '', '', 0, 0 FROM r UNION ALL"
    " SELECT 1, id, account_id, endpoint_id, url, payload, attempts, lease_token FROM c";

/* One chunk (n <= MANY_CHUNK) of attempts that disable nothing, and a claim of up to max
 * other due messages (0: none), in one statement (PostgreSQL: one round trip, and one
 * transaction when the caller has none open). Its parts (data-modifying WITH queries) run on
 * one snapshot: the attempts' rows, their messages moved on under each claim's token (the
 * rows returned say which were), and WH_CLAIM_SQL, which leaves the chunk's own messages
 * alone (one statement cannot change a row twice). */
static gb_err record_chunk(gb_db *db, const wh_claimed *const *ms, const wh_outcome *const *os,
                           const verdict *vs, size_t n, const char *owner, int64_t now_ms,
                           wh_rec *const *results, int64_t lease_ms, int max, wh_claimed **out,
                           size_t *got)
{
    char sql[MANY_CHUNK * ROW_PER * 24 + 2048];
    gb_strlcpy(sql,
               "WITH v(id, status, next, delivered_at, http, error, token, latency, head) AS"
               " (VALUES ",
               sizeof(sql));
    gb_err e = rows_sql(sql, sizeof(sql), n, ROW_COLS, ROW_PER, 5);
    if (e) return e;
    size_t len = strlen(sql);
    if (gb_strlcpy(sql + len, SWEEP_TAIL, sizeof(sql) - len) >= sizeof(sql) - len)
        return GB_ERR_NOMEM;
    gb_q *s = gb_q_prep(db, sql);
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, owner);
    gb_q_int64(s, 2, now_ms);
    gb_q_int64(s, 3, lease_ms);
    gb_q_int64(s, 4, max);
    for (size_t k = 0; k < n; k++) {
        int b = 5 + (int)k * ROW_PER;
        gb_q_text(s, b, ms[k]->id);
        gb_q_text(s, b + 1, vs[k].status);
        gb_q_int64(s, b + 2, vs[k].next);
        if (vs[k].r == WH_REC_DELIVERED)
            gb_q_int64(s, b + 3, now_ms);
        else
            gb_q_null(s, b + 3);
        gb_q_int64(s, b + 4, os[k]->status);
        gb_q_text(s, b + 5, vs[k].error);
        gb_q_int64(s, b + 6, ms[k]->token);
        gb_q_int64(s, b + 7, os[k]->latency_ms);
        gb_q_text(s, b + 8, os[k]->head);
        *results[k] = WH_REC_LOST; /* until its row comes back */
    }
    int row = 0;
    while (!e && !(e = gb_q_step(s, &row)) && row) {
        const char *id = gb_q_col_text(s, 1);
        if (gb_q_col_int64(s, 0) == 1) {
            e = out ? wh_claimed_add(s, 1, out, got) : GB_ERR_INTERNAL;
            continue;
        }
        for (size_t k = 0; id && k < n; k++)
            if (strcmp(ms[k]->id, id) == 0) *results[k] = vs[k].r;
    }
    gb_q_reset(s);
    for (size_t k = 0; !e && k < n; k++)
        if (*results[k] == WH_REC_LOST)
            GB_WARN("webhooks", "lease on %s lost before its attempt was recorded", ms[k]->id);
    return e;
}

/* true when judging the n outcomes finds one that disables its endpoint */
static bool any_disables(const wh_claimed *const *ms, const wh_outcome *os, size_t n,
                         int64_t now_ms)
{
    for (size_t k = 0; k < n; k++) {
        verdict v;
        judge(ms[k], &os[k], now_ms, &v);
        if (v.r == WH_REC_DISABLED) return true;
    }
    return false;
}

gb_err wh_store_record_claim(gb_db *db, const wh_claimed *const *ms, const wh_outcome *os, size_t n,
                             const char *owner, int64_t now_ms, wh_rec *results, int64_t lease_ms,
                             int max, wh_claimed **out, size_t *got)
{
    if (out) *out = NULL;
    if (got) *got = 0;
    if (max > 0 && (!out || !got || lease_ms <= 0)) return GB_ERR_INVALID;
    if (n == 0) return max > 0 ? wh_store_claim(db, owner, now_ms, lease_ms, max, out, got) : GB_OK;
    if (max <= 0) { /* no claim: the statement's claim binds LIMIT 0 (and any lease) */
        max = 0;
        lease_ms = 1;
    }
    bool sqlite = gb_db_kind_of(db) == GB_DB_SQLITE;
    /* one statement on PostgreSQL is a transaction of its own */
    bool single = !sqlite && n <= MANY_CHUNK && !any_disables(ms, os, n, now_ms);
    bool own = !single && !gb_db_in_txn(db);
    gb_err e = own ? gb_db_begin(db) : GB_OK;
    if (e) return e;
    const wh_claimed *cm[MANY_CHUNK];
    const wh_outcome *co[MANY_CHUNK];
    verdict cv[MANY_CHUNK];
    wh_rec *cr[MANY_CHUNK];
    size_t nc = 0;
    for (size_t k = 0; k < n && !e; k++) {
        verdict v;
        judge(ms[k], &os[k], now_ms, &v);
        /* on its own: a 410 (it locks and disables its endpoint), and every attempt on
         * SQLite, where a statement is a function call, not a round trip, and the per-row
         * UPDATE measured faster than UPDATE ... FROM (VALUES ...) (docs/benchmarks.md) */
        if (v.r == WH_REC_DISABLED || sqlite) {
            e = wh_store_record(db, ms[k], owner, &os[k], now_ms, &results[k]);
            continue;
        }
        cm[nc] = ms[k];
        co[nc] = &os[k];
        cv[nc] = v;
        if (cv[nc].error == v.buf)
            cv[nc].error = cv[nc].buf; /* it pointed into the copy's source */
        cr[nc] = &results[k];
        if (++nc == MANY_CHUNK && k + 1 < n) {
            e = record_chunk(db, cm, co, cv, nc, owner, now_ms, cr, lease_ms, 0, NULL, NULL);
            nc = 0;
        }
    }
    if (!e && nc) /* the claim goes with the last chunk */
        e = record_chunk(db, cm, co, cv, nc, owner, now_ms, cr, lease_ms, max, out, got);
    else if (!e && max > 0)
        e = wh_store_claim(db, owner, now_ms, lease_ms, max, out, got);
    if (!e && own) e = gb_db_commit(db);
    if (own && e) gb_db_rollback(db);
    if (e && out) {
        wh_claimed_free(*out, *got);
        *out = NULL;
        *got = 0;
    }
    return e;
}

gb_err wh_store_record_many(gb_db *db, const wh_claimed *const *ms, const wh_outcome *os, size_t n,
                            const char *owner, int64_t now_ms, wh_rec *results)
{
    return wh_store_record_claim(db, ms, os, n, owner, now_ms, results, 0, 0, NULL, NULL);
}
