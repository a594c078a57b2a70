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

/* POSTs body (or nothing) to path and parses the workload answer into out. GB_OK for a 2xx
 * workload with a uid; otherwise the error (err filled), *ambiguous when Targon may have acted
 * on the request anyway (no answer, a 5xx other than a capacity one, an unreadable 2xx) and
 * *in_flight when no answer came at all. */
static gb_err post_pod(prov_adapter *a, const char *path, const cJSON *body, prov_pod *out,
                       bool *ambiguous, bool *in_flight, long *status, char *err)
{
    cJSON *j = NULL;
    *status = 0;
    gb_err e = prov_call(a, "POST", path, body, false, &j, status, err);
    *in_flight = (e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT) && *status == 0;
    *ambiguous = e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT ||
                 (e && e != GB_ERR_CAPACITY && *status >= 500) ||
                 (e && *status >= 200 && *status < 300);
    if (!e) {
        prov_targon_parse_pod(j, out);
        if (!out->provider_id[0]) {
            snprintf(err, PROV_ERR_MAX, "malformed response from %s: workload without uid",
                     a->name);
            e = GB_ERR_PROVIDER;
            *ambiguous = true; /* acted on, but on which workload? */
        }
    }
    cJSON_Delete(j);
    return e;
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
    gb_err e = prov_targon_path(a, "workloads", "", path, err);
    if (e) return e;
    for (int attempt = 1;; attempt++) {
        bool ambiguous, in_flight;
        long status;
        /* No answer at all (timeout, connection lost): the request may still be in flight and
         * land after a lookup, so it is looked up but never sent again. */
        e = post_pod(a, path, body, out, &ambiguous, &in_flight, &status, err);
        in_flight = in_flight || e == GB_ERR_TIMEOUT || e == GB_ERR_HTTP;
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
        bool ambiguous, in_flight;
        long status;
        e = post_pod(a, path, NULL, out, &ambiguous, &in_flight, &status, err);
        if (!e) return GB_OK;
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

/* deploy_wl, and a refused deploy removes the registration so no idle workload keeps the
 * name. */
static gb_err deploy_refused_removes(prov_adapter *a, const prov_pod *reg, prov_pod *out, char *err)
{
    gb_err e = deploy_wl(a, reg, out, err);
    if (e == GB_ERR_CAPACITY || e == GB_ERR_INVALID || e == GB_ERR_PAYMENT ||
        e == GB_ERR_CONFLICT) {
        char derr[PROV_ERR_MAX], path[PROV_TARGON_PATH_MAX];
        gb_err de = prov_targon_uid_path(a, reg->provider_id, NULL, path, derr);
        if (!de) de = prov_call(a, "DELETE", path, NULL, true, NULL, NULL, derr);
        if (de == GB_ERR_NOT_FOUND) de = GB_OK;
        if (de)
            GB_WARN("prov", "%s: could not remove undeployed workload %s: %s", a->name,
                    reg->provider_id, derr);
    }
    return e;
}

gb_err prov_targon_finish_create(prov_adapter *a, prov_pod *pp, char *err)
{
    if (pp->status != POD_PENDING) return GB_OK; /* deployed already */
    prov_pod reg = *pp;
    GB_INFO("prov", "%s: %s was registered but never deployed; deploying it", a->name,
            reg.provider_id);
    return deploy_refused_removes(a, &reg, pp, err);
}

gb_err prov_targon_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err)
{
    cJSON *body = NULL, *uids = NULL;
    prov_pod reg;
    memset(out, 0, sizeof(*out));
    int version = prov_targon_version(a->settings, err);
    if (version < 0) return GB_ERR_INVALID;
    /* Everything but the keys is checked (a dry build with no keys) before any key upload. */
    cJSON *none = cJSON_CreateArray();
    if (!none) return GB_ERR_NOMEM;
    gb_err e = prov_targon_validate_options(req->options, err);
    if (!e) e = prov_targon_create_body(req, version, none, &body, err);
    cJSON_Delete(none);
    cJSON_Delete(body);
    body = NULL;
    if (e) return e;
    /* SSH keys: raw public keys are matched to the account's keys or uploaded, so the body
     * attaches uids only (Create Workload ssh_keys: []string, targon-sdk libs/go/workload.go). */
    const cJSON *opt_keys = cJSON_GetObjectItemCaseSensitive(req->options, "ssh_keys");
    if (req->nssh > 0 || cJSON_GetArraySize(opt_keys) > 0) {
        const char *lines[64];
        int n = 0;
        const cJSON *k;
        cJSON_ArrayForEach(k, opt_keys) if (n < 32 && cJSON_IsString(k)) lines[n++] =
            k->valuestring;
        for (int i = 0; i < req->nssh && n < 64; i++)
            lines[n++] = req->ssh_public_keys[i];
        if (!(uids = cJSON_CreateArray())) return GB_ERR_NOMEM;
        e = prov_targon_key_uids(a, lines, n, uids, err);
    }
    if (!e) e = prov_targon_create_body(req, version, uids, &body, err);
    cJSON_Delete(uids);
    if (!e) e = register_wl(a, req, body, &reg, err);
    cJSON_Delete(body);
    if (e) return e;
    e = deploy_refused_removes(a, &reg, out, err);
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
