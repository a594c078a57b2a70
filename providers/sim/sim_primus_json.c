/* sim_primus_json.c: the Primus simulator's workload JSON: the list item
 * (WorkloadResponseItem) and the GET answer (GetWorkloadResponse: the item plus images[],
 * entryPoints[] decoded, conditions, pods[] of WorkloadPodWrapper with sshCommand, nodes,
 * ranks, env, ...), field for field as AMD-AGI/Primus-SaFE
 * SaFE/apiserver/pkg/handlers/resources/view/workload_view.go declares them (omitempty fields
 * left out when empty) and workload.go cvtDBWorkloadToResponseItem / cvtDBWorkloadToGetResponse
 * fill them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_primus_int.h"

bool sim_primus_ended(const sp_wl *w)
{
    return w->phase == SP_SUCCEEDED || w->phase == SP_FAILED || w->phase == SP_STOPPED;
}

static void add_time(cJSON *j, const char *key, int64_t ms)
{
    char t[32];
    sim_primus_time(ms, t, sizeof(t));
    cJSON_AddStringToObject(j, key, t);
}

/* A copy of v, or an empty object/array, or null. */
static void add_dup(cJSON *j, const char *key, const cJSON *v, int empty)
{
    cJSON *c = v            ? cJSON_Duplicate(v, 1)
               : empty == 1 ? cJSON_CreateObject()
               : empty == 2 ? cJSON_CreateArray()
                            : cJSON_CreateNull();
    if (c) cJSON_AddItemToObject(j, key, c);
}

/* timeutil.FormatDuration: "1h2m3s", "1h15s", "42s". */
static void duration_str(int64_t ms, char *buf, size_t n)
{
    long long s = (long long)(ms / 1000), h = s / 3600, m = s / 60 % 60;
    size_t k = 0;
    s %= 60;
    buf[0] = '\0';
    if (h) k += (size_t)snprintf(buf, n, "%lldh", h);
    if (m && k < n) k += (size_t)snprintf(buf + k, n - k, "%lldm", m);
    if ((s || k == 0) && k < n) snprintf(buf + k, n - k, "%llds", s);
}

const char *sim_primus_container(const sp_wl *w)
{
    return strcmp(w->kind, "PyTorchJob") == 0 ? "pytorch" : "main";
}

bool sim_primus_has_pods(const sp_wl *w)
{
    return w->dispatched && w->phase != SP_STOPPED;
}

void sim_primus_pod_id(const sp_wl *w, int i, char *buf, size_t n)
{
    if (strcmp(w->kind, "PyTorchJob") == 0)
        snprintf(buf, n, "%s-%s-%d", w->id, i ? "worker" : "master", i ? i - 1 : 0);
    else
        snprintf(buf, n, "%s-%d", w->id, i);
}

static int node_no(const sp_state *st, const sp_wl *w, int i)
{
    const sp_workspace *ws = &st->ws[w->ws];
    int per = w->gpu_per_replica ? SP_GPUS_PER_NODE / w->gpu_per_replica : SP_GPUS_PER_NODE;
    return ws->node_base + (w->node + i / (per ? per : 1)) % (ws->nodes ? ws->nodes : 1);
}

/* The resource index of pod i (resources[] in order, replica pods each). */
static int resource_of(const sp_wl *w, int i)
{
    const cJSON *r;
    int k = 0, acc = 0;
    cJSON_ArrayForEach(r, w->resources)
    {
        acc += (int)gb_jint(r, "replica", 0);
        if (i < acc) return k;
        k++;
    }
    return 0;
}

/* pods[]: WorkloadPod (workload_types.go) and the wrapper's sshCommand, which the server builds
 * for running pods as "ssh -o ServerAliveInterval=60 {user}.{pod}.{container}.bash.{workspace}
 * @{host} -p {port}" (workload.go buildSSHCommand). */
static cJSON *pods_json(const sp_state *st, const sp_wl *w)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && sim_primus_has_pods(w) && i < w->replica && i < 64; i++) {
        cJSON *p = cJSON_CreateObject();
        if (!p) break;
        char id[160], node[32], host[24], ip[24] = "", ssh[320] = "";
        sim_primus_pod_id(w, i, id, sizeof(id));
        int nn = node_no(st, w, i);
        snprintf(node, sizeof(node), "mi300x-node-%02d", nn);
        snprintf(host, sizeof(host), "10.0.0.%d", 10 + nn);
        bool live = w->started && !sim_primus_ended(w);
        if (w->started) snprintf(ip, sizeof(ip), "10.244.%d.%d", nn, (int)(w->seq % 250) + 2);
        if (live)
            snprintf(ssh, sizeof(ssh),
                     "ssh -o ServerAliveInterval=60 %.60s.%.120s.%s.bash.%s@%s -p 2222", w->user_id,
                     id, sim_primus_container(w), st->ws[w->ws].id, host);
        const char *ph = !w->started                ? "Pending"
                         : w->phase == SP_SUCCEEDED ? "Succeeded"
                         : w->phase == SP_FAILED    ? "Failed"
                                                    : "Running";
        cJSON_AddStringToObject(p, "podId", id);
        int rid = resource_of(w, i);
        if (rid) cJSON_AddNumberToObject(p, "resourceId", rid);
        cJSON_AddStringToObject(p, "adminNodeName", node);
        cJSON_AddStringToObject(p, "phase", ph);
        cJSON_AddStringToObject(p, "hostIP", host);
        if (ip[0]) cJSON_AddStringToObject(p, "podIP", ip);
        if (strcmp(w->kind, "PyTorchJob") == 0) {
            char rank[8];
            snprintf(rank, sizeof(rank), "%d", i);
            cJSON_AddStringToObject(p, "rank", rank);
        }
        char t[32];
        sim_primus_time(w->started, t, sizeof(t));
        if (t[0]) cJSON_AddStringToObject(p, "startTime", t);
        sim_primus_time(w->ended, t, sizeof(t));
        if (t[0]) cJSON_AddStringToObject(p, "endTime", t);
        bool failed = w->phase == SP_FAILED;
        if (failed && w->message[0]) cJSON_AddStringToObject(p, "failedMessage", w->message);
        cJSON *cs = cJSON_AddArrayToObject(p, "containers"), *c = cJSON_CreateObject();
        if (c) {
            cJSON_AddStringToObject(c, "name", sim_primus_container(w));
            if (failed && w->message[0]) cJSON_AddStringToObject(c, "message", w->message);
            cJSON_AddNumberToObject(c, "exitCode", failed ? 1 : 0);
            cJSON_AddItemToArray(cs, c);
        }
        if (ssh[0]) cJSON_AddStringToObject(p, "sshCommand", ssh);
        cJSON_AddItemToArray(arr, p);
    }
    return arr;
}

static void add_item_fields(cJSON *j, const sp_state *st, const sp_wl *w)
{
    char d[48] = "0s";
    int64_t now = st->now;
    if (w->started) duration_str((w->ended ? w->ended : now) - w->started, d, sizeof(d));
    cJSON_AddStringToObject(j, "workloadId", w->id);
    cJSON_AddStringToObject(j, "workspaceId", st->ws[w->ws].id);
    add_dup(j, "resources", w->resources, 2);
    cJSON_AddStringToObject(j, "displayName", w->display_name);
    cJSON_AddStringToObject(j, "description", w->description);
    cJSON_AddStringToObject(j, "userId", w->user_id);
    cJSON_AddStringToObject(j, "userName", w->user_name);
    cJSON_AddStringToObject(j, "clusterId", SP_CLUSTER);
    cJSON_AddStringToObject(j, "phase", SIM_PRIMUS_PHASES[w->phase]);
    /* the message is only filled in for Pending workloads */
    cJSON_AddStringToObject(j, "message", w->phase == SP_PENDING ? w->message : "");
    cJSON_AddNumberToObject(j, "priority", w->priority);
    add_time(j, "creationTime", w->created);
    add_time(j, "startTime", w->started);
    add_time(j, "endTime", w->ended);
    add_time(j, "deletionTime", 0);
    cJSON_AddStringToObject(j, "duration", d);
    int64_t left = 0;
    if (w->timeout_s > 0 && !w->ended) {
        left = w->started ? w->timeout_s - (now - w->started) / 1000 : -1;
        if (w->started && left < 0) left = 0;
    }
    cJSON_AddNumberToObject(j, "secondsUntilTimeout", (double)left);
    cJSON_AddNumberToObject(j, "queuePosition", w->queue_pos);
    cJSON_AddNumberToObject(j, "dispatchCount", w->dispatch_count);
    cJSON_AddBoolToObject(j, "isTolerateAll", w->tolerate_all);
    cJSON *g = cJSON_AddObjectToObject(j, "groupVersionKind");
    if (g) cJSON_AddStringToObject(g, "version", w->version);
    if (g) cJSON_AddStringToObject(g, "kind", w->kind);
    if (w->timeout_s > 0)
        cJSON_AddNumberToObject(j, "timeout", (double)w->timeout_s);
    else
        cJSON_AddNullToObject(j, "timeout");
    cJSON_AddStringToObject(j, "workloadUid", w->uid);
    cJSON_AddNumberToObject(j, "avgGpuUsage", -1);
    cJSON_AddNumberToObject(j, "maxRetry", (double)w->max_retry);
}

cJSON *sim_primus_wl_json(const sp_state *st, const sp_wl *w, bool full)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    add_item_fields(j, st, w);
    if (!full) return j;
    if (cJSON_GetArraySize(w->nodes_spec) > 0) add_dup(j, "specifiedNodes", w->nodes_spec, 2);
    if (w->nodes_affinity[0]) cJSON_AddStringToObject(j, "nodesAffinity", w->nodes_affinity);
    if (cJSON_GetArraySize(w->excluded) > 0) add_dup(j, "excludedNodes", w->excluded, 2);
    add_dup(j, "images", w->images, 2);
    if (strcmp(w->kind, "Authoring") != 0) { /* decoded, as cvtToWorkloadEntryPoints does */
        cJSON *eps = cJSON_AddArrayToObject(j, "entryPoints"), *e;
        cJSON_ArrayForEach(e, w->entry_points)
        {
            char *t = sim_primus_b64_decode(cJSON_IsString(e) ? e->valuestring : "");
            cJSON_AddItemToArray(eps, cJSON_CreateString(t ? t : ""));
            free(t);
        }
    } else {
        cJSON_AddNullToObject(j, "entryPoints");
    }
    cJSON_AddBoolToObject(j, "isSupervised", w->supervised);
    cJSON_AddNumberToObject(j, "ttlSecondsAfterFinished", (double)w->ttl_after_s);
    cJSON *cs = cJSON_AddArrayToObject(j, "conditions");
    for (int i = 0; cs && i < w->nconds; i++) {
        cJSON *c = cJSON_CreateObject();
        if (!c) break;
        cJSON_AddStringToObject(c, "type", w->conds[i].type);
        cJSON_AddStringToObject(c, "status", w->conds[i].status);
        gb_json_add_time(c, "lastTransitionTime", w->conds[i].at);
        cJSON_AddStringToObject(c, "reason", w->conds[i].reason);
        cJSON_AddStringToObject(c, "message", w->conds[i].message);
        cJSON_AddItemToArray(cs, c);
    }
    cJSON_AddItemToObject(j, "pods", pods_json(st, w));
    cJSON *nodes = cJSON_AddArrayToObject(j, "nodes"), *ranks = cJSON_AddArrayToObject(j, "ranks");
    if (nodes && ranks && w->dispatched) {
        cJSON *ns = cJSON_CreateArray(), *rs = cJSON_CreateArray();
        for (int i = 0; ns && rs && i < w->replica && i < 64; i++) {
            char node[32], rank[8];
            snprintf(node, sizeof(node), "mi300x-node-%02d", node_no(st, w, i));
            snprintf(rank, sizeof(rank), "%d", i);
            cJSON_AddItemToArray(ns, cJSON_CreateString(node));
            cJSON_AddItemToArray(rs, cJSON_CreateString(rank));
        }
        cJSON_AddItemToArray(nodes, ns);
        if (strcmp(w->kind, "PyTorchJob") == 0)
            cJSON_AddItemToArray(ranks, rs);
        else
            cJSON_Delete(rs);
    }
    add_dup(j, "customerLabels", w->labels, 1);
    add_dup(j, "env", w->env, 1);
    if (w->liveness) add_dup(j, "liveness", w->liveness, 1);
    if (w->readiness) add_dup(j, "readiness", w->readiness, 1);
    if (w->service) add_dup(j, "service", w->service, 1);
    if (cJSON_GetArraySize(w->deps) > 0) add_dup(j, "dependencies", w->deps, 2);
    if (cJSON_GetArraySize(w->cron) > 0) add_dup(j, "cronJobs", w->cron, 2);
    if (cJSON_GetArraySize(w->secrets) > 0) add_dup(j, "secrets", w->secrets, 2);
    cJSON_AddBoolToObject(j, "privileged", w->privileged);
    cJSON_AddBoolToObject(j, "useWorkspaceStorage", w->use_ws_storage);
    cJSON_AddBoolToObject(j, "forceHostNetwork", w->force_host_net);
    return j;
}
