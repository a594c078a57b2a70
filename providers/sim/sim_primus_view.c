/* sim_primus_view.c: the Primus-SaFE simulator's far-side view for tests (/_sim/workloads):
 * what exists at the platform, in the one shape every simulator gives (sim_platform.workloads). */
#include "providers/sim/sim_primus_int.h"

cJSON *sim_primus_workloads(void *state)
{
    sp_state *st = state;
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; out && i < st->nwls; i++) {
        const sp_wl *w = st->wls[i];
        cJSON *o = w ? cJSON_CreateObject() : NULL;
        if (!o) continue;
        const cJSON *img = cJSON_GetArrayItem(w->images, 0);
        cJSON_AddStringToObject(o, "id", w->id);
        cJSON_AddStringToObject(o, "name", w->display_name);
        cJSON_AddStringToObject(o, "status", SIM_PRIMUS_PHASES[w->phase]);
        cJSON_AddStringToObject(o, "image", cJSON_IsString(img) ? img->valuestring : "");
        cJSON_AddArrayToObject(o, "ssh_keys"); /* the workloads API takes none */
        cJSON_AddNullToObject(o, "registry_username");
        cJSON_AddItemToArray(out, o);
    }
    return out;
}
