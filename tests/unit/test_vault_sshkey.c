/* test_vault_sshkey.c: sshkey_parse against keys that ssh-keygen makes at test time (its own
 * `-lf` fingerprint is the reference), plus hand-built blobs for every way a line can be wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vault/sshkey.h"

#define LINE_CAP 20000
#define CMD_CAP 1024

static char tmpdir[256];

/* ---- base64 and blob helpers (own code, so the test does not share libsodium's) ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const unsigned char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        assert_true(o + 5 <= cap);
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
    }
    out[o] = '\0';
}

static int b64_val(char c)
{
    const char *p = strchr(b64chars, c);
    return (c && p) ? (int)(p - b64chars) : -1;
}

/* Decodes well-formed padded base64 (ssh-keygen's output); returns the length. */
static size_t b64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    size_t o = 0;
    assert_int_equal(n % 4, 0);
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++)
            v[j] = in[i + j] == '=' ? 0 : b64_val(in[i + j]);
        for (int j = 0; j < 4; j++)
            assert_true(v[j] >= 0);
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        assert_true(o + 3 <= cap);
        out[o++] = (unsigned char)(w >> 16);
        if (in[i + 2] != '=') out[o++] = (unsigned char)(w >> 8);
        if (in[i + 3] != '=') out[o++] = (unsigned char)w;
    }
    return o;
}

typedef struct {
    unsigned char d[4096];
    size_t len;
} blob;

static void put_u32(blob *b, uint32_t v)
{
    assert_true(b->len + 4 <= sizeof b->d);
    b->d[b->len++] = (unsigned char)(v >> 24);
    b->d[b->len++] = (unsigned char)(v >> 16);
    b->d[b->len++] = (unsigned char)(v >> 8);
    b->d[b->len++] = (unsigned char)v;
}

static void put_bytes(blob *b, const void *p, size_t n)
{
    put_u32(b, (uint32_t)n);
    assert_true(b->len + n <= sizeof b->d);
    memcpy(b->d + b->len, p, n);
    b->len += n;
}

static void put_str(blob *b, const char *s)
{
    put_bytes(b, s, strlen(s));
}

/* A positive mpint of `bytes` bytes whose top bit is set (so it needs a 0x00 prefix), odd. */
static void put_big_mpint(blob *b, size_t bytes)
{
    unsigned char m[1025];
    assert_true(bytes + 1 <= sizeof m);
    m[0] = 0x00;
    for (size_t i = 1; i <= bytes; i++)
        m[i] = (unsigned char)(0x5a + i);
    m[1] = 0xc3;
    m[bytes] |= 1;
    put_bytes(b, m, bytes + 1);
}

static void put_e65537(blob *b)
{
    static const unsigned char e[] = {0x01, 0x00, 0x01};
    put_bytes(b, e, sizeof e);
}

/* "TYPE base64(blob) comment" */
static void make_line(char *out, size_t cap, const char *type, const blob *b, const char *comment)
{
    char b64[8192];
    b64_encode(b->d, b->len, b64, sizeof b64);
    int n = snprintf(out, cap, "%s %s%s%s", type, b64, comment ? " " : "", comment ? comment : "");
    assert_true(n > 0 && (size_t)n < cap);
}

static void ed25519_blob(blob *b)
{
    unsigned char k[32];
    for (size_t i = 0; i < sizeof k; i++)
        k[i] = (unsigned char)(i * 7 + 1);
    b->len = 0;
    put_str(b, "ssh-ed25519");
    put_bytes(b, k, sizeof k);
}

static void expect_invalid(const char *line, const char *needle)
{
    char type[32] = "x", fp[SSHKEY_FP_MAX] = "x", err[SSHKEY_ERR_MAX] = "";
    gb_err rc = sshkey_parse(line, type, fp, err);
    if (rc != GB_ERR_INVALID) fail_msg("accepted (rc %d): %.200s", (int)rc, line ? line : "(null)");
    if (!strstr(err, needle)) fail_msg("message '%s' lacks '%s'", err, needle);
    assert_true(strncmp(err, "public_key: ", 12) == 0);
    assert_string_equal(type, "");
    assert_string_equal(fp, "");
}

/* ---- ssh-keygen ---- */

static void need_ssh_keygen(void)
{
    if (system("command -v ssh-keygen >/dev/null 2>&1") != 0)
        fail_msg("ssh-keygen is not installed; install openssh-client (these tests do not skip)");
}

/* Strips the trailing newline of a one-line file. */
static void read_line(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    if (!fgets(out, (int)cap, f)) out[0] = '\0';
    fclose(f);
    size_t n = strlen(out);
    assert_true(n > 0);
    assert_true(out[n - 1] == '\n');
}

/* The second field of `ssh-keygen -lf path`: "2048 SHA256:xxxx comment (RSA)". */
static void keygen_fingerprint(const char *path, char *fp, size_t cap)
{
    char cmd[CMD_CAP], out[1024] = "";
    snprintf(cmd, sizeof cmd, "ssh-keygen -lf '%s'", path);
    FILE *p = popen(cmd, "r");
    if (!p) fail_msg("popen failed: %s", cmd);
    if (!fgets(out, sizeof out, p)) out[0] = '\0';
    int st = pclose(p);
    if (st != 0) fail_msg("'%s' failed (status %d): %s", cmd, st, out);
    const char *a = strchr(out, ' ');
    if (!a) fail_msg("unexpected ssh-keygen -l output: %s", out);
    a++;
    size_t n = strcspn(a, " \n");
    assert_true(n > 7 && n < cap);
    memcpy(fp, a, n);
    fp[n] = '\0';
    assert_true(strncmp(fp, "SHA256:", 7) == 0);
}

/* Generates tmpdir/name(.pub); returns 0, or the exit status if ssh-keygen refused. */
static int keygen(const char *name, const char *type, int bits, const char *comment)
{
    char cmd[CMD_CAP], path[512];
    need_ssh_keygen();
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    unlink(path);
    char pub[520];
    snprintf(pub, sizeof pub, "%s.pub", path);
    unlink(pub);
    char bitsopt[32] = "";
    if (bits) snprintf(bitsopt, sizeof bitsopt, "-b %d", bits);
    snprintf(cmd, sizeof cmd,
             "ssh-keygen -q -N '' -t %s %s -C '%s' -f '%s' </dev/null >/dev/null 2>&1", type,
             bitsopt, comment, path);
    return system(cmd);
}

static void check_against_keygen(const char *name, const char *type, int bits,
                                 const char *want_type)
{
    char path[520], line[LINE_CAP], ref[SSHKEY_FP_MAX];
    int st = keygen(name, type, bits, "tester@gpubroker test key");
    if (st != 0) fail_msg("ssh-keygen -t %s -b %d failed (status %d)", type, bits, st);
    snprintf(path, sizeof path, "%s/%s.pub", tmpdir, name);
    read_line(path, line, sizeof line);
    keygen_fingerprint(path, ref, sizeof ref);

    char got_type[32], fp[SSHKEY_FP_MAX], err[SSHKEY_ERR_MAX];
    gb_err rc = sshkey_parse(line, got_type, fp, err);
    if (rc != GB_OK) fail_msg("%s rejected: %s", name, err);
    assert_string_equal(got_type, want_type);
    assert_string_equal(fp, ref);
    assert_int_equal(strlen(fp), 7 + 43);
}

/* Reads a generated key's .pub into line and its decoded blob into b. */
static void load_pub(const char *name, char *line, size_t cap, blob *b)
{
    char path[520];
    snprintf(path, sizeof path, "%s/%s.pub", tmpdir, name);
    read_line(path, line, cap);
    const char *k = strchr(line, ' ');
    assert_non_null(k);
    k++;
    size_t n = strcspn(k, " \n");
    b->len = b64_decode(k, n, b->d, sizeof b->d);
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    if (!base || !*base ||
        strspn(base, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789/._-") != strlen(base))
        base = "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/gb_sshkey_XXXXXX", base);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[CMD_CAP];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- keys from ssh-keygen, fingerprints checked against ssh-keygen -lf ---- */

static void test_ed25519_matches_ssh_keygen(void **state)
{
    (void)state;
    check_against_keygen("ed25519", "ed25519", 0, "ssh-ed25519");
}

static void test_rsa2048_matches_ssh_keygen(void **state)
{
    (void)state;
    check_against_keygen("rsa2048", "rsa", 2048, "ssh-rsa");
}

static void test_rsa3072_matches_ssh_keygen(void **state)
{
    (void)state;
    check_against_keygen("rsa3072", "rsa", 3072, "ssh-rsa");
}

static void test_ecdsa256_matches_ssh_keygen(void **state)
{
    (void)state;
    check_against_keygen("ecdsa256", "ecdsa", 256, "ecdsa-sha2-nistp256");
}

static void test_ecdsa384_matches_ssh_keygen(void **state)
{
    (void)state;
    check_against_keygen("ecdsa384", "ecdsa", 384, "ecdsa-sha2-nistp384");
}

static void test_ecdsa521_matches_ssh_keygen(void **state)
{
    (void)state;
    check_against_keygen("ecdsa521", "ecdsa", 521, "ecdsa-sha2-nistp521");
}

/* A hand-built blob written to a file: ssh-keygen -lf must agree on its fingerprint too. */
static void test_hand_built_rsa_matches_ssh_keygen(void **state)
{
    (void)state;
    need_ssh_keygen();
    blob b = {.len = 0};
    put_str(&b, "ssh-rsa");
    put_e65537(&b);
    put_big_mpint(&b, 256); /* exactly 2048 bits */
    char line[LINE_CAP], path[520], ref[SSHKEY_FP_MAX];
    make_line(line, sizeof line, "ssh-rsa", &b, "hand built");
    snprintf(path, sizeof path, "%s/hand.pub", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", line);
    fclose(f);
    keygen_fingerprint(path, ref, sizeof ref);

    char type[32], fp[SSHKEY_FP_MAX], err[SSHKEY_ERR_MAX];
    if (sshkey_parse(line, type, fp, err) != GB_OK) fail_msg("rejected: %s", err);
    assert_string_equal(type, "ssh-rsa");
    assert_string_equal(fp, ref);
}

/* ---- RSA size ---- */

static void test_rsa1024_rejected(void **state)
{
    (void)state;
    /* Modern ssh-keygen refuses -b 1024; when it does not, its key must be refused too. */
    if (keygen("rsa1024", "rsa", 1024, "small") == 0) {
        char line[LINE_CAP];
        blob b;
        load_pub("rsa1024", line, sizeof line, &b);
        expect_invalid(line, "RSA key is 1024 bits; at least 2048 are required");
    }
    blob b = {.len = 0};
    put_str(&b, "ssh-rsa");
    put_e65537(&b);
    put_big_mpint(&b, 128);
    char line[LINE_CAP];
    make_line(line, sizeof line, "ssh-rsa", &b, "small@host");
    expect_invalid(line, "public_key: RSA key is 1024 bits; at least 2048 are required");
}

static void test_rsa2047_rejected(void **state)
{
    (void)state;
    blob b = {.len = 0};
    unsigned char n[256];
    memset(n, 0xa5, sizeof n);
    n[0] = 0x7f; /* 2047 bits, no 0x00 prefix needed */
    n[255] |= 1;
    put_str(&b, "ssh-rsa");
    put_e65537(&b);
    put_bytes(&b, n, sizeof n);
    char line[LINE_CAP];
    make_line(line, sizeof line, "ssh-rsa", &b, NULL);
    expect_invalid(line, "RSA key is 2047 bits");
}

static void test_rsa_bad_numbers_rejected(void **state)
{
    (void)state;
    char line[LINE_CAP];
    blob b;
    static const unsigned char even[] = {0x01, 0x00, 0x00};
    static const unsigned char neg[] = {0x81};
    static const unsigned char padded[] = {0x00, 0x01, 0x00, 0x01};
    static const unsigned char one[] = {0x01}, three[] = {0x03};

    b.len = 0; /* even exponent */
    put_str(&b, "ssh-rsa");
    put_bytes(&b, even, sizeof even);
    put_big_mpint(&b, 256);
    make_line(line, sizeof line, "ssh-rsa", &b, NULL);
    expect_invalid(line, "exponent is even");

    b.len = 0; /* negative exponent */
    put_str(&b, "ssh-rsa");
    put_bytes(&b, neg, sizeof neg);
    put_big_mpint(&b, 256);
    make_line(line, sizeof line, "ssh-rsa", &b, NULL);
    expect_invalid(line, "exponent is negative");

    b.len = 0; /* zero exponent */
    put_str(&b, "ssh-rsa");
    put_bytes(&b, "", 0);
    put_big_mpint(&b, 256);
    make_line(line, sizeof line, "ssh-rsa", &b, NULL);
    expect_invalid(line, "exponent is zero");

    b.len = 0; /* exponent 1: every value is its own signature, so anyone logs in with it */
    put_str(&b, "ssh-rsa");
    put_bytes(&b, one, sizeof one);
    put_big_mpint(&b, 256); /* otherwise a valid 2048-bit modulus */
    make_line(line, sizeof line, "ssh-rsa", &b, NULL);
    expect_invalid(line, "exponent is 1");

    b.len = 0; /* exponent 3, the smallest valid one, on the same modulus: accepted */
    put_str(&b, "ssh-rsa");
    put_bytes(&b, three, sizeof three);
    put_big_mpint(&b, 256);
    make_line(line, sizeof line, "ssh-rsa", &b, NULL);
    char type[32], fp[SSHKEY_FP_MAX], err[SSHKEY_ERR_MAX];
    if (sshkey_parse(line, type, fp, err) != GB_OK) fail_msg("rejected: %s", err);
    assert_string_equal(type, "ssh-rsa");

    b.len = 0; /* non-minimal exponent: its fingerprint would differ from ssh-keygen's */
    put_str(&b, "ssh-rsa");
    put_bytes(&b, padded, sizeof padded);
    put_big_mpint(&b, 256);
    make_line(line, sizeof line, "ssh-rsa", &b, NULL);
    expect_invalid(line, "leading zero");

    b.len = 0; /* modulus missing */
    put_str(&b, "ssh-rsa");
    put_e65537(&b);
    make_line(line, sizeof line, "ssh-rsa", &b, NULL);
    expect_invalid(line, "truncated");
}

/* ---- malformed lines ---- */

static void test_bad_base64_rejected(void **state)
{
    (void)state;
    expect_invalid("ssh-ed25519 AAAA!!!!AAAA user@host", "key data is not valid base64");
    expect_invalid("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", "not valid base64"); /* bad length */
    expect_invalid("ssh-ed25519 AB== x", "not valid base64"); /* non-zero padding bits */
    expect_invalid("ssh-ed25519 ====", "not valid base64");
}

static void test_truncated_blob_rejected(void **state)
{
    (void)state;
    static const char *names[] = {"ed25519", "rsa2048", "ecdsa256"};
    static const char *types[] = {"ed25519", "rsa", "ecdsa"};
    static const int bits[] = {0, 2048, 256};
    for (size_t i = 0; i < 3; i++) {
        char line[LINE_CAP];
        blob b;
        int st = keygen(names[i], types[i], bits[i], "cut");
        if (st != 0) fail_msg("ssh-keygen -t %s failed (status %d)", types[i], st);
        load_pub(names[i], line, sizeof line, &b);
        /* Cut whole 4-character groups so what is left is still valid base64. */
        char *k = strchr(line, ' ') + 1;
        size_t n = strcspn(k, " \n");
        for (size_t cut = 4; cut < n; cut += 4 * 7) {
            char t[LINE_CAP];
            snprintf(t, sizeof t, "%.*s %.*s", (int)(k - line - 1), line, (int)(n - cut), k);
            expect_invalid(t, "truncated");
        }
    }
}

static void test_type_mismatch_rejected(void **state)
{
    (void)state;
    char line[LINE_CAP];
    blob b;
    ed25519_blob(&b);
    make_line(line, sizeof line, "ssh-rsa", &b, "mislabelled");
    expect_invalid(line, "the line says ssh-rsa but the key data is an ssh-ed25519 key");
    make_line(line, sizeof line, "ecdsa-sha2-nistp256", &b, NULL);
    expect_invalid(line, "is an ssh-ed25519 key");

    b.len = 0; /* blob names something unknown */
    put_str(&b, "ssh-dss");
    make_line(line, sizeof line, "ssh-ed25519", &b, NULL);
    expect_invalid(line, "names 'ssh-dss'");

    /* ECDSA with the wrong curve inside */
    unsigned char pt[97];
    memset(pt, 0x11, sizeof pt);
    pt[0] = 0x04;
    b.len = 0;
    put_str(&b, "ecdsa-sha2-nistp256");
    put_str(&b, "nistp384");
    put_bytes(&b, pt, 65);
    make_line(line, sizeof line, "ecdsa-sha2-nistp256", &b, NULL);
    expect_invalid(line, "curve 'nistp384'");
}

static void test_bad_key_sizes_rejected(void **state)
{
    (void)state;
    char line[LINE_CAP];
    blob b;
    unsigned char k[133];
    memset(k, 0x42, sizeof k);
    k[0] = 0x04;

    b.len = 0;
    put_str(&b, "ssh-ed25519");
    put_bytes(&b, k, 31);
    make_line(line, sizeof line, "ssh-ed25519", &b, NULL);
    expect_invalid(line, "is 31 bytes; expected 32");

    b.len = 0; /* nistp384 point on a P-256 key */
    put_str(&b, "ecdsa-sha2-nistp256");
    put_str(&b, "nistp256");
    put_bytes(&b, k, 97);
    make_line(line, sizeof line, "ecdsa-sha2-nistp256", &b, NULL);
    expect_invalid(line, "point is 97 bytes; expected 65");

    b.len = 0; /* compressed point */
    k[0] = 0x02;
    put_str(&b, "ecdsa-sha2-nistp521");
    put_str(&b, "nistp521");
    put_bytes(&b, k, 67);
    make_line(line, sizeof line, "ecdsa-sha2-nistp521", &b, NULL);
    expect_invalid(line, "uncompressed");

    b.len = 0; /* a length field far past the end must not be followed */
    put_str(&b, "ssh-ed25519");
    put_u32(&b, 0xffffffffu);
    memcpy(b.d + b.len, k, 32);
    b.len += 32;
    make_line(line, sizeof line, "ssh-ed25519", &b, NULL);
    expect_invalid(line, "truncated");

    b.len = 0; /* type string length past the end */
    put_u32(&b, 12);
    memcpy(b.d + b.len, "ssh-ed25519", 11);
    b.len += 11;
    make_line(line, sizeof line, "ssh-ed25519", &b, NULL);
    expect_invalid(line, "truncated");
}

static void test_trailing_garbage_rejected(void **state)
{
    (void)state;
    char line[LINE_CAP];
    blob b;
    int st = keygen("ed25519", "ed25519", 0, "trailing");
    if (st != 0) fail_msg("ssh-keygen -t ed25519 failed (status %d)", st);
    load_pub("ed25519", line, sizeof line, &b);
    b.d[b.len++] = 0xde;
    b.d[b.len++] = 0xad;
    make_line(line, sizeof line, "ssh-ed25519", &b, "junk");
    expect_invalid(line, "2 unexpected bytes after the key");

    st = keygen("rsa2048", "rsa", 2048, "trailing");
    if (st != 0) fail_msg("ssh-keygen -t rsa failed (status %d)", st);
    load_pub("rsa2048", line, sizeof line, &b);
    put_str(&b, "extra");
    make_line(line, sizeof line, "ssh-rsa", &b, NULL);
    expect_invalid(line, "9 unexpected bytes");
}

static void test_unknown_type_rejected(void **state)
{
    (void)state;
    expect_invalid("ssh-dss AAAAB3NzaC1kc3MAAACBAP user@host",
                   "public_key: unsupported key type 'ssh-dss' (use ssh-ed25519, ssh-rsa or "
                   "ecdsa-sha2-nistp256/384/521)");
    expect_invalid("ssh-ed25519-cert-v01@openssh.com AAAA", "unsupported key type");
    expect_invalid("sk-ssh-ed25519@openssh.com AAAA", "unsupported key type");
    expect_invalid("SSH-ED25519 AAAA", "unsupported key type 'SSH-ED25519'");
    expect_invalid("AAAAC3NzaC1lZDI1NTE5AAAAIJzQ", "unsupported key type");
    /* echoed input is bounded and printable */
    char line[400];
    memset(line, 'x', 300);
    line[300] = '\0';
    expect_invalid(line, "xxx...'");
    expect_invalid("ssh-\x01\x02 AAAA", "control character");
}

static void test_options_prefix_rejected(void **state)
{
    (void)state;
    char line[1024], t[LINE_CAP];
    blob b;
    ed25519_blob(&b);
    make_line(line, sizeof line, "ssh-ed25519", &b, "me@host");
    snprintf(t, sizeof t, "no-pty %s", line);
    expect_invalid(t, "authorized_keys options are not accepted");
    snprintf(t, sizeof t, "command=\"echo hi there\",no-pty %s", line);
    expect_invalid(t, "options");
}

static void test_empty_rejected(void **state)
{
    (void)state;
    expect_invalid("", "empty");
    expect_invalid("  \t \n", "empty");
    expect_invalid(NULL, "missing");
    expect_invalid("ssh-ed25519", "missing after 'ssh-ed25519'");
    expect_invalid("  ssh-rsa  \n", "missing after 'ssh-rsa'");
}

static void test_overlong_line_rejected(void **state)
{
    (void)state;
    char *big = malloc(16384 + 2);
    assert_non_null(big);
    char line[LINE_CAP];
    blob b;
    ed25519_blob(&b);
    make_line(line, sizeof line, "ssh-ed25519", &b, "c");
    size_t n = strlen(line);

    /* exactly 16 KiB: accepted */
    memcpy(big, line, n);
    memset(big + n, 'c', 16384 - n);
    big[16384] = '\0';
    char type[32], fp[SSHKEY_FP_MAX], err[SSHKEY_ERR_MAX];
    if (sshkey_parse(big, type, fp, err) != GB_OK) fail_msg("16 KiB line rejected: %s", err);

    /* one byte more: rejected */
    big[16384] = 'c';
    big[16385] = '\0';
    expect_invalid(big, "longer than 16 KiB");
    free(big);

    /* not NUL-terminated within reach either (huge) */
    char *huge = malloc(1 << 20);
    assert_non_null(huge);
    memset(huge, 'A', (1 << 20) - 1);
    huge[(1 << 20) - 1] = '\0';
    expect_invalid(huge, "longer than 16 KiB");
    free(huge);
}

static void test_multiline_rejected(void **state)
{
    (void)state;
    char line[1024], t[LINE_CAP];
    blob b;
    ed25519_blob(&b);
    make_line(line, sizeof line, "ssh-ed25519", &b, "a");
    snprintf(t, sizeof t, "%s\n%s\n", line, line);
    expect_invalid(t, "single line");
    snprintf(t, sizeof t, "%s\rssh-rsa AAAA", line);
    expect_invalid(t, "single line");
}

static void test_comment_and_whitespace_accepted(void **state)
{
    (void)state;
    int st = keygen("ed25519", "ed25519", 0, "x");
    if (st != 0) fail_msg("ssh-keygen -t ed25519 failed (status %d)", st);
    char line[LINE_CAP], ref[SSHKEY_FP_MAX], path[520];
    blob b;
    load_pub("ed25519", line, sizeof line, &b);
    snprintf(path, sizeof path, "%s/ed25519.pub", tmpdir);
    keygen_fingerprint(path, ref, sizeof ref);

    char key[200];
    const char *k = strchr(line, ' ') + 1;
    snprintf(key, sizeof key, "%.*s", (int)strcspn(k, " \n"), k);

    static const char *forms[] = {
        "ssh-ed25519 %s",
        "ssh-ed25519 %s\n",
        "ssh-ed25519 %s\r\n",
        "  \tssh-ed25519\t\t%s   \n",
        "ssh-ed25519 %s Alice Example (work laptop)  2024",
        "ssh-ed25519 %s  comment with\ttabs and ssh-rsa inside \n",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char t[LINE_CAP], type[32], fp[SSHKEY_FP_MAX], err[SSHKEY_ERR_MAX];
        snprintf(t, sizeof t, forms[i], key);
        if (sshkey_parse(t, type, fp, err) != GB_OK) fail_msg("rejected '%s': %s", t, err);
        assert_string_equal(type, "ssh-ed25519");
        assert_string_equal(fp, ref);
    }
    /* NULL out-parameters are tolerated */
    assert_int_equal(sshkey_parse(line, NULL, NULL, NULL), GB_OK);
    assert_int_equal(sshkey_parse("bogus", NULL, NULL, NULL), GB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_matches_ssh_keygen),
        cmocka_unit_test(test_rsa2048_matches_ssh_keygen),
        cmocka_unit_test(test_rsa3072_matches_ssh_keygen),
        cmocka_unit_test(test_ecdsa256_matches_ssh_keygen),
        cmocka_unit_test(test_ecdsa384_matches_ssh_keygen),
        cmocka_unit_test(test_ecdsa521_matches_ssh_keygen),
        cmocka_unit_test(test_hand_built_rsa_matches_ssh_keygen),
        cmocka_unit_test(test_rsa1024_rejected),
        cmocka_unit_test(test_rsa2047_rejected),
        cmocka_unit_test(test_rsa_bad_numbers_rejected),
        cmocka_unit_test(test_bad_base64_rejected),
        cmocka_unit_test(test_truncated_blob_rejected),
        cmocka_unit_test(test_type_mismatch_rejected),
        cmocka_unit_test(test_bad_key_sizes_rejected),
        cmocka_unit_test(test_trailing_garbage_rejected),
        cmocka_unit_test(test_unknown_type_rejected),
        cmocka_unit_test(test_options_prefix_rejected),
        cmocka_unit_test(test_empty_rejected),
        cmocka_unit_test(test_overlong_line_rejected),
        cmocka_unit_test(test_multiline_rejected),
        cmocka_unit_test(test_comment_and_whitespace_accepted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
