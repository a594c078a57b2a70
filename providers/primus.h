/* primus.h: gpubroker's adapter for AMD Primus-SaFE (seed 001): prov_primus_ops, plus the
 * platform's batch endpoints (stop, delete, clone many workloads in one call), which the
 * unified vtable has no entry for. */
#ifndef GB_PROVIDERS_PRIMUS_H
#define GB_PROVIDERS_PRIMUS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "providers/provider.h"

extern const prov_ops prov_primus_ops;

/* POST /api/v1/workloads/{op} with {"workloadIds":[ids]} for op "stop", "delete" or "clone"
 * (1..1000 ids). On GB_OK *result (caller frees) is {"op":op,"workloadIds":[...]} and, for
 * clone, "clones":[{"workloadId","displayName","source"}] found by listing the workspace
 * before and after (the endpoint answers with an empty body). Unknown ids are skipped by the
 * platform for stop and delete. */
gb_err prov_primus_batch(prov_adapter *a, const char *op, const char *const *ids, size_t n,
                         cJSON **result, char *err);

#endif
