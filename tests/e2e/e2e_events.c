/* e2e_events.c: the event stream (GET /api/volt/events) end to end in sandbox mode:
 * - a subscriber that drops mid-way while pods change and reconnects with Last-Event-ID gets
 *   every event once, in order: its two halves are exactly the log;
 * - placement.attempt events; filters by type and by id; another account's events are never
 *   seen; a key without the scopes is 403, bad positions are 400;
 * - the per-account stream limit answers 429 and leaves room for another account's stream;
 * - the stream limit answers 503 with Retry-After, open streams hold no worker thread (a
 *   normal request is answered with more streams open than threads), a stream counts as one
 *   request against the rate limit, and the daemon stops cleanly with streams open;
 * - a wait's status line on a terminal (a pty), none when stderr is a pipe;
 * - `jobs wait` (polling every 100 ms before this) of a job that runs for seconds under a
 *   rate limit of 30 requests an hour succeeds, and the key works afterwards;
 * - events pruned by the retention before a client read them: a stream resumed from before
 *   them starts with an "event: gap" frame, the CLI warns, and the newest id stays a valid
 *   position once the log was pruned empty. */
#define _GNU_SOURCE /* posix_openpt, grantpt, unlockpt, ptsname */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/cli/cli_sse.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "support_daemon.h"

/* streams: 2 server threads, at most 4 streams (3 of one account), keepalive 300 ms */
static e2e_daemon D;
static const char *const ENV[] = {"GPUBROKER_RECONCILER_INTERVAL_MS=100",
                                  "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000",
                                  "GPUBROKER_SERVER_THREADS=2",
                                  "GPUBROKER_EVENTS_MAX_STREAMS=4",
                                  "GPUBROKER_EVENTS_MAX_STREAMS_PER_ACCOUNT=3",
                                  "GPUBROKER_EVENTS_KEEPALIVE_MS=300",
                                  "GPUBROKER_METERING_MIN_RUN_MINUTES=0",
                                  NULL};
static const char *const EXTRA[] = {"--sim-speed", "60", NULL};

/* ---- a stream reader (the test's own use of libcurl through the HTTP client) ---- */

#define MAXEV 64
typedef struct {
    const char *key, *query, *lei; /* query: after "?"; lei: Last-Event-ID or NULL */
    int stop_after;                /* events, 0: until the deadline or the end */
    const char *stop_event;        /* or stop at this type about stop_id */
    const char *stop_id;
    int timeout_ms;
    /* out */
    long status;
    char retry_after[32];
    int n, connected, keepalives;
    int64_t id[MAXEV];
    char ev[MAXEV][48], subject[MAXEV][64];
    int64_t gap_after, gap_through; /* an "event: gap" frame's data, -1 when none */
    cli_sse_parser p;
    int stop;
} reader;

static int on_event(void *ud, const cli_sse_event *e)
{
    reader *r = ud;
    assert_true(r->n < MAXEV);
    r->id[r->n] = strtoll(e->id, NULL, 10);
    snprintf(r->ev[r->n], sizeof(r->ev[0]), "%s", e->event);
    cJSON *j = cJSON_Parse(e->data);
    assert_non_null(j); /* the data is the JSON payload */
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "podId"));
    if (!s) s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "jobId"));
    snprintf(r->subject[r->n], sizeof(r->subject[0]), "%s", s ? s : "");
    if (!strcmp(e->event, "gap")) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "after"),
                    *t = cJSON_GetObjectItemCaseSensitive(j, "prunedThrough");
        assert_true(cJSON_IsNumber(a) && cJSON_IsNumber(t));
        r->gap_after = (int64_t)a->valuedouble;
        r->gap_through = (int64_t)t->valuedouble;
    }
    /* the payload names its own type, as a webhook's does */
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "event")),
                        e->event);
    cJSON_Delete(j);
    r->n++;
    if (r->stop_after && r->n >= r->stop_after) r->stop = 1;
    if (r->stop_event && !strcmp(e->event, r->stop_event) &&
        !strcmp(r->subject[r->n - 1], r->stop_id))
        r->stop = 1;
    return r->stop;
}

static int on_chunk(void *ud, const char *data, size_t len)
{
    reader *r = ud;
    __atomic_store_n(&r->connected, 1, __ATOMIC_RELEASE);
    for (size_t i = 0; i + 12 <= len; i++)
        if (!memcmp(data + i, ": keepalive\n", 12)) r->keepalives++;
    return cli_sse_feed(&r->p, data, len) != 0;
}

static void *read_stream(void *arg)
{
    reader *r = arg;
    char url[600], key[160], lei[64];
    snprintf(url, sizeof(url), "%s/api/volt/events?%s", D.url, r->query ? r->query : "");
    snprintf(key, sizeof(key), "X-API-Key: %s", r->key);
    snprintf(lei, sizeof(lei), "Last-Event-ID: %s", r->lei ? r->lei : "");
    const char *hdrs[] = {key, "Accept: text/event-stream", r->lei ? lei : NULL, NULL};
    cli_sse_init(&r->p, on_event, r);
    gb_http_req q = {.method = "GET",
                     .url = url,
                     .headers = hdrs,
                     .timeout_ms = r->timeout_ms,
                     .on_chunk = on_chunk,
                     .chunk_ud = r};
    gb_http_resp resp;
    gb_errmsg err = "";
    gb_err e = gb_http_do(&q, &resp, err);
    if (e == GB_OK) {
        r->status = resp.status;
        if (resp.retry_after)
            snprintf(r->retry_after, sizeof(r->retry_after), "%s", resp.retry_after);
        gb_http_resp_free(&resp);
    } else {
        r->status = -1; /* the timeout: a stream that never stopped */
    }
    cli_sse_free(&r->p);
    return NULL;
}

/* Waits until the reader in its thread has its stream open. */
static void wait_connected(reader *r)
{
    for (int i = 0; i < 500 && !__atomic_load_n(&r->connected, __ATOMIC_ACQUIRE); i++)
        usleep(10000);
    assert_true(r->connected);
}

/* The whole log as this key sees it with query (follow=false: it ends when caught up). */
static void read_all(reader *r, const char *key, const char *query)
{
    memset(r, 0, sizeof(*r));
    r->gap_after = r->gap_through = -1;
    char q[400];
    snprintf(q, sizeof(q), "%s%sfollow=false", query ? query : "", query ? "&" : "");
    r->key = key;
    r->query = q;
    r->timeout_ms = 10000;
    read_stream(r);
    assert_int_equal(r->status, 200);
}

/* ---- helpers ---- */

static void create_pod(const char *key, const char *provider, char *id)
{
    char machine[128], body[300];
    e2e_machine_of(&D, provider, machine, sizeof(machine), NULL);
    snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"image\":\"x/y:1\"}", machine);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", key, body, &r);
    if (r.status != 201) fail_msg("create: %ld %s", r.status, r.body);
    snprintf(id, 64, "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
}

static void new_account(const char *name, char *key)
{
    char body[160];
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"credit\":\"100\"}", name);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key, body, &r);
    if (r.status != 201) fail_msg("account %s: %ld %s", name, r.status, r.body);
    snprintf(key, 96, "%s", e2e_str(&r, "api_key.key"));
    e2e_resp_free(&r);
}

static void new_key(const char *key, const char *scopes, char *out)
{
    char body[200];
    snprintf(body, sizeof(body), "{\"name\":\"k\",\"scopes\":%s}", scopes);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/api-keys", key, body, &r);
    if (r.status != 201) fail_msg("key: %ld %s", r.status, r.body);
    snprintf(out, 96, "%s", e2e_str(&r, "key"));
    e2e_resp_free(&r);
}

static int setup(void **state)
{
    (void)state;
    e2e_start_sandbox_args(&D, NULL, ENV, EXTRA);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (D.pid > 0) e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

/* ---- the tests ---- */

static void test_resume_loses_and_repeats_nothing(void **state)
{
    (void)state;
    /* A: from now, every pod event; it drops after two */
    reader a = {.key = D.key, .query = "types=pod.*", .stop_after = 2, .timeout_ms = 20000};
    pthread_t ta;
    assert_int_equal(pthread_create(&ta, NULL, read_stream, &a), 0);
    wait_connected(&a);
    char p1[64];
    create_pod(D.key, "targon", p1);
    pthread_join(ta, NULL);
    assert_int_equal(a.status, 200);
    assert_int_equal(a.n, 2);
    /* while nobody listens, more happens */
    e2e_wait_pod(&D, D.key, p1, "running", 15000);
    e2e_resp r;
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/pods/%s/stop", p1);
    e2e_req(&D, "POST", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    /* B resumes after A's last and follows until the pod has stopped */
    char lei[32];
    snprintf(lei, sizeof(lei), "%lld", (long long)a.id[1]);
    reader b = {.key = D.key,
                .query = "types=pod.*",
                .lei = lei,
                .stop_event = "pod.stopped",
                .stop_id = p1,
                .timeout_ms = 20000};
    read_stream(&b);
    assert_int_equal(b.status, 200);
    assert_true(b.n >= 2);
    /* A then B is exactly the log: nothing lost, nothing twice, the same order */
    reader all;
    read_all(&all, D.key, "types=pod.*&after=0");
    assert_int_equal(a.n + b.n, all.n);
    for (int i = 0; i < all.n; i++) {
        const reader *x = i < a.n ? &a : &b;
        int k = i < a.n ? i : i - a.n;
        assert_int_equal(x->id[k], all.id[i]);
        assert_string_equal(x->ev[k], all.ev[i]);
        if (i) assert_true(all.id[i] > all.id[i - 1]);
    }
    /* and the pod's story is all there, in order */
    const char *want[] = {"pod.deploying", "pod.running", "pod.stopping", "pod.stopped"};
    int w = 0;
    for (int i = 0; i < all.n && w < 4; i++)
        if (!strcmp(all.subject[i], p1) && !strcmp(all.ev[i], want[w])) w++;
    assert_int_equal(w, 4);
    /* ?after= is the same as the header */
    reader c;
    char q[64];
    snprintf(q, sizeof(q), "types=pod.*&after=%s", lei);
    read_all(&c, D.key, q);
    assert_int_equal(c.n, b.n);
    assert_int_equal(c.id[0], b.id[0]);
}

static void test_filters_and_accounts(void **state)
{
    (void)state;
    char p1[64], p2[64];
    create_pod(D.key, "targon", p1);
    create_pod(D.key, "volt", p2);
    e2e_wait_pod(&D, D.key, p1, "running", 15000);
    e2e_wait_pod(&D, D.key, p2, "running", 15000);
    /* placement.attempt: one created attempt per pod, with its offer and price */
    reader r;
    read_all(&r, D.key, "types=placement.*&after=0");
    int mine = 0;
    for (int i = 0; i < r.n; i++) {
        assert_string_equal(r.ev[i], "placement.attempt");
        mine += !strcmp(r.subject[i], p1) || !strcmp(r.subject[i], p2);
    }
    assert_int_equal(mine, 2);
    e2e_resp x;
    e2e_req(&D, "GET", "/api/volt/events?types=placement.attempt&after=0&follow=false", D.key, NULL,
            &x);
    assert_int_equal(x.status, 200);
    assert_non_null(strstr(x.body, "\"outcome\":\"created\""));
    assert_non_null(strstr(x.body, "\"offerId\":"));
    assert_non_null(strstr(x.body, "\"price\":"));
    assert_non_null(strstr(x.body, "\"provider\":\"volt\""));
    assert_non_null(strstr(e2e_header(&x, "Content-Type"), "text/event-stream"));
    e2e_resp_free(&x);
    /* a failed attempt: its reason */
    char p4[64], url[256];
    snprintf(url, sizeof(url), "%s/_sim/faults", e2e_sim_url(&D, "volt"));
    const char *fault = "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\",\"status\":400,"
                        "\"count\":1}";
    gb_http_req fq = {.method = "POST", .url = url, .body = fault, .body_len = strlen(fault)};
    gb_http_resp fr;
    assert_int_equal(gb_http_do(&fq, &fr, NULL), GB_OK);
    assert_true(fr.status < 300);
    gb_http_resp_free(&fr);
    create_pod(D.key, "volt", p4);
    e2e_wait_pod(&D, D.key, p4, "failed", 15000);
    char q4[128];
    snprintf(q4, sizeof(q4), "/api/volt/events?types=placement.*&id=%s&after=0&follow=false", p4);
    e2e_req(&D, "GET", q4, D.key, NULL, &x);
    assert_int_equal(x.status, 200);
    assert_non_null(strstr(x.body, "\"outcome\":\"failed\""));
    assert_null(strstr(x.body, "\"reason\":null"));
    e2e_resp_free(&x);
    /* the opening frame names the position as an id without data (a reconnect before the
     * first event resumes there) */
    e2e_req(&D, "GET", "/api/volt/events?types=nothing.here&after=5&follow=false", D.key, NULL, &x);
    assert_int_equal(x.status, 200);
    assert_string_equal(x.body, "retry: 3000\nid: 5\n: connected\n\n");
    e2e_resp_free(&x);
    /* by id: only p2's, of every type */
    char q[128];
    snprintf(q, sizeof(q), "id=%s&after=0", p2);
    read_all(&r, D.key, q);
    assert_true(r.n >= 3); /* placement.attempt, pod.deploying, pod.running */
    for (int i = 0; i < r.n; i++)
        assert_string_equal(r.subject[i], p2);
    /* types and id together */
    snprintf(q, sizeof(q), "types=pod.running&id=%s&after=0", p1);
    read_all(&r, D.key, q);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.ev[0], "pod.running");
    /* the CLI: `events` lists the log, --json a line per event */
    {
        char eurl[200], ekey[160];
        snprintf(eurl, sizeof(eurl), "GPUBROKER_URL=%s", D.url);
        snprintf(ekey, sizeof(ekey), "GPUBROKER_API_KEY=%s", D.key);
        const char *env[] = {eurl, ekey, NULL};
        const char *args[] = {"events", "--types", "placement.*", "--id", p2, "--json", NULL};
        char *out = NULL, *err = NULL;
        assert_int_equal(e2e_cli(args, env, NULL, &out, &err), 0);
        cJSON *j = cJSON_Parse(out);
        if (!j) fail_msg("not one JSON line: %s", out);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "event")),
                            "placement.attempt");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "podId")), p2);
        cJSON_Delete(j);
        free(out);
        free(err);
        const char *text[] = {"events", "--id", p1, NULL};
        assert_int_equal(e2e_cli(text, env, NULL, &out, &err), 0);
        assert_non_null(strstr(out, "pod.running"));
        assert_non_null(strstr(out, "deploying -> running"));
        assert_null(strstr(out, p2));
        free(out);
        free(err);
    }
    /* another account: its own events only, never these */
    char other[96], p3[64];
    new_account("other", other);
    read_all(&r, other, "after=0");
    assert_int_equal(r.n, 0);
    create_pod(other, "targon", p3);
    e2e_wait_pod(&D, other, p3, "running", 15000);
    read_all(&r, other, "after=0");
    assert_true(r.n >= 3);
    for (int i = 0; i < r.n; i++)
        assert_string_equal(r.subject[i], p3);
    read_all(&r, D.key, "after=0");
    for (int i = 0; i < r.n; i++)
        assert_string_not_equal(r.subject[i], p3);
    /* scopes: fine-tuning alone sees no pod events; templates alone has no stream */
    char ft[96], tpl[96];
    new_key(D.key, "[\"fine-tuning\"]", ft);
    read_all(&r, ft, "after=0");
    assert_int_equal(r.n, 0);
    new_key(D.key, "[\"templates\"]", tpl);
    e2e_req(&D, "GET", "/api/volt/events", tpl, NULL, &x);
    e2e_expect_error(&x, 403, "INSUFFICIENT_SCOPE");
    e2e_resp_free(&x);
    /* bad input */
    const char *bad[] = {"/api/volt/events?after=-1",       "/api/volt/events?after=x",
                         "/api/volt/events?after=99999999", "/api/volt/events?types=POD",
                         "/api/volt/events?id=a%20b",       "/api/volt/events?follow=maybe",
                         "/api/volt/events?since=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e2e_req(&D, "GET", bad[i], D.key, NULL, &x);
        e2e_expect_error(&x, 400, "VALIDATION_ERROR");
        e2e_resp_free(&x);
    }
    const char *h[] = {"X-API-Key: ", "Last-Event-ID: nope", NULL};
    char k[140];
    snprintf(k, sizeof(k), "X-API-Key: %s", D.key);
    h[0] = k;
    e2e_req_h(&D, "GET", "/api/volt/events", h, NULL, &x);
    e2e_expect_error(&x, 400, "VALIDATION_ERROR");
    e2e_resp_free(&x);
}

/* On a terminal a wait keeps a status line on stderr (state and time waited), cleared at the
 * end; with stderr a pipe there is none of it. */
static void test_status_line(void **state)
{
    (void)state;
    char p1[64], url[200], key[160];
    create_pod(D.key, "targon", p1);
    e2e_wait_pod(&D, D.key, p1, "running", 15000);
    snprintf(url, sizeof(url), "GPUBROKER_URL=%s", D.url);
    snprintf(key, sizeof(key), "GPUBROKER_API_KEY=%s", D.key);
    /* a pty as stderr */
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    char slave[128];
    snprintf(slave, sizeof(slave), "%s", ptsname(m));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int s = open(slave, O_RDWR);
        int devnull = open("/dev/null", O_WRONLY);
        if (s < 0 || devnull < 0) _exit(100);
        dup2(s, 2);
        dup2(devnull, 1);
        putenv(url);
        putenv(key);
        execl(getenv("GPUBROKER_BIN"), "gpubroker", "pods", "get", p1, "--wait", "stopped",
              "--timeout", "2", (char *)NULL);
        _exit(101);
    }
    char buf[16384];
    size_t got = 0;
    struct pollfd pf = {.fd = m, .events = POLLIN};
    int64_t end = gb_mono_ms() + 8000;
    while (gb_mono_ms() < end && got + 1 < sizeof(buf)) {
        if (poll(&pf, 1, 100) != 1) {
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                pid = 0;
                break;
            }
            continue;
        }
        ssize_t k = read(m, buf + got, sizeof(buf) - 1 - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    buf[got] = '\0';
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    close(m);
    char want[128];
    snprintf(want, sizeof(want), "waiting for pod %s: running", p1);
    if (!strstr(buf, want)) fail_msg("no status line on the terminal: %s", buf);
    assert_non_null(strstr(buf, "0m01s")); /* the clock moves */
    assert_non_null(strstr(buf, "\r\033[K"));
    assert_non_null(strstr(buf, "did not reach stopped"));
    /* the same with stderr a pipe: no status line */
    const char *env[] = {url, key, NULL};
    const char *args[] = {"pods", "get", p1, "--wait", "stopped", "--timeout", "1", NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(e2e_cli(args, env, NULL, &out, &err), 5);
    assert_null(strstr(err, "waiting for"));
    assert_null(strchr(err, '\r'));
    assert_non_null(strstr(err, "did not reach stopped"));
    free(out);
    free(err);
}

/* A raw stream on a socket of its own: connects, sends the request, reads the head. */
static int raw_stream(const char *key, char *head, size_t n)
{
    int port = atoi(strrchr(D.url, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char req[300];
    int l = snprintf(req, sizeof(req),
                     "GET /api/volt/events HTTP/1.1\r\nHost: x\r\nX-API-Key: %s\r\n\r\n", key);
    assert_int_equal(write(fd, req, (size_t)l), l);
    size_t got = 0;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    while (got + 1 < n && !strstr(head, "\r\n\r\n") && poll(&pf, 1, 5000) == 1) {
        ssize_t k = read(fd, head + got, n - 1 - got);
        if (k <= 0) break;
        got += (size_t)k;
        head[got] = '\0';
    }
    return fd;
}

/* Reads from fd until EOF or timeout_ms; 1 on EOF. */
static int eof_within(int fd, int timeout_ms)
{
    char buf[4096];
    int64_t end = gb_mono_ms() + timeout_ms;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    while (gb_mono_ms() < end) {
        if (poll(&pf, 1, 100) == 1) {
            ssize_t k = read(fd, buf, sizeof(buf));
            if (k <= 0) return 1;
        }
    }
    return 0;
}

/* Opens a stream with key, retrying while the streams of the tests before are let go (at
 * their next keepalive); *tries counts the requests. */
static int open_stream(const char *key, int i, int *tries)
{
    char head[2048];
    int fd = -1;
    for (int t = 0; t < 50; t++) {
        head[0] = '\0';
        (*tries)++;
        fd = raw_stream(key, head, sizeof(head));
        if (strstr(head, " 200 ")) break;
        close(fd);
        usleep(100000);
    }
    if (!strstr(head, " 200 ")) fail_msg("stream %d: %s", i, head);
    assert_non_null(strstr(head, "text/event-stream"));
    return fd;
}

static void test_limit_threads_ratelimit_shutdown(void **state)
{
    (void)state;
    char key[96], other[96];
    new_key(D.key, "[\"pods\"]", key);
    new_account("streams-other", other);
    /* 3 streams of one account (its limit), more than the server's 2 threads */
    int fds[4], tries = 0;
    char head[2048];
    for (int i = 0; i < 3; i++)
        fds[i] = open_stream(key, i, &tries);
    /* a fourth of that account: 429, it does not take the server's last stream */
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/events", key, NULL, &r);
    tries++;
    e2e_expect_error(&r, 429, "RATE_LIMITED");
    assert_non_null(strstr(e2e_str(&r, "message"), "max_streams_per_account"));
    assert_non_null(e2e_header(&r, "Retry-After"));
    e2e_resp_free(&r);
    /* another account still gets it (the server's limit: 4) */
    int other_tries = 0;
    fds[3] = open_stream(other, 3, &other_tries);
    /* the threads are free: a normal request is answered at once */
    int64_t t0 = gb_mono_ms();
    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(gb_mono_ms() - t0 < 2000);
    /* keepalives flow while the streams stay open; each stream was one request: the key's
     * stream requests (tries, the refused fourth among them) plus this GET, plus the next */
    e2e_resp_free(&r);
    usleep(1200000);
    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r);
    char want[32];
    snprintf(want, sizeof(want), "%d", 100000 - tries - 2);
    assert_string_equal(e2e_header(&r, "X-RateLimit-Remaining"), want);
    e2e_resp_free(&r);
    char buf[8192];
    ssize_t k = read(fds[0], buf, sizeof(buf) - 1);
    assert_true(k > 0);
    buf[k] = '\0';
    assert_non_null(strstr(buf, ": keepalive"));
    /* one more: 503 with Retry-After */
    e2e_req(&D, "GET", "/api/volt/events", key, NULL, &r);
    e2e_expect_error(&r, 503, "UNAVAILABLE");
    assert_non_null(e2e_header(&r, "Retry-After"));
    e2e_resp_free(&r);
    /* a closed one frees its place (noticed at its next keepalive) */
    close(fds[0]);
    int ok = 0;
    for (int i = 0; i < 30 && !ok; i++) {
        usleep(100000);
        head[0] = '\0';
        int fd = raw_stream(key, head, sizeof(head));
        if (strstr(head, " 200 ")) {
            ok = 1;
            fds[0] = fd;
        } else {
            close(fd);
        }
    }
    assert_true(ok);
    /* the daemon stops promptly and cleanly with 4 streams open; each sees its end */
    t0 = gb_mono_ms();
    e2e_stop(&D);
    assert_true(gb_mono_ms() - t0 < 10000);
    D.pid = 0;
    for (int i = 0; i < 4; i++) {
        assert_true(eof_within(fds[i], 3000));
        close(fds[i]);
    }
}

/* Before the stream, `jobs wait` polled every GPUBROKER_WAIT_INTERVAL_MS (here 100 ms): a job
 * that runs for seconds used the 30 requests of the hour up and failed with 429. */
static void test_jobs_wait_under_a_tight_rate_limit(void **state)
{
    (void)state;
    static const char *const env[] = {"GPUBROKER_RECONCILER_INTERVAL_MS=100",
                                      "GPUBROKER_JOBS_RUNNER_INTERVAL_MS=200",
                                      "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=30", NULL};
    static const char *const extra[] = {"--sim-speed", "30", NULL};
    e2e_start_sandbox_args(&D, NULL, env, extra);
    char url[200], key[160];
    snprintf(url, sizeof(url), "GPUBROKER_URL=%s", D.url);
    snprintf(key, sizeof(key), "GPUBROKER_API_KEY=%s", D.key);
    const char *cenv[] = {url, key, "GPUBROKER_WAIT_INTERVAL_MS=100", NULL};
    const char *submit[] = {"jobs",        "submit",
                            "--name",      "slow",
                            "--task-type", "text",
                            "--model",     "Qwen/Qwen2.5-0.5B",
                            "--ds-repo",   "org/data",
                            "--hours",     "1",
                            "--param",     "fieldInstruction=instruction",
                            "--param",     "fieldOutput=output",
                            "--wait",      "--timeout",
                            "120",         NULL};
    char *out = NULL, *err = NULL;
    int64_t t0 = gb_mono_ms();
    int rc = e2e_cli(submit, cenv, NULL, &out, &err);
    int64_t took = gb_mono_ms() - t0;
    if (rc) fail_msg("jobs submit --wait: %d %s %s", rc, out, err);
    assert_non_null(strstr(out, "-> training"));
    assert_non_null(strstr(out, "-> success"));
    /* it waited long enough that 100 ms polling would have needed far more than 30 */
    if (took < 4000) fail_msg("the job took only %lld ms", (long long)took);
    free(out);
    free(err);
    /* the key still works and has most of its hour left */
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    int left = atoi(e2e_header(&r, "X-RateLimit-Remaining"));
    if (left < 20) fail_msg("only %d requests left", left);
    e2e_resp_free(&r);
}

/* The retention pruned events a client had not read. A stream resumed from before them starts
 * with an "event: gap" frame (no id: the position it resumes from and the highest pruned
 * seq); one resumed at the mark or later has none; `gpubroker events --after N` warns on
 * stderr, the whole log's listing does not. A position at the newest event stays valid once
 * the log was pruned empty (it was a 400 "beyond the newest event": the newest seq was
 * read from the rows left). The worker prunes when it starts, so the test ages rows in the
 * database and restarts the daemon. */
static void restart_keeping_keys(void)
{
    char dir[256], key[96];
    snprintf(dir, sizeof(dir), "%s", D.dir);
    snprintf(key, sizeof(key), "%s", D.key);
    e2e_stop(&D);
    e2e_start_sandbox_args(&D, dir, ENV, EXTRA);
    snprintf(D.key, sizeof(D.key), "%s", key);
}

static void age_events(const char *upto)
{
    gb_db *db = e2e_db_open(&D);
    assert_non_null(db);
    char sql[160];
    snprintf(sql, sizeof(sql), "UPDATE wh_events SET created_at = 0 WHERE seq <= %s", upto);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    gb_db_close(db);
}

/* The log after Last-Event-ID lei (follow=false), which must be answered 200. */
static void read_resumed(reader *r, const char *lei)
{
    memset(r, 0, sizeof(*r));
    r->key = D.key;
    r->query = "follow=false";
    r->lei = lei;
    r->timeout_ms = 10000;
    r->gap_after = r->gap_through = -1;
    read_stream(r);
    assert_int_equal(r->status, 200);
}

/* The whole log until its first frame is the gap (the worker pruned after the restart). */
static void read_until_gap(reader *r)
{
    for (int i = 0; i < 100; i++) {
        read_all(r, D.key, "after=0");
        if (r->gap_through >= 0) return;
        usleep(100000);
    }
    fail_msg("no gap frame after the restart");
}

static void test_retention_gap(void **state)
{
    (void)state;
    e2e_start_sandbox_args(&D, NULL, ENV, EXTRA);
    char p1[64], p2[64];
    create_pod(D.key, "targon", p1);
    create_pod(D.key, "targon", p2);
    reader r;
    for (int i = 0; i < 100; i++) { /* the pods' events follow their creates */
        read_all(&r, D.key, "after=0");
        if (r.n >= 3) break;
        usleep(100000);
    }
    if (r.n < 3) fail_msg("%d events after two creates", r.n);
    assert_int_equal(r.gap_through, -1); /* nothing pruned yet */
    int64_t k = r.id[1], newest = r.id[r.n - 1];
    char ks[32], after1[32];
    snprintf(ks, sizeof(ks), "%lld", (long long)k);
    snprintf(after1, sizeof(after1), "after=%lld", (long long)r.id[0] - 1);
    age_events(ks);
    restart_keeping_keys();
    read_until_gap(&r);
    assert_string_equal(r.ev[0], "gap");
    assert_int_equal(r.gap_after, 0);
    assert_int_equal(r.gap_through, k);
    for (int i = 1; i < r.n; i++) /* then every event left, none of the pruned ones */
        assert_true(r.id[i] > k);
    read_all(&r, D.key, after1);
    assert_int_equal(r.gap_through, k);
    /* resumed at the mark: no gap, the events after it */
    reader at;
    read_resumed(&at, ks);
    assert_int_equal(at.gap_through, -1);
    assert_true(at.n >= 1);
    assert_true(at.id[0] > k);
    /* the CLI: a warning for --after below the mark, none for the whole log */
    char url[200], key[160];
    snprintf(url, sizeof(url), "GPUBROKER_URL=%s", D.url);
    snprintf(key, sizeof(key), "GPUBROKER_API_KEY=%s", D.key);
    const char *cenv[] = {url, key, NULL};
    const char *list_after[] = {"events", "--after", "1", NULL};
    const char *list_all[] = {"events", NULL};
    char *out = NULL, *err = NULL, want[160];
    assert_int_equal(e2e_cli(list_after, cenv, NULL, &out, &err), 0);
    snprintf(want, sizeof(want), "warning: events after 1 through %lld were removed", (long long)k);
    if (!strstr(err, want)) fail_msg("stderr: %s", err);
    /* stdout: one line per event, none for the gap (its type column would read " gap "; a
     * random id may hold "gap", never a space) */
    assert_null(strstr(out, " gap "));
    assert_null(strstr(out, "prunedThrough"));
    free(out);
    free(err);
    assert_int_equal(e2e_cli(list_all, cenv, NULL, &out, &err), 0);
    assert_null(strstr(err, "warning"));
    free(out);
    free(err);
    /* the whole log pruned: its newest id is still a valid position. The pods go first (a
     * 404: the restarted sandbox's simulators lost them, and the reconciler ended them) and
     * the log is let settle, so nothing is appended after the prune. */
    const char *ids[] = {p1, p2};
    for (int i = 0; i < 2; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/api/volt/pods/%s", ids[i]);
        e2e_resp d;
        e2e_req(&D, "DELETE", path, D.key, NULL, &d);
        if (d.status != 200 && d.status != 404) fail_msg("delete: %ld %s", d.status, d.body);
        e2e_resp_free(&d);
    }
    gb_db *db = e2e_db_open(&D);
    assert_non_null(db);
    int64_t seen = -1, now_max = 0;
    for (int quiet = 0, i = 0; quiet < 15 && i < 300; i++) { /* 1.5 s without a new event */
        now_max = e2e_db_int(db, "SELECT COALESCE(MAX(seq), 0) FROM wh_events", NULL, NULL, NULL);
        quiet = now_max == seen ? quiet + 1 : 0;
        seen = now_max;
        usleep(100000);
    }
    assert_true(now_max >= newest);
    age_events("9223372036854775807");
    restart_keeping_keys();
    for (int i = 0; i < 100; i++) {
        read_all(&r, D.key, "after=0");
        if (r.gap_through == now_max) break;
        usleep(100000);
    }
    assert_int_equal(r.gap_through, now_max);
    assert_int_equal(r.n, 1); /* the gap alone: the log is empty */
    assert_int_equal(e2e_db_int(db, "SELECT count(*) FROM wh_events", NULL, NULL, NULL), 0);
    gb_db_close(db);
    char ns[32];
    snprintf(ns, sizeof(ns), "%lld", (long long)now_max);
    reader last;
    read_resumed(&last, ns); /* was a 400: "beyond the newest event" */
    assert_int_equal(last.gap_through, -1);
    assert_int_equal(last.n, 0);
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_loses_and_repeats_nothing),
        cmocka_unit_test(test_filters_and_accounts),
        cmocka_unit_test(test_status_line),
        cmocka_unit_test(test_limit_threads_ratelimit_shutdown),
    };
    const struct CMUnitTest solo[] = {
        cmocka_unit_test_teardown(test_jobs_wait_under_a_tight_rate_limit, teardown),
        cmocka_unit_test_teardown(test_retention_gap, teardown),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    rc |= cmocka_run_group_tests(solo, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
