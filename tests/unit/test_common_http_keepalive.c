/* test_common_http_keepalive.c: gb_http_req.keep_alive against a loopback HTTP/1.1 server that
 * counts the connections it accepts and serves any number of requests on each. A kept handle
 * reuses its connection for GETs; POSTs and guarded (allow_ip) requests never reuse one; each
 * thread has its own; a connection the server dropped after its answer (as a server does with
 * idle keep-alive connections) costs a new one, not a failure. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"

#define KA_CONNS 64

#define KA_MAX_CONNS 1024

typedef struct {
    int fd, port;
    int drop_after_answer; /* close each connection after its first answer, without saying so */
    atomic_int accepted, answered;
    pthread_t thread;
    /* the open connections (-1: closed), so ka_stop can end their threads: a server lives on
     * its test's stack, and a thread left serving would read the next test's server */
    pthread_mutex_t mu;
    int conns[KA_MAX_CONNS];
    atomic_int live;
} ka_server;

typedef struct {
    ka_server *s;
    int c, slot;
} ka_conn;

/* memmem without _GNU_SOURCE */
static char *find(char *p, size_t n, const char *pat)
{
    size_t m = strlen(pat);
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(p + i, pat, m)) return p + i;
    return NULL;
}

/* Serves requests on one connection until the client closes it: reads a head, skips a body of
 * Content-Length bytes, answers 200 "ok" with a Content-Length (so the connection stays open). */
static void *ka_conn_serve(void *arg)
{
    ka_conn *k = arg;
    char buf[8192];
    size_t have = 0;
    for (;;) {
        char *end = NULL;
        while (!(end = find(buf, have, "\r\n\r\n"))) {
            if (have == sizeof(buf)) goto out;
            ssize_t r = read(k->c, buf + have, sizeof(buf) - have);
            if (r <= 0) goto out;
            have += (size_t)r;
        }
        size_t head = (size_t)(end + 4 - buf), body = 0;
        char *cl = find(buf, head, "Content-Length:");
        if (cl) body = (size_t)strtoul(cl + 15, NULL, 10);
        while (have < head + body && have < sizeof(buf)) {
            ssize_t r = read(k->c, buf + have, sizeof(buf) - have);
            if (r <= 0) goto out;
            have += (size_t)r;
        }
        if (have < head + body) goto out;
        memmove(buf, buf + head + body, have - head - body);
        have -= head + body;
        atomic_fetch_add(&k->s->answered, 1);
        static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if (write(k->c, ans, sizeof(ans) - 1) != (ssize_t)(sizeof(ans) - 1)) goto out;
        if (k->s->drop_after_answer) goto out;
    }
out:;
    ka_server *s = k->s;
    pthread_mutex_lock(&s->mu);
    s->conns[k->slot] = -1;
    pthread_mutex_unlock(&s->mu);
    close(k->c);
    free(k);
    atomic_fetch_sub(&s->live, 1); /* the last touch of s */
    return NULL;
}

static void *ka_accept(void *arg)
{
    ka_server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) return NULL;
        atomic_fetch_add(&s->accepted, 1);
        ka_conn *k = malloc(sizeof(*k));
        pthread_t t;
        if (!k) {
            close(c);
            continue;
        }
        k->s = s;
        k->c = c;
        k->slot = -1;
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < KA_MAX_CONNS && k->slot < 0; i++)
            if (s->conns[i] < 0) s->conns[k->slot = i] = c;
        pthread_mutex_unlock(&s->mu);
        if (k->slot < 0) {
            close(c);
            free(k);
            continue;
        }
        atomic_fetch_add(&s->live, 1);
        if (pthread_create(&t, NULL, ka_conn_serve, k) != 0) {
            pthread_mutex_lock(&s->mu);
            s->conns[k->slot] = -1;
            pthread_mutex_unlock(&s->mu);
            atomic_fetch_sub(&s->live, 1);
            close(c);
            free(k);
            continue;
        }
        pthread_detach(t);
    }
}

static void ka_start(ka_server *s, int drop)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < KA_MAX_CONNS; i++)
        s->conns[i] = -1;
    s->drop_after_answer = drop;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, KA_CONNS), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, ka_accept, s), 0);
}

/* Stops accepting, ends every connection's thread (their reads see the shutdown) and waits
 * for them, so nothing reads s once its test returns. */
static void ka_stop(ka_server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < KA_MAX_CONNS; i++)
        if (s->conns[i] >= 0) shutdown(s->conns[i], SHUT_RDWR);
    pthread_mutex_unlock(&s->mu);
    while (atomic_load(&s->live) > 0)
        usleep(1000);
    pthread_mutex_destroy(&s->mu);
}

static int guard_calls;
static int allow_all(void *ud, const char *ip)
{
    (void)ud, (void)ip;
    guard_calls++;
    return 1;
}

/* One request; asserts the answer was 200 "ok". */
static void get(const ka_server *s, const char *method, int keep, int guarded)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s->port);
    int post = !strcmp(method, "POST");
    gb_http_req req = {.method = method,
                       .url = url,
                       .body = post ? "{}" : NULL,
                       .body_len = post ? 2 : 0,
                       .keep_alive = keep,
                       .allow_ip = guarded ? allow_all : NULL};
    gb_http_resp resp;
    gb_errmsg err = "";
    assert_int_equal(gb_http_do(&req, &resp, err), GB_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "ok");
    gb_http_resp_free(&resp);
}

static void test_kept_gets_share_one_connection(void **state)
{
    (void)state;
    ka_server s;
    ka_start(&s, 0);
    for (int i = 0; i < 5; i++)
        get(&s, "GET", 1, 0);
    assert_int_equal(atomic_load(&s.answered), 5);
    assert_int_equal(atomic_load(&s.accepted), 1);
    ka_stop(&s);
}

static void test_without_flag_each_request_connects(void **state)
{
    (void)state;
    ka_server s;
    ka_start(&s, 0);
    for (int i = 0; i < 3; i++)
        get(&s, "GET", 0, 0);
    assert_int_equal(atomic_load(&s.accepted), 3);
    ka_stop(&s);
}

static void test_posts_and_guarded_requests_never_reuse(void **state)
{
    (void)state;
    ka_server s;
    ka_start(&s, 0);
    get(&s, "GET", 1, 0); /* a kept connection exists now */
    for (int i = 0; i < 3; i++)
        get(&s, "POST", 1, 0);
    assert_int_equal(atomic_load(&s.accepted), 4);
    guard_calls = 0;
    for (int i = 0; i < 3; i++)
        get(&s, "GET", 1, 1);
    assert_int_equal(guard_calls, 3); /* the address checked before every request */
    assert_int_equal(atomic_load(&s.accepted), 7);
    get(&s, "GET", 1, 0); /* the kept one still serves */
    assert_int_equal(atomic_load(&s.accepted), 7);
    ka_stop(&s);
}

static void test_dropped_connection_is_replaced(void **state)
{
    (void)state;
    ka_server s;
    ka_start(&s, 1);
    for (int i = 0; i < 4; i++) {
        get(&s, "GET", 1, 0);
        usleep(20000); /* let the server's close arrive (else libcurl retries on a new one) */
    }
    assert_int_equal(atomic_load(&s.answered), 4);
    assert_int_equal(atomic_load(&s.accepted), 4);
    ka_stop(&s);
}

static ka_server *shared;
static void *three_gets(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        get(shared, "GET", 1, 0);
    gb_http_global_cleanup(); /* this thread's handle; also ends one curl_global_init */
    return NULL;
}

static void test_each_thread_has_its_own(void **state)
{
    (void)state;
    ka_server s;
    ka_start(&s, 0);
    shared = &s;
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gb_http_global_init(), GB_OK);
        assert_int_equal(pthread_create(&t[i], NULL, three_gets, NULL), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&s.answered), 6);
    assert_int_equal(atomic_load(&s.accepted), 2);
    ka_stop(&s);
}

int main(void)
{
    if (gb_http_global_init() != GB_OK) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_gets_share_one_connection),
        cmocka_unit_test(test_without_flag_each_request_connects),
        cmocka_unit_test(test_posts_and_guarded_requests_never_reuse),
        cmocka_unit_test(test_dropped_connection_is_replaced),
        cmocka_unit_test(test_each_thread_has_its_own),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
