/* test_common_http.c: Retry-After parsing and the retry policy of gb_http_do_retry against a
 * tiny scripted loopback server (answers, in order, the statuses a test gives it). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/http_client.h"
#include "test_script_server.h"

static void test_retry_after(void **state)
{
    (void)state;
    int64_t now = 784111777000; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(gb_http_retry_after_ms("120", now), 120000);
    assert_int_equal(gb_http_retry_after_ms(" 0", now), 0);
    assert_int_equal(gb_http_retry_after_ms("Sun, 06 Nov 1994 08:49:47 GMT", now), 10000);
    assert_int_equal(gb_http_retry_after_ms("Sun, 06 Nov 1994 08:49:00 GMT", now), 0); /* past */
    assert_int_equal(gb_http_retry_after_ms("-5", now), -1);
    assert_int_equal(gb_http_retry_after_ms("soon", now), -1);
    assert_int_equal(gb_http_retry_after_ms("Sun, 06 Nov 1994 08:49:47 PST", now), -1);
    assert_int_equal(gb_http_retry_after_ms(NULL, now), -1);
    assert_true(gb_http_status_retryable(503));
    assert_false(gb_http_status_retryable(501));
    assert_false(gb_http_status_retryable(404));
}

static int64_t slept[16];
static int nslept;
static void record(void *ud, int64_t ms)
{
    (void)ud;
    if (nslept < 16) slept[nslept++] = ms;
}

static long run(ss_script *s, int idempotent, int *attempts)
{
    assert_int_equal(ss_start(s), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s->port);
    gb_http_req req = {.method = idempotent ? "GET" : "POST",
                       .url = url,
                       .body = idempotent ? NULL : "{}",
                       .body_len = idempotent ? 0 : 2};
    gb_http_policy p = {.base_delay_ms = 100, .sleep_ms = record};
    gb_http_resp resp;
    nslept = 0;
    assert_int_equal(gb_http_do_retry(&req, &p, idempotent, &resp, NULL, attempts), GB_OK);
    long status = resp.status;
    gb_http_resp_free(&resp);
    ss_stop(s);
    return status;
}

static void test_retries(void **state)
{
    (void)state;
    int attempts;
    /* 502, 502, 200: two backoffs of 100 and 200 ms, each jittered to [50%, 150%) */
    int a[] = {502, 502, 200};
    ss_script s1 = {.statuses = a, .n = 3};
    assert_int_equal(run(&s1, 1, &attempts), 200);
    assert_int_equal(attempts, 3);
    assert_int_equal(nslept, 2);
    assert_true(slept[0] >= 50 && slept[0] < 150);
    assert_true(slept[1] >= 100 && slept[1] < 300);
    /* Retry-After wins over the backoff */
    int b[] = {429, 200};
    ss_script s2 = {.statuses = b, .n = 2, .retry_after = "3"};
    assert_int_equal(run(&s2, 1, &attempts), 200);
    assert_int_equal(nslept, 1);
    assert_int_equal(slept[0], 3000);
    /* at most 5 retries: six tries, the last answer is returned */
    int c[] = {503, 503, 503, 503, 503, 503};
    ss_script s3 = {.statuses = c, .n = 6};
    assert_int_equal(run(&s3, 1, &attempts), 503);
    assert_int_equal(attempts, 6);
    /* a POST is not retried after a 502 (it may have been processed) ... */
    int d[] = {502};
    ss_script s4 = {.statuses = d, .n = 1};
    assert_int_equal(run(&s4, 0, &attempts), 502);
    assert_int_equal(attempts, 1);
    assert_int_equal(nslept, 0);
    /* ... but is after a 429 or 503 (it was refused) */
    int e[] = {429, 503, 201};
    ss_script s5 = {.statuses = e, .n = 3};
    assert_int_equal(run(&s5, 0, &attempts), 201);
    assert_int_equal(attempts, 3);
    /* 404 is an answer, not a failure */
    int f[] = {404};
    ss_script s6 = {.statuses = f, .n = 1};
    assert_int_equal(run(&s6, 1, &attempts), 404);
    assert_int_equal(attempts, 1);
}

/* One 429 carrying retry_after, then 200, under a policy with the given Retry-After cap (0:
 * the default); returns the single wait the client asked its sleep hook for. */
static int64_t wait_for(const char *retry_after, int64_t cap_ms)
{
    int st[] = {429, 200};
    ss_script s = {.statuses = st, .n = 2, .retry_after = retry_after};
    assert_int_equal(ss_start(&s), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
    gb_http_req req = {.method = "GET", .url = url};
    gb_http_policy p = {.base_delay_ms = 100, .max_retry_after_ms = cap_ms, .sleep_ms = record};
    gb_http_resp resp;
    int attempts = 0;
    nslept = 0;
    assert_int_equal(gb_http_do_retry(&req, &p, 1, &resp, NULL, &attempts), GB_OK);
    assert_int_equal(resp.status, 200);
    gb_http_resp_free(&resp);
    ss_stop(&s);
    assert_int_equal(attempts, 2);
    assert_int_equal(nslept, 1);
    return slept[0];
}

/* A provider answering "come back tomorrow" must not park a request for a day: an honoured
 * Retry-After is capped, at 60 s unless the policy says otherwise. */
static void test_retry_after_cap(void **state)
{
    (void)state;
    assert_int_equal(wait_for("86400", 0), 60000);
    assert_int_equal(wait_for("31536000", 0), 60000); /* the largest value parsed: a year */
    assert_int_equal(wait_for("61", 0), 60000);
    assert_int_equal(wait_for("60", 0), 60000);
    assert_int_equal(wait_for("59", 0), 59000); /* under the cap: honoured exactly */
    /* the same cap for the HTTP-date form, a day from now */
    char date[64];
    time_t t = time(NULL) + 86400;
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    assert_true(strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
    assert_int_equal(wait_for(date, 0), 60000);
    /* a policy's own cap, lower or higher */
    assert_int_equal(wait_for("86400", 5000), 5000);
    assert_int_equal(wait_for("86400", 120000), 120000);
    assert_int_equal(wait_for("90", 120000), 90000);
}

static void test_refused_connection_is_retried(void **state)
{
    (void)state;
    /* a port nobody listens on: nothing is sent, so even a POST is retried */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    gb_http_req req = {.method = "POST", .url = url, .body = "{}", .body_len = 2};
    gb_http_policy p = {.max_retries = 2, .sleep_ms = record};
    gb_http_resp resp;
    int attempts = 0;
    nslept = 0;
    gb_errmsg err = "";
    assert_int_equal(gb_http_do_retry(&req, &p, 0, &resp, err, &attempts), GB_ERR_IO);
    assert_int_equal(attempts, 3);
    assert_int_equal(nslept, 2);
    assert_true(strlen(err) > 0);
}

/* A caller paused between its last check and the send: emulated by moving the test clock at
 * the address guard, after gb_http_do's own first look at send_by_ms and before libcurl
 * sends. */
static int64_t g_pause_ms;
static int pause_then_allow(void *ud, const char *ip)
{
    (void)ud;
    (void)ip;
    gb_clock_set(gb_now_ms() + g_pause_ms);
    return 1;
}

/* send_by_ms: a request whose time passed before it left is not sent, on a connection already
 * made (libcurl's CURLOPT_PREREQFUNCTION, read at the far side: the connection came and went
 * with no byte), and not tried again; one in time goes. */
static void test_send_by(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    assert_int_equal(listen(fd, 4), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    gb_clock_set(1700000000000LL);
    gb_http_req req = {.method = "POST",
                       .url = url,
                       .body = "{}",
                       .body_len = 2,
                       .allow_ip = pause_then_allow,
                       .send_by_ms = gb_now_ms() + 1000};
    gb_http_policy p = {.max_retries = 3, .sleep_ms = record};
    gb_http_resp resp;
    gb_errmsg err = "";
    int attempts = 0;
    nslept = 0;
    g_pause_ms = 5000;
    assert_int_equal(gb_http_do_retry(&req, &p, 0, &resp, err, &attempts), GB_ERR_IO);
    assert_int_equal(resp.late, 1);
    assert_int_equal(attempts, 1);
    assert_int_equal(nslept, 0);
    assert_non_null(strstr(err, "not sent"));
    int c = accept(fd, NULL, NULL); /* the far side: connected to, sent nothing */
    assert_true(c >= 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[256];
    assert_int_equal(read(c, buf, sizeof(buf)), 0);
    close(c);
    close(fd);

    int st[] = {200};
    ss_script s = {.statuses = st, .n = 1};
    assert_int_equal(ss_start(&s), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
    g_pause_ms = 500; /* paused, but not past its time */
    req.send_by_ms = gb_now_ms() + 1000;
    assert_int_equal(gb_http_do(&req, &resp, err), GB_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.late, 0);
    gb_http_resp_free(&resp);
    ss_stop(&s);
    assert_non_null(strstr(s.got[0], "POST /x "));
    gb_clock_use_real();
}

/* A raw loopback server for answers the scripted one cannot give: each of up to n connections
 * gets head (NULL: the connection is closed without an answer once the request came), then
 * fill bytes of 'x'. It counts the requests that reached it and keeps the first two heads. */
typedef struct {
    const char *head;
    size_t fill;
    int n;
    int fd, port;
    atomic_int requests;
    char got[2][1024];
    pthread_t thread;
} raw_server;

static void *raw_serve(void *arg)
{
    raw_server *s = arg;
    for (int k = 0; k < s->n; k++) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) break;
        char scratch[1024];
        char *buf = k < 2 ? s->got[k] : scratch;
        ssize_t r = read(c, buf, sizeof(scratch) - 1);
        buf[r > 0 ? r : 0] = '\0';
        if (r > 0) s->requests++;
        if (s->head) {
            ssize_t w = send(c, s->head, strlen(s->head), MSG_NOSIGNAL);
            static char chunk[65536];
            memset(chunk, 'x', sizeof(chunk));
            for (size_t left = s->fill; w >= 0 && left > 0;) {
                size_t m = left < sizeof(chunk) ? left : sizeof(chunk);
                w = send(c, chunk, m, MSG_NOSIGNAL);
                if (w > 0) left -= (size_t)w;
            }
        }
        close(c);
    }
    return NULL;
}

static void raw_start(raw_server *s)
{
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &l), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, raw_serve, s), 0);
}

static void raw_stop(raw_server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
}

/* A POST that reached the server and got no answer may have been carried out (a pod made, a
 * charge taken): it is not sent again, whatever the retry budget; a GET is. Read at the far
 * side: how many requests arrived. */
static void test_post_without_answer_not_retried(void **state)
{
    (void)state;
    raw_server s = {.head = NULL, .n = 4};
    raw_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/pods", s.port);
    gb_http_req req = {.method = "POST", .url = url, .body = "{}", .body_len = 2};
    gb_http_policy p = {.max_retries = 3, .sleep_ms = record};
    gb_http_resp resp;
    int attempts = 0;
    nslept = 0;
    assert_int_equal(gb_http_do_retry(&req, &p, 0, &resp, NULL, &attempts), GB_ERR_HTTP);
    assert_int_equal(attempts, 1);
    assert_int_equal(nslept, 0);
    assert_int_equal(s.requests, 1);
    assert_non_null(strstr(s.got[0], "POST /pods "));
    /* the same answer to an idempotent request: tried again */
    req = (gb_http_req){.method = "GET", .url = url};
    p.max_retries = 1;
    assert_int_equal(gb_http_do_retry(&req, &p, 1, &resp, NULL, &attempts), GB_ERR_HTTP);
    assert_int_equal(attempts, 2);
    raw_stop(&s);
    assert_int_equal(s.requests, 3);
}

/* A redirect is an answer, not followed: the provider's key (a header of the request) must
 * not be sent to wherever a Location points. One request arrives; the 302 is returned. */
static void test_redirect_not_followed(void **state)
{
    (void)state;
    raw_server s = {.head = "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n"
                            "Connection: close\r\n\r\n",
                    .n = 2};
    raw_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
    const char *hdrs[] = {"X-API-Key: provider-secret", NULL};
    gb_http_req req = {.method = "GET", .url = url, .headers = hdrs, .timeout_ms = 3000};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    assert_int_equal(resp.status, 302);
    gb_http_resp_free(&resp);
    raw_stop(&s);
    assert_int_equal(s.requests, 1);
    assert_null(strstr(s.got[1], "provider-secret"));
}

/* Without max_response an answer is capped at 8 MiB: a provider that sends more gets
 * GB_ERR_LIMIT, not a buffer the size of whatever it sent. */
static void test_default_response_cap(void **state)
{
    (void)state;
    raw_server s = {.head =
                        "HTTP/1.1 200 OK\r\nContent-Length: 9437184\r\nConnection: close\r\n\r\n",
                    .fill = 9437184,
                    .n = 1};
    raw_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", s.port);
    gb_http_req req = {.method = "GET", .url = url, .timeout_ms = 10000};
    gb_http_resp resp;
    gb_errmsg err = "";
    assert_int_equal(gb_http_do(&req, &resp, err), GB_ERR_LIMIT);
    assert_string_equal(err, "response too large");
    assert_null(resp.body);
    raw_stop(&s);
}

/* The answer's headers are capped at 64 KiB (the body has its own cap): a server sending
 * 150 KiB of them gets an error, not a buffer of whatever it sent. libcurl alone would take
 * them (its own limit is larger). */
static void test_header_cap(void **state)
{
    (void)state;
    size_t lines = 1500, cap = lines * 100 + 256;
    char *head = malloc(cap);
    assert_non_null(head);
    size_t n = (size_t)snprintf(head, cap, "HTTP/1.1 200 OK\r\n");
    for (size_t i = 0; i < lines; i++) /* 100 bytes a line */
        n += (size_t)snprintf(head + n, cap - n, "X-Pad-%04zu: %086d\r\n", i, 0);
    snprintf(head + n, cap - n, "Content-Length: 2\r\nConnection: close\r\n\r\nok");
    raw_server s = {.head = head, .n = 1};
    raw_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
    gb_http_req req = {.method = "GET", .url = url, .timeout_ms = 5000};
    gb_http_resp resp;
    gb_err e = gb_http_do(&req, &resp, NULL);
    if (e == GB_OK) gb_http_resp_free(&resp);
    assert_int_not_equal(e, GB_OK);
    assert_null(resp.headers);
    raw_stop(&s);
    free(head);
    /* the same answer with a few headers is fine */
    raw_server ok = {.head = "HTTP/1.1 200 OK\r\nX-Pad: 1\r\nContent-Length: 2\r\n"
                             "Connection: close\r\n\r\nok",
                     .n = 1};
    raw_start(&ok);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ok.port);
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    assert_int_equal(resp.status, 200);
    gb_http_resp_free(&resp);
    raw_stop(&ok);
}

static int loopback_only(void *ud, const char *ip)
{
    (void)ud;
    return strcmp(ip, "127.0.0.1") == 0;
}

/* The address guard (allow_ip) checks the host it connects to; a proxy from the environment
 * would put the proxy's address there and let the request reach a refused host through it.
 * With http_proxy set to a loopback server (allowed), a request for a private address is
 * still refused, and nothing reaches the proxy. */
static void test_guard_ignores_env_proxy(void **state)
{
    (void)state;
    int st[] = {200};
    ss_script s = {.statuses = st, .n = 1};
    assert_int_equal(ss_start(&s), 0);
    char proxy[64];
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", s.port);
    setenv("http_proxy", proxy, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    gb_http_req req = {.method = "GET",
                       .url = "http://10.255.255.1/data",
                       .allow_ip = loopback_only,
                       .connect_timeout_ms = 2000,
                       .timeout_ms = 3000};
    gb_http_resp resp;
    gb_errmsg err = "";
    gb_err e = gb_http_do(&req, &resp, err);
    unsetenv("http_proxy");
    if (e == GB_OK) gb_http_resp_free(&resp);
    assert_int_equal(e, GB_ERR_IO);
    assert_non_null(strstr(err, "10.255.255.1 is not a public address"));
    ss_stop(&s);
    assert_int_equal(s.served, 0);
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_retry_after),
                                       cmocka_unit_test(test_retries),
                                       cmocka_unit_test(test_retry_after_cap),
                                       cmocka_unit_test(test_refused_connection_is_retried),
                                       cmocka_unit_test(test_send_by),
                                       cmocka_unit_test(test_post_without_answer_not_retried),
                                       cmocka_unit_test(test_redirect_not_followed),
                                       cmocka_unit_test(test_default_response_cap),
                                       cmocka_unit_test(test_guard_ignores_env_proxy),
                                       cmocka_unit_test(test_header_cap)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
