/* outbox.h: the durable webhook outbox (messages written in the same transaction as the change
 * that causes them), the endpoints an account registers, and the delivery worker that drains
 * the outbox with libcurl multi under leases, a retry schedule and an SSRF guard. */
#ifndef GB_WEBHOOKS_OUTBOX_H
#define GB_WEBHOOKS_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/db.h"
#include "common/gb.h"
#include "common/ids.h"

#define WH_URL_MAX 2048
#define WH_EVENTS_MAX 1024
#define WH_EVENT_MAX 128
#define WH_RESPONSE_HEAD 256 /* bytes of a response body kept per attempt */
#define WH_MAX_ATTEMPTS 10   /* the first try plus 9 retries */
#define WH_RETRY_AFTER_CAP_MS (24LL * 3600 * 1000)
#define WH_PRUNE_EVERY_MS (10LL * 60 * 1000) /* how often the worker prunes the event log */
#define WH_SECRETS_MAX 8                     /* signing secrets used per message (rotation) */

const gb_migration_set *wh_migrations(void);

/* ---- endpoints (every call is scoped by account: another account's id is NOT_FOUND) ---- */

typedef struct {
    char id[GB_ID_MAX]; /* "whe_..." */
    char account_id[GB_ID_MAX];
    char url[WH_URL_MAX + 1];
    char events[WH_EVENTS_MAX + 1]; /* comma list of names, "prefix.*" or "*" */
    bool enabled;
    char disabled_reason[128];
    int64_t created_at;
} wh_endpoint;

/* url: http(s)://..., at most WH_URL_MAX; events: 1..WH_EVENTS_MAX of [a-z0-9._*,-]. */
gb_err wh_endpoint_insert(gb_db *db, const char *account_id, const char *url, const char *events,
                          wh_endpoint *out);
gb_err wh_endpoint_get(gb_db *db, const char *account_id, const char *id, wh_endpoint *out);
/* *out (free()) gets the account's endpoints, oldest first. */
gb_err wh_endpoint_list(gb_db *db, const char *account_id, wh_endpoint **out, size_t *n);
/* NULL url/events keep the old value; enabled < 0 keeps it, 0 disables (reason "disabled by
 * user"; the endpoint's pending messages fail), 1 enables and clears the reason. out may be
 * NULL. */
gb_err wh_endpoint_update(gb_db *db, const char *account_id, const char *id, const char *url,
                          const char *events, int enabled, wh_endpoint *out);
/* How many endpoints the account has (*n). */
gb_err wh_endpoint_count(gb_db *db, const char *account_id, int64_t *n);
/* Deletes the endpoint; its pending messages are marked failed. */
gb_err wh_endpoint_delete(gb_db *db, const char *account_id, const char *id);

/* True when an endpoint's events filter matches event (exact, "*", or "prefix.*"). */
bool wh_events_match(const char *filter, const char *event);
/* True for an http:// or https:// URL of at most WH_URL_MAX bytes without spaces. */
bool wh_url_valid(const char *url);

/* ---- the outbox ---- */

/* Must run inside the caller's open transaction (GB_ERR_INTERNAL otherwise), so the messages
 * commit or roll back with the change that causes them. Queues one message per enabled
 * endpoint of the account whose filter matches event, plus one for extra_url (may be NULL;
 * GB_ERR_INVALID if not a valid URL). The payload is printed once, unformatted: the stored
 * text is the exact body sent and signed. *queued (may be NULL) gets the count. The event is
 * also appended to the durable event log (events.h) with the same body, endpoints or not. */
gb_err wh_enqueue(gb_db *db, const char *account_id, const char *event, const cJSON *payload,
                  const char *extra_url, size_t *queued);

/* Queues one message for one endpoint of the account (e.g. webhook.test), whatever its filter;
 * inside the caller's transaction. GB_ERR_CONFLICT when the endpoint is disabled. */
gb_err wh_enqueue_endpoint(gb_db *db, const char *account_id, const char *endpoint_id,
                           const char *event, const cJSON *payload, size_t *queued);

/* Makes a delivered or failed message pending and due now with its schedule restarted
 * (attempts = 0; history stays in the attempts log; the webhook-id is unchanged).
 * GB_ERR_CONFLICT while it is still pending, NOT_FOUND for another account's. */
gb_err wh_redeliver(gb_db *db, const char *account_id, const char *message_id);

/* Appends to arr_out the account's messages (newest first, status filter optional, limit
 * 1..100, <= 0 means 20), each with its attempts: status code, latency, the first bytes of
 * the response, error. */
gb_err wh_deliveries_list(gb_db *db, const char *account_id, const char *status, int limit,
                          cJSON *arr_out);

/* ---- schedule (pure) ---- */

/* The delay after the Nth failed attempt (N = 1..9): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
 * 20 h, 24 h, each scaled by a factor in [0.8, 1.2] taken from rnd; -1 when N is outside
 * 1..9 (after the 10th attempt the message has failed). */
int64_t wh_retry_delay_ms(int failed_attempts, uint32_t rnd);
/* The delay before the next attempt after the Nth failure, honouring a Retry-After of ra_ms
 * (< 0: none): max(schedule, Retry-After) with Retry-After capped at 24 h. A Retry-After can
 * postpone an attempt but never hasten it, nor extend the schedule: -1 when exhausted. */
int64_t wh_next_delay_ms(int failed_attempts, int64_t ra_ms, uint32_t rnd);

/* ---- SSRF guard (pure) ---- */

/* 1 when a connection to ip (textual v4 or v6) may be used: not loopback, private
 * (10/8, 172.16/12, 192.168/16, 100.64/10), link-local, multicast, unspecified, reserved,
 * unique-local fc00::/7, site-local, nor any of these as IPv4-mapped/NAT64/6to4 forms;
 * or inside one of allow_cidrs (comma list of CIDRs, may be NULL), the only exception.
 * 0 otherwise, also for an unparsable address. */
int wh_address_allowed(const char *ip, const char *allow_cidrs);

/* ---- the worker's store (used by deliver.c; exposed for tests) ---- */

typedef struct {
    char id[GB_ID_MAX];
    char account_id[GB_ID_MAX];
    char endpoint_id[GB_ID_MAX]; /* "" for an extra_url message */
    char *url;
    char *payload;
    size_t payload_len;
    int attempts;  /* attempts made before this one */
    int64_t token; /* the lease's fencing token (each claim of the row increments it) */
} wh_claimed;

/* Claims up to max due pending messages (not leased, endpoint still enabled) for owner until
 * now_ms + lease_ms, each with a new fencing token. Safe with several brokers on one
 * database: rows another connection is claiming are skipped (FOR UPDATE SKIP LOCKED on
 * PostgreSQL). Inside the caller's open transaction when there is one (the claim holds only if
 * that commits), else in its own. *out (wh_claimed_free) may be NULL when *n == 0. */
gb_err wh_store_claim(gb_db *db, const char *owner, int64_t now_ms, int64_t lease_ms, int max,
                      wh_claimed **out, size_t *n);
void wh_claimed_free(wh_claimed *c, size_t n);

typedef struct {
    long status; /* HTTP status, 0 when none */
    int64_t latency_ms;
    const char *head;       /* the first bytes of the response body, or NULL */
    const char *error;      /* transport error or refusal, or NULL */
    int64_t retry_after_ms; /* < 0: none */
    uint32_t rnd;           /* jitter */
} wh_outcome;

typedef enum { WH_REC_DELIVERED, WH_REC_RETRY, WH_REC_FAILED, WH_REC_DISABLED, WH_REC_LOST } wh_rec;

/* Records an attempt and moves the message on: 2xx delivered; 410 failed and the endpoint
 * disabled ("410 Gone from receiver", its other pending messages failed); otherwise retried
 * per the schedule or failed when exhausted. Releases the lease. WH_REC_LOST when owner no
 * longer holds the lease under m->token (it expired and the message was claimed again, or
 * its result is already recorded): the attempt is logged; the message is left alone. */
gb_err wh_store_record(gb_db *db, const wh_claimed *m, const char *owner, const wh_outcome *o,
                       int64_t now_ms, wh_rec *result);
/* Records n attempts as wh_store_record does each (results[k] for ms[k] with outcome os[k]);
 * on PostgreSQL with one statement per 32 attempts instead of two per attempt (an attempt
 * that disables its endpoint is recorded on its own; on SQLite each is). Inside the caller's
 * open transaction when there is one, else in its own; on an error nothing of it stays in its
 * own transaction, and the caller's must roll back. */
gb_err wh_store_record_many(gb_db *db, const wh_claimed *const *ms, const wh_outcome *os, size_t n,
                            const char *owner, int64_t now_ms, wh_rec *results);
/* wh_store_record_many, then wh_store_claim of up to max due messages (none of the n; max 0:
 * no claim) for owner with lease_ms, in one transaction: a worker's sweep. On PostgreSQL the
 * claim goes in the last chunk's statement, so a sweep of at most 32 attempts that disable
 * nothing is one statement: one round trip and its own transaction, where BEGIN, the records,
 * the claim and COMMIT took three. On an error nothing is recorded or claimed (*out NULL). */
gb_err wh_store_record_claim(gb_db *db, const wh_claimed *const *ms, const wh_outcome *os, size_t n,
                             const char *owner, int64_t now_ms, wh_rec *results, int64_t lease_ms,
                             int max, wh_claimed **out, size_t *got);
/* Fails the pending messages of an endpoint (it was disabled or deleted). */
gb_err wh_fail_pending_of(gb_db *db, const char *endpoint_id, const char *why);

/* ---- the worker ---- */

typedef struct wh_worker wh_worker;

typedef struct {
    int64_t attempt_timeout_ms; /* <= 0: 10000 */
    int max_in_flight;          /* <= 0: 32 */
    int64_t lease_ms;           /* <= 0: attempt timeout + 60 s; must exceed the timeout */
    int poll_ms;                /* <= 0: 1000 */
    const char *allow_cidrs;    /* comma list or NULL; copied */
    bool https_only;
    /* Signing secrets for an account: fills up to max secrets (whsec_...), returns the count.
     * Called from the worker thread. A message whose account has none is not sent (an error
     * attempt is recorded). */
    size_t (*secrets)(void *ud, const char *account_id, char secrets[][128], size_t max);
    void *ud;
    /* Optional: the account's Ed25519 signing key (whsk_...) into sk; returns 1 when it has
     * one (messages then also carry a v1a signature), 0 otherwise. */
    int (*ed25519)(void *ud, const char *account_id, char *sk, size_t sksz);
    /* A db connection for the worker thread (the same one on every call). */
    gb_db *(*db)(void *ud);
    /* Events of the durable log (events.h) older than this are pruned, once every
     * WH_PRUNE_EVERY_MS; <= 0: never. */
    int64_t events_retention_ms;
    /* Optional: told when a 410 disabled an endpoint (worker thread). */
    void (*on_disabled)(void *ud, const char *account_id, const char *endpoint_id);
    /* Optional: the store's URL; on PostgreSQL the worker LISTENs on WH_NOTIFY_CHANNEL there
     * (gb_db_listen) and is woken by the messages other processes (brokers) queue, which every
     * enqueue NOTIFYs with its commit. NULL or a SQLite file: other processes' messages wait
     * for the poll. Read at start only. */
    const char *listen_url;
} wh_worker_cfg;

/* The channel wh_enqueue, wh_enqueue_endpoint and wh_redeliver NOTIFY on PostgreSQL. */
#define WH_NOTIFY_CHANNEL "gpubroker_webhooks"

/* A worker without a thread (drive it with wh_worker_pass); free with wh_worker_stop. */
gb_err wh_worker_new(const wh_worker_cfg *cfg, wh_worker **out);
/* wh_worker_new plus a thread that passes, waiting poll_ms whenever nothing was due. The
 * worker is also woken at once whenever a transaction of this process that queued a message
 * (wh_enqueue, wh_enqueue_endpoint, wh_redeliver) commits; other processes' messages are seen
 * at once with listen_url on PostgreSQL, else at the next poll. */
gb_err wh_worker_start(const wh_worker_cfg *cfg, wh_worker **out);
/* Makes the worker claim due messages now: a waiting worker starts a pass, a pass under way
 * claims at once (even while its transfers run). Thread-safe; NULL is fine. */
void wh_worker_wake(wh_worker *w);
/* Stops the thread (after its in-flight attempts finish) and frees. NULL is fine. */
void wh_worker_stop(wh_worker *w);
/* One pass on the caller's thread: claims due messages, delivers them concurrently, records
 * each as it completes. Returns the number attempted, -1 on a store error. */
int wh_worker_pass(wh_worker *w);
const char *wh_worker_owner(const wh_worker *w);

#endif
