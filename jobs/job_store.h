/* job_store.h: the fine_tuning_jobs table. Every change of a job that moves money (the debit
 * at creation, a refund) is written in the same transaction as the job row; status changes
 * go only through the transition table of finetune.h. Each function opens and commits its
 * own transaction, so none may be called inside one. */
#ifndef GB_JOB_STORE_H
#define GB_JOB_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/db.h"
#include "jobs/finetune.h"

/* Migration set "jobs". Needs the "ledger" set (whose step 2 makes refunds unique per ref)
 * and an accounts(id) table. */
const gb_migration_set *ft_job_migrations(void);

/* In one transaction: inserts the job (pending, cost_per_hour = per_hour, total_cost =
 * per_hour * hours) and debits the total from the account with ref = the job id. Not enough
 * balance: GB_ERR_PAYMENT and nothing is written. out may be NULL. */
gb_err ft_job_create(gb_db *db, const char *account_id, const ft_request *r, gb_money per_hour,
                     ft_job *out);
/* The account's job; another account's job is GB_ERR_NOT_FOUND. */
gb_err ft_job_get(gb_db *db, const char *account_id, const char *id, ft_job *out);
/* Any account's job (for the runner and administrators). */
gb_err ft_job_load(gb_db *db, const char *id, ft_job *out);

typedef void (*ft_job_each)(void *ud, const ft_job *job);
/* The account's jobs, newest first; status NULL for all, else one of the 12 names
 * (GB_ERR_INVALID otherwise). limit 1..1000, offset >= 0. */
gb_err ft_job_list(gb_db *db, const char *account_id, const char *status, int limit, int offset,
                   ft_job_each fn, void *ud);
gb_err ft_job_count(gb_db *db, const char *account_id, const char *status, int64_t *n);

typedef enum {
    FT_REFUND_BY_RULE = 0, /* refund exactly when ft_transition_refunds(from, to) */
    FT_REFUND_GOODWILL = 1 /* also refund into a failure or cancelled when the rule would not */
} ft_refund_mode;

/* Moves job id from `from` to `to` in one transaction: GB_ERR_INVALID when the table does
 * not allow it (nothing read or written) or when `to` is success and the job has no pod_id,
 * GB_ERR_NOT_FOUND for no such job, GB_ERR_CONFLICT
 * when the job is no longer in `from` (lost a race). With a refund (see ft_refund_mode) the
 * total is credited back (ledger kind refund, ref = job id) and the job marked refunded; the
 * schema makes a second refund impossible. Entering training sets started_at, a terminal
 * state completed_at; message (<= FT_MESSAGE_MAX, NULL keeps the old) is stored. out and
 * refunded (the amount given back, 0 if none) may be NULL. */
gb_err ft_job_transition(gb_db *db, const char *id, ft_state from, ft_state to, const char *message,
                         ft_refund_mode refund, ft_job *out, gb_money *refunded);

/* Records pod_id as the job's pod in the caller's transaction (the job runner does it in the
 * transaction that queues the pod's create, so a crash cannot leave one without the other),
 * only while owner still holds the job's lease: a runner that paused past its lease (another
 * broker claimed the job since) gets GB_ERR_CONFLICT and its transaction queues no pod, so a
 * job never gets two pods (the lease owner is the fencing token: one runner thread per broker,
 * a unique owner per process). GB_ERR_NOT_FOUND when there is no such job. */
gb_err ft_job_set_pod(gb_db *db, const char *id, const char *owner, const char *pod_id);
/* The pods of finished jobs still live (not deleted, not failed), at most limit, each as
 * (account, pod) to fn, which must not use db. The delete asked for when a job ends is a
 * separate transaction: a broker killed or paused between the two, or a worker moving the pod
 * meanwhile, left a paid pod running for a job that was over (the three-broker test saw it at
 * the simulators); the job runner asks again for these. */
typedef void (*ft_job_pod_fn)(void *ud, const char *account_id, const char *pod_id);
gb_err ft_job_ended_pods(gb_db *db, int limit, ft_job_pod_fn fn, void *ud);
/* Sets the message of a job still in status (e.g. why it is still waiting for nodes) without
 * touching updated_at; GB_ERR_CONFLICT when the job has moved on. */
gb_err ft_job_set_message(gb_db *db, const char *id, ft_state status, const char *message);
/* The user's DELETE: reads the status inside the transaction and cancels with the refund
 * the rules give. GB_ERR_CONFLICT for a finished job (msg says so), GB_ERR_NOT_FOUND for
 * another account's. msg (256 bytes) gets the answer's message. out/refunded may be NULL. */
gb_err ft_job_cancel(gb_db *db, const char *account_id, const char *id, ft_job *out,
                     gb_money *refunded, char *msg);

/* The runner's lease: claims one non-terminal job whose lease has expired (or never was)
 * and whose next_step_at <= now_ms, for lease_ms, atomically; attempts counts the claims
 * since the last status change. GB_ERR_NOT_FOUND when none is due. */
gb_err ft_job_claim(gb_db *db, const char *owner, int64_t now_ms, int64_t lease_ms, ft_job *out);
/* Gives the lease back and schedules the next step. GB_ERR_CONFLICT when owner does not
 * hold the lease (it expired and another runner claimed the job) or there is no such job. */
gb_err ft_job_release(gb_db *db, const char *id, const char *owner, int64_t next_step_at);

/* A trainer's progress report; unset members leave the column alone. */
typedef struct {
    bool has_status;
    ft_state status; /* through the transition table, refund by rule */
    bool has_progress;
    double progress;               /* 0..100 */
    const char *output_model_repo; /* "owner/name" */
    const char *message;
    const char *pod_id;
} ft_report;

/* Reads a trainer's report body (a JSON object with only status, progress (0..1),
 * outputModelRepo and message) into out; the strings point into body. GB_ERR_INVALID with a
 * message in err (GB_JSON_ERR_MAX bytes) for an unknown field or a bad value. */
gb_err ft_report_parse(const cJSON *body, ft_report *out, char *err);

/* Applies a report in one transaction. GB_ERR_CONFLICT when the job is already finished,
 * GB_ERR_INVALID for a bad value or an illegal status change (nothing written). */
gb_err ft_job_report(gb_db *db, const char *id, const ft_report *r, ft_job *out);

#endif
