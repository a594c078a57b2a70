/* finetune_json.c: a fine-tuning job as the Volt API's JSON object, and the webhook body
 * sent when a job reaches a terminal state. */
#include "common/json.h"
#include "jobs/finetune.h"

static const char *or_null(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* A refund is always the whole price (refunded is the boolean, this the money). */
static gb_money refunded_amount(const ft_job *j)
{
    return j->refunded ? j->total_cost : 0;
}

gb_err ft_job_to_json(const ft_job *j, cJSON *obj)
{
    /* gradientsTaskId: the broker runs the training itself, so the job id is the task id. */
    bool ok = cJSON_AddStringToObject(obj, "id", j->id) &&
              cJSON_AddStringToObject(obj, "gradientsTaskId", j->id) &&
              cJSON_AddStringToObject(obj, "name", j->name) &&
              cJSON_AddStringToObject(obj, "baseModel", j->base_model) &&
              cJSON_AddStringToObject(obj, "taskType", j->task_type) &&
              cJSON_AddStringToObject(obj, "status", ft_state_name(j->status)) &&
              cJSON_AddNumberToObject(obj, "hoursRequested", j->hours) &&
              gb_json_add_money(obj, "costPerHour", j->cost_per_hour) &&
              gb_json_add_money(obj, "totalCost", j->total_cost) &&
              gb_json_add_str_or_null(obj, "datasetRepo", or_null(j->dataset_repo)) &&
              gb_json_add_str_or_null(obj, "outputModelRepo", or_null(j->output_model_repo)) &&
              gb_json_add_time(obj, "createdAt", j->created_at) &&
              gb_json_add_time(obj, "startedAt", j->started_at) &&
              gb_json_add_time(obj, "completedAt", j->completed_at) &&
              cJSON_AddNumberToObject(obj, "progress", j->progress) &&
              gb_json_add_str_or_null(obj, "message", or_null(j->message)) &&
              gb_json_add_str_or_null(obj, "podId", or_null(j->pod_id)) &&
              cJSON_AddBoolToObject(obj, "refunded", j->refunded) &&
              gb_json_add_money(obj, "refundedAmount", refunded_amount(j));
    return ok ? GB_OK : GB_ERR_NOMEM;
}

gb_err ft_job_webhook_json(const ft_job *j, cJSON *obj)
{
    if (!ft_state_terminal(j->status)) return GB_ERR_INVALID;
    bool ok = cJSON_AddStringToObject(obj, "event", "fine_tuning.job.completed") &&
              cJSON_AddStringToObject(obj, "jobId", j->id) &&
              cJSON_AddStringToObject(obj, "gradientsTaskId", j->id) &&
              cJSON_AddStringToObject(obj, "status", ft_state_name(j->status)) &&
              cJSON_AddStringToObject(obj, "baseModel", j->base_model) &&
              gb_json_add_str_or_null(obj, "outputModelRepo", or_null(j->output_model_repo)) &&
              gb_json_add_money(obj, "totalCost", j->total_cost) &&
              gb_json_add_time(obj, "completedAt", j->completed_at) &&
              cJSON_AddBoolToObject(obj, "refunded", j->refunded) &&
              gb_json_add_money(obj, "refundedAmount", refunded_amount(j));
    return ok ? GB_OK : GB_ERR_NOMEM;
}
