/* sim_datarobot_wl.c: the DataRobot simulator's workloads: create/list/get/PATCH/DELETE,
 * start and stop, the clock that moves them through submitted -> provisioning -> launching ->
 * running (and stopping -> stopped), events and the stuck-proton 502. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_datarobot_int.h"

/* ---- events and statuses ---- */

void sim_datarobot_event(sdr_wl *w, int64_t at, const char *type, const char *status,
                         const char *fmt, ...)
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
        sim_datarobot_event(w, at, "statusChange", sim_datarobot_status_name(s),
                            "Status changed from %s to %s%s%s", sim_datarobot_status_name(old),
                            sim_datarobot_status_name(s), w->status_message[0] ? ": " : "",
                            w->status_message);
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
    cJSON_Delete(w->tags);
    free(w);
}

/* ---- create ---- */

static bool importance_ok(const char *s)
{
    static const char *const ok[] = {"LOW", "MODERATE", "HIGH", "CRITICAL"};
    for (size_t i = 0; i < GB_ARRAY_LEN(ok); i++)
        if (strcmp(s, ok[i]) == 0) return true;
    return false;
}

/* Tags [{key, value}]; key "sim" marks the simulator's deterministic faults. */
static int read_tags(const cJSON *body, sdr_wl *w, sim_resp *rs)
{
    char err[GB_JSON_ERR_MAX];
    const cJSON *arr = NULL, *it;
    if (gb_json_array(body, "tags", SDR_MAX_TAGS, false, &arr, err) == GB_ERR_INVALID) {
        sim_datarobot_invalid(rs, "tags", "%s", err);
        return -1;
    }
    cJSON_ArrayForEach(it, arr)
    {
        const char *k = NULL, *v = NULL;
        if (!cJSON_IsObject(it) || gb_json_str(it, "key", 1, 128, true, &k, err) ||
            gb_json_str(it, "value", 0, 256, true, &v, err)) {
            sim_datarobot_invalid(rs, "tags", "entries must be {key, value} strings");
            return -1;
        }
        if (strcmp(k, "sim") == 0 && strcmp(v, "stuck-proton") == 0) w->stuck_proton = true;
        if (strcmp(k, "sim") == 0 && strcmp(v, "fail-launch") == 0) w->fail_launch = true;
    }
    w->tags = arr ? cJSON_Duplicate(arr, 1) : cJSON_CreateArray();
    if (!w->tags) {
        sim_datarobot_err(rs, 500, "out of memory");
        return -1;
    }
    return 0;
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

void sim_datarobot_wl_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const keys[] = {"name",     "description", "importance",
                                       "settings", "tags",        NULL};
    sdr_state *st = state;
    char err[GB_JSON_ERR_MAX];
    const char *name = NULL, *desc = "", *imp = "MODERATE";
    sdr_wl *w = NULL;
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    if (!cJSON_IsObject(body) || gb_json_only_keys(body, keys, err)) {
        sim_datarobot_invalid(rs, "body", "%s",
                              cJSON_IsObject(body) ? err : "must be a JSON object");
        goto out;
    }
    if (gb_json_str(body, "name", 1, SDR_NAME_MAX, true, &name, err)) {
        sim_datarobot_invalid(rs, "name", "%s", err);
        goto out;
    }
    if (gb_json_str(body, "description", 0, SDR_DESC_MAX, false, &desc, err) == GB_ERR_INVALID) {
        sim_datarobot_invalid(rs, "description", "%s", err);
        goto out;
    }
    if (gb_json_str(body, "importance", 1, 15, false, &imp, err) == GB_ERR_INVALID ||
        !importance_ok(imp)) {
        sim_datarobot_invalid(rs, "importance", "must be one of LOW, MODERATE, HIGH, CRITICAL");
        goto out;
    }
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(body, "settings");
    if (!set) {
        sim_datarobot_invalid(rs, "settings", "field 'settings' is required");
        goto out;
    }
    if (st->n >= SDR_MAX_WORKLOADS) {
        sim_datarobot_err(rs, 409, "Workload limit reached (%d)", SDR_MAX_WORKLOADS);
        goto out;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        sim_datarobot_err(rs, 500, "out of memory");
        goto out;
    }
    w->settings.replicas = 1;
    w->settings.cpu = 1;
    w->settings.memory_mb = 2048;
    if (sim_datarobot_settings_read(set, &w->settings, true, rs) || read_tags(body, w, rs))
        goto out;
    int need = w->settings.replicas * w->settings.gpu, avail = sim_datarobot_free_gpus(st);
    if (need > avail) {
        sim_datarobot_capacity(rs, need, avail);
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
    gb_strlcpy(w->name, name, sizeof(w->name));
    gb_strlcpy(w->description, desc, sizeof(w->description));
    gb_strlcpy(w->importance, imp, sizeof(w->importance));
    w->created_at = st->now;
    add_owner(w);
    sim_datarobot_new_id(w->protons[0].id);
    w->protons[0].created_at = st->now;
    w->nprotons = 1;
    sim_datarobot_event(w, st->now, "created", NULL, "Workload '%s' created", w->name);
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
    if (!cJSON_IsObject(body) || gb_json_only_keys(body, keys, err)) {
        sim_datarobot_invalid(rs, "body", "%s",
                              cJSON_IsObject(body) ? err : "must be a JSON object");
    } else if (gb_json_str(body, "name", 1, SDR_NAME_MAX, false, &name, err) == GB_ERR_INVALID) {
        sim_datarobot_invalid(rs, "name", "%s", err);
    } else if (gb_json_str(body, "description", 0, SDR_DESC_MAX, false, &desc, err) ==
               GB_ERR_INVALID) {
        sim_datarobot_invalid(rs, "description", "%s", err);
    } else if (gb_json_str(body, "importance", 1, 15, false, &imp, err) == GB_ERR_INVALID ||
               (imp && !importance_ok(imp))) {
        sim_datarobot_invalid(rs, "importance", "must be one of LOW, MODERATE, HIGH, CRITICAL");
    } else {
        if (name) gb_strlcpy(w->name, name, sizeof(w->name));
        if (desc) gb_strlcpy(w->description, desc, sizeof(w->description));
        if (imp) gb_strlcpy(w->importance, imp, sizeof(w->importance));
        w->updated_at = st->now;
        sim_datarobot_event(w, st->now, "metadataUpdate", NULL,
                            "Name, description or importance updated");
        sim_json(rs, 200, sim_datarobot_wl_json(st, w));
    }
    cJSON_Delete(body);
}

/* ---- DELETE, start, stop ---- */

void sim_datarobot_wl_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w) return;
    int stuck = w->stuck_proton && sim_datarobot_up(w) ? w->nprotons : 0;
    char pids[2 * (SDR_ID_LEN + 2) + 1] = "";
    for (int i = 0; i < stuck; i++)
        snprintf(pids + strlen(pids), sizeof(pids) - strlen(pids), "%s%s", i ? ", " : "",
                 w->protons[i].id);
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
    char id[SDR_ID_LEN + 1];
    gb_strlcpy(id, w->id, sizeof(id));
    sim_datarobot_wl_free(w);
    if (!stuck) {
        sim_json(rs, 204, NULL);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    char msg[200], detail[300];
    snprintf(msg, sizeof(msg), "Workload %s was deleted, but %d proton(s) could not be stopped", id,
             stuck);
    snprintf(detail, sizeof(detail),
             "proton %s: termination timed out; the platform will clean it up", pids);
    if (j) {
        cJSON_AddStringToObject(j, "message", msg);
        cJSON_AddStringToObject(j, "detail", detail);
    }
    sim_json(rs, 502, j);
}

/* WorkloadOperationResponse. */
static void op_reply(sim_resp *rs, const sdr_wl *w, const char *op, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "workloadId", w->id);
        cJSON_AddStringToObject(j, "operation", op);
        cJSON_AddStringToObject(j, "status", sim_datarobot_status_name(w->status));
        cJSON_AddStringToObject(j, "message", msg);
    }
    sim_json(rs, 202, j);
}

void sim_datarobot_wl_start(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w) return;
    if (w->status != SDR_STOPPED && w->status != SDR_SUSPENDED && w->status != SDR_INTERRUPTED &&
        w->status != SDR_ERRORED) {
        sim_datarobot_err(rs, 409,
                          w->status == SDR_STOPPING
                              ? "Workload is stopping; start it once it is stopped"
                              : "Workload is not stopped (status %s)",
                          sim_datarobot_status_name(w->status));
        return;
    }
    int need = w->settings.replicas * w->settings.gpu, avail = sim_datarobot_free_gpus(st);
    if (need > avail) {
        sim_datarobot_capacity(rs, need, avail);
        return;
    }
    /* a start brings up a fresh proton: no status snapshot until it runs */
    memset(&w->protons[0], 0, sizeof(w->protons[0]));
    sim_datarobot_new_id(w->protons[0].id);
    w->protons[0].created_at = st->now;
    w->nprotons = 1;
    sim_datarobot_event(w, st->now, "startRequested", NULL, "Start requested");
    begin_op(w, SDR_OP_START, st->now);
    op_reply(rs, w, "start", "Workload is starting");
}

void sim_datarobot_wl_stop(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w) return;
    if (w->status == SDR_STOPPING || w->status == SDR_STOPPED) {
        sim_datarobot_err(rs, 409, "Workload is already %s", sim_datarobot_status_name(w->status));
        return;
    }
    if (w->replacing) sim_datarobot_replace_cancel(w, st->now);
    sim_datarobot_event(w, st->now, "stopRequested", NULL, "Graceful stop requested");
    begin_op(w, SDR_OP_STOP, st->now);
    op_reply(rs, w, "stop", "Workload is stopping gracefully");
}
