/* fuzz_job_report.c: the body a trainer POSTs to a job's report endpoint, with the server's
 * JSON limits (gb_json_parse, depth 32), through ft_report_parse. An accepted report must
 * carry a progress within 0..100 and a status a trainer may report. */
#include <stdint.h>
#include <stdlib.h>

#include "common/json.h"
#include "jobs/job_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *j = NULL;
    char err[GB_JSON_ERR_MAX];
    if (gb_json_parse((const char *)data, size, 32, &j, err) != GB_OK) return 0;
    ft_report r;
    if (ft_report_parse(j, &r, err) == GB_OK) {
        if (r.has_progress && !(r.progress >= 0 && r.progress <= 100)) abort();
        if (r.has_status && r.status != FT_TRAINING && r.status != FT_EVALUATING &&
            r.status != FT_SUCCESS && r.status != FT_FAILURE)
            abort();
    }
    cJSON_Delete(j);
    return 0;
}
