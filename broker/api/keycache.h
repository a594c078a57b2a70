/* keycache.h: a bounded in-memory cache of verified API keys (keyed hash -> account, key id,
 * scopes, last use), so an authenticated request need not read its key's row from the store.
 * Only keys found in the store are cached (an unknown key costs a store lookup every time and
 * takes no room). An entry is used for at most ttl_ms after it was read from the store, so a
 * key revoked by another broker sharing the store is refused within that time; a revoke in
 * this process drops the entry at once (keycache_drop_key). Thread-safe. */
#ifndef GB_KEYCACHE_H
#define GB_KEYCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/ids.h"
#include "vault/vault.h"

#define KEYCACHE_SETS 1024 /* entries: KEYCACHE_SETS x KEYCACHE_WAYS */
#define KEYCACHE_WAYS 4

typedef struct keycache keycache;

typedef struct {
    char key_id[GB_ID_MAX];
    char account_id[GB_ID_MAX];
    unsigned scopes;
    int64_t last_used; /* the last use recorded in the store (ms), 0 = never */
} keycache_val;

/* A cache whose entries live ttl_ms (<= 0: a cache that never holds anything). NULL when out
 * of memory. */
keycache *keycache_new(int64_t ttl_ms);
void keycache_free(keycache *kc);

/* The generation to pass to keycache_put: read it BEFORE reading the key from the store, so an
 * invalidation between the read and the put keeps the (possibly stale) row out. */
uint64_t keycache_gen(keycache *kc);
/* True and *out filled when hash (VAULT_HASH_HEX chars) is cached and younger than the TTL at
 * now_ms (a monotonic clock). */
bool keycache_get(keycache *kc, const char *hash, int64_t now_ms, keycache_val *out);
/* Caches v for hash, read from the store at now_ms, unless an invalidation happened since gen
 * was read. A full set loses its oldest entry. */
void keycache_put(keycache *kc, const char *hash, const keycache_val *v, uint64_t gen,
                  int64_t now_ms);
/* Records that the key's last use was written to the store (keeps the entry's age). */
void keycache_touched(keycache *kc, const char *hash, int64_t last_used);
/* Drops every entry of key id (a revoke or a change of the key); call after the change is
 * committed. */
void keycache_drop_key(keycache *kc, const char *key_id);
/* Drops every entry. */
void keycache_clear(keycache *kc);
/* How many entries are cached (for tests and metrics). */
int keycache_count(keycache *kc);

#endif
