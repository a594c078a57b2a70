/* test_vault_keys.c: the master key file (creation 0600, permission checks, format, several
 * keys, reload after a rewrite) and the GPUBROKER_MASTER_KEY forms (hex, base64, bad ones). */
#include "test_vault_util.h"
#include "vault/vault_internal.h"

#include <sodium.h>
#include <stdint.h>
#include <sys/stat.h>

static const char *K1 = "1111aaaa";
static const char *K1KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char *K2 = "2222bbbb";
static const char *K2KEY = "f0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100";

typedef struct {
    char dir[PATH_MAX];
    char path[PATH_MAX];
} kt;

static int setup(void **state)
{
    kt *k = calloc(1, sizeof(*k));
    tv_mkdtemp(k->dir, sizeof(k->dir));
    gb_snprintf(k->path, sizeof(k->path), "%s/master.key", k->dir);
    *state = k;
    return 0;
}

static int teardown(void **state)
{
    kt *k = *state;
    tv_rm_rf(k->dir);
    free(k);
    return 0;
}

static void write_ring(const char *path, const char *id1, const char *key1, const char *id2,
                       const char *key2)
{
    char text[512];
    if (id2)
        gb_snprintf(text, sizeof(text), "# test ring\n%s %s\n%s %s\n", id1, key1, id2, key2);
    else
        gb_snprintf(text, sizeof(text), "# test ring\n%s %s\n", id1, key1);
    tv_write_file(path, text, 0600);
}

static vault *open_ok(const char *path, const char *env)
{
    vault *v = NULL;
    char err[VAULT_ERR_MAX] = "";
    gb_err e = vault_open(path, env, &v, err);
    if (e != GB_OK) fail_msg("vault_open: %d %s", e, err);
    return v;
}

static void seal(vault *v, const char *ad, const char *s, uint8_t **blob, size_t *n)
{
    assert_int_equal(vault_seal(v, ad, s, strlen(s), blob, n), GB_OK);
}

static void expect_open(vault *v, const char *ad, const uint8_t *blob, size_t n, const char *want)
{
    char *pt = NULL;
    size_t pn = 0;
    assert_int_equal(vault_unseal(v, ad, blob, n, &pt, &pn), GB_OK);
    assert_string_equal(pt, want);
    vault_secret_free(pt, pn);
}

static void blob_kid(const uint8_t *blob, char out[9])
{
    gb_snprintf(out, 9, "%02x%02x%02x%02x", blob[1], blob[2], blob[3], blob[4]);
}

static void test_create_mode_0600(void **state)
{
    kt *k = *state;
    mode_t old = umask(0); /* the mode must not depend on the umask */
    assert_int_equal(vault_keyfile_create(k->path), GB_OK);
    umask(old);
    struct stat st;
    assert_int_equal(stat(k->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    char ids[4][9];
    assert_int_equal(tv_key_lines(k->path, ids, 4), 1);
    vault *v = open_ok(k->path, NULL);
    char kid[9];
    vault_active_key_id(v, kid);
    assert_string_equal(kid, ids[0]);
    vault_free(v);
    /* Exists: refused, untouched. */
    char *before = tv_slurp(k->path, NULL);
    assert_int_equal(vault_keyfile_create(k->path), GB_ERR_CONFLICT);
    char *after = tv_slurp(k->path, NULL);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* Two files get different keys. */
    char p2[PATH_MAX];
    gb_snprintf(p2, sizeof(p2), "%s/second.key", k->dir);
    assert_int_equal(vault_keyfile_create(p2), GB_OK);
    char *a = tv_slurp(k->path, NULL), *b = tv_slurp(p2, NULL);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

static void expect_forbidden(const char *path, mode_t mode, const char *mode_text)
{
    vault *v = NULL;
    char err[VAULT_ERR_MAX] = "";
    assert_int_equal(chmod(path, mode), 0);
    assert_int_equal(vault_open(path, NULL, &v, err), GB_ERR_FORBIDDEN);
    assert_null(v);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, mode_text));
    assert_non_null(strstr(err, "chmod 600"));
}

static void test_open_refuses_loose_modes(void **state)
{
    kt *k = *state;
    assert_int_equal(vault_keyfile_create(k->path), GB_OK);
    expect_forbidden(k->path, 0644, "(mode 0644)");
    expect_forbidden(k->path, 0640, "(mode 0640)");
    expect_forbidden(k->path, 0604, "(mode 0604)");
    expect_forbidden(k->path, 0620, "(mode 0620)");
    expect_forbidden(k->path, 0666, "readable by others");
    assert_int_equal(chmod(k->path, 0400), 0);
    vault_free(open_ok(k->path, NULL));
    assert_int_equal(chmod(k->path, 0600), 0);
    vault_free(open_ok(k->path, NULL));
}

static void test_open_errors(void **state)
{
    kt *k = *state;
    vault *v = NULL;
    char err[VAULT_ERR_MAX] = "";
    assert_int_equal(vault_open(k->path, NULL, &v, err), GB_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "does not exist"));
    assert_int_equal(vault_open(NULL, NULL, &v, err), GB_ERR_INVALID);
    assert_int_equal(vault_open("", "", &v, err), GB_ERR_INVALID);
    assert_int_equal(chmod(k->dir, 0700), 0);
    assert_int_equal(vault_open(k->dir, NULL, &v, err), GB_ERR_INVALID); /* a directory */
    assert_non_null(strstr(err, "not a regular file"));
    assert_null(v);

    static const char *bad[] = {
        "",                     /* no key */
        "# only a comment\n\n", /* no key */
        "1111aaa 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        "1111aaaa 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",
        "1111aaaa 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00\n",
        "1111aaaz 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        "1111aaaa 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
        "1111aaaa 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f extra\n",
        "1111aaaa\n",
        "1111aaaa000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        "1111aaaa 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
        "1111AAAA f0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tv_write_file(k->path, bad[i], 0600);
        err[0] = '\0';
        gb_err e = vault_open(k->path, NULL, &v, err);
        if (e != GB_ERR_INVALID) fail_msg("bad file %zu: got %d", i, e);
        assert_null(v);
        assert_non_null(strstr(err, k->path));
        /* The message never echoes key material. */
        assert_null(strstr(err, "0a0b0c0d"));
    }
    tv_write_file(
        k->path,
        "# c\n\n1111aaaa 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n", 0600);
    assert_int_equal(vault_open(k->path, NULL, &v, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "line 3"));
}

static void test_comments_crlf_and_two_keys(void **state)
{
    kt *k = *state;
    char text[512];
    gb_snprintf(text, sizeof(text), "# comment\r\n\r\n   # indented comment\n  %s\t %s  \r\n%s %s",
                K2, K2KEY, K1, K1KEY);
    tv_write_file(k->path, text, 0600);
    vault *two = open_ok(k->path, NULL);
    char kid[9];
    vault_active_key_id(two, kid);
    assert_string_equal(kid, K2); /* the first key seals */

    char p1[PATH_MAX];
    gb_snprintf(p1, sizeof(p1), "%s/one.key", k->dir);
    write_ring(p1, K1, K1KEY, NULL, NULL);
    vault *one = open_ok(p1, NULL);
    uint8_t *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    seal(one, "ad", "under k1", &b1, &n1);
    seal(two, "ad", "under k2", &b2, &n2);
    blob_kid(b1, kid);
    assert_string_equal(kid, K1);
    blob_kid(b2, kid);
    assert_string_equal(kid, K2);
    expect_open(two, "ad", b1, n1, "under k1"); /* older keys still open */
    char *pt = NULL;
    size_t pn = 0;
    assert_int_equal(vault_unseal(one, "ad", b2, n2, &pt, &pn), GB_ERR_CRYPTO);
    free(b1);
    free(b2);
    vault_free(one);
    vault_free(two);
}

static void test_reload_after_rewrite(void **state)
{
    kt *k = *state;
    write_ring(k->path, K1, K1KEY, NULL, NULL);
    vault *v = open_ok(k->path, NULL);
    uint8_t *b1 = NULL, *b2 = NULL, *b3 = NULL;
    size_t n1 = 0, n2 = 0, n3 = 0;
    char kid[9];
    seal(v, "ad", "old", &b1, &n1);

    write_ring(k->path, K2, K2KEY, K1, K1KEY); /* rotation, step 1 */
    vault_active_key_id(v, kid);
    assert_string_equal(kid, K2);
    seal(v, "ad", "new", &b2, &n2);
    blob_kid(b2, kid);
    assert_string_equal(kid, K2);
    expect_open(v, "ad", b1, n1, "old");

    write_ring(k->path, K2, K2KEY, NULL, NULL); /* rotation, last step */
    char *pt = NULL;
    size_t pn = 0;
    assert_int_equal(vault_unseal(v, "ad", b1, n1, &pt, &pn), GB_ERR_CRYPTO);
    expect_open(v, "ad", b2, n2, "new");

    /* A file that became readable by others is not reloaded: sealing stops (the key might be
     * stale), opening goes on with the keys in memory. */
    write_ring(k->path, K1, K1KEY, K2, K2KEY);
    assert_int_equal(chmod(k->path, 0644), 0);
    assert_int_equal(vault_seal(v, "ad", "x", 1, &b3, &n3), GB_ERR_FORBIDDEN);
    assert_null(b3);
    expect_open(v, "ad", b2, n2, "new");
    assert_int_equal(chmod(k->path, 0600), 0);
    seal(v, "ad", "back", &b3, &n3);
    blob_kid(b3, kid);
    assert_string_equal(kid, K1);
    expect_open(v, "ad", b1, n1, "old");

    /* A missing file stops sealing too. */
    assert_int_equal(unlink(k->path), 0);
    free(b3);
    b3 = NULL;
    assert_int_equal(vault_seal(v, "ad", "x", 1, &b3, &n3), GB_ERR_NOT_FOUND);
    expect_open(v, "ad", b1, n1, "old");
    free(b1);
    free(b2);
    free(b3);
    vault_free(v);
}

static void test_env_key_forms(void **state)
{
    kt *k = *state;
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7 + 3);
    char hex[65], b64[64];
    assert_int_equal(sodium_init() >= 0, 1);
    sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
    sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
    uint8_t h[32];
    crypto_generichash(h, sizeof(h), key, sizeof(key), NULL, 0);
    char want_kid[9];
    sodium_bin2hex(want_kid, sizeof(want_kid), h, 4);

    /* key_file is ignored (it does not even exist). */
    vault *vh = open_ok(k->path, hex);
    vault *vb = open_ok(k->path, b64);
    char upper[65];
    for (int i = 0; i < 64; i++)
        upper[i] = (char)((hex[i] >= 'a') ? hex[i] - 32 : hex[i]);
    upper[64] = '\0';
    char padded[80];
    gb_snprintf(padded, sizeof(padded), "  %s\n", b64);
    vault *vu = open_ok(NULL, upper);
    vault *vp = open_ok(NULL, padded);
    char kid[9];
    vault_active_key_id(vh, kid);
    assert_string_equal(kid, want_kid);
    vault_active_key_id(vb, kid);
    assert_string_equal(kid, want_kid);
    uint8_t *blob = NULL;
    size_t n = 0;
    seal(vh, "r", "same key", &blob, &n);
    expect_open(vb, "r", blob, n, "same key");
    expect_open(vu, "r", blob, n, "same key");
    expect_open(vp, "r", blob, n, "same key");
    free(blob);
    vault_free(vh);
    vault_free(vb);
    vault_free(vu);
    vault_free(vp);

    char b64_31[64], b64_33[64], b64_url[64];
    uint8_t k33[33];
    memset(k33, 0xfb, sizeof(k33)); /* 0xfb... encodes with '+' and '/' */
    sodium_bin2base64(b64_31, sizeof(b64_31), key, 31, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(b64_33, sizeof(b64_33), k33, 33, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(b64_url, sizeof(b64_url), k33, 32, sodium_base64_VARIANT_URLSAFE);
    char hex63[64], hex66[67], nonhex[65];
    memcpy(hex63, hex, 63);
    hex63[63] = '\0';
    gb_snprintf(hex66, sizeof(hex66), "%sab", hex);
    memcpy(nonhex, hex, 65);
    nonhex[10] = 'g';
    const char *bad[] = {"abc", hex63, hex66, nonhex, b64_31, b64_33, b64_url, "   ", "=="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vault *v = NULL;
        char err[VAULT_ERR_MAX] = "";
        gb_err e = vault_open(NULL, bad[i], &v, err);
        if (e != GB_ERR_INVALID) fail_msg("bad env key %zu accepted (%d)", i, e);
        assert_null(v);
        assert_non_null(strstr(err, "GPUBROKER_MASTER_KEY"));
        if (strlen(bad[i]) >= 8) assert_null(strstr(err, bad[i])); /* not echoed */
    }
}

static void test_unknown_key_id(void **state)
{
    kt *k = *state;
    write_ring(k->path, K1, K1KEY, NULL, NULL);
    vault *v = open_ok(k->path, NULL);
    uint8_t *blob = NULL;
    size_t n = 0;
    seal(v, "ad", "x", &blob, &n);
    blob[1] ^= 0x55;
    char *pt = NULL;
    size_t pn = 0;
    assert_int_equal(vault_unseal(v, "ad", blob, n, &pt, &pn), GB_ERR_CRYPTO);
    assert_null(pt);
    blob[1] ^= 0x55;
    expect_open(v, "ad", blob, n, "x");
    free(blob);
    vault_free(v);
}

static void test_equal(void **state)
{
    (void)state;
    assert_int_equal(vault_equal("abcdef", "abcdef", 6), 1);
    assert_int_equal(vault_equal("abcdef", "abcdeg", 6), 0);
    assert_int_equal(vault_equal("xbcdef", "abcdef", 6), 0);
    assert_int_equal(vault_equal("a", "b", 0), 1);
}

/* A ring holds VAULT_RING_MAX keys: one more is refused and the ring is left as it was (the
 * keys shift down to make room for a new first key; past the end that would write beyond the
 * ring). Each new key has an id of its own. */
static void test_ring_full(void **state)
{
    (void)state;
    vault_ring *r = vault_ring_new();
    assert_non_null(r);
    for (int i = 0; i < VAULT_RING_MAX; i++) {
        assert_int_equal(vault_ring_add_new(r), GB_OK);
        assert_int_equal(r->n, (size_t)i + 1);
        assert_ptr_equal(vault_ring_find(r, r->keys[0].id), &r->keys[0]);
    }
    uint8_t first[VAULT_KID_BYTES], last[VAULT_KID_BYTES];
    memcpy(first, r->keys[0].id, sizeof(first));
    memcpy(last, r->keys[VAULT_RING_MAX - 1].id, sizeof(last));
    assert_int_equal(vault_ring_add_new(r), GB_ERR_LIMIT);
    assert_int_equal(r->n, (size_t)VAULT_RING_MAX);
    assert_memory_equal(r->keys[0].id, first, sizeof(first));
    assert_memory_equal(r->keys[VAULT_RING_MAX - 1].id, last, sizeof(last));
    for (int i = 0; i < VAULT_RING_MAX; i++)
        for (int j = i + 1; j < VAULT_RING_MAX; j++)
            assert_memory_not_equal(r->keys[i].id, r->keys[j].id, VAULT_KID_BYTES);
    vault_ring_free(r);
}

int main(void)
{
    gb_log_set_level(GB_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_mode_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_loose_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comments_crlf_and_two_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_after_rewrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_key_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_id, setup, teardown),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_ring_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
