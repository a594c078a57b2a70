/* fuzz_provider_offers.c: what the platforms answer: every pure response parser of the
 * adapters (Targon workloads, inventory and events; Lium executors, pods and ssh commands;
 * Volt pods; Run:ai workloads; DataRobot workloads; Primus pods) on the JSON of the input,
 * its elements when it is an array and the items of its list members. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "providers/datarobot_int.h"
#include "providers/lium.h"
#include "providers/primus_int.h"
#include "providers/provider.h"
#include "providers/runai_int.h"
#include "providers/targon.h"
#include "providers/volt_int.h"

static prov_adapter *g_lium, *g_primus;
static runai_settings g_runai;
static dr_conf g_dr;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cJSON *settings = cJSON_Parse("{\"gpu_type\":\"H100\",\"rate_per_gpu_hour\":\"2.50\"}");
    if (prov_adapter_new("lium", "lium", "http://127.0.0.1:1", "k", NULL, &g_lium) != GB_OK ||
        prov_adapter_new("primus", "primus", "http://127.0.0.1:1", "k", settings, &g_primus) !=
            GB_OK)
        abort(); /* setup, not input */
    cJSON_Delete(settings);
    g_runai.rate = 2500000;
    g_runai.has_rate = true;
    strcpy(g_runai.gpu_name, "H100");
    strcpy(g_runai.gpu_type, "H100");
    g_runai.gpu_vram_gb = 80;
    g_runai.gpus_per_node = 8;
    g_runai.max_gpus = 8;
    strcpy(g_runai.project, "gpubroker");
    g_dr = (dr_conf){.have_rate = true, .rate = 3000000, .max_gpus = 16};
    return 0;
}

static void one(const cJSON *x)
{
    prov_pod pod;
    prov_offer off;
    prov_event ev;
    memset(&pod, 0, sizeof(pod));
    prov_targon_parse_pod(x, &pod);
    memset(&off, 0, sizeof(off));
    (void)prov_targon_parse_offer(x, "targon", 1700000000000, &off);
    memset(&ev, 0, sizeof(ev));
    prov_targon_parse_event(x, &ev);

    memset(&off, 0, sizeof(off));
    (void)prov_lium_offer_from_json(g_lium, x, &off);
    memset(&pod, 0, sizeof(pod));
    (void)prov_lium_pod_from_json(x, &pod);
    memset(&pod, 0, sizeof(pod));
    (void)prov_volt_parse_pod(x, &pod);
    memset(&pod, 0, sizeof(pod));
    (void)prov_runai_parse_v1(&g_runai, x, &pod);
    memset(&pod, 0, sizeof(pod));
    (void)prov_runai_parse_v2(&g_runai, x, &pod);
    (void)prov_runai_v1_gpus(x);
    memset(&pod, 0, sizeof(pod));
    char bundle[48];
    (void)prov_datarobot_parse_wl(&g_dr, x, &pod, bundle);
    (void)prov_datarobot_runtime_gpus(cJSON_GetObjectItemCaseSensitive(x, "runtime"), bundle);
    char gpu[32];
    int vram = 0;
    prov_datarobot_bundle_gpu(x, gpu, &vram);
    memset(&pod, 0, sizeof(pod));
    (void)prov_primus_parse_pod(g_primus, x, &pod);
}

static void each(const cJSON *list)
{
    const cJSON *it;
    if (!cJSON_IsArray(list)) return;
    cJSON_ArrayForEach(it, list) one(it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* error answers are matched as raw text */
    (void)prov_targon_is_capacity((const char *)data, size);

    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char user[64], host[128];
    int port = 0;
    (void)prov_lium_parse_ssh(text, user, sizeof(user), host, sizeof(host), &port);

    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    free(text);
    if (!j) return 0;
    one(j);
    each(j);
    each(prov_lium_list_items(j, "executors"));
    each(prov_lium_list_items(j, "pods"));
    each(prov_volt_list_of(j, "pods"));
    each(cJSON_GetObjectItemCaseSensitive(j, "inventory"));
    each(cJSON_GetObjectItemCaseSensitive(j, "workloads"));
    each(cJSON_GetObjectItemCaseSensitive(j, "events"));
    (void)prov_lium_pod_by_name(prov_lium_list_items(j, "pods"), "fuzz-pod");
    (void)prov_volt_str(j, "id");
    (void)prov_primus_str(j, "id");
    cJSON_Delete(j);
    return 0;
}
