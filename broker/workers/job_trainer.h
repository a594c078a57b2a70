/* job_trainer.h: the job runner's own look at a job's trainer, through the trainer protocol
 * (docs/fine-tuning.md): GET the URL made from jobs.trainer_state_url and the job's pod, and
 * read the answer as a trainer's report. */
#ifndef GB_JOB_TRAINER_H
#define GB_JOB_TRAINER_H

#include "broker/core/app.h"
#include "broker/core/pods.h"
#include "jobs/finetune.h"

/* What the trainer says about itself. */
typedef struct {
    ft_state status; /* training, evaluating, success or failure */
    bool has_progress;
    double progress; /* 0..100 */
    char output_model_repo[FT_REPO_MAX + 1];
    char message[FT_MESSAGE_MAX + 1];
} job_trainer_view;

/* Fills url (n bytes) from the template tpl: {provider_url} (the provider's registered base
 * URL), {workload_id} (the pod's id at the provider), {pod_ip}, {pod_url} and {job_id}.
 * -1 when tpl is empty, names an unknown placeholder or one without a value, or the URL does
 * not fit. */
int job_trainer_url(const char *tpl, const char *provider_url, const pod_rec *p, const char *job_id,
                    char *url, size_t n);

/* Asks the trainer of job j on pod p for its state; the pod's provider is looked up as the
 * intent workers do (registry_get_synced on db: one registered through another broker since
 * this one's last sync is found). GB_OK with *out; GB_ERR_NOT_FOUND when
 * there is no trainer to ask (no template, no URL for this pod, or the trainer answers 404);
 * GB_ERR_INVALID when the answer is not a trainer state or names another job; other errors
 * when it could not be asked (no answer, error status). */
gb_err job_trainer_state(app *a, gb_db *db, const ft_job *j, const pod_rec *p,
                         job_trainer_view *out);

/* The runner's round for a job in training or evaluating whose hours are not used up, with
 * its pod record p (NULL when it has none): asks the trainer and applies what it says through
 * jobs/ (refund by rule): success with an output repo (never without a live pod), failure,
 * progress and evaluating. A pod that failed, stopped, exited or went away without a final
 * state from its trainer -> node_training_failure. A finished job's pod is removed. */
void job_trainer_step(app *a, gb_db *db, ft_job *j, const pod_rec *p);

#endif
