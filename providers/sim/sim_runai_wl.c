/* sim_runai_wl.c: the Run:ai simulator's workloads v2, as the public OpenAPI spec
 * (runai-professional-services/runapy, .generator/swagger.json 1.224.0, tag "Workloads V2")
 * has them: POST /api/v2/workloads (WorkloadV2CreateRequest -> 202 WorkloadV2),
 * GET /api/v2/workloads/{id} (-> 200 WorkloadV2GetResponse {workload, syncInfo}),
 * PUT /api/v2/workloads/{id} (WorkloadV2UpdateRequest -> 202 WorkloadV2) and DELETE (-> 202
 * WorkloadV2). A WorkloadV2 carries no phase: phases live in the v1 reads (sim_runai_v1.c).
 * Bodies are checked as strictly as the schemas read: unknown fields, a dryRun query (the
 * spec has none) and priorities outside the seven the spec lists are refused with 400. */
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

static const char *const PRIORITIES[] = {"very-low",    "low",  "medium-low", "medium",
                                         "medium-high", "high", "very-high"};

/* metadata of a WorkloadV2 (WorkloadV2MetadataResponse + WorkloadV2MetadataAutoFill). */
static cJSON *metadata_json(const sr_workload *w)
{
    bool deploy = strcmp(w->info.kind, "Deployment") == 0;
    cJSON *md = cJSON_CreateObject(), *gvk = md ? cJSON_AddObjectToObject(md, "gvk") : NULL;
    if (!gvk) {
        cJSON_Delete(md);
        return NULL;
    }
    cJSON_AddStringToObject(md, "name", w->name);
    cJSON_AddStringToObject(md, "projectId", w->project->id);
    if (w->priority[0]) cJSON_AddStringToObject(md, "priority", w->priority);
    cJSON_AddStringToObject(md, "id", w->id);
    cJSON_AddStringToObject(gvk, "group", deploy ? "apps" : "");
    cJSON_AddStringToObject(gvk, "version", "v1");
    cJSON_AddStringToObject(gvk, "kind", w->info.kind);
    cJSON_AddStringToObject(md, "projectName", w->project->name);
    cJSON_AddStringToObject(md, "clusterId", SR_CLUSTER_ID);
    cJSON_AddNumberToObject(md, "tenantId", SR_TENANT_ID);
    cJSON_AddStringToObject(md, "departmentId", SR_DEPARTMENT_ID);
    cJSON_AddStringToObject(md, "departmentName", SR_DEPARTMENT_NAME);
    gb_json_add_time(md, "createdAt", w->created_at);
    cJSON_AddStringToObject(md, "createdBy", SR_SUBMITTER);
    gb_json_add_time(md, "updatedAt", w->updated_at);
    cJSON_AddStringToObject(md, "updatedBy", SR_SUBMITTER);
    return md;
}

/* A WorkloadV2: {metadata, desiredPhase, workloadManifest, rawManifest}. */
static cJSON *v2_json(const sr_workload *w)
{
    cJSON *j = cJSON_CreateObject(), *md = metadata_json(w);
    if (!j || !md || !cJSON_AddItemToObject(j, "metadata", md)) {
        cJSON_Delete(j);
        cJSON_Delete(md);
        return NULL;
    }
    cJSON_AddStringToObject(j, "desiredPhase",
                            w->phase == SR_DELETING ? "Deleted"
                            : w->want_running       ? "Running"
                                                    : "Stopped");
    cJSON_AddItemToObject(j, "workloadManifest", cJSON_Duplicate(w->manifest, 1));
    cJSON_AddItemToObject(j, "rawManifest", cJSON_Duplicate(w->manifest, 1));
    return j;
}

cJSON *sim_runai_wl_dump(const sr_workload *w)
{
    cJSON *j = v2_json(w);
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "phase", sim_runai_phase_name(w->phase));
    cJSON_AddNumberToObject(j, "requestedGPUs", w->info.gpus_per_pod * w->info.replicas);
    cJSON_AddNumberToObject(j, "allocatedGPUs", sim_runai_held(w));
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
    if (!sim_runai_uuid(id)) {
        sim_runai_err(rs, 400, "WorkloadV2Id must be a UUID");
        return NULL;
    }
    for (size_t i = 0; i < st->n; i++)
        if (strcasecmp(st->wl[i]->id, id) == 0) return st->wl[i];
    sim_runai_err(rs, 404, "Workload %.36s not found", id);
    return NULL;
}

static bool priority_ok(const char *p)
{
    for (size_t i = 0; i < GB_ARRAY_LEN(PRIORITIES); i++)
        if (strcmp(p, PRIORITIES[i]) == 0) return true;
    return false;
}

/* metadata.priority and metadata.category (both nullable strings); NULL when fine, else the
 * 400 reason. */
static const char *check_priority(const cJSON *md, sr_workload *w)
{
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(md, "priority");
    const cJSON *cat = cJSON_GetObjectItemCaseSensitive(md, "category");
    if (pr && !cJSON_IsNull(pr) && !(cJSON_IsString(pr) && priority_ok(pr->valuestring)))
        return "metadata.priority must be one of very-low, low, medium-low, medium, "
               "medium-high, high, very-high";
    if (cat && !cJSON_IsNull(cat) && !cJSON_IsString(cat))
        return "metadata.category must be a string";
    if (cJSON_IsString(pr)) gb_strlcpy(w->priority, pr->valuestring, sizeof(w->priority));
    return NULL;
}

/* WorkloadV2MetadataCreateParams into w; -1 after a 400. */
static int read_metadata(sr_state *st, const cJSON *md, sr_workload *w, sim_resp *rs)
{
    static const char *const allowed[] = {
        "name",     "useGivenNameAsPrefix", "projectId", "clusterId", "priority",
        "category", "preemptibility",       NULL};
    char jerr[GB_JSON_ERR_MAX];
    const char *name = gb_jstr(md, "name"), *proj = gb_jstr(md, "projectId");
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(md, "clusterId");
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(md, "preemptibility");
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(md, "useGivenNameAsPrefix");
    const char *why = NULL;
    if (!cJSON_IsObject(md)) {
        why = "metadata is required";
    } else if (gb_json_only_keys(md, allowed, jerr)) {
        sim_runai_err(rs, 400, "metadata: %s", jerr);
        return -1;
    } else if (!sim_runai_dns_label(name)) {
        why = "metadata.name must be a DNS-1123 label (1-63 lowercase letters, digits or '-')";
    } else if (!proj || !proj[0]) {
        why = "metadata.projectId is required";
    } else if (!(w->project = sim_runai_project(proj))) {
        sim_runai_err(rs, 400, "metadata.projectId: no project with id '%.64s'", proj);
        return -1;
    } else if (cl && !cJSON_IsNull(cl) &&
               !(cJSON_IsString(cl) && !strcmp(cl->valuestring, SR_CLUSTER_ID))) {
        why = "metadata.clusterId: no such cluster";
    } else if (pre && !cJSON_IsNull(pre) &&
               !(cJSON_IsString(pre) && (!strcmp(pre->valuestring, "preemptible") ||
                                         !strcmp(pre->valuestring, "non-preemptible")))) {
        why = "metadata.preemptibility must be preemptible or non-preemptible";
    } else if (prefix && !cJSON_IsBool(prefix)) {
        why = "metadata.useGivenNameAsPrefix must be a boolean";
    } else {
        why = check_priority(md, w);
    }
    if (why) {
        sim_runai_err(rs, 400, "%s", why);
        return -1;
    }
    gb_strlcpy(w->name, name, sizeof(w->name));
    if (cJSON_IsTrue(prefix)) { /* the name plus a random suffix */
        char sfx[6];
        gb_random_base62(sfx, 5);
        for (int i = 0; i < 5; i++)
            sfx[i] = (char)(sfx[i] >= 'A' && sfx[i] <= 'Z' ? sfx[i] - 'A' + 'a' : sfx[i]);
        size_t l = strlen(w->name);
        if (l > SR_NAME_MAX - 6) l = SR_NAME_MAX - 6;
        snprintf(w->name + l, sizeof(w->name) - l, "-%s", sfx);
    }
    (void)st;
    return 0;
}

/* The body's top level: metadata, manifest, manifestBase64Encoded and nothing else. */
static int top_keys(const cJSON *b, sim_resp *rs)
{
    static const char *const allowed[] = {"metadata", "manifest", "manifestBase64Encoded", NULL};
    char jerr[GB_JSON_ERR_MAX];
    if (!cJSON_IsObject(b)) {
        sim_runai_err(rs, 400, "the body must be a JSON object");
        return -1;
    }
    if (gb_json_only_keys(b, allowed, jerr)) {
        sim_runai_err(rs, 400, "%s", jerr);
        return -1;
    }
    return 0;
}

void sim_runai_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sr_state *st = state;
    char msg[256];
    cJSON *m = NULL;
    sr_workload *w = NULL;
    if (sim_query(rq, "dryRun")) { /* POST /api/v2/workloads takes no query parameters */
        sim_runai_err(rs, 400, "unknown query parameter 'dryRun'");
        return;
    }
    cJSON *b = sim_body(s, rq, rs);
    if (!b) return;
    if (top_keys(b, rs)) goto done;
    if (!(w = calloc(1, sizeof(*w)))) {
        sim_runai_err(rs, 500, "out of memory");
        goto done;
    }
    if (read_metadata(st, cJSON_GetObjectItemCaseSensitive(b, "metadata"), w, rs)) goto done;
    if (sim_runai_manifest_read(b, &m, &w->info, msg, sizeof(msg))) {
        sim_runai_err(rs, 400, "%s", msg);
        goto done;
    }
    if (strcmp(w->info.name, gb_jstr(gb_jpath(b, "metadata"), "name")) != 0) {
        sim_runai_err(rs, 400, "the manifest's metadata.name '%s' differs from metadata.name '%s'",
                      w->info.name, gb_jstr(gb_jpath(b, "metadata"), "name"));
        goto done;
    }
    for (size_t i = 0; i < st->n; i++) {
        if (!strcmp(st->wl[i]->name, w->name) && st->wl[i]->project == w->project) {
            sim_runai_err(rs, 409, "Workload '%s' already exists in project '%s'", w->name,
                          w->project->name);
            goto done;
        }
    }
    if (st->n >= SR_MAX_WORKLOADS) {
        sim_runai_err(rs, 409, "Workload limit reached (%d)", SR_MAX_WORKLOADS);
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
    w->created_at = w->updated_at = st->now;
    w->until = st->now + SR_CREATING_MS;
    w->manifest = m;
    m = NULL;
    st->wl[st->n++] = w;
    sim_json(rs, 202, v2_json(w));
    w = NULL;
done:
    sim_runai_wl_free(w);
    cJSON_Delete(m);
    cJSON_Delete(b);
}

/* WorkloadV2GetResponse: {workload, syncInfo {status, message}}. */
void sim_runai_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sr_workload *w = find(state, rq, rs);
    if (!w) return;
    cJSON *j = cJSON_CreateObject(), *wl = v2_json(w);
    cJSON *si = j && wl && cJSON_AddItemToObject(j, "workload", wl)
                    ? cJSON_AddObjectToObject(j, "syncInfo")
                    : NULL;
    if (!si) {
        if (!cJSON_GetObjectItemCaseSensitive(j, "workload")) cJSON_Delete(wl);
        cJSON_Delete(j);
        sim_runai_err(rs, 500, "out of memory");
        return;
    }
    cJSON_AddStringToObject(si, "status", w->phase == SR_DELETING ? "Deleting" : "Synced");
    sim_json(rs, 200, j);
}

/* PUT: WorkloadV2UpdateRequest {metadata {priority, category}, manifest |
 * manifestBase64Encoded}. A workload holding GPUs whose spec changed goes Updating and is
 * placed again with the new spec (a metadata-only change, e.g. annotations, is applied in
 * place); a stopped or not yet scheduled one just takes the spec. */
void sim_runai_put(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const md_allowed[] = {"priority", "category", NULL};
    sr_state *st = state;
    sr_workload *w = find(st, rq, rs);
    char msg[256], jerr[GB_JSON_ERR_MAX];
    cJSON *m = NULL, *b = w ? sim_body(s, rq, rs) : NULL;
    sr_manifest info;
    if (!b) return;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(b, "metadata");
    sr_workload tmp = {0};
    const char *why = NULL;
    if (top_keys(b, rs)) goto done;
    if (md && (!cJSON_IsObject(md) || gb_json_only_keys(md, md_allowed, jerr))) {
        sim_runai_err(rs, 400, "metadata: %s",
                      cJSON_IsObject(md) ? jerr : "must be an object {priority, category}");
    } else if (md && (why = check_priority(md, &tmp))) {
        sim_runai_err(rs, 400, "%s", why);
    } else if (w->phase == SR_DELETING) {
        sim_runai_err(rs, 409, "Workload %s is being deleted", w->id);
    } else if (w->phase == SR_FAILED || w->phase == SR_COMPLETED) {
        sim_runai_err(rs, 409, "Workload %s has finished (%s)", w->id,
                      sim_runai_phase_name(w->phase));
    } else if (sim_runai_manifest_read(b, &m, &info, msg, sizeof(msg))) {
        sim_runai_err(rs, 400, "%s", msg);
    } else if (strcmp(info.name, w->name) != 0) {
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
        w->updated_at = st->now;
        if (tmp.priority[0]) gb_strlcpy(w->priority, tmp.priority, sizeof(w->priority));
        if (!same_spec && sim_runai_held(w) > 0 &&
            (w->phase == SR_INITIALIZING || w->phase == SR_RUNNING || w->phase == SR_UPDATING)) {
            w->phase = SR_UPDATING;
            w->until = st->now + SR_UPDATING_MS;
        }
        sim_json(rs, 202, v2_json(w));
    }
done:
    cJSON_Delete(m);
    cJSON_Delete(b);
}

void sim_runai_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sr_state *st = state;
    sr_workload *w = find(st, rq, rs);
    if (!w) return;
    if (w->phase != SR_DELETING) {
        w->phase = SR_DELETING;
        w->want_running = false;
        w->updated_at = st->now;
        w->until = st->now + SR_DELETING_MS;
    }
    sim_json(rs, 202, v2_json(w));
}
