/* vault_store.c: every SQL statement of the vault: the vault_secrets table, storing and
 * fetching sealed blobs by ref, and listing rows for rotation. Only file of vault/ with SQL. */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/dbq.h"
#include "common/log.h"
#include "common/str.h"
#include "vault/vault_internal.h"

/* updated_at is Unix milliseconds (gb_now_ms). key_id is the 8 hex id also inside the blob;
 * the blob's copy is the one used to open it, this one lets rotation find old rows. */
static const gb_migration g_steps[] = {
    {1, "CREATE TABLE vault_secrets ("
        " ref TEXT PRIMARY KEY,"
        " key_id TEXT NOT NULL,"
        " blob BLOB NOT NULL,"
        " updated_at INTEGER NOT NULL)"},
};

static const gb_migration_set g_set = {
    .module = "vault", .steps = g_steps, .count = GB_ARRAY_LEN(g_steps)};

const gb_migration_set *vault_migrations(void)
{
    return &g_set;
}

/* PostgreSQL's advisory lock key of the vault ("gbvault!"). On SQLite every vault_put and
 * each rotation pass run under the one write lock (BEGIN IMMEDIATE), which keeps the
 * invariant "the key of every stored row is in the key file": a put seals and stores in one
 * transaction, the rotation lists the rows under old keys and drops those keys in another.
 * PostgreSQL's transactions run side by side, so the same exclusion is asked for: a put
 * holds the lock shared from before it seals until its transaction ends, a rotation pass
 * holds it exclusively from its listing to its end. SQLite needs (and has) no statement. */
#define VAULT_LOCK_KEY 0x67627661756c7421LL

gb_err vault_store_lock(gb_db *db, int exclusive)
{
    if (gb_db_kind_of(db) != GB_DB_POSTGRESQL) return GB_OK;
    gb_q *q = exclusive ? gb_q_prep(db, "SELECT pg_advisory_xact_lock(?1)")
                        : gb_q_prep(db, "SELECT pg_advisory_xact_lock_shared(?1)");
    if (!q) return GB_ERR_DB;
    gb_q_int64(q, 1, VAULT_LOCK_KEY);
    return gb_q_run(q, NULL);
}

gb_err vault_store_upsert(gb_db *db, const char *ref, const char *kid_hex, const uint8_t *blob,
                          size_t len)
{
    if (len > INT32_MAX) return GB_ERR_LIMIT;
    gb_q *s = gb_q_prep(db, "INSERT INTO vault_secrets(ref, key_id, blob, updated_at) "
                            "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(ref) DO UPDATE SET "
                            "key_id = excluded.key_id, blob = excluded.blob, "
                            "updated_at = excluded.updated_at");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, ref);
    gb_q_text(s, 2, kid_hex);
    gb_q_blob(s, 3, blob, len);
    gb_q_int64(s, 4, gb_now_ms());
    return gb_q_run(s, NULL);
}

gb_err vault_store_fetch(gb_db *db, const char *ref, uint8_t **blob, size_t *len)
{
    *blob = NULL;
    *len = 0;
    gb_q *s = gb_q_prep(db, "SELECT blob FROM vault_secrets WHERE ref = ?1");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, ref);
    int row = 0;
    gb_err e = gb_q_step(s, &row);
    if (!e && row) {
        size_t n = 0;
        const void *p = gb_q_col_blob(s, 0, &n);
        uint8_t *copy = malloc(n > 0 ? n : 1);
        if (!copy) {
            e = GB_ERR_NOMEM;
        } else {
            if (n > 0 && p) memcpy(copy, p, n);
            *blob = copy;
            *len = p ? n : 0;
        }
    } else if (!e) {
        e = GB_ERR_NOT_FOUND;
    }
    gb_q_reset(s);
    return e;
}

gb_err vault_delete(gb_db *db, const char *ref)
{
    if (!db || !ref) return GB_ERR_INVALID;
    gb_q *s = gb_q_prep(db, "DELETE FROM vault_secrets WHERE ref = ?1");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, ref);
    gb_err e = gb_q_run(s, NULL);
    vault_changed(db); /* after the delete: at once outside a transaction, else at its commit */
    return e;
}

void vault_store_refs_free(char **refs, size_t n)
{
    if (!refs) return;
    for (size_t i = 0; i < n; i++)
        free(refs[i]);
    free(refs);
}

gb_err vault_store_refs_not_under(gb_db *db, const char *kid_hex, char ***refs, size_t *n)
{
    char **list = NULL;
    size_t count = 0, cap = 0;
    gb_err e = GB_OK;
    int row = 0;
    *refs = NULL;
    *n = 0;
    if ((e = vault_store_lock(db, 1))) return e;
    gb_q *s = gb_q_prep(db, "SELECT ref FROM vault_secrets WHERE key_id <> ?1 ORDER BY ref");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, kid_hex);
    while (!(e = gb_q_step(s, &row)) && row) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **grown = realloc(list, ncap * sizeof(*list));
            if (!grown) {
                e = GB_ERR_NOMEM;
                goto fail;
            }
            list = grown;
            cap = ncap;
        }
        const char *ref = gb_q_col_text(s, 0);
        if (!(list[count] = gb_strdup(ref ? ref : ""))) {
            e = GB_ERR_NOMEM;
            goto fail;
        }
        count++;
    }
    if (e) goto fail;
    gb_q_reset(s);
    *refs = list;
    *n = count;
    return GB_OK;
fail:
    gb_q_reset(s);
    vault_store_refs_free(list, count);
    return e;
}

gb_err vault_put(vault *v, gb_db *db, const char *ref, const void *pt, size_t n)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    char kid[VAULT_KID_HEX];
    if (!v || !db || !ref) return GB_ERR_INVALID;
    if (!gb_db_in_txn(db)) {
        GB_ERROR("vault", "vault_put outside a transaction (ref %s)", ref);
        return GB_ERR_INTERNAL;
    }
    gb_err e = vault_store_lock(db, 0); /* before sealing: see VAULT_LOCK_KEY */
    if (e) return e;
    if ((e = vault_seal(v, ref, pt, n, &blob, &len))) return e;
    vault_kid_hex(blob + 1, kid);
    e = vault_store_upsert(db, ref, kid, blob, len);
    free(blob);
    vault_changed(db);
    return e;
}

void (*vault_get_hook)(const char *ref, void *ud);
void *vault_get_hook_ud;

#define GET_TRIES 3

/* A rotation may re-seal the row and drop the old key between the read of the blob and its
 * opening: the blob's key has then "moved", and the row read again is sealed under a key
 * of the new ring. Inside a transaction the row read again is the same (the snapshot), which
 * is why request paths read secrets outside write transactions or before them. */
gb_err vault_get(vault *v, gb_db *db, const char *ref, char **pt, size_t *n)
{
    *pt = NULL;
    *n = 0;
    if (!v || !db || !ref) return GB_ERR_INVALID;
    gb_err e = GB_ERR_CRYPTO;
    for (int i = 0; i < GET_TRIES; i++) {
        uint8_t *blob = NULL;
        size_t len = 0;
        int moved = 0;
        if ((e = vault_store_fetch(db, ref, &blob, &len))) return e;
        if (vault_get_hook) vault_get_hook(ref, vault_get_hook_ud);
        e = vault_unseal_ex(v, ref, blob, len, pt, n, &moved);
        free(blob);
        if (e != GB_ERR_CRYPTO || !moved) break;
    }
    if (e == GB_ERR_CRYPTO) GB_WARN("vault", "the secret %s does not open", ref);
    return e;
}
