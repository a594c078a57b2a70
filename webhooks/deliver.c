/* deliver.c: the webhook delivery worker: claims due outbox messages under a lease, POSTs them
 * concurrently with libcurl multi (signed, no redirects, SSRF-guarded on the connected
 * address), and records each attempt as soon as it completes. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/dbq.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/str.h"
#include "common/worker.h"
#include "webhooks/events.h"
#include "webhooks/outbox.h"
#include "webhooks/sign.h"
#include "webhooks/wake.h"

#ifndef GPUBROKER_VERSION
#define GPUBROKER_VERSION "dev"
#endif

struct wh_worker {
    wh_worker_cfg cfg;
    char *allow;
    char owner[GB_ID_MAX];
    CURLM *multi;
    gb_worker *loop;          /* the thread of wh_worker_start, else NULL */
    int64_t pruned_at;        /* gb_mono_ms() of the event log's last pruning, 0: not yet */
    atomic_int woken;         /* wh_worker_wake since the pass last looked: claim now */
    gb_db_listener *listener; /* cfg.listen_url on PostgreSQL: other brokers' enqueues */
};

typedef struct {
    wh_worker *w;
    const wh_claimed *m;
    CURL *h;
    struct curl_slist *hdrs;
    char head[WH_RESPONSE_HEAD + 1];
    size_t head_len;
    char retry_after[64];
    bool refused;
    char refused_ip[64];
    char errbuf[CURL_ERROR_SIZE];
    int64_t t0; /* gb_mono_ms() at the start: the attempt times out at t0 + attempt_timeout_ms */
    /* the claim's end (gb_now_ms()): checked just before the request leaves, so a worker
     * paused past its claim (SIGSTOP) does not deliver a message another broker may have
     * claimed, and delivered, since; late: not sent for that */
    gb_http_send_limit claim;
    CURLcode res;  /* the transfer's result, once done */
    bool disabled; /* its record disabled the endpoint (told after the batch commits) */
    wh_outcome o;  /* once done: what happened, to be recorded */
    char err[CURL_ERROR_SIZE + 96];
} xfer;

const char *wh_worker_owner(const wh_worker *w)
{
    return w ? w->owner : "";
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n, room = WH_RESPONSE_HEAD - x->head_len;
    size_t take = len < room ? len : room;
    memcpy(x->head + x->head_len, p, take);
    x->head_len += take;
    x->head[x->head_len] = '\0';
    return len; /* the rest is read and dropped; the attempt timeout bounds it */
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) x->retry_after[0] = '\0';
    if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        const char *v = p + sizeof(name) - 1;
        size_t vl = len - (sizeof(name) - 1);
        while (vl > 0 && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl < sizeof(x->retry_after)) {
            memcpy(x->retry_after, v, vl);
            x->retry_after[vl] = '\0';
        }
    }
    return len;
}

/* Runs once the connection is made (or reused), before the request is sent: the SSRF guard
 * checks the address actually connected, so DNS rebinding cannot slip past it. */
/* The SSRF guard: called with the address curl is about to connect to (after DNS, for every
 * address it tries), before any packet leaves. A refused address gets no socket, so not even a
 * TCP handshake reaches a loopback, private or link-local host. */
static curl_socket_t on_opensocket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    xfer *x = ud;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (purpose == CURLSOCKTYPE_IPCXN && a->family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->addr)->sin_addr, ip, sizeof(ip));
    else if (purpose == CURLSOCKTYPE_IPCXN && a->family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->addr)->sin6_addr, ip, sizeof(ip));
    if (strcmp(ip, "?") != 0 && wh_address_allowed(ip, x->w->allow))
        return socket(a->family, a->socktype, a->protocol);
    x->refused = true;
    gb_strlcpy(x->refused_ip, ip, sizeof(x->refused_ip));
    return CURL_SOCKET_BAD;
}

static uint32_t rnd32(void)
{
    uint32_t r;
    gb_random_bytes(&r, sizeof(r));
    return r;
}

/* Records the attempt; true when it disabled the endpoint (a 410). on_disabled is called here
 * unless defer (the caller's transaction is still open: it calls it after the commit). */
static bool record(wh_worker *w, gb_db *db, const wh_claimed *m, const wh_outcome *o, bool defer)
{
    wh_rec r = WH_REC_RETRY;
    gb_err e = wh_store_record(db, m, w->owner, o, gb_now_ms(), &r);
    if (e) {
        GB_ERROR("webhooks", "recording an attempt of %s failed: %s", m->id, gb_strerror(e));
        return false; /* the lease expires and the message is tried again */
    }
    if (r != WH_REC_DISABLED) return false;
    GB_WARN("webhooks", "endpoint %s disabled: 410 Gone from receiver", m->endpoint_id);
    if (!defer && w->cfg.on_disabled) w->cfg.on_disabled(w->cfg.ud, m->account_id, m->endpoint_id);
    return true;
}

/* Builds the request; on failure err gets why (nothing is sent). */
static gb_err setup(xfer *x, char *err, size_t errsz)
{
    wh_worker *w = x->w;
    const wh_claimed *m = x->m;
    char secrets[WH_SECRETS_MAX][128];
    const char *ptrs[WH_SECRETS_MAX];
    char sig[WH_SECRETS_MAX * WH_SIG_V1_MAX + WH_SIG_V1A_MAX + 16], line[sizeof(sig) + 32];
    char sk[WH_SK_MAX] = "";
    gb_err e = GB_ERR_INVALID;
    if (w->cfg.https_only && !gb_str_starts_with(m->url, "https://")) {
        gb_strlcpy(err, "refused: https is required", errsz);
        goto fail;
    }
    size_t ns =
        w->cfg.secrets ? w->cfg.secrets(w->cfg.ud, m->account_id, secrets, WH_SECRETS_MAX) : 0;
    if (ns > WH_SECRETS_MAX) ns = WH_SECRETS_MAX;
    for (size_t i = 0; i < ns; i++) {
        secrets[i][127] = '\0';
        ptrs[i] = secrets[i];
    }
    int64_t ts = gb_now_ms() / 1000;
    int has_sk = w->cfg.ed25519 && w->cfg.ed25519(w->cfg.ud, m->account_id, sk, sizeof(sk)) == 1;
    gb_err se = ns == 0 ? GB_ERR_INVALID
                        : wh_signature_header(ptrs, ns, has_sk ? sk : NULL, m->id, ts, m->payload,
                                              m->payload_len, sig, sizeof(sig));
    gb_memzero(sk, sizeof(sk));
    gb_memzero(secrets, sizeof(secrets));
    if (se != GB_OK) {
        gb_strlcpy(err, "no valid signing secret for the account", errsz);
        goto fail;
    }
    e = GB_ERR_NOMEM;
    struct curl_slist *l = NULL;
#define ADD(s)                                                                                     \
    do {                                                                                           \
        struct curl_slist *n_ = curl_slist_append(l, s);                                           \
        if (!n_) goto fail_list;                                                                   \
        l = n_;                                                                                    \
    } while (0)
    ADD("Content-Type: application/json");
    ADD("Expect:");
    if (gb_snprintf(line, sizeof(line), "webhook-id: %s", m->id)) goto fail_list;
    ADD(line);
    /* the request id of a delivery is its message's id (docs/operations.md, Monitoring) */
    if (gb_snprintf(line, sizeof(line), "X-Request-Id: %s", m->id)) goto fail_list;
    ADD(line);
    if (gb_snprintf(line, sizeof(line), "webhook-timestamp: %lld", (long long)ts)) goto fail_list;
    ADD(line);
    if (gb_snprintf(line, sizeof(line), "webhook-signature: %s", sig)) goto fail_list;
    ADD(line);
#undef ADD
    x->hdrs = l;
    l = NULL;
    if (!(x->h = curl_easy_init())) goto fail;
    CURL *h = x->h;
    /* the attempt's timeout is the worker's own deadline (past_deadline, checked after what has
     * come was read); libcurl's, which it checks before reading, is only a backstop at the
     * lease: a worker that stalled past the timeout (a slow store write) would otherwise count
     * answers that came meanwhile as timeouts, and send them again */
    long tmo = (long)w->cfg.lease_ms;
    int bad = 0;
    bad |= curl_easy_setopt(h, CURLOPT_URL, m->url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, w->cfg.https_only ? "https" : "http,https");
    bad |= curl_easy_setopt(h, CURLOPT_POST, 1L);
    bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, m->payload);
    bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)m->payload_len);
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "gpubroker-webhooks/" GPUBROKER_VERSION);
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    bad |= curl_easy_setopt(h, CURLOPT_PROXY, ""); /* a proxy would hide the real peer */
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo);
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, tmo);
    bad |= curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
    bad |= curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x);
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    bad |= curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    bad |= gb_http_send_limit_set(h, &x->claim) != 0;
    if (bad) {
        gb_strlcpy(err, "invalid URL or request options", errsz);
        e = GB_ERR_INVALID;
        goto fail;
    }
    e = GB_OK;
    goto fail;
fail_list:
    curl_slist_free_all(l);
fail:
    gb_memzero(secrets, sizeof(secrets));
    return e;
}

/* The transfer's outcome into x->o (its texts point into x). */
static void outcome(xfer *x, CURLcode res)
{
    wh_outcome *o = &x->o;
    *o = (wh_outcome){.latency_ms = gb_mono_ms() - x->t0, .retry_after_ms = -1, .rnd = rnd32()};
    if (res == CURLE_OK) {
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &o->status);
    } else if (x->refused) {
        gb_snprintf(x->err, sizeof(x->err), "refused: connected address %s is not allowed",
                    x->refused_ip);
        o->error = x->err;
    } else if (x->claim.late) {
        gb_strlcpy(x->err, "not sent: the claim had ended before it left", sizeof(x->err));
        o->error = x->err;
    } else {
        gb_snprintf(x->err, sizeof(x->err), "%s%s%s", curl_easy_strerror(res),
                    x->errbuf[0] ? ": " : "", x->errbuf);
        o->error = x->err;
    }
    for (size_t i = 0; i < x->head_len; i++) /* keep the log printable */
        if ((unsigned char)x->head[i] < 0x20 || (unsigned char)x->head[i] > 0x7e) x->head[i] = '?';
    if (x->head_len) o->head = x->head;
    if (x->retry_after[0]) o->retry_after_ms = gb_http_retry_after_ms(x->retry_after, gb_now_ms());
}

static void xfer_clean(wh_worker *w, xfer *x)
{
    if (x->h) {
        curl_multi_remove_handle(w->multi, x->h);
        curl_easy_cleanup(x->h);
        x->h = NULL;
    }
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
}

/* One message in flight: its transfer and its claimed row (owned). */
typedef struct {
    xfer x; /* first: a finished transfer's xfer* is its slot */
    wh_claimed m;
} slot;

static void slot_free(wh_worker *w, slot *sl)
{
    xfer_clean(w, &sl->x);
    free(sl->m.url);
    free(sl->m.payload);
    free(sl);
}

/* Starts the claimed messages (committed claims only); those that cannot start are recorded
 * as failed attempts at once. Frees ms. */
static void start_claimed(wh_worker *w, gb_db *db, wh_claimed *ms, size_t n, int64_t lease_until,
                          int *running, slot **live)
{
    for (size_t i = 0; i < n; i++) {
        slot *sl = calloc(1, sizeof(*sl));
        if (!sl) continue; /* the lease expires; the message is claimed again later */
        sl->m = ms[i];
        ms[i].url = ms[i].payload = NULL; /* moved into the slot */
        xfer *x = &sl->x;
        x->w = w;
        x->m = &sl->m;
        x->t0 = gb_mono_ms();
        x->claim.send_by = lease_until;
        char err[128] = "";
        gb_err se = setup(x, err, sizeof(err));
        if (se == GB_OK && curl_multi_add_handle(w->multi, x->h) != CURLM_OK) {
            gb_strlcpy(err, "could not start the request", sizeof(err));
            se = GB_ERR_INTERNAL;
        }
        if (se != GB_OK) {
            wh_outcome o = {.retry_after_ms = -1, .rnd = rnd32(), .error = err};
            if (!err[0]) gb_strlcpy(err, gb_strerror(se), sizeof(err));
            record(w, db, x->m, &o, false);
            slot_free(w, sl);
            continue;
        }
        live[(*running)++] = sl;
    }
    wh_claimed_free(ms, n);
}

/* Claims up to room due messages and starts them; returns how many were claimed (-1 on a
 * store error). */
static int top_up(wh_worker *w, gb_db *db, int room, int *running, slot **live)
{
    wh_claimed *ms = NULL;
    size_t n = 0;
    int64_t now = gb_now_ms();
    if (wh_store_claim(db, w->owner, now, w->cfg.lease_ms, room, &ms, &n) != GB_OK) return -1;
    start_claimed(w, db, ms, n, now + w->cfg.lease_ms, running, live);
    return (int)n;
}

/* Records the outcomes of the done transfers and claims up to room more due messages (*ms,
 * *got, their claim ending at *lease_until), in one transaction (wh_store_record_claim); marks
 * those that disabled their endpoint. False when the store failed (logged): nothing was
 * recorded or claimed. */
static bool record_done(wh_worker *w, gb_db *db, slot **fin, int done, int room,
                        wh_claimed **claimed, size_t *got, int64_t *lease_until)
{
    const wh_claimed **ms = calloc((size_t)done, sizeof(*ms));
    wh_outcome *os = calloc((size_t)done, sizeof(*os));
    wh_rec *rs = calloc((size_t)done, sizeof(*rs));
    gb_err e = ms && os && rs ? GB_OK : GB_ERR_NOMEM;
    for (int k = 0; !e && k < done; k++) {
        outcome(&fin[k]->x, fin[k]->x.res);
        ms[k] = &fin[k]->m;
        os[k] = fin[k]->x.o;
    }
    int64_t now = gb_now_ms();
    *lease_until = now + w->cfg.lease_ms;
    if (!e)
        e = wh_store_record_claim(db, ms, os, (size_t)done, w->owner, now, rs, w->cfg.lease_ms,
                                  room, claimed, got);
    if (e) GB_ERROR("webhooks", "recording %d attempts failed: %s", done, gb_strerror(e));
    for (int k = 0; !e && k < done; k++) {
        fin[k]->x.disabled = rs[k] == WH_REC_DISABLED;
        if (fin[k]->x.disabled)
            GB_WARN("webhooks", "endpoint %s disabled: 410 Gone from receiver", ms[k]->endpoint_id);
    }
    free(ms);
    free(os);
    free(rs);
    return e == GB_OK;
}

/* Moves the live transfers past their attempt deadline to fin, as timed out; returns how
 * many. Runs after curl_multi_perform and its done transfers were taken, so an answer that came
 * while the worker was busy elsewhere (a slow store write) was read first. */
static int past_deadline(wh_worker *w, slot **live, int *running, slot **fin)
{
    int64_t since = gb_mono_ms() - w->cfg.attempt_timeout_ms; /* started before: timed out */
    int n = 0;
    for (int k = 0; k < *running;) {
        xfer *x = &live[k]->x;
        if (x->t0 > since) {
            k++;
            continue;
        }
        x->res = CURLE_OPERATION_TIMEDOUT;
        gb_snprintf(x->errbuf, sizeof(x->errbuf), "no answer in %lld ms",
                    (long long)w->cfg.attempt_timeout_ms);
        fin[n++] = live[k];
        live[k] = live[--*running];
    }
    return n;
}

/* How long to wait for sockets: at most 100 ms, and not past the nearest attempt deadline. */
static int poll_wait_ms(const wh_worker *w, slot **live, int running)
{
    int64_t now = gb_mono_ms(), wait = 100;
    for (int k = 0; k < running; k++) {
        int64_t left = live[k]->x.t0 + w->cfg.attempt_timeout_ms - now;
        if (left < wait) wait = left;
    }
    return wait < 1 ? 1 : (int)wait;
}

/* Claims and delivers continuously: whenever fewer than max_in_flight are running, more due
 * messages are claimed, so a slow receiver holds up only its own slot, never a batch. Each
 * attempt is recorded as it completes. The pass ends when nothing runs and nothing is due, or
 * after 8 x max_in_flight messages (so the worker thread sees a stop request in time). */
int wh_worker_pass(wh_worker *w)
{
    gb_db *db = w->cfg.db(w->cfg.ud);
    /* the claims and the sweep's statement: one plan each, whatever their values (a failure
     * is logged by the store and costs only speed: tried again at the next pass) */
    if (db) (void)gb_db_plan_generic(db);
    /* live: the slots in flight; then (fin) the ones done in one sweep */
    slot **live = db ? calloc(2 * (size_t)w->cfg.max_in_flight, sizeof(*live)) : NULL;
    if (!live) return -1;
    slot **fin = live + w->cfg.max_in_flight;
    int running = 0, total = 0, budget = 8 * w->cfg.max_in_flight, more = 1;
    int64_t last_claim = 0;
    for (;;) {
        if (atomic_exchange(&w->woken, 0)) { /* a message was queued here: claim it now */
            more = 1;
            last_claim = 0;
        }
        /* top up at once after completions or a wake, else at most every 100 ms while busy */
        if (more && running < w->cfg.max_in_flight && total < budget &&
            (running == 0 || gb_mono_ms() - last_claim >= 100)) {
            int got = top_up(w, db, w->cfg.max_in_flight - running, &running, live);
            last_claim = gb_mono_ms();
            if (got < 0) {
                if (total == 0 && running == 0) {
                    free(live);
                    return -1;
                }
                more = 0;
            } else {
                total += got;
                if (got == 0) more = running > 0; /* look again while others still run */
            }
        }
        if (running == 0) break;
        int still = 0;
        if (curl_multi_perform(w->multi, &still) != CURLM_OK) break;
        CURLMsg *msg;
        int left, done = 0;
        while ((msg = curl_multi_info_read(w->multi, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            x->res = msg->data.result;
            for (int k = 0; k < running; k++) {
                if (live[k] == (slot *)x) {
                    live[k] = live[--running];
                    fin[done++] = (slot *)x;
                    break;
                }
            }
        }
        done += past_deadline(w, live, &running, fin + done);
        if (done == 0) {
            int wait = poll_wait_ms(w, live, running);
            if (running > 0 && curl_multi_poll(w->multi, NULL, 0, wait, NULL) != CURLM_OK) break;
            continue;
        }
        /* recorded now, not when the slowest finishes: the attempts done in one sweep and the
         * claim that refills their slots share one transaction (one commit where there were
         * two; on PostgreSQL one statement); a failure leaves the recorded ones leased (tried
         * again when the leases expire) and claims nothing */
        wh_claimed *ms = NULL;
        size_t got = 0;
        int room = total < budget ? w->cfg.max_in_flight - running : 0;
        int64_t lease_until = 0;
        bool recorded = record_done(w, db, fin, done, room, &ms, &got, &lease_until);
        for (int k = 0; k < done; k++) {
            const wh_claimed *m = &fin[k]->m;
            if (recorded && fin[k]->x.disabled && w->cfg.on_disabled)
                w->cfg.on_disabled(w->cfg.ud, m->account_id, m->endpoint_id);
            slot_free(w, fin[k]);
        }
        if (recorded && total < budget) {
            start_claimed(w, db, ms, got, lease_until, &running, live);
            total += (int)got;
            last_claim = gb_mono_ms();
            more = got > 0 || running > 0;
        } else if (total < budget) {
            more = 1;
            last_claim = 0; /* nothing claimed: refill the freed slots on their own */
        }
    }
    for (int k = 0; k < running; k++)
        slot_free(w, live[k]); /* only after a multi error */
    free(live);
    return total;
}

gb_err wh_worker_new(const wh_worker_cfg *cfg, wh_worker **out)
{
    *out = NULL;
    if (!cfg || !cfg->db) return GB_ERR_INVALID;
    wh_worker *w = calloc(1, sizeof(*w));
    if (!w) return GB_ERR_NOMEM;
    w->cfg = *cfg;
    if (w->cfg.attempt_timeout_ms <= 0) w->cfg.attempt_timeout_ms = 10000;
    if (w->cfg.max_in_flight <= 0) w->cfg.max_in_flight = 32;
    if (w->cfg.lease_ms <= 0) w->cfg.lease_ms = w->cfg.attempt_timeout_ms + 60000;
    if (w->cfg.poll_ms <= 0) w->cfg.poll_ms = 1000;
    gb_err e = GB_ERR_INVALID;
    if (w->cfg.lease_ms <= w->cfg.attempt_timeout_ms) goto fail;
    e = GB_ERR_NOMEM;
    if (cfg->allow_cidrs && !(w->allow = gb_strdup(cfg->allow_cidrs))) goto fail;
    w->cfg.allow_cidrs = w->allow;
    if ((e = gb_id_new("whw_", w->owner, sizeof(w->owner)))) goto fail;
    e = GB_ERR_NOMEM;
    if (!(w->multi = curl_multi_init())) goto fail;
    *out = w;
    return GB_OK;
fail:
    free(w->allow);
    free(w);
    return e;
}

/* Prunes the durable event log (events.h) past its retention, at most every
 * WH_PRUNE_EVERY_MS. */
static void prune_events(wh_worker *w)
{
    int64_t now = gb_mono_ms();
    if (w->cfg.events_retention_ms <= 0 || (w->pruned_at && now - w->pruned_at < WH_PRUNE_EVERY_MS))
        return;
    w->pruned_at = now;
    gb_db *db = w->cfg.db(w->cfg.ud);
    int64_t n = 0;
    if (db && wh_events_prune(db, gb_now_ms() - w->cfg.events_retention_ms, &n) == GB_OK && n)
        GB_INFO("webhooks", "pruned %lld events older than the retention", (long long)n);
}

/* The thread's round: the event log's pruning when due, a pass, and another at once while
 * messages were due. */
static bool round_fn(void *ud)
{
    prune_events(ud);
    return wh_worker_pass(ud) > 0;
}

static void listen_wake(void *ud)
{
    wh_worker_wake(ud);
}

gb_err wh_worker_start(const wh_worker_cfg *cfg, wh_worker **out)
{
    gb_err e = wh_worker_new(cfg, out);
    if (e) return e;
    gb_worker_cfg wc = {
        .name = "webhooks", .interval_ms = (*out)->cfg.poll_ms, .round = round_fn, .ud = *out};
    if ((e = gb_worker_start(&wc, &(*out)->loop))) {
        wh_worker_stop(*out);
        *out = NULL;
        return e;
    }
    if (wh_wake_add(*out) != GB_OK)
        GB_WARN("webhooks", "too many delivery workers in this process: this one only polls");
    if (cfg->listen_url &&
        gb_db_listen(cfg->listen_url, WH_NOTIFY_CHANNEL, listen_wake, *out, &(*out)->listener))
        GB_WARN("webhooks", "cannot listen for other brokers' messages: they wait for the poll");
    return GB_OK;
}

void wh_worker_wake(wh_worker *w)
{
    if (!w) return;
    atomic_store(&w->woken, 1);
    curl_multi_wakeup(w->multi); /* a pass waiting on its transfers */
    gb_worker_wake(w->loop);     /* a waiting worker, or the round after this one */
}

void wh_worker_stop(wh_worker *w)
{
    if (!w) return;
    wh_wake_remove(w);              /* no wake reaches it from here on */
    gb_db_listen_stop(w->listener); /* nor from other brokers */
    gb_worker_stop(w->loop);
    curl_multi_cleanup(w->multi);
    free(w->allow);
    free(w);
}
