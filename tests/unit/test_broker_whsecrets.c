/* test_broker_whsecrets.c: each account's webhook signing secrets (webhook_secrets.c) over a
 * whole app (the vault; a SQLite file, or PostgreSQL in the .postgresql variant): created once
 * on first use also when eight connections ask at once, a rotation keeps the previous secret
 * signing beside the new one, and eight rotations at once (five rounds) chain: the secret still
 * signing beside the current one is another rotation's new secret, never the one all of them
 * started from (each rotation reads the current secret inside its transaction). The previous
 * secret stops signing once webhooks.rotation_overlap_ms has passed on the domain clock. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/store/stores.h"
#include "broker/store/webhook_secrets.h"
#include "common/clock.h"
#include "common/str.h"
#include "test_db_util.h"
#include "test_app_util.h"

#define THREADS 8

static app *A;
static char DIR_[] = "/tmp/gb_whsec_XXXXXX";
static char path[300];

static int setup(void **state)
{
    (void)state;
    A = test_app_open(DIR_);
    /* the racers' own connections: the SQLite file, or the .postgresql variant's database */
    gb_strlcpy(path, A->cfg.database, sizeof(path));
    account_rec acc = {.id = "acc_one", .name = "one", .created_at = 1};
    assert_int_equal(account_insert(app_db(A), &acc), GB_OK);
    account_rec two = {.id = "acc_two", .name = "two", .created_at = 2};
    assert_int_equal(account_insert(app_db(A), &two), GB_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    app_db_release();
    return test_app_close(A, DIR_);
}

typedef struct {
    pthread_barrier_t *go;
    const char *account;
    int rotate;
    char out[WEBHOOK_SECRET_MAX];
    gb_err e;
} racer;

static void *race(void *arg)
{
    racer *x = arg;
    gb_db *db = NULL;
    x->e = gb_db_open_url(path, &db);
    pthread_barrier_wait(x->go);
    int64_t until = 0;
    if (!x->e)
        x->e = x->rotate ? webhook_secret_rotate(A, db, x->account, x->out, &until)
                         : webhook_secret_current(A, db, x->account, x->out);
    gb_db_close(db);
    return NULL;
}

static void run(racer *x, const char *account, int rotate)
{
    pthread_barrier_t go;
    pthread_t t[THREADS];
    pthread_barrier_init(&go, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        x[i] = (racer){.go = &go, .account = account, .rotate = rotate};
        assert_int_equal(pthread_create(&t[i], NULL, race, &x[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(x[i].e, GB_OK);
    }
    pthread_barrier_destroy(&go);
}

static void test_first_use_once(void **state)
{
    (void)state;
    racer x[THREADS];
    run(x, "acc_two", 0);
    char cur[WEBHOOK_SECRET_MAX];
    assert_int_equal(webhook_secret_current(A, app_db(A), "acc_two", cur), GB_OK);
    assert_true(strncmp(cur, "whsec_", 6) == 0);
    for (int i = 0; i < THREADS; i++)
        assert_string_equal(x[i].out, cur);
}

static void test_rotate(void **state)
{
    (void)state;
    gb_db *db = app_db(A);
    char first[WEBHOOK_SECRET_MAX], next[WEBHOOK_SECRET_MAX], s[2][WEBHOOK_SECRET_MAX];
    assert_int_equal(webhook_secret_current(A, db, "acc_one", first), GB_OK);
    assert_int_equal(webhook_secrets_signing(A, db, "acc_one", s, 2), 1);
    int64_t until = 0;
    assert_int_equal(webhook_secret_rotate(A, db, "acc_one", next, &until), GB_OK);
    assert_string_not_equal(next, first);
    assert_int_equal(webhook_secrets_signing(A, db, "acc_one", s, 2), 2);
    assert_string_equal(s[0], next);
    assert_string_equal(s[1], first);

    /* eight at once, five times: they chain */
    for (int round = 0; round < 5; round++) {
        racer x[THREADS];
        run(x, "acc_one", 1);
        assert_int_equal(webhook_secrets_signing(A, db, "acc_one", s, 2), 2);
        int cur = -1, prev = -1;
        for (int i = 0; i < THREADS; i++) {
            if (strcmp(x[i].out, s[0]) == 0) cur = i;
            if (strcmp(x[i].out, s[1]) == 0) prev = i;
        }
        assert_true(cur >= 0);  /* the last rotation's secret is current */
        assert_true(prev >= 0); /* the one before it signs beside it, not the round's first */
        assert_true(prev != cur);
    }
}

/* A leaked or retired secret must stop signing when its overlap ends: a receiver that still
 * trusts it would otherwise accept forged deliveries forever. */
static void test_previous_stops_after_overlap(void **state)
{
    (void)state;
    gb_db *db = app_db(A);
    account_rec acc = {.id = "acc_three", .name = "three", .created_at = 3};
    assert_int_equal(account_insert(db, &acc), GB_OK);
    const int64_t t0 = 1900000000000;
    gb_clock_set(t0);
    char first[WEBHOOK_SECRET_MAX], next[WEBHOOK_SECRET_MAX], s[2][WEBHOOK_SECRET_MAX];
    assert_int_equal(webhook_secret_current(A, db, "acc_three", first), GB_OK);
    int64_t until = 0;
    assert_int_equal(webhook_secret_rotate(A, db, "acc_three", next, &until), GB_OK);
    assert_true(A->cfg.webhooks_rotation_overlap_ms > 0);
    assert_int_equal(until, t0 + A->cfg.webhooks_rotation_overlap_ms);
    int64_t stored = 0;
    assert_int_equal(webhook_rotation_get(db, "acc_three", &stored), GB_OK);
    assert_int_equal(stored, until);

    gb_clock_set(until - 1); /* the last millisecond of the overlap: both sign */
    assert_int_equal(webhook_secrets_signing(A, db, "acc_three", s, 2), 2);
    assert_string_equal(s[0], next);
    assert_string_equal(s[1], first);

    gb_clock_set(until); /* overlap over: only the new secret */
    memset(s, 0, sizeof(s));
    assert_int_equal(webhook_secrets_signing(A, db, "acc_three", s, 2), 1);
    assert_string_equal(s[0], next);
    assert_string_equal(s[1], "");
    gb_clock_use_real();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_use_once),
        cmocka_unit_test(test_rotate),
        cmocka_unit_test(test_previous_stops_after_overlap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
