/* job_trainer.c: the job runner's own look at a job's trainer (see job_trainer.h): the state
 * URL from jobs.trainer_state_url, one GET with a short timeout, and the answer checked like a
 * trainer's report plus the job id it must carry. */
#include "broker/workers/job_trainer.h"

#include <string.h>

#include "broker/api/jobs_api.h"
#include "broker/core/registry.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "jobs/job_store.h"

#define TRAINER_TIMEOUT_MS 3000
#define TRAINER_MAX_RESPONSE 65536

int job_trainer_url(const char *tpl, const char *provider_url, const pod_rec *p, const char *job_id,
                    char *url, size_t n)
{
    static const char *const names[] = {"{provider_url}", "{workload_id}", "{pod_ip}", "{pod_url}",
                                        "{job_id}"};
    const char *values[] = {provider_url, p->provider_id, p->ip, p->url, job_id};
    size_t k = 0;
    if (!tpl || !tpl[0] || n == 0) return -1;
    for (const char *c = tpl; *c;) {
        size_t i = 0, nl = 0;
        if (*c == '{') {
            for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (!strncmp(c, names[i], (nl = strlen(names[i])))) break;
            if (i == sizeof(names) / sizeof(names[0]) || !values[i] || !values[i][0]) return -1;
            if (gb_snprintf(url + k, n - k, "%s", values[i])) return -1;
            k += strlen(url + k);
            c += nl;
            continue;
        }
        if (k + 1 >= n) return -1;
        url[k++] = *c++;
        url[k] = '\0';
    }
    return 0;
}

/* The answer: a JSON object with jobId (must be j's) and the fields of a trainer's report. */
static gb_err read_view(const char *body, const ft_job *j, job_trainer_view *out)
{
    char err[GB_JSON_ERR_MAX] = "";
    ft_report r;
    gb_err e = GB_ERR_INVALID;
    cJSON *o = cJSON_Parse(body);
    cJSON *id = o ? cJSON_DetachItemFromObjectCaseSensitive(o, "jobId") : NULL;
    if (!cJSON_IsString(id) || strcmp(id->valuestring, j->id) != 0) goto done;
    if (ft_report_parse(o, &r, err) || !r.has_status) goto done;
    memset(out, 0, sizeof(*out));
    out->status = r.status;
    out->has_progress = r.has_progress;
    out->progress = r.progress;
    if (r.output_model_repo)
        gb_strlcpy(out->output_model_repo, r.output_model_repo, sizeof(out->output_model_repo));
    if (r.message) gb_strlcpy(out->message, r.message, sizeof(out->message));
    e = GB_OK;
done:
    cJSON_Delete(id);
    cJSON_Delete(o);
    return e;
}

gb_err job_trainer_state(app *a, gb_db *db, const ft_job *j, const pod_rec *p,
                         job_trainer_view *out)
{
    char url[1024];
    prov_adapter *ad = registry_get_synced(a, db, p->provider);
    if (job_trainer_url(a->cfg.jobs_trainer_state_url, ad ? ad->base_url : NULL, p, j->id, url,
                        sizeof(url)))
        return GB_ERR_NOT_FOUND;
    const char *h[] = {"Accept: application/json", "User-Agent: gpubroker-job-runner", NULL};
    gb_http_req req = {.method = "GET",
                       .url = url,
                       .headers = h,
                       .connect_timeout_ms = TRAINER_TIMEOUT_MS,
                       .timeout_ms = TRAINER_TIMEOUT_MS,
                       .max_response = TRAINER_MAX_RESPONSE};
    gb_http_resp resp;
    gb_errmsg err = "";
    gb_err e = gb_http_do(&req, &resp, err);
    if (e) return e;
    if (resp.status == 404)
        e = GB_ERR_NOT_FOUND;
    else if (resp.status != 200)
        e = GB_ERR_HTTP;
    else
        e = read_view(resp.body, j, out);
    gb_http_resp_free(&resp);
    return e;
}

/* A pod that can no longer be training: failed, stopped, exited or gone. */
static bool pod_over(const pod_rec *p)
{
    return !p || p->status == POD_FAILED || p->status == POD_DELETED || p->status == POD_STOPPED ||
           p->status == POD_SUCCEEDED;
}

/* Applies the trainer's view like its report would (training -> evaluating on the way to
 * success); 0 when the job is finished afterwards. */
static int apply(gb_db *db, ft_job *j, const job_trainer_view *v, const pod_rec *p)
{
    ft_report rep = {.has_progress = v->has_progress, .progress = v->progress};
    if (v->status == FT_SUCCESS) {
        if (!v->output_model_repo[0] || !p || p->status == POD_DELETED) return -1;
        if (j->status == FT_TRAINING)
            ft_job_transition(db, j->id, FT_TRAINING, FT_EVALUATING, NULL, FT_REFUND_BY_RULE, j,
                              NULL);
        rep.output_model_repo = v->output_model_repo;
    }
    if (v->status != j->status && v->status != FT_SUCCESS &&
        !ft_transition_allowed(j->status, v->status))
        return -1; /* behind the job (training while it evaluates): nothing new */
    if (v->status != j->status) {
        rep.has_status = true;
        rep.status = v->status;
    }
    if (v->message[0]) rep.message = v->message;
    if (v->status == FT_FAILURE && !v->message[0]) rep.message = "the trainer reported failure";
    gb_err e = ft_job_report(db, j->id, &rep, j);
    if (e && e != GB_ERR_CONFLICT)
        GB_WARN("jobs", "%s: the trainer's state (%s) not applied: %s", j->id,
                ft_state_name(v->status), gb_strerror(e));
    else if (!e && rep.has_status)
        GB_INFO("jobs", "%s -> %s (from the trainer's state)", j->id, ft_state_name(j->status));
    if (e == GB_ERR_CONFLICT) ft_job_load(db, j->id, j); /* finished meanwhile */
    return ft_state_terminal(j->status) ? 0 : -1;
}

void job_trainer_step(app *a, gb_db *db, ft_job *j, const pod_rec *p)
{
    job_trainer_view v;
    gb_err e = p ? job_trainer_state(a, db, j, p, &v) : GB_ERR_NOT_FOUND;
    if (!e && apply(db, j, &v, p) == 0) {
        if (p) jobs_remove_pod(a, db, j->account_id, p->id, "job finished");
        return;
    }
    if (!pod_over(p)) return; /* the trainer runs on; its reports or the next look move it */
    if (p) jobs_remove_pod(a, db, j->account_id, p->id, "pod exited");
    e = ft_job_transition(db, j->id, j->status, FT_NODE_TRAINING_FAILURE,
                          "the pod exited before the job succeeded", FT_REFUND_BY_RULE, j, NULL);
    if (e && e != GB_ERR_CONFLICT)
        GB_WARN("jobs", "%s: -> node_training_failure refused: %s", j->id, gb_strerror(e));
    else if (!e)
        GB_INFO("jobs", "%s -> node_training_failure: the pod exited", j->id);
}
