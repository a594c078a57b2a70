/* vault.h: secrets at rest. XChaCha20-Poly1305 under a master key with the secret's reference
 * (its row identity) as associated data, a key id on every ciphertext, the master key ring in
 * a 0600 file (or GPUBROKER_MASTER_KEY), rotation that re-seals everything in one transaction,
 * and keyed BLAKE2b hashing of API keys. Only vault/ includes sodium.h. */
#ifndef GB_VAULT_H
#define GB_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "common/db.h"
#include "common/gb.h"

#define VAULT_ERR_MAX GB_ERRMSG_MAX    /* the size of every err buffer (common/gb.h) */
#define VAULT_HASH_HEX 65              /* 64 hex chars + NUL */
#define VAULT_SECRET_MAX (1024 * 1024) /* largest plaintext vault_seal takes (GB_ERR_LIMIT) */

typedef struct vault vault;

/* The schema of the vault's table (vault_secrets). */
const gb_migration_set *vault_migrations(void);

/* Creates a new key file holding one fresh master key, mode 0600. GB_ERR_CONFLICT if the
 * file exists (left untouched). */
gb_err vault_keyfile_create(const char *key_file);

/* Opens the key ring. If env_key is non-NULL and non-empty it is the master key (64 hex
 * chars or standard base64 of 32 bytes; surrounding whitespace ignored; its key id is the
 * first 4 bytes of BLAKE2b-256(key) in hex) and key_file is ignored; otherwise key_file is read
 * and must be owned by the caller's user and not readable or writable by group or others
 * (GB_ERR_FORBIDDEN with a message otherwise). A vault opened from a file notices when the
 * file changes (rotation) and reloads it before the next seal or open. Thread-safe. */
gb_err vault_open(const char *key_file, const char *env_key, vault **out, gb_errmsg err);
void vault_free(vault *v);

/* Seals pt with ad as associated data. The blob carries a format byte and the key id.
 * *blob is malloc'd; caller frees. GB_ERR_LIMIT when n > VAULT_SECRET_MAX. When the key file
 * changed but cannot be reloaded, sealing fails with that error rather than use a key that
 * may have been rotated out (opening keeps working with the keys in memory). */
gb_err vault_seal(vault *v, const char *ad, const void *pt, size_t n, uint8_t **blob,
                  size_t *blob_len);
/* Opens a blob sealed with the same ad. GB_ERR_CRYPTO when tampered, wrong ad or unknown key
 * id. *pt gets n+1 bytes (NUL-terminated); free it with vault_secret_free(). */
gb_err vault_unseal(vault *v, const char *ad, const uint8_t *blob, size_t blob_len, char **pt,
                    size_t *n);
void vault_secret_free(char *pt, size_t n); /* zeroes then frees; NULL is fine */

/* Stored secrets in vault_secrets, keyed by ref (e.g. "docker_credentials/cred_x/password"),
 * on the caller's connection. vault_put must run inside the caller's write transaction
 * (gb_db_begin), so sealing and storing are atomic with the owning row and with rotation. */
gb_err vault_put(vault *v, gb_db *db, const char *ref, const void *pt, size_t n);
gb_err vault_get(vault *v, gb_db *db, const char *ref, char **pt, size_t *n); /* NOT_FOUND */
gb_err vault_delete(gb_db *db, const char *ref); /* GB_OK also when there was no such row */
/* vault_get for a request's hot path: the answer (the secret, or GB_ERR_NOT_FOUND) is kept in
 * memory, and given again while it is younger than max_age_ms (gb_mono_ms) and no vault_put or
 * vault_delete of this process ran since (nor committed since): a change made here is seen at
 * once, one made by another broker sharing the store after at most max_age_ms. A kept secret
 * is in guarded memory (sodium_malloc: locked, zeroed when released); the store and the key
 * are remembered per store (gb_db_path). max_age_ms <= 0, or a transaction open on db (which
 * may see its own unsaved change), reads the store as vault_get does. */
gb_err vault_get_recent(vault *v, gb_db *db, const char *ref, int64_t max_age_ms, char **pt,
                        size_t *n);

/* Creates the API-key hashing pepper (a random 32-byte key stored as the secret
 * "vault/api_key_pepper") if it does not exist, and loads it into v. Call after migrations,
 * before vault_hash_api_key. Runs its own transaction. */
gb_err vault_pepper_load(vault *v, gb_db *db);
/* Keyed BLAKE2b-256 of an API key as lowercase hex. GB_ERR_INTERNAL if no pepper loaded. */
gb_err vault_hash_api_key(vault *v, const char *api_key, char out[VAULT_HASH_HEX]);
/* Keyed BLAKE2b-256 (under the API-key pepper) of n byte strings as lowercase hex, each part
 * prefixed by its length (so "ab"+"c" and "a"+"bc" differ); a part of length 0 may be NULL.
 * Tells two requests apart (broker/api/idem.c) without storing anything that could be tested
 * against a guessed body. GB_ERR_INVALID for n < 1, GB_ERR_INTERNAL before vault_pepper_load. */
gb_err vault_digest(vault *v, const void *const *parts, const size_t *lens, int n,
                    char out[VAULT_HASH_HEX]);
/* Constant-time comparison of two equal-length buffers: 1 when equal. */
int vault_equal(const void *a, const void *b, size_t n);

/* Rotation: writes a new key file holding [new key, current keys] (atomic rename), re-seals
 * every row of vault_secrets under the new key in one transaction, then rewrites the file
 * with the new key alone. A daemon serving from the same file keeps working throughout.
 * key_file must pass the same checks as in vault_open (owner, mode 0600). db must be
 * migrated and have no open transaction. Refused with GB_ERR_INVALID (and a message) when the
 * environment variable GPUBROKER_MASTER_KEY is set and non-empty in this process: an
 * environment key cannot be rotated here; unset it to rotate the key file. If re-sealing
 * fails, the file keeps both the new and the old keys (every secret still opens), the error
 * is returned and the rotation can simply be run again. *resealed (may be NULL) counts rows. */
gb_err vault_rotate(const char *key_file, gb_db *db, size_t *resealed, gb_errmsg err);

/* The id of the key new secrets are sealed with (8 hex chars + NUL). */
void vault_active_key_id(vault *v, char out[9]);

#endif
