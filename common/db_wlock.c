/* db_wlock.c: one writer mutex per SQLite file in this process. SQLite lets one connection
 * write at a time; another that wants to write polls with growing sleeps (1, 2, 5, 10 ... 100
 * ms, sqlite3_busy_timeout), so threads that take turns writing (HTTP handlers, the webhook
 * worker's claims and records) lose milliseconds to each collision. Taking this mutex before
 * BEGIN IMMEDIATE hands the write lock from thread to thread as soon as it is released. Other
 * processes on the same file still meet SQLite's busy handler. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "common/db_int.h"
#include "common/str.h"

#define WLOCK_FILES 32 /* files with a mutex; more (tests' temp files) go without one */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char path[512];
    pthread_mutex_t mu;
} g_files[WLOCK_FILES];
static int g_n;

pthread_mutex_t *gb_db_wlock_for(const char *path)
{
    if (!path || !path[0] || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0 ||
        strlen(path) >= sizeof(g_files[0].path))
        return NULL;
    pthread_mutex_t *mu = NULL;
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_n && !mu; i++)
        if (strcmp(g_files[i].path, path) == 0) mu = &g_files[i].mu;
    if (!mu && g_n < WLOCK_FILES) {
        gb_strlcpy(g_files[g_n].path, path, sizeof(g_files[0].path));
        pthread_mutex_init(&g_files[g_n].mu, NULL);
        mu = &g_files[g_n++].mu;
    }
    pthread_mutex_unlock(&g_mu);
    return mu;
}

gb_err gb_db_wlock_take(pthread_mutex_t *mu, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc = pthread_mutex_timedlock(mu, &ts);
    return rc == 0 ? GB_OK : rc == ETIMEDOUT ? GB_ERR_DB : GB_ERR_INTERNAL;
}
