/* base64.c: standard base64 encoding and strict decoding (RFC 4648 section 4). */
#include "common/base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *gb_base64_encode(const void *p, size_t n)
{
    const unsigned char *in = p;
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3) return NULL;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = ALPHA[(v >> 18) & 63];
        out[o++] = ALPHA[(v >> 12) & 63];
        out[o++] = i + 1 < n ? ALPHA[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? ALPHA[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int val(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

gb_err gb_base64_decode(const char *s, unsigned char **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t full = strlen(s), len = full;
    while (len > 0 && full - len < 2 && s[len - 1] == '=')
        len--;
    if ((len != full && full % 4 != 0) || len % 4 == 1) return GB_ERR_INVALID;
    unsigned char *buf = malloc(len / 4 * 3 + 3);
    if (!buf) return GB_ERR_NOMEM;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = val(s[i]);
        if (v < 0) goto bad;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) goto bad; /* leftover bits must be zero (canonical encoding) */
    buf[o] = '\0';
    *out = buf;
    *n = o;
    return GB_OK;
bad:
    free(buf);
    return GB_ERR_INVALID;
}
