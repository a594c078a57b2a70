/* provider.c: normalized statuses, the adapter registry, and the HTTP, JSON and error helpers
 * every adapter uses. */
#include "providers/provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

static const char *const STATUS[] = {"pending",   "deploying", "running", "stopping", "stopped",
                                     "succeeded", "failed",    "deleted", "unknown"};

const char *pod_status_name(pod_status s)
{
    return (unsigned)s < sizeof(STATUS) / sizeof(STATUS[0]) ? STATUS[s] : "unknown";
}

int pod_status_parse(const char *s, pod_status *out)
{
    for (unsigned i = 0; i < sizeof(STATUS) / sizeof(STATUS[0]); i++) {
        if (s && strcasecmp(s, STATUS[i]) == 0) {
            *out = (pod_status)i;
            return 0;
        }
    }
    return -1;
}

bool pod_status_settled(pod_status s)
{
    return s == POD_STOPPED || s == POD_SUCCEEDED || s == POD_FAILED || s == POD_DELETED;
}

/* ---- adapter instances ---- */

gb_err prov_adapter_init(const prov_ops *ops, const char *name, const char *base_url,
                         const char *secret, const cJSON *settings, prov_adapter **out)
{
    *out = NULL;
    prov_adapter *a = calloc(1, sizeof(*a));
    if (!a) return GB_ERR_NOMEM;
    a->ops = ops;
    gb_strlcpy(a->name, name ? name : ops->kind, sizeof(a->name));
    gb_strlcpy(a->base_url, base_url, sizeof(a->base_url));
    size_t bl = strlen(a->base_url);
    while (bl && a->base_url[bl - 1] == '/')
        a->base_url[--bl] = '\0';
    a->secret = gb_strdup(secret ? secret : "");
    a->settings = settings ? cJSON_Duplicate(settings, 1) : NULL;
    pthread_mutex_init(&a->budget.mu, NULL);
    a->budget.per_hour = ops->requests_per_hour;
    if (!a->secret || (settings && !a->settings)) {
        prov_adapter_free(a);
        return GB_ERR_NOMEM;
    }
    *out = a;
    return GB_OK;
}

void prov_adapter_free(prov_adapter *a)
{
    if (!a) return;
    if (a->ops && a->ops->state_free && a->state) a->ops->state_free(a->state);
    if (a->secret) gb_memzero(a->secret, strlen(a->secret));
    free(a->secret);
    cJSON_Delete(a->settings);
    pthread_mutex_destroy(&a->budget.mu);
    free(a);
}

/* ---- HTTP ---- */

/* One request from a fixed window of `limit` per window_ms; 0 when taken. */
static int window_take(int limit, int64_t window_ms, int64_t now, int64_t *start, int *used)
{
    if (limit <= 0) return 0;
    if (*start == 0 || now - *start >= window_ms) {
        *start = now;
        *used = 0;
    }
    return *used < limit ? 0 : -1;
}

/* The hourly window shared by the brokers (prov_budget.shared_take): 1 taken, 0 refused, -1
 * not answered (this adapter's own window decides). */
static int shared_hour_take(const prov_adapter *a)
{
    const prov_budget *b = &a->budget;
    bool taken = false;
    if (!b->shared_take || b->per_hour <= 0) return -1;
    return b->shared_take(b->shared_ud, a->name, b->per_hour, &taken) == GB_OK ? taken : -1;
}

/* This broker's minute first, then the hour: the shared one (a round trip to the store, made
 * outside the lock and only for a request the minute lets through; a refusal there gives the
 * minute back), else this adapter's own. */
static int budget_take(prov_adapter *a, char *why, size_t n)
{
    prov_budget *b = &a->budget;
    pthread_mutex_lock(&b->mu);
    int64_t now = gb_mono_ms();
    int ok = window_take(b->per_minute, 60000, now, &b->minute_start_ms, &b->used_minute) == 0;
    if (ok) b->used_minute++;
    pthread_mutex_unlock(&b->mu);
    if (!ok) {
        snprintf(why, n, "%d per minute", b->per_minute);
        return -1;
    }
    int shared = shared_hour_take(a);
    pthread_mutex_lock(&b->mu);
    if (shared == 0 ||
        (shared < 0 && window_take(b->per_hour, 3600000, now, &b->hour_start_ms, &b->used_hour))) {
        if (b->used_minute > 0) b->used_minute--; /* not sent: not spent */
        ok = 0;
    } else {
        b->used_hour++;
    }
    pthread_mutex_unlock(&b->mu);
    if (!ok) snprintf(why, n, "%d per hour", b->per_hour);
    return ok ? 0 : -1;
}

static _Thread_local struct {
    bool (*held)(void *ud, int64_t *send_by);
    void *ud;
    bool tripped;
} fence;

void prov_fence_set(bool (*held)(void *ud, int64_t *send_by), void *ud)
{
    fence.held = held;
    fence.ud = ud;
    fence.tripped = false;
}

bool prov_fence_tripped(void)
{
    return fence.tripped;
}

gb_err prov_fence_outcome(gb_err e, char *err)
{
    if (e != GB_OK || !fence.tripped) return e;
    snprintf(err, PROV_ERR_MAX,
             "a request of the call was not sent: the claim it was made under"
             " had run out");
    return GB_ERR_HTTP;
}

gb_err prov_http_raw(prov_adapter *a, const char *method, const char *path,
                     const char *const *extra_headers, const char *content_type, const char *body,
                     size_t body_len, bool idempotent, gb_http_resp *resp, gb_errmsg err)
{
    memset(resp, 0, sizeof(*resp));
    bool reads = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int64_t send_by = 0;
    if (!reads && fence.held && (fence.tripped || !fence.held(fence.ud, &send_by))) {
        fence.tripped = true;
        snprintf(err, PROV_ERR_MAX, "%s: %s %s not sent: the claim it was made under was lost",
                 a->name, method, path);
        return GB_ERR_HTTP;
    }
    char why[64];
    if (budget_take(a, why, sizeof(why)) != 0) {
        snprintf(err, PROV_ERR_MAX, "%s: request budget of %s exhausted", a->name, why);
        return GB_ERR_LIMIT;
    }
    const char *hdrs[16];
    char ctype[96] = "";
    int n = 0;
    for (const char *const *h = extra_headers; h && *h && n < 12; h++)
        hdrs[n++] = *h;
    hdrs[n++] = "Accept: application/json";
    if (body) {
        snprintf(ctype, sizeof(ctype), "Content-Type: %s",
                 content_type ? content_type : "application/json");
        hdrs[n++] = ctype;
    }
    hdrs[n++] = "User-Agent: gpubroker/" GPUBROKER_VERSION;
    hdrs[n] = NULL;
    char *url = gb_asprintf("%s%s", a->base_url, path);
    if (!url) return GB_ERR_NOMEM;
    /* keep-alive: reads reuse this thread's connection to the platform (no new TCP and TLS
     * handshake for every poll); the HTTP client keeps only a GET's or HEAD's, so a write
     * always goes on a connection of its own and is never re-sent by libcurl on a kept
     * connection that turns out dead (http_client.h) */
    gb_http_req req = {.method = method,
                       .url = url,
                       .headers = hdrs,
                       .body = body,
                       .body_len = body ? body_len : 0,
                       .keep_alive = 1,
                       .send_by_ms = send_by};
    gb_errmsg herr = "";
    int attempts = 0;
    int64_t t0 = gb_mono_ms();
    gb_err e = gb_http_do_retry(&req, &a->policy, idempotent, resp, herr, &attempts);
    if (e && resp->late) { /* paused past the fence's time after its check: not sent */
        fence.tripped = true;
        snprintf(err, PROV_ERR_MAX,
                 "%s: %s %s not sent: the claim it was made under had run out before it left",
                 a->name, method, path);
        e = GB_ERR_HTTP;
    } else if (e) {
        snprintf(err, PROV_ERR_MAX, "%s unreachable: %.300s (%s %s, %d attempt%s)", a->name, herr,
                 method, path, attempts, attempts == 1 ? "" : "s");
        if (e == GB_ERR_IO) e = GB_ERR_HTTP;
    }
    GB_DEBUG("prov", "%s %s %s -> %ld in %lld ms (%d attempts)", a->name, method, path,
             resp->status, (long long)(gb_mono_ms() - t0), attempts);
    free(url);
    return e;
}

gb_err prov_http(prov_adapter *a, const char *method, const char *path,
                 const char *const *extra_headers, const cJSON *body, bool idempotent,
                 gb_http_resp *resp, gb_errmsg err)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (body && !text) {
        memset(resp, 0, sizeof(*resp));
        return GB_ERR_NOMEM;
    }
    gb_err e = prov_http_raw(a, method, path, extra_headers, NULL, text, text ? strlen(text) : 0,
                             idempotent, resp, err);
    free(text);
    return e;
}

gb_err prov_parse_json(prov_adapter *a, const gb_http_resp *resp, cJSON **out, gb_errmsg err)
{
    *out = cJSON_ParseWithLength(resp->body ? resp->body : "", resp->body_len);
    if (!*out) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s (HTTP %ld, %zu bytes, not JSON)",
                 a->name, resp->status, resp->body_len);
        return GB_ERR_PROVIDER;
    }
    return GB_OK;
}

static const char *reason_of(const cJSON *j)
{
    static const char *keys[] = {"message", "reason", "detail", "error", "msg"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
        if (cJSON_IsString(v) && v->valuestring[0]) return v->valuestring;
        if (cJSON_IsObject(v)) {
            const char *inner = reason_of(v);
            if (inner) return inner;
        }
    }
    return NULL;
}

gb_err prov_status_error(prov_adapter *a, const gb_http_resp *resp, gb_errmsg err)
{
    cJSON *j = cJSON_ParseWithLength(resp->body ? resp->body : "", resp->body_len);
    const char *why = j ? reason_of(j) : NULL;
    char reason[300];
    snprintf(reason, sizeof(reason), "%s",
             why ? why : (resp->body_len ? "(no message)" : "(empty body)"));
    snprintf(err, PROV_ERR_MAX, "%s answered HTTP %ld: %s", a->name, resp->status, reason);
    cJSON_Delete(j);
    switch (resp->status) {
    case 400:
    case 422:
        return GB_ERR_INVALID;
    case 401:
    case 403:
        return GB_ERR_AUTH;
    case 402:
        return GB_ERR_PAYMENT;
    case 404:
        return GB_ERR_NOT_FOUND;
    case 409:
        return GB_ERR_CONFLICT;
    case 429:
        return GB_ERR_LIMIT; /* still rate limited after the retries */
    default:
        return GB_ERR_PROVIDER;
    }
}

void prov_sleep(prov_adapter *a, int64_t ms)
{
    /* after a fenced request nothing this call sends would go out: no pause before retries */
    if (fence.tripped) return;
    gb_http_policy_sleep(&a->policy, ms);
}
