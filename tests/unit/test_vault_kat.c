/* test_vault_kat.c: known-answer vectors for sealed secrets. The two blobs below were sealed
 * once by vault_seal (the build of commit 01179aa) under fixed master keys; every later build
 * must open them with the same key and ref, or every secret stored by an older build becomes
 * unreadable. Each blob is also opened with libsodium directly, with the associated data built
 * by hand from docs/architecture.md (format byte, key id, nonce, ciphertext+tag; AD = format
 * byte || key id || ref), so the layout is checked independently of vault/. Never regenerate
 * these vectors to make a failing build pass: a failure here means old data would not open. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/db.h"
#include "vault/vault.h"

/* From GPUBROKER_MASTER_KEY (its key id is BLAKE2b-256(key)[0..4)). */
#define ENV_KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define ENV_REF "docker_credentials/cred_kat/password"
#define ENV_PT "s3cr3t-registry-p@ss:\xe2\x9c\x93"
#define ENV_BLOB                                                                                   \
    "01cb2f5160c587bd992be57d1ac5ac27de5353c2a3122fb9696a58b8cfe0da09"                             \
    "975b58d536b1d155523f2735fc6b1d2c2473b21fa55ceb32c1df91c37f5a558b"                             \
    "40a9894388"

/* From a key file line "<8 hex id> <64 hex key>". */
#define FILE_KID "c0ffee01"
#define FILE_KEY "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff"
#define FILE_REF "webhook_endpoints/we_kat/secret"
#define FILE_PT "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define FILE_BLOB                                                                                  \
    "01c0ffee012a38a5eeaa4be4cfff2ba4a00a39e47dd292d6d583dbab890f9a45"                             \
    "ba78c58ca51c0a30faf8918d4c894e1e8fe434688f436b6d70e7a5aeb7d0a0d0"                             \
    "8af137db2ce456c3f3dad9947c86054d27ab52"

/* The layout of docs/architecture.md, written out here rather than taken from vault/. */
#define L_FORMAT 1
#define L_KID 4
#define L_NONCE 24
#define L_TAG 16
#define L_HEADER (1 + L_KID + L_NONCE)

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL), 0);
    return n;
}

/* Opens blob with libsodium alone: checks the format byte and the key id, builds the AD by
 * hand, decrypts, and compares with the expected plaintext. */
static void open_by_hand(const char *blob_hex, const char *key_hex, const uint8_t kid[L_KID],
                         const char *ref, const char *want)
{
    uint8_t blob[256], key[32], ad[1 + L_KID + 128], pt[256];
    size_t n = unhex(blob_hex, blob, sizeof blob);
    assert_int_equal(unhex(key_hex, key, sizeof key), sizeof key);
    assert_int_equal(n, L_HEADER + strlen(want) + L_TAG);
    assert_int_equal(blob[0], L_FORMAT);
    assert_memory_equal(blob + 1, kid, L_KID);
    size_t rl = strlen(ref);
    assert_true(rl <= 128);
    ad[0] = blob[0];
    memcpy(ad + 1, kid, L_KID);
    memcpy(ad + 1 + L_KID, ref, rl);
    unsigned long long m = 0;
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &m, NULL, blob + L_HEADER,
                                                                n - L_HEADER, ad, 1 + L_KID + rl,
                                                                blob + 1 + L_KID, key),
                     0);
    assert_int_equal(m, strlen(want));
    assert_memory_equal(pt, want, m);
    /* the ref alone, or the header alone, is not the AD */
    assert_int_not_equal(
        crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &m, NULL, blob + L_HEADER, n - L_HEADER,
                                                   (const uint8_t *)ref, rl, blob + 1 + L_KID, key),
        0);
    assert_int_not_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &m, NULL, blob + L_HEADER,
                                                                    n - L_HEADER, ad, 1 + L_KID,
                                                                    blob + 1 + L_KID, key),
                         0);
}

/* Opens blob through the vault: right ref -> the plaintext, any other ref -> GB_ERR_CRYPTO. */
static void open_with_vault(vault *v, const char *blob_hex, const char *ref, const char *want)
{
    uint8_t blob[256];
    size_t n = unhex(blob_hex, blob, sizeof blob);
    char *pt = NULL;
    size_t pn = 0;
    assert_int_equal(vault_unseal(v, ref, blob, n, &pt, &pn), GB_OK);
    assert_int_equal(pn, strlen(want));
    assert_memory_equal(pt, want, pn);
    vault_secret_free(pt, pn);
    assert_int_equal(vault_unseal(v, "docker_credentials/cred_other/password", blob, n, &pt, &pn),
                     GB_ERR_CRYPTO);
    assert_null(pt);
}

static void test_env_key_vector(void **state)
{
    (void)state;
    uint8_t key[32], h[32];
    assert_int_equal(unhex(ENV_KEY, key, sizeof key), sizeof key);
    crypto_generichash(h, sizeof h, key, sizeof key, NULL, 0); /* the documented key id */
    open_by_hand(ENV_BLOB, ENV_KEY, h, ENV_REF, ENV_PT);
    char err[VAULT_ERR_MAX] = "";
    vault *v = NULL;
    assert_int_equal(vault_open(NULL, ENV_KEY, &v, err), GB_OK);
    char kid[9];
    vault_active_key_id(v, kid);
    assert_string_equal(kid, "cb2f5160");
    open_with_vault(v, ENV_BLOB, ENV_REF, ENV_PT);
    vault_free(v);
}

/* The key-file form, and the read path of a stored secret: the blob as a row of
 * vault_secrets written by an older build opens through vault_get. */
static void test_key_file_vector(void **state)
{
    (void)state;
    uint8_t kid[L_KID];
    assert_int_equal(unhex(FILE_KID, kid, sizeof kid), sizeof kid);
    open_by_hand(FILE_BLOB, FILE_KEY, kid, FILE_REF, FILE_PT);

    char dir[] = "/tmp/gb-vault-kat-XXXXXX", kf[128], dbp[128];
    assert_non_null(mkdtemp(dir));
    snprintf(kf, sizeof kf, "%s/master.key", dir);
    snprintf(dbp, sizeof dbp, "%s/v.db", dir);
    int fd = open(kf, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    const char line[] = FILE_KID " " FILE_KEY "\n";
    assert_int_equal(write(fd, line, sizeof line - 1), (ssize_t)(sizeof line - 1));
    close(fd);
    char err[VAULT_ERR_MAX] = "";
    vault *v = NULL;
    assert_int_equal(vault_open(kf, NULL, &v, err), GB_OK);
    open_with_vault(v, FILE_BLOB, FILE_REF, FILE_PT);

    gb_db *db = NULL;
    assert_int_equal(gb_db_open(dbp, &db), GB_OK);
    assert_int_equal(gb_db_migrate(db, vault_migrations(), 1), GB_OK);
    assert_int_equal(gb_db_exec(db, "INSERT INTO vault_secrets(ref, key_id, blob, updated_at) "
                                    "VALUES ('" FILE_REF "', '" FILE_KID "', x'" FILE_BLOB "', 0)"),
                     GB_OK);
    char *pt = NULL;
    size_t pn = 0;
    assert_int_equal(vault_get(v, db, FILE_REF, &pt, &pn), GB_OK);
    assert_string_equal(pt, FILE_PT);
    vault_secret_free(pt, pn);
    gb_db_close(db);
    vault_free(v);
    static const char *const files[] = {"master.key", "v.db", "v.db-wal", "v.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    assert_int_equal(rmdir(dir), 0);
}

/* A fresh seal has the same layout: what this build writes, the by-hand reader opens. */
static void test_fresh_seal_layout(void **state)
{
    (void)state;
    char err[VAULT_ERR_MAX] = "";
    vault *v = NULL;
    assert_int_equal(vault_open(NULL, ENV_KEY, &v, err), GB_OK);
    uint8_t *blob = NULL;
    size_t n = 0;
    const char *pt = "fresh";
    assert_int_equal(vault_seal(v, ENV_REF, pt, strlen(pt), &blob, &n), GB_OK);
    char hex[512];
    assert_true(n * 2 + 1 <= sizeof hex);
    sodium_bin2hex(hex, sizeof hex, blob, n);
    free(blob);
    uint8_t key[32], h[32];
    assert_int_equal(unhex(ENV_KEY, key, sizeof key), sizeof key);
    crypto_generichash(h, sizeof h, key, sizeof key, NULL, 0);
    open_by_hand(hex, ENV_KEY, h, ENV_REF, pt);
    vault_free(v);
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_env_key_vector),
                                       cmocka_unit_test(test_key_file_vector),
                                       cmocka_unit_test(test_fresh_seal_layout)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
