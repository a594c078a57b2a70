/* sign_internal.h: helpers shared by the webhook signer (sign.c) and verifier (verify.c):
 * libsodium start-up, strict base64, key decoding and the signed content. Not public API. */
#ifndef GB_WEBHOOKS_SIGN_INTERNAL_H
#define GB_WEBHOOKS_SIGN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"

#define WH_MAC_BYTES 32
#define WH_ED_SIG_BYTES 64
#define WH_ED_PK_BYTES 32
#define WH_ED_SK_BYTES 64
#define WH_TS_STR 24 /* decimal int64 + NUL */

gb_err wh_sodium_init(void);

/* Strict standard base64 (padded) of exactly slen chars into out (cap bytes); 0 on success. */
int wh_b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap, size_t *outlen);

/* 1..WH_ID_MAX printable ASCII, no space, no '.'. */
bool wh_id_ok(const char *id);

/* HMAC-SHA256(key, "{id}.{ts}.{body}") without copying the body. */
void wh_mac_v1(const uint8_t *key, size_t keylen, const char *id, const char *ts, const char *body,
               size_t len, uint8_t mac[WH_MAC_BYTES]);

/* "{id}.{ts}.{body}" in one malloc'd buffer (Ed25519 needs it whole). Caller frees. */
gb_err wh_content_new(const char *id, const char *ts, const char *body, size_t len, uint8_t **out,
                      size_t *n);

/* "whpk_" + base64 of 32 bytes. */
gb_err wh_pk_decode(const char *pk, uint8_t out[WH_ED_PK_BYTES]);

#endif
