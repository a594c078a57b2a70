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
#define DR_GROUP "default"  /* the container group the adapter creates */
#define DR_CONTAINER "main" /* its one container */
#define DR_MAX_ROLES 100    /* the seed's limit on shared roles */

/* The adapter settings (a->settings): DataRobot publishes no prices, so the operator's rate
 * prices each bundle's GPUs. */
typedef struct {
    bool have_rate;
    gb_money rate; /* rate_per_gpu_hour */
    int max_gpus;  /* GPUs the account's cluster has (availability) */
    char location[64];
} dr_conf;

/* Reads a->settings (defaults for what is absent); GB_ERR_INVALID naming a bad key. */
gb_err prov_datarobot_conf(prov_adapter *a, dr_conf *c, char *err);

/* True when id is safe in a path: 1..64 of [A-Za-z0-9_-]. */
bool prov_datarobot_id_ok(const char *id);
/* True when id is a resource bundle id safe in a path: 1..47 of [A-Za-z0-9._-]. */
bool prov_datarobot_bundle_id_ok(const char *id);
/* Reads one WorkloadFormatted into out (price from c); -1 without an id, else 1 when it
 * carried its runtime, 0 when not. *bundle (48 bytes, may be NULL) gets the runtime's
 * resource bundle ("" = none). */
int prov_datarobot_parse_wl(const dr_conf *c, const cJSON *j, prov_pod *out, char *bundle);
/* GPUs of a runtime {containerGroups:[...]}: replicas x the container's resourceAllocation.gpu,
 * summed over the groups; *bundle gets the first group's resourceBundles[0] (or ""). */
int prov_datarobot_runtime_gpus(const cJSON *runtime, char bundle[48]);
/* A resource bundle's GPU type ("A100-80GB") from its id, name or description. */
void prov_datarobot_bundle_gpu(const cJSON *bundle, char gpu_type[32], int *vram_gb);
/* Every workload (search: DataRobot's name filter, or NULL). */
gb_err prov_datarobot_list(prov_adapter *a, const char *search, prov_pod **out, size_t *n,
                           char *err);
gb_err prov_datarobot_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err);

gb_err prov_datarobot_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err);
/* prov_ops.precheck: templates, registry credentials, SSH keys, volumes, more than one port. */
gb_err prov_datarobot_precheck(const prov_create_req *req, char *err);
gb_err prov_datarobot_validate_options(const cJSON *options, char *err);
gb_err prov_datarobot_list_offers(prov_adapter *a, prov_offer **out, size_t *n, char *err);
gb_err prov_datarobot_events(prov_adapter *a, const char *id, prov_event **out, size_t *n,
                             char *err);

/* datarobot_ops.c: every page ({data, next}) of the list at path, at most max_pages of
 * DR_PAGE items, into one array *out (caller deletes; NULL on failure). */
gb_err prov_datarobot_all_pages(prov_adapter *a, const char *path, int max_pages, cJSON **out,
                                char *err);

#endif
