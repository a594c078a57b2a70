/* vault_rotate.c: master key rotation without downtime: add a new key in front of the key
 * file, re-seal every secret under it in one transaction, then drop the old keys. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/dbq.h"
#include "common/log.h"
#include "common/str.h"
#include "vault/vault_internal.h"

#define STRAGGLER_ROUNDS 3
/* PostgreSQL's session lock of a rotation ("gbrotat!"), held from its first step to its last. */
#define ROTATE_LOCK_KEY 0x6762726f74617421LL

/* Re-seals under tv's first key every row not already under it; adds the count to *count. */
static gb_err reseal_pass(vault *tv, gb_db *db, const char *kid, const char *key_file,
                          size_t *count, char *err)
{
    char **refs = NULL;
    size_t nrefs = 0;
    gb_err e = vault_store_refs_not_under(db, kid, &refs, &nrefs);
    if (e) {
        vault_set_err(err, "cannot list the stored secrets (%s)", gb_strerror(e));
        return e;
    }
    for (size_t i = 0; i < nrefs; i++) {
        char *pt = NULL;
        size_t n = 0;
        if ((e = vault_get(tv, db, refs[i], &pt, &n))) {
            if (e == GB_ERR_NOT_FOUND) continue; /* deleted since listed: nothing to re-seal */
            vault_set_err(err, "the secret %s cannot be opened with the keys in %s (%s)", refs[i],
                          key_file, gb_strerror(e));
            break;
        }
        e = vault_put(tv, db, refs[i], pt, n);
        vault_secret_free(pt, n);
        if (e) {
            vault_set_err(err, "cannot store the re-sealed secret %s (%s)", refs[i],
                          gb_strerror(e));
            break;
        }
        (*count)++;
    }
    vault_store_refs_free(refs, nrefs);
    return e;
}

/* Every write of the key file happens inside a write transaction (BEGIN IMMEDIATE) on the
 * database, and so does every vault_put. That serializes rotations with each other and with
 * daemons sealing, and keeps this invariant: the key of every stored row is in the file.
 * The original file stays open until the end so its inode cannot be reused by the files
 * written here (a daemon notices the change by inode, size and times). */
static gb_err rotate(const char *key_file, gb_db *db, size_t *resealed, gb_errmsg err)
{
    vault_ring *cur = NULL, *ring = NULL, *only = NULL;
    vault *tv = NULL;
    size_t count = 0, committed = 0; /* re-sealed rows, and those of them committed */
    int fd = -1, began = 0, two_keys = 0;
    char kid[VAULT_KID_HEX];
    gb_err e;
    if (resealed) *resealed = 0;
    if (err) err[0] = '\0';
    const char *env = getenv("GPUBROKER_MASTER_KEY");
    if (env && env[0]) {
        vault_set_err(err,
                      "the master key comes from GPUBROKER_MASTER_KEY; rotation only "
                      "works on a key file (unset GPUBROKER_MASTER_KEY to rotate %s)",
                      key_file ? key_file : "the key file");
        return GB_ERR_INVALID;
    }
    if (!key_file || !key_file[0] || !db) {
        vault_set_err(err, "rotation needs a key file and a database");
        return GB_ERR_INVALID;
    }
    if ((e = vault_sodium_init())) return e;
    if (gb_db_in_txn(db)) {
        vault_set_err(err, "rotation must not run inside an open transaction");
        return GB_ERR_INTERNAL;
    }

    /* Step 1: [new key, current keys...] into the file, under the write lock. */
    if ((e = gb_db_begin(db))) {
        vault_set_err(err, "cannot start a transaction on the database (%s)", gb_strerror(e));
        goto fail;
    }
    began = 1;
    if ((fd = open(key_file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        int en = errno;
        vault_set_err(err, "cannot open master key file %s: %s", key_file, strerror(en));
        e = en == ENOENT ? GB_ERR_NOT_FOUND : GB_ERR_IO;
        goto fail;
    }
    if ((e = vault_ring_read_fd(fd, key_file, &cur, NULL, err))) goto fail;
    if (!(ring = vault_ring_new()) || !(only = vault_ring_new())) {
        e = GB_ERR_NOMEM;
        goto fail;
    }
    memcpy(ring, cur, sizeof(*ring));
    if ((e = vault_ring_add_new(ring))) {
        vault_set_err(err, "master key file %s already holds %d keys", key_file, VAULT_RING_MAX);
        goto fail;
    }
    only->keys[0] = ring->keys[0];
    only->n = 1;
    vault_kid_hex(ring->keys[0].id, kid);
    if ((e = vault_ring_write(key_file, ring, err))) goto fail;
    two_keys = 1;
    GB_INFO("vault", "rotation: %s now holds the new key %s and %zu older key(s)", key_file, kid,
            cur->n);
    e = vault_from_ring(ring, &tv); /* takes ring, also on failure */
    ring = NULL;
    if (e) goto fail;

    /* Step 2: re-seal every row in the same transaction. On failure the file keeps all keys. */
    if ((e = reseal_pass(tv, db, kid, key_file, &count, err))) goto fail;
    if ((e = gb_db_commit(db))) {
        began = 0;
        vault_set_err(err, "cannot commit the re-sealed secrets (%s)", gb_strerror(e));
        goto fail;
    }
    began = 0;
    committed = count;

    /* Step 3: once no row is left under an old key (a daemon may have sealed one before it
     * saw the new file), drop the old keys while still holding the write lock. */
    for (int round = 0;; round++) {
        size_t extra = 0;
        if (round == STRAGGLER_ROUNDS) {
            vault_set_err(err, "secrets sealed with old keys keep appearing");
            e = GB_ERR_CONFLICT;
            goto fail;
        }
        if ((e = gb_db_begin(db))) {
            vault_set_err(err, "cannot start a transaction on the database (%s)", gb_strerror(e));
            goto fail;
        }
        began = 1;
        if ((e = reseal_pass(tv, db, kid, key_file, &extra, err))) goto fail;
        if (extra == 0) {
            if ((e = vault_ring_write(key_file, only, err))) goto fail;
            /* Nothing was written in this transaction, so a failed commit loses nothing. */
            if (gb_db_commit(db) != GB_OK) GB_WARN("vault", "rotation: final commit failed");
            began = 0;
            break;
        }
        count += extra;
        if ((e = gb_db_commit(db))) {
            began = 0;
            vault_set_err(err, "cannot commit the re-sealed secrets (%s)", gb_strerror(e));
            goto fail;
        }
        began = 0;
        committed = count;
    }
    GB_INFO("vault", "rotation done: %zu secret(s) re-sealed under key %s", count, kid);
    if (resealed) *resealed = count;
    e = GB_OK;
    goto done;
fail:
    if (began) gb_db_rollback(db);
    if (two_keys) {
        char why[VAULT_ERR_MAX];
        snprintf(why, sizeof(why), "%s", err && err[0] ? err : gb_strerror(e));
        vault_set_err(err,
                      "%s; %s keeps the new and the old keys, so every secret still "
                      "opens: fix the cause and rotate again",
                      why, key_file);
    }
    GB_ERROR("vault", "rotation failed: %s", err && err[0] ? err : gb_strerror(e));
    if (resealed) *resealed = committed;
done:
    if (fd >= 0) close(fd);
    vault_free(tv);
    vault_ring_free(ring);
    vault_ring_free(cur);
    vault_ring_free(only);
    return e;
}

/* One rotation at a time: its steps are several transactions, and a second rotation between
 * them would re-seal under a key the first then drops. Brokers on one host (either backend)
 * meet at a lock file next to the key file; brokers on several hosts sharing one PostgreSQL
 * (and one key file, docs/store.md) meet at a session advisory lock, which a killed rotation
 * releases with its session. */
gb_err vault_rotate(const char *key_file, gb_db *db, size_t *resealed, gb_errmsg err)
{
    if (!key_file || !key_file[0] || !db || gb_db_in_txn(db) ||
        (getenv("GPUBROKER_MASTER_KEY") && getenv("GPUBROKER_MASTER_KEY")[0]))
        return rotate(key_file, db, resealed, err); /* it says what is wrong */
    char *lock_path = gb_asprintf("%s.lock", key_file);
    if (!lock_path) return GB_ERR_NOMEM;
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        int en = errno;
        if (resealed) *resealed = 0;
        vault_set_err(err, "cannot open the rotation's lock file %s: %s", lock_path, strerror(en));
        free(lock_path);
        return GB_ERR_IO;
    }
    free(lock_path);
    gb_err e = GB_OK;
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            e = GB_ERR_IO;
            break;
        }
    if (!e && (e = gb_db_session_lock(db, ROTATE_LOCK_KEY)))
        vault_set_err(err, "cannot take the rotation's lock on the database (%s)", gb_strerror(e));
    if (!e) {
        e = rotate(key_file, db, resealed, err);
        if (gb_db_session_unlock(db, ROTATE_LOCK_KEY) != GB_OK)
            GB_WARN("vault", "rotation: the database lock is released with the session");
    } else if (resealed) {
        *resealed = 0;
    }
    close(fd); /* releases the flock */
    return e;
}
