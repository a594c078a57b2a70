/* job_lease_store.c: the runner's side of fine_tuning_jobs: leases that hand each due job to
 * one runner at a time, and the trainer's progress reports. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/str.h"
#include "jobs/job_store_int.h"

/* The claim, as a format taking the terminal list twice and the columns (FT_JOB_SQL). On PostgreSQL
 * several brokers claim at once: the inner SELECT skips a job another claim has locked (SKIP
 * LOCKED; SQLite's text drops it, its write transaction already excludes other claims), and the
 * outer conditions are checked again on the row as it is when locked. */
#define CLAIM_SQL                                                                                  \
    "UPDATE fine_tuning_jobs SET lease_owner = ?1,"                                                \
    " lease_until = CAST(?2 AS BIGINT) + CAST(?3 AS BIGINT), attempts = attempts + 1"              \
    " WHERE id = (SELECT id FROM fine_tuning_jobs WHERE status NOT IN %s"                          \
    "  AND next_step_at <= ?2 AND lease_until <= ?2 ORDER BY next_step_at, id LIMIT 1"             \
    "  FOR UPDATE SKIP LOCKED)"                                                                    \
    " AND lease_until <= ?2 AND status NOT IN %s RETURNING %s"

static char claim_sqlite[sizeof(CLAIM_SQL) + 2 * FT_JOB_SQL_LIST_MAX + sizeof(FT_JOB_COLS_SQLITE)],
    claim_pg[sizeof(CLAIM_SQL) + 2 * FT_JOB_SQL_LIST_MAX + sizeof(FT_JOB_COLS_PG)];
static pthread_once_t CLAIM_BUILT = PTHREAD_ONCE_INIT;

static void build_claim(void)
{
    gb_snprintf(claim_sqlite, sizeof(claim_sqlite), CLAIM_SQL, ft_job_sql_terminal(),
                ft_job_sql_terminal(), FT_JOB_COLS_SQLITE);
    gb_snprintf(claim_pg, sizeof(claim_pg), CLAIM_SQL, ft_job_sql_terminal(), ft_job_sql_terminal(),
                FT_JOB_COLS_PG);
}

gb_err ft_job_claim(gb_db *db, const char *owner, int64_t now_ms, int64_t lease_ms, ft_job *out)
{
    if (!owner || !owner[0] || strlen(owner) >= sizeof(out->lease_owner) || lease_ms <= 0 ||
        now_ms < 0 || lease_ms > INT64_MAX - now_ms)
        return GB_ERR_INVALID;
    gb_err e = gb_db_begin(db); /* the write lock first: claims never race on a snapshot */
    if (e) return e;
    pthread_once(&CLAIM_BUILT, build_claim);
    gb_q *q = gb_q_prep(db, gb_db_kind_of(db) == GB_DB_POSTGRESQL ? claim_pg : claim_sqlite);
    if (!q) {
        e = GB_ERR_DB;
        goto fail;
    }
    gb_q_text(q, 1, owner);
    gb_q_int64(q, 2, now_ms);
    gb_q_int64(q, 3, lease_ms);
    if ((e = ft_job_step_one(q, out))) goto fail;
    e = gb_db_commit(db);
fail:
    gb_db_rollback(db); /* a no-op after a commit */
    return e;
}

gb_err ft_job_release(gb_db *db, const char *id, const char *owner, int64_t next_step_at)
{
    if (!id || !owner || !owner[0]) return GB_ERR_INVALID;
    gb_q *q = gb_q_prep(db, "UPDATE fine_tuning_jobs SET lease_owner = '',"
                            " lease_until = 0, next_step_at = ?3"
                            " WHERE id = ?1 AND lease_owner = ?2");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, owner);
    gb_q_int64(q, 3, next_step_at);
    int64_t changed = 0;
    gb_err e = gb_q_run(q, &changed);
    if (!e && changed == 0) e = GB_ERR_CONFLICT;
    return e;
}

static bool report_valid(const ft_report *r)
{
    if (r->has_progress && !(isfinite(r->progress) && r->progress >= 0 && r->progress <= 100))
        return false;
    if (r->has_status && ft_state_name(r->status)[0] == '?') return false;
    if (r->output_model_repo && !ft_repo_id_valid(r->output_model_repo, false)) return false;
    if (r->message && strlen(r->message) > FT_MESSAGE_MAX) return false;
    if (r->pod_id && strlen(r->pod_id) >= sizeof(((ft_job *)0)->pod_id)) return false;
    return true;
}

gb_err ft_job_report(gb_db *db, const char *id, const ft_report *r, ft_job *out)
{
    ft_job *cur = NULL;
    bool txn = false;
    gb_err e = GB_ERR_INVALID;
    if (!r || !report_valid(r)) goto fail;
    if (!(cur = malloc(sizeof(*cur)))) {
        e = GB_ERR_NOMEM;
        goto fail;
    }
    if ((e = gb_db_begin(db))) goto fail;
    txn = true;
    if ((e = ft_job_load_locked(db, id, cur))) goto fail;
    if (ft_state_terminal(cur->status)) {
        e = GB_ERR_CONFLICT;
        goto fail;
    }
    /* the fields first, the status after: a terminal status queues fine_tuning.job.completed
     * from the row as it is then, which must already hold this report's outputModelRepo */
    /* the progress is bound as text ("%.17g" gives the double back exactly) and cast: there
     * is no double binding common to both backends */
    gb_q *q = gb_q_prep(
        db, "UPDATE fine_tuning_jobs SET progress = COALESCE(CAST(?2 AS DOUBLE PRECISION),"
            " progress), output_model_repo = COALESCE(?3, output_model_repo),"
            " message = COALESCE(?4, message), pod_id = COALESCE(?5, pod_id), updated_at = ?6"
            " WHERE id = ?1");
    if (!q) {
        e = GB_ERR_DB;
        goto fail;
    }
    char progress[40];
    snprintf(progress, sizeof(progress), "%.17g", r->has_progress ? r->progress : 0.0);
    gb_q_text(q, 1, id);
    gb_q_text(q, 2, r->has_progress ? progress : NULL);
    gb_q_text(q, 3, r->output_model_repo);
    gb_q_text(q, 4, r->message);
    gb_q_text(q, 5, r->pod_id);
    gb_q_int64(q, 6, gb_now_ms());
    if ((e = gb_q_run(q, NULL))) goto fail;
    if (r->has_status && r->status != cur->status &&
        ((e = ft_job_load(db, id, cur)) ||
         (e = ft_job_apply(db, cur, r->status, NULL, FT_REFUND_BY_RULE, NULL))))
        goto fail;
    txn = false;
    if ((e = gb_db_commit(db))) goto fail;
    if (out) e = ft_job_load(db, id, out);
fail:
    if (txn) gb_db_rollback(db);
    free(cur);
    return e;
}
