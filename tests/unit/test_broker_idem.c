/* test_broker_idem.c: the Idempotency-Key rules below HTTP (idem_begin in broker/api/idem.c
 * and its store), on SQLite and PostgreSQL: a key is reserved once, replayed with its answer,
 * refused for another request, forgotten after 24 h and taken over after an abandoned
 * reservation's lease (on the test clock); eight connections reserving one key at once get
 * exactly one owner; the covered routes. The digest and idem_run over a whole app:
 * test_broker_idemrun.c. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/api/idem.h"
#include "broker/store/idem_store.h"
#include "broker/store/stores.h"
#include "common/clock.h"
#include "common/str.h"
#include "test_db_util.h"

#define T0 1764547200000LL /* 2025-12-01T00:00:00Z */

static const char *url;
static gb_db *db;

static int setup(void **state)
{
    (void)state;
    url = tdb_fresh_url();
    db = tdb_open(url);
    assert_non_null(db);
    assert_int_equal(gb_db_migrate(db, stores_migrations(), 1), GB_OK);
    assert_int_equal(gb_db_migrate(db, idem_migrations(), 1), GB_OK);
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
    gb_db_close(db);
    return 0;
}

static idem_verdict begin(const char *acc, const char *key, const char *digest, idem_rec *r)
{
    idem_verdict v = IDEM_WAIT;
    assert_int_equal(idem_begin(db, acc, key, digest, gb_now_ms(), &v, r), GB_OK);
    return v;
}

static const char D1[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char D2[] = "2222222222222222222222222222222222222222222222222222222222222222";

static void test_reserve_replay_mismatch_expiry(void **state)
{
    (void)state;
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
    assert_int_equal(idem_forget(db, "acc_one", "5xx", r.created_at, 0), GB_OK);
    idem_rec_clear(&r);
    assert_int_equal(begin("acc_one", "5xx", D1, &r), IDEM_RUN);
    idem_rec_clear(&r);
}

/* A reservation whose work committed (idem_made in the work's transaction) is never run
 * again, even when its answer is never stored: past the lease it is IDEM_LOST, it is not
 * forgotten as abandoned, and pruning keeps it for 24 h. A mark rolled back with its work
 * leaves the reservation abandoned as before. */
static void test_made_reservation_never_runs_again(void **state)
{
    (void)state;
    idem_rec r;
    int n = -1;
    int64_t t = T0 + 20 * IDEM_TTL_MS;
    gb_clock_set(t);
    assert_int_equal(begin("acc_one", "made", D1, &r), IDEM_RUN);
    int64_t at = r.created_at;
    idem_rec_clear(&r);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(idem_made(db, "acc_one", "made", at, "ftj_x"), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(begin("acc_one", "rolled", D1, &r), IDEM_RUN);
    int64_t at2 = r.created_at;
    idem_rec_clear(&r);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(idem_made(db, "acc_one", "rolled", at2, "ftj_y"), GB_OK);
    gb_db_rollback(db);
    /* bad marks */
    assert_int_equal(idem_made(db, "acc_one", "made", at, ""), GB_ERR_INVALID);
    assert_int_equal(idem_made(db, "acc_one", "made", at + 1, "ftj_x"), GB_ERR_NOT_FOUND);
    /* within the lease: wait for the owner, as before */
    gb_clock_set(t + IDEM_LEASE_MS);
    assert_int_equal(begin("acc_one", "made", D1, &r), IDEM_WAIT);
    assert_string_equal(r.made, "ftj_x");
    idem_rec_clear(&r);
    /* past it: the owner died after its commit; nothing runs again */
    gb_clock_set(t + IDEM_LEASE_MS + 1);
    assert_int_equal(begin("acc_one", "made", D1, &r), IDEM_LOST);
    assert_string_equal(r.made, "ftj_x");
    assert_int_equal(r.status, 0);
    idem_rec_clear(&r);
    assert_int_equal(begin("acc_one", "made", D2, &r), IDEM_MISMATCH);
    idem_rec_clear(&r);
    assert_int_equal(begin("acc_one", "rolled", D1, &r), IDEM_RUN); /* its mark rolled back */
    assert_string_equal(r.made, "");
    idem_rec_clear(&r);
    /* forgetting an unanswered row that made something keeps it; pruning too, for 24 h */
    assert_int_equal(idem_forget(db, "acc_one", "made", at, 1), GB_OK);
    assert_int_equal(idem_get(db, "acc_one", "made", &r), GB_OK);
    idem_rec_clear(&r);
    assert_int_equal(idem_prune(db, gb_now_ms(), &n), GB_OK);
    assert_int_equal(idem_get(db, "acc_one", "made", &r), GB_OK);
    idem_rec_clear(&r);
    assert_int_equal(idem_prune(db, t + IDEM_TTL_MS + 1, &n), GB_OK);
    assert_int_equal(idem_get(db, "acc_one", "made", &r), GB_ERR_NOT_FOUND);
    /* a stored answer ends the marks */
    gb_clock_set(t + 2 * IDEM_TTL_MS);
    assert_int_equal(begin("acc_one", "done", D1, &r), IDEM_RUN);
    at = r.created_at;
    idem_rec_clear(&r);
    assert_int_equal(idem_finish(db, "acc_one", "done", at, 201, "{}"), GB_OK);
    assert_int_equal(idem_made(db, "acc_one", "done", at, "ftj_z"), GB_ERR_NOT_FOUND);
}

static void test_prune(void **state)
{
    (void)state;
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
    const char *url;
    idem_verdict v;
    gb_err e;
} racer;

static void *race(void *arg)
{
    racer *x = arg;
    gb_db *own = tdb_open(x->url);
    x->e = own ? GB_OK : GB_ERR_DB;
    pthread_barrier_wait(x->go);
    if (!x->e) {
        idem_rec r;
        x->e = idem_begin(own, "acc_one", "race", D1, gb_now_ms(), &x->v, &r);
        idem_rec_clear(&r);
    }
    gb_db_close(own);
    return NULL;
}

static void test_concurrent_reservations(void **state)
{
    (void)state;
    gb_clock_set(T0 + 20 * IDEM_TTL_MS);
    for (int round = 0; round < 5; round++) {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, THREADS);
        racer x[THREADS];
        pthread_t t[THREADS];
        assert_int_equal(idem_prune(db, gb_now_ms() + IDEM_TTL_MS + 1, NULL), GB_OK);
        for (int i = 0; i < THREADS; i++) {
            x[i] = (racer){.go = &go, .url = url, .v = IDEM_MISMATCH};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_replay_mismatch_expiry),
        cmocka_unit_test(test_abandoned_reservation),
        cmocka_unit_test(test_made_reservation_never_runs_again),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_concurrent_reservations),
        cmocka_unit_test(test_covered_routes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
