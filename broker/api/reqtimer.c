/* reqtimer.c: connection slots with request deadlines, and the sweep that shuts down the
 * sockets of requests that did not arrive whole in time (see reqtimer.h). A fixed array with a
 * free list: adding and removing are O(1), a sweep looks at every slot once. */
#include "broker/api/reqtimer.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

struct reqtimer_slot {
    int fd;
    bool used;
    bool armed;       /* a request is being received and has a deadline */
    int64_t deadline; /* mono ms, while armed */
    int next_free;    /* index of the next free slot, -1 at the end */
};

struct reqtimer {
    pthread_mutex_t mu;
    int64_t timeout_ms;
    int capacity, used, first_free;
    reqtimer_slot *slots;
};

reqtimer *reqtimer_new(int capacity, int64_t timeout_ms)
{
    reqtimer *t = NULL;
    if (capacity < 1) goto fail;
    t = calloc(1, sizeof(*t));
    if (!t) goto fail;
    t->slots = calloc((size_t)capacity, sizeof(*t->slots));
    if (!t->slots) goto fail;
    pthread_mutex_init(&t->mu, NULL);
    t->timeout_ms = timeout_ms;
    t->capacity = capacity;
    for (int i = 0; i < capacity; i++)
        t->slots[i].next_free = i + 1 < capacity ? i + 1 : -1;
    t->first_free = 0;
    return t;
fail:
    free(t);
    return NULL;
}

void reqtimer_free(reqtimer *t)
{
    if (!t) return;
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    free(t);
}

reqtimer_slot *reqtimer_add(reqtimer *t, int fd, int64_t now_ms)
{
    reqtimer_slot *s = NULL;
    pthread_mutex_lock(&t->mu);
    if (t->first_free >= 0) {
        s = &t->slots[t->first_free];
        t->first_free = s->next_free;
        s->fd = fd;
        s->used = true;
        s->armed = true;
        s->deadline = now_ms + t->timeout_ms;
        t->used++;
    }
    pthread_mutex_unlock(&t->mu);
    return s;
}

void reqtimer_remove(reqtimer *t, reqtimer_slot *s)
{
    if (!s) return;
    pthread_mutex_lock(&t->mu);
    if (s->used) {
        s->used = false;
        s->armed = false;
        s->fd = -1;
        s->next_free = t->first_free;
        t->first_free = (int)(s - t->slots);
        t->used--;
    }
    pthread_mutex_unlock(&t->mu);
}

void reqtimer_arm(reqtimer *t, reqtimer_slot *s, int64_t now_ms)
{
    if (!s) return;
    pthread_mutex_lock(&t->mu);
    if (s->used) {
        s->armed = true;
        s->deadline = now_ms + t->timeout_ms;
    }
    pthread_mutex_unlock(&t->mu);
}

void reqtimer_disarm(reqtimer *t, reqtimer_slot *s)
{
    if (!s) return;
    pthread_mutex_lock(&t->mu);
    s->armed = false;
    pthread_mutex_unlock(&t->mu);
}

bool reqtimer_expired(reqtimer *t, reqtimer_slot *s, int64_t now_ms)
{
    if (!s) return false;
    pthread_mutex_lock(&t->mu);
    bool late = s->used && s->armed && now_ms >= s->deadline;
    pthread_mutex_unlock(&t->mu);
    return late;
}

int reqtimer_sweep(reqtimer *t, int64_t now_ms)
{
    int n = 0;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->capacity; i++) {
        reqtimer_slot *s = &t->slots[i];
        if (!s->used || !s->armed || now_ms < s->deadline) continue;
        /* The server reads EOF and closes the connection itself (its own close path removes
         * the slot first, blocking on this lock until the sweep is done). */
        shutdown(s->fd, SHUT_RDWR);
        s->armed = false;
        n++;
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

int reqtimer_count(reqtimer *t)
{
    pthread_mutex_lock(&t->mu);
    int n = t->used;
    pthread_mutex_unlock(&t->mu);
    return n;
}
