/* volt_create.c: creating a pod through the Volt API: SSH keys and templates registered at
 * Volt, Lium-standard vs Targon bodies, live-price checks, and the rule that an ambiguous
 * failure is followed by a lookup by name, never a blind retry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/volt_int.h"

#define VOLT_CREATE_TRIES 3
#define VOLT_PUBKEY_MAX 16384

/* ---- SSH keys ---- */

/* Length of "type key-data" at the start of an OpenSSH public key line; 0 if malformed. */
static size_t key_core_len(const char *k)
{
    const char *sp = strchr(k, ' ');
    if (!sp || sp == k) return 0;
    const char *p = sp + 1;
    while (*p && *p != ' ' && *p != '\n' && *p != '\r')
        p++;
    return p > sp + 1 ? (size_t)(p - k) : 0;
}

static const char *match_key(const cJSON *list, const char *line)
{
    size_t core = key_core_len(line);
    const cJSON *it;
    cJSON_ArrayForEach(it, prov_volt_list_of(list, "ssh_keys"))
    {
        const char *pk = gb_jstr(it, "public_key");
        const char *id = gb_jstr(it, "id");
        if (pk && id && key_core_len(pk) == core && strncmp(pk, line, core) == 0) return id;
    }
    return NULL;
}

static gb_err add_id(cJSON *ids, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, ids) if (cJSON_IsString(it) &&
                                    strcmp(it->valuestring, id) == 0) return GB_OK;
    return cJSON_AddItemToArray(ids, cJSON_CreateString(id)) ? GB_OK : GB_ERR_NOMEM;
}

gb_err prov_volt_ensure_keys(prov_adapter *a, const char *const *lines, int n, const char *label,
                             cJSON *ids, char *err)
{
    cJSON *list = NULL;
    gb_err e = GB_OK;
    for (int i = 0; i < n; i++) {
        if (!lines[i] || strlen(lines[i]) > VOLT_PUBKEY_MAX || !key_core_len(lines[i])) {
            snprintf(err, PROV_ERR_MAX,
                     "%s: SSH public key %d is not an OpenSSH public key "
                     "line",
                     a->name, i + 1);
            e = GB_ERR_INVALID;
            goto done;
        }
    }
    if (n > 0 && (e = prov_volt_call(a, "GET", "/ssh-keys", NULL, true, &list, NULL, err)))
        goto done;
    for (int i = 0; i < n; i++) {
        const char *id = match_key(list, lines[i]);
        if (!id) {
            cJSON *body = cJSON_CreateObject(), *made = NULL;
            char name[129];
            snprintf(name, sizeof(name), "gpubroker-%.100s-%d", label ? label : "pod", i + 1);
            if (!body || !cJSON_AddStringToObject(body, "name", name) ||
                !cJSON_AddStringToObject(body, "public_key", lines[i])) {
                cJSON_Delete(body);
                e = GB_ERR_NOMEM;
                goto done;
            }
            e = prov_volt_call(a, "POST", "/ssh-keys", body, false, &made, NULL, err);
            cJSON_Delete(body);
            if (e == GB_OK && gb_jstr(made, "id")) {
                e = add_id(ids, gb_jstr(made, "id"));
                cJSON_Delete(made);
                if (e) goto done;
                continue;
            }
            cJSON_Delete(made);
            /* 409 (someone added it meanwhile) or an ambiguous failure: look again */
            if (e != GB_OK && e != GB_ERR_CONFLICT && e != GB_ERR_HTTP && e != GB_ERR_TIMEOUT &&
                e != GB_ERR_PROVIDER)
                goto done;
            char lerr[PROV_ERR_MAX];
            cJSON_Delete(list);
            list = NULL;
            if (prov_volt_call(a, "GET", "/ssh-keys", NULL, true, &list, NULL, lerr) ||
                !(id = match_key(list, lines[i]))) {
                if (e == GB_OK) {
                    snprintf(err, PROV_ERR_MAX,
                             "malformed response from %s: SSH key without "
                             "an id",
                             a->name);
                    e = GB_ERR_PROVIDER;
                }
                goto done;
            }
            e = GB_OK;
        }
        if ((e = add_id(ids, id))) goto done;
    }
done:
    cJSON_Delete(list);
    return e;
}

/* ---- templates ---- */

/* Volt's Lium-standard create takes a template, not an image. With only an image we use a
 * system or user template with that image (when no env or ports are asked for), else the one
 * we made for this pod name on an earlier try, else we create "gpubroker-<name>" with the
 * image, ports and env vars (deleted again with the pod, see volt_cleanup.c). */
static gb_err ensure_template(prov_adapter *a, const prov_create_req *req, char *tid, size_t n,
                              char *err)
{
    char tname[129];
    prov_volt_template_name(req->name, tname, sizeof(tname));
    bool custom = req->nenv > 0 || req->nports > 0;
    cJSON *list = NULL, *body = NULL, *made = NULL;
    gb_err e;
    for (int pass = 0; pass < 2; pass++) {
        if ((e = prov_volt_call(a, "GET", "/templates", NULL, true, &list, NULL, err))) goto done;
        const cJSON *it;
        cJSON_ArrayForEach(it, prov_volt_list_of(list, "templates"))
        {
            const char *img = gb_jstr(it, "image"), *nm = gb_jstr(it, "name");
            const char *id = gb_jstr(it, "id");
            if (!img || !id || strcmp(img, req->image) != 0 || !prov_volt_id_ok(id)) continue;
            /* the broker's templates belong to one pod each (deleted with it): only ours */
            bool broker = nm && strncmp(nm, "gpubroker-", 10) == 0;
            if ((!custom && !broker) || (nm && strcmp(nm, tname) == 0)) {
                gb_strlcpy(tid, id, n);
                goto done;
            }
        }
        cJSON_Delete(list);
        list = NULL;
        if (pass == 1) break;
        if (req->registry_username || req->registry_password) {
            snprintf(err, PROV_ERR_MAX,
                     "%s: private registry credentials are not supported "
                     "yet; create a Volt template with a docker credential and pass its "
                     "template_id",
                     a->name);
            e = GB_ERR_INVALID;
            goto done;
        }
        body = cJSON_CreateObject();
        cJSON *ports = body ? cJSON_AddArrayToObject(body, "ports") : NULL;
        cJSON *env = body ? cJSON_AddObjectToObject(body, "env_vars") : NULL;
        if (!ports || !env || !cJSON_AddStringToObject(body, "name", tname) ||
            !cJSON_AddStringToObject(body, "image", req->image) ||
            !cJSON_AddStringToObject(body, "category", "custom") ||
            !cJSON_AddStringToObject(body, "description", "Created by gpubroker")) {
            e = GB_ERR_NOMEM;
            goto done;
        }
        for (int i = 0; i < req->nports; i++)
            cJSON_AddItemToArray(ports, cJSON_CreateNumber(req->ports[i]));
        for (int i = 0; i < req->nenv; i++) {
            const char *eq = req->env[i] ? strchr(req->env[i], '=') : NULL;
            char key[129];
            if (!eq || eq == req->env[i] || (size_t)(eq - req->env[i]) >= sizeof(key)) {
                snprintf(err, PROV_ERR_MAX, "%s: env entry %d must be NAME=value", a->name, i + 1);
                e = GB_ERR_INVALID;
                goto done;
            }
            gb_strlcpy(key, req->env[i], (size_t)(eq - req->env[i]) + 1);
            cJSON_AddStringToObject(env, key, eq + 1);
        }
        e = prov_volt_call(a, "POST", "/templates", body, false, &made, NULL, err);
        const char *id = made ? gb_jstr(made, "id") : NULL;
        if (e == GB_OK && id && prov_volt_id_ok(id)) {
            gb_strlcpy(tid, id, n);
            goto done;
        }
        if (e != GB_OK && e != GB_ERR_HTTP && e != GB_ERR_TIMEOUT && e != GB_ERR_PROVIDER)
            goto done;
        custom = true; /* ambiguous: look for the one we may have made */
    }
    snprintf(err, PROV_ERR_MAX, "%s: could not create a template for image %.200s", a->name,
             req->image);
    e = GB_ERR_PROVIDER;
done:
    cJSON_Delete(list);
    cJSON_Delete(body);
    cJSON_Delete(made);
    return e;
}

/* ---- the machine behind an offer ---- */

typedef struct {
    bool targon;
    char gpu_type[32];
    gb_money per_gpu;
} volt_machine;

static bool machine_is_targon(const cJSON *m)
{
    const char *p = gb_jstr(m, "provider");
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "confidential")) ||
           (p && gb_str_ieq(p, "targon"));
}

/* Finds machine id (or, with id NULL, a Targon machine of gpu_type) in GET /machines. */
static gb_err find_machine(prov_adapter *a, const char *id, const char *gpu_type, volt_machine *out,
                           char *err)
{
    cJSON *j = NULL;
    gb_err e = prov_volt_call(a, "GET", "/machines", NULL, true, &j, NULL, err);
    if (e) return e;
    e = GB_ERR_CAPACITY;
    const cJSON *it;
    cJSON_ArrayForEach(it, prov_volt_list_of(j, "machines"))
    {
        const char *mid = gb_jstr(it, "id"), *gt = gb_jstr(it, "gpu_type");
        const cJSON *price = cJSON_GetObjectItemCaseSensitive(it, "cost_per_gpu_hour");
        memset(out, 0, sizeof(*out));
        gpu_normalize(gt ? gt : "", out->gpu_type, NULL);
        out->targon = machine_is_targon(it);
        if (id ? !(mid && strcmp(mid, id) == 0)
               : !(out->targon && strcmp(out->gpu_type, gpu_type) == 0))
            continue;
        if (!cJSON_IsNumber(price) || gb_money_from_double(price->valuedouble, &out->per_gpu))
            out->per_gpu = 0;
        e = GB_OK;
        break;
    }
    if (e)
        snprintf(err, PROV_ERR_MAX, "%s: %s%.100s is not offered any more", a->name,
                 id ? "machine " : "no Targon machine for ", id ? id : gpu_type);
    cJSON_Delete(j);
    return e;
}

/* Targon sizes: small 1 GPU, medium 2, large 4, xl 8. */
static const struct {
    const char *suffix;
    int gpus;
} SIZES[] = {{"small", 1}, {"medium", 2}, {"large", 4}, {"xl", 8}};

static int resource_gpus(const char *res)
{
    const char *dash = strrchr(res, '-');
    for (size_t i = 0; dash && i < GB_ARRAY_LEN(SIZES); i++)
        if (strcmp(dash + 1, SIZES[i].suffix) == 0) return SIZES[i].gpus;
    return 0;
}

static gb_err price_check(prov_adapter *a, gb_money live, gb_money max, char *err)
{
    if (max <= 0 || live <= max) return GB_OK;
    char l[32], m[32];
    snprintf(err, PROV_ERR_MAX, "%s: price changed: $%s/hour now, above the limit $%s/hour",
             a->name, gb_money_format(live, l, sizeof(l)), gb_money_format(max, m, sizeof(m)));
    return GB_ERR_CONFLICT;
}

/* The Targon part of the create body: resource_name, image, cost_per_hour. */
static gb_err targon_body(prov_adapter *a, const prov_create_req *req, int gpus, cJSON *body,
                          const volt_machine *mach, char *err)
{
    const cJSON *o = req->options;
    const char *res = o ? gb_jstr(o, "resource_name") : NULL;
    char resbuf[64], lower[32];
    gb_money cost = 0;
    if (!res) {
        size_t i = 0;
        while (i < GB_ARRAY_LEN(SIZES) && SIZES[i].gpus != gpus)
            i++;
        if (!mach || i == GB_ARRAY_LEN(SIZES)) {
            snprintf(err, PROV_ERR_MAX,
                     "%s: a Targon pod needs provider_options.resource_name "
                     "(or a Targon machine offer and 1, 2, 4 or 8 GPUs)",
                     a->name);
            return GB_ERR_INVALID;
        }
        size_t k = 0;
        for (; mach->gpu_type[k] && k + 1 < sizeof(lower); k++)
            lower[k] =
                (char)(mach->gpu_type[k] >= 'A' && mach->gpu_type[k] <= 'Z' ? mach->gpu_type[k] + 32
                                                                            : mach->gpu_type[k]);
        lower[k] = '\0';
        snprintf(resbuf, sizeof(resbuf), "%s-%s", lower, SIZES[i].suffix);
        res = resbuf;
    }
    if (!req->image || !req->image[0]) {
        snprintf(err, PROV_ERR_MAX, "%s: a Targon pod needs an image", a->name);
        return GB_ERR_INVALID;
    }
    if (req->nenv > 0 || req->nports > 0) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: Targon pods created through Volt take no env or "
                 "ports",
                 a->name);
        return GB_ERR_INVALID;
    }
    if (!o || gb_json_money(o, "cost_per_hour", 1, GB_MONEY_MAX, false, &cost, NULL) != GB_OK) {
        int rg = resource_gpus(res);
        if (mach && mach->per_gpu > 0 && rg > 0)
            cost = mach->per_gpu * rg;
        else if (req->max_price_per_hour > 0)
            cost = req->max_price_per_hour;
        else {
            snprintf(err, PROV_ERR_MAX,
                     "%s: a Targon pod needs provider_options.cost_per_hour "
                     "(the live price could not be found)",
                     a->name);
            return GB_ERR_INVALID;
        }
        gb_err e = price_check(a, cost, req->max_price_per_hour, err);
        if (e) return e;
    }
    if (!cJSON_AddStringToObject(body, "provider", "targon") ||
        !cJSON_AddStringToObject(body, "resource_name", res) ||
        !cJSON_AddStringToObject(body, "image", req->image) ||
        !cJSON_AddNumberToObject(body, "cost_per_hour", (double)cost / 1e6))
        return GB_ERR_NOMEM;
    return GB_OK;
}

/* ---- create ---- */

static bool ambiguous(gb_err e, long status)
{
    return e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT ||
           (e == GB_ERR_PROVIDER && (status >= 500 || (status >= 200 && status < 300)));
}

/* POST /pods without ever creating twice. After an ambiguous failure the pod is looked up by
 * its name. The POST is tried again (at most VOLT_CREATE_TRIES in all) only when Volt answered
 * with a 5xx and the pod does not exist; after a transport failure (timeout, dropped or cut
 * answer) the request may still be in flight at Volt, so the adapter looks twice and then
 * reports the failure instead of posting again (a late pod is found by its name later). */
static gb_err post_pod(prov_adapter *a, const char *name, const cJSON *body, prov_pod *out,
                       char *err)
{
    gb_err e = GB_OK;
    int64_t delay = a->policy.base_delay_ms > 0 ? a->policy.base_delay_ms : 250;
    for (int attempt = 0; attempt < VOLT_CREATE_TRIES; attempt++, delay *= 2) {
        if (attempt) prov_sleep(a, delay);
        cJSON *j = NULL;
        long status = 0;
        e = prov_volt_call(a, "POST", "/pods", body, false, &j, &status, err);
        if (e == GB_OK) {
            int bad = prov_volt_parse_pod(j, out);
            cJSON_Delete(j);
            if (!bad) return GB_OK;
            snprintf(err, PROV_ERR_MAX, "malformed response from %s: created pod without an id",
                     a->name);
            e = GB_ERR_PROVIDER;
        }
        if (e == GB_ERR_NOT_FOUND) {
            size_t l = strlen(err);
            snprintf(err + l, PROV_ERR_MAX - l, " (the machine is not offered any more)");
            return GB_ERR_CAPACITY;
        }
        if (!ambiguous(e, status)) return e;
        char ferr[PROV_ERR_MAX];
        gb_err fe = prov_volt_find_by_name(a, name, out, ferr);
        if (fe == GB_ERR_NOT_FOUND && status == 0) { /* maybe still in flight: look again */
            prov_sleep(a, delay);
            fe = prov_volt_find_by_name(a, name, out, ferr);
        }
        if (fe == GB_OK) return GB_OK;
        size_t l = strlen(err);
        if (fe != GB_ERR_NOT_FOUND) {
            snprintf(err + l, PROV_ERR_MAX - l,
                     "; not retried: looking the pod up by name failed too (%.200s)", ferr);
            return e;
        }
        if (status < 500) {
            snprintf(err + l, PROV_ERR_MAX - l,
                     "; no pod named '%.64s' yet, not retried to avoid a duplicate", name);
            return e;
        }
    }
    return e;
}

gb_err prov_volt_precheck(const prov_create_req *req, char *err)
{
    /* Volt's pod API takes no registry auth: only a Volt template with a docker credential
     * at Volt pulls privately (provider_options.template_id). Refused, never dropped. */
    const cJSON *o = req->options;
    if (!(req->registry_username || req->registry_password) ||
        (o && cJSON_GetObjectItemCaseSensitive(o, "template_id")))
        return GB_OK;
    snprintf(err, PROV_ERR_MAX,
             "private registry credentials cannot be passed to Volt pods; create a Volt template "
             "with a docker credential and pass its template_id in provider_options");
    return GB_ERR_INVALID;
}

gb_err prov_volt_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err)
{
    memset(out, 0, sizeof(*out));
    const cJSON *o = req->options;
    gb_err e = prov_volt_validate_options(o, err);
    if (e) return e;
    int gpus = req->gpu_count > 0 ? req->gpu_count : 1;
    if (!req->name || !req->name[0] || strlen(req->name) > 128 || gpus > 64) {
        snprintf(err, PROV_ERR_MAX, "%s: %s", a->name,
                 gpus > 64 ? "gpu_count must be at most 64" : "a pod name (1-128 chars) is needed");
        return GB_ERR_INVALID;
    }
    gb_errmsg why;
    if (prov_volt_precheck(req, why)) {
        snprintf(err, PROV_ERR_MAX, "%s: %.440s", a->name, why);
        return GB_ERR_INVALID;
    }
    const char *prov = o ? gb_jstr(o, "provider") : NULL;
    const char *res = o ? gb_jstr(o, "resource_name") : NULL;
    bool targon = prov && strcmp(prov, "targon") == 0;
    bool has_cost = o && cJSON_GetObjectItemCaseSensitive(o, "cost_per_hour");
    volt_machine mach = {0};
    bool have_mach = false, own_template = false;
    cJSON *body = cJSON_CreateObject();
    if (!body || !cJSON_AddStringToObject(body, "name", req->name)) {
        e = GB_ERR_NOMEM;
        goto done;
    }
    if (req->offer_id && req->offer_id[0] && !(targon && res && has_cost)) {
        if ((e = find_machine(a, req->offer_id, NULL, &mach, err))) goto done;
        have_mach = true;
        if (mach.targon) targon = true;
    } else if (targon && res && !has_cost) {
        char gt[32];
        gpu_normalize(res, gt, NULL);
        have_mach = find_machine(a, NULL, gt, &mach, err) == GB_OK;
    }
    if (!targon && !(req->offer_id && req->offer_id[0])) {
        snprintf(err, PROV_ERR_MAX, "%s: offer_id (a Volt machine id) is required", a->name);
        e = GB_ERR_INVALID;
        goto done;
    }
    if (targon) {
        if ((e = targon_body(a, req, gpus, body, have_mach ? &mach : NULL, err))) goto done;
    } else {
        char tid[64] = "";
        const char *t =
            req->template_id ? req->template_id : (o ? gb_jstr(o, "template_id") : NULL);
        if ((e = price_check(a, mach.per_gpu * gpus, req->max_price_per_hour, err))) goto done;
        if (t)
            gb_strlcpy(tid, t, sizeof(tid));
        else if (!req->image || !req->image[0]) {
            snprintf(err, PROV_ERR_MAX, "%s: an image or a template_id is needed", a->name);
            e = GB_ERR_INVALID;
            goto done;
        } else if ((e = ensure_template(a, req, tid, sizeof(tid), err))) {
            goto done;
        } else {
            own_template = true;
        }
        int64_t vol = req->volume_size_gb;
        if (vol <= 0 && o) gb_json_int(o, "volume_size_gb", 1, 100000, false, &vol, NULL);
        if (!cJSON_AddStringToObject(body, "machine_id", req->offer_id) ||
            !cJSON_AddStringToObject(body, "template_id", tid) ||
            !cJSON_AddNumberToObject(body, "gpu_count", gpus) ||
            (vol > 0 && !cJSON_AddNumberToObject(body, "volume_size_gb", (double)vol))) {
            e = GB_ERR_NOMEM;
            goto done;
        }
    }
    cJSON *ids = cJSON_CreateArray();
    if (!ids || !cJSON_AddItemToObject(body, "ssh_key_ids", ids)) {
        cJSON_Delete(ids);
        e = GB_ERR_NOMEM;
        goto done;
    }
    const cJSON *given = o ? cJSON_GetObjectItemCaseSensitive(o, "ssh_key_ids") : NULL, *it;
    cJSON_ArrayForEach(it, given)
    {
        if ((e = add_id(ids, it->valuestring))) goto done;
    }
    if ((e = prov_volt_ensure_keys(a, req->ssh_public_keys, req->nssh, req->name, ids, err)))
        goto done;
    if (cJSON_GetArraySize(ids) == 0) cJSON_DeleteItemFromObject(body, "ssh_key_ids");
    e = post_pod(a, req->name, body, out, err);
    /* a create refused for sure (no capacity, a price, a limit) leaves no pod to delete the
     * template with: it goes now, or every failed try leaves one at the account (Volt's
     * simulator refuses the 257th; the three-broker test ran into it). After an ambiguous
     * failure the pod may exist: its template stays for the delete's cleanup. */
    if (e && own_template &&
        (e == GB_ERR_CAPACITY || e == GB_ERR_CONFLICT || e == GB_ERR_INVALID ||
         e == GB_ERR_PAYMENT || e == GB_ERR_LIMIT || e == GB_ERR_FORBIDDEN))
        prov_volt_drop_template(a, req->name);
    if (e == GB_OK) {
        if (!out->name[0]) gb_strlcpy(out->name, req->name, sizeof(out->name));
        if (!out->gpu_count) out->gpu_count = gpus;
        if (!out->gpu_type[0] && have_mach) gb_strlcpy(out->gpu_type, mach.gpu_type, 32);
        if (!out->price_per_hour && have_mach) out->price_per_hour = mach.per_gpu * gpus;
    }
done:
    cJSON_Delete(body);
    return e;
}
