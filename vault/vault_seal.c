/* vault_seal.c: the sealed blob: format byte, key id, random 24-byte nonce, then
 * XChaCha20-Poly1305-IETF ciphertext and tag, with (format, key id, caller's ad) authenticated. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "vault/vault_internal.h"

_Static_assert(VAULT_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce size");
_Static_assert(VAULT_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(VAULT_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

/* AD = blob[0..VAULT_BOUND_BYTES) || ad, so the key id cannot be swapped. malloc'd. */
static uint8_t *make_ad(const uint8_t *bound, const char *ad, size_t *len)
{
    size_t adn = strlen(ad);
    uint8_t *p = malloc(VAULT_BOUND_BYTES + adn + 1);
    if (!p) return NULL;
    memcpy(p, bound, VAULT_BOUND_BYTES);
    memcpy(p + VAULT_BOUND_BYTES, ad, adn);
    *len = VAULT_BOUND_BYTES + adn;
    return p;
}

gb_err vault_seal_ring(const vault_ring *r, const char *ad, const void *pt, size_t n,
                       uint8_t **blob, size_t *blob_len)
{
    static const uint8_t empty[1];
    uint8_t *out = NULL, *adb = NULL;
    size_t adn = 0;
    unsigned long long clen = 0;
    gb_err e = GB_ERR_NOMEM;
    *blob = NULL;
    *blob_len = 0;
    if (!ad || (!pt && n)) return GB_ERR_INVALID;
    if (n > VAULT_SECRET_MAX) return GB_ERR_LIMIT;
    const vault_key *k = &r->keys[0];
    if (!(out = malloc(n + VAULT_OVERHEAD))) goto fail;
    out[0] = VAULT_FORMAT;
    memcpy(out + 1, k->id, VAULT_KID_BYTES);
    randombytes_buf(out + VAULT_BOUND_BYTES, VAULT_NONCE_BYTES);
    if (!(adb = make_ad(out, ad, &adn))) goto fail;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + VAULT_HEADER_BYTES, &clen,
                                                   n ? (const uint8_t *)pt : empty, n, adb, adn,
                                                   NULL, out + VAULT_BOUND_BYTES, k->key) != 0 ||
        clen != n + VAULT_TAG_BYTES) {
        e = GB_ERR_CRYPTO;
        goto fail;
    }
    free(adb);
    *blob = out;
    *blob_len = VAULT_HEADER_BYTES + (size_t)clen;
    return GB_OK;
fail:
    free(adb);
    free(out);
    return e;
}

gb_err vault_unseal_ring(const vault_ring *r, const char *ad, const uint8_t *blob, size_t blob_len,
                         char **pt, size_t *n)
{
    uint8_t *adb = NULL;
    char *out = NULL;
    size_t adn = 0;
    unsigned long long mlen = 0;
    gb_err e = GB_ERR_CRYPTO;
    *pt = NULL;
    *n = 0;
    if (!ad || !blob) return GB_ERR_INVALID;
    if (blob_len < VAULT_OVERHEAD || blob[0] != VAULT_FORMAT) return GB_ERR_CRYPTO;
    const vault_key *k = vault_ring_find(r, blob + 1);
    if (!k) return GB_ERR_NOT_FOUND;
    size_t clen = blob_len - VAULT_HEADER_BYTES;
    if (!(out = malloc(clen - VAULT_TAG_BYTES + 1)) || !(adb = make_ad(blob, ad, &adn))) {
        e = GB_ERR_NOMEM;
        goto fail;
    }
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out, &mlen, NULL,
                                                   blob + VAULT_HEADER_BYTES, clen, adb, adn,
                                                   blob + VAULT_BOUND_BYTES, k->key) != 0 ||
        mlen != clen - VAULT_TAG_BYTES)
        goto fail;
    free(adb);
    out[mlen] = '\0';
    *pt = out;
    *n = (size_t)mlen;
    return GB_OK;
fail:
    free(adb);
    if (out) vault_secret_free(out, clen - VAULT_TAG_BYTES);
    return e;
}

gb_err vault_seal(vault *v, const char *ad, const void *pt, size_t n, uint8_t **blob,
                  size_t *blob_len)
{
    *blob = NULL;
    *blob_len = 0;
    gb_err e = vault_lock_fresh(v, 1);
    if (e) return e;
    e = vault_seal_ring(v->ring, ad, pt, n, blob, blob_len);
    vault_unlock(v);
    return e;
}

gb_err vault_unseal_ex(vault *v, const char *ad, const uint8_t *blob, size_t blob_len, char **pt,
                       size_t *n, int *moved)
{
    *pt = NULL;
    *n = 0;
    if (moved) *moved = 0;
    gb_err e = vault_lock_fresh(v, 0);
    if (e) return e;
    e = vault_unseal_ring(v->ring, ad, blob, blob_len, pt, n);
    if (e == GB_ERR_NOT_FOUND) {
        /* An unknown key id: the file may have changed in a way stat() did not show. */
        if (vault_reload_locked(v) == GB_OK)
            e = vault_unseal_ring(v->ring, ad, blob, blob_len, pt, n);
        if (e == GB_ERR_NOT_FOUND) {
            char kid[VAULT_KID_HEX];
            vault_kid_hex(blob + 1, kid);
            if (moved)
                *moved = 1;
            else
                GB_WARN("vault", "a secret is sealed with key id %s, which is not in the key ring",
                        kid);
            e = GB_ERR_CRYPTO;
        }
    }
    vault_unlock(v);
    return e;
}

gb_err vault_unseal(vault *v, const char *ad, const uint8_t *blob, size_t blob_len, char **pt,
                    size_t *n)
{
    return vault_unseal_ex(v, ad, blob, blob_len, pt, n, NULL);
}
