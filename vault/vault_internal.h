/* vault_internal.h: what the vault's files share: the key ring (kept in sodium_malloc'd
 * memory), the vault handle, the blob layout and the store functions. Not for other modules. */
#ifndef GB_VAULT_INTERNAL_H
#define GB_VAULT_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "common/db.h"
#include "common/gb.h"
#include "vault/vault.h"

#define VAULT_KEY_BYTES 32
#define VAULT_KID_BYTES 4
#define VAULT_KID_HEX 9      /* 8 hex chars + NUL */
#define VAULT_RING_MAX 32    /* keys in one ring (one key file) */
#define VAULT_FORMAT 1       /* first byte of every blob */
#define VAULT_NONCE_BYTES 24 /* crypto_aead_xchacha20poly1305_ietf_NPUBBYTES */
#define VAULT_TAG_BYTES 16   /* crypto_aead_xchacha20poly1305_ietf_ABYTES */
/* Blob: format (1) | key id (4) | nonce (24) | ciphertext (n) | tag (16). The first
 * VAULT_BOUND_BYTES (format and key id) are authenticated as a prefix of the AD. */
#define VAULT_BOUND_BYTES (1 + VAULT_KID_BYTES)
#define VAULT_HEADER_BYTES (VAULT_BOUND_BYTES + VAULT_NONCE_BYTES)
#define VAULT_OVERHEAD (VAULT_HEADER_BYTES + VAULT_TAG_BYTES)
#define VAULT_KEYFILE_MAX 65536 /* bytes */
#define VAULT_PEPPER_REF "vault/api_key_pepper"

typedef struct {
    uint8_t id[VAULT_KID_BYTES];
    uint8_t key[VAULT_KEY_BYTES];
} vault_key;

/* keys[0] seals; every key opens. Always allocated with vault_ring_new (sodium_malloc). */
typedef struct {
    size_t n;
    vault_key keys[VAULT_RING_MAX];
} vault_ring;

/* What identifies one version of the key file, to notice a rewrite. */
typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim;
    struct timespec ctim;
} vault_file_id;

struct vault {
    pthread_mutex_t mu;
    char *key_file;    /* NULL when the key came from the environment (never reloaded) */
    vault_file_id fid; /* the file version ring was read from */
    vault_ring *ring;  /* never NULL */
    uint8_t *pepper;   /* VAULT_KEY_BYTES, sodium_malloc'd; NULL until vault_pepper_load */
    char last_err[VAULT_ERR_MAX]; /* last reload failure logged (to log each one once) */
    struct gb_memo *recent;       /* vault_get_recent's answers (vault_recent.c) */
};

/* vault_recent.c: a stored secret changed (or may change when db's transaction commits):
 * every answer vault_get_recent keeps in this process is read again. */
void vault_changed(gb_db *db);
void vault_recent_free(vault *v);

/* vault.c */
gb_err vault_sodium_init(void);
void vault_set_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A vault over ring (ownership passes, also on failure) that never reloads. */
gb_err vault_from_ring(vault_ring *ring, vault **out);
/* Locks v and reloads the key file if it changed. When the reload fails: for sealing the
 * error is returned (v unlocked), since the key to seal with may be stale; for opening the
 * ring in memory stays in use. On GB_OK the caller holds the lock. */
gb_err vault_lock_fresh(vault *v, int for_seal);
/* Re-reads the key file even if it looks unchanged. Caller holds the lock. */
gb_err vault_reload_locked(vault *v);
void vault_unlock(vault *v);

/* vault_keys.c */
vault_ring *vault_ring_new(void);
void vault_ring_free(vault_ring *r); /* NULL is fine; memory is zeroed */
const vault_key *vault_ring_find(const vault_ring *r, const uint8_t id[VAULT_KID_BYTES]);
/* Adds a fresh random key with a fresh random id in front (it becomes the sealing key). */
gb_err vault_ring_add_new(vault_ring *r);
/* Reads a key file from fd (path only for messages): regular file, owned by the effective
 * user, no group/other mode bits (GB_ERR_FORBIDDEN), at most VAULT_KEYFILE_MAX bytes, at least
 * one valid key line (GB_ERR_INVALID). fid (may be NULL) gets the identity of what was read. */
gb_err vault_ring_read_fd(int fd, const char *path, vault_ring **out, vault_file_id *fid,
                          char *err);
gb_err vault_ring_read(const char *path, vault_ring **out, vault_file_id *fid, char *err);
/* Replaces path atomically (0600 temp file in the same directory, fsync, rename, fsync dir). */
gb_err vault_ring_write(const char *path, const vault_ring *r, char *err);
/* The master key from GPUBROKER_MASTER_KEY's value: 64 hex chars or base64 of 32 bytes.
 * Its id is the first 4 bytes of BLAKE2b-256(key). */
gb_err vault_ring_from_env(const char *value, vault_ring **out, char *err);
void vault_kid_hex(const uint8_t id[VAULT_KID_BYTES], char out[VAULT_KID_HEX]);
void vault_file_id_of(const struct stat *st, vault_file_id *out);
int vault_file_id_eq(const vault_file_id *a, const vault_file_id *b);

/* vault_seal.c: sealing with a ring; the caller holds whatever lock protects it.
 * vault_unseal_ring returns GB_ERR_NOT_FOUND when the blob's key id is not in the ring. */
gb_err vault_seal_ring(const vault_ring *r, const char *ad, const void *pt, size_t n,
                       uint8_t **blob, size_t *blob_len);
gb_err vault_unseal_ring(const vault_ring *r, const char *ad, const uint8_t *blob, size_t blob_len,
                         char **pt, size_t *n);

/* vault_unseal that sets *moved (instead of logging) when the blob's key id is in no ring the
 * key file has held since: a rotation re-sealed the row after it was read. */
gb_err vault_unseal_ex(vault *v, const char *ad, const uint8_t *blob, size_t blob_len, char **pt,
                       size_t *n, int *moved);

/* Test seam: called by vault_get between reading a blob and opening it (NULL in the
 * program), so a test can run a whole rotation at that instant. */
extern void (*vault_get_hook)(const char *ref, void *ud);
extern void *vault_get_hook_ud;

/* vault_store.c: the SQL of vault_secrets. */
/* The vault's advisory lock on PostgreSQL (shared by puts, exclusive by a rotation pass and
 * the first start's pepper) until the caller's transaction ends; SQLite: nothing to do. */
gb_err vault_store_lock(gb_db *db, int exclusive);
gb_err vault_store_upsert(gb_db *db, const char *ref, const char *kid_hex, const uint8_t *blob,
                          size_t len);
gb_err vault_store_fetch(gb_db *db, const char *ref, uint8_t **blob, size_t *len);
/* Refs of the rows whose key_id differs from kid_hex (all rows when no row has it). For the
 * rotation, inside its transaction: on PostgreSQL it first takes the vault's lock exclusively
 * until that transaction ends (vault_put takes it shared), which SQLite's write lock gives
 * already: no broker seals under a key the rotation is about to drop. */
gb_err vault_store_refs_not_under(gb_db *db, const char *kid_hex, char ***refs, size_t *n);
void vault_store_refs_free(char **refs, size_t n);

#endif
