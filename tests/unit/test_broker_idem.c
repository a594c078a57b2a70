/* test_broker_idem.c: the Idempotency-Key rules below HTTP (broker/api/idem.c and its store):
 * a key is reserved once, replayed with its answer, refused for another request, forgotten
 * after 24 h and taken over after an abandoned reservation's lease (on the test clock); eight
 * connections reserving one key at once get exactly one owner; the request digest tells
 * bodies apart; the covered routes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/api/idem.h"
#include "broker/store/stores.h"
#include "common/clock.h"
#include "common/str.h"
#include "test_app_util.h"

#define T0 1764547200000LL /* 2025-12-01T00:00:00Z */

static app *A;
static char DIR_[] = "/tmp/gb_idem_XXXXXX";

static int setup(void **state)
{
    (void)state;
    A = test_app_open(DIR_);
    gb_db *db = app_db(A);
    account_rec acc = {.id = "acc_one", .name = "one", .created_at = T0};
    assert_int_equal(account_insert(db, &acc), GB_OK);
    account_rec two = {.id = "acc_two", .name = "two", .created_at = T0};
    assert_int_equal(account_insert(db, &two), GB_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gb_clock_use_real();
    app_db_release();
    return test_app_close(A, DIR_);
}

static idem_verdict begin(const char *acc, const char *key, const char *digest, idem_rec *r)
{
    idem_verdict v = IDEM_WAIT;
    assert_int_equal(idem_begin(app_db(A), acc, key, digest, gb_now_ms(), &v, r), GB_OK);
    return v;
}

static const char D1[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char D2[] = "2222222222222222222222222222222222222222222222222222222222222222";

static void test_reserve_replay_mismatch_expiry(void **state)
{
    (void)state;
    gb_db *db = app_db(A);
    idem_rec r;
    gb_clock_set(T0);
    assert_int_equal(begin("acc_one", "k1", D1, &r), IDEM_RUN);
    int64_t at = r.created_at;
    assert_true(at == T0);
    idem_rec_clear(&r);
    /* while the first runs: the same request waits, another one is refused */
    assert_int_equal(begin("acc_one", "k1", D1, &r), IDEM_WAIT);
    idem_rec_clear(&r);
    assert_int_equal(begin("acc_one", "k1", D2, &r), IDEM_MISMATCH);
    idem_rec_clear(&r);
    /* the key is the account's: another account's k1 is its own */
    assert_int_equal(begin("acc_two", "k1", D2, &r), IDEM_RUN);
    idem_rec_clear(&r);
    assert_int_equal(idem_finish(db, "acc_one", "k1", at, 201, "{\"id\":\"pod_x\"}"), GB_OK);
    gb_clock_set(T0 + IDEM_TTL_MS - 1);
    assert_int_equal(begin("acc_one", "k1", D1, &r), IDEM_REPLAY);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "{\"id\":\"pod_x\"}");
    idem_rec_clear(&r);
    assert_int_equal(begin("acc_one", "k1", D2, &r), IDEM_MISMATCH);
    idem_rec_clear(&r);
    /* 24 h after its first use the key is forgotten: a new request runs */
    gb_clock_set(T0 + IDEM_TTL_MS + 1);
    assert_int_equal(begin("acc_one", "k1", D2, &r), IDEM_RUN);
    assert_true(r.created_at == T0 + IDEM_TTL_MS + 1);
    idem_rec_clear(&r);
    /* finishing the old reservation does nothing now: it is gone */
    assert_int_equal(idem_finish(db, "acc_one", "k1", at, 201, "{}"), GB_ERR_NOT_FOUND);
}

static void test_abandoned_reservation(void **state)
{
    (void)state;
    idem_rec r;
    gb_clock_set(T0);
    assert_int_equal(begin("acc_one", "crash", D1, &r), IDEM_RUN); /* never finished */
    idem_rec_clear(&r);
    gb_clock_set(T0 + IDEM_LEASE_MS);
    assert_int_equal(begin("acc_one", "crash", D1, &r), IDEM_WAIT);
    idem_rec_clear(&r);
    gb_clock_set(T0 + IDEM_LEASE_MS + 1);
    assert_int_equal(begin("acc_one", "crash", D1, &r), IDEM_RUN);
    idem_rec_clear(&r);
    /* a forgotten 5xx: the next try runs the work again */
    gb_clock_set(T0 + 2 * IDEM_LEASE_MS);
    assert_int_equal(begin("acc_one", "5xx", D1, &r), IDEM_RUN);
    assert_int_equal(idem_forget(app_db(A), "acc_one", "5xx", r.created_at), GB_OK);
    idem_rec_clear(&r);
    assert_int_equal(begin("acc_one", "5xx", D1, &r), IDEM_RUN);
    idem_rec_clear(&r);
}

static void test_prune(void **state)
{
    (void)state;
    gb_db *db = app_db(A);
    idem_rec r;
    int n = -1;
    gb_clock_set(T0 + 10 * IDEM_TTL_MS);
    assert_int_equal(idem_prune(db, gb_now_ms(), &n), GB_OK); /* clears the earlier tests' */
    int64_t t = gb_now_ms();
    assert_int_equal(begin("acc_one", "old", D1, &r), IDEM_RUN);
    assert_int_equal(idem_finish(db, "acc_one", "old", r.created_at, 200, "{}"), GB_OK);
    idem_rec_clear(&r);
    assert_int_equal(begin("acc_one", "inflight", D1, &r), IDEM_RUN);
    idem_rec_clear(&r);
    gb_clock_set(t + IDEM_LEASE_MS + 1);
    assert_int_equal(begin("acc_one", "young", D1, &r), IDEM_RUN);
    assert_int_equal(idem_finish(db, "acc_one", "young", r.created_at, 200, "{}"), GB_OK);
    idem_rec_clear(&r);
    /* the reservation past its lease goes; the answered ones stay for 24 h */
    assert_int_equal(idem_prune(db, gb_now_ms(), &n), GB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(idem_get(db, "acc_one", "inflight", &r), GB_ERR_NOT_FOUND);
    assert_int_equal(idem_get(db, "acc_one", "old", &r), GB_OK);
    idem_rec_clear(&r);
    assert_int_equal(idem_prune(db, t + IDEM_TTL_MS, &n), GB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(idem_prune(db, t + IDEM_TTL_MS + 1, &n), GB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(idem_get(db, "acc_one", "old", &r), GB_ERR_NOT_FOUND);
    assert_int_equal(idem_get(db, "acc_one", "young", &r), GB_OK);
    idem_rec_clear(&r);
}

#define THREADS 8

typedef struct {
    pthread_barrier_t *go;
    const char *path;
    idem_verdict v;
    gb_err e;
} racer;

static void *race(void *arg)
{
    racer *x = arg;
    gb_db *db = NULL;
    x->e = gb_db_open(x->path, &db);
    pthread_barrier_wait(x->go);
    if (!x->e) {
        idem_rec r;
        x->e = idem_begin(db, "acc_one", "race", D1, gb_now_ms(), &x->v, &r);
        idem_rec_clear(&r);
    }
    gb_db_close(db);
    return NULL;
}

static void test_concurrent_reservations(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof(path), "%s/gpubroker.db", DIR_);
    gb_clock_set(T0 + 20 * IDEM_TTL_MS);
    for (int round = 0; round < 5; round++) {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, THREADS);
        racer x[THREADS];
        pthread_t t[THREADS];
        assert_int_equal(idem_prune(app_db(A), gb_now_ms() + IDEM_TTL_MS + 1, NULL), GB_OK);
        for (int i = 0; i < THREADS; i++) {
            x[i] = (racer){.go = &go, .path = path, .v = IDEM_MISMATCH};
            assert_int_equal(pthread_create(&t[i], NULL, race, &x[i]), 0);
        }
        int owners = 0, waiting = 0;
        for (int i = 0; i < THREADS; i++) {
            pthread_join(t[i], NULL);
            assert_int_equal(x[i].e, GB_OK);
            owners += x[i].v == IDEM_RUN;
            waiting += x[i].v == IDEM_WAIT;
        }
        pthread_barrier_destroy(&go);
        assert_int_equal(owners, 1);
        assert_int_equal(waiting, THREADS - 1);
    }
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

static void test_covered_routes(void **state)
{
    (void)state;
    assert_true(idem_covers("POST", "/api/volt/pods"));
    assert_true(idem_covers("POST", "/api/volt/fine-tuning"));
    assert_true(idem_covers("POST", "/api/volt/admin/accounts/acc_x1/credit"));
    assert_true(idem_covers("POST", "/api/volt/ssh-keys"));
    assert_false(idem_covers("GET", "/api/volt/pods"));
    assert_false(idem_covers("POST", "/api/volt/pods/pod_1/start"));
    assert_false(idem_covers("POST", "/api/volt/api-keys")); /* its answer holds a secret */
    assert_false(idem_covers("POST", "/api/volt/admin/accounts"));
    assert_false(idem_covers("POST", "/api/volt/admin/accounts//credit"));
    assert_false(idem_covers("POST", "/api/volt/admin/accounts/a/b/credit"));
    assert_false(idem_covers("POS", "/api/volt/pods"));
    assert_true(idem_route("POST /api/volt/admin/accounts/:id/credit"));
    assert_false(idem_route("POST /api/volt/webhooks"));
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

static void run(const char *key, const char *body, api_resp *rs, int wait_ms)
{
    api_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.app = A;
    rq.db = app_db(A);
    rq.method = "POST";
    rq.path = "/api/volt/pods";
    rq.body = body;
    rq.body_len = strlen(body);
    snprintf(rq.account_id, sizeof(rq.account_id), "acc_one");
    memset(rs, 0, sizeof(*rs));
    idem_run(key, counting_handler, &rq, rs, wait_ms);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_replay_mismatch_expiry),
        cmocka_unit_test(test_abandoned_reservation),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_concurrent_reservations),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_covered_routes),
        cmocka_unit_test(test_run_replay_5xx_4xx),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
