/* job_lease_store.c: the runner's side of fine_tuning_jobs: leases that hand each due job to
 * one runner at a time, and the trainer's progress reports. */
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/str.h"
#include "jobs/job_store_int.h"

/* The claim, as a format taking the terminal list twice. */
#define CLAIM_SQL                                                                                  \
    "UPDATE fine_tuning_jobs SET lease_owner = ?1, lease_until = ?2 + ?3,"                         \
    " attempts = attempts + 1"                                                                     \
    " WHERE id = (SELECT id FROM fine_tuning_jobs WHERE status NOT IN %s"                          \
    "  AND next_step_at <= ?2 AND lease_until <= ?2 ORDER BY next_step_at, id LIMIT 1)"            \
    " AND lease_until <= ?2 AND status NOT IN %s RETURNING " FT_JOB_COLS

static char claim_sql[sizeof(CLAIM_SQL) + 2 * FT_JOB_SQL_LIST_MAX];
static pthread_once_t CLAIM_BUILT = PTHREAD_ONCE_INIT;

static void build_claim(void)
{
    gb_snprintf(claim_sql, sizeof(claim_sql), CLAIM_SQL, ft_job_sql_terminal(),
                ft_job_sql_terminal());
}

gb_err ft_job_claim(gb_db *db, const char *owner, int64_t now_ms, int64_t lease_ms, ft_job *out)
{
    if (!owner || !owner[0] || strlen(owner) >= sizeof(out->lease_owner) || lease_ms <= 0 ||
        now_ms < 0 || lease_ms > INT64_MAX - now_ms)
        return GB_ERR_INVALID;
    gb_err e = gb_db_begin(db); /* the write lock first: claims never race on a snapshot */
    if (e) return e;
    pthread_once(&CLAIM_BUILT, build_claim);
    sqlite3_stmt *s = gb_db_stmt(db, claim_sql);
    if (!s) {
        e = GB_ERR_DB;
        goto fail;
    }
    sqlite3_bind_text(s, 1, owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, now_ms);
    sqlite3_bind_int64(s, 3, lease_ms);
    if ((e = ft_job_step_one(db, s, out, "job claim"))) goto fail;
    e = gb_db_commit(db);
fail:
    gb_db_rollback(db); /* a no-op after a commit */
    return e;
}

gb_err ft_job_release(gb_db *db, const char *id, const char *owner, int64_t next_step_at)
{
    if (!id || !owner || !owner[0]) return GB_ERR_INVALID;
    sqlite3_stmt *s = gb_db_stmt(db, "UPDATE fine_tuning_jobs SET lease_owner = '',"
                                     " lease_until = 0, next_step_at = ?3"
                                     " WHERE id = ?1 AND lease_owner = ?2");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, next_step_at);
    gb_err e = gb_db_check(db, sqlite3_step(s), "job release");
    if (!e && sqlite3_changes(gb_db_handle(db)) == 0) e = GB_ERR_CONFLICT;
    sqlite3_reset(s);
    return e;
}

static void bind_opt(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
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
    if ((e = ft_job_load(db, id, cur))) goto fail;
    if (ft_state_terminal(cur->status)) {
        e = GB_ERR_CONFLICT;
        goto fail;
    }
    /* the fields first, the status after: a terminal status queues fine_tuning.job.completed
     * from the row as it is then, which must already hold this report's outputModelRepo */
    sqlite3_stmt *s = gb_db_stmt(
        db, "UPDATE fine_tuning_jobs SET progress = coalesce(?2, progress),"
            " output_model_repo = coalesce(?3, output_model_repo),"
            " message = coalesce(?4, message), pod_id = coalesce(?5, pod_id), updated_at = ?6"
            " WHERE id = ?1");
    if (!s) {
        e = GB_ERR_DB;
        goto fail;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    if (r->has_progress) sqlite3_bind_double(s, 2, r->progress);
    bind_opt(s, 3, r->output_model_repo);
    bind_opt(s, 4, r->message);
    bind_opt(s, 5, r->pod_id);
    sqlite3_bind_int64(s, 6, gb_now_ms());
    e = gb_db_check(db, sqlite3_step(s), "job report");
    sqlite3_reset(s);
    if (e) goto fail;
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
