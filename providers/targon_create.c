/* targon_create.c: the Targon adapter's create: register (POST workloads) then deploy, never
 * creating a workload twice: after an ambiguous failure (no answer, timeout, 5xx, unreadable
 * 2xx) it looks the workload up (by name, or by uid for deploy) before trying again. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/str.h"
#include "providers/targon.h"

#define CREATE_TRIES 3     /* register, and deploy, attempts */
#define RETRY_PAUSE_MS 500 /* between attempts after an ambiguous failure, times the attempt */

/* Classifies an exchange: GB_OK for a 2xx; otherwise the error (err filled) and *ambiguous
 * when Targon may have acted on the request anyway. */
static gb_err outcome(prov_adapter *a, gb_err e, const gb_http_resp *r, bool *ambiguous, char *err)
{
    *ambiguous = false;
    if (e) {
        *ambiguous = e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT;
        return e;
    }
    if (r->status >= 200 && r->status < 300) return GB_OK;
    e = prov_targon_answer_error(a, r, err);
    if (e != GB_ERR_CAPACITY && (r->status >= 500 || r->status == 0)) *ambiguous = true;
    return e;
}

/* Parses a 2xx workload answer; GB_ERR_PROVIDER when it is unreadable or has no uid. */
static gb_err parse_answer(prov_adapter *a, const gb_http_resp *r, prov_pod *out, char *err)
{
    cJSON *j = NULL;
    gb_err e = prov_parse_json(a, r, &j, err);
    if (e) return e;
    prov_targon_parse_pod(j, out);
    cJSON_Delete(j);
    if (!out->provider_id[0]) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: workload without uid", a->name);
        return GB_ERR_PROVIDER;
    }
    return GB_OK;
}

static void append_unknown(char *err, const char *what, const char *lookup_err)
{
    char first[PROV_ERR_MAX];
    gb_strlcpy(first, err, sizeof(first));
    snprintf(err, PROV_ERR_MAX, "%.220s; whether the workload was %s is unknown (%.200s)", first,
             what, lookup_err);
}

static gb_err register_wl(prov_adapter *a, const prov_create_req *req, const cJSON *body,
                          prov_pod *out, char *err)
{
    char path[PROV_TARGON_PATH_MAX];
    gb_err e = prov_targon_path(a->settings, "", path, sizeof(path), err);
    if (e) return e;
    for (int attempt = 1;; attempt++) {
        gb_http_resp r;
        bool ambiguous;
        gb_err sent = prov_targon_call(a, "POST", path, body, false, &r, err);
        /* No answer at all (timeout, connection lost): the request may still be in flight and
         * land after a lookup, so it is looked up but never sent again. */
        bool in_flight = sent == GB_ERR_TIMEOUT || sent == GB_ERR_HTTP;
        e = outcome(a, sent, &r, &ambiguous, err);
        if (!e) {
            e = parse_answer(a, &r, out, err);
            ambiguous = e != GB_OK; /* registered, but which uid? */
        }
        gb_http_resp_free(&r);
        if (!ambiguous) return e;
        char ferr[PROV_ERR_MAX];
        gb_err fe = prov_targon_ops.find_by_name(a, req->name, out, ferr);
        if (fe == GB_OK) {
            GB_INFO("prov", "%s: register of %s failed ambiguously; found it as %s", a->name,
                    req->name, out->provider_id);
            return GB_OK;
        }
        if (fe != GB_ERR_NOT_FOUND) {
            append_unknown(err, "registered", ferr);
            return e;
        }
        if (in_flight) {
            /* one more look after a pause, then give up rather than risk a second workload */
            prov_sleep(a, (int64_t)RETRY_PAUSE_MS * attempt);
            if (prov_targon_ops.find_by_name(a, req->name, out, ferr) == GB_OK) return GB_OK;
            append_unknown(err, "registered", "not found yet; not sent again");
            return e;
        }
        if (attempt >= CREATE_TRIES) return e;
        GB_WARN("prov", "%s: register of %s failed (%s) and it is not registered; retrying",
                a->name, req->name, err);
        prov_sleep(a, (int64_t)RETRY_PAUSE_MS * attempt);
    }
}

static gb_err deploy_wl(prov_adapter *a, const prov_pod *reg, prov_pod *out, char *err)
{
    char path[PROV_TARGON_PATH_MAX];
    *out = *reg;
    if (reg->status != POD_PENDING) return GB_OK; /* found after a crash: already deployed */
    gb_err e = prov_targon_uid_path(a, reg->provider_id, "/deploy", path, err);
    if (e) return e;
    for (int attempt = 1;; attempt++) {
        gb_http_resp r;
        bool ambiguous;
        e = outcome(a, prov_targon_call(a, "POST", path, NULL, false, &r, err), &r, &ambiguous,
                    err);
        long status = r.status;
        if (!e && parse_answer(a, &r, out, err) != GB_OK) ambiguous = true; /* deployed */
        gb_http_resp_free(&r);
        if (!e && !ambiguous) return GB_OK;
        /* A 409 may mean an earlier attempt did deploy it: look before giving up. */
        if (!ambiguous && !(e == GB_ERR_CONFLICT && status == 409)) return e;
        char gerr[PROV_ERR_MAX];
        prov_pod cur;
        gb_err ge = prov_targon_ops.get(a, reg->provider_id, &cur, gerr);
        if (ge == GB_OK && cur.status != POD_PENDING) {
            *out = cur;
            return GB_OK;
        }
        if (ge != GB_OK) {
            append_unknown(err, "deployed", gerr);
            return e ? e : GB_ERR_PROVIDER;
        }
        if (e == GB_ERR_CONFLICT || attempt >= CREATE_TRIES) return e ? e : GB_ERR_PROVIDER;
        GB_WARN("prov", "%s: deploy of %s failed (%s) and it is still registered; retrying",
                a->name, reg->provider_id, err);
        prov_sleep(a, (int64_t)RETRY_PAUSE_MS * attempt);
    }
}

gb_err prov_targon_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err)
{
    cJSON *body = NULL;
    prov_pod reg;
    memset(out, 0, sizeof(*out));
    gb_err e = prov_targon_validate_options(req->options, err);
    if (e || (e = prov_targon_create_body(req, &body, err))) return e;
    e = register_wl(a, req, body, &reg, err);
    cJSON_Delete(body);
    if (e) return e;
    e = deploy_wl(a, &reg, out, err);
    if (e == GB_ERR_CAPACITY || e == GB_ERR_INVALID || e == GB_ERR_PAYMENT ||
        e == GB_ERR_CONFLICT) {
        /* Deploy was refused: remove the registration so no idle workload keeps the name. */
        char derr[PROV_ERR_MAX], path[PROV_TARGON_PATH_MAX];
        gb_http_resp r = {0};
        gb_err de = prov_targon_uid_path(a, reg.provider_id, NULL, path, derr);
        if (!de) de = prov_targon_call(a, "DELETE", path, NULL, true, &r, derr);
        if (!de && (r.status < 200 || r.status >= 300) && r.status != 404)
            de = prov_targon_answer_error(a, &r, derr);
        gb_http_resp_free(&r);
        if (de)
            GB_WARN("prov", "%s: could not remove undeployed workload %s: %s", a->name,
                    reg.provider_id, derr);
        return e;
    }
    if (e) return e;
    if (!out->name[0]) gb_strlcpy(out->name, req->name, sizeof(out->name));
    if (!out->price_per_hour) out->price_per_hour = reg.price_per_hour;
    if (!out->gpu_type[0]) {
        gb_strlcpy(out->gpu_type, reg.gpu_type, sizeof(out->gpu_type));
        out->gpu_count = reg.gpu_count;
    }
    if (!out->created_at) out->created_at = reg.created_at;
    return GB_OK;
}
