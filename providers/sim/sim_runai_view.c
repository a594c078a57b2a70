/* sim_runai_view.c: the Run:ai simulator's far-side view for tests (/_sim/workloads): what
 * exists at the platform, in the one shape every simulator gives (sim_platform.workloads). */
#include "providers/sim/sim_runai_int.h"

cJSON *sim_runai_workloads(void *state)
{
    sr_state *st = state;
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; out && i < st->n; i++) {
        const sr_workload *w = st->wl[i];
        cJSON *o = w && !w->gone ? cJSON_CreateObject() : NULL;
        if (!o) continue;
        cJSON_AddStringToObject(o, "id", w->id);
        cJSON_AddStringToObject(o, "name", w->name);
        cJSON_AddStringToObject(o, "status", sim_runai_phase_name(w->phase));
        cJSON_AddStringToObject(o, "image", w->info.image);
        cJSON_AddArrayToObject(o, "ssh_keys"); /* workloads take no SSH keys */
        cJSON_AddNullToObject(o, "registry_username");
        cJSON_AddItemToArray(out, o);
    }
    return out;
}
