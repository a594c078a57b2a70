/* lium_create.c: creating a Lium pod: check the request against the executor (Lium rents
 * whole executors), pick or make a template, then POST /executors/{id}/rent without ever
 * renting twice: after an ambiguous failure the pod is looked up by name before any retry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/str.h"
#include "providers/lium.h"

#define RENT_ATTEMPTS 3
#define RENT_BACKOFF_MS 1000
#define PUBKEY_MAX 8192

static gb_err invalid(char *err, const char *msg)
{
    snprintf(err, PROV_ERR_MAX, "%s", msg);
    return GB_ERR_INVALID;
}

static bool printable(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

gb_err prov_lium_precheck(const prov_create_req *req, char *err)
{
    if (req->nssh < 1 || req->nssh > PROV_LIUM_MAX_KEYS)
        return invalid(err, "ssh_public_keys: lium needs 1 to 16 SSH public keys");
    if (req->registry_username || req->registry_password)
        return invalid(err, "registry_username: lium templates take public images only");
    return GB_OK;
}

/* What can be refused before any request. */
static gb_err check_request(const prov_create_req *req, char *err)
{
    gb_err e = prov_lium_validate_options(req->options, err);
    if (e) return e;
    if (!printable(req->name, PROV_LIUM_NAME_MAX))
        return invalid(err, "name: 1-128 printable characters required");
    if (!prov_lium_id_ok(req->offer_id)) return invalid(err, "offer_id: not a Lium executor id");
    if (req->template_id && !prov_lium_id_ok(req->template_id))
        return invalid(err, "template_id: not a Lium template id");
    if (!req->template_id && !cJSON_GetObjectItemCaseSensitive(req->options, "template_id") &&
        !(req->image && req->image[0]))
        return invalid(err, "image: required (or template_id)");
    if (req->gpu_count < 0) return invalid(err, "gpu_count: must not be negative");
    gb_err pe = prov_lium_precheck(req, err);
    if (pe) return pe;
    for (int i = 0; i < req->nssh; i++) {
        if (!printable(req->ssh_public_keys[i], PUBKEY_MAX)) {
            snprintf(err, PROV_ERR_MAX, "ssh_public_keys[%d]: not a public key line", i);
            return GB_ERR_INVALID;
        }
    }
    return GB_OK;
}

/* Finds the executor in GET /executors and checks gpu_count and the price cap against it. */
static gb_err check_executor(prov_adapter *a, const prov_create_req *req, prov_offer *o, char *err)
{
    cJSON *j = NULL;
    gb_err e = prov_call(a, "GET", PROV_LIUM_EXECUTORS, NULL, true, &j, NULL, err);
    if (e) return e;
    const cJSON *x, *found = NULL;
    cJSON_ArrayForEach(x, prov_lium_list_items(j, "executors"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(x, "id");
        if (cJSON_IsString(id) && strcmp(id->valuestring, req->offer_id) == 0) {
            found = x;
            break;
        }
    }
    char have[32], cap[32];
    if (!found) {
        snprintf(err, PROV_ERR_MAX, "%s: executor %s is not offered (rented or gone)", a->name,
                 req->offer_id);
        e = GB_ERR_CAPACITY;
    } else if (prov_lium_offer_from_json(a, found, o) != 0) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: executor %s lacks GPUs or price",
                 a->name, req->offer_id);
        e = GB_ERR_PROVIDER;
    } else if (req->gpu_count != 0 && req->gpu_count != o->gpu_count) {
        snprintf(err, PROV_ERR_MAX,
                 "gpu_count: lium rents whole executors; executor %s has %d GPUs, not %d",
                 req->offer_id, o->gpu_count, req->gpu_count);
        e = GB_ERR_INVALID;
    } else if (req->max_price_per_hour > 0 && o->price_per_hour > req->max_price_per_hour) {
        snprintf(err, PROV_ERR_MAX, "%s: executor %s costs $%s/h, over max_price_per_hour $%s",
                 a->name, req->offer_id, gb_money_format(o->price_per_hour, have, sizeof(have)),
                 gb_money_format(req->max_price_per_hour, cap, sizeof(cap)));
        e = GB_ERR_CAPACITY;
    }
    cJSON_Delete(j);
    return e;
}

static cJSON *rent_body(const prov_create_req *req, const char *tid)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "pod_name", req->name);
    cJSON_AddStringToObject(b, "template_id", tid);
    cJSON *keys = cJSON_AddArrayToObject(b, "user_public_key");
    for (int i = 0; i < req->nssh; i++)
        cJSON_AddItemToArray(keys, cJSON_CreateString(req->ssh_public_keys[i]));
    const cJSON *v;
    cJSON_ArrayForEach(v, req->options)
    {
        if (strcmp(v->string, "template_id") != 0)
            cJSON_AddItemToObject(b, v->string, cJSON_Duplicate(v, 1));
    }
    return b;
}

/* Case-insensitive substring test. */
static bool has_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (; s && *s; s++)
        if (strncasecmp(s, w, n) == 0) return true;
    return false;
}

/* Lium's answers for an executor that cannot be rented now: 404 (gone), 409/410, or a 400
 * whose detail says it is not available. */
static bool capacity_answer(long status, const char *err)
{
    if (status == 404 || status == 409 || status == 410) return true;
    return status == 400 && (has_word(err, "not available") || has_word(err, "unavailable") ||
                             has_word(err, "already rented") || has_word(err, "no capacity"));
}

/* After a failure that may hide a rented pod: GB_OK with out when the pod exists. */
static gb_err look_up(prov_adapter *a, const char *name, prov_pod *out, char *err)
{
    char lerr[PROV_ERR_MAX];
    gb_err e = prov_lium_find_by_name(a, name, out, lerr);
    if (e != GB_OK && e != GB_ERR_NOT_FOUND) {
        size_t n = strlen(err);
        snprintf(err + n, PROV_ERR_MAX - n, "; and the pod could not be looked up: %s", lerr);
    }
    return e;
}

static gb_err rent(prov_adapter *a, const prov_create_req *req, const cJSON *body, prov_pod *out,
                   char *err)
{
    char path[128];
    snprintf(path, sizeof(path), "/executors/%s/rent", req->offer_id);
    bool ambiguous_before = false;
    gb_err e = GB_ERR_PROVIDER;
    for (int attempt = 0; attempt < RENT_ATTEMPTS; attempt++) {
        if (attempt > 0) prov_sleep(a, (int64_t)RENT_BACKOFF_MS << (attempt - 1));
        cJSON *j = NULL;
        long status = 0;
        e = prov_call(a, "POST", path, body, false, &j, &status, err);
        if (e == GB_OK) {
            int rc = prov_lium_pod_from_json(j, out);
            cJSON_Delete(j);
            if (rc == 0) return GB_OK;
        }
        if (status >= 200 && status < 300) {
            /* accepted, but no pod id in the answer (the SDK allows this): find it by name */
            if (e == GB_OK)
                snprintf(err, PROV_ERR_MAX, "%s: rent accepted without a pod id", a->name);
            gb_err le = look_up(a, req->name, out, err);
            if (le == GB_OK) return GB_OK;
            if (le == GB_ERR_NOT_FOUND) {
                size_t n = strlen(err);
                snprintf(err + n, PROV_ERR_MAX - n, "; and no pod is named '%s'", req->name);
                return GB_ERR_PROVIDER;
            }
            return le;
        }
        bool ambiguous = e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT || status >= 500;
        if (!ambiguous) {
            if (e != GB_OK && status && capacity_answer(status, err)) {
                e = GB_ERR_CAPACITY;
                /* a retry refused because our own earlier attempt got the executor */
                if (ambiguous_before && look_up(a, req->name, out, err) == GB_OK) return GB_OK;
            }
            return e;
        }
        ambiguous_before = true;
        gb_err le = look_up(a, req->name, out, err);
        if (le == GB_OK) return GB_OK;
        if (le != GB_ERR_NOT_FOUND) return e; /* unknown outcome: never rent blind */
    }
    return e;
}

gb_err prov_lium_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err)
{
    memset(out, 0, sizeof(*out));
    prov_offer o;
    cJSON *body = NULL;
    gb_err e = check_request(req, err);
    if (e) return e;
    if ((e = check_executor(a, req, &o, err)) != GB_OK) return e;
    char tid[PROV_LIUM_ID_MAX + 1];
    bool ours = false; /* the pod's own one-time template, made here */
    const cJSON *opt_tid = cJSON_GetObjectItemCaseSensitive(req->options, "template_id");
    if (req->template_id)
        gb_strlcpy(tid, req->template_id, sizeof(tid));
    else if (cJSON_IsString(opt_tid))
        gb_strlcpy(tid, opt_tid->valuestring, sizeof(tid));
    else if ((e = prov_lium_ensure_template(a, req, tid, err)) != GB_OK)
        return e;
    else
        ours = true;
    body = rent_body(req, tid);
    if (!body) {
        if (ours) prov_lium_template_delete(a, tid);
        return GB_ERR_NOMEM;
    }
    e = rent(a, req, body, out, err);
    cJSON_Delete(body);
    /* no pod got it (a refused rent, not an unknown outcome): a one-time template goes only
     * with its pod, so ours is deleted here */
    if (e && ours && e != GB_ERR_HTTP && e != GB_ERR_TIMEOUT && e != GB_ERR_PROVIDER)
        prov_lium_template_delete(a, tid);
    if (e) return e;
    /* what a sparse answer leaves out, the executor knows */
    if (!out->gpu_type[0]) gb_strlcpy(out->gpu_type, o.gpu_type, sizeof(out->gpu_type));
    if (out->gpu_count <= 0) out->gpu_count = o.gpu_count;
    if (out->price_per_hour <= 0) out->price_per_hour = o.price_per_hour;
    if (!out->name[0]) gb_strlcpy(out->name, req->name, sizeof(out->name));
    return GB_OK;
}
