/* sim_targon_check.c: the Targon simulator's validation of Create and Update Workload bodies:
 * v2 as docs.targon.com/api/workloads documents it (RENTAL/SERVERLESS, app_id,
 * serverless_config), v3 as targon-sdk libs/go/workload.go builds it (RENTAL/VM, vm_config;
 * SERVERLESS, INFERENCE and FUNCTION deprecated; no app_id or serverless_config). Unknown fields
 * are refused. */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_targon_int.h"

static const char *const CREATE_KEYS[] = {"name",
                                          "image",
                                          "resource_name",
                                          "type",
                                          "project_id",
                                          "app_id",
                                          "ports",
                                          "envs",
                                          "commands",
                                          "args",
                                          "registry_auth",
                                          "volumes",
                                          "ssh_keys",
                                          "serverless_config",
                                          NULL};
/* v3 CreateWorkloadRequest / UpdateWorkloadRequest (libs/go/workload.go toPayload). */
static const char *const CREATE_KEYS_V3[] = {
    "name",     "image", "resource_name", "type",    "project_id", "ports",     "envs",
    "commands", "args",  "registry_auth", "volumes", "ssh_keys",   "vm_config", NULL};
static const char *const PATCH_KEYS_V3[] = {"name",     "image",         "project_id", "ports",
                                            "envs",     "commands",      "args",       "volumes",
                                            "ssh_keys", "registry_auth", NULL};
static const char *const PATCH_KEYS[] = {
    "name",     "image", "project_id", "app_id",   "ports",         "envs",
    "commands", "args",  "volumes",    "ssh_keys", "registry_auth", "serverless_config",
    NULL};

static bool is_one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0) return true;
    return false;
}

/* Lowercase alphanumerics and hyphens, as the seed requires of names. */
static int check_name(const char *n, char *err)
{
    for (const char *p = n; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
            snprintf(err, GB_JSON_ERR_MAX,
                     "field 'name' must contain only lowercase alphanumerics and hyphens");
            return -1;
        }
    }
    return 0;
}

static int check_strings(const cJSON *spec, const char *key, size_t max_items, char *err)
{
    const cJSON *a = NULL;
    gb_err e = gb_json_array(spec, key, max_items, false, &a, err);
    if (e == GB_ERR_NOT_FOUND) return 0;
    if (e) return -1;
    const cJSON *v;
    cJSON_ArrayForEach(v, a)
    {
        if (!cJSON_IsString(v) || strlen(v->valuestring) > 4096) {
            snprintf(err, GB_JSON_ERR_MAX, "field '%s' must be an array of strings", key);
            return -1;
        }
    }
    return 0;
}

static int check_ports(const cJSON *spec, char *err)
{
    static const char *const protos[] = {"TCP", "UDP", "SCTP", NULL};
    static const char *const routes[] = {"PROXIED", "DIRECT", NULL};
    const cJSON *a = NULL, *p;
    gb_err e = gb_json_array(spec, "ports", 32, false, &a, err);
    if (e == GB_ERR_NOT_FOUND) return 0;
    if (e) return -1;
    cJSON_ArrayForEach(p, a)
    {
        int64_t port;
        const char *s;
        if (!cJSON_IsObject(p)) {
            snprintf(err, GB_JSON_ERR_MAX, "field 'ports' must be an array of port objects");
            return -1;
        }
        if (gb_json_int(p, "port", 1024, 65535, true, &port, err)) return -1;
        e = gb_json_str(p, "protocol", 1, 8, false, &s, err);
        if (e == GB_OK && !is_one_of(s, protos)) {
            snprintf(err, GB_JSON_ERR_MAX, "field 'protocol' must be TCP, UDP or SCTP");
            return -1;
        }
        if (e != GB_OK && e != GB_ERR_NOT_FOUND) return -1;
        e = gb_json_str(p, "routing", 1, 8, false, &s, err);
        if (e == GB_OK && !is_one_of(s, routes)) {
            snprintf(err, GB_JSON_ERR_MAX, "field 'routing' must be PROXIED or DIRECT");
            return -1;
        }
        if (e != GB_OK && e != GB_ERR_NOT_FOUND) return -1;
    }
    return 0;
}

static int check_envs(const cJSON *spec, char *err)
{
    const cJSON *a = NULL, *v;
    const char *s;
    gb_err e = gb_json_array(spec, "envs", 128, false, &a, err);
    if (e == GB_ERR_NOT_FOUND) return 0;
    if (e) return -1;
    cJSON_ArrayForEach(v, a)
    {
        if (!cJSON_IsObject(v)) {
            snprintf(err, GB_JSON_ERR_MAX, "field 'envs' must be an array of {name, value}");
            return -1;
        }
        if (gb_json_str(v, "name", 1, 256, true, &s, err)) return -1;
        e = gb_json_str(v, "value", 0, 32768, false, &s, err);
        if (e != GB_OK && e != GB_ERR_NOT_FOUND) return -1;
    }
    return 0;
}

static int check_volumes(const cJSON *spec, char *err)
{
    const cJSON *a = NULL, *v;
    const char *s;
    bool b;
    gb_err e = gb_json_array(spec, "volumes", 16, false, &a, err);
    if (e == GB_ERR_NOT_FOUND) return 0;
    if (e) return -1;
    cJSON_ArrayForEach(v, a)
    {
        if (!cJSON_IsObject(v)) {
            snprintf(err, GB_JSON_ERR_MAX, "field 'volumes' must be an array of volume mounts");
            return -1;
        }
        if (gb_json_str(v, "uid", 1, 64, true, &s, err)) return -1;
        if (gb_json_str(v, "mount_path", 1, 1024, true, &s, err)) return -1;
        if (s[0] != '/') {
            snprintf(err, GB_JSON_ERR_MAX, "field 'mount_path' must be an absolute path");
            return -1;
        }
        e = gb_json_bool(v, "read_only", false, &b, err);
        if (e != GB_OK && e != GB_ERR_NOT_FOUND) return -1;
    }
    return 0;
}

static int check_keys(sim_targon_state *st, const cJSON *spec, char *err)
{
    const cJSON *a = NULL, *v;
    gb_err e = gb_json_array(spec, "ssh_keys", 16, false, &a, err);
    if (e == GB_ERR_NOT_FOUND) return 0;
    if (e) return -1;
    cJSON_ArrayForEach(v, a)
    {
        size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
        bool ok = n > 4 && n <= 44 && gb_str_starts_with(v->valuestring, "shk-");
        for (size_t i = 4; ok && i < n; i++) {
            char c = v->valuestring[i];
            ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        }
        if (!ok) {
            snprintf(err, GB_JSON_ERR_MAX,
                     "field 'ssh_keys' must be an array of SSH key UIDs "
                     "(shk-...)");
            return -1;
        }
        if (!sim_targon_key_find(st, v->valuestring)) {
            snprintf(err, GB_JSON_ERR_MAX, "field 'ssh_keys': SSH key %.44s not found",
                     v->valuestring);
            return -1;
        }
    }
    return 0;
}

static int check_serverless(const cJSON *spec, char *err)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(spec, "serverless_config");
    if (!c || cJSON_IsNull(c)) return 0;
    if (!cJSON_IsObject(c)) {
        snprintf(err, GB_JSON_ERR_MAX, "field 'serverless_config' must be an object");
        return -1;
    }
    int64_t mn = 0, mx = 1000, v;
    static const char *const ints[] = {"initial_replicas", "container_concurrency",
                                       "target_concurrency", "timeout_seconds", "startup_timeout"};
    gb_err e = gb_json_int(c, "min_replicas", 0, 1000, false, &mn, err);
    if (e != GB_OK && e != GB_ERR_NOT_FOUND) return -1;
    e = gb_json_int(c, "max_replicas", 0, 1000, false, &mx, err);
    if (e != GB_OK && e != GB_ERR_NOT_FOUND) return -1;
    if (mx < mn) {
        snprintf(err, GB_JSON_ERR_MAX, "field 'max_replicas' must be at least min_replicas");
        return -1;
    }
    for (size_t i = 0; i < GB_ARRAY_LEN(ints); i++) {
        e = gb_json_int(c, ints[i], 0, 86400, false, &v, err);
        if (e != GB_OK && e != GB_ERR_NOT_FOUND) return -1;
    }
    return 0;
}

static int check_registry(const cJSON *spec, char *err)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(spec, "registry_auth");
    const char *s;
    if (!r || cJSON_IsNull(r)) return 0;
    if (!cJSON_IsObject(r)) {
        snprintf(err, GB_JSON_ERR_MAX, "field 'registry_auth' must be an object");
        return -1;
    }
    static const char *const keys[] = {"server", "username", "password"};
    for (size_t i = 0; i < GB_ARRAY_LEN(keys); i++) {
        gb_err e = gb_json_str(r, keys[i], 0, 4096, false, &s, err);
        if (e != GB_OK && e != GB_ERR_NOT_FOUND) return -1;
    }
    return 0;
}

static bool present(const cJSON *spec, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
    return v && !cJSON_IsNull(v);
}

/* v3 types: RENTAL (default) and VM; vm_config {password >= 4} only and always with VM, which
 * takes no commands, args, envs, volumes or registry_auth (libs/go/workload.go toPayload). */
static int check_type_v3(const cJSON *spec, const char *type, char *err)
{
    if (!strcmp(type, "SERVERLESS") || !strcmp(type, "INFERENCE") || !strcmp(type, "FUNCTION")) {
        snprintf(err, GB_JSON_ERR_MAX, "workload type %s has been deprecated", type);
        return -1;
    }
    if (strcmp(type, "RENTAL") != 0 && strcmp(type, "VM") != 0) {
        snprintf(err, GB_JSON_ERR_MAX, "type must be one of RENTAL, VM");
        return -1;
    }
    const cJSON *vm = cJSON_GetObjectItemCaseSensitive(spec, "vm_config");
    bool is_vm = strcmp(type, "VM") == 0;
    if (!is_vm && present(spec, "vm_config")) {
        snprintf(err, GB_JSON_ERR_MAX, "vm_config is only valid for VM workloads");
        return -1;
    }
    if (!is_vm) return 0;
    static const char *const vm_keys[] = {"password", NULL};
    const char *pw;
    if (!cJSON_IsObject(vm)) {
        snprintf(err, GB_JSON_ERR_MAX, "vm_config is required for VM workloads");
        return -1;
    }
    if (gb_json_only_keys(vm, vm_keys, err) || gb_json_str(vm, "password", 4, 256, true, &pw, err))
        return -1;
    static const char *const not_vm[] = {"commands", "args", "envs", "volumes", "registry_auth"};
    for (size_t i = 0; i < GB_ARRAY_LEN(not_vm); i++) {
        if (present(spec, not_vm[i])) {
            snprintf(err, GB_JSON_ERR_MAX,
                     "commands, args, envs, volumes, and registry_auth are not supported for VM "
                     "workloads");
            return -1;
        }
    }
    return 0;
}

int sim_targon_check_spec(sim_server *s, sim_targon_state *st, cJSON *spec, bool create,
                          const char *type, sim_resp *rs)
{
    char err[GB_JSON_ERR_MAX] = "";
    const char *str;
    gb_err e;
    bool v3 = st->api == 3;
    const char *const *keys =
        v3 ? (create ? CREATE_KEYS_V3 : PATCH_KEYS_V3) : (create ? CREATE_KEYS : PATCH_KEYS);
    if (gb_json_only_keys(spec, keys, err)) goto bad;
    e = gb_json_str(spec, "name", 1, 63, create, &str, err);
    if (e == GB_OK && check_name(str, err)) goto bad;
    if (e != GB_OK && e != GB_ERR_NOT_FOUND) goto bad;
    e = gb_json_str(spec, "image", 1, 512, create, &str, err);
    if (e != GB_OK && e != GB_ERR_NOT_FOUND) goto bad;
    if (create && v3) {
        if (gb_json_str(spec, "type", 1, 16, true, &type, err)) goto bad;
        if (check_type_v3(spec, type, err)) goto bad;
        if (gb_json_str(spec, "resource_name", 1, 64, true, &str, err)) goto bad;
        if (sim_targon_res_find(st, str) < 0) {
            snprintf(err, sizeof(err), "unknown resource_name '%.64s'", str);
            goto bad;
        }
    } else if (create) {
        if (gb_json_str(spec, "type", 1, 16, true, &type, err)) goto bad;
        if (strcmp(type, "RENTAL") != 0 && strcmp(type, "SERVERLESS") != 0) {
            snprintf(err, sizeof(err), "field 'type' must be RENTAL or SERVERLESS");
            goto bad;
        }
        if (gb_json_str(spec, "resource_name", 1, 64, true, &str, err)) goto bad;
        if (sim_targon_res_find(st, str) < 0) {
            snprintf(err, sizeof(err), "unknown resource_name '%.64s'", str);
            goto bad;
        }
    }
    static const char *const ids[] = {"project_id", "app_id"};
    for (size_t i = 0; i < GB_ARRAY_LEN(ids); i++) {
        e = gb_json_str(spec, ids[i], 0, 64, false, &str, err);
        if (e != GB_OK && e != GB_ERR_NOT_FOUND) goto bad;
    }
    if (check_ports(spec, err) || check_envs(spec, err) ||
        check_strings(spec, "commands", 64, err) || check_strings(spec, "args", 64, err) ||
        check_registry(spec, err) || check_volumes(spec, err) || check_keys(st, spec, err) ||
        check_serverless(spec, err))
        goto bad;
    bool rental = strcmp(type, "RENTAL") == 0;
    if (v3) return 0; /* no SERVERLESS-only fields in v3 */
    if (rental && present(spec, "serverless_config")) {
        snprintf(err, sizeof(err), "serverless_config is not allowed on a RENTAL workload");
        goto bad;
    }
    if (!rental && present(spec, "volumes")) {
        snprintf(err, sizeof(err), "volumes are not supported on a SERVERLESS workload");
        goto bad;
    }
    if (!rental && present(spec, "ssh_keys")) {
        snprintf(err, sizeof(err), "ssh_keys are only supported on a RENTAL workload");
        goto bad;
    }
    if (!rental && create && !present(spec, "serverless_config")) {
        snprintf(err, sizeof(err), "serverless_config is required for a SERVERLESS workload");
        goto bad;
    }
    return 0;
bad:
    sim_error(s, rs, 400, "%s", err[0] ? err : "invalid request body");
    return -1;
}
