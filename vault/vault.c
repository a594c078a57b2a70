/* vault.c: the vault handle: libsodium start-up, opening the key ring from a file or the
 * environment, noticing a rewritten key file (rotation) and reloading it, the lock. */
#include "vault/vault.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/str.h"
#include "vault/vault_internal.h"

static pthread_once_t g_sodium_once = PTHREAD_ONCE_INIT;
static int g_sodium_rc = -1;

static void sodium_start(void)
{
    g_sodium_rc = sodium_init(); /* 0 first time, 1 if already initialised, -1 on failure */
}

gb_err vault_sodium_init(void)
{
    pthread_once(&g_sodium_once, sodium_start);
    if (g_sodium_rc < 0) {
        GB_ERROR("vault", "libsodium failed to initialise");
        return GB_ERR_CRYPTO;
    }
    return GB_OK;
}

void vault_set_err(char *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, VAULT_ERR_MAX, fmt, ap);
    va_end(ap);
}

static gb_err vault_alloc(vault **out)
{
    *out = NULL;
    vault *v = calloc(1, sizeof(*v));
    if (!v) return GB_ERR_NOMEM;
    if (pthread_mutex_init(&v->mu, NULL) != 0) {
        free(v);
        return GB_ERR_INTERNAL;
    }
    *out = v;
    return GB_OK;
}

gb_err vault_from_ring(vault_ring *ring, vault **out)
{
    gb_err e = vault_alloc(out);
    if (e) {
        vault_ring_free(ring);
        return e;
    }
    (*out)->ring = ring;
    return GB_OK;
}

gb_err vault_open(const char *key_file, const char *env_key, vault **out, gb_errmsg err)
{
    vault *v = NULL;
    vault_ring *ring = NULL;
    gb_err e;
    *out = NULL;
    if (err) err[0] = '\0';
    if ((e = vault_sodium_init())) {
        vault_set_err(err, "libsodium failed to initialise");
        return e;
    }
    if (env_key && env_key[0]) {
        if ((e = vault_ring_from_env(env_key, &ring, err))) goto fail;
        if ((e = vault_from_ring(ring, &v))) goto fail;
        ring = NULL;
    } else {
        if (!key_file || !key_file[0]) {
            vault_set_err(err, "no master key: set vault.master_key_file or "
                               "GPUBROKER_MASTER_KEY");
            e = GB_ERR_INVALID;
            goto fail;
        }
        vault_file_id fid;
        if ((e = vault_ring_read(key_file, &ring, &fid, err))) goto fail;
        if ((e = vault_from_ring(ring, &v))) goto fail;
        ring = NULL;
        v->fid = fid;
        if (!(v->key_file = gb_strdup(key_file))) {
            e = GB_ERR_NOMEM;
            goto fail;
        }
    }
    char kid[VAULT_KID_HEX];
    vault_kid_hex(v->ring->keys[0].id, kid);
    GB_INFO("vault", "master key ring opened from %s: %zu key(s), active key id %s",
            v->key_file ? v->key_file : "GPUBROKER_MASTER_KEY", v->ring->n, kid);
    *out = v;
    return GB_OK;
fail:
    vault_ring_free(ring);
    vault_free(v);
    return e;
}

void vault_free(vault *v)
{
    if (!v) return;
    vault_recent_free(v);
    vault_ring_free(v->ring);
    if (v->pepper) sodium_free(v->pepper);
    free(v->key_file);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

/* Reads the key file again and swaps the ring in. On failure the old ring stays and the
 * error is logged once per distinct message. */
static gb_err reload(vault *v)
{
    char err[VAULT_ERR_MAX] = "";
    vault_ring *ring = NULL;
    vault_file_id fid;
    gb_err e = vault_ring_read(v->key_file, &ring, &fid, err);
    if (e) {
        if (strcmp(err, v->last_err) != 0) {
            GB_WARN("vault", "cannot reload the master key file: %s", err);
            gb_strlcpy(v->last_err, err, sizeof(v->last_err));
        }
        return e;
    }
    vault_ring_free(v->ring);
    v->ring = ring;
    v->fid = fid;
    v->last_err[0] = '\0';
    char kid[VAULT_KID_HEX];
    vault_kid_hex(ring->keys[0].id, kid);
    GB_INFO("vault", "reloaded master key file %s: %zu key(s), active key id %s", v->key_file,
            ring->n, kid);
    return GB_OK;
}

gb_err vault_reload_locked(vault *v)
{
    return v->key_file ? reload(v) : GB_OK;
}

static gb_err refresh_locked(vault *v)
{
    if (!v->key_file) return GB_OK;
    struct stat st;
    if (stat(v->key_file, &st) != 0) {
        int en = errno;
        char err[VAULT_ERR_MAX];
        snprintf(err, sizeof(err), "cannot stat master key file %s: %s", v->key_file, strerror(en));
        if (strcmp(err, v->last_err) != 0) {
            GB_WARN("vault", "%s", err);
            gb_strlcpy(v->last_err, err, sizeof(v->last_err));
        }
        return en == ENOENT ? GB_ERR_NOT_FOUND : GB_ERR_IO;
    }
    vault_file_id now;
    vault_file_id_of(&st, &now);
    if (vault_file_id_eq(&now, &v->fid)) return GB_OK;
    return reload(v);
}

gb_err vault_lock_fresh(vault *v, int for_seal)
{
    if (!v) return GB_ERR_INVALID;
    pthread_mutex_lock(&v->mu);
    gb_err e = refresh_locked(v);
    if (e && for_seal) {
        pthread_mutex_unlock(&v->mu);
        return e;
    }
    return GB_OK;
}

void vault_unlock(vault *v)
{
    pthread_mutex_unlock(&v->mu);
}

void vault_active_key_id(vault *v, char out[9])
{
    out[0] = '\0';
    if (!v) return;
    vault_lock_fresh(v, 0); /* never fails for opening: the lock is held */
    vault_kid_hex(v->ring->keys[0].id, out);
    vault_unlock(v);
}

void vault_secret_free(char *pt, size_t n)
{
    if (!pt) return;
    sodium_memzero(pt, n);
    free(pt);
}

int vault_equal(const void *a, const void *b, size_t n)
{
    if (n == 0) return 1;
    if (vault_sodium_init()) return 0;
    return sodium_memcmp(a, b, n) == 0;
}
