/* api.h: what a route handler sees: the request (path parameters, query, headers, body,
 * the caller's account and scopes) and the response it fills. Errors use the Volt body
 * {"error":true,"status":N,"message":"...","code":"..."}. */
#ifndef GB_API_H
#define GB_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "broker/core/app.h"
#include "common/ids.h"

#define API_MAX_PARAMS 4
#define API_MAX_HEADERS 8

typedef struct api_req {
    app *app;
    gb_db *db;
    const char *method;
    const char *path;
    const char *params[API_MAX_PARAMS]; /* ":id" segments of the route, in order */
    int nparams;
    void *conn; /* the server connection (opaque to handlers) */
    const char *body;
    size_t body_len;
    /* the authenticated caller */
    char account_id[GB_ID_MAX];
    char key_id[GB_ID_MAX];
    unsigned scopes;
} api_req;

typedef struct api_resp {
    int status;
    char *body; /* malloc'd */
    const char *content_type;
    const char *hname[API_MAX_HEADERS];
    char hval[API_MAX_HEADERS][96];
    int nheaders;
    int page; /* a dashboard file: sent with the page security headers (api_server.c) */
    /* A streamed reply instead of body (the event stream, api_events.c): libmicrohttpd pulls
     * it from reader (its MHD_ContentReaderCallback) with chunked encoding and calls
     * reader_free(reader_cls) when the connection is done with it. */
    ssize_t (*reader)(void *cls, uint64_t pos, char *buf, size_t max);
    void (*reader_free)(void *cls);
    void *reader_cls;
} api_resp;

typedef void (*api_handler)(api_req *rq, api_resp *rs);

/* For a streamed reply's reader: what it returns at the regular end and on an error
 * (libmicrohttpd's MHD_CONTENT_READER_END_OF_STREAM and _END_WITH_ERROR; api_server.c checks
 * they match), and parking its connection: api_conn_suspend only from within the reader
 * (which then returns 0), api_conn_resume from any thread (libmicrohttpd's
 * MHD_suspend_connection and MHD_resume_connection; the server allows them). */
#define API_STREAM_END ((ssize_t)-1)
#define API_STREAM_ERROR ((ssize_t)-2)
void api_conn_suspend(void *conn);
void api_conn_resume(void *conn);

/* A query-string argument or NULL. */
const char *api_query(api_req *rq, const char *name);
/* The name of the first query-string argument not in allowed (NULL-terminated), or NULL when
 * every one is known. The name lives as long as the request. */
const char *api_query_unknown(api_req *rq, const char *const *allowed);
/* Answers 400 VALIDATION_ERROR naming the first unknown query parameter (its name echoed only
 * when it looks like a parameter name) and returns -1; 0 when every one is in allowed. */
int api_query_only(api_req *rq, api_resp *rs, const char *const *allowed);
/* A request header (case-insensitive) or NULL. */
const char *api_header(api_req *rq, const char *name);

/* Parses the body as a JSON object within the configured limits. On failure writes the
 * 400/413 error into rs and returns NULL. Caller frees the result with cJSON_Delete. */
cJSON *api_body_object(api_req *rq, api_resp *rs);

/* True when a Content-Type header value names JSON: "application/json" in any case, with
 * optional whitespace around it and optional parameters after a ';' ("; charset=utf-8").
 * NULL and anything else (text/plain, form types, application/json-patch+json) are false. */
bool api_is_json_type(const char *content_type);

/* Replies with body (ownership taken; NULL means out of memory -> 500). */
void api_json(api_resp *rs, int status, cJSON *body);
void api_text(api_resp *rs, int status, const char *content_type, char *body);
void api_error(api_resp *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Answers a store/vault error with its default in GB_ERRORS (common/gb.h): NOT_FOUND -> 404
 * "<what> not found", CONFLICT -> 409, INVALID -> 400, anything else -> 500 (details only in
 * the log). */
void api_error_from(api_resp *rs, gb_err e, const char *what);
/* The failure of a create of an object an account owns: GB_ERR_LIMIT is 409 LIMIT_REACHED
 * naming max and plural ("SSH keys"); anything else as api_error_from(what). */
void api_owned_error(api_resp *rs, gb_err e, int64_t max, const char *plural, const char *what);
void api_add_header(api_resp *rs, const char *name, const char *value);

/* Finishes a list reply: o holds the array arr under its list key. On e != GB_OK deletes o
 * and answers with api_error_from(what); otherwise adds "total" and answers 200. */
void api_list(api_resp *rs, cJSON *o, const cJSON *arr, gb_err e, const char *what);

/* {"id": id, "deleted": true, "message": msg} */
void api_deleted(api_resp *rs, const char *id, const char *message);
/* Adds gpu_type in Volt's spelling ("RTX 4090", "H100 80GB": gpu_volt_name) and the broker's
 * normalized type as gpu_type_normalized ("RTX4090", "H100"). */
void api_add_gpu_type(cJSON *o, const char *normalized);

#endif
