/* verify.c: the receiving side of Standard Webhooks: bounded parsing of the webhook-id,
 * webhook-timestamp and webhook-signature headers, the replay window, and constant-time
 * checking of v1 (HMAC-SHA256) or v1a (Ed25519) signatures. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "webhooks/sign.h"
#include "webhooks/sign_internal.h"

typedef struct {
    const char *ver, *sig;
    size_t ver_len, sig_len;
} sig_entry;

static bool is_version(const sig_entry *s, const char *v)
{
    size_t n = strlen(v);
    return s->ver_len == n && memcmp(s->ver, v, n) == 0;
}

/* Splits the header into entries; false when it is missing, oversized, empty, holds control
 * or non-ASCII bytes, more than WH_SIGS_MAX entries, or an entry without "<version>,". */
static bool parse_sig_header(const char *h, sig_entry *e, size_t *n)
{
    *n = 0;
    if (!h) return false;
    size_t hl = strnlen(h, WH_HEADER_MAX + 1);
    if (hl > WH_HEADER_MAX) return false;
    for (size_t i = 0; i < hl; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c < 0x20 || c >= 0x7f) return false;
    }
    const char *p = h, *end = h + hl;
    while (p < end) {
        if (*p == ' ') {
            p++;
            continue;
        }
        const char *tok = p;
        while (p < end && *p != ' ')
            p++;
        const char *comma = memchr(tok, ',', (size_t)(p - tok));
        if (!comma || comma == tok || *n >= WH_SIGS_MAX) return false;
        e[*n].ver = tok;
        e[*n].ver_len = (size_t)(comma - tok);
        e[*n].sig = comma + 1;
        e[*n].sig_len = (size_t)(p - comma - 1);
        (*n)++;
    }
    return *n > 0;
}

/* 1..19 ASCII digits (no sign, no spaces) within int64. */
static bool parse_ts(const char *s, int64_t *ts)
{
    if (!s) return false;
    size_t n = strnlen(s, 20);
    if (n == 0 || n > 19) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return gb_parse_i64(s, 0, INT64_MAX, ts) == 0;
}

static bool stale(int64_t ts, int64_t now_s, int64_t tol)
{
    /* |ts - now| without overflow: the true difference of two int64 fits in a uint64. */
    uint64_t d = ts >= now_s ? (uint64_t)ts - (uint64_t)now_s : (uint64_t)now_s - (uint64_t)ts;
    return d > (uint64_t)tol;
}

static wh_verify_result check_v1(const uint8_t *key, size_t keylen, const char *id, const char *tss,
                                 const char *body, size_t len, const sig_entry *e, size_t n)
{
    uint8_t mac[WH_MAC_BYTES];
    char want[sodium_base64_ENCODED_LEN(WH_MAC_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    const size_t wl = sizeof want - 1;
    wh_verify_result r = WH_VERIFY_BAD_SIGNATURE;
    wh_mac_v1(key, keylen, id, tss, body, len, mac);
    sodium_bin2base64(want, sizeof want, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
    for (size_t i = 0; i < n; i++) {
        if (!is_version(&e[i], "v1") || e[i].sig_len != wl) continue;
        if (sodium_memcmp(want, e[i].sig, wl) == 0) {
            r = WH_VERIFY_OK;
            break;
        }
    }
    sodium_memzero(mac, sizeof mac);
    sodium_memzero(want, sizeof want);
    return r;
}

static wh_verify_result check_v1a(const uint8_t pk[WH_ED_PK_BYTES], const char *id, const char *tss,
                                  const char *body, size_t len, const sig_entry *e, size_t n)
{
    uint8_t *content = NULL, sig[WH_ED_SIG_BYTES];
    size_t cn = 0, sl = 0;
    wh_verify_result r = WH_VERIFY_BAD_SIGNATURE;
    for (size_t i = 0; i < n && r != WH_VERIFY_OK; i++) {
        if (!is_version(&e[i], "v1a")) continue;
        if (wh_b64_decode(e[i].sig, e[i].sig_len, sig, sizeof sig, &sl) || sl != sizeof sig)
            continue;
        if (!content && wh_content_new(id, tss, body, len, &content, &cn)) goto fail;
        if (crypto_sign_verify_detached(sig, content, cn, pk) == 0) r = WH_VERIFY_OK;
    }
fail:
    free(content);
    return r;
}

wh_verify_result wh_verify(const char *secret_or_pk, const char *msg_id, const char *ts_header,
                           const char *sig_header, const char *body, size_t len, int64_t now_s,
                           int64_t tolerance_s)
{
    sig_entry ent[WH_SIGS_MAX];
    size_t n = 0, keylen = WH_SECRET_MAX_BYTES;
    uint8_t key[WH_SECRET_MAX_BYTES], pk[WH_ED_PK_BYTES];
    int64_t ts = 0;
    char tss[WH_TS_STR];
    bool sym = false;
    wh_verify_result r = WH_VERIFY_BAD_KEY;

    if (wh_sodium_init()) goto fail;
    if (gb_str_starts_with(secret_or_pk, "whsec_")) {
        sym = true;
        if (wh_secret_decode(secret_or_pk, key, &keylen)) goto fail;
    } else if (gb_str_starts_with(secret_or_pk, "whpk_")) {
        sym = false;
        if (wh_pk_decode(secret_or_pk, pk)) goto fail;
    } else {
        goto fail;
    }
    r = WH_VERIFY_BAD_HEADERS;
    if (!wh_id_ok(msg_id) || !parse_ts(ts_header, &ts) || (!body && len) ||
        !parse_sig_header(sig_header, ent, &n))
        goto fail;
    if (tolerance_s < 0) tolerance_s = WH_DEFAULT_TOLERANCE_S;
    r = WH_VERIFY_STALE;
    if (stale(ts, now_s, tolerance_s)) goto fail;
    /* Sign the canonical decimal form, as the reference implementations do. */
    gb_snprintf(tss, sizeof tss, "%lld", (long long)ts);
    r = sym ? check_v1(key, keylen, msg_id, tss, body, len, ent, n)
            : check_v1a(pk, msg_id, tss, body, len, ent, n);
fail:
    sodium_memzero(key, sizeof key);
    return r;
}

const char *wh_verify_str(wh_verify_result r)
{
    switch (r) {
    case WH_VERIFY_OK:
        return "ok";
    case WH_VERIFY_BAD_SIGNATURE:
        return "bad signature";
    case WH_VERIFY_STALE:
        return "stale timestamp";
    case WH_VERIFY_BAD_HEADERS:
        return "bad webhook headers";
    case WH_VERIFY_BAD_KEY:
        return "bad verification key";
    }
    return "unknown";
}
