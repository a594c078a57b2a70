/* job_store.c: the fine_tuning_jobs table: creating a job together with its debit, reading
 * and listing, and status transitions together with their refunds. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/dbq.h"
#include "common/json.h"
#include "common/str.h"
#include "jobs/job_store_int.h"
#include "jobs/ledger.h"
#include "webhooks/outbox.h"

/* Step 1 as a format: the status list, then the terminal list twice. */
#define SCHEMA_1                                                                                   \
    "CREATE TABLE fine_tuning_jobs ("                                                              \
    " id TEXT PRIMARY KEY CHECK (id LIKE 'ftj\\_%%' ESCAPE '\\'),"                                 \
    " account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"                         \
    " name TEXT NOT NULL, task_type TEXT NOT NULL CHECK (task_type IN"                             \
    "  ('text','chat','dpo','grpo','custom_chat','image')),"                                       \
    " base_model TEXT NOT NULL, dataset_repo TEXT NOT NULL DEFAULT '',"                            \
    " dataset_url TEXT NOT NULL DEFAULT '',"                                                       \
    " hours INTEGER NOT NULL CHECK (hours BETWEEN 1 AND 168),"                                     \
    " cost_per_hour INTEGER NOT NULL CHECK (cost_per_hour > 0),"                                   \
    " total_cost INTEGER NOT NULL CHECK (total_cost = cost_per_hour * hours),"                     \
    " status TEXT NOT NULL CHECK (status IN %s),"                                                  \
    " webhook_url TEXT NOT NULL DEFAULT '',"                                                       \
    " params TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),"                               \
    " output_model_repo TEXT NOT NULL DEFAULT '', pod_id TEXT NOT NULL DEFAULT '',"                \
    " message TEXT NOT NULL DEFAULT '',"                                                           \
    " progress REAL NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),"                        \
    " refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded IN (0, 1)),"                             \
    " created_at INTEGER NOT NULL, started_at INTEGER NOT NULL DEFAULT 0,"                         \
    " completed_at INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL,"                       \
    " lease_owner TEXT NOT NULL DEFAULT '', lease_until INTEGER NOT NULL DEFAULT 0,"               \
    " attempts INTEGER NOT NULL DEFAULT 0, next_step_at INTEGER NOT NULL DEFAULT 0);"              \
    "CREATE INDEX fine_tuning_jobs_account ON fine_tuning_jobs(account_id, created_at);"           \
    "CREATE INDEX fine_tuning_jobs_claimable ON fine_tuning_jobs(next_step_at, id)"                \
    " WHERE status NOT IN %s;" /* Two invariants the schema keeps even against a buggy or          \
                                * hand-written UPDATE: a finished job never changes status, and a  \
                                * refund is never undone. */                                       \
    "CREATE TRIGGER fine_tuning_jobs_final BEFORE UPDATE OF status ON fine_tuning_jobs"            \
    " WHEN OLD.status IN %s AND NEW.status <> OLD.status"                                          \
    " BEGIN SELECT RAISE(ABORT, 'a finished fine-tuning job cannot change status'); END;"          \
    "CREATE TRIGGER fine_tuning_jobs_refund_final BEFORE UPDATE OF refunded"                       \
    " ON fine_tuning_jobs WHEN OLD.refunded = 1 AND NEW.refunded <> 1"                             \
    " BEGIN SELECT RAISE(ABORT, 'a refund cannot be undone'); END;"

/* Step 1 for PostgreSQL, the same format: json_valid is SQLite's (PostgreSQL 15 has no IS
 * JSON, so a function tries the cast), and the triggers' bodies are plpgsql raising SQLSTATE
 * 23000 (GB_ERR_CONFLICT, as SQLite's RAISE(ABORT)). */
#define SCHEMA_1_PG                                                                                \
    "CREATE FUNCTION fine_tuning_json_valid(t TEXT) RETURNS BOOLEAN LANGUAGE plpgsql IMMUTABLE"    \
    " AS $$ BEGIN PERFORM t::json; RETURN TRUE; EXCEPTION WHEN others THEN RETURN FALSE;"          \
    " END $$;"                                                                                     \
    "CREATE TABLE fine_tuning_jobs ("                                                              \
    " id TEXT PRIMARY KEY CHECK (id LIKE 'ftj\\_%%' ESCAPE '\\'),"                                 \
    " account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"                         \
    " name TEXT NOT NULL, task_type TEXT NOT NULL CHECK (task_type IN"                             \
    "  ('text','chat','dpo','grpo','custom_chat','image')),"                                       \
    " base_model TEXT NOT NULL, dataset_repo TEXT NOT NULL DEFAULT '',"                            \
    " dataset_url TEXT NOT NULL DEFAULT '',"                                                       \
    " hours BIGINT NOT NULL CHECK (hours BETWEEN 1 AND 168),"                                      \
    " cost_per_hour BIGINT NOT NULL CHECK (cost_per_hour > 0),"                                    \
    " total_cost BIGINT NOT NULL CHECK (total_cost = cost_per_hour * hours),"                      \
    " status TEXT NOT NULL CHECK (status IN %s),"                                                  \
    " webhook_url TEXT NOT NULL DEFAULT '',"                                                       \
    " params TEXT NOT NULL DEFAULT '{}' CHECK (fine_tuning_json_valid(params)),"                   \
    " output_model_repo TEXT NOT NULL DEFAULT '', pod_id TEXT NOT NULL DEFAULT '',"                \
    " message TEXT NOT NULL DEFAULT '',"                                                           \
    " progress DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),"            \
    " refunded BIGINT NOT NULL DEFAULT 0 CHECK (refunded IN (0, 1)),"                              \
    " created_at BIGINT NOT NULL, started_at BIGINT NOT NULL DEFAULT 0,"                           \
    " completed_at BIGINT NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL,"                         \
    " lease_owner TEXT NOT NULL DEFAULT '', lease_until BIGINT NOT NULL DEFAULT 0,"                \
    " attempts BIGINT NOT NULL DEFAULT 0, next_step_at BIGINT NOT NULL DEFAULT 0);"                \
    "CREATE INDEX fine_tuning_jobs_account ON fine_tuning_jobs(account_id, created_at);"           \
    "CREATE INDEX fine_tuning_jobs_claimable ON fine_tuning_jobs(next_step_at, id)"                \
    " WHERE status NOT IN %s;"                                                                     \
    "CREATE FUNCTION fine_tuning_jobs_abort() RETURNS trigger LANGUAGE plpgsql AS $$"              \
    " BEGIN RAISE EXCEPTION '%%', TG_ARGV[0] USING ERRCODE = '23000'; END $$;"                     \
    "CREATE TRIGGER fine_tuning_jobs_final BEFORE UPDATE OF status ON fine_tuning_jobs"            \
    " FOR EACH ROW WHEN (OLD.status IN %s AND NEW.status <> OLD.status)"                           \
    " EXECUTE FUNCTION fine_tuning_jobs_abort('a finished fine-tuning job cannot change status');" \
    "CREATE TRIGGER fine_tuning_jobs_refund_final BEFORE UPDATE OF refunded"                       \
    " ON fine_tuning_jobs FOR EACH ROW WHEN (OLD.refunded = 1 AND NEW.refunded <> 1)"              \
    " EXECUTE FUNCTION fine_tuning_jobs_abort('a refund cannot be undone');"

static char STATUSES[FT_JOB_SQL_LIST_MAX], TERMINAL[FT_JOB_SQL_LIST_MAX];
static char schema_1[sizeof(SCHEMA_1) + 3 * FT_JOB_SQL_LIST_MAX];
static char schema_1_pg[sizeof(SCHEMA_1_PG) + 3 * FT_JOB_SQL_LIST_MAX];
static pthread_once_t BUILT = PTHREAD_ONCE_INIT;

/* Step 2: the model sizes read from the Hub (hub_store.c), keyed by the lower-cased id. */
static const gb_migration STEPS[] = {
    {1, schema_1},
    {2, "CREATE TABLE hub_model_sizes (model TEXT PRIMARY KEY CHECK (model = lower(model)),"
        " millions INTEGER NOT NULL CHECK (millions > 0), fetched_at INTEGER NOT NULL)"}};
static const gb_migration PG_STEPS[] = {{1, schema_1_pg}};

static const gb_migration_set SET = {.module = "jobs",
                                     .steps = STEPS,
                                     .count = sizeof(STEPS) / sizeof(STEPS[0]),
                                     .pg_steps = PG_STEPS,
                                     .pg_count = sizeof(PG_STEPS) / sizeof(PG_STEPS[0])};

/* "('a','b')" of the states pick accepts (every state when pick is NULL). */
static void sql_list(char *out, size_t n, bool (*pick)(ft_state))
{
    size_t k = gb_strlcpy(out, "(", n);
    for (int i = 0; i < FT_STATE_COUNT; i++) {
        if (pick && !pick((ft_state)i)) continue;
        /* cannot be cut short: n holds every name (FT_JOB_SQL_LIST_MAX) */
        if (gb_snprintf(out + k, n - k, "%s'%s'", k > 1 ? "," : "", ft_state_name((ft_state)i)))
            return;
        k += strlen(out + k);
    }
    gb_snprintf(out + k, n - k, ")");
}

static void build(void)
{
    sql_list(STATUSES, sizeof(STATUSES), NULL);
    sql_list(TERMINAL, sizeof(TERMINAL), ft_state_terminal);
    gb_snprintf(schema_1, sizeof(schema_1), SCHEMA_1, STATUSES, TERMINAL, TERMINAL);
    gb_snprintf(schema_1_pg, sizeof(schema_1_pg), SCHEMA_1_PG, STATUSES, TERMINAL, TERMINAL);
}

const char *ft_job_sql_terminal(void)
{
    pthread_once(&BUILT, build);
    return TERMINAL;
}

const gb_migration_set *ft_job_migrations(void)
{
    pthread_once(&BUILT, build);
    return &SET;
}

static void col(gb_q *q, int i, char *buf, size_t n)
{
    const char *t = gb_q_col_text(q, i);
    gb_strlcpy(buf, t ? t : "", n);
}

/* The progress column as text (FT_JOB_COLS_SQLITE / _PG): its double, exactly. */
static double col_double(gb_q *q, int i)
{
    const char *t = gb_q_col_text(q, i);
    return t ? strtod(t, NULL) : 0;
}

static void row(gb_q *q, ft_job *j)
{
    memset(j, 0, sizeof(*j));
    col(q, 0, j->id, sizeof(j->id));
    col(q, 1, j->account_id, sizeof(j->account_id));
    col(q, 2, j->name, sizeof(j->name));
    col(q, 3, j->task_type, sizeof(j->task_type));
    col(q, 4, j->base_model, sizeof(j->base_model));
    col(q, 5, j->dataset_repo, sizeof(j->dataset_repo));
    col(q, 6, j->dataset_url, sizeof(j->dataset_url));
    j->hours = (int)gb_q_col_int64(q, 7);
    j->cost_per_hour = gb_q_col_int64(q, 8);
    j->total_cost = gb_q_col_int64(q, 9);
    const char *st = gb_q_col_text(q, 10);
    if (ft_state_parse(st ? st : "", &j->status) != 0) j->status = FT_FAILURE;
    col(q, 11, j->webhook_url, sizeof(j->webhook_url));
    col(q, 12, j->params, sizeof(j->params));
    col(q, 13, j->output_model_repo, sizeof(j->output_model_repo));
    col(q, 14, j->pod_id, sizeof(j->pod_id));
    col(q, 15, j->message, sizeof(j->message));
    j->progress = col_double(q, 16);
    j->refunded = gb_q_col_int64(q, 17) != 0;
    j->created_at = gb_q_col_int64(q, 18);
    j->started_at = gb_q_col_int64(q, 19);
    j->completed_at = gb_q_col_int64(q, 20);
    j->updated_at = gb_q_col_int64(q, 21);
    col(q, 22, j->lease_owner, sizeof(j->lease_owner));
    j->lease_until = gb_q_col_int64(q, 23);
    j->attempts = (int)gb_q_col_int64(q, 24);
    j->next_step_at = gb_q_col_int64(q, 25);
}

gb_err ft_job_step_one(gb_q *q, ft_job *out)
{
    int has = 0;
    gb_err e = gb_q_step(q, &has);
    if (!e && !has) e = GB_ERR_NOT_FOUND;
    if (!e && out) row(q, out);
    /* a RETURNING statement runs to completion before it is reset */
    while (!e && has)
        e = gb_q_step(q, &has);
    gb_q_reset(q);
    return e;
}

gb_err ft_job_load(gb_db *db, const char *id, ft_job *out)
{
    gb_q *q = gb_q_prep(db, FT_JOB_SQL(db, "SELECT ", " FROM fine_tuning_jobs WHERE id = ?1"));
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    return ft_job_step_one(q, out);
}

gb_err ft_job_load_locked(gb_db *db, const char *id, ft_job *out)
{
    gb_q *q =
        gb_q_prep(db, FT_JOB_SQL(db, "SELECT ", " FROM fine_tuning_jobs WHERE id = ?1 FOR UPDATE"));
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    return ft_job_step_one(q, out);
}

gb_err ft_job_get(gb_db *db, const char *account_id, const char *id, ft_job *out)
{
    gb_q *q = gb_q_prep(db, FT_JOB_SQL(db, "SELECT ",
                                       " FROM fine_tuning_jobs"
                                       " WHERE id = ?1 AND account_id = ?2"));
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, account_id);
    return ft_job_step_one(q, out);
}

/* ft_job_get with the row locked until the transaction ends (PostgreSQL; SQLite's write
 * transaction excludes other writers already). */
static gb_err get_locked(gb_db *db, const char *account_id, const char *id, ft_job *out)
{
    gb_q *q = gb_q_prep(db, FT_JOB_SQL(db, "SELECT ",
                                       " FROM fine_tuning_jobs"
                                       " WHERE id = ?1 AND account_id = ?2 FOR UPDATE"));
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, account_id);
    return ft_job_step_one(q, out);
}

/* ft_job_create's transaction (gb_db_txn: maybe on another thread's connection) */
typedef struct {
    const char *id, *account_id, *params;
    const ft_request *r;
    gb_money per_hour, total;
    int64_t now;
    ft_job *out;
    bool sent; /* every statement went (or ran): a conflict after it is the debit's */
} create_work;

static gb_err create_in_txn(gb_db *db, void *ud)
{
    create_work *c = ud;
    const ft_request *r = c->r;
    /* the row as stored comes back from the INSERT itself (RETURNING): no read after it */
    gb_q *q = gb_q_prep(
        db, FT_JOB_SQL(db,
                       "INSERT INTO fine_tuning_jobs(id, account_id, name, task_type, base_model,"
                       " dataset_repo, dataset_url, hours, cost_per_hour, total_cost, status,"
                       " webhook_url, params, created_at, updated_at, next_step_at)"
                       " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,'pending',?11,?12,?13,?13,?13)"
                       " RETURNING ",
                       ""));
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, c->id);
    gb_q_text(q, 2, c->account_id);
    gb_q_text(q, 3, r->name);
    gb_q_text(q, 4, r->task_type);
    gb_q_text(q, 5, r->model);
    gb_q_text(q, 6, r->ds_repo);
    gb_q_text(q, 7, r->dataset_url);
    gb_q_int64(q, 8, r->hours);
    gb_q_int64(q, 9, c->per_hour);
    gb_q_int64(q, 10, c->total);
    gb_q_text(q, 11, r->webhook_url);
    gb_q_text(q, 12, c->params);
    gb_q_int64(q, 13, c->now);
    gb_err e = ft_job_step_one(q, c->out);
    if (!e) e = gb_db_made(db, c->id); /* an Idempotency-Key's request made it (idem.c) */
    /* the debit last, and on PostgreSQL sent with the COMMIT: it locks the account's balance,
     * and every create of the account waits for that lock (docs/benchmarks.md) */
    if (!e) e = ledger_debit_at_commit(db, c->account_id, c->total, c->id, "fine-tuning job");
    if (e == GB_ERR_LIMIT) e = GB_ERR_PAYMENT;
    c->sent = !e;
    return e;
}

gb_err ft_job_create(gb_db *db, const char *account_id, const ft_request *r, gb_money per_hour,
                     ft_job *out)
{
    char *params = NULL, id[GB_ID_MAX];
    gb_err e = GB_ERR_INVALID;
    gb_money total = ft_total(per_hour, r->hours);
    if (!account_id || !account_id[0] || per_hour <= 0 || r->hours < FT_HOURS_MIN ||
        r->hours > FT_HOURS_MAX || total <= 0)
        goto fail;
    if ((e = ft_request_params_json(r, &params))) goto fail;
    if (strlen(params) >= sizeof(((ft_job *)0)->params)) {
        e = GB_ERR_LIMIT;
        goto fail;
    }
    int64_t now = gb_now_ms();
    if ((e = gb_id_new_ordered("ftj_", now, id, sizeof(id)))) goto fail;
    create_work c = {.id = id,
                     .account_id = account_id,
                     .params = params,
                     .r = r,
                     .per_hour = per_hour,
                     .total = total,
                     .now = now,
                     .out = out};
    e = gb_db_txn(db, create_in_txn, &c);
    /* the only change that can conflict at the COMMIT is the debit (PostgreSQL): the
     * balance's CHECK refused it */
    if (e == GB_ERR_CONFLICT && c.sent) e = GB_ERR_PAYMENT;
fail:
    free(params);
    return e;
}

static gb_err check_status(const char *status)
{
    ft_state st;
    return !status || ft_state_parse(status, &st) == 0 ? GB_OK : GB_ERR_INVALID;
}

gb_err ft_job_list(gb_db *db, const char *account_id, const char *status, int limit, int offset,
                   ft_job_each fn, void *ud)
{
    if (check_status(status) || limit < 1 || limit > 1000 || offset < 0) return GB_ERR_INVALID;
    gb_q *q = gb_q_prep(
        db, FT_JOB_SQL(db, "SELECT ",
                       " FROM fine_tuning_jobs"
                       " WHERE account_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR status = ?2)"
                       " ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4"));
    if (!q) return GB_ERR_DB;
    ft_job *j = malloc(sizeof(*j));
    if (!j) return GB_ERR_NOMEM;
    gb_q_text(q, 1, account_id);
    gb_q_text(q, 2, status);
    gb_q_int64(q, 3, limit);
    gb_q_int64(q, 4, offset);
    int has = 0;
    gb_err e;
    while (!(e = gb_q_step(q, &has)) && has) {
        row(q, j);
        fn(ud, j);
    }
    free(j);
    gb_q_reset(q);
    return e;
}

gb_err ft_job_count(gb_db *db, const char *account_id, const char *status, int64_t *n)
{
    if (check_status(status)) return GB_ERR_INVALID;
    gb_q *q = gb_q_prep(db, "SELECT count(*) FROM fine_tuning_jobs"
                            " WHERE account_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR status = ?2)");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    gb_q_text(q, 2, status);
    int has = 0;
    gb_err e = gb_q_step(q, &has);
    if (!e) *n = has ? gb_q_col_int64(q, 0) : 0;
    gb_q_reset(q);
    return e;
}

/* fine_tuning.job.status on every state change, with the change itself: for the event stream
 * (GET /api/volt/events) and endpoints that ask for it; a job's own webhookUrl gets only
 * fine_tuning.job.completed, as the Volt API promises. */
static gb_err status_event(gb_db *db, const ft_job *cur, ft_state to, const char *message,
                           int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return GB_ERR_NOMEM;
    cJSON_AddStringToObject(o, "event", "fine_tuning.job.status");
    cJSON_AddStringToObject(o, "jobId", cur->id);
    cJSON_AddStringToObject(o, "status", ft_state_name(to));
    cJSON_AddStringToObject(o, "previousStatus", ft_state_name(cur->status));
    gb_json_add_str_or_null(o, "message", message && message[0] ? message : NULL);
    gb_json_add_time(o, "at", now);
    gb_err e = wh_enqueue(db, cur->account_id, "fine_tuning.job.status", o, NULL, NULL);
    cJSON_Delete(o);
    return e;
}

gb_err ft_job_apply(gb_db *db, const ft_job *cur, ft_state to, const char *message,
                    ft_refund_mode mode, gb_money *refunded)
{
    if (refunded) *refunded = 0;
    if (!ft_transition_allowed(cur->status, to)) return GB_ERR_INVALID;
    /* a job never ends in success without the pod it trained on */
    if (to == FT_SUCCESS && !cur->pod_id[0]) return GB_ERR_INVALID;
    if (message && strlen(message) > FT_MESSAGE_MAX) return GB_ERR_INVALID;
    if (mode == FT_REFUND_GOODWILL && !(to == FT_CANCELLED || ft_state_failure(to)))
        return GB_ERR_INVALID;
    bool refund = ft_transition_refunds(cur->status, to) || mode == FT_REFUND_GOODWILL;
    int64_t now = gb_now_ms();
    gb_q *q =
        gb_q_prep(db, "UPDATE fine_tuning_jobs SET status = ?3, message = COALESCE(?4, message),"
                      " updated_at = ?5,"
                      " started_at = CASE WHEN ?3 = 'training' AND started_at = 0 THEN ?5"
                      "  ELSE started_at END,"
                      " completed_at = CASE WHEN ?6 = 1 THEN ?5 ELSE completed_at END,"
                      " progress = CASE WHEN ?3 = 'success' THEN 100 ELSE progress END,"
                      " refunded = refunded + ?7, attempts = 0, next_step_at = ?5"
                      " WHERE id = ?1 AND status = ?2");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, cur->id);
    gb_q_text(q, 2, ft_state_name(cur->status));
    gb_q_text(q, 3, ft_state_name(to));
    gb_q_text(q, 4, message);
    gb_q_int64(q, 5, now);
    gb_q_int64(q, 6, ft_state_terminal(to) ? 1 : 0);
    gb_q_int64(q, 7, refund ? 1 : 0);
    int64_t changed = 0;
    gb_err e = gb_q_run(q, &changed);
    if (!e && changed == 0) e = GB_ERR_CONFLICT;
    if (!e) e = status_event(db, cur, to, message, now);
    if (!e && ft_state_terminal(to)) { /* fine_tuning.job.completed, with the change itself */
        ft_job now_job;
        cJSON *payload = cJSON_CreateObject();
        e = payload ? ft_job_load(db, cur->id, &now_job) : GB_ERR_NOMEM;
        if (!e) e = ft_job_webhook_json(&now_job, payload);
        if (!e)
            e = wh_enqueue(db, cur->account_id, "fine_tuning.job.completed", payload,
                           now_job.webhook_url[0] ? now_job.webhook_url : NULL, NULL);
        cJSON_Delete(payload);
    }
    /* the refund last, and on PostgreSQL sent with the COMMIT: it locks the account's balance,
     * and every other money transaction of the account waits for that lock (a broker paused
     * in between held it for every round trip after it; docs/store.md) */
    if (!e && refund)
        e = ledger_refund_at_commit(db, cur->account_id, cur->total_cost, cur->id,
                                    "fine-tuning refund");
    if (!e && refunded && refund) *refunded = cur->total_cost;
    return e;
}

gb_err ft_job_transition(gb_db *db, const char *id, ft_state from, ft_state to, const char *message,
                         ft_refund_mode refund, ft_job *out, gb_money *refunded)
{
    ft_job *cur = NULL;
    bool txn = false;
    gb_err e = GB_ERR_INVALID;
    if (refunded) *refunded = 0;
    if (!ft_transition_allowed(from, to)) goto fail;
    if (refund != FT_REFUND_BY_RULE && refund != FT_REFUND_GOODWILL) goto fail;
    if (!(cur = malloc(sizeof(*cur)))) {
        e = GB_ERR_NOMEM;
        goto fail;
    }
    if ((e = gb_db_begin(db))) goto fail;
    txn = true;
    if ((e = ft_job_load_locked(db, id, cur))) goto fail;
    if (cur->status != from) {
        e = GB_ERR_CONFLICT;
        goto fail;
    }
    if ((e = ft_job_apply(db, cur, to, message, refund, refunded))) goto fail;
    txn = false;
    if ((e = gb_db_commit(db))) goto fail;
    if (out) e = ft_job_load(db, id, out);
fail:
    if (txn) gb_db_rollback(db);
    if (e && refunded) *refunded = 0;
    free(cur);
    return e;
}

gb_err ft_job_cancel(gb_db *db, const char *account_id, const char *id, ft_job *out,
                     gb_money *refunded, char *msg)
{
    ft_job *cur = malloc(sizeof(*cur));
    char text[256];
    gb_money amount = 0;
    bool txn = false;
    gb_err e = GB_ERR_NOMEM;
    if (refunded) *refunded = 0;
    if (msg) msg[0] = '\0';
    if (!cur) goto fail;
    if ((e = gb_db_begin(db))) goto fail;
    txn = true;
    if ((e = get_locked(db, account_id, id, cur))) goto fail;
    if (ft_state_terminal(cur->status)) {
        if (msg)
            gb_snprintf(msg, 256, "Job is already finished (status %s)",
                        ft_state_name(cur->status));
        e = GB_ERR_CONFLICT;
        goto fail;
    }
    ft_cancel_message(cur->status,
                      ft_transition_refunds(cur->status, FT_CANCELLED) ? cur->total_cost : 0, text,
                      sizeof(text));
    if ((e = ft_job_apply(db, cur, FT_CANCELLED, text, FT_REFUND_BY_RULE, &amount))) goto fail;
    txn = false;
    if ((e = gb_db_commit(db))) goto fail;
    if (refunded) *refunded = amount;
    if (msg) gb_strlcpy(msg, text, 256);
    if (out) e = ft_job_load(db, id, out);
fail:
    if (txn) gb_db_rollback(db);
    free(cur);
    return e;
}

gb_err ft_job_set_message(gb_db *db, const char *id, ft_state status, const char *message)
{
    /* updated_at stays: the time a job has been looking for nodes is measured from it */
    /* PostgreSQL's substr takes INTEGER, a bound integer is BIGINT */
    gb_q *q = gb_q_prep(db, "UPDATE fine_tuning_jobs SET message = substr(?2, 1,"
                            " CAST(?4 AS INTEGER)) WHERE id = ?1 AND status = ?3");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, message);
    gb_q_text(q, 3, ft_state_name(status));
    gb_q_int64(q, 4, FT_MESSAGE_MAX);
    int64_t changed = 0;
    gb_err e = gb_q_run(q, &changed);
    if (!e && changed == 0) e = GB_ERR_CONFLICT;
    return e;
}

gb_err ft_job_set_pod(gb_db *db, const char *id, const char *owner, const char *pod_id)
{
    if (!owner || !owner[0]) return GB_ERR_INVALID;
    gb_q *q = gb_q_prep(db, "UPDATE fine_tuning_jobs SET pod_id = ?2 WHERE id = ?1"
                            " AND lease_owner = ?3");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, pod_id);
    gb_q_text(q, 3, owner);
    int64_t changed = 0;
    gb_err e = gb_q_run(q, &changed);
    if (!e && changed == 0)
        e = ft_job_load(db, id, NULL) == GB_ERR_NOT_FOUND ? GB_ERR_NOT_FOUND : GB_ERR_CONFLICT;
    return e;
}

gb_err ft_job_ended_pods(gb_db *db, int limit, ft_job_pod_fn fn, void *ud)
{
    char sql[512];
    if (limit <= 0 ||
        gb_snprintf(sql, sizeof(sql),
                    /* from the live pods (the pods_status index), not from every finished
                     * job or every pod ever: this runs every round of the job runner */
                    "SELECT j.account_id, p.id FROM pods p JOIN fine_tuning_jobs j"
                    " ON j.id = p.job_id WHERE p.status IN ('pending', 'deploying', 'running',"
                    " 'stopping', 'stopped', 'succeeded', 'unknown') AND j.status IN %s"
                    " ORDER BY p.id LIMIT ?1",
                    ft_job_sql_terminal()))
        return GB_ERR_INVALID;
    gb_q *q = gb_q_prep(db, sql);
    if (!q) return GB_ERR_DB;
    gb_q_int64(q, 1, limit);
    int row = 0;
    gb_err e;
    while (!(e = gb_q_step(q, &row)) && row)
        fn(ud, gb_q_col_text(q, 0), gb_q_col_text(q, 1));
    gb_q_reset(q);
    return e;
}
