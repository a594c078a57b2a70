/* datarobot_int.h: what the DataRobot adapter's files share (one authenticated call with
 * DataRobot's error bodies, the adapter settings, workload parsing and listing). Private to
 * providers/datarobot*.c. */
#ifndef GB_DATAROBOT_INT_H
#define GB_DATAROBOT_INT_H

#include <stdbool.h>

#include "providers/datarobot.h"

#define DR_PAGE 100     /* items asked per page */
#define DR_MAX_PAGES 50 /* pages read from one listing */
#define DR_MAX_REPLICAS 16
#define DR_MAX_ROLES 100 /* the seed's limit on shared roles */

/* The adapter settings (a->settings). */
typedef struct {
    bool have_rate;
    gb_money rate;     /* rate_per_gpu_hour */
    char gpu_type[32]; /* normalized */
    char gpu_name[96]; /* as configured */
    int gpu_vram_gb;
    int gpus_per_node; /* GPUs one replica can have */
    int max_gpus;      /* GPUs the account's cluster has */
    char location[64];
    int vcpu_per_gpu;
    int ram_gb_per_gpu;
} dr_conf;

/* Reads a->settings (defaults for what is absent); GB_ERR_INVALID naming a bad key. */
gb_err prov_datarobot_conf(prov_adapter *a, dr_conf *c, char *err);

/* One call below base_url. On GB_OK the answer was 2xx and *out (when out is not NULL) holds
 * its JSON, or NULL for an empty answer (204). Otherwise err says why; *status (may be NULL)
 * gets the HTTP status, 0 when no answer came. */
gb_err prov_datarobot_call(prov_adapter *a, const char *method, const char *path, const cJSON *body,
                           bool idempotent, cJSON **out, long *status, char *err);
/* True when id is safe in a path: 1..64 of [A-Za-z0-9_-]. */
bool prov_datarobot_id_ok(const char *id);
/* Reads one workload into out (gpu type and price from c); -1 without an id, else 1 when it
 * carried its settings (GPU count known), 0 when not. */
int prov_datarobot_parse_wl(const dr_conf *c, const cJSON *j, prov_pod *out);
/* Every workload (search: DataRobot's name filter, or NULL). */
gb_err prov_datarobot_list(prov_adapter *a, const char *search, prov_pod **out, size_t *n,
                           char *err);
gb_err prov_datarobot_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err);
/* A string member or NULL. */
const char *prov_datarobot_str(const cJSON *j, const char *key);

gb_err prov_datarobot_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err);
gb_err prov_datarobot_validate_options(const cJSON *options, char *err);
gb_err prov_datarobot_list_offers(prov_adapter *a, prov_offer **out, size_t *n, char *err);
gb_err prov_datarobot_events(prov_adapter *a, const char *id, prov_event **out, size_t *n,
                             char *err);

#endif
