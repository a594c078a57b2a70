/* str.c: bounded strings, the growable buffer, checked parsing, whole-file reads. */
#include "common/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static gb_err buf_reserve(gb_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return GB_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) return GB_ERR_NOMEM;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) return GB_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return GB_OK;
}

gb_err gb_buf_append(gb_buf *b, const void *data, size_t n)
{
    gb_err e = buf_reserve(b, n);
    if (e) return e;
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return GB_OK;
}

gb_err gb_buf_puts(gb_buf *b, const char *s)
{
    return gb_buf_append(b, s, strlen(s));
}

gb_err gb_buf_vprintf(gb_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return GB_ERR_INVALID;
    gb_err e = buf_reserve(b, (size_t)n);
    if (e) return e;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return GB_OK;
}

gb_err gb_buf_printf(gb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gb_err e = gb_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return e;
}

void gb_buf_reset(gb_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void gb_buf_free(gb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *gb_buf_take(gb_buf *b)
{
    if (!b->data && buf_reserve(b, 0) != GB_OK) return NULL;
    char *p = b->data;
    p[b->len] = '\0';
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

char *gb_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *gb_strndup(const char *s, size_t n)
{
    return s ? strndup(s, n) : NULL;
}

size_t gb_strlcpy(char *dst, const char *src, size_t n)
{
    size_t len = strlen(src);
    if (n) {
        size_t c = len < n - 1 ? len : n - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return len;
}

int gb_snprintf(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(dst, n, fmt, ap);
    va_end(ap);
    return (r < 0 || (size_t)r >= n) ? -1 : 0;
}

void gb_words_fit(char *s, size_t n)
{
    if (!s || n < 4) return;
    size_t len = strnlen(s, n - 1), room = n - 1 - 3; /* the text before " ..." */
    room = room > 0 ? room - 1 : 0;
    if (len < room) room = len;
    size_t cut = room;
    while (cut > 0 && s[cut] != ' ' && s[cut - 1] != ' ' && s[cut - 1] != ',')
        cut--; /* back to a word's end: before a space, or after a space or a comma */
    while (cut > 0 && (s[cut - 1] == ' ' || s[cut - 1] == ','))
        cut--;
    if (cut == 0) { /* one word longer than the room: cut inside it, marked */
        size_t k = n - 1 - 3 < len ? n - 1 - 3 : len;
        memcpy(s + k, "...", 4);
        return;
    }
    memcpy(s + cut, " ...", 5);
}

int gb_snprintf_words(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(dst, n, fmt, ap);
    va_end(ap);
    if (r >= 0 && (size_t)r < n) return 0;
    if (r >= 0) gb_words_fit(dst, n);
    return -1;
}

char *gb_asprintf(const char *fmt, ...)
{
    gb_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    gb_err e = gb_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (e) {
        gb_buf_free(&b);
        return NULL;
    }
    return gb_buf_take(&b);
}

int gb_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s) return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end != '\0' || end == s || v < min || v > max) return -1;
    *out = (int64_t)v;
    return 0;
}

int gb_parse_int(const char *s, int min, int max, int *out)
{
    int64_t v;
    if (gb_parse_i64(s, min, max, &v)) return -1;
    *out = (int)v;
    return 0;
}

bool gb_str_starts_with(const char *s, const char *prefix)
{
    return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool gb_str_ieq(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}

bool gb_str_icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; p && *p; p++)
        if (strncasecmp(p, needle, n) == 0) return true;
    return false;
}

void gb_memzero(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

gb_err gb_read_file(const char *path, size_t max, char **out, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? GB_ERR_NOT_FOUND : GB_ERR_IO;
    gb_buf b = {0};
    char chunk[8192];
    size_t n;
    gb_err e = GB_OK;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > max) {
            e = GB_ERR_LIMIT;
            break;
        }
        if ((e = gb_buf_append(&b, chunk, n))) break;
    }
    if (!e && ferror(f)) e = GB_ERR_IO;
    fclose(f);
    if (e) {
        gb_buf_free(&b);
        return e;
    }
    if (len_out) *len_out = b.len;
    *out = gb_buf_take(&b);
    return *out ? GB_OK : GB_ERR_NOMEM;
}
