/* sim_datarobot_wl.c: the DataRobot simulator's workloads: create (artifact or artifactId plus
 * runtime) / list / get / PATCH / DELETE, start and stop, the clock that moves them through
 * submitted -> provisioning -> launching -> running (and stopping -> stopped), events and the
 * stuck-proton 502 "please retry". Shapes: tests/fixtures/wire/datarobot/SOURCES.md. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_datarobot_int.h"

/* ---- events and statuses ---- */

void sim_datarobot_event(sdr_wl *w, int64_t at, const char *type, const char *reason,
                         const char *status, const char *fmt, ...)
{
    if (w->nevents == SDR_MAX_EVENTS) {
        memmove(&w->events[0], &w->events[1], (SDR_MAX_EVENTS - 1) * sizeof(w->events[0]));
        w->nevents--;
    }
    sdr_event *e = &w->events[w->nevents++];
    memset(e, 0, sizeof(*e));
    sim_datarobot_new_id(e->id);
    e->at = at;
    gb_strlcpy(e->type, type, sizeof(e->type));
    gb_strlcpy(e->reason, reason, sizeof(e->reason));
    gb_strlcpy(e->status, status ? status : "", sizeof(e->status));
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(e->message, sizeof(e->message), fmt, ap) < 0) e->message[0] = '\0';
    va_end(ap);
}

static void close_run(sdr_wl *w, int64_t at)
{
    if (!w->running_since) return;
    if (w->nruns == SDR_MAX_RUNS) { /* drop the oldest */
        memmove(&w->runs[0], &w->runs[1], (SDR_MAX_RUNS - 1) * sizeof(w->runs[0]));
        w->nruns--;
    }
    if (at > w->running_since) {
        w->runs[w->nruns][0] = w->running_since;
        w->runs[w->nruns][1] = at;
        w->nruns++;
    }
    w->running_since = 0;
}

void sim_datarobot_set_status(sdr_wl *w, sdr_status s, int64_t at)
{
    sdr_status old = w->status;
    w->status = s;
    w->updated_at = at;
    if (w->nprotons) {
        sdr_proton *p = &w->protons[0];
        p->status = s;
        p->replicas = w->settings.replicas;
        if (s == SDR_RUNNING && !p->snapshot_at) p->snapshot_at = at;
    }
    if (s == SDR_RUNNING && !w->running_since)
        w->running_since = at;
    else if (s != SDR_RUNNING)
        close_run(w, at);
    if (s != SDR_ERRORED && s != SDR_INTERRUPTED) w->status_message[0] = '\0';
    if (old != s)
        sim_datarobot_event(w, at, s == SDR_ERRORED ? "Warning" : "Normal",
                            s == SDR_ERRORED ? "Failed" : "StatusChange",
                            sim_datarobot_status_name(s), "Status changed from %s to %s%s%s",
                            sim_datarobot_status_name(old), sim_datarobot_status_name(s),
                            w->status_message[0] ? ": " : "", w->status_message);
}

/* ---- the clock ---- */

typedef struct {
    int64_t at;
    sdr_status st;
} step;

static const step CREATE_STEPS[] = {{0, SDR_SUBMITTED},
                                    {SDR_PROVISION_MS, SDR_PROVISIONING},
                                    {SDR_LAUNCH_MS, SDR_LAUNCHING},
                                    {SDR_READY_MS, SDR_RUNNING}};
static const step START_STEPS[] = {
    {0, SDR_PROVISIONING}, {SDR_LAUNCH_MS, SDR_LAUNCHING}, {SDR_READY_MS, SDR_RUNNING}};
static const step STOP_STEPS[] = {{0, SDR_STOPPING}, {SDR_STOP_MS, SDR_STOPPED}};

static size_t steps_for(sdr_op op, const step **out)
{
    switch (op) {
    case SDR_OP_CREATE:
        *out = CREATE_STEPS;
        return GB_ARRAY_LEN(CREATE_STEPS);
    case SDR_OP_START:
        *out = START_STEPS;
        return GB_ARRAY_LEN(START_STEPS);
    case SDR_OP_STOP:
        *out = STOP_STEPS;
        return GB_ARRAY_LEN(STOP_STEPS);
    default:
        *out = NULL;
        return 0;
    }
}

static void begin_op(sdr_wl *w, sdr_op op, int64_t now)
{
    const step *steps;
    steps_for(op, &steps);
    w->op = op;
    w->op_at = now;
    w->op_step = 0;
    sim_datarobot_set_status(w, steps[0].st, now);
}

static void advance_op(sdr_wl *w, int64_t now)
{
    while (w->op != SDR_OP_NONE) {
        const step *steps;
        size_t n = steps_for(w->op, &steps);
        if ((size_t)w->op_step + 1 >= n) {
            w->op = SDR_OP_NONE;
            return;
        }
        const step *nx = &steps[w->op_step + 1];
        int64_t at = w->op_at + nx->at;
        if (at > now) return;
        w->op_step++;
        sdr_status s = nx->st;
        if (s == SDR_RUNNING && w->fail_launch) {
            s = SDR_ERRORED;
            gb_strlcpy(w->status_message,
                       "container 'main' exited with code 1 (CrashLoopBackOff); see the "
                       "proton's statusDetails",
                       sizeof(w->status_message));
        }
        sim_datarobot_set_status(w, s, at);
    }
}

void sim_datarobot_tick(void *state, int64_t now_ms)
{
    sdr_state *st = state;
    if (now_ms > st->now) st->now = now_ms;
    for (size_t i = 0; i < st->n; i++) {
        advance_op(st->wls[i], st->now);
        if (st->wls[i]->replacing) sim_datarobot_replace_tick(st->wls[i], st->now);
    }
}

void sim_datarobot_wl_free(sdr_wl *w)
{
    if (!w) return;
    sim_datarobot_settings_free(&w->settings);
    sim_datarobot_settings_free(&w->repl_settings);
    free(w);
}

/* ---- create ---- */

static bool importance_ok(const char *s)
{
    static const char *const ok[] = {"low", "moderate", "high", "critical"};
    for (size_t i = 0; i < GB_ARRAY_LEN(ok); i++)
        if (strcmp(s, ok[i]) == 0) return true;
    return false;
}

/* The simulator's deterministic faults: environmentVars SIM_FAULT. */
static void read_faults(sdr_wl *w)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, w->settings.environment)
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "value"));
        if (!n || !v || strcmp(n, "SIM_FAULT") != 0) continue;
        if (strcmp(v, "stuck-proton") == 0) w->stuck_proton = true;
        if (strcmp(v, "fail-launch") == 0) w->fail_launch = true;
    }
}

static void add_owner(sdr_wl *w)
{
    sdr_role *r = &w->roles[0];
    gb_strlcpy(r->type, "user", sizeof(r->type));
    gb_strlcpy(r->id, "5f0c0e0a1b2c3d4e5f6a7b8c", sizeof(r->id));
    gb_strlcpy(r->name, "sandbox@datarobot.example", sizeof(r->name));
    gb_strlcpy(r->role, "OWNER", sizeof(r->role));
    w->nroles = 1;
}

/* The artifact of artifactId (an artifact an earlier workload created), into w; -1 after a
 * 404. */
static int existing_artifact(sdr_state *st, const char *id, sdr_wl *w, sim_resp *rs)
{
    for (size_t i = 0; i < st->n; i++) {
        if (strcmp(st->wls[i]->artifact_id, id) != 0) continue;
        sdr_settings *src = &st->wls[i]->settings;
        gb_strlcpy(w->settings.group, src->group, sizeof(w->settings.group));
        gb_strlcpy(w->settings.container, src->container, sizeof(w->settings.container));
        gb_strlcpy(w->settings.image, src->image, sizeof(w->settings.image));
        w->settings.port = src->port;
        w->settings.environment = src->environment ? cJSON_Duplicate(src->environment, 1) : NULL;
        gb_strlcpy(w->artifact_id, id, sizeof(w->artifact_id));
        gb_strlcpy(w->artifact_name, st->wls[i]->artifact_name, sizeof(w->artifact_name));
        return 0;
    }
    sim_datarobot_err(rs, 404, "Artifact not found");
    return -1;
}

void sim_datarobot_wl_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const keys[] = {"name",     "description", "importance", "artifactId",
                                       "artifact", "runtime",     NULL};
    sdr_state *st = state;
    const char *name = NULL, *desc = "", *imp = "low";
    sdr_wl *w = NULL;
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    if (!cJSON_IsObject(body)) {
        sim_datarobot_invalid(rs, "body", "must be a JSON object");
        goto out;
    }
    if (sim_datarobot_only_keys(body, keys, "", rs)) goto out;
    const cJSON *nv = cJSON_GetObjectItemCaseSensitive(body, "name");
    const cJSON *dv = cJSON_GetObjectItemCaseSensitive(body, "description");
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(body, "importance");
    if (nv &&
        (!cJSON_IsString(nv) || !nv->valuestring[0] || strlen(nv->valuestring) > SDR_NAME_MAX)) {
        sim_datarobot_invalid(rs, "name", "must be a string of 1-%d characters", SDR_NAME_MAX);
        goto out;
    }
    if (dv && (!cJSON_IsString(dv) || strlen(dv->valuestring) > SDR_DESC_MAX)) {
        sim_datarobot_invalid(rs, "description", "must be a string of at most %d characters",
                              SDR_DESC_MAX);
        goto out;
    }
    if (iv && (!cJSON_IsString(iv) || !importance_ok(iv->valuestring))) {
        sim_datarobot_invalid(rs, "importance",
                              "Input should be 'low', 'moderate', 'high' or 'critical'");
        goto out;
    }
    name = nv ? nv->valuestring : "workload";
    if (dv) desc = dv->valuestring;
    if (iv) imp = iv->valuestring;
    const cJSON *aid = cJSON_GetObjectItemCaseSensitive(body, "artifactId");
    const cJSON *art = cJSON_GetObjectItemCaseSensitive(body, "artifact");
    if (!aid == !art) {
        sim_datarobot_invalid(rs, "artifact",
                              "exactly one of 'artifactId' or 'artifact' must be set");
        goto out;
    }
    if (aid && !cJSON_IsString(aid)) {
        sim_datarobot_invalid(rs, "artifactId", "must be a string");
        goto out;
    }
    if (st->n >= SDR_MAX_WORKLOADS) {
        sim_datarobot_limit(rs, 1, 0);
        goto out;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        sim_datarobot_err(rs, 500, "out of memory");
        goto out;
    }
    w->settings.replicas = w->settings.min_replicas = w->settings.max_replicas = 1;
    w->settings.cpu = 1;
    w->settings.memory = 512000000;
    if (aid && existing_artifact(st, aid->valuestring, w, rs)) goto out;
    if (art && sim_datarobot_artifact_read(art, &w->settings, w->artifact_name,
                                           sizeof(w->artifact_name), rs))
        goto out;
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(body, "runtime");
    if (rt && sim_datarobot_runtime_read(rt, &w->settings, rs)) goto out;
    read_faults(w);
    int need = w->settings.replicas * w->settings.gpu, avail = sim_datarobot_free_gpus(st);
    if (need > avail) {
        int per = w->settings.gpu > 0 ? w->settings.gpu : 1;
        sim_datarobot_limit(rs, w->settings.replicas, avail / per);
        goto out;
    }
    if (st->n == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 16;
        sdr_wl **nw = realloc(st->wls, nc * sizeof(*nw));
        if (!nw) {
            sim_datarobot_err(rs, 500, "out of memory");
            goto out;
        }
        st->wls = nw;
        st->cap = nc;
    }
    sim_datarobot_new_id(w->id);
    if (!w->artifact_id[0]) sim_datarobot_new_id(w->artifact_id);
    gb_strlcpy(w->name, name, sizeof(w->name));
    gb_strlcpy(w->description, desc, sizeof(w->description));
    gb_strlcpy(w->importance, imp, sizeof(w->importance));
    w->created_at = st->now;
    add_owner(w);
    sim_datarobot_new_id(w->protons[0].id);
    w->protons[0].created_at = st->now;
    w->nprotons = 1;
    sim_datarobot_event(w, st->now, "Normal", "Created", NULL, "Workload '%s' created", w->name);
    begin_op(w, SDR_OP_CREATE, st->now);
    st->wls[st->n++] = w;
    sim_json(rs, 201, sim_datarobot_wl_json(st, w));
    w = NULL;
out:
    sim_datarobot_wl_free(w);
    cJSON_Delete(body);
}

/* ---- list, get, PATCH ---- */

static bool ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0) return true;
    return n == 0;
}

/* Is v one of the comma-separated values of list (case-insensitive)? */
static bool in_list(const char *list, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && strncasecmp(p, v, n) == 0) return true;
        if (!c) break;
        p = c + 1;
    }
    return false;
}

bool sim_datarobot_wl_matches(const sdr_wl *w, const sim_req *rq)
{
    const char *s = sim_query(rq, "status"), *i = sim_query(rq, "importance");
    const char *q = sim_query(rq, "search");
    if (s && !in_list(s, sim_datarobot_status_name(w->status))) return false;
    if (i && !in_list(i, w->importance)) return false;
    if (q && !ci_contains(w->name, q) && !ci_contains(w->description, q) &&
        strncmp(w->id, q, strlen(q)) != 0)
        return false;
    return true;
}

void sim_datarobot_wl_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    int offset, limit, total = 0;
    if (sim_datarobot_page(rq, rs, &offset, &limit)) return;
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; items && i < st->n; i++) {
        if (!sim_datarobot_wl_matches(st->wls[i], rq)) continue;
        if (total >= offset && total < offset + limit)
            cJSON_AddItemToArray(items, sim_datarobot_wl_json(st, st->wls[i]));
        total++;
    }
    sim_json(rs, 200, sim_datarobot_page_json(st, rq->path, items, offset, limit, total));
}

void sim_datarobot_wl_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (w) sim_json(rs, 200, sim_datarobot_wl_json(st, w));
}

void sim_datarobot_wl_patch(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const keys[] = {"name", "description", "importance", NULL};
    sdr_state *st = state;
    char err[GB_JSON_ERR_MAX];

    const char *name = NULL, *desc = NULL, *imp = NULL;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    cJSON *body = w ? sim_body(s, rq, rs) : NULL;
    if (!body) return;
    if (!cJSON_IsObject(body)) {
        sim_datarobot_invalid(rs, "body", "must be a JSON object");
    } else if (sim_datarobot_only_keys(body, keys, "", rs)) {
        /* answered */
    } else if (gb_json_str(body, "name", 1, SDR_NAME_MAX, false, &name, err) == GB_ERR_INVALID) {
        sim_datarobot_invalid(rs, "name", "%s", err);
    } else if (gb_json_str(body, "description", 0, SDR_DESC_MAX, false, &desc, err) ==
               GB_ERR_INVALID) {
        sim_datarobot_invalid(rs, "description", "%s", err);
    } else if (gb_json_str(body, "importance", 1, 15, false, &imp, err) == GB_ERR_INVALID ||
               (imp && !importance_ok(imp))) {
        sim_datarobot_invalid(rs, "importance",
                              "Input should be 'low', 'moderate', 'high' or 'critical'");
    } else {
        if (name) gb_strlcpy(w->name, name, sizeof(w->name));
        if (desc) gb_strlcpy(w->description, desc, sizeof(w->description));
        if (imp) gb_strlcpy(w->importance, imp, sizeof(w->importance));
        w->updated_at = st->now;
        sim_datarobot_event(w, st->now, "Normal", "MetadataUpdated", NULL,
                            "Name, description or importance updated");
        sim_json(rs, 200, sim_datarobot_wl_json(st, w));
    }
    cJSON_Delete(body);
}

/* ---- DELETE, start, stop ---- */

/* DELETE stops the protons first; a proton that cannot be stopped answers 502 with a "please
 * retry" detail and leaves the workload (datarobot-oss/cli internal/workload/workload.go,
 * DeleteWorkload). */
void sim_datarobot_wl_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w) return;
    if (w->stuck_proton && sim_datarobot_up(w)) {
        w->stuck_proton = false; /* the platform stops it meanwhile: a retry succeeds */
        sim_datarobot_event(w, st->now, "Warning", "ProtonStopFailed", NULL,
                            "Proton %s did not stop in time", w->protons[0].id);
        sim_datarobot_err(rs, 502, "Failed to stop proton %s; please retry", w->protons[0].id);
        return;
    }
    if (w->replacing) sim_datarobot_replace_cancel(w, st->now);
    size_t i = 0;
    while (i < st->n && st->wls[i] != w)
        i++;
    memmove(&st->wls[i], &st->wls[i + 1], (st->n - i - 1) * sizeof(st->wls[0]));
    st->n--;
    if (st->ndeleted == SDR_MAX_DELETED) {
        memmove(st->deleted[0], st->deleted[1], (SDR_MAX_DELETED - 1) * sizeof(st->deleted[0]));
        st->ndeleted--;
    }
    gb_strlcpy(st->deleted[st->ndeleted++], w->id, SDR_ID_LEN + 1);
    sim_datarobot_wl_free(w);
    sim_json(rs, 204, NULL);
}

/* WorkloadOperationResponse {status (a message), workloadId, trackVia}: 202 queued, 200 when
 * the workload is already there (datarobot-oss/cli internal/workload/operations.go). */
static void op_reply(sim_resp *rs, int status, const sdr_wl *w, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    if (j) {
        char track[96];
        snprintf(track, sizeof(track), SDR_API "/workloads/%s/", w->id);
        cJSON_AddStringToObject(j, "status", msg);
        cJSON_AddStringToObject(j, "workloadId", w->id);
        cJSON_AddStringToObject(j, "trackVia", track);
    }
    sim_json(rs, status, j);
}

void sim_datarobot_wl_start(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w) return;
    if (w->status == SDR_RUNNING || w->status == SDR_SUBMITTED || w->status == SDR_PROVISIONING ||
        w->status == SDR_LAUNCHING) {
        op_reply(rs, 200, w, "Workload is already running");
        return;
    }
    if (w->status == SDR_TERMINATED) {
        sim_datarobot_err(rs, 409, "The workload is terminated and cannot be started");
        return;
    }
    if (w->status != SDR_STOPPED && w->status != SDR_SUSPENDED && w->status != SDR_INTERRUPTED &&
        w->status != SDR_ERRORED) {
        sim_datarobot_err(rs, 409, "The proton must be stopped before attempting to start it.");
        return;
    }
    int need = w->settings.replicas * w->settings.gpu, avail = sim_datarobot_free_gpus(st);
    if (need > avail) {
        int per = w->settings.gpu > 0 ? w->settings.gpu : 1;
        sim_datarobot_limit(rs, w->settings.replicas, avail / per);
        return;
    }
    /* a start brings up a fresh proton: no status snapshot until it runs */
    memset(&w->protons[0], 0, sizeof(w->protons[0]));
    sim_datarobot_new_id(w->protons[0].id);
    w->protons[0].created_at = st->now;
    w->nprotons = 1;
    sim_datarobot_event(w, st->now, "Normal", "StartRequested", NULL, "Start requested");
    begin_op(w, SDR_OP_START, st->now);
    op_reply(rs, 202, w, "Workload start has been queued");
}

void sim_datarobot_wl_stop(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w) return;
    if (w->status == SDR_STOPPING || w->status == SDR_STOPPED || w->status == SDR_TERMINATED) {
        op_reply(rs, 200, w, "Workload is already stopped");
        return;
    }
    if (w->replacing) sim_datarobot_replace_cancel(w, st->now);
    sim_datarobot_event(w, st->now, "Normal", "StopRequested", NULL, "Graceful stop requested");
    begin_op(w, SDR_OP_STOP, st->now);
    op_reply(rs, 202, w, "Workload stop has been queued");
}
