/* event_notify.c: the one process-wide listener told when an event is appended to the log
 * (events.h), so the event stream wakes its waiting readers without polling tightly. */
#include <pthread.h>
#include <stddef.h>

#include "webhooks/events.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static void (*g_fn)(void *);
static void *g_ud;

void wh_events_set_listener(void (*fn)(void *ud), void *ud)
{
    pthread_mutex_lock(&g_mu);
    g_fn = fn;
    g_ud = ud;
    pthread_mutex_unlock(&g_mu);
}

void wh_events_drop_listener(void *ud)
{
    pthread_mutex_lock(&g_mu);
    if (g_ud == ud) {
        g_fn = NULL;
        g_ud = NULL;
    }
    pthread_mutex_unlock(&g_mu);
}

void wh_events_notify(void)
{
    pthread_mutex_lock(&g_mu); /* held across the call: clearing waits for a call under way */
    if (g_fn) g_fn(g_ud);
    pthread_mutex_unlock(&g_mu);
}
