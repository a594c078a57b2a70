/* worker.c: the worker loop (see worker.h). Waits on a condition variable bound to
 * CLOCK_MONOTONIC; running workers sit in one list so that moving the test clock wakes them
 * to compare it with their deadline. */
#include "common/worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"

struct gb_worker {
    gb_worker_cfg cfg;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    bool stop, woken;
    long rounds;
    int64_t last_progress; /* gb_mono_ms() at the last round's start or end (readiness) */
    int64_t deadline;      /* gb_mono_ms() when the next round is due; 0 while one runs */
    int64_t test_due;      /* gb_now_ms() when it is due, if a test clock is set */
    gb_worker *next;       /* in g_running */
};

static pthread_mutex_t g_running_mu = PTHREAD_MUTEX_INITIALIZER;
static gb_worker *g_running;

/* The test clock moved: every waiting worker looks at it again. */
static void clock_changed(void)
{
    pthread_mutex_lock(&g_running_mu);
    for (gb_worker *w = g_running; w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_unlock(&g_running_mu);
}

static void list_add(gb_worker *w)
{
    pthread_mutex_lock(&g_running_mu);
    w->next = g_running;
    g_running = w;
    gb_clock_on_change(clock_changed);
    pthread_mutex_unlock(&g_running_mu);
}

static void list_remove(gb_worker *w)
{
    pthread_mutex_lock(&g_running_mu);
    for (gb_worker **p = &g_running; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&g_running_mu);
}

/* Whether the wait is over; called with w->mu held. */
static bool due(const gb_worker *w)
{
    if (w->stop || w->woken || gb_mono_ms() >= w->deadline) return true;
    return gb_clock_is_test() && gb_now_ms() >= w->test_due;
}

/* Waits (w->mu held) until the interval has passed, a wake, a stop or the test clock's due. */
static void wait_interval(gb_worker *w)
{
    w->deadline = gb_mono_ms() + w->cfg.interval_ms;
    w->test_due = gb_now_ms() + w->cfg.interval_ms;
    struct timespec ts = {.tv_sec = (time_t)(w->deadline / 1000),
                          .tv_nsec = (long)(w->deadline % 1000) * 1000000L};
    while (!due(w))
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    w->deadline = 0;
}

static void *run(void *arg)
{
    gb_worker *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        w->woken = false;
        w->last_progress = gb_mono_ms();
        pthread_mutex_unlock(&w->mu);
        bool again = w->cfg.round(w->cfg.ud);
        pthread_mutex_lock(&w->mu);
        w->rounds++;
        w->last_progress = gb_mono_ms();
        if (!again && !w->stop && !w->woken) wait_interval(w);
    }
    pthread_mutex_unlock(&w->mu);
    if (w->cfg.thread_end) w->cfg.thread_end(w->cfg.ud);
    return NULL;
}

gb_err gb_worker_start(const gb_worker_cfg *cfg, gb_worker **out)
{
    *out = NULL;
    if (!cfg || !cfg->round) return GB_ERR_INVALID;
    gb_worker *w = calloc(1, sizeof(*w));
    if (!w) return GB_ERR_NOMEM;
    w->cfg = *cfg;
    if (w->cfg.interval_ms < 1) w->cfg.interval_ms = 1;
    if (!w->cfg.name) w->cfg.name = "worker";
    pthread_condattr_t ca;
    gb_err e = GB_ERR_INTERNAL;
    if (pthread_condattr_init(&ca) != 0) goto fail;
    int bad =
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 || pthread_cond_init(&w->cv, &ca) != 0;
    pthread_condattr_destroy(&ca);
    if (bad) goto fail;
    pthread_mutex_init(&w->mu, NULL);
    list_add(w);
    if (pthread_create(&w->th, NULL, run, w) != 0) {
        list_remove(w);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        goto fail;
    }
    *out = w;
    return GB_OK;
fail:
    GB_ERROR("worker", "%s: cannot start the thread", w->cfg.name);
    free(w);
    return e;
}

void gb_worker_stop(gb_worker *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    list_remove(w);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void gb_worker_wake(gb_worker *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->woken = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

long gb_worker_rounds(gb_worker *w)
{
    pthread_mutex_lock(&w->mu);
    long n = w->rounds;
    pthread_mutex_unlock(&w->mu);
    return n;
}

int64_t gb_worker_deadline(gb_worker *w)
{
    pthread_mutex_lock(&w->mu);
    int64_t d = w->deadline;
    pthread_mutex_unlock(&w->mu);
    return d;
}

void gb_worker_each(void (*fn)(const gb_worker_status *st, void *ud), void *ud)
{
    pthread_mutex_lock(&g_running_mu);
    for (gb_worker *w = g_running; w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        gb_worker_status st = {w->cfg.name, w->cfg.interval_ms, w->rounds, w->last_progress,
                               w->deadline == 0};
        pthread_mutex_unlock(&w->mu);
        fn(&st, ud);
    }
    pthread_mutex_unlock(&g_running_mu);
}
