/* finetune.h: the rules of fine-tuning jobs, free of I/O: the job states and their one
 * transition table, the cancel/refund policy, request validation, pricing by model size,
 * the GPU tier a job needs, and the job's JSON. docs/fine-tuning.md explains every rule. */
#ifndef GB_FINETUNE_H
#define GB_FINETUNE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/gb.h"
#include "common/ids.h"
#include "common/money.h"
#include "jobs/finetune_states.h"

/* ---- states ------------------------------------------------------------------------- */

/* The states, in the order of FT_STATES (finetune_states.h). No count member, so a switch
 * over ft_state with no default has to name every state (-Wswitch, in -Wall). */
typedef enum {
#define FT_ENUM_(id, name, flags, next) id,
    FT_STATES(FT_ENUM_)
#undef FT_ENUM_
} ft_state;

#define FT_ONE_(id, name, flags, next) +1
#define FT_STATE_COUNT (0 FT_STATES(FT_ONE_))

/* "pending", "preparing_data", ... exactly as the Volt API spells them; "?" when invalid. */
const char *ft_state_name(ft_state s);
/* 0 and *out set when s is one of the names (case-sensitive), -1 otherwise. */
int ft_state_parse(const char *s, ft_state *out);

/* From the next-state column of FT_STATES. A state never goes to itself. */
bool ft_transition_allowed(ft_state from, ft_state to);
/* The FT_F_TERMINAL states (success, cancelled and the failures). */
bool ft_state_terminal(ft_state s);
/* The FT_F_FAILURE states. */
bool ft_state_failure(ft_state s);
/* The FT_F_REFUNDABLE states (before nodes are found): cancelling gives the money back. */
bool ft_state_refundable_on_cancel(ft_state s);
/* The FT_F_TRAINED states: the state says training has run. */
bool ft_state_training_started(ft_state s);
/* The FT_F_COMMITTED states: nodes are reserved, a cancel keeps the money. */
bool ft_state_cost_committed(ft_state s);
/* The rule for money on a transition: a refundable state going to cancelled or to a
 * failure is refunded in full; every other transition moves no money. */
bool ft_transition_refunds(ft_state from, ft_state to);

/* The DELETE answer: "Job cancelled and $55.50 refunded to your account" when refunded,
 * else a message saying why not (from: the status that was cancelled). msg has 256 bytes. */
void ft_cancel_message(ft_state from, gb_money refunded, char *msg, size_t n);

/* ---- requests ----------------------------------------------------------------------- */

#define FT_NAME_MAX 128
#define FT_REPO_MAX 256
#define FT_URL_MAX 2048
#define FT_FIELD_MAX 128
#define FT_HOURS_MIN 1
#define FT_HOURS_MAX 168
#define FT_MESSAGE_MAX 512

typedef struct {
    char name[FT_NAME_MAX + 1];
    char task_type[16]; /* text, chat, dpo, grpo, custom_chat, image */
    char model[FT_REPO_MAX + 1];
    char ds_repo[FT_REPO_MAX + 1];    /* "" for custom_chat */
    char dataset_url[FT_URL_MAX + 1]; /* custom_chat only */
    int hours;
    char webhook_url[FT_URL_MAX + 1]; /* "" when none */
    char chat_template[32];
    char field_instruction[FT_FIELD_MAX + 1], field_output[FT_FIELD_MAX + 1],
        field_conversation[FT_FIELD_MAX + 1], field_prompt[FT_FIELD_MAX + 1],
        field_chosen[FT_FIELD_MAX + 1], field_rejected[FT_FIELD_MAX + 1];
    char image_model_type[16]; /* flux, sdxl */
} ft_request;

/* Validates a POST body: unknown fields, the task type and each task's required fields,
 * fields that do not apply to the task type, lengths and syntax. GB_ERR_INVALID with a
 * message naming the field in err (GB_JSON_ERR_MAX bytes). */
gb_err ft_request_parse(const cJSON *body, ft_request *out, char *err);
/* True for a HuggingFace repo id "owner/name" (owner_optional: a bare "name" too). */
bool ft_repo_id_valid(const char *s, bool owner_optional);
/* True for an absolute http(s) URL with a host, no credentials, no spaces, <= 2048 bytes. */
bool ft_http_url_valid(const char *s);
/* The task's own fields (chatTemplate, field*, imageModelType) as a JSON object text, for the
 * job's params column. Caller frees *out. */
gb_err ft_request_params_json(const ft_request *r, char **out);

/* ---- price and GPUs ----------------------------------------------------------------- */

/* The model's size in millions of parameters: from model_table ({"org/model": "7B"} or a
 * number of billions; matched case-insensitively on the whole id) when it lists the model,
 * else from the name (8B, 0.5B, 8x7B = 56B, 27b, 500M, 1T). GB_ERR_INVALID naming 'model'
 * when the size cannot be known; a bad table entry is also GB_ERR_INVALID. */
gb_err ft_model_size_m(const char *model, const cJSON *model_table, int64_t *millions, char *err);
/* The same in billions (a convenience; decisions use ft_model_size_m's integers). */
gb_err ft_model_params(const char *model, const cJSON *model_table, double *billions, char *err);
/* The price of one hour for the request: image jobs $9.25 regardless of size, else by
 * size tier. err names 'model' when the size is unknown. */
gb_err ft_price_per_hour(const ft_request *r, const cJSON *model_table, gb_money *per_hour,
                         char *err);
/* The price of one hour for a model of millions parameters (a size known otherwise, e.g.
 * from the Hub): image jobs $9.25, else by size tier. GB_ERR_INVALID when millions <= 0. */
gb_err ft_price_for_size(const char *task_type, int64_t millions, gb_money *per_hour);
/* The tier name of that size ("small", ..., "image"), NULL when millions <= 0. */
const char *ft_tier_for_size(const char *task_type, int64_t millions);
/* per_hour * hours; -1 on overflow or a negative argument. */
gb_money ft_total(gb_money per_hour, int hours);
/* The tier name ("small" <=1B, "medium" <=8B, "large" <=40B, "xlarge", or "image") and the
 * GPUs it needs: the defaults of docs/fine-tuning.md unless gpu_table (may be NULL), e.g.
 * {"large": {"gpuType": "A100-80GB", "gpuCount": 4}}, overrides the tier. gpu_type has 32
 * bytes. Invalid table entries are ignored (check them with ft_gpu_table_check). */
const char *ft_gpu_tier(double billions, const char *task_type, const cJSON *gpu_table,
                        int *gpu_count, char *gpu_type);
/* Validates a GPU table (for config loading); err names the bad entry. */
gb_err ft_gpu_table_check(const cJSON *gpu_table, char *err);

/* ---- the job record and its JSON ---------------------------------------------------- */

typedef struct {
    char id[GB_ID_MAX]; /* "ftj_..." */
    char account_id[GB_ID_MAX];
    char name[FT_NAME_MAX + 1];
    char task_type[16];
    char base_model[FT_REPO_MAX + 1];
    char dataset_repo[FT_REPO_MAX + 1];
    char dataset_url[FT_URL_MAX + 1];
    int hours;
    gb_money cost_per_hour, total_cost;
    ft_state status;
    char webhook_url[FT_URL_MAX + 1];
    char params[1024]; /* ft_request_params_json */
    char output_model_repo[FT_REPO_MAX + 1];
    char pod_id[128];
    char message[FT_MESSAGE_MAX + 1];
    double progress; /* percent, 0..100 */
    bool refunded;
    int64_t created_at, started_at, completed_at, updated_at; /* ms; 0 = not yet */
    char lease_owner[64];
    int64_t lease_until; /* ms; 0 = no lease */
    int attempts;        /* claims since the last status change */
    int64_t next_step_at;
} ft_job;

/* The Volt job object (id, gradientsTaskId, name, baseModel, taskType, status,
 * hoursRequested, costPerHour, totalCost, datasetRepo, outputModelRepo, createdAt,
 * startedAt, completedAt) plus progress, message, podId and refunded. */
gb_err ft_job_to_json(const ft_job *j, cJSON *obj);
/* The webhook POST body for a job in a terminal state (event fine_tuning.job.completed). */
gb_err ft_job_webhook_json(const ft_job *j, cJSON *obj);
/* Rebuilds the request the job was created from (for the runner). */
gb_err ft_job_request(const ft_job *j, ft_request *out);

#endif
