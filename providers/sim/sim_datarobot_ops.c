/* sim_datarobot_ops.c: the DataRobot simulator's day-2 endpoints: runtime settings ({runtime})
 * and the rolling replacement a PATCH starts (409 while one runs), shared roles (at most 100),
 * protons and their statusDetails (204 before the first snapshot), lifecycle events and
 * related entities. Shapes: tests/fixtures/wire/datarobot/SOURCES.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_datarobot_int.h"

#define WARM_MS 10000  /* candidate: initializing -> warming */
#define READY_MS 20000 /* candidate: warming -> running */
#define DRAIN_MS 25000 /* old proton: running -> draining */

/* ---- settings and replacements ---- */

/* GET .../settings/ -> {runtime}. */
void sim_datarobot_settings_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_wl *w = sim_datarobot_find(state, rq->params[0], rs);
    if (!w) return;
    cJSON *j = cJSON_CreateObject();
    if (j) cJSON_AddItemToObject(j, "runtime", sim_datarobot_runtime_json(&w->settings));
    sim_json(rs, 200, j);
}

/* The Replacement a settings PATCH answers (terraform-provider-datarobot
 * internal/client/workloads_service.go, WorkloadReplacement). */
static cJSON *replacement_json(const sdr_wl *w, const sdr_settings *set)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "id", w->repl_id);
    cJSON_AddStringToObject(j, "workloadId", w->id);
    cJSON_AddStringToObject(j, "candidateArtifactId", w->artifact_id);
    cJSON_AddStringToObject(j, "status", w->repl_state);
    cJSON_AddStringToObject(j, "strategy", "rolling");
    cJSON_AddItemToObject(j, "config", cJSON_CreateObject());
    cJSON_AddItemToObject(j, "runtime", sim_datarobot_runtime_json(set));
    cJSON_AddNullToObject(j, "message");
    return j;
}

/* PATCH .../settings/ {runtime} -> 202 Replacement. */
void sim_datarobot_settings_patch(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const keys[] = {"runtime", NULL};
    sdr_state *st = state;
    sdr_settings next;
    memset(&next, 0, sizeof(next));
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w) return;
    if (w->replacing) {
        sim_datarobot_err(rs, 409,
                          "A replacement (%s) is already in progress for this workload; wait "
                          "until it completes",
                          w->repl_id);
        return;
    }
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    if (!cJSON_IsObject(body)) {
        sim_datarobot_invalid(rs, "body", "must be a JSON object");
        goto out;
    }
    if (sim_datarobot_only_keys(body, keys, "", rs)) goto out;
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(body, "runtime");
    if (!rt) {
        sim_datarobot_invalid(rs, "runtime", "Field required");
        goto out;
    }
    if (sim_datarobot_settings_copy(&next, &w->settings)) {
        sim_datarobot_err(rs, 500, "out of memory");
        goto out;
    }
    if (sim_datarobot_runtime_read(rt, &next, rs)) goto out;
    int cur = sim_datarobot_wl_gpus(w), avail = sim_datarobot_free_gpus(st);
    int need = sim_datarobot_up(w) ? next.replicas * next.gpu : 0;
    if (need - cur > avail) {
        int per = next.gpu > 0 ? next.gpu : 1;
        sim_datarobot_limit(rs, next.replicas, (avail + cur) / per);
        goto out;
    }
    sim_datarobot_new_id(w->repl_id);
    if (w->status == SDR_RUNNING) {
        w->replacing = true;
        w->repl_at = st->now;
        w->repl_settings = next;
        memset(&next, 0, sizeof(next)); /* moved */
        sdr_proton *c = &w->protons[1];
        memset(c, 0, sizeof(*c));
        sim_datarobot_new_id(c->id);
        c->candidate = true;
        c->status = SDR_INITIALIZING;
        c->replicas = w->repl_settings.replicas;
        c->created_at = st->now;
        w->nprotons = 2;
        gb_strlcpy(w->repl_state, "initializing", sizeof(w->repl_state));
        sim_datarobot_event(w, st->now, "Normal", "ReplacementStarted", NULL,
                            "Replacement %s started: candidate proton %s", w->repl_id, c->id);
        sim_json(rs, 202, replacement_json(w, &w->repl_settings));
    } else { /* nothing runs: the new settings apply at once */
        sim_datarobot_settings_free(&w->settings);
        w->settings = next;
        memset(&next, 0, sizeof(next));
        w->protons[0].replicas = w->settings.replicas;
        w->updated_at = st->now;
        gb_strlcpy(w->repl_state, "completed", sizeof(w->repl_state));
        sim_datarobot_event(w, st->now, "Normal", "SettingsUpdated", NULL,
                            "Settings updated (the workload is %s: no replacement needed)",
                            sim_datarobot_status_name(w->status));
        sim_json(rs, 202, replacement_json(w, &w->settings));
    }
out:
    sim_datarobot_settings_free(&next);
    cJSON_Delete(body);
}

void sim_datarobot_replace_tick(sdr_wl *w, int64_t now)
{
    int64_t t = now - w->repl_at;
    sdr_proton *c = &w->protons[1];
    if (t >= READY_MS && !c->snapshot_at) c->snapshot_at = w->repl_at + READY_MS;
    if (t < SDR_REPLACE_MS) {
        gb_strlcpy(w->repl_state, t < READY_MS ? "initializing" : "promoting",
                   sizeof(w->repl_state));
        c->status = t < WARM_MS ? SDR_INITIALIZING : t < READY_MS ? SDR_WARMING : SDR_RUNNING;
        w->protons[0].status = t < DRAIN_MS ? SDR_RUNNING : SDR_DRAINING;
        return;
    }
    int64_t at = w->repl_at + SDR_REPLACE_MS; /* the switch-over */
    sim_datarobot_settings_free(&w->settings);
    w->settings = w->repl_settings;
    memset(&w->repl_settings, 0, sizeof(w->repl_settings));
    w->protons[0] = *c;
    w->protons[0].candidate = false;
    w->protons[0].status = w->status;
    w->nprotons = 1;
    w->replacing = false;
    w->updated_at = at;
    gb_strlcpy(w->repl_state, "completed", sizeof(w->repl_state));
    sim_datarobot_event(w, at, "Normal", "ReplacementCompleted", NULL,
                        "Replacement %s completed: proton %s is active", w->repl_id,
                        w->protons[0].id);
}

void sim_datarobot_replace_cancel(sdr_wl *w, int64_t now)
{
    sim_datarobot_settings_free(&w->repl_settings);
    memset(&w->repl_settings, 0, sizeof(w->repl_settings));
    w->nprotons = 1;
    w->protons[0].status = w->status;
    w->replacing = false;
    gb_strlcpy(w->repl_state, "canceling", sizeof(w->repl_state));
    sim_datarobot_event(w, now, "Normal", "ReplacementCanceled", NULL, "Replacement %s cancelled",
                        w->repl_id);
}

/* ---- shared roles ---- */

static cJSON *role_json(const sdr_role *r)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "shareRecipientType", r->type);
    cJSON_AddStringToObject(j, "id", r->id);
    cJSON_AddStringToObject(j, "name", r->name);
    cJSON_AddStringToObject(j, "role", r->role);
    return j;
}

void sim_datarobot_roles_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    int offset, limit;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w || sim_datarobot_page(rq, rs, &offset, &limit)) return;
    cJSON *items = cJSON_CreateArray();
    for (int i = offset; items && i < w->nroles && i < offset + limit; i++)
        cJSON_AddItemToArray(items, role_json(&w->roles[i]));
    sim_json(rs, 200, sim_datarobot_page_json(st, rq->path, items, offset, limit, w->nroles));
}

static bool one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(v, *set) == 0) return true;
    return false;
}

/* Reads one role entry into r; -1 after answering 422. */
static int read_role(const cJSON *it, int i, sdr_role *r, sim_resp *rs)
{
    static const char *const keys[] = {
        "shareRecipientType", "id", "username", "name", "role", NULL};
    static const char *const types[] = {"user", "group", "organization", NULL};
    static const char *const roles[] = {"OWNER", "EDITOR", "CONSUMER", NULL};
    char err[GB_JSON_ERR_MAX];
    const char *type = NULL, *id = NULL, *user = NULL, *name = NULL, *role = NULL;
    if (!cJSON_IsObject(it) || gb_json_only_keys(it, keys, err) ||
        gb_json_str(it, "shareRecipientType", 1, 15, true, &type, err) ||
        gb_json_str(it, "role", 1, 15, true, &role, err) ||
        gb_json_str(it, "id", 1, SDR_ID_LEN, false, &id, err) == GB_ERR_INVALID ||
        gb_json_str(it, "username", 1, 127, false, &user, err) == GB_ERR_INVALID ||
        gb_json_str(it, "name", 1, 127, false, &name, err) == GB_ERR_INVALID) {
        sim_datarobot_invalid(rs, "roles", "entry %d: %s", i,
                              cJSON_IsObject(it) ? err : "must be an object");
        return -1;
    }
    if (!one_of(type, types) || !one_of(role, roles) || (!id && !user && !name)) {
        sim_datarobot_invalid(rs, "roles",
                              "entry %d: shareRecipientType must be user, group or "
                              "organization, role OWNER, EDITOR or CONSUMER, and id or "
                              "username is required",
                              i);
        return -1;
    }
    memset(r, 0, sizeof(*r));
    gb_strlcpy(r->type, type, sizeof(r->type));
    gb_strlcpy(r->role, role, sizeof(r->role));
    if (id)
        gb_strlcpy(r->id, id, sizeof(r->id));
    else
        sim_datarobot_new_id(r->id);
    gb_strlcpy(r->name, user ? user : name ? name : r->id, sizeof(r->name));
    return 0;
}

/* PATCH replaces the whole list ({"operation":"updateRoles","roles":[...]}, up to 100). */
void sim_datarobot_roles_patch(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const keys[] = {"operation", "roles", NULL};
    sdr_state *st = state;
    char err[GB_JSON_ERR_MAX];
    const char *op = NULL;
    sdr_role *next = NULL;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    cJSON *body = w ? sim_body(s, rq, rs) : NULL;
    if (!body) return;
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(body, "roles"), *it;
    if (!cJSON_IsObject(body) || gb_json_only_keys(body, keys, err)) {
        sim_datarobot_invalid(rs, "body", "%s",
                              cJSON_IsObject(body) ? err : "must be a JSON object");
        goto out;
    }
    if (gb_json_str(body, "operation", 1, 32, false, &op, err) == GB_ERR_INVALID ||
        (op && strcmp(op, "updateRoles") != 0)) {
        sim_datarobot_invalid(rs, "operation", "must be \"updateRoles\"");
        goto out;
    }
    if (!cJSON_IsArray(roles)) {
        sim_datarobot_invalid(rs, "roles", "field 'roles' is required and must be an array");
        goto out;
    }
    int n = cJSON_GetArraySize(roles), owners = 0, i = 0;
    if (n > SDR_MAX_ROLES) {
        sim_datarobot_invalid(rs, "roles", "at most %d entries are allowed (got %d)", SDR_MAX_ROLES,
                              n);
        goto out;
    }
    next = calloc(n ? (size_t)n : 1, sizeof(*next));
    if (!next) {
        sim_datarobot_err(rs, 500, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(it, roles)
    {
        if (read_role(it, i, &next[i], rs)) goto out;
        owners += strcmp(next[i].role, "OWNER") == 0;
        i++;
    }
    if (!owners) {
        sim_datarobot_invalid(rs, "roles", "the Workload must keep at least one OWNER");
        goto out;
    }
    memcpy(w->roles, next, (size_t)n * sizeof(*next));
    w->nroles = n;
    sim_datarobot_event(w, st->now, "Normal", "SharingUpdated", NULL,
                        "Shared roles replaced (%d entries)", n);
    sim_json(rs, 204, NULL);
out:
    free(next);
    cJSON_Delete(body);
}

/* ---- protons ---- */

void sim_datarobot_protons_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    int offset, limit;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w || sim_datarobot_page(rq, rs, &offset, &limit)) return;
    cJSON *items = cJSON_CreateArray();
    for (int i = offset; items && i < w->nprotons && i < offset + limit; i++)
        cJSON_AddItemToArray(items, sim_datarobot_proton_json(w, &w->protons[i]));
    sim_json(rs, 200, sim_datarobot_page_json(st, rq->path, items, offset, limit, w->nprotons));
}

static const sdr_proton *find_proton(const sdr_wl *w, const char *pid, sim_resp *rs)
{
    for (int i = 0; i < w->nprotons; i++)
        if (strcmp(w->protons[i].id, pid) == 0) return &w->protons[i];
    sim_datarobot_err(rs, 404, "Proton not found: %.64s", pid);
    return NULL;
}

void sim_datarobot_proton_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_wl *w = sim_datarobot_find(state, rq->params[0], rs);
    const sdr_proton *p = w ? find_proton(w, rq->params[1], rs) : NULL;
    if (p) sim_json(rs, 200, sim_datarobot_proton_json(w, p));
}

/* One replica of statusDetails: containers[{name, status, ready, restartCount, image,
 * reason}], conditions[{type, value}] (datarobot-agent-skills
 * skills/datarobot-workload-api/scripts/diagnose_workload.py and references/
 * status-vocabulary.md). */
static cJSON *replica_json(const sdr_wl *w, const sdr_proton *p, int i)
{
    bool ready = p->status == SDR_RUNNING || p->status == SDR_WARMING || p->status == SDR_DRAINING;
    bool pending = p->status == SDR_SUBMITTED || p->status == SDR_PROVISIONING ||
                   p->status == SDR_INITIALIZING;
    char name[96];
    snprintf(name, sizeof(name), "wl-%.12s-%.6s-%d", w->id, p->id, i);
    cJSON *j = cJSON_CreateObject();
    cJSON *cs = j ? cJSON_AddArrayToObject(j, "containers") : NULL;
    cJSON *conds = j ? cJSON_AddArrayToObject(j, "conditions") : NULL;
    cJSON *c = cJSON_CreateObject(), *ps = cJSON_CreateObject(), *rd = cJSON_CreateObject();
    if (!cs || !conds || !c || !ps || !rd) {
        cJSON_Delete(c);
        cJSON_Delete(ps);
        cJSON_Delete(rd);
        return j;
    }
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddStringToObject(c, "name", w->settings.container);
    cJSON_AddStringToObject(c, "status",
                            p->status == SDR_ERRORED || pending ? "waiting" : "running");
    cJSON_AddBoolToObject(c, "ready", ready);
    cJSON_AddNumberToObject(c, "restartCount", p->status == SDR_ERRORED ? 5 : 0);
    cJSON_AddStringToObject(c, "image", w->settings.image);
    gb_json_add_str_or_null(c, "reason",
                            p->status == SDR_ERRORED ? "CrashLoopBackOff"
                            : pending                ? "ContainerCreating"
                                                     : NULL);
    cJSON_AddItemToArray(cs, c);
    cJSON_AddStringToObject(ps, "type", "PodScheduled");
    cJSON_AddBoolToObject(ps, "value", p->status != SDR_SUBMITTED);
    cJSON_AddStringToObject(rd, "type", "Ready");
    cJSON_AddBoolToObject(rd, "value", ready);
    cJSON_AddItemToArray(conds, ps);
    cJSON_AddItemToArray(conds, rd);
    return j;
}

/* Per-replica status; 204 until the proton has run once (its first snapshot). */
void sim_datarobot_proton_details(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    const sdr_proton *p = w ? find_proton(w, rq->params[1], rs) : NULL;
    if (!p) return;
    if (!p->snapshot_at) {
        sim_json(rs, 204, NULL);
        return;
    }
    bool down = p->status == SDR_STOPPED || p->status == SDR_SUSPENDED ||
                p->status == SDR_INTERRUPTED || p->status == SDR_UNKNOWN;
    cJSON *j = cJSON_CreateObject();
    cJSON *reps = j ? cJSON_AddArrayToObject(j, "replicas") : NULL;
    cJSON *ov = j ? cJSON_AddObjectToObject(j, "overallStatus") : NULL;
    for (int i = 0; reps && !down && i < p->replicas; i++)
        cJSON_AddItemToArray(reps, replica_json(w, p, i));
    if (ov) {
        char sum[300];
        if (p->status == SDR_ERRORED)
            snprintf(sum, sizeof(sum), "%s", w->status_message);
        else
            snprintf(sum, sizeof(sum), "%d replica(s) %s", down ? 0 : p->replicas,
                     sim_datarobot_status_name(p->status));
        cJSON_AddStringToObject(ov, "state", sim_datarobot_status_name(p->status));
        cJSON_AddStringToObject(ov, "summary", sum);
        cJSON_AddStringToObject(j, "protonId", p->id);
        gb_json_add_time(j, "snapshotAt", st->now);
    }
    sim_json(rs, 200, j);
}

/* ---- events, related ---- */

void sim_datarobot_events(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    int offset, limit;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w || sim_datarobot_page(rq, rs, &offset, &limit)) return;
    cJSON *items = cJSON_CreateArray();
    for (int i = offset; items && i < w->nevents && i < offset + limit; i++) {
        const sdr_event *e = &w->events[i];
        cJSON *j = cJSON_CreateObject();
        if (!j) break;
        cJSON *d = cJSON_AddObjectToObject(j, "details");
        gb_json_add_time(j, "timestamp", e->at);
        cJSON_AddStringToObject(j, "type", e->type);
        cJSON_AddStringToObject(j, "reason", e->reason);
        cJSON_AddStringToObject(j, "message", e->message);
        if (d && e->status[0]) cJSON_AddStringToObject(d, "status", e->status);
        cJSON_AddItemToArray(items, j);
    }
    sim_json(rs, 200, sim_datarobot_page_json(st, rq->path, items, offset, limit, w->nevents));
}

void sim_datarobot_related(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w) return;
    cJSON *items = cJSON_CreateArray(), *e = cJSON_CreateObject();
    if (items && e) {
        cJSON_AddStringToObject(e, "entityType", "containerImage");
        cJSON_AddNullToObject(e, "entityId");
        cJSON_AddStringToObject(e, "name", w->settings.image);
        cJSON_AddStringToObject(e, "relation", "runs");
        cJSON_AddItemToArray(items, e);
        e = NULL;
    }
    cJSON_Delete(e);
    sim_json(rs, 200, sim_datarobot_page_json(st, rq->path, items, 0, 100, 1));
}
