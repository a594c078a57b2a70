/* sim_runai_wl.c: the Run:ai simulator's workloads v2 handlers: create (with ?dryRun=true),
 * get, list, update (PUT with a new manifest), desiredPhase (PATCH) and delete, and the
 * workload's JSON ({"metadata":{id,name,projectId,...},"phase","desiredPhase",...}). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ids.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_runai_int.h"

#define LIST_DEFAULT 50
#define LIST_MAX 500

static const char *const PHASE[] = {"Creating", "Pending",  "Initializing", "Running",
                                    "Updating", "Resuming", "Stopping",     "Stopped",
                                    "Deleting", "Failed",   "Completed"};

static void uuid4(char out[37])
{
    unsigned char b[16];
    gb_random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static bool is_uuid(const char *s)
{
    if (!s || strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? c != '-' : !hex) return false;
    }
    return true;
}

static const char *phase_message(const sr_workload *w)
{
    switch (w->phase) {
    case SR_CREATING:
        return "Submitting the workload to the cluster";
    case SR_PENDING:
        return "Waiting for the scheduler: not enough free GPUs in the node pool";
    case SR_INITIALIZING:
        return "Pulling the image and starting the containers";
    case SR_UPDATING:
        return "Applying the new spec";
    case SR_RESUMING:
        return "Resuming: allocating GPUs";
    case SR_STOPPING:
        return "Stopping: releasing GPUs";
    case SR_DELETING:
        return "Deleting the workload's resources";
    default:
        return "";
    }
}

cJSON *sim_runai_wl_json(const sr_workload *w, bool full)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *md = j ? cJSON_AddObjectToObject(j, "metadata") : NULL;
    if (!md) {
        cJSON_Delete(j);
        return NULL;
    }
    cJSON_AddStringToObject(md, "id", w->id);
    cJSON_AddStringToObject(md, "name", w->name);
    cJSON_AddStringToObject(md, "projectId", w->project);
    cJSON_AddStringToObject(md, "clusterId", SR_CLUSTER_ID);
    cJSON_AddStringToObject(md, "workloadType", w->info.kind);
    if (w->priority[0]) cJSON_AddStringToObject(md, "priority", w->priority);
    if (w->node_pool[0]) cJSON_AddStringToObject(md, "nodePool", w->node_pool);
    gb_json_add_time(md, "createdAt", w->created_at);
    cJSON_AddStringToObject(j, "phase", PHASE[w->phase]);
    cJSON_AddStringToObject(j, "phaseMessage", phase_message(w));
    cJSON_AddStringToObject(j, "desiredPhase",
                            w->phase == SR_DELETING ? "Deleted"
                            : w->want_running       ? "Running"
                                                    : "Stopped");
    cJSON_AddNumberToObject(j, "requestedGPUs", w->info.gpus_per_pod * w->info.replicas);
    cJSON_AddNumberToObject(j, "allocatedGPUs", sim_runai_held(w));
    if (full) cJSON_AddItemToObject(j, "rawManifest", cJSON_Duplicate(w->manifest, 1));
    return j;
}

void sim_runai_wl_free(sr_workload *w)
{
    if (!w) return;
    cJSON_Delete(w->manifest);
    free(w);
}

/* The workload for the :id parameter, or NULL after answering 400/404. */
static sr_workload *find(sr_state *st, const sim_req *rq, sim_resp *rs)
{
    const char *id = rq->params[0];
    if (!is_uuid(id)) {
        sim_runai_err(rs, 400, "WorkloadV2Id must be a UUID");
        return NULL;
    }
    for (size_t i = 0; i < st->n; i++)
        if (strcasecmp(st->wl[i]->id, id) == 0) return st->wl[i];
    sim_runai_err(rs, 404, "Workload %.36s not found", id);
    return NULL;
}

static void reply(sim_resp *rs, int status, const sr_workload *w, bool full)
{
    sim_json(rs, status, sim_runai_wl_json(w, full));
}

void sim_runai_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sr_state *st = state;
    const char *qo = sim_query(rq, "offset"), *ql = sim_query(rq, "limit");
    int off = 0, lim = LIST_DEFAULT;
    if ((qo && gb_parse_int(qo, 0, 1000000, &off)) || (ql && gb_parse_int(ql, 1, LIST_MAX, &lim))) {
        sim_runai_err(rs, 400, "offset must be >= 0 and limit 1-%d", LIST_MAX);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = j ? cJSON_AddArrayToObject(j, "workloads") : NULL;
    size_t end = (size_t)off + (size_t)lim;
    for (size_t i = (size_t)off; arr && i < st->n && i < end; i++)
        cJSON_AddItemToArray(arr, sim_runai_wl_json(st->wl[i], false));
    if (j) {
        cJSON_AddNumberToObject(j, "totalCount", (double)st->n);
        if (end < st->n) cJSON_AddNumberToObject(j, "next", (double)end);
    }
    sim_json(rs, 200, j);
}

/* Reads metadata {name, projectId, clusterId, priority, nodePool} into w; -1 after a 400. */
static int read_metadata(const cJSON *md, sr_workload *w, sim_resp *rs)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
    const char *proj = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "projectId"));
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(md, "clusterId");
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(md, "priority");
    const cJSON *np = cJSON_GetObjectItemCaseSensitive(md, "nodePool");
    const char *why = NULL;
    if (!cJSON_IsObject(md))
        why = "metadata is required";
    else if (!sim_runai_dns_label(name))
        why = "metadata.name must be a DNS-1123 label (1-63 lowercase letters, digits or '-')";
    else if (!proj || !proj[0])
        why = "metadata.projectId is required";
    else if (!sim_runai_known_project(proj))
        why = "metadata.projectId: no such project";
    else if (cl && !cJSON_IsNull(cl) &&
             !(cJSON_IsString(cl) && !strcmp(cl->valuestring, SR_CLUSTER_ID)))
        why = "metadata.clusterId: no such cluster";
    else if (pr && !cJSON_IsNull(pr) &&
             !(cJSON_IsString(pr) && strlen(pr->valuestring) < sizeof(w->priority)))
        why = "metadata.priority must be a priority class name";
    else if (np && !cJSON_IsNull(np) &&
             !(cJSON_IsString(np) && sim_runai_dns_label(np->valuestring)))
        why = "metadata.nodePool must be a node pool name";
    if (why) {
        sim_runai_err(rs, 400, "%s", why);
        return -1;
    }
    gb_strlcpy(w->name, name, sizeof(w->name));
    gb_strlcpy(w->project, proj, sizeof(w->project));
    if (cJSON_IsString(pr)) gb_strlcpy(w->priority, pr->valuestring, sizeof(w->priority));
    if (cJSON_IsString(np)) gb_strlcpy(w->node_pool, np->valuestring, sizeof(w->node_pool));
    return 0;
}

void sim_runai_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sr_state *st = state;
    const char *dry = sim_query(rq, "dryRun");
    char msg[256];
    cJSON *m = NULL;
    sr_workload *w = NULL;
    if (dry && strcmp(dry, "true") != 0 && strcmp(dry, "false") != 0) {
        sim_runai_err(rs, 400, "dryRun must be true or false");
        return;
    }
    bool dry_run = dry && strcmp(dry, "true") == 0;
    cJSON *b = sim_body(s, rq, rs);
    if (!b) return;
    if (!cJSON_IsObject(b) || !(w = calloc(1, sizeof(*w)))) {
        sim_runai_err(rs, w ? 400 : 500, "%s",
                      w ? "the body must be a JSON object" : "out of memory");
        goto done;
    }
    if (read_metadata(cJSON_GetObjectItemCaseSensitive(b, "metadata"), w, rs)) goto done;
    if (sim_runai_manifest_read(b, &m, &w->info, msg, sizeof(msg))) {
        sim_runai_err(rs, 400, "%s", msg);
        goto done;
    }
    if (strcmp(w->info.name, w->name) != 0) {
        sim_runai_err(rs, 400, "the manifest's metadata.name '%s' differs from metadata.name '%s'",
                      w->info.name, w->name);
        goto done;
    }
    for (size_t i = 0; i < st->n; i++) {
        if (!strcmp(st->wl[i]->name, w->name) && !strcmp(st->wl[i]->project, w->project)) {
            sim_runai_err(rs, 409, "Workload '%s' already exists in project '%s'", w->name,
                          w->project);
            goto done;
        }
    }
    if (st->n >= SR_MAX_WORKLOADS) {
        sim_runai_err(rs, 409, "Workload limit reached (%d)", SR_MAX_WORKLOADS);
        goto done;
    }
    if (dry_run) {
        st->dry_runs++;
        cJSON *j = cJSON_CreateObject(), *md = j ? cJSON_AddObjectToObject(j, "metadata") : NULL;
        if (md) {
            cJSON_AddStringToObject(md, "name", w->name);
            cJSON_AddStringToObject(md, "projectId", w->project);
            cJSON_AddStringToObject(j, "desiredPhase", "Running");
            cJSON_AddBoolToObject(j, "dryRun", 1);
        }
        sim_json(rs, 200, j);
        goto done;
    }
    if (st->n == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 16;
        sr_workload **nw = realloc(st->wl, nc * sizeof(*nw));
        if (!nw) {
            sim_runai_err(rs, 500, "out of memory");
            goto done;
        }
        st->wl = nw;
        st->cap = nc;
    }
    uuid4(w->id);
    w->phase = SR_CREATING;
    w->want_running = true;
    w->created_at = st->now;
    w->until = st->now + SR_CREATING_MS;
    w->manifest = m;
    m = NULL;
    st->wl[st->n++] = w;
    reply(rs, 202, w, true);
    w = NULL;
done:
    sim_runai_wl_free(w);
    cJSON_Delete(m);
    cJSON_Delete(b);
}

void sim_runai_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sr_workload *w = find(state, rq, rs);
    if (w) reply(rs, 200, w, true);
}

/* PUT: a new manifest (same name and kind). A workload holding GPUs whose spec changed goes
 * Updating and is placed again with the new spec (a metadata-only change, e.g. annotations,
 * is applied in place); a stopped or not yet scheduled one just takes the spec. */
void sim_runai_put(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sr_state *st = state;
    sr_workload *w = find(st, rq, rs);
    char msg[256];
    cJSON *m = NULL, *b = w ? sim_body(s, rq, rs) : NULL;
    sr_manifest info;
    if (!b) return;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(b, "metadata");
    const char *mdname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
    if (w->phase == SR_DELETING) {
        sim_runai_err(rs, 409, "Workload %s is being deleted", w->id);
    } else if (w->phase == SR_FAILED || w->phase == SR_COMPLETED) {
        sim_runai_err(rs, 409, "Workload %s has finished (%s)", w->id, PHASE[w->phase]);
    } else if (sim_runai_manifest_read(b, &m, &info, msg, sizeof(msg))) {
        sim_runai_err(rs, 400, "%s", msg);
    } else if (strcmp(info.name, w->name) != 0 || (mdname && strcmp(mdname, w->name) != 0)) {
        sim_runai_err(rs, 400, "metadata.name is immutable ('%s')", w->name);
    } else if (strcmp(info.kind, w->info.kind) != 0) {
        sim_runai_err(rs, 400, "the workload type is immutable (%s)", w->info.kind);
    } else {
        bool same_spec = cJSON_Compare(cJSON_GetObjectItemCaseSensitive(w->manifest, "spec"),
                                       cJSON_GetObjectItemCaseSensitive(m, "spec"), true);
        cJSON_Delete(w->manifest);
        w->manifest = m;
        m = NULL;
        w->info = info;
        if (!same_spec && sim_runai_held(w) > 0 &&
            (w->phase == SR_INITIALIZING || w->phase == SR_RUNNING || w->phase == SR_UPDATING)) {
            w->phase = SR_UPDATING;
            w->until = st->now + SR_UPDATING_MS;
        }
        reply(rs, 202, w, true);
    }
    cJSON_Delete(m);
    cJSON_Delete(b);
}

static void start_delete(sr_state *st, sr_workload *w)
{
    if (w->phase == SR_DELETING) return;
    w->phase = SR_DELETING;
    w->want_running = false;
    w->until = st->now + SR_DELETING_MS;
}

/* PATCH {"desiredPhase": "Running" | "Stopped" | "Deleted"}. */
void sim_runai_patch(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const allowed[] = {"desiredPhase", NULL};
    sr_state *st = state;
    sr_workload *w = find(st, rq, rs);
    char jerr[GB_JSON_ERR_MAX];
    const char *want = NULL;
    cJSON *b = w ? sim_body(s, rq, rs) : NULL;
    if (!b) return;
    if (gb_json_only_keys(b, allowed, jerr) ||
        gb_json_str(b, "desiredPhase", 1, 16, true, &want, jerr)) {
        sim_runai_err(rs, 400, "%s", jerr);
    } else if (strcmp(want, "Running") && strcmp(want, "Stopped") && strcmp(want, "Deleted")) {
        sim_runai_err(rs, 400, "desiredPhase must be Running, Stopped or Deleted");
    } else if (w->phase == SR_DELETING) {
        sim_runai_err(rs, 409, "Workload %s is being deleted", w->id);
    } else if (!strcmp(want, "Deleted")) {
        start_delete(st, w);
        reply(rs, 202, w, false);
    } else if (!strcmp(want, "Running") && (w->phase == SR_FAILED || w->phase == SR_COMPLETED)) {
        sim_runai_err(rs, 409, "Workload %s has finished (%s) and cannot be resumed", w->id,
                      PHASE[w->phase]);
    } else {
        w->want_running = !strcmp(want, "Running");
        if (w->want_running && w->phase == SR_STOPPED) {
            w->phase = SR_RESUMING;
            w->until = st->now + SR_RESUMING_MS;
        } else if (!w->want_running && w->phase != SR_STOPPING && w->phase != SR_STOPPED &&
                   w->phase != SR_FAILED && w->phase != SR_COMPLETED) {
            w->phase = SR_STOPPING;
            w->until = st->now + SR_STOPPING_MS;
        }
        reply(rs, 202, w, false);
    }
    cJSON_Delete(b);
}

void sim_runai_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sr_state *st = state;
    sr_workload *w = find(st, rq, rs);
    if (!w) return;
    start_delete(st, w);
    reply(rs, 202, w, false);
}
