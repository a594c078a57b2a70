/* test_common_memo.c: the memo of recent answers (common/memo.h): a value and an absence are
 * given back as kept, never past their age nor under another change count; a full memo makes
 * room by its oldest answer; kept values live in the memory the caller names and are released
 * there (counted); keys too long are not kept; threads that keep and read the same keys at
 * once get back only what was kept under each key. */
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/memo.h"

static int allocs, releases;

static void *count_alloc(size_t n)
{
    allocs++;
    return malloc(n);
}

static void count_release(void *p, size_t n)
{
    (void)n;
    releases++;
    free(p);
}

/* The value kept under key (asserted a hit), as a NUL-terminated string the caller frees. */
static char *hit(gb_memo *m, const char *key, int64_t now, int64_t age, uint64_t gen)
{
    void *v = NULL;
    size_t n = 0;
    assert_true(gb_memo_get(m, key, now, age, gen, &v, &n));
    assert_non_null(v);
    assert_int_equal(((char *)v)[n], '\0');
    return v;
}

static bool miss(gb_memo *m, const char *key, int64_t now, int64_t age, uint64_t gen)
{
    void *v = (void *)1;
    size_t n = 7;
    bool h = gb_memo_get(m, key, now, age, gen, &v, &n);
    assert_null(v);
    assert_int_equal(n, 0);
    return !h;
}

static void test_value_absence_age_and_count(void **state)
{
    (void)state;
    gb_memo *m = gb_memo_new(4, NULL);
    assert_non_null(m);
    assert_true(miss(m, "a", 100, 1000, 0)); /* nothing kept yet */
    gb_memo_put(m, "a", 100, 5, "secret", 6);
    char *v = hit(m, "a", 100 + 999, 1000, 5);
    assert_string_equal(v, "secret");
    free(v);
    assert_true(miss(m, "a", 100, 1000, 6)); /* read under another count: not given */
    assert_true(miss(m, "a", 100, 1000, 5)); /* and dropped */
    gb_memo_put(m, "a", 100, 5, "secret", 6);
    assert_true(miss(m, "a", 100 + 1000, 1000, 5)); /* as old as max_age: read again */
    gb_memo_put(m, "a", 100, 5, "secret", 6);
    assert_true(miss(m, "a", 100, 0, 5)); /* max_age 0: never kept */
    /* an absence is an answer too */
    gb_memo_put(m, "none", 100, 5, NULL, 0);
    void *p = (void *)1;
    size_t n = 3;
    assert_true(gb_memo_get(m, "none", 150, 1000, 5, &p, &n));
    assert_null(p);
    assert_int_equal(n, 0);
    /* a put replaces the key's answer */
    gb_memo_put(m, "none", 160, 5, "now-there", 9);
    v = hit(m, "none", 170, 1000, 5);
    assert_string_equal(v, "now-there");
    free(v);
    /* bytes, NULs included, come back whole */
    gb_memo_put(m, "bin", 100, 5, "a\0b", 3);
    void *b = NULL;
    assert_true(gb_memo_get(m, "bin", 100, 1000, 5, &b, &n));
    assert_int_equal(n, 3);
    assert_memory_equal(b, "a\0b", 3);
    free(b);
    gb_memo_free(m);
}

static void test_full_memo_drops_its_oldest(void **state)
{
    (void)state;
    gb_memo *m = gb_memo_new(3, NULL);
    gb_memo_put(m, "k1", 10, 0, "1", 1);
    gb_memo_put(m, "k2", 30, 0, "2", 1);
    gb_memo_put(m, "k3", 20, 0, "3", 1);
    gb_memo_put(m, "k4", 40, 0, "4", 1); /* replaces k1, read first */
    assert_true(miss(m, "k1", 50, 1000, 0));
    for (int i = 2; i <= 4; i++) {
        char k[4] = {'k', (char)('0' + i), 0}, *v = hit(m, k, 50, 1000, 0);
        assert_int_equal(v[0], '0' + i);
        free(v);
    }
    gb_memo_clear(m);
    assert_true(miss(m, "k4", 50, 1000, 0));
    gb_memo_free(m);
}

static void test_values_live_in_the_callers_memory(void **state)
{
    (void)state;
    allocs = releases = 0;
    const gb_memo_mem mem = {count_alloc, count_release};
    gb_memo *m = gb_memo_new(2, &mem);
    gb_memo_put(m, "a", 1, 0, "x", 1);
    gb_memo_put(m, "a", 2, 0, "y", 1);  /* the old value released */
    gb_memo_put(m, "b", 3, 0, NULL, 0); /* an absence: nothing allocated */
    assert_int_equal(allocs, 2);
    assert_int_equal(releases, 1);
    assert_true(miss(m, "a", 3, 1000, 1)); /* outdated: released at once */
    assert_int_equal(releases, 2);
    gb_memo_put(m, "c", 4, 0, "z", 1);
    gb_memo_free(m);
    assert_int_equal(allocs, 3);
    assert_int_equal(releases, 3); /* every kept value released */
}

static void test_limits(void **state)
{
    (void)state;
    assert_null(gb_memo_new(0, NULL));
    assert_null(gb_memo_new(257, NULL));
    gb_memo *m = gb_memo_new(2, NULL);
    char *key = malloc(GB_MEMO_KEY_MAX + 1);
    memset(key, 'k', GB_MEMO_KEY_MAX);
    key[GB_MEMO_KEY_MAX] = '\0';
    gb_memo_put(m, key, 1, 0, "v", 1); /* too long: not kept */
    assert_true(miss(m, key, 1, 1000, 0));
    key[GB_MEMO_KEY_MAX - 1] = '\0'; /* the longest kept */
    gb_memo_put(m, key, 1, 0, "v", 1);
    char *v = hit(m, key, 1, 1000, 0);
    free(v);
    free(key);
    assert_true(miss(NULL, "a", 1, 1000, 0));
    /* keys of one name in two stores differ; none for no name or past the length */
    char k1[GB_MEMO_KEY_MAX], k2[GB_MEMO_KEY_MAX];
    assert_true(gb_memo_key(k1, "/data/a.db", "hub/token"));
    assert_true(gb_memo_key(k2, "/data/b.db", "hub/token"));
    assert_string_equal(k1, "/data/a.db\nhub/token");
    assert_string_not_equal(k1, k2);
    assert_true(gb_memo_key(k2, NULL, "x"));
    assert_string_equal(k2, "\nx");
    assert_false(gb_memo_key(k1, "/data/a.db", NULL));
    char *store = malloc(GB_MEMO_KEY_MAX);
    memset(store, 's', GB_MEMO_KEY_MAX - 3);
    store[GB_MEMO_KEY_MAX - 3] = '\0';
    assert_true(gb_memo_key(k1, store, "n")); /* the longest: GB_MEMO_KEY_MAX - 1 bytes */
    assert_false(gb_memo_key(k1, store, "nn"));
    free(store);
    gb_memo_free(m);
    gb_memo_free(NULL);
}

#define MEMO_THREADS 4
#define MEMO_ROUNDS 4000

typedef struct {
    gb_memo *m;
    int id, wrong, hits;
} memo_worker;

/* Keeps "key-K:value-of-K" under key-K (K from 0 to 11, more keys than slots) and reads keys
 * back: a hit must be a value kept under that very key. */
static void *memo_work(void *p)
{
    memo_worker *w = p;
    char key[32], val[64];
    for (int i = 0; i < MEMO_ROUNDS; i++) {
        int k = (i * 7 + w->id) % 12;
        snprintf(key, sizeof(key), "key-%d", k);
        if (i % 3 == 0) {
            int n = snprintf(val, sizeof(val), "%s:value-of-%d", key, k);
            gb_memo_put(w->m, key, 1000, 1, val, (size_t)n);
            continue;
        }
        void *got = NULL;
        size_t n = 0;
        if (!gb_memo_get(w->m, key, 1000, 60000, 1, &got, &n)) continue;
        w->hits++;
        snprintf(val, sizeof(val), "%s:value-of-%d", key, k);
        if (!got || n != strlen(val) || memcmp(got, val, n) != 0) w->wrong++;
        free(got);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    gb_memo *m = gb_memo_new(8, NULL);
    assert_non_null(m);
    pthread_t t[MEMO_THREADS];
    memo_worker w[MEMO_THREADS];
    int hits = 0;
    for (int i = 0; i < MEMO_THREADS; i++) {
        w[i] = (memo_worker){.m = m, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, memo_work, &w[i]), 0);
    }
    for (int i = 0; i < MEMO_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].wrong, 0);
        hits += w[i].hits;
    }
    assert_true(hits > 0);
    gb_memo_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_absence_age_and_count),
        cmocka_unit_test(test_full_memo_drops_its_oldest),
        cmocka_unit_test(test_values_live_in_the_callers_memory),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
