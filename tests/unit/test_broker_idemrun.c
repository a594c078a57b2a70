/* test_broker_idemrun.c: Idempotency-Key over a whole app (its vault's pepper and database, a
 * SQLite file or, in the .postgresql variant, a PostgreSQL database): the request digest tells
 * bodies apart; idem_run keeps a 2xx or 4xx answer and replays it, runs the work again after a 5xx,
 * refuses another body and bad keys, and answers 409 IDEMPOTENCY_IN_PROGRESS after waiting
 * for a reservation still running. A request whose work committed is never run again: not
 * after its process is killed (kill -9) between the work's commit and the stored answer, with
 * and without group commit (409 IDEMPOTENCY_ANSWER_LOST naming what it made), and not after a
 * 5xx answered once the work committed; a work rolled back runs again. The rules below it on
 * both backends: test_broker_idem.c. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/api/idem.h"
#include "broker/store/stores.h"
#include "common/clock.h"
#include "common/dbq.h"
#include "common/ids.h"
#include "common/str.h"
#include "test_db_util.h"
#include "test_app_util.h"

#define T0 1764547200000LL /* 2025-12-01T00:00:00Z */

static app *A;
static char DIR_[] = "/tmp/gb_idemrun_XXXXXX";

static int setup(void **state)
{
    (void)state;
    A = test_app_open(DIR_);
    gb_db *db = app_db(A);
    account_rec acc = {.id = "acc_one", .name = "one", .created_at = T0};
    assert_int_equal(account_insert(db, &acc), GB_OK);
    assert_int_equal(gb_db_exec(db, "CREATE TABLE made_things(id TEXT PRIMARY KEY,"
                                    " label TEXT NOT NULL)"),
                     GB_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gb_clock_use_real();
    app_db_release();
    return test_app_close(A, DIR_);
}

static void test_digest(void **state)
{
    (void)state;
    char a[VAULT_HASH_HEX], b[VAULT_HASH_HEX], c[VAULT_HASH_HEX];
    const void *p1[] = {"POST", "/api/volt/pods", "{\"a\":1}"};
    size_t l1[] = {4, 14, 7};
    assert_int_equal(vault_digest(A->vault, p1, l1, 3, a), GB_OK);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(vault_digest(A->vault, p1, l1, 3, b), GB_OK);
    assert_string_equal(a, b);
    const void *p2[] = {"POST", "/api/volt/pods", "{\"a\":2}"};
    assert_int_equal(vault_digest(A->vault, p2, l1, 3, c), GB_OK);
    assert_string_not_equal(a, c);
    /* the parts' boundaries count: "ab"+"c" is not "a"+"bc" */
    const void *q1[] = {"ab", "c"}, *q2[] = {"a", "bc"};
    size_t m1[] = {2, 1}, m2[] = {1, 2};
    assert_int_equal(vault_digest(A->vault, q1, m1, 2, b), GB_OK);
    assert_int_equal(vault_digest(A->vault, q2, m2, 2, c), GB_OK);
    assert_string_not_equal(b, c);
    /* an empty body is a part of length 0 */
    const void *e1[] = {"POST", "/x", NULL};
    size_t n1[] = {4, 2, 0};
    assert_int_equal(vault_digest(A->vault, e1, n1, 3, b), GB_OK);
    assert_int_equal(vault_digest(A->vault, e1, n1, 0, b), GB_ERR_INVALID);
}

/* A handler that counts its runs and answers g_status with a body naming the run. */
static int g_runs, g_status;

static void counting_handler(api_req *rq, api_resp *rs)
{
    (void)rq;
    g_runs++;
    if (g_status >= 500)
        api_error(rs, g_status, "INTERNAL_ERROR", "run %d failed", g_runs);
    else
        api_text(rs, g_status, "application/json", gb_asprintf("{\"run\":%d}", g_runs));
}

/* Runs handler for a POST to path with body under key, on db, as account acc_one. */
static void run_on(gb_db *db, const char *path, api_handler handler, const char *key,
                   const char *body, api_resp *rs, int wait_ms)
{
    api_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.app = A;
    rq.db = db;
    rq.method = "POST";
    rq.path = path;
    rq.body = body;
    rq.body_len = strlen(body);
    snprintf(rq.account_id, sizeof(rq.account_id), "acc_one");
    memset(rs, 0, sizeof(*rs));
    idem_run(key, handler, &rq, rs, wait_ms);
}

static void run(const char *key, const char *body, api_resp *rs, int wait_ms)
{
    run_on(app_db(A), "/api/volt/pods", counting_handler, key, body, rs, wait_ms);
}

static const char *header(const api_resp *rs, const char *name)
{
    for (int i = 0; i < rs->nheaders; i++)
        if (strcmp(rs->hname[i], name) == 0) return rs->hval[i];
    return NULL;
}

static void test_run_replay_5xx_4xx(void **state)
{
    (void)state;
    api_resp rs;
    gb_clock_set(T0 + 40 * IDEM_TTL_MS);
    g_runs = 0;
    /* a 5xx is not kept: the retry runs the work again and its 201 is kept */
    g_status = 503;
    run("run-1", "{\"a\":1}", &rs, 100);
    assert_int_equal(rs.status, 503);
    free(rs.body);
    g_status = 201;
    run("run-1", "{\"a\":1}", &rs, 100);
    assert_int_equal(rs.status, 201);
    assert_string_equal(rs.body, "{\"run\":2}");
    assert_null(header(&rs, "Idempotent-Replayed"));
    free(rs.body);
    run("run-1", "{\"a\":1}", &rs, 100);
    assert_int_equal(rs.status, 201);
    assert_string_equal(rs.body, "{\"run\":2}");
    assert_string_equal(header(&rs, "Idempotent-Replayed"), "true");
    free(rs.body);
    assert_int_equal(g_runs, 2);
    run("run-1", "{\"a\":2}", &rs, 100);
    assert_int_equal(rs.status, 409);
    assert_non_null(strstr(rs.body, "IDEMPOTENCY_MISMATCH"));
    free(rs.body);
    /* a 4xx is kept */
    g_status = 402;
    run("run-2", "{}", &rs, 100);
    free(rs.body);
    g_status = 201;
    run("run-2", "{}", &rs, 100);
    assert_int_equal(rs.status, 402);
    free(rs.body);
    assert_int_equal(g_runs, 3);
    /* keys that are not 1..255 printable ASCII characters */
    char big[300];
    memset(big, 'k', 256);
    big[256] = '\0';
    const char *const bad[] = {"", "tab\there", "caf\xc3\xa9", big};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run(bad[i], "{}", &rs, 100);
        assert_int_equal(rs.status, 400);
        free(rs.body);
    }
    big[255] = '\0';
    run(big, "{}", &rs, 100);
    assert_int_equal(rs.status, 201);
    free(rs.body);
    assert_int_equal(g_runs, 4);
    /* a duplicate while the first still runs: waits, then 409 IDEMPOTENCY_IN_PROGRESS */
    char digest[VAULT_HASH_HEX];
    const void *parts[] = {"POST", "/api/volt/pods", "{}"};
    size_t lens[] = {4, 14, 2};
    assert_int_equal(vault_digest(A->vault, parts, lens, 3, digest), GB_OK);
    assert_int_equal(idem_reserve(app_db(A), "acc_one", "busy", digest, gb_now_ms()), GB_OK);
    int64_t t = gb_mono_ms();
    run("busy", "{}", &rs, 200);
    assert_true(gb_mono_ms() - t >= 200);
    assert_int_equal(rs.status, 409);
    assert_non_null(strstr(rs.body, "IDEMPOTENCY_IN_PROGRESS"));
    assert_string_equal(header(&rs, "Retry-After"), "1");
    free(rs.body);
    assert_int_equal(g_runs, 4);
}

/* A handler that makes one thing (a made_things row labelled with the request's body) and
 * records it for the key in the same transaction (gb_db_made), then answers g_status (201
 * naming it, or a 5xx); with g_crash its process is killed right after the commit; with
 * g_fail_after_mark the work fails after its mark (both roll back). */
static int g_crash, g_fail_after_mark;

typedef struct {
    char id[GB_ID_MAX];
    const char *label;
} thing;

static gb_err make_thing(gb_db *db, void *ud)
{
    const thing *t = ud;
    gb_q *q = gb_q_prep(db, "INSERT INTO made_things(id, label) VALUES(?1, ?2)");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, t->id);
    gb_q_text(q, 2, t->label);
    gb_err e = gb_q_run(q, NULL);
    if (!e) e = gb_db_made(db, t->id);
    return e ? e : g_fail_after_mark ? GB_ERR_LIMIT : GB_OK;
}

static void making_handler(api_req *rq, api_resp *rs)
{
    g_runs++;
    thing t = {.label = rq->body};
    gb_id_new("thg_", t.id, sizeof(t.id));
    gb_err e = gb_db_txn(rq->db, make_thing, &t);
    if (!e && g_crash) raise(SIGKILL); /* between the work's commit and the stored answer */
    if (e || g_status >= 500)
        api_error(rs, e ? 500 : g_status, "INTERNAL_ERROR", "run %d failed", g_runs);
    else
        api_text(rs, 201, "application/json", gb_asprintf("{\"id\":\"%s\"}", t.id));
}

static void run_making(gb_db *db, const char *key, const char *body, api_resp *rs, int wait_ms)
{
    run_on(db, "/api/volt/fine-tuning", making_handler, key, body, rs, wait_ms);
}

static int64_t things_labelled(const char *label, char *id, size_t n)
{
    gb_q *q = gb_q_prep(app_db(A), "SELECT count(*), max(id) FROM made_things WHERE label = ?1");
    assert_non_null(q);
    gb_q_text(q, 1, label);
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_true(row);
    int64_t c = gb_q_col_int64(q, 0);
    const char *v = gb_q_col_text(q, 1);
    if (id) gb_strlcpy(id, v ? v : "", n);
    gb_q_reset(q);
    return c;
}

/* A child process, on a connection of its own (grouped: through a commit group of its own, so
 * the work runs on the group's writer connection), runs the making handler as the key's owner
 * and is killed (SIGKILL) right after the work's commit, before its answer is stored. */
static void crash_after_commit(const char *key, const char *body, int grouped)
{
    const char *path = A->cfg.database; /* a SQLite file, or the .postgresql variant's URL */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        gb_db *own = NULL;
        gb_db_group *g = NULL;
        if (gb_db_open_url(path, &own)) _exit(2);
        if (grouped && gb_db_group_open(path, &g)) _exit(2);
        if (g) gb_db_group_attach(own, g);
        g_crash = 1;
        g_status = 201;
        api_resp rs;
        run_making(own, key, body, &rs, 100);
        _exit(3); /* not killed: the work did not commit */
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
}

static void check_never_runs_again(const char *key, const char *body, int grouped)
{
    api_resp rs;
    char id[GB_ID_MAX];
    gb_clock_set(T0 + 60 * IDEM_TTL_MS + grouped * IDEM_TTL_MS);
    g_runs = 0;
    crash_after_commit(key, body, grouped);
    assert_int_equal(things_labelled(body, id, sizeof(id)), 1);
    /* within the lease the retry waits for the dead owner, as for any running one */
    run_making(app_db(A), key, body, &rs, 50);
    assert_int_equal(rs.status, 409);
    assert_non_null(strstr(rs.body, "IDEMPOTENCY_IN_PROGRESS"));
    free(rs.body);
    /* past it: the work committed, so it is not run again; the answer names what it made */
    gb_clock_advance(IDEM_LEASE_MS + 1);
    for (int i = 0; i < 2; i++) {
        run_making(app_db(A), key, body, &rs, 50);
        assert_int_equal(rs.status, 409);
        assert_non_null(strstr(rs.body, "IDEMPOTENCY_ANSWER_LOST"));
        assert_non_null(strstr(rs.body, id));
        free(rs.body);
    }
    assert_int_equal(g_runs, 0);
    assert_int_equal(things_labelled(body, NULL, 0), 1);
}

static void test_killed_after_commit_never_runs_again(void **state)
{
    (void)state;
    check_never_runs_again("crash-own", "{\"crash\":\"own\"}", 0);
}

static void test_killed_after_grouped_commit_never_runs_again(void **state)
{
    (void)state;
    if (tdb_is_pg()) skip(); /* group commit is SQLite's (docs/store.md) */
    check_never_runs_again("crash-group", "{\"crash\":\"group\"}", 1);
}

/* A 5xx answered after the work committed is kept as IDEMPOTENCY_ANSWER_LOST (a retry must not
 * make a second one); a work rolled back with its mark runs again on the retry. */
static void test_5xx_after_commit_and_rolled_back_work(void **state)
{
    (void)state;
    api_resp rs;
    gb_clock_set(T0 + 70 * IDEM_TTL_MS);
    g_runs = 0;
    g_status = 503;
    run_making(app_db(A), "late-5xx", "{\"a\":5}", &rs, 100);
    assert_int_equal(rs.status, 503);
    free(rs.body);
    g_status = 201;
    run_making(app_db(A), "late-5xx", "{\"a\":5}", &rs, 100);
    assert_int_equal(rs.status, 409);
    assert_non_null(strstr(rs.body, "IDEMPOTENCY_ANSWER_LOST"));
    assert_string_equal(header(&rs, "Idempotent-Replayed"), "true");
    free(rs.body);
    assert_int_equal(g_runs, 1);
    assert_int_equal(things_labelled("{\"a\":5}", NULL, 0), 1);
    /* the work fails after its mark: nothing of it stays, so the retry runs it */
    g_fail_after_mark = 1;
    run_making(app_db(A), "undone", "{\"a\":6}", &rs, 100);
    g_fail_after_mark = 0;
    assert_int_equal(rs.status, 500);
    free(rs.body);
    assert_int_equal(things_labelled("{\"a\":6}", NULL, 0), 0);
    run_making(app_db(A), "undone", "{\"a\":6}", &rs, 100);
    assert_int_equal(rs.status, 201);
    free(rs.body);
    assert_int_equal(g_runs, 3);
    assert_int_equal(things_labelled("{\"a\":6}", NULL, 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_run_replay_5xx_4xx),
        cmocka_unit_test(test_killed_after_commit_never_runs_again),
        cmocka_unit_test(test_killed_after_grouped_commit_never_runs_again),
        cmocka_unit_test(test_5xx_after_commit_and_rolled_back_work),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
