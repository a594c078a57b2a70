/* primus_batch.c: the Primus batch endpoints POST /api/v1/workloads/{stop,delete} with
 * {"workloadIds":[...]} (AMD-AGI/Primus-SaFE SaFE/apiserver/pkg/handlers/resources/routers.go
 * and view/workload_view.go BatchWorkloadsRequest). The batch clone endpoint is gone from the
 * current server (routers.go registers no /clone), so it is not offered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "providers/primus_int.h"

gb_err prov_primus_batch(prov_adapter *a, const char *op, const char *const *ids, size_t n,
                         cJSON **result, char *err)
{
    *result = NULL;
    if (!op || (strcmp(op, "stop") != 0 && strcmp(op, "delete") != 0)) {
        snprintf(err, PROV_ERR_MAX, "%s: batch op must be stop or delete", a->name);
        return GB_ERR_INVALID;
    }
    if (!ids || n == 0 || n > PRIMUS_MAX_BATCH) {
        snprintf(err, PROV_ERR_MAX, "%s: a batch takes 1 to %d workload ids", a->name,
                 PRIMUS_MAX_BATCH);
        return GB_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        if (!prov_primus_id_ok(ids[i])) {
            snprintf(err, PROV_ERR_MAX, "%s: workload id %zu is invalid", a->name, i + 1);
            return GB_ERR_INVALID;
        }
    }
    cJSON *body = cJSON_CreateObject(), *res = cJSON_CreateObject();
    cJSON *arr = body ? cJSON_AddArrayToObject(body, "workloadIds") : NULL;
    cJSON *echo = res ? cJSON_AddArrayToObject(res, "workloadIds") : NULL;
    char path[64];
    gb_err e = GB_ERR_NOMEM;
    if (!arr || !echo || !cJSON_AddStringToObject(res, "op", op)) goto done;
    for (size_t i = 0; i < n; i++) {
        if (!cJSON_AddItemToArray(arr, cJSON_CreateString(ids[i])) ||
            !cJSON_AddItemToArray(echo, cJSON_CreateString(ids[i])))
            goto done;
    }
    snprintf(path, sizeof(path), PRIMUS_API "/workloads/%s", op);
    /* stop and delete may be repeated harmlessly */
    if ((e = prov_call(a, "POST", path, body, true, NULL, NULL, err))) goto done;
    *result = res;
    res = NULL;
done:
    cJSON_Delete(body);
    cJSON_Delete(res);
    return e;
}
