/* test_broker_idemrun.c: Idempotency-Key over a whole app (its vault's pepper and database;
 * SQLite only until the vault's store runs on PostgreSQL): the request digest tells bodies
 * apart; idem_run keeps a 2xx or 4xx answer and replays it, runs the work again after a 5xx,
 * refuses another body and bad keys, and answers 409 IDEMPOTENCY_IN_PROGRESS after waiting
 * for a reservation still running. The rules below it on both backends: test_broker_idem.c. */
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
static char DIR_[] = "/tmp/gb_idemrun_XXXXXX";

static int setup(void **state)
{
    (void)state;
    A = test_app_open(DIR_);
    gb_db *db = app_db(A);
    account_rec acc = {.id = "acc_one", .name = "one", .created_at = T0};
    assert_int_equal(account_insert(db, &acc), GB_OK);
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
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_run_replay_5xx_4xx),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
