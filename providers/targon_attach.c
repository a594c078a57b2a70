/* targon_attach.c: Targon's workload attachments and checks beyond the vtable: attaching and
 * detaching volumes and SSH keys (by their Targon uids) and verifying an image digest. */
#include <stdio.h>
#include <string.h>

#include "common/str.h"
#include "providers/targon.h"

/* Targon ids of volumes and keys: letters, digits, '-' and '_', 1..64. */
static int uid_ok(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return s && n > 0 && n <= 64;
}

/* One PUT/DELETE of workload uid + tail with an optional body; any 2xx is success. */
static gb_err call(prov_adapter *a, const char *method, const char *uid, const char *kind,
                   const char *what, const cJSON *body, char *err)
{
    if (!uid_ok(what)) {
        snprintf(err, PROV_ERR_MAX, "%s: invalid %s uid", a->name, kind);
        return GB_ERR_INVALID;
    }
    char tail[160], path[PROV_TARGON_PATH_MAX];
    snprintf(tail, sizeof(tail), "/%s/%s", kind, what);
    gb_err e = prov_targon_uid_path(a, uid, tail, path, err);
    if (e) return e;
    return prov_call(a, method, path, body, true, NULL, NULL, err);
}

gb_err prov_targon_attach_volume(prov_adapter *a, const char *uid, const char *volume_uid,
                                 const char *mount_path, bool read_only, char *err)
{
    if (!mount_path || mount_path[0] != '/' || strlen(mount_path) > 256) {
        snprintf(err, PROV_ERR_MAX, "mount_path must be an absolute path of at most 256 bytes");
        return GB_ERR_INVALID;
    }
    cJSON *b = cJSON_CreateObject();
    if (!b) return GB_ERR_NOMEM;
    cJSON_AddStringToObject(b, "mount_path", mount_path);
    cJSON_AddBoolToObject(b, "read_only", read_only);
    gb_err e = call(a, "PUT", uid, "volumes", volume_uid, b, err);
    cJSON_Delete(b);
    return e;
}

gb_err prov_targon_detach_volume(prov_adapter *a, const char *uid, const char *volume_uid,
                                 char *err)
{
    return call(a, "DELETE", uid, "volumes", volume_uid, NULL, err);
}

gb_err prov_targon_attach_ssh_key(prov_adapter *a, const char *uid, const char *key_uid, char *err)
{
    return call(a, "PUT", uid, "ssh-keys", key_uid, NULL, err);
}

gb_err prov_targon_detach_ssh_key(prov_adapter *a, const char *uid, const char *key_uid, char *err)
{
    return call(a, "DELETE", uid, "ssh-keys", key_uid, NULL, err);
}

gb_err prov_targon_verify(prov_adapter *a, const char *uid, const char *digest, bool *verified,
                          char *err)
{
    *verified = false;
    if (!uid_ok(uid) || !digest || !digest[0] || strlen(digest) > 128) {
        snprintf(err, PROV_ERR_MAX, "%s: verify needs a workload uid and a digest", a->name);
        return GB_ERR_INVALID;
    }
    char path[PROV_TARGON_PATH_MAX];
    gb_err e = prov_targon_path(a, "workloads", "/verify", path, err);
    if (e) return e;
    cJSON *b = cJSON_CreateObject();
    if (!b) return GB_ERR_NOMEM;
    cJSON_AddStringToObject(b, "uid", uid);
    cJSON_AddStringToObject(b, "digest", digest);
    cJSON *j = NULL;
    e = prov_call(a, "POST", path, b, true, &j, NULL, err);
    cJSON_Delete(b);
    if (!e) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "verified");
        if (cJSON_IsBool(v)) {
            *verified = cJSON_IsTrue(v);
        } else {
            snprintf(err, PROV_ERR_MAX, "%s: verify answer has no 'verified'", a->name);
            e = GB_ERR_PROVIDER;
        }
    }
    cJSON_Delete(j);
    return e;
}
