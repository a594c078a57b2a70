/* sim_primus_ops.c: the Primus simulator's workload actions (stop, delete, the batch
 * delete/stop endpoints; the batch clone of older servers is gone from routers.go) and pods with
 * their logs and containers (AMD-AGI/Primus-SaFE SaFE/apiserver/pkg/handlers/resources/
 * workload.go; answers of handlers that return nil are "null", handler.go handle()). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_primus_int.h"

/* ---- stop, delete, batches ---- */

static sp_wl *found_or_404(sp_state *st, const char *id, sim_resp *rs)
{
    sp_wl *w = sim_primus_wl_find(st, id);
    if (!w) sim_primus_err(rs, 404, SP_E_WL_NOT_FOUND, "Workload %.96s not found.", id);
    return w;
}

void sim_primus_stop_wl(sp_state *st, sp_wl *w, const char *user)
{
    if (sim_primus_ended(w)) return; /* the real service answers 200 and changes nothing */
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
    sp_wl *w = sim_primus_wl_find(st, rq->params[0]); /* unknown: IgnoreFound, 200 */
    if (w) sim_primus_stop_wl(st, w, st->cur_user);
    sim_json(rs, 200, cJSON_CreateNull()); /* c.JSON(200, nil) */
}

void sim_primus_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sp_state *st = state;
    sp_wl *w = sim_primus_wl_find(st, rq->params[0]); /* unknown: IgnoreFound, 200 */
    if (!w) goto done;
    sim_primus_release(st, w, st->now);
    sim_primus_wl_remove(st, w);
done:
    sim_json(rs, 200, cJSON_CreateNull()); /* c.JSON(200, nil) */
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
    sim_json(rs, 200, cJSON_CreateNull()); /* c.JSON(200, nil) */
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
    sim_json(rs, 200, cJSON_CreateNull()); /* c.JSON(200, nil) */
    cJSON_Delete(body);
}

/* ---- pods ---- */

/* The pod index of podId in w, or -1 after answering 404. */
static int find_pod(const sp_wl *w, const char *pod, sim_resp *rs)
{
    char id[160];
    for (int i = 0; sim_primus_has_pods(w) && i < w->replica && i < 64; i++) {
        sim_primus_pod_id(w, i, id, sizeof(id));
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
        snprintf(buf, n, "%s Pulling image \"%.400s\"", t, sim_primus_image(w));
        return;
    }
    if (i == 1 || i == 2) {
        *at = w->started;
        gb_time_format(*at, t, sizeof(t));
        if (i == 1) {
            snprintf(buf, n, "%s Started container %s", t, sim_primus_container(w));
            return;
        }
        char *cmd = sim_primus_command(w);
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
    if (ct && ct[0] && strcmp(ct, sim_primus_container(w)) != 0) {
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
    if (c) cJSON_AddStringToObject(c, "name", sim_primus_container(w));
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
