/* api_events.c: GET /api/volt/events, the account's durable event log (webhooks/events.h) as
 * Server-Sent Events (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * "id: <seq>", "event: <type>", "data: <the webhook's JSON payload>", a ": keepalive" comment
 * when nothing was sent for events.keepalive_ms; filtered by types and id, resumable with
 * Last-Event-ID (or ?after=), with an "event: gap" frame first when the retention pruned
 * events after that position; with follow=false it ends once caught up. No pool thread waits on a
 * stream: a stream with nothing to send is suspended (libmicrohttpd's MHD_suspend_connection from
 * the content reader, the pattern microhttpd.h prescribes for "no data yet"), and one notifier
 * thread resumes it when an event commits (told by the log's listener, then confirmed by reading
 * the highest seq), when its keepalive is due, or when the server stops. */
#include "broker/api/api_events.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/api/api.h"
#include "broker/api/api_server.h"
#include "broker/api/handlers.h"
#include "broker/api/scopes.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "webhooks/events.h"
#include "webhooks/outbox.h"

#define POLL_MS 500       /* the notifier's safety-net look at the log */
#define QUICK_MS 20       /* after a listener's call, until the commit shows */
#define QUICK_TRIES 50    /* ... for about a second */
#define READ_ROWS 200     /* log rows read per reader call */
#define RETRY_AFTER_S 5   /* on a 503 for too many streams */
#define SSE_RETRY_MS 3000 /* the reconnection delay the stream proposes to clients */

typedef struct ev_stream {
    struct ev_stream *next;
    ev_hub *hub;
    void *conn; /* the server connection */
    char account_id[GB_ID_MAX];
    char types[WH_EVENTS_MAX + 1]; /* "" = every type */
    char id[WH_SUBJECT_MAX + 1];   /* "" = every subject */
    unsigned scopes;
    int64_t pos;        /* the log is read through this seq */
    int64_t gap;        /* > 0: events after pos through this seq were pruned unread */
    int64_t last_write; /* gb_mono_ms() */
    bool started;       /* the opening frame went out */
    bool once;          /* follow=false: end when caught up */
    bool suspended;     /* under hub->mu */
    int gone;           /* atomic: libmicrohttpd is done with it; the notifier frees it */
    gb_buf out;
    size_t off;
} ev_stream;

struct ev_hub {
    app *a;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stop, closing, signalled; /* under mu; closing also read atomically */
    int64_t max_seq;               /* the highest seq the notifier saw committed */
    ev_stream *streams;
    int open; /* atomic */
};

int ev_hub_open(ev_hub *h)
{
    return h ? __atomic_load_n(&h->open, __ATOMIC_ACQUIRE) : 0;
}

/* ---- the notifier ---- */

static void on_append(void *ud)
{
    ev_hub *h = ud;
    pthread_mutex_lock(&h->mu);
    h->signalled = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static void stream_free(ev_stream *s)
{
    gb_buf_free(&s->out);
    free(s);
}

/* Under h->mu: frees the streams libmicrohttpd is done with and resumes the parked ones that
 * have something to do. */
static void sweep(ev_hub *h)
{
    int64_t now = gb_mono_ms();
    int keepalive = h->a->cfg.events_keepalive_ms;
    for (ev_stream **pp = &h->streams; *pp;) {
        ev_stream *s = *pp;
        if (__atomic_load_n(&s->gone, __ATOMIC_ACQUIRE)) {
            *pp = s->next;
            stream_free(s);
            continue;
        }
        if (s->suspended &&
            (h->closing || s->pos < h->max_seq || now - s->last_write >= keepalive)) {
            s->suspended = false;
            api_conn_resume(s->conn);
        }
        pp = &s->next;
    }
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *notifier(void *arg)
{
    ev_hub *h = arg;
    gb_db *db = app_db(h->a);
    int quick = 0;
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        if (!h->signalled) {
            struct timespec ts;
            deadline_in(&ts, quick > 0 ? QUICK_MS : POLL_MS);
            pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        }
        if (h->stop) break;
        if (h->signalled) quick = QUICK_TRIES;
        h->signalled = false;
        pthread_mutex_unlock(&h->mu);
        int64_t mx = 0;
        bool ok = db && wh_events_max_seq(db, &mx) == GB_OK;
        pthread_mutex_lock(&h->mu);
        if (ok && mx > h->max_seq) {
            h->max_seq = mx;
            quick = 0;
        } else if (quick > 0) {
            quick--;
        }
        sweep(h);
    }
    pthread_mutex_unlock(&h->mu);
    app_db_release();
    return NULL;
}

ev_hub *ev_hub_start(app *a)
{
    ev_hub *h = calloc(1, sizeof(*h));
    if (!h) return NULL;
    h->a = a;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    gb_db *db = app_db(a);
    if (db) wh_events_max_seq(db, &h->max_seq);
    if (pthread_create(&h->thread, NULL, notifier, h) != 0) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        free(h);
        return NULL;
    }
    wh_events_set_listener(on_append, h);
    return h;
}

void ev_hub_close(ev_hub *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    __atomic_store_n(&h->closing, true, __ATOMIC_RELEASE);
    sweep(h); /* resumes every parked stream: its reader answers end-of-stream */
    pthread_mutex_unlock(&h->mu);
}

void ev_hub_free(ev_hub *h)
{
    if (!h) return;
    wh_events_drop_listener(h); /* waits for a call under way */
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    while (h->streams) { /* libmicrohttpd is done with every one by now */
        ev_stream *s = h->streams;
        h->streams = s->next;
        stream_free(s);
    }
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* ---- one stream ---- */

/* May a key with these scopes see this event? Pods and placements need pods, jobs need
 * fine-tuning (as their routes do); the account's own events need nothing more. */
static bool visible(unsigned scopes, const char *event)
{
    if (scopes & SCOPE_ADMIN) return true;
    if (!strncmp(event, "pod.", 4) || !strncmp(event, "placement.", 10))
        return (scopes & SCOPE_PODS) != 0;
    if (!strncmp(event, "fine_tuning.", 12)) return (scopes & SCOPE_FINE_TUNING) != 0;
    return true;
}

typedef struct {
    ev_stream *s;
    int rows;
    int err;
} fill_ctx;

static int frame(void *ud, const wh_event_row *r)
{
    fill_ctx *c = ud;
    ev_stream *s = c->s;
    c->rows++;
    if (!visible(s->scopes, r->event)) return 0;
    if (s->types[0] && !wh_events_match(s->types, r->event)) return 0;
    if (s->id[0] && strcmp(s->id, r->subject_id) != 0) return 0;
    /* the payload is cJSON's unformatted print: one line, so one data field */
    if (gb_buf_printf(&s->out, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)r->seq, r->event,
                      r->payload))
        c->err = 1;
    return c->err;
}

/* Reads the log past s->pos into s->out: 1 when rows are left to read, 0 when caught up, -1
 * on a database error. */
static int fill(ev_stream *s)
{
    gb_db *db = app_db(s->hub->a);
    int64_t hi = 0;
    if (!db || wh_events_max_seq(db, &hi)) return -1;
    if (hi <= s->pos) return 0;
    fill_ctx c = {s, 0, 0};
    int64_t last = s->pos;
    if (wh_events_read(db, s->account_id, s->pos, hi, READ_ROWS, frame, &c, &last) || c.err)
        return -1;
    s->pos = c.rows == READ_ROWS ? last : hi;
    return c.rows == READ_ROWS;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    ev_stream *s = cls;
    ev_hub *h = s->hub;
    for (int round = 0;; round++) {
        if (s->off < s->out.len) {
            size_t n = s->out.len - s->off;
            if (n > max) n = max;
            memcpy(buf, s->out.data + s->off, n);
            s->off += n;
            return (ssize_t)n;
        }
        gb_buf_reset(&s->out);
        s->off = 0;
        if (__atomic_load_n(&h->closing, __ATOMIC_ACQUIRE)) return API_STREAM_END;
        int64_t now = gb_mono_ms();
        if (!s->started) {
            s->started = true;
            s->last_write = now;
            /* the position it starts from as an id without data: per the SSE spec it becomes
             * the client's last event id, so a reconnect before the first event resumes
             * exactly here */
            if (gb_buf_printf(&s->out, "retry: %d\nid: %lld\n: connected\n\n", SSE_RETRY_MS,
                              (long long)s->pos))
                return API_STREAM_ERROR;
            /* the retention removed events the client has not read: said once, without an
             * id (the client's position stays where it was) */
            if (s->gap > 0 && gb_buf_printf(&s->out,
                                            "event: gap\ndata: {\"event\":\"gap\",\"after\":%lld,"
                                            "\"prunedThrough\":%lld,\"retentionDays\":%d}\n\n",
                                            (long long)s->pos, (long long)s->gap,
                                            h->a->cfg.events_retention_days))
                return API_STREAM_ERROR;
            continue;
        }
        int more = fill(s);
        if (more < 0) {
            GB_WARN("events", "stream of %s: cannot read the event log; closing it", s->account_id);
            return API_STREAM_ERROR;
        }
        if (s->out.len || more) { /* more: rows the filters all left out; read on */
            if (s->out.len) s->last_write = now;
            round = 0;
            continue;
        }
        if (s->once) return API_STREAM_END; /* caught up */
        if (now - s->last_write >= h->a->cfg.events_keepalive_ms) {
            s->last_write = now;
            if (gb_buf_puts(&s->out, ": keepalive\n\n")) return API_STREAM_ERROR;
            continue;
        }
        pthread_mutex_lock(&h->mu);
        if (h->closing) {
            pthread_mutex_unlock(&h->mu);
            return API_STREAM_END;
        }
        if (h->max_seq > s->pos && round < 3) { /* committed meanwhile: read again */
            pthread_mutex_unlock(&h->mu);
            continue;
        }
        /* nothing to send: park it until the notifier resumes it (sweep) */
        s->suspended = true;
        api_conn_suspend(s->conn);
        pthread_mutex_unlock(&h->mu);
        return 0;
    }
}

/* libmicrohttpd is done with the stream (its response was destroyed). Takes no lock: the
 * notifier unlinks and frees it. A stream is never suspended here (a suspended connection
 * is neither timed out nor closed, and the hub resumes all before the daemon stops). */
static void reader_done(void *cls)
{
    ev_stream *s = cls;
    __atomic_sub_fetch(&s->hub->open, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&s->gone, 1, __ATOMIC_RELEASE);
}

static bool filter_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > WH_EVENTS_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') ||
              strchr("._*,-", t[i])))
            return false;
    return true;
}

static bool id_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > WH_SUBJECT_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
              (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || t[i] == '-'))
            return false;
    return true;
}

void h_events(api_req *rq, api_resp *rs)
{
    ev_hub *h = rq->app->server ? api_server_hub(rq->app->server) : NULL;
    const unsigned readers = SCOPE_PODS | SCOPE_FINE_TUNING | SCOPE_WEBHOOKS | SCOPE_ADMIN;
    if (!(rq->scopes & readers)) {
        api_error(rs, 403, "INSUFFICIENT_SCOPE",
                  "This API key lacks the 'pods', 'fine-tuning' or 'webhooks' scope");
        return;
    }
    const char *types = api_query(rq, "types");
    const char *id = api_query(rq, "id");
    const char *lei = api_header(rq, "Last-Event-ID");
    const char *after_q = api_query(rq, "after");
    const char *follow = api_query(rq, "follow");
    if (follow && strcmp(follow, "true") && strcmp(follow, "false")) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'follow' must be true or false");
        return;
    }
    if (types && !filter_valid(types)) {
        api_error(rs, 400, "VALIDATION_ERROR",
                  "query 'types' must be a comma list of event types (a-z 0-9 . _ - *), at "
                  "most %d bytes",
                  WH_EVENTS_MAX);
        return;
    }
    if (id && !id_valid(id)) {
        api_error(rs, 400, "VALIDATION_ERROR",
                  "query 'id' must be a pod or job id (A-Z a-z 0-9 _ -), at most %d bytes",
                  WH_SUBJECT_MAX);
        return;
    }
    int64_t after = -1, newest = 0, pruned = 0;
    const char *from = lei && lei[0] ? lei : after_q; /* a reconnecting client's header wins */
    if (from && gb_parse_i64(from, 0, INT64_MAX, &after)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s must be an event id (an integer >= 0)",
                  from == lei ? "header 'Last-Event-ID'" : "query 'after'");
        return;
    }
    if (!h || __atomic_load_n(&h->closing, __ATOMIC_ACQUIRE)) {
        api_add_header(rs, "Retry-After", "5");
        api_error(rs, 503, "UNAVAILABLE", "The event stream is not available now");
        return;
    }
    gb_err e = wh_events_bounds(rq->db, &newest, &pruned);
    if (e) {
        api_error_from(rs, e, "events");
        return;
    }
    if (after > newest) {
        api_error(rs, 400, "VALIDATION_ERROR",
                  "event id %lld is beyond the newest event (%lld): not from this server",
                  (long long)after, (long long)newest);
        return;
    }
    int cap = rq->app->cfg.events_max_streams;
    if (__atomic_add_fetch(&h->open, 1, __ATOMIC_ACQ_REL) > cap) {
        __atomic_sub_fetch(&h->open, 1, __ATOMIC_ACQ_REL);
        char v[16];
        snprintf(v, sizeof(v), "%d", RETRY_AFTER_S);
        api_add_header(rs, "Retry-After", v);
        api_error(rs, 503, "UNAVAILABLE",
                  "Too many event streams are open (events.max_streams = %d); retry later", cap);
        return;
    }
    ev_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        __atomic_sub_fetch(&h->open, 1, __ATOMIC_ACQ_REL);
        api_error_from(rs, GB_ERR_NOMEM, "events");
        return;
    }
    s->hub = h;
    s->conn = rq->conn;
    s->scopes = rq->scopes;
    s->once = follow && !strcmp(follow, "false");
    s->pos = after >= 0 ? after : newest; /* without a position: from now on */
    s->gap = after >= 0 && after < pruned ? pruned : 0;
    gb_strlcpy(s->account_id, rq->account_id, sizeof(s->account_id));
    gb_strlcpy(s->types, types ? types : "", sizeof(s->types));
    gb_strlcpy(s->id, id ? id : "", sizeof(s->id));
    int per = rq->app->cfg.events_max_streams_per_account, mine = 0;
    pthread_mutex_lock(&h->mu);
    for (ev_stream *o = h->streams; o; o = o->next)
        mine += !__atomic_load_n(&o->gone, __ATOMIC_ACQUIRE) &&
                strcmp(o->account_id, s->account_id) == 0;
    if (mine < per) {
        s->next = h->streams;
        h->streams = s;
    }
    pthread_mutex_unlock(&h->mu);
    if (mine >= per) { /* one account does not take every stream */
        __atomic_sub_fetch(&h->open, 1, __ATOMIC_ACQ_REL);
        free(s);
        char v[16];
        snprintf(v, sizeof(v), "%d", RETRY_AFTER_S);
        api_add_header(rs, "Retry-After", v);
        api_error(rs, 429, "RATE_LIMITED",
                  "This account has %d event streams open (events.max_streams_per_account); "
                  "close one or retry later",
                  mine);
        return;
    }
    rs->status = 200;
    rs->content_type = "text/event-stream";
    api_add_header(rs, "X-Accel-Buffering", "no");
    rs->reader = reader;
    rs->reader_free = reader_done;
    rs->reader_cls = s;
}
