/* sim_targon_wl.c: the Targon simulator's workload endpoints: register, list, get, update,
 * delete, deploy (which takes one unit of the resource's capacity) and state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ids.h"
#include "common/str.h"
#include "providers/sim/sim_targon_int.h"

#define LIST_DEFAULT 50
#define LIST_MAX 100

static void new_uid(sim_targon_state *st, char out[SIM_TARGON_UID_LEN + 1])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    do {
        unsigned char r[12];
        gb_random_bytes(r, sizeof(r));
        memcpy(out, "wrk-", 4);
        for (int i = 0; i < 12; i++)
            out[4 + i] = alphabet[r[i] % 36];
        out[SIM_TARGON_UID_LEN] = '\0';
    } while (sim_targon_wl_find(st, out, true));
}

static void drop_nulls(cJSON *obj)
{
    cJSON *c = obj->child;
    while (c) {
        cJSON *next = c->next;
        if (cJSON_IsNull(c)) cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
        c = next;
    }
}

static sim_targon_wl *live(sim_server *s, sim_targon_state *st, const sim_req *rq, sim_resp *rs)
{
    sim_targon_wl *w = sim_targon_wl_find(st, rq->nparams > 0 ? rq->params[0] : NULL, false);
    if (!w) sim_error(s, rs, 404, "workload not found");
    return w;
}

static const char *wl_type(const sim_targon_wl *w)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(w->spec, "type");
    return cJSON_IsString(t) ? t->valuestring : "RENTAL";
}

void sim_targon_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_state *st = state;
    sim_targon_wl *w = NULL;
    cJSON *spec = sim_body(s, rq, rs);
    if (!spec) return;
    if (sim_targon_check_spec(s, st, spec, true, NULL, rs)) goto done;
    if (st->nwl >= SIM_TARGON_MAX_WORKLOADS) {
        sim_error(s, rs, 400, "workload limit of %d reached", SIM_TARGON_MAX_WORKLOADS);
        goto done;
    }
    w = calloc(1, sizeof(*w));
    if (!w || !(w->events = cJSON_CreateArray())) {
        sim_error(s, rs, 500, "out of memory");
        goto done;
    }
    drop_nulls(spec);
    new_uid(st, w->uid);
    w->res = sim_targon_res_find(
        st, cJSON_GetObjectItemCaseSensitive(spec, "resource_name")->valuestring);
    w->spec = spec;
    spec = NULL;
    w->revision = 1;
    int64_t now = sim_now(s);
    w->created_ms = now;
    sim_targon_event(st, w, now, "STATUS_CHANGE", "registered", "Workload registered");
    st->wl[st->nwl++] = w;
    sim_json(rs, 201, sim_targon_wl_json(st, w, false));
    w = NULL;
done:
    if (w) cJSON_Delete(w->events);
    free(w);
    cJSON_Delete(spec);
}

static bool matches(const sim_targon_wl *w, const char *key, const char *want)
{
    if (!want || !want[0]) return true;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(w->spec, key);
    return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

void sim_targon_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_state *st = state;
    int limit = LIST_DEFAULT, offset = 0;
    const char *q_limit = sim_query(rq, "limit"), *q_cursor = sim_query(rq, "cursor");
    const char *q_type = sim_query(rq, "type"), *q_status = sim_query(rq, "status");
    if (q_limit && gb_parse_int(q_limit, 1, LIST_MAX, &limit)) {
        sim_error(s, rs, 400, "limit must be an integer between 1 and %d", LIST_MAX);
        return;
    }
    if (q_cursor && q_cursor[0] && gb_parse_int(q_cursor, 0, SIM_TARGON_MAX_WORKLOADS, &offset)) {
        sim_error(s, rs, 400, "invalid cursor");
        return;
    }
    const char *other = st->api == 3 ? "VM" : "SERVERLESS";
    if (q_type && q_type[0] && strcmp(q_type, "RENTAL") && strcmp(q_type, other)) {
        sim_error(s, rs, 400, "type must be RENTAL or %s", other);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(j, "items");
    if (!j || !items) {
        cJSON_Delete(j);
        sim_error(s, rs, 500, "out of memory");
        return;
    }
    int seen = 0, more = 0;
    for (int i = 0; i < st->nwl; i++) {
        const sim_targon_wl *w = st->wl[i];
        bool deleted = strcmp(w->status, "deleted") == 0;
        if (q_status && q_status[0] ? strcasecmp(w->status, q_status) != 0 : deleted) continue;
        if (!matches(w, "type", q_type) || !matches(w, "project_id", sim_query(rq, "project_id")) ||
            !matches(w, "app_id", sim_query(rq, "app_id")) ||
            !matches(w, "name", sim_query(rq, "name")))
            continue;
        if (seen++ < offset) continue;
        if (cJSON_GetArraySize(items) >= limit) {
            more = 1;
            break;
        }
        cJSON_AddItemToArray(items, sim_targon_wl_json(st, w, true));
    }
    char next[16] = "";
    if (more) snprintf(next, sizeof(next), "%d", offset + limit);
    cJSON_AddStringToObject(j, "next_cursor", next);
    sim_json(rs, 200, j);
}

void sim_targon_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_state *st = state;
    sim_targon_wl *w = sim_targon_wl_find(st, rq->nparams > 0 ? rq->params[0] : NULL, true);
    if (!w) {
        sim_error(s, rs, 404, "workload not found");
        return;
    }
    sim_json(rs, 200, sim_targon_wl_json(st, w, false));
}

void sim_targon_patch(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_state *st = state;
    sim_targon_wl *w = live(s, st, rq, rs);
    if (!w) return;
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    if (sim_targon_check_spec(s, st, body, false, wl_type(w), rs)) goto done;
    drop_nulls(body);
    while (body->child) {
        cJSON *c = cJSON_DetachItemViaPointer(body, body->child);
        cJSON_DeleteItemFromObjectCaseSensitive(w->spec, c->string);
        cJSON_AddItemToArray(w->spec, c); /* keeps c->string: the key it had in the body */
    }
    w->revision++;
    sim_targon_event(st, w, sim_now(s), "UPDATED", NULL, "Workload configuration updated");
    w->updated_ms = sim_now(s);
    sim_json(rs, 200, sim_targon_wl_json(st, w, false));
done:
    cJSON_Delete(body);
}

void sim_targon_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_state *st = state;
    sim_targon_wl *w = live(s, st, rq, rs);
    if (!w) return;
    if (w->holds_unit) {
        st->inv[w->res].available++;
        w->holds_unit = false;
    }
    w->message[0] = '\0';
    sim_targon_event(st, w, sim_now(s), "STATUS_CHANGE", "deleted", "Workload deleted");
    sim_json(rs, 204, NULL);
}

/* Deploy takes a registered workload, or (v3) a suspended one again: "Start a registered or
 * suspended rental" (targon-sdk cli/src/commands/rental.rs). */
void sim_targon_deploy(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_state *st = state;
    sim_targon_wl *w = live(s, st, rq, rs);
    if (!w) return;
    bool resumable = strcmp(w->status, "registered") == 0 || strcmp(w->status, "suspended") == 0;
    if (!resumable) {
        sim_error(s, rs, 409, "workload is already deployed (status %s)", w->status);
        return;
    }
    sim_targon_res *r = &st->inv[w->res];
    if (r->available <= 0) {
        sim_targon_capacity(rs);
        return;
    }
    r->available--;
    w->holds_unit = true;
    w->deploy_ms = sim_now(s);
    w->running_ms = 0;
    w->message[0] = '\0';
    sim_targon_event(st, w, w->deploy_ms, "STATUS_CHANGE", "provisioning",
                     "Workload is provisioning");
    sim_json(rs, 202, sim_targon_wl_json(st, w, true));
}

/* POST .../suspend (v3; libs/go/workload.go Suspend -> WorkloadOperationResponse): a
 * provisioning or running workload stops and gives its unit back; its configuration stays. */
void sim_targon_suspend(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_state *st = state;
    sim_targon_wl *w = live(s, st, rq, rs);
    if (!w) return;
    if (strcmp(w->status, "running") != 0 && strcmp(w->status, "provisioning") != 0) {
        sim_error(s, rs, 409, "workload is not running (status %s)", w->status);
        return;
    }
    if (w->holds_unit) {
        st->inv[w->res].available++;
        w->holds_unit = false;
    }
    sim_targon_event(st, w, sim_now(s), "STATUS_CHANGE", "suspended", "Workload suspended");
    sim_json(rs, 200, sim_targon_wl_json(st, w, true));
}

void sim_targon_get_state(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_state *st = state;
    sim_targon_wl *w = sim_targon_wl_find(st, rq->nparams > 0 ? rq->params[0] : NULL, true);
    if (!w) {
        sim_error(s, rs, 404, "workload not found");
        return;
    }
    sim_json(rs, 200, sim_targon_state_json(st, w, true));
}
