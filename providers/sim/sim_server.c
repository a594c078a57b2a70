/* sim_server.c: the simulator's HTTP server (libmicrohttpd, one thread per connection):
 * collects the body, routes to the platform's handlers, applies fault rules and sends the
 * answer, whole, truncated or not at all. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/str.h"
#include "providers/sim/sim_internal.h"

#define MAX_SEGS 32
#define ROUTE_NONE (-1)
#define ROUTE_BAD_METHOD (-2)

typedef struct {
    gb_buf body;
    bool too_large;
} req_ctx;

typedef enum { SEND_WHOLE, SEND_TRUNCATED, SEND_NOTHING } send_mode;

/* Splits s (modified) after its leading '/' into '/'-separated segments; -1 if too many. */
static int split(char *s, char **segs)
{
    int n = 0;
    if (*s == '/') s++;
    for (;;) {
        if (n == MAX_SEGS) return -1;
        segs[n++] = s;
        char *slash = strchr(s, '/');
        if (!slash) return n;
        *slash = '\0';
        s = slash + 1;
    }
}

/* Does the split path match pattern? Fills rq->params (pointers into the path's segments). */
static bool pattern_matches(const char *pattern, char **segs, int nsegs, sim_req *rq)
{
    char buf[512];
    char *pseg[MAX_SEGS];
    if (gb_strlcpy(buf, pattern, sizeof(buf)) >= sizeof(buf)) return false;
    int np = split(buf, pseg);
    if (np != nsegs) return false;
    int nparams = 0;
    for (int i = 0; i < np; i++) {
        if (pseg[i][0] == ':') {
            if (segs[i][0] == '\0' || nparams == SIM_MAX_PARAMS) return false;
            rq->params[nparams++] = segs[i];
        } else if (strcmp(pseg[i], segs[i]) != 0) {
            return false;
        }
    }
    rq->nparams = nparams;
    return true;
}

/* The index of the route for rq (params filled in), ROUTE_NONE or ROUTE_BAD_METHOD. work is a
 * copy of the path that the params point into. */
static int route_find(const sim_platform *p, char *work, sim_req *rq)
{
    char *segs[MAX_SEGS];
    int nsegs = split(work, segs);
    if (nsegs < 0) return ROUTE_NONE;
    int found = ROUTE_NONE;
    for (size_t i = 0; i < p->nroutes; i++) {
        sim_req probe = *rq;
        if (!pattern_matches(p->routes[i].pattern, segs, nsegs, &probe)) continue;
        if (strcmp(p->routes[i].method, rq->method) != 0) {
            found = ROUTE_BAD_METHOD;
            continue;
        }
        *rq = probe;
        return (int)i;
    }
    return found;
}

/* Serves one platform request into rs; *mode says how to send it. */
static void serve(sim_server *s, sim_req *rq, bool too_large, sim_resp *rs, send_mode *mode)
{
    const sim_platform *p = s->p;
    char *work = gb_strdup(rq->path);
    char *key = NULL;
    sim_fault f;
    if (!work) goto nomem;
    int idx = route_find(p, work, rq);
    key = gb_asprintf("%s %s", rq->method, idx >= 0 ? p->routes[idx].pattern : rq->path);
    if (!key) goto nomem;
    sim_count_request(s, key, sim_header(rq, "X-Request-Id"));
    bool faulted = sim_faults_take(s, rq->method, rq->path, &f);
    if (faulted && f.latency_ms > 0 && !sim_sleep_ms(s, f.latency_ms)) {
        *mode = SEND_NOTHING; /* stopping */
        goto done;
    }
    if (faulted && f.status) {
        sim_error(s, rs, f.status, "injected fault");
        if (f.retry_after > 0)
            gb_snprintf(rs->retry_after, sizeof(rs->retry_after), "%d", f.retry_after);
        goto done;
    }
    if (faulted && f.capacity_error) {
        free(rs->body);
        rs->body = NULL;
        if (p->capacity_error)
            p->capacity_error(rs);
        else
            sim_error(s, rs, 503, "no capacity");
        if (f.retry_after > 0 && !rs->retry_after[0])
            gb_snprintf(rs->retry_after, sizeof(rs->retry_after), "%d", f.retry_after);
        goto done;
    }
    if (too_large) {
        sim_error(s, rs, 413, "request body is larger than %zu bytes", SIM_MAX_BODY);
    } else if (idx == ROUTE_NONE) {
        sim_error(s, rs, 404, "no route for %s %s", rq->method, rq->path);
    } else if (idx == ROUTE_BAD_METHOD) {
        sim_error(s, rs, 405, "method %s is not allowed on %s", rq->method, rq->path);
    } else {
        pthread_mutex_lock(&s->lock);
        if (!p->auth || p->auth(s, s->state, rq, rs) == 0) {
            if (p->tick) p->tick(s->state, sim_now(s));
            p->routes[idx].fn(s, s->state, rq, rs);
        }
        pthread_mutex_unlock(&s->lock);
        if (rs->status < 100 || rs->status > 599)
            sim_error(s, rs, 500, "handler gave no valid answer (status %d)", rs->status);
    }
    if (faulted && f.answer_after_ms > 0 && !sim_sleep_ms(s, f.answer_after_ms)) {
        *mode = SEND_NOTHING; /* stopping */
        goto done;
    }
    if (faulted && f.drop_response)
        *mode = SEND_NOTHING;
    else if (faulted && f.truncate_body)
        *mode = SEND_TRUNCATED;
    goto done;
nomem:
    sim_error(s, rs, 500, "out of memory");
done:
    free(key);
    free(work);
}

typedef struct {
    char *body;
    size_t half;
} trunc_body;

static ssize_t trunc_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    trunc_body *t = cls;
    if (pos >= t->half) return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = t->half - (size_t)pos;
    if (n > max) n = max;
    memcpy(buf, t->body + pos, n);
    return (ssize_t)n;
}

static void trunc_free(void *cls)
{
    trunc_body *t = cls;
    free(t->body);
    free(t);
}

/* Queues rs (taking its body). Truncated: the full Content-Length but only the first half of
 * the bytes, then the connection closes (an empty body is not sent at all). */
static enum MHD_Result send_reply(struct MHD_Connection *conn, sim_resp *rs, send_mode mode)
{
    size_t len = rs->body ? strlen(rs->body) : 0;
    struct MHD_Response *r = NULL;
    if (mode == SEND_TRUNCATED) {
        trunc_body *t = len ? malloc(sizeof(*t)) : NULL;
        if (!t) goto fail;
        t->body = rs->body;
        t->half = len / 2;
        r = MHD_create_response_from_callback(len, 4096, trunc_read, t, trunc_free);
        if (!r) {
            free(t);
            goto fail;
        }
    } else if (rs->body) {
        r = MHD_create_response_from_buffer(len, rs->body, MHD_RESPMEM_MUST_FREE);
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r) goto fail;
    rs->body = NULL; /* the response owns it */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            rs->content_type ? rs->content_type : "application/json");
    if (rs->retry_after[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, rs->retry_after);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ret;
fail:
    free(rs->body);
    rs->body = NULL;
    return MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    sim_server *s = cls;
    req_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = calloc(1, sizeof(*ctx));
        if (!ctx) return MHD_NO;
        *con_cls = ctx;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        int64_t n;
        if (cl && gb_parse_i64(cl, 0, INT64_MAX, &n) == 0 && n > (int64_t)SIM_MAX_BODY)
            ctx->too_large = true;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!ctx->too_large) {
            if (ctx->body.len + *upload_data_size > SIM_MAX_BODY)
                ctx->too_large = true;
            else if (gb_buf_append(&ctx->body, upload_data, *upload_data_size))
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    sim_req rq;
    sim_resp rs;
    memset(&rq, 0, sizeof(rq));
    memset(&rs, 0, sizeof(rs));
    rq.method = method;
    rq.path = url;
    rq.body = ctx->body.data;
    rq.body_len = ctx->body.len;
    rq.conn = conn;
    send_mode mode = SEND_WHOLE;
    if (strncmp(url, "/_sim/", 6) == 0)
        sim_control(s, &rq, ctx->too_large, &rs);
    else if (strncmp(url, "/_trainer/", 10) == 0)
        sim_trainer_state(s, &rq, &rs);
    else
        serve(s, &rq, ctx->too_large, &rs, &mode);
    GB_DEBUG("sim", "%s: %s %s -> %d%s", s->p->name, method, url, rs.status,
             mode == SEND_NOTHING     ? " (dropped)"
             : mode == SEND_TRUNCATED ? " (truncated)"
                                      : "");
    if (mode == SEND_NOTHING) {
        free(rs.body);
        return MHD_NO; /* MHD closes the connection without an answer */
    }
    return send_reply(conn, &rs, mode);
}

/* Counts accepted connections (MHD_OPTION_NOTIFY_CONNECTION). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)conn;
    (void)socket_context;
    sim_server *s = cls;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED) return;
    pthread_mutex_lock(&s->meta);
    s->connections++;
    pthread_mutex_unlock(&s->meta);
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
    GB_DEBUG("sim", "mhd: %s", line);
}

gb_err sim_start(const sim_platform *p, uint16_t port, const char *secret, sim_server **out,
                 uint16_t *port_out)
{
    gb_err e = GB_ERR_NOMEM;
    int inited = 0;
    if (!out) return GB_ERR_INVALID;
    *out = NULL;
    if (!p || !p->name || (p->nroutes && !p->routes)) return GB_ERR_INVALID;
    sim_server *s = calloc(1, sizeof(*s));
    if (!s) return GB_ERR_NOMEM;
    s->p = p;
    s->secret = gb_strdup(secret ? secret : "");
    if (!s->secret) goto fail;
    pthread_condattr_t ca;
    if (pthread_mutex_init(&s->lock, NULL)) goto fail;
    inited = 1;
    if (pthread_mutex_init(&s->meta, NULL)) goto fail;
    inited = 2;
    if (pthread_condattr_init(&ca)) goto fail;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rc) goto fail;
    inited = 3;
    sim_clock_init(s);
    if (p->state_new) {
        s->state = p->state_new(s);
        if (!s->state) goto fail;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    s->d = MHD_start_daemon(
        flags, port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)120, MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_END);
    if (!s->d) {
        GB_DEBUG("sim", "%s: cannot listen on 127.0.0.1:%u", p->name, (unsigned)port);
        e = GB_ERR_IO;
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info && info->port ? info->port : port;
    if (!s->port) {
        e = GB_ERR_IO;
        goto fail;
    }
    if (port_out) *port_out = s->port;
    *out = s;
    GB_DEBUG("sim", "%s: listening on 127.0.0.1:%u", p->name, (unsigned)s->port);
    return GB_OK;
fail:
    if (s->d) MHD_stop_daemon(s->d);
    if (s->state && p->state_free) p->state_free(s->state);
    if (inited >= 3) pthread_cond_destroy(&s->wake);
    if (inited >= 2) pthread_mutex_destroy(&s->meta);
    if (inited >= 1) pthread_mutex_destroy(&s->lock);
    if (s->secret) gb_memzero(s->secret, strlen(s->secret));
    free(s->secret);
    free(s);
    return e;
}

void sim_stop(sim_server *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->meta);
    s->stopping = true;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->meta);
    sim_trainers_stop_all(s);        /* they read the clock of s */
    if (s->d) MHD_stop_daemon(s->d); /* joins the connection threads */
    GB_DEBUG("sim", "%s: stopped", s->p->name);
    if (s->state && s->p->state_free) s->p->state_free(s->state);
    sim_faults_free(s);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->meta);
    pthread_mutex_destroy(&s->lock);
    gb_memzero(s->secret, strlen(s->secret));
    free(s->secret);
    free(s);
}
