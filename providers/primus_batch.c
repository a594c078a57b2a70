/* primus_batch.c: the Primus batch endpoints POST /api/v1/workloads/{stop,delete,clone} with
 * {"workloadIds":[...]}. Clone answers with an empty body, so the new workloads are found by
 * listing the workspace before and after and keeping the new ones with a source's name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "providers/primus_int.h"

static bool has_id(const prov_pod *p, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].provider_id, id) == 0) return true;
    return false;
}

/* Adds {"workloadId","displayName","source"} for each workload in after that was not in before
 * and carries the displayName of one of the sources (ids). */
static gb_err add_clones(cJSON *res, const char *const *ids, size_t n, const prov_pod *before,
                         size_t nb, const prov_pod *after, size_t na)
{
    cJSON *clones = cJSON_AddArrayToObject(res, "clones");
    if (!clones) return GB_ERR_NOMEM;
    for (size_t i = 0; i < na; i++) {
        if (has_id(before, nb, after[i].provider_id)) continue;
        const prov_pod *src = NULL;
        for (size_t k = 0; !src && k < nb; k++) {
            bool named = before[k].name[0] && strcmp(before[k].name, after[i].name) == 0;
            for (size_t m = 0; named && !src && m < n; m++)
                if (strcmp(before[k].provider_id, ids[m]) == 0) src = &before[k];
        }
        if (!src) continue;
        cJSON *c = cJSON_CreateObject();
        if (!c || !cJSON_AddStringToObject(c, "workloadId", after[i].provider_id) ||
            !cJSON_AddStringToObject(c, "displayName", after[i].name) ||
            !cJSON_AddStringToObject(c, "source", src->provider_id)) {
            cJSON_Delete(c);
            return GB_ERR_NOMEM;
        }
        cJSON_AddItemToArray(clones, c);
    }
    return GB_OK;
}

gb_err prov_primus_batch(prov_adapter *a, const char *op, const char *const *ids, size_t n,
                         cJSON **result, char *err)
{
    *result = NULL;
    bool clone = op && strcmp(op, "clone") == 0;
    if (!op || (!clone && strcmp(op, "stop") != 0 && strcmp(op, "delete") != 0)) {
        snprintf(err, PROV_ERR_MAX, "%s: batch op must be stop, delete or clone", a->name);
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
    prov_pod *before = NULL, *after = NULL;
    size_t nb = 0, na = 0;
    char q[96], path[64];
    gb_err e = GB_ERR_NOMEM;
    if (!arr || !echo || !cJSON_AddStringToObject(res, "op", op)) goto done;
    for (size_t i = 0; i < n; i++) {
        if (!cJSON_AddItemToArray(arr, cJSON_CreateString(ids[i])) ||
            !cJSON_AddItemToArray(echo, cJSON_CreateString(ids[i])))
            goto done;
    }
    prov_primus_ws_query(a, q, sizeof(q));
    size_t l = strlen(q);
    if (l) q[l - 1] = '\0';
    if (clone && (e = prov_primus_list(a, q, &before, &nb, err))) goto done;
    snprintf(path, sizeof(path), "/workloads/%s", op);
    /* stop and delete may be repeated harmlessly; a repeated clone would clone twice */
    if ((e = prov_primus_call(a, "POST", path, body, !clone, NULL, NULL, err))) goto done;
    if (clone && ((e = prov_primus_list(a, q, &after, &na, err)) ||
                  (e = add_clones(res, ids, n, before, nb, after, na))))
        goto done;
    *result = res;
    res = NULL;
done:
    free(before);
    free(after);
    cJSON_Delete(body);
    cJSON_Delete(res);
    return e;
}
