/* memo.c: a few recent answers in memory (memo.h). A linear scan of a few slots under one
 * mutex: the callers keep one to a few dozen keys (a token, the models in use). */
#include "common/memo.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"

typedef struct {
    char *key;  /* malloc'd; NULL: empty slot */
    int64_t at; /* when read (the caller's monotonic ms) */
    uint64_t gen;
    void *val; /* mem->alloc'd n + 1 bytes; NULL: an absence */
    size_t n;
} slot;

struct gb_memo {
    pthread_mutex_t mu;
    gb_memo_mem mem;
    int nslots;
    slot *slots;
};

static void *plain_alloc(size_t n)
{
    return malloc(n);
}

static void plain_release(void *p, size_t n)
{
    (void)n;
    free(p);
}

bool gb_memo_key(char out[GB_MEMO_KEY_MAX], const char *store, const char *name)
{
    if (!name) return false;
    int n = snprintf(out, GB_MEMO_KEY_MAX, "%s\n%s", store ? store : "", name);
    return n >= 0 && n < GB_MEMO_KEY_MAX;
}

gb_memo *gb_memo_new(int slots, const gb_memo_mem *mem)
{
    if (slots < 1 || slots > 256) return NULL;
    gb_memo *m = calloc(1, sizeof(*m));
    if (!m || !(m->slots = calloc((size_t)slots, sizeof(slot)))) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->nslots = slots;
    m->mem = mem ? *mem : (gb_memo_mem){plain_alloc, plain_release};
    return m;
}

static void slot_empty(gb_memo *m, slot *s)
{
    if (s->val) m->mem.release(s->val, s->n + 1);
    free(s->key);
    memset(s, 0, sizeof(*s));
}

void gb_memo_clear(gb_memo *m)
{
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < m->nslots; i++)
        slot_empty(m, &m->slots[i]);
    pthread_mutex_unlock(&m->mu);
}

void gb_memo_free(gb_memo *m)
{
    if (!m) return;
    gb_memo_clear(m);
    pthread_mutex_destroy(&m->mu);
    free(m->slots);
    free(m);
}

bool gb_memo_get(gb_memo *m, const char *key, int64_t now, int64_t max_age_ms, uint64_t gen,
                 void **val, size_t *n)
{
    *val = NULL;
    *n = 0;
    if (!m || !key || max_age_ms <= 0) return false;
    bool hit = false;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < m->nslots; i++) {
        slot *s = &m->slots[i];
        if (!s->key || strcmp(s->key, key) != 0) continue;
        if (s->gen != gen || now - s->at >= max_age_ms || now < s->at) {
            slot_empty(m, s); /* outdated: read again */
            break;
        }
        hit = true;
        if (s->val) {
            char *copy = malloc(s->n + 1);
            if (copy) {
                memcpy(copy, s->val, s->n + 1);
                *val = copy;
                *n = s->n;
            } else {
                hit = false;
            }
        }
        break;
    }
    pthread_mutex_unlock(&m->mu);
    return hit;
}

void gb_memo_put(gb_memo *m, const char *key, int64_t now, uint64_t gen, const void *val, size_t n)
{
    if (!m || !key || strlen(key) >= GB_MEMO_KEY_MAX || (val && n >= SIZE_MAX / 2)) return;
    char *k = strdup(key);
    void *v = val ? m->mem.alloc(n + 1) : NULL;
    if (!k || (val && !v)) {
        free(k);
        if (v) m->mem.release(v, n + 1);
        return;
    }
    if (v) {
        memcpy(v, val, n);
        ((char *)v)[n] = '\0';
    }
    pthread_mutex_lock(&m->mu);
    slot *use = NULL; /* the same key, else an empty slot, else the oldest */
    for (int i = 0; i < m->nslots; i++) {
        slot *s = &m->slots[i];
        if (s->key && !strcmp(s->key, key)) {
            use = s;
            break;
        }
        if (!use || (use->key && (!s->key || s->at < use->at))) use = s;
    }
    slot_empty(m, use);
    *use = (slot){.key = k, .at = now, .gen = gen, .val = v, .n = val ? n : 0};
    pthread_mutex_unlock(&m->mu);
}

void gb_memo_count(void *changes)
{
    __atomic_add_fetch((uint64_t *)changes, 1, __ATOMIC_SEQ_CST);
}

uint64_t gb_memo_changes(const uint64_t *changes)
{
    return __atomic_load_n(changes, __ATOMIC_SEQ_CST);
}

gb_err gb_memo_changed(struct gb_db *db, uint64_t *changes)
{
    gb_memo_count(changes);
    return gb_db_after_commit(db, gb_memo_count, changes);
}
