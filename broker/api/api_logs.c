/* api_logs.c: GET /api/volt/fine-tuning/:id/logs: a fine-tuning job's training logs, read
 * from its trainer pod at the pod's platform (as GET /api/volt/pods/:id/logs reads a pod's),
 * with the job's and the pod's status so a follower knows when to stop. */
#include <stdlib.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/api/pod_api.h"
#include "broker/core/pods.h"
#include "broker/core/registry.h"
#include "common/clock.h"
#include "common/str.h"
#include "jobs/job_store.h"

void h_jobs_logs(api_req *rq, api_resp *rs)
{
    ft_job j;
    pod_rec p;
    char *logs = NULL;
    int tail = 200;
    memset(&p, 0, sizeof(p));
    const char *t = api_query(rq, "tail");
    if (t && gb_parse_int(t, 1, 10000, &tail)) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'tail' must be a number from 1 to 10000");
        return;
    }
    gb_err e = ft_job_get(rq->db, rq->account_id, rq->params[0], &j);
    if (e) {
        api_error_from(rs, e, "Job");
        return;
    }
    if (!j.pod_id[0]) {
        api_error(rs, 409, "NO_TRAINER_POD",
                  "Job %s is %s and has no trainer pod yet, so there are no logs; try again "
                  "once it is training",
                  j.id, ft_state_name(j.status));
        return;
    }
    e = pod_get(rq->db, rq->account_id, j.pod_id, &p);
    if (e) {
        api_error(rs, 404, "NOT_FOUND", "The trainer pod %.64s of job %s is gone", j.pod_id, j.id);
        goto done;
    }
    if (!p.provider_id[0]) { /* its create intent has not placed it yet */
        api_error(rs, 409, "NO_TRAINER_POD",
                  "The trainer pod %.64s of job %s is still being created, so there are no logs "
                  "yet; try again in a moment",
                  p.id, j.id);
        goto done;
    }
    prov_adapter *ad = registry_get_synced(rq->app, rq->db, p.provider);
    if (!ad) {
        api_error(rs, 502, "PROVIDER_ERROR",
                  "Provider %s of the trainer pod is no longer registered", p.provider);
        goto done;
    }
    if (!ad->ops->logs) {
        api_error(rs, 409, "NOT_SUPPORTED", "Provider %s does not serve logs", p.provider);
        goto done;
    }
    char err[PROV_ERR_MAX] = "";
    int64_t t0 = gb_mono_ms();
    e = ad->ops->logs(ad, p.provider_id, tail, &logs, err);
    pod_note(rq, p.provider, e, t0, err);
    if (e) {
        pod_provider_error(rs, e, p.provider, err);
        goto done;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", j.id);
    cJSON_AddStringToObject(o, "status", ft_state_name(j.status));
    cJSON_AddStringToObject(o, "pod_id", p.id);
    cJSON_AddStringToObject(o, "pod_status", pod_status_name(p.status));
    cJSON_AddStringToObject(o, "logs", logs ? logs : "");
    api_json(rs, 200, o);
done:
    free(logs);
    pod_rec_clear(&p);
}
