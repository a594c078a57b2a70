/* primus_options.c: the Primus adapter's provider_options validation (the fields of
 * CreateWorkloadRequest that gpubroker passes through, AMD-AGI/Primus-SaFE
 * SaFE/apiserver/pkg/handlers/resources/view/workload_view.go; messages name the field) and
 * the checks of an update's changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/primus_int.h"

static const char *const KINDS[] = {"PyTorchJob", "Deployment", "StatefulSet", "Authoring"};

bool prov_primus_kind_ok(const char *kind)
{
    for (size_t i = 0; kind && i < GB_ARRAY_LEN(KINDS); i++)
        if (strcmp(kind, KINDS[i]) == 0) return true;
    return false;
}

/* ---- base64 ---- */

bool prov_primus_b64_valid(const char *s)
{
    unsigned char *out = NULL;
    size_t n = 0;
    bool ok = s && s[0] && strlen(s) % 4 == 0 && gb_base64_decode(s, &out, &n) == GB_OK;
    free(out);
    return ok;
}

/* ---- field checks (jerr: GB_JSON_ERR_MAX bytes, naming the field) ---- */

/* A Kubernetes quantity "128Gi", "50G", "96", "0.5", "500m" (milli only for CPUs). */
static bool quantity_text_ok(const char *s, bool milli)
{
    static const char *const units[] = {"",  "Ki", "Mi", "Gi", "Ti", "Pi",
                                        "k", "K",  "M",  "G",  "T",  "P"};
    size_t digits = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
    if (!digits || strlen(s) > 20) return false;
    if (milli && strcmp(p, "m") == 0) return true;
    for (size_t i = 0; i < GB_ARRAY_LEN(units); i++)
        if (strcmp(p, units[i]) == 0) return true;
    return false;
}

gb_err prov_primus_quantity(const cJSON *o, const char *key, bool milli, const char *unit,
                            char *out, size_t n, char *jerr)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return GB_ERR_NOT_FOUND;
    int64_t i;
    if (cJSON_IsNumber(v) && gb_json_int(o, key, 1, 1000000, true, &i, NULL) == GB_OK) {
        snprintf(out, n, "%lld%s", (long long)i, unit);
        return GB_OK;
    }
    if (cJSON_IsString(v) && quantity_text_ok(v->valuestring, milli)) {
        gb_strlcpy(out, v->valuestring, n);
        return GB_OK;
    }
    snprintf(jerr, GB_JSON_ERR_MAX,
             "field '%s' must be a positive integer%s or a quantity like \"%s\"", key,
             unit[0] ? " (GiB)" : "", milli ? "96" : "128Gi");
    return GB_ERR_INVALID;
}

static bool str_map_ok(const cJSON *o, const char *key, char *jerr)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key), *it;
    if (!m || cJSON_IsNull(m)) return true;
    bool ok = cJSON_IsObject(m) && cJSON_GetArraySize(m) <= 256;
    const cJSON *each = ok ? m : NULL;
    cJSON_ArrayForEach(it, each) ok = ok && it->string && it->string[0] &&
                                      strlen(it->string) <= 253 && cJSON_IsString(it) &&
                                      strlen(it->valuestring) <= 32768;
    if (!ok)
        snprintf(jerr, GB_JSON_ERR_MAX, "field '%s' must be an object of at most 256 string values",
                 key);
    return ok;
}

static bool str_array_ok(const cJSON *o, const char *key, int max, char *jerr)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *it;
    if (!a || cJSON_IsNull(a)) return true;
    bool ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) <= max;
    const cJSON *each = ok ? a : NULL;
    cJSON_ArrayForEach(it, each) ok =
        ok && cJSON_IsString(it) && it->valuestring[0] && prov_primus_id_ok(it->valuestring);
    if (!ok)
        snprintf(jerr, GB_JSON_ERR_MAX, "field '%s' must be an array of at most %d names", key,
                 max);
    return ok;
}

static bool probe_ok(const cJSON *o, const char *key, char *jerr)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, key);
    char e[GB_JSON_ERR_MAX];
    const char *path;
    int64_t v;
    if (!p || cJSON_IsNull(p)) return true;
    if (!cJSON_IsObject(p) || gb_json_str(p, "path", 0, 256, false, &path, e) == GB_ERR_INVALID ||
        gb_json_int(p, "port", 1, 65535, true, &v, e) ||
        gb_json_int(p, "initialDelaySeconds", 0, 86400, false, &v, e) == GB_ERR_INVALID ||
        gb_json_int(p, "periodSeconds", 1, 3600, false, &v, e) == GB_ERR_INVALID ||
        gb_json_int(p, "failureThreshold", 1, 100, false, &v, e) == GB_ERR_INVALID) {
        snprintf(jerr, GB_JSON_ERR_MAX, "field '%s': %.200s", key,
                 cJSON_IsObject(p) ? e : "must be an object");
        return false;
    }
    return true;
}

static bool service_ok(const cJSON *o, char *jerr)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "service");
    char e[GB_JSON_ERR_MAX] = "";
    const char *proto = "TCP", *type = "ClusterIP";
    int64_t v;
    if (!s || cJSON_IsNull(s)) return true;
    bool ok = cJSON_IsObject(s) &&
              gb_json_str(s, "protocol", 1, 8, false, &proto, e) != GB_ERR_INVALID &&
              gb_json_int(s, "port", 1, 65535, true, &v, e) == GB_OK &&
              gb_json_int(s, "nodePort", 0, 32767, false, &v, e) != GB_ERR_INVALID &&
              gb_json_int(s, "targetPort", 0, 65535, false, &v, e) != GB_ERR_INVALID &&
              gb_json_str(s, "serviceType", 1, 16, false, &type, e) != GB_ERR_INVALID;
    if (ok && strcmp(proto, "TCP") != 0 && strcmp(proto, "UDP") != 0) {
        snprintf(e, sizeof(e), "field 'protocol' must be TCP or UDP");
        ok = false;
    }
    if (ok && strcmp(type, "ClusterIP") != 0 && strcmp(type, "NodePort") != 0) {
        snprintf(e, sizeof(e), "field 'serviceType' must be ClusterIP or NodePort");
        ok = false;
    }
    if (!ok)
        snprintf(jerr, GB_JSON_ERR_MAX, "field 'service': %.200s",
                 cJSON_IsObject(s) ? e : "must be an object");
    return ok;
}

static bool cron_ok(const cJSON *o, char *jerr)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "cronJobs"), *it;
    const char *sched, *act;
    if (!c || cJSON_IsNull(c)) return true;
    bool ok = cJSON_IsArray(c) && cJSON_GetArraySize(c) <= 16;
    const cJSON *each = ok ? c : NULL;
    cJSON_ArrayForEach(it, each) ok =
        ok && gb_json_str(it, "schedule", 1, 64, true, &sched, NULL) == GB_OK &&
        gb_json_str(it, "action", 1, 16, true, &act, NULL) == GB_OK && strcmp(act, "start") == 0;
    if (!ok)
        snprintf(jerr, GB_JSON_ERR_MAX,
                 "field 'cronJobs' must be at most 16 of {\"schedule\", \"action\":\"start\"}");
    return ok;
}

/* The checks create's options and update's changes share. */
static bool spec_fields_ok(const cJSON *o, char *jerr)
{
    char q[32];
    const char *s;
    int64_t i;
    bool b;
    if (gb_json_int(o, "replica", 1, 1024, false, &i, jerr) == GB_ERR_INVALID ||
        prov_primus_quantity(o, "cpu", true, "", q, sizeof(q), jerr) == GB_ERR_INVALID ||
        prov_primus_quantity(o, "memory", false, "Gi", q, sizeof(q), jerr) == GB_ERR_INVALID ||
        prov_primus_quantity(o, "ephemeralStorage", false, "Gi", q, sizeof(q), jerr) ==
            GB_ERR_INVALID ||
        gb_json_int(o, "priority", 0, 2, false, &i, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "timeout", 0, 31536000, false, &i, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "maxRetry", 0, 100, false, &i, jerr) == GB_ERR_INVALID ||
        gb_json_str(o, "description", 0, 1024, false, &s, jerr) == GB_ERR_INVALID ||
        gb_json_str(o, "command", 1, 65536, false, &s, jerr) == GB_ERR_INVALID ||
        gb_json_str(o, "entryPoint", 1, 90000, false, &s, jerr) == GB_ERR_INVALID ||
        gb_json_bool(o, "isSupervised", false, &b, jerr) == GB_ERR_INVALID ||
        !str_map_ok(o, "env", jerr) || !service_ok(o, jerr) || !cron_ok(o, jerr))
        return false;
    if ((s = gb_jstr(o, "entryPoint")) && !prov_primus_b64_valid(s)) {
        snprintf(jerr, GB_JSON_ERR_MAX,
                 "field 'entryPoint' must be base64 (or pass the plain text as 'command')");
        return false;
    }
    if (gb_jstr(o, "entryPoint") && gb_jstr(o, "command")) {
        snprintf(jerr, GB_JSON_ERR_MAX,
                 "field 'command' and field 'entryPoint' exclude each other");
        return false;
    }
    return true;
}

gb_err prov_primus_validate_options(const cJSON *o, char *err)
{
    static const char *const allowed[] = {
        "kind",           "workspaceId",  "command",       "entryPoint",
        "replica",        "cpu",          "memory",        "ephemeralStorage",
        "priority",       "timeout",      "maxRetry",      "ttlSecondsAfterFinished",
        "description",    "isSupervised", "isTolerateAll", "env",
        "customerLabels", "liveness",     "readiness",     "service",
        "specifiedNodes", "dependencies", "cronJobs",      NULL};
    char jerr[GB_JSON_ERR_MAX];
    const char *kind = NULL, *ws = NULL;
    int64_t i;
    bool b;
    if (!o || cJSON_IsNull(o)) return GB_OK;
    if (!cJSON_IsObject(o)) {
        snprintf(err, PROV_ERR_MAX, "provider_options must be a JSON object");
        return GB_ERR_INVALID;
    }
    if (gb_json_only_keys(o, allowed, jerr) ||
        gb_json_str(o, "kind", 1, 32, false, &kind, jerr) == GB_ERR_INVALID ||
        gb_json_str(o, "workspaceId", 1, 63, false, &ws, jerr) == GB_ERR_INVALID ||
        gb_json_int(o, "ttlSecondsAfterFinished", 0, 2592000, false, &i, jerr) == GB_ERR_INVALID ||
        gb_json_bool(o, "isTolerateAll", false, &b, jerr) == GB_ERR_INVALID ||
        !str_map_ok(o, "customerLabels", jerr) || !str_array_ok(o, "specifiedNodes", 16, jerr) ||
        !str_array_ok(o, "dependencies", 64, jerr) || !probe_ok(o, "liveness", jerr) ||
        !probe_ok(o, "readiness", jerr) || !spec_fields_ok(o, jerr))
        goto bad;
    if (kind && !prov_primus_kind_ok(kind)) {
        snprintf(jerr, sizeof(jerr),
                 "field 'kind' must be PyTorchJob, Deployment, StatefulSet or Authoring");
        goto bad;
    }
    if (ws && !prov_primus_id_ok(ws)) {
        snprintf(jerr, sizeof(jerr), "field 'workspaceId' is not a workspace id");
        goto bad;
    }
    bool svc = kind && (strcmp(kind, "Deployment") == 0 || strcmp(kind, "StatefulSet") == 0);
    const char *probe = cJSON_GetObjectItemCaseSensitive(o, "liveness")    ? "liveness"
                        : cJSON_GetObjectItemCaseSensitive(o, "readiness") ? "readiness"
                                                                           : NULL;
    if (probe && !svc) {
        snprintf(jerr, sizeof(jerr), "field '%s' needs \"kind\": Deployment or StatefulSet", probe);
        goto bad;
    }
    if (kind && strcmp(kind, "Authoring") == 0 &&
        gb_json_int(o, "replica", 2, 1024, false, &i, NULL) == GB_OK) {
        snprintf(jerr, sizeof(jerr), "field 'replica' must be 1 for an Authoring workload");
        goto bad;
    }
    return GB_OK;
bad:
    snprintf(err, PROV_ERR_MAX, "provider_options: %.440s", jerr);
    return GB_ERR_INVALID;
}

/* ---- update ---- */

gb_err prov_primus_check_changes(const cJSON *ch, char *err)
{
    static const char *const allowed[] = {
        "priority",         "replica",      "cpu",      "gpu",        "gpu_count", "memory",
        "ephemeralStorage", "sharedMemory", "image",    "entryPoint", "command",   "env",
        "description",      "timeout",      "maxRetry", "cronJobs",   "service",   NULL};
    char jerr[GB_JSON_ERR_MAX], q[32];
    const char *img;
    int64_t gpus = -1;
    if (!cJSON_IsObject(ch)) {
        snprintf(err, PROV_ERR_MAX, "changes must be a JSON object");
        return GB_ERR_INVALID;
    }
    if (cJSON_GetObjectItemCaseSensitive(ch, "name") ||
        cJSON_GetObjectItemCaseSensitive(ch, "ssh_public_keys")) {
        snprintf(err, PROV_ERR_MAX,
                 "field '%s' cannot be changed on Primus-SaFE (the workload's "
                 "displayName and access are fixed at creation)",
                 cJSON_GetObjectItemCaseSensitive(ch, "name") ? "name" : "ssh_public_keys");
        return GB_ERR_INVALID;
    }
    if (gb_json_only_keys(ch, allowed, jerr) || !spec_fields_ok(ch, jerr) ||
        gb_json_str(ch, "image", 1, 512, false, &img, jerr) == GB_ERR_INVALID ||
        prov_primus_quantity(ch, "sharedMemory", false, "Gi", q, sizeof(q), jerr) ==
            GB_ERR_INVALID ||
        gb_json_int(ch, "gpu_count", 0, 64, false, &gpus, jerr) == GB_ERR_INVALID) {
        snprintf(err, PROV_ERR_MAX, "%s", jerr);
        return GB_ERR_INVALID;
    }
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(ch, "gpu");
    if (g && !cJSON_IsNull(g) &&
        !(cJSON_IsString(g) && gb_parse_i64(g->valuestring, 0, 64, &gpus) == 0) &&
        gb_json_int(ch, "gpu", 0, 64, true, &gpus, NULL) != GB_OK) {
        snprintf(err, PROV_ERR_MAX, "field 'gpu' must be a GPU count from 0 to 64");
        return GB_ERR_INVALID;
    }
    return GB_OK;
}
