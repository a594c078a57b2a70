/* ids.h: random and time-ordered identifiers ("pod_3kTz...") and random bytes from the kernel
 * CSPRNG. */
#ifndef GB_IDS_H
#define GB_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"

#define GB_ID_RANDOM_CHARS 20 /* ~119 bits of base62 */
#define GB_ID_MAX 48          /* enough for any prefix we use plus the random part */

/* Fills buf with random bytes (getrandom(2)); aborts the process if the kernel refuses. */
void gb_random_bytes(void *buf, size_t n);
/* Writes nchars random base62 characters plus a NUL into out (out has nchars+1 bytes). */
void gb_random_base62(char *out, size_t nchars);
/* Writes prefix + GB_ID_RANDOM_CHARS base62 chars into out; GB_ERR_INVALID if it won't fit. */
gb_err gb_id_new(const char *prefix, char *out, size_t outsz);
/* An id of rows inserted at a high rate (fine-tuning jobs): prefix + the time ms as
 * GB_ID_TIME_CHARS base62 digits (most significant first: base62's digit order is ASCII's, so
 * ids sort bytewise by time) + GB_ID_RANDOM_CHARS - GB_ID_TIME_CHARS random ones (~71 bits),
 * the same length as gb_id_new's. A random key puts each new row on a random page of its
 * table's key index (one more page per row in each commit's WAL, docs/benchmarks.md); an
 * ordered one puts it at the index's right edge. The id shows when it was made, as the row's
 * created_at does. GB_ERR_INVALID when it won't fit; an ms outside [0, 62^8) is taken as the nearer
 * end. */
#define GB_ID_TIME_CHARS 8
gb_err gb_id_new_ordered(const char *prefix, int64_t ms, char *out, size_t outsz);
/* True when s is prefix followed by 1..40 base62/underscore characters. */
int gb_id_valid(const char *s, const char *prefix);

#endif
