/* test_broker_ratelimit.c: fixed-window rate limits per key, also under threads that hit one
 * key at once (exactly the limit is allowed: no count is lost), and route matching. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "broker/api/ratelimit.h"
#include "broker/api/routes.h"

static void test_window(void **state)
{
    (void)state;
    ratelimit *rl = ratelimit_new(3);
    ratelimit_result r;
    int64_t t0 = 1000000;
    for (int i = 0; i < 3; i++) {
        ratelimit_hit(rl, "ak_1", t0 + i, &r);
        assert_true(r.allowed);
        assert_int_equal(r.remaining, 2 - i);
        assert_int_equal(r.limit, 3);
    }
    ratelimit_hit(rl, "ak_1", t0 + 1000, &r);
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 0);
    assert_int_equal(r.retry_after_s, 3599);
    assert_int_equal(r.reset_at_s, (t0 + 3600000) / 1000);
    ratelimit_hit(rl, "ak_2", t0 + 1000, &r); /* another key is not affected */
    assert_true(r.allowed);
    ratelimit_hit(rl, "ak_1", t0 + 3599999, &r);
    assert_false(r.allowed);
    assert_int_equal(r.retry_after_s, 1);
    ratelimit_hit(rl, "ak_1", t0 + 3600000, &r); /* a new window */
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 2);
    assert_int_equal(r.retry_after_s, 0); /* nothing left of the refusal before */
    /* many keys: expired entries are reused, the table keeps working */
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "ak_x%d", i);
        ratelimit_hit(rl, k, t0 + 10 * 3600000 + i, &r);
        assert_true(r.allowed);
    }
    ratelimit_free(rl);
}

/* A slot freed by an expired key and reused for a new one must start the new key from zero:
 * with 4,000 exhausted keys spread over the table, every bucket holds expired entries, so each
 * of 4,000 new keys an hour later lands on a reused slot and must still get its whole budget. */
static void test_reused_slot_gets_full_budget(void **state)
{
    (void)state;
    enum { KEYS = 4000, PER_HOUR = 2 };
    ratelimit *rl = ratelimit_new(PER_HOUR);
    ratelimit_result r;
    char k[32];
    int64_t t0 = 5000000;
    for (int i = 0; i < KEYS; i++) {
        snprintf(k, sizeof(k), "ak_old%d", i);
        for (int h = 0; h <= PER_HOUR; h++)
            ratelimit_hit(rl, k, t0 + i, &r);
        if (r.allowed) fail_msg("%s: hit %d allowed", k, PER_HOUR + 1);
    }
    int64_t t1 = t0 + 3600000 + KEYS; /* every old window has ended */
    for (int i = 0; i < KEYS; i++) {
        snprintf(k, sizeof(k), "ak_new%d", i);
        for (int h = 0; h < PER_HOUR; h++) {
            ratelimit_hit(rl, k, t1 + i, &r);
            if (!r.allowed || r.remaining != PER_HOUR - 1 - h)
                fail_msg("%s: hit %d: allowed %d remaining %d", k, h + 1, r.allowed, r.remaining);
            assert_int_equal(r.reset_at_s, (t1 + i + 3600000 + 999) / 1000);
        }
        ratelimit_hit(rl, k, t1 + i, &r);
        if (r.allowed) fail_msg("%s: over budget but allowed", k);
    }
    ratelimit_free(rl);
}

/* A key's live window is never taken by another key sharing its bucket: with 4,000 keys
 * (about four per bucket) hitting once each while ak_busy is exhausted, ak_busy stays refused,
 * and every other key still has its own budget. */
static void test_live_entry_kept(void **state)
{
    (void)state;
    enum { KEYS = 4000 };
    ratelimit *rl = ratelimit_new(2);
    ratelimit_result r;
    int64_t t0 = 7000000;
    for (int h = 0; h < 2; h++)
        ratelimit_hit(rl, "ak_busy", t0, &r);
    char k[32];
    for (int i = 0; i < KEYS; i++) {
        snprintf(k, sizeof(k), "ak_other%d", i);
        ratelimit_hit(rl, k, t0 + 1, &r);
        if (!r.allowed || r.remaining != 1) fail_msg("%s: first hit: allowed %d", k, r.allowed);
        ratelimit_hit(rl, "ak_busy", t0 + 1, &r);
        if (r.allowed) fail_msg("ak_busy allowed again after %s", k);
    }
    for (int i = 0; i < KEYS; i++) { /* each other key kept its own count */
        snprintf(k, sizeof(k), "ak_other%d", i);
        ratelimit_hit(rl, k, t0 + 2, &r);
        if (!r.allowed || r.remaining != 0) fail_msg("%s: second hit: allowed %d", k, r.allowed);
    }
    ratelimit_free(rl);
}

static void test_routes(void **state)
{
    (void)state;
    api_req rq;
    char path[128], allow[64];
    memset(&rq, 0, sizeof(rq));
    snprintf(path, sizeof(path), "/api/volt/templates/tpl_abc");
    int i = routes_match("PUT", path, &rq, allow, sizeof(allow));
    assert_true(i >= 0);
    int n;
    const route *t = routes_table(&n);
    assert_string_equal(t[i].pattern, "/api/volt/templates/:id");
    assert_int_equal(rq.nparams, 1);
    assert_string_equal(rq.params[0], "tpl_abc");
    snprintf(path, sizeof(path), "/api/volt/templates/");
    i = routes_match("GET", path, &rq, allow, sizeof(allow));
    assert_true(i >= 0);
    assert_string_equal(t[i].pattern, "/api/volt/templates");
    snprintf(path, sizeof(path), "/api/volt/templates");
    assert_int_equal(routes_match("PATCH", path, &rq, allow, sizeof(allow)), -2);
    assert_string_equal(allow, "GET, POST");
    snprintf(path, sizeof(path), "/api/volt/templates/a/b");
    assert_int_equal(routes_match("GET", path, &rq, allow, sizeof(allow)), -1);
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/acct_1/credit");
    i = routes_match("POST", path, &rq, allow, sizeof(allow));
    assert_true(i >= 0);
    assert_string_equal(rq.params[0], "acct_1");
}

#define HIT_THREADS 4
#define HITS_EACH 3000
#define SHARED_LIMIT 5000

typedef struct {
    ratelimit *rl;
    int allowed;
} hitter;

/* HITS_EACH requests of one key (and of keys of its own, so buckets are added meanwhile) */
static void *hit_many(void *p)
{
    hitter *h = p;
    ratelimit_result r;
    char other[32];
    for (int i = 0; i < HITS_EACH; i++) {
        ratelimit_hit(h->rl, "ak_shared", 1000000 + i, &r);
        h->allowed += r.allowed;
        snprintf(other, sizeof(other), "ak_%p_%d", (void *)h, i % 64);
        ratelimit_hit(h->rl, other, 1000000 + i, &r);
    }
    return NULL;
}

/* Threads of the HTTP server hit one key at once: exactly the limit is allowed, whatever the
 * interleaving (a count lost to a race would let more through). A ThreadSanitizer build
 * (scripts/mutate.sh's tsan- entries) also reports the race itself. */
static void test_threads_share_one_window(void **state)
{
    (void)state;
    ratelimit *rl = ratelimit_new(SHARED_LIMIT);
    pthread_t t[HIT_THREADS];
    hitter h[HIT_THREADS];
    for (int i = 0; i < HIT_THREADS; i++) {
        h[i] = (hitter){.rl = rl};
        assert_int_equal(pthread_create(&t[i], NULL, hit_many, &h[i]), 0);
    }
    int allowed = 0;
    for (int i = 0; i < HIT_THREADS; i++) {
        pthread_join(t[i], NULL);
        allowed += h[i].allowed;
    }
    assert_int_equal(allowed, SHARED_LIMIT);
    ratelimit_result r;
    ratelimit_hit(rl, "ak_shared", 1000000 + HITS_EACH, &r);
    assert_false(r.allowed);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window), cmocka_unit_test(test_reused_slot_gets_full_budget),
        cmocka_unit_test(test_live_entry_kept), cmocka_unit_test(test_threads_share_one_window),
        cmocka_unit_test(test_routes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
