/* api_jobs.c: /api/volt/fine-tuning as the Volt API documents it: create (validated, priced
 * by model size, debited up front in the job's own transaction), list, get, cancel with the
 * refund rules, and the trainer's report endpoint (job-scoped token, not an API key). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/api/jobs_api.h"
#include "broker/core/pods.h"
#include "broker/core/registry.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "jobs/hub.h"
#include "jobs/job_store.h"
#include "jobs/ledger.h"

static cJSON *job_json(const ft_job *j)
{
    cJSON *o = cJSON_CreateObject();
    if (o && ft_job_to_json(j, o) != GB_OK) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void reply_job(api_resp *rs, int status, const ft_job *j)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddTrueToObject(o, "success");
    cJSON_AddItemToObject(o, "job", job_json(j));
    api_json(rs, status, o);
}

void h_jobs_create(api_req *rq, api_resp *rs)
{
    char err[GB_JSON_ERR_MAX] = "";
    ft_request r;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    gb_money per_hour = 0;
    /* "dry_run": true answers the price (validated and sized exactly as a real create) and
     * creates and charges nothing: the dashboard shows it before the user confirms */
    bool dry_run = false;
    const cJSON *dr = cJSON_GetObjectItemCaseSensitive(body, "dry_run");
    if (dr) {
        if (!cJSON_IsBool(dr) && !cJSON_IsNull(dr)) {
            api_error(rs, 400, "VALIDATION_ERROR", "field 'dry_run' must be true or false");
            goto done;
        }
        dry_run = cJSON_IsTrue(dr);
        cJSON_DeleteItemFromObjectCaseSensitive(body, "dry_run");
    }
    if (ft_request_parse(body, &r, err) != GB_OK) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    /* the model's size and the dataset from the Hub, before any charge and outside any
     * transaction (HTTP) */
    hub_cfg hc = {.base_url = rq->app->cfg.jobs_hub_url,
                  .timeout_ms = rq->app->cfg.jobs_hub_timeout_ms,
                  .ttl_ms = rq->app->cfg.jobs_hub_cache_ttl_ms,
                  .ds_ttl_ms = rq->app->cfg.jobs_hub_dataset_ttl_ms,
                  .memory_ms = rq->app->cfg.jobs_hub_memory_ms,
                  .v = rq->app->vault};
    hub_check hk;
    hub_check_request(rq->db, &hc, &r, &hk);
    if (hk.status) {
        api_error(rs, hk.status, hk.status == 503 ? "HUB_UNAVAILABLE" : "VALIDATION_ERROR", "%s",
                  hk.message);
        goto done;
    }
    if (strcmp(r.task_type, "image") == 0
            ? ft_price_per_hour(&r, NULL, &per_hour, err) != GB_OK
            : ft_price_for_size(r.task_type, hk.millions, &per_hour) != GB_OK) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err[0] ? err : "the model cannot be priced");
        goto done;
    }
    if (dry_run) {
        gb_money bal = 0;
        ledger_balance(rq->db, rq->account_id, &bal);
        gb_money total = ft_total(per_hour, r.hours);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddTrueToObject(o, "success");
        cJSON_AddTrueToObject(o, "dry_run");
        cJSON_AddStringToObject(o, "baseModel", r.model);
        cJSON_AddStringToObject(o, "taskType", r.task_type);
        cJSON_AddNumberToObject(o, "hoursRequested", r.hours);
        const char *tier = ft_tier_for_size(r.task_type, hk.millions);
        if (tier) cJSON_AddStringToObject(o, "tier", tier);
        cJSON_AddNumberToObject(o, "sizeMillions", (double)hk.millions);
        if (hk.source) cJSON_AddStringToObject(o, "sizeSource", hk.source);
        gb_json_add_money(o, "costPerHour", per_hour);
        gb_json_add_money(o, "totalCost", total);
        cJSON_AddNumberToObject(o, "totalCostMicros", (double)total);
        gb_json_add_money(o, "balance", bal);
        cJSON_AddBoolToObject(o, "affordable", bal >= total);
        api_json(rs, 200, o);
        goto done;
    }
    ft_job j;
    gb_err e = ft_job_create(rq->db, rq->account_id, &r, per_hour, &j);
    if (e == GB_ERR_PAYMENT) {
        gb_money bal = 0;
        ledger_balance(rq->db, rq->account_id, &bal);
        char t[32], b[32];
        api_error(rs, 402, "INSUFFICIENT_BALANCE",
                  "Insufficient balance: this job costs $%s and your balance is $%s",
                  gb_money_format(ft_total(per_hour, r.hours), t, sizeof(t)),
                  gb_money_format(bal, b, sizeof(b)));
        goto done;
    }
    if (e) {
        api_error_from(rs, e, "job");
        goto done;
    }
    GB_INFO("jobs", "%s created: %s %s (%lldM parameters, from the %s) for %d h", j.id, r.task_type,
            r.model, (long long)hk.millions, hk.source, r.hours);
    reply_job(rs, 201, &j);
done:
    cJSON_Delete(body);
}

typedef struct {
    cJSON *arr;
} list_ctx;

static void add_job(void *ud, const ft_job *j)
{
    list_ctx *c = ud;
    cJSON *o = job_json(j);
    if (o) cJSON_AddItemToArray(c->arr, o);
}

void h_jobs_list(api_req *rq, api_resp *rs)
{
    const char *status = api_query(rq, "status"), *ls = api_query(rq, "limit"),
               *os = api_query(rq, "offset");
    int limit = 50, offset = 0;
    ft_state st;
    if (status && ft_state_parse(status, &st) != 0) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'status' is not a job status");
        return;
    }
    if ((ls && gb_parse_int(ls, 1, 1000, &limit)) ||
        (os && gb_parse_int(os, 0, 100000000, &offset))) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'limit' must be 1-1000 and 'offset' >= 0");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddTrueToObject(o, "success");
    list_ctx c = {cJSON_AddArrayToObject(o, "jobs")};
    int64_t total = 0;
    gb_err e = ft_job_list(rq->db, rq->account_id, status, limit, offset, add_job, &c);
    if (!e) e = ft_job_count(rq->db, rq->account_id, status, &total);
    if (e) {
        cJSON_Delete(o);
        api_error_from(rs, e, "jobs");
        return;
    }
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddNumberToObject(o, "limit", limit);
    cJSON_AddNumberToObject(o, "offset", offset);
    api_json(rs, 200, o);
}

void h_jobs_get(api_req *rq, api_resp *rs)
{
    ft_job j;
    gb_err e = ft_job_get(rq->db, rq->account_id, rq->params[0], &j);
    if (e)
        api_error_from(rs, e, "Job");
    else
        reply_job(rs, 200, &j);
}

void h_jobs_cancel(api_req *rq, api_resp *rs)
{
    ft_job j;
    gb_money refunded = 0;
    char msg[256] = "";
    gb_err e = ft_job_cancel(rq->db, rq->account_id, rq->params[0], &j, &refunded, msg);
    if (e == GB_ERR_CONFLICT) {
        api_error(rs, 409, "CONFLICT", "%s", msg[0] ? msg : "The job has already finished");
        return;
    }
    if (e) {
        api_error_from(rs, e, "Job");
        return;
    }
    if (j.pod_id[0] &&
        jobs_remove_pod(rq->app, rq->db, rq->account_id, j.pod_id, "job cancelled") != GB_OK)
        GB_WARN("jobs", "%s cancelled, but its pod %s could not be removed now", j.id, j.pod_id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddTrueToObject(o, "success");
    cJSON_AddStringToObject(o, "message", msg);
    cJSON *jo = cJSON_AddObjectToObject(o, "job");
    cJSON_AddStringToObject(jo, "id", j.id);
    cJSON_AddStringToObject(jo, "status", "cancelled");
    cJSON_AddBoolToObject(o, "refunded", refunded > 0); /* the job's type: a boolean */
    gb_json_add_money(o, "refundedAmount", refunded);
    api_json(rs, 200, o);
}

/* Moves a job along the states a report skips over (a trainer may report "training" before
 * the runner has seen its pod run). */
static void catch_up(gb_db *db, ft_job *j, ft_state to)
{
    static const ft_state path[] = {FT_LOOKING_FOR_NODES, FT_READY, FT_TRAINING, FT_EVALUATING};
    for (size_t i = 0; i + 1 < sizeof(path) / sizeof(path[0]); i++) {
        if (j->status != path[i] || ft_transition_allowed(j->status, to)) continue;
        if (ft_job_transition(db, j->id, path[i], path[i + 1], NULL, FT_REFUND_BY_RULE, j, NULL))
            return;
    }
}

/* True when the job's recorded pod exists and has not failed or gone: the only pod whose
 * trainer may report success (the token is replaced at each placement, so an older pod's
 * trainer cannot report at all). */
static bool pod_live(gb_db *db, const ft_job *j)
{
    pod_rec p;
    memset(&p, 0, sizeof(p));
    bool ok = j->pod_id[0] && pod_get(db, j->account_id, j->pod_id, &p) == GB_OK &&
              p.status != POD_DELETED && p.status != POD_FAILED;
    pod_rec_clear(&p);
    return ok;
}

void h_jobs_report(api_req *rq, api_resp *rs)
{
    const char *auth = api_header(rq, "Authorization");
    char hash[VAULT_HASH_HEX];
    if (!auth || strncmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) >= JOB_TOKEN_MAX ||
        vault_hash_api_key(rq->app->vault, auth + 7, hash) != GB_OK ||
        !job_token_check(rq->db, rq->params[0], hash)) {
        api_error(rs, 401, "INVALID_JOB_TOKEN", "Missing or invalid job token");
        return;
    }
    char err[GB_JSON_ERR_MAX] = "";
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    ft_report r;
    if (ft_report_parse(body, &r, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    bool asked = r.has_status;
    ft_job j;
    gb_err e = ft_job_load(rq->db, rq->params[0], &j);
    if (!e && r.has_status && r.status == FT_SUCCESS && !pod_live(rq->db, &j)) {
        api_error(rs, 409, "CONFLICT", "The job has no live pod: success is refused");
        goto done;
    }
    if (!e && r.has_status && j.status != r.status) catch_up(rq->db, &j, r.status);
    if (r.has_status && j.status == r.status) r.has_status = false; /* nothing to move */
    if (!e) e = ft_job_report(rq->db, rq->params[0], &r, &j);
    if (e == GB_ERR_CONFLICT) {
        api_error(rs, 409, "CONFLICT", "The job has already finished");
        goto done;
    }
    if (e == GB_ERR_INVALID) {
        api_error(rs, 409, "CONFLICT", "A job in %s cannot move to %s", ft_state_name(j.status),
                  asked ? ft_state_name(r.status) : "?");
        goto done;
    }
    if (e) {
        api_error_from(rs, e, "Job");
        goto done;
    }
    if (ft_state_terminal(j.status) && j.pod_id[0])
        jobs_remove_pod(rq->app, rq->db, j.account_id, j.pod_id, "job finished");
    reply_job(rs, 200, &j);
done:
    cJSON_Delete(body);
}
