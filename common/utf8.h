/* utf8.h: strict UTF-8 decoding (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF), for text that leaves the broker in formats that must be valid Unicode. */
#ifndef GB_UTF8_H
#define GB_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s (n bytes available) into *cp; returns its length in bytes
 * (1-4), or 0 when the bytes there are not UTF-8 (or n == 0). */
size_t gb_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* True when the n bytes at s are all UTF-8 (an empty string is). */
bool gb_utf8_valid(const char *s, size_t n);

#endif
