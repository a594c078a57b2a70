/* pod_json.c: the JSON form of a pod, provider error answers, and provider-call notes. */
#include <math.h>
#include <string.h>

#include "broker/api/pod_api.h"
#include "broker/core/meter.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"

cJSON *pod_json(const app *a, const pod_rec *p, int64_t now_ms, int full)
{
    /* a fine-tuning job's pod is not metered (the job paid): its provider's price alone */
    gb_money rate = p->job_id[0] ? p->price_per_hour : meter_rate(a, p);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", p->id);
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "status", pod_status_name(p->status));
    cJSON_AddStringToObject(o, "provider", p->provider);
    api_add_gpu_type(o, p->gpu_type);
    cJSON_AddNumberToObject(o, "gpu_count", p->gpu_count);
    gb_json_add_money(o, "cost_per_hour", rate);
    gb_json_add_money(o, "price_per_hour", p->price_per_hour); /* extension: the provider's */
    gb_json_add_str_or_null(o, "ip", p->ip[0] ? p->ip : NULL);
    if (p->ssh_port)
        cJSON_AddNumberToObject(o, "ssh_port", p->ssh_port);
    else
        cJSON_AddNullToObject(o, "ssh_port");
    gb_json_add_str_or_null(o, "template", p->image[0] ? p->image : NULL);
    gb_json_add_str_or_null(o, "image", p->image[0] ? p->image : NULL);
    if (p->volume_size_gb) /* present with null when none was asked for, never missing */
        cJSON_AddNumberToObject(o, "volume_size_gb", p->volume_size_gb);
    else
        cJSON_AddNullToObject(o, "volume_size_gb");
    if (p->confidential) {
        cJSON_AddTrueToObject(o, "confidential");
        cJSON_AddStringToObject(o, "attestation", "intel_tdx");
    }
    if (strcmp(p->provider, "targon") == 0)
        cJSON_AddStringToObject(o, "resource_name", p->offer_id);
    gb_json_add_time(o, "created_at", p->created_at);
    /* a fine-tuning job's pod is paid by the job's price: never metered, no cost of its own */
    gb_json_add_str_or_null(o, "job_id", p->job_id[0] ? p->job_id : NULL);
    if (!full) return o;
    cJSON_AddNumberToObject(o, "cpu_cores", p->vcpu);
    cJSON_AddNumberToObject(o, "ram_gb", p->ram_gb);
    cJSON *keys = p->ssh_key_ids ? cJSON_Parse(p->ssh_key_ids) : NULL;
    cJSON_AddItemToObject(o, "ssh_keys", keys ? keys : cJSON_CreateArray());
    double hours = (double)pod_running_ms(p, now_ms) / 3600000.0;
    cJSON_AddNumberToObject(o, "uptime_hours", floor(hours * 100.0 + 0.5) / 100.0);
    gb_json_add_money(o, "total_cost", p->job_id[0] ? 0 : pod_cost(p, rate, now_ms));
    if (p->max_duration_ms)
        cJSON_AddNumberToObject(o, "max_duration", (double)(p->max_duration_ms / 1000));
    else
        cJSON_AddNullToObject(o, "max_duration");
    if (p->max_cost)
        gb_json_add_money(o, "max_cost", p->max_cost);
    else
        cJSON_AddNullToObject(o, "max_cost");
    gb_json_add_str_or_null(o, "stop_reason", p->stop_reason[0] ? p->stop_reason : NULL);
    cJSON_AddStringToObject(o, "provider_status", p->raw_status);
    cJSON_AddStringToObject(o, "provider_id", p->provider_id);
    cJSON_AddStringToObject(o, "workload_name", p->workload_name); /* its name there */
    cJSON_AddStringToObject(o, "machine_id", p->offer_id);
    gb_json_add_str_or_null(o, "ssh_command", p->ssh_command[0] ? p->ssh_command : NULL);
    gb_json_add_str_or_null(o, "url", p->url[0] ? p->url : NULL);
    gb_json_add_str_or_null(o, "message", p->message[0] ? p->message : NULL);
    gb_json_add_time(o, "stopped_at", p->stopped_at);
    return o;
}

void pod_provider_error(api_resp *rs, gb_err e, const char *provider, const char *err)
{
    const char *why = err && err[0] ? err : gb_strerror(e);
    switch (e) {
    case GB_ERR_CAPACITY:
        api_error(rs, 409, "NO_CAPACITY", "%s has no capacity for this request: %s", provider, why);
        return;
    case GB_ERR_INVALID:
        api_error(rs, 400, "VALIDATION_ERROR", "%s", why);
        return;
    case GB_ERR_NOT_FOUND:
        api_error(rs, 404, "NOT_FOUND", "%s", why);
        return;
    case GB_ERR_CONFLICT:
        api_error(rs, 409, "CONFLICT", "%s", why);
        return;
    case GB_ERR_AUTH:
        api_error(rs, 502, "PROVIDER_AUTH_FAILED",
                  "Provider %s refused gpubroker's credentials: %s", provider, why);
        return;
    case GB_ERR_LIMIT:
        api_error(rs, 503, "PROVIDER_BUSY", "%s", why);
        return;
    case GB_ERR_PAYMENT:
        api_error(rs, 502, "PROVIDER_PAYMENT_REQUIRED",
                  "gpubroker's account at %s cannot pay for this: %s", provider, why);
        return;
    default:
        api_error(rs, 502, "PROVIDER_ERROR", "Upstream provider %s failed: %s", provider, why);
    }
}

void pod_note(api_req *rq, const char *provider, gb_err e, int64_t t0, const char *err)
{
    registry_note(rq->app, provider, e, gb_mono_ms() - t0, err);
}

prov_adapter *pod_load(api_req *rq, api_resp *rs, pod_rec *p)
{
    memset(p, 0, sizeof(*p));
    gb_err e = pod_get(rq->db, rq->account_id, rq->params[0], p);
    if (e) {
        api_error_from(rs, e, "Pod");
        return NULL;
    }
    /* a provider registered through another broker since this one's last sync is found too,
     * not answered as "no longer registered" */
    prov_adapter *ad = registry_get_synced(rq->app, rq->db, p->provider);
    if (!ad)
        api_error(rs, 502, "PROVIDER_ERROR", "Provider %s of this pod is no longer registered",
                  p->provider);
    return ad;
}
