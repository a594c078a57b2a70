/* sign.h: Standard Webhooks signatures (https://www.standardwebhooks.com): whsec_ secrets and
 * whsk_/whpk_ Ed25519 keys, the webhook-signature header, and bounded verification. */
#ifndef GB_WEBHOOKS_SIGN_H
#define GB_WEBHOOKS_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"

#define WH_SECRET_MIN_BYTES 24 /* HMAC key length, decoded */
#define WH_SECRET_MAX_BYTES 64
#define WH_SECRET_MAX 96   /* "whsec_" + base64(64 bytes) + NUL fits */
#define WH_SK_MAX 96       /* "whsk_" + base64(64 bytes) + NUL fits */
#define WH_PK_MAX 56       /* "whpk_" + base64(32 bytes) + NUL fits */
#define WH_SIG_V1_MAX 48   /* "v1," + 44 base64 chars + NUL */
#define WH_SIG_V1A_MAX 96  /* "v1a," + 88 base64 chars + NUL */
#define WH_ID_MAX 256      /* longest webhook-id accepted */
#define WH_HEADER_MAX 8192 /* longest webhook-signature header accepted */
#define WH_SIGS_MAX 32     /* most signatures in one header */
#define WH_DEFAULT_TOLERANCE_S 300

/* A webhook-id must be 1..WH_ID_MAX printable ASCII characters without spaces or '.' (a '.'
 * would make "{id}.{ts}.{body}" ambiguous). Timestamps are Unix seconds >= 0. */

/* Writes "whsec_" + base64 of nbytes (24..64) fresh random bytes. GB_ERR_INVALID for a bad
 * nbytes, GB_ERR_LIMIT when outsz is too small (WH_SECRET_MAX always fits). */
gb_err wh_secret_new(size_t nbytes, char *out, size_t outsz);

/* Decodes "whsec_<base64>" into key (*keylen: capacity in, length out). GB_ERR_INVALID for a
 * bad prefix, bad base64 (standard alphabet, padded) or a decoded length outside 24..64;
 * GB_ERR_LIMIT if the capacity is too small. key is zeroed on failure. */
gb_err wh_secret_decode(const char *secret, uint8_t *key, size_t *keylen);

/* Writes "v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>". body may be NULL when body_len
 * is 0. GB_ERR_INVALID for a bad secret, id or ts; GB_ERR_LIMIT when out is too small. */
gb_err wh_sign_v1(const char *secret, const char *msg_id, int64_t ts, const char *body,
                  size_t body_len, char *out, size_t outsz);

/* Writes the webhook-signature header: one v1 signature per secret (several during a secret
 * rotation), then a v1a one when ed25519_sk ("whsk_...", or NULL) is given, space-separated.
 * At least one key is needed (GB_ERR_INVALID). On failure out is "" (when outsz > 0). */
gb_err wh_signature_header(const char *const *secrets, size_t nsecrets, const char *ed25519_sk,
                           const char *msg_id, int64_t ts, const char *body, size_t len, char *out,
                           size_t outsz);

/* A fresh Ed25519 key pair: sk_out "whsk_" + base64 of libsodium's 64-byte secret key,
 * pk_out "whpk_" + base64 of the 32-byte public key. whsk_ keys holding a 32-byte seed are
 * accepted for signing too. GB_ERR_LIMIT when a buffer is too small. Key material zeroed. */
gb_err wh_ed25519_keypair(char *sk_out, size_t sksz, char *pk_out, size_t pksz);

typedef enum {
    WH_VERIFY_OK,
    WH_VERIFY_BAD_SIGNATURE, /* no signature of our scheme matched (or none of our scheme) */
    WH_VERIFY_STALE,         /* timestamp further than the tolerance from now, either way */
    WH_VERIFY_BAD_HEADERS,   /* missing, oversized or malformed id, timestamp or signatures */
    WH_VERIFY_BAD_KEY        /* secret_or_pk is neither a valid whsec_ nor whpk_ key */
} wh_verify_result;

/* Verifies a delivery. secret_or_pk: "whsec_..." checks the v1 signatures, "whpk_..." the v1a
 * ones; other versions are ignored. ts_header must be 1..19 ASCII digits; sig_header at most
 * WH_HEADER_MAX bytes holding 1..WH_SIGS_MAX space-separated "<version>,<signature>" entries.
 * tolerance_s < 0 means WH_DEFAULT_TOLERANCE_S. Comparisons are constant-time. */
wh_verify_result wh_verify(const char *secret_or_pk, const char *msg_id, const char *ts_header,
                           const char *sig_header, const char *body, size_t len, int64_t now_s,
                           int64_t tolerance_s);

const char *wh_verify_str(wh_verify_result r); /* "ok", "bad signature", ... */

#endif
