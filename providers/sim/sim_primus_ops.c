/* sim_primus_ops.c: the Primus simulator's workload actions (stop, delete, the batch
 * delete/stop/clone endpoints), pods with their logs and containers, and the workload JSON of
 * the seed's list items and GET answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_primus_int.h"

static bool ended(const sp_wl *w)
{
    return w->phase == SP_SUCCEEDED || w->phase == SP_FAILED || w->phase == SP_STOPPED;
}

/* ---- JSON ---- */

static void add_time(cJSON *j, const char *key, int64_t ms)
{
    char t[32];
    sim_primus_time(ms, t, sizeof(t));
    cJSON_AddStringToObject(j, key, t);
}

static void add_dup(cJSON *j, const char *key, const cJSON *v, bool object)
{
    cJSON *c = v ? cJSON_Duplicate(v, 1) : object ? cJSON_CreateObject() : cJSON_CreateArray();
    if (c) cJSON_AddItemToObject(j, key, c);
}

/* The seed's runtime form: "1h2m3s", "1h15s", "42s". */
static void runtime_str(int64_t ms, char *buf, size_t n)
{
    long long s = (long long)(ms / 1000), h = s / 3600, m = s / 60 % 60;
    size_t k = 0;
    s %= 60;
    buf[0] = '\0';
    if (h) k += (size_t)snprintf(buf, n, "%lldh", h);
    if (m && k < n) k += (size_t)snprintf(buf + k, n - k, "%lldm", m);
    if ((s || k == 0) && k < n) snprintf(buf + k, n - k, "%llds", s);
}

static const char *container_of(const sp_wl *w)
{
    return strcmp(w->kind, "PyTorchJob") == 0 ? "pytorch" : "main";
}

static bool has_pods(const sp_wl *w)
{
    return w->dispatched && w->phase != SP_STOPPED;
}

static void pod_id(const sp_wl *w, int i, char *buf, size_t n)
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

static cJSON *pods_json(const sp_state *st, const sp_wl *w)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && has_pods(w) && i < w->replica && i < 64; i++) {
        cJSON *p = cJSON_CreateObject();
        if (!p) break;
        char id[160], node[32], host[24], ip[24] = "", ssh[224] = "";
        pod_id(w, i, id, sizeof(id));
        int nn = node_no(st, w, i);
        snprintf(node, sizeof(node), "mi300x-node-%02d", nn);
        snprintf(host, sizeof(host), "10.0.0.%d", 10 + nn);
        bool live = w->started && !ended(w);
        if (w->started) snprintf(ip, sizeof(ip), "10.244.%d.%d", nn, (int)(w->seq % 250) + 2);
        if (live) snprintf(ssh, sizeof(ssh), "ssh -p 2222 %s@%s", id, host);
        const char *ph = !w->started                ? "Pending"
                         : w->phase == SP_SUCCEEDED ? "Succeeded"
                         : w->phase == SP_FAILED    ? "Failed"
                                                    : "Running";
        cJSON_AddStringToObject(p, "podId", id);
        cJSON_AddStringToObject(p, "k8sNodeName", node);
        cJSON_AddStringToObject(p, "adminNodeName", node);
        cJSON_AddStringToObject(p, "phase", ph);
        add_time(p, "startTime", w->started);
        add_time(p, "endTime", w->ended);
        cJSON_AddStringToObject(p, "hostIP", host);
        cJSON_AddStringToObject(p, "podIP", ip);
        char rank[8] = "";
        if (strcmp(w->kind, "PyTorchJob") == 0) snprintf(rank, sizeof(rank), "%d", i);
        cJSON_AddStringToObject(p, "rank", rank);
        cJSON_AddStringToObject(p, "sshAddr", ssh);
        cJSON *cs = cJSON_AddArrayToObject(p, "containers"), *c = cJSON_CreateObject();
        if (c) {
            bool failed = w->phase == SP_FAILED;
            cJSON_AddStringToObject(c, "name", container_of(w));
            cJSON_AddStringToObject(c, "reason", !w->ended ? "" : failed ? "Error" : "Completed");
            cJSON_AddStringToObject(c, "message", failed ? w->message : "");
            cJSON_AddNumberToObject(c, "exitCode", failed ? 1 : 0);
            cJSON_AddItemToArray(cs, c);
        }
        cJSON_AddItemToArray(arr, p);
    }
    return arr;
}

cJSON *sim_primus_wl_json(const sp_state *st, const sp_wl *w, bool full)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    char rt[48] = "";
    int64_t now = st->now;
    if (w->started) runtime_str((w->ended ? w->ended : now) - w->started, rt, sizeof(rt));
    int64_t left = 0;
    if (w->timeout_s > 0) {
        left = w->started ? w->timeout_s - ((w->ended ? w->ended : now) - w->started) / 1000 : -1;
        if (w->started && left < 0) left = 0;
    }
    cJSON_AddStringToObject(j, "workloadId", w->id);
    cJSON_AddStringToObject(j, "workspaceId", st->ws[w->ws].id);
    cJSON *r = cJSON_AddObjectToObject(j, "resource");
    if (r) {
        cJSON_AddNumberToObject(r, "replica", w->replica);
        cJSON_AddStringToObject(r, "cpu", w->cpu);
        cJSON_AddStringToObject(r, "gpu", w->gpu);
        cJSON_AddStringToObject(r, "memory", w->memory);
        cJSON_AddStringToObject(r, "ephemeralStorage", w->storage);
        cJSON_AddStringToObject(r, "sharedMemory", w->shm);
    }
    cJSON_AddStringToObject(j, "displayName", w->display_name);
    cJSON_AddStringToObject(j, "description", w->description);
    cJSON_AddStringToObject(j, "userId", w->user_id);
    cJSON_AddStringToObject(j, "userName", w->user_name);
    cJSON_AddStringToObject(j, "clusterId", SP_CLUSTER);
    cJSON_AddStringToObject(j, "phase", SIM_PRIMUS_PHASES[w->phase]);
    cJSON_AddStringToObject(j, "message", w->message);
    cJSON_AddNumberToObject(j, "priority", w->priority);
    add_time(j, "creationTime", w->created);
    add_time(j, "startTime", w->started);
    add_time(j, "endTime", w->ended);
    add_time(j, "deletionTime", 0);
    cJSON_AddStringToObject(j, "runtime", rt);
    cJSON_AddNumberToObject(j, "secondsUntilTimeout", (double)left);
    cJSON_AddNumberToObject(j, "schedulerOrder", w->queue_pos);
    cJSON_AddNumberToObject(j, "dispatchCount", w->dispatch_count);
    cJSON_AddBoolToObject(j, "isTolerateAll", w->tolerate_all);
    cJSON *g = cJSON_AddObjectToObject(j, "groupVersionKind");
    if (g && full) cJSON_AddStringToObject(g, "group", "");
    if (g) cJSON_AddStringToObject(g, "version", w->version);
    if (g) cJSON_AddStringToObject(g, "kind", w->kind);
    cJSON_AddNumberToObject(j, "timeout", (double)w->timeout_s);
    cJSON_AddStringToObject(j, "workloadUid", w->uid);
    cJSON_AddStringToObject(j, "k8sObjectUid", w->k8s_uid);
    if (!full) return j;
    add_dup(j, "specifiedNodes", w->nodes_spec, false);
    cJSON_AddStringToObject(j, "image", w->image);
    cJSON_AddStringToObject(j, "entryPoint", w->entry_point ? w->entry_point : "");
    cJSON_AddBoolToObject(j, "isSupervised", w->supervised);
    cJSON_AddNumberToObject(j, "maxRetry", (double)w->max_retry);
    cJSON_AddNumberToObject(j, "ttlSecondsAfterFinished", (double)w->ttl_after_s);
    cJSON *cs = cJSON_AddArrayToObject(j, "conditions");
    for (int i = 0; cs && i < w->nconds; i++) {
        cJSON *c = cJSON_CreateObject();
        if (!c) break;
        cJSON_AddStringToObject(c, "type", w->conds[i].type);
        cJSON_AddStringToObject(c, "status", w->conds[i].status);
        cJSON_AddStringToObject(c, "reason", w->conds[i].reason);
        cJSON_AddStringToObject(c, "message", w->conds[i].message);
        gb_json_add_time(c, "lastTransitionTime", w->conds[i].at);
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
    add_dup(j, "customerLabels", w->labels, true);
    add_dup(j, "env", w->env, true);
    if (w->liveness) add_dup(j, "liveness", w->liveness, true);
    if (w->readiness) add_dup(j, "readiness", w->readiness, true);
    if (w->service) add_dup(j, "service", w->service, true);
    add_dup(j, "dependencies", w->deps, false);
    add_dup(j, "cronJobs", w->cron, false);
    return j;
}

/* ---- stop, delete, batches ---- */

static sp_wl *found_or_404(sp_state *st, const char *id, sim_resp *rs)
{
    sp_wl *w = sim_primus_wl_find(st, id);
    if (!w) sim_primus_err(rs, 404, SP_E_WL_NOT_FOUND, "Workload %.96s not found.", id);
    return w;
}

void sim_primus_stop_wl(sp_state *st, sp_wl *w, const char *user)
{
    if (ended(w)) return; /* the real service answers 200 and changes nothing */
    char msg[128];
    snprintf(msg, sizeof(msg), "the workload is stopped by %.64s", user);
    w->phase = SP_STOPPED;
    w->ended = st->now;
    w->queue_pos = 0;
    w->message[0] = '\0';
    sim_primus_release(st, w, st->now);
    sim_primus_cond(w, st->now, "AdminStopped", "Stopped", msg);
}

void sim_primus_stop(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sp_state *st = state;
    sp_wl *w = found_or_404(st, rq->params[0], rs);
    if (!w) return;
    sim_primus_stop_wl(st, w, st->cur_user);
    sim_json(rs, 200, NULL);
}

void sim_primus_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sp_state *st = state;
    sp_wl *w = found_or_404(st, rq->params[0], rs);
    if (!w) return;
    sim_primus_release(st, w, st->now);
    sim_primus_wl_remove(st, w);
    sim_json(rs, 200, NULL);
}

/* {"workloadIds":[...]}: the ids array, or NULL after answering 400. */
static cJSON *batch_body(sim_server *s, const sim_req *rq, sim_resp *rs, const cJSON **ids)
{
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return NULL;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, "workloadIds"), *it;
    bool ok =
        cJSON_IsArray(a) && cJSON_GetArraySize(a) >= 1 && cJSON_GetArraySize(a) <= SP_MAX_BATCH;
    const cJSON *arr = ok ? a : NULL;
    cJSON_ArrayForEach(it, arr) ok =
        ok && cJSON_IsString(it) && it->valuestring[0] && strlen(it->valuestring) < 96;
    if (!ok) {
        sim_primus_err(rs, 400, SP_E_BAD_REQUEST,
                       "Bad request. field 'workloadIds' must be an array of 1 to %d workload "
                       "ids",
                       SP_MAX_BATCH);
        cJSON_Delete(body);
        return NULL;
    }
    *ids = a;
    return body;
}

/* Batch delete and stop: ids that do not exist are skipped, as the real service does. */
void sim_primus_batch_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sp_state *st = state;
    const cJSON *ids, *it;
    cJSON *body = batch_body(s, rq, rs, &ids);
    if (!body) return;
    cJSON_ArrayForEach(it, ids)
    {
        sp_wl *w = sim_primus_wl_find(st, it->valuestring);
        if (!w) continue;
        sim_primus_release(st, w, st->now);
        sim_primus_wl_remove(st, w);
    }
    sim_json(rs, 200, NULL);
    cJSON_Delete(body);
}

void sim_primus_batch_stop(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sp_state *st = state;
    const cJSON *ids, *it;
    cJSON *body = batch_body(s, rq, rs, &ids);
    if (!body) return;
    cJSON_ArrayForEach(it, ids)
    {
        sp_wl *w = sim_primus_wl_find(st, it->valuestring);
        if (w) sim_primus_stop_wl(st, w, st->cur_user);
    }
    sim_json(rs, 200, NULL);
    cJSON_Delete(body);
}

/* A new Pending workload with src's spec and display name (a new id). */
static sp_wl *clone_wl(sp_state *st, const sp_wl *src)
{
    sp_wl *w = sim_primus_wl_new(st);
    if (!w) return NULL;
    int64_t seq = w->seq;
    *w = *src;
    w->seq = seq;
    cJSON **owned[] = {&w->env,     &w->labels, &w->liveness, &w->readiness,
                       &w->service, &w->deps,   &w->cron,     &w->nodes_spec};
    bool ok = true;
    w->entry_point = NULL;
    for (size_t i = 0; i < GB_ARRAY_LEN(owned); i++) {
        const cJSON *from = *owned[i];
        *owned[i] = from ? cJSON_Duplicate(from, 1) : NULL;
        ok = ok && (!from || *owned[i]);
    }
    w->entry_point = gb_strdup(src->entry_point);
    if (!ok || (src->entry_point && !w->entry_point)) {
        sim_primus_wl_remove(st, w);
        return NULL;
    }
    w->phase = SP_PENDING;
    w->created = st->now;
    w->dispatched = w->started = w->ended = w->ready_at = w->update_until = w->finish_at = 0;
    w->holds = w->fails_at_finish = false;
    w->held = w->dispatch_count = w->queue_pos = w->nconds = 0;
    w->k8s_uid[0] = '\0';
    sim_primus_make_id(w->display_name, w->id, sizeof(w->id));
    gb_id_new("", w->uid, sizeof(w->uid));
    gb_strlcpy(w->user_name, st->cur_user, sizeof(w->user_name));
    snprintf(w->user_id, sizeof(w->user_id), "user-%s", st->cur_user);
    gb_strlcpy(w->message, "waiting to be scheduled", sizeof(w->message));
    char msg[160];
    snprintf(msg, sizeof(msg), "cloned from %.96s", src->id);
    sim_primus_cond(w, st->now, "AdminScheduled", "Cloned", msg);
    return w;
}

/* Batch clone: 404 when none of the ids could be cloned (the real service answers 500). */
void sim_primus_batch_clone(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sp_state *st = state;
    const cJSON *ids, *it;
    cJSON *body = batch_body(s, rq, rs, &ids);
    if (!body) return;
    int made = 0;
    const char *missing = NULL;
    cJSON_ArrayForEach(it, ids)
    {
        sp_wl *w = sim_primus_wl_find(st, it->valuestring);
        if (!w)
            missing = missing ? missing : it->valuestring;
        else if (clone_wl(st, w))
            made++;
    }
    if (made)
        sim_json(rs, 200, NULL);
    else if (missing)
        sim_primus_err(rs, 404, SP_E_WL_NOT_FOUND, "Workload %.96s not found.", missing);
    else
        sim_primus_err(rs, 500, SP_E_INTERNAL, "Internal error. the workloads could not be cloned");
    cJSON_Delete(body);
}

/* ---- pods ---- */

/* The pod index of podId in w, or -1 after answering 404. */
static int find_pod(const sp_wl *w, const char *pod, sim_resp *rs)
{
    char id[160];
    for (int i = 0; has_pods(w) && i < w->replica && i < 64; i++) {
        pod_id(w, i, id, sizeof(id));
        if (strcmp(id, pod) == 0) return i;
    }
    sim_primus_err(rs, 404, SP_E_NOT_FOUND, "pods \"%.120s\" not found", pod);
    return -1;
}

/* Synthetic log line i of w (0: image pull, 1: start, 2: command, then one per 30 s of
 * running, then the exit line); its time in *at. */
static void log_line(const sp_wl *w, int64_t i, int64_t beats, char *buf, size_t n, int64_t *at)
{
    char t[32];
    if (i == 0) {
        *at = w->dispatched;
        gb_time_format(*at, t, sizeof(t));
        snprintf(buf, n, "%s Pulling image \"%.400s\"", t, w->image);
        return;
    }
    if (i == 1 || i == 2) {
        *at = w->started;
        gb_time_format(*at, t, sizeof(t));
        if (i == 1) {
            snprintf(buf, n, "%s Started container %s", t, container_of(w));
            return;
        }
        char *cmd = sim_primus_b64_decode(w->entry_point ? w->entry_point : "");
        char *nl = cmd ? strchr(cmd, '\n') : NULL;
        if (nl) *nl = '\0';
        snprintf(buf, n, "%s + %.200s", t, cmd ? cmd : "");
        free(cmd);
        return;
    }
    int64_t k = i - 2;
    if (k <= beats) {
        *at = w->started + k * SP_LOG_EVERY_MS;
        gb_time_format(*at, t, sizeof(t));
        if (strcmp(w->kind, "PyTorchJob") == 0) {
            int64_t loss = 2500000 / (1000 + 10 * k);
            snprintf(buf, n, "%s step %lld: loss=%lld.%03lld", t, (long long)k * 10,
                     (long long)(loss / 1000), (long long)(loss % 1000));
        } else {
            snprintf(buf, n, "%s heartbeat %lld: %s is serving", t, (long long)k, w->id);
        }
        return;
    }
    *at = w->ended;
    gb_time_format(*at, t, sizeof(t));
    snprintf(buf, n, "%s Process exited with code %d%s%s", t, w->phase == SP_FAILED,
             w->message[0] && w->phase == SP_FAILED ? ": " : "",
             w->phase == SP_FAILED ? w->message : "");
}

/* GET .../pods/:pod/logs?tailLines=1000&container=&sinceSeconds=0 */
void sim_primus_logs(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sp_state *st = state;
    sp_wl *w = found_or_404(st, rq->params[0], rs);
    if (!w || find_pod(w, rq->params[1], rs) < 0) return;
    const char *tl = sim_query(rq, "tailLines"), *ct = sim_query(rq, "container");
    const char *ss = sim_query(rq, "sinceSeconds");
    int64_t tail = 1000, since = 0;
    const char *bad = tl && gb_parse_i64(tl, 1, 100000, &tail)       ? "tailLines"
                      : ss && gb_parse_i64(ss, 0, INT32_MAX, &since) ? "sinceSeconds"
                                                                     : NULL;
    if (bad) {
        sim_primus_err(rs, 400, SP_E_BAD_REQUEST, "Bad request. invalid query: %s", bad);
        return;
    }
    if (ct && ct[0] && strcmp(ct, container_of(w)) != 0) {
        sim_primus_err(rs, 400, SP_E_BAD_REQUEST,
                       "Bad request. container %.64s is not valid for pod %.120s", ct,
                       rq->params[1]);
        return;
    }
    int64_t until = w->ended ? w->ended : st->now;
    int64_t beats = w->started && until > w->started ? (until - w->started) / SP_LOG_EVERY_MS : 0;
    int64_t total = !w->started ? 1 : 3 + beats + (w->ended ? 1 : 0);
    int64_t from = total > tail ? total - tail : 0;
    cJSON *j = cJSON_CreateObject();
    cJSON *logs = cJSON_CreateArray();
    for (int64_t i = from; j && logs && i < total; i++) {
        char line[512];
        int64_t at = 0;
        log_line(w, i, beats, line, sizeof(line), &at);
        if (since > 0 && at < st->now - since * 1000) continue;
        cJSON_AddItemToArray(logs, cJSON_CreateString(line));
    }
    if (j) {
        cJSON_AddStringToObject(j, "workloadId", w->id);
        cJSON_AddStringToObject(j, "podId", rq->params[1]);
        cJSON_AddStringToObject(j, "namespace", st->ws[w->ws].id);
        if (logs) cJSON_AddItemToObject(j, "logs", logs);
    } else {
        cJSON_Delete(logs);
    }
    sim_json(rs, 200, j);
}

void sim_primus_containers(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sp_wl *w = found_or_404(state, rq->params[0], rs);
    if (!w || find_pod(w, rq->params[1], rs) < 0) return;
    cJSON *j = cJSON_CreateObject();
    cJSON *cs = j ? cJSON_AddArrayToObject(j, "containers") : NULL;
    cJSON *c = cJSON_CreateObject();
    if (c) cJSON_AddStringToObject(c, "name", container_of(w));
    if (cs && c)
        cJSON_AddItemToArray(cs, c);
    else
        cJSON_Delete(c);
    cJSON *sh = j ? cJSON_AddArrayToObject(j, "shells") : NULL;
    static const char *const SHELLS[] = {"bash", "sh", "zsh"};
    for (size_t i = 0; sh && i < GB_ARRAY_LEN(SHELLS); i++)
        cJSON_AddItemToArray(sh, cJSON_CreateString(SHELLS[i]));
    sim_json(rs, 200, j);
}
