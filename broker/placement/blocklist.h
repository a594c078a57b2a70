/* blocklist.h: offers placement skips for a while after a create on them failed (capacity,
 * 5xx, timeout). In memory, thread-safe, bounded. */
#ifndef GB_BLOCKLIST_H
#define GB_BLOCKLIST_H

#include <stdint.h>

typedef struct blocklist blocklist;

blocklist *blocklist_new(void);
void blocklist_free(blocklist *b);
/* Blocks offer id ("<provider>:<offer>") until until_ms (domain clock). */
void blocklist_add(blocklist *b, const char *id, int64_t until_ms);
/* The time until which id is blocked, or 0. Usable as a rank_blocked_fn with ud = b. */
int64_t blocklist_until(void *b, const char *id);

#endif
