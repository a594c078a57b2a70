/* fuzz_offers_query.c: the query string of GET /api/volt/offers (and placement requests):
 * the input is read as "name=value&name=value" (as the server hands the decoded arguments
 * over), turned into a filter by rank_filter_from_query, and a valid filter then ranks a
 * few fixed offers with reasons for every rejection. Every offer must end up ranked or
 * rejected. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/placement/rank.h"

static prov_offer g_offers[4];

static void offer(prov_offer *o, const char *prov, const char *gpu, int count, int vram,
                  gb_money price, const char *tier, const char *loc)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->provider, sizeof(o->provider), "%s", prov);
    snprintf(o->offer_id, sizeof(o->offer_id), "%s-%d", gpu, count);
    snprintf(o->id, sizeof(o->id), "%s:%s", o->provider, o->offer_id);
    snprintf(o->gpu_type, sizeof(o->gpu_type), "%s", gpu);
    o->gpu_count = count;
    o->gpu_vram_gb = vram;
    o->price_per_hour = price;
    o->price_per_gpu_hour = price / count;
    o->available = 3;
    o->available_gpus = 3 * count;
    snprintf(o->tier, sizeof(o->tier), "%s", tier);
    snprintf(o->location, sizeof(o->location), "%s", loc);
    o->fetched_at = 1700000000000;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    offer(&g_offers[0], "targon", "H100", 1, 80, 2490000, "secure", "US-East");
    offer(&g_offers[1], "lium", "H100", 8, 80, 17600000, "spot", "EU");
    offer(&g_offers[2], "volt", "RTX4090", 1, 24, 390000, "", "");
    offer(&g_offers[3], "runai", "A100-80GB", 2, 80, 3000000, "secure", "us-west-2");
    g_offers[3].confidential = true;
    return 0;
}

/* Points the rank_query member named name (len n) at value; unknown names are ignored. */
static void set(rank_query *q, const char *name, size_t n, const char *value)
{
    static const char *const names[] = {
        "gpu",      "min_vram_gb",      "gpu_count", "max_price", "confidential", "tier",
        "provider", "exclude_provider", "location",  "sort",      "limit"};
    const char **slots[] = {&q->gpu,          &q->min_vram_gb, &q->gpu_count, &q->max_price,
                            &q->confidential, &q->tier,        &q->provider,  &q->exclude_provider,
                            &q->location,     &q->sort,        &q->limit};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0) *slots[i] = value;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    rank_query q;
    memset(&q, 0, sizeof(q));
    char *p = s;
    while (p && *p) {
        char *amp = strchr(p, '&');
        if (amp) *amp = '\0';
        char *eq = strchr(p, '=');
        if (eq) {
            *eq = '\0';
            set(&q, p, (size_t)(eq - p), eq + 1);
        }
        p = amp ? amp + 1 : NULL;
    }
    rank_filter f;
    gb_errmsg err;
    if (rank_filter_from_query(&q, &f, err) == GB_OK) {
        f.now_ms = 1700000000000;
        rank_hit *hits = NULL;
        rank_reject *rej = NULL;
        size_t nh = 0, nr = 0, fit = 0;
        if (rank_offers(g_offers, 4, &f, NULL, NULL, &hits, &nh, &fit, &rej, &nr) == GB_OK) {
            if (fit + nr != 4 || nh > fit) abort();
        }
        free(hits);
        free(rej);
    } else if (err[0] == '\0') {
        abort(); /* a refusal always names the parameter */
    }
    free(s);
    return 0;
}
