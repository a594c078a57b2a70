/* db_listen.c: PostgreSQL's LISTEN on a connection of its own, in a thread that calls a
 * function when notifications arrive (gb_db_notify sends them with a COMMIT). Brokers on one
 * database use it to wake their webhook workers for messages another broker queued. */
#include <libpq-fe.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/db.h"
#include "common/dbq.h"
#include "common/log.h"
#include "common/str.h"

#define LISTEN_TICK_MS 200       /* how often the thread looks at its stop flag */
#define CONNECT_TIMEOUT_MS 10000 /* a connect with no answer is given up after this long */
#define LISTEN_RETRY_MS 1000     /* between two tries to connect */

struct gb_db_listener {
    char *url;
    char channel[64];
    void (*fn)(void *ud);
    void *ud;
    atomic_int stop;
    pthread_t th;
};

static void quiet(void *arg, const PGresult *res)
{
    (void)arg, (void)res;
}

/* Connects without blocking (libpq's PQconnectStartParams / PQconnectPoll), looking at the
 * stop flag every tick, for at most CONNECT_TIMEOUT_MS: a stop never waits for a connect to
 * a server that does not answer. The connection, or NULL (logged unless stopped). */
static PGconn *connect_polling(gb_db_listener *l)
{
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {l->url, "gpubroker-listen", NULL};
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    int64_t deadline = gb_mono_ms() + CONNECT_TIMEOUT_MS;
    bool late = false;
    while (c && PQstatus(c) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
           st != PGRES_POLLING_FAILED && !atomic_load(&l->stop) &&
           !(late = gb_mono_ms() >= deadline)) {
        struct pollfd p = {.fd = PQsocket(c),
                           .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        int n = p.fd >= 0 ? poll(&p, 1, LISTEN_TICK_MS) : -1;
        if (n < 0 && errno != EINTR) break;
        if (n > 0) st = PQconnectPoll(c);
    }
    if (c && st == PGRES_POLLING_OK && PQstatus(c) == CONNECTION_OK) return c;
    if (!atomic_load(&l->stop))
        GB_WARN("db", "listen: cannot connect: %s",
                !c     ? "out of memory"
                : late ? "no answer within 10 s"
                       : PQerrorMessage(c));
    if (c) PQfinish(c);
    return NULL;
}

/* A connection that LISTENs on the channel, or NULL (logged). */
static PGconn *connect_listen(gb_db_listener *l)
{
    PGconn *c = connect_polling(l);
    if (!c) return NULL;
    PQsetNoticeReceiver(c, quiet, NULL);
    char sql[96];
    snprintf(sql, sizeof(sql), "LISTEN %s", l->channel);
    PGresult *r = PQexec(c, sql);
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        GB_WARN("db", "listen: LISTEN %s failed: %s", l->channel, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Waits up to ms, looking at the stop flag every tick; false once stopped. */
static int nap(gb_db_listener *l, int ms)
{
    for (int t = 0; t < ms && !atomic_load(&l->stop); t += LISTEN_TICK_MS)
        poll(NULL, 0, LISTEN_TICK_MS);
    return !atomic_load(&l->stop);
}

static void *listen_main(void *arg)
{
    gb_db_listener *l = arg;
    PGconn *c = NULL;
    while (!atomic_load(&l->stop)) {
        if (!c) {
            if (!(c = connect_listen(l))) {
                nap(l, LISTEN_RETRY_MS);
                continue;
            }
            l->fn(l->ud); /* what was sent while no one listened */
        }
        struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
        int n = p.fd >= 0 ? poll(&p, 1, LISTEN_TICK_MS) : -1;
        if (n == 0) continue;
        int got = 0;
        if (n > 0 && PQconsumeInput(c)) {
            PGnotify *note;
            while ((note = PQnotifies(c))) {
                got = 1;
                PQfreemem(note);
            }
        }
        if (got) l->fn(l->ud);
        if (n < 0 || PQstatus(c) != CONNECTION_OK) {
            GB_WARN("db", "listen: the connection broke (%s); connecting again", PQerrorMessage(c));
            PQfinish(c);
            c = NULL;
            nap(l, LISTEN_RETRY_MS);
        }
    }
    if (c) PQfinish(c);
    return NULL;
}

gb_err gb_db_listen(const char *url, const char *channel, void (*fn)(void *ud), void *ud,
                    gb_db_listener **out)
{
    *out = NULL;
    if (!url || !fn || !gb_db_channel_ok(channel)) return GB_ERR_INVALID;
    size_t n = strlen(channel);
    if (!gb_db_url_is_pg(url)) return GB_OK;
    gb_db_listener *l = calloc(1, sizeof(*l));
    if (!l || !(l->url = gb_strdup(url))) {
        free(l);
        return GB_ERR_NOMEM;
    }
    memcpy(l->channel, channel, n + 1);
    l->fn = fn;
    l->ud = ud;
    if (pthread_create(&l->th, NULL, listen_main, l) != 0) {
        free(l->url);
        free(l);
        return GB_ERR_INTERNAL;
    }
    *out = l;
    return GB_OK;
}

void gb_db_listen_stop(gb_db_listener *l)
{
    if (!l) return;
    atomic_store(&l->stop, 1);
    pthread_join(l->th, NULL);
    gb_memzero(l->url, strlen(l->url)); /* it holds the password */
    free(l->url);
    free(l);
}
