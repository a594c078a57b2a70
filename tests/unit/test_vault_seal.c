/* test_vault_seal.c: sealing and opening blobs (round trips, tampering, wrong ad or key) and
 * the vault_secrets store (put/get/delete, blobs moved between rows, no plaintext on disk). */
#define _GNU_SOURCE /* memmem */
#include "test_db_util.h"
#include "test_vault_util.h"

#include <stdint.h>

#define OVERHEAD 45 /* format 1 + key id 4 + nonce 24 + tag 16 */

static int setup(void **state)
{
    *state = tv_env_new();
    return 0;
}

static int teardown(void **state)
{
    tv_env_free(*state);
    return 0;
}

static int hexval(char c)
{
    assert_true((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

static void round_trip(vault *v, const void *pt, size_t n)
{
    uint8_t *blob = NULL;
    size_t blen = 0;
    char *out = NULL;
    size_t on = 0;
    char kid[9];
    char blob_kid[9];
    assert_int_equal(vault_seal(v, "ref/a", pt, n, &blob, &blen), GB_OK);
    assert_int_equal(blen, n + OVERHEAD);
    assert_int_equal(blob[0], 1);
    vault_active_key_id(v, kid);
    assert_int_equal(gb_snprintf(blob_kid, sizeof(blob_kid), "%02x%02x%02x%02x", blob[1], blob[2],
                                 blob[3], blob[4]),
                     0);
    assert_string_equal(kid, blob_kid);
    if (n >= 16) assert_null(memmem(blob, blen, pt, 16)); /* not stored in clear */
    assert_int_equal(vault_unseal(v, "ref/a", blob, blen, &out, &on), GB_OK);
    assert_int_equal(on, n);
    if (n) assert_memory_equal(out, pt, n);
    assert_int_equal(out[n], '\0');
    vault_secret_free(out, on);
    free(blob);
}

static void test_round_trip(void **state)
{
    tv_env *t = *state;
    round_trip(t->v, "hunter2", 7);
    round_trip(t->v, "", 0);
    round_trip(t->v, NULL, 0);
    round_trip(t->v, "x", 1);
    size_t big = 64 * 1024;
    unsigned char *p = malloc(big);
    assert_non_null(p);
    for (size_t i = 0; i < big; i++)
        p[i] = (unsigned char)(i * 131 + (i >> 8)); /* has NULs */
    round_trip(t->v, p, big);
    free(p);
}

static void test_nonce_is_random(void **state)
{
    tv_env *t = *state;
    uint8_t *a = NULL, *b = NULL;
    size_t an = 0, bn = 0;
    assert_int_equal(vault_seal(t->v, "r", "same", 4, &a, &an), GB_OK);
    assert_int_equal(vault_seal(t->v, "r", "same", 4, &b, &bn), GB_OK);
    assert_int_equal(an, bn);
    assert_memory_not_equal(a + 5, b + 5, 24);
    assert_memory_not_equal(a + 29, b + 29, an - 29);
    free(a);
    free(b);
    /* one seal after another, each blob freed first: the allocator hands back the same
     * memory, so a nonce not drawn afresh (left as the buffer held it) repeats here */
    enum { SEALS = 32 };
    uint8_t nonces[SEALS][24];
    for (int i = 0; i < SEALS; i++) {
        assert_int_equal(vault_seal(t->v, "r", "same", 4, &a, &an), GB_OK);
        memcpy(nonces[i], a + 5, 24);
        free(a);
    }
    for (int i = 0; i < SEALS; i++)
        for (int j = i + 1; j < SEALS; j++)
            assert_memory_not_equal(nonces[i], nonces[j], 24);
}

static void test_every_flipped_byte_fails(void **state)
{
    tv_env *t = *state;
    uint8_t *blob = NULL;
    size_t blen = 0;
    const char *secret = "correct horse battery staple";
    assert_int_equal(vault_seal(t->v, "ref/flip", secret, strlen(secret), &blob, &blen), GB_OK);
    for (size_t i = 0; i < blen; i++) {
        static const uint8_t masks[] = {0x01, 0x80, 0xff};
        for (size_t m = 0; m < sizeof(masks); m++) {
            char *out = NULL;
            size_t on = 0;
            blob[i] ^= masks[m];
            gb_err e = vault_unseal(t->v, "ref/flip", blob, blen, &out, &on);
            blob[i] ^= masks[m];
            if (e != GB_ERR_CRYPTO) fail_msg("byte %zu mask %02x: got %d", i, masks[m], e);
            assert_null(out);
            assert_int_equal(on, 0);
        }
    }
    /* Truncated or extended blobs fail too; the original still opens. */
    char *out = NULL;
    size_t on = 0;
    assert_int_equal(vault_unseal(t->v, "ref/flip", blob, blen - 1, &out, &on), GB_ERR_CRYPTO);
    assert_int_equal(vault_unseal(t->v, "ref/flip", blob, OVERHEAD - 1, &out, &on), GB_ERR_CRYPTO);
    assert_int_equal(vault_unseal(t->v, "ref/flip", blob, 0, &out, &on), GB_ERR_CRYPTO);
    uint8_t *longer = malloc(blen + 1);
    assert_non_null(longer);
    memcpy(longer, blob, blen);
    longer[blen] = 0;
    assert_int_equal(vault_unseal(t->v, "ref/flip", longer, blen + 1, &out, &on), GB_ERR_CRYPTO);
    free(longer);
    assert_int_equal(vault_unseal(t->v, "ref/flip", blob, blen, &out, &on), GB_OK);
    assert_string_equal(out, secret);
    vault_secret_free(out, on);
    free(blob);
}

static void test_wrong_ad_fails(void **state)
{
    tv_env *t = *state;
    uint8_t *blob = NULL;
    size_t blen = 0;
    char *out = NULL;
    size_t on = 0;
    assert_int_equal(vault_seal(t->v, "providers/lium/api_key", "k", 1, &blob, &blen), GB_OK);
    assert_int_equal(vault_unseal(t->v, "providers/lium/api_keY", blob, blen, &out, &on),
                     GB_ERR_CRYPTO);
    assert_int_equal(vault_unseal(t->v, "providers/lium/api_key ", blob, blen, &out, &on),
                     GB_ERR_CRYPTO);
    assert_int_equal(vault_unseal(t->v, "", blob, blen, &out, &on), GB_ERR_CRYPTO);
    assert_null(out);
    assert_int_equal(vault_unseal(t->v, "providers/lium/api_key", blob, blen, &out, &on), GB_OK);
    vault_secret_free(out, on);
    free(blob);
}

static void test_other_key_fails(void **state)
{
    tv_env *t = *state;
    char other[PATH_MAX];
    char err[VAULT_ERR_MAX] = "";
    vault *v2 = NULL;
    uint8_t *blob = NULL;
    size_t blen = 0;
    char *out = NULL;
    size_t on = 0;
    assert_int_equal(gb_snprintf(other, sizeof(other), "%s/other.key", t->dir), 0);
    assert_int_equal(vault_keyfile_create(other), GB_OK);
    assert_int_equal(vault_open(other, NULL, &v2, err), GB_OK);
    assert_int_equal(vault_seal(t->v, "r", "secret", 6, &blob, &blen), GB_OK);
    assert_int_equal(vault_unseal(v2, "r", blob, blen, &out, &on), GB_ERR_CRYPTO);
    /* Same key id as v2's key, but sealed under t->v's key: still refused. */
    char kid[9];
    vault_active_key_id(v2, kid);
    for (int i = 0; i < 4; i++)
        blob[1 + i] = (uint8_t)(hexval(kid[2 * i]) << 4 | hexval(kid[2 * i + 1]));
    assert_int_equal(vault_unseal(v2, "r", blob, blen, &out, &on), GB_ERR_CRYPTO);
    assert_null(out);
    free(blob);
    vault_free(v2);
}

static void test_bad_arguments(void **state)
{
    tv_env *t = *state;
    uint8_t *blob = NULL;
    size_t blen = 0;
    assert_int_equal(vault_seal(t->v, NULL, "x", 1, &blob, &blen), GB_ERR_INVALID);
    assert_int_equal(vault_seal(t->v, "r", NULL, 1, &blob, &blen), GB_ERR_INVALID);
    assert_int_equal(vault_seal(t->v, "r", "x", (size_t)VAULT_SECRET_MAX + 1, &blob, &blen),
                     GB_ERR_LIMIT);
    assert_null(blob);
    vault_secret_free(NULL, 0);
    /* the stored secrets' calls without a vault, a store or a reference: refused, nothing read
     * or written (inside a transaction, where a put would otherwise write) */
    char *out = NULL;
    size_t on = 1;
    assert_int_equal(gb_db_begin(t->db), GB_OK);
    assert_int_equal(vault_put(NULL, t->db, "r", "x", 1), GB_ERR_INVALID);
    assert_int_equal(vault_put(t->v, NULL, "r", "x", 1), GB_ERR_INVALID);
    assert_int_equal(vault_put(t->v, t->db, NULL, "x", 1), GB_ERR_INVALID);
    assert_int_equal(vault_delete(t->db, NULL), GB_ERR_INVALID);
    assert_int_equal(vault_delete(NULL, "r"), GB_ERR_INVALID);
    assert_int_equal(gb_db_commit(t->db), GB_OK);
    assert_int_equal(vault_get(NULL, t->db, "r", &out, &on), GB_ERR_INVALID);
    assert_int_equal(vault_get(t->v, NULL, "r", &out, &on), GB_ERR_INVALID);
    assert_int_equal(vault_get(t->v, t->db, NULL, &out, &on), GB_ERR_INVALID);
    assert_null(out);
    assert_int_equal(on, 0);
}

static void test_put_get_delete(void **state)
{
    tv_env *t = *state;
    char *out = NULL;
    size_t on = 0;
    tv_put(t->v, t->db, "docker_credentials/cred_1/password", "pa55word");
    tv_expect(t->v, t->db, "docker_credentials/cred_1/password", "pa55word");
    /* Upsert: one row, new value. */
    tv_put(t->v, t->db, "docker_credentials/cred_1/password", "n3w");
    tv_expect(t->v, t->db, "docker_credentials/cred_1/password", "n3w");
    assert_int_equal(tv_count(t->db, "SELECT count(*) FROM vault_secrets", NULL), 1);
    char kid[9];
    vault_active_key_id(t->v, kid);
    assert_int_equal(tv_count(t->db, "SELECT count(*) FROM vault_secrets WHERE key_id = ?1", kid),
                     1);
    assert_int_equal(vault_get(t->v, t->db, "nope", &out, &on), GB_ERR_NOT_FOUND);
    assert_null(out);
    assert_int_equal(vault_delete(t->db, "docker_credentials/cred_1/password"), GB_OK);
    assert_int_equal(vault_get(t->v, t->db, "docker_credentials/cred_1/password", &out, &on),
                     GB_ERR_NOT_FOUND);
    assert_int_equal(vault_delete(t->db, "docker_credentials/cred_1/password"), GB_OK);
    assert_int_equal(tv_count(t->db, "SELECT count(*) FROM vault_secrets", NULL), 0);
}

static void test_put_needs_transaction(void **state)
{
    tv_env *t = *state;
    assert_int_equal(vault_put(t->v, t->db, "r", "x", 1), GB_ERR_INTERNAL);
    assert_int_equal(tv_count(t->db, "SELECT count(*) FROM vault_secrets", NULL), 0);
    /* A rolled back put leaves nothing either. */
    assert_int_equal(gb_db_begin(t->db), GB_OK);
    assert_int_equal(vault_put(t->v, t->db, "r", "x", 1), GB_OK);
    gb_db_rollback(t->db);
    assert_int_equal(tv_count(t->db, "SELECT count(*) FROM vault_secrets", NULL), 0);
}

static void test_blob_copied_to_other_ref_fails(void **state)
{
    tv_env *t = *state;
    char *out = NULL;
    size_t on = 0;
    tv_put(t->v, t->db, "providers/a/api_key", "key-of-a");
    tv_put(t->v, t->db, "providers/b/api_key", "key-of-b");
    tv_sql(t->db, "UPDATE vault_secrets SET blob = (SELECT blob FROM vault_secrets WHERE ref = "
                  "'providers/a/api_key') WHERE ref = 'providers/b/api_key'");
    assert_int_equal(vault_get(t->v, t->db, "providers/b/api_key", &out, &on), GB_ERR_CRYPTO);
    assert_null(out);
    tv_expect(t->v, t->db, "providers/a/api_key", "key-of-a");
    /* Renaming the row is the same attack. */
    tv_sql(t->db, "UPDATE vault_secrets SET ref = 'providers/c/api_key' WHERE ref = "
                  "'providers/a/api_key'");
    assert_int_equal(vault_get(t->v, t->db, "providers/c/api_key", &out, &on), GB_ERR_CRYPTO);
}

static int file_has(const char *path, const void *needle, size_t n)
{
    size_t len = 0;
    char *data = tv_slurp(path, &len);
    if (!data) return 0; /* no such file: nothing in it */
    int found = memmem(data, len, needle, n) != NULL;
    free(data);
    return found;
}

static void test_no_plaintext_on_disk(void **state)
{
    tv_env *t = *state;
    const char *secret = "PLAINTEXT-MARKER-d41d8cd98f00b204e980";
    if (tdb_is_pg()) skip(); /* the scan reads SQLite's files; PostgreSQL keeps its own */
    char wal[PATH_MAX];
    assert_int_equal(gb_snprintf(wal, sizeof(wal), "%s-wal", t->db_path), 0);
    for (int i = 0; i < 20; i++) {
        char ref[64];
        assert_int_equal(gb_snprintf(ref, sizeof(ref), "secrets/%d", i), 0);
        tv_put(t->v, t->db, ref, secret);
    }
    /* The key file's key (hex) is not in the database either. */
    char *keytext = tv_slurp(t->key_file, NULL);
    assert_non_null(keytext);
    char *line = keytext;
    while (*line == '#')
        line = strchr(line, '\n') + 1;
    char keyhex[65];
    memcpy(keyhex, line + 9, 64);
    keyhex[64] = '\0';
    gb_memzero(keytext, strlen(keytext));
    free(keytext);
    /* A ref is not secret: proves the scan can find what is there. */
    assert_true(file_has(wal, "secrets/7", 9) || file_has(t->db_path, "secrets/7", 9));
    assert_false(file_has(t->db_path, secret, strlen(secret)));
    assert_false(file_has(wal, secret, strlen(secret)));
    assert_false(file_has(t->db_path, keyhex, 64));
    assert_false(file_has(wal, keyhex, 64));
    /* After a checkpoint, the main file holds everything: still no plaintext. */
    tv_sql(t->db, "PRAGMA wal_checkpoint(TRUNCATE)");
    assert_true(file_has(t->db_path, "secrets/7", 9));
    assert_false(file_has(t->db_path, secret, strlen(secret)));
    tv_expect(t->v, t->db, "secrets/7", secret);
}

int main(void)
{
    gb_log_set_level(GB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_is_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_flipped_byte_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_ad_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_key_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_needs_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_copied_to_other_ref_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_plaintext_on_disk, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
