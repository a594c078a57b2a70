/* sim_datarobot_settings.c: the DataRobot simulator's runtime settings: reading a settings
 * object (all of it at create, what is present at PATCH) with DataRobot's 422 naming the
 * field, and copying and freeing them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_datarobot_int.h"

#define CHECK(call, field)                                                                         \
    do {                                                                                           \
        if ((e = (call)) == GB_ERR_INVALID) {                                                      \
            sim_datarobot_invalid(rs, field, "%s", err);                                           \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static bool env_name_ok(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static int read_env(const cJSON *j, sdr_settings *io, sim_resp *rs)
{
    char err[GB_JSON_ERR_MAX];
    const cJSON *arr = NULL, *it;
    gb_err e;
    CHECK(gb_json_array(j, "environment", SDR_MAX_ENV, false, &arr, err), "environment");
    if (e != GB_OK) return 0;
    cJSON_ArrayForEach(it, arr)
    {
        const char *n = NULL, *v = NULL;
        if (!cJSON_IsObject(it) || gb_json_str(it, "name", 1, 128, true, &n, err) ||
            gb_json_str(it, "value", 0, 4096, true, &v, err) || !env_name_ok(n)) {
            sim_datarobot_invalid(rs, "environment",
                                  "entries must be {name, value} with a name like MY_VAR");
            return -1;
        }
    }
    cJSON *dup = cJSON_Duplicate(arr, 1);
    if (!dup) {
        sim_datarobot_err(rs, 500, "out of memory");
        return -1;
    }
    cJSON_Delete(io->environment);
    io->environment = dup;
    return 0;
}

int sim_datarobot_settings_read(const cJSON *j, sdr_settings *io, bool create, sim_resp *rs)
{
    static const char *const keys[] = {"replicas", "autoscaling", "resources", "image",
                                       "port",     "environment", NULL};
    static const char *const rkeys[] = {"gpu", "cpu", "memory", NULL};
    static const char *const akeys[] = {"enabled", "minReplicas", "maxReplicas", NULL};
    char err[GB_JSON_ERR_MAX];
    gb_err e;
    int64_t v;
    bool b;
    const char *s = NULL;
    if (!cJSON_IsObject(j) || gb_json_only_keys(j, keys, err)) {
        sim_datarobot_invalid(rs, "settings", "%s",
                              cJSON_IsObject(j) ? err : "must be a JSON object");
        return -1;
    }
    CHECK(gb_json_int(j, "replicas", 1, SDR_MAX_REPLICAS, false, &v, err), "replicas");
    if (e == GB_OK) io->replicas = (int)v;
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "resources");
    if (res) {
        if (!cJSON_IsObject(res) || gb_json_only_keys(res, rkeys, err)) {
            sim_datarobot_invalid(rs, "resources", "%s",
                                  cJSON_IsObject(res) ? err : "must be a JSON object");
            return -1;
        }
        CHECK(gb_json_int(res, "gpu", 0, SDR_NODE_GPUS, false, &v, err), "resources.gpu");
        if (e == GB_OK) io->gpu = (int)v;
        CHECK(gb_json_int(res, "cpu", 1, 128, false, &v, err), "resources.cpu");
        if (e == GB_OK) io->cpu = (int)v;
        CHECK(gb_json_int(res, "memory", 256, 1048576, false, &v, err), "resources.memory");
        if (e == GB_OK) io->memory_mb = (int)v;
    }
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(j, "autoscaling");
    if (as) {
        if (!cJSON_IsObject(as) || gb_json_only_keys(as, akeys, err)) {
            sim_datarobot_invalid(rs, "autoscaling", "%s",
                                  cJSON_IsObject(as) ? err : "must be a JSON object");
            return -1;
        }
        CHECK(gb_json_bool(as, "enabled", false, &b, err), "autoscaling.enabled");
        if (e == GB_OK) io->autoscaling = b;
        CHECK(gb_json_int(as, "minReplicas", 1, SDR_MAX_REPLICAS, false, &v, err),
              "autoscaling.minReplicas");
        if (e == GB_OK) io->min_replicas = (int)v;
        CHECK(gb_json_int(as, "maxReplicas", 1, SDR_MAX_REPLICAS, false, &v, err),
              "autoscaling.maxReplicas");
        if (e == GB_OK) io->max_replicas = (int)v;
    } else if (!io->autoscaling) {
        io->min_replicas = io->max_replicas = io->replicas;
    }
    if (io->min_replicas > io->max_replicas) {
        sim_datarobot_invalid(rs, "autoscaling", "minReplicas must not exceed maxReplicas");
        return -1;
    }
    CHECK(gb_json_str(j, "image", 1, SDR_IMAGE_MAX, create, &s, err), "image");
    if (e == GB_OK) gb_strlcpy(io->image, s, sizeof(io->image));
    CHECK(gb_json_int(j, "port", 1, 65535, false, &v, err), "port");
    if (e == GB_OK) io->port = (int)v;
    return read_env(j, io, rs);
}

int sim_datarobot_settings_copy(sdr_settings *dst, const sdr_settings *src)
{
    *dst = *src;
    dst->environment = src->environment ? cJSON_Duplicate(src->environment, 1) : NULL;
    return src->environment && !dst->environment ? -1 : 0;
}

void sim_datarobot_settings_free(sdr_settings *s)
{
    cJSON_Delete(s->environment);
    s->environment = NULL;
}
