/* job_store_int.h: what job_store.c shares with job_lease_store.c (the only includers):
 * the column list, the state lists as SQL, the row reader and the in-transaction transition
 * step. */
#ifndef GB_JOB_STORE_INT_H
#define GB_JOB_STORE_INT_H

#include "common/dbq.h"
#include "jobs/job_store.h"

/* A job row's columns, in the order ft_job_step_one reads them. The progress (SQLite's REAL,
 * PostgreSQL's DOUBLE PRECISION) must come back as text that gives the stored double
 * exactly, and no expression does that on both backends: SQLite's own text of a REAL has 15
 * digits (printf('%!.17g') has them all), PostgreSQL's text of it has all already. So a
 * statement that reads a job is written twice, chosen by FT_JOB_SQL. */
#define FT_JOB_COLS_(progress)                                                                     \
    "id, account_id, name, task_type, base_model, dataset_repo, dataset_url, hours,"               \
    " cost_per_hour, total_cost, status, webhook_url, params, output_model_repo, pod_id,"          \
    " message, " progress ", refunded, created_at, started_at, completed_at, updated_at,"          \
    " lease_owner, lease_until, attempts, next_step_at"
#define FT_JOB_COLS_SQLITE FT_JOB_COLS_("printf('%!.17g', progress)")
#define FT_JOB_COLS_PG FT_JOB_COLS_("progress")
/* The statement head <columns> tail for db's backend (two literal strings). */
#define FT_JOB_SQL(db, head, tail)                                                                 \
    (gb_db_kind_of(db) == GB_DB_POSTGRESQL ? head FT_JOB_COLS_PG tail                              \
                                           : head FT_JOB_COLS_SQLITE tail)

/* The terminal states as an SQL list, "('success',...)", built on first use from FT_STATES
 * (finetune_states.h) like the schema's list of every status. */
const char *ft_job_sql_terminal(void);
/* The size such a list can need, with its NUL (every name quoted, with a comma). */
#define FT_SQL_ITEM_(id, name, flags, next) "'" name "',"
#define FT_JOB_SQL_LIST_MAX sizeof("(" FT_STATES(FT_SQL_ITEM_) ")")

/* Steps q (bound by the caller) for at most one row into out (may be NULL), then resets q.
 * GB_ERR_NOT_FOUND for no row. */
gb_err ft_job_step_one(gb_q *q, ft_job *out);
/* ft_job_load inside the caller's transaction, the row locked until it ends (PostgreSQL's
 * FOR UPDATE: a read-then-write of the job by two brokers goes one after the other). */
gb_err ft_job_load_locked(gb_db *db, const char *id, ft_job *out);

/* Inside the caller's transaction: moves cur (just read in it) to `to` with the refund of
 * `mode`, writing the refund entry. *refunded (may be NULL) gets the amount given back. */
gb_err ft_job_apply(gb_db *db, const ft_job *cur, ft_state to, const char *message,
                    ft_refund_mode mode, gb_money *refunded);

#endif
