/* jobs_api.h: what the fine-tuning handlers and the job runner share: removing a job's pod,
 * and the job's token for trainer reports. */
#ifndef GB_JOBS_API_H
#define GB_JOBS_API_H

#include "broker/core/app.h"

#define JOB_TOKEN_PREFIX "gpb_jt_"
#define JOB_TOKEN_MAX 64

/* Deletes the pod at its provider (already gone is fine) and records it deleted with an
 * event saying why. */
gb_err jobs_remove_pod(app *a, gb_db *db, const char *account_id, const char *pod_id,
                       const char *why);
/* Makes a fresh token for job_id, stores its keyed hash and writes the token into out. */
gb_err jobs_new_token(app *a, gb_db *db, const char *job_id, char out[JOB_TOKEN_MAX]);

#endif
