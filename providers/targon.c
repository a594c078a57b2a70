/* targon.c: the Targon adapter (prov_targon_ops): gpubroker's client for the Targon workloads
 * API (register then deploy, /tha/v2 or the real service's /tha/v3/orgs/{org}), with
 * look-up-by-name recovery so an ambiguous failure never creates a workload twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "providers/targon.h"

#define MAX_PAGES 50 /* list walks stop here (100 items a page) */
#define MAX_OFFERS 1000
#define MAX_EVENTS 1000
#define SECRET_MAX 4096

/* One exchange with Targon: the Bearer header is built here and wiped after the call. */
gb_err prov_targon_call(prov_adapter *a, const char *method, const char *path, const cJSON *body,
                        bool idempotent, gb_http_resp *r, char *err)
{
    memset(r, 0, sizeof(*r));
    size_t sl = strlen(a->secret);
    bool ctl = false;
    for (size_t i = 0; i < sl && !ctl; i++)
        ctl = (unsigned char)a->secret[i] < 0x20 || a->secret[i] == 0x7f;
    if (sl == 0 || sl > SECRET_MAX || ctl) { /* a CR/LF would forge headers */
        snprintf(err, PROV_ERR_MAX, "%s: the API key is %s", a->name,
                 ctl  ? "not printable"
                 : sl ? "too long"
                      : "empty");
        return GB_ERR_AUTH;
    }
    char *hdr = gb_asprintf("Authorization: Bearer %s", a->secret);
    if (!hdr) return GB_ERR_NOMEM;
    const char *const hdrs[] = {hdr, NULL};
    gb_err e = prov_http(a, method, path, hdrs, body, idempotent, r, err);
    gb_memzero(hdr, strlen(hdr));
    free(hdr);
    return e;
}

/* The gb_err for a non-2xx answer, with Targon's reason in err. */
gb_err prov_targon_answer_error(prov_adapter *a, const gb_http_resp *r, char *err)
{
    gb_err e = prov_status_error(a, r, err);
    return prov_targon_is_capacity(r->body, r->body_len) ? GB_ERR_CAPACITY : e;
}

static bool ok_status(const gb_http_resp *r)
{
    return r->status >= 200 && r->status < 300;
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
    return prov_targon_path(a->settings, suffix, out, PROV_TARGON_PATH_MAX, err);
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

/* GET path and parse the JSON answer. */
static gb_err get_json(prov_adapter *a, const char *path, cJSON **out, char *err)
{
    gb_http_resp r;
    *out = NULL;
    gb_err e = read_error(a, prov_targon_call(a, "GET", path, NULL, true, &r, err), path, err);
    if (e) goto done;
    e = ok_status(&r) ? prov_parse_json(a, &r, out, err) : prov_targon_answer_error(a, &r, err);
done:
    gb_http_resp_free(&r);
    return e;
}

/* Percent-encodes an opaque cursor for a query string. */
static void query_escape(const char *s, char *out, size_t n)
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
    if ((e = get_json(a, full, &j, err))) return e;
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
    if (e || (e = get_json(a, path, &j, err))) return e;
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
    gb_err e = prov_targon_path(a->settings, "", base, sizeof(base), err);
    if (e) return e;
    for (int page = 0; page < MAX_PAGES; page++) {
        char esc_name[200] = "";
        if (name) query_escape(name, esc_name, sizeof(esc_name));
        snprintf(path, sizeof(path), "%s?limit=100%s%s%s%s", base, name ? "&name=" : "", esc_name,
                 cursor[0] ? "&cursor=" : "", cursor);
        cJSON *j = NULL;
        if ((e = get_json(a, path, &j, err))) return e;
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
        if (more) query_escape(next->valuestring, cursor, sizeof(cursor));
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

static gb_err update(prov_adapter *a, const char *uid, const cJSON *changes, char *err)
{
    char path[PROV_TARGON_PATH_MAX];
    cJSON *body = NULL;
    gb_http_resp r;
    gb_err e = prov_targon_uid_path(a, uid, NULL, path, err);
    if (e || (e = prov_targon_update_body(changes, &body, err)) || !body) return e;
    e = prov_targon_call(a, "PATCH", path, body, true, &r, err);
    if (!e && !ok_status(&r)) e = prov_targon_answer_error(a, &r, err);
    gb_http_resp_free(&r);
    cJSON_Delete(body);
    return e;
}

static gb_err remove_wl(prov_adapter *a, const char *uid, char *err)
{
    char path[PROV_TARGON_PATH_MAX];
    gb_http_resp r;
    gb_err e = prov_targon_uid_path(a, uid, NULL, path, err);
    if (e) return e;
    e = prov_targon_call(a, "DELETE", path, NULL, true, &r, err);
    if (!e && !ok_status(&r)) e = prov_targon_answer_error(a, &r, err);
    gb_http_resp_free(&r);
    return e;
}

static gb_err logs(prov_adapter *a, const char *uid, int tail, char **out, char *err)
{
    char path[PROV_TARGON_PATH_MAX], tailq[32] = "";
    gb_http_resp r;
    *out = NULL;
    if (tail > 0) snprintf(tailq, sizeof(tailq), "/logs?tail=%d", tail);
    gb_err e = prov_targon_uid_path(a, uid, tail > 0 ? tailq : "/logs", path, err);
    if (e) return e;
    e = read_error(a, prov_targon_call(a, "GET", path, NULL, true, &r, err), path, err);
    if (!e && !ok_status(&r)) e = prov_targon_answer_error(a, &r, err);
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
        if ((e = get_json(a, path, &j, err))) break;
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
        if (more) query_escape(next->valuestring, cursor, sizeof(cursor));
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

/* No start/stop: the seed's workloads API has no stop, suspend or start endpoint. */
const prov_ops prov_targon_ops = {
    .kind = "targon",
    .caps = PROV_CAP_VOLUMES | PROV_CAP_SSH_KEYS | PROV_CAP_SERVERLESS | PROV_CAP_LOGS |
            PROV_CAP_EVENTS | PROV_CAP_UPDATE,
    .list_offers = list_offers,
    .create = prov_targon_create,
    .get = get_pod,
    .find_by_name = find_by_name,
    .list_pods = list_pods,
    .start = NULL,
    .stop = NULL,
    .update = update,
    .remove = remove_wl,
    .logs = logs,
    .events = events,
    .map_status = prov_targon_map_status,
    .validate_options = prov_targon_validate_options,
    .state_free = NULL,
};
