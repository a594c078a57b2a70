/* job_runner.h: the worker that moves fine-tuning jobs along their states: checks the
 * dataset, places a pod by live price with the GPUs the model's tier needs, starts training
 * when the pod runs, enforces the hours paid for, notices pods that die, and removes the pod
 * when the job ends. Jobs are claimed by lease, so a crash or a second runner never runs one
 * twice; every decision goes through jobs/ (transition table, refund rules). */
#ifndef GB_JOB_RUNNER_H
#define GB_JOB_RUNNER_H

#include "broker/core/app.h"

typedef struct job_runner job_runner;

gb_err job_runner_start(app *a, const char *report_base_url, job_runner **out);
void job_runner_stop(job_runner *r);
/* One pass on the caller's connection: claims and advances every due job. */
void job_runner_round(job_runner *r, gb_db *db);

#endif
