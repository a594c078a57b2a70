/* ids.h: random identifiers ("pod_3kTz...") and random bytes from the kernel CSPRNG. */
#ifndef GB_IDS_H
#define GB_IDS_H

#include <stddef.h>

#include "common/gb.h"

#define GB_ID_RANDOM_CHARS 20 /* ~119 bits of base62 */
#define GB_ID_MAX 48          /* enough for any prefix we use plus the random part */

/* Fills buf with random bytes (getrandom(2)); aborts the process if the kernel refuses. */
void gb_random_bytes(void *buf, size_t n);
/* Writes nchars random base62 characters plus a NUL into out (out has nchars+1 bytes). */
void gb_random_base62(char *out, size_t nchars);
/* Writes prefix + GB_ID_RANDOM_CHARS base62 chars into out; GB_ERR_INVALID if it won't fit. */
gb_err gb_id_new(const char *prefix, char *out, size_t outsz);
/* True when s is prefix followed by 1..40 base62/underscore characters. */
int gb_id_valid(const char *s, const char *prefix);

#endif
