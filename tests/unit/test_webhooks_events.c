/* test_webhooks_events.c: the durable event log (webhooks/events.h): wh_enqueue appends every
 * event with the webhook's exact body whether or not the account has endpoints, commits and
 * rolls back with the caller's transaction, reads per account after a seq in order, prunes by
 * age without ever handing out a pruned seq again (the webhook worker's thread does it past
 * the retention), and tells its listener. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "test_db_util.h"

#include "common/clock.h"
#include "common/str.h"
#include "webhooks/events.h"
#include "webhooks/outbox.h"

static struct {
    const char *url;
    gb_db *db;
} T;

#define T0 1800000000000LL

static int setup(void **state)
{
    (void)state;
    memset(&T, 0, sizeof(T));
    T.url = tdb_fresh_url();
    assert_non_null(T.url);
    assert_non_null(T.db = tdb_open(T.url));
    assert_int_equal(gb_db_migrate(T.db, wh_migrations(), 1), GB_OK);
    gb_clock_set(T0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gb_db_close(T.db);
    return 0;
}

/* wh_enqueue of {"event": ev, key: subject} for account in its own transaction, committed or
 * rolled back. */
static void emit(const char *account, const char *ev, const char *key, const char *subject,
                 int commit)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "event", ev);
    if (key) cJSON_AddStringToObject(p, key, subject);
    cJSON_AddStringToObject(p, "note", "caf\xc3\xa9 \"quoted\"\nline");
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    assert_int_equal(wh_enqueue(T.db, account, ev, p, NULL, NULL), GB_OK);
    if (commit)
        assert_int_equal(gb_db_commit(T.db), GB_OK);
    else
        gb_db_rollback(T.db);
    cJSON_Delete(p);
}

typedef struct {
    int n;
    int64_t seq[16];
    char event[16][64], subject[16][64];
    char *payload[16];
    int stop_after; /* 0: never */
} rows;

static int collect(void *ud, const wh_event_row *r)
{
    rows *x = ud;
    assert_true(x->n < 16);
    x->seq[x->n] = r->seq;
    gb_strlcpy(x->event[x->n], r->event, sizeof(x->event[0]));
    gb_strlcpy(x->subject[x->n], r->subject_id, sizeof(x->subject[0]));
    x->payload[x->n] = gb_strdup(r->payload);
    x->n++;
    return x->stop_after && x->n >= x->stop_after;
}

static void rows_free(rows *x)
{
    for (int i = 0; i < x->n; i++)
        free(x->payload[i]);
    memset(x, 0, sizeof(*x));
}

static void test_append_with_the_transaction(void **state)
{
    (void)state;
    /* no endpoint at all: the log still gets every committed event, and only those */
    emit("acct_a", "pod.running", "podId", "pod_1", 1);
    emit("acct_a", "pod.stopped", "podId", "pod_1", 0); /* rolled back */
    emit("acct_b", "fine_tuning.job.status", "jobId", "job_9", 1);
    emit("acct_a", "account.balance_low", "accountId", "acct_a", 1);
    emit("acct_a", "placement.attempt", NULL, NULL, 1);
    int64_t mx = 0;
    assert_int_equal(wh_events_max_seq(T.db, &mx), GB_OK);
    rows x = {0};
    int64_t last = -1;
    assert_int_equal(wh_events_read(T.db, "acct_a", 0, mx, 100, collect, &x, &last), GB_OK);
    assert_int_equal(x.n, 3); /* acct_b's is not acct_a's; the rolled back one is gone */
    assert_string_equal(x.event[0], "pod.running");
    assert_string_equal(x.subject[0], "pod_1");
    assert_string_equal(x.event[1], "account.balance_low");
    assert_string_equal(x.subject[1], "acct_a");
    assert_string_equal(x.event[2], "placement.attempt");
    assert_string_equal(x.subject[2], "");
    assert_true(x.seq[0] < x.seq[1] && x.seq[1] < x.seq[2]);
    assert_int_equal(last, x.seq[2]);
    assert_int_equal(mx, x.seq[2]);
    /* the payload is the exact body a webhook carries (cJSON's unformatted print) */
    cJSON *p = cJSON_Parse(x.payload[0]);
    assert_non_null(p);
    char *again = cJSON_PrintUnformatted(p);
    assert_string_equal(again, x.payload[0]);
    assert_null(strchr(x.payload[0], '\n')); /* one line: one SSE data field */
    cJSON_free(again);
    cJSON_Delete(p);
    rows_free(&x);
    /* acct_b sees its own */
    assert_int_equal(wh_events_read(T.db, "acct_b", 0, mx, 100, collect, &x, NULL), GB_OK);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.subject[0], "job_9");
    rows_free(&x);
}

static void test_read_window_and_limit(void **state)
{
    (void)state;
    char id[16];
    for (int i = 0; i < 10; i++) {
        gb_snprintf(id, sizeof(id), "pod_%d", i);
        emit("acct_a", "pod.running", "podId", id, 1);
    }
    rows x = {0};
    int64_t last = 0;
    /* after 3, up to 8, at most 4: seqs 4..7 in order */
    assert_int_equal(wh_events_read(T.db, "acct_a", 3, 8, 4, collect, &x, &last), GB_OK);
    assert_int_equal(x.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(x.seq[i], 4 + i);
    assert_int_equal(last, 7);
    rows_free(&x);
    /* upto bounds it: nothing past 8 */
    assert_int_equal(wh_events_read(T.db, "acct_a", 7, 8, 100, collect, &x, &last), GB_OK);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.seq[0], 8);
    rows_free(&x);
    /* a callback that stops early: last is the last row it got */
    x.stop_after = 2;
    assert_int_equal(wh_events_read(T.db, "acct_a", 0, 100, 100, collect, &x, &last), GB_OK);
    assert_int_equal(x.n, 2);
    assert_int_equal(last, 2);
    rows_free(&x);
    /* bad arguments */
    assert_int_equal(wh_events_read(T.db, "acct_a", 0, 100, 0, collect, &x, &last), GB_ERR_INVALID);
    assert_int_equal(wh_events_read(T.db, "acct_a", 0, 100, 1001, collect, &x, &last),
                     GB_ERR_INVALID);
    /* outside a transaction the append is refused */
    assert_int_equal(wh_event_append(T.db, "acct_a", "pod.x", NULL, "{}", T0), GB_ERR_INTERNAL);
}

static void test_prune_never_reuses_a_seq(void **state)
{
    (void)state;
    emit("acct_a", "pod.running", "podId", "pod_old", 1);
    emit("acct_a", "pod.stopped", "podId", "pod_old", 1);
    gb_clock_set(T0 + 8LL * 86400000);
    emit("acct_a", "pod.running", "podId", "pod_new", 1);
    int64_t mx = 0, n = -1;
    assert_int_equal(wh_events_max_seq(T.db, &mx), GB_OK);
    assert_int_equal(mx, 3);
    int64_t pruned = -1;
    assert_int_equal(wh_events_bounds(T.db, &mx, &pruned), GB_OK);
    assert_int_equal(mx, 3);
    assert_int_equal(pruned, 0);
    /* 7 days of retention: the two old ones go, and the mark says so */
    assert_int_equal(wh_events_prune(T.db, gb_now_ms() - 7LL * 86400000, &n), GB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(wh_events_bounds(T.db, &mx, &pruned), GB_OK);
    assert_int_equal(mx, 3);
    assert_int_equal(pruned, 2);
    /* nothing more to prune: the mark stays */
    assert_int_equal(wh_events_prune(T.db, gb_now_ms() - 7LL * 86400000, &n), GB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(wh_events_bounds(T.db, &mx, &pruned), GB_OK);
    assert_int_equal(pruned, 2);
    rows x = {0};
    assert_int_equal(wh_events_read(T.db, "acct_a", 0, 100, 100, collect, &x, NULL), GB_OK);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.subject[0], "pod_new");
    rows_free(&x);
    /* prune the newest too: the newest seq is still known (a stream resumed from it is no
     * stranger: before the mark it was 0, and Last-Event-ID 3 was refused as "beyond the
     * newest"), and the next event gets a higher seq than any handed out */
    assert_int_equal(wh_events_prune(T.db, gb_now_ms() + 1, &n), GB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(wh_events_max_seq(T.db, &mx), GB_OK);
    assert_int_equal(mx, 3);
    assert_int_equal(wh_events_bounds(T.db, &mx, &pruned), GB_OK);
    assert_int_equal(pruned, 3);
    emit("acct_a", "pod.deleted", "podId", "pod_new", 1);
    assert_int_equal(wh_events_read(T.db, "acct_a", 0, 100, 100, collect, &x, NULL), GB_OK);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.seq[0], 4);
    rows_free(&x);
}

/* A deletion that fails leaves the mark where it was: the two commit together, so a reader
 * is never told of a gap whose events are still there (nor the reverse). The failure is a
 * trigger refusing the DELETE (SQLite's syntax; the transaction is the same on PostgreSQL). */
static void test_failed_prune_leaves_no_mark(void **state)
{
    (void)state;
    if (tdb_is_pg()) skip();
    emit("acct_a", "pod.running", "podId", "pod_old", 1);
    gb_clock_set(T0 + 8LL * 86400000);
    assert_int_equal(gb_db_exec(T.db, "CREATE TRIGGER no_prune BEFORE DELETE ON wh_events"
                                      " BEGIN SELECT RAISE(ABORT, 'refused'); END"),
                     GB_OK);
    int64_t n = -1, newest = 0, pruned = -1;
    assert_int_not_equal(wh_events_prune(T.db, gb_now_ms() - 7LL * 86400000, &n), GB_OK);
    assert_int_equal(n, 0);
    assert_false(gb_db_in_txn(T.db));
    assert_int_equal(wh_events_bounds(T.db, &newest, &pruned), GB_OK);
    assert_int_equal(newest, 1);
    assert_int_equal(pruned, 0);
    assert_int_equal(gb_db_exec(T.db, "DROP TRIGGER no_prune"), GB_OK);
    assert_int_equal(wh_events_prune(T.db, gb_now_ms() - 7LL * 86400000, &n), GB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(wh_events_bounds(T.db, &newest, &pruned), GB_OK);
    assert_int_equal(pruned, 1);
}

/* A log pruned before the mark existed (schema step 3): the step counts it as pruned up to its
 * oldest event, so a stream resumed from before that is told of the gap. */
static void test_mark_of_a_log_pruned_before(void **state)
{
    (void)state;
    const char *url = tdb_fresh_url();
    assert_non_null(url);
    gb_db *db = tdb_open(url);
    assert_non_null(db);
    gb_migration_set three = *wh_migrations();
    three.count = 3;
    three.pg_count = three.pg_count < 3 ? three.pg_count : 3;
    assert_int_equal(gb_db_migrate(db, &three, 1), GB_OK);
    for (int seq = 5; seq <= 7; seq++) { /* 1-4 were pruned */
        char sql[200];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO wh_events(seq, account_id, event, payload, created_at)"
                 " VALUES (%d, 'acct_a', 'pod.running', '{}', %lld)",
                 seq, T0);
        assert_int_equal(gb_db_exec(db, sql), GB_OK);
    }
    assert_int_equal(gb_db_migrate(db, wh_migrations(), 1), GB_OK);
    int64_t newest = 0, pruned = 0;
    assert_int_equal(wh_events_bounds(db, &newest, &pruned), GB_OK);
    assert_int_equal(newest, 7);
    assert_int_equal(pruned, 4);
    gb_db_close(db);
}

static int calls;
static void listener(void *ud)
{
    (void)ud;
    calls++;
}

static void test_listener(void **state)
{
    (void)state;
    calls = 0;
    wh_events_set_listener(listener, NULL);
    emit("acct_a", "pod.running", "podId", "pod_1", 1);
    emit("acct_a", "pod.running", "podId", "pod_2", 0); /* told before the commit, too */
    assert_int_equal(calls, 2);
    wh_events_drop_listener(&calls); /* not its ud: it stays */
    emit("acct_a", "pod.running", "podId", "pod_3", 1);
    assert_int_equal(calls, 3);
    wh_events_drop_listener(NULL);
    emit("acct_a", "pod.running", "podId", "pod_4", 1);
    assert_int_equal(calls, 3);
}

static gb_db *g_db2;
static gb_db *db2(void *ud)
{
    (void)ud;
    return g_db2;
}

static size_t no_secrets(void *ud, const char *account_id, char s[][128], size_t max)
{
    (void)ud, (void)account_id, (void)s, (void)max;
    return 0;
}

static int count_events(void)
{
    rows x = {0};
    assert_int_equal(wh_events_read(T.db, "acct_a", 0, 1000, 100, collect, &x, NULL), GB_OK);
    int n = x.n;
    rows_free(&x);
    return n;
}

/* The webhook worker's thread prunes the log past events_retention_ms, and only then. */
static void test_worker_prunes(void **state)
{
    (void)state;
    emit("acct_a", "pod.running", "podId", "pod_old", 1);
    gb_clock_set(T0 + 8LL * 86400000);
    emit("acct_a", "pod.running", "podId", "pod_new", 1);
    assert_int_equal(gb_db_open_url(T.url, &g_db2), GB_OK);
    /* no retention: nothing goes */
    wh_worker_cfg c = {.poll_ms = 20, .secrets = no_secrets, .db = db2};
    wh_worker *w = NULL;
    assert_int_equal(wh_worker_start(&c, &w), GB_OK);
    usleep(200000);
    wh_worker_stop(w);
    assert_int_equal(count_events(), 2);
    /* 7 days: the 8-day-old one goes on the first round */
    c.events_retention_ms = 7LL * 86400000;
    assert_int_equal(wh_worker_start(&c, &w), GB_OK);
    for (int i = 0; i < 300 && count_events() == 2; i++)
        usleep(10000);
    wh_worker_stop(w);
    rows x = {0};
    assert_int_equal(wh_events_read(T.db, "acct_a", 0, 1000, 100, collect, &x, NULL), GB_OK);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.subject[0], "pod_new");
    rows_free(&x);
    gb_db_close(g_db2);
    g_db2 = NULL;
}

/* ---- two brokers appending at once: a stream reader never skips a seq ---- */

static struct {
    const char *url;
    int appended, fail; /* atomics */
    int64_t fast_ms;    /* how long the other append took */
} g_slow;

/* Appends one event in a transaction that stays open 400 ms after the append, and after a
 * later statement of its own (as wh_enqueue's endpoint list). On PostgreSQL the append is
 * sent only with the COMMIT (gb_q_defer_commit): the log's lock is not held meanwhile. */
static void *slow_append(void *arg)
{
    (void)arg;
    gb_db *db = tdb_open(g_slow.url);
    if (!db || gb_db_begin(db) != GB_OK ||
        wh_event_append(db, "acct_a", "pod.created", "pod_slow", "{}", T0) != GB_OK ||
        tdb_int(db, "SELECT count(*) FROM wh_events") < 0) {
        __atomic_store_n(&g_slow.fail, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&g_slow.appended, 1, __ATOMIC_SEQ_CST);
        gb_db_close(db);
        return NULL;
    }
    __atomic_store_n(&g_slow.appended, 1, __ATOMIC_SEQ_CST);
    usleep(400000);
    if (gb_db_commit(db) != GB_OK) __atomic_store_n(&g_slow.fail, 1, __ATOMIC_SEQ_CST);
    gb_db_close(db);
    return NULL;
}

static void *fast_append(void *arg)
{
    (void)arg;
    gb_db *db = tdb_open(g_slow.url);
    int64_t t0 = gb_mono_ms();
    if (!db || gb_db_begin(db) != GB_OK ||
        wh_event_append(db, "acct_a", "pod.created", "pod_fast", "{}", T0) != GB_OK ||
        gb_db_commit(db) != GB_OK)
        __atomic_store_n(&g_slow.fail, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_slow.fast_ms, gb_mono_ms() - t0, __ATOMIC_SEQ_CST);
    gb_db_close(db);
    return NULL;
}

/* One broker's append is in an open transaction when another's appends and commits; a reader
 * that follows the log as the SSE stream does (after the last seq it saw, up to the highest)
 * must still get both: seqs become visible in their order on both backends. On PostgreSQL
 * the open transaction does not hold the log's lock (its append waits for its COMMIT), so the
 * other append does not wait for it and draws the lower seq; SQLite's one writer makes the
 * second wait for the first's commit. */
static void test_seq_visible_in_order(void **state)
{
    (void)state;
    memset(&g_slow, 0, sizeof(g_slow));
    g_slow.url = T.url;
    pthread_t ts, tf;
    pthread_create(&ts, NULL, slow_append, NULL);
    while (!__atomic_load_n(&g_slow.appended, __ATOMIC_SEQ_CST))
        usleep(1000);
    pthread_create(&tf, NULL, fast_append, NULL);
    rows x = {0};
    int64_t pos = 0;
    int64_t t_end = gb_mono_ms() + 3000;
    while (x.n < 2 && gb_mono_ms() < t_end) {
        int64_t hi = 0, last = pos;
        assert_int_equal(wh_events_max_seq(T.db, &hi), GB_OK);
        assert_int_equal(wh_events_read(T.db, "acct_a", pos, hi, 100, collect, &x, &last), GB_OK);
        pos = last;
        usleep(5000);
    }
    pthread_join(ts, NULL);
    pthread_join(tf, NULL);
    assert_int_equal(g_slow.fail, 0);
    assert_int_equal(x.n, 2);
    int pg = tdb_is_pg();
    if (pg && g_slow.fast_ms > 300) /* it did not wait for the slow one's 400 ms */
        fail_msg("an append waited %lld ms for another's open transaction",
                 (long long)g_slow.fast_ms);
    /* the first to commit has the lower seq */
    assert_string_equal(x.subject[0], pg ? "pod_fast" : "pod_slow");
    assert_string_equal(x.subject[1], pg ? "pod_slow" : "pod_fast");
    assert_true(x.seq[0] < x.seq[1]);
    rows_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_with_the_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_window_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_never_reuses_a_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_of_a_log_pruned_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_prune_leaves_no_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_prunes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seq_visible_in_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
