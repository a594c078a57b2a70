/* test_webhooks_sign.c: Standard Webhooks signatures: v1 checked against signatures computed
 * independently by the openssl command line and the spec's published vector, v1a (Ed25519)
 * round trips, rotation, the replay window and malformed headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/str.h"
#include "webhooks/sign.h"

#define NOW 1700000000LL

/* Runs cmd with the content of a temporary file on stdin; returns its first output line. */
static void run_openssl(const char *cmd_fmt, const char *arg, const void *in, size_t n, char *out,
                        size_t outsz)
{
    char path[] = "/tmp/gb_wh_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, in, n), (ssize_t)n);
    close(fd);
    char cmd[1024];
    assert_int_equal(gb_snprintf(cmd, sizeof cmd, cmd_fmt, arg, path), 0);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = '\0';
    if (!fgets(out, (int)outsz, p)) out[0] = '\0';
    int rc = pclose(p);
    unlink(path);
    assert_int_equal(rc, 0);
    out[strcspn(out, "\r\n")] = '\0';
    assert_true(strlen(out) > 0);
}

/* "{id}.{ts}.{body}" in a malloc'd buffer. */
static uint8_t *content(const char *id, long long ts, const void *body, size_t len, size_t *n)
{
    char head[300];
    assert_int_equal(gb_snprintf(head, sizeof head, "%s.%lld.", id, ts), 0);
    size_t hl = strlen(head);
    uint8_t *c = malloc(hl + len + 1);
    assert_non_null(c);
    memcpy(c, head, hl);
    if (len) memcpy(c + hl, body, len);
    *n = hl + len;
    return c;
}

/* The v1 signature as computed by `openssl dgst` with the decoded key. */
static void openssl_v1(const char *secret, const char *id, long long ts, const void *body,
                       size_t len, char *out, size_t outsz)
{
    uint8_t key[64];
    size_t kl = sizeof key;
    char hex[129];
    assert_int_equal(wh_secret_decode(secret, key, &kl), GB_OK);
    sodium_bin2hex(hex, sizeof hex, key, kl);
    size_t n;
    uint8_t *c = content(id, ts, body, len, &n);
    char b64[128];
    run_openssl("openssl dgst -sha256 -mac HMAC -macopt hexkey:%s -binary < %s | base64 -w0; "
                "echo",
                hex, c, n, b64, sizeof b64);
    free(c);
    assert_int_equal(gb_snprintf(out, outsz, "v1,%s", b64), 0);
}

static int group_setup(void **state)
{
    (void)state;
    if (system("openssl version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "FATAL: the openssl command is required for independent vectors\n");
        return -1;
    }
    return sodium_init() < 0 ? -1 : 0;
}

static void test_spec_vector(void **state)
{
    (void)state;
    const char *sec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const char *id = "msg_p5jXN8AQM9LWM0D4loKWxJek", *body = "{\"test\": 2432232314}";
    const char *want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    char sig[WH_SIG_V1_MAX], ossl[128];
    assert_int_equal(wh_sign_v1(sec, id, 1614265330, body, strlen(body), sig, sizeof sig), GB_OK);
    assert_string_equal(sig, want);
    openssl_v1(sec, id, 1614265330, body, strlen(body), ossl, sizeof ossl);
    assert_string_equal(ossl, want);
    assert_int_equal(wh_verify(sec, id, "1614265330", want, body, strlen(body), 1614265330, -1),
                     WH_VERIFY_OK);
    assert_int_equal(wh_verify(sec, id, "1614265330", want, body, strlen(body), NOW, -1),
                     WH_VERIFY_STALE);
}

static void test_openssl_vectors(void **state)
{
    (void)state;
    static uint8_t big[64 * 1024];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 131 + (i >> 8));
    const uint8_t binary[] = {0x00, 0xff, 0x80, '.', 0x00, '\n', 0x7f, 0xc3, 0x28, 0x00};
    const struct {
        const void *b;
        size_t n;
    } bodies[] = {
        {"", 0},
        {"{}", 2},
        {binary, sizeof binary},
        {"{\"type\":\"job.succeeded\",\n \"data\":{\"id\":\"ftj_1\"}}\r\n", 48},
        {big, sizeof big},
    };
    const size_t sizes[] = {24, 32, 48, 64};
    for (size_t s = 0; s < GB_ARRAY_LEN(sizes); s++) {
        char sec[WH_SECRET_MAX];
        assert_int_equal(wh_secret_new(sizes[s], sec, sizeof sec), GB_OK);
        for (size_t b = 0; b < GB_ARRAY_LEN(bodies); b++) {
            char sig[WH_SIG_V1_MAX], ossl[128];
            long long ts = NOW + (long long)b;
            assert_int_equal(wh_sign_v1(sec, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, bodies[b].b,
                                        bodies[b].n, sig, sizeof sig),
                             GB_OK);
            openssl_v1(sec, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, bodies[b].b, bodies[b].n, ossl,
                       sizeof ossl);
            assert_string_equal(sig, ossl);
            char tss[24];
            assert_int_equal(gb_snprintf(tss, sizeof tss, "%lld", ts), 0);
            assert_int_equal(wh_verify(sec, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", tss, sig,
                                       bodies[b].b, bodies[b].n, NOW, 300),
                             WH_VERIFY_OK);
        }
    }
}

static void test_secrets(void **state)
{
    (void)state;
    char sec[WH_SECRET_MAX];
    uint8_t key[64];
    size_t kl;
    for (size_t n = 24; n <= 64; n++) {
        assert_int_equal(wh_secret_new(n, sec, sizeof sec), GB_OK);
        assert_true(gb_str_starts_with(sec, "whsec_"));
        kl = sizeof key;
        assert_int_equal(wh_secret_decode(sec, key, &kl), GB_OK);
        assert_int_equal(kl, n);
    }
    char sec2[WH_SECRET_MAX];
    assert_int_equal(wh_secret_new(32, sec, sizeof sec), GB_OK);
    assert_int_equal(wh_secret_new(32, sec2, sizeof sec2), GB_OK);
    assert_string_not_equal(sec, sec2);
    assert_int_equal(wh_secret_new(23, sec, sizeof sec), GB_ERR_INVALID);
    assert_int_equal(wh_secret_new(65, sec, sizeof sec), GB_ERR_INVALID);
    assert_int_equal(wh_secret_new(64, sec, 50), GB_ERR_LIMIT);
    assert_string_equal(sec, "");

    kl = sizeof key;
    assert_int_equal(wh_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &kl), GB_OK);
    assert_int_equal(kl, 24);
    const char *bad[] = {
        NULL,
        "",
        "whsec_",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",        /* no prefix */
        "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",   /* wrong prefix */
        "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  /* case matters */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",   /* truncated */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w",  /* bad character */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", /* trailing space */
        "whsec_MfKQ9r8G-KYqrTwjUPD8ILPZIo2LaLaSw", /* url-safe alphabet */
        "whsec_"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AA==",                                              /* 67 bytes */
        "whsec_AAAAAAAAAAAAAAAAAAAAAA==",                    /* 16 bytes */
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* missing padding */
    };
    for (size_t i = 0; i < GB_ARRAY_LEN(bad); i++) {
        kl = sizeof key;
        assert_int_equal(wh_secret_decode(bad[i], key, &kl), GB_ERR_INVALID);
        assert_int_equal(kl, 0);
    }
    kl = 16;
    assert_int_equal(wh_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &kl),
                     GB_ERR_LIMIT);
    /* nowhere to put the key, or no room given: refused, nothing written */
    kl = sizeof key;
    assert_int_equal(wh_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", NULL, &kl),
                     GB_ERR_INVALID);
    assert_int_equal(wh_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, NULL),
                     GB_ERR_INVALID);
}

static void test_tamper_and_stale(void **state)
{
    (void)state;
    char sec[WH_SECRET_MAX], sig[WH_SIG_V1_MAX];
    const char *id = "msg_abc", *body = "{\"a\":1}";
    assert_int_equal(wh_secret_new(32, sec, sizeof sec), GB_OK);
    assert_int_equal(wh_sign_v1(sec, id, NOW, body, 7, sig, sizeof sig), GB_OK);
    assert_int_equal(wh_verify(sec, id, "1700000000", sig, body, 7, NOW, 300), WH_VERIFY_OK);
    assert_int_equal(wh_verify(sec, id, "1700000000", sig, "{\"a\":2}", 7, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    assert_int_equal(wh_verify(sec, id, "1700000000", sig, body, 6, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    assert_int_equal(wh_verify(sec, "msg_abd", "1700000000", sig, body, 7, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    assert_int_equal(wh_verify(sec, id, "1700000001", sig, body, 7, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    char other[WH_SECRET_MAX];
    assert_int_equal(wh_secret_new(32, other, sizeof other), GB_OK);
    assert_int_equal(wh_verify(other, id, "1700000000", sig, body, 7, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    /* a flipped character of the signature */
    char bad[WH_SIG_V1_MAX];
    memcpy(bad, sig, sizeof bad);
    bad[5] = bad[5] == 'A' ? 'B' : 'A';
    assert_int_equal(wh_verify(sec, id, "1700000000", bad, body, 7, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);

    /* the replay window, both directions; default tolerance is 5 minutes */
    assert_int_equal(wh_verify(sec, id, "1700000000", sig, body, 7, NOW + 300, -1), WH_VERIFY_OK);
    assert_int_equal(wh_verify(sec, id, "1700000000", sig, body, 7, NOW - 300, -1), WH_VERIFY_OK);
    assert_int_equal(wh_verify(sec, id, "1700000000", sig, body, 7, NOW + 301, -1),
                     WH_VERIFY_STALE);
    assert_int_equal(wh_verify(sec, id, "1700000000", sig, body, 7, NOW - 301, -1),
                     WH_VERIFY_STALE);
    assert_int_equal(wh_verify(sec, id, "1700000000", sig, body, 7, NOW + 10, 5), WH_VERIFY_STALE);
    assert_int_equal(wh_verify(sec, id, "1700000000", sig, body, 7, INT64_MIN, 300),
                     WH_VERIFY_STALE);
    assert_int_equal(wh_verify(sec, id, "9223372036854775807", sig, body, 7, INT64_MIN, 300),
                     WH_VERIFY_STALE);
    assert_int_equal(wh_verify(sec, id, "0", sig, body, 7, INT64_MAX, INT64_MAX),
                     WH_VERIFY_BAD_SIGNATURE);
}

static void test_rotation_and_versions(void **state)
{
    (void)state;
    char old_s[WH_SECRET_MAX], new_s[WH_SECRET_MAX], third[WH_SECRET_MAX];
    assert_int_equal(wh_secret_new(32, old_s, sizeof old_s), GB_OK);
    assert_int_equal(wh_secret_new(24, new_s, sizeof new_s), GB_OK);
    assert_int_equal(wh_secret_new(64, third, sizeof third), GB_OK);
    const char *secs[] = {new_s, old_s};
    char hdr[512], s1[WH_SIG_V1_MAX], s2[WH_SIG_V1_MAX], want[512];
    assert_int_equal(wh_signature_header(secs, 2, NULL, "msg_r", NOW, "x", 1, hdr, sizeof hdr),
                     GB_OK);
    assert_int_equal(wh_sign_v1(new_s, "msg_r", NOW, "x", 1, s1, sizeof s1), GB_OK);
    assert_int_equal(wh_sign_v1(old_s, "msg_r", NOW, "x", 1, s2, sizeof s2), GB_OK);
    assert_int_equal(gb_snprintf(want, sizeof want, "%s %s", s1, s2), 0);
    assert_string_equal(hdr, want);
    assert_int_equal(wh_verify(new_s, "msg_r", "1700000000", hdr, "x", 1, NOW, 300), WH_VERIFY_OK);
    assert_int_equal(wh_verify(old_s, "msg_r", "1700000000", hdr, "x", 1, NOW, 300), WH_VERIFY_OK);
    assert_int_equal(wh_verify(third, "msg_r", "1700000000", hdr, "x", 1, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);

    /* unknown versions are ignored, extra spaces tolerated */
    char mixed[600];
    assert_int_equal(gb_snprintf(mixed, sizeof mixed, "v2,abc  v1b,%s v0,zzz   %s v9,", s1 + 3, s2),
                     0);
    assert_int_equal(wh_verify(old_s, "msg_r", "1700000000", mixed, "x", 1, NOW, 300),
                     WH_VERIFY_OK);
    assert_int_equal(wh_verify(new_s, "msg_r", "1700000000", mixed, "x", 1, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    /* the right bytes under another version do not count */
    char v2[64];
    assert_int_equal(gb_snprintf(v2, sizeof v2, "v2,%s", s1 + 3), 0);
    assert_int_equal(wh_verify(new_s, "msg_r", "1700000000", v2, "x", 1, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    assert_int_equal(gb_snprintf(v2, sizeof v2, "V1,%s", s1 + 3), 0);
    assert_int_equal(wh_verify(new_s, "msg_r", "1700000000", v2, "x", 1, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
}

/* The v1a signature as computed by `openssl pkeyutl` from the key's seed (PKCS#8 DER). */
static void openssl_v1a(const char *whsk, const void *msg, size_t n, char *out, size_t outsz)
{
    uint8_t sk[64];
    size_t got = 0;
    const char *b = whsk + 5;
    assert_int_equal(sodium_base642bin(sk, sizeof sk, b, strlen(b), NULL, &got, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(got, 64);
    uint8_t der[48] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                       0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
    memcpy(der + 16, sk, 32);
    char kpath[] = "/tmp/gb_wh_key_XXXXXX";
    int fd = mkstemp(kpath);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, der, sizeof der), (ssize_t)sizeof der);
    close(fd);
    sodium_memzero(sk, sizeof sk);
    char b64[128];
    run_openssl("openssl pkeyutl -sign -keyform DER -inkey %s -rawin -in %s | base64 -w0; echo",
                kpath, msg, n, b64, sizeof b64);
    unlink(kpath);
    assert_int_equal(gb_snprintf(out, outsz, "v1a,%s", b64), 0);
}

static void test_ed25519(void **state)
{
    (void)state;
    char sk[WH_SK_MAX], pk[WH_PK_MAX], sk2[WH_SK_MAX], pk2[WH_PK_MAX], hdr[256];
    assert_int_equal(wh_ed25519_keypair(sk, sizeof sk, pk, sizeof pk), GB_OK);
    assert_int_equal(wh_ed25519_keypair(sk2, sizeof sk2, pk2, sizeof pk2), GB_OK);
    assert_true(gb_str_starts_with(sk, "whsk_") && gb_str_starts_with(pk, "whpk_"));
    assert_int_equal(strlen(sk), 5 + 88);
    assert_int_equal(strlen(pk), 5 + 44);
    const char *body = "{\"event\":\"pod.running\"}";
    size_t bl = strlen(body);
    assert_int_equal(wh_signature_header(NULL, 0, sk, "msg_ed", NOW, body, bl, hdr, sizeof hdr),
                     GB_OK);
    assert_true(gb_str_starts_with(hdr, "v1a,"));
    assert_int_equal(strlen(hdr), 4 + 88);
    /* Ed25519 is deterministic: openssl must produce the very same signature */
    size_t cn;
    uint8_t *c = content("msg_ed", NOW, body, bl, &cn);
    char ossl[160];
    openssl_v1a(sk, c, cn, ossl, sizeof ossl);
    free(c);
    assert_string_equal(hdr, ossl);

    assert_int_equal(wh_verify(pk, "msg_ed", "1700000000", hdr, body, bl, NOW, 300), WH_VERIFY_OK);
    assert_int_equal(wh_verify(pk, "msg_ed", "1700000000", hdr, body, bl - 1, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    assert_int_equal(wh_verify(pk, "msg_eD", "1700000000", hdr, body, bl, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    assert_int_equal(wh_verify(pk, "msg_ed", "1700000001", hdr, body, bl, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    assert_int_equal(wh_verify(pk2, "msg_ed", "1700000000", hdr, body, bl, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    assert_int_equal(wh_verify(pk, "msg_ed", "1700000000", hdr, body, bl, NOW + 301, 300),
                     WH_VERIFY_STALE);
    char flip[256];
    memcpy(flip, hdr, sizeof flip);
    flip[10] = flip[10] == 'A' ? 'B' : 'A';
    assert_int_equal(wh_verify(pk, "msg_ed", "1700000000", flip, body, bl, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    /* a secret key is not a verification key */
    assert_int_equal(wh_verify(sk, "msg_ed", "1700000000", hdr, body, bl, NOW, 300),
                     WH_VERIFY_BAD_KEY);

    /* symmetric and asymmetric together; each verifier uses its own scheme only */
    char sec[WH_SECRET_MAX], both[512];
    assert_int_equal(wh_secret_new(32, sec, sizeof sec), GB_OK);
    const char *secs[] = {sec};
    assert_int_equal(wh_signature_header(secs, 1, sk, "msg_ed", NOW, body, bl, both, sizeof both),
                     GB_OK);
    assert_int_equal(wh_verify(sec, "msg_ed", "1700000000", both, body, bl, NOW, 300),
                     WH_VERIFY_OK);
    assert_int_equal(wh_verify(pk, "msg_ed", "1700000000", both, body, bl, NOW, 300), WH_VERIFY_OK);
    char v1only[WH_SIG_V1_MAX];
    assert_int_equal(wh_sign_v1(sec, "msg_ed", NOW, body, bl, v1only, sizeof v1only), GB_OK);
    assert_int_equal(wh_verify(pk, "msg_ed", "1700000000", v1only, body, bl, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    assert_int_equal(wh_verify(sec, "msg_ed", "1700000000", hdr, body, bl, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);
    /* a valid Ed25519 signature counts only labelled v1a: spec/standard-webhooks.md
     * (github.com/standard-webhooks/standard-webhooks, b2fa7b8), "Symmetric vs asymmetric":
     * the signature identifier is v1 for HMAC-SHA256 and v1a for ed25519 */
    const char *labels[] = {"v1", "v2", "V1A", "v1b", "v"};
    for (size_t i = 0; i < sizeof labels / sizeof *labels; i++) {
        char relabelled[256];
        assert_int_equal(gb_snprintf(relabelled, sizeof relabelled, "%s,%s", labels[i], hdr + 4),
                         0);
        assert_int_equal(wh_verify(pk, "msg_ed", "1700000000", relabelled, body, bl, NOW, 300),
                         WH_VERIFY_BAD_SIGNATURE);
    }

    /* a whsk_ holding only the 32-byte seed signs identically */
    uint8_t raw[64];
    size_t got = 0;
    assert_int_equal(sodium_base642bin(raw, sizeof raw, sk + 5, strlen(sk + 5), NULL, &got, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    char seed_sk[WH_SK_MAX] = "whsk_", hdr2[256];
    sodium_bin2base64(seed_sk + 5, sizeof seed_sk - 5, raw, 32, sodium_base64_VARIANT_ORIGINAL);
    assert_int_equal(
        wh_signature_header(NULL, 0, seed_sk, "msg_ed", NOW, body, bl, hdr2, sizeof hdr2), GB_OK);
    assert_string_equal(hdr2, hdr);
    /* bad secret keys */
    assert_int_equal(wh_signature_header(NULL, 0, pk, "msg_ed", NOW, body, bl, hdr2, sizeof hdr2),
                     GB_ERR_INVALID);
    assert_string_equal(hdr2, "");
    assert_int_equal(
        wh_signature_header(NULL, 0, "whsk_AAAA", "msg_ed", NOW, body, bl, hdr2, sizeof hdr2),
        GB_ERR_INVALID);
    assert_int_equal(wh_ed25519_keypair(sk2, 20, pk2, sizeof pk2), GB_ERR_LIMIT);
    assert_int_equal(wh_ed25519_keypair(sk2, sizeof sk2, pk2, 20), GB_ERR_LIMIT);
}

static void test_malformed(void **state)
{
    (void)state;
    char sec[WH_SECRET_MAX], sig[WH_SIG_V1_MAX];
    const char *id = "msg_m";
    assert_int_equal(wh_secret_new(32, sec, sizeof sec), GB_OK);
    assert_int_equal(wh_sign_v1(sec, id, NOW, "b", 1, sig, sizeof sig), GB_OK);
#define V(hdr) wh_verify(sec, id, "1700000000", (hdr), "b", 1, NOW, 300)
    assert_int_equal(V(sig), WH_VERIFY_OK);
    assert_int_equal(V(NULL), WH_VERIFY_BAD_HEADERS);
    assert_int_equal(V(""), WH_VERIFY_BAD_HEADERS);
    assert_int_equal(V("   "), WH_VERIFY_BAD_HEADERS);
    assert_int_equal(V("v1"), WH_VERIFY_BAD_HEADERS);
    assert_int_equal(V(",abc"), WH_VERIFY_BAD_HEADERS);
    assert_int_equal(V("v1,abc\tv1,def"), WH_VERIFY_BAD_HEADERS);
    assert_int_equal(V("v1,\x80\x81"), WH_VERIFY_BAD_HEADERS);
    /* bad base64 of a known version just does not match */
    assert_int_equal(V("v1,!!!! v1,==== v1, v1,AAAA v1a,****"), WH_VERIFY_BAD_SIGNATURE);
    assert_int_equal(wh_verify("whpk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", id,
                               "1700000000", "v1a,!!!! v1a,AAAA v1a, v1a,=", "b", 1, NOW, 300),
                     WH_VERIFY_BAD_SIGNATURE);

    /* too long: a good signature after padding past 8 KiB */
    char *big = malloc(WH_HEADER_MAX + 64);
    assert_non_null(big);
    memset(big, ' ', WH_HEADER_MAX + 64);
    size_t sl = strlen(sig);
    memcpy(big + WH_HEADER_MAX - sl, sig, sl);
    big[WH_HEADER_MAX] = '\0';
    assert_int_equal(V(big), WH_VERIFY_OK); /* exactly 8 KiB */
    big[WH_HEADER_MAX] = ' ';
    big[WH_HEADER_MAX + 1] = '\0';
    assert_int_equal(V(big), WH_VERIFY_BAD_HEADERS);
    free(big);

    /* too many: 32 entries pass, 33 do not */
    char many[2048] = "";
    size_t used = 0;
    for (int i = 0; i < WH_SIGS_MAX - 1; i++) {
        memcpy(many + used, "v2,x ", 5);
        used += 5;
    }
    memcpy(many + used, sig, sl + 1);
    assert_int_equal(V(many), WH_VERIFY_OK);
    char more[2100];
    assert_int_equal(gb_snprintf(more, sizeof more, "v2,x %s", many), 0);
    assert_int_equal(V(more), WH_VERIFY_BAD_HEADERS);

    /* ids */
    char longid[WH_ID_MAX + 2];
    memset(longid, 'a', sizeof longid);
    longid[WH_ID_MAX] = '\0';
    char s256[WH_SIG_V1_MAX];
    assert_int_equal(wh_sign_v1(sec, longid, NOW, "b", 1, s256, sizeof s256), GB_OK);
    assert_int_equal(wh_verify(sec, longid, "1700000000", s256, "b", 1, NOW, 300), WH_VERIFY_OK);
    longid[WH_ID_MAX] = 'a';
    longid[WH_ID_MAX + 1] = '\0';
    assert_int_equal(wh_verify(sec, longid, "1700000000", s256, "b", 1, NOW, 300),
                     WH_VERIFY_BAD_HEADERS);
    assert_int_equal(wh_sign_v1(sec, longid, NOW, "b", 1, s256, sizeof s256), GB_ERR_INVALID);
    const char *bad_ids[] = {NULL, "", "msg.x", "msg x", "msg\nx", "msg_\xc3\xa9"};
    for (size_t i = 0; i < GB_ARRAY_LEN(bad_ids); i++) {
        assert_int_equal(wh_verify(sec, bad_ids[i], "1700000000", sig, "b", 1, NOW, 300),
                         WH_VERIFY_BAD_HEADERS);
        assert_int_equal(wh_sign_v1(sec, bad_ids[i], NOW, "b", 1, s256, sizeof s256),
                         GB_ERR_INVALID);
    }
    /* timestamps */
    const char *bad_ts[] = {
        NULL,           "",     "-1",   "+1700000000",          " 1700000000",        "1700000000 ",
        "1700000000.5", "17e8", "0x10", "99999999999999999999", "9223372036854775808"};
    for (size_t i = 0; i < GB_ARRAY_LEN(bad_ts); i++)
        assert_int_equal(wh_verify(sec, id, bad_ts[i], sig, "b", 1, NOW, 300),
                         WH_VERIFY_BAD_HEADERS);
    assert_int_equal(wh_verify(sec, id, "01700000000", sig, "b", 1, NOW, 300), WH_VERIFY_OK);
    /* keys */
    const char *bad_keys[] = {NULL,
                              "",
                              "whsec_",
                              "secret",
                              "whsec_AAAA",
                              "whpk_AAAA",
                              "whsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
    for (size_t i = 0; i < GB_ARRAY_LEN(bad_keys); i++)
        assert_int_equal(wh_verify(bad_keys[i], id, "1700000000", sig, "b", 1, NOW, 300),
                         WH_VERIFY_BAD_KEY);
    /* body pointer and length must agree */
    assert_int_equal(wh_verify(sec, id, "1700000000", sig, NULL, 1, NOW, 300),
                     WH_VERIFY_BAD_HEADERS);
#undef V
    assert_string_equal(wh_verify_str(WH_VERIFY_STALE), "stale timestamp");
}

static void test_sign_errors(void **state)
{
    (void)state;
    char sec[WH_SECRET_MAX], out[WH_SIG_V1_MAX], hdr[64];
    assert_int_equal(wh_secret_new(32, sec, sizeof sec), GB_OK);
    assert_int_equal(wh_sign_v1(sec, "msg_e", NOW, "", 0, out, 47), GB_ERR_LIMIT);
    assert_string_equal(out, "");
    assert_int_equal(wh_sign_v1(sec, "msg_e", NOW, NULL, 0, out, sizeof out), GB_OK);
    assert_int_equal(wh_sign_v1(sec, "msg_e", -1, "", 0, out, sizeof out), GB_ERR_INVALID);
    assert_int_equal(wh_sign_v1(sec, "msg_e", NOW, NULL, 3, out, sizeof out), GB_ERR_INVALID);
    assert_int_equal(wh_sign_v1("whsec_xx", "msg_e", NOW, "", 0, out, sizeof out), GB_ERR_INVALID);
    const char *secs[] = {sec, sec};
    assert_int_equal(wh_signature_header(secs, 0, NULL, "msg_e", NOW, "", 0, hdr, sizeof hdr),
                     GB_ERR_INVALID);
    assert_int_equal(wh_signature_header(secs, 1, NULL, "msg_e", NOW, "", 0, hdr, sizeof hdr),
                     GB_OK);
    assert_int_equal(wh_signature_header(secs, 2, NULL, "msg_e", NOW, "", 0, hdr, sizeof hdr),
                     GB_ERR_LIMIT);
    assert_string_equal(hdr, "");
    /* the header's room at its edge: exactly enough passes, one byte less is refused, and
     * nothing is written past the room given (the rest of the buffer keeps its canary) */
    char one[WH_SIG_V1_MAX];
    assert_int_equal(wh_sign_v1(sec, "msg_e", NOW, "", 0, one, sizeof one), GB_OK);
    size_t sl = strlen(one);
    const size_t rooms[] = {sl + 1, sl, 2 * sl + 2, 2 * sl + 1};
    const size_t nsecs[] = {1, 1, 2, 2};
    for (size_t i = 0; i < GB_ARRAY_LEN(rooms); i++) {
        char buf[WH_HEADER_MAX];
        memset(buf, '#', sizeof buf);
        gb_err want = i % 2 == 0 ? GB_OK : GB_ERR_LIMIT;
        assert_int_equal(
            wh_signature_header(secs, nsecs[i], NULL, "msg_e", NOW, "", 0, buf, rooms[i]), want);
        assert_int_equal(strlen(buf), want == GB_OK ? rooms[i] - 1 : 0);
        for (size_t k = rooms[i]; k < sizeof buf; k++)
            assert_int_equal(buf[k], '#');
    }
    const char *many[WH_SIGS_MAX + 1];
    for (size_t i = 0; i < GB_ARRAY_LEN(many); i++)
        many[i] = sec;
    char big[WH_HEADER_MAX];
    assert_int_equal(
        wh_signature_header(many, WH_SIGS_MAX, NULL, "msg_e", NOW, "", 0, big, sizeof big), GB_OK);
    assert_int_equal(wh_verify(sec, "msg_e", "1700000000", big, "", 0, NOW, 300), WH_VERIFY_OK);
    assert_int_equal(
        wh_signature_header(many, WH_SIGS_MAX + 1, NULL, "msg_e", NOW, "", 0, big, sizeof big),
        GB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vector),
        cmocka_unit_test(test_openssl_vectors),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_tamper_and_stale),
        cmocka_unit_test(test_rotation_and_versions),
        cmocka_unit_test(test_ed25519),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_sign_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
