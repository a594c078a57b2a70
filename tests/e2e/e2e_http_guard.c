/* e2e_http_guard.c: end to end against the real daemon: one client cannot lock others out
 * (1,200 slowly trickling connections from 127.0.0.1 while 127.0.0.2 gets answers in
 * < 100 ms; the per-address limit closes the 65th connection unanswered; a request, headers
 * or body, not received whole within server.request_timeout_ms is cut off, and a kept-alive
 * connection gets the bound again after each answer, while an answer that lasts, an event
 * stream, is not cut by it), and a body whose Content-Type is not JSON is refused with 415
 * and writes nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support_daemon.h"

#define PER_ADDRESS 64
#define TIMEOUT_MS 4000
#define SLOW_CONNS 1200
#define SLACK_MS 1500

static e2e_daemon D;
static int PORT;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
    (void)state;
    /* 1,200 sockets of our own plus the daemon's: both need more than the usual 1,024. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < SLOW_CONNS + 200)
        fail_msg("RLIMIT_NOFILE is %llu; this test needs %d", (unsigned long long)rl.rlim_cur,
                 SLOW_CONNS + 200);
    static const char *env[] = {"GPUBROKER_SERVER_MAX_CONNECTIONS_PER_ADDRESS=64",
                                "GPUBROKER_SERVER_REQUEST_TIMEOUT_MS=4000",
                                "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000", NULL};
    e2e_start_sandbox(&D, NULL, env);
    const char *colon = strrchr(D.url, ':');
    assert_non_null(colon);
    PORT = (int)strtol(colon + 1, NULL, 10);
    assert_true(PORT > 0 && PORT < 65536);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

/* A TCP connection to the daemon from source address src (any of 127/8 on Linux); -1 when
 * the connect fails. */
static int connect_from(const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &a.sin_addr);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)PORT)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One whole request from src (Connection: close); returns the status (0 when no answer came)
 * and the milliseconds it took into *ms. */
static int request_from(const char *src, const char *method, const char *path, const char *key,
                        int64_t *ms)
{
    int64_t t0 = now_ms();
    int fd = connect_from(src);
    if (fd < 0) {
        *ms = now_ms() - t0;
        return 0;
    }
    char req[512];
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\n%s%s%sConnection: close\r\n\r\n",
             method, path, key ? "X-API-Key: " : "", key ? key : "", key ? "\r\n" : "");
    char resp[8192];
    size_t got = 0;
    if (send_all(fd, req) == 0) {
        ssize_t r;
        while (got < sizeof(resp) - 1 && (r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0)) > 0)
            got += (size_t)r;
    }
    close(fd);
    *ms = now_ms() - t0;
    resp[got] = '\0';
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) return 0;
    return status;
}

/* 1 if the server has closed fd (EOF or reset; *bytes gets what it sent before), 0 if open. */
static int server_closed(int fd, size_t *bytes)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0) return 0;
    char buf[512];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r > 0) {
            *bytes += (size_t)r;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return 1;
        return 0;
    }
}

typedef struct {
    int fd;
    int64_t opened, closed; /* closed 0 while open */
    size_t bytes;           /* what the server sent */
} slow_conn;

static int count_open(slow_conn *c, int n, int64_t t)
{
    int open = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].closed) continue;
        if (server_closed(c[i].fd, &c[i].bytes))
            c[i].closed = t;
        else
            open++;
    }
    return open;
}

static int list_total(const char *path, const char *key_name)
{
    e2e_resp r;
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r.json, key_name);
    if (!cJSON_IsArray(arr)) fail_msg("%s: no array '%s' in %s", path, key_name, r.body);
    int n = cJSON_GetArraySize(arr);
    e2e_resp_free(&r);
    return n;
}

static void test_slow_clients_do_not_lock_others_out(void **state)
{
    (void)state;
    static slow_conn c[SLOW_CONNS];
    int creds_before = list_total("/api/volt/docker-credentials", "credentials");
    /* A body that trickles in from a third address: cut off like slow headers. */
    slow_conn body = {.fd = connect_from("127.0.0.3")};
    assert_true(body.fd >= 0);
    body.opened = now_ms();
    char hdr[512];
    snprintf(hdr, sizeof(hdr),
             "POST /api/volt/docker-credentials HTTP/1.1\r\nHost: x\r\nX-API-Key: %s\r\n"
             "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{",
             D.key);
    assert_int_equal(send_all(body.fd, hdr), 0);

    int connected = 0;
    for (int i = 0; i < SLOW_CONNS; i++) {
        c[i].fd = connect_from("127.0.0.1");
        c[i].opened = now_ms();
        if (c[i].fd < 0 || send_all(c[i].fd, "GET /api/volt/pods HTTP/1.1\r\nHost: a") != 0)
            c[i].closed = c[i].opened; /* refused at once: fine, it is over the limit */
        else
            connected++;
    }
    /* Meanwhile another address is served at once: /healthz and an authenticated list. */
    for (int i = 0; i < 10; i++) {
        int64_t ms;
        int st = request_from("127.0.0.2", "GET", "/healthz", NULL, &ms);
        if (st != 200 || ms >= 100)
            fail_msg("/healthz from 127.0.0.2: %d in %lld ms", st, (long long)ms);
        st = request_from("127.0.0.2", "GET", "/api/volt/ssh-keys", D.key, &ms);
        if (st != 200 || ms >= 100)
            fail_msg("ssh-keys list from 127.0.0.2: %d in %lld ms", st, (long long)ms);
    }
    /* Exactly the first 64 stay open; every later one is closed without an answer. */
    int open = SLOW_CONNS;
    int64_t until = now_ms() + 2000;
    while ((open = count_open(c, SLOW_CONNS, now_ms())) > PER_ADDRESS && now_ms() < until)
        usleep(20000);
    if (open != PER_ADDRESS)
        fail_msg("%d of %d slow connections open (%d connected); want %d", open, SLOW_CONNS,
                 connected, PER_ADDRESS);
    for (int i = 0; i < SLOW_CONNS; i++)
        if (c[i].bytes) fail_msg("connection %d got %zu bytes of an answer", i, c[i].bytes);
    if (now_ms() - c[0].opened >= TIMEOUT_MS - 500)
        fail_msg("too slow to check the limit before the timeout (%lld ms)",
                 (long long)(now_ms() - c[0].opened));

    /* Trickle one more byte a connection every 250 ms: never idle, never done. Each must be
     * cut off once the request bound has passed, not before. */
    until = now_ms() + TIMEOUT_MS + 2 * SLACK_MS;
    while (now_ms() < until) {
        for (int i = 0; i < SLOW_CONNS; i++)
            if (!c[i].closed) send(c[i].fd, "x", 1, MSG_NOSIGNAL);
        if (!body.closed) send(body.fd, " ", 1, MSG_NOSIGNAL);
        usleep(250000);
        int64_t t = now_ms();
        open = count_open(c, SLOW_CONNS, t) + (body.closed ? 0 : !count_open(&body, 1, t));
        if (!open) break;
    }
    assert_int_equal(open, 0);
    for (int i = 0; i < SLOW_CONNS; i++) {
        int64_t lived = c[i].closed - c[i].opened;
        if (c[i].bytes) fail_msg("connection %d got %zu bytes of an answer", i, c[i].bytes);
        if (lived > TIMEOUT_MS + SLACK_MS)
            fail_msg("connection %d lived %lld ms", i, (long long)lived);
    }
    int long_lived = 0;
    for (int i = 0; i < SLOW_CONNS; i++)
        if (c[i].closed - c[i].opened >= TIMEOUT_MS - 200) long_lived++;
    assert_int_equal(long_lived, PER_ADDRESS); /* the 64 were cut by the bound, not earlier */
    int64_t lived = body.closed - body.opened;
    if (lived < TIMEOUT_MS - 200 || lived > TIMEOUT_MS + SLACK_MS)
        fail_msg("the trickling body was cut after %lld ms", (long long)lived);
    assert_int_equal(body.bytes, 0);
    for (int i = 0; i < SLOW_CONNS; i++)
        if (c[i].fd >= 0) close(c[i].fd);
    close(body.fd);

    /* The address is welcome again once its connections are gone; nothing was written. */
    int64_t ms;
    assert_int_equal(request_from("127.0.0.1", "GET", "/healthz", NULL, &ms), 200);
    assert_int_equal(list_total("/api/volt/docker-credentials", "credentials"), creds_before);
}

/* Reads one answer on a kept-alive connection (headers, then Content-Length bytes); returns
 * its status, 0 when the connection closed first. */
static int read_answer(int fd)
{
    char buf[8192];
    size_t got = 0;
    char *end = NULL;
    while (!end && got < sizeof(buf) - 1) {
        ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (r <= 0) return 0;
        got += (size_t)r;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end) return 0;
    int status = 0;
    long len = -1;
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1) return 0;
    for (char *h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0) len = strtol(h + 17, NULL, 10);
    if (len < 0) return 0;
    size_t have = got - (size_t)(end + 4 - buf);
    while (have < (size_t)len) {
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r <= 0) return 0;
        have += (size_t)r;
    }
    return status;
}

static void sleep_until(int64_t t)
{
    int64_t now;
    while ((now = now_ms()) < t)
        usleep((useconds_t)((t - now) * 1000));
}

static void test_kept_alive_connection_gets_a_new_bound(void **state)
{
    (void)state;
    static const char REQ[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = connect_from("127.0.0.4");
    assert_true(fd >= 0);
    int64_t t0 = now_ms();
    /* A slow but timely first request; the second comes after the first bound has passed
     * since the connection opened, but within the bound since the answer: both answered. */
    sleep_until(t0 + TIMEOUT_MS * 6 / 10);
    assert_int_equal(send_all(fd, REQ), 0);
    assert_int_equal(read_answer(fd), 200);
    int64_t answered = now_ms();
    sleep_until(t0 + TIMEOUT_MS * 12 / 10);
    assert_int_equal(send_all(fd, REQ), 0);
    assert_int_equal(read_answer(fd), 200);
    answered = now_ms();
    /* Then idle: the next request is due within the bound, so the connection is closed. */
    size_t bytes = 0;
    int64_t closed = 0;
    while (!closed && now_ms() < answered + TIMEOUT_MS + SLACK_MS) {
        usleep(50000);
        if (server_closed(fd, &bytes)) closed = now_ms();
    }
    close(fd);
    if (!closed || closed - answered < TIMEOUT_MS - 200)
        fail_msg("idle kept-alive connection closed %lld ms after the answer",
                 closed ? (long long)(closed - answered) : -1LL);
    assert_int_equal(bytes, 0);
}

/* The bound is on receiving a request, not on answering it: an event stream, an answer that
 * lasts, is still open well past the bound from when its connection opened. */
static void test_answer_outlives_the_bound(void **state)
{
    (void)state;
    int fd = connect_from("127.0.0.5");
    assert_true(fd >= 0);
    int64_t t0 = now_ms();
    char req[256];
    snprintf(req, sizeof(req), "GET /api/volt/events HTTP/1.1\r\nHost: x\r\nX-API-Key: %s\r\n\r\n",
             D.key);
    assert_int_equal(send_all(fd, req), 0);
    char head[2048];
    size_t got = 0;
    head[0] = '\0';
    ssize_t r;
    while (got + 1 < sizeof(head) && !strstr(head, "\r\n\r\n") &&
           (r = recv(fd, head + got, sizeof(head) - 1 - got, 0)) > 0) {
        got += (size_t)r;
        head[got] = '\0';
    }
    assert_true(strncmp(head, "HTTP/1.1 200", 12) == 0);
    assert_non_null(strstr(head, "text/event-stream"));
    size_t bytes = 0;
    while (now_ms() < t0 + TIMEOUT_MS + SLACK_MS) {
        usleep(100000);
        if (server_closed(fd, &bytes))
            fail_msg("the stream was closed %lld ms after its connection opened",
                     (long long)(now_ms() - t0));
    }
    close(fd);
}

static void post_typed(const char *path, const char *content_type, const char *body, e2e_resp *r)
{
    char auth[160], ct[160];
    snprintf(auth, sizeof(auth), "X-API-Key: %s", D.key);
    snprintf(ct, sizeof(ct), "Content-Type:%s%s", content_type ? " " : "",
             content_type ? content_type : ""); /* "Content-Type:" alone: curl sends none */
    const char *h[] = {auth, ct, NULL};
    e2e_req_h(&D, "POST", path, h, body, r);
}

static void test_body_must_be_json(void **state)
{
    (void)state;
    static const char CRED[] = "{\"name\":\"ct-%d\",\"registry\":\"ghcr.io\",\"username\":\"u\","
                               "\"password\":\"pw\"}";
    int before = list_total("/api/volt/docker-credentials", "credentials");
    static const char *const REFUSED[] = {"text/plain",
                                          "application/x-www-form-urlencoded",
                                          NULL,
                                          "application/jsonp",
                                          "application/json-patch+json",
                                          "multipart/form-data; boundary=x",
                                          "json"};
    char body[256];
    e2e_resp r;
    for (size_t i = 0; i < sizeof(REFUSED) / sizeof(REFUSED[0]); i++) {
        snprintf(body, sizeof(body), CRED, (int)i);
        post_typed("/api/volt/docker-credentials", REFUSED[i], body, &r);
        if (r.status != 415)
            fail_msg("%s: got %ld %s", REFUSED[i] ? REFUSED[i] : "(none)", r.status, r.body);
        e2e_expect_error(&r, 415, "UNSUPPORTED_MEDIA_TYPE");
        e2e_resp_free(&r);
    }
    assert_int_equal(list_total("/api/volt/docker-credentials", "credentials"), before);

    /* The trainer's public report endpoint and a PUT are checked the same way. */
    post_typed("/api/volt/fine-tuning/ft_nothing/report", "text/plain", "{\"status\":\"training\"}",
               &r);
    e2e_expect_error(&r, 415, "UNSUPPORTED_MEDIA_TYPE");
    e2e_resp_free(&r);
    char auth[160];
    snprintf(auth, sizeof(auth), "X-API-Key: %s", D.key);
    const char *form[] = {auth, NULL}; /* curl's default for a body: form encoded */
    e2e_req_h(&D, "PUT", "/api/volt/account", form, "{\"spend_limit_per_hour\":3}", &r);
    e2e_expect_error(&r, 415, "UNSUPPORTED_MEDIA_TYPE");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/account", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(r.json, "spend_limit_per_hour");
    assert_false(cJSON_IsNumber(lim) && lim->valuedouble == 3);
    e2e_resp_free(&r);

    /* A POST without a body needs no Content-Type (404: no such pod, past the check). */
    post_typed("/api/volt/pods/pod_nothing/stop", NULL, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);

    /* JSON with parameters, in any case, is accepted. */
    static const char *const ACCEPTED[] = {"application/json; charset=utf-8", "Application/JSON",
                                           "application/json;charset=UTF-8"};
    for (size_t i = 0; i < sizeof(ACCEPTED) / sizeof(ACCEPTED[0]); i++) {
        snprintf(body, sizeof(body), CRED, 100 + (int)i);
        post_typed("/api/volt/docker-credentials", ACCEPTED[i], body, &r);
        if (r.status != 201) fail_msg("%s: got %ld %s", ACCEPTED[i], r.status, r.body);
        e2e_resp_free(&r);
    }
    assert_int_equal(list_total("/api/volt/docker-credentials", "credentials"), before + 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_must_be_json),
        cmocka_unit_test(test_slow_clients_do_not_lock_others_out),
        cmocka_unit_test(test_kept_alive_connection_gets_a_new_bound),
        cmocka_unit_test(test_answer_outlives_the_bound),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
