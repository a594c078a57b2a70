/* http_client.h: outgoing HTTP over libcurl. One blocking request with connect and total
 * timeouts and a cap on the response size. (Retries and budgets build on this.) */
#ifndef GB_HTTP_CLIENT_H
#define GB_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"

typedef struct {
    const char *method; /* "GET", "POST", ... */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" list, or NULL */
    const char *body;           /* may be NULL */
    size_t body_len;
    long connect_timeout_ms; /* 0: 5000 */
    long timeout_ms;         /* 0: 30000 */
    size_t max_response;     /* 0: 8 MiB */
    /* Optional address guard: called with each address (after DNS) the request is about to
     * connect to; returning 0 refuses it before any packet is sent (GB_ERR_IO, "refused"). No
     * proxy is used when it is set. */
    int (*allow_ip)(void *ud, const char *ip);
    void *allow_ud;
    /* Optional streaming (a Server-Sent Events client, say): each piece of a 2xx response's
     * body goes to on_chunk as it arrives instead of into resp->body (which stays empty);
     * nonzero from on_chunk ends the transfer and gb_http_do then answers GB_OK with the
     * status and headers. A non-2xx body is collected as usual (max_response applies). */
    int (*on_chunk)(void *ud, const char *data, size_t len);
    /* With on_chunk, optional: called about once a second while the transfer runs; nonzero
     * ends it as on_chunk's does. */
    int (*on_tick)(void *ud);
    void *chunk_ud;
    long idle_timeout_ms; /* with on_chunk: no body byte for this long is GB_ERR_TIMEOUT; 0: none */
    /* PEM file of the CA certificates an https server's certificate is verified against,
     * instead of the system's (CURLOPT_CAINFO); NULL: the system's. Verification is never off. */
    const char *ca_file;
    /* Nonzero: reuse this thread's libcurl handle and so its open connections (keep-alive), a
     * TCP (and TLS) handshake saved per request to the same server. Only a GET or HEAD without
     * allow_ip or on_chunk is served so (otherwise the flag is ignored): libcurl silently
     * resends a request whose reused connection died before an answer, harmless only for a
     * request without side effects, and a reused connection skips the allow_ip check. */
    int keep_alive;
    /* Nonzero: gb_now_ms() past which the request must not leave. libcurl asks just before it
     * sends the request, after connecting (CURLOPT_PREREQFUNCTION), so a thread paused after
     * its caller's last check (a worker whose lease this is) sends nothing once it wakes too
     * late: GB_ERR_IO with resp->late set, never retried. */
    int64_t send_by_ms;
} gb_http_req;

typedef struct {
    long status; /* HTTP status, 0 when no response */
    char *body;  /* NUL-terminated, may be empty; owned */
    size_t body_len;
    char *retry_after; /* the Retry-After header value, or NULL; owned */
    char *headers;     /* all response header lines, "\r\n" separated; owned */
    /* On failure: 1 when the server's TLS certificate could not be verified or the CA file
     * could not be read (gb_http_do_retry does not retry it: trying again cannot help). */
    int tls_untrusted;
    int late; /* on failure: 1 when nothing was sent because send_by_ms had passed */
} gb_http_resp;

/* Retry policy for gb_http_do_retry. Zero fields take the defaults in brackets. */
typedef struct {
    int max_retries;            /* retries after the first try, at most 5 [5]; -1 = none */
    int64_t base_delay_ms;      /* first backoff; doubles each retry, +-50% jitter [250] */
    int64_t max_delay_ms;       /* cap on one backoff [20000] */
    int64_t max_retry_after_ms; /* cap on an honoured Retry-After [60000] */
    long connect_timeout_ms;    /* per attempt [5000] */
    long timeout_ms;            /* per attempt [30000] */
    size_t max_response;        /* [8 MiB] */
    /* Sleeps for ms; NULL = nanosleep. Tests pass a function that moves a test clock. */
    void (*sleep_ms)(void *ud, int64_t ms);
    void *sleep_ud;
} gb_http_policy;

/* Waits ms the way the policy says: its sleep_ms when set, else really (nanosleep). */
void gb_http_policy_sleep(const gb_http_policy *p, int64_t ms);

/* A time by which a request must leave (gb_now_ms()), for a caller with its own libcurl handle
 * (the webhook worker's multi): gb_http_send_limit_set puts it on the handle, and libcurl checks
 * it just before it sends, after connecting (CURLOPT_PREREQFUNCTION); late is then set and the
 * transfer ends with nothing sent. l must outlive the transfer; nonzero when libcurl refused the
 * option. gb_http_do uses the same for gb_http_req.send_by_ms. */
typedef struct {
    int64_t send_by;
    int late;
} gb_http_send_limit;
int gb_http_send_limit_set(void *curl, gb_http_send_limit *l);

/* Call once at start-up before threads (curl_global_init) and once at exit. Cleanup also
 * closes the calling thread's kept connections (other threads' close when they exit). */
gb_err gb_http_global_init(void);
void gb_http_global_cleanup(void);

/* Performs the request. GB_OK whenever a response arrived (any status); otherwise GB_ERR_IO
 * (nothing was sent: refused, unresolvable), GB_ERR_TIMEOUT, GB_ERR_LIMIT (response too large),
 * GB_ERR_HTTP (failed after sending: reset, truncated body).
 * err (may be NULL; a gb_errmsg) gets a message on failure. */
gb_err gb_http_do(const gb_http_req *req, gb_http_resp *resp, gb_errmsg err);
void gb_http_resp_free(gb_http_resp *resp);

/* gb_http_do with retries: on connection errors, timeouts and 429/500/502/503/504 it backs off
 * exponentially with jitter (or waits Retry-After, seconds or an HTTP-date, within bounds)
 * and tries again, at most policy->max_retries times. A non-idempotent request is retried only
 * when it was surely not processed: nothing could be sent (connection refused), or the answer
 * was 429 or 503. Returns like gb_http_do (GB_OK with the last response, whatever its status).
 * *attempts (may be NULL) gets the number of tries made. */
gb_err gb_http_do_retry(const gb_http_req *req, const gb_http_policy *policy, int idempotent,
                        gb_http_resp *resp, gb_errmsg err, int *attempts);
/* A Retry-After value (delta seconds or an IMF-fixdate) in ms from now_ms; -1 if invalid. */
int64_t gb_http_retry_after_ms(const char *value, int64_t now_ms);
/* True for the statuses worth retrying (429, 500, 502, 503, 504). */
int gb_http_status_retryable(long status);
/* The value of a response header (case-insensitive), copied into out; 0 if found. */
int gb_http_resp_header(const gb_http_resp *resp, const char *name, char *out, size_t n);

#endif
