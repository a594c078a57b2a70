/* blocklist.c: a small fixed table of blocked offer ids; expired or oldest entries are
 * replaced when it is full. */
#include "broker/placement/blocklist.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/str.h"

#define MAX_BLOCKED 512

typedef struct {
    char id[160];
    int64_t until;
} item;

struct blocklist {
    pthread_mutex_t mu;
    item items[MAX_BLOCKED];
};

blocklist *blocklist_new(void)
{
    blocklist *b = calloc(1, sizeof(*b));
    if (b) pthread_mutex_init(&b->mu, NULL);
    return b;
}

void blocklist_free(blocklist *b)
{
    if (!b) return;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

void blocklist_add(blocklist *b, const char *id, int64_t until_ms)
{
    pthread_mutex_lock(&b->mu);
    int slot = 0;
    for (int i = 0; i < MAX_BLOCKED; i++) {
        if (strcmp(b->items[i].id, id) == 0) {
            slot = i;
            break;
        }
        if (b->items[i].until < b->items[slot].until) slot = i; /* oldest/expired/empty */
    }
    gb_strlcpy(b->items[slot].id, id, sizeof(b->items[slot].id));
    b->items[slot].until = until_ms;
    pthread_mutex_unlock(&b->mu);
}

int64_t blocklist_until(void *ud, const char *id)
{
    blocklist *b = ud;
    int64_t until = 0;
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < MAX_BLOCKED; i++) {
        if (b->items[i].id[0] && strcmp(b->items[i].id, id) == 0) {
            until = b->items[i].until;
            break;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return until > gb_now_ms() ? until : 0;
}
