/* sim_volt_view.c: the Volt simulator's far-side view for tests (/_sim/workloads): what exists
 * at the platform, in the one shape every simulator gives (see sim_platform.workloads). */
#include <string.h>

#include "providers/sim/sim_volt_int.h"

cJSON *sim_volt_workloads(void *state)
{
    sv_state *st = state;
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; out && i < st->npods; i++) {
        const sv_pod *p = &st->pods[i];
        if (p->status == SV_DELETED) continue;
        cJSON *j = sim_volt_pod_json(st, p, true); /* its status word, as the API says it */
        cJSON *o = cJSON_CreateObject();
        cJSON *keys = o ? cJSON_AddArrayToObject(o, "ssh_keys") : NULL;
        if (!j || !keys) {
            cJSON_Delete(j);
            cJSON_Delete(o);
            continue;
        }
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
        cJSON_AddStringToObject(o, "id", p->id);
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON_AddStringToObject(o, "status", cJSON_IsString(status) ? status->valuestring : "");
        cJSON_AddStringToObject(o, "image", p->image);
        for (int k = 0; k < p->nssh; k++) {
            const sv_key *key = sim_volt_key_find(st, p->ssh_keys[k]);
            cJSON_AddItemToArray(keys, cJSON_CreateString(key && key->public_key ? key->public_key
                                                                                 : p->ssh_keys[k]));
        }
        cJSON_AddNullToObject(o, "registry_username"); /* Volt's pod API takes none */
        cJSON_Delete(j);
        cJSON_AddItemToArray(out, o);
    }
    return out;
}
