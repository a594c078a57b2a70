/* targon.c: the Targon adapter (prov_targon_ops): gpubroker's client for the Targon workloads
 * API (register then deploy; /tha/v3/orgs/{org} by default, /tha/v2 for old providers), with
 * look-up-by-name recovery so an ambiguous failure never creates a workload twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "providers/targon.h"

#define MAX_PAGES 50 /* list walks stop here (100 items a page) */
#define MAX_OFFERS 1000
#define MAX_EVENTS 1000

/* ops->error: the gb_err for a non-2xx answer, with Targon's message in err; an answer that
 * says the resource has no capacity is GB_ERR_CAPACITY. */
gb_err prov_targon_answer_error(prov_adapter *a, const gb_http_resp *r, char *err)
{
    gb_err e = prov_status_error(a, r, err); /* the gb_err of the status */
    /* Targon's body is {error: message, reason: CODE} (targon-sdk libs/go/http.go errorBody):
     * the message is "error", not "reason" as prov_status_error would take. */
    cJSON *j = cJSON_ParseWithLength(r->body ? r->body : "", r->body_len);
    const char *msg = gb_jstr(j, "error"), *code = gb_jstr(j, "reason");
    if (msg && msg[0])
        snprintf(err, PROV_ERR_MAX, "%s answered HTTP %ld: %.300s%s%.80s%s", a->name, r->status,
                 msg, code && code[0] ? " (" : "", code ? code : "", code && code[0] ? ")" : "");
    cJSON_Delete(j);
    return prov_targon_is_capacity(r->body, r->body_len) ? GB_ERR_CAPACITY : e;
}

/* A uid we put into a path: letters, digits, - and _ only. */
gb_err prov_targon_uid_path(prov_adapter *a, const char *uid, const char *tail, char *out,
                            char *err)
{
    size_t n = 0;
    for (; uid && uid[n]; n++) {
        char c = uid[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            break;
    }
    if (!uid || uid[n] || n == 0 || n > 64) {
        snprintf(err, PROV_ERR_MAX, "%s: invalid workload uid", a->name);
        return GB_ERR_INVALID;
    }
    char suffix[160];
    snprintf(suffix, sizeof(suffix), "/%s%s", uid, tail ? tail : "");
    return prov_targon_path(a, "workloads", suffix, out, err);
}

/* An answer cut short (curl: "Transferred a partial file") is, for a read, Targon's fault
 * (GB_ERR_PROVIDER), not an unreachable platform. */
static gb_err read_error(prov_adapter *a, gb_err e, const char *path, char *err)
{
    if (e != GB_ERR_HTTP || !strstr(err, "partial")) return e;
    snprintf(err, PROV_ERR_MAX,
             "truncated response from %s (GET %.200s): the body ended before its Content-Length",
             a->name, path);
    return GB_ERR_PROVIDER;
}

gb_err prov_targon_get_json(prov_adapter *a, const char *path, cJSON **out, char *err)
{
    *out = NULL;
    gb_err e = read_error(a, prov_call(a, "GET", path, NULL, true, out, NULL, err), path, err);
    if (!e && !*out) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: empty answer to GET %.200s",
                 a->name, path);
        e = GB_ERR_PROVIDER;
    }
    return e;
}

void prov_targon_query_escape(const char *s, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (; s && *s && k + 4 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[k++] = (char)c;
        } else {
            out[k++] = '%';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
        }
    }
    out[k] = '\0';
}

/* ---- offers ---- */

static gb_err list_offers(prov_adapter *a, prov_offer **out, size_t *n, char *err)
{
    *out = NULL;
    *n = 0;
    char path[PROV_TARGON_PATH_MAX], full[PROV_TARGON_PATH_MAX + 32];
    cJSON *j = NULL;
    gb_err e = prov_targon_inventory_path(a->settings, path, sizeof(path), err);
    if (e) return e;
    snprintf(full, sizeof(full), "%s?type=rental&gpu=true", path);
    if ((e = prov_targon_get_json(a, full, &j, err))) return e;
    const cJSON *items = cJSON_IsArray(j) ? j : cJSON_GetObjectItemCaseSensitive(j, "items");
    if (!cJSON_IsArray(items)) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: inventory is not a list", a->name);
        e = GB_ERR_PROVIDER;
        goto done;
    }
    size_t cap = (size_t)cJSON_GetArraySize(items);
    if (cap > MAX_OFFERS) cap = MAX_OFFERS;
    prov_offer *offers = calloc(cap ? cap : 1, sizeof(*offers));
    if (!offers) {
        e = GB_ERR_NOMEM;
        goto done;
    }
    int64_t now = gb_now_ms();
    const cJSON *it;
    size_t k = 0, bad = 0;
    cJSON_ArrayForEach(it, items)
    {
        if (k >= cap) break;
        int rc = prov_targon_parse_offer(it, a->name, now, &offers[k]);
        if (rc == 0)
            k++;
        else if (rc < 0)
            bad++;
    }
    if (bad) GB_WARN("prov", "%s: skipped %zu malformed inventory entries", a->name, bad);
    *out = offers;
    *n = k;
done:
    cJSON_Delete(j);
    return e;
}

/* ---- workloads ---- */

static gb_err get_pod(prov_adapter *a, const char *uid, prov_pod *out, char *err)
{
    char path[PROV_TARGON_PATH_MAX];
    cJSON *j = NULL;
    memset(out, 0, sizeof(*out));
    gb_err e = prov_targon_uid_path(a, uid, NULL, path, err);
    if (e || (e = prov_targon_get_json(a, path, &j, err))) return e;
    prov_targon_parse_pod(j, out);
    cJSON_Delete(j);
    if (!out->provider_id[0]) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: workload without uid", a->name);
        return GB_ERR_PROVIDER;
    }
    return GB_OK;
}

/* Walks GET workloads (name filter when name != NULL). Calls fn for each item; fn returns
 * non-zero to stop. */
typedef int (*item_fn)(const cJSON *item, void *ud);

static gb_err walk(prov_adapter *a, const char *name, item_fn fn, void *ud, char *err)
{
    char base[PROV_TARGON_PATH_MAX], path[1280], cursor[400] = "";
    gb_err e = prov_targon_path(a, "workloads", "", base, err);
    if (e) return e;
    for (int page = 0; page < MAX_PAGES; page++) {
        char esc_name[200] = "";
        if (name) prov_targon_query_escape(name, esc_name, sizeof(esc_name));
        snprintf(path, sizeof(path), "%s?limit=100%s%s%s%s", base, name ? "&name=" : "", esc_name,
                 cursor[0] ? "&cursor=" : "", cursor);
        cJSON *j = NULL;
        if ((e = prov_targon_get_json(a, path, &j, err))) return e;
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
        if (!cJSON_IsArray(items) && !cJSON_IsNull(items) && items) {
            cJSON_Delete(j);
            snprintf(err, PROV_ERR_MAX, "malformed response from %s: items is not a list", a->name);
            return GB_ERR_PROVIDER;
        }
        const cJSON *it;
        int stop = 0;
        cJSON_ArrayForEach(it, items) if ((stop = fn(it, ud))) break;
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next_cursor");
        bool more = !stop && cJSON_IsString(next) && next->valuestring[0] &&
                    strlen(next->valuestring) < 128 && cJSON_GetArraySize(items) > 0;
        if (more) prov_targon_query_escape(next->valuestring, cursor, sizeof(cursor));
        cJSON_Delete(j);
        if (!more) return GB_OK;
    }
    GB_WARN("prov", "%s: workload list longer than %d pages; stopped there", a->name, MAX_PAGES);
    return GB_OK;
}

typedef struct {
    const char *name;
    prov_pod *pod;
    bool found;
} find_ctx;

static int find_item(const cJSON *item, void *ud)
{
    find_ctx *c = ud;
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(item, "name");
    if (!cJSON_IsString(nm) || strcmp(nm->valuestring, c->name) != 0) return 0;
    prov_pod p;
    prov_targon_parse_pod(item, &p);
    if (!p.provider_id[0] || p.status == POD_DELETED) return 0;
    *c->pod = p;
    c->found = true;
    return 1;
}

static gb_err find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err)
{
    memset(out, 0, sizeof(*out));
    if (!name || !name[0] || strlen(name) > 63) {
        snprintf(err, PROV_ERR_MAX, "%s: no workload named that", a->name);
        return GB_ERR_NOT_FOUND;
    }
    find_ctx c = {.name = name, .pod = out};
    gb_err e = walk(a, name, find_item, &c, err);
    if (e) return e;
    if (!c.found) {
        snprintf(err, PROV_ERR_MAX, "%s: no workload named %s", a->name, name);
        return GB_ERR_NOT_FOUND;
    }
    return GB_OK;
}

typedef struct {
    prov_pod *pods;
    size_t n, cap;
    bool nomem;
} list_ctx;

static int list_item(const cJSON *item, void *ud)
{
    list_ctx *c = ud;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        prov_pod *p = realloc(c->pods, cap * sizeof(*p));
        if (!p) {
            c->nomem = true;
            return 1;
        }
        c->pods = p;
        c->cap = cap;
    }
    prov_targon_parse_pod(item, &c->pods[c->n]);
    if (c->pods[c->n].provider_id[0]) c->n++;
    return 0;
}

static gb_err list_pods(prov_adapter *a, prov_pod **out, size_t *n, char *err)
{
    list_ctx c = {0};
    *out = NULL;
    *n = 0;
    gb_err e = walk(a, NULL, list_item, &c, err);
    if (!e && c.nomem) e = GB_ERR_NOMEM;
    if (e) {
        free(c.pods);
        return e;
    }
    *out = c.pods;
    *n = c.n;
    return GB_OK;
}

/* The key lines of changes[field] (strings only; the body builder refuses the rest). */
static int key_lines(const cJSON *changes, const char *field, const char **lines, int max)
{
    int n = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(changes, field))
    {
        if (n < max && cJSON_IsString(k)) lines[n++] = k->valuestring;
    }
    return n;
}

static gb_err update(prov_adapter *a, const char *uid, const cJSON *changes, char *err)
{
    char path[PROV_TARGON_PATH_MAX];
    cJSON *body = NULL, *uids = NULL;
    gb_err e = prov_targon_uid_path(a, uid, NULL, path, err);
    if (e) return e;
    if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(changes, "ssh_public_keys")) ||
        cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(changes, "ssh_keys"))) {
        const char *lines[32];
        int n = key_lines(changes, "ssh_public_keys", lines, 16);
        n += key_lines(changes, "ssh_keys", lines + n, 16);
        if (!(uids = cJSON_CreateArray())) return GB_ERR_NOMEM;
        if ((e = prov_targon_key_uids(a, lines, n, uids, err))) goto done;
    }
    if ((e = prov_targon_update_body(changes, uids, &body, err)) || !body) goto done;
    e = prov_call(a, "PATCH", path, body, true, NULL, NULL, err);
done:
    cJSON_Delete(body);
    cJSON_Delete(uids);
    return e;
}

/* POST .../workloads/{uid}/{action} (no body) -> the workload operation answer (targon-sdk
 * libs/go/workload.go postAction: deploy, suspend). */
static gb_err action(prov_adapter *a, const char *uid, const char *tail, char *err)
{
    char path[PROV_TARGON_PATH_MAX];
    gb_err e = prov_targon_uid_path(a, uid, tail, path, err);
    if (e) return e;
    return prov_call(a, "POST", path, NULL, true, NULL, NULL, err);
}

/* Stop = suspend (v3 only: the v2 API has no suspend); start = deploy again, which Targon
 * takes for a registered or suspended rental (targon-sdk cli/src/commands/rental.rs: "Start a
 * registered or suspended rental"; "resume with `targon rental start`"). */
static gb_err stop_wl(prov_adapter *a, const char *uid, char *err)
{
    if (prov_targon_version(a->settings, err) == 2) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: Targon's v2 API cannot suspend a workload; the provider's settings say "
                 "api_version v2 (v3 has POST .../suspend)",
                 a->name);
        return GB_ERR_CONFLICT;
    }
    return action(a, uid, "/suspend", err);
}

static gb_err start_wl(prov_adapter *a, const char *uid, char *err)
{
    return action(a, uid, "/deploy", err);
}

static gb_err remove_wl(prov_adapter *a, const char *uid, char *err)
{
    char path[PROV_TARGON_PATH_MAX];
    gb_err e = prov_targon_uid_path(a, uid, NULL, path, err);
    if (e) return e;
    return prov_call(a, "DELETE", path, NULL, true, NULL, NULL, err);
}

static gb_err logs(prov_adapter *a, const char *uid, int tail, char **out, char *err)
{
    char path[PROV_TARGON_PATH_MAX], tailq[32] = "";
    gb_http_resp r;
    *out = NULL;
    if (tail > 0) snprintf(tailq, sizeof(tailq), "/logs?tail=%d", tail);
    gb_err e = prov_targon_uid_path(a, uid, tail > 0 ? tailq : "/logs", path, err);
    if (e) return e;
    /* GET .../logs answers text/plain (targon-sdk libs/go/workload.go GetLogs, getText). */
    e = read_error(a, prov_call_raw(a, "GET", path, NULL, NULL, 0, true, &r, NULL, err), path, err);
    if (!e && !(*out = gb_strndup(r.body ? r.body : "", r.body_len))) e = GB_ERR_NOMEM;
    gb_http_resp_free(&r);
    return e;
}

static gb_err events(prov_adapter *a, const char *uid, prov_event **out, size_t *n, char *err)
{
    char base[PROV_TARGON_PATH_MAX], path[1280], cursor[400] = "";
    prov_event *ev = NULL;
    size_t k = 0, cap = 0;
    *out = NULL;
    *n = 0;
    gb_err e = prov_targon_uid_path(a, uid, "/events", base, err);
    for (int page = 0; !e && page < MAX_PAGES && k < MAX_EVENTS; page++) {
        snprintf(path, sizeof(path), "%s?limit=100%s%s", base, cursor[0] ? "&cursor=" : "", cursor);
        cJSON *j = NULL;
        if ((e = prov_targon_get_json(a, path, &j, err))) break;
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items"), *it;
        cJSON_ArrayForEach(it, items)
        {
            if (k >= MAX_EVENTS) break;
            if (k == cap) {
                size_t nc = cap ? cap * 2 : 16;
                prov_event *p = realloc(ev, nc * sizeof(*p));
                if (!p) {
                    e = GB_ERR_NOMEM;
                    break;
                }
                ev = p;
                cap = nc;
            }
            prov_targon_parse_event(it, &ev[k++]);
        }
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next_cursor");
        bool more = cJSON_IsString(next) && next->valuestring[0] &&
                    strlen(next->valuestring) < 128 && cJSON_GetArraySize(items) > 0;
        if (more) prov_targon_query_escape(next->valuestring, cursor, sizeof(cursor));
        cJSON_Delete(j);
        if (!more) break;
    }
    if (e) {
        free(ev);
        return e;
    }
    *out = ev;
    *n = k;
    return GB_OK;
}

/* Serverless workloads: v2 only (v3 deprecated SERVERLESS; the create body refuses it there). */
const prov_ops prov_targon_ops = {
    .kind = "targon",
    /* stopped: the sources this adapter follows (docs/providers.md) publish no price for a
     * stopped workload's storage, so none is metered; a provider's
     * "stopped_price_per_gb_hour" setting sets one */
    .stopped_price_per_gb_hour = 0,
    .list_offers = list_offers,
    .create = prov_targon_create,
    .finish_create = prov_targon_finish_create,
    .get = get_pod,
    .find_by_name = find_by_name,
    .list_pods = list_pods,
    .start = start_wl,
    .stop = stop_wl,
    .update = update,
    .remove = remove_wl,
    .logs = logs,
    .events = events,
    .map_status = prov_targon_map_status,
    .validate_options = prov_targon_validate_options,
    .state_free = prov_targon_state_free,
    .auth = prov_auth_bearer,
    .error = prov_targon_answer_error,
    /* v3 is the default for new providers; providers registered before v3 was the default
     * were pinned to v2 by the broker's providers migration */
    .pinned_settings = "{\"api_version\":\"v3\"}",
};
