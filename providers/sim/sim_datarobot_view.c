/* sim_datarobot_view.c: the DataRobot simulator's far-side view for tests (/_sim/workloads):
 * what exists at the platform, in the one shape every simulator gives (sim_platform.workloads). */
#include "providers/sim/sim_datarobot_int.h"

cJSON *sim_datarobot_workloads(void *state)
{
    sdr_state *st = state;
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; out && i < st->n; i++) {
        const sdr_wl *w = st->wls[i];
        cJSON *o = w ? cJSON_CreateObject() : NULL;
        if (!o) continue;
        cJSON_AddStringToObject(o, "id", w->id);
        cJSON_AddStringToObject(o, "name", w->name);
        cJSON_AddStringToObject(o, "status", sim_datarobot_status_name(w->status));
        cJSON_AddStringToObject(o, "image", w->settings.image);
        cJSON_AddArrayToObject(o, "ssh_keys"); /* the Workload API takes none */
        cJSON_AddNullToObject(o, "registry_username");
        cJSON_AddItemToArray(out, o);
    }
    return out;
}
