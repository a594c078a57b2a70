/* api_offers.c: GET /api/volt/offers: every provider's normalized live offers, filtered and
 * ranked (price by default), with explain=true listing each rejected offer and why; and
 * PUT /api/volt/account for the account's spend limit. */
#include <stdlib.h>
#include <string.h>

#include "broker/placement/blocklist.h"
#include "broker/api/handlers.h"
#include "broker/placement/offers.h"
#include "broker/store/stores.h"
#include "broker/placement/placement.h"
#include "broker/placement/rank.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"

static cJSON *offer_json(const prov_offer *o, const rank_hit *h, int count, int64_t now)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", o->id);
    cJSON_AddStringToObject(j, "provider", o->provider);
    api_add_gpu_type(j, o->gpu_type);
    cJSON_AddStringToObject(j, "gpu_name", o->gpu_name);
    cJSON_AddNumberToObject(j, "gpu_count", count);
    cJSON_AddNumberToObject(j, "gpu_vram_gb", o->gpu_vram_gb);
    cJSON_AddNumberToObject(j, "vcpu", o->vcpu);
    cJSON_AddNumberToObject(j, "ram_gb", o->ram_gb);
    cJSON_AddStringToObject(j, "location", o->location);
    gb_json_add_money(j, "price_per_hour", h->price);
    gb_json_add_money(j, "price_per_gpu_hour", count > 0 ? h->price / count : h->price);
    /* extension: what a pod on it costs the user, the provider's margin added (what
     * max_price and the ranking compare) */
    gb_json_add_money(j, "cost_per_hour", h->cost);
    cJSON_AddNumberToObject(j, "available_gpus",
                            o->available_gpus ? o->available_gpus : o->available * o->gpu_count);
    cJSON_AddBoolToObject(j, "confidential", o->confidential);
    cJSON_AddStringToObject(j, "tier", o->tier);
    gb_json_add_time(j, "fetched_at", o->fetched_at);
    cJSON_AddNumberToObject(j, "age_s", o->fetched_at ? (double)((now - o->fetched_at) / 1000) : 0);
    return j;
}

void h_offers_list(api_req *rq, api_resp *rs)
{
    rank_query q = {api_query(rq, "gpu"),          api_query(rq, "min_vram_gb"),
                    api_query(rq, "gpu_count"),    api_query(rq, "max_price"),
                    api_query(rq, "confidential"), api_query(rq, "tier"),
                    api_query(rq, "provider"),     api_query(rq, "exclude_provider"),
                    api_query(rq, "location"),     api_query(rq, "sort"),
                    api_query(rq, "limit")};
    const char *ex = api_query(rq, "explain");
    int explain = ex && (strcmp(ex, "true") == 0 || strcmp(ex, "1") == 0);
    if (ex && !explain && strcmp(ex, "false") != 0 && strcmp(ex, "0") != 0) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'explain' must be true or false");
        return;
    }
    gb_errmsg err = "";
    rank_filter f;
    if (rank_filter_from_query(&q, &f, err) != GB_OK) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        return;
    }
    if (placement_filter_margins(&f, rq->app->cfg.metering_margins) != GB_OK) {
        api_error(rs, 500, "INTERNAL_ERROR", "metering.margins cannot be read");
        return;
    }
    f.now_ms = gb_now_ms();
    prov_offer *all = NULL;
    size_t n = 0, nhits = 0, nfit = 0, nrej = 0;
    rank_hit *hits = NULL;
    rank_reject *rej = NULL;
    cJSON *status = cJSON_CreateArray();
    gb_err e = offers_all(rq->app, &all, &n, status);
    if (!e)
        e = rank_offers(all, n, &f, blocklist_until, rq->app->blocked, &hits, &nhits, &nfit,
                        explain ? &rej : NULL, explain ? &nrej : NULL);
    if (e) {
        cJSON_Delete(status);
        free(all);
        api_error_from(rs, e, "offers");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "offers");
    for (size_t i = 0; i < nhits; i++) {
        const prov_offer *x = &all[hits[i].index];
        int count = f.gpu_count ? f.gpu_count : x->gpu_count;
        cJSON_AddItemToArray(arr, offer_json(x, &hits[i], count, f.now_ms));
    }
    cJSON_AddNumberToObject(o, "total", (double)nhits);
    cJSON_AddNumberToObject(o, "matched", (double)nfit);
    cJSON_AddNumberToObject(o, "considered", (double)n);
    cJSON_AddItemToObject(o, "providers", status);
    if (explain) {
        cJSON *r = cJSON_AddArrayToObject(o, "rejected");
        for (size_t i = 0; i < nrej; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "offer", all[rej[i].index].id);
            cJSON_AddStringToObject(x, "reason", rej[i].reason);
            cJSON_AddItemToArray(r, x);
        }
    }
    free(all);
    free(hits);
    free(rej);
    api_json(rs, 200, o);
}
