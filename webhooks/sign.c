/* sign.c: the sending side of Standard Webhooks: whsec_ secrets, whsk_/whpk_ Ed25519 key
 * pairs, v1 (HMAC-SHA256) and v1a (Ed25519) signatures and the webhook-signature header. */
#include "webhooks/sign.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "webhooks/sign_internal.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_sodium_rc = -1;

static void sodium_start(void)
{
    g_sodium_rc = sodium_init(); /* 0 first time, 1 if already initialised, -1 on failure */
}

gb_err wh_sodium_init(void)
{
    pthread_once(&g_once, sodium_start);
    return g_sodium_rc < 0 ? GB_ERR_CRYPTO : GB_OK;
}

int wh_b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap, size_t *outlen)
{
    const char *end = NULL;
    *outlen = 0;
    if (slen == 0 || slen % 4 != 0) return -1;
    if (sodium_base642bin(out, cap, s, slen, NULL, outlen, &end, sodium_base64_VARIANT_ORIGINAL) !=
            0 ||
        end != s + slen) {
        sodium_memzero(out, cap);
        *outlen = 0;
        return -1;
    }
    return 0;
}

bool wh_id_ok(const char *id)
{
    if (!id) return false;
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        unsigned char c = (unsigned char)*p;
        if (n >= WH_ID_MAX || c <= 0x20 || c >= 0x7f || c == '.') return false;
    }
    return n > 0;
}

void wh_mac_v1(const uint8_t *key, size_t keylen, const char *id, const char *ts, const char *body,
               size_t len, uint8_t mac[WH_MAC_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    if (len) crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

gb_err wh_content_new(const char *id, const char *ts, const char *body, size_t len, uint8_t **out,
                      size_t *n)
{
    size_t il = strlen(id), tl = strlen(ts);
    *out = NULL;
    *n = 0;
    if (len > SIZE_MAX - il - tl - 2) return GB_ERR_LIMIT;
    size_t total = il + tl + 2 + len;
    uint8_t *b = malloc(total ? total : 1);
    if (!b) return GB_ERR_NOMEM;
    memcpy(b, id, il);
    b[il] = '.';
    memcpy(b + il + 1, ts, tl);
    b[il + 1 + tl] = '.';
    if (len) memcpy(b + il + tl + 2, body, len);
    *out = b;
    *n = total;
    return GB_OK;
}

/* "<prefix><strict base64>" decoded into out (at most cap bytes). */
static gb_err prefixed_decode(const char *s, const char *prefix, uint8_t *out, size_t cap,
                              size_t *outlen)
{
    if (!s || !gb_str_starts_with(s, prefix)) return GB_ERR_INVALID;
    s += strlen(prefix);
    size_t sl = strnlen(s, 200);
    if (sl >= 200 || wh_b64_decode(s, sl, out, cap, outlen)) return GB_ERR_INVALID;
    return GB_OK;
}

gb_err wh_pk_decode(const char *pk, uint8_t out[WH_ED_PK_BYTES])
{
    size_t n = 0;
    gb_err e = prefixed_decode(pk, "whpk_", out, WH_ED_PK_BYTES, &n);
    if (e) return e;
    if (n != WH_ED_PK_BYTES) {
        sodium_memzero(out, WH_ED_PK_BYTES);
        return GB_ERR_INVALID;
    }
    return GB_OK;
}

/* "whsk_" + base64 of libsodium's 64-byte secret key, or of a 32-byte seed. */
static gb_err sk_decode(const char *sk, uint8_t out[WH_ED_SK_BYTES])
{
    uint8_t raw[WH_ED_SK_BYTES], pk[WH_ED_PK_BYTES];
    size_t n = 0;
    gb_err e = prefixed_decode(sk, "whsk_", raw, sizeof raw, &n);
    if (e) goto fail;
    if (n == WH_ED_SK_BYTES) {
        memcpy(out, raw, WH_ED_SK_BYTES);
    } else if (n == crypto_sign_SEEDBYTES) {
        if (crypto_sign_seed_keypair(pk, out, raw) != 0) {
            e = GB_ERR_CRYPTO;
            goto fail;
        }
    } else {
        e = GB_ERR_INVALID;
        goto fail;
    }
    sodium_memzero(raw, sizeof raw);
    return GB_OK;
fail:
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(out, WH_ED_SK_BYTES);
    return e;
}

/* prefix + base64(bin) into out. */
static gb_err encode_prefixed(const char *prefix, const uint8_t *bin, size_t n, char *out,
                              size_t outsz)
{
    size_t pl = strlen(prefix),
           need = pl + sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    if (!out || outsz < need) return GB_ERR_LIMIT;
    memcpy(out, prefix, pl);
    sodium_bin2base64(out + pl, outsz - pl, bin, n, sodium_base64_VARIANT_ORIGINAL);
    return GB_OK;
}

static void ts_str(int64_t ts, char buf[WH_TS_STR])
{
    gb_snprintf(buf, WH_TS_STR, "%lld", (long long)ts);
}

gb_err wh_secret_new(size_t nbytes, char *out, size_t outsz)
{
    uint8_t key[WH_SECRET_MAX_BYTES];
    gb_err e = wh_sodium_init();
    if (e) goto fail;
    if (nbytes < WH_SECRET_MIN_BYTES || nbytes > WH_SECRET_MAX_BYTES) {
        e = GB_ERR_INVALID;
        goto fail;
    }
    randombytes_buf(key, nbytes);
    e = encode_prefixed("whsec_", key, nbytes, out, outsz);
fail:
    sodium_memzero(key, sizeof key);
    if (e && out && outsz) out[0] = '\0';
    return e;
}

gb_err wh_secret_decode(const char *secret, uint8_t *key, size_t *keylen)
{
    uint8_t raw[WH_SECRET_MAX_BYTES];
    size_t n = 0, cap = keylen ? *keylen : 0;
    gb_err e = wh_sodium_init();
    if (e) goto fail;
    if (!key || !keylen) {
        e = GB_ERR_INVALID;
        goto fail;
    }
    e = prefixed_decode(secret, "whsec_", raw, sizeof raw, &n);
    if (e) goto fail;
    if (n < WH_SECRET_MIN_BYTES || n > WH_SECRET_MAX_BYTES) {
        e = GB_ERR_INVALID;
        goto fail;
    }
    if (n > cap) {
        e = GB_ERR_LIMIT;
        goto fail;
    }
    memcpy(key, raw, n);
    *keylen = n;
    sodium_memzero(raw, sizeof raw);
    return GB_OK;
fail:
    sodium_memzero(raw, sizeof raw);
    if (key && cap) sodium_memzero(key, cap);
    if (keylen) *keylen = 0;
    return e;
}

gb_err wh_sign_v1(const char *secret, const char *msg_id, int64_t ts, const char *body,
                  size_t body_len, char *out, size_t outsz)
{
    uint8_t key[WH_SECRET_MAX_BYTES], mac[WH_MAC_BYTES];
    size_t keylen = sizeof key;
    char tss[WH_TS_STR];
    gb_err e = GB_ERR_INVALID;
    if (!wh_id_ok(msg_id) || ts < 0 || (!body && body_len)) goto fail;
    if ((e = wh_secret_decode(secret, key, &keylen))) goto fail;
    ts_str(ts, tss);
    wh_mac_v1(key, keylen, msg_id, tss, body, body_len, mac);
    e = encode_prefixed("v1,", mac, sizeof mac, out, outsz);
fail:
    sodium_memzero(key, sizeof key);
    sodium_memzero(mac, sizeof mac);
    if (e && out && outsz) out[0] = '\0';
    return e;
}

/* "v1a,<base64 Ed25519 signature of the content>". */
static gb_err sign_v1a(const char *sk_str, const char *msg_id, int64_t ts, const char *body,
                       size_t len, char *out, size_t outsz)
{
    uint8_t sk[WH_ED_SK_BYTES], sig[WH_ED_SIG_BYTES], *content = NULL;
    size_t n = 0;
    char tss[WH_TS_STR];
    gb_err e = wh_sodium_init();
    if (e) goto fail;
    e = GB_ERR_INVALID;
    if (!wh_id_ok(msg_id) || ts < 0 || (!body && len)) goto fail;
    if ((e = sk_decode(sk_str, sk))) goto fail;
    ts_str(ts, tss);
    if ((e = wh_content_new(msg_id, tss, body, len, &content, &n))) goto fail;
    if (crypto_sign_detached(sig, NULL, content, n, sk) != 0) {
        e = GB_ERR_CRYPTO;
        goto fail;
    }
    e = encode_prefixed("v1a,", sig, sizeof sig, out, outsz);
fail:
    sodium_memzero(sk, sizeof sk);
    free(content);
    return e;
}

gb_err wh_signature_header(const char *const *secrets, size_t nsecrets, const char *ed25519_sk,
                           const char *msg_id, int64_t ts, const char *body, size_t len, char *out,
                           size_t outsz)
{
    char one[WH_SIG_V1A_MAX];
    size_t used = 0;
    gb_err e = GB_ERR_INVALID;
    if (!out || outsz == 0) return GB_ERR_LIMIT;
    out[0] = '\0';
    if ((nsecrets && !secrets) || nsecrets + (ed25519_sk ? 1 : 0) == 0 ||
        nsecrets + (ed25519_sk ? 1 : 0) > WH_SIGS_MAX)
        goto fail;
    for (size_t i = 0; i <= nsecrets; i++) {
        if (i < nsecrets)
            e = wh_sign_v1(secrets[i], msg_id, ts, body, len, one, sizeof one);
        else if (ed25519_sk)
            e = sign_v1a(ed25519_sk, msg_id, ts, body, len, one, sizeof one);
        else
            break;
        if (e) goto fail;
        size_t ol = strlen(one), sep = used ? 1 : 0;
        if (used + sep + ol + 1 > outsz) {
            e = GB_ERR_LIMIT;
            goto fail;
        }
        if (sep) out[used++] = ' ';
        memcpy(out + used, one, ol + 1);
        used += ol;
    }
    return GB_OK;
fail:
    out[0] = '\0';
    return e;
}

gb_err wh_ed25519_keypair(char *sk_out, size_t sksz, char *pk_out, size_t pksz)
{
    uint8_t sk[WH_ED_SK_BYTES], pk[WH_ED_PK_BYTES];
    gb_err e = wh_sodium_init();
    if (e) goto fail;
    if (crypto_sign_keypair(pk, sk) != 0) {
        e = GB_ERR_CRYPTO;
        goto fail;
    }
    if ((e = encode_prefixed("whsk_", sk, sizeof sk, sk_out, sksz))) goto fail;
    if ((e = encode_prefixed("whpk_", pk, sizeof pk, pk_out, pksz))) goto fail;
    sodium_memzero(sk, sizeof sk);
    return GB_OK;
fail:
    sodium_memzero(sk, sizeof sk);
    if (sk_out && sksz) sodium_memzero(sk_out, sksz);
    if (pk_out && pksz) pk_out[0] = '\0';
    return e;
}
