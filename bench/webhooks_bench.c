/* webhooks_bench.c: webhook delivery through the durable outbox (enqueue in a transaction, lease,
 * sign, POST, record) against plain libcurl multi POSTs of the same bodies, same local receiver.
 * With a RATE, both sides are offered that many messages a second (paced), so the latencies are
 * enqueue-to-delivery below capacity rather than time spent in a backlog. The outbox's database
 * is a temp SQLite file, or GB_BENCH_DB_URL (an empty PostgreSQL database, docs/store.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "common/db.h"
#include "common/dbq.h"
#include "common/str.h"
#include "webhooks/outbox.h"
#include "webhooks/sign.h"

#define ACCOUNT "acct_bench"
#define IN_FLIGHT 32
#define N_MAX 1000000
#define BODY_PAD 960       /* bytes of filler: bodies come to about 1 KiB */
#define RX_BUF (64 * 1024) /* one request (headers + body) must fit */
#define RUN_TIMEOUT_S 120  /* a phase that has not finished by then is a failure */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the receiver: accept thread + one thread per keep-alive connection ---- */

static size_t g_n;
static double g_rate;              /* offered messages per second; 0: as fast as the loop goes */
static _Atomic int64_t *g_arrival; /* per seq, 0 until the first arrival */
static atomic_size_t g_seen;       /* distinct seqs seen in the current phase */
static atomic_size_t g_signed;     /* requests carrying a webhook-signature header */
static atomic_size_t g_bad;        /* requests without a usable seq */
static int g_listen = -1;

static void record_arrival(const char *body, size_t len, int64_t t)
{
    static const char key[] = "\"seq\":";
    char tmp[32];
    const char *p = NULL;
    for (size_t i = 0; i + sizeof(key) - 1 <= len && i < 64; i++)
        if (memcmp(body + i, key, sizeof(key) - 1) == 0) {
            p = body + i + sizeof(key) - 1;
            break;
        }
    size_t k = 0;
    while (p && k + 1 < sizeof(tmp) && p + k < body + len && p[k] >= '0' && p[k] <= '9') {
        tmp[k] = p[k];
        k++;
    }
    tmp[k] = '\0';
    char *end = NULL;
    errno = 0;
    long long v = k ? strtoll(tmp, &end, 10) : -1;
    if (k == 0 || errno || v < 0 || (unsigned long long)v >= g_n) {
        atomic_fetch_add(&g_bad, 1);
        return;
    }
    int64_t zero = 0;
    if (atomic_compare_exchange_strong(&g_arrival[v], &zero, t)) atomic_fetch_add(&g_seen, 1);
}

/* Content-Length of a header block (NUL-terminated), -1 when missing or bad. */
static long long content_length(const char *h, int *has_sig)
{
    long long cl = -1;
    *has_sig = 0;
    for (const char *line = strstr(h, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        const char *l = line + 2;
        if (strncasecmp(l, "webhook-signature:", 18) == 0) *has_sig = 1;
        if (strncasecmp(l, "content-length:", 15) == 0) {
            char *end = NULL;
            errno = 0;
            long long v = strtoll(l + 15, &end, 10);
            if (errno || end == l + 15 || v < 0 || v > RX_BUF) return -1;
            cl = v;
        }
    }
    return cl;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    char *buf = malloc(RX_BUF + 1);
    size_t have = 0;
    while (buf) {
        char *eoh = NULL;
        buf[have] = '\0';
        while (!(eoh = strstr(buf, "\r\n\r\n"))) {
            if (have == RX_BUF) goto done;
            ssize_t r = recv(fd, buf + have, RX_BUF - have, 0);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) goto done;
            have += (size_t)r;
            buf[have] = '\0';
        }
        size_t hlen = (size_t)(eoh - buf) + 4;
        eoh[2] = '\0'; /* headers end with the last "\r\n" */
        int has_sig = 0;
        long long cl = content_length(buf, &has_sig);
        if (cl < 0 || hlen + (size_t)cl > RX_BUF) goto done;
        while (have < hlen + (size_t)cl) {
            ssize_t r = recv(fd, buf + have, RX_BUF - have, 0);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) goto done;
            have += (size_t)r;
        }
        record_arrival(buf + hlen, (size_t)cl, now_us());
        if (has_sig) atomic_fetch_add(&g_signed, 1);
        if (write_all(fd, ok, sizeof(ok) - 1)) goto done;
        size_t used = hlen + (size_t)cl;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
done:
    free(buf);
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(g_listen, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return NULL; /* the listening socket was shut down */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_t th;
        if (pthread_create(&th, NULL, conn_main, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(th);
    }
}

static int receiver_start(uint16_t *port, pthread_t *th)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int one = 1;
    if ((g_listen = socket(AF_INET, SOCK_STREAM, 0)) < 0) return -1;
    setsockopt(g_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(g_listen, (struct sockaddr *)&a, sizeof(a)) || listen(g_listen, 256) ||
        getsockname(g_listen, (struct sockaddr *)&a, &alen))
        return -1;
    *port = ntohs(a.sin_port);
    return pthread_create(th, NULL, accept_main, NULL) ? -1 : 0;
}

static void phase_reset(void)
{
    for (size_t i = 0; i < g_n; i++)
        atomic_store(&g_arrival[i], 0);
    atomic_store(&g_seen, 0);
    atomic_store(&g_signed, 0);
    atomic_store(&g_bad, 0);
}

/* With a rate, waits until message i is due (t0 + i / rate). */
static void pace(int64_t t0, size_t i)
{
    if (g_rate <= 0) return;
    int64_t due = t0 + (int64_t)((double)i * 1e6 / g_rate);
    for (int64_t now = now_us(); now < due; now = now_us()) {
        struct timespec ts = {0, (long)((due - now) * 1000)};
        nanosleep(&ts, NULL);
    }
}

/* ---- figures ---- */

typedef struct {
    double per_s, p50_ms, p99_ms;
    double enq_per_s; /* outbox only: the rate of the enqueue loop alone */
} figures;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* start_us[i]: when message i was handed over (enqueued / submitted); t0: start of the phase. */
static figures compute(const int64_t *start_us, int64_t t0)
{
    figures f = {0};
    int64_t *lat = malloc(g_n * sizeof(*lat)), last = t0;
    if (!lat) return f;
    for (size_t i = 0; i < g_n; i++) {
        int64_t a = atomic_load(&g_arrival[i]);
        lat[i] = a - start_us[i];
        if (a > last) last = a;
    }
    qsort(lat, g_n, sizeof(*lat), cmp_i64);
    f.per_s = last > t0 ? (double)g_n * 1e6 / (double)(last - t0) : 0;
    f.p50_ms = (double)lat[(g_n - 1) / 2] / 1000.0;
    f.p99_ms = (double)lat[(g_n * 99 + 99) / 100 - 1] / 1000.0;
    free(lat);
    return f;
}

static int wait_all(int64_t t0)
{
    while (atomic_load(&g_seen) < g_n) {
        if (now_us() - t0 > (int64_t)RUN_TIMEOUT_S * 1000000) return -1;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* ---- bodies ---- */

static cJSON *body_json(size_t i)
{
    static char pad[BODY_PAD + 1];
    if (!pad[0]) {
        for (size_t k = 0; k < BODY_PAD; k++)
            pad[k] = (char)('a' + k % 26);
        pad[BODY_PAD] = '\0';
    }
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddNumberToObject(o, "seq", (double)i) ||
        !cJSON_AddStringToObject(o, "type", "pod.ready") ||
        !cJSON_AddStringToObject(o, "pod_id", "pod_0123456789abcdef") ||
        !cJSON_AddStringToObject(o, "data", pad)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* ---- baseline: plain libcurl multi, at most IN_FLIGHT, handles and connections reused ---- */

static int run_baseline(const char *url, char **bodies, figures *out)
{
    CURLM *m = curl_multi_init();
    CURL *h[IN_FLIGHT] = {0};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = hdrs ? curl_slist_append(hdrs, "Expect:") : NULL;
    int64_t *sub = calloc(g_n, sizeof(*sub));
    int rc = -1;
    if (!m || !h2 || !sub) goto out;
    hdrs = h2;
    phase_reset();
    size_t next = 0, done = 0;
    int64_t t0 = now_us();
    for (size_t k = 0; k < IN_FLIGHT; k++) {
        if (!(h[k] = curl_easy_init())) goto out;
        curl_easy_setopt(h[k], CURLOPT_URL, url);
        curl_easy_setopt(h[k], CURLOPT_POST, 1L);
        curl_easy_setopt(h[k], CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h[k], CURLOPT_PROXY, "");
        curl_easy_setopt(h[k], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h[k], CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(h[k], CURLOPT_WRITEFUNCTION, discard);
    }
    size_t free_h[IN_FLIGHT], nfree = IN_FLIGHT;
    for (size_t k = 0; k < IN_FLIGHT; k++)
        free_h[k] = k;
    while (done < g_n) {
        while (nfree > 0 && next < g_n &&
               (g_rate <= 0 || now_us() >= t0 + (int64_t)((double)next * 1e6 / g_rate))) {
            CURL *e = h[free_h[--nfree]];
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, bodies[next]);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(bodies[next]));
            curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)(uintptr_t)next);
            sub[next] = now_us();
            if (curl_multi_add_handle(m, e) != CURLM_OK) goto out;
            next++;
        }
        int still = 0, left = 0;
        if (curl_multi_perform(m, &still) != CURLM_OK) goto out;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (msg->data.result != CURLE_OK || status != 200) {
                fprintf(stderr, "baseline: a POST failed: %s, status %ld\n",
                        curl_easy_strerror(msg->data.result), status);
                goto out;
            }
            CURL *e = msg->easy_handle;
            curl_multi_remove_handle(m, e);
            for (size_t k = 0; k < IN_FLIGHT; k++)
                if (h[k] == e) free_h[nfree++] = k;
            done++;
        }
        /* poll only with transfers running (it would wait out its timeout otherwise) */
        if (done < g_n && !(nfree > 0 && next < g_n) &&
            curl_multi_poll(m, NULL, 0, 100, NULL) != CURLM_OK)
            goto out;
        if (g_rate > 0 && nfree > 0 && next < g_n) /* the next is not due yet */
            if (curl_multi_poll(m, NULL, 0, 1, NULL) != CURLM_OK) goto out;
    }
    if (wait_all(t0)) goto out;
    *out = compute(sub, t0);
    rc = 0;
out:
    for (size_t k = 0; k < IN_FLIGHT; k++)
        if (h[k]) {
            curl_multi_remove_handle(m, h[k]);
            curl_easy_cleanup(h[k]);
        }
    curl_slist_free_all(hdrs);
    curl_multi_cleanup(m);
    free(sub);
    return rc;
}

/* ---- the outbox: worker thread running, enqueue one message per transaction ---- */

static char g_secret[WH_SECRET_MAX];
#define WORKERS_MAX 4
#define PRODUCERS_MAX 16
static gb_db *g_worker_db[WORKERS_MAX]; /* one connection per worker ("broker") */
static int g_workers = 1;

static size_t bench_secrets(void *ud, const char *account_id, char secrets[][128], size_t max)
{
    (void)ud;
    if (max == 0 || strcmp(account_id, ACCOUNT) != 0) return 0;
    gb_strlcpy(secrets[0], g_secret, 128);
    return 1;
}

static gb_db *bench_db(void *ud)
{
    return g_worker_db[(intptr_t)ud];
}

/* One enqueuing broker: messages first, first + step, ... each in its own transaction on db,
 * paced by their index as one loop would be. */
typedef struct {
    gb_db *db;
    size_t first, step;
    int64_t t0, *enq;
    int failed;
} enq_job;

static int g_producers = 1; /* enqueuing threads per broker (GB_BENCH_PRODUCERS) */

/* Message i queued as a gb_db_txn work (the producers' path: grouped on SQLite). */
static gb_err enqueue_work(gb_db *db, void *ud)
{
    size_t i = *(size_t *)ud, q = 0;
    cJSON *o = body_json(i);
    gb_err e = o ? wh_enqueue(db, ACCOUNT, "pod.ready", o, NULL, &q) : GB_ERR_NOMEM;
    cJSON_Delete(o);
    return e ? e : q == 1 ? GB_OK : GB_ERR_INTERNAL;
}

static void *enqueue_some(void *arg)
{
    enq_job *j = arg;
    for (size_t i = j->first; i < g_n && !j->failed; i += j->step) {
        pace(j->t0, i);
        j->enq[i] = now_us();
        if (g_producers > 1) {
            if (gb_db_txn(j->db, enqueue_work, &i)) {
                fprintf(stderr, "outbox: enqueue %zu failed\n", i);
                j->failed = 1;
            }
            continue;
        }
        cJSON *o = body_json(i);
        size_t q = 0;
        if (!o || gb_db_begin(j->db) || wh_enqueue(j->db, ACCOUNT, "pod.ready", o, NULL, &q) ||
            q != 1 || gb_db_commit(j->db)) {
            gb_db_rollback(j->db);
            fprintf(stderr, "outbox: enqueue %zu failed\n", i);
            j->failed = 1;
        }
        cJSON_Delete(o);
    }
    return NULL;
}

static int g_drain;

static int start_workers(wh_worker_cfg *cfg, wh_worker **w)
{
    for (int k = 0; k < g_workers; k++) {
        cfg->ud = (void *)(intptr_t)k;
        if (wh_worker_start(cfg, &w[k])) {
            fprintf(stderr, "outbox: cannot start the worker\n");
            return -1;
        }
    }
    return 0;
}

static int run_outbox(const char *dburl, const char *url, figures *out)
{
    gb_db *db = NULL;
    gb_db_group *group = NULL;
    wh_worker *w[WORKERS_MAX] = {NULL};
    wh_endpoint ep;
    int64_t *enq = calloc(g_n, sizeof(*enq));
    int rc = -1;
    if (!enq || gb_db_open_url(dburl, &db) || gb_db_migrate(db, wh_migrations(), 1) ||
        wh_secret_new(32, g_secret, sizeof(g_secret)) ||
        wh_endpoint_insert(db, ACCOUNT, url, "*", &ep)) {
        fprintf(stderr, "outbox: setup failed\n");
        goto out;
    }
    /* SQLite: the connections attached to a group as the daemon's are (storage.group_commit:
     * WAL checkpoints on the group's thread); GB_BENCH_GROUP=0 leaves them on their own */
    const char *grp = getenv("GB_BENCH_GROUP");
    if (gb_db_kind_of(db) == GB_DB_SQLITE && !(grp && strcmp(grp, "0") == 0)) {
        if (gb_db_group_open(gb_db_path(db), &group)) {
            fprintf(stderr, "outbox: setup failed\n");
            goto out;
        }
        gb_db_group_attach(db, group);
    }
    for (int k = 0; k < g_workers; k++) {
        if (gb_db_open_url(dburl, &g_worker_db[k])) {
            fprintf(stderr, "outbox: setup failed\n");
            goto out;
        }
        gb_db_group_attach(g_worker_db[k], group);
    }
    /* the daemon's worker as the daemon runs it: poll_ms 1000 (webhooks.poll_ms); what makes
     * a message leave at once is the wake after its enqueue commits (webhooks/wake.c), as for
     * every message the daemon itself queues */
    wh_worker_cfg cfg = {.max_in_flight = IN_FLIGHT,
                         .poll_ms = 1000,
                         .allow_cidrs = "127.0.0.0/8",
                         .secrets = bench_secrets,
                         .db = bench_db};
    /* GB_BENCH_WORKERS=2: a second worker with its own connection and lease owner, as a second
     * broker's on the same database (both are woken by this process's commits) */
    /* GB_BENCH_DRAIN=1: every message queued first, the workers started after: what they
     * deliver per second from a full outbox, whatever the enqueue loop's pace */
    const char *dr = getenv("GB_BENCH_DRAIN");
    g_drain = dr && strcmp(dr, "1") == 0;
    if (!g_drain && start_workers(&cfg, w)) goto out;
    phase_reset();
    int64_t t0 = now_us();
    /* with several workers, as many enqueuing brokers, each with g_producers threads (as
     * concurrent requests of a broker): the first on db, each other on a connection of its
     * own */
    int nenq = g_workers * g_producers;
    enq_job jobs[WORKERS_MAX * PRODUCERS_MAX];
    pthread_t th[WORKERS_MAX * PRODUCERS_MAX];
    gb_db *edb[WORKERS_MAX * PRODUCERS_MAX] = {db};
    int started = 0, failed = 0;
    for (int k = 0; k < nenq; k++) {
        if (k > 0 && gb_db_open_url(dburl, &edb[k])) {
            failed = 1;
            break;
        }
        gb_db_group_attach(edb[k], group);
        jobs[k] =
            (enq_job){.db = edb[k], .first = (size_t)k, .step = (size_t)nenq, .t0 = t0, .enq = enq};
        if (pthread_create(&th[k], NULL, enqueue_some, &jobs[k]) != 0) {
            failed = 1;
            break;
        }
        started++;
    }
    for (int k = 0; k < started; k++) {
        pthread_join(th[k], NULL);
        failed |= jobs[k].failed;
    }
    for (int k = 1; k < started; k++)
        gb_db_close(edb[k]);
    if (failed) goto out;
    int64_t t_enq = now_us();
    double enq_per_s = t_enq > t0 ? (double)g_n * 1e6 / (double)(t_enq - t0) : 0;
    if (g_drain) { /* the clock starts with the workers; "latency" is then time to arrival */
        t0 = now_us();
        for (size_t i = 0; i < g_n; i++)
            enq[i] = t0;
        if (start_workers(&cfg, w)) goto out;
    }
    if (wait_all(t0)) {
        fprintf(stderr, "outbox: only %zu of %zu delivered in %d s\n", atomic_load(&g_seen), g_n,
                RUN_TIMEOUT_S);
        goto out;
    }
    *out = compute(enq, t0);
    out->enq_per_s = enq_per_s;
    if (atomic_load(&g_signed) < g_n) {
        fprintf(stderr, "outbox: %zu deliveries unsigned\n", g_n - atomic_load(&g_signed));
        goto out;
    }
    rc = 0;
out:
    for (int k = 0; k < g_workers; k++) {
        wh_worker_stop(w[k]);
        gb_db_close(g_worker_db[k]);
        g_worker_db[k] = NULL;
    }
    gb_db_close(db);
    gb_db_group_close(group);
    free(enq);
    return rc;
}

int main(int argc, char **argv)
{
    long long n = 2000;
    if (argc > 1) {
        char *end = NULL;
        errno = 0;
        n = strtoll(argv[1], &end, 10);
        if (errno || end == argv[1] || *end || n < 1 || n > N_MAX) {
            fprintf(stderr, "usage: %s [MESSAGES 1..%d] [RATE/s]\n", argv[0], N_MAX);
            return 2;
        }
    }
    if (argc > 2) {
        char *end = NULL;
        errno = 0;
        g_rate = strtod(argv[2], &end);
        if (errno || end == argv[2] || *end || g_rate < 1 || g_rate > 1e6) {
            fprintf(stderr, "usage: %s [MESSAGES] [RATE/s 1..1000000]\n", argv[0]);
            return 2;
        }
    }
    g_n = (size_t)n;
    const char *nw = getenv("GB_BENCH_WORKERS");
    if (nw && (atoi(nw) < 1 || atoi(nw) > WORKERS_MAX)) {
        fprintf(stderr, "GB_BENCH_WORKERS: 1..%d\n", WORKERS_MAX);
        return 2;
    }
    if (nw) g_workers = atoi(nw);
    const char *np = getenv("GB_BENCH_PRODUCERS");
    if (np && (atoi(np) < 1 || atoi(np) > PRODUCERS_MAX)) {
        fprintf(stderr, "GB_BENCH_PRODUCERS: 1..%d\n", PRODUCERS_MAX);
        return 2;
    }
    if (np) g_producers = atoi(np);
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    g_arrival = calloc(g_n, sizeof(*g_arrival));
    char **bodies = calloc(g_n, sizeof(*bodies));
    if (!g_arrival || !bodies) return 1;
    for (size_t i = 0; i < g_n; i++) {
        cJSON *o = body_json(i);
        bodies[i] = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!bodies[i]) return 1;
    }
    uint16_t port = 0;
    pthread_t acc;
    if (receiver_start(&port, &acc)) {
        perror("receiver");
        return 1;
    }
    char url[64], dir[] = "/tmp/webhooks_bench.XXXXXX", dbpath[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", (unsigned)port);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dbpath, sizeof(dbpath), "%s/wh.db", dir);
    const char *dburl = getenv("GB_BENCH_DB_URL") ? getenv("GB_BENCH_DB_URL") : dbpath;

    figures base = {0}, box = {0};
    int rc = run_baseline(url, bodies, &base) || run_outbox(dburl, url, &box);
    if (rc == 0 && g_rate > 0)
        printf("offered %.0f/s, outbox on %s; ", g_rate, dburl == dbpath ? "SQLite" : "PostgreSQL");
    if (rc == 0 && g_workers > 1) printf("%d workers; ", g_workers);
    if (rc == 0 && g_producers > 1)
        printf("%d producers per broker (gb_db_txn%s); ", g_producers,
               dburl == dbpath ? ", grouped" : "");
    if (rc == 0 && g_drain) printf("drain (all queued before the workers start); ");
    if (rc == 0)
        printf("webhooks: %zu messages (%zu-byte bodies), %d in flight; outbox+signing %.0f/s "
               "(enqueued at %.0f/s) p50 %.1f ms p99 %.1f ms; plain curl multi %.0f/s p50 %.1f ms "
               "p99 %.1f ms; "
               "ratio throughput %.3f, p99 %.1fx\n",
               g_n, strlen(bodies[0]), IN_FLIGHT, box.per_s, box.enq_per_s, box.p50_ms, box.p99_ms,
               base.per_s, base.p50_ms, base.p99_ms, base.per_s > 0 ? box.per_s / base.per_s : 0,
               base.p99_ms > 0 ? box.p99_ms / base.p99_ms : 0);
    if (atomic_load(&g_bad))
        fprintf(stderr, "receiver: %zu requests without a seq\n", atomic_load(&g_bad));

    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t k = 0; k < 3; k++) {
        char p[160];
        snprintf(p, sizeof(p), "%s%s", dbpath, suffix[k]);
        unlink(p);
    }
    rmdir(dir);
    shutdown(g_listen, SHUT_RDWR);
    close(g_listen);
    pthread_join(acc, NULL);
    for (size_t i = 0; i < g_n; i++)
        cJSON_free(bodies[i]);
    free(bodies);
    free(g_arrival);
    curl_global_cleanup();
    return rc ? 1 : 0;
}
