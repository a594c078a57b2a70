/* pods.h: the broker's pod records (a workload on any provider), their state-change events,
 * and the provider registrations. SQL lives in pod_store.c and provider_store.c. */
#ifndef GB_PODS_H
#define GB_PODS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "broker/store/stores.h"
#include "common/db.h"
#include "common/money.h"
#include "providers/provider.h"

const gb_migration_set *pods_migrations(void);

typedef struct {
    char id[GB_ID_MAX];
    char account_id[GB_ID_MAX];
    char name[NAME_MAX_LEN + 1];
    char provider[PROV_NAME_MAX];
    char provider_id[128];
    char workload_name[64]; /* the name given at the provider ("gpb-...") */
    char kind[16];          /* "rental" | "serverless" | "job" */
    char offer_id[128];
    char image[512];
    char template_id[GB_ID_MAX];
    char gpu_type[32];
    int gpu_count;
    int vcpu;
    int ram_gb;
    int volume_size_gb;
    bool confidential;
    pod_status status;
    char raw_status[64];
    char message[256];
    gb_money price_per_hour; /* locked at creation */
    char ip[64];
    int ssh_port;
    char ssh_command[256];
    char url[256];
    char *ssh_key_ids; /* JSON array text (owned) */
    char *options;     /* provider_options JSON text (owned) or NULL */
    int64_t created_at;
    int64_t running_since; /* ms, 0 when not running */
    int64_t running_ms;    /* accumulated before running_since */
    int64_t stopped_at;
    int64_t deleted_at;
    int64_t next_poll_at;
    int poll_failures;
    char job_id[GB_ID_MAX];  /* the fine-tuning job it belongs to ("" = none): not metered */
    int64_t max_duration_ms; /* guards: stopped once it ran this long (0 = none) */
    gb_money max_cost;       /* or once it cost this much (0 = none) */
    char stop_reason[128];   /* why the broker stopped it ("" = asked by its owner) */
    /* read only (pod_get, pod_list_page; 0 elsewhere): the hourly rate its meter locked at
     * the first charge (broker/core/meter.h), 0 before that */
    gb_money meter_rate;
} pod_rec;

void pod_rec_clear(pod_rec *p);
gb_err pod_insert(gb_db *db, const pod_rec *p);
gb_err pod_get(gb_db *db, const char *account_id, const char *id, pod_rec *out);
/* pod_get inside a transaction that will write the pod back whole (pod_update): the row
 * stays locked until it ends on PostgreSQL, so the owner's delete cannot commit between this
 * read and that write (its conditional update then sees the new status, and is retried).
 * SQLite's BEGIN IMMEDIATE already excludes the delete. */
gb_err pod_get_for_update(gb_db *db, const char *account_id, const char *id, pod_rec *out);
/* Locks the pod's row until the open transaction ends (PostgreSQL; nothing on SQLite, whose
 * BEGIN IMMEDIATE holds the one write lock): a transaction that changes a pod and its intents
 * takes the pod first, as the intent workers do, so two of them never wait on each other. */
gb_err pod_lock(gb_db *db, const char *id);
/* Every pod of the account (deleted ones excluded unless with_deleted), newest first;
 * filters may be NULL. */
typedef void (*pod_each)(void *ud, const pod_rec *p);
gb_err pod_list(gb_db *db, const char *account_id, const char *status, const char *provider,
                pod_each fn, void *ud);
/* One page of pod_list (limit 1..POD_LIST_MAX, offset >= 0, else GB_ERR_INVALID), and how
 * many pods the same filters match. */
#define POD_LIST_MAX 1000
gb_err pod_list_page(gb_db *db, const char *account_id, const char *status, const char *provider,
                     int limit, int offset, pod_each fn, void *ud);
gb_err pod_count(gb_db *db, const char *account_id, const char *status, const char *provider,
                 int64_t *n);
/* Pods the reconciler should look at now: not deleted, next_poll_at <= now. */
gb_err pod_list_due(gb_db *db, int64_t now_ms, int limit, pod_each fn, void *ud);
/* Claims up to limit due pods for one reconciler (its own transaction): each is handed to fn
 * with next_poll_at moved to now_ms + lease_ms, so no other broker's reconciler polls it
 * before that lease ends (a broker killed mid-round leaves its pods to the others after it).
 * Writes back stay conditional on the status read (pod_update_from): that is the fence
 * against a reconciler that paused past its lease. */
gb_err pod_claim_due(gb_db *db, int64_t now_ms, int64_t lease_ms, int limit, pod_each fn, void *ud);
/* Each of the account's pods that costs now (committed: also the pending, deploying and
 * stopping ones the spend limit counts; else running only; jobs' pods never): its provider,
 * its locked price, and its open meter's rate (0 when it has none). meter_pods_cost sums
 * them as the user pays them. */
typedef void (*pod_rate_fn)(void *ud, const char *provider, gb_money price, gb_money meter_rate);
gb_err pod_rates_each(gb_db *db, const char *account_id, int committed, pod_rate_fn fn, void *ud);
/* 1 when the pod has an event of type at or after since_ms. */
int pod_event_since(gb_db *db, const char *pod_id, const char *type, int64_t since_ms);
/* Pods the metering round settles: running ones and those with an open meter, jobs' excluded;
 * locked (FOR UPDATE on PostgreSQL) until the caller's transaction ends. */
gb_err pod_list_metered(gb_db *db, pod_each fn, void *ud);
/* True (1) when some pod record (live or deleted) has this provider workload name. */
int pod_workload_known(gb_db *db, const char *provider, const char *workload_name);
/* Writes the mutable fields (status, raw, message, ip, ssh, url, name, ssh_key_ids, times,
 * polling) of p. */
gb_err pod_update(gb_db *db, const pod_rec *p);

/* Writes where p runs (provider, provider_id, offer, GPUs, price): a create intent's outcome. */
gb_err pod_set_placement(gb_db *db, const pod_rec *p);
/* Asks the reconciler to look at the pod at `at` (ms), changing nothing else. */
gb_err pod_poll_at(gb_db *db, const char *id, int64_t at);
/* The record of the workload named workload_name at provider (any account, deleted too);
 * GB_ERR_NOT_FOUND when none. */
gb_err pod_by_workload(gb_db *db, const char *provider, const char *workload_name, pod_rec *out);
/* Queues "pod.<what>" (e.g. "orphan_deleted") with message for p's account, in the caller's
 * transaction. */
gb_err pod_notify_event(gb_db *db, const pod_rec *p, const char *what, const char *message);

/* pod_update only while the record's status is still from: a worker
 * that read the pod before the owner changed it (a delete) must not write the old state back.
 * GB_ERR_CONFLICT when the status moved on. */
gb_err pod_update_from(gb_db *db, const pod_rec *p, pod_status from);
/* Moves p to status at now_ms: keeps the running-time accounting right and appends an event
 * (type "status", from -> to, message) in the caller's transaction. */
void pod_set_status(pod_rec *p, pod_status to, int64_t now_ms);
gb_err pod_event_add(gb_db *db, const char *pod_id, int64_t at, const char *type, const char *from,
                     const char *to, const char *message);
typedef void (*pod_event_each)(void *ud, int64_t at, const char *type, const char *from,
                               const char *to, const char *message);
gb_err pod_event_list(gb_db *db, const char *pod_id, pod_event_each fn, void *ud);

/* Queues the webhook event of p's new status ("pod.<status>", previousStatus from) inside the
 * caller's transaction. */
gb_err pod_notify(gb_db *db, const pod_rec *p, const char *from);

/* One offer a placement tried for pod p, and how it went. */
typedef struct {
    const char *provider, *offer_id, *gpu_type;
    int gpu_count;
    gb_money price;      /* per hour */
    int attempt;         /* 1 for the first offer of the pod's list */
    const char *outcome; /* "created", "adopted" (found by name after an unsure create),
                          * "failed" */
    const char *reason;  /* why it failed, or NULL */
} pod_attempt;
/* "placement.attempt" (webhook and event log) in the caller's transaction. */
gb_err pod_notify_attempt(gb_db *db, const pod_rec *p, const pod_attempt *a);

/* Running time so far at now_ms, and what it cost at rate per hour (0 when out of range). */
int64_t pod_running_ms(const pod_rec *p, int64_t now_ms);
gb_money pod_cost(const pod_rec *p, gb_money rate, int64_t now_ms);

/* Provider registrations (the secret is the vault secret "providers/<name>/secret"). */
typedef struct {
    char name[PROV_NAME_MAX];
    char kind[PROV_NAME_MAX];
    char base_url[256];
    char *settings; /* JSON text (owned) or NULL */
    int64_t created_at;
    char last_error[256];  /* the last error a call to it met ("" = none since registered) */
    int64_t last_error_at; /* ms, 0 = none */
} provider_rec;

void provider_secret_ref(const char *name, char *out, size_t n);
void provider_rec_clear(provider_rec *r);
gb_err provider_upsert(gb_db *db, const provider_rec *r);
gb_err provider_delete(gb_db *db, const char *name);
typedef void (*provider_each)(void *ud, const provider_rec *r);
gb_err provider_list(gb_db *db, provider_each fn, void *ud);
/* Records the last error a call to provider name met (shown by `providers ls` after a
 * restart too); a new registration of the name clears it. */
gb_err provider_note_error(gb_db *db, const char *name, const char *error, int64_t at_ms);

#endif
