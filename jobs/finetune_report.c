/* finetune_report.c: the body of a trainer's progress report (POST .../report), read into an
 * ft_report: only the known fields, each bounded; progress is a fraction 0..1 on the wire and
 * a percentage in the job; a status must be one a trainer may report. Pure (no database), so
 * it is fuzzed on its own (fuzz/fuzz_job_report.c). */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "jobs/job_store.h"

gb_err ft_report_parse(const cJSON *body, ft_report *out, char *err)
{
    static const char *const allowed[] = {"status", "progress", "outputModelRepo", "message", NULL};
    const char *status = NULL, *repo = NULL, *message = NULL;
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(body)) {
        snprintf(err, GB_JSON_ERR_MAX, "the body must be a JSON object");
        return GB_ERR_INVALID;
    }
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_str(body, "status", 1, 31, false, &status, err) == GB_ERR_INVALID ||
        gb_json_str(body, "outputModelRepo", 3, 256, false, &repo, err) == GB_ERR_INVALID ||
        gb_json_str(body, "message", 1, 512, false, &message, err) == GB_ERR_INVALID)
        return GB_ERR_INVALID;
    const cJSON *pg = cJSON_GetObjectItemCaseSensitive(body, "progress");
    if (pg) {
        double progress = cJSON_IsNumber(pg) ? pg->valuedouble : -1;
        if (!(progress >= 0 && progress <= 1)) { /* also refuses NaN */
            snprintf(err, GB_JSON_ERR_MAX, "field 'progress' must be a number from 0 to 1");
            return GB_ERR_INVALID;
        }
        out->has_progress = true;
        out->progress = progress * 100.0;
    }
    if (status) {
        if (ft_state_parse(status, &out->status) != 0 ||
            !(out->status == FT_TRAINING || out->status == FT_EVALUATING ||
              out->status == FT_SUCCESS || out->status == FT_FAILURE)) {
            snprintf(err, GB_JSON_ERR_MAX,
                     "field 'status' must be training, evaluating, success or failure");
            return GB_ERR_INVALID;
        }
        out->has_status = true;
    }
    out->output_model_repo = repo;
    out->message = message;
    return GB_OK;
}
