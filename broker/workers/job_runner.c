/* job_runner.c: claims due jobs by lease and takes one step with each (see job_runner.h).
 * A job's pod is placed through placement's C entry point (placement_create), as the job's
 * account, so it is placed, priced, failed over and recorded like any other. */
#include "broker/workers/job_runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/api/jobs_api.h"
#include "broker/core/pods.h"
#include "broker/placement/placement.h"
#include "broker/workers/job_trainer.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "common/worker.h"
#include "jobs/hub.h"
#include "jobs/job_store.h"
#include "webhooks/outbox.h"

struct job_runner {
    app *a;
    char owner[64];
    char report_url[256];
    gb_worker *w;
};

static void move(job_runner *r, gb_db *db, ft_job *j, ft_state to, const char *msg)
{
    gb_err e = ft_job_transition(db, j->id, j->status, to, msg, FT_REFUND_BY_RULE, j, NULL);
    if (e && e != GB_ERR_CONFLICT)
        GB_WARN("jobs", "%s: %s -> %s refused: %s", j->id, ft_state_name(j->status),
                ft_state_name(to), gb_strerror(e));
    else if (!e)
        GB_INFO("jobs", "%s -> %s%s%s", j->id, ft_state_name(to), msg ? ": " : "", msg ? msg : "");
    (void)r;
}

/* A datasetUrl is fetched under the same guard as webhooks: a user's URL must not reach the
 * broker's own network (loopback, private, link-local such as cloud metadata) unless
 * webhooks.allow_cidrs allows it. */
static int dataset_ip_ok(void *ud, const char *ip)
{
    app *a = ud;
    return wh_address_allowed(ip, a->cfg.webhooks_allow_cidrs);
}

/* preparing_data: the dataset reference must hold up. */
static void prepare(job_runner *r, gb_db *db, ft_job *j)
{
    if (j->dataset_url[0]) {
        gb_http_req req = {.method = "GET",
                           .url = j->dataset_url,
                           .timeout_ms = 60000,
                           .max_response = (size_t)r->a->cfg.jobs_dataset_max_bytes,
                           .allow_ip = dataset_ip_ok,
                           .allow_ud = r->a};
        gb_http_resp resp;
        gb_errmsg err = "";
        char msg[400];
        gb_err e = gb_http_do(&req, &resp, err);
        if (e == GB_ERR_LIMIT) {
            snprintf(msg, sizeof(msg), "dataset at datasetUrl is larger than %lld bytes",
                     (long long)r->a->cfg.jobs_dataset_max_bytes);
            move(r, db, j, FT_FAILURE, msg);
            return;
        }
        if (e || resp.status < 200 || resp.status >= 300 || resp.body_len == 0) {
            snprintf(msg, sizeof(msg), "dataset at datasetUrl could not be fetched (%.300s)",
                     e                    ? err
                     : resp.status >= 300 ? "error status"
                                          : "empty");
            if (!e) gb_http_resp_free(&resp);
            move(r, db, j, FT_FAILURE, msg);
            return;
        }
        gb_http_resp_free(&resp);
    }
    move(r, db, j, FT_LOOKING_FOR_NODES, NULL);
}

/* The providers jobs may use (cfg jobs.providers, "volt,lium") into the filter's allow list. */
static void allow_providers(const char *list, rank_filter *f)
{
    const char *p = list;
    while (p && *p && f->nproviders < RANK_MAX_PROVIDERS) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n > 0 && n < sizeof(f->providers[0])) {
            memcpy(f->providers[f->nproviders], p, n);
            f->providers[f->nproviders++][n] = '\0';
        }
        p += n + (comma ? 1 : 0);
    }
}

static gb_err set_pod(void *ud, gb_db *db, const pod_rec *p)
{
    const ft_job *j = ud;
    return ft_job_set_pod(db, j->id, j->lease_owner, p->id);
}

/* Places the job's pod with the trainer image by live price, as the job's account, so it is
 * placed, priced, failed over and recorded like any other; returns 0 when placed (pod id
 * stored). */
static int place(job_runner *r, gb_db *db, ft_job *j, char *why, size_t whysz)
{
    double billions = 0;
    char err[GB_JSON_ERR_MAX] = "", gpu_type[32] = "";
    int gpus = 1;
    int64_t hub_m = 0;
    /* the size the job was priced by: the Hub's (cached at creation), else the name's */
    if (strcmp(j->task_type, "image") != 0 &&
        hub_cache_get(db, j->base_model, &hub_m, NULL) == GB_OK)
        billions = (double)hub_m / 1000.0;
    else if (strcmp(j->task_type, "image") != 0 &&
             ft_model_params(j->base_model, NULL, &billions, err)) {
        snprintf(why, whysz, "%s", err);
        return -1;
    }
    ft_gpu_tier(billions, j->task_type, NULL, &gpus, gpu_type);
    if (!gpu_type[0]) {
        snprintf(why, whysz, "no GPU tier fits the model");
        return -1;
    }
    char token[JOB_TOKEN_MAX], url[512], hours[16];
    if (jobs_new_token(r->a, db, j->id, token) != GB_OK) {
        snprintf(why, whysz, "cannot make the job's token");
        return -1;
    }
    snprintf(url, sizeof(url), "%s/api/volt/fine-tuning/%s/report", r->report_url, j->id);
    snprintf(hours, sizeof(hours), "%d", j->hours);
    char name[80];
    snprintf(name, sizeof(name), "ft-%s", j->id);
    char *env[10];
    int nenv = 0;
    env[nenv++] = gb_asprintf("GPUBROKER_JOB_ID=%s", j->id);
    env[nenv++] = gb_asprintf("GPUBROKER_JOB_TOKEN=%s", token);
    env[nenv++] = gb_asprintf("GPUBROKER_REPORT_URL=%s", url);
    env[nenv++] = gb_asprintf("GPUBROKER_JOB_HOURS=%s", hours);
    env[nenv++] = gb_asprintf("GPUBROKER_TASK_TYPE=%s", j->task_type);
    env[nenv++] = gb_asprintf("GPUBROKER_BASE_MODEL=%s", j->base_model);
    if (j->dataset_repo[0]) env[nenv++] = gb_asprintf("GPUBROKER_DATASET_REPO=%s", j->dataset_repo);
    if (j->dataset_url[0]) env[nenv++] = gb_asprintf("GPUBROKER_DATASET_URL=%s", j->dataset_url);
    env[nenv++] = gb_asprintf("GPUBROKER_JOB_PARAMS=%s", j->params);
    gb_memzero(token, sizeof(token));
    placement_req req = {.account_id = j->account_id,
                         .name = name,
                         .image = r->a->cfg.jobs_trainer_image,
                         .env = (const char *const *)env,
                         .nenv = nenv,
                         .job_id = j->id};
    placement_filter_init(&req.filter);
    gpu_normalize(gpu_type, req.filter.gpu_type, NULL);
    req.filter.gpu_count = gpus;
    allow_providers(r->a->cfg.jobs_providers, &req.filter);
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *attempts = NULL;
    placement_error perr;
    memset(&perr, 0, sizeof(perr));
    int rc = -1;
    gb_err e = GB_ERR_NOMEM;
    for (int i = 0; i < nenv; i++)
        if (!env[i]) goto done;
    /* the job's pod id is written in the transaction that queues the pod's create */
    pod_txn_hook hook = {set_pod, j};
    req.hook = &hook;
    e = placement_create(r->a, db, &req, &p, &attempts, &perr);
    if (!e) {
        gb_strlcpy(j->pod_id, p.id, sizeof(j->pod_id));
        rc = 0;
    }
done:
    if (e)
        snprintf(why, whysz, "no machine with %dx %s yet: %s", gpus, gpu_type,
                 perr.status ? perr.message : gb_strerror(e));
    for (int i = 0; i < nenv; i++) {
        if (env[i]) gb_memzero(env[i], strlen(env[i]));
        free(env[i]);
    }
    placement_error_clear(&perr);
    cJSON_Delete(attempts);
    pod_rec_clear(&p);
    return rc;
}

static int64_t step(job_runner *r, gb_db *db, ft_job *j)
{
    app *a = r->a;
    int64_t now = gb_now_ms(), soon = now + a->cfg.jobs_interval_ms;
    pod_rec p;
    memset(&p, 0, sizeof(p));
    int have_pod = j->pod_id[0] && pod_get(db, j->account_id, j->pod_id, &p) == GB_OK;
    switch (j->status) {
    case FT_PENDING:
    case FT_IDLE:
        move(r, db, j, FT_PREPARING_DATA, NULL);
        break;
    case FT_PREPARING_DATA:
        prepare(r, db, j);
        break;
    case FT_LOOKING_FOR_NODES: {
        if (have_pod && p.status == POD_RUNNING) {
            move(r, db, j, FT_READY, NULL);
            break;
        }
        if (have_pod && (p.status == POD_PENDING || p.status == POD_DEPLOYING)) break;
        /* no pod yet (or it died before running): look, within the time allowed */
        if (now - j->updated_at > a->cfg.jobs_find_nodes_timeout_ms) {
            if (have_pod) jobs_remove_pod(a, db, j->account_id, p.id, "no nodes in time");
            /* the last reason it waited for, so the user sees why */
            const char *last = j->message;
            if (strncmp(last, "waiting: ", 9) == 0) last += 9;
            char msg[FT_MESSAGE_MAX + 1];
            snprintf(msg, sizeof(msg), "no nodes could be found in time (%d s)%s%.400s",
                     a->cfg.jobs_find_nodes_timeout_ms / 1000, last[0] ? ": " : "", last);
            move(r, db, j, FT_FAILURE_FINDING_NODES, msg);
            break;
        }
        char why[512] = "", waiting[FT_MESSAGE_MAX + 1];
        if (place(r, db, j, why, sizeof(why)) != 0) {
            GB_INFO("jobs", "%s: still looking for nodes: %s", j->id, why);
            snprintf(waiting, sizeof(waiting), "waiting: %.480s", why);
            ft_job_set_message(db, j->id, FT_LOOKING_FOR_NODES, waiting);
            soon = now + 5 * a->cfg.jobs_interval_ms;
        }
        break;
    }
    case FT_READY:
        if (have_pod && p.status == POD_RUNNING)
            move(r, db, j, FT_TRAINING, NULL);
        else if (!have_pod || p.status == POD_FAILED || p.status == POD_DELETED)
            move(r, db, j, FT_NODE_TRAINING_FAILURE, "the pod went away before training started");
        break;
    case FT_TRAINING:
    case FT_EVALUATING:
        if (j->started_at && now - j->started_at > (int64_t)j->hours * 3600000) {
            if (have_pod) jobs_remove_pod(a, db, j->account_id, p.id, "hours used up");
            move(r, db, j, FT_FAILURE, "training did not finish in the hours paid for");
        } else {
            job_trainer_step(a, db, j, have_pod ? &p : NULL);
        }
        break;
    /* Finished: never claimed, nothing to do. No default, so a new state is a compile error
     * here until it is handled (-Wswitch). */
    case FT_SUCCESS:
    case FT_FAILURE:
    case FT_FAILURE_FINDING_NODES:
    case FT_NODE_TRAINING_FAILURE:
    case FT_CANCELLED:
        break;
    }
    pod_rec_clear(&p);
    return soon;
}

#define ENDED_PODS 32

typedef struct {
    char account_id[GB_ID_MAX], pod_id[GB_ID_MAX];
} ended_pod;

typedef struct {
    ended_pod v[ENDED_PODS];
    int n;
} ended_pods;

static void collect_ended(void *ud, const char *account_id, const char *pod_id)
{
    ended_pods *l = ud;
    if (l->n == ENDED_PODS) return;
    gb_strlcpy(l->v[l->n].account_id, account_id, GB_ID_MAX);
    gb_strlcpy(l->v[l->n++].pod_id, pod_id, GB_ID_MAX);
}

/* Finished jobs whose pod is still live: their delete is asked for again (ft_job_ended_pods). */
static void remove_ended_pods(job_runner *r, gb_db *db)
{
    ended_pods l = {.n = 0};
    if (ft_job_ended_pods(db, ENDED_PODS, collect_ended, &l) != GB_OK) return;
    for (int i = 0; i < l.n; i++) {
        GB_INFO("jobs", "%s: the pod of a finished job is still live; deleting it", l.v[i].pod_id);
        jobs_remove_pod(r->a, db, l.v[i].account_id, l.v[i].pod_id, "job finished");
    }
}

void job_runner_round(job_runner *r, gb_db *db)
{
    remove_ended_pods(r, db);
    for (int n = 0; n < 64; n++) {
        ft_job j;
        int64_t now = gb_now_ms();
        if (ft_job_claim(db, r->owner, now, r->a->cfg.jobs_lease_ms, &j) != GB_OK) break;
        int64_t next = step(r, db, &j);
        if (ft_job_release(db, j.id, r->owner, next) != GB_OK)
            GB_WARN("jobs", "%s: lease lost before release", j.id);
    }
}

/* The worker's round, on its own database connection. */
static bool round_fn(void *ud)
{
    job_runner *r = ud;
    gb_db *db = app_db(r->a);
    if (db) job_runner_round(r, db);
    return false;
}

static void thread_end(void *ud)
{
    (void)ud;
    app_db_release();
}

gb_err job_runner_start(app *a, const char *report_base_url, job_runner **out)
{
    job_runner *r = calloc(1, sizeof(*r));
    if (!r) return GB_ERR_NOMEM;
    r->a = a;
    char rnd[9];
    gb_random_base62(rnd, 8);
    snprintf(r->owner, sizeof(r->owner), "runner-%d-%s", (int)getpid(), rnd);
    gb_strlcpy(r->report_url, report_base_url, sizeof(r->report_url));
    size_t l = strlen(r->report_url);
    while (l && r->report_url[l - 1] == '/')
        r->report_url[--l] = '\0';
    gb_worker_cfg wc = {.name = "jobs",
                        .interval_ms = a->cfg.jobs_interval_ms,
                        .round = round_fn,
                        .thread_end = thread_end,
                        .ud = r};
    gb_err e = gb_worker_start(&wc, &r->w);
    if (e) {
        free(r);
        return e;
    }
    *out = r;
    return GB_OK;
}

void job_runner_stop(job_runner *r)
{
    if (!r) return;
    gb_worker_stop(r->w);
    free(r);
}
