/* vault_hash.c: API-key hashing: a random 32-byte pepper kept as the sealed secret
 * "vault/api_key_pepper", and keyed BLAKE2b-256 of API keys under it; and the digest, keyed
 * by the same pepper, that tells requests apart (vault_digest). */
#include <sodium.h>
#include <string.h>

#include "common/log.h"
#include "vault/vault_internal.h"

gb_err vault_pepper_load(vault *v, gb_db *db)
{
    char *pt = NULL;
    size_t n = 0;
    uint8_t *pepper = NULL;
    int began = 0;
    if (!v || !db) return GB_ERR_INVALID;
    gb_err e = vault_sodium_init();
    if (e) return e;
    if (!(pepper = sodium_malloc(VAULT_KEY_BYTES))) return GB_ERR_NOMEM;
    if ((e = gb_db_begin(db))) goto fail; /* also refuses a caller's open transaction */
    began = 1;
    /* two brokers starting at once on an empty PostgreSQL: the second waits here, then reads
     * the first one's pepper instead of writing its own over it */
    if ((e = vault_store_lock(db, 1))) goto fail;
    e = vault_get(v, db, VAULT_PEPPER_REF, &pt, &n);
    if (e == GB_OK) {
        if (n != VAULT_KEY_BYTES) {
            GB_ERROR("vault", "the stored API key pepper has the wrong length");
            e = GB_ERR_CRYPTO;
            goto fail;
        }
        memcpy(pepper, pt, VAULT_KEY_BYTES);
    } else if (e == GB_ERR_NOT_FOUND) {
        randombytes_buf(pepper, VAULT_KEY_BYTES);
        if ((e = vault_put(v, db, VAULT_PEPPER_REF, pepper, VAULT_KEY_BYTES))) goto fail;
        GB_INFO("vault", "created the API key pepper");
    } else {
        goto fail;
    }
    if ((e = gb_db_commit(db))) goto fail;
    vault_secret_free(pt, n);
    pthread_mutex_lock(&v->mu);
    if (v->pepper) sodium_free(v->pepper);
    v->pepper = pepper;
    pthread_mutex_unlock(&v->mu);
    return GB_OK;
fail:
    if (began) gb_db_rollback(db);
    vault_secret_free(pt, n);
    sodium_free(pepper);
    return e;
}

gb_err vault_hash_api_key(vault *v, const char *api_key, char out[VAULT_HASH_HEX])
{
    uint8_t h[32];
    out[0] = '\0';
    if (!v || !api_key) return GB_ERR_INVALID;
    pthread_mutex_lock(&v->mu);
    if (!v->pepper) {
        pthread_mutex_unlock(&v->mu);
        GB_ERROR("vault", "vault_hash_api_key before vault_pepper_load");
        return GB_ERR_INTERNAL;
    }
    crypto_generichash(h, sizeof(h), (const uint8_t *)api_key, strlen(api_key), v->pepper,
                       VAULT_KEY_BYTES);
    pthread_mutex_unlock(&v->mu);
    sodium_bin2hex(out, VAULT_HASH_HEX, h, sizeof(h));
    return GB_OK;
}

gb_err vault_digest(vault *v, const void *const *parts, const size_t *lens, int n,
                    char out[VAULT_HASH_HEX])
{
    uint8_t h[32];
    crypto_generichash_state st;
    out[0] = '\0';
    if (!v || !parts || !lens || n < 1) return GB_ERR_INVALID;
    for (int i = 0; i < n; i++)
        if (lens[i] && !parts[i]) return GB_ERR_INVALID;
    pthread_mutex_lock(&v->mu);
    if (!v->pepper) {
        pthread_mutex_unlock(&v->mu);
        GB_ERROR("vault", "vault_digest before vault_pepper_load");
        return GB_ERR_INTERNAL;
    }
    crypto_generichash_init(&st, v->pepper, VAULT_KEY_BYTES, sizeof(h));
    pthread_mutex_unlock(&v->mu);
    for (int i = 0; i < n; i++) {
        uint8_t len[8];
        uint64_t x = (uint64_t)lens[i];
        for (int k = 0; k < 8; k++)
            len[k] = (uint8_t)(x >> (8 * k));
        crypto_generichash_update(&st, len, sizeof(len));
        if (lens[i]) crypto_generichash_update(&st, parts[i], lens[i]);
    }
    crypto_generichash_final(&st, h, sizeof(h));
    sodium_memzero(&st, sizeof(st));
    sodium_bin2hex(out, VAULT_HASH_HEX, h, sizeof(h));
    return GB_OK;
}
