/* vault_keys.c: the master key ring and reading its file ("<8 hex key id> <64 hex key>" per
 * line, the first key seals, '#' comments) with permission checks, and the key given by
 * GPUBROKER_MASTER_KEY. Key bytes only live in sodium_malloc'd memory. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/vault_internal.h"

vault_ring *vault_ring_new(void)
{
    if (vault_sodium_init()) return NULL;
    vault_ring *r = sodium_malloc(sizeof(*r));
    if (r) sodium_memzero(r, sizeof(*r));
    return r;
}

void vault_ring_free(vault_ring *r)
{
    if (r) sodium_free(r); /* sodium_free zeroes the memory */
}

const vault_key *vault_ring_find(const vault_ring *r, const uint8_t id[VAULT_KID_BYTES])
{
    for (size_t i = 0; i < r->n; i++)
        if (memcmp(r->keys[i].id, id, VAULT_KID_BYTES) == 0) return &r->keys[i];
    return NULL;
}

gb_err vault_ring_add_new(vault_ring *r)
{
    if (r->n >= VAULT_RING_MAX) return GB_ERR_LIMIT;
    uint8_t id[VAULT_KID_BYTES];
    do {
        randombytes_buf(id, sizeof(id));
    } while (vault_ring_find(r, id));
    memmove(&r->keys[1], &r->keys[0], r->n * sizeof(r->keys[0]));
    memcpy(r->keys[0].id, id, sizeof(id));
    randombytes_buf(r->keys[0].key, VAULT_KEY_BYTES);
    r->n++;
    return GB_OK;
}

void vault_kid_hex(const uint8_t id[VAULT_KID_BYTES], char out[VAULT_KID_HEX])
{
    sodium_bin2hex(out, VAULT_KID_HEX, id, VAULT_KID_BYTES);
}

void vault_file_id_of(const struct stat *st, vault_file_id *out)
{
    memset(out, 0, sizeof(*out));
    out->dev = st->st_dev;
    out->ino = st->st_ino;
    out->size = st->st_size;
    out->mtim = st->st_mtim;
    out->ctim = st->st_ctim;
}

int vault_file_id_eq(const vault_file_id *a, const vault_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec &&
           a->ctim.tv_sec == b->ctim.tv_sec && a->ctim.tv_nsec == b->ctim.tv_nsec;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
    }
    return 1;
}

static int hex_exact(uint8_t *out, size_t nbytes, const char *s, size_t len)
{
    size_t got = 0;
    if (len != 2 * nbytes || !all_hex(s, len)) return -1;
    if (sodium_hex2bin(out, nbytes, s, len, NULL, &got, NULL) != 0 || got != nbytes) return -1;
    return 0;
}

/* Parses one non-comment line [s, s+len) into a new ring entry. */
static gb_err parse_line(vault_ring *r, const char *s, size_t len, const char *path, size_t lineno,
                         char *err)
{
    size_t i = 0, id_at, id_len, key_at, key_len;
    while (i < len && is_space(s[i]))
        i++;
    id_at = i;
    while (i < len && !is_space(s[i]))
        i++;
    id_len = i - id_at;
    while (i < len && is_space(s[i]))
        i++;
    key_at = i;
    while (i < len && !is_space(s[i]))
        i++;
    key_len = i - key_at;
    while (i < len && is_space(s[i]))
        i++;
    if (r->n >= VAULT_RING_MAX) {
        vault_set_err(err, "master key file %s holds more than %d keys", path, VAULT_RING_MAX);
        return GB_ERR_LIMIT;
    }
    vault_key *k = &r->keys[r->n];
    if (i != len || hex_exact(k->id, VAULT_KID_BYTES, s + id_at, id_len) ||
        hex_exact(k->key, VAULT_KEY_BYTES, s + key_at, key_len)) {
        sodium_memzero(k, sizeof(*k));
        vault_set_err(err, "master key file %s line %zu: expected \"<8 hex key id> <64 hex key>\"",
                      path, lineno);
        return GB_ERR_INVALID;
    }
    if (vault_ring_find(r, k->id)) {
        char kid[VAULT_KID_HEX];
        vault_kid_hex(k->id, kid);
        sodium_memzero(k, sizeof(*k));
        vault_set_err(err, "master key file %s line %zu: key id %s appears twice", path, lineno,
                      kid);
        return GB_ERR_INVALID;
    }
    r->n++;
    return GB_OK;
}

static gb_err parse_text(vault_ring *r, const char *text, size_t len, const char *path, char *err)
{
    size_t pos = 0, lineno = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *s = text + pos;
        size_t n = end - pos, i = 0;
        lineno++;
        pos = end + 1;
        while (i < n && is_space(s[i]))
            i++;
        if (i == n || s[i] == '#') continue;
        if (memchr(s, '\0', n)) {
            vault_set_err(err, "master key file %s line %zu: NUL byte", path, lineno);
            return GB_ERR_INVALID;
        }
        gb_err e = parse_line(r, s, n, path, lineno, err);
        if (e) return e;
    }
    if (r->n == 0) {
        vault_set_err(err, "master key file %s holds no key", path);
        return GB_ERR_INVALID;
    }
    return GB_OK;
}

static gb_err check_mode(const struct stat *st, const char *path, char *err)
{
    unsigned mode = (unsigned)(st->st_mode & 07777);
    if (!S_ISREG(st->st_mode)) {
        vault_set_err(err, "master key file %s is not a regular file", path);
        return GB_ERR_INVALID;
    }
    if (st->st_uid != geteuid()) {
        vault_set_err(err, "master key file %s is owned by uid %u, not by this user (uid %u)", path,
                      (unsigned)st->st_uid, (unsigned)geteuid());
        return GB_ERR_FORBIDDEN;
    }
    if (mode & 077) {
        vault_set_err(err, "master key file %s is %s by others (mode %04o); run chmod 600 %s", path,
                      (mode & 044)   ? "readable"
                      : (mode & 022) ? "writable"
                                     : "accessible",
                      mode, path);
        return GB_ERR_FORBIDDEN;
    }
    return GB_OK;
}

gb_err vault_ring_read_fd(int fd, const char *path, vault_ring **out, vault_file_id *fid, char *err)
{
    struct stat st;
    char *text = NULL;
    vault_ring *r = NULL;
    size_t len = 0;
    gb_err e;
    *out = NULL;
    if (fstat(fd, &st) != 0) {
        vault_set_err(err, "cannot stat master key file %s: %s", path, strerror(errno));
        return GB_ERR_IO;
    }
    if ((e = check_mode(&st, path, err))) return e;
    if (st.st_size > VAULT_KEYFILE_MAX) {
        vault_set_err(err, "master key file %s is larger than %d bytes", path, VAULT_KEYFILE_MAX);
        return GB_ERR_LIMIT;
    }
    if (!(text = sodium_malloc(VAULT_KEYFILE_MAX + 1)) || !(r = vault_ring_new())) {
        e = GB_ERR_NOMEM;
        goto fail;
    }
    for (;;) {
        ssize_t got = pread(fd, text + len, VAULT_KEYFILE_MAX + 1 - len, (off_t)len);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            vault_set_err(err, "cannot read master key file %s: %s", path, strerror(errno));
            e = GB_ERR_IO;
            goto fail;
        }
        if (got == 0) break;
        len += (size_t)got;
        if (len > VAULT_KEYFILE_MAX) {
            vault_set_err(err, "master key file %s is larger than %d bytes", path,
                          VAULT_KEYFILE_MAX);
            e = GB_ERR_LIMIT;
            goto fail;
        }
    }
    if ((e = parse_text(r, text, len, path, err))) goto fail;
    if (fid) vault_file_id_of(&st, fid);
    sodium_free(text);
    *out = r;
    return GB_OK;
fail:
    if (text) sodium_free(text);
    vault_ring_free(r);
    return e;
}

gb_err vault_ring_read(const char *path, vault_ring **out, vault_file_id *fid, char *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int en = errno;
        if (en == ENOENT) {
            vault_set_err(err, "master key file %s does not exist", path);
            return GB_ERR_NOT_FOUND;
        }
        vault_set_err(err, "cannot open master key file %s: %s", path, strerror(en));
        return en == EACCES ? GB_ERR_FORBIDDEN : GB_ERR_IO;
    }
    gb_err e = vault_ring_read_fd(fd, path, out, fid, err);
    close(fd);
    return e;
}

gb_err vault_ring_from_env(const char *value, vault_ring **out, char *err)
{
    size_t len = strlen(value), got = 0;
    const char *s = value;
    uint8_t hash[crypto_generichash_BYTES];
    vault_ring *r = NULL;
    *out = NULL;
    while (len && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++, len--;
    while (len &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    if (!(r = vault_ring_new())) return GB_ERR_NOMEM;
    vault_key *k = &r->keys[0];
    int ok = hex_exact(k->key, VAULT_KEY_BYTES, s, len) == 0;
    if (!ok && len > 0 &&
        sodium_base642bin(k->key, VAULT_KEY_BYTES, s, len, NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) == 0 &&
        got == VAULT_KEY_BYTES)
        ok = 1;
    if (!ok) {
        vault_ring_free(r);
        vault_set_err(err, "GPUBROKER_MASTER_KEY must be 64 hex characters or standard base64 "
                           "of 32 bytes");
        return GB_ERR_INVALID;
    }
    crypto_generichash(hash, sizeof(hash), k->key, VAULT_KEY_BYTES, NULL, 0);
    memcpy(k->id, hash, VAULT_KID_BYTES);
    r->n = 1;
    *out = r;
    return GB_OK;
}
