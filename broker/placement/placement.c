/* placement.c: POST /api/volt/pods with "provider":"auto": filter and rank every provider's
 * live offers (rank.c), then walk the ranked list: a create that fails with no capacity, a
 * 5xx or a timeout blocks that offer for placement.block_ms and the next one is tried, up to
 * placement.max_attempts. Every attempt becomes an event of the pod that is finally placed;
 * no fitting offer answers 409 NO_OFFER with the reasons, all attempts failing 502
 * PLACEMENT_FAILED with each attempt's error. */
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

int placement_filter_from_body(const cJSON *body, int gpu_count, rank_filter *f, char *err)
{
    memset(f, 0, sizeof(*f));
    f->confidential = -1;
    f->gpu_count = gpu_count;
    const char *gpu = NULL, *tier = NULL, *loc = NULL;
    int64_t vram = 0;
    bool conf = false;
    gb_err ce;
    if (gb_json_str(body, "gpu_type", 1, 31, false, &gpu, err) == GB_ERR_INVALID ||
        gb_json_money(body, "max_price_per_hour", 1, GB_MONEY_MAX / 1000, false, &f->max_price, err) == GB_ERR_INVALID ||
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
        gb_snprintf(err, GB_JSON_ERR_MAX, "field 'gpu_type' (or 'min_vram_gb') is required with \"provider\":\"auto\"");
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

/* Errors worth trying elsewhere and worth blocking the offer for. */
static int blocks(gb_err e)
{
    return e == GB_ERR_CAPACITY || e == GB_ERR_PROVIDER || e == GB_ERR_TIMEOUT || e == GB_ERR_HTTP ||
           e == GB_ERR_LIMIT;
}

static void no_offer(api_resp *rs, const prov_offer *all, const rank_reject *rej, size_t nrej)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddTrueToObject(o, "error");
    cJSON_AddNumberToObject(o, "status", 409);
    char msg[256];
    snprintf(msg, sizeof(msg), "No offer fits the request (%zu offers considered, every one rejected)", nrej);
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddStringToObject(o, "code", "NO_OFFER");
    cJSON *arr = cJSON_AddArrayToObject(o, "reasons");
    for (size_t i = 0; i < nrej && i < 100; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "offer", all[rej[i].index].id);
        cJSON_AddStringToObject(r, "reason", rej[i].reason);
        cJSON_AddItemToArray(arr, r);
    }
    api_json(rs, 409, o);
}

void pod_place(api_req *rq, api_resp *rs, const cJSON *body, create_ctx *c)
{
    char err[PROV_ERR_MAX] = "";
    rank_filter f;
    prov_offer *all = NULL;
    size_t n = 0, nhits = 0, nrej = 0;
    rank_hit *hits = NULL;
    rank_reject *rej = NULL;
    cJSON *attempts = cJSON_CreateArray();
    pod_rec p;
    memset(&p, 0, sizeof(p));
    if (placement_filter_from_body(body, c->gpu_count, &f, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    gb_err e = offers_all(rq->app, &all, &n, NULL);
    if (!e) e = rank_offers(all, n, &f, blocklist_until, rq->app->blocked, &hits, &nhits, NULL, &rej, &nrej);
    if (e) {
        api_error_from(rs, e, "offers");
        goto done;
    }
    if (nhits == 0) {
        no_offer(rs, all, rej, nrej);
        goto done;
    }
    if (pod_spend_check(rq, rs, hits[0].price)) goto done;
    int max = rq->app->cfg.placement_max_attempts;
    for (size_t i = 0; i < nhits && (int)i < max; i++) {
        const prov_offer *o = &all[hits[i].index];
        prov_adapter *ad = registry_get(rq->app, o->provider);
        if (!ad) continue;
        int count = f.gpu_count ? f.gpu_count : (o->gpu_count > 0 ? o->gpu_count : 1);
        err[0] = '\0';
        e = pod_launch(rq, c, ad, o, count, hits[i].price, f.max_price, &p, err);
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "offer", o->id);
        gb_json_add_money(a, "price_per_hour", hits[i].price);
        if (!e) {
            cJSON_AddItemToArray(attempts, a);
            if ((e = pod_record(rq, ad, &p, attempts))) {
                api_error_from(rs, e, "pod");
                goto done;
            }
            GB_INFO("placement", "%s placed on %s after %d attempt(s)", p.id, o->id, cJSON_GetArraySize(attempts));
            cJSON *out = pod_json(&p, p.created_at, 0);
            cJSON_AddItemToObject(out, "attempts", cJSON_Duplicate(attempts, 1));
            api_json(rs, 201, out);
            goto done;
        }
        cJSON_AddStringToObject(a, "error", err[0] ? err : gb_strerror(e));
        cJSON_AddItemToArray(attempts, a);
        if (blocks(e)) {
            blocklist_add(rq->app->blocked, o->id, gb_now_ms() + rq->app->cfg.placement_block_ms);
            offer_cache_forget_provider(rq->app, o->provider);
        }
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddTrueToObject(o, "error");
    cJSON_AddNumberToObject(o, "status", 502);
    char msg[200];
    snprintf(msg, sizeof(msg), "Every placement attempt failed (%d tried)", cJSON_GetArraySize(attempts));
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddStringToObject(o, "code", "PLACEMENT_FAILED");
    cJSON_AddItemToObject(o, "attempts", attempts);
    attempts = NULL;
    api_json(rs, 502, o);
done:
    pod_rec_clear(&p);
    cJSON_Delete(attempts);
    free(all);
    free(hits);
    free(rej);
}
