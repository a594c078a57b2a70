/* cli_sse.h: the CLI's client of the event stream (GET /api/volt/events): a Server-Sent
 * Events parser, a follower that reconnects with Last-Event-ID, honours Retry-After and backs
 * off, and one GET that reports its status and Retry-After for the waits' polling. */
#ifndef GB_CLI_SSE_H
#define GB_CLI_SSE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

#define CLI_SSE_LINE_MAX (1u << 20) /* a longer line ends the stream as garbage */

/* One dispatched event (valid during the callback). */
typedef struct {
    const char *id;    /* the last event id seen so far ("" when none) */
    const char *event; /* the type; "message" when the frame named none */
    const char *data;  /* the data lines joined with '\n' */
} cli_sse_event;

/* The parser of https://html.spec.whatwg.org/multipage/server-sent-events.html
 * ("Interpreting an event stream"): lines end with CRLF, LF or CR; ':' starts a comment;
 * "field: value" sets event, data (appended), id (kept across events) or retry. */
typedef struct {
    gb_buf line, data;
    char event[129];
    char last_id[32];   /* the last event ID buffer (set by an id field) */
    char stream_id[32]; /* the last event ID string: last_id as of the last blank line, data
                         * or not (what a reconnect sends as Last-Event-ID) */
    long retry_ms;      /* the server's retry: value, -1 when none */
    bool after_cr;      /* the previous byte ended a line with CR: a following LF belongs to it */
    bool bad;           /* an over-long line or field */
    int (*on_event)(void *ud, const cli_sse_event *ev);
    void *ud;
} cli_sse_parser;

void cli_sse_init(cli_sse_parser *p, int (*on_event)(void *ud, const cli_sse_event *ev), void *ud);
/* Feeds bytes; returns the first nonzero on_event answer (parsing stops there), -1 when the
 * stream is garbage (a line over CLI_SSE_LINE_MAX), else 0. */
int cli_sse_feed(cli_sse_parser *p, const char *data, size_t len);
void cli_sse_free(cli_sse_parser *p);

/* What cli_sse_follow answers. */
#define CLI_SSE_STOPPED 1  /* a callback asked to stop */
#define CLI_SSE_DEADLINE 2 /* the deadline passed */
#define CLI_SSE_UNAVAILABLE                                                                        \
    3                   /* the server has no stream for this key (403, 404, 405, ...) or           \
                         * it kept failing: poll instead */
#define CLI_SSE_FATAL 4 /* a 401 or a local problem; the error was printed */

typedef struct {
    const char *path;    /* "/api/volt/events?types=...&id=..." (no after=) */
    char last_id[32];    /* in: resume after it ("" = from now); out: the last id seen */
    int64_t deadline_ms; /* gb_mono_ms() time to give up; 0: none */
    int max_failures;    /* consecutive failed connections before UNAVAILABLE; 0: 5 */
    bool once;           /* follow=false: the server ends the stream when caught up */
    /* Each returns nonzero to stop (cli_sse_follow then answers CLI_SSE_STOPPED). */
    int (*on_event)(void *ud, const cli_sse_event *ev);
    int (*on_open)(void *ud); /* after each connection's first bytes (optional) */
    int (*on_tick)(void *ud); /* about once a second (optional) */
    void *ud;
    int reconnects; /* out: how many times it connected again */
} cli_sse_follow_opts;

/* Follows the stream until a callback stops it, the deadline, or the server refuses it;
 * reconnects after a drop with Last-Event-ID, waiting Retry-After on 429/503 and otherwise
 * backing off exponentially (1 s doubling to 30 s; reset after a connection that delivered). */
int cli_sse_follow(cli_sse_follow_opts *o);

/* One GET of path with the CLI's URL and key: CLI_OK with *status (0 when no answer), *json
 * (the parsed body or NULL; caller deletes) and *retry_after_ms (-1 when none); CLI_ERR_CONN
 * when it could not be sent (err gets why), CLI_ERR_USAGE without a key (printed). */
int cli_get_once(const char *path, long *status, cJSON **json, int64_t *retry_after_ms, char *err,
                 size_t errsz);

/* Sleeps ms, or until deadline_ms (gb_mono_ms(); 0: none), calling tick(ud) each second
 * (optional). Returns nonzero when the deadline was reached. */
int cli_sleep_until(int64_t ms, int64_t deadline_ms, int (*tick)(void *ud), void *ud);

/* The wait before the next try after `failures` consecutive failures (1, 2, ...): 1 s
 * doubling up to cap_ms; a Retry-After (retry_after_ms >= 0) waits at least that long. */
int64_t cli_backoff_ms(int failures, int64_t cap_ms, int64_t retry_after_ms);

#endif
