/* outbox_store.c: every SQL statement of the webhooks module: the schema, endpoints, the
 * transactional outbox, lease claims of due messages and the recording of attempts. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "webhooks/events.h"
#include "webhooks/outbox.h"

static const gb_migration k_steps[] = {
    {1, "CREATE TABLE wh_endpoints(id TEXT PRIMARY KEY, account_id TEXT NOT NULL,"
        " url TEXT NOT NULL, events TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1,"
        " disabled_reason TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL);"
        "CREATE INDEX wh_endpoints_account ON wh_endpoints(account_id, created_at);"
        "CREATE TABLE wh_messages(id TEXT PRIMARY KEY, account_id TEXT NOT NULL,"
        " endpoint_id TEXT, url TEXT NOT NULL, event TEXT NOT NULL, payload TEXT NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN ('pending','delivered','failed')),"
        " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,"
        " lease_owner TEXT NOT NULL DEFAULT '', lease_until INTEGER NOT NULL DEFAULT 0,"
        " created_at INTEGER NOT NULL, delivered_at INTEGER, last_status INTEGER,"
        " last_error TEXT);"
        "CREATE INDEX wh_messages_due ON wh_messages(next_attempt_at) WHERE status = 'pending';"
        "CREATE INDEX wh_messages_account ON wh_messages(account_id, created_at);"
        "CREATE INDEX wh_messages_endpoint ON wh_messages(endpoint_id) WHERE status = 'pending';"
        "CREATE TABLE wh_attempts(id INTEGER PRIMARY KEY, message_id TEXT NOT NULL"
        " REFERENCES wh_messages(id) ON DELETE CASCADE, at INTEGER NOT NULL,"
        " status INTEGER NOT NULL, latency_ms INTEGER NOT NULL, response_head TEXT, error TEXT);"
        "CREATE INDEX wh_attempts_message ON wh_attempts(message_id, id);"},
    /* the durable event log (events.h, event_store.c) */
    {2, "CREATE TABLE wh_events(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " account_id TEXT NOT NULL, event TEXT NOT NULL, subject_id TEXT NOT NULL DEFAULT '',"
        " payload TEXT NOT NULL, created_at INTEGER NOT NULL);"
        "CREATE INDEX wh_events_account ON wh_events(account_id, seq);"
        "CREATE INDEX wh_events_created ON wh_events(created_at);"},
};
static const gb_migration_set k_set = {
    .module = "webhooks", .steps = k_steps, .count = GB_ARRAY_LEN(k_steps)};

const gb_migration_set *wh_migrations(void)
{
    return &k_set;
}

static gb_err step_done(gb_db *db, sqlite3_stmt *s, const char *what)
{
    gb_err e = gb_db_check(db, sqlite3_step(s), what);
    sqlite3_reset(s);
    return e;
}

static const char *col(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
}

/* ---- endpoints ---- */

#define EP_COLS "id, account_id, url, events, enabled, disabled_reason, created_at"

static void ep_fill(sqlite3_stmt *s, wh_endpoint *o)
{
    memset(o, 0, sizeof(*o));
    gb_strlcpy(o->id, col(s, 0), sizeof(o->id));
    gb_strlcpy(o->account_id, col(s, 1), sizeof(o->account_id));
    gb_strlcpy(o->url, col(s, 2), sizeof(o->url));
    gb_strlcpy(o->events, col(s, 3), sizeof(o->events));
    o->enabled = sqlite3_column_int(s, 4) != 0;
    gb_strlcpy(o->disabled_reason, col(s, 5), sizeof(o->disabled_reason));
    o->created_at = sqlite3_column_int64(s, 6);
}

static bool events_valid(const char *ev)
{
    size_t n = ev ? strlen(ev) : 0;
    if (n == 0 || n > WH_EVENTS_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = ev[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("._*,-", c))) return false;
    }
    return true;
}

static bool acct_valid(const char *a)
{
    return a && a[0] && strlen(a) < GB_ID_MAX;
}

gb_err wh_endpoint_insert(gb_db *db, const char *account_id, const char *url, const char *events,
                          wh_endpoint *out)
{
    if (!acct_valid(account_id) || !wh_url_valid(url) || !events_valid(events))
        return GB_ERR_INVALID;
    char id[GB_ID_MAX];
    gb_err e = gb_id_new("whe_", id, sizeof(id));
    if (e) return e;
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO wh_endpoints(id, account_id, url, events,"
                                     " enabled, created_at) VALUES(?1, ?2, ?3, ?4, 1, ?5)");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, account_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, events, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, gb_now_ms());
    if ((e = step_done(db, s, "endpoint insert"))) return e;
    return out ? wh_endpoint_get(db, account_id, id, out) : GB_OK;
}

gb_err wh_endpoint_get(gb_db *db, const char *account_id, const char *id, wh_endpoint *out)
{
    if (!account_id || !id) return GB_ERR_INVALID;
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT " EP_COLS " FROM wh_endpoints"
                                     " WHERE id = ?1 AND account_id = ?2");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, account_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    gb_err e = GB_OK;
    if (rc == SQLITE_ROW)
        ep_fill(s, out);
    else
        e = rc == SQLITE_DONE ? GB_ERR_NOT_FOUND : gb_db_check(db, rc, "endpoint get");
    sqlite3_reset(s);
    return e;
}

gb_err wh_endpoint_list(gb_db *db, const char *account_id, wh_endpoint **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT " EP_COLS " FROM wh_endpoints WHERE account_id = ?1"
                                     " ORDER BY created_at, rowid LIMIT 1000");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, account_id, -1, SQLITE_TRANSIENT);
    gb_err e = GB_OK;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        wh_endpoint *grown = realloc(*out, (*n + 1) * sizeof(**out));
        if (!grown) {
            e = GB_ERR_NOMEM;
            goto fail;
        }
        *out = grown;
        ep_fill(s, &(*out)[(*n)++]);
    }
    if (rc != SQLITE_DONE) e = gb_db_check(db, rc, "endpoint list");
fail:
    sqlite3_reset(s);
    if (e) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/* Fails the pending messages of an endpoint (it was disabled or deleted). */
static gb_err fail_pending_of(gb_db *db, const char *endpoint_id, const char *why)
{
    sqlite3_stmt *s = gb_db_stmt(db, "UPDATE wh_messages SET status = 'failed', last_error = ?2,"
                                     " lease_owner = '', lease_until = 0"
                                     " WHERE endpoint_id = ?1 AND status = 'pending'");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, endpoint_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, why, -1, SQLITE_TRANSIENT);
    return step_done(db, s, "fail pending");
}

gb_err wh_endpoint_update(gb_db *db, const char *account_id, const char *id, const char *url,
                          const char *events, int enabled, wh_endpoint *out)
{
    if ((url && !wh_url_valid(url)) || (events && !events_valid(events))) return GB_ERR_INVALID;
    bool own = !gb_db_in_txn(db);
    gb_err e;
    if (own && (e = gb_db_begin(db))) return e;
    wh_endpoint cur;
    if ((e = wh_endpoint_get(db, account_id, id, &cur))) goto fail;
    sqlite3_stmt *s = gb_db_stmt(
        db, "UPDATE wh_endpoints SET url = coalesce(?2, url), events = coalesce(?3, events),"
            " enabled = coalesce(?4, enabled), disabled_reason = coalesce(?5, disabled_reason)"
            " WHERE id = ?1");
    if (!s) {
        e = GB_ERR_DB;
        goto fail;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    if (url) sqlite3_bind_text(s, 2, url, -1, SQLITE_TRANSIENT);
    if (events) sqlite3_bind_text(s, 3, events, -1, SQLITE_TRANSIENT);
    if (enabled >= 0) {
        sqlite3_bind_int(s, 4, enabled ? 1 : 0);
        sqlite3_bind_text(s, 5, enabled ? "" : "disabled by user", -1, SQLITE_STATIC);
    }
    if ((e = step_done(db, s, "endpoint update"))) goto fail;
    if (enabled == 0 && cur.enabled && (e = fail_pending_of(db, id, "endpoint disabled")))
        goto fail;
    if (own && (e = gb_db_commit(db))) goto fail;
    own = false;
    if (out) e = wh_endpoint_get(db, account_id, id, out);
fail:
    if (own) gb_db_rollback(db);
    return e;
}

gb_err wh_endpoint_delete(gb_db *db, const char *account_id, const char *id)
{
    if (!account_id || !id) return GB_ERR_INVALID;
    bool own = !gb_db_in_txn(db);
    gb_err e;
    if (own && (e = gb_db_begin(db))) return e;
    sqlite3_stmt *s = gb_db_stmt(db, "DELETE FROM wh_endpoints WHERE id = ?1 AND account_id = ?2");
    if (!s) {
        e = GB_ERR_DB;
        goto fail;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, account_id, -1, SQLITE_TRANSIENT);
    if ((e = step_done(db, s, "endpoint delete"))) goto fail;
    if (sqlite3_changes(gb_db_handle(db)) == 0) {
        e = GB_ERR_NOT_FOUND;
        goto fail;
    }
    if ((e = fail_pending_of(db, id, "endpoint deleted"))) goto fail;
    if (own && (e = gb_db_commit(db))) goto fail;
    own = false;
fail:
    if (own) gb_db_rollback(db);
    return e;
}

/* ---- the outbox ---- */

static gb_err insert_msg(gb_db *db, const char *account_id, const char *endpoint_id,
                         const char *url, const char *event, const char *payload, int64_t now)
{
    char id[GB_ID_MAX];
    gb_err e = gb_id_new("msg_", id, sizeof(id));
    if (e) return e;
    sqlite3_stmt *s = gb_db_stmt(
        db, "INSERT INTO wh_messages(id, account_id, endpoint_id, url, event, payload, status,"
            " attempts, next_attempt_at, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0,"
            " ?7, ?7)");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, account_id, -1, SQLITE_TRANSIENT);
    if (endpoint_id) sqlite3_bind_text(s, 3, endpoint_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, event, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 6, payload, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 7, now);
    return step_done(db, s, "enqueue");
}

/* What an event is about, for the log's id filter: the payload's podId, else jobId, else
 * accountId; NULL when none fits. */
static const char *subject_of(const cJSON *payload)
{
    static const char *const keys[] = {"podId", "jobId", "accountId"};
    for (size_t i = 0; i < GB_ARRAY_LEN(keys); i++) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, keys[i]));
        if (v && v[0] && strlen(v) <= WH_SUBJECT_MAX) return v;
    }
    return NULL;
}

gb_err wh_enqueue(gb_db *db, const char *account_id, const char *event, const cJSON *payload,
                  const char *extra_url, size_t *queued)
{
    size_t count = 0;
    char *body = NULL;
    wh_endpoint *eps = NULL;
    size_t neps = 0;
    gb_err e = GB_ERR_INVALID;
    if (queued) *queued = 0;
    if (!db || !gb_db_in_txn(db)) return GB_ERR_INTERNAL;
    if (!acct_valid(account_id) || !event || !event[0] || strlen(event) > WH_EVENT_MAX ||
        !payload || (extra_url && !wh_url_valid(extra_url)))
        goto fail;
    if (!(body = cJSON_PrintUnformatted(payload))) {
        e = GB_ERR_NOMEM;
        goto fail;
    }
    int64_t now = gb_now_ms();
    /* the log first: every event, whether or not anyone listens */
    if ((e = wh_event_append(db, account_id, event, subject_of(payload), body, now))) goto fail;
    if ((e = wh_endpoint_list(db, account_id, &eps, &neps))) goto fail;
    for (size_t i = 0; i < neps; i++) {
        if (!eps[i].enabled || !wh_events_match(eps[i].events, event)) continue;
        if ((e = insert_msg(db, account_id, eps[i].id, eps[i].url, event, body, now))) goto fail;
        count++;
    }
    if (extra_url) {
        if ((e = insert_msg(db, account_id, NULL, extra_url, event, body, now))) goto fail;
        count++;
    }
    if (queued) *queued = count;
fail:
    free(eps);
    cJSON_free(body);
    return e;
}

gb_err wh_enqueue_endpoint(gb_db *db, const char *account_id, const char *endpoint_id,
                           const char *event, const cJSON *payload, size_t *queued)
{
    if (queued) *queued = 0;
    if (!db || !gb_db_in_txn(db)) return GB_ERR_INTERNAL;
    wh_endpoint ep;
    gb_err e = wh_endpoint_get(db, account_id, endpoint_id, &ep);
    if (e) return e;
    if (!ep.enabled) return GB_ERR_CONFLICT;
    if (!event || !event[0] || strlen(event) > WH_EVENT_MAX || !payload) return GB_ERR_INVALID;
    char *body = cJSON_PrintUnformatted(payload);
    if (!body) return GB_ERR_NOMEM;
    e = insert_msg(db, account_id, ep.id, ep.url, event, body, gb_now_ms());
    cJSON_free(body);
    if (!e && queued) *queued = 1;
    return e;
}

gb_err wh_redeliver(gb_db *db, const char *account_id, const char *message_id)
{
    if (!account_id || !message_id) return GB_ERR_INVALID;
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT status FROM wh_messages WHERE id = ?1"
                                     " AND account_id = ?2");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, message_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, account_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    bool pending = rc == SQLITE_ROW && strcmp(col(s, 0), "pending") == 0;
    sqlite3_reset(s);
    if (rc == SQLITE_DONE) return GB_ERR_NOT_FOUND;
    if (rc != SQLITE_ROW) return gb_db_check(db, rc, "redeliver");
    if (pending) return GB_ERR_CONFLICT;
    s = gb_db_stmt(db, "UPDATE wh_messages SET status = 'pending', attempts = 0,"
                       " next_attempt_at = ?3, lease_owner = '', lease_until = 0"
                       " WHERE id = ?1 AND account_id = ?2 AND status <> 'pending'");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, message_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, account_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, gb_now_ms());
    gb_err e = step_done(db, s, "redeliver");
    if (!e && sqlite3_changes(gb_db_handle(db)) == 0) e = GB_ERR_CONFLICT;
    return e;
}

static gb_err add_attempts(gb_db *db, const char *msg_id, cJSON *msg)
{
    cJSON *arr = cJSON_AddArrayToObject(msg, "attemptLog");
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT at, status, latency_ms, response_head, error"
                                     " FROM wh_attempts WHERE message_id = ?1 ORDER BY id");
    if (!arr || !s) return arr ? GB_ERR_DB : GB_ERR_NOMEM;
    sqlite3_bind_text(s, 1, msg_id, -1, SQLITE_TRANSIENT);
    int rc;
    gb_err e = GB_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *a = cJSON_CreateObject();
        if (!a || !cJSON_AddItemToArray(arr, a)) {
            cJSON_Delete(a);
            e = GB_ERR_NOMEM;
            break;
        }
        gb_json_add_time(a, "at", sqlite3_column_int64(s, 0));
        cJSON_AddNumberToObject(a, "status", sqlite3_column_int(s, 1));
        cJSON_AddNumberToObject(a, "latencyMs", (double)sqlite3_column_int64(s, 2));
        gb_json_add_str_or_null(a, "responseHead", (const char *)sqlite3_column_text(s, 3));
        gb_json_add_str_or_null(a, "error", (const char *)sqlite3_column_text(s, 4));
    }
    if (!e && rc != SQLITE_DONE) e = gb_db_check(db, rc, "attempts list");
    sqlite3_reset(s);
    return e;
}

gb_err wh_deliveries_list(gb_db *db, const char *account_id, const char *status, int limit,
                          cJSON *arr_out)
{
    if (!account_id || !arr_out) return GB_ERR_INVALID;
    if (limit <= 0) limit = 20;
    if (limit > 100) limit = 100;
    sqlite3_stmt *s = gb_db_stmt(
        db, "SELECT id, event, url, coalesce(endpoint_id, ''), status, attempts, next_attempt_at,"
            " created_at, coalesce(delivered_at, 0), coalesce(last_status, 0), last_error"
            " FROM wh_messages WHERE account_id = ?1 AND (?2 IS NULL OR status = ?2)"
            " ORDER BY created_at DESC, rowid DESC LIMIT ?3");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, account_id, -1, SQLITE_TRANSIENT);
    if (status) sqlite3_bind_text(s, 2, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, limit);
    /* collect first: add_attempts uses another statement on the same connection */
    cJSON *batch = cJSON_CreateArray();
    gb_err e = batch ? GB_OK : GB_ERR_NOMEM;
    int rc = SQLITE_DONE;
    while (!e && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddItemToArray(batch, m)) {
            cJSON_Delete(m);
            e = GB_ERR_NOMEM;
            break;
        }
        cJSON_AddStringToObject(m, "id", col(s, 0));
        cJSON_AddStringToObject(m, "event", col(s, 1));
        cJSON_AddStringToObject(m, "url", col(s, 2));
        gb_json_add_str_or_null(m, "endpointId", col(s, 3)[0] ? col(s, 3) : NULL);
        cJSON_AddStringToObject(m, "status", col(s, 4));
        cJSON_AddNumberToObject(m, "attempts", sqlite3_column_int(s, 5));
        bool pending = strcmp(col(s, 4), "pending") == 0;
        gb_json_add_time(m, "nextAttemptAt", pending ? sqlite3_column_int64(s, 6) : 0);
        gb_json_add_time(m, "createdAt", sqlite3_column_int64(s, 7));
        gb_json_add_time(m, "deliveredAt", sqlite3_column_int64(s, 8));
        cJSON_AddNumberToObject(m, "lastStatus", sqlite3_column_int(s, 9));
        gb_json_add_str_or_null(m, "lastError", (const char *)sqlite3_column_text(s, 10));
    }
    if (!e && rc != SQLITE_DONE) e = gb_db_check(db, rc, "deliveries list");
    sqlite3_reset(s);
    while (!e && batch && cJSON_GetArraySize(batch) > 0) {
        cJSON *m = cJSON_DetachItemFromArray(batch, 0);
        cJSON_AddItemToArray(arr_out, m);
        e = add_attempts(db, cJSON_GetStringValue(cJSON_GetObjectItem(m, "id")), m);
    }
    cJSON_Delete(batch);
    return e;
}

/* ---- the worker's side ---- */

void wh_claimed_free(wh_claimed *c, size_t n)
{
    if (!c) return;
    for (size_t i = 0; i < n; i++) {
        free(c[i].url);
        free(c[i].payload);
    }
    free(c);
}

gb_err wh_store_claim(gb_db *db, const char *owner, int64_t now_ms, int64_t lease_ms, int max,
                      wh_claimed **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!owner || !owner[0] || lease_ms <= 0 || max <= 0 || now_ms < 0) return GB_ERR_INVALID;
    gb_err e = gb_db_begin(db); /* the write lock first: claims never race on a snapshot */
    if (e) return e;
    sqlite3_stmt *s = gb_db_stmt(
        db, "UPDATE wh_messages SET lease_owner = ?1, lease_until = ?2 + ?3 WHERE id IN"
            " (SELECT m.id FROM wh_messages m WHERE m.status = 'pending'"
            "  AND m.next_attempt_at <= ?2 AND m.lease_until <= ?2 AND (m.endpoint_id IS NULL"
            "  OR EXISTS (SELECT 1 FROM wh_endpoints p WHERE p.id = m.endpoint_id"
            "  AND p.enabled = 1)) ORDER BY m.next_attempt_at, m.id LIMIT ?4)"
            " RETURNING id, account_id, coalesce(endpoint_id, ''), url, payload, attempts");
    if (!s) {
        e = GB_ERR_DB;
        goto fail;
    }
    sqlite3_bind_text(s, 1, owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, now_ms);
    sqlite3_bind_int64(s, 3, lease_ms);
    sqlite3_bind_int(s, 4, max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        wh_claimed *grown = realloc(*out, (*n + 1) * sizeof(**out));
        if (!grown) {
            e = GB_ERR_NOMEM;
            break;
        }
        *out = grown;
        wh_claimed *c = &grown[(*n)++];
        memset(c, 0, sizeof(*c));
        gb_strlcpy(c->id, col(s, 0), sizeof(c->id));
        gb_strlcpy(c->account_id, col(s, 1), sizeof(c->account_id));
        gb_strlcpy(c->endpoint_id, col(s, 2), sizeof(c->endpoint_id));
        c->url = gb_strdup(col(s, 3));
        c->payload = gb_strdup(col(s, 4));
        c->payload_len = c->payload ? strlen(c->payload) : 0;
        c->attempts = sqlite3_column_int(s, 5);
        if (!c->url || !c->payload) e = GB_ERR_NOMEM;
    }
    if (!e && rc != SQLITE_DONE) e = gb_db_check(db, rc, "claim");
    sqlite3_reset(s);
    if (!e) e = gb_db_commit(db);
fail:
    gb_db_rollback(db); /* a no-op after a commit */
    if (e) {
        wh_claimed_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

gb_err wh_store_record(gb_db *db, const wh_claimed *m, const char *owner, const wh_outcome *o,
                       int64_t now_ms, wh_rec *result)
{
    bool own = !gb_db_in_txn(db);
    gb_err e;
    char err[300];
    const char *status = "pending", *error = o->error;
    int64_t next = now_ms;
    wh_rec r;
    if (o->status >= 200 && o->status < 300 && !o->error) {
        status = "delivered";
        r = WH_REC_DELIVERED;
    } else if (o->status == 410 && !o->error) {
        status = "failed";
        error = "410 Gone from receiver";
        r = m->endpoint_id[0] ? WH_REC_DISABLED : WH_REC_FAILED;
    } else {
        int64_t d = wh_next_delay_ms(m->attempts + 1, o->retry_after_ms, o->rnd);
        if (!error) {
            gb_snprintf(err, sizeof(err), "HTTP %ld", o->status);
            error = err;
        }
        if (d < 0) {
            status = "failed";
            r = WH_REC_FAILED;
        } else {
            next = now_ms + d;
            r = WH_REC_RETRY;
        }
    }
    if (own && (e = gb_db_begin(db))) return e;
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO wh_attempts(message_id, at, status, latency_ms,"
                                     " response_head, error) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (!s) {
        e = GB_ERR_DB;
        goto fail;
    }
    sqlite3_bind_text(s, 1, m->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, now_ms);
    sqlite3_bind_int64(s, 3, o->status);
    sqlite3_bind_int64(s, 4, o->latency_ms);
    if (o->head) sqlite3_bind_text(s, 5, o->head, -1, SQLITE_TRANSIENT);
    if (error) sqlite3_bind_text(s, 6, error, -1, SQLITE_TRANSIENT);
    if ((e = step_done(db, s, "attempt insert"))) goto fail;
    s = gb_db_stmt(db, "UPDATE wh_messages SET status = ?3, attempts = attempts + 1,"
                       " next_attempt_at = ?4, delivered_at = ?5, last_status = ?6,"
                       " last_error = ?7, lease_owner = '', lease_until = 0"
                       " WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'");
    if (!s) {
        e = GB_ERR_DB;
        goto fail;
    }
    sqlite3_bind_text(s, 1, m->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, next);
    if (r == WH_REC_DELIVERED) sqlite3_bind_int64(s, 5, now_ms);
    sqlite3_bind_int64(s, 6, o->status);
    if (error) sqlite3_bind_text(s, 7, error, -1, SQLITE_TRANSIENT);
    if ((e = step_done(db, s, "attempt record"))) goto fail;
    if (sqlite3_changes(gb_db_handle(db)) == 0) {
        GB_WARN("webhooks", "lease on %s lost before its attempt was recorded", m->id);
        r = WH_REC_LOST;
    } else if (r == WH_REC_DISABLED) {
        s = gb_db_stmt(db, "UPDATE wh_endpoints SET enabled = 0, disabled_reason = ?2"
                           " WHERE id = ?1 AND enabled = 1");
        if (!s) {
            e = GB_ERR_DB;
            goto fail;
        }
        sqlite3_bind_text(s, 1, m->endpoint_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, "410 Gone from receiver", -1, SQLITE_STATIC);
        if ((e = step_done(db, s, "endpoint disable"))) goto fail;
        if ((e = fail_pending_of(db, m->endpoint_id, "endpoint disabled: 410 Gone from receiver")))
            goto fail;
    }
    if (own && (e = gb_db_commit(db))) goto fail;
    own = false;
    if (result) *result = r;
fail:
    if (own) gb_db_rollback(db);
    return e;
}
