/* sim_runai_v1.c: the Run:ai simulator's v1 reads, where phases live (public OpenAPI spec,
 * runai-professional-services/runapy, .generator/swagger.json 1.224.0):
 *  - GET /api/v1/workloads?offset&limit&filterBy&deleted -> {"workloads":[Workload],"next"}
 *    ("next" only when more follow; limit 1-500, default 50);
 *  - GET /api/v1/workloads/{workloadId} -> WorkloadDetailed (Workload + pending messages);
 *  - GET /api/v1/org-unit/projects?filterBy&offset&limit -> {"projects":[Project],"next"}.
 * filterBy is one comma-separated list (explode: false) of field, operator and value; the
 * simulator evaluates == and != on name, projectId, projectName, clusterId and phase (for
 * projects: name and clusterId) and refuses every other filter with 400. Workloads made
 * through workloads v2 show here with sourceApi "WorkloadsV2" and type = their Kind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_runai_int.h"

#define LIST_DEFAULT 50
#define LIST_MAX 500
#define MAX_FILTERS 8

const char *sim_runai_phase_message(const sr_workload *w)
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

/* {"gpu":{"request":n}} in WorkloadRequestResources form ("portion" GPUs). */
static void add_gpus(cJSON *o, const char *key, double n)
{
    cJSON *r = cJSON_AddObjectToObject(o, key);
    cJSON *g = r ? cJSON_AddObjectToObject(r, "gpu") : NULL;
    if (!g) return;
    cJSON_AddStringToObject(r, "gpuRequestType", "portion");
    cJSON_AddNumberToObject(g, "request", n);
    cJSON_AddNumberToObject(g, "limit", n);
}

cJSON *sim_runai_v1_json(const sr_workload *w)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    const char *phase = sim_runai_phase_name(w->phase);
    int held = sim_runai_held(w);
    cJSON_AddStringToObject(j, "type", w->info.kind);
    cJSON_AddStringToObject(j, "name", w->name);
    cJSON_AddStringToObject(j, "id", w->id);
    cJSON_AddStringToObject(j, "source", "Control-plane");
    cJSON_AddNullToObject(j, "priority");
    cJSON_AddStringToObject(j, "priorityClassName", w->priority[0] ? w->priority : "");
    cJSON_AddStringToObject(j, "submittedBy", SR_SUBMITTER);
    cJSON_AddStringToObject(j, "clusterId", SR_CLUSTER_ID);
    cJSON_AddStringToObject(j, "projectName", w->project->name);
    cJSON_AddStringToObject(j, "projectId", w->project->id);
    cJSON_AddStringToObject(j, "departmentName", SR_DEPARTMENT_NAME);
    cJSON_AddStringToObject(j, "departmentId", SR_DEPARTMENT_ID);
    char ns[96];
    snprintf(ns, sizeof(ns), "runai-%s", w->project->name);
    cJSON_AddStringToObject(j, "namespace", ns);
    gb_json_add_time(j, "createdAt", w->created_at);
    cJSON_AddStringToObject(j, "phase", phase);
    cJSON_AddStringToObject(j, "phaseMessage", sim_runai_phase_message(w));
    cJSON_AddArrayToObject(j, "conditions");
    cJSON_AddStringToObject(j, "k8sPhase", w->phase == SR_RUNNING ? "Running" : "Pending");
    cJSON_AddNumberToObject(j, "tenantId", SR_TENANT_ID);
    cJSON_AddNumberToObject(j, "runningPods", w->phase == SR_RUNNING ? w->info.replicas : 0);
    gb_json_add_time(j, "phaseUpdatedAt", w->updated_at);
    gb_json_add_time(j, "k8sPhaseUpdatedAt", w->updated_at);
    gb_json_add_time(j, "updatedAt", w->updated_at);
    cJSON_AddNullToObject(j, "deletedAt");
    cJSON_AddStringToObject(j, "category", strcmp(w->info.kind, "Deployment") ? "Build" : "Deploy");
    add_gpus(j, "workloadRequestedResources", w->info.gpus_per_pod * w->info.replicas);
    add_gpus(j, "podsRequestedResources", w->info.gpus_per_pod);
    cJSON *rp = cJSON_AddObjectToObject(j, "requestedPods");
    if (rp) cJSON_AddNumberToObject(rp, "number", w->info.replicas);
    cJSON *al = cJSON_AddObjectToObject(j, "allocatedResources");
    if (al) cJSON_AddNumberToObject(al, "gpu", held);
    cJSON *as = cJSON_AddObjectToObject(j, "actionsSupport");
    if (as) { /* suspend/resume exist only for Run:ai's own v1 types */
        cJSON_AddBoolToObject(as, "delete", 1);
        cJSON_AddBoolToObject(as, "suspend", 0);
    }
    const char *img[] = {w->info.image};
    cJSON_AddItemToObject(j, "images", cJSON_CreateStringArray(img, 1));
    cJSON_AddStringToObject(j, "sourceApi", "WorkloadsV2");
    return j;
}

/* ---- filterBy ---- */

typedef struct {
    char field[32];
    bool neq;
    char value[128];
} filter;

/* Parses filterBy against the fields the route knows; -1 with msg on a refusal. */
static int parse_filters(const char *q, const char *const *fields, filter *f, int *nf, char *msg,
                         size_t n)
{
    *nf = 0;
    for (const char *p = q; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[192];
        if (len >= sizeof(item) || *nf >= MAX_FILTERS) {
            snprintf(msg, n, "filterBy: too long");
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        char *op = strstr(item, "==");
        char *ne = strstr(item, "!=");
        if (!op || (ne && ne < op)) op = ne;
        if (!op || !op[2] || op == item || (size_t)(op - item) >= sizeof(f->field)) {
            snprintf(msg, n, "filterBy '%.64s' must be field, operator (== or !=) and value", item);
            return -1;
        }
        filter *x = &f[(*nf)++];
        x->neq = op[0] == '!';
        *op = '\0';
        gb_strlcpy(x->field, item, sizeof(x->field));
        gb_strlcpy(x->value, op + 2, sizeof(x->value));
        bool known = false;
        for (const char *const *k = fields; *k; k++)
            known = known || strcmp(*k, x->field) == 0;
        if (!known) {
            snprintf(msg, n, "filterBy: the field '%.32s' cannot be filtered here", x->field);
            return -1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static bool matches(const filter *f, int nf, const cJSON *o)
{
    for (int i = 0; i < nf; i++) {
        const char *v = gb_jstr(o, f[i].field);
        bool eq = v && strcmp(v, f[i].value) == 0;
        if (eq == f[i].neq) return false;
    }
    return true;
}

/* offset and limit; -1 after a 400. */
static int paging(const sim_req *rq, sim_resp *rs, int *off, int *lim)
{
    const char *qo = sim_query(rq, "offset"), *ql = sim_query(rq, "limit");
    *off = 0;
    *lim = LIST_DEFAULT;
    if ((qo && gb_parse_int(qo, 0, 1000000, off)) || (ql && gb_parse_int(ql, 1, LIST_MAX, lim))) {
        sim_runai_err(rs, 400, "offset must be >= 0 and limit 1-%d", LIST_MAX);
        return -1;
    }
    return 0;
}

/* Answers {key: items[off, off+lim), "next"} from a filtered array (taken). */
static void page(sim_resp *rs, const char *key, cJSON *all, int off, int lim)
{
    cJSON *j = cJSON_CreateObject(), *arr = j ? cJSON_AddArrayToObject(j, key) : NULL;
    int total = cJSON_GetArraySize(all);
    for (int i = off; arr && i < total && i < off + lim; i++)
        cJSON_AddItemToArray(arr, cJSON_Duplicate(cJSON_GetArrayItem(all, i), 1));
    if (j && off + lim < total) cJSON_AddNumberToObject(j, "next", off + lim);
    cJSON_Delete(all);
    sim_json(rs, 200, j);
}

void sim_runai_v1_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const fields[] = {"name",      "projectId", "projectName",
                                         "clusterId", "phase",     NULL};
    (void)s;
    sr_state *st = state;
    filter f[MAX_FILTERS];
    int nf = 0, off, lim;
    char msg[256];
    const char *del = sim_query(rq, "deleted");
    if (paging(rq, rs, &off, &lim)) return;
    if (del && strcmp(del, "true") != 0 && strcmp(del, "false") != 0) {
        sim_runai_err(rs, 400, "deleted must be true or false");
        return;
    }
    if (parse_filters(sim_query(rq, "filterBy"), fields, f, &nf, msg, sizeof(msg))) {
        sim_runai_err(rs, 400, "%s", msg);
        return;
    }
    cJSON *all = cJSON_CreateArray();
    bool only_deleted = del && !strcmp(del, "true"); /* deleted ones are dropped: none */
    for (size_t i = 0; all && !only_deleted && i < st->n; i++) {
        cJSON *w = sim_runai_v1_json(st->wl[i]);
        if (w && matches(f, nf, w))
            cJSON_AddItemToArray(all, w);
        else
            cJSON_Delete(w);
    }
    page(rs, "workloads", all, off, lim);
}

void sim_runai_v1_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sr_state *st = state;
    const char *id = rq->params[0];
    if (!sim_runai_uuid(id)) {
        sim_runai_err(rs, 400, "workloadId must be a UUID");
        return;
    }
    for (size_t i = 0; i < st->n; i++) {
        if (strcasecmp(st->wl[i]->id, id) != 0) continue;
        cJSON *j = sim_runai_v1_json(st->wl[i]);
        cJSON *pm = j ? cJSON_AddArrayToObject(j, "pendingSchedulingMessages") : NULL;
        (void)pm;
        sim_json(rs, 200, j);
        return;
    }
    sim_runai_err(rs, 404, "Workload %.36s not found", id);
}

void sim_runai_projects_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const fields[] = {"name", "clusterId", NULL};
    (void)s;
    (void)state;
    filter f[MAX_FILTERS];
    int nf = 0, off, lim;
    char msg[256];
    size_t np = 0;
    const sr_project *ps = sim_runai_projects(&np);
    if (paging(rq, rs, &off, &lim)) return;
    if (parse_filters(sim_query(rq, "filterBy"), fields, f, &nf, msg, sizeof(msg))) {
        sim_runai_err(rs, 400, "%s", msg);
        return;
    }
    cJSON *all = cJSON_CreateArray();
    for (size_t i = 0; all && i < np; i++) {
        cJSON *p = cJSON_CreateObject();
        if (!p) break;
        cJSON_AddStringToObject(p, "description", "");
        cJSON_AddStringToObject(p, "id", ps[i].id);
        cJSON_AddStringToObject(p, "name", ps[i].name);
        cJSON_AddStringToObject(p, "clusterId", SR_CLUSTER_ID);
        cJSON_AddStringToObject(p, "parentId", SR_DEPARTMENT_ID);
        cJSON_AddBoolToObject(p, "enforceRunaiScheduler", 1);
        cJSON *stt = cJSON_AddObjectToObject(p, "status");
        if (stt) cJSON_AddStringToObject(stt, "phase", "Ready");
        cJSON *tot = cJSON_AddObjectToObject(p, "totalResources");
        if (tot) cJSON_AddNumberToObject(tot, "gpuQuota", SR_NODES * SR_GPUS_PER_NODE);
        cJSON_AddObjectToObject(p, "effective");
        cJSON_AddArrayToObject(p, "resources");
        cJSON_AddStringToObject(p, "createdAt", "2025-01-01T00:00:00Z");
        cJSON_AddStringToObject(p, "updatedAt", "2025-01-01T00:00:00Z");
        if (matches(f, nf, p))
            cJSON_AddItemToArray(all, p);
        else
            cJSON_Delete(p);
    }
    page(rs, "projects", all, off, lim);
}
