/* http_client.h: outgoing HTTP over libcurl. One blocking request with connect and total
 * timeouts and a cap on the response size. (Retries and budgets build on this.) */
#ifndef GB_HTTP_CLIENT_H
#define GB_HTTP_CLIENT_H

#include <stddef.h>

#include "common/gb.h"

typedef struct {
    const char *method;          /* "GET", "POST", ... */
    const char *url;
    const char *const *headers;  /* NULL-terminated "Name: value" list, or NULL */
    const char *body;            /* may be NULL */
    size_t body_len;
    long connect_timeout_ms;     /* 0: 5000 */
    long timeout_ms;             /* 0: 30000 */
    size_t max_response;         /* 0: 8 MiB */
} gb_http_req;

typedef struct {
    long status;       /* HTTP status, 0 when no response */
    char *body;        /* NUL-terminated, may be empty; owned */
    size_t body_len;
    char *retry_after; /* the Retry-After header value, or NULL; owned */
    char *headers;     /* all response header lines, "\r\n" separated; owned */
} gb_http_resp;

/* Call once at start-up before threads (curl_global_init) and once at exit. */
gb_err gb_http_global_init(void);
void gb_http_global_cleanup(void);

/* Performs the request. GB_OK whenever a response arrived (any status); GB_ERR_TIMEOUT,
 * GB_ERR_LIMIT (response too large), GB_ERR_HTTP (connection failures) otherwise.
 * err (may be NULL, 256 bytes) gets a message on failure. */
gb_err gb_http_do(const gb_http_req *req, gb_http_resp *resp, char *err);
void gb_http_resp_free(gb_http_resp *resp);
/* The value of a response header (case-insensitive), copied into out; 0 if found. */
int gb_http_resp_header(const gb_http_resp *resp, const char *name, char *out, size_t n);

#endif
