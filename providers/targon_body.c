/* targon_body.c: the Targon adapter's request bodies: validation of provider_options and the
 * Create Workload / Update Workload JSON built from gpubroker's create request and changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/targon.h"

#define OPT_MAX_LIST 64
#define OPT_MAX_ATTACH 16

static const char *const OPTION_KEYS[] = {"type",   "serverless_config", "volumes", "project_id",
                                          "app_id", "commands",          "args",    "ssh_keys",
                                          NULL};
static const char *const SERVERLESS_KEYS[] = {"min_replicas",
                                              "max_replicas",
                                              "initial_replicas",
                                              "container_concurrency",
                                              "target_concurrency",
                                              "scale_up_delay",
                                              "scale_down_delay",
                                              "zero_grace_period",
                                              "scaling_metric",
                                              "target_value",
                                              "timeout_seconds",
                                              "startup_timeout",
                                              "liveness_probe",
                                              "readiness_probe",
                                              "startup_probe",
                                              "custom_annotations",
                                              NULL};
static const char *const VOLUME_KEYS[] = {"uid", "mount_path", "read_only", NULL};

/* Fills err with "targon provider_options: <what>" and returns GB_ERR_INVALID. */
static gb_err bad(char *err, const char *what)
{
    snprintf(err, PROV_ERR_MAX, "targon provider_options: %.440s", what);
    return GB_ERR_INVALID;
}

static bool set(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v && !cJSON_IsNull(v);
}

/* An SSH key uid as Targon issues them: "shk-" + letters and digits. */
static bool key_uid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n <= 4 || n > 64 || strncmp(s, "shk-", 4) != 0) return false;
    for (size_t i = 4; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

static gb_err check_strings(const cJSON *o, const char *key, char *err)
{
    char e[GB_JSON_ERR_MAX];
    const cJSON *a = NULL, *v;
    gb_err rc = gb_json_array(o, key, OPT_MAX_LIST, false, &a, e);
    if (rc == GB_ERR_NOT_FOUND) return GB_OK;
    if (rc) return bad(err, e);
    cJSON_ArrayForEach(v, a)
    {
        if (!cJSON_IsString(v) || strlen(v->valuestring) > 4096) {
            snprintf(e, sizeof(e), "field '%s' must be an array of strings (each at most 4096)",
                     key);
            return bad(err, e);
        }
    }
    return GB_OK;
}

static gb_err check_serverless(const cJSON *c, char *err)
{
    char e[GB_JSON_ERR_MAX], m[GB_JSON_ERR_MAX + 32];
    if (!cJSON_IsObject(c)) return bad(err, "field 'serverless_config' must be an object");
    if (gb_json_only_keys(c, SERVERLESS_KEYS, e)) {
        snprintf(m, sizeof(m), "serverless_config: %s", e);
        return bad(err, m);
    }
    static const char *const ints[] = {
        "min_replicas",       "max_replicas",    "initial_replicas", "container_concurrency",
        "target_concurrency", "timeout_seconds", "startup_timeout"};
    for (size_t i = 0; i < GB_ARRAY_LEN(ints); i++) {
        int64_t v;
        gb_err rc = gb_json_int(c, ints[i], 0, 86400, false, &v, e);
        if (rc && rc != GB_ERR_NOT_FOUND) {
            snprintf(m, sizeof(m), "serverless_config: %s", e);
            return bad(err, m);
        }
    }
    static const char *const objs[] = {"liveness_probe", "readiness_probe", "startup_probe",
                                       "custom_annotations"};
    for (size_t i = 0; i < GB_ARRAY_LEN(objs); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, objs[i]);
        if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v)) {
            snprintf(m, sizeof(m), "serverless_config: field '%s' must be an object", objs[i]);
            return bad(err, m);
        }
    }
    return GB_OK;
}

static gb_err check_volume(const cJSON *v, char e[GB_JSON_ERR_MAX])
{
    const char *s;
    bool b;
    if (!cJSON_IsObject(v)) {
        gb_strlcpy(e, "must be an object {uid, mount_path, read_only}", GB_JSON_ERR_MAX);
        return GB_ERR_INVALID;
    }
    if (gb_json_only_keys(v, VOLUME_KEYS, e) || gb_json_str(v, "uid", 1, 64, true, &s, e) ||
        gb_json_str(v, "mount_path", 1, 1024, true, &s, e))
        return GB_ERR_INVALID;
    if (s[0] != '/') {
        gb_strlcpy(e, "field 'mount_path' must be an absolute path", GB_JSON_ERR_MAX);
        return GB_ERR_INVALID;
    }
    gb_err rc = gb_json_bool(v, "read_only", false, &b, e);
    return rc == GB_ERR_NOT_FOUND ? GB_OK : rc;
}

static gb_err check_volumes(const cJSON *o, char *err)
{
    char e[GB_JSON_ERR_MAX], m[GB_JSON_ERR_MAX + 32];
    const cJSON *a = NULL, *v;
    gb_err rc = gb_json_array(o, "volumes", OPT_MAX_ATTACH, false, &a, e);
    if (rc == GB_ERR_NOT_FOUND) return GB_OK;
    if (rc) return bad(err, e);
    int i = 0;
    cJSON_ArrayForEach(v, a)
    {
        if (check_volume(v, e)) {
            snprintf(m, sizeof(m), "volumes[%d]: %s", i, e);
            return bad(err, m);
        }
        i++;
    }
    return GB_OK;
}

static gb_err check_keys(const cJSON *o, char *err)
{
    char e[GB_JSON_ERR_MAX];
    const cJSON *a = NULL, *v;
    gb_err rc = gb_json_array(o, "ssh_keys", OPT_MAX_ATTACH, false, &a, e);
    if (rc == GB_ERR_NOT_FOUND) return GB_OK;
    if (rc) return bad(err, e);
    cJSON_ArrayForEach(v, a)
    {
        if (!cJSON_IsString(v) || !key_uid(v->valuestring))
            return bad(err, "field 'ssh_keys' must be an array of Targon SSH key uids (shk-...)");
    }
    return GB_OK;
}

/* The workload type the options ask for ("RENTAL" unless type says SERVERLESS). */
static const char *type_of(const cJSON *o)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(t) && strcasecmp(t->valuestring, "SERVERLESS") == 0 ? "SERVERLESS"
                                                                              : "RENTAL";
}

gb_err prov_targon_validate_options(const cJSON *o, char *err)
{
    char e[GB_JSON_ERR_MAX];
    const char *s;
    gb_err rc;
    if (!o || cJSON_IsNull(o)) return GB_OK;
    if (!cJSON_IsObject(o)) return bad(err, "must be a JSON object");
    if (gb_json_only_keys(o, OPTION_KEYS, e)) return bad(err, e);
    rc = gb_json_str(o, "type", 1, 16, false, &s, e);
    if (rc && rc != GB_ERR_NOT_FOUND) return bad(err, e);
    if (rc == GB_OK && strcasecmp(s, "RENTAL") != 0 && strcasecmp(s, "SERVERLESS") != 0)
        return bad(err, "field 'type' must be RENTAL or SERVERLESS");
    static const char *const ids[] = {"project_id", "app_id"};
    for (size_t i = 0; i < GB_ARRAY_LEN(ids); i++) {
        rc = gb_json_str(o, ids[i], 1, 64, false, &s, e);
        if (rc && rc != GB_ERR_NOT_FOUND) return bad(err, e);
    }
    if ((rc = check_strings(o, "commands", err)) || (rc = check_strings(o, "args", err)) ||
        (rc = check_volumes(o, err)) || (rc = check_keys(o, err)))
        return rc;
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "serverless_config");
    if (sc && !cJSON_IsNull(sc) && (rc = check_serverless(sc, err))) return rc;
    bool serverless = strcmp(type_of(o), "SERVERLESS") == 0;
    if (!serverless && set(o, "serverless_config"))
        return bad(err, "field 'serverless_config' is only allowed with type SERVERLESS");
    if (serverless && set(o, "volumes"))
        return bad(err, "field 'volumes' is not supported with type SERVERLESS");
    if (serverless && set(o, "ssh_keys"))
        return bad(err, "field 'ssh_keys' is only supported with type RENTAL");
    if (serverless && !set(o, "serverless_config"))
        return bad(err, "field 'serverless_config' is required with type SERVERLESS");
    return GB_OK;
}

/* ---- bodies ---- */

static bool name_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '-'))
            return false;
    return len > 0 && len <= 63;
}

/* Appends the key uids: the resolved ones (key_uids), or, without them, the entries of lines
 * that are uids already; a raw public key then needs prov_targon_key_uids first. */
static gb_err add_keys(cJSON *keys, const char *const *lines, int n, const cJSON *key_uids,
                       const char *field, char *err)
{
    if (key_uids) {
        const cJSON *k;
        cJSON_ArrayForEach(k, key_uids)
        {
            if (!cJSON_IsString(k) || !key_uid(k->valuestring)) {
                snprintf(err, PROV_ERR_MAX, "targon: resolved SSH key is not a uid (shk-...)");
                return GB_ERR_INVALID;
            }
            if (!cJSON_AddItemToArray(keys, cJSON_CreateString(k->valuestring)))
                return GB_ERR_NOMEM;
        }
        return GB_OK;
    }
    for (int i = 0; i < n; i++) {
        if (!key_uid(lines[i])) {
            snprintf(err, PROV_ERR_MAX,
                     "targon: %s[%d] is not a Targon SSH key uid (shk-...); a raw public key is "
                     "uploaded by the adapter before the body is built",
                     field, i);
            return GB_ERR_INVALID;
        }
        if (!cJSON_AddItemToArray(keys, cJSON_CreateString(lines[i]))) return GB_ERR_NOMEM;
    }
    return GB_OK;
}

static gb_err add_copy(cJSON *body, const cJSON *opts, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(opts, key);
    if (!v || cJSON_IsNull(v)) return GB_OK;
    cJSON *c = cJSON_Duplicate(v, 1);
    return c && cJSON_AddItemToObject(body, key, c) ? GB_OK : GB_ERR_NOMEM;
}

/* v3 refuses what v2 had: SERVERLESS (targon-sdk libs/go/workload.go deprecatedWorkloadTypes),
 * serverless_config and app_id (not in CreateWorkloadRequest of libs/go/workload.go and
 * cli/src/client/types/workload.rs; CHANGELOG cli/3.0.0 "Removed ... unscoped app_id"). */
static gb_err check_v3(const cJSON *o, char *err)
{
    if (strcmp(type_of(o), "SERVERLESS") == 0) {
        snprintf(err, PROV_ERR_MAX,
                 "targon: workload type SERVERLESS is deprecated in Targon's v3 API (only RENTAL "
                 "and VM remain); use a RENTAL, or a provider registered with "
                 "{\"api_version\":\"v2\"}");
        return GB_ERR_INVALID;
    }
    static const char *const gone[] = {"serverless_config", "app_id"};
    for (size_t i = 0; i < GB_ARRAY_LEN(gone); i++) {
        if (set(o, gone[i])) {
            snprintf(err, PROV_ERR_MAX,
                     "targon provider_options: field '%s' does not exist in Targon's v3 API",
                     gone[i]);
            return GB_ERR_INVALID;
        }
    }
    return GB_OK;
}

gb_err prov_targon_create_body(const prov_create_req *req, int version, const cJSON *key_uids,
                               cJSON **out, char *err)
{
    *out = NULL;
    gb_err e = GB_ERR_NOMEM;
    const cJSON *o = req->options;
    const char *type = type_of(o);
    if (version == 3 && (e = check_v3(o, err))) return e;
    e = GB_ERR_NOMEM;
    if (!name_ok(req->name)) {
        snprintf(err, PROV_ERR_MAX, "targon: name must be 1-63 lowercase letters, digits or -");
        return GB_ERR_INVALID;
    }
    if (!req->image || !req->image[0]) {
        snprintf(err, PROV_ERR_MAX,
                 "targon: image is required (Targon runs a container image; "
                 "it has no templates)");
        return GB_ERR_INVALID;
    }
    if (!req->offer_id || !req->offer_id[0]) {
        snprintf(err, PROV_ERR_MAX, "targon: offer_id (the resource name) is required");
        return GB_ERR_INVALID;
    }
    cJSON *b = cJSON_CreateObject();
    if (!b || !cJSON_AddStringToObject(b, "name", req->name) ||
        !cJSON_AddStringToObject(b, "image", req->image) ||
        !cJSON_AddStringToObject(b, "resource_name", req->offer_id) ||
        !cJSON_AddStringToObject(b, "type", type))
        goto fail;
    static const char *const copied[] = {"project_id",        "app_id", "commands", "args",
                                         "serverless_config", "volumes"};
    for (size_t i = 0; i < GB_ARRAY_LEN(copied); i++)
        if ((e = add_copy(b, o, copied[i]))) goto fail;
    e = GB_ERR_NOMEM;
    if (req->nports > 0) {
        cJSON *ports = cJSON_AddArrayToObject(b, "ports");
        for (int i = 0; ports && i < req->nports; i++) {
            if (req->ports[i] < 1024 || req->ports[i] > 65535) {
                snprintf(err, PROV_ERR_MAX,
                         "targon: ports[%d]: %d is outside 1024-65535, the "
                         "range Targon accepts",
                         i, req->ports[i]);
                e = GB_ERR_INVALID;
                goto fail;
            }
            cJSON *p = cJSON_CreateObject();
            if (!p || !cJSON_AddItemToArray(ports, p) ||
                !cJSON_AddNumberToObject(p, "port", req->ports[i]) ||
                !cJSON_AddStringToObject(p, "protocol", "TCP") ||
                !cJSON_AddStringToObject(p, "routing", "PROXIED"))
                goto fail;
        }
        if (!ports) goto fail;
    }
    if (req->nenv > 0) {
        cJSON *envs = cJSON_AddArrayToObject(b, "envs");
        for (int i = 0; envs && i < req->nenv; i++) {
            const char *kv = req->env[i], *eq = kv ? strchr(kv, '=') : NULL;
            if (!eq || eq == kv) {
                snprintf(err, PROV_ERR_MAX, "targon: env[%d] must be NAME=value", i);
                e = GB_ERR_INVALID;
                goto fail;
            }
            char *name = gb_strndup(kv, (size_t)(eq - kv));
            cJSON *p = cJSON_CreateObject();
            bool ok = name && p && cJSON_AddItemToArray(envs, p) &&
                      cJSON_AddStringToObject(p, "name", name) &&
                      cJSON_AddStringToObject(p, "value", eq + 1);
            if (!ok && !cJSON_IsObject(p)) cJSON_Delete(p);
            free(name);
            if (!ok) goto fail;
        }
        if (!envs) goto fail;
    }
    if (req->registry_server || req->registry_username || req->registry_password) {
        cJSON *ra = cJSON_AddObjectToObject(b, "registry_auth");
        if (!ra ||
            !cJSON_AddStringToObject(ra, "server",
                                     req->registry_server ? req->registry_server : "") ||
            !cJSON_AddStringToObject(ra, "username",
                                     req->registry_username ? req->registry_username : "") ||
            !cJSON_AddStringToObject(ra, "password",
                                     req->registry_password ? req->registry_password : ""))
            goto fail;
    }
    const cJSON *ok_keys = cJSON_GetObjectItemCaseSensitive(o, "ssh_keys");
    if (req->nssh > 0 || cJSON_GetArraySize(ok_keys) > 0) {
        if (strcmp(type, "SERVERLESS") == 0) {
            snprintf(err, PROV_ERR_MAX, "targon: SSH keys are only supported on RENTAL workloads");
            e = GB_ERR_INVALID;
            goto fail;
        }
        cJSON *keys = cJSON_AddArrayToObject(b, "ssh_keys");
        const cJSON *k;
        if (!keys) goto fail;
        if (!key_uids) {
            cJSON_ArrayForEach(k, ok_keys)
            {
                const char *uid = cJSON_IsString(k) ? k->valuestring : "";
                if ((e = add_keys(keys, &uid, 1, NULL, "provider_options.ssh_keys", err)))
                    goto fail;
            }
        }
        if ((e = add_keys(keys, req->ssh_public_keys, req->nssh, key_uids, "ssh_public_keys", err)))
            goto fail;
    }
    /* Not sent: gpu_count (the resource name fixes it), volume_size_gb (Targon volumes are
     * objects of their own, mounted by uid through provider_options.volumes) and
     * max_price_per_hour (Targon takes no price; the broker compares cost_per_hour). */
    *out = b;
    return GB_OK;
fail:
    cJSON_Delete(b);
    if (e == GB_ERR_NOMEM) snprintf(err, PROV_ERR_MAX, "targon: out of memory");
    return e;
}

gb_err prov_targon_update_body(const cJSON *changes, const cJSON *key_uids, cJSON **out, char *err)
{
    static const char *const keys[] = {"name", "image", "ssh_public_keys", "ssh_keys", NULL};
    char e[GB_JSON_ERR_MAX];
    const char *s;
    gb_err rc;
    *out = NULL;
    if (!changes || cJSON_IsNull(changes)) return GB_OK;
    if (gb_json_only_keys(changes, keys, e)) {
        snprintf(err, PROV_ERR_MAX, "targon update: %.440s", e);
        return GB_ERR_INVALID;
    }
    cJSON *b = cJSON_CreateObject();
    if (!b) return GB_ERR_NOMEM;
    rc = gb_json_str(changes, "name", 1, 63, false, &s, e);
    if (rc == GB_OK && !name_ok(s)) {
        rc = GB_ERR_INVALID;
        gb_strlcpy(e, "field 'name' must be lowercase letters, digits or -", sizeof(e));
    }
    if (rc == GB_OK && !cJSON_AddStringToObject(b, "name", s)) rc = GB_ERR_NOMEM;
    if (rc && rc != GB_ERR_NOT_FOUND) goto fail;
    rc = gb_json_str(changes, "image", 1, 512, false, &s, e);
    if (rc == GB_OK && !cJSON_AddStringToObject(b, "image", s)) rc = GB_ERR_NOMEM;
    if (rc && rc != GB_ERR_NOT_FOUND) goto fail;
    cJSON *keys_out = NULL;
    static const char *const key_fields[] = {"ssh_public_keys", "ssh_keys"};
    for (size_t f = 0; f < GB_ARRAY_LEN(key_fields); f++) {
        const cJSON *a = NULL, *k;
        rc = gb_json_array(changes, key_fields[f], OPT_MAX_ATTACH, false, &a, e);
        if (rc == GB_ERR_NOT_FOUND) continue;
        if (rc) goto fail;
        if (!keys_out && !(keys_out = cJSON_AddArrayToObject(b, "ssh_keys"))) {
            rc = GB_ERR_NOMEM;
            goto fail;
        }
        if (key_uids) continue; /* resolved below, once for both fields */
        int i = 0;
        cJSON_ArrayForEach(k, a)
        {
            const char *line = cJSON_IsString(k) ? k->valuestring : "";
            if ((rc = add_keys(keys_out, &line, 1, NULL, key_fields[f], err))) {
                cJSON_Delete(b);
                if (rc == GB_ERR_INVALID)
                    snprintf(err, PROV_ERR_MAX,
                             "targon update: %s[%d] must be a Targon SSH key uid (shk-...)",
                             key_fields[f], i);
                return rc;
            }
            i++;
        }
    }
    if (keys_out && key_uids && (rc = add_keys(keys_out, NULL, 0, key_uids, "ssh_keys", err))) {
        cJSON_Delete(b);
        return rc;
    }
    if (!b->child) {
        cJSON_Delete(b);
        return GB_OK;
    }
    *out = b;
    return GB_OK;
fail:
    cJSON_Delete(b);
    if (rc == GB_ERR_NOMEM) gb_strlcpy(e, "out of memory", sizeof(e));
    snprintf(err, PROV_ERR_MAX, "targon update: %.440s", e);
    return rc == GB_ERR_NOMEM ? GB_ERR_NOMEM : GB_ERR_INVALID;
}
