/* test_broker_clisse.c: the CLI's event stream client and waits (broker/cli/cli_sse.c,
 * cli_wait.c) against a scripted local server: the SSE parser (every line ending, comments,
 * multi-line data, the id kept across events, fed whole or a byte at a time, garbage), the
 * backoff, a follow that reconnects with Last-Event-ID after a drop, and the polling a wait
 * falls back to when there is no stream: it honours Retry-After on 429 and 503 and backs
 * off while nothing changes; and the HTTP client's streaming entry point (chunks, a silent
 * far side, a stop, an error answer). */
#include <microhttpd.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_sse.h"
#include "broker/cli/cli_wait.h"
#include "common/clock.h"
#include "common/http_client.h"

/* ---- the parser ---- */

typedef struct {
    int n;
    char ids[8][32], events[8][64], data[8][256];
    int stop_at; /* 0: never */
} got;

static int on_ev(void *ud, const cli_sse_event *ev)
{
    got *g = ud;
    assert_true(g->n < 8);
    snprintf(g->ids[g->n], sizeof(g->ids[0]), "%s", ev->id);
    snprintf(g->events[g->n], sizeof(g->events[0]), "%s", ev->event);
    snprintf(g->data[g->n], sizeof(g->data[0]), "%s", ev->data);
    g->n++;
    return g->stop_at && g->n >= g->stop_at ? 7 : 0;
}

static const char STREAM[] = "retry: 250\r\n"
                             ": connected\r\n"
                             "\r\n"
                             "id: 41\n"
                             "event: pod.running\n"
                             "data: {\"a\":1}\n"
                             "\n"
                             ": keepalive\r"
                             "\r"
                             "data: line one\r"
                             "data:line two\r"
                             "\r"
                             "event: no.data\n"
                             "id: 42\n"
                             "\n"
                             "data\n"
                             "\n";

static void check_stream(const got *g, const cli_sse_parser *p)
{
    assert_int_equal(g->n, 3);
    assert_string_equal(g->ids[0], "41");
    assert_string_equal(g->events[0], "pod.running");
    assert_string_equal(g->data[0], "{\"a\":1}");
    /* no event field: "message"; the id is kept; two data lines joined by LF; one leading
     * space is removed, none added */
    assert_string_equal(g->ids[1], "41");
    assert_string_equal(g->events[1], "message");
    assert_string_equal(g->data[1], "line one\nline two");
    /* a frame without data dispatches nothing but its id sticks; "data" alone is "" */
    assert_string_equal(g->ids[2], "42");
    assert_string_equal(g->data[2], "");
    assert_int_equal(p->retry_ms, 250);
}

static void test_parser(void **state)
{
    (void)state;
    got g = {0};
    cli_sse_parser p;
    cli_sse_init(&p, on_ev, &g);
    assert_int_equal(cli_sse_feed(&p, STREAM, sizeof(STREAM) - 1), 0);
    check_stream(&g, &p);
    assert_string_equal(p.stream_id, "42"); /* set by the data-less frame's blank line */
    /* an id whose frame has not ended is not yet the stream's: a reconnect must not skip it */
    assert_int_equal(cli_sse_feed(&p, "id: 50\ndata: x\n", 15), 0);
    assert_string_equal(p.stream_id, "42");
    assert_int_equal(cli_sse_feed(&p, "\n", 1), 0);
    assert_string_equal(p.stream_id, "50");
    assert_int_equal(g.n, 4);
    cli_sse_free(&p);
    /* the same a byte at a time (a CRLF split across reads is one line end) */
    memset(&g, 0, sizeof(g));
    cli_sse_init(&p, on_ev, &g);
    for (size_t i = 0; i + 1 < sizeof(STREAM); i++)
        assert_int_equal(cli_sse_feed(&p, STREAM + i, 1), 0);
    check_stream(&g, &p);
    cli_sse_free(&p);
    /* a callback's stop answer comes back at once; nothing after it is parsed */
    memset(&g, 0, sizeof(g));
    g.stop_at = 1;
    cli_sse_init(&p, on_ev, &g);
    assert_int_equal(cli_sse_feed(&p, STREAM, sizeof(STREAM) - 1), 7);
    assert_int_equal(g.n, 1);
    cli_sse_free(&p);
    /* garbage: an endless line is refused, not buffered without bound */
    memset(&g, 0, sizeof(g));
    cli_sse_init(&p, on_ev, &g);
    char *big = malloc(CLI_SSE_LINE_MAX + 10);
    memset(big, 'x', CLI_SSE_LINE_MAX + 10);
    assert_int_equal(cli_sse_feed(&p, big, CLI_SSE_LINE_MAX + 10), -1);
    assert_int_equal(cli_sse_feed(&p, "\n\n", 2), -1);
    assert_int_equal(g.n, 0);
    free(big);
    cli_sse_free(&p);
}

static void test_backoff(void **state)
{
    (void)state;
    assert_int_equal(cli_backoff_ms(1, 30000, -1), 1000);
    assert_int_equal(cli_backoff_ms(2, 30000, -1), 2000);
    assert_int_equal(cli_backoff_ms(5, 30000, -1), 16000);
    assert_int_equal(cli_backoff_ms(6, 30000, -1), 30000);
    assert_int_equal(cli_backoff_ms(60, 30000, -1), 30000);
    assert_int_equal(cli_backoff_ms(1, 30000, 7000), 7000); /* Retry-After: never sooner */
    assert_int_equal(cli_backoff_ms(6, 30000, 7000), 30000);
}

/* ---- a scripted server ---- */

enum { MODE_RETRY_AFTER, MODE_NEVER_READY, MODE_STREAM };

static struct {
    struct MHD_Daemon *d;
    int port;
    int mode;
    pthread_mutex_t mu;
    int pod_gets, event_gets;
    int64_t pod_at[64];
    char lei[4][32]; /* Last-Event-ID of each events request */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, const char *retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", type);
    if (retry_after) MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static int g_stalling; /* the /stall reader goes on while set */

/* /stall: one frame, then nothing more (thread per connection: waiting here is allowed). */
static ssize_t stall_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos == 0 && max >= 9) {
        memcpy(buf, "data: a\n\n", 9);
        return 9;
    }
    if (!__atomic_load_n(&g_stalling, __ATOMIC_ACQUIRE)) return MHD_CONTENT_READER_END_OF_STREAM;
    struct timespec ts = {0, 50000000L};
    nanosleep(&ts, NULL);
    return 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_size, (void)con_cls;
    const char *json = "application/json";
    if (!strcmp(url, "/stall")) {
        struct MHD_Response *r =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, stall_reader, NULL, NULL);
        enum MHD_Result ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (!strcmp(url, "/missing")) return reply(c, 404, json, "{\"code\":\"NOT_FOUND\"}", NULL);
    pthread_mutex_lock(&S.mu);
    if (!strcmp(url, "/api/volt/events")) {
        int n = S.event_gets++;
        const char *lei = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
        if (n < 4) snprintf(S.lei[n], sizeof(S.lei[0]), "%s", lei ? lei : "");
        pthread_mutex_unlock(&S.mu);
        if (S.mode != MODE_STREAM)
            return reply(c, 404, json, "{\"error\":true,\"status\":404,\"code\":\"NOT_FOUND\"}",
                         NULL);
        /* the first connection gives event 1 and drops; the next one event 2 */
        return reply(c, 200, "text/event-stream",
                     n == 0 ? "retry: 100\n: connected\n\nid: 1\nevent: pod.deploying\n"
                              "data: {\"status\":\"deploying\"}\n\n"
                            : "retry: 100\n: connected\n\nid: 2\nevent: pod.running\n"
                              "data: {\"status\":\"running\"}\n\n",
                     NULL);
    }
    int n = S.pod_gets++;
    if (n < 64) S.pod_at[n] = gb_mono_ms();
    pthread_mutex_unlock(&S.mu);
    if (S.mode == MODE_RETRY_AFTER && n == 0)
        return reply(c, 429, json, "{\"error\":true,\"status\":429,\"code\":\"RATE_LIMITED\"}",
                     "2");
    if (S.mode == MODE_RETRY_AFTER && n == 1)
        return reply(c, 503, json, "{\"error\":true,\"status\":503,\"code\":\"UNAVAILABLE\"}", "1");
    return reply(c, 200, json,
                 S.mode == MODE_NEVER_READY ? "{\"id\":\"p1\",\"status\":\"deploying\"}"
                                            : "{\"id\":\"p1\",\"status\":\"running\"}",
                 NULL);
}

static int server_up(void **state)
{
    (void)state;
    S.pod_gets = S.event_gets = 0;
    memset(S.lei, 0, sizeof(S.lei));
    S.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                           NULL, handler, NULL, MHD_OPTION_END);
    assert_non_null(S.d);
    S.port = MHD_get_daemon_info(S.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", S.port);
    setenv("GPUBROKER_URL", url, 1);
    setenv("GPUBROKER_API_KEY", "gpb_sk_test", 1);
    return 0;
}

static int server_down(void **state)
{
    (void)state;
    MHD_stop_daemon(S.d);
    unsetenv("GPUBROKER_WAIT_INTERVAL_MS");
    return 0;
}

static void test_poll_honours_retry_after(void **state)
{
    (void)state;
    S.mode = MODE_RETRY_AFTER;
    int rc = cli_pods_wait("p1", "running", 30, 1);
    assert_int_equal(rc, 0);
    assert_int_equal(S.event_gets, 1); /* no stream here: asked once, then polling */
    assert_int_equal(S.pod_gets, 4);   /* 429, 503, running, the final answer */
    /* the 429 said 2 s and the 503 1 s: no sooner */
    assert_true(S.pod_at[1] - S.pod_at[0] >= 1950);
    assert_true(S.pod_at[2] - S.pod_at[1] >= 950);
}

static void test_poll_backs_off(void **state)
{
    (void)state;
    S.mode = MODE_NEVER_READY;
    setenv("GPUBROKER_WAIT_INTERVAL_MS", "100", 1);
    int64_t t0 = gb_mono_ms();
    int rc = cli_pods_wait("p1", "running", 4, 1);
    int64_t took = gb_mono_ms() - t0;
    assert_int_equal(rc, CLI_WAIT_TIMEOUT);
    assert_true(took >= 3900 && took < 6000);
    /* 100 ms doubling while nothing changes: about 6 GETs in 4 s, where a fixed 100 ms would
     * make 40 */
    assert_true(S.pod_gets >= 4 && S.pod_gets <= 8);
    for (int i = 2; i < S.pod_gets; i++)
        assert_true(S.pod_at[i] - S.pod_at[i - 1] >= S.pod_at[i - 1] - S.pod_at[i - 2] - 30);
}

static int stop_at_running(void *ud, const cli_sse_event *ev)
{
    got *g = ud;
    on_ev(g, ev);
    return strcmp(ev->event, "pod.running") == 0;
}

static void test_follow_resumes_with_last_event_id(void **state)
{
    (void)state;
    S.mode = MODE_STREAM;
    got g = {0};
    cli_sse_follow_opts o = {.path = "/api/volt/events?types=pod.*",
                             .deadline_ms = gb_mono_ms() + 10000,
                             .on_event = stop_at_running,
                             .ud = &g};
    assert_int_equal(cli_sse_follow(&o), CLI_SSE_STOPPED);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.ids[0], "1");
    assert_string_equal(g.ids[1], "2");
    assert_string_equal(o.last_id, "2");
    assert_int_equal(S.event_gets, 2);
    assert_string_equal(S.lei[0], "");  /* from now */
    assert_string_equal(S.lei[1], "1"); /* the reconnect resumes after what it saw */
    assert_int_equal(o.reconnects, 1);
    /* and a wait over the same stream: the GET on open, the events, the final GET */
    S.event_gets = S.pod_gets = 0;
    S.mode = MODE_STREAM;
    assert_int_equal(cli_pods_wait("p1", "running", 10, 1), 0);
    assert_true(S.event_gets >= 1);
}

typedef struct {
    gb_buf got;
    int ticks, stop_at_bytes;
} chunks;

static int take(void *ud, const char *data, size_t len)
{
    chunks *k = ud;
    gb_buf_append(&k->got, data, len);
    return k->stop_at_bytes && (int)k->got.len >= k->stop_at_bytes;
}

static int tick(void *ud)
{
    ((chunks *)ud)->ticks++;
    return 0;
}

/* The HTTP client's streaming entry point: chunks as they come, a far side that goes silent
 * ends as a timeout after idle_timeout_ms, a stop from the callback is a normal end, and a
 * non-2xx body is collected as usual. */
static void test_http_streaming(void **state)
{
    (void)state;
    char url[96];
    chunks k = {0};
    __atomic_store_n(&g_stalling, 1, __ATOMIC_RELEASE);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/stall", S.port);
    gb_http_req q = {.method = "GET",
                     .url = url,
                     .timeout_ms = 20000,
                     .on_chunk = take,
                     .on_tick = tick,
                     .chunk_ud = &k,
                     .idle_timeout_ms = 1500};
    gb_http_resp resp;
    gb_errmsg err = "";
    int64_t t0 = gb_mono_ms();
    assert_int_equal(gb_http_do(&q, &resp, err), GB_ERR_TIMEOUT);
    int64_t took = gb_mono_ms() - t0;
    assert_true(took >= 1400 && took < 5000);
    assert_int_equal(k.got.len, 9);
    assert_memory_equal(k.got.data, "data: a\n\n", 9);
    assert_true(k.ticks >= 1); /* about once a second */
    assert_non_null(strstr(err, "no data"));
    /* the callback ends it: GB_OK with the status */
    gb_buf_reset(&k.got);
    k.stop_at_bytes = 9;
    assert_int_equal(gb_http_do(&q, &resp, err), GB_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body_len, 0); /* the body went to the callback */
    gb_http_resp_free(&resp);
    __atomic_store_n(&g_stalling, 0, __ATOMIC_RELEASE);
    /* an error answer is collected, not streamed */
    gb_buf_reset(&k.got);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/missing", S.port);
    assert_int_equal(gb_http_do(&q, &resp, err), GB_OK);
    assert_int_equal(resp.status, 404);
    assert_int_equal(k.got.len, 0);
    assert_non_null(strstr(resp.body, "NOT_FOUND"));
    gb_http_resp_free(&resp);
    gb_buf_free(&k.got);
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test_setup_teardown(test_poll_honours_retry_after, server_up, server_down),
        cmocka_unit_test_setup_teardown(test_poll_backs_off, server_up, server_down),
        cmocka_unit_test_setup_teardown(test_follow_resumes_with_last_event_id, server_up,
                                        server_down),
        cmocka_unit_test_setup_teardown(test_http_streaming, server_up, server_down),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
