/* sim_lium_view.c: the Lium simulator's far-side view for tests (/_sim/workloads): what exists
 * at the platform, in the one shape every simulator gives (see sim_platform.workloads). */
#include <stdio.h>
#include <string.h>

#include "providers/sim/sim_lium.h"

cJSON *sim_lium_workloads(void *state)
{
    sim_lium_state *st = state;
    cJSON *out = cJSON_CreateArray();
    int64_t now = sim_now(st->srv);
    for (int i = 0; out && i < st->npods; i++) {
        const sim_lium_pod *p = &st->pods[i];
        cJSON *j = sim_lium_pod_json(st, p, now); /* its status word, as the API says it */
        cJSON *o = cJSON_CreateObject();
        if (!j || !o) {
            cJSON_Delete(j);
            cJSON_Delete(o);
            continue;
        }
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
        const cJSON *tpl = sim_lium_template_find(st, p->template_id);
        const char *img =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(tpl, "docker_image"));
        const char *tag =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(tpl, "docker_image_tag"));
        char image[512];
        snprintf(image, sizeof(image), "%s%s%s", img ? img : "", tag && tag[0] ? ":" : "",
                 tag ? tag : "");
        cJSON_AddStringToObject(o, "id", p->id);
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON_AddStringToObject(o, "status", cJSON_IsString(status) ? status->valuestring : "");
        cJSON_AddStringToObject(o, "image", image);
        cJSON_AddItemToObject(o, "ssh_keys",
                              p->keys ? cJSON_Duplicate(p->keys, 1) : cJSON_CreateArray());
        cJSON_AddNullToObject(o, "registry_username"); /* Lium takes public images only */
        cJSON_Delete(j);
        cJSON_AddItemToArray(out, o);
    }
    return out;
}
