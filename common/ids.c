/* ids.c: prefixed random identifiers. Randomness comes from getrandom(2), the same source
 * libsodium's randombytes uses on Linux, so common/ needs no crypto library. */
#include "common/ids.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void gb_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            GB_ERROR("ids", "getrandom failed");
            abort();
        }
        p += r;
        n -= (size_t)r;
    }
}

void gb_random_base62(char *out, size_t nchars)
{
    size_t i = 0;
    unsigned char pool[64];
    while (i < nchars) {
        gb_random_bytes(pool, sizeof(pool));
        for (size_t k = 0; k < sizeof(pool) && i < nchars; k++)
            if (pool[k] < 248) out[i++] = B62[pool[k] % 62]; /* 248 = 4*62: no modulo bias */
    }
    out[nchars] = '\0';
}

gb_err gb_id_new(const char *prefix, char *out, size_t outsz)
{
    size_t pl = strlen(prefix);
    if (pl + GB_ID_RANDOM_CHARS + 1 > outsz) return GB_ERR_INVALID;
    memcpy(out, prefix, pl);
    gb_random_base62(out + pl, GB_ID_RANDOM_CHARS);
    return GB_OK;
}

/* 62^GB_ID_TIME_CHARS: the first millisecond an ordered id cannot hold (year 8800 or so) */
#define ORDERED_MS_END 218340105584896LL

gb_err gb_id_new_ordered(const char *prefix, int64_t ms, char *out, size_t outsz)
{
    size_t pl = strlen(prefix);
    if (pl + GB_ID_RANDOM_CHARS + 1 > outsz) return GB_ERR_INVALID;
    memcpy(out, prefix, pl);
    /* a clock outside the range still makes an id (a create never fails on its clock): the
     * nearest end of the range, its order with its neighbours lost */
    uint64_t t = ms < 0 ? 0 : ms >= ORDERED_MS_END ? ORDERED_MS_END - 1 : (uint64_t)ms;
    for (int i = GB_ID_TIME_CHARS - 1; i >= 0; i--) {
        out[pl + (size_t)i] = B62[t % 62];
        t /= 62;
    }
    gb_random_base62(out + pl + GB_ID_TIME_CHARS, GB_ID_RANDOM_CHARS - GB_ID_TIME_CHARS);
    return GB_OK;
}

int gb_id_valid(const char *s, const char *prefix)
{
    if (!s || !prefix) return 0;
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl) != 0) return 0;
    size_t n = 0;
    for (const char *p = s + pl; *p; p++, n++) {
        if (!strchr(B62, *p) && *p != '_') return 0;
        if (n >= 40) return 0;
    }
    return n >= 1;
}
