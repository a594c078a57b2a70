/* idem.c: Idempotency-Key on the POSTs that create or charge. The key (per account) is
 * reserved in idempotency_keys before the handler runs (the primary key lets one concurrent
 * duplicate win), the handler's answer is stored after it (not a 5xx: a retry may succeed);
 * a duplicate with the same method, path and body gets the stored answer with
 * "Idempotent-Replayed: true", another body 409 IDEMPOTENCY_MISMATCH, and one that arrives
 * while the first still runs waits for its answer (409 IDEMPOTENCY_IN_PROGRESS after
 * IDEM_WAIT_MS). The work's transaction records what it made in the reservation
 * (gb_db_on_made / gb_db_made), so a request whose work committed never runs again, even when
 * its owner died before storing the answer: the retry is answered 409
 * IDEMPOTENCY_ANSWER_LOST naming what was made. The header follows the IETF draft "The
 * Idempotency-Key HTTP Header Field"
 * (https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/). */
#include "broker/api/idem.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/store/idem_store.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

/* The routes that take a key. Not here: api-keys, admin/accounts and webhooks (their answers
 * hold a secret shown once, which would be stored), start/stop/test/redeliver (no new
 * object; start and stop are idempotent by state). */
static const char *const COVERED[] = {
    "POST /api/volt/pods",      "POST /api/volt/fine-tuning",
    "POST /api/volt/ssh-keys",  "POST /api/volt/docker-credentials",
    "POST /api/volt/templates", "POST /api/volt/admin/accounts/:id/credit",
};

int idem_route(const char *route_name)
{
    for (size_t i = 0; route_name && i < GB_ARRAY_LEN(COVERED); i++)
        if (strcmp(COVERED[i], route_name) == 0) return 1;
    return 0;
}

/* path matches pattern segment by segment (":x" is any one non-empty segment). */
static int path_matches(const char *pattern, const char *path)
{
    while (*pattern && *path) {
        if (*pattern == ':') {
            if (*path == '/') return 0;
            while (*pattern && *pattern != '/')
                pattern++;
            while (*path && *path != '/')
                path++;
            continue;
        }
        if (*pattern++ != *path++) return 0;
    }
    return !*pattern && !*path;
}

int idem_covers(const char *method, const char *path)
{
    if (!method || !path) return 0;
    size_t ml = strlen(method);
    for (size_t i = 0; i < GB_ARRAY_LEN(COVERED); i++)
        if (strncmp(COVERED[i], method, ml) == 0 && COVERED[i][ml] == ' ' &&
            path_matches(COVERED[i] + ml + 1, path))
            return 1;
    return 0;
}

/* 1..IDEM_KEY_MAX printable ASCII characters (RFC 9110 field values may hold more; a key
 * that is not plain text is refused rather than compared byte by byte). */
static int key_ok(const char *k)
{
    size_t n = 0;
    for (; k[n]; n++)
        if ((unsigned char)k[n] < 0x20 || (unsigned char)k[n] > 0x7e || n >= IDEM_KEY_MAX) return 0;
    return n > 0;
}

static void pause_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void replay(api_resp *rs, const idem_rec *r)
{
    char *copy = gb_strdup(r->body);
    if (!copy) {
        api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    api_text(rs, r->status, "application/json", copy);
    api_add_header(rs, "Idempotent-Replayed", "true");
}

/* The answer to a request whose first run's work committed but whose answer is not known. */
static void answer_lost(api_resp *rs, const char *made)
{
    api_error(rs, 409, "IDEMPOTENCY_ANSWER_LOST",
              "The first request with this Idempotency-Key was carried out (it made %s), but its "
              "answer was lost; it is not run again. Look the result up with a GET",
              made);
}

/* The reservation the running handler owns: gb_db_made records what its work made in it. */
typedef struct {
    const char *account_id, *key;
    int64_t created_at;
} owned;

static gb_err record_made(gb_db *db, const char *what, void *ud)
{
    const owned *o = ud;
    return idem_made(db, o->account_id, o->key, o->created_at, what);
}

/* After a 5xx (or an answer too large to keep): a retry runs the work again unless the work
 * committed; then retries get the IDEMPOTENCY_ANSWER_LOST answer, kept as the key's. */
static gb_err settle_unkept(api_req *rq, const char *key, int64_t created_at)
{
    gb_err e = idem_forget(rq->db, rq->account_id, key, created_at, 1);
    idem_rec r;
    if (!e) e = idem_get(rq->db, rq->account_id, key, &r);
    if (e == GB_ERR_NOT_FOUND) return GB_OK; /* forgotten: it made nothing */
    if (!e && r.created_at == created_at && r.made[0]) {
        api_resp lost;
        memset(&lost, 0, sizeof(lost));
        answer_lost(&lost, r.made);
        e = lost.body ? idem_finish(rq->db, rq->account_id, key, created_at, lost.status, lost.body)
                      : GB_ERR_NOMEM;
        free(lost.body);
    }
    idem_rec_clear(&r);
    return e;
}

/* Runs the handler as the key's owner (reserved at created_at) and stores its answer. */
static void run_owned(api_handler fn, api_req *rq, api_resp *rs, const char *key,
                      int64_t created_at)
{
    owned o = {rq->account_id, key, created_at};
    gb_db_on_made(rq->db, record_made, &o);
    fn(rq, rs);
    gb_db_on_made(rq->db, NULL, NULL);
    if (gb_db_in_txn(rq->db)) return; /* the server rolls it back and answers; not stored */
    gb_err e;
    if (rs->status > 0 && rs->status < 500 && rs->body && strlen(rs->body) <= IDEM_BODY_MAX)
        e = idem_finish(rq->db, rq->account_id, key, created_at, rs->status, rs->body);
    else
        e = settle_unkept(rq, key, created_at);
    if (e)
        GB_WARN("idem", "%s: the answer of an idempotent request was not recorded (%s)", rq->path,
                gb_strerror(e));
}

gb_err idem_begin(gb_db *db, const char *account_id, const char *key, const char *digest,
                  int64_t now, idem_verdict *v, idem_rec *r)
{
    memset(r, 0, sizeof(*r));
    for (int round = 0; round < 8; round++) {
        gb_err e = idem_reserve(db, account_id, key, digest, now);
        if (e == GB_OK) {
            gb_strlcpy(r->digest, digest, sizeof(r->digest));
            r->created_at = now;
            *v = IDEM_RUN;
            return GB_OK;
        }
        if (e != GB_ERR_CONFLICT) return e;
        e = idem_get(db, account_id, key, r);
        if (e == GB_ERR_NOT_FOUND) continue; /* forgotten meanwhile: reserve again */
        if (e) return e;
        int expired = r->created_at < now - IDEM_TTL_MS;
        int abandoned = r->status == 0 && r->created_at < now - IDEM_LEASE_MS;
        if (expired || (abandoned && !r->made[0])) {
            /* past 24 h, or a reservation whose owner died before its work committed: the
             * key is free again (unless the work commits meanwhile: then the row stays) */
            e = idem_forget(db, account_id, key, r->created_at, !expired);
            idem_rec_clear(r);
            if (e) return e;
            continue;
        }
        *v = strcmp(r->digest, digest) != 0 ? IDEM_MISMATCH
             : r->status > 0                ? IDEM_REPLAY
             : abandoned                    ? IDEM_LOST
                                            : IDEM_WAIT;
        return GB_OK;
    }
    return GB_ERR_CONFLICT; /* the row kept changing under us */
}

void idem_handle(const char *route_name, api_handler fn, api_req *rq, api_resp *rs)
{
    const char *key = idem_route(route_name) ? api_header(rq, "Idempotency-Key") : NULL;
    if (!key) {
        fn(rq, rs);
        return;
    }
    idem_run(key, fn, rq, rs, IDEM_WAIT_MS);
}

void idem_run(const char *key, api_handler fn, api_req *rq, api_resp *rs, int wait_ms)
{
    if (!key_ok(key)) {
        api_error(rs, 400, "VALIDATION_ERROR",
                  "header 'Idempotency-Key' must be 1 to %d printable ASCII characters",
                  IDEM_KEY_MAX);
        return;
    }
    char digest[65];
    const void *parts[] = {rq->method, rq->path, rq->body};
    size_t lens[] = {strlen(rq->method), strlen(rq->path), rq->body ? rq->body_len : 0};
    gb_err e = vault_digest(rq->app->vault, parts, lens, 3, digest);
    int64_t deadline = gb_mono_ms() + wait_ms;
    while (!e) {
        idem_verdict v = IDEM_RUN;
        idem_rec r;
        e = idem_begin(rq->db, rq->account_id, key, digest, gb_now_ms(), &v, &r);
        if (e) break;
        switch (v) {
        case IDEM_RUN:
            run_owned(fn, rq, rs, key, r.created_at);
            break;
        case IDEM_REPLAY:
            replay(rs, &r);
            break;
        case IDEM_MISMATCH:
            api_error_from(rs, GB_ERR_IDEMPOTENCY, "request");
            break;
        case IDEM_LOST:
            answer_lost(rs, r.made);
            break;
        case IDEM_WAIT:
            if (gb_mono_ms() < deadline) break;
            api_add_header(rs, "Retry-After", "1");
            api_error(rs, 409, "IDEMPOTENCY_IN_PROGRESS",
                      "A request with this Idempotency-Key is still being processed; retry "
                      "later");
            break;
        }
        idem_rec_clear(&r);
        if (v != IDEM_WAIT || rs->status) return;
        pause_ms(20); /* the first request is running: wait for its answer */
    }
    api_error_from(rs, e, "request");
}
