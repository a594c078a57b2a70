/* api_server.c: libmicrohttpd glue. Bounds connections (in all, per client address, and the
 * time to receive a whole request), collects the request body within the configured limit,
 * authenticates, rate-limits, checks scopes and the body's Content-Type, calls the route's
 * handler and sends its reply with the rate-limit headers; records metrics. Optionally speaks
 * TLS (libmicrohttpd's GnuTLS) with a certificate that SIGHUP can replace. */
#include "broker/api/api_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/api/api_events.h"
#include "broker/api/auth.h"
#include "broker/api/idem.h"
#include "broker/api/metrics.h"
#include "broker/api/ratelimit.h"
#include "broker/api/reqtimer.h"
#include "broker/api/routes.h"
#include "broker/api/scopes.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "common/worker.h"

#define MAX_PATH 2048
#define FD_RESERVE 256 /* descriptors kept for the database, providers, webhooks, logs */
#define IDLE_TIMEOUT_S 30u
#define STREAM_BLOCK 16384 /* the buffer a streamed reply is pulled into */

struct api_server {
    app *app;
    struct MHD_Daemon *d;
    reqtimer *rt;       /* the deadline of each connection's request */
    gb_worker *sweeper; /* cuts off requests past their deadline */
    ev_hub *hub;        /* the event streams (api_events.c) */
    int unbounded_warned;
    int tls; /* serving HTTPS with tls_current */
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

typedef struct {
    const char *const *allowed;
    const char *unknown;
} query_scan;

static enum MHD_Result scan_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    (void)value;
    query_scan *q = cls;
    for (const char *const *a = q->allowed; key && *a; a++)
        if (strcmp(*a, key) == 0) return MHD_YES;
    q->unknown = key ? key : "";
    return MHD_NO; /* the first unknown one is enough */
}

const char *api_query_unknown(api_req *rq, const char *const *allowed)
{
    query_scan q = {allowed, NULL};
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, scan_arg, &q);
    return q.unknown;
}

const char *api_header(api_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

_Static_assert(API_STREAM_END == MHD_CONTENT_READER_END_OF_STREAM, "API_STREAM_END");
_Static_assert(API_STREAM_ERROR == MHD_CONTENT_READER_END_WITH_ERROR, "API_STREAM_ERROR");

void api_conn_suspend(void *conn)
{
    MHD_suspend_connection(conn);
}

void api_conn_resume(void *conn)
{
    MHD_resume_connection(conn);
}

struct ev_hub *api_server_hub(api_server *s)
{
    return s ? s->hub : NULL;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, api_resp *rs)
{
    struct MHD_Response *r = NULL;
    if (rs->reader) { /* a stream: pulled by libmicrohttpd, chunked */
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, rs->reader,
                                              rs->reader_cls, rs->reader_free);
        if (!r) {
            rs->reader_free(rs->reader_cls);
            free(rs->body);
            rs->body = NULL;
            return MHD_NO;
        }
        goto headers;
    }
    if (!rs->body) api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
    size_t len = rs->body ? strlen(rs->body) : 0;
    r = MHD_create_response_from_buffer(len, rs->body ? rs->body : (char *)"",
                                        rs->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(rs->body);
        rs->body = NULL;
        return MHD_NO;
    }
    rs->body = NULL; /* owned by the response now */
headers:
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            rs->content_type ? rs->content_type : "application/json");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    for (int i = 0; i < rs->nheaders; i++)
        MHD_add_response_header(r, rs->hname[i], rs->hval[i]);
    if (rs->page) {
        /* the dashboard's pages: scripts and styles from this origin only (no inline ones),
         * requests to this origin only, never framed, no referrer (docs/dashboard.md) */
        MHD_add_response_header(
            r, "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    }
    if (gb_request_id()) MHD_add_response_header(r, "X-Request-Id", gb_request_id());
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

/* A request carries a body when any byte of one arrived or its Content-Length is not 0. */
static int has_body(struct MHD_Connection *conn, const req_ctx *ctx)
{
    if (ctx->body.len || ctx->too_large) return 1;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    int64_t n;
    return cl && !(gb_parse_i64(cl, 0, INT64_MAX, &n) == 0 && n == 0);
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
    if (has_body(conn, ctx) &&
        !api_is_json_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"))) {
        api_error(rs, 415, "UNSUPPORTED_MEDIA_TYPE",
                  "A request body must be sent as Content-Type: application/json");
        return;
    }
    /* an unknown query parameter is refused like an unknown body field (public routes, probed
     * by monitors, take any) */
    static const char *const no_query[] = {NULL};
    if (!rt->public_ && api_query_only(&rq, rs, rt->query ? rt->query : no_query)) return;
    idem_handle(rt->name, rt->fn, &rq, rs); /* rt->fn, under Idempotency-Key's rules */
    if (rq.db && gb_db_in_txn(rq.db)) {     /* a handler bug must not leave a lock behind */
        GB_ERROR("api", "handler for %s left a transaction open; rolled back", rt->name);
        gb_db_rollback(rq.db);
    }
}

/* The deadline slot of a connection (its socket context), or NULL when it has none. */
static reqtimer_slot *conn_slot(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* libmicrohttpd calls this when a connection starts and, before it closes the socket, when it
 * ends (daemon.c: MHD_cleanup_connections and the failure path of internal_add_connection
 * notify CLOSED, then close), so a slot never outlives its descriptor. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    api_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        reqtimer_remove(s->rt, *socket_context);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    *socket_context = ci ? reqtimer_add(s->rt, ci->connect_fd, gb_mono_ms()) : NULL;
    if (!*socket_context && !__atomic_exchange_n(&s->unbounded_warned, 1, __ATOMIC_RELAXED))
        GB_WARN("api", "a connection has no request deadline (no free slot); further ones are "
                       "not logged");
}

static bool sweep_round(void *ud)
{
    api_server *s = ud;
    int n = reqtimer_sweep(s->rt, gb_mono_ms());
    if (n)
        GB_INFO("api", "closed %d connection(s) that did not send a whole request within %d ms", n,
                s->app->cfg.request_timeout_ms);
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    api_server *s = cls;
    req_ctx *ctx = *con_cls;
    reqtimer_slot *slot = conn_slot(conn);
    if (reqtimer_expired(s->rt, slot, gb_mono_ms())) {
        /* headers or body still arriving past the bound: close without an answer (the sweep
         * would shut the socket down on its next round anyway) */
        GB_DEBUG("api", "%s %s: request not received within %d ms; closing", method, url,
                 s->app->cfg.request_timeout_ms);
        return MHD_NO;
    }
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
    reqtimer_disarm(s->rt, slot); /* whole: no deadline while it is answered */
    /* the caller's X-Request-Id when valid, else a new one: in logs, errors, the reply and the
     * provider calls made on this thread (docs/operations.md, Monitoring) */
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    char fresh[40];
    if (!gb_request_id_valid(rid)) gb_request_id_new(fresh, sizeof(fresh));
    gb_request_id_set(gb_request_id_valid(rid) ? rid : fresh);
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
    gb_request_id_set(NULL);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    api_server *s = cls;
    /* a kept-alive connection's next request is due within the bound from now */
    reqtimer_arm(s->rt, conn_slot(conn), gb_mono_ms());
    req_ctx *ctx = *con_cls;
    if (!ctx) return;
    gb_buf_free(&ctx->body);
    free(ctx);
    *con_cls = NULL;
}

/* libmicrohttpd's messages, at most LOG_BURST per LOG_WINDOW_MS: a flood of refused
 * connections must not become a flood of log lines. */
#define LOG_BURST 20
#define LOG_WINDOW_MS 10000

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static int64_t window_start;
    static int in_window;
    static long suppressed;
    int64_t now = gb_mono_ms();
    long dropped = 0;
    pthread_mutex_lock(&mu);
    if (now - window_start >= LOG_WINDOW_MS) {
        dropped = suppressed;
        suppressed = 0;
        window_start = now;
        in_window = 0;
    }
    int show = in_window < LOG_BURST;
    if (show)
        in_window++;
    else
        suppressed++;
    pthread_mutex_unlock(&mu);
    if (dropped) GB_WARN("http", "%ld more libmicrohttpd messages were not logged", dropped);
    if (!show) return;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    GB_WARN("http", "%s", line);
}

/* Makes room for want connections: raises the soft open-file limit to the hard one when it is
 * short, and returns how many connections fit under it. */
static unsigned fit_connections(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return want;
    rlim_t need = (rlim_t)want + FD_RESERVE;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            GB_INFO("api", "raised the open-file limit from %llu to %llu for %u connections",
                    (unsigned long long)old, (unsigned long long)rl.rlim_cur, want);
        else
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) return want;
    unsigned fit = rl.rlim_cur > FD_RESERVE + 16 ? (unsigned)(rl.rlim_cur - FD_RESERVE) : 16;
    GB_WARN("api",
            "the open-file limit (%llu) leaves room for %u connections, not "
            "server.max_connections=%u; raise the hard limit (ulimit -Hn) to allow more",
            (unsigned long long)rl.rlim_cur, fit, want);
    return fit;
}

/* ---- TLS: the certificate and key of server.tls_cert_file / tls_key_file, handed to GnuTLS
 * by a certificate callback (MHD_OPTION_HTTPS_CERT_CALLBACK, gnutls_certificate_set_retrieve_
 * function2(3)) so that SIGHUP can swap them for new connections without closing the port. */

#define TLS_MAX_CHAIN 16
#define TLS_FILE_MAX (1 << 20)

typedef struct tls_cred {
    gnutls_pcert_st pcert[TLS_MAX_CHAIN];
    unsigned npcert;
    gnutls_privkey_t key;
    struct tls_cred *older; /* the ones it replaced: a handshake may still use them */
} tls_cred;

/* The callback gets no user pointer, so the credentials are the process's: one TLS server a
 * process (the daemon has one). Replaced ones are kept until the server stops. */
static pthread_mutex_t tls_mu = PTHREAD_MUTEX_INITIALIZER;
static tls_cred *tls_current;

static void tls_cred_free(tls_cred *c)
{
    while (c) {
        tls_cred *o = c->older;
        for (unsigned i = 0; i < c->npcert; i++)
            gnutls_pcert_deinit(&c->pcert[i]);
        if (c->key) gnutls_privkey_deinit(c->key);
        free(c);
        c = o;
    }
}

static int tls_retrieve(gnutls_session_t sess, const gnutls_datum_t *req_ca_dn, int nreqs,
                        const gnutls_pk_algorithm_t *algos, int nalgos, gnutls_pcert_st **pcert,
                        unsigned int *npcert, gnutls_privkey_t *pkey)
{
    (void)sess, (void)req_ca_dn, (void)nreqs, (void)algos, (void)nalgos;
    pthread_mutex_lock(&tls_mu);
    tls_cred *c = tls_current;
    pthread_mutex_unlock(&tls_mu);
    if (!c) return -1; /* ends the handshake */
    *pcert = c->pcert;
    *npcert = c->npcert;
    *pkey = c->key;
    return 0;
}

/* Reads the whole file at path (at most TLS_FILE_MAX bytes) into *out; for the key, refuses
 * one that group or others may read, as ssh does. */
static gb_err tls_read(const char *what, const char *path, int secret, gb_buf *out, char *err,
                       size_t errsz)
{
    struct stat st;
    char chunk[4096];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    gb_err e = GB_ERR_IO;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errsz, "%s: cannot read %s: %s", what, path, strerror(errno));
        goto done;
    }
    if (secret && (st.st_mode & 077)) {
        snprintf(err, errsz,
                 "%s: permissions %04o for %s are too open: a private key must not be readable by "
                 "group or others (chmod 600 %s)",
                 what, (unsigned)(st.st_mode & 07777), path, path);
        e = GB_ERR_FORBIDDEN;
        goto done;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        if (out->len + (size_t)n > TLS_FILE_MAX) {
            snprintf(err, errsz, "%s: %s is larger than %d bytes", what, path, TLS_FILE_MAX);
            e = GB_ERR_LIMIT;
            goto done;
        }
        if (gb_buf_append(out, chunk, (size_t)n)) {
            e = GB_ERR_NOMEM;
            goto done;
        }
    }
    if (n < 0 || out->len == 0) {
        snprintf(err, errsz, "%s: cannot read %s: %s", what, path,
                 n < 0 ? strerror(errno) : "empty");
        goto done;
    }
    e = GB_OK;
done:
    gb_memzero(chunk, sizeof(chunk));
    if (fd >= 0) close(fd);
    return e;
}

/* Loads a certificate chain and its key into *out; the pair is checked to match. */
static gb_err tls_load(const char *cert_path, const char *key_path, tls_cred **out, char *err,
                       size_t errsz)
{
    *out = NULL;
    gb_buf cert = {0}, key = {0};
    gnutls_certificate_credentials_t check = NULL;
    tls_cred *c = NULL;
    gb_err e = tls_read("server.tls_cert_file", cert_path, 0, &cert, err, errsz);
    if (!e) e = tls_read("server.tls_key_file", key_path, 1, &key, err, errsz);
    if (e) goto done;
    e = GB_ERR_INVALID;
    gnutls_datum_t cd = {(unsigned char *)cert.data, (unsigned)cert.len};
    gnutls_datum_t kd = {(unsigned char *)key.data, (unsigned)key.len};
    int r = gnutls_certificate_allocate_credentials(&check);
    /* this one checks that the key belongs to the certificate (GNUTLS_E_CERTIFICATE_KEY_
     * MISMATCH); the callback then hands out the same pair */
    if (r >= 0)
        r = gnutls_certificate_set_x509_key_mem2(check, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (r < 0) {
        snprintf(err, errsz, "server.tls_cert_file %s with server.tls_key_file %s: %s", cert_path,
                 key_path, gnutls_strerror(r));
        goto done;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        e = GB_ERR_NOMEM;
        goto done;
    }
    c->npcert = TLS_MAX_CHAIN;
    r = gnutls_pcert_list_import_x509_raw(c->pcert, &c->npcert, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (r < 0) c->npcert = 0;
    if (r >= 0) r = gnutls_privkey_init(&c->key);
    if (r >= 0) r = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (r < 0) {
        snprintf(err, errsz, "server.tls_cert_file %s: %s (at most %d certificates)", cert_path,
                 gnutls_strerror(r), TLS_MAX_CHAIN);
        goto done;
    }
    *out = c;
    c = NULL;
    e = GB_OK;
done:
    tls_cred_free(c);
    if (check) gnutls_certificate_free_credentials(check);
    if (key.data) gb_memzero(key.data, key.len);
    gb_buf_free(&key);
    gb_buf_free(&cert);
    return e;
}

gb_err api_server_tls_reload(api_server *s, const char *cert_path, const char *key_path, char *err,
                             size_t errsz)
{
    if (!s || !s->tls) {
        snprintf(err, errsz, "the server was started without TLS: restart it to turn TLS on");
        return GB_ERR_INVALID;
    }
    tls_cred *c = NULL;
    gb_err e = tls_load(cert_path, key_path, &c, err, errsz);
    if (e) return e;
    pthread_mutex_lock(&tls_mu);
    c->older = tls_current;
    tls_current = c;
    pthread_mutex_unlock(&tls_mu);
    return GB_OK;
}

/* Loads the configured pair for a new server (s->tls set on success). */
static gb_err tls_start(api_server *s, char *err, size_t errsz)
{
    const gb_config *cfg = &s->app->cfg;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
        MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
        snprintf(err, errsz,
                 "server.tls_cert_file is set but this libmicrohttpd was built without "
                 "TLS (GnuTLS) support: unset the TLS keys or use a reverse proxy");
        return GB_ERR_INVALID;
    }
    pthread_mutex_lock(&tls_mu);
    int busy = tls_current != NULL;
    pthread_mutex_unlock(&tls_mu);
    if (busy) {
        snprintf(err, errsz, "another TLS server runs in this process (one at most)");
        return GB_ERR_CONFLICT;
    }
    tls_cred *c = NULL;
    gb_err e = tls_load(cfg->tls_cert_file, cfg->tls_key_file, &c, err, errsz);
    if (e) return e;
    pthread_mutex_lock(&tls_mu);
    tls_current = c;
    pthread_mutex_unlock(&tls_mu);
    s->tls = 1;
    return GB_OK;
}

static void tls_stop(api_server *s)
{
    if (!s->tls) return;
    pthread_mutex_lock(&tls_mu);
    tls_cred *c = tls_current;
    tls_current = NULL;
    pthread_mutex_unlock(&tls_mu);
    tls_cred_free(c);
    s->tls = 0;
}

gb_err api_server_start(app *a, api_server **out, uint16_t *port_out, char *err, size_t errsz)
{
    *out = NULL;
    gb_err e = GB_ERR_NOMEM;
    api_server *s = calloc(1, sizeof(*s));
    if (!s) goto fail;
    s->app = a;
    unsigned threads = a->cfg.threads > 0 ? (unsigned)a->cfg.threads : 1;
    unsigned conns = fit_connections((unsigned)a->cfg.max_connections);
    if (threads > conns) threads = conns; /* each thread gets conns / threads (0 refuses all) */
    s->rt = reqtimer_new((int)conns, a->cfg.request_timeout_ms);
    if (!s->rt) goto fail;
    struct sockaddr_in6 sa6;
    struct sockaddr_in sa4;
    struct sockaddr *sa;
    /* suspend/resume: an event stream with nothing to send is parked (api_events.c) */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
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
        e = GB_ERR_INVALID;
        goto fail;
    }
    int64_t sweep_ms = a->cfg.request_timeout_ms / 10; /* cut at most 10 % (<= 250 ms) late */
    if (sweep_ms > 250) sweep_ms = 250;
    if (sweep_ms < 10) sweep_ms = 10;
    gb_worker_cfg wc = {
        .name = "http-deadlines", .interval_ms = sweep_ms, .round = sweep_round, .ud = s};
    if (!(s->hub = ev_hub_start(a))) {
        snprintf(err, errsz, "cannot start the event stream's thread");
        e = GB_ERR_INTERNAL;
        goto fail;
    }
    if (gb_worker_start(&wc, &s->sweeper) != GB_OK) {
        snprintf(err, errsz, "cannot start the request deadline thread");
        e = GB_ERR_INTERNAL;
        goto fail;
    }
    struct MHD_OptionItem tls_opts[] = {{MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}};
    if (a->cfg.tls_cert_file && a->cfg.tls_cert_file[0]) {
        if ((e = tls_start(s, err, errsz))) goto fail;
        flags |= MHD_USE_TLS;
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
                                              (void *)(intptr_t)tls_retrieve};
    }
    s->d = MHD_start_daemon(
        flags, (uint16_t)a->cfg.port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        s, MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)a->cfg.max_connections_per_address,
        MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errsz, "cannot listen on %s:%d (in use or not permitted)", a->cfg.listen,
                 a->cfg.port);
        e = GB_ERR_IO;
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    *port_out = info ? info->port : (uint16_t)a->cfg.port;
    a->server = s;
    *out = s;
    GB_INFO("api",
            "listening on %s:%u (%s) with %u threads; at most %u connections, %d per address, "
            "%d ms to send a request",
            a->cfg.listen, *port_out, s->tls ? "HTTPS" : "HTTP", threads, conns,
            a->cfg.max_connections_per_address, a->cfg.request_timeout_ms);
    return GB_OK;
fail:
    if (s) {
        gb_worker_stop(s->sweeper);
        ev_hub_close(s->hub);
        ev_hub_free(s->hub);
        reqtimer_free(s->rt);
        tls_stop(s);
        free(s);
    }
    return e;
}

void api_server_stop(api_server *s)
{
    if (!s) return;
    ev_hub_close(s->hub);            /* no connection may be suspended when the daemon stops */
    if (s->d) MHD_stop_daemon(s->d); /* every connection's CLOSED notification comes first */
    ev_hub_free(s->hub);
    gb_worker_stop(s->sweeper);
    reqtimer_free(s->rt);
    tls_stop(s); /* after the daemon: no handshake runs any more */
    if (s->app && s->app->server == s) s->app->server = NULL;
    free(s);
}
