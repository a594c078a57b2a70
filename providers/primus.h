/* primus.h: gpubroker's adapter for AMD Primus-SaFE: prov_primus_ops, plus the platform's
 * batch endpoints (stop or delete many workloads in one call), which the unified vtable has
 * no entry for. */
#ifndef GB_PROVIDERS_PRIMUS_H
#define GB_PROVIDERS_PRIMUS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "providers/provider.h"

extern const prov_ops prov_primus_ops;

/* POST /api/v1/workloads/{op} with {"workloadIds":[ids]} for op "stop" or "delete" (1..1000
 * ids). On GB_OK *result (caller frees) is {"op":op,"workloadIds":[...]}. Unknown ids are
 * skipped by the platform. */
gb_err prov_primus_batch(prov_adapter *a, const char *op, const char *const *ids, size_t n,
                         cJSON **result, char *err);

#endif
