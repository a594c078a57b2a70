/* datarobot.h: gpubroker's adapter for the DataRobot Workload API: the vtable and
 * the DataRobot-only operations (runtime settings, protons, statistics, sharing) the broker
 * can expose beside the unified model. base_url is DataRobot's API endpoint, e.g.
 * "https://app.datarobot.com/api/v2"; the secret is an API token (Authorization: Bearer). */
#ifndef GB_PROVIDERS_DATAROBOT_H
#define GB_PROVIDERS_DATAROBOT_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "providers/provider.h"

/* The vtable. Beyond provider.h's contract:
 *  - offers: one per GPU resource bundle (offer_id = the bundle id, e.g. "gpu.a100.large");
 *    create sends the bundle in runtime.containerGroups[0].resourceBundles and
 *    gpu_count / bundle GPUs replicas.
 *  - remove: a 502 "please retry" (protons that would not stop) is followed by a lookup and
 *    the DELETE again; GB_OK once the workload is gone.
 *  - update: changes {name, description, importance}; ssh_public_keys are refused.
 *  - provider_options (create): {importance (low|moderate|high|critical), description,
 *    replicas, cpu, memory_mb, port (>= 1024), min_replicas, max_replicas}.
 *  - adapter settings: {rate_per_gpu_hour, max_gpus, location} (DataRobot has no price API). */
extern const prov_ops prov_datarobot_ops;

/* The workload's runtime settings (GET .../settings/ -> {runtime{containerGroups}}). */
gb_err prov_datarobot_settings_get(prov_adapter *a, const char *id, cJSON **out, char *err);
/* PATCH .../settings/ with patch ({runtime{...}}, keys checked here): DataRobot starts a
 * rolling replacement (202, a Replacement). GB_ERR_CONFLICT while another replacement is in
 * progress (409). Not retried blindly after an ambiguous failure (a second PATCH would meet the
 * first's replacement). */
gb_err prov_datarobot_settings_patch(prov_adapter *a, const char *id, const cJSON *patch,
                                     char *err);

/* The protons backing a workload (active and candidate), as a JSON array. */
gb_err prov_datarobot_protons(prov_adapter *a, const char *id, cJSON **out, char *err);
gb_err prov_datarobot_proton_get(prov_adapter *a, const char *id, const char *proton_id,
                                 cJSON **out, char *err);
/* Per-replica status of a proton; GB_OK with *out NULL when DataRobot has no status snapshot
 * yet (204). */
gb_err prov_datarobot_proton_status(prov_adapter *a, const char *id, const char *proton_id,
                                    cJSON **out, char *err);

/* Filters of the statistics endpoints; zero fields take DataRobot's defaults. */
typedef struct {
    const char *proton_id;  /* NULL = every proton */
    int64_t start_ms;       /* 0 = from the beginning */
    int64_t end_ms;         /* 0 = now */
    int quantile_permille;  /* responseTimeQuantile x 1000 (1-999); 0 = 0.5 */
    int slow_ms;            /* slowRequestsThreshold in ms; 0 = 2000 */
    const char *resolution; /* time series only: "PT1M", "PT1H", "P1D" (default), ... */
} prov_datarobot_stats_query;

/* Aggregated request statistics of workload id (NULL: across every workload). q may be NULL. */
gb_err prov_datarobot_stats(prov_adapter *a, const char *id, const prov_datarobot_stats_query *q,
                            cJSON **out, char *err);
/* The time series of one metric: totalRequests, requestsOverN, requestsPerMinute,
 * concurrentRequests, responseTime or totalErrorRate (others: GB_ERR_INVALID). */
gb_err prov_datarobot_stats_metric(prov_adapter *a, const char *id, const char *metric,
                                   const prov_datarobot_stats_query *q, cJSON **out, char *err);
/* Resets the statistics (of q's proton and window, when given). */
gb_err prov_datarobot_stats_reset(prov_adapter *a, const char *id,
                                  const prov_datarobot_stats_query *q, char *err);

/* Shared roles: the list, and its replacement (at most 100 entries of {shareRecipientType,
 * id or username, role}; more is GB_ERR_INVALID before anything is sent). */
gb_err prov_datarobot_shared_roles_get(prov_adapter *a, const char *id, cJSON **out, char *err);
gb_err prov_datarobot_shared_roles_set(prov_adapter *a, const char *id, const cJSON *roles,
                                       char *err);

#endif
