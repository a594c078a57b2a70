/* api_health.c: GET /healthz (the database answers) and GET /metrics (Prometheus text: the
 * HTTP counters and the intent backlog). */
#include "broker/api/handlers.h"
#include "broker/api/metrics.h"
#include "broker/api/routes.h"
#include "broker/core/intents.h"
#include "common/str.h"

void h_healthz(api_req *rq, api_resp *rs)
{
    int ok = rq->db && gb_db_exec(rq->db, "SELECT 1") == GB_OK;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", ok ? "ok" : "unavailable");
    cJSON_AddStringToObject(o, "version", GPUBROKER_VERSION);
    api_json(rs, ok ? 200 : 503, o);
}

void h_metrics(api_req *rq, api_resp *rs)
{
    int n;
    routes_table(&n);
    gb_buf b = {0};
    int64_t queued = 0; /* provider mutations waiting or under way (docs/intents.md) */
    gb_err e = rq->db ? intent_count_queued(rq->db, &queued) : GB_ERR_DB;
    if (e || metrics_render(rq->app->metrics, routes_names(), n, &b) != GB_OK ||
        gb_buf_printf(&b,
                      "# HELP gpubroker_intents_queued Provider mutations queued or under way.\n"
                      "# TYPE gpubroker_intents_queued gauge\ngpubroker_intents_queued %lld\n",
                      (long long)queued) != GB_OK) {
        gb_buf_free(&b);
        api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    api_text(rs, 200, "text/plain; version=0.0.4", gb_buf_take(&b));
}
