/* base64.h: standard base64 (RFC 4648 section 4, with padding), for the platforms whose wire
 * formats carry base64 (Run:ai manifests, Primus entry points, registry auth). */
#ifndef GB_BASE64_H
#define GB_BASE64_H

#include <stddef.h>

#include "common/gb.h"

/* Encodes n bytes; a NUL-terminated string the caller frees, NULL on allocation failure. */
char *gb_base64_encode(const void *p, size_t n);
/* Decodes s (padding optional, no whitespace): *out (caller frees, NUL-terminated for
 * convenience, *n bytes without it). GB_ERR_INVALID for a character outside the alphabet, a
 * misplaced '=', non-zero trailing bits or a length that no encoding has. */
gb_err gb_base64_decode(const char *s, unsigned char **out, size_t *n);

#endif
