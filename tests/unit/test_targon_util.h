/* test_targon_util.h: fixtures for the Targon tests: a simulator plus an adapter whose backoff
 * sleeps are recorded instead of slept (from test_prov_fixture.h), raw HTTP with a Targon key,
 * state counts, and a one-shot raw TCP server for answers the simulator cannot give (a
 * non-JSON body). Include after cmocka.h. */
#ifndef GB_TEST_TARGON_UTIL_H
#define GB_TEST_TARGON_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/str.h"
#include "providers/targon.h"
#include "test_prov_fixture.h"

#define SECRET "test-secret"

typedef pf_fx fixture;

static inline int fx_setup(void **state)
{
    fixture *f = pf_start(sim_platform_targon(), SECRET);
    f->a = pf_adapter(f, &prov_targon_ops, "targon", "", SECRET, NULL);
    *state = f;
    return 0;
}

/* One raw request; secret NULL = no Authorization header. Returns the status; *out gets the
 * parsed JSON body (NULL when none or not JSON) when out is not NULL. */
static inline long raw_http(fixture *f, const char *method, const char *path, const char *body,
                            const char *secret, cJSON **out)
{
    char auth[128];
    const char *hdrs[3] = {"Content-Type: application/json", NULL, NULL};
    if (secret) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", secret);
        hdrs[1] = auth;
    }
    return pf_http_hdrs(f, method, path, body, hdrs, out);
}

/* Workloads in the simulator named name (and with status, unless NULL). */
static inline int sim_count_named(fixture *f, const char *name, const char *status)
{
    cJSON *st = pf_state(f), *w;
    int n = 0;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(st, "workloads"))
    {
        const cJSON *nm = cJSON_GetObjectItem(w, "name");
        const cJSON *s = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "state"), "status");
        if (strcmp(nm->valuestring, name) == 0 && (!status || strcmp(s->valuestring, status) == 0))
            n++;
    }
    cJSON_Delete(st);
    return n;
}

static inline int sim_available(fixture *f, const char *res)
{
    cJSON *st = pf_state(f), *r;
    int n = -1;
    cJSON_ArrayForEach(
        r, cJSON_GetObjectItem(
               st, "inventory")) if (strcmp(cJSON_GetObjectItem(r, "name")->valuestring, res) == 0)
        n = cJSON_GetObjectItem(r, "available")->valueint;
    cJSON_Delete(st);
    return n;
}

/* A server that answers one connection with a fixed reply. */
typedef struct {
    int fd;
    int port;
    pthread_t th;
    const char *reply;
} raw_server;

static inline void *raw_server_main(void *ud)
{
    raw_server *s = ud;
    struct pollfd pfd = {s->fd, POLLIN, 0};
    if (poll(&pfd, 1, 5000) <= 0) return NULL;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) return NULL;
    char buf[4096];
    size_t got = 0;
    while (got < sizeof(buf) - 1) {
        struct pollfd p2 = {c, POLLIN, 0};
        if (poll(&p2, 1, 2000) <= 0) break;
        ssize_t k = recv(c, buf + got, sizeof(buf) - 1 - got, 0);
        if (k <= 0) break;
        got += (size_t)k;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n")) break;
    }
    ssize_t sent = send(c, s->reply, strlen(s->reply), MSG_NOSIGNAL);
    (void)sent;
    close(c);
    return NULL;
}

static inline void raw_server_start(raw_server *s, const char *reply)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->reply = reply;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->fd, 4), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &sl), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, raw_server_main, s), 0);
}

static inline void raw_server_stop(raw_server *s)
{
    pthread_join(s->th, NULL);
    close(s->fd);
}

#endif
