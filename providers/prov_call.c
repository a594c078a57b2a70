/* prov_call.c: the one call path of every adapter: the secret check, the platform's auth
 * header (ops->auth), one retry with fresh auth after a 401, error mapping (ops->error) and
 * parsing of the answer. Adapters differ only in those two ops entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/str.h"
#include "providers/provider.h"

#define SECRET_MAX 8192

static void wipe_free(char *s)
{
    if (!s) return;
    gb_memzero(s, strlen(s));
    free(s);
}

char *prov_auth_line(const char *header, const char *value)
{
    return gb_asprintf("%s: %s", header, value);
}

gb_err prov_auth_bearer(prov_adapter *a, const char *rejected, char **hdr, gb_errmsg err)
{
    *hdr = NULL;
    if (rejected) {
        snprintf(err, PROV_ERR_MAX, "%s refused the API key", a->name);
        return GB_ERR_AUTH;
    }
    *hdr = gb_asprintf("Authorization: Bearer %s", a->secret);
    return *hdr ? GB_OK : GB_ERR_NOMEM;
}

/* A CR/LF in a secret would forge headers; an empty or huge one is a configuration error. */
static gb_err check_secret(prov_adapter *a, char *err)
{
    size_t n = strlen(a->secret);
    bool ctl = false;
    for (size_t i = 0; i < n && !ctl; i++)
        ctl = (unsigned char)a->secret[i] < 0x20 || a->secret[i] == 0x7f;
    if (n > 0 && n <= SECRET_MAX && !ctl) return GB_OK;
    snprintf(err, PROV_ERR_MAX, "%s: the credentials are %s", a->name,
             ctl ? "not printable (control characters)"
             : n ? "too long"
                 : "empty");
    return GB_ERR_AUTH;
}

static gb_err answer_error(prov_adapter *a, const gb_http_resp *r, char *err)
{
    return a->ops->error ? a->ops->error(a, r, err) : prov_status_error(a, r, err);
}

/* Sends once, and once more with fresh auth after a 401. *r holds the last answer, if any
 * (also on failure: the caller frees it). */
static gb_err exchange(prov_adapter *a, const char *method, const char *path,
                       const char *content_type, const char *body, size_t body_len, bool idempotent,
                       gb_http_resp *r, char *err)
{
    memset(r, 0, sizeof(*r));
    gb_err e = check_secret(a, err);
    if (e) return e;
    if (!a->ops->auth) {
        snprintf(err, PROV_ERR_MAX, "%s: adapter has no auth", a->name);
        return GB_ERR_INTERNAL;
    }
    char *refused = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *hdr = NULL;
        e = a->ops->auth(a, refused, &hdr, err);
        if (e) {
            /* after a 401 a static key cannot be renewed: report the platform's answer */
            if (refused && e == GB_ERR_AUTH && r->status == 401) e = answer_error(a, r, err);
            break;
        }
        /* the request id of the API request this call serves, if any (common/log.h) */
        char rid[GB_REQUEST_ID_MAX + 16] = "";
        if (gb_request_id()) snprintf(rid, sizeof(rid), "X-Request-Id: %s", gb_request_id());
        const char *const hdrs[] = {hdr, rid[0] ? rid : NULL, NULL};
        gb_http_resp_free(r);
        e = prov_http_raw(a, method, path, hdrs, content_type, body, body_len, idempotent, r, err);
        if (e || r->status != 401 || attempt == 1) {
            wipe_free(hdr);
            break;
        }
        wipe_free(refused);
        refused = hdr; /* expired or revoked: ask once for a fresh one */
    }
    wipe_free(refused);
    return e;
}

static prov_call_hook_fn g_hook;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void prov_set_call_hook(prov_call_hook_fn fn)
{
    __atomic_store_n(&g_hook, fn, __ATOMIC_RELEASE);
}

gb_err prov_call_raw(prov_adapter *a, const char *method, const char *path,
                     const char *content_type, const char *body, size_t body_len, bool idempotent,
                     gb_http_resp *resp, long *status, gb_errmsg err)
{
    int64_t t0 = mono_us();
    gb_err e = exchange(a, method, path, content_type, body, body_len, idempotent, resp, err);
    if (status) *status = resp->status;
    bool ok = !e && resp->status >= 200 && resp->status <= 299;
    if (!e && !ok) e = answer_error(a, resp, err);
    prov_call_hook_fn hook = __atomic_load_n(&g_hook, __ATOMIC_ACQUIRE);
    if (hook)
        hook(a->ops->kind, method, resp->status, ok ? GB_OK : e ? e : GB_ERR_HTTP, mono_us() - t0);
    if (ok) return GB_OK;
    gb_http_resp_free(resp);
    memset(resp, 0, sizeof(*resp));
    return e;
}

gb_err prov_call(prov_adapter *a, const char *method, const char *path, const cJSON *body,
                 bool idempotent, cJSON **out, long *status, gb_errmsg err)
{
    if (out) *out = NULL;
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (body && !text) return GB_ERR_NOMEM;
    gb_http_resp r;
    gb_err e = prov_call_raw(a, method, path, NULL, text, text ? strlen(text) : 0, idempotent, &r,
                             status, err);
    free(text);
    if (e) return e;
    if (out && r.status != 204 && r.body_len > 0) e = prov_parse_json(a, &r, out, err);
    gb_http_resp_free(&r);
    return e;
}
