/* test_vault_hash.c: API-key hashing: keyed BLAKE2b-256 under the stored pepper, stable across
 * reopening and rotation, different across peppers and keys, one pepper when brokers start at
 * once on an empty database; the request digest (vault_digest) keyed by the same pepper. */
#include "test_db_util.h"
#include "test_vault_util.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>

static void hash_ok(vault *v, const char *key, char out[VAULT_HASH_HEX])
{
    assert_int_equal(vault_hash_api_key(v, key, out), GB_OK);
    assert_int_equal(strlen(out), 64);
    for (int i = 0; i < 64; i++)
        assert_true(isxdigit((unsigned char)out[i]) && !isupper(out[i]));
}

static void test_hash_basics(void **state)
{
    tv_env *t = *state;
    char a[VAULT_HASH_HEX], b[VAULT_HASH_HEX], c[VAULT_HASH_HEX];
    assert_int_equal(vault_hash_api_key(t->v, "gb_live_abc", a), GB_ERR_INTERNAL); /* no pepper */
    assert_int_equal(vault_pepper_load(t->v, t->db), GB_OK);
    assert_false(gb_db_in_txn(t->db));
    assert_int_equal(tv_count(t->db, "SELECT count(*) FROM vault_secrets WHERE ref = ?1",
                              "vault/api_key_pepper"),
                     1);
    hash_ok(t->v, "gb_live_abc", a);
    hash_ok(t->v, "gb_live_abc", b);
    assert_string_equal(a, b);
    hash_ok(t->v, "gb_live_abd", c);
    assert_string_not_equal(a, c);
    hash_ok(t->v, "", c);
    assert_string_not_equal(a, c);

    /* It is BLAKE2b-256 keyed with the stored pepper, not an unkeyed hash. */
    char *pepper = NULL;
    size_t pn = 0;
    assert_int_equal(vault_get(t->v, t->db, "vault/api_key_pepper", &pepper, &pn), GB_OK);
    assert_int_equal(pn, 32);
    unsigned char h[32], plain[32];
    char hex[65];
    crypto_generichash(h, sizeof(h), (const unsigned char *)"gb_live_abc", 11,
                       (const unsigned char *)pepper, 32);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    assert_string_equal(hex, a);
    crypto_generichash(plain, sizeof(plain), (const unsigned char *)"gb_live_abc", 11, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), plain, sizeof(plain));
    assert_string_not_equal(hex, a);
    vault_secret_free(pepper, pn);

    /* Loading again keeps the same pepper. */
    assert_int_equal(vault_pepper_load(t->v, t->db), GB_OK);
    hash_ok(t->v, "gb_live_abc", b);
    assert_string_equal(a, b);
    assert_int_equal(tv_count(t->db, "SELECT count(*) FROM vault_secrets", NULL), 1);
    /* Refuses to run inside the caller's transaction, and leaves it open. */
    assert_int_equal(gb_db_begin(t->db), GB_OK);
    assert_int_equal(vault_pepper_load(t->v, t->db), GB_ERR_INTERNAL);
    assert_true(gb_db_in_txn(t->db));
    gb_db_rollback(t->db);
}

static void test_peppers_differ(void **state)
{
    tv_env *t = *state;
    tv_env *u = tv_env_new();
    char a[VAULT_HASH_HEX], b[VAULT_HASH_HEX];
    assert_int_equal(vault_pepper_load(t->v, t->db), GB_OK);
    assert_int_equal(vault_pepper_load(u->v, u->db), GB_OK);
    hash_ok(t->v, "gb_live_same", a);
    hash_ok(u->v, "gb_live_same", b);
    assert_string_not_equal(a, b);
    tv_env_free(u);
}

static void test_pepper_survives_reopen_and_rotation(void **state)
{
    tv_env *t = *state;
    char a[VAULT_HASH_HEX], b[VAULT_HASH_HEX];
    char err[VAULT_ERR_MAX] = "";
    assert_int_equal(vault_pepper_load(t->v, t->db), GB_OK);
    hash_ok(t->v, "gb_live_xyz", a);

    vault_free(t->v);
    gb_db_close(t->db);
    t->db = tv_db_open(t->db_url);
    assert_int_equal(vault_open(t->key_file, NULL, &t->v, err), GB_OK);
    assert_int_equal(vault_pepper_load(t->v, t->db), GB_OK);
    hash_ok(t->v, "gb_live_xyz", b);
    assert_string_equal(a, b);

    size_t n = 0;
    assert_int_equal(vault_rotate(t->key_file, t->db, &n, err), GB_OK);
    assert_int_equal(n, 1); /* the pepper itself */
    vault_free(t->v);
    gb_db_close(t->db);
    t->db = tv_db_open(t->db_url);
    assert_int_equal(vault_open(t->key_file, NULL, &t->v, err), GB_OK);
    assert_int_equal(vault_pepper_load(t->v, t->db), GB_OK);
    hash_ok(t->v, "gb_live_xyz", b);
    assert_string_equal(a, b);
}

static void test_pepper_wrong_master_key(void **state)
{
    tv_env *t = *state;
    assert_int_equal(vault_pepper_load(t->v, t->db), GB_OK);
    char other[PATH_MAX], err[VAULT_ERR_MAX] = "";
    vault *v2 = NULL;
    gb_snprintf(other, sizeof(other), "%s/other.key", t->dir);
    assert_int_equal(vault_keyfile_create(other), GB_OK);
    assert_int_equal(vault_open(other, NULL, &v2, err), GB_OK);
    /* A daemon started with the wrong key must not silently make a new pepper. */
    assert_int_equal(vault_pepper_load(v2, t->db), GB_ERR_CRYPTO);
    assert_false(gb_db_in_txn(t->db));
    char h[VAULT_HASH_HEX];
    assert_int_equal(vault_hash_api_key(v2, "k", h), GB_ERR_INTERNAL);
    vault_free(v2);
}

/* BLAKE2b-256 of each part prefixed by its length (8 bytes, little-endian), keyed by key
 * (NULL: unkeyed): what vault.h says vault_digest computes. */
static void digest_of(const char *const *parts, int n, const unsigned char *key, size_t kn,
                      char hex[VAULT_HASH_HEX])
{
    crypto_generichash_state st;
    unsigned char h[32];
    crypto_generichash_init(&st, key, kn, sizeof(h));
    for (int i = 0; i < n; i++) {
        unsigned char len[8] = {0};
        size_t l = strlen(parts[i]);
        for (int k = 0; k < 8; k++)
            len[k] = (unsigned char)((uint64_t)l >> (8 * k));
        crypto_generichash_update(&st, len, sizeof(len));
        crypto_generichash_update(&st, (const unsigned char *)parts[i], l);
    }
    crypto_generichash_final(&st, h, sizeof(h));
    sodium_bin2hex(hex, VAULT_HASH_HEX, h, sizeof(h));
}

/* The request digest kept with an idempotency key is keyed by the stored pepper: one who reads
 * the database cannot test a guessed request body (with its secrets) against it. */
static void test_digest_keyed(void **state)
{
    tv_env *t = *state;
    const char *p[] = {"POST", "/api/volt/pods", "{\"env\":{\"HF_TOKEN\":\"hf_guess\"}}"};
    const void *parts[] = {p[0], p[1], p[2]};
    size_t lens[] = {strlen(p[0]), strlen(p[1]), strlen(p[2])};
    char d[VAULT_HASH_HEX], want[VAULT_HASH_HEX], plain[VAULT_HASH_HEX];
    assert_int_equal(vault_digest(t->v, parts, lens, 3, d), GB_ERR_INTERNAL); /* no pepper */
    assert_int_equal(vault_pepper_load(t->v, t->db), GB_OK);
    assert_int_equal(vault_digest(t->v, parts, lens, 3, d), GB_OK);

    char *pepper = NULL;
    size_t pn = 0;
    assert_int_equal(vault_get(t->v, t->db, "vault/api_key_pepper", &pepper, &pn), GB_OK);
    assert_int_equal(pn, 32);
    digest_of(p, 3, (const unsigned char *)pepper, pn, want);
    vault_secret_free(pepper, pn);
    assert_string_equal(d, want);
    digest_of(p, 3, NULL, 0, plain);
    assert_string_not_equal(d, plain);

    /* another broker's pepper: another digest of the same request */
    tv_env *u = tv_env_new();
    char other[VAULT_HASH_HEX];
    assert_int_equal(vault_pepper_load(u->v, u->db), GB_OK);
    assert_int_equal(vault_digest(u->v, parts, lens, 3, other), GB_OK);
    assert_string_not_equal(d, other);
    tv_env_free(u);
}

/* Brokers starting at once on an empty database each load the pepper on their own
 * connection: they all end with the one stored pepper (the same hash of a key), never one
 * written over another's. */
#define STARTERS 4

typedef struct {
    tv_env *t;
    pthread_barrier_t *go;
    gb_err e;
    char hash[VAULT_HASH_HEX];
} starter;

static void *start_broker(void *arg)
{
    starter *s = arg;
    vault *v = NULL;
    char err[VAULT_ERR_MAX] = "";
    gb_db *db = tv_db_open(s->t->db_url);
    s->e = vault_open(s->t->key_file, NULL, &v, err);
    pthread_barrier_wait(s->go); /* all connected: the loads start together */
    if (!s->e) s->e = vault_pepper_load(v, db);
    if (!s->e) s->e = vault_hash_api_key(v, "gb_live_same", s->hash);
    vault_free(v);
    gb_db_close(db);
    return NULL;
}

static void test_pepper_first_start_race(void **state)
{
    tv_env *t = *state;
    for (int round = 0; round < 5; round++) {
        if (round) /* an empty database again */
            assert_int_equal(gb_db_exec(t->db, "DELETE FROM vault_secrets"), GB_OK);
        starter s[STARTERS];
        pthread_t th[STARTERS];
        pthread_barrier_t go;
        assert_int_equal(pthread_barrier_init(&go, NULL, STARTERS), 0);
        for (int i = 0; i < STARTERS; i++) {
            memset(&s[i], 0, sizeof(s[i]));
            s[i].t = t;
            s[i].go = &go;
            assert_int_equal(pthread_create(&th[i], NULL, start_broker, &s[i]), 0);
        }
        for (int i = 0; i < STARTERS; i++) {
            assert_int_equal(pthread_join(th[i], NULL), 0);
            assert_int_equal(s[i].e, GB_OK);
        }
        pthread_barrier_destroy(&go);
        char now[VAULT_HASH_HEX];
        vault_pepper_load(t->v, t->db); /* what a broker starting later reads */
        hash_ok(t->v, "gb_live_same", now);
        for (int i = 0; i < STARTERS; i++)
            assert_string_equal(s[i].hash, now);
    }
}

int main(void)
{
    gb_log_set_level(GB_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hash_basics, tv_setup, tv_teardown),
        cmocka_unit_test_setup_teardown(test_peppers_differ, tv_setup, tv_teardown),
        cmocka_unit_test_setup_teardown(test_pepper_survives_reopen_and_rotation, tv_setup,
                                        tv_teardown),
        cmocka_unit_test_setup_teardown(test_pepper_wrong_master_key, tv_setup, tv_teardown),
        cmocka_unit_test_setup_teardown(test_pepper_first_start_race, tv_setup, tv_teardown),
        cmocka_unit_test_setup_teardown(test_digest_keyed, tv_setup, tv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
