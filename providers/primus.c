/* primus.c: gpubroker's adapter for AMD Primus-SaFE workloads: phases mapped to the unified
 * statuses, workloads read and listed with offset/limit paging, stop, delete, pod logs and
 * conditions as events. Creation and offers live in primus_create.c, start (resume) and
 * update in primus_resume.c, auth and errors in primus_http.c, options in primus_options.c.
 *
 * Wire shapes (AMD-AGI/Primus-SaFE, SaFE/apiserver/pkg/handlers/resources/view/
 * workload_view.go): list {totalCount, items[WorkloadResponseItem]}; an item carries
 * workloadId, displayName, phase, message, creationTime ("2006-01-02T15:04:05") and
 * resources[] (SaFE/apis/pkg/apis/amd/v1/workload_types.go WorkloadResource: replica, cpu,
 * gpu, memory, ...); GET adds pods[] (WorkloadPod with hostIP, podIP and the wrapper's
 * sshCommand), conditions[] (metav1.Condition) and service. Routes: .../resources/routers.go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/primus_int.h"

/* ---- statuses ---- */

/* The WorkloadPhase values of SaFE/apis/pkg/apis/amd/v1/workload_types.go; Succeeded, Failed
 * and Stopped end a workload (IsWorkloadPhaseEnded). */
static const struct {
    const char *raw;
    pod_status st;
} PHASES[] = {
    {"Pending", POD_PENDING},    {"Running", POD_RUNNING},     {"Updating", POD_RUNNING},
    {"NotReady", POD_DEPLOYING}, {"Succeeded", POD_SUCCEEDED}, {"Failed", POD_FAILED},
    {"Stopped", POD_STOPPED},
};

pod_status prov_primus_map_status(const char *raw)
{
    for (size_t i = 0; raw && i < GB_ARRAY_LEN(PHASES); i++)
        if (gb_str_ieq(raw, PHASES[i].raw)) return PHASES[i].st;
    return POD_UNKNOWN;
}

/* ---- parsing ---- */

/* An integer member sent as a number or a string ("8"); def otherwise. */
static int num_of(const cJSON *j, const char *key, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    int out = def;
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e6)
        out = (int)v->valuedouble;
    else if (cJSON_IsString(v) && gb_parse_int(v->valuestring, 0, 1000000, &out) != 0)
        out = def;
    return out;
}

/* "2006-01-02T15:04:05" (the seed's form), with or without fraction and "Z". */
static int64_t time_of(const cJSON *j, const char *key)
{
    const char *s = gb_jstr(j, key);
    char buf[40];
    int64_t ms = 0;
    size_t l = s ? strlen(s) : 0;
    if (l < 19 || l > 32) return 0;
    snprintf(buf, sizeof(buf), "%s%s", s, s[l - 1] == 'Z' ? "" : "Z");
    return gb_time_parse(buf, &ms) == 0 ? ms : 0;
}

/* The first pod's address: hostIP (else podIP), and sshCommand as the server builds it
 * ("ssh -o ServerAliveInterval=60 <user>.<pod>.<container>.bash.<workspace>@<host> -p 2222",
 * workload.go buildSSHCommand), or "u@h:port" / "u@h" made into a command. */
static void pod_access(const cJSON *pod, prov_pod *out)
{
    const char *host = gb_jstr(pod, "hostIP"), *ip = gb_jstr(pod, "podIP");
    const char *ssh = gb_jstr(pod, "sshCommand");
    if (host && host[0])
        gb_strlcpy(out->ip, host, sizeof(out->ip));
    else if (ip && ip[0])
        gb_strlcpy(out->ip, ip, sizeof(out->ip));
    if (!ssh || !ssh[0] || strlen(ssh) >= sizeof(out->ssh_command)) return;
    const char *p = strstr(ssh, " -p ");
    int port = 0;
    if (strncmp(ssh, "ssh ", 4) == 0) {
        gb_strlcpy(out->ssh_command, ssh, sizeof(out->ssh_command));
        if (p) {
            char num[8] = "";
            size_t k = 0;
            for (p += 4; *p >= '0' && *p <= '9' && k + 1 < sizeof(num); p++)
                num[k++] = *p;
            num[k] = '\0';
            if (gb_parse_int(num, 1, 65535, &port) == 0) out->ssh_port = port;
        }
        return;
    }
    const char *colon = strrchr(ssh, ':');
    if (colon && strchr(ssh, '@') && gb_parse_int(colon + 1, 1, 65535, &port) == 0) {
        out->ssh_port = port;
        snprintf(out->ssh_command, sizeof(out->ssh_command), "ssh -p %d %.*s", port,
                 (int)(colon - ssh), ssh);
    } else {
        out->ssh_port = 22;
        snprintf(out->ssh_command, sizeof(out->ssh_command), "ssh %s", ssh);
    }
}

int prov_primus_parse_pod(prov_adapter *a, const cJSON *j, prov_pod *out)
{
    memset(out, 0, sizeof(*out));
    const char *id = cJSON_IsObject(j) ? gb_jstr(j, "workloadId") : NULL;
    if (!id || !id[0]) return -1;
    gb_strlcpy(out->provider_id, id, sizeof(out->provider_id));
    const char *s;
    if ((s = gb_jstr(j, "displayName"))) gb_strlcpy(out->name, s, sizeof(out->name));
    if ((s = gb_jstr(j, "phase"))) gb_strlcpy(out->raw_status, s, sizeof(out->raw_status));
    out->status = prov_primus_map_status(out->raw_status);
    if ((s = gb_jstr(j, "message"))) gb_strlcpy(out->message, s, sizeof(out->message));
    out->gpu_count = prov_primus_gpus_of(cJSON_GetObjectItemCaseSensitive(j, "resources"));
    const cJSON *pods = cJSON_GetObjectItemCaseSensitive(j, "pods");
    if (cJSON_IsArray(pods) && cJSON_GetArraySize(pods) > 0)
        pod_access(cJSON_GetArrayItem(pods, 0), out);
    /* message is only set while Pending (workload.go cvtDBWorkloadToResponseItem): otherwise
     * the first pod's failedMessage, else the newest condition's message */
    const cJSON *conds = cJSON_GetObjectItemCaseSensitive(j, "conditions");
    const char *why = gb_jstr(cJSON_GetArrayItem(pods, 0), "failedMessage");
    if (!why || !why[0])
        why = gb_jstr(cJSON_GetArrayItem(conds, cJSON_GetArraySize(conds) - 1), "message");
    if (!out->message[0] && why) gb_strlcpy(out->message, why, sizeof(out->message));
    const cJSON *svc = cJSON_GetObjectItemCaseSensitive(j, "service");
    int node_port = num_of(svc, "nodePort", 0);
    if (out->ip[0] && node_port > 0 && node_port <= 65535)
        snprintf(out->url, sizeof(out->url), "http://%s:%d", out->ip, node_port);
    const char *gt = prov_primus_setting(a, "gpu_type");
    gpu_normalize(gt ? gt : "MI300X", out->gpu_type, NULL);
    gb_money rate = prov_primus_rate(a);
    if (rate > 0) out->price_per_hour = rate * out->gpu_count;
    out->created_at = time_of(j, "creationTime");
    return 0;
}

/* ---- reading ---- */

static gb_err bad_id(prov_adapter *a, char *err)
{
    snprintf(err, PROV_ERR_MAX, "%s: invalid workload id", a->name);
    return GB_ERR_INVALID;
}

gb_err prov_primus_get_json(prov_adapter *a, const char *id, cJSON **out, char *err)
{
    char path[192];
    *out = NULL;
    if (!prov_primus_id_ok(id)) return bad_id(a, err);
    snprintf(path, sizeof(path), PRIMUS_API "/workloads/%s", id);
    gb_err e = prov_call(a, "GET", path, NULL, true, out, NULL, err);
    if (!e && !cJSON_IsObject(*out)) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: workload is not an object",
                 a->name);
        cJSON_Delete(*out);
        *out = NULL;
        e = GB_ERR_PROVIDER;
    }
    return e;
}

static gb_err get(prov_adapter *a, const char *id, prov_pod *out, char *err)
{
    cJSON *j = NULL;
    gb_err e = prov_primus_get_json(a, id, &j, err);
    if (!e && prov_primus_parse_pod(a, j, out) != 0) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: workload without an id", a->name);
        e = GB_ERR_PROVIDER;
    }
    cJSON_Delete(j);
    return e;
}

gb_err prov_primus_list(prov_adapter *a, const char *query, prov_pod **out, size_t *n, char *err)
{
    prov_pod *pods = NULL;
    size_t k = 0, cap = 0;
    int64_t offset = 0;
    gb_err e = GB_OK;
    *out = NULL;
    *n = 0;
    for (int page = 0; page < PRIMUS_MAX_PAGES; page++) {
        char path[512];
        cJSON *j = NULL;
        if (gb_snprintf(
                path, sizeof(path), PRIMUS_API "/workloads?%s%sorder=asc&offset=%lld&limit=%d",
                query ? query : "", query && query[0] ? "&" : "", (long long)offset, PRIMUS_PAGE)) {
            snprintf(err, PROV_ERR_MAX, "%s: list query too long", a->name);
            e = GB_ERR_INVALID;
            break;
        }
        if ((e = prov_call(a, "GET", path, NULL, true, &j, NULL, err))) break;
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items"), *it;
        const cJSON *total = cJSON_GetObjectItemCaseSensitive(j, "totalCount");
        if (!cJSON_IsNumber(total) || !(cJSON_IsArray(items) || cJSON_IsNull(items) || !items)) {
            snprintf(err, PROV_ERR_MAX, "malformed response from %s: no 'totalCount'/'items'",
                     a->name);
            cJSON_Delete(j);
            e = GB_ERR_PROVIDER;
            break;
        }
        int got = cJSON_GetArraySize(items);
        if (k + (size_t)got > cap) {
            size_t nc = cap ? cap * 2 : 128;
            while (nc < k + (size_t)got)
                nc *= 2;
            prov_pod *np = realloc(pods, nc * sizeof(*np));
            if (!np) {
                cJSON_Delete(j);
                e = GB_ERR_NOMEM;
                break;
            }
            pods = np;
            cap = nc;
        }
        cJSON_ArrayForEach(it, items) if (prov_primus_parse_pod(a, it, &pods[k]) == 0) k++;
        offset += got;
        bool more = got > 0 && (double)offset < total->valuedouble;
        cJSON_Delete(j);
        if (!more) break;
    }
    if (e) {
        free(pods);
        return e;
    }
    *out = pods ? pods : calloc(1, sizeof(prov_pod));
    *n = k;
    return *out ? GB_OK : GB_ERR_NOMEM;
}

static gb_err list_pods(prov_adapter *a, prov_pod **out, size_t *n, char *err)
{
    char q[96];
    prov_primus_ws_query(a, q, sizeof(q));
    size_t l = strlen(q);
    if (l) q[l - 1] = '\0'; /* drop the trailing '&' */
    return prov_primus_list(a, q, out, n, err);
}

/* displayName is not unique at Primus (the id is the name plus a random suffix): the newest
 * workload with it wins. */
gb_err prov_primus_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err)
{
    prov_pod *pods = NULL;
    size_t n = 0;
    gb_err e = list_pods(a, &pods, &n, err);
    if (e) return e;
    const prov_pod *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!name || strcmp(pods[i].name, name) != 0) continue;
        if (!best || pods[i].created_at >= best->created_at) best = &pods[i];
    }
    if (best) {
        *out = *best;
    } else {
        snprintf(err, PROV_ERR_MAX, "%s: no workload named '%.96s'", a->name, name ? name : "");
        e = GB_ERR_NOT_FOUND;
    }
    free(pods);
    return e;
}

/* ---- actions ---- */

/* POST /workloads/{id}/stop: the platform answers 200 for a workload that has ended. */
static gb_err stop(prov_adapter *a, const char *id, char *err)
{
    char path[192];
    if (!prov_primus_id_ok(id)) return bad_id(a, err);
    snprintf(path, sizeof(path), PRIMUS_API "/workloads/%s/stop", id);
    return prov_call(a, "POST", path, NULL, true, NULL, NULL, err);
}

/* DELETE is idempotent: a workload that is already gone (404) counts as removed. */
static gb_err remove_wl(prov_adapter *a, const char *id, char *err)
{
    char path[192];
    if (!prov_primus_id_ok(id)) return bad_id(a, err);
    snprintf(path, sizeof(path), PRIMUS_API "/workloads/%s", id);
    gb_err e = prov_call(a, "DELETE", path, NULL, true, NULL, NULL, err);
    return e == GB_ERR_NOT_FOUND ? GB_OK : e;
}

/* The logs of the workload's first pod (the PyTorchJob master), tail lines (1000 when 0). */
static gb_err logs(prov_adapter *a, const char *id, int tail, char **out, char *err)
{
    cJSON *j = NULL, *l = NULL;
    *out = NULL;
    gb_err e = prov_primus_get_json(a, id, &j, err);
    if (e) return e;
    const cJSON *pod = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "pods"), 0);
    const char *pid = gb_jstr(pod, "podId");
    gb_buf b = {0};
    if (pid && prov_primus_id_ok(pid)) {
        char path[400];
        snprintf(path, sizeof(path), PRIMUS_API "/workloads/%s/pods/%s/logs?tailLines=%d", id, pid,
                 tail > 0 && tail <= 100000 ? tail : 1000);
        if ((e = prov_call(a, "GET", path, NULL, true, &l, NULL, err))) goto done;
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(l, "logs"))
        {
            if (!cJSON_IsString(it)) continue;
            if (gb_buf_puts(&b, it->valuestring) || gb_buf_puts(&b, "\n")) {
                e = GB_ERR_NOMEM;
                goto done;
            }
        }
    }
    if (!(*out = gb_buf_take(&b))) e = GB_ERR_NOMEM;
done:
    gb_buf_free(&b);
    cJSON_Delete(j);
    cJSON_Delete(l);
    return e;
}

/* The workload's conditions, oldest first. */
static gb_err events(prov_adapter *a, const char *id, prov_event **out, size_t *n, char *err)
{
    cJSON *j = NULL;
    *out = NULL;
    *n = 0;
    gb_err e = prov_primus_get_json(a, id, &j, err);
    if (e) return e;
    const cJSON *conds = cJSON_GetObjectItemCaseSensitive(j, "conditions"), *it;
    int total = cJSON_IsArray(conds) ? cJSON_GetArraySize(conds) : 0;
    if (total > 1000) total = 1000;
    prov_event *ev = calloc(total ? (size_t)total : 1, sizeof(*ev));
    if (!ev) {
        cJSON_Delete(j);
        return GB_ERR_NOMEM;
    }
    cJSON_ArrayForEach(it, conds)
    {
        if (*n >= (size_t)total || !cJSON_IsObject(it)) continue;
        prov_event *v = &ev[(*n)++];
        const char *t = gb_jstr(it, "type"), *r = gb_jstr(it, "reason");
        const char *m = gb_jstr(it, "message");
        gb_strlcpy(v->type, t ? t : "", sizeof(v->type));
        snprintf(v->message, sizeof(v->message), "%s%s%s", r ? r : "", r && m && m[0] ? ": " : "",
                 m ? m : "");
        v->at = time_of(it, "lastTransitionTime");
    }
    *out = ev;
    cJSON_Delete(j);
    return GB_OK;
}

const prov_ops prov_primus_ops = {
    .kind = "primus",
    /* stopped: the sources this adapter follows (docs/providers.md) publish no price for a
     * stopped workload's storage, so none is metered; a provider's
     * "stopped_price_per_gb_hour" setting sets one */
    .stopped_price_per_gb_hour = 0,
    .list_offers = prov_primus_list_offers,
    .create = prov_primus_create,
    .precheck = prov_primus_precheck,
    .get = get,
    .find_by_name = prov_primus_find_by_name,
    .list_pods = list_pods,
    .start = prov_primus_start,
    .stop = stop,
    .update = prov_primus_update,
    .remove = remove_wl,
    .logs = logs,
    .events = events,
    .map_status = prov_primus_map_status,
    .validate_options = prov_primus_validate_options,
    .state_free = prov_primus_state_free,
    .auth = prov_primus_auth,
    .error = prov_primus_error,
};
