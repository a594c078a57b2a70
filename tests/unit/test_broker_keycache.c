/* test_broker_keycache.c: the verified API key cache: hits, the TTL, the size bound (a full
 * set loses its oldest entry), invalidation (and a row read before a revoke not put back after
 * it), and concurrent use from many threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "broker/api/keycache.h"

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A 64-hex-digit hash for i (spread over the sets like a real keyed hash). */
static void hash_of(uint64_t i, char out[VAULT_HASH_HEX])
{
    snprintf(out, VAULT_HASH_HEX, "%016llx%016llx%016llx%016llx", (unsigned long long)mix(i),
             (unsigned long long)mix(i + 1), (unsigned long long)mix(i + 2), (unsigned long long)i);
}

static keycache_val val_of(uint64_t i)
{
    keycache_val v;
    memset(&v, 0, sizeof(v));
    snprintf(v.key_id, sizeof(v.key_id), "ak_%llu", (unsigned long long)i);
    snprintf(v.account_id, sizeof(v.account_id), "acct_%llu", (unsigned long long)(i % 7));
    v.scopes = (unsigned)(i & 0xff);
    v.last_used = (int64_t)i;
    return v;
}

static void put(keycache *kc, uint64_t i, int64_t now)
{
    char h[VAULT_HASH_HEX];
    hash_of(i, h);
    keycache_val v = val_of(i);
    keycache_put(kc, h, &v, keycache_gen(kc), now);
}

static int has(keycache *kc, uint64_t i, int64_t now)
{
    char h[VAULT_HASH_HEX];
    hash_of(i, h);
    keycache_val v;
    if (!keycache_get(kc, h, now, &v)) return 0;
    keycache_val want = val_of(i);
    assert_string_equal(v.key_id, want.key_id);
    assert_string_equal(v.account_id, want.account_id);
    assert_int_equal(v.scopes, want.scopes);
    return 1;
}

static void test_hit_and_ttl(void **state)
{
    (void)state;
    keycache *kc = keycache_new(500);
    assert_non_null(kc);
    assert_false(has(kc, 1, 1000));
    put(kc, 1, 1000);
    assert_true(has(kc, 1, 1000));
    assert_true(has(kc, 1, 1499));
    assert_false(has(kc, 2, 1000));          /* another hash */
    assert_false(has(kc, 1, 1500));          /* the TTL has passed */
    assert_int_equal(keycache_count(kc), 0); /* and the expired entry is gone */
    put(kc, 1, 2000);                        /* read from the store again */
    assert_true(has(kc, 1, 2100));
    assert_false(has(kc, 1, 2500));
    keycache_free(kc);

    keycache *off = keycache_new(0); /* api.key_cache_ms 0: holds nothing */
    put(off, 1, 1000);
    assert_false(has(off, 1, 1000));
    assert_int_equal(keycache_count(off), 0);
    keycache_free(off);
}

static void test_touched_keeps_age(void **state)
{
    (void)state;
    keycache *kc = keycache_new(1000);
    char h[VAULT_HASH_HEX];
    hash_of(9, h);
    put(kc, 9, 0);
    keycache_touched(kc, h, 123456);
    keycache_val v;
    assert_true(keycache_get(kc, h, 999, &v));
    assert_int_equal(v.last_used, 123456);
    assert_false(keycache_get(kc, h, 1000, &v)); /* a touch does not extend the TTL */
    keycache_free(kc);
}

static void test_bound(void **state)
{
    (void)state;
    keycache *kc = keycache_new(60000);
    const int cap = KEYCACHE_SETS * KEYCACHE_WAYS;
    for (uint64_t i = 0; i < (uint64_t)cap * 8; i++)
        put(kc, i, (int64_t)i);
    int n = keycache_count(kc);
    assert_true(n <= cap);
    assert_true(n > cap / 2); /* the sets fill up, the memory does not grow */
    /* the newest ones survive, most of the oldest went */
    int newest = 0, oldest = 0;
    for (uint64_t i = 0; i < 200; i++) {
        newest += has(kc, (uint64_t)cap * 8 - 1 - i, cap * 8);
        oldest += has(kc, i, cap * 8);
    }
    assert_int_equal(newest, 200);
    assert_true(oldest < 10);
    keycache_free(kc);

    /* one set: hashes with the same leading digits; a fifth entry evicts the oldest */
    kc = keycache_new(60000);
    char h[KEYCACHE_WAYS + 1][VAULT_HASH_HEX];
    for (int i = 0; i <= KEYCACHE_WAYS; i++) {
        snprintf(h[i], VAULT_HASH_HEX, "%064d", i); /* "000...0i": all in set 0 */
        keycache_val v = val_of((uint64_t)i);
        keycache_put(kc, h[i], &v, keycache_gen(kc), 100 + i);
    }
    keycache_val v;
    assert_false(keycache_get(kc, h[0], 200, &v));
    for (int i = 1; i <= KEYCACHE_WAYS; i++)
        assert_true(keycache_get(kc, h[i], 200, &v));
    assert_int_equal(keycache_count(kc), KEYCACHE_WAYS);
    /* putting an entry that is there replaces it, evicting nothing */
    v = val_of(77);
    keycache_put(kc, h[2], &v, keycache_gen(kc), 300);
    assert_int_equal(keycache_count(kc), KEYCACHE_WAYS);
    assert_true(keycache_get(kc, h[2], 301, &v));
    assert_string_equal(v.key_id, "ak_77");
    keycache_free(kc);
}

static void test_invalidation(void **state)
{
    (void)state;
    keycache *kc = keycache_new(60000);
    put(kc, 1, 0);
    put(kc, 2, 0);
    keycache_drop_key(kc, "ak_1");
    assert_false(has(kc, 1, 1));
    assert_true(has(kc, 2, 1));

    /* a row read before a revoke is not cached after it */
    char h[VAULT_HASH_HEX];
    hash_of(3, h);
    uint64_t gen = keycache_gen(kc); /* the reader starts its store lookup */
    keycache_drop_key(kc, "ak_3");   /* the revoke commits and invalidates */
    keycache_val v = val_of(3);
    keycache_put(kc, h, &v, gen, 2); /* the reader's stale row */
    assert_false(has(kc, 3, 3));
    put(kc, 3, 4); /* a read after the revoke would not find the row; this one is fresh */
    assert_true(has(kc, 3, 5));

    keycache_clear(kc);
    assert_int_equal(keycache_count(kc), 0);
    keycache_free(kc);
}

/* ---- concurrent use ---- */

#define THREADS 8
#define POOL 3000
#define ROUNDS 20000

typedef struct {
    keycache *kc;
    int id;
    int wrong; /* values that did not belong to the hash asked for */
    int hits;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    uint64_t r = (uint64_t)a->id * 7919;
    for (int k = 0; k < ROUNDS; k++) {
        r = mix(r);
        uint64_t i = r % POOL;
        char h[VAULT_HASH_HEX];
        hash_of(i, h);
        keycache_val v;
        if (keycache_get(a->kc, h, k, &v)) {
            keycache_val want = val_of(i);
            if (strcmp(v.key_id, want.key_id) || strcmp(v.account_id, want.account_id) ||
                v.scopes != want.scopes)
                a->wrong++;
            a->hits++;
        } else {
            v = val_of(i);
            keycache_put(a->kc, h, &v, keycache_gen(a->kc), k);
        }
        if (a->id == 0 && k % 500 == 0) keycache_drop_key(a->kc, "ak_5");
        if (a->id == 1 && k % 5000 == 0) keycache_clear(a->kc);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    keycache *kc = keycache_new(1000000);
    pthread_t t[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){.kc = kc, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &args[i]), 0);
    }
    int hits = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].wrong, 0);
        hits += args[i].hits;
    }
    assert_true(hits > THREADS * ROUNDS / 4); /* the cache served most lookups */
    assert_true(keycache_count(kc) <= KEYCACHE_SETS * KEYCACHE_WAYS);
    keycache_drop_key(kc, "ak_5");
    assert_false(has(kc, 5, 1));
    keycache_free(kc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_ttl), cmocka_unit_test(test_touched_keeps_age),
        cmocka_unit_test(test_bound),       cmocka_unit_test(test_invalidation),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
