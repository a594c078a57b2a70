/* http_client.c: blocking HTTP requests over libcurl with timeouts and a response cap. */
#include "common/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/str.h"

typedef struct {
    gb_buf body;
    gb_buf headers;
    size_t max;
    int too_big;
    /* streaming (req->on_chunk) */
    const gb_http_req *req;
    CURL *c;
    int stopped, idle;
    int64_t last_byte, last_tick; /* gb_mono_ms() */
} sink;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = sz * n;
    if (s->req->on_chunk) {
        long st = 0;
        curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &st);
        if (st >= 200 && st < 300) {
            s->last_byte = gb_mono_ms();
            if (s->req->on_chunk(s->req->chunk_ud, p, len)) {
                s->stopped = 1;
                return 0;
            }
            return len;
        }
    }
    if (s->body.len + len > s->max) {
        s->too_big = 1;
        return 0;
    }
    return gb_buf_append(&s->body, p, len) == GB_OK ? len : 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = sz * n;
    if (s->headers.len + len > 65536) return 0;
    /* A new status line (after a 100-continue) starts a fresh header block. */
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) gb_buf_reset(&s->headers);
    return gb_buf_append(&s->headers, p, len) == GB_OK ? len : 0;
}

/* With on_chunk: the ticks and the idle bound (libcurl calls this about once a second). */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    sink *s = ud;
    int64_t now = gb_mono_ms();
    if (s->req->on_tick && now - s->last_tick >= 1000) {
        s->last_tick = now;
        if (s->req->on_tick(s->req->chunk_ud)) {
            s->stopped = 1;
            return 1;
        }
    }
    if (s->req->idle_timeout_ms > 0 && now - s->last_byte > s->req->idle_timeout_ms) {
        s->idle = 1;
        return 1;
    }
    return 0;
}

typedef struct {
    const gb_http_req *req;
    int refused;
    char ip[64];
} guard;

static curl_socket_t on_opensocket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    guard *g = ud;
    char ip[INET6_ADDRSTRLEN] = "";
    if (purpose == CURLSOCKTYPE_IPCXN && a->family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->addr)->sin_addr, ip, sizeof(ip));
    else if (purpose == CURLSOCKTYPE_IPCXN && a->family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->addr)->sin6_addr, ip, sizeof(ip));
    if (ip[0] && g->req->allow_ip(g->req->allow_ud, ip))
        return socket(a->family, a->socktype, a->protocol);
    g->refused = 1;
    gb_strlcpy(g->ip, ip[0] ? ip : "?", sizeof(g->ip));
    return CURL_SOCKET_BAD;
}

/* CURLOPT_PREREQFUNCTION: the last moment before the request is sent, on a new connection or
 * a kept one. */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    gb_http_send_limit *l = ud;
    if (gb_now_ms() >= l->send_by) l->late = 1;
    return l->late ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

int gb_http_send_limit_set(void *curl, gb_http_send_limit *l)
{
    return curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION, on_prereq) != CURLE_OK ||
           curl_easy_setopt(curl, CURLOPT_PREREQDATA, l) != CURLE_OK;
}

/* keep_alive: one libcurl handle per thread, parked in a thread-specific slot between requests
 * (libcurl keeps a handle's open connections across curl_easy_reset). A request takes the
 * handle out of the slot while it runs, so a nested request on the same thread gets a fresh
 * one; the slot's destructor closes it when the thread exits. */
/* connections one kept handle keeps open: every provider of a typical install (the sandbox
 * has 7), few enough that the threads making provider calls stay well inside the open-file
 * reserve of broker/api/api_server.c (FD_RESERVE) */
#define GB_HTTP_KEPT_HOSTS 8
static pthread_key_t kept_key;
static pthread_once_t kept_once = PTHREAD_ONCE_INIT;
static int kept_ok;

static void kept_free(void *h)
{
    curl_easy_cleanup(h);
}

static void kept_init(void)
{
    kept_ok = pthread_key_create(&kept_key, kept_free) == 0;
}

static int kept_eligible(const gb_http_req *req)
{
    const char *m = req->method ? req->method : "GET";
    return req->keep_alive && !req->allow_ip && !req->on_chunk && !req->body &&
           (!strcmp(m, "GET") || !strcmp(m, "HEAD"));
}

/* This thread's kept handle (reset when it was parked), or a new one; NULL when out of
 * memory. */
static CURL *kept_take(int keep)
{
    if (!keep) return curl_easy_init();
    pthread_once(&kept_once, kept_init);
    CURL *c = kept_ok ? pthread_getspecific(kept_key) : NULL;
    if (!c) return curl_easy_init();
    pthread_setspecific(kept_key, NULL);
    return c;
}

/* Parks c in this thread's slot (reset: its options point into the finished call's stack),
 * or frees it. */
static void kept_give(CURL *c, int keep)
{
    if (keep) curl_easy_reset(c);
    if (keep && kept_ok && !pthread_getspecific(kept_key) && pthread_setspecific(kept_key, c) == 0)
        return;
    curl_easy_cleanup(c);
}

gb_err gb_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? GB_OK : GB_ERR_INTERNAL;
}

void gb_http_global_cleanup(void)
{
    if (kept_ok) {
        CURL *c = pthread_getspecific(kept_key);
        pthread_setspecific(kept_key, NULL);
        if (c) curl_easy_cleanup(c);
    }
    curl_global_cleanup();
}

int gb_http_resp_header(const gb_http_resp *resp, const char *name, char *out, size_t n)
{
    if (!resp->headers) return -1;
    size_t nl = strlen(name);
    const char *p = resp->headers;
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = (size_t)(p + ll - v);
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= n) vl = n - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 0;
        }
        if (!eol) break;
        p = eol + 2;
    }
    return -1;
}

gb_err gb_http_do(const gb_http_req *req, gb_http_resp *resp, gb_errmsg err)
{
    memset(resp, 0, sizeof(*resp));
    int keep = kept_eligible(req);
    CURL *c = kept_take(keep);
    if (!c) return GB_ERR_NOMEM;
    sink s = {.max = req->max_response ? req->max_response : (size_t)8 << 20, .req = req, .c = c};
    s.last_byte = s.last_tick = gb_mono_ms();
    guard g = {.req = req};
    gb_http_send_limit late = {.send_by = req->send_by_ms,
                               .late = req->send_by_ms && gb_now_ms() >= req->send_by_ms};
    struct curl_slist *hl = NULL;
    gb_err e = GB_OK;
    for (const char *const *h = req->headers; h && *h; h++) {
        struct curl_slist *t = curl_slist_append(hl, *h);
        if (!t) {
            e = GB_ERR_NOMEM;
            goto done;
        }
        hl = t;
    }
    if (req->body) {
        /* Without this libcurl would send "Expect: 100-continue" on larger bodies. */
        struct curl_slist *t = curl_slist_append(hl, "Expect:");
        if (t) hl = t;
    }
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method ? req->method : "GET");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* a kept handle holds one connection per host it talks to: the reconciler's thread polls
     * every provider each round, more than libcurl's default of 5 (it evicted the oldest and
     * reconnected to most of them every round) */
    if (keep) curl_easy_setopt(c, CURLOPT_MAXCONNECTS, (long)GB_HTTP_KEPT_HOSTS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms ? req->connect_timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : 30000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
    char detail[CURL_ERROR_SIZE] = ""; /* libcurl's own words, e.g. "self-signed certificate" */
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    if (req->on_chunk) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s);
    }
    if (req->allow_ip) {
        curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &g);
        curl_easy_setopt(c, CURLOPT_PROXY, "");
    }
    if (req->send_by_ms) gb_http_send_limit_set(c, &late);
    if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (req->method && strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    CURLcode rc = late.late ? CURLE_ABORTED_BY_CALLBACK : curl_easy_perform(c);
    if (rc != CURLE_OK && s.stopped) rc = CURLE_OK; /* the caller ended a stream */
    if (rc != CURLE_OK && s.idle) {
        e = GB_ERR_TIMEOUT;
        if (err) snprintf(err, GB_ERRMSG_MAX, "no data for %ld ms", req->idle_timeout_ms);
        goto done;
    }
    if (rc != CURLE_OK) {
        long sent = 0;
        curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent);
        resp->late = late.late;
        if (g.refused || late.late)
            e = GB_ERR_IO;
        else if (s.too_big)
            e = GB_ERR_LIMIT;
        else if (sent == 0)
            e = GB_ERR_IO; /* nothing reached the server */
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            e = GB_ERR_TIMEOUT;
        else
            e = GB_ERR_HTTP;
        /* CURLE_PEER_FAILED_VERIFICATION: not signed by a trusted CA (or another name);
         * CURLE_SSL_CACERT_BADFILE: the CA file cannot be read (libcurl's libcurl-errors(3)) */
        resp->tls_untrusted =
            rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE;
        if (resp->tls_untrusted) e = GB_ERR_IO;
        if (err && g.refused)
            snprintf(err, GB_ERRMSG_MAX, "refused: %s is not a public address", g.ip);
        else if (err && late.late)
            snprintf(err, GB_ERRMSG_MAX, "not sent: its time to leave had passed");
        else if (err && rc == CURLE_PEER_FAILED_VERIFICATION)
            snprintf(err, GB_ERRMSG_MAX, "the server's TLS certificate is not trusted (%s)",
                     detail[0] ? detail : curl_easy_strerror(rc));
        else if (err && rc == CURLE_SSL_CACERT_BADFILE)
            snprintf(err, GB_ERRMSG_MAX, "cannot read the CA file %s",
                     req->ca_file ? req->ca_file : "(the system's)");
        else if (err)
            snprintf(err, GB_ERRMSG_MAX, "%s",
                     s.too_big ? "response too large" : curl_easy_strerror(rc));
        goto done;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (!s.body.data && gb_buf_append(&s.body, "", 0)) {
        e = GB_ERR_NOMEM;
        goto done;
    }
    resp->body_len = s.body.len;
    resp->body = gb_buf_take(&s.body);
    resp->headers = gb_buf_take(&s.headers);
    char ra[128];
    if (gb_http_resp_header(resp, "Retry-After", ra, sizeof(ra)) == 0)
        resp->retry_after = gb_strdup(ra);
done:
    gb_buf_free(&s.body);
    gb_buf_free(&s.headers);
    curl_slist_free_all(hl);
    kept_give(c, keep);
    return e;
}

void gb_http_resp_free(gb_http_resp *resp)
{
    if (!resp) return;
    free(resp->body);
    free(resp->retry_after);
    free(resp->headers);
    memset(resp, 0, sizeof(*resp));
}

int gb_http_status_retryable(long status)
{
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

int64_t gb_http_retry_after_ms(const char *value, int64_t now_ms)
{
    if (!value) return -1;
    while (*value == ' ')
        value++;
    int64_t secs;
    if (gb_parse_i64(value, 0, 86400 * 365, &secs) == 0) return secs * 1000;
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char wd[4], mon[4], tz[4];
    int d, y, h, mi, se;
    if (sscanf(value, "%3s, %d %3s %d %d:%d:%d %3s", wd, &d, mon, &y, &h, &mi, &se, tz) != 8 ||
        strcmp(tz, "GMT") != 0)
        return -1;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, months[i]) == 0) m = i;
    if (m < 0) return -1;
    char iso[32];
    snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m + 1, d, h, mi, se);
    int64_t at;
    if (gb_time_parse(iso, &at) != 0) return -1;
    return at > now_ms ? at - now_ms : 0;
}

void gb_http_policy_sleep(const gb_http_policy *p, int64_t ms)
{
    if (p->sleep_ms) {
        p->sleep_ms(p->sleep_ud, ms);
        return;
    }
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int64_t backoff_ms(const gb_http_policy *p, int retry)
{
    int64_t base = p->base_delay_ms > 0 ? p->base_delay_ms : 250;
    int64_t cap = p->max_delay_ms > 0 ? p->max_delay_ms : 20000;
    int64_t d = base;
    for (int i = 0; i < retry && d < cap; i++)
        d *= 2;
    if (d > cap) d = cap;
    uint32_t r;
    gb_random_bytes(&r, sizeof(r));
    /* full +-50% jitter: d * [0.5, 1.5) */
    return d / 2 + (int64_t)((uint64_t)r % (uint64_t)(d > 0 ? d : 1));
}

gb_err gb_http_do_retry(const gb_http_req *req, const gb_http_policy *p, int idempotent,
                        gb_http_resp *resp, gb_errmsg err, int *attempts)
{
    gb_http_req r = *req;
    if (p->connect_timeout_ms) r.connect_timeout_ms = p->connect_timeout_ms;
    if (p->timeout_ms) r.timeout_ms = p->timeout_ms;
    if (p->max_response) r.max_response = p->max_response;
    int max = p->max_retries > 0 ? p->max_retries : (p->max_retries < 0 ? 0 : 5);
    if (max > 5) max = 5;
    int64_t ra_cap = p->max_retry_after_ms > 0 ? p->max_retry_after_ms : 60000;
    gb_err e = GB_OK;
    int tries = 0;
    for (int retry = 0;; retry++) {
        tries++;
        e = gb_http_do(&r, resp, err);
        int again;
        int64_t wait = -1;
        if (e == GB_OK) {
            again = gb_http_status_retryable(resp->status) &&
                    (idempotent || resp->status == 429 || resp->status == 503);
            if (again && resp->retry_after) {
                wait = gb_http_retry_after_ms(resp->retry_after, gb_wall_ms());
                if (wait > ra_cap) wait = ra_cap;
            }
        } else {
            again = !resp->tls_untrusted && !resp->late &&
                    ((e == GB_ERR_IO) || (idempotent && (e == GB_ERR_TIMEOUT || e == GB_ERR_HTTP)));
        }
        if (!again || retry >= max) break;
        if (e == GB_OK) gb_http_resp_free(resp);
        if (wait < 0) wait = backoff_ms(p, retry);
        gb_http_policy_sleep(p, wait);
    }
    if (attempts) *attempts = tries;
    return e;
}
