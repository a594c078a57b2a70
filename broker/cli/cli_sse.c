/* cli_sse.c: the CLI's event stream client (cli_sse.h): the Server-Sent Events parser, the
 * follower that reconnects with Last-Event-ID and backs off, and the waits' single GET. */
#include "broker/cli/cli_sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/cli/cli_util.h"
#include "common/clock.h"
#include "common/http_client.h"

void cli_sse_init(cli_sse_parser *p, int (*on_event)(void *ud, const cli_sse_event *ev), void *ud)
{
    memset(p, 0, sizeof(*p));
    p->retry_ms = -1;
    p->on_event = on_event;
    p->ud = ud;
}

void cli_sse_free(cli_sse_parser *p)
{
    gb_buf_free(&p->line);
    gb_buf_free(&p->data);
}

/* One complete line (without its end). */
static int line(cli_sse_parser *p, const char *l, size_t n)
{
    if (n == 0) { /* dispatch */
        int rc = 0;
        memcpy(p->stream_id, p->last_id, sizeof(p->stream_id));
        if (p->data.len) {
            p->data.data[--p->data.len] = '\0'; /* the last data line's '\n' */
            cli_sse_event ev = {p->last_id, p->event[0] ? p->event : "message", p->data.data};
            rc = p->on_event ? p->on_event(p->ud, &ev) : 0;
        }
        gb_buf_reset(&p->data);
        p->event[0] = '\0';
        return rc;
    }
    if (l[0] == ':') return 0; /* a comment (": keepalive") */
    const char *colon = memchr(l, ':', n);
    size_t fl = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vl = colon ? n - fl - 1 : 0;
    if (vl && *v == ' ') {
        v++;
        vl--;
    }
    if (fl == 5 && !memcmp(l, "event", 5)) {
        if (vl >= sizeof(p->event)) return p->bad = true, -1;
        memcpy(p->event, v, vl);
        p->event[vl] = '\0';
    } else if (fl == 4 && !memcmp(l, "data", 4)) {
        if (gb_buf_append(&p->data, v, vl) || gb_buf_append(&p->data, "\n", 1))
            return p->bad = true, -1;
    } else if (fl == 2 && !memcmp(l, "id", 2)) {
        if (vl >= sizeof(p->last_id) || memchr(v, '\0', vl)) return 0; /* ignored, per spec */
        memcpy(p->last_id, v, vl);
        p->last_id[vl] = '\0';
    } else if (fl == 5 && !memcmp(l, "retry", 5)) {
        long ms = 0;
        size_t i = 0;
        for (; i < vl && v[i] >= '0' && v[i] <= '9' && ms < 100000000; i++)
            ms = ms * 10 + (v[i] - '0');
        if (i == vl && vl) p->retry_ms = ms;
    }
    return 0;
}

int cli_sse_feed(cli_sse_parser *p, const char *data, size_t len)
{
    if (p->bad) return -1;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\n' && p->after_cr) { /* the LF of a CRLF */
            p->after_cr = false;
            continue;
        }
        p->after_cr = c == '\r';
        if (c == '\n' || c == '\r') {
            int rc = line(p, p->line.data ? p->line.data : "", p->line.len);
            gb_buf_reset(&p->line);
            if (rc) return rc;
            continue;
        }
        if (p->line.len >= CLI_SSE_LINE_MAX || gb_buf_append(&p->line, &c, 1)) {
            p->bad = true;
            return -1;
        }
    }
    return 0;
}

/* ---- HTTP ---- */

static const char *base_url(void)
{
    const char *base = getenv("GPUBROKER_URL");
    return base && *base ? base : "http://127.0.0.1:8080";
}

static const char *api_key(void)
{
    const char *key = getenv("GPUBROKER_API_KEY");
    if (key && *key) return key;
    fprintf(stderr, "error: GPUBROKER_API_KEY is not set (run `gpubroker init` or "
                    "`gpubroker sandbox` to get one)\n");
    return NULL;
}

static int64_t retry_after_of(const gb_http_resp *r)
{
    return r->retry_after ? gb_http_retry_after_ms(r->retry_after, gb_now_ms()) : -1;
}

int cli_get_once(const char *path, long *status, cJSON **json, int64_t *retry_after_ms, char *err,
                 size_t errsz)
{
    *status = 0;
    *json = NULL;
    *retry_after_ms = -1;
    const char *key = api_key();
    if (!key) return CLI_ERR_USAGE;
    char *url = gb_asprintf("%s%s", base_url(), path);
    char *auth = gb_asprintf("X-API-Key: %s", key);
    int rc = CLI_ERR_CONN;
    gb_errmsg msg = "";
    if (!url || !auth) {
        snprintf(err, errsz, "out of memory");
        goto done;
    }
    const char *hdrs[] = {auth, "Accept: application/json",
                          "User-Agent: gpubroker-cli/" GPUBROKER_VERSION, NULL};
    gb_http_req req = {.method = "GET",
                       .url = url,
                       .headers = hdrs,
                       .timeout_ms = 60000,
                       .ca_file = cli_ca_file()};
    gb_http_resp resp;
    if (gb_http_do(&req, &resp, msg) != GB_OK) {
        snprintf(err, errsz, "cannot reach gpubroker at %s: %s", base_url(), msg);
        goto done;
    }
    *status = resp.status;
    *json = cJSON_ParseWithLength(resp.body, resp.body_len);
    *retry_after_ms = retry_after_of(&resp);
    gb_http_resp_free(&resp);
    rc = CLI_OK;
done:
    free(url);
    free(auth);
    return rc;
}

int64_t cli_backoff_ms(int failures, int64_t cap_ms, int64_t retry_after_ms)
{
    int64_t d = 1000;
    for (int i = 1; i < failures && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms) d = cap_ms;
    return retry_after_ms > d ? retry_after_ms : d;
}

int cli_sleep_until(int64_t ms, int64_t deadline_ms, int (*tick)(void *ud), void *ud)
{
    int64_t end = gb_mono_ms() + ms;
    if (deadline_ms && end > deadline_ms) end = deadline_ms;
    for (;;) {
        int64_t now = gb_mono_ms();
        if (now >= end) break;
        int64_t step = end - now < 1000 ? end - now : 1000;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (tick) tick(ud);
    }
    return deadline_ms && gb_mono_ms() >= deadline_ms;
}

typedef struct {
    cli_sse_follow_opts *o;
    cli_sse_parser p;
    bool opened, delivered, deadline;
    int stop;
} follow_state;

static int on_event(void *ud, const cli_sse_event *ev)
{
    follow_state *f = ud;
    f->delivered = true;
    gb_strlcpy(f->o->last_id, ev->id, sizeof(f->o->last_id));
    return f->o->on_event && f->o->on_event(f->o->ud, ev) ? (f->stop = CLI_SSE_STOPPED) : 0;
}

static int on_chunk(void *ud, const char *data, size_t len)
{
    follow_state *f = ud;
    if (!f->opened) {
        f->opened = true;
        if (f->o->on_open && f->o->on_open(f->o->ud)) return f->stop = CLI_SSE_STOPPED;
    }
    int rc = cli_sse_feed(&f->p, data, len);
    if (rc < 0) fprintf(stderr, "warning: the event stream sent a line too long; reconnecting\n");
    /* an id without data (the stream's opening position) counts too, as the SSE spec says;
     * an id whose frame has not ended yet does not */
    if (f->p.stream_id[0]) gb_strlcpy(f->o->last_id, f->p.stream_id, sizeof(f->o->last_id));
    return rc;
}

static int on_tick(void *ud)
{
    follow_state *f = ud;
    if (f->o->deadline_ms && gb_mono_ms() >= f->o->deadline_ms) {
        f->deadline = true;
        return 1;
    }
    return f->o->on_tick && f->o->on_tick(f->o->ud) ? (f->stop = CLI_SSE_STOPPED) : 0;
}

static int tick_only(void *ud)
{
    cli_sse_follow_opts *o = ud;
    return o->on_tick ? o->on_tick(o->ud) : 0;
}

/* One connection: CLI_OK after it ended (or was ended), with *status and *ra set. */
static int connect_once(cli_sse_follow_opts *o, follow_state *f, const char *key, long *status,
                        int64_t *ra)
{
    char lei[64] = "";
    if (o->last_id[0]) snprintf(lei, sizeof(lei), "Last-Event-ID: %s", o->last_id);
    char *url = gb_asprintf("%s%s%s", base_url(), o->path, o->once ? "&follow=false" : "");
    char *auth = gb_asprintf("X-API-Key: %s", key);
    int rc = CLI_ERR_CONN;
    if (!url || !auth) goto done;
    const char *hdrs[] = {auth, "Accept: text/event-stream",
                          "User-Agent: gpubroker-cli/" GPUBROKER_VERSION, lei[0] ? lei : NULL,
                          NULL};
    int64_t left = o->deadline_ms ? o->deadline_ms - gb_mono_ms() : 0;
    gb_http_req req = {.method = "GET",
                       .url = url,
                       .headers = hdrs,
                       .timeout_ms = o->deadline_ms ? (left > 1000 ? left : 1000) : 0x7fffffffL,
                       .max_response = 65536,
                       .on_chunk = on_chunk,
                       .on_tick = on_tick,
                       .chunk_ud = f,
                       /* the server sends a keepalive every 15 s at most */
                       .idle_timeout_ms = 45000,
                       .ca_file = cli_ca_file()};
    gb_http_resp resp;
    gb_errmsg msg = "";
    gb_err e = gb_http_do(&req, &resp, msg);
    if (e) goto done;
    *status = resp.status;
    *ra = retry_after_of(&resp);
    if (resp.status == 401) {
        cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
        fprintf(stderr, "error: %s (HTTP 401)\n", m ? m : "unauthorized");
        cJSON_Delete(j);
    }
    gb_http_resp_free(&resp);
    rc = CLI_OK;
done:
    free(url);
    free(auth);
    return rc;
}

int cli_sse_follow(cli_sse_follow_opts *o)
{
    const char *key = api_key();
    if (!key) return CLI_SSE_FATAL;
    int max_fail = o->max_failures > 0 ? o->max_failures : 5;
    int failures = 0;
    o->reconnects = 0;
    for (int conn = 0;; conn++) {
        follow_state f = {.o = o};
        cli_sse_init(&f.p, on_event, &f);
        long status = 0;
        int64_t ra = -1;
        int rc = connect_once(o, &f, key, &status, &ra);
        long retry_hint = f.p.retry_ms;
        cli_sse_free(&f.p);
        if (conn > 0 && f.opened) o->reconnects++;
        if (f.stop) return CLI_SSE_STOPPED;
        if (f.deadline || (o->deadline_ms && gb_mono_ms() >= o->deadline_ms))
            return CLI_SSE_DEADLINE;
        if (rc == CLI_OK && status == 401) return CLI_SSE_FATAL;
        if (rc == CLI_OK && !f.opened &&
            ((status >= 400 && status < 500 && status != 429) || status == 503))
            return CLI_SSE_UNAVAILABLE; /* 400, 403, 404, 405: this server or key has none;
                                         * 503: no stream free now */
        if (o->once && f.opened && rc == CLI_OK && status == 200) return CLI_SSE_STOPPED;
        if (f.delivered || (f.opened && status == 200))
            failures = 0; /* it worked for a while: a plain reconnect */
        else if (++failures >= max_fail)
            return CLI_SSE_UNAVAILABLE;
        int64_t wait = failures ? cli_backoff_ms(failures, 30000, ra)
                                : (retry_hint >= 0 && retry_hint < 30000 ? retry_hint : 1000);
        if (cli_sleep_until(wait, o->deadline_ms, tick_only, o)) return CLI_SSE_DEADLINE;
    }
}
