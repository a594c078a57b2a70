/* placement.c: placement by live price (see placement.h): filter and rank every provider's
 * live offers (rank.c) and queue the pod's create intent over the ranked list (up to
 * placement.max_attempts offers); the intent pool walks it (broker/workers/intent_create.c),
 * failing over on no capacity, a 5xx or a timeout. No fitting offer is NO_OFFER with the
 * reasons. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/placement/blocklist.h"
#include "broker/placement/offers.h"
#include "broker/placement/placement.h"
#include "broker/api/pod_create.h"
#include "broker/placement/rank.h"
#include "broker/core/registry.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "config/config.h"

static int names_from(const cJSON *body, const char *key, char dst[][32], int *n, char *err)
{
    const cJSON *arr = NULL, *it;
    if (gb_json_array(body, key, RANK_MAX_PROVIDERS, false, &arr, err) == GB_ERR_INVALID) return -1;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) >= 32) {
            gb_snprintf(err, GB_JSON_ERR_MAX, "field '%s' must list provider names", key);
            return -1;
        }
        gb_strlcpy(dst[(*n)++], it->valuestring, 32);
    }
    return 0;
}

void placement_filter_init(rank_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->confidential = -1;
    f->sort = RANK_SORT_PRICE;
    f->now_ms = gb_now_ms();
}

/* One entry of the margins list into the filter (a name listed again replaces its margin). */
static void add_margin(void *ud, const char *name, size_t len, int bp)
{
    rank_filter *f = ud;
    if (f->nmargins < 0) return; /* refused already */
    int i = 0;
    while (i < f->nmargins &&
           (strlen(f->margin_provider[i]) != len || strncmp(f->margin_provider[i], name, len) != 0))
        i++;
    if (i == f->nmargins) {
        if (i == RANK_MAX_PROVIDERS || len >= sizeof(f->margin_provider[i])) {
            f->nmargins = -1; /* too many, or too long a name: refused below */
            return;
        }
        memcpy(f->margin_provider[i], name, len);
        f->margin_provider[i][len] = '\0';
        f->nmargins++;
    }
    f->margin_bp[i] = bp;
}

gb_err placement_filter_margins(rank_filter *f, const char *list)
{
    if (!f) return GB_ERR_INVALID;
    f->nmargins = 0;
    if (gb_config_margin_each(list, add_margin, f) != 0 || f->nmargins < 0) {
        f->nmargins = 0;
        return GB_ERR_INVALID;
    }
    return GB_OK;
}

int placement_filter_from_body(const cJSON *body, int gpu_count, rank_filter *f, char *err)
{
    memset(f, 0, sizeof(*f));
    f->confidential = -1;
    f->gpu_count = gpu_count > 0 ? gpu_count : 1; /* one GPU unless more are asked for */
    const char *gpu = NULL, *tier = NULL, *loc = NULL;
    int64_t vram = 0;
    bool conf = false;
    gb_err ce;
    if (gb_json_str(body, "gpu_type", 1, 31, false, &gpu, err) == GB_ERR_INVALID ||
        gb_json_money(body, "max_price_per_hour", 1, GB_MONEY_MAX / 1000, false, &f->max_price,
                      err) == GB_ERR_INVALID ||
        gb_json_int(body, "min_vram_gb", 1, 10000, false, &vram, err) == GB_ERR_INVALID ||
        (ce = gb_json_bool(body, "confidential", false, &conf, err)) == GB_ERR_INVALID ||
        gb_json_str(body, "tier", 1, 15, false, &tier, err) == GB_ERR_INVALID ||
        gb_json_str(body, "location", 1, 63, false, &loc, err) == GB_ERR_INVALID ||
        names_from(body, "providers", f->providers, &f->nproviders, err) ||
        names_from(body, "exclude_providers", f->exclude, &f->nexclude, err))
        return -1;
    if (tier && strcmp(tier, "secure") != 0 && strcmp(tier, "spot") != 0) {
        gb_snprintf(err, GB_JSON_ERR_MAX, "field 'tier' must be secure or spot");
        return -1;
    }
    if (!gpu && !vram) {
        gb_snprintf(err, GB_JSON_ERR_MAX,
                    "field 'gpu_type' (or 'min_vram_gb') is required with \"provider\":\"auto\"");
        return -1;
    }
    if (gpu) gpu_normalize(gpu, f->gpu_type, NULL);
    f->min_vram_gb = (int)vram;
    if (ce == GB_OK) f->confidential = conf ? 1 : 0;
    if (tier) gb_strlcpy(f->tier, tier, sizeof(f->tier));
    if (loc) gb_strlcpy(f->location, loc, sizeof(f->location));
    f->sort = RANK_SORT_PRICE;
    f->now_ms = gb_now_ms();
    return 0;
}

static void fail(placement_error *why, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(placement_error *why, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    why->status = status;
    why->code = code;
    va_start(ap, fmt);
    vsnprintf(why->message, sizeof(why->message), fmt, ap);
    va_end(ap);
}

#define MAX_REASONS 100

/* Appends {offer, reason} to arr while it holds fewer than MAX_REASONS. */
static void add_reason(cJSON *arr, const char *offer, const char *reason)
{
    if (!arr || cJSON_GetArraySize(arr) >= MAX_REASONS) return;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "offer", offer);
    cJSON_AddStringToObject(r, "reason", reason);
    cJSON_AddItemToArray(arr, r);
}

/* The offers the platform refused before any call, then the filter's rejections. */
static cJSON *reasons_json(cJSON *skipped, const prov_offer *all, const rank_reject *rej,
                           size_t nrej)
{
    cJSON *arr = skipped ? skipped : cJSON_CreateArray();
    for (size_t i = 0; arr && i < nrej; i++)
        add_reason(arr, all[rej[i].index].id, rej[i].reason);
    return arr;
}

/* The shape of c's request as an adapter's precheck reads it (no name, no offer). */
static void request_shape(const create_ctx *c, int gpu_count, prov_create_req *r)
{
    memset(r, 0, sizeof(*r));
    r->image = c->image;
    r->gpu_count = gpu_count;
    r->env = (const char *const *)c->env;
    r->nenv = c->nenv;
    r->ports = c->ports;
    r->nports = c->nports;
    r->ssh_public_keys = (const char *const *)c->pubkeys;
    r->nssh = c->nkeys;
    r->volume_size_gb = c->volume_gb;
    if (c->have_cred) {
        r->registry_server = c->cred.registry;
        r->registry_username = c->cred.username;
        r->registry_password = c->reg_pass ? c->reg_pass : "";
    }
    r->options = c->opts;
}

/* Why provider ad cannot take the request at all (into why), or 0 when it can. */
static int refuses(prov_adapter *ad, const create_ctx *c, const prov_create_req *shape, char *why,
                   size_t n)
{
    gb_errmsg err = "";
    if (c->opts && ad->ops->validate_options && ad->ops->validate_options(c->opts, err)) {
        snprintf(why, n, "provider %s refuses the provider_options: %.200s", ad->name, err);
        return 1;
    }
    if (ad->ops->precheck && ad->ops->precheck(shape, err)) {
        snprintf(why, n, "provider %s cannot take this request: %.200s", ad->name, err);
        return 1;
    }
    return 0;
}

/* req's own name, image and env as a create context (when the pods API gave none). */
static gb_err own_ctx(const placement_req *req, create_ctx *c, placement_error *why)
{
    if (req->nenv < 0 || req->nenv > MAX_ENV) {
        fail(why, 400, "VALIDATION_ERROR", "too many environment variables (at most %d)", MAX_ENV);
        return GB_ERR_INVALID;
    }
    if (!req->image || !req->image[0] || strlen(req->image) > 511) {
        fail(why, 400, "VALIDATION_ERROR", "an image of 1 to 511 characters is required");
        return GB_ERR_INVALID;
    }
    c->name = req->name;
    c->image = req->image;
    c->job_id = req->job_id;
    for (int i = 0; i < req->nenv; i++) {
        if (!(c->env[i] = gb_strdup(req->env[i]))) return GB_ERR_NOMEM;
        c->nenv = i + 1;
    }
    c->key_ids = cJSON_CreateArray(); /* no SSH keys: recorded as [] */
    return c->key_ids ? GB_OK : GB_ERR_NOMEM;
}

gb_err placement_create(app *a, gb_db *db, const placement_req *req, pod_rec *out,
                        cJSON **attempts_out, placement_error *why)
{
    billing_refusal refusal;
    /* ranked on what the user pays: the providers' prices plus their margins; a job's pod is
     * not metered (the job paid), so it ranks on the providers' own prices */
    rank_filter fm = req->filter;
    const rank_filter *f = &fm;
    prov_offer *all = NULL;
    size_t n = 0, nhits = 0, nrej = 0;
    rank_hit *hits = NULL;
    rank_reject *rej = NULL;
    cJSON *attempts = NULL, *skipped = NULL;
    create_ctx own;
    memset(&own, 0, sizeof(own));
    memset(why, 0, sizeof(*why));
    *attempts_out = NULL;
    if (req->rejected) *req->rejected = NULL;
    pod_rec_clear(out);
    memset(out, 0, sizeof(*out));
    const create_ctx *c = req->more;
    gb_err e = GB_OK;
    if (!c && (e = own_ctx(req, &own, why))) {
        if (!why->status) why->what = "pod";
        goto done;
    }
    if (!c) c = &own;
    e = placement_filter_margins(&fm, req->job_id ? NULL : a->cfg.metering_margins);
    if (!e) e = offers_all(a, &all, &n, NULL);
    if (!e)
        e = rank_offers(all, n, f, blocklist_until, a->blocked, &hits, &nhits, NULL, &rej, &nrej);
    if (e) {
        why->what = "offers";
        goto done;
    }
    if (!(attempts = cJSON_CreateArray()) || !(skipped = cJSON_CreateArray())) {
        e = GB_ERR_NOMEM;
        why->what = "pod";
        goto done;
    }
    /* the offers the create intent will try, cheapest first; the answer names the first */
    cJSON *offers = cJSON_CreateArray();
    const prov_offer *first = NULL;
    int first_count = 0;
    gb_money first_price = 0;
    int ncand = 0;
    for (size_t i = 0; offers && i < nhits && ncand < a->cfg.placement_max_attempts; i++) {
        const prov_offer *o = &all[hits[i].index];
        prov_adapter *ad = registry_get(a, o->provider);
        if (!ad) continue;
        int count = f->gpu_count ? f->gpu_count : (o->gpu_count > 0 ? o->gpu_count : 1);
        prov_create_req shape;
        char reason[320];
        request_shape(c, count, &shape);
        if (refuses(ad, c, &shape, reason, sizeof(reason))) {
            add_reason(skipped, o->id, reason); /* never tried: it could only fail */
            continue;
        }
        ncand++;
        cJSON_AddItemToArray(offers, pod_offer_entry(o, count, hits[i].price));
        cJSON *at = cJSON_CreateObject();
        cJSON_AddStringToObject(at, "offer", o->id);
        gb_json_add_money(at, "price_per_hour", hits[i].price);
        gb_json_add_money(at, "cost_per_hour", hits[i].cost); /* with the margin: ranked on */
        cJSON_AddItemToArray(attempts, at);
        if (!first) {
            first = o;
            first_count = count;
            first_price = hits[i].price;
        }
    }
    if (!first) {
        cJSON_Delete(offers);
        fail(why, 409, "NO_OFFER",
             "No offer fits the request (%zu offers considered: %zu rejected, %d whose provider "
             "cannot take it)",
             n, nrej, cJSON_GetArraySize(skipped));
        why->reasons = reasons_json(skipped, all, rej, nrej);
        skipped = NULL;
        e = GB_ERR_CAPACITY;
        goto done;
    }
    pod_prepare(req->account_id, c, first, first_count, first_price, out);
    if (req->dry_run) { /* the plan only: nothing recorded, nothing queued */
        cJSON_Delete(offers);
        goto done;
    }
    e = pod_enqueue_create(a, db, c, out, offers, f->max_price, req->hook, &refusal);
    cJSON_Delete(offers);
    if (e == GB_ERR_PAYMENT)
        fail(why, 402, refusal.code, "%s", refusal.message);
    else if (e)
        why->what = "pod";
    else
        GB_INFO("placement", "%s queued on %s with %d candidate(s)", out->id, first->id,
                cJSON_GetArraySize(attempts));
done:
    if (!e && req->rejected) {
        *req->rejected = reasons_json(skipped, all, rej, nrej);
        skipped = NULL;
    }
    cJSON_Delete(skipped);
    if (e) {
        pod_rec_clear(out);
        memset(out, 0, sizeof(*out));
        cJSON_Delete(attempts); /* nothing was queued */
        attempts = NULL;
    }
    *attempts_out = attempts;
    pod_ctx_free(&own);
    free(all);
    free(hits);
    free(rej);
    return e;
}

void placement_error_clear(placement_error *why)
{
    if (!why) return;
    cJSON_Delete(why->reasons);
    why->reasons = NULL;
}
