/* runai.c: the NVIDIA Run:ai adapter's shared parts: error mapping, the phase table, the
 * operator's settings and the readers of Run:ai's workload answers (public OpenAPI spec,
 * runai-professional-services/runapy, .generator/swagger.json 1.224.0).
 *
 * Phase (schema Phase: the 14 values of a v1 Workload) -> normalized status (DESIGN.md
 * section 4), case-insensitive:
 *   Creating, Pending                 -> pending   (not placed by the scheduler yet)
 *   Initializing, Resuming            -> deploying (GPUs allocated, containers starting)
 *   Running, Updating, Degraded       -> running   (GPUs held and the workload is up: an
 *                                        update or a degraded replica does not stop billing)
 *   Stopping, Terminating, Deleting   -> stopping
 *   Stopped -> stopped; Completed -> succeeded; Failed -> failed;
 *   Unknown and anything else         -> unknown
 * A v2 answer has no phase, only syncInfo.status (schema WorkloadV2SyncStatus): Queued,
 * Applying, Synced -> pending (the cluster has not reported it yet); Deleting -> stopping;
 * Deleted -> deleted; Failed -> failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/runai_int.h"

bool prov_runai_uuid_ok(const char *id)
{
    static const char hex[] = "0123456789abcdefABCDEF";
    if (!id || strlen(id) != 36) return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : !strchr(hex, id[i])) return false;
    }
    return true;
}

/* ---- errors ---- */

/* prov_status_error, plus 429 -> GB_ERR_LIMIT and Run:ai's quota/capacity refusals (400, 403,
 * 409, 422 or 503 whose message speaks of capacity or quota) -> GB_ERR_CAPACITY. */
gb_err prov_runai_error(prov_adapter *a, const gb_http_resp *r, char *err)
{
    static const char *const words[] = {"insufficient capacity", "no capacity", "not enough gpu",
                                        "insufficient gpu", "quota"};
    gb_err e = prov_status_error(a, r, err);
    if (r->status == 429) e = GB_ERR_LIMIT;
    long s = r->status;
    if (s == 400 || s == 403 || s == 409 || s == 422 || s == 503)
        for (size_t i = 0; i < GB_ARRAY_LEN(words); i++)
            if (gb_str_icontains(err, words[i])) e = GB_ERR_CAPACITY;
    return e;
}

/* ---- phases ---- */

static const struct {
    const char *raw;
    pod_status st;
} PHASES[] = {
    {"Creating", POD_PENDING},   {"Pending", POD_PENDING},   {"Initializing", POD_DEPLOYING},
    {"Resuming", POD_DEPLOYING}, {"Running", POD_RUNNING},   {"Updating", POD_RUNNING},
    {"Degraded", POD_RUNNING},   {"Stopping", POD_STOPPING}, {"Terminating", POD_STOPPING},
    {"Deleting", POD_STOPPING},  {"Stopped", POD_STOPPED},   {"Completed", POD_SUCCEEDED},
    {"Failed", POD_FAILED},      {"Unknown", POD_UNKNOWN},
};

pod_status prov_runai_map_status(const char *raw)
{
    for (size_t i = 0; raw && i < GB_ARRAY_LEN(PHASES); i++)
        if (gb_str_ieq(raw, PHASES[i].raw)) return PHASES[i].st;
    return POD_UNKNOWN;
}

/* ---- settings ---- */

static gb_err setting_str(const cJSON *j, const char *key, size_t max, char *out, size_t n,
                          char *jerr)
{
    const char *v = NULL;
    gb_err e = gb_json_str(j, key, 1, max, false, &v, jerr);
    if (e == GB_OK) gb_strlcpy(out, v, n);
    return e == GB_ERR_INVALID ? e : GB_OK;
}

gb_err prov_runai_settings(prov_adapter *a, runai_settings *s, char *err)
{
    const cJSON *j = a->settings;
    char jerr[GB_JSON_ERR_MAX] = "";
    int64_t v;
    memset(s, 0, sizeof(*s));
    s->gpus_per_node = 8;
    if (j && !cJSON_IsObject(j)) {
        snprintf(err, PROV_ERR_MAX, "%s: settings must be a JSON object", a->name);
        return GB_ERR_INVALID;
    }
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(j, "rate_per_gpu_hour");
    if (rate && !cJSON_IsNull(rate)) {
        int bad = cJSON_IsString(rate)   ? gb_money_parse(rate->valuestring, &s->rate)
                  : cJSON_IsNumber(rate) ? gb_money_from_double(rate->valuedouble, &s->rate)
                                         : -1;
        if (bad || s->rate <= 0 || s->rate > 100000 * GB_MONEY_PER_DOLLAR) {
            snprintf(jerr, sizeof(jerr),
                     "field 'rate_per_gpu_hour' must be a positive amount in dollars (\"1.80\")");
            goto bad;
        }
        s->has_rate = true;
    }
    if (setting_str(j, "gpu_type", 95, s->gpu_name, sizeof(s->gpu_name), jerr) ||
        setting_str(j, "location", 63, s->location, sizeof(s->location), jerr) ||
        setting_str(j, "project", 63, s->project, sizeof(s->project), jerr) ||
        setting_str(j, "cluster_id", 63, s->cluster_id, sizeof(s->cluster_id), jerr))
        goto bad;
    if (!s->gpu_name[0]) gb_strlcpy(s->gpu_name, "GPU", sizeof(s->gpu_name));
    gpu_normalize(s->gpu_name, s->gpu_type, &s->gpu_vram_gb);
    gb_err e = gb_json_int(j, "gpu_vram_gb", 0, 4096, false, &v, jerr);
    if (e == GB_OK) s->gpu_vram_gb = (int)v;
    if (e == GB_ERR_INVALID) goto bad;
    e = gb_json_int(j, "gpus_per_node", 1, RUNAI_MAX_GPUS, false, &v, jerr);
    if (e == GB_OK) s->gpus_per_node = (int)v;
    if (e == GB_ERR_INVALID) goto bad;
    s->max_gpus = s->gpus_per_node;
    e = gb_json_int(j, "max_gpus", 1, 1000000, false, &v, jerr);
    if (e == GB_OK) s->max_gpus = (int)v;
    if (e == GB_ERR_INVALID) goto bad;
    return GB_OK;
bad:
    snprintf(err, PROV_ERR_MAX, "%s: settings: %.440s", a->name, jerr);
    return GB_ERR_INVALID;
}

/* ---- workloads ---- */

/* A GPU count: a number (Run:ai allows fractions: rounded up) or a numeric string. */
static int gpu_value(const cJSON *v)
{
    double d = -1;
    if (cJSON_IsNumber(v)) d = v->valuedouble;
    int n = 0;
    if (cJSON_IsString(v) && gb_parse_int(v->valuestring, 0, 100000, &n) == 0) d = n;
    if (!(d >= 0 && d <= 100000)) return 0;
    int i = (int)d;
    return d > i ? i + 1 : i;
}

/* WorkloadRequestResources.gpu.request (else .limit); -1 when absent. */
static int requested(const cJSON *res)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(res, "gpu");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, "request");
    if (!cJSON_IsNumber(v)) v = cJSON_GetObjectItemCaseSensitive(g, "limit");
    return cJSON_IsNumber(v) ? gpu_value(v) : -1;
}

int prov_runai_v1_gpus(const cJSON *j)
{
    int n = requested(cJSON_GetObjectItemCaseSensitive(j, "workloadRequestedResources"));
    if (n >= 0) return n;
    n = requested(cJSON_GetObjectItemCaseSensitive(j, "podsRequestedResources"));
    int64_t pods = gb_jint(gb_jpath(j, "requestedPods"), "number", 1);
    if (pods < 1 || pods > 10000) pods = 1;
    return n > 0 ? n * (int)pods : 0;
}

/* The GPUs of a manifest (JSON form): the first container's nvidia.com/gpu limit, times the
 * replicas of a Deployment. */
static int manifest_gpus(cJSON *m)
{
    cJSON *c = prov_runai_manifest_container(m);
    /* not gb_jpath: the key "nvidia.com/gpu" holds a dot */
    const cJSON *lim = gb_jpath(c, "resources.limits");
    int n = gpu_value(cJSON_GetObjectItemCaseSensitive(lim, "nvidia.com/gpu"));
    int64_t rep = gb_jint(gb_jpath(m, "spec"), "replicas", 1);
    if (rep < 1 || rep > 10000) rep = 1;
    return n * (int)rep;
}

static void common_fill(const runai_settings *s, prov_pod *out)
{
    out->status = prov_runai_map_status(out->raw_status);
    gb_strlcpy(out->gpu_type, s->gpu_type, sizeof(out->gpu_type));
    if (s->has_rate) out->price_per_hour = s->rate * out->gpu_count;
}

int prov_runai_parse_v1(const runai_settings *s, const cJSON *j, prov_pod *out)
{
    memset(out, 0, sizeof(*out));
    const char *id = gb_jstr(j, "id"), *v;
    if (!id || !id[0] || strlen(id) >= sizeof(out->provider_id)) return -1;
    gb_strlcpy(out->provider_id, id, sizeof(out->provider_id));
    if ((v = gb_jstr(j, "name"))) gb_strlcpy(out->name, v, sizeof(out->name));
    if ((v = gb_jstr(j, "phase"))) gb_strlcpy(out->raw_status, v, sizeof(out->raw_status));
    if ((v = gb_jstr(j, "phaseMessage"))) gb_strlcpy(out->message, v, sizeof(out->message));
    const cJSON *urls = cJSON_GetObjectItemCaseSensitive(j, "urls");
    const cJSON *u0 = cJSON_IsArray(urls) ? cJSON_GetArrayItem(urls, 0) : NULL;
    if (cJSON_IsString(u0)) gb_strlcpy(out->url, u0->valuestring, sizeof(out->url));
    out->gpu_count = prov_runai_v1_gpus(j);
    common_fill(s, out);
    if ((v = gb_jstr(j, "createdAt")) && gb_time_parse(v, &out->created_at)) out->created_at = 0;
    return 0;
}

int prov_runai_parse_v2(const runai_settings *s, const cJSON *j, prov_pod *out)
{
    memset(out, 0, sizeof(*out));
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "workload");
    if (!cJSON_IsObject(w)) w = j; /* a bare WorkloadV2 (202 answers) */
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(w, "metadata");
    const char *id = gb_jstr(md, "id"), *v;
    if (!id || !id[0] || strlen(id) >= sizeof(out->provider_id)) return -1;
    gb_strlcpy(out->provider_id, id, sizeof(out->provider_id));
    if ((v = gb_jstr(md, "name"))) gb_strlcpy(out->name, v, sizeof(out->name));
    const cJSON *sync = cJSON_GetObjectItemCaseSensitive(j, "syncInfo");
    const char *ss = gb_jstr(sync, "status");
    gb_strlcpy(out->raw_status, ss ? ss : "Creating", sizeof(out->raw_status));
    if ((v = gb_jstr(sync, "message"))) gb_strlcpy(out->message, v, sizeof(out->message));
    cJSON *m = cJSON_GetObjectItemCaseSensitive(w, "rawManifest");
    if (!cJSON_IsObject(m)) m = cJSON_GetObjectItemCaseSensitive(w, "workloadManifest");
    out->gpu_count = cJSON_IsObject(m) ? manifest_gpus(m) : 0;
    common_fill(s, out);
    if (!ss || gb_str_ieq(ss, "Queued") || gb_str_ieq(ss, "Applying") || gb_str_ieq(ss, "Synced"))
        out->status = POD_PENDING;
    else if (gb_str_ieq(ss, "Deleting"))
        out->status = POD_STOPPING;
    else if (gb_str_ieq(ss, "Deleted"))
        out->status = POD_DELETED;
    else if (gb_str_ieq(ss, "Failed"))
        out->status = POD_FAILED;
    if ((v = gb_jstr(md, "createdAt")) && gb_time_parse(v, &out->created_at)) out->created_at = 0;
    return 0;
}
