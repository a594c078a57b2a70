/* memo.h: answers read from the store, kept in memory for a short time (a few slots, the oldest
 * replaced), so a request does not read again what a request a moment ago read. Each answer
 * carries the change count its reader saw before reading (gen): a writer of this process bumps
 * its count, and an answer read under another count is never given (a change made here is seen
 * at once; one made by another broker on the same store, after at most max_age_ms). An answer
 * may be an absence (remembered too: a missing row is read as often as a present one). */
#ifndef GB_COMMON_MEMO_H
#define GB_COMMON_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"

typedef struct gb_memo gb_memo;

/* Where kept values live: NULL for malloc/free; a vault passes guarded memory (sodium_malloc)
 * so a secret kept here is locked out of swap and zeroed when released. */
typedef struct {
    void *(*alloc)(size_t n);
    void (*release)(void *p, size_t n);
} gb_memo_mem;

#define GB_MEMO_KEY_MAX 4352 /* bytes of a key, its NUL included (a store path and a name) */

/* The key of name's answer read from store (a database's path or URL: gb_db_path), so two
 * stores' answers never meet: "store\nname" into out. false (nothing to keep) when name is
 * NULL or the key would be too long. */
bool gb_memo_key(char out[GB_MEMO_KEY_MAX], const char *store, const char *name);

/* NULL when out of memory. slots: 1 to 256. */
gb_memo *gb_memo_new(int slots, const gb_memo_mem *mem);
void gb_memo_free(gb_memo *m);

/* A hit: the answer kept under key, read less than max_age_ms before now (a monotonic clock,
 * ms) under the change count gen. *val gets a malloc'd copy of n + 1 bytes (NUL-terminated;
 * the caller frees it), or NULL for a remembered absence. false: not kept, too old, read under
 * another count, max_age_ms <= 0, or no memory for the copy. */
bool gb_memo_get(gb_memo *m, const char *key, int64_t now, int64_t max_age_ms, uint64_t gen,
                 void **val, size_t *n);
/* Keeps an answer (val NULL: an absence) read at now under gen; replaces the key's old one.
 * Not kept (silently) when the key is too long or memory runs out. */
void gb_memo_put(gb_memo *m, const char *key, int64_t now, uint64_t gen, const void *val, size_t n);
void gb_memo_clear(gb_memo *m);

/* The change count a memo's users keep (one per kind of answer, process-wide): read it before
 * reading the store (gb_memo_changes) and bump it for every change of what is kept
 * (gb_memo_changed). */
struct gb_db;
uint64_t gb_memo_changes(const uint64_t *changes);
/* Counts a change now and again when db's open transaction commits (at once without one), so
 * an answer read between the change and its commit is not given later either. GB_ERR_NOMEM:
 * the transaction had no room for the commit's count (only the first was made). */
gb_err gb_memo_changed(struct gb_db *db, uint64_t *changes);
/* Counts one change now (changes: a uint64_t *): one made elsewhere, such as another broker's
 * that a listener heard of. */
void gb_memo_count(void *changes);

#endif
