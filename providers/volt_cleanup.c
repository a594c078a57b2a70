/* volt_cleanup.c: after a Volt pod is deleted, the template and SSH keys the adapter
 * registered for it are deleted too (DELETE /api/volt/templates/:id and /ssh-keys/:id, seed
 * 004), so they do not pile up at the Volt account. Best effort: a failure keeps them. */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/volt_int.h"

#define VOLT_CLEANUP_MAX_PODS 32 /* other live pods read to see who else uses a key */

void prov_volt_template_name(const char *pod_name, char *out, size_t n)
{
    gb_snprintf(out, n < 129 ? n : 129, "gpubroker-%s", pod_name ? pod_name : "");
}

static void delete_one(prov_adapter *a, const char *what, const char *id)
{
    char path[200], err[PROV_ERR_MAX];
    if (!prov_volt_id_ok(id)) return;
    snprintf(path, sizeof(path), "/%s/%s", what, id);
    (void)prov_volt_call(a, "DELETE", path, NULL, true, NULL, NULL, err);
}

/* The template "gpubroker-<name>" (never a system one). */
void prov_volt_drop_template(prov_adapter *a, const char *name)
{
    char tname[129], err[PROV_ERR_MAX];
    cJSON *list = NULL;
    prov_volt_template_name(name, tname, sizeof(tname));
    if (prov_volt_call(a, "GET", "/templates", NULL, true, &list, NULL, err)) return;
    const cJSON *t;
    cJSON_ArrayForEach(t, prov_volt_list_of(list, "templates"))
    {
        const char *nm = gb_jstr(t, "name");
        if (nm && strcmp(nm, tname) == 0 &&
            !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "is_system")))
            delete_one(a, "templates", gb_jstr(t, "id"));
    }
    cJSON_Delete(list);
}

static bool holds(const cJSON *arr, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it,
                       arr) if (cJSON_IsString(it) && strcmp(it->valuestring, id) == 0) return true;
    return false;
}

/* Marks in used[] (parallel to keys) the keys another live pod lists; false when that could
 * not be found out (then nothing is deleted). */
static bool keys_used_elsewhere(prov_adapter *a, const char *self, const cJSON *keys, bool *used)
{
    char err[PROV_ERR_MAX];
    cJSON *list = NULL;
    if (prov_volt_call(a, "GET", "/pods", NULL, true, &list, NULL, err)) return false;
    bool ok = true;
    int seen = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, prov_volt_list_of(list, "pods"))
    {
        const char *pid = gb_jstr(p, "id"), *st = gb_jstr(p, "status");
        if (!pid || strcmp(pid, self) == 0 || (st && gb_str_ieq(st, "deleted"))) continue;
        char path[160];
        cJSON *full = NULL;
        if (++seen > VOLT_CLEANUP_MAX_PODS || !prov_volt_id_ok(pid)) {
            ok = false;
            break;
        }
        snprintf(path, sizeof(path), "/pods/%s", pid);
        gb_err e = prov_volt_call(a, "GET", path, NULL, true, &full, NULL, err);
        if (e == GB_ERR_NOT_FOUND) continue;
        if (e) {
            ok = false;
            break;
        }
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(full, "pod");
        const cJSON *theirs =
            cJSON_GetObjectItemCaseSensitive(cJSON_IsObject(in) ? in : full, "ssh_keys");
        int i = 0;
        const cJSON *k;
        cJSON_ArrayForEach(k, keys)
        {
            if (cJSON_IsString(k) && holds(theirs, k->valuestring)) used[i] = true;
            i++;
        }
        cJSON_Delete(full);
    }
    cJSON_Delete(list);
    return ok;
}

/* The pod's keys that the adapter registered ("gpubroker-..." names) and nobody else uses. */
static void drop_keys(prov_adapter *a, const char *id, const cJSON *keys)
{
    char err[PROV_ERR_MAX];
    bool used[16] = {false};
    int n = cJSON_GetArraySize(keys);
    if (n <= 0 || n > 16) return;
    cJSON *list = NULL;
    if (prov_volt_call(a, "GET", "/ssh-keys", NULL, true, &list, NULL, err)) return;
    bool any = false;
    int i = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        const cJSON *it;
        used[i] = true; /* until found to be ours */
        cJSON_ArrayForEach(it, prov_volt_list_of(list, "ssh_keys"))
        {
            const char *kid = gb_jstr(it, "id"), *nm = gb_jstr(it, "name");
            if (cJSON_IsString(k) && kid && strcmp(kid, k->valuestring) == 0 && nm &&
                strncmp(nm, "gpubroker-", 10) == 0) {
                used[i] = false;
                any = true;
            }
        }
        i++;
    }
    cJSON_Delete(list);
    if (!any || !keys_used_elsewhere(a, id, keys, used)) return;
    i = 0;
    cJSON_ArrayForEach(k, keys)
    {
        if (!used[i++]) delete_one(a, "ssh-keys", k->valuestring);
    }
}

void prov_volt_cleanup(prov_adapter *a, const char *id, const cJSON *pod)
{
    const char *name = gb_jstr(pod, "name");
    if (name && name[0]) prov_volt_drop_template(a, name);
    drop_keys(a, id, cJSON_GetObjectItemCaseSensitive(pod, "ssh_keys"));
}
