/* sshkey.c: checks one OpenSSH public key line (ed25519, RSA >= 2048 bits, ECDSA P-256/384/521)
 * down to its wire blob and computes the SHA256 fingerprint exactly as `ssh-keygen -lf` does. */
#include "vault/sshkey.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 16384
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384 /* OpenSSH's own ceiling */
#define SHOW_MAX 40        /* bytes of user input echoed back in a message */
#define SUPPORTED "ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256/384/521"
#define ED25519_KEY_BYTES 32

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (err) snprintf(err, SSHKEY_ERR_MAX, __VA_ARGS__);                                       \
        return GB_ERR_INVALID;                                                                     \
    } while (0)

typedef enum { KIND_ED25519, KIND_RSA, KIND_ECDSA } key_kind;

typedef struct {
    const char *name;
    key_kind kind;
    const char *curve; /* ECDSA only */
    size_t coord;      /* ECDSA only: bytes per coordinate */
} key_type;

static const key_type key_types[] = {
    {"ssh-ed25519", KIND_ED25519, NULL, 0},
    {"ssh-rsa", KIND_RSA, NULL, 0},
    {"ecdsa-sha2-nistp256", KIND_ECDSA, "nistp256", 32},
    {"ecdsa-sha2-nistp384", KIND_ECDSA, "nistp384", 48},
    {"ecdsa-sha2-nistp521", KIND_ECDSA, "nistp521", 66},
};

/* A cursor over the decoded blob; never reads past p + left. */
typedef struct {
    const unsigned char *p;
    size_t left;
} reader;

static const key_type *find_type(const void *s, size_t n)
{
    for (size_t i = 0; i < GB_ARRAY_LEN(key_types); i++) {
        if (strlen(key_types[i].name) == n && memcmp(key_types[i].name, s, n) == 0)
            return &key_types[i];
    }
    return NULL;
}

static bool is_sep(char c)
{
    return c == ' ' || c == '\t';
}
static bool is_trim(char c)
{
    return is_sep(c) || c == '\r' || c == '\n';
}

/* Copies at most SHOW_MAX bytes of untrusted text for a message, printable ASCII only. */
static void show(char out[SHOW_MAX + 4], const void *s, size_t n)
{
    const unsigned char *u = s;
    size_t k = n < SHOW_MAX ? n : SHOW_MAX;
    for (size_t i = 0; i < k; i++)
        out[i] = (u[i] > 0x20 && u[i] < 0x7f) ? (char)u[i] : '?';
    if (n > SHOW_MAX) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

/* One SSH wire string: uint32 big-endian length, then that many bytes. */
static bool read_string(reader *r, const unsigned char **s, size_t *n)
{
    if (r->left < 4) return false;
    uint32_t len = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
                   (uint32_t)r->p[3];
    if (len > r->left - 4) return false;
    *s = r->p + 4;
    *n = len;
    r->p += 4 + (size_t)len;
    r->left -= 4 + (size_t)len;
    return true;
}

static bool bytes_eq(const unsigned char *s, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(s, want, n) == 0;
}

/* A positive mpint in its minimal encoding (the one ssh-keygen re-serialises, so the
 * fingerprint of the blob as given matches). Writes its size in bits. */
static gb_err check_mpint(const unsigned char *d, size_t n, const char *what, size_t *bits,
                          char *err)
{
    if (n == 0) FAIL("public_key: RSA %s is zero", what);
    if (d[0] & 0x80) FAIL("public_key: RSA %s is negative", what);
    if (d[0] == 0 && (n == 1 || !(d[1] & 0x80)))
        FAIL("public_key: RSA %s has superfluous leading zero bytes", what);
    size_t skip = d[0] == 0 ? 1 : 0;
    unsigned top = d[skip];
    size_t b = 0;
    while (top) {
        b++;
        top >>= 1;
    }
    *bits = (n - skip - 1) * 8 + b;
    return GB_OK;
}

static gb_err check_rsa(reader *r, char *err)
{
    const unsigned char *e, *n;
    size_t elen, nlen, ebits, nbits;
    if (!read_string(r, &e, &elen) || !read_string(r, &n, &nlen))
        FAIL("public_key: key data is truncated");
    if (nlen > RSA_MAX_BITS / 8 + 1)
        FAIL("public_key: RSA key is larger than %d bits, which is not supported", RSA_MAX_BITS);
    gb_err rc = check_mpint(e, elen, "exponent", &ebits, err);
    if (rc) return rc;
    rc = check_mpint(n, nlen, "modulus", &nbits, err);
    if (rc) return rc;
    if (!(e[elen - 1] & 1))
        FAIL("public_key: RSA exponent is even, so this is not a valid RSA key");
    if (ebits < 2) FAIL("public_key: RSA exponent is 1, so this is not a valid RSA key");
    if (ebits > nbits) FAIL("public_key: RSA exponent is larger than the modulus");
    if (!(n[nlen - 1] & 1)) FAIL("public_key: RSA modulus is even, so this is not a valid RSA key");
    if (nbits < RSA_MIN_BITS)
        FAIL("public_key: RSA key is %zu bits; at least %d are required", nbits, RSA_MIN_BITS);
    if (nbits > RSA_MAX_BITS)
        FAIL("public_key: RSA key is %zu bits; at most %d are supported", nbits, RSA_MAX_BITS);
    return GB_OK;
}

static gb_err check_ecdsa(reader *r, const key_type *t, char *err)
{
    const unsigned char *curve, *pt;
    size_t clen, plen;
    if (!read_string(r, &curve, &clen) || !read_string(r, &pt, &plen))
        FAIL("public_key: key data is truncated");
    if (!bytes_eq(curve, clen, t->curve)) {
        char shown[SHOW_MAX + 4];
        show(shown, curve, clen);
        FAIL("public_key: %s key data names curve '%s' instead of %s", t->name, shown, t->curve);
    }
    if (plen == 0 || pt[0] != 0x04)
        FAIL("public_key: %s point is not in uncompressed form", t->name);
    if (plen != 1 + 2 * t->coord)
        FAIL("public_key: %s point is %zu bytes; expected %zu", t->name, plen, 1 + 2 * t->coord);
    return GB_OK;
}

/* Checks the decoded blob against the type the line names. */
static gb_err check_blob(const key_type *t, const unsigned char *blob, size_t len, char *err)
{
    reader r = {blob, len};
    const unsigned char *name;
    size_t nlen;
    if (!read_string(&r, &name, &nlen)) FAIL("public_key: key data is truncated");
    if (!bytes_eq(name, nlen, t->name)) {
        const key_type *other = find_type(name, nlen);
        if (other)
            FAIL("public_key: the line says %s but the key data is an %s key", t->name,
                 other->name);
        char shown[SHOW_MAX + 4];
        show(shown, name, nlen);
        FAIL("public_key: the line says %s but the key data names '%s'", t->name, shown);
    }
    gb_err rc = GB_OK;
    switch (t->kind) {
    case KIND_ED25519: {
        const unsigned char *k;
        size_t klen;
        if (!read_string(&r, &k, &klen)) FAIL("public_key: key data is truncated");
        if (klen != ED25519_KEY_BYTES)
            FAIL("public_key: ssh-ed25519 key is %zu bytes; expected %d", klen, ED25519_KEY_BYTES);
        break;
    }
    case KIND_RSA:
        rc = check_rsa(&r, err);
        break;
    case KIND_ECDSA:
        rc = check_ecdsa(&r, t, err);
        break;
    }
    if (rc) return rc;
    if (r.left) FAIL("public_key: key data has %zu unexpected bytes after the key", r.left);
    return GB_OK;
}

static gb_err fingerprint(const unsigned char *blob, size_t len, char fp_out[SSHKEY_FP_MAX])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
                                       sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
    if (crypto_hash_sha256(h, blob, len) != 0) return GB_ERR_CRYPTO;
    sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    if (fp_out) snprintf(fp_out, SSHKEY_FP_MAX, "SHA256:%s", b64);
    return GB_OK;
}

gb_err sshkey_parse(const char *line, char type_out[32], char fp_out[SSHKEY_FP_MAX], gb_errmsg err)
{
    if (type_out) type_out[0] = '\0';
    if (fp_out) fp_out[0] = '\0';
    if (err) err[0] = '\0';
    if (sodium_init() < 0) {
        if (err) snprintf(err, SSHKEY_ERR_MAX, "public_key: libsodium failed to initialise");
        return GB_ERR_CRYPTO;
    }
    if (!line) FAIL("public_key: is missing; paste a line such as 'ssh-ed25519 AAAA... you@host'");
    size_t len = strnlen(line, LINE_MAX_BYTES + 1);
    if (len > LINE_MAX_BYTES)
        FAIL("public_key: is longer than 16 KiB; paste a single public key line (the .pub file)");

    const char *b = line, *end = line + len;
    while (b < end && is_trim(*b))
        b++;
    while (end > b && is_trim(end[-1]))
        end--;
    if (b == end) FAIL("public_key: is empty; paste a line such as 'ssh-ed25519 AAAA... you@host'");
    for (const char *p = b; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n' || c == '\r')
            FAIL("public_key: must be a single line; found a line break inside it");
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            FAIL("public_key: contains a control character (byte 0x%02x)", c);
    }

    /* TYPE */
    const char *tb = b, *te = b;
    while (te < end && !is_sep(*te))
        te++;
    const key_type *t = find_type(tb, (size_t)(te - tb));
    if (!t) {
        char shown[SHOW_MAX + 4];
        show(shown, tb, (size_t)(te - tb));
        /* "no-pty ssh-ed25519 AAAA..." or 'command="..." ssh-rsa ...': a known type further on. */
        for (const char *p = te; p < end;) {
            while (p < end && is_sep(*p))
                p++;
            const char *q = p;
            while (q < end && !is_sep(*q))
                q++;
            if (q > p && find_type(p, (size_t)(q - p)))
                FAIL("public_key: starts with '%s', not a key type; authorized_keys options "
                     "are not accepted, give just 'TYPE KEY [comment]'",
                     shown);
            p = q;
        }
        FAIL("public_key: unsupported key type '%s' (use " SUPPORTED ")", shown);
    }

    /* BASE64 */
    const char *kb = te;
    while (kb < end && is_sep(*kb))
        kb++;
    const char *ke = kb;
    while (ke < end && !is_sep(*ke))
        ke++;
    size_t klen = (size_t)(ke - kb);
    if (klen == 0) FAIL("public_key: the key data is missing after '%s'", t->name);
    /* The rest of the line is a free-form comment. */

    size_t cap = klen / 4 * 3 + 3;
    unsigned char *blob = malloc(cap);
    if (!blob) {
        if (err) snprintf(err, SSHKEY_ERR_MAX, "public_key: out of memory");
        return GB_ERR_NOMEM;
    }
    size_t blen = 0;
    gb_err rc = GB_OK;
    if (sodium_base642bin(blob, cap, kb, klen, NULL, &blen, NULL, sodium_base64_VARIANT_ORIGINAL) !=
        0) {
        if (err) snprintf(err, SSHKEY_ERR_MAX, "public_key: key data is not valid base64");
        rc = GB_ERR_INVALID;
    }
    if (!rc) rc = check_blob(t, blob, blen, err);
    if (!rc) {
        rc = fingerprint(blob, blen, fp_out);
        if (rc && err) snprintf(err, SSHKEY_ERR_MAX, "public_key: could not hash the key");
    }
    free(blob);
    if (rc) {
        if (fp_out) fp_out[0] = '\0';
        return rc;
    }
    if (type_out) snprintf(type_out, 32, "%s", t->name);
    return GB_OK;
}
