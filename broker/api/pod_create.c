/* pod_create.c: POST /api/volt/pods. Resolves the provider and offer (a Volt machine_id from
 * /api/volt/machines, "provider":"targon" with resource_name, or any registered provider by
 * name), the image (template or image), SSH keys and registry credentials, creates the
 * workload at the provider and only then records the pod, so a failure leaves no record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/placement/offers.h"
#include "broker/api/pod_api.h"
#include "broker/api/pod_create.h"
#include "broker/placement/placement.h"
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

/* Splits "provider:offer" into its parts; returns 0 when there was a known provider prefix. */
static int split_machine(app *a, const char *machine, char *prov, size_t pn, const char **offer)
{
    const char *colon = strchr(machine, ':');
    if (!colon || (size_t)(colon - machine) >= pn) return -1;
    memcpy(prov, machine, (size_t)(colon - machine));
    prov[colon - machine] = '\0';
    *offer = colon + 1;
    return registry_get(a, prov) ? 0 : -1;
}

/* Finds the adapter and offer. Answers the request itself on failure (returns -1). */
static int resolve_offer(api_req *rq, api_resp *rs, const cJSON *body, create_ctx *c)
{
    char err[PROV_ERR_MAX] = "", prov[PROV_NAME_MAX] = "";
    const char *provider = NULL, *machine = NULL, *resource = NULL, *offer = NULL;
    gb_json_str(body, "provider", 1, PROV_NAME_MAX - 1, false, &provider, err);
    gb_json_str(body, "machine_id", 1, 159, false, &machine, err);
    gb_json_str(body, "resource_name", 1, 127, false, &resource, err);
    if (machine && split_machine(rq->app, machine, prov, sizeof(prov), &offer) == 0) {
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
    c->ad = prov[0] ? registry_get(rq->app, prov) : NULL;
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
    int64_t gpu_count = 0, volume = 0;
    c->opts = cJSON_GetObjectItemCaseSensitive(body, "provider_options");
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

gb_err pod_spend_allowed(gb_db *db, const char *account_id, gb_money price, char *msg, size_t msgsz)
{
    gb_money limit = 0, running = 0;
    gb_err e = account_spend_limit(db, account_id, &limit);
    if (!e && limit > 0) e = pod_committed_per_hour(db, account_id, &running);
    if (e) return e;
    if (limit > 0 && running + price > limit) {
        char a[32], b[32], l[32];
        snprintf(msg, msgsz,
                 "This pod ($%s/h) would take your running cost to $%s/h, above your spend "
                 "limit of $%s/h",
                 gb_money_format(price, a, sizeof(a)),
                 gb_money_format(running + price, b, sizeof(b)),
                 gb_money_format(limit, l, sizeof(l)));
        return GB_ERR_PAYMENT;
    }
    return GB_OK;
}

gb_err pod_spend_check(api_req *rq, api_resp *rs, gb_money price)
{
    char msg[256];
    gb_err e = pod_spend_allowed(rq->db, rq->account_id, price, msg, sizeof(msg));
    if (e == GB_ERR_PAYMENT)
        api_error(rs, 402, "SPEND_LIMIT", "%s", msg);
    else if (e)
        api_error_from(rs, e, "account");
    return e;
}

gb_err pod_launch(app *a, const char *account_id, const create_ctx *c, prov_adapter *ad,
                  const prov_offer *o, int count, gb_money price, gb_money cap, pod_rec *p,
                  char *err)
{
    pod_rec_clear(p);
    memset(p, 0, sizeof(*p));
    gb_id_new("pod_", p->id, sizeof(p->id));
    new_workload_name(p->workload_name);
    gb_strlcpy(p->account_id, account_id, sizeof(p->account_id));
    gb_strlcpy(p->name, c->name ? c->name : p->workload_name, sizeof(p->name));
    gb_strlcpy(p->provider, ad->name, sizeof(p->provider));
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
    if (c->opts && ad->ops->validate_options) {
        gb_err v = ad->ops->validate_options(c->opts, err);
        if (v) return v;
    }
    prov_create_req req = {.name = p->workload_name,
                           .offer_id = o->offer_id,
                           .image = c->image,
                           .gpu_count = count,
                           .env = (const char *const *)c->env,
                           .nenv = c->nenv,
                           .ports = c->ports,
                           .nports = c->nports,
                           .ssh_public_keys = (const char *const *)c->pubkeys,
                           .nssh = c->nkeys,
                           .volume_size_gb = c->volume_gb,
                           .registry_server = c->have_cred ? c->cred.registry : NULL,
                           .registry_username = c->have_cred ? c->cred.username : NULL,
                           .registry_password = c->have_cred ? c->reg_pass : NULL,
                           .max_price_per_hour = cap ? cap : price,
                           .options = c->opts};
    prov_pod pp;
    memset(&pp, 0, sizeof(pp));
    int64_t t0 = gb_mono_ms();
    gb_err e = ad->ops->create(ad, &req, &pp, err);
    registry_note(a, ad->name, e, gb_mono_ms() - t0, err);
    if (e) {
        GB_WARN("pods", "create on %s (%s) failed: %s", ad->name, o->offer_id, err);
        return e;
    }
    int64_t now = gb_now_ms();
    gb_strlcpy(p->provider_id, pp.provider_id, sizeof(p->provider_id));
    p->status = POD_PENDING;
    pod_set_status(p, pp.status == POD_UNKNOWN ? POD_DEPLOYING : pp.status, now);
    gb_strlcpy(p->raw_status, pp.raw_status, sizeof(p->raw_status));
    gb_strlcpy(p->message, pp.message, sizeof(p->message));
    gb_strlcpy(p->ip, pp.ip, sizeof(p->ip));
    p->ssh_port = pp.ssh_port;
    gb_strlcpy(p->ssh_command, pp.ssh_command, sizeof(p->ssh_command));
    gb_strlcpy(p->url, pp.url, sizeof(p->url));
    p->created_at = now;
    p->next_poll_at = now; /* the reconciler looks at it on its next round */
    return GB_OK;
}

gb_err pod_record(gb_db *db, prov_adapter *ad, pod_rec *p, const cJSON *attempts)
{
    gb_err e = gb_db_begin(db);
    if (!e) e = pod_insert(db, p);
    const cJSON *a;
    cJSON_ArrayForEach(a, attempts)
    {
        if (e) break;
        const char *offer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "offer"));
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "error"));
        char msg[600];
        snprintf(msg, sizeof(msg), "%s: %s", offer ? offer : "?", why ? why : "placed");
        e = pod_event_add(db, p->id, p->created_at, why ? "attempt_failed" : "placed", NULL, NULL,
                          msg);
    }
    if (!e)
        e = pod_event_add(db, p->id, p->created_at, "created", NULL, pod_status_name(p->status),
                          p->workload_name);
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    if (e) {
        /* no record: take the workload back so nothing runs unaccounted */
        char err2[PROV_ERR_MAX];
        if (ad->ops->remove && ad->ops->remove(ad, p->provider_id, err2) != GB_OK)
            GB_ERROR("pods", "could not record pod and could not remove %s at %s: %s",
                     p->provider_id, ad->name, err2);
        return e;
    }
    GB_INFO("pods", "created %s (%s %s) on %s as %s", p->id, p->gpu_type, p->offer_id, p->provider,
            p->provider_id);
    return GB_OK;
}

/* The pods API's answer to a failed placement: the Volt error object, with the reasons of
 * NO_OFFER and the attempts of PLACEMENT_FAILED. */
static void placement_failed(api_resp *rs, gb_err e, placement_error *why, cJSON *attempts)
{
    if (!why->status) {
        api_error_from(rs, e, why->what ? why->what : "pod");
        return;
    }
    bool with_attempts = why->status == 502 && attempts;
    if (!why->reasons && !with_attempts) {
        api_error(rs, why->status, why->code, "%s", why->message);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddTrueToObject(o, "error");
    cJSON_AddNumberToObject(o, "status", why->status);
    cJSON_AddStringToObject(o, "message", why->message);
    cJSON_AddStringToObject(o, "code", why->code);
    if (why->reasons) cJSON_AddItemToObject(o, "reasons", why->reasons);
    why->reasons = NULL;
    if (with_attempts) cJSON_AddItemToObject(o, "attempts", cJSON_Duplicate(attempts, 1));
    api_json(rs, why->status, o);
}

/* POST /api/volt/pods with "provider":"auto": placement by live price (placement.c). */
static void place_auto(api_req *rq, api_resp *rs, const cJSON *body, const create_ctx *c)
{
    char err[GB_JSON_ERR_MAX] = "";
    placement_req req = {.account_id = rq->account_id, .more = c};
    if (placement_filter_from_body(body, c->gpu_count, &req.filter, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        return;
    }
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *attempts = NULL;
    placement_error why;
    gb_err e = placement_create(rq->app, rq->db, &req, &p, &attempts, &why);
    if (e) {
        placement_failed(rs, e, &why, attempts);
    } else {
        cJSON *out = pod_json(&p, p.created_at, 0);
        cJSON_AddItemToObject(out, "attempts", attempts);
        attempts = NULL;
        api_json(rs, 201, out);
    }
    placement_error_clear(&why);
    cJSON_Delete(attempts);
    pod_rec_clear(&p);
}

void h_pods_create(api_req *rq, api_resp *rs)
{
    static const char *const allowed[] = {
        "name", "machine_id", "template_id", "ssh_key_ids", "gpu_count", "volume_size_gb",
        "provider", "resource_name", "image", "cost_per_hour", "env", "ports", "provider_options",
        /* placement ("provider":"auto") */
        "gpu_type", "max_price_per_hour", "min_vram_gb", "confidential", "tier", "providers",
        "exclude_providers", "location", NULL};
    char err[PROV_ERR_MAX] = "";
    create_ctx c;
    memset(&c, 0, sizeof(c));
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    gb_money cap = 0;
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_money(body, "cost_per_hour", 1, GB_MONEY_MAX / 1000, false, &cap, err) ==
            GB_ERR_INVALID ||
        pod_parse_common(rq, body, &c, err)) {
        if (c.fault)
            api_error(rs, 500, "INTERNAL_ERROR", "%s", err);
        else
            api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    const char *provider = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "provider"));
    if (provider && strcmp(provider, "auto") == 0) {
        place_auto(rq, rs, body, &c);
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
    gb_money price = pod_offer_price(o, count);
    if (cap && cap < price) {
        char a[32], b[32];
        api_error(rs, 409, "PRICE_CHANGED",
                  "The live price of %s is $%s/h, above your cost_per_hour of $%s/h", o->id,
                  gb_money_format(price, a, sizeof(a)), gb_money_format(cap, b, sizeof(b)));
        goto done;
    }
    if (pod_spend_check(rq, rs, price)) goto done;
    gb_err e = pod_launch(rq->app, rq->account_id, &c, c.ad, o, count, price, cap, &p, err);
    if (e) {
        pod_provider_error(rs, e, c.ad->name, err);
        goto done;
    }
    if ((e = pod_record(rq->db, c.ad, &p, NULL))) {
        api_error_from(rs, e, "pod");
        goto done;
    }
    api_json(rs, 201, pod_json(&p, p.created_at, 0));
done:
    pod_rec_clear(&p);
    pod_ctx_free(&c);
    cJSON_Delete(body);
}
