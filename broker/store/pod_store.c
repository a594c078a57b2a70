/* pod_store.c: the pods, pod_events and providers tables. */
#include <stdio.h>
#include <stdlib.h>

#include "broker/core/pods.h"
#include "broker/store/store_util.h"

static const gb_migration STEPS[] = {
    {1, "CREATE TABLE providers ("
        " name TEXT PRIMARY KEY, kind TEXT NOT NULL, base_url TEXT NOT NULL, settings TEXT,"
        " created_at INTEGER NOT NULL);"
        "CREATE TABLE pods ("
        " id TEXT PRIMARY KEY,"
        " account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, provider TEXT NOT NULL, provider_id TEXT NOT NULL,"
        " workload_name TEXT NOT NULL, kind TEXT NOT NULL, offer_id TEXT NOT NULL,"
        " image TEXT NOT NULL DEFAULT '', template_id TEXT NOT NULL DEFAULT '',"
        " gpu_type TEXT NOT NULL DEFAULT '', gpu_count INTEGER NOT NULL DEFAULT 0,"
        " vcpu INTEGER NOT NULL DEFAULT 0, ram_gb INTEGER NOT NULL DEFAULT 0,"
        " volume_size_gb INTEGER NOT NULL DEFAULT 0, confidential INTEGER NOT NULL DEFAULT 0,"
        " status TEXT NOT NULL, raw_status TEXT NOT NULL DEFAULT '',"
        " message TEXT NOT NULL DEFAULT '', price_per_hour INTEGER NOT NULL,"
        " ip TEXT NOT NULL DEFAULT '', ssh_port INTEGER NOT NULL DEFAULT 0,"
        " ssh_command TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '',"
        " ssh_key_ids TEXT NOT NULL DEFAULT '[]', options TEXT,"
        " created_at INTEGER NOT NULL, running_since INTEGER NOT NULL DEFAULT 0,"
        " running_ms INTEGER NOT NULL DEFAULT 0, stopped_at INTEGER NOT NULL DEFAULT 0,"
        " deleted_at INTEGER NOT NULL DEFAULT 0, next_poll_at INTEGER NOT NULL DEFAULT 0,"
        " poll_failures INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE(provider, workload_name));"
        "CREATE INDEX pods_account ON pods(account_id, created_at);"
        "CREATE INDEX pods_due ON pods(next_poll_at) WHERE status <> 'deleted';"
        "CREATE TABLE pod_events ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " pod_id TEXT NOT NULL REFERENCES pods(id) ON DELETE CASCADE,"
        " at INTEGER NOT NULL, type TEXT NOT NULL, from_status TEXT, to_status TEXT,"
        " message TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX pod_events_pod ON pod_events(pod_id, id);"},
    /* Targon adapters used /tha/v2 unless told otherwise; they now default to v3. Providers
     * registered before keep what they had (new ones get their version pinned at add). */
    {2, "UPDATE providers SET settings = json_set(CASE WHEN json_valid(settings) AND "
        "json_type(settings) = 'object' THEN settings ELSE '{}' END, '$.api_version', 'v2') "
        "WHERE kind = 'targon' AND (settings IS NULL OR NOT json_valid(settings) OR "
        "json_type(settings) <> 'object' OR json_extract(settings, '$.api_version') IS NULL);"},
    /* provider mutations as durable intents (broker/core/intents.h, docs/intents.md) */
    {3, "CREATE TABLE pod_intents ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " pod_id TEXT NOT NULL REFERENCES pods(id) ON DELETE CASCADE,"
        " account_id TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, offer_index INTEGER NOT NULL DEFAULT 0,"
        " offers TEXT, changes TEXT, unsure_until INTEGER NOT NULL DEFAULT 0,"
        " next_at INTEGER NOT NULL, lease_owner TEXT NOT NULL DEFAULT '',"
        " lease_until INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL, last_error TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX pod_intents_due ON pod_intents(next_at) WHERE state = 'queued';"
        "CREATE INDEX pod_intents_pod ON pod_intents(pod_id, id) WHERE state = 'queued';"},
    /* pod time as money (broker/core/meter.h): the fine-tuning job a pod belongs to (paid by
     * the job, never metered; older job pods are known by their "ft-<job id>" name), the
     * per-pod guards, why the broker stopped it, and each pod's meter: the rate locked at its
     * first charge, the running and stopped time charged so far and what they came to, where
     * the next ledger entry's interval starts, and what the balance could not pay */
    {4, "ALTER TABLE pods ADD COLUMN job_id TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE pods ADD COLUMN max_duration_ms INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE pods ADD COLUMN max_cost INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE pods ADD COLUMN stop_reason TEXT NOT NULL DEFAULT '';"
        "UPDATE pods SET job_id = substr(name, 4) WHERE substr(name, 1, 7) = 'ft-ftj_';"
        "CREATE INDEX pods_status ON pods(status);"
        "CREATE TABLE pod_meters ("
        " pod_id TEXT PRIMARY KEY REFERENCES pods(id) ON DELETE CASCADE,"
        " account_id TEXT NOT NULL, rate INTEGER NOT NULL, idle_rate INTEGER NOT NULL,"
        " period_from INTEGER NOT NULL, settled_at INTEGER NOT NULL,"
        " run_ms INTEGER NOT NULL DEFAULT 0, run_charged INTEGER NOT NULL DEFAULT 0,"
        " idle_ms INTEGER NOT NULL DEFAULT 0, idle_charged INTEGER NOT NULL DEFAULT 0,"
        " unpaid INTEGER NOT NULL DEFAULT 0, open INTEGER NOT NULL DEFAULT 1);"
        "CREATE INDEX pod_meters_open ON pod_meters(open) WHERE open = 1;"
        /* pods that ran before this version are charged from the upgrade on, not for their
         * past (which was free): their meters start with that time counted as paid */
        "INSERT INTO pod_meters(pod_id, account_id, rate, idle_rate, period_from, settled_at,"
        " run_ms, run_charged, open)"
        " SELECT id, account_id, price_per_hour, 0, t, t, r,"
        "  (price_per_hour * r + 1800000) / 3600000, 1 FROM"
        " (SELECT id, account_id, price_per_hour, t, running_ms + CASE WHEN status = 'running'"
        "   AND running_since > 0 THEN max(0, t - running_since) ELSE 0 END AS r FROM pods,"
        "   (SELECT CAST(strftime('%s', 'now') AS INTEGER) * 1000 AS t)"
        "  WHERE status <> 'deleted' AND job_id = '') WHERE r > 0;"},
    /* each provider's last error and when, kept across restarts (`providers ls`) */
    {5, "ALTER TABLE providers ADD COLUMN last_error TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE providers ADD COLUMN last_error_at INTEGER NOT NULL DEFAULT 0;"},
    /* the X-Request-Id of the API request that queued an intent: the worker that runs it sends
     * it to the provider and logs with it (docs/operations.md, Request ids) */
    {6, "ALTER TABLE pod_intents ADD COLUMN request_id TEXT NOT NULL DEFAULT '';"},
};

/* PostgreSQL's versions of the steps gb_db_ddl_for_pg cannot translate (docs/store.md); they
 * run as written, so their types are PostgreSQL's own. */
static const gb_migration PG_STEPS[] = {
    /* SQLite's json_* functions have no common form, and PostgreSQL 15 has no test for valid
     * JSON text (settings is TEXT) that does not raise. Nothing to convert there: no
     * PostgreSQL database predates this step (support came after it), so its providers table
     * is still empty when the step runs, right after step 1. */
    {2, "SELECT 1"},
    /* the same columns and tables; the meters of pods already running are opened with
     * CASE for SQLite's scalar max(), the clock read with EXTRACT, and the derived tables
     * named (PostgreSQL 15 requires an alias) */
    {4, "ALTER TABLE pods ADD COLUMN job_id TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE pods ADD COLUMN max_duration_ms BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE pods ADD COLUMN max_cost BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE pods ADD COLUMN stop_reason TEXT NOT NULL DEFAULT '';"
        "UPDATE pods SET job_id = substr(name, 4) WHERE substr(name, 1, 7) = 'ft-ftj_';"
        "CREATE INDEX pods_status ON pods(status);"
        "CREATE TABLE pod_meters ("
        " pod_id TEXT PRIMARY KEY REFERENCES pods(id) ON DELETE CASCADE,"
        " account_id TEXT NOT NULL, rate BIGINT NOT NULL, idle_rate BIGINT NOT NULL,"
        " period_from BIGINT NOT NULL, settled_at BIGINT NOT NULL,"
        " run_ms BIGINT NOT NULL DEFAULT 0, run_charged BIGINT NOT NULL DEFAULT 0,"
        " idle_ms BIGINT NOT NULL DEFAULT 0, idle_charged BIGINT NOT NULL DEFAULT 0,"
        " unpaid BIGINT NOT NULL DEFAULT 0, open BIGINT NOT NULL DEFAULT 1);"
        "CREATE INDEX pod_meters_open ON pod_meters(open) WHERE open = 1;"
        "INSERT INTO pod_meters(pod_id, account_id, rate, idle_rate, period_from, settled_at,"
        " run_ms, run_charged, open)"
        " SELECT id, account_id, price_per_hour, 0, t, t, r,"
        "  (price_per_hour * r + 1800000) / 3600000, 1 FROM"
        " (SELECT id, account_id, price_per_hour, t, running_ms + CASE WHEN status = 'running'"
        "   AND running_since > 0 AND t > running_since THEN t - running_since ELSE 0 END AS r"
        "   FROM pods, (SELECT CAST(floor(EXTRACT(EPOCH FROM now())) AS BIGINT) * 1000 AS t) n"
        "  WHERE status <> 'deleted' AND job_id = '') m WHERE r > 0;"},
};

static const gb_migration_set SET = {.module = "pods",
                                     .steps = STEPS,
                                     .count = sizeof(STEPS) / sizeof(STEPS[0]),
                                     .pg_steps = PG_STEPS,
                                     .pg_count = sizeof(PG_STEPS) / sizeof(PG_STEPS[0])};

const gb_migration_set *pods_migrations(void)
{
    return &SET;
}

#define COLS                                                                                       \
    "id, account_id, name, provider, provider_id, workload_name, kind, offer_id, image,"           \
    " template_id, gpu_type, gpu_count, vcpu, ram_gb, volume_size_gb, confidential, status,"       \
    " raw_status, message, price_per_hour, ip, ssh_port, ssh_command, url, ssh_key_ids,"           \
    " options, created_at, running_since, running_ms, stopped_at, deleted_at, next_poll_at,"       \
    " poll_failures, job_id, max_duration_ms, max_cost, stop_reason"

void pod_rec_clear(pod_rec *p)
{
    if (!p) return;
    free(p->ssh_key_ids);
    free(p->options);
    p->ssh_key_ids = p->options = NULL;
}

static void row(gb_q *s, void *out)
{
    pod_rec *p = out;
    sq_col(s, 0, p->id, sizeof(p->id));
    sq_col(s, 1, p->account_id, sizeof(p->account_id));
    sq_col(s, 2, p->name, sizeof(p->name));
    sq_col(s, 3, p->provider, sizeof(p->provider));
    sq_col(s, 4, p->provider_id, sizeof(p->provider_id));
    sq_col(s, 5, p->workload_name, sizeof(p->workload_name));
    sq_col(s, 6, p->kind, sizeof(p->kind));
    sq_col(s, 7, p->offer_id, sizeof(p->offer_id));
    sq_col(s, 8, p->image, sizeof(p->image));
    sq_col(s, 9, p->template_id, sizeof(p->template_id));
    sq_col(s, 10, p->gpu_type, sizeof(p->gpu_type));
    p->gpu_count = (int)gb_q_col_int64(s, 11);
    p->vcpu = (int)gb_q_col_int64(s, 12);
    p->ram_gb = (int)gb_q_col_int64(s, 13);
    p->volume_size_gb = (int)gb_q_col_int64(s, 14);
    p->confidential = gb_q_col_int64(s, 15) != 0;
    const char *st = gb_q_col_text(s, 16);
    if (pod_status_parse(st ? st : "", &p->status) != 0) p->status = POD_UNKNOWN;
    sq_col(s, 17, p->raw_status, sizeof(p->raw_status));
    sq_col(s, 18, p->message, sizeof(p->message));
    p->price_per_hour = gb_q_col_int64(s, 19);
    sq_col(s, 20, p->ip, sizeof(p->ip));
    p->ssh_port = (int)gb_q_col_int64(s, 21);
    sq_col(s, 22, p->ssh_command, sizeof(p->ssh_command));
    sq_col(s, 23, p->url, sizeof(p->url));
    p->ssh_key_ids = sq_col_dup(s, 24);
    p->options = sq_col_dup(s, 25);
    p->created_at = gb_q_col_int64(s, 26);
    p->running_since = gb_q_col_int64(s, 27);
    p->running_ms = gb_q_col_int64(s, 28);
    p->stopped_at = gb_q_col_int64(s, 29);
    p->deleted_at = gb_q_col_int64(s, 30);
    p->next_poll_at = gb_q_col_int64(s, 31);
    p->poll_failures = (int)gb_q_col_int64(s, 32);
    sq_col(s, 33, p->job_id, sizeof(p->job_id));
    p->max_duration_ms = gb_q_col_int64(s, 34);
    p->max_cost = gb_q_col_int64(s, 35);
    sq_col(s, 36, p->stop_reason, sizeof(p->stop_reason));
    p->meter_rate = 0;
}

/* COLS and then the rate its meter locked (NULL, 0, before the first charge): what the pod
 * costs its owner, for the pods API (pod_json) */
#define RATED_COLS COLS ", (SELECT rate FROM pod_meters WHERE pod_meters.pod_id = pods.id)"

static void row_rated(gb_q *s, void *out)
{
    row(s, out);
    ((pod_rec *)out)->meter_rate = gb_q_col_int64(s, 37);
}

gb_err pod_insert(gb_db *db, const pod_rec *p)
{
    gb_q *s = gb_q_prep(db, "INSERT INTO pods(" COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,"
                            "?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,"
                            "?23,?24,?25,?26,?27,?28,?29,?30,?31,?32,?33,?34,?35,"
                            "?36,?37)");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, p->id);
    gb_q_text(s, 2, p->account_id);
    gb_q_text(s, 3, p->name);
    gb_q_text(s, 4, p->provider);
    gb_q_text(s, 5, p->provider_id);
    gb_q_text(s, 6, p->workload_name);
    gb_q_text(s, 7, p->kind);
    gb_q_text(s, 8, p->offer_id);
    gb_q_text(s, 9, p->image);
    gb_q_text(s, 10, p->template_id);
    gb_q_text(s, 11, p->gpu_type);
    gb_q_int64(s, 12, p->gpu_count);
    gb_q_int64(s, 13, p->vcpu);
    gb_q_int64(s, 14, p->ram_gb);
    gb_q_int64(s, 15, p->volume_size_gb);
    gb_q_int64(s, 16, p->confidential);
    gb_q_text(s, 17, pod_status_name(p->status));
    gb_q_text(s, 18, p->raw_status);
    gb_q_text(s, 19, p->message);
    gb_q_int64(s, 20, p->price_per_hour);
    gb_q_text(s, 21, p->ip);
    gb_q_int64(s, 22, p->ssh_port);
    gb_q_text(s, 23, p->ssh_command);
    gb_q_text(s, 24, p->url);
    gb_q_text(s, 25, p->ssh_key_ids ? p->ssh_key_ids : "[]");
    gb_q_text(s, 26, p->options);
    gb_q_int64(s, 27, p->created_at);
    gb_q_int64(s, 28, p->running_since);
    gb_q_int64(s, 29, p->running_ms);
    gb_q_int64(s, 30, p->stopped_at);
    gb_q_int64(s, 31, p->deleted_at);
    gb_q_int64(s, 32, p->next_poll_at);
    gb_q_int64(s, 33, p->poll_failures);
    gb_q_text(s, 34, p->job_id);
    gb_q_int64(s, 35, p->max_duration_ms);
    gb_q_int64(s, 36, p->max_cost);
    gb_q_text(s, 37, p->stop_reason);
    return sq_change(s, 0, NULL);
}

#define UPDATE_SQL                                                                                 \
    "UPDATE pods SET name = ?2, status = ?3, raw_status = ?4, message = ?5, ip = ?6,"              \
    " ssh_port = ?7, ssh_command = ?8, url = ?9, ssh_key_ids = ?10, running_since = ?11,"          \
    " running_ms = ?12, stopped_at = ?13, deleted_at = ?14, next_poll_at = ?15,"                   \
    " poll_failures = ?16, stop_reason = ?17 WHERE id = ?1"

/* Binds ?1-?17 of UPDATE_SQL and runs it. */
static gb_err run_update(gb_q *s, const pod_rec *p)
{
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, p->id);
    gb_q_text(s, 2, p->name);
    gb_q_text(s, 3, pod_status_name(p->status));
    gb_q_text(s, 4, p->raw_status);
    gb_q_text(s, 5, p->message);
    gb_q_text(s, 6, p->ip);
    gb_q_int64(s, 7, p->ssh_port);
    gb_q_text(s, 8, p->ssh_command);
    gb_q_text(s, 9, p->url);
    gb_q_text(s, 10, p->ssh_key_ids ? p->ssh_key_ids : "[]");
    gb_q_int64(s, 11, p->running_since);
    gb_q_int64(s, 12, p->running_ms);
    gb_q_int64(s, 13, p->stopped_at);
    gb_q_int64(s, 14, p->deleted_at);
    gb_q_int64(s, 15, p->next_poll_at);
    gb_q_int64(s, 16, p->poll_failures);
    gb_q_text(s, 17, p->stop_reason);
    return sq_change(s, 1, NULL);
}

gb_err pod_update(gb_db *db, const pod_rec *p)
{
    return run_update(gb_q_prep(db, UPDATE_SQL), p);
}

gb_err pod_update_from(gb_db *db, const pod_rec *p, pod_status from)
{
    gb_q *s = gb_q_prep(db, UPDATE_SQL " AND status = ?18");
    if (s) gb_q_text(s, 18, pod_status_name(from));
    gb_err e = run_update(s, p);
    return e == GB_ERR_NOT_FOUND ? GB_ERR_CONFLICT : e;
}

gb_err pod_set_placement(gb_db *db, const pod_rec *p)
{
    gb_q *s = gb_q_prep(
        db, "UPDATE pods SET provider = ?2, provider_id = ?3, offer_id = ?4, gpu_type = ?5,"
            " gpu_count = ?6, vcpu = ?7, ram_gb = ?8, confidential = ?9, price_per_hour = ?10"
            " WHERE id = ?1");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, p->id);
    gb_q_text(s, 2, p->provider);
    gb_q_text(s, 3, p->provider_id);
    gb_q_text(s, 4, p->offer_id);
    gb_q_text(s, 5, p->gpu_type);
    gb_q_int64(s, 6, p->gpu_count);
    gb_q_int64(s, 7, p->vcpu);
    gb_q_int64(s, 8, p->ram_gb);
    gb_q_int64(s, 9, p->confidential);
    gb_q_int64(s, 10, p->price_per_hour);
    return sq_change(s, 1, NULL);
}

gb_err pod_poll_at(gb_db *db, const char *id, int64_t at)
{
    gb_q *s = gb_q_prep(db, "UPDATE pods SET next_poll_at = ?2 WHERE id = ?1");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, id);
    gb_q_int64(s, 2, at);
    return sq_change(s, 1, NULL);
}

gb_err pod_by_workload(gb_db *db, const char *provider, const char *workload_name, pod_rec *out)
{
    gb_q *s = gb_q_prep(db, "SELECT " COLS " FROM pods WHERE provider = ?1 AND workload_name = ?2");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, provider);
    gb_q_text(s, 2, workload_name);
    return sq_one(s, row, out);
}

#define POD_BY_ID "SELECT " RATED_COLS " FROM pods WHERE id = ?1 AND account_id = ?2"

static gb_err get_by_id(gb_db *db, const char *sql, const char *account_id, const char *id,
                        pod_rec *out)
{
    gb_q *s = gb_q_prep(db, sql);
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, id);
    gb_q_text(s, 2, account_id);
    return sq_one(s, row_rated, out);
}

gb_err pod_get(gb_db *db, const char *account_id, const char *id, pod_rec *out)
{
    return get_by_id(db, POD_BY_ID, account_id, id, out);
}

gb_err pod_get_for_update(gb_db *db, const char *account_id, const char *id, pod_rec *out)
{
    return get_by_id(db, POD_BY_ID " FOR UPDATE", account_id, id, out);
}

gb_err pod_lock(gb_db *db, const char *id)
{
    gb_q *s = gb_q_prep(db, "SELECT 1 FROM pods WHERE id = ?1 FOR UPDATE");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, id);
    int row = 0;
    gb_err e = gb_q_step(s, &row);
    gb_q_reset(s);
    return e ? e : row ? GB_OK : GB_ERR_NOT_FOUND;
}

static gb_err each_read(gb_q *s, void (*read)(gb_q *, void *), pod_each fn, void *ud)
{
    int has = 0;
    gb_err e;
    while (!(e = gb_q_step(s, &has)) && has) {
        pod_rec p;
        read(s, &p);
        fn(ud, &p);
        pod_rec_clear(&p);
    }
    gb_q_reset(s);
    return e;
}

static gb_err each(gb_q *s, pod_each fn, void *ud)
{
    return each_read(s, row, fn, ud);
}

/* 1 when the bound query gives a row (its error counts as err_means). */
static int has_row(gb_q *s, int err_means)
{
    int has = 0;
    gb_err e = gb_q_step(s, &has);
    gb_q_reset(s);
    return e ? err_means : has;
}

gb_err pod_list(gb_db *db, const char *account_id, const char *status, const char *provider,
                pod_each fn, void *ud)
{
    return pod_list_page(db, account_id, status, provider, POD_LIST_MAX, 0, fn, ud);
}

gb_err pod_list_page(gb_db *db, const char *account_id, const char *status, const char *provider,
                     int limit, int offset, pod_each fn, void *ud)
{
    if (limit < 1 || limit > POD_LIST_MAX || offset < 0) return GB_ERR_INVALID;
    gb_q *s = gb_q_prep(db, "SELECT " RATED_COLS " FROM pods WHERE account_id = ?1"
                            " AND (CAST(?2 AS TEXT) IS NULL AND status <> 'deleted' OR status = ?2)"
                            " AND (CAST(?3 AS TEXT) IS NULL OR provider = ?3) ORDER BY created_at "
                            "DESC, id LIMIT ?4 OFFSET ?5");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, account_id);
    gb_q_text(s, 2, status);
    gb_q_text(s, 3, provider);
    gb_q_int64(s, 4, limit);
    gb_q_int64(s, 5, offset);
    return each_read(s, row_rated, fn, ud);
}

gb_err pod_count(gb_db *db, const char *account_id, const char *status, const char *provider,
                 int64_t *n)
{
    gb_q *s = gb_q_prep(db, "SELECT count(*) FROM pods WHERE account_id = ?1"
                            " AND (CAST(?2 AS TEXT) IS NULL AND status <> 'deleted'"
                            " OR status = ?2) AND (CAST(?3 AS TEXT) IS NULL"
                            " OR provider = ?3)");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, account_id);
    gb_q_text(s, 2, status);
    gb_q_text(s, 3, provider);
    return sq_int64(s, n);
}

gb_err pod_list_due(gb_db *db, int64_t now_ms, int limit, pod_each fn, void *ud)
{
    gb_q *s = gb_q_prep(db, "SELECT " COLS " FROM pods WHERE status <> 'deleted'"
                            " AND next_poll_at <= ?1 ORDER BY next_poll_at LIMIT ?2");
    if (!s) return GB_ERR_DB;
    gb_q_int64(s, 1, now_ms);
    gb_q_int64(s, 2, limit);
    return each(s, fn, ud);
}

/* Several brokers' reconcilers share the due pods: the inner SELECT skips rows another claim
 * holds (SKIP LOCKED; SQLite's one writer needs none), the outer condition is checked again on
 * the row as it is when locked, and the lease is next_poll_at itself. */
gb_err pod_claim_due(gb_db *db, int64_t now_ms, int64_t lease_ms, int limit, pod_each fn, void *ud)
{
    if (lease_ms <= 0 || limit <= 0 || now_ms < 0 || lease_ms > INT64_MAX - now_ms)
        return GB_ERR_INVALID;
    gb_err e = gb_db_begin(db);
    if (e) return e;
    gb_q *s = gb_q_prep(db, "UPDATE pods SET next_poll_at = CAST(?1 AS BIGINT) + CAST(?3 AS BIGINT)"
                            " WHERE id IN (SELECT id FROM pods WHERE status <> 'deleted'"
                            "  AND next_poll_at <= ?1 ORDER BY next_poll_at LIMIT ?2"
                            "  FOR UPDATE SKIP LOCKED)"
                            " AND status <> 'deleted' AND next_poll_at <= ?1 RETURNING " COLS);
    if (!s) {
        gb_db_rollback(db);
        return GB_ERR_DB;
    }
    gb_q_int64(s, 1, now_ms);
    gb_q_int64(s, 2, limit);
    gb_q_int64(s, 3, lease_ms);
    e = each(s, fn, ud);
    if (!e) e = gb_db_commit(db);
    gb_db_rollback(db); /* a no-op after a commit */
    return e;
}

gb_err pod_rates_each(gb_db *db, const char *account_id, int committed, pod_rate_fn fn, void *ud)
{
    /* the open meter's rate where there is one: what the pod is charged (meter_open) */
    gb_q *s = gb_q_prep(db, "SELECT p.provider, p.price_per_hour, m.rate FROM pods p"
                            " LEFT JOIN pod_meters m ON m.pod_id = p.id AND m.open = 1"
                            " WHERE p.account_id = ?1 AND p.job_id = '' AND (p.status = 'running'"
                            " OR (?2 = 1 AND p.status IN ('pending', 'deploying', 'stopping')))");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, account_id);
    gb_q_int64(s, 2, committed ? 1 : 0);
    int has = 0;
    gb_err e;
    while (!(e = gb_q_step(s, &has)) && has) {
        const char *provider = gb_q_col_text(s, 0);
        fn(ud, provider ? provider : "", gb_q_col_int64(s, 1),
           gb_q_col_int64(s, 2)); /* NULL: 0, no meter open */
    }
    gb_q_reset(s);
    return e;
}

int pod_workload_known(gb_db *db, const char *provider, const char *workload_name)
{
    /* any record counts, deleted ones too: a workload we deleted may linger a moment */
    gb_q *s = gb_q_prep(db, "SELECT 1 FROM pods WHERE provider = ?1 AND "
                            "workload_name = ?2");
    if (!s) return 1; /* on error, do not report an orphan */
    gb_q_text(s, 1, provider);
    gb_q_text(s, 2, workload_name);
    return has_row(s, 1);
}

gb_err pod_event_add(gb_db *db, const char *pod_id, int64_t at, const char *type, const char *from,
                     const char *to, const char *message)
{
    gb_q *s = gb_q_prep(db, "INSERT INTO pod_events(pod_id, at, type, from_status, "
                            "to_status, message) VALUES(?1,?2,?3,?4,?5,?6)");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, pod_id);
    gb_q_int64(s, 2, at);
    gb_q_text(s, 3, type);
    gb_q_text(s, 4, from);
    gb_q_text(s, 5, to);
    gb_q_text(s, 6, message ? message : "");
    return sq_change(s, 0, NULL);
}

gb_err pod_event_list(gb_db *db, const char *pod_id, pod_event_each fn, void *ud)
{
    gb_q *s = gb_q_prep(db, "SELECT at, type, from_status, to_status, message FROM "
                            "pod_events WHERE pod_id = ?1 ORDER BY id LIMIT 1000");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, pod_id);
    int has = 0;
    gb_err e;
    while (!(e = gb_q_step(s, &has)) && has)
        fn(ud, gb_q_col_int64(s, 0), gb_q_col_text(s, 1), gb_q_col_text(s, 2), gb_q_col_text(s, 3),
           gb_q_col_text(s, 4));
    gb_q_reset(s);
    return e;
}

/* ---- providers ---- */

void provider_secret_ref(const char *name, char *out, size_t n)
{
    snprintf(out, n, "providers/%s/secret", name);
}

void provider_rec_clear(provider_rec *r)
{
    if (!r) return;
    free(r->settings);
    r->settings = NULL;
}

gb_err provider_upsert(gb_db *db, const provider_rec *r)
{
    gb_q *s = gb_q_prep(db, "INSERT INTO providers(name, kind, base_url, settings, "
                            "created_at) VALUES(?1,?2,?3,?4,?5) ON CONFLICT(name) DO "
                            "UPDATE SET kind = excluded.kind, base_url = "
                            "excluded.base_url, settings = excluded.settings, "
                            "created_at = excluded.created_at, last_error = '', last_error_at = 0");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, r->name);
    gb_q_text(s, 2, r->kind);
    gb_q_text(s, 3, r->base_url);
    gb_q_text(s, 4, r->settings);
    gb_q_int64(s, 5, r->created_at);
    return sq_change(s, 0, NULL);
}

gb_err provider_delete(gb_db *db, const char *name)
{
    gb_q *s = gb_q_prep(db, "DELETE FROM providers WHERE name = ?1");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, name);
    return sq_change(s, 1, NULL);
}

gb_err provider_list(gb_db *db, provider_each fn, void *ud)
{
    gb_q *s = gb_q_prep(
        db, "SELECT name, kind, base_url, settings, created_at, last_error, last_error_at FROM "
            "providers ORDER BY name");
    if (!s) return GB_ERR_DB;
    int has = 0;
    gb_err e;
    while (!(e = gb_q_step(s, &has)) && has) {
        provider_rec r;
        sq_col(s, 0, r.name, sizeof(r.name));
        sq_col(s, 1, r.kind, sizeof(r.kind));
        sq_col(s, 2, r.base_url, sizeof(r.base_url));
        r.settings = sq_col_dup(s, 3);
        r.created_at = gb_q_col_int64(s, 4);
        sq_col(s, 5, r.last_error, sizeof(r.last_error));
        r.last_error_at = gb_q_col_int64(s, 6);
        fn(ud, &r);
        provider_rec_clear(&r);
    }
    gb_q_reset(s);
    return e;
}

gb_err provider_note_error(gb_db *db, const char *name, const char *error, int64_t at_ms)
{
    gb_q *s = gb_q_prep(db, "UPDATE providers SET last_error = ?2, last_error_at = ?3 "
                            "WHERE name = ?1");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, name);
    gb_q_text(s, 2, error);
    gb_q_int64(s, 3, at_ms);
    return sq_change(s, 0, NULL);
}

gb_err pod_list_metered(gb_db *db, pod_each fn, void *ud)
{
    /* locked until the round's transaction ends: a status change another broker writes
     * meanwhile waits, and the rows read are the ones as they are when locked */
    gb_q *s = gb_q_prep(db, "SELECT " COLS " FROM pods WHERE job_id = '' AND "
                            "(status = 'running' OR id IN "
                            "(SELECT pod_id FROM pod_meters WHERE open = 1)) ORDER BY id"
                            " FOR UPDATE");
    if (!s) return GB_ERR_DB;
    return each(s, fn, ud);
}

int pod_event_since(gb_db *db, const char *pod_id, const char *type, int64_t since_ms)
{
    gb_q *s = gb_q_prep(db, "SELECT 1 FROM pod_events WHERE pod_id = ?1 AND type = ?2 "
                            "AND at >= ?3 LIMIT 1");
    if (!s) return 0;
    gb_q_text(s, 1, pod_id);
    gb_q_text(s, 2, type);
    gb_q_int64(s, 3, since_ms);
    return has_row(s, 0);
}
