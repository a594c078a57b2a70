/* test_targon_util.h: fixtures for the Targon tests: a simulator plus an adapter whose backoff
 * sleeps are recorded instead of slept, raw HTTP and /_sim/ control helpers, and a one-shot
 * raw TCP server for answers the simulator cannot give (a non-JSON body). Include after
 * cmocka.h. */
#ifndef GB_TEST_TARGON_UTIL_H
#define GB_TEST_TARGON_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/http_client.h"
#include "common/str.h"
#include "providers/provider.h"
#include "providers/sim/sim.h"

#define SECRET "test-secret"

typedef struct {
    int64_t ms[32];
    int n;
} sleep_rec;

typedef struct {
    sim_server *sim;
    uint16_t port;
    char base[64];
    prov_adapter *a;
    sleep_rec rec;
} fixture;

static inline void rec_sleep(void *ud, int64_t ms)
{
    sleep_rec *r = ud;
    if (r->n < 32) r->ms[r->n++] = ms;
}

static inline int fx_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(sim_start(sim_platform_targon(), 0, SECRET, &f->sim, &f->port), GB_OK);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", (unsigned)f->port);
    assert_int_equal(prov_adapter_init(&prov_targon_ops, "targon", f->base, SECRET, NULL, &f->a),
                     GB_OK);
    f->a->policy.sleep_ms = rec_sleep;
    f->a->policy.sleep_ud = &f->rec;
    *state = f;
    return 0;
}

static inline int fx_teardown(void **state)
{
    fixture *f = *state;
    prov_adapter_free(f->a);
    sim_stop(f->sim);
    free(f);
    return 0;
}

/* One raw request; secret NULL = no Authorization header. Returns the status; *out gets the
 * parsed JSON body (NULL when none or not JSON) when out is not NULL. */
static inline long raw_http(fixture *f, const char *method, const char *path, const char *body,
                            const char *secret, cJSON **out)
{
    char url[512], auth[128];
    const char *hdrs[3] = {"Content-Type: application/json", NULL, NULL};
    if (secret) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", secret);
        hdrs[1] = auth;
    }
    snprintf(url, sizeof(url), "%s%s", f->base, path);
    gb_http_req rq = {.method = method,
                      .url = url,
                      .headers = hdrs,
                      .body = body,
                      .body_len = body ? strlen(body) : 0};
    gb_http_resp rs;
    char err[256];
    assert_int_equal(gb_http_do(&rq, &rs, err), GB_OK);
    if (out) *out = rs.body_len ? cJSON_ParseWithLength(rs.body, rs.body_len) : NULL;
    long status = rs.status;
    gb_http_resp_free(&rs);
    return status;
}

static inline void sim_ctl(fixture *f, const char *method, const char *path, const char *body)
{
    assert_int_equal(raw_http(f, method, path, body, NULL, NULL), 200);
}

static inline void sim_fault(fixture *f, const char *rule)
{
    sim_ctl(f, "POST", "/_sim/faults", rule);
}

static inline void sim_advance(fixture *f, int64_t ms)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"advance_ms\":%lld}", (long long)ms);
    sim_ctl(f, "POST", "/_sim/clock", body);
}

static inline cJSON *sim_get(fixture *f, const char *path)
{
    cJSON *j = NULL;
    assert_int_equal(raw_http(f, "GET", path, NULL, NULL, &j), 200);
    assert_non_null(j);
    return j;
}

/* Workloads in the simulator named name (and with status, unless NULL). */
static inline int sim_count_named(fixture *f, const char *name, const char *status)
{
    cJSON *st = sim_get(f, "/_sim/state"), *w;
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
    cJSON *st = sim_get(f, "/_sim/state"), *r;
    int n = -1;
    cJSON_ArrayForEach(
        r, cJSON_GetObjectItem(
               st, "inventory")) if (strcmp(cJSON_GetObjectItem(r, "name")->valuestring, res) == 0)
        n = cJSON_GetObjectItem(r, "available")->valueint;
    cJSON_Delete(st);
    return n;
}

static inline int sim_route_count(fixture *f, const char *key)
{
    cJSON *st = sim_get(f, "/_sim/requests");
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "by_route"), key);
    int n = cJSON_IsNumber(v) ? v->valueint : 0;
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
