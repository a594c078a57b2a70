/* sim_faults.c: fault rules and request counters, and the /_sim/... control endpoints tests
 * use to inject faults, move the clock and look at the simulator's state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "providers/sim/sim_internal.h"

#define MAX_ADVANCE_MS ((int64_t)100 * 365 * 86400 * 1000) /* a century */

static bool method_matches(const char *rule, const char *method)
{
    return rule[0] == '\0' || strcmp(rule, "*") == 0 || gb_str_ieq(rule, method);
}

bool sim_faults_take(sim_server *s, const char *method, const char *path, sim_fault *out)
{
    bool hit = false;
    pthread_mutex_lock(&s->meta);
    for (size_t i = 0; i < s->nfaults; i++) {
        sim_fault *f = &s->faults[i];
        if (f->count == 0 || !method_matches(f->method, method) ||
            !gb_str_starts_with(path, f->path_prefix))
            continue;
        if (f->count > 0) f->count--;
        f->fired++;
        *out = *f;
        out->path_prefix = NULL;
        hit = true;
        break;
    }
    pthread_mutex_unlock(&s->meta);
    return hit;
}

/* Caller holds meta. */
static void clear_locked(sim_server *s)
{
    for (size_t i = 0; i < s->nfaults; i++)
        free(s->faults[i].path_prefix);
    free(s->faults);
    s->faults = NULL;
    s->nfaults = 0;
}

void sim_faults_clear(sim_server *s)
{
    pthread_mutex_lock(&s->meta);
    clear_locked(s);
    pthread_mutex_unlock(&s->meta);
}

void sim_count_request(sim_server *s, const char *key, const char *rid)
{
    pthread_mutex_lock(&s->meta);
    s->total++;
    if (rid && *rid) gb_strlcpy(s->rids[s->nrids++ % SIM_MAX_RIDS], rid, sizeof(s->rids[0]));
    for (size_t i = 0; i < s->ncounts; i++) {
        if (strcmp(s->counts[i].key, key) == 0) {
            s->counts[i].n++;
            goto done;
        }
    }
    if (s->ncounts >= SIM_MAX_ROUTE_KEYS) goto done;
    sim_count *c = realloc(s->counts, (s->ncounts + 1) * sizeof(*c));
    if (!c) goto done;
    s->counts = c;
    c[s->ncounts].key = gb_strdup(key);
    if (!c[s->ncounts].key) goto done;
    c[s->ncounts].n = 1;
    s->ncounts++;
done:
    pthread_mutex_unlock(&s->meta);
}

static void counts_clear_locked(sim_server *s)
{
    for (size_t i = 0; i < s->ncounts; i++)
        free(s->counts[i].key);
    free(s->counts);
    s->counts = NULL;
    s->ncounts = 0;
    s->total = 0;
    s->connections = 0;
    s->nrids = 0;
}

void sim_faults_free(sim_server *s)
{
    pthread_mutex_lock(&s->meta);
    clear_locked(s);
    counts_clear_locked(s);
    pthread_mutex_unlock(&s->meta);
}

/* Reads an optional field: GB_OK when present and valid or absent; GB_ERR_INVALID otherwise. */
static gb_err opt(gb_err e)
{
    return e == GB_ERR_NOT_FOUND ? GB_OK : e;
}

/* Parses a rule from the body of POST /_sim/faults; fills err on bad input. */
static gb_err parse_fault(const cJSON *j, sim_fault *f, char *err)
{
    static const char *const keys[] = {
        "method",      "path_prefix",   "status",         "count",         "latency_ms",
        "retry_after", "drop_response", "capacity_error", "truncate_body", "answer_after_ms",
        NULL};
    const char *method = NULL, *prefix = NULL;
    int64_t status = 0, retry = 0;
    memset(f, 0, sizeof(*f));
    f->count = 1;
    if (!cJSON_IsObject(j)) {
        gb_strlcpy(err, "a fault rule must be a JSON object", GB_JSON_ERR_MAX);
        return GB_ERR_INVALID;
    }
    if (gb_json_only_keys(j, keys, err) ||
        opt(gb_json_str(j, "method", 0, 15, false, &method, err)) ||
        opt(gb_json_str(j, "path_prefix", 0, 1024, false, &prefix, err)) ||
        opt(gb_json_int(j, "status", 0, 599, false, &status, err)) ||
        opt(gb_json_int(j, "count", -1, INT32_MAX, false, &f->count, err)) ||
        opt(gb_json_int(j, "latency_ms", 0, SIM_MAX_LATENCY_MS, false, &f->latency_ms, err)) ||
        opt(gb_json_int(j, "answer_after_ms", 0, SIM_MAX_LATENCY_MS, false, &f->answer_after_ms,
                        err)) ||
        opt(gb_json_int(j, "retry_after", 0, 86400, false, &retry, err)) ||
        opt(gb_json_bool(j, "drop_response", false, &f->drop_response, err)) ||
        opt(gb_json_bool(j, "capacity_error", false, &f->capacity_error, err)) ||
        opt(gb_json_bool(j, "truncate_body", false, &f->truncate_body, err)))
        return GB_ERR_INVALID;
    if (status != 0 && status < 100) {
        gb_strlcpy(err, "field 'status' must be 0 or between 100 and 599", GB_JSON_ERR_MAX);
        return GB_ERR_INVALID;
    }
    f->status = (int)status;
    f->retry_after = (int)retry;
    if (method) gb_strlcpy(f->method, method, sizeof(f->method));
    f->path_prefix = gb_strdup(prefix ? prefix : "");
    return f->path_prefix ? GB_OK : GB_ERR_NOMEM;
}

static void faults_add(sim_server *s, const sim_req *rq, sim_resp *rs)
{
    char err[GB_JSON_ERR_MAX] = "";
    sim_fault f;
    cJSON *j = sim_body(s, rq, rs);
    if (!j) return;
    gb_err e = parse_fault(j, &f, err);
    cJSON_Delete(j);
    if (e == GB_ERR_NOMEM) goto nomem;
    if (e) {
        sim_error(s, rs, 400, "%s", err);
        return;
    }
    pthread_mutex_lock(&s->meta);
    if (s->nfaults >= SIM_MAX_FAULTS) {
        pthread_mutex_unlock(&s->meta);
        free(f.path_prefix);
        sim_error(s, rs, 400, "too many fault rules (at most %d); DELETE /_sim/faults first",
                  SIM_MAX_FAULTS);
        return;
    }
    sim_fault *v = realloc(s->faults, (s->nfaults + 1) * sizeof(*v));
    if (!v) {
        pthread_mutex_unlock(&s->meta);
        free(f.path_prefix);
        goto nomem;
    }
    s->faults = v;
    f.id = ++s->next_fault_id;
    v[s->nfaults++] = f;
    pthread_mutex_unlock(&s->meta);
    GB_DEBUG("sim", "%s: fault %lld on %s %s (status %d, count %lld)", s->p->name, (long long)f.id,
             f.method[0] ? f.method : "*", f.path_prefix, f.status, (long long)f.count);
    cJSON *out = cJSON_CreateObject();
    if (out) cJSON_AddNumberToObject(out, "id", (double)f.id);
    sim_json(rs, 200, out);
    return;
nomem:
    sim_error(s, rs, 500, "out of memory");
}

static cJSON *fault_json(const sim_fault *f)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "id", (double)f->id);
    cJSON_AddStringToObject(o, "method", f->method[0] ? f->method : "*");
    cJSON_AddStringToObject(o, "path_prefix", f->path_prefix);
    cJSON_AddNumberToObject(o, "status", f->status);
    cJSON_AddNumberToObject(o, "count", (double)f->count);
    cJSON_AddNumberToObject(o, "latency_ms", (double)f->latency_ms);
    cJSON_AddNumberToObject(o, "answer_after_ms", (double)f->answer_after_ms);
    cJSON_AddNumberToObject(o, "retry_after", f->retry_after);
    cJSON_AddBoolToObject(o, "drop_response", f->drop_response);
    cJSON_AddBoolToObject(o, "capacity_error", f->capacity_error);
    cJSON_AddBoolToObject(o, "truncate_body", f->truncate_body);
    cJSON_AddNumberToObject(o, "fired", (double)f->fired);
    return o;
}

/* {"faults":[{...,"count":remaining,"fired":N}]} */
static void faults_list(sim_server *s, sim_resp *rs)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = out ? cJSON_AddArrayToObject(out, "faults") : NULL;
    if (!arr) goto nomem;
    pthread_mutex_lock(&s->meta);
    for (size_t i = 0; i < s->nfaults; i++) {
        cJSON *o = fault_json(&s->faults[i]);
        if (o) cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&s->meta);
    sim_json(rs, 200, out);
    return;
nomem:
    cJSON_Delete(out);
    sim_error(s, rs, 500, "out of memory");
}

static void clock_reply(sim_server *s, sim_resp *rs)
{
    cJSON *out = cJSON_CreateObject();
    if (out) {
        cJSON_AddNumberToObject(out, "now_ms", (double)sim_now(s));
        cJSON_AddNumberToObject(out, "speed", sim_clock_speed(s));
    }
    sim_json(rs, 200, out);
}

/* POST /_sim/clock {"advance_ms":N,"speed":X}: both optional, both checked before either
 * applies; the speed changes first. */
static void clock_post(sim_server *s, const sim_req *rq, sim_resp *rs)
{
    static const char *const keys[] = {"advance_ms", "speed", NULL};
    char err[GB_JSON_ERR_MAX] = "";
    int64_t adv = 0;
    double speed = 0;
    cJSON *j = sim_body(s, rq, rs);
    if (!j) return;
    if (!cJSON_IsObject(j)) {
        gb_strlcpy(err, "the clock request must be a JSON object", sizeof(err));
        goto bad;
    }
    if (gb_json_only_keys(j, keys, err) ||
        opt(gb_json_int(j, "advance_ms", 0, MAX_ADVANCE_MS, false, &adv, err)))
        goto bad;
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(j, "speed");
    if (sp && !cJSON_IsNull(sp)) {
        speed = sp->valuedouble;
        if (!cJSON_IsNumber(sp) || !isfinite(speed) || speed <= 0 || speed > SIM_MAX_SPEED) {
            gb_strlcpy(err, "field 'speed' must be a number above 0 and at most 100000",
                       sizeof(err));
            goto bad;
        }
    }
    cJSON_Delete(j);
    if (speed > 0) sim_clock_set_speed(s, speed);
    if (adv > 0) sim_clock_advance(s, adv);
    GB_DEBUG("sim", "%s: clock advanced %lld ms, speed %g", s->p->name, (long long)adv,
             sim_clock_speed(s));
    clock_reply(s, rs);
    return;
bad:
    cJSON_Delete(j);
    sim_error(s, rs, 400, "%s", err);
}

static void state_get(sim_server *s, sim_resp *rs)
{
    pthread_mutex_lock(&s->lock);
    if (s->p->tick) s->p->tick(s->state, sim_now(s));
    cJSON *out = s->p->dump ? s->p->dump(s->state) : cJSON_CreateObject();
    pthread_mutex_unlock(&s->lock);
    if (!out) {
        sim_error(s, rs, 500, "cannot dump the state");
        return;
    }
    sim_json(rs, 200, out);
}

static void workloads_get(sim_server *s, sim_resp *rs)
{
    if (!s->p->workloads) {
        sim_error(s, rs, 501, "the %s simulator has no workload view", s->p->name);
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (s->p->tick) s->p->tick(s->state, sim_now(s));
    cJSON *list = s->p->workloads(s->state);
    pthread_mutex_unlock(&s->lock);
    cJSON *out = list ? cJSON_CreateObject() : NULL;
    if (!out || !cJSON_AddItemToObject(out, "workloads", list)) {
        if (!out) cJSON_Delete(list);
        cJSON_Delete(out);
        sim_error(s, rs, 500, "out of memory");
        return;
    }
    sim_json(rs, 200, out);
}

static void requests_get(sim_server *s, sim_resp *rs)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *by = out ? cJSON_AddObjectToObject(out, "by_route") : NULL;
    if (!by) {
        cJSON_Delete(out);
        sim_error(s, rs, 500, "out of memory");
        return;
    }
    pthread_mutex_lock(&s->meta);
    cJSON_AddNumberToObject(out, "count", (double)s->total);
    cJSON_AddNumberToObject(out, "connections", (double)s->connections);
    for (size_t i = 0; i < s->ncounts; i++)
        cJSON_AddNumberToObject(by, s->counts[i].key, (double)s->counts[i].n);
    cJSON *rids = cJSON_AddArrayToObject(out, "request_ids"); /* oldest first */
    size_t first = s->nrids > SIM_MAX_RIDS ? s->nrids - SIM_MAX_RIDS : 0;
    for (size_t i = first; rids && i < s->nrids; i++)
        cJSON_AddItemToArray(rids, cJSON_CreateString(s->rids[i % SIM_MAX_RIDS]));
    pthread_mutex_unlock(&s->meta);
    sim_json(rs, 200, out);
}

/* POST /_sim/prices {"percent":N}, 10 to 1000. */
static void prices_post(sim_server *s, const sim_req *rq, sim_resp *rs)
{
    static const char *const keys[] = {"percent", NULL};
    char err[GB_JSON_ERR_MAX] = "";
    int64_t pct = 0;
    if (!s->p->reprice) {
        sim_error(s, rs, 501, "the %s simulator has no price control", s->p->name);
        return;
    }
    cJSON *j = sim_body(s, rq, rs);
    if (!j) return;
    if (!cJSON_IsObject(j))
        gb_strlcpy(err, "the prices request must be a JSON object", sizeof(err));
    else
        (void)(gb_json_only_keys(j, keys, err) ||
               gb_json_int(j, "percent", 10, 1000, true, &pct, err));
    cJSON_Delete(j);
    if (err[0]) {
        sim_error(s, rs, 400, "%s", err);
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->p->reprice(s->state, (int)pct);
    pthread_mutex_unlock(&s->lock);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "percent", (double)pct);
    sim_json(rs, 200, o);
}

void sim_control(sim_server *s, const sim_req *rq, bool too_large, sim_resp *rs)
{
    const char *m = rq->method, *path = rq->path;
    if (too_large) {
        sim_error(s, rs, 413, "request body is larger than %zu bytes", SIM_MAX_BODY);
        return;
    }
    if (strcmp(path, "/_sim/faults") == 0) {
        if (strcmp(m, "POST") == 0)
            faults_add(s, rq, rs);
        else if (strcmp(m, "GET") == 0)
            faults_list(s, rs);
        else if (strcmp(m, "DELETE") == 0) {
            sim_faults_clear(s);
            sim_json(rs, 200, cJSON_CreateObject());
        } else
            goto not_allowed;
    } else if (strcmp(path, "/_sim/clock") == 0) {
        if (strcmp(m, "POST") == 0)
            clock_post(s, rq, rs);
        else if (strcmp(m, "GET") == 0)
            clock_reply(s, rs);
        else
            goto not_allowed;
    } else if (strcmp(path, "/_sim/state") == 0) {
        if (strcmp(m, "GET") == 0)
            state_get(s, rs);
        else
            goto not_allowed;
    } else if (strcmp(path, "/_sim/workloads") == 0) {
        if (strcmp(m, "GET") == 0)
            workloads_get(s, rs);
        else
            goto not_allowed;
    } else if (strcmp(path, "/_sim/requests") == 0) {
        if (strcmp(m, "GET") == 0)
            requests_get(s, rs);
        else if (strcmp(m, "DELETE") == 0) {
            pthread_mutex_lock(&s->meta);
            counts_clear_locked(s);
            pthread_mutex_unlock(&s->meta);
            sim_json(rs, 200, cJSON_CreateObject());
        } else
            goto not_allowed;
    } else if (strcmp(path, "/_sim/prices") == 0) {
        if (strcmp(m, "POST") == 0)
            prices_post(s, rq, rs);
        else
            goto not_allowed;
    } else if (strcmp(path, "/_sim/trainer") == 0) {
        if (strcmp(m, "POST") == 0)
            sim_trainer_control(s, rq, rs);
        else
            goto not_allowed;
    } else {
        sim_error(s, rs, 404, "no simulator control endpoint %s", path);
    }
    return;
not_allowed:
    sim_error(s, rs, 405, "method %s is not allowed on %s", m, path);
}
