/* sim_targon_view.c: the Targon simulator's far-side view for tests (/_sim/workloads): what
 * exists at the platform, in the one shape every simulator gives (see sim_platform.workloads). */
#include <string.h>

#include "providers/sim/sim_targon_int.h"

static const char *str_or_empty(const cJSON *j)
{
    return cJSON_IsString(j) ? j->valuestring : "";
}

cJSON *sim_targon_workloads(void *state)
{
    sim_targon_state *st = state;
    cJSON *out = cJSON_CreateArray();
    for (int i = 0; out && i < st->nwl; i++) {
        const sim_targon_wl *w = st->wl[i];
        if (!w || strcmp(w->status, "deleted") == 0) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON *keys = o ? cJSON_AddArrayToObject(o, "ssh_keys") : NULL;
        if (!keys) {
            cJSON_Delete(o);
            continue;
        }
        cJSON_AddStringToObject(o, "id", w->uid);
        cJSON_AddStringToObject(o, "name", str_or_empty(cJSON_GetObjectItem(w->spec, "name")));
        cJSON_AddStringToObject(o, "status", w->status);
        cJSON_AddStringToObject(o, "image", str_or_empty(cJSON_GetObjectItem(w->spec, "image")));
        const cJSON *k;
        cJSON_ArrayForEach(k, cJSON_GetObjectItem(w->spec, "ssh_keys"))
        {
            /* the spec names key uids: show the public key each one stands for */
            const sim_targon_key *key =
                cJSON_IsString(k) ? sim_targon_key_find(st, k->valuestring) : NULL;
            cJSON_AddItemToArray(keys, cJSON_CreateString(key                 ? key->public_key_raw
                                                          : cJSON_IsString(k) ? k->valuestring
                                                                              : ""));
        }
        const char *user = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(w->spec, "registry_auth"), "username"));
        if (user)
            cJSON_AddStringToObject(o, "registry_username", user);
        else
            cJSON_AddNullToObject(o, "registry_username");
        cJSON_AddItemToArray(out, o);
    }
    return out;
}
