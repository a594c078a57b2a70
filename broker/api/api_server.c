/* api_server.c: libmicrohttpd glue. Collects the request body within the configured limit,
 * authenticates, rate-limits, checks scopes, calls the route's handler and sends its reply
 * with the rate-limit headers; records metrics. */
#include "broker/api/api_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "broker/api/auth.h"
#include "broker/api/metrics.h"
#include "broker/api/ratelimit.h"
#include "broker/api/routes.h"
#include "broker/api/scopes.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

#define MAX_PATH 2048

struct api_server {
    app *app;
    struct MHD_Daemon *d;
};

typedef struct {
    gb_buf body;
    int too_large;
    int64_t t0_us;
} req_ctx;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *api_query(api_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *api_header(api_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, api_resp *rs)
{
    if (!rs->body) api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
    size_t len = rs->body ? strlen(rs->body) : 0;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, rs->body ? rs->body : (char *)"",
                                        rs->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(rs->body);
        rs->body = NULL;
        return MHD_NO;
    }
    rs->body = NULL; /* owned by the response now */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            rs->content_type ? rs->content_type : "application/json");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    for (int i = 0; i < rs->nheaders; i++)
        MHD_add_response_header(r, rs->hname[i], rs->hval[i]);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ret;
}

static const char *find_key(struct MHD_Connection *conn)
{
    const char *k = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-API-Key");
    if (k && *k) return k;
    const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (a && strncasecmp(a, "Bearer ", 7) == 0) {
        a += 7;
        while (*a == ' ')
            a++;
        if (*a) return a;
    }
    return NULL;
}

static void handle(api_server *s, struct MHD_Connection *conn, const char *url, const char *method,
                   req_ctx *ctx, api_resp *rs, int *route_idx)
{
    app *a = s->app;
    api_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.app = a;
    rq.conn = conn;
    rq.method = method;
    rq.path = url;
    rq.body = ctx->body.data;
    rq.body_len = ctx->body.len;
    char pathbuf[MAX_PATH];
    char allow[128] = "";
    if (strlen(url) >= sizeof(pathbuf)) {
        api_error(rs, 414, "URI_TOO_LONG", "Request path is too long");
        return;
    }
    gb_strlcpy(pathbuf, url, sizeof(pathbuf));
    int idx = routes_match(method, pathbuf, &rq, allow, sizeof(allow));
    *route_idx = idx;
    int nroutes;
    const route *table = routes_table(&nroutes);
    const route *rt = idx >= 0 ? &table[idx] : NULL;
    if (!rt || !rt->public_) {
        rq.db = app_db(a);
        if (!rq.db) {
            api_error(rs, 503, "UNAVAILABLE", "Database unavailable");
            return;
        }
        const char *key = find_key(conn);
        if (auth_check(&rq, rs, key) != 0) return;
        ratelimit_result rl;
        ratelimit_hit(a->rl, rq.key_id, gb_now_ms(), &rl);
        char v[32];
        snprintf(v, sizeof(v), "%d", rl.limit);
        api_add_header(rs, "X-RateLimit-Limit", v);
        snprintf(v, sizeof(v), "%d", rl.remaining);
        api_add_header(rs, "X-RateLimit-Remaining", v);
        snprintf(v, sizeof(v), "%lld", (long long)rl.reset_at_s);
        api_add_header(rs, "X-RateLimit-Reset", v);
        if (!rl.allowed) {
            snprintf(v, sizeof(v), "%d", rl.retry_after_s);
            api_add_header(rs, "Retry-After", v);
            api_error(rs, 429, "RATE_LIMITED",
                      "Rate limit exceeded (%d requests per hour). Retry after %d seconds.",
                      rl.limit, rl.retry_after_s);
            return;
        }
    } else {
        rq.db = app_db(a);
    }
    if (idx == -1) {
        api_error(rs, 404, "NOT_FOUND", "No such endpoint: %s %s", method, url);
        return;
    }
    if (idx == -2) {
        api_add_header(rs, "Allow", allow);
        api_error(rs, 405, "METHOD_NOT_ALLOWED", "Method %s is not allowed here (allowed: %s)",
                  method, allow);
        return;
    }
    if (rt->scope && !(rq.scopes & rt->scope) && !(rq.scopes & SCOPE_ADMIN)) {
        api_error(rs, 403, "INSUFFICIENT_SCOPE", "This API key lacks the '%s' scope",
                  scope_name(rt->scope));
        return;
    }
    if (ctx->too_large) {
        api_error(rs, 413, "PAYLOAD_TOO_LARGE", "Request body is larger than %lld bytes",
                  (long long)a->cfg.max_body_bytes);
        return;
    }
    rt->fn(&rq, rs);
    if (rq.db && gb_db_in_txn(rq.db)) { /* a handler bug must not leave a lock behind */
        GB_ERROR("api", "handler for %s left a transaction open; rolled back", rt->name);
        gb_db_rollback(rq.db);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    api_server *s = cls;
    req_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = calloc(1, sizeof(*ctx));
        if (!ctx) return MHD_NO;
        ctx->t0_us = mono_us();
        *con_cls = ctx;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        int64_t n;
        if (cl && gb_parse_i64(cl, 0, INT64_MAX, &n) == 0 && n > s->app->cfg.max_body_bytes)
            ctx->too_large = 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!ctx->too_large) {
            if (ctx->body.len + *upload_data_size > (size_t)s->app->cfg.max_body_bytes)
                ctx->too_large = 1;
            else if (gb_buf_append(&ctx->body, upload_data, *upload_data_size))
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    api_resp rs;
    memset(&rs, 0, sizeof(rs));
    int route_idx = -1;
    handle(s, conn, url, method, ctx, &rs, &route_idx);
    if (!rs.status) api_error(&rs, 500, "INTERNAL_ERROR", "Internal server error");
    int status = rs.status;
    enum MHD_Result ret = send_reply(conn, &rs);
    int64_t dt = mono_us() - ctx->t0_us;
    metrics_observe(s->app->metrics, route_idx, status, dt);
    GB_DEBUG("api", "%s %s -> %d (%lld us)", method, url, status, (long long)dt);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req_ctx *ctx = *con_cls;
    if (!ctx) return;
    gb_buf_free(&ctx->body);
    free(ctx);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    GB_WARN("http", "%s", line);
}

gb_err api_server_start(app *a, api_server **out, uint16_t *port_out, char *err, size_t errsz)
{
    *out = NULL;
    api_server *s = calloc(1, sizeof(*s));
    if (!s) return GB_ERR_NOMEM;
    s->app = a;
    unsigned threads = (unsigned)a->cfg.threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 2;
    }
    struct sockaddr_in6 sa6;
    struct sockaddr_in sa4;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    memset(&sa6, 0, sizeof(sa6));
    memset(&sa4, 0, sizeof(sa4));
    if (inet_pton(AF_INET, a->cfg.listen, &sa4.sin_addr) == 1) {
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons((uint16_t)a->cfg.port);
        sa = (struct sockaddr *)&sa4;
    } else if (inet_pton(AF_INET6, a->cfg.listen, &sa6.sin6_addr) == 1) {
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons((uint16_t)a->cfg.port);
        sa = (struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errsz, "server.listen: '%s' is not an IPv4 or IPv6 address", a->cfg.listen);
        free(s);
        return GB_ERR_INVALID;
    }
    s->d = MHD_start_daemon(flags, (uint16_t)a->cfg.port, NULL, NULL, on_request, s,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, sa,
                            MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errsz, "cannot listen on %s:%d (in use or not permitted)", a->cfg.listen,
                 a->cfg.port);
        free(s);
        return GB_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    *port_out = info ? info->port : (uint16_t)a->cfg.port;
    a->server = s;
    *out = s;
    GB_INFO("api", "listening on %s:%u with %u threads", a->cfg.listen, *port_out, threads);
    return GB_OK;
}

void api_server_stop(api_server *s)
{
    if (!s) return;
    if (s->d) MHD_stop_daemon(s->d);
    if (s->app && s->app->server == s) s->app->server = NULL;
    free(s);
}
