/* datarobot_ops.c: the DataRobot adapter's day-2 operations: runtime settings (GET/PATCH
 * .../settings/ {runtime}; a PATCH starts a rolling replacement, 409 while one runs), protons
 * and their statusDetails (204 = no snapshot yet), request statistics, shared roles (at most
 * 100) and lifecycle events {timestamp, type, reason, message, details}. Shapes and sources:
 * tests/fixtures/wire/datarobot/SOURCES.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/datarobot_int.h"

#define DR_EVENT_PAGES 10

static gb_err bad(prov_adapter *a, char *err, const char *what)
{
    snprintf(err, PROV_ERR_MAX, "%s: %.440s", a->name, what);
    return GB_ERR_INVALID;
}

/* Reads every page of a DataRobot list at path ("...?" is added) into one array (*out). */
gb_err prov_datarobot_all_pages(prov_adapter *a, const char *path, int max_pages, cJSON **out,
                                char *err)
{
    *out = cJSON_CreateArray();
    if (!*out) return GB_ERR_NOMEM;
    gb_err e = GB_OK;
    for (int page = 0, offset = 0; page < max_pages; page++) {
        char full[256];
        snprintf(full, sizeof(full), "%s?offset=%d&limit=%d", path, offset, DR_PAGE);
        cJSON *j = NULL;
        if ((e = prov_call(a, "GET", full, NULL, true, &j, NULL, err))) break;
        cJSON *data = cJSON_DetachItemFromObjectCaseSensitive(j, "data");
        bool more = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "next"));
        cJSON_Delete(j);
        if (!cJSON_IsArray(data)) {
            cJSON_Delete(data);
            snprintf(err, PROV_ERR_MAX, "malformed response from %s: no 'data' list", a->name);
            e = GB_ERR_PROVIDER;
            break;
        }
        int got = cJSON_GetArraySize(data);
        cJSON *it;
        while ((it = cJSON_DetachItemFromArray(data, 0)))
            cJSON_AddItemToArray(*out, it);
        cJSON_Delete(data);
        if (!more || got == 0) break;
        offset += got;
    }
    if (e) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return e;
}

/* ---- settings ---- */

gb_err prov_datarobot_settings_get(prov_adapter *a, const char *id, cJSON **out, char *err)
{
    *out = NULL;
    if (!prov_datarobot_id_ok(id)) return bad(a, err, "invalid workload id");
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s/settings/", id);
    gb_err e = prov_call(a, "GET", path, NULL, true, out, NULL, err);
    if (e == GB_OK && !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: settings are not an object",
                 a->name);
        e = GB_ERR_PROVIDER;
    }
    return e;
}

/* Checks a settings patch's shape before it is sent: {runtime{containerGroups:[{name,
 * replicaCount | autoscaling, containers, resourceBundles, bundleSelectionPolicy}],
 * enclaveSelectionPolicy, enclaves}} (datarobot-oss/cli internal/workload/settings.go,
 * terraform-provider-datarobot GroupRuntime); the platform checks the values. */
static gb_err check_patch(const cJSON *p, char *jerr)
{
    static const char *const keys[] = {"runtime", NULL};
    static const char *const rkeys[] = {"containerGroups", "enclaveSelectionPolicy", "enclaves",
                                        NULL};
    static const char *const gkeys[] = {"name",       "replicaCount",    "autoscaling",
                                        "containers", "resourceBundles", "bundleSelectionPolicy",
                                        NULL};
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(p, "runtime"), *g;
    if (!cJSON_IsObject(p) || !cJSON_IsObject(rt)) {
        gb_snprintf(jerr, GB_JSON_ERR_MAX, "the settings patch must be {\"runtime\": {...}}");
        return GB_ERR_INVALID;
    }
    if (gb_json_only_keys(p, keys, jerr) || gb_json_only_keys(rt, rkeys, jerr))
        return GB_ERR_INVALID;
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(rt, "containerGroups");
    if (groups && !cJSON_IsArray(groups)) {
        gb_snprintf(jerr, GB_JSON_ERR_MAX, "field 'runtime.containerGroups' must be a list");
        return GB_ERR_INVALID;
    }
    cJSON_ArrayForEach(g, groups)
    {
        if (!cJSON_IsObject(g) || gb_json_only_keys(g, gkeys, jerr)) {
            if (!cJSON_IsObject(g))
                gb_snprintf(jerr, GB_JSON_ERR_MAX, "runtime.containerGroups entries are objects");
            return GB_ERR_INVALID;
        }
        const cJSON *as = cJSON_GetObjectItemCaseSensitive(g, "autoscaling");
        if (cJSON_GetObjectItemCaseSensitive(g, "replicaCount") && cJSON_IsObject(as) &&
            !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(as, "enabled"))) {
            gb_snprintf(jerr, GB_JSON_ERR_MAX,
                        "replicaCount and autoscaling.enabled=true are mutually exclusive");
            return GB_ERR_INVALID;
        }
    }
    return GB_OK;
}

gb_err prov_datarobot_settings_patch(prov_adapter *a, const char *id, const cJSON *patch, char *err)
{
    char jerr[GB_JSON_ERR_MAX];
    if (!prov_datarobot_id_ok(id)) return bad(a, err, "invalid workload id");
    if (check_patch(patch, jerr)) return bad(a, err, jerr);
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s/settings/", id);
    /* not idempotent: it starts a replacement */
    return prov_call(a, "PATCH", path, patch, false, NULL, NULL, err);
}

/* ---- protons ---- */

gb_err prov_datarobot_protons(prov_adapter *a, const char *id, cJSON **out, char *err)
{
    *out = NULL;
    if (!prov_datarobot_id_ok(id)) return bad(a, err, "invalid workload id");
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s/protons/", id);
    return prov_datarobot_all_pages(a, path, 2, out, err);
}

static gb_err proton_call(prov_adapter *a, const char *id, const char *pid, const char *tail,
                          cJSON **out, char *err)
{
    *out = NULL;
    if (!prov_datarobot_id_ok(id)) return bad(a, err, "invalid workload id");
    if (!prov_datarobot_id_ok(pid)) return bad(a, err, "invalid proton id");
    char path[200];
    snprintf(path, sizeof(path), "/workloads/%s/protons/%s/%s", id, pid, tail);
    return prov_call(a, "GET", path, NULL, true, out, NULL, err);
}

gb_err prov_datarobot_proton_get(prov_adapter *a, const char *id, const char *proton_id,
                                 cJSON **out, char *err)
{
    gb_err e = proton_call(a, id, proton_id, "", out, err);
    if (e == GB_OK && !*out) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: empty proton", a->name);
        e = GB_ERR_PROVIDER;
    }
    return e;
}

gb_err prov_datarobot_proton_status(prov_adapter *a, const char *id, const char *proton_id,
                                    cJSON **out, char *err)
{
    return proton_call(a, id, proton_id, "statusDetails/", out, err); /* 204: *out NULL */
}

/* ---- statistics ---- */

static gb_err add_time(gb_buf *b, const char *key, int64_t ms)
{
    char t[32], enc[48];
    size_t k = 0;
    gb_time_format(ms, t, sizeof(t));
    for (const char *p = t; *p && k + 4 < sizeof(enc); p++) {
        if (*p == ':') {
            memcpy(enc + k, "%3A", 3);
            k += 3;
        } else {
            enc[k++] = *p;
        }
    }
    enc[k] = '\0';
    return gb_buf_printf(b, "%c%s=%s", b->len ? '&' : '?', key, enc);
}

static bool resolution_ok(const char *r)
{
    size_t n = 0;
    for (; r[n]; n++)
        if (!((r[n] >= 'A' && r[n] <= 'Z') || (r[n] >= '0' && r[n] <= '9'))) return false;
    return n >= 2 && n <= 8;
}

/* The query string for q (empty without filters); GB_ERR_INVALID naming a bad filter. */
static gb_err stats_query(prov_adapter *a, const prov_datarobot_stats_query *q, bool series,
                          gb_buf *b, char *err)
{
    gb_err e = GB_OK;
    if (!q) return GB_OK;
    if (q->proton_id && !prov_datarobot_id_ok(q->proton_id))
        return bad(a, err, "field 'proton_id' is not a proton id");
    if (q->quantile_permille < 0 || q->quantile_permille > 999)
        return bad(a, err, "field 'quantile_permille' must be 1-999");
    if (q->slow_ms < 0) return bad(a, err, "field 'slow_ms' must not be negative");
    if (q->resolution && (!series || !resolution_ok(q->resolution)))
        return bad(a, err, "field 'resolution' must be an ISO 8601 duration such as P1D");
    if (q->proton_id) e = gb_buf_printf(b, "?protonId=%s", q->proton_id);
    if (!e && q->start_ms > 0) e = add_time(b, "startTime", q->start_ms);
    if (!e && q->end_ms > 0) e = add_time(b, "endTime", q->end_ms);
    if (!e && q->quantile_permille > 0)
        e = gb_buf_printf(b, "%cresponseTimeQuantile=0.%03d", b->len ? '&' : '?',
                          q->quantile_permille);
    if (!e && q->slow_ms > 0)
        e = gb_buf_printf(b, "%cslowRequestsThreshold=%d", b->len ? '&' : '?', q->slow_ms);
    if (!e && q->resolution)
        e = gb_buf_printf(b, "%cresolution=%s", b->len ? '&' : '?', q->resolution);
    return e;
}

static gb_err stats_call(prov_adapter *a, const char *method, const char *path,
                         const prov_datarobot_stats_query *q, bool series, cJSON **out, char *err)
{
    gb_buf qs = {0};
    gb_err e = stats_query(a, q, series, &qs, err);
    char *full = e ? NULL : gb_asprintf("%s%s", path, qs.data ? qs.data : "");
    if (!e && !full) e = GB_ERR_NOMEM;
    if (!e) e = prov_call(a, method, full, NULL, true, out, NULL, err);
    if (!e && out && !*out) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: empty statistics", a->name);
        e = GB_ERR_PROVIDER;
    }
    free(full);
    gb_buf_free(&qs);
    return e;
}

gb_err prov_datarobot_stats(prov_adapter *a, const char *id, const prov_datarobot_stats_query *q,
                            cJSON **out, char *err)
{
    *out = NULL;
    char path[128];
    if (id && !prov_datarobot_id_ok(id)) return bad(a, err, "invalid workload id");
    snprintf(path, sizeof(path), id ? "/workloads/%s/stats/" : "/workloads/stats/", id ? id : "");
    return stats_call(a, "GET", path, q, false, out, err);
}

gb_err prov_datarobot_stats_metric(prov_adapter *a, const char *id, const char *metric,
                                   const prov_datarobot_stats_query *q, cJSON **out, char *err)
{
    static const char *const metrics[] = {"totalRequests",     "requestsOverN",
                                          "requestsPerMinute", "concurrentRequests",
                                          "responseTime",      "totalErrorRate"};
    *out = NULL;
    size_t k = 0;
    while (metric && k < GB_ARRAY_LEN(metrics) && strcmp(metric, metrics[k]) != 0)
        k++;
    if (!metric || k == GB_ARRAY_LEN(metrics))
        return bad(a, err,
                   "field 'metric' must be totalRequests, requestsOverN, requestsPerMinute, "
                   "concurrentRequests, responseTime or totalErrorRate");
    if (!prov_datarobot_id_ok(id)) return bad(a, err, "invalid workload id");
    char path[160];
    snprintf(path, sizeof(path), "/workloads/%s/stats/%s/", id, metrics[k]);
    return stats_call(a, "GET", path, q, true, out, err);
}

gb_err prov_datarobot_stats_reset(prov_adapter *a, const char *id,
                                  const prov_datarobot_stats_query *q, char *err)
{
    if (!prov_datarobot_id_ok(id)) return bad(a, err, "invalid workload id");
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s/stats/", id);
    return stats_call(a, "DELETE", path, q, false, NULL, err);
}

/* ---- shared roles ---- */

gb_err prov_datarobot_shared_roles_get(prov_adapter *a, const char *id, cJSON **out, char *err)
{
    *out = NULL;
    if (!prov_datarobot_id_ok(id)) return bad(a, err, "invalid workload id");
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s/sharedRoles/", id);
    return prov_datarobot_all_pages(a, path, 2, out, err);
}

gb_err prov_datarobot_shared_roles_set(prov_adapter *a, const char *id, const cJSON *roles,
                                       char *err)
{
    if (!prov_datarobot_id_ok(id)) return bad(a, err, "invalid workload id");
    if (!cJSON_IsArray(roles)) return bad(a, err, "field 'roles' must be an array");
    if (cJSON_GetArraySize(roles) > DR_MAX_ROLES) {
        snprintf(err, PROV_ERR_MAX, "%s: field 'roles': at most %d entries (got %d)", a->name,
                 DR_MAX_ROLES, cJSON_GetArraySize(roles));
        return GB_ERR_INVALID;
    }
    gb_err e = GB_ERR_NOMEM;
    cJSON *body = cJSON_CreateObject(), *dup = NULL;
    if (!body || !cJSON_AddStringToObject(body, "operation", "updateRoles") ||
        !(dup = cJSON_Duplicate(roles, 1)))
        goto done;
    if (!cJSON_AddItemToObject(body, "roles", dup)) {
        cJSON_Delete(dup);
        goto done;
    }
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s/sharedRoles/", id);
    /* the whole list is replaced: sending it twice is harmless */
    e = prov_call(a, "PATCH", path, body, true, NULL, NULL, err);
done:
    cJSON_Delete(body);
    return e;
}

/* ---- events ---- */

gb_err prov_datarobot_events(prov_adapter *a, const char *id, prov_event **out, size_t *n,
                             char *err)
{
    *out = NULL;
    *n = 0;
    if (!prov_datarobot_id_ok(id)) return bad(a, err, "invalid workload id");
    char path[128];
    snprintf(path, sizeof(path), "/workloads/%s/events/", id);
    cJSON *arr = NULL;
    gb_err e = prov_datarobot_all_pages(a, path, DR_EVENT_PAGES, &arr, err);
    if (e) return e;
    int total = cJSON_GetArraySize(arr);
    *out = calloc(total ? (size_t)total : 1, sizeof(**out));
    if (!*out) {
        cJSON_Delete(arr);
        return GB_ERR_NOMEM;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        /* {timestamp, type: Normal|Warning, reason, message, details} */
        prov_event *ev = &(*out)[*n];
        const char *ts = gb_jstr(it, "timestamp");
        const char *reason = gb_jstr(it, "reason"), *type = gb_jstr(it, "type");
        const char *msg = gb_jstr(it, "message");
        if (!ts || gb_time_parse(ts, &ev->at)) continue;
        gb_strlcpy(ev->type, reason ? reason : type ? type : "event", sizeof(ev->type));
        if (type && gb_str_ieq(type, "Warning"))
            snprintf(ev->message, sizeof(ev->message), "warning: %s", msg ? msg : "");
        else
            gb_strlcpy(ev->message, msg ? msg : "", sizeof(ev->message));
        (*n)++;
    }
    cJSON_Delete(arr);
    return GB_OK;
}
