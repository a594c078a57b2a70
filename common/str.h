/* str.h: bounded string helpers, a growable byte buffer, and checked number parsing.
 * The project uses these instead of sprintf/strcpy/atoi/strtok. */
#ifndef GB_STR_H
#define GB_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"

/* A growable buffer; always NUL-terminated when data != NULL. Zero-initialise to start. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} gb_buf;

gb_err gb_buf_append(gb_buf *b, const void *data, size_t n);
gb_err gb_buf_puts(gb_buf *b, const char *s);
gb_err gb_buf_printf(gb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
gb_err gb_buf_vprintf(gb_buf *b, const char *fmt, va_list ap);
void gb_buf_reset(gb_buf *b); /* len = 0, keeps memory */
void gb_buf_free(gb_buf *b);  /* frees memory, zeroes the struct */
/* Hands the data to the caller (never NULL on GB_OK; "" for an empty buffer). */
char *gb_buf_take(gb_buf *b);

/* strdup that returns NULL for NULL. */
char *gb_strdup(const char *s);
char *gb_strndup(const char *s, size_t n);
/* Copies at most n-1 bytes and terminates; returns strlen(src) (truncated if >= n). */
size_t gb_strlcpy(char *dst, const char *src, size_t n);
/* snprintf into a fixed buffer; returns 0 when it fit, -1 when truncated or on error. */
int gb_snprintf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* s, cut to fit a buffer of n bytes (n >= 4), ends after its last whole word followed by
 * " ..." (a word longer than the room is cut and marked "..."): for a message that did not
 * fit, so that it is never cut mid-word. */
void gb_words_fit(char *s, size_t n);
/* gb_snprintf that, when the text does not fit, ends it with gb_words_fit; 0 when it fit,
 * -1 when cut or on error. */
int gb_snprintf_words(char *dst, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Allocating printf; NULL on failure. */
char *gb_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whole-string decimal parsing with range checks; 0 on success, -1 otherwise. */
int gb_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int gb_parse_int(const char *s, int min, int max, int *out);

bool gb_str_starts_with(const char *s, const char *prefix);
/* Case-insensitive ASCII equality. */
bool gb_str_ieq(const char *a, const char *b);
/* True when needle occurs in hay ignoring ASCII case (false for a NULL hay). */
bool gb_str_icontains(const char *hay, const char *needle);
/* Overwrites memory so the compiler cannot drop the write (for secrets). */
void gb_memzero(void *p, size_t n);

/* Reads a whole file (at most max bytes) into *out (NUL-terminated). GB_ERR_LIMIT if larger. */
gb_err gb_read_file(const char *path, size_t max, char **out, size_t *len_out);

#endif
