/* wake.c: the process's registered delivery workers and waking them all after a commit that
 * queued messages. A mutex guards the list and is held across the wakes, so a worker being
 * stopped is never woken after wh_wake_remove returns. */
#include "webhooks/wake.h"

#include <pthread.h>

#define WH_WAKE_MAX 16

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static wh_worker *g_workers[WH_WAKE_MAX];
static int g_n;

gb_err wh_wake_add(wh_worker *w)
{
    gb_err e = GB_ERR_NOMEM;
    pthread_mutex_lock(&g_mu);
    if (g_n < WH_WAKE_MAX) {
        g_workers[g_n++] = w;
        e = GB_OK;
    }
    pthread_mutex_unlock(&g_mu);
    return e;
}

void wh_wake_remove(wh_worker *w)
{
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_n; i++)
        if (g_workers[i] == w) {
            g_workers[i] = g_workers[--g_n];
            break;
        }
    pthread_mutex_unlock(&g_mu);
}

void wh_wake_all(void *ud)
{
    (void)ud;
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_n; i++)
        wh_worker_wake(g_workers[i]);
    pthread_mutex_unlock(&g_mu);
}
