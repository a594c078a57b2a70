/* vault_keywrite.c: writing master key files: a new file created with O_EXCL and mode 0600,
 * and atomic replacement (0600 temp file in the same directory, fsync, rename, fsync dir). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"
#include "vault/vault_internal.h"

#define KEYFILE_HEADER                                                                             \
    "# gpubroker master key ring: \"<key id> <key>\" per line, in hex. The first key seals new\n"  \
    "# secrets, the others only open older ones. Keep this file mode 0600 and back it up.\n"
#define KEY_LINE_LEN (2 * VAULT_KID_BYTES + 1 + 2 * VAULT_KEY_BYTES + 1)

/* Key file text for r in sodium_malloc'd memory (caller sodium_free's it). */
static char *ring_text(const vault_ring *r, size_t *len_out)
{
    size_t cap = sizeof(KEYFILE_HEADER) + r->n * KEY_LINE_LEN + 1, len;
    char *t = sodium_malloc(cap);
    if (!t) return NULL;
    len = gb_strlcpy(t, KEYFILE_HEADER, cap);
    for (size_t i = 0; i < r->n; i++) {
        sodium_bin2hex(t + len, cap - len, r->keys[i].id, VAULT_KID_BYTES);
        len += 2 * VAULT_KID_BYTES;
        t[len++] = ' ';
        sodium_bin2hex(t + len, cap - len, r->keys[i].key, VAULT_KEY_BYTES);
        len += 2 * VAULT_KEY_BYTES;
        t[len++] = '\n';
    }
    t[len] = '\0';
    *len_out = len;
    return t;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsyncs the directory holding path, so a create or rename in it is durable. */
static int fsync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir =
        slash ? gb_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : gb_strdup(".");
    if (!dir) return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Creates path with O_EXCL and mode 0600 and writes r into it, fsync'd. -1 with errno set. */
static int write_new_file(const char *path, const vault_ring *r)
{
    size_t len = 0;
    char *text = ring_text(r, &len);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    int rc = -1, en = 0;
    if (fd < 0) {
        en = errno;
        goto done;
    }
    /* The umask can only clear bits; fchmod makes sure the owner can read it back. */
    if (fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0 || fsync(fd) != 0) {
        en = errno ? errno : EIO;
        close(fd);
        unlink(path);
        goto done;
    }
    if (close(fd) != 0) {
        en = errno;
        unlink(path);
        goto done;
    }
    rc = 0;
done:
    sodium_free(text);
    errno = en;
    return rc;
}

gb_err vault_ring_write(const char *path, const vault_ring *r, char *err)
{
    uint8_t rnd[8];
    char sfx[2 * sizeof(rnd) + 1];
    gb_err e = GB_ERR_IO;
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(sfx, sizeof(sfx), rnd, sizeof(rnd));
    char *tmp = gb_asprintf("%s.tmp-%s", path, sfx);
    if (!tmp) return GB_ERR_NOMEM;
    if (write_new_file(tmp, r) != 0) {
        vault_set_err(err, "cannot write %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        vault_set_err(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto fail;
    }
    if (fsync_dir_of(path) != 0) {
        /* The new file is in place; only durability across a power cut is in doubt. */
        GB_WARN("vault", "cannot fsync the directory of %s: %s", path, strerror(errno));
    }
    e = GB_OK;
fail:
    free(tmp);
    return e;
}

gb_err vault_keyfile_create(const char *key_file)
{
    gb_err e = vault_sodium_init();
    if (e) return e;
    if (!key_file || !key_file[0]) return GB_ERR_INVALID;
    vault_ring *r = vault_ring_new();
    if (!r) return GB_ERR_NOMEM;
    if ((e = vault_ring_add_new(r))) goto fail;
    if (write_new_file(key_file, r) != 0) {
        int en = errno;
        if (en == EEXIST) {
            GB_DEBUG("vault", "master key file %s exists already; not overwritten", key_file);
            e = GB_ERR_CONFLICT;
        } else {
            GB_ERROR("vault", "cannot create master key file %s: %s", key_file, strerror(en));
            e = en == EACCES ? GB_ERR_FORBIDDEN : GB_ERR_IO;
        }
        goto fail;
    }
    if (fsync_dir_of(key_file) != 0)
        GB_WARN("vault", "cannot fsync the directory of %s: %s", key_file, strerror(errno));
    char kid[VAULT_KID_HEX];
    vault_kid_hex(r->keys[0].id, kid);
    GB_INFO("vault", "created master key file %s (key id %s)", key_file, kid);
fail:
    vault_ring_free(r);
    return e;
}
