/* lium.c: gpubroker's adapter for Lium's native API (X-API-KEY): the vtable, HTTP with Lium's
 * FastAPI error bodies, offers from GET /executors, and pod reads, deletion and logs.
 * Creating a pod (template + rent) lives in lium_create.c, the JSON mapping in lium_map.c. */

/* Wire shapes follow Lium's public SDK (Datura-ai/lium lium/sdk/client.py and models.py,
 * 2026-06; Datura-ai/lium-sdk lium/models/ (executor, pod, template) for the field types):
 *  - GET /executors?size=1000 (Lium.ls sends size=1000 and no other paging) answers a JSON
 *    list of the executors that can be rented now; price_per_hour = price_per_gpu x
 *    specs.gpu.count (an answer with only price_per_hour is divided instead); location
 *    "US-East" from {country, region}; RAM and disk from kB.
 *  - GET /pods/{id}/logs?tail=N&follow=false (Lium.logs): text lines, server-sent events
 *    "data: {\"log\": ...}" (lium/cli/logs/actions.py). follow is always false: a following
 *    call streams forever and would hang the caller.
Choices where the SDK is silent:
 *  - Pods are whole executors: create refuses a gpu_count other than 0 or the executor's
 *    (GB_ERR_INVALID naming gpu_count); an executor that is not listed, over
 *    max_price_per_hour, or refused by rent (404, 409, 410, 400 "not available") is
 *    GB_ERR_CAPACITY. volume_size_gb is ignored (executor disks are fixed); private registry
 *    credentials are refused.
 *  - A pod's "price" is read as its total per hour; ready = RUNNING with ssh_connect_cmd.
 *  - No start/stop/update: Lium has a reboot, which is not a stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "providers/lium.h"

#define LOG_LINE_MAX 4096
#define LOG_TAIL_DEFAULT 1000 /* lines asked for when the caller wants "all" */

gb_err prov_lium_status_error(prov_adapter *a, const gb_http_resp *resp, char *err)
{
    gb_err e = prov_status_error(a, resp, err);
    /* FastAPI's validation errors: {"detail":[{"loc":["body","pod_name"],"msg":"..."}]} */
    cJSON *j = cJSON_ParseWithLength(resp->body ? resp->body : "", resp->body_len);
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(j, "detail");
    if (cJSON_IsArray(detail) && cJSON_GetArraySize(detail) > 0) {
        gb_buf b = {0};
        const cJSON *d;
        int n = 0;
        cJSON_ArrayForEach(d, detail)
        {
            if (n++ >= 4) break;
            const cJSON *loc = cJSON_GetObjectItemCaseSensitive(d, "loc");
            const cJSON *last = cJSON_GetArrayItem(loc, cJSON_GetArraySize(loc) - 1);
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(d, "msg");
            gb_buf_printf(&b, "%s%s%s%s", n > 1 ? "; " : "",
                          cJSON_IsString(last) ? last->valuestring : "",
                          cJSON_IsString(last) ? ": " : "",
                          cJSON_IsString(msg) ? msg->valuestring : "invalid");
        }
        snprintf(err, PROV_ERR_MAX, "%s answered HTTP %ld: %.400s", a->name, resp->status,
                 b.data ? b.data : "invalid request");
        gb_buf_free(&b);
    }
    cJSON_Delete(j);
    return e;
}

/* ops->auth: Lium's static key in X-API-KEY (Datura-ai/lium lium/sdk/client.py headers). */
static gb_err lium_auth(prov_adapter *a, const char *rejected, char **hdr, char *err)
{
    *hdr = NULL;
    if (rejected) {
        snprintf(err, PROV_ERR_MAX, "%s refused the API key", a->name);
        return GB_ERR_AUTH;
    }
    *hdr = prov_auth_line("X-API-KEY", a->secret);
    return *hdr ? GB_OK : GB_ERR_NOMEM;
}

static gb_err bad_id(prov_adapter *a, const char *what, char *err)
{
    snprintf(err, PROV_ERR_MAX, "%s: invalid %s id (letters, digits, '-', at most %d)", a->name,
             what, PROV_LIUM_ID_MAX);
    return GB_ERR_INVALID;
}

static gb_err malformed(prov_adapter *a, const char *what, char *err)
{
    snprintf(err, PROV_ERR_MAX, "malformed response from %s: %s", a->name, what);
    return GB_ERR_PROVIDER;
}

static gb_err list_offers(prov_adapter *a, prov_offer **out, size_t *n, char *err)
{
    *out = NULL;
    *n = 0;
    cJSON *j = NULL;
    gb_err e = prov_call(a, "GET", PROV_LIUM_EXECUTORS, NULL, true, &j, NULL, err);
    if (e) return e;
    const cJSON *items = prov_lium_list_items(j, "executors");
    if (!items) {
        e = malformed(a, "GET /executors did not return a list", err);
        goto done;
    }
    int total = cJSON_GetArraySize(items);
    if (total > PROV_LIUM_MAX_ITEMS) total = PROV_LIUM_MAX_ITEMS;
    if (total == 0) goto done;
    prov_offer *offers = calloc((size_t)total, sizeof(*offers));
    if (!offers) {
        e = GB_ERR_NOMEM;
        goto done;
    }
    size_t k = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, items)
    {
        if (k >= (size_t)total) break;
        /* one offer per executor that can be rented now; malformed entries are skipped */
        if (prov_lium_offer_from_json(a, x, &offers[k]) == 0 && offers[k].available) k++;
    }
    if (k == 0) {
        free(offers);
        goto done;
    }
    *out = offers;
    *n = k;
done:
    cJSON_Delete(j);
    return e;
}

static gb_err get_pod(prov_adapter *a, const char *id, prov_pod *out, char *err)
{
    memset(out, 0, sizeof(*out));
    if (!prov_lium_id_ok(id)) return bad_id(a, "pod", err);
    char path[128];
    snprintf(path, sizeof(path), "/pods/%s", id);
    cJSON *j = NULL;
    gb_err e = prov_call(a, "GET", path, NULL, true, &j, NULL, err);
    if (e == GB_OK && prov_lium_pod_from_json(j, out) != 0)
        e = malformed(a, "pod without an id", err);
    cJSON_Delete(j);
    return e;
}

/* GET /pods as parsed JSON plus its item list. */
static gb_err pods_all(prov_adapter *a, cJSON **j, const cJSON **items, char *err)
{
    gb_err e = prov_call(a, "GET", "/pods", NULL, true, j, NULL, err);
    if (e) return e;
    *items = prov_lium_list_items(*j, "pods");
    if (!*items) {
        cJSON_Delete(*j);
        *j = NULL;
        return malformed(a, "GET /pods did not return a list", err);
    }
    return GB_OK;
}

gb_err prov_lium_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err)
{
    memset(out, 0, sizeof(*out));
    cJSON *j = NULL;
    const cJSON *items = NULL;
    gb_err e = pods_all(a, &j, &items, err);
    if (e) return e;
    const cJSON *p = prov_lium_pod_by_name(items, name);
    if (!p) {
        snprintf(err, PROV_ERR_MAX, "%s: no pod named '%.128s'", a->name, name ? name : "");
        e = GB_ERR_NOT_FOUND;
    } else if (prov_lium_pod_from_json(p, out) != 0) {
        e = malformed(a, "pod without an id", err);
    }
    cJSON_Delete(j);
    return e;
}

static gb_err list_pods(prov_adapter *a, prov_pod **out, size_t *n, char *err)
{
    *out = NULL;
    *n = 0;
    cJSON *j = NULL;
    const cJSON *items = NULL;
    gb_err e = pods_all(a, &j, &items, err);
    if (e) return e;
    int total = cJSON_GetArraySize(items);
    if (total > PROV_LIUM_MAX_ITEMS) total = PROV_LIUM_MAX_ITEMS;
    prov_pod *pods = total > 0 ? calloc((size_t)total, sizeof(*pods)) : NULL;
    if (total > 0 && !pods) {
        e = GB_ERR_NOMEM;
        goto done;
    }
    size_t k = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, items)
    {
        if (k >= (size_t)total) break;
        if (prov_lium_pod_from_json(p, &pods[k]) == 0) k++;
    }
    if (k == 0) {
        free(pods);
        pods = NULL;
    }
    *out = pods;
    *n = k;
done:
    cJSON_Delete(j);
    return e;
}

static gb_err remove_pod(prov_adapter *a, const char *id, char *err)
{
    if (!prov_lium_id_ok(id)) return bad_id(a, "pod", err);
    char path[128];
    snprintf(path, sizeof(path), "/pods/%s", id);
    return prov_call(a, "DELETE", path, NULL, true, NULL, NULL, err);
}

/* One line of Lium's log stream: an SSE "data: {\"log\": ...}" event (its log text), a
 * blank separator (skipped) or a plain text line (kept). */
static void log_line(gb_buf *b, const char *line, size_t n)
{
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
        n--;
    if (n == 0) return;
    if (n > 6 && strncmp(line, "data: ", 6) == 0) {
        cJSON *j = cJSON_ParseWithLength(line + 6, n - 6);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "log");
        if (cJSON_IsString(v)) {
            gb_buf_printf(b, "%.*s", LOG_LINE_MAX, v->valuestring);
            if (!b->len || b->data[b->len - 1] != '\n') gb_buf_puts(b, "\n");
            cJSON_Delete(j);
            return;
        }
        cJSON_Delete(j);
        line += 6;
        n -= 6;
    }
    gb_buf_printf(b, "%.*s\n", (int)(n > LOG_LINE_MAX ? LOG_LINE_MAX : n), line);
}

/* The whole answer, line by line. */
static void logs_text(const gb_http_resp *r, gb_buf *b)
{
    const char *p = r->body ? r->body : "";
    size_t left = r->body ? r->body_len : 0;
    int lines = 0;
    while (left > 0 && ++lines <= 100000) {
        const char *nl = memchr(p, '\n', left);
        size_t n = nl ? (size_t)(nl - p) : left;
        log_line(b, p, n);
        p += n + (nl ? 1 : 0);
        left -= n + (nl ? 1 : 0);
    }
}

static gb_err logs(prov_adapter *a, const char *id, int tail, char **out, char *err)
{
    *out = NULL;
    if (!prov_lium_id_ok(id)) return bad_id(a, "pod", err);
    char path[160];
    snprintf(path, sizeof(path), "/pods/%s/logs?tail=%d&follow=false", id,
             tail > 0 && tail <= 100000 ? tail : LOG_TAIL_DEFAULT);
    gb_http_resp r;
    memset(&r, 0, sizeof(r));
    gb_err e = prov_call_raw(a, "GET", path, NULL, NULL, 0, true, &r, NULL, err);
    if (e) return e;
    gb_buf b = {0};
    logs_text(&r, &b);
    gb_http_resp_free(&r);
    char *text = gb_buf_take(&b);
    if (!text) return GB_ERR_NOMEM;
    if (tail > 0) { /* keep the last `tail` lines */
        size_t len = strlen(text), start = 0;
        int lines = 0;
        for (size_t i = len; i > 0; i--) {
            if (text[i - 1] == '\n' && i != len && ++lines >= tail) {
                start = i;
                break;
            }
        }
        memmove(text, text + start, len - start + 1);
    }
    *out = text;
    return GB_OK;
}

const prov_ops prov_lium_ops = {
    .kind = "lium",
    .list_offers = list_offers,
    .create = prov_lium_create,
    .precheck = prov_lium_precheck,
    .get = get_pod,
    .find_by_name = prov_lium_find_by_name,
    .abandoned = prov_lium_template_abandoned,
    .list_pods = list_pods,
    .start = NULL, /* Lium rents whole executors: no stop/start (a reboot exists, unused) */
    .stop = NULL,
    .update = NULL,
    .remove = remove_pod,
    .logs = logs,
    .events = NULL,
    .map_status = prov_lium_map_status,
    .validate_options = prov_lium_validate_options,
    .state_free = NULL,
    .auth = lium_auth,
    .error = prov_lium_status_error,
};
