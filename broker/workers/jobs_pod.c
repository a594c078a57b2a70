/* jobs_pod.c: a fine-tuning job's pod and token: removing the pod when the job ends (queued
 * as a delete intent), and the job-scoped token its trainer reports with. */
#include <string.h>

#include "broker/api/auth.h"
#include "broker/api/jobs_api.h"
#include "broker/core/pod_actions.h"
#include "broker/core/pods.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/str.h"

gb_err jobs_remove_pod(app *a, gb_db *db, const char *account_id, const char *pod_id,
                       const char *why)
{
    gb_err e = GB_ERR_CONFLICT;
    for (int i = 0; i < 3 && e == GB_ERR_CONFLICT; i++) { /* read again if a worker moved it */
        pod_rec p;
        memset(&p, 0, sizeof(p));
        e = pod_get(db, account_id, pod_id, &p);
        if (!e && p.status != POD_DELETED) e = pod_request(a, db, &p, INTENT_DELETE, NULL, why);
        pod_rec_clear(&p);
    }
    return e == GB_ERR_NOT_FOUND ? GB_OK : e;
}

gb_err jobs_new_token(app *a, gb_db *db, const char *job_id, char out[JOB_TOKEN_MAX])
{
    char rnd[41], hash[VAULT_HASH_HEX];
    gb_random_base62(rnd, 40);
    if (gb_snprintf(out, JOB_TOKEN_MAX, "%s%s", JOB_TOKEN_PREFIX, rnd)) return GB_ERR_INTERNAL;
    gb_memzero(rnd, sizeof(rnd));
    gb_err e = vault_hash_api_key(a->vault, out, hash);
    if (!e) e = job_token_put(db, job_id, hash, gb_now_ms());
    return e;
}
