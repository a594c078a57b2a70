/* test_webhooks_outbox.c: the webhook outbox and delivery worker against a real SQLite file
 * and a tiny threaded loopback receiver whose URL path scripts its answer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_db_util.h"

#include "common/clock.h"
#include "common/db.h"
#include "common/dbq.h"
#include "common/http_client.h"
#include "common/str.h"
#include "webhooks/outbox.h"
#include "webhooks/sign.h"

#define ACCT "acc_test1"
#define T0 1700000000000LL
#define MAX_REQS 1024

/* ---- the receiver ---- */

typedef struct {
    char path[64], id[96], ts[32], sig[512], ua[96];
    char *body;
    int64_t at;
} req_rec;

static struct {
    int fd, port;
    pthread_t th;
    pthread_mutex_t mu;
    req_rec reqs[MAX_REQS];
    int n, active;
    atomic_int stop;
} R;

static void hdr(const char *head, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    size_t nl = strlen(name);
    for (const char *p = head; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t l = e ? (size_t)(e - v) : strlen(v);
            if (l >= n) l = n - 1;
            memcpy(out, v, l);
            out[l] = '\0';
            return;
        }
    }
}

/* The store stalled from the receiver's side: a second connection holds the message's row
 * (and on SQLite the write lock) for STALL_MS, so the worker's record of this answer waits. */
#define STALL_MS 2000
static gb_db *stall_db;
static struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char id[96];
    int locked; /* 1: held, -1: could not take it */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *stall_thread(void *arg)
{
    (void)arg;
    int ok = gb_db_begin(stall_db) == GB_OK;
    gb_q *q =
        ok ? gb_q_prep(stall_db, "UPDATE wh_messages SET attempts = attempts WHERE id = ?") : NULL;
    int64_t changed = 0;
    if (q) gb_q_text(q, 1, S.id);
    ok = q && gb_q_run(q, &changed) == GB_OK && changed == 1;
    pthread_mutex_lock(&S.mu);
    S.locked = ok ? 1 : -1;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    if (ok) usleep(STALL_MS * 1000);
    if (ok) gb_db_commit(stall_db);
    return NULL;
}

static void stall_store(const char *id)
{
    gb_strlcpy(S.id, id, sizeof(S.id));
    S.locked = 0;
    pthread_create(&S.th, NULL, stall_thread, NULL);
    pthread_mutex_lock(&S.mu);
    while (!S.locked)
        pthread_cond_wait(&S.cv, &S.mu);
    pthread_mutex_unlock(&S.mu);
}

static void *handle(void *arg)
{
    int c = (int)(intptr_t)arg;
    char buf[16384];
    size_t len = 0;
    char *end = NULL;
    while (len < sizeof(buf) - 1) {
        ssize_t r = read(c, buf + len, sizeof(buf) - 1 - len);
        if (r <= 0) break;
        len += (size_t)r;
        buf[len] = '\0';
        if ((end = strstr(buf, "\r\n\r\n"))) {
            char cl[32];
            *end = '\0';
            hdr(buf, "content-length", cl, sizeof(cl));
            size_t want = (size_t)(end + 4 - buf) + (size_t)strtoul(cl, NULL, 10);
            *end = '\r';
            while (len < want && len < sizeof(buf) - 1) {
                r = read(c, buf + len, sizeof(buf) - 1 - len);
                if (r <= 0) break;
                len += (size_t)r;
            }
            buf[len] = '\0';
            break;
        }
    }
    req_rec q = {.at = gb_mono_ms()};
    if (end) {
        *end = '\0';
        q.body = gb_strdup(end + 4);
        sscanf(buf, "%*s %63s", q.path);
        hdr(buf, "webhook-id", q.id, sizeof(q.id));
        hdr(buf, "webhook-timestamp", q.ts, sizeof(q.ts));
        hdr(buf, "webhook-signature", q.sig, sizeof(q.sig));
        hdr(buf, "user-agent", q.ua, sizeof(q.ua));
    }
    int seen = 0;
    pthread_mutex_lock(&R.mu);
    for (int i = 0; i < R.n; i++)
        seen += strcmp(R.reqs[i].id, q.id) == 0;
    if (end && R.n < MAX_REQS)
        R.reqs[R.n++] = q; /* a connection without a request: none */
    else
        free(q.body);
    pthread_mutex_unlock(&R.mu);
    int status = 200;
    const char *extra = "";
    if (strcmp(q.path, "/e500") == 0)
        status = 500;
    else if (strcmp(q.path, "/gone") == 0)
        status = 410;
    else if (strcmp(q.path, "/r429") == 0)
        status = 429, extra = "Retry-After: 3600\r\n";
    else if (strcmp(q.path, "/flaky") == 0 && seen == 0)
        status = 500;
    else if (strcmp(q.path, "/slow") == 0)
        sleep(3);
    else if (strcmp(q.path, "/late") == 0)
        usleep(300000);
    else if (strcmp(q.path, "/stall-store") == 0)
        stall_store(q.id); /* answered at once, but the worker cannot record it for a while */
    char resp[256];
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n%s\r\nok", status,
                     extra);
    ssize_t w = send(c, resp, (size_t)n, MSG_NOSIGNAL);
    (void)w;
    close(c);
    pthread_mutex_lock(&R.mu);
    R.active--;
    pthread_mutex_unlock(&R.mu);
    return NULL;
}

static void *accept_loop(void *arg)
{
    (void)arg;
    while (!atomic_load(&R.stop)) {
        int c = accept(R.fd, NULL, NULL);
        if (c < 0) break;
        pthread_mutex_lock(&R.mu);
        R.active++;
        pthread_mutex_unlock(&R.mu);
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_create(&t, &at, handle, (void *)(intptr_t)c);
        pthread_attr_destroy(&at);
    }
    return NULL;
}

static void rx_start(void)
{
    memset(&R, 0, sizeof(R));
    pthread_mutex_init(&R.mu, NULL);
    R.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(R.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t l = sizeof(a);
    getsockname(R.fd, (struct sockaddr *)&a, &l);
    R.port = ntohs(a.sin_port);
    assert_int_equal(listen(R.fd, 256), 0);
    pthread_create(&R.th, NULL, accept_loop, NULL);
}

static void rx_stop(void)
{
    atomic_store(&R.stop, 1);
    shutdown(R.fd, SHUT_RDWR);
    close(R.fd);
    pthread_join(R.th, NULL);
    for (;;) {
        pthread_mutex_lock(&R.mu);
        int a = R.active;
        pthread_mutex_unlock(&R.mu);
        if (a == 0) break;
        usleep(10000);
    }
    for (int i = 0; i < R.n; i++)
        free(R.reqs[i].body);
    pthread_mutex_destroy(&R.mu);
}

static int rx_count(void)
{
    pthread_mutex_lock(&R.mu);
    int n = R.n;
    pthread_mutex_unlock(&R.mu);
    return n;
}

/* ---- fixture ---- */

static struct {
    const char *url;
    gb_db *db, *db2;
    char secret[WH_SECRET_MAX];
    int disabled;
    int64_t jump_ms; /* moves the test clock on when a request is signed: a pause past a claim */
} T;

static gb_db *db1_cb(void *ud)
{
    (void)ud;
    return T.db;
}

static gb_db *db2_cb(void *ud)
{
    (void)ud;
    return T.db2;
}

static size_t secrets_cb(void *ud, const char *account_id, char s[][128], size_t max)
{
    (void)ud;
    (void)account_id;
    if (max < 1) return 0;
    if (T.jump_ms) gb_clock_set(gb_now_ms() + T.jump_ms);
    gb_strlcpy(s[0], T.secret, 128);
    return 1;
}

static void disabled_cb(void *ud, const char *account_id, const char *endpoint_id)
{
    (void)ud;
    (void)account_id;
    (void)endpoint_id;
    T.disabled++;
}

static int setup(void **state)
{
    (void)state;
    memset(&T, 0, sizeof(T));
    T.url = tdb_fresh_url();
    assert_non_null(T.url);
    assert_non_null(T.db = tdb_open(T.url));
    assert_int_equal(gb_db_migrate(T.db, wh_migrations(), 1), GB_OK);
    assert_int_equal(wh_secret_new(32, T.secret, sizeof(T.secret)), GB_OK);
    gb_clock_set(T0);
    rx_start();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rx_stop();
    gb_db_close(T.db);
    gb_db_close(T.db2);
    gb_clock_use_real();
    return 0;
}

static wh_worker *worker_timed(const char *allow, int max_in_flight, gb_db *(*dbf)(void *),
                               int64_t attempt_timeout_ms)
{
    wh_worker_cfg c = {.attempt_timeout_ms = attempt_timeout_ms,
                       .max_in_flight = max_in_flight,
                       .allow_cidrs = allow,
                       .secrets = secrets_cb,
                       .db = dbf,
                       .on_disabled = disabled_cb};
    wh_worker *w = NULL;
    assert_int_equal(wh_worker_new(&c, &w), GB_OK);
    return w;
}

static wh_worker *worker(const char *allow, int max_in_flight, gb_db *(*dbf)(void *))
{
    return worker_timed(allow, max_in_flight, dbf, 10000);
}

static void url_of(const char *path, char *out, size_t n)
{
    gb_snprintf(out, n, "http://127.0.0.1:%d%s", R.port, path);
}

static void add_endpoint(const char *path, const char *events, wh_endpoint *out)
{
    char url[128];
    url_of(path, url, sizeof(url));
    assert_int_equal(wh_endpoint_insert(T.db, ACCT, url, events, out), GB_OK);
}

static size_t enqueue(const char *event, const char *extra_url)
{
    cJSON *p = cJSON_Parse("{\"type\":\"x\",\"data\":{\"n\":1,\"s\":\"caf\\u00e9\"}}");
    size_t q = 0;
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    assert_int_equal(wh_enqueue(T.db, ACCT, event, p, extra_url, &q), GB_OK);
    assert_int_equal(gb_db_commit(T.db), GB_OK);
    cJSON_Delete(p);
    return q;
}

/* The newest message of the account (with its attempts); cJSON_Delete the returned array. */
static cJSON *newest(cJSON **arr)
{
    *arr = cJSON_CreateArray();
    assert_int_equal(wh_deliveries_list(T.db, ACCT, NULL, 100, *arr), GB_OK);
    assert_true(cJSON_GetArraySize(*arr) >= 1);
    return cJSON_GetArrayItem(*arr, 0);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
    return s ? s : "";
}

static int jint(const cJSON *o, const char *k)
{
    return (int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, k));
}

static size_t count_status(const char *status)
{
    cJSON *a = cJSON_CreateArray();
    assert_int_equal(wh_deliveries_list(T.db, ACCT, status, 100, a), GB_OK);
    size_t n = (size_t)cJSON_GetArraySize(a);
    cJSON_Delete(a);
    return n;
}

/* ---- pure rules ---- */

static void test_address_allowed(void **state)
{
    (void)state;
    static const struct {
        const char *ip;
        int ok;
    } cases[] = {
        {"8.8.8.8", 1},
        {"2606:4700::1111", 1},
        {"127.0.0.1", 0},
        {"10.0.0.1", 0},
        {"172.16.5.4", 0},
        {"172.32.0.1", 1},
        {"192.168.1.1", 0},
        {"100.64.0.1", 0},
        {"100.128.0.1", 1},
        {"169.254.169.254", 0},
        {"224.0.0.1", 0},
        {"0.0.0.0", 0},
        {"255.255.255.255", 0},
        {"::1", 0},
        {"::", 0},
        {"fe80::1", 0},
        {"fc00::1", 0},
        {"fd12:3456::1", 0},
        {"ff02::1", 0},
        {"::ffff:10.0.0.1", 0},
        {"::ffff:127.0.0.1", 0},
        {"::ffff:169.254.169.254", 0},
        {"::ffff:8.8.8.8", 1},
        {"64:ff9b::a00:1", 0},
        {"not an ip", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (wh_address_allowed(cases[i].ip, NULL) != cases[i].ok) fail_msg("%s", cases[i].ip);
    }
    assert_true(wh_address_allowed("127.0.0.1", "127.0.0.0/8"));
    assert_true(wh_address_allowed("::ffff:127.0.0.1", "10.1.0.0/16, 127.0.0.0/8"));
    assert_false(wh_address_allowed("169.254.169.254", "127.0.0.0/8"));
    assert_false(wh_address_allowed("10.0.0.1", "127.0.0.0/8"));
    assert_true(wh_address_allowed("fd00::5", "fd00::/8"));
    assert_false(wh_address_allowed("127.0.0.1", "127.0.0.0/99,junk"));
    assert_false(wh_address_allowed(NULL, NULL));
}

static void test_schedule(void **state)
{
    (void)state;
    static const int64_t base[] = {5000,     300000,   1800000,  7200000, 18000000,
                                   36000000, 50400000, 72000000, 86400000};
    for (int n = 1; n <= 9; n++) {
        int64_t b = base[n - 1];
        assert_int_equal(wh_retry_delay_ms(n, 20000), b);
        assert_int_equal(wh_retry_delay_ms(n, 0), b - b / 5);
        assert_int_equal(wh_retry_delay_ms(n, 40000), b + b / 5);
        uint32_t r = 2654435761u;
        for (int k = 0; k < 1000; k++, r = r * 1103515245u + 12345u) {
            int64_t d = wh_retry_delay_ms(n, r);
            assert_true(d >= b - b / 5 && d <= b + b / 5);
        }
    }
    assert_int_equal(wh_retry_delay_ms(0, 1), -1);
    assert_int_equal(wh_retry_delay_ms(10, 1), -1);
    assert_int_equal(wh_next_delay_ms(1, 3600000, 20000), 3600000);
    assert_int_equal(wh_next_delay_ms(1, 100, 20000), 5000);
    assert_int_equal(wh_next_delay_ms(1, -1, 20000), 5000);
    assert_int_equal(wh_next_delay_ms(1, 48LL * 3600000, 20000), 24LL * 3600000);
    assert_int_equal(wh_next_delay_ms(10, 1000, 20000), -1);
    assert_true(wh_events_match("*", "pod.created"));
    assert_true(wh_events_match("job.done, pod.*", "pod.created"));
    assert_false(wh_events_match("pod.*", "podium.x"));
    assert_false(wh_events_match("pod.*", "pod"));
    assert_false(wh_events_match("pod.created", "pod.create"));
    /* "*" alone is every event; a one-letter filter, or a star in front, is not */
    assert_false(wh_events_match("p", "pod.created"));
    assert_false(wh_events_match("*.created", "pod.created"));
    assert_true(wh_events_match(" x , pod.*  ", "pod.created"));
    assert_false(wh_events_match("*", ""));
    assert_false(wh_events_match(NULL, "pod.created"));
    assert_false(wh_events_match("*", NULL));
    assert_false(wh_url_valid(NULL));
    assert_true(wh_url_valid("https://example.com/x"));
    assert_false(wh_url_valid("ftp://example.com/x"));
    assert_false(wh_url_valid("http://exa mple.com"));
    /* at most WH_URL_MAX bytes: the longest passes, one more does not */
    char url[WH_URL_MAX + 2];
    memcpy(url, "https://example.com/", 20);
    memset(url + 20, 'a', WH_URL_MAX - 20);
    url[WH_URL_MAX] = '\0';
    assert_true(wh_url_valid(url));
    url[WH_URL_MAX] = 'a';
    url[WH_URL_MAX + 1] = '\0';
    assert_false(wh_url_valid(url));
}

/* ---- store ---- */

static void test_endpoints(void **state)
{
    (void)state;
    wh_endpoint e, g;
    add_endpoint("/ok", "*", &e);
    assert_true(gb_str_starts_with(e.id, "whe_"));
    assert_true(e.enabled);
    assert_int_equal(wh_endpoint_get(T.db, "acc_other", e.id, &g), GB_ERR_NOT_FOUND);
    assert_int_equal(wh_endpoint_update(T.db, "acc_other", e.id, NULL, "x", -1, NULL),
                     GB_ERR_NOT_FOUND);
    assert_int_equal(wh_endpoint_delete(T.db, "acc_other", e.id), GB_ERR_NOT_FOUND);
    assert_int_equal(wh_endpoint_insert(T.db, ACCT, "file:///etc/passwd", "*", NULL),
                     GB_ERR_INVALID);
    assert_int_equal(wh_endpoint_insert(T.db, ACCT, "http://a.example", "Pod!", NULL),
                     GB_ERR_INVALID);
    assert_int_equal(wh_endpoint_update(T.db, ACCT, e.id, "https://b.example/h", "pod.*", 0, &g),
                     GB_OK);
    assert_string_equal(g.url, "https://b.example/h");
    assert_string_equal(g.events, "pod.*");
    assert_false(g.enabled);
    assert_string_equal(g.disabled_reason, "disabled by user");
    wh_endpoint *list = NULL;
    size_t n = 0;
    assert_int_equal(wh_endpoint_list(T.db, ACCT, &list, &n), GB_OK);
    assert_int_equal(n, 1);
    free(list);
    assert_int_equal(wh_endpoint_delete(T.db, ACCT, e.id), GB_OK);
    assert_int_equal(wh_endpoint_get(T.db, ACCT, e.id, &g), GB_ERR_NOT_FOUND);
}

static void test_enqueue_txn_and_filters(void **state)
{
    (void)state;
    wh_endpoint all, pods, jobs, off;
    add_endpoint("/ok", "*", &all);
    add_endpoint("/ok", "pod.*", &pods);
    add_endpoint("/ok", "job.created", &jobs);
    add_endpoint("/ok", "pod.created", &off);
    assert_int_equal(wh_endpoint_update(T.db, ACCT, off.id, NULL, NULL, 0, NULL), GB_OK);
    assert_int_equal(wh_endpoint_insert(T.db, "acc_other", "http://x.example", "*", NULL), GB_OK);
    cJSON *p = cJSON_CreateObject();
    size_t q = 99;
    /* outside a transaction: refused */
    assert_int_equal(wh_enqueue(T.db, ACCT, "pod.created", p, NULL, &q), GB_ERR_INTERNAL);
    /* rolled back with the caller's change */
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    assert_int_equal(wh_enqueue(T.db, ACCT, "pod.created", p, "https://hook.example/j", &q), GB_OK);
    assert_int_equal(q, 3);
    gb_db_rollback(T.db);
    assert_int_equal(count_status(NULL), 0);
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    assert_int_equal(wh_enqueue(T.db, ACCT, "pod.created", p, "bad url", &q), GB_ERR_INVALID);
    gb_db_rollback(T.db);
    cJSON_Delete(p);
    assert_int_equal(enqueue("pod.created", "https://hook.example/j"), 3);
    assert_int_equal(count_status("pending"), 3);
    assert_int_equal(enqueue("job.created", NULL), 2);
    assert_int_equal(enqueue("podium.x", NULL), 1);
    cJSON *a = cJSON_CreateArray();
    assert_int_equal(wh_deliveries_list(T.db, "acc_other", NULL, 10, a), GB_OK);
    assert_int_equal(cJSON_GetArraySize(a), 0);
    cJSON_Delete(a);
}

/* ---- delivery ---- */

static void test_deliver_one_and_redeliver(void **state)
{
    (void)state;
    add_endpoint("/ok", "*", NULL);
    assert_int_equal(enqueue("pod.created", NULL), 1);
    wh_worker *w = worker("127.0.0.0/8", 8, db1_cb);
    assert_int_equal(wh_worker_pass(w), 1);
    assert_int_equal(rx_count(), 1);
    req_rec *q = &R.reqs[0];
    assert_string_equal(q->body, "{\"type\":\"x\",\"data\":{\"n\":1,\"s\":\"caf\xc3\xa9\"}}");
    assert_true(gb_str_starts_with(q->id, "msg_"));
    /* its id is ordered by the enqueue's time (the key index's right edge, common/ids.h) */
    char made[GB_ID_MAX];
    assert_int_equal(gb_id_new_ordered("msg_", T0, made, sizeof(made)), GB_OK);
    assert_memory_equal(q->id, made, 4 + GB_ID_TIME_CHARS);
    assert_string_equal(q->ts, "1700000000");
    assert_true(gb_str_starts_with(q->sig, "v1,"));
    assert_true(gb_str_starts_with(q->ua, "gpubroker-webhooks/"));
    assert_int_equal(
        wh_verify(T.secret, q->id, q->ts, q->sig, q->body, strlen(q->body), T0 / 1000, -1),
        WH_VERIFY_OK);
    cJSON *arr, *m = newest(&arr);
    assert_string_equal(jstr(m, "status"), "delivered");
    assert_string_equal(jstr(m, "id"), q->id);
    assert_int_equal(jint(m, "attempts"), 1);
    cJSON *log = cJSON_GetObjectItem(m, "attemptLog");
    assert_int_equal(cJSON_GetArraySize(log), 1);
    assert_int_equal(jint(cJSON_GetArrayItem(log, 0), "status"), 200);
    assert_string_equal(jstr(cJSON_GetArrayItem(log, 0), "responseHead"), "ok");
    char id[96];
    gb_strlcpy(id, q->id, sizeof(id));
    cJSON_Delete(arr);
    assert_int_equal(wh_worker_pass(w), 0);
    /* redelivery: same webhook-id, a new attempt */
    assert_int_equal(wh_redeliver(T.db, "acc_other", id), GB_ERR_NOT_FOUND);
    assert_int_equal(wh_redeliver(T.db, ACCT, id), GB_OK);
    assert_int_equal(wh_redeliver(T.db, ACCT, id), GB_ERR_CONFLICT);
    assert_int_equal(wh_worker_pass(w), 1);
    assert_int_equal(rx_count(), 2);
    assert_string_equal(R.reqs[1].id, id);
    m = newest(&arr);
    assert_string_equal(jstr(m, "status"), "delivered");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "attemptLog")), 2);
    cJSON_Delete(arr);
    wh_worker_stop(w);
}

static void test_retry_then_delivered(void **state)
{
    (void)state;
    add_endpoint("/flaky", "*", NULL);
    enqueue("pod.created", NULL);
    wh_worker *w = worker("127.0.0.0/8", 8, db1_cb);
    assert_int_equal(wh_worker_pass(w), 1);
    cJSON *arr, *m = newest(&arr);
    assert_string_equal(jstr(m, "status"), "pending");
    assert_int_equal(jint(m, "lastStatus"), 500);
    assert_string_equal(jstr(m, "lastError"), "HTTP 500");
    cJSON_Delete(arr);
    assert_int_equal(wh_worker_pass(w), 0);
    gb_clock_advance(3999); /* below the schedule's lower bound, 5 s - 20% */
    assert_int_equal(wh_worker_pass(w), 0);
    gb_clock_advance(2002); /* past its upper bound, 5 s + 20% */
    assert_int_equal(wh_worker_pass(w), 1);
    m = newest(&arr);
    assert_string_equal(jstr(m, "status"), "delivered");
    assert_int_equal(jint(m, "attempts"), 2);
    cJSON_Delete(arr);
    assert_int_equal(rx_count(), 2);
    assert_string_equal(R.reqs[0].id, R.reqs[1].id);
    assert_string_not_equal(R.reqs[0].ts, R.reqs[1].ts);
    assert_int_equal(wh_verify(T.secret, R.reqs[1].id, R.reqs[1].ts, R.reqs[1].sig, R.reqs[1].body,
                               strlen(R.reqs[1].body), gb_now_ms() / 1000, -1),
                     WH_VERIFY_OK);
    wh_worker_stop(w);
}

static void test_retry_after(void **state)
{
    (void)state;
    add_endpoint("/r429", "*", NULL);
    enqueue("pod.created", NULL);
    wh_worker *w = worker("127.0.0.0/8", 8, db1_cb);
    assert_int_equal(wh_worker_pass(w), 1);
    gb_clock_advance(7000); /* the schedule alone would be due by now */
    assert_int_equal(wh_worker_pass(w), 0);
    gb_clock_advance(3600000 - 7000 + 1);
    assert_int_equal(wh_worker_pass(w), 1);
    assert_int_equal(rx_count(), 2);
    wh_worker_stop(w);
}

static void test_gone_disables(void **state)
{
    (void)state;
    wh_endpoint e;
    add_endpoint("/gone", "*", &e);
    enqueue("pod.created", NULL);
    enqueue("pod.deleted", NULL);
    wh_worker *w = worker("127.0.0.0/8", 1, db1_cb);
    assert_int_equal(wh_worker_pass(w), 1);
    assert_int_equal(T.disabled, 1);
    wh_endpoint g;
    assert_int_equal(wh_endpoint_get(T.db, ACCT, e.id, &g), GB_OK);
    assert_false(g.enabled);
    assert_string_equal(g.disabled_reason, "410 Gone from receiver");
    assert_int_equal(count_status("failed"), 2);
    gb_clock_advance(86400000);
    assert_int_equal(wh_worker_pass(w), 0);
    assert_int_equal(rx_count(), 1);
    assert_int_equal(enqueue("pod.created", NULL), 0);
    wh_worker_stop(w);
}

static void test_exhaustion(void **state)
{
    (void)state;
    add_endpoint("/e500", "*", NULL);
    enqueue("pod.created", NULL);
    wh_worker *w = worker("127.0.0.0/8", 8, db1_cb);
    for (int i = 0; i < WH_MAX_ATTEMPTS; i++) {
        assert_int_equal(count_status("pending"), 1);
        assert_int_equal(wh_worker_pass(w), 1);
        gb_clock_advance(29LL * 3600000); /* > 24 h + 20% */
    }
    assert_int_equal(wh_worker_pass(w), 0);
    cJSON *arr, *m = newest(&arr);
    assert_string_equal(jstr(m, "status"), "failed");
    assert_int_equal(jint(m, "attempts"), WH_MAX_ATTEMPTS);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "attemptLog")), WH_MAX_ATTEMPTS);
    cJSON_Delete(arr);
    assert_int_equal(rx_count(), WH_MAX_ATTEMPTS);
    wh_worker_stop(w);
}

static void test_slow_does_not_block_fast(void **state)
{
    (void)state;
    add_endpoint("/slow", "*", NULL);
    add_endpoint("/ok", "*", NULL);
    assert_int_equal(enqueue("pod.created", NULL), 2);
    wh_worker *w = worker("127.0.0.0/8", 8, db1_cb);
    int64_t t0 = gb_mono_ms();
    assert_int_equal(wh_worker_pass(w), 2);
    int64_t took = gb_mono_ms() - t0;
    assert_true(took >= 2900 && took < 6000);
    cJSON *arr = cJSON_CreateArray();
    assert_int_equal(wh_deliveries_list(T.db, ACCT, "delivered", 10, arr), GB_OK);
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    for (int i = 0; i < 2; i++) {
        cJSON *m = cJSON_GetArrayItem(arr, i);
        cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "attemptLog"), 0);
        int lat = jint(a, "latencyMs");
        if (strstr(jstr(m, "url"), "/slow"))
            assert_true(lat >= 2900);
        else
            assert_true(lat < 1000);
    }
    cJSON_Delete(arr);
    wh_worker_stop(w);
}

/* The store stalls longer than the attempt timeout while an answer arrives: a worker that
 * lets libcurl time its attempts out recorded the answered one as timed out (libcurl checks a
 * transfer's timeout before it reads what came) and sent it again. The attempt's own deadline
 * is checked after the answers that came were read: one request each, both delivered. */
static void test_stalled_store_reads_answers_first(void **state)
{
    (void)state;
    assert_non_null(stall_db = tdb_open(T.url));
    add_endpoint("/stall-store", "*", NULL);
    add_endpoint("/late", "*", NULL);
    assert_int_equal(enqueue("pod.created", NULL), 2);
    wh_worker *w = worker_timed("127.0.0.0/8", 8, db1_cb, 800);
    int64_t t0 = gb_mono_ms();
    assert_int_equal(wh_worker_pass(w), 2);
    int64_t took = gb_mono_ms() - t0;
    pthread_join(S.th, NULL);
    assert_int_equal(S.locked, 1);
    assert_true(took >= STALL_MS);   /* the stall happened, longer than the attempt timeout */
    assert_int_equal(rx_count(), 2); /* neither sent twice */
    cJSON *arr = cJSON_CreateArray();
    assert_int_equal(wh_deliveries_list(T.db, ACCT, NULL, 10, arr), GB_OK);
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    for (int i = 0; i < 2; i++) {
        cJSON *m = cJSON_GetArrayItem(arr, i);
        if (strcmp(jstr(m, "status"), "delivered") != 0)
            fail_msg("%s: %s after %d attempts (%s)", jstr(m, "url"), jstr(m, "status"),
                     jint(m, "attempts"), jstr(m, "lastError"));
        assert_int_equal(jint(m, "attempts"), 1);
    }
    cJSON_Delete(arr);
    wh_worker_stop(w);
    gb_db_close(stall_db);
    stall_db = NULL;
}

/* A worker paused between its claim and the send, past the claim's lease (a SIGSTOPped
 * broker; emulated by moving the test clock on while the request is signed): the message may
 * be another broker's by now, so nothing is sent (checked just before the request leaves),
 * and the attempt is recorded as not sent. */
static void test_paused_past_claim_sends_nothing(void **state)
{
    (void)state;
    add_endpoint("/ok", "*", NULL);
    enqueue("pod.created", NULL);
    wh_worker *w = worker("127.0.0.0/8", 8, db1_cb); /* lease: 10 s timeout + 60 s */
    T.jump_ms = 71000;
    assert_int_equal(wh_worker_pass(w), 1);
    T.jump_ms = 0;
    assert_int_equal(rx_count(), 0);
    cJSON *arr, *m = newest(&arr);
    assert_string_equal(jstr(m, "status"), "pending");
    assert_non_null(strstr(jstr(m, "lastError"), "not sent: the claim had ended"));
    cJSON_Delete(arr);
    /* within its claim the next attempt goes */
    gb_clock_set(gb_now_ms() + 3600000);
    assert_int_equal(wh_worker_pass(w), 1);
    assert_int_equal(rx_count(), 1);
    m = newest(&arr);
    assert_string_equal(jstr(m, "status"), "delivered");
    cJSON_Delete(arr);
    wh_worker_stop(w);
}

/* A receiver slower than the attempt timeout: the attempt ends at its deadline, recorded as
 * a timeout, while a quick one in the same pass is delivered. */
static void test_attempt_deadline(void **state)
{
    (void)state;
    add_endpoint("/slow", "*", NULL); /* answers after 3 s */
    add_endpoint("/ok", "*", NULL);
    assert_int_equal(enqueue("pod.created", NULL), 2);
    wh_worker *w = worker_timed("127.0.0.0/8", 8, db1_cb, 500);
    int64_t t0 = gb_mono_ms();
    assert_int_equal(wh_worker_pass(w), 2);
    int64_t took = gb_mono_ms() - t0;
    if (took < 450 || took > 2000) fail_msg("the pass took %lld ms", (long long)took);
    cJSON *arr = cJSON_CreateArray();
    assert_int_equal(wh_deliveries_list(T.db, ACCT, NULL, 10, arr), GB_OK);
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    for (int i = 0; i < 2; i++) {
        cJSON *m = cJSON_GetArrayItem(arr, i);
        cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "attemptLog"), 0);
        if (strstr(jstr(m, "url"), "/slow")) {
            assert_string_equal(jstr(m, "status"), "pending");
            assert_non_null(strstr(jstr(m, "lastError"), "no answer in 500 ms"));
            int lat = jint(a, "latencyMs");
            if (lat < 450 || lat > 1500) fail_msg("timed out after %d ms", lat);
        } else {
            assert_string_equal(jstr(m, "status"), "delivered");
        }
    }
    cJSON_Delete(arr);
    wh_worker_stop(w);
}

/* With room for two in flight, one slow message holds one slot only: the other slot keeps
 * taking new messages (claims are topped up as attempts finish, not batch by batch). */
typedef struct {
    wh_worker *w;
    int n;
} pass_arg;

static void *pass_thread(void *p)
{
    pass_arg *a = p;
    a->n = wh_worker_pass(a->w);
    return NULL;
}

static void test_slow_holds_one_slot(void **state)
{
    (void)state;
    add_endpoint("/slow", "pod.slow", NULL);
    add_endpoint("/ok", "pod.fast", NULL);
    assert_int_equal(enqueue("pod.slow", NULL), 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(enqueue("pod.fast", NULL), 1);
    pass_arg a = {worker("127.0.0.0/8", 2, db1_cb), 0};
    pthread_t th;
    pthread_create(&th, NULL, pass_thread, &a);
    /* while the slow receiver (3 s) still holds its slot, the fast messages all get through;
     * batch by batch they would all wait behind it. Wait for them, at most 2.5 s. */
    int64_t t0 = gb_mono_ms();
    while (rx_count() < 11 && gb_mono_ms() - t0 < 2500)
        usleep(10000);
    int seen = rx_count();
    pthread_join(th, NULL);
    if (seen < 11) fail_msg("only %d of 11 requests arrived while the slow one was answered", seen);
    assert_int_equal(a.n, 11);
    cJSON *arr = cJSON_CreateArray();
    assert_int_equal(wh_deliveries_list(T.db, ACCT, "delivered", 20, arr), GB_OK);
    assert_int_equal(cJSON_GetArraySize(arr), 11);
    cJSON_Delete(arr);
    wh_worker_stop(a.w);
}

static void test_ssrf_refused(void **state)
{
    (void)state;
    add_endpoint("/ok", "*", NULL);
    enqueue("pod.created", NULL);
    wh_worker *w = worker(NULL, 8, db1_cb);
    assert_int_equal(wh_worker_pass(w), 1);
    assert_int_equal(rx_count(), 0);
    cJSON *arr, *m = newest(&arr);
    assert_string_equal(jstr(m, "status"), "pending");
    assert_non_null(strstr(jstr(m, "lastError"), "127.0.0.1 is not allowed"));
    cJSON_Delete(arr);
    wh_worker_stop(w);
    w = worker("169.254.0.0/16", 8, db1_cb);
    gb_clock_advance(7000);
    assert_int_equal(wh_worker_pass(w), 1);
    assert_int_equal(rx_count(), 0);
    wh_worker_stop(w);
    w = worker("127.0.0.0/8", 8, db1_cb);
    gb_clock_advance(400000);
    assert_int_equal(wh_worker_pass(w), 1);
    assert_int_equal(rx_count(), 1);
    assert_int_equal(count_status("delivered"), 1);
    wh_worker_stop(w);
}

static void test_expired_lease_reclaimed(void **state)
{
    (void)state;
    add_endpoint("/ok", "*", NULL);
    enqueue("pod.created", NULL);
    wh_claimed *c = NULL;
    size_t n = 0;
    assert_int_equal(wh_store_claim(T.db, "whw_dead", gb_now_ms(), 60000, 10, &c, &n), GB_OK);
    assert_int_equal(n, 1);
    wh_claimed_free(c, n);
    wh_worker *w = worker("127.0.0.0/8", 8, db1_cb);
    assert_int_equal(wh_worker_pass(w), 0); /* leased by a worker that died */
    gb_clock_advance(60001);
    assert_int_equal(wh_worker_pass(w), 1);
    assert_int_equal(count_status("delivered"), 1);
    assert_int_equal(rx_count(), 1);
    wh_worker_stop(w);
}

static int g_drain_errors;

/* kill -9 of a worker in the middle of a delivery: after its lease expires, a restarted worker
 * delivers the message (at least once: the receiver sees the same webhook-id again). */
static void test_kill9_then_restart(void **state)
{
    (void)state;
    add_endpoint("/slow", "*", NULL);
    enqueue("pod.created", NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        gb_db *cdb = NULL;
        if (gb_db_open_url(T.url, &cdb) != GB_OK) _exit(1);
        T.db2 = cdb;
        wh_worker *w = worker("127.0.0.0/8", 8, db2_cb);
        wh_worker_pass(w);
        _exit(0); /* not reached: killed while the receiver sleeps */
    }
    for (int i = 0; i < 500 && rx_count() == 0; i++)
        usleep(10000);
    assert_int_equal(rx_count(), 1);
    kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st));
    cJSON *arr, *m = newest(&arr);
    assert_string_equal(jstr(m, "status"), "pending");
    cJSON_Delete(arr);
    wh_worker *w = worker("127.0.0.0/8", 8, db1_cb);
    assert_int_equal(wh_worker_pass(w), 0); /* still leased by the dead worker */
    gb_clock_advance(70001);                /* its lease: attempt timeout + 60 s */
    assert_int_equal(wh_worker_pass(w), 1);
    assert_int_equal(count_status("delivered"), 1);
    assert_int_equal(rx_count(), 2);
    assert_string_equal(R.reqs[0].id, R.reqs[1].id);
    wh_worker_stop(w);
}

static void *drain(void *arg)
{
    wh_worker *w = arg;
    int idle = 0;
    while (idle < 3) {
        int n = wh_worker_pass(w);
        if (n < 0) __atomic_add_fetch(&g_drain_errors, 1, __ATOMIC_SEQ_CST);
        idle = n == 0 ? idle + 1 : 0;
    }
    return NULL;
}

static void test_two_workers_exactly_once(void **state)
{
    (void)state;
    enum { N = 200 };
    char url[128];
    url_of("/ok", url, sizeof(url));
    cJSON *p = cJSON_CreateObject();
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(wh_enqueue(T.db, ACCT, "pod.created", p, url, NULL), GB_OK);
    assert_int_equal(gb_db_commit(T.db), GB_OK);
    cJSON_Delete(p);
    assert_int_equal(gb_db_open_url(T.url, &T.db2), GB_OK);
    wh_worker *a = worker("127.0.0.0/8", 16, db1_cb), *b = worker("127.0.0.0/8", 16, db2_cb);
    pthread_t ta, tb;
    pthread_create(&ta, NULL, drain, a);
    pthread_create(&tb, NULL, drain, b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(g_drain_errors, 0);
    assert_int_equal(rx_count(), N);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            if (strcmp(R.reqs[i].id, R.reqs[j].id) == 0) fail_msg("%s twice", R.reqs[i].id);
    assert_int_equal(count_status("pending"), 0);
    wh_worker_stop(a);
    wh_worker_stop(b);
}

/* ---- two brokers on one database: the store's leases and fencing tokens ---- */

static void enqueue_extra(int n)
{
    char url[128];
    url_of("/ok", url, sizeof(url));
    cJSON *p = cJSON_CreateObject();
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(wh_enqueue(T.db, ACCT, "pod.created", p, url, NULL), GB_OK);
    assert_int_equal(gb_db_commit(T.db), GB_OK);
    cJSON_Delete(p);
}

typedef struct {
    gb_db *db;
    const char *owner;
    int claimed, delivered, lost, errors;
} broker_drain;

/* A broker's delivery loop without HTTP: claim a few due messages, "deliver" each (a 2xx),
 * record it; until three claims in a row find nothing. */
static void *store_drain(void *arg)
{
    broker_drain *b = arg;
    int idle = 0;
    while (idle < 3) {
        wh_claimed *c = NULL;
        size_t n = 0;
        if (wh_store_claim(b->db, b->owner, T0, 60000, 7, &c, &n) != GB_OK) {
            b->errors++;
            usleep(1000);
            continue;
        }
        idle = n == 0 ? idle + 1 : 0;
        b->claimed += (int)n;
        for (size_t i = 0; i < n; i++) {
            wh_outcome o = {.status = 200, .latency_ms = 1, .retry_after_ms = -1};
            wh_rec r = WH_REC_RETRY;
            if (wh_store_record(b->db, &c[i], b->owner, &o, T0 + 1, &r) != GB_OK)
                b->errors++;
            else if (r == WH_REC_DELIVERED)
                b->delivered++;
            else
                b->lost++;
        }
        wh_claimed_free(c, n);
        if (n == 0) usleep(2000);
    }
    return NULL;
}

/* Two connections (two brokers) claim and record from one outbox at once: every message is
 * claimed, delivered and recorded exactly once. */
static void test_two_brokers_store_exactly_once(void **state)
{
    (void)state;
    enum { N = 300 };
    enqueue_extra(N);
    assert_non_null(T.db2 = tdb_open(T.url));
    broker_drain a = {.db = T.db, .owner = "whw_broker_a"};
    broker_drain b = {.db = T.db2, .owner = "whw_broker_b"};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, store_drain, &a);
    pthread_create(&tb, NULL, store_drain, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.errors + b.errors, 0);
    assert_int_equal(a.lost + b.lost, 0);
    assert_int_equal(a.claimed + b.claimed, N);
    assert_int_equal(a.delivered + b.delivered, N);
    /* on PostgreSQL both claim side by side (SKIP LOCKED); SQLite's one writer may let one
     * connection take every turn (its busy handler sleeps while the other begins again) */
    if (tdb_is_pg()) assert_true(a.claimed > 0 && b.claimed > 0);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_attempts"), N);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_messages"
                                   " WHERE status = 'delivered' AND attempts = 1"),
                     N);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM (SELECT message_id FROM wh_attempts"
                                   " GROUP BY message_id HAVING COUNT(*) > 1) d"),
                     0);
}

/* A broker that paused past its lease: another claims the message and records it; the
 * paused one's late result is refused (the message keeps the other's outcome). Also when the
 * late claimer has the same owner name (a broker restarted under its old name): only the
 * fencing token tells the two claims apart. */
static void test_paused_claimer_refused(void **state)
{
    (void)state;
    enqueue_extra(1);
    assert_non_null(T.db2 = tdb_open(T.url));
    wh_claimed *a = NULL, *b = NULL, *c = NULL;
    size_t na = 0, nb = 0, nc = 0;
    assert_int_equal(wh_store_claim(T.db, "whw_a", T0, 1000, 10, &a, &na), GB_OK);
    assert_int_equal(na, 1);
    /* within a's lease nobody else gets it */
    assert_int_equal(wh_store_claim(T.db2, "whw_b", T0 + 999, 1000, 10, &b, &nb), GB_OK);
    assert_int_equal(nb, 0);
    /* a pauses past its lease; b takes the message over */
    assert_int_equal(wh_store_claim(T.db2, "whw_b", T0 + 1001, 1000, 10, &b, &nb), GB_OK);
    assert_int_equal(nb, 1);
    assert_string_equal(a[0].id, b[0].id);
    assert_true(b[0].token > a[0].token);
    wh_outcome fail = {.status = 500, .latency_ms = 1, .retry_after_ms = -1};
    wh_outcome ok = {.status = 200, .latency_ms = 1, .retry_after_ms = -1};
    wh_rec r = WH_REC_DELIVERED;
    /* a wakes while b's attempt is in flight: refused */
    assert_int_equal(wh_store_record(T.db, &a[0], "whw_a", &ok, T0 + 1100, &r), GB_OK);
    assert_int_equal(r, WH_REC_LOST);
    /* b's attempt fails: the message is retried later */
    assert_int_equal(wh_store_record(T.db2, &b[0], "whw_b", &fail, T0 + 1200, &r), GB_OK);
    assert_int_equal(r, WH_REC_RETRY);
    assert_int_equal(count_status("pending"), 1);
    /* the retry is claimed by a broker named whw_b again (restarted): a new token */
    assert_int_equal(wh_store_claim(T.db, "whw_b", T0 + 86400000, 1000, 10, &c, &nc), GB_OK);
    assert_int_equal(nc, 1);
    assert_true(c[0].token > b[0].token);
    /* the old whw_b claim's late result (a second record of its attempt): refused */
    assert_int_equal(wh_store_record(T.db2, &b[0], "whw_b", &ok, T0 + 86400001, &r), GB_OK);
    assert_int_equal(r, WH_REC_LOST);
    assert_int_equal(count_status("pending"), 1);
    assert_int_equal(tdb_int(T.db, "SELECT attempts FROM wh_messages"), 1);
    /* the current claim records */
    assert_int_equal(wh_store_record(T.db, &c[0], "whw_b", &ok, T0 + 86400002, &r), GB_OK);
    assert_int_equal(r, WH_REC_DELIVERED);
    assert_int_equal(count_status("delivered"), 1);
    assert_int_equal(tdb_int(T.db, "SELECT attempts FROM wh_messages"), 2);
    /* a's result, once more, after all that: still refused */
    assert_int_equal(wh_store_record(T.db, &a[0], "whw_a", &fail, T0 + 86400003, &r), GB_OK);
    assert_int_equal(r, WH_REC_LOST);
    assert_int_equal(count_status("delivered"), 1);
    wh_claimed_free(a, na);
    wh_claimed_free(b, nb);
    wh_claimed_free(c, nc);
}

/* A sweep's attempts recorded together (wh_store_record_many, one statement per 32): 41
 * attempts (over one chunk) of every kind in one call end as wh_store_record ends each:
 * delivered, retried with its error, exhausted and failed, refused under a stale token
 * (WH_REC_LOST, the message left alone), and a 410 that disables its endpoint and fails its
 * other pending message; every attempt is logged. Inside a caller's transaction that rolls
 * back, nothing stays. */
static void test_record_many(void **state)
{
    (void)state;
    enum { N = 40 };
    wh_endpoint gone;
    enqueue_extra(N); /* before the endpoint: to the extra URL only */
    add_endpoint("/gone", "*", &gone);
    enqueue("pod.created", NULL);
    wh_claimed *c = NULL;
    size_t n = 0;
    assert_int_equal(wh_store_claim(T.db, "whw_m", T0, 60000, N + 5, &c, &n), GB_OK);
    assert_int_equal(n, N + 1);
    enqueue("pod.deleted", NULL); /* the endpoint's second message, not claimed */
    const wh_claimed *ms[N + 1];
    wh_outcome os[N + 1];
    wh_rec rs[N + 1];
    wh_claimed stale;
    memset(&stale, 0, sizeof(stale));
    int kind[N + 1];
    for (size_t k = 0, x = 0; k < n; k++) {
        ms[k] = &c[k];
        os[k] = (wh_outcome){.latency_ms = 3, .retry_after_ms = -1, .head = "ok"};
        if (c[k].endpoint_id[0]) {
            kind[k] = 4;
            os[k].status = 410;
            continue;
        }
        kind[k] = (int)(x++ % 4);
        os[k].status = kind[k] == 0 ? 200 : 500;
        if (kind[k] == 2) c[k].attempts = WH_MAX_ATTEMPTS; /* its last try */
        if (kind[k] == 3 && !stale.id[0]) {
            stale = c[k];
            stale.token--; /* an older claim's result */
            ms[k] = &stale;
        } else if (kind[k] == 3) {
            kind[k] = 0;
            os[k].status = 200;
        }
    }
    /* in a transaction that rolls back: nothing */
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    assert_int_equal(wh_store_record_many(T.db, ms, os, n, "whw_m", T0 + 5, rs), GB_OK);
    gb_db_rollback(T.db);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_attempts"), 0);
    assert_int_equal(count_status("pending"), N + 2);
    /* on its own */
    assert_int_equal(wh_store_record_many(T.db, ms, os, n, "whw_m", T0 + 5, rs), GB_OK);
    int want[5] = {0};
    for (size_t k = 0; k < n; k++) {
        static const wh_rec expect[] = {WH_REC_DELIVERED, WH_REC_RETRY, WH_REC_FAILED, WH_REC_LOST,
                                        WH_REC_DISABLED};
        if (rs[k] != expect[kind[k]]) fail_msg("attempt %zu (kind %d): %d", k, kind[k], rs[k]);
        want[kind[k]]++;
    }
    assert_int_equal(want[3], 1);
    assert_int_equal(want[4], 1);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_attempts"), N + 1);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_messages WHERE status = 'delivered'"
                                   " AND delivered_at = 1700000000005 AND attempts = 1"),
                     want[0]);
    assert_int_equal(tdb_int(T.db,
                             "SELECT COUNT(*) FROM wh_messages WHERE status = 'pending'"
                             " AND last_error = 'HTTP 500' AND next_attempt_at > 1700000000005"
                             " AND lease_owner = '' AND attempts = 1"),
                     want[1]);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_messages WHERE status = 'failed'"
                                   " AND last_error = 'HTTP 500' AND delivered_at IS NULL"),
                     want[2]);
    /* the stale claim's message keeps its current claim, untouched */
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_messages WHERE status = 'pending'"
                                   " AND lease_owner = 'whw_m' AND attempts = 0"),
                     1);
    /* the 410: its endpoint disabled, both its messages failed */
    wh_endpoint g;
    assert_int_equal(wh_endpoint_get(T.db, ACCT, gone.id, &g), GB_OK);
    assert_false(g.enabled);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_messages WHERE endpoint_id IS NOT"
                                   " NULL AND status = 'failed'"),
                     2);
    wh_claimed_free(c, n);
}

/* A claim made inside the caller's open transaction (the worker records a sweep's attempts
 * and refills its slots in one): it holds only if that transaction commits. */
static void test_claim_in_callers_transaction(void **state)
{
    (void)state;
    enqueue_extra(2);
    assert_non_null(T.db2 = tdb_open(T.url));
    wh_claimed *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    assert_int_equal(wh_store_claim(T.db, "whw_a", T0, 60000, 10, &a, &na), GB_OK);
    assert_int_equal(na, 2);
    assert_true(gb_db_in_txn(T.db)); /* the caller's transaction, still open */
    gb_db_rollback(T.db);
    /* rolled back with it: nobody holds them */
    assert_int_equal(wh_store_claim(T.db2, "whw_b", T0, 60000, 10, &b, &nb), GB_OK);
    assert_int_equal(nb, 2);
    wh_claimed_free(b, nb);
    b = NULL;
    wh_claimed_free(a, na);
    a = NULL;
    /* committed with it: held (b's lease is over by T0 + 60001) */
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    assert_int_equal(wh_store_claim(T.db, "whw_a", T0 + 60001, 60000, 10, &a, &na), GB_OK);
    assert_int_equal(na, 2);
    assert_int_equal(gb_db_commit(T.db), GB_OK);
    assert_int_equal(wh_store_claim(T.db2, "whw_b", T0 + 60002, 60000, 10, &b, &nb), GB_OK);
    assert_int_equal(nb, 0);
    wh_claimed_free(a, na);
    wh_claimed_free(b, nb);
}

static void test_worker_thread(void **state)
{
    (void)state;
    add_endpoint("/ok", "*", NULL);
    enqueue("pod.created", NULL);
    wh_worker_cfg c = {
        .poll_ms = 20, .allow_cidrs = "127.0.0.0/8", .secrets = secrets_cb, .db = db2_cb};
    assert_int_equal(gb_db_open_url(T.url, &T.db2), GB_OK);
    wh_worker *w = NULL;
    assert_int_equal(wh_worker_start(&c, &w), GB_OK);
    for (int i = 0; i < 300 && rx_count() == 0; i++)
        usleep(10000);
    wh_worker_stop(w);
    assert_int_equal(rx_count(), 1);
    assert_int_equal(count_status("delivered"), 1);
}

static bool among(const wh_claimed *c, size_t n, const char *id)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(c[k].id, id) == 0) return true;
    return false;
}

/* A sweep's records and its refill claim in one call (wh_store_record_claim; on PostgreSQL
 * the claim rides in the last statement of records). 40 messages are claimed and their
 * leases expire, so the claim could take any of them back; 39 are recorded (over one
 * statement's 32) with room for 3: each recorded message moves on, and the claim takes 3
 * others (the 40th, whose lease expired, or new ones) with their first token, never one it
 * just recorded. Then the 40th alone (one statement): recorded, or refused if it was claimed
 * again. */
static void test_record_claim(void **state)
{
    (void)state;
    enum { N = 40, MORE = 5 };
    enqueue_extra(N);
    wh_claimed *c = NULL, *got = NULL;
    size_t n = 0, ngot = 0;
    assert_int_equal(wh_store_claim(T.db, "whw_s", T0, 1000, N, &c, &n), GB_OK);
    assert_int_equal(n, N);
    enqueue_extra(MORE);
    const wh_claimed *ms[N];
    wh_outcome os[N];
    wh_rec rs[N];
    for (size_t k = 0; k < n; k++) {
        ms[k] = &c[k];
        os[k] = (wh_outcome){
            .status = k % 2 ? 503 : 200, .latency_ms = 2, .retry_after_ms = -1, .head = "h"};
    }
    const int64_t now = T0 + 5000; /* the leases expired at T0 + 1000 */
    assert_int_equal(
        wh_store_record_claim(T.db, ms, os, N - 1, "whw_s", now, rs, 60000, 3, &got, &ngot), GB_OK);
    assert_int_equal(ngot, 3);
    bool last_again = false;
    for (size_t g = 0; g < ngot; g++) {
        if (among(c, N - 1, got[g].id))
            fail_msg("claimed %s again in the call that recorded it", got[g].id);
        bool is_last = strcmp(got[g].id, c[N - 1].id) == 0;
        last_again |= is_last;
        assert_non_null(got[g].payload);
        assert_true(strncmp(got[g].url, "http://", 7) == 0);
        assert_int_equal(got[g].token, is_last ? 2 : 1); /* the 40th's second claim */
    }
    for (size_t k = 0; k + 1 < n; k++)
        if (rs[k] != (k % 2 ? WH_REC_RETRY : WH_REC_DELIVERED))
            fail_msg("attempt %zu: %d", k, rs[k]);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_messages WHERE status = 'delivered'"
                                   " AND attempts = 1 AND lease_owner = ''"),
                     N / 2);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_messages WHERE status = 'pending'"
                                   " AND attempts = 1 AND lease_owner = '' AND last_status = 503"),
                     N / 2 - 1);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_messages WHERE lease_owner = 'whw_s'"
                                   " AND lease_until = 1700000065000 AND attempts = 0"),
                     3);
    wh_claimed_free(got, ngot);
    got = NULL;
    /* the 40th on its own, room for 1: one of the new ones is claimed */
    assert_int_equal(wh_store_record_claim(T.db, ms + N - 1, os + N - 1, 1, "whw_s", now,
                                           rs + N - 1, 60000, 1, &got, &ngot),
                     GB_OK);
    assert_int_equal(rs[N - 1], last_again ? WH_REC_LOST : WH_REC_RETRY);
    assert_int_equal(ngot, 1);
    assert_false(among(c, N, got[0].id));
    wh_claimed_free(got, ngot);
    wh_claimed_free(c, n);
}

/* A sweep whose records fail (a trigger refuses the attempt rows) records nothing and claims
 * nothing: the messages stay leased as they were, the due ones unclaimed, *out empty; with the
 * trigger gone the same call works. */
static void test_record_claim_failure_leaves_nothing(void **state)
{
    (void)state;
    enqueue_extra(3);
    wh_claimed *c = NULL, *got = NULL;
    size_t n = 0, ngot = 7;
    assert_int_equal(wh_store_claim(T.db, "whw_f", T0, 60000, 3, &c, &n), GB_OK);
    assert_int_equal(n, 3);
    enqueue_extra(2);
    bool pg = gb_db_kind_of(T.db) == GB_DB_POSTGRESQL;
    assert_int_equal(
        gb_db_exec(T.db, pg ? "CREATE FUNCTION no_attempts() RETURNS trigger LANGUAGE plpgsql"
                              " AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;"
                              "CREATE TRIGGER no_attempts BEFORE INSERT ON wh_attempts"
                              " FOR EACH ROW EXECUTE FUNCTION no_attempts()"
                            : "CREATE TRIGGER no_attempts BEFORE INSERT ON wh_attempts"
                              " BEGIN SELECT RAISE(ABORT, 'refused'); END"),
        GB_OK);
    const wh_claimed *ms[3] = {&c[0], &c[1], &c[2]};
    wh_outcome os[3];
    wh_rec rs[3];
    for (int k = 0; k < 3; k++)
        os[k] = (wh_outcome){.status = 200, .latency_ms = 1, .retry_after_ms = -1};
    assert_int_not_equal(
        wh_store_record_claim(T.db, ms, os, 3, "whw_f", T0 + 5, rs, 60000, 2, &got, &ngot), GB_OK);
    assert_null(got);
    assert_int_equal(ngot, 0);
    assert_false(gb_db_in_txn(T.db));
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_attempts"), 0);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_messages WHERE status = 'pending'"
                                   " AND lease_owner = 'whw_f' AND attempts = 0"),
                     3);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_messages WHERE lease_owner = ''"), 2);
    assert_int_equal(gb_db_exec(T.db, pg ? "DROP TRIGGER no_attempts ON wh_attempts"
                                         : "DROP TRIGGER no_attempts"),
                     GB_OK);
    assert_int_equal(
        wh_store_record_claim(T.db, ms, os, 3, "whw_f", T0 + 5, rs, 60000, 2, &got, &ngot), GB_OK);
    assert_int_equal(ngot, 2);
    for (int k = 0; k < 3; k++)
        assert_int_equal(rs[k], WH_REC_DELIVERED);
    assert_int_equal(tdb_int(T.db, "SELECT COUNT(*) FROM wh_attempts"), 3);
    wh_claimed_free(got, ngot);
    wh_claimed_free(c, n);
}

/* On PostgreSQL a claim is a HOT update: the new row version stays on its page and no index
 * gets an entry (webhooks' migration step 5 leaves pages room for it). Counted by the server,
 * in the claiming transaction; with full pages (the default fill) most claims of messages this
 * size were not HOT. */
static void test_claims_are_hot_updates(void **state)
{
    (void)state;
    assert_int_equal(gb_db_version(T.db, "webhooks"), 5);
    if (gb_db_kind_of(T.db) != GB_DB_POSTGRESQL) return; /* SQLite updates rows in place */
    char url[128], big[1001];
    url_of("/ok", url, sizeof(url));
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cJSON *p = cJSON_CreateObject();
    assert_non_null(cJSON_AddStringToObject(p, "data", big)); /* a payload of about 1 KiB */
    enum { N = 40 };
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(wh_enqueue(T.db, ACCT, "pod.created", p, url, NULL), GB_OK);
    assert_int_equal(gb_db_commit(T.db), GB_OK);
    cJSON_Delete(p);
    wh_claimed *c = NULL;
    size_t n = 0;
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    assert_int_equal(wh_store_claim(T.db, "whw_h", T0, 60000, N, &c, &n), GB_OK);
    assert_int_equal(n, N);
    assert_int_equal(
        tdb_int(T.db, "SELECT pg_stat_get_xact_tuples_hot_updated('wh_messages'::regclass)"), N);
    assert_int_equal(gb_db_commit(T.db), GB_OK);
    wh_claimed_free(c, n);
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_allowed),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test_setup_teardown(test_endpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_txn_and_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deliver_one_and_redeliver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_then_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_disables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_claim_failure_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_does_not_block_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_holds_one_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ssrf_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_lease_reclaimed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_workers_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_then_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_brokers_store_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paused_claimer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_in_callers_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_are_hot_updates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stalled_store_reads_answers_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attempt_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paused_past_claim_sends_nothing, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
