/* pod_create.c: POST /api/volt/pods. Resolves the provider and offer (a Volt machine_id from
 * /api/volt/machines, "provider":"targon" with resource_name, or any registered provider by
 * name), the image (template or image), SSH keys and registry credentials, creates the
 * workload at the provider and only then records the pod, so a failure leaves no record.
 * "dry_run": true answers the plan (offer, price per hour with the margin, the cost of
 * "hours", whether the money guards admit it) and writes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/placement/offers.h"
#include "broker/api/pod_api.h"
#include "broker/api/pod_create.h"
#include "broker/placement/placement.h"
#include "broker/core/intents.h"
#include "broker/core/meter.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"

void pod_ctx_free(create_ctx *c)
{
    template_rec_clear(&c->tpl);
    for (int i = 0; i < c->nkeys; i++)
        free(c->pubkeys[i]);
    for (int i = 0; i < c->nenv; i++)
        free(c->env[i]);
    vault_secret_free(c->reg_pass, c->reg_pass_len);
    cJSON_Delete(c->key_ids);
}

static int add_env(create_ctx *c, const char *k, const char *v, char *err)
{
    if (c->nenv >= MAX_ENV) {
        gb_snprintf(err, GB_JSON_ERR_MAX, "field 'env' has too many variables (at most %d)",
                    MAX_ENV);
        return -1;
    }
    c->env[c->nenv] = gb_asprintf("%s=%s", k, v);
    return c->env[c->nenv++] ? 0 : -1;
}

/* env object {"K":"V"} (from a template's stored JSON or the request) into c->env. */
static int take_env(create_ctx *c, const cJSON *obj, char *err)
{
    const cJSON *it;
    if (!obj) return 0;
    if (!cJSON_IsObject(obj)) {
        gb_snprintf(err, GB_JSON_ERR_MAX, "field 'env' must be an object of strings");
        return -1;
    }
    cJSON_ArrayForEach(it, obj)
    {
        if (!cJSON_IsString(it) || !it->string || !it->string[0] ||
            strlen(it->valuestring) > 4096) {
            gb_snprintf(err, GB_JSON_ERR_MAX,
                        "field 'env' must map names to strings (at most 4096 characters)");
            return -1;
        }
        if (add_env(c, it->string, it->valuestring, err)) return -1;
    }
    return 0;
}

static int take_ports(create_ctx *c, const cJSON *arr, char *err)
{
    const cJSON *it;
    c->nports = 0;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsNumber(it) || it->valueint < 1 || it->valueint > 65535 ||
            it->valuedouble != (double)it->valueint || c->nports >= MAX_PORTS) {
            gb_snprintf(err, GB_JSON_ERR_MAX,
                        "field 'ports' must hold at most %d port numbers from 1 to 65535",
                        MAX_PORTS);
            return -1;
        }
        c->ports[c->nports++] = it->valueint;
    }
    return 0;
}

/* Splits "provider:offer" into its parts; returns 0 when there was a known provider prefix
 * (registry_get_synced: also one registered through another broker since this one's last
 * sync). */
static int split_machine(app *a, gb_db *db, const char *machine, char *prov, size_t pn,
                         const char **offer)
{
    const char *colon = strchr(machine, ':');
    if (!colon || (size_t)(colon - machine) >= pn) return -1;
    memcpy(prov, machine, (size_t)(colon - machine));
    prov[colon - machine] = '\0';
    *offer = colon + 1;
    return registry_get_synced(a, db, prov) ? 0 : -1;
}

/* Finds the adapter and offer. Answers the request itself on failure (returns -1). */
static int resolve_offer(api_req *rq, api_resp *rs, const cJSON *body, create_ctx *c)
{
    char err[PROV_ERR_MAX] = "", prov[PROV_NAME_MAX] = "";
    const char *provider = NULL, *machine = NULL, *resource = NULL, *offer = NULL;
    gb_json_str(body, "provider", 1, PROV_NAME_MAX - 1, false, &provider, err);
    gb_json_str(body, "machine_id", 1, 159, false, &machine, err);
    gb_json_str(body, "resource_name", 1, 127, false, &resource, err);
    if (machine && split_machine(rq->app, rq->db, machine, prov, sizeof(prov), &offer) == 0) {
        if (provider && strcmp(provider, prov) != 0) {
            api_error(rs, 400, "VALIDATION_ERROR",
                      "field 'machine_id' belongs to provider %s, not %s", prov, provider);
            return -1;
        }
    } else if (provider) {
        gb_strlcpy(prov, provider, sizeof(prov));
        offer = resource ? resource : machine;
    } else if (machine) {
        /* a bare machine id: look for it among every provider's offers */
        prov_offer *all = NULL;
        size_t n = 0;
        if (offers_all(rq->app, &all, &n, NULL) != GB_OK) {
            api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
            return -1;
        }
        for (size_t i = 0; i < n && !prov[0]; i++)
            if (strcmp(all[i].offer_id, machine) == 0)
                gb_strlcpy(prov, all[i].provider, sizeof(prov));
        free(all);
        offer = machine;
    }
    if (!offer) {
        api_error(rs, 400, "VALIDATION_ERROR",
                  "field 'machine_id' is required (or 'provider' with 'resource_name')");
        return -1;
    }
    c->ad = prov[0] ? registry_get_synced(rq->app, rq->db, prov) : NULL;
    if (!c->ad) {
        if (prov[0])
            api_error(rs, 400, "VALIDATION_ERROR", "field 'provider': no provider named '%.32s'",
                      prov);
        else
            api_error(rs, 400, "VALIDATION_ERROR",
                      "field 'machine_id': no machine '%.64s' (see GET /api/volt/machines)", offer);
        return -1;
    }
    int64_t t0 = gb_mono_ms();
    gb_err e = offers_find(rq->app, c->ad, offer, &c->offer, err);
    pod_note(rq, c->ad->name, e, t0, err);
    if (e == GB_ERR_NOT_FOUND) {
        api_error(rs, 400, "VALIDATION_ERROR", "field '%s': %s has no machine '%.64s' now",
                  resource ? "resource_name" : "machine_id", c->ad->name, offer);
        return -1;
    }
    if (e) {
        pod_provider_error(rs, e, c->ad->name, err);
        return -1;
    }
    return 0;
}

/* Template or image, ports, env, registry credentials. */
int pod_resolve_image(api_req *rq, const cJSON *body, create_ctx *c, const char **image, char *err)
{
    const char *tpl_id = NULL;
    *image = NULL;
    if (gb_json_str(body, "image", 1, 511, false, image, err) == GB_ERR_INVALID ||
        gb_json_str(body, "template_id", 1, GB_ID_MAX - 1, false, &tpl_id, err) == GB_ERR_INVALID)
        return -1;
    if (tpl_id) {
        if (template_get(rq->db, rq->account_id, tpl_id, &c->tpl) != GB_OK) {
            gb_snprintf(err, GB_JSON_ERR_MAX, "field 'template_id': no template '%.48s'", tpl_id);
            return -1;
        }
        c->have_tpl = 1;
        if (!*image) *image = c->tpl.image;
        cJSON *tports = c->tpl.ports_json ? cJSON_Parse(c->tpl.ports_json) : NULL;
        cJSON *tenv = c->tpl.env_json ? cJSON_Parse(c->tpl.env_json) : NULL;
        int bad = take_ports(c, tports, err) || take_env(c, tenv, err);
        cJSON_Delete(tports);
        cJSON_Delete(tenv);
        if (bad) return -1;
        if (c->tpl.docker_credential_id[0]) {
            /* the template's private registry: without its credential the pull would fail at
             * the provider (or pull something else), so any failure here fails the request */
            gb_err e = cred_get(rq->db, rq->account_id, c->tpl.docker_credential_id, &c->cred);
            char ref[128];
            if (e == GB_ERR_NOT_FOUND) {
                gb_snprintf(err, GB_JSON_ERR_MAX,
                            "field 'template_id': its docker credential '%.48s' no longer exists",
                            c->tpl.docker_credential_id);
                return -1;
            }
            if (!e) {
                cred_secret_ref(c->cred.id, ref, sizeof(ref));
                e = vault_get(rq->app->vault, rq->db, ref, &c->reg_pass, &c->reg_pass_len);
            }
            if (e) {
                c->fault = e;
                gb_snprintf(err, GB_JSON_ERR_MAX,
                            "the registry credential of template '%.48s' cannot be read (%s)",
                            tpl_id, gb_strerror(e));
                return -1;
            }
            c->have_cred = 1;
        }
    }
    if (!*image) {
        gb_snprintf(err, GB_JSON_ERR_MAX, "field 'template_id' or 'image' is required");
        return -1;
    }
    const cJSON *ports = NULL;
    if (gb_json_array(body, "ports", MAX_PORTS, false, &ports, err) == GB_ERR_INVALID) return -1;
    if (ports && take_ports(c, ports, err)) return -1;
    return take_env(c, cJSON_GetObjectItemCaseSensitive(body, "env"), err);
}

int pod_resolve_keys(api_req *rq, const cJSON *body, create_ctx *c, char *err)
{
    const cJSON *ids = NULL, *it;
    if (gb_json_array(body, "ssh_key_ids", MAX_SSH_KEYS, false, &ids, err) == GB_ERR_INVALID)
        return -1;
    c->key_ids = cJSON_CreateArray();
    cJSON_ArrayForEach(it, ids)
    {
        sshkey_rec k;
        memset(&k, 0, sizeof(k));
        if (!cJSON_IsString(it) ||
            sshkey_get(rq->db, rq->account_id, it->valuestring, &k) != GB_OK) {
            gb_snprintf(err, GB_JSON_ERR_MAX,
                        "field 'ssh_key_ids': no SSH key '%.48s' on this account",
                        cJSON_IsString(it) ? it->valuestring : "?");
            return -1;
        }
        c->pubkeys[c->nkeys++] = k.public_key;
        cJSON_AddItemToArray(c->key_ids, cJSON_CreateString(k.id));
    }
    return 0;
}

static void new_workload_name(char out[64])
{
    char rnd[13];
    gb_random_base62(rnd, 12);
    for (char *p = rnd; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    snprintf(out, 64, "gpb-%s", rnd);
}

int pod_parse_common(api_req *rq, const cJSON *body, create_ctx *c, char *err)
{
    const char *name = NULL;
    int64_t gpu_count = 0, volume = 0, max_s = 0;
    c->opts = cJSON_GetObjectItemCaseSensitive(body, "provider_options");
    if (gb_json_int(body, "max_duration", 60, 31622400, false, &max_s, err) == GB_ERR_INVALID ||
        gb_json_money(body, "max_cost", 10000, GB_MONEY_MAX / 1000, false, &c->max_cost, err) ==
            GB_ERR_INVALID)
        return -1;
    c->max_duration_ms = max_s * 1000;
    if (gb_json_str(body, "name", 1, NAME_MAX_LEN, false, &name, err) == GB_ERR_INVALID ||
        gb_json_int(body, "gpu_count", 1, 64, false, &gpu_count, err) == GB_ERR_INVALID ||
        gb_json_int(body, "volume_size_gb", 1, 65536, false, &volume, err) == GB_ERR_INVALID)
        return -1;
    if (c->opts && !cJSON_IsObject(c->opts)) {
        gb_snprintf(err, GB_JSON_ERR_MAX, "field 'provider_options' must be an object");
        return -1;
    }
    c->name = name;
    c->gpu_count = (int)gpu_count;
    c->volume_gb = (int)volume;
    return pod_resolve_image(rq, body, c, &c->image, err) || pod_resolve_keys(rq, body, c, err);
}

gb_money pod_offer_price(const prov_offer *o, int count)
{
    if (o->price_per_gpu_hour > 0 && count != o->gpu_count) return o->price_per_gpu_hour * count;
    return o->price_per_hour;
}

void pod_prepare(const char *account_id, const create_ctx *c, const prov_offer *o, int count,
                 gb_money price, pod_rec *p)
{
    pod_rec_clear(p);
    memset(p, 0, sizeof(*p));
    gb_id_new("pod_", p->id, sizeof(p->id));
    new_workload_name(p->workload_name);
    gb_strlcpy(p->account_id, account_id, sizeof(p->account_id));
    gb_strlcpy(p->name, c->name ? c->name : p->workload_name, sizeof(p->name));
    gb_strlcpy(p->provider, o->provider, sizeof(p->provider));
    const char *type =
        c->opts ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c->opts, "type")) : NULL;
    gb_strlcpy(p->kind, type && gb_str_ieq(type, "SERVERLESS") ? "serverless" : "rental",
               sizeof(p->kind));
    gb_strlcpy(p->offer_id, o->offer_id, sizeof(p->offer_id));
    gb_strlcpy(p->image, c->image, sizeof(p->image));
    if (c->have_tpl) gb_strlcpy(p->template_id, c->tpl.id, sizeof(p->template_id));
    gb_strlcpy(p->gpu_type, o->gpu_type, sizeof(p->gpu_type));
    p->gpu_count = count;
    p->vcpu = o->vcpu;
    p->ram_gb = o->ram_gb;
    p->volume_size_gb = c->volume_gb;
    p->confidential = o->confidential;
    p->price_per_hour = price;
    p->ssh_key_ids = c->key_ids ? cJSON_PrintUnformatted(c->key_ids) : gb_strdup("[]");
    p->options = c->opts ? cJSON_PrintUnformatted(c->opts) : NULL;
    p->status = POD_PENDING;
    p->created_at = gb_now_ms();
    p->next_poll_at = INT64_MAX; /* nothing to poll until the create intent placed it */
    if (c->job_id) gb_strlcpy(p->job_id, c->job_id, sizeof(p->job_id));
    p->max_duration_ms = c->max_duration_ms;
    p->max_cost = c->max_cost;
}

cJSON *pod_offer_entry(const prov_offer *o, int count, gb_money price)
{
    cJSON *e = cJSON_CreateObject();
    if (!e) return NULL;
    cJSON_AddStringToObject(e, "id", o->id);
    cJSON_AddStringToObject(e, "provider", o->provider);
    cJSON_AddStringToObject(e, "offer_id", o->offer_id);
    cJSON_AddStringToObject(e, "gpu_type", o->gpu_type);
    cJSON_AddNumberToObject(e, "count", count);
    cJSON_AddNumberToObject(e, "price", (double)price);
    cJSON_AddNumberToObject(e, "vcpu", o->vcpu);
    cJSON_AddNumberToObject(e, "ram_gb", o->ram_gb);
    cJSON_AddBoolToObject(e, "confidential", o->confidential);
    return e;
}

/* The request the intent carries out, sealed in the vault (env values and the registry
 * password are secrets). */
static char *spec_json(const create_ctx *c, gb_money cap)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "image", c->image);
    cJSON *env = cJSON_AddArrayToObject(o, "env");
    for (int i = 0; i < c->nenv; i++)
        cJSON_AddItemToArray(env, cJSON_CreateString(c->env[i]));
    cJSON *ports = cJSON_AddArrayToObject(o, "ports");
    for (int i = 0; i < c->nports; i++)
        cJSON_AddItemToArray(ports, cJSON_CreateNumber(c->ports[i]));
    cJSON *keys = cJSON_AddArrayToObject(o, "ssh_public_keys");
    for (int i = 0; i < c->nkeys; i++)
        cJSON_AddItemToArray(keys, cJSON_CreateString(c->pubkeys[i]));
    cJSON_AddNumberToObject(o, "volume_size_gb", c->volume_gb);
    cJSON_AddNumberToObject(o, "cap", (double)cap);
    if (c->opts) cJSON_AddItemToObject(o, "options", cJSON_Duplicate(c->opts, 1));
    if (c->have_cred) {
        cJSON_AddStringToObject(o, "registry_server", c->cred.registry);
        cJSON_AddStringToObject(o, "registry_username", c->cred.username);
        cJSON_AddStringToObject(o, "registry_password", c->reg_pass ? c->reg_pass : "");
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

gb_err pod_enqueue_create(app *a, gb_db *db, const create_ctx *c, pod_rec *p, const cJSON *offers,
                          gb_money cap, const pod_txn_hook *hook, billing_refusal *why)
{
    char ref[64];
    char *spec = spec_json(c, cap), *offers_text = cJSON_PrintUnformatted(offers);
    intent_rec r;
    memset(&r, 0, sizeof(r));
    gb_err e = spec && offers_text ? GB_OK : GB_ERR_NOMEM;
    memset(why, 0, sizeof(*why));
    if (!e) e = gb_db_begin(db);
    if (e) goto out;
    /* the check and the reservation (the pending pod counts at its price) are one
     * transaction, so concurrent creates cannot together pass the limit; a job's pod is
     * paid by the job */
    if (!p->job_id[0]) e = billing_admit(a, db, p->account_id, p->provider, p->price_per_hour, why);
    if (!e) e = pod_insert(db, p);
    if (!e)
        e = pod_event_add(db, p->id, p->created_at, "created", NULL, pod_status_name(p->status),
                          p->workload_name);
    gb_strlcpy(r.pod_id, p->id, sizeof(r.pod_id));
    gb_strlcpy(r.account_id, p->account_id, sizeof(r.account_id));
    r.kind = INTENT_CREATE;
    r.offers = offers_text;
    r.next_at = r.created_at = p->created_at;
    if (!e) e = intent_insert(db, &r);
    r.offers = NULL;
    intent_spec_ref(r.id, ref, sizeof(ref));
    if (!e) e = vault_put(a->vault, db, ref, spec, strlen(spec));
    if (!e && hook) e = hook->fn(hook->ud, db, p);
    if (!e) e = gb_db_made(db, p->id); /* an Idempotency-Key's request made it (idem.c) */
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
out:
    if (spec) gb_memzero(spec, strlen(spec));
    free(spec);
    free(offers_text);
    if (!e) {
        intent_pool_wake(a);
        GB_INFO("pods", "queued the create of %s (%s) on %s", p->id, p->workload_name, p->provider);
    }
    return e;
}

/* The pods API's answer to a failed placement: the Volt error object, with the reasons of
 * NO_OFFER. */
static void placement_failed(api_resp *rs, gb_err e, placement_error *why)
{
    if (!why->status) {
        api_error_from(rs, e, why->what ? why->what : "pod");
        return;
    }
    if (!why->reasons) {
        api_error(rs, why->status, why->code, "%s", why->message);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddTrueToObject(o, "error");
    cJSON_AddNumberToObject(o, "status", why->status);
    cJSON_AddStringToObject(o, "message", why->message);
    cJSON_AddStringToObject(o, "code", why->code);
    cJSON_AddItemToObject(o, "reasons", why->reasons);
    why->reasons = NULL;
    api_json(rs, why->status, o);
}

static void add_money_exact(cJSON *o, const char *key, gb_money m)
{
    char k[48];
    gb_json_add_money(o, key, m);
    snprintf(k, sizeof(k), "%s_micros", key);
    cJSON_AddNumberToObject(o, k, (double)m);
}

/* The answer of a dry run: the offer a create would take (offer_id "provider:id"), its price
 * per hour as metering charges it (the provider's margin added), the cost of hours of it, and
 * whether the money guards would let it start now. Nothing is written. */
static void dry_run_reply(api_req *rq, api_resp *rs, const char *offer_id, const pod_rec *plan,
                          int hours, cJSON *candidates, cJSON *rejected)
{
    gb_money rate = meter_rate(rq->app, plan), cost = 0;
    billing_refusal why;
    if (gb_money_mul_ratio(rate, hours, 1, &cost) != 0) {
        api_error(rs, 400, "VALIDATION_ERROR", "field 'hours': the cost is out of range");
        goto fail;
    }
    gb_err e =
        billing_admit(rq->app, rq->db, rq->account_id, plan->provider, plan->price_per_hour, &why);
    if (e && e != GB_ERR_PAYMENT) {
        api_error_from(rs, e, "account");
        goto fail;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
        goto fail;
    }
    cJSON_AddTrueToObject(o, "dry_run");
    cJSON *off = cJSON_AddObjectToObject(o, "offer");
    cJSON_AddStringToObject(off, "id", offer_id);
    cJSON_AddStringToObject(off, "provider", plan->provider);
    api_add_gpu_type(off, plan->gpu_type);
    cJSON_AddNumberToObject(off, "count", plan->gpu_count);
    gb_json_add_money(off, "price_per_hour", plan->price_per_hour);
    add_money_exact(o, "price_per_hour", rate);
    cJSON_AddNumberToObject(o, "hours", hours);
    add_money_exact(o, "estimated_cost", cost);
    cJSON_AddBoolToObject(o, "admitted", e == GB_OK);
    if (e) {
        cJSON *r = cJSON_AddObjectToObject(o, "refusal");
        cJSON_AddStringToObject(r, "code", why.code ? why.code : "PAYMENT_REQUIRED");
        cJSON_AddStringToObject(r, "message", why.message);
    }
    if (candidates) cJSON_AddItemToObject(o, "candidates", candidates);
    if (rejected) cJSON_AddItemToObject(o, "rejected", rejected);
    api_json(rs, 200, o);
    return;
fail:
    cJSON_Delete(candidates);
    cJSON_Delete(rejected);
}

/* POST /api/volt/pods with "provider":"auto": placement by live price (placement.c); hours > 0
 * is a dry run. */
static void place_auto(api_req *rq, api_resp *rs, const cJSON *body, const create_ctx *c, int hours)
{
    char err[GB_JSON_ERR_MAX] = "";
    bool explain = false;
    cJSON *rejected = NULL;
    placement_req req = {.account_id = rq->account_id, .more = c, .dry_run = hours > 0};
    if (gb_json_bool(body, "explain", false, &explain, err) == GB_ERR_INVALID ||
        placement_filter_from_body(body, c->gpu_count, &req.filter, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        return;
    }
    if (explain) req.rejected = &rejected; /* every offer left out, with its reason */
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *attempts = NULL;
    placement_error why;
    gb_err e = placement_create(rq->app, rq->db, &req, &p, &attempts, &why);
    if (e) {
        placement_failed(rs, e, &why);
    } else if (req.dry_run) {
        char id[PROV_NAME_MAX + 160];
        const char *first = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(attempts, 0), "offer"));
        snprintf(id, sizeof(id), "%s", first ? first : p.offer_id);
        dry_run_reply(rq, rs, id, &p, hours, attempts, rejected);
        attempts = NULL;
        rejected = NULL;
    } else {
        cJSON *out = pod_json(rq->app, &p, p.created_at, 0);
        cJSON_AddItemToObject(out, "candidates", attempts);
        if (rejected) cJSON_AddItemToObject(out, "rejected", rejected);
        attempts = NULL;
        rejected = NULL;
        api_json(rs, 201, out);
    }
    placement_error_clear(&why);
    cJSON_Delete(attempts);
    cJSON_Delete(rejected);
    pod_rec_clear(&p);
}

void h_pods_create(api_req *rq, api_resp *rs)
{
    static const char *const allowed[] = {
        "name", "machine_id", "template_id", "ssh_key_ids", "gpu_count", "volume_size_gb",
        "provider", "resource_name", "image", "cost_per_hour", "env", "ports", "provider_options",
        /* placement ("provider":"auto") */
        "gpu_type", "max_price_per_hour", "min_vram_gb", "confidential", "tier", "providers",
        "exclude_providers", "location",
        /* guards (docs/metering.md) */
        "max_duration", "max_cost",
        /* the plan and its cost, nothing created */
        "dry_run", "hours",
        /* with "provider":"auto": every offer left out, with its reason */
        "explain", NULL};
    char err[PROV_ERR_MAX] = "";
    create_ctx c;
    memset(&c, 0, sizeof(c));
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    gb_money cap = 0;
    bool dry = false;
    int64_t hours = 0;
    gb_err he = GB_ERR_NOT_FOUND;
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_bool(body, "dry_run", false, &dry, err) == GB_ERR_INVALID ||
        (he = gb_json_int(body, "hours", 1, 8760, false, &hours, err)) == GB_ERR_INVALID ||
        gb_json_money(body, "cost_per_hour", 1, GB_MONEY_MAX / 1000, false, &cap, err) ==
            GB_ERR_INVALID ||
        pod_parse_common(rq, body, &c, err)) {
        if (c.fault)
            api_error(rs, 500, "INTERNAL_ERROR", "%s", err);
        else
            api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    if (he == GB_OK && !dry) {
        api_error(rs, 400, "VALIDATION_ERROR", "field 'hours' goes with \"dry_run\": true");
        goto done;
    }
    if (dry && he != GB_OK) hours = 1;
    if (!dry) hours = 0;
    const char *provider = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "provider"));
    if (cJSON_GetObjectItemCaseSensitive(body, "explain") &&
        !(provider && !strcmp(provider, "auto"))) {
        api_error(rs, 400, "VALIDATION_ERROR", "field 'explain' goes with \"provider\": \"auto\"");
        goto done;
    }
    if (provider && strcmp(provider, "auto") == 0) {
        place_auto(rq, rs, body, &c, (int)hours);
        goto done;
    }
    if (resolve_offer(rq, rs, body, &c)) goto done;
    const prov_offer *o = &c.offer;
    int count = c.gpu_count ? c.gpu_count : (o->gpu_count > 0 ? o->gpu_count : 1);
    if (o->price_per_gpu_hour <= 0 || o->gpu_count != 1
            ? count != o->gpu_count
            : count > (o->available_gpus ? o->available_gpus : 1)) {
        api_error(rs, 400, "VALIDATION_ERROR", "field 'gpu_count': machine %s %s (asked for %d)",
                  o->id,
                  o->gpu_count != 1 || o->price_per_gpu_hour <= 0 ? "comes as a whole"
                                                                  : "has fewer GPUs free",
                  count);
        goto done;
    }
    /* cost_per_hour is what the user agrees to pay: the live price plus the provider's margin
     * (metering.margins) must fit it, as placement's max_price_per_hour */
    gb_money price = pod_offer_price(o, count), rate = price;
    if (cap && (meter_price_rate(rq->app, o->provider, price, &rate) || cap < rate)) {
        char a[32], b[32];
        api_error(rs, 409, "PRICE_CHANGED",
                  "The live price of %s is $%s/h, above your cost_per_hour of $%s/h", o->id,
                  gb_money_format(rate, a, sizeof(a)), gb_money_format(cap, b, sizeof(b)));
        goto done;
    }
    if (c.opts && c.ad->ops->validate_options && c.ad->ops->validate_options(c.opts, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    pod_prepare(rq->account_id, &c, o, count, price, &p);
    if (dry) { /* the plan only: nothing recorded, nothing queued */
        dry_run_reply(rq, rs, o->id, &p, (int)hours, NULL, NULL);
        goto done;
    }
    cJSON *offers = cJSON_CreateArray();
    cJSON_AddItemToArray(offers, pod_offer_entry(o, count, price));
    billing_refusal why;
    gb_err e = pod_enqueue_create(rq->app, rq->db, &c, &p, offers, cap, NULL, &why);
    cJSON_Delete(offers);
    if (e == GB_ERR_PAYMENT)
        api_error(rs, 402, why.code, "%s", why.message);
    else if (e)
        api_error_from(rs, e, "pod");
    else
        api_json(rs, 201, pod_json(rq->app, &p, p.created_at, 0));
done:
    pod_rec_clear(&p);
    pod_ctx_free(&c);
    cJSON_Delete(body);
}
