/* rank_bench.c: times placement decisions (rank_offers, cheapest fit, no reasons) over 100,000
 * synthetic offers against a baseline linear scan for the cheapest offer of the GPU type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/placement/rank.h"
#include "common/str.h"

#define NOW INT64_C(1700000000000)

static uint64_t rng = UINT64_C(0x2545f4914f6cdd1d);
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * UINT64_C(2685821657736338717);
}
static int rnd_int(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static const char *const PROVIDERS[] = {"targon", "volt", "lium", "runpod", "vast", "primus"};
#define NPROV 6

/* A realistic mix: type, VRAM, weight (per mille), per-GPU price range in cents. */
static const struct {
    const char *type;
    int vram, weight, lo, hi;
} GPUS[] = {
    {"H100", 80, 280, 180, 350},     {"H200", 141, 100, 250, 450},   {"B200", 180, 50, 400, 700},
    {"A100-80GB", 80, 150, 90, 180}, {"A100-40GB", 40, 40, 60, 120}, {"RTX4090", 24, 200, 25, 70},
    {"RTX5090", 32, 50, 50, 110},    {"L40S", 48, 90, 70, 130},      {"MI300X", 192, 40, 200, 380},
};
#define NGPU (sizeof(GPUS) / sizeof(GPUS[0]))

static const char *const LOCATIONS[] = {
    "us-east", "us-west", "US-Central", "eu-central", "EU-North (Stockholm)",
    "Poland",  "Canada",  "Japan"};

static void make_offers(prov_offer *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        prov_offer *x = &o[i];
        memset(x, 0, sizeof(*x));
        int p = rnd_int(NPROV), w = rnd_int(1000), g = 0;
        while (g + 1 < (int)NGPU && w >= GPUS[g].weight)
            w -= GPUS[g++].weight;
        snprintf(x->id, sizeof(x->id), "%s:offer-%zu", PROVIDERS[p], i);
        gb_strlcpy(x->provider, PROVIDERS[p], sizeof(x->provider));
        snprintf(x->offer_id, sizeof(x->offer_id), "offer-%zu", i);
        gb_strlcpy(x->gpu_type, GPUS[g].type, sizeof(x->gpu_type));
        gb_strlcpy(x->gpu_name, GPUS[g].type, sizeof(x->gpu_name));
        gb_money ppg = (gb_money)(GPUS[g].lo + rnd_int(GPUS[g].hi - GPUS[g].lo + 1)) * 10000;
        x->gpu_vram_gb = GPUS[g].vram;
        gb_strlcpy(x->location, LOCATIONS[rnd_int(8)], sizeof(x->location));
        x->fetched_at = NOW - rnd_int(90000);
        if (p == 1) { /* Volt-like: one GPU of a machine, serves N */
            x->gpu_count = 1;
            x->available_gpus = rnd_int(9);
            x->available = x->available_gpus;
        } else {
            static const int counts[] = {1, 1, 2, 4, 8, 8};
            x->gpu_count = counts[rnd_int(6)];
            x->available = rnd_int(4) == 0 ? 0 : 1 + rnd_int(3);
            x->available_gpus = x->available * x->gpu_count;
        }
        x->price_per_gpu_hour = ppg;
        x->price_per_hour = ppg * x->gpu_count;
        x->confidential = p == 0 || (p == 5 && rnd_int(2));
        gb_strlcpy(x->tier,
                   p == 0                   ? "secure"
                   : (p == 2 && rnd_int(2)) ? "spot"
                                            : "secure",
                   sizeof(x->tier));
        x->vcpu = 16 * x->gpu_count;
        x->ram_gb = 128 * x->gpu_count;
    }
}

static void make_filter(rank_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->confidential = -1;
    f->now_ms = NOW;
    f->limit = 1;
    f->sort = RANK_SORT_PRICE;
    int g = rnd_int(1000), k = 0;
    while (k + 1 < (int)NGPU && g >= GPUS[k].weight)
        g -= GPUS[k++].weight;
    gb_strlcpy(f->gpu_type, GPUS[k].type, sizeof(f->gpu_type));
    static const int counts[] = {0, 1, 1, 2, 4, 8};
    f->gpu_count = counts[rnd_int(6)];
    if (rnd_int(2))
        f->max_price = (gb_money)(GPUS[k].hi * (f->gpu_count ? f->gpu_count : 1)) * 9000;
    if (rnd_int(5) == 0) f->confidential = rnd_int(2);
    if (rnd_int(5) == 0) gb_strlcpy(f->tier, "secure", sizeof(f->tier));
    if (rnd_int(4) == 0) {
        f->nproviders = 2;
        gb_strlcpy(f->providers[0], PROVIDERS[rnd_int(NPROV)], 32);
        gb_strlcpy(f->providers[1], PROVIDERS[rnd_int(NPROV)], 32);
    } else if (rnd_int(4) == 0) {
        f->nexclude = 1;
        gb_strlcpy(f->exclude[0], PROVIDERS[rnd_int(NPROV)], 32);
    }
    if (rnd_int(6) == 0) gb_strlcpy(f->location, rnd_int(2) ? "us" : "eu", sizeof(f->location));
    if (rnd_int(3) == 0) f->max_age_ms = 60000;
}

/* The least work any placement must do: the cheapest offer of the GPU type. The type is
 * compared inline over strlen+1 bytes, as rank_offers does, so that the ratio measures the
 * filtering and ranking rather than a strcmp call. */
static gb_money baseline(const prov_offer *o, size_t n, const char *type, size_t *best)
{
    gb_money min = INT64_MAX;
    size_t tlen = strlen(type) + 1;
    *best = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < tlen && o[i].gpu_type[j] == type[j])
            j++;
        if (j < tlen) continue;
        if (o[i].price_per_hour < min) {
            min = o[i].price_per_hour;
            *best = i;
        }
    }
    return min;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void stats(int64_t *ns, int k, double *mean_us, double *p99_us)
{
    double sum = 0;
    for (int i = 0; i < k; i++)
        sum += (double)ns[i];
    qsort(ns, (size_t)k, sizeof(*ns), cmp_i64);
    int idx = (k * 99 + 99) / 100 - 1; /* nearest rank */
    if (idx < 0) idx = 0;
    if (idx >= k) idx = k - 1;
    *mean_us = sum / k / 1000.0;
    *p99_us = (double)ns[idx] / 1000.0;
}

int main(int argc, char **argv)
{
    int rc = 1;
    size_t n = 100000;
    int k = 200;
    int v;
    if (argc > 1 && gb_parse_int(argv[1], 1, 10000000, &v) == 0) n = (size_t)v;
    if (argc > 2 && gb_parse_int(argv[2], 1, 1000000, &v) == 0) k = v;
    prov_offer *offers = calloc(n, sizeof(*offers));
    rank_filter *filters = calloc((size_t)k, sizeof(*filters));
    int64_t *t_rank = calloc((size_t)k, sizeof(int64_t));
    int64_t *t_base = calloc((size_t)k, sizeof(int64_t));
    if (!offers || !filters || !t_rank || !t_base) goto fail;
    make_offers(offers, n);
    for (int i = 0; i < k; i++)
        make_filter(&filters[i]);
    /* GB_BENCH_MARGINS=1: three providers with a margin (metering.margins), the same filters */
    const char *mg = getenv("GB_BENCH_MARGINS");
    if (mg && strcmp(mg, "1") == 0)
        for (int i = 0; i < k; i++) {
            static const char *const names[] = {"volt", "lium", "primus"};
            static const int bps[] = {1000, 500, 1250};
            for (int m = 0; m < 3; m++) {
                gb_strlcpy(filters[i].margin_provider[m], names[m], 32);
                filters[i].margin_bp[m] = bps[m];
            }
            filters[i].nmargins = 3;
        }

    /* warm up: page in the offers, the allocator, the branch predictors */
    for (int i = 0; i < 5; i++) {
        rank_hit *h = NULL;
        size_t nh = 0, fit = 0, b;
        if (rank_offers(offers, n, &filters[i % k], NULL, NULL, &h, &nh, &fit, NULL, NULL) != GB_OK)
            goto fail;
        free(h);
        baseline(offers, n, filters[i % k].gpu_type, &b);
    }

    size_t found = 0, fits = 0;
    uint64_t sink = 0;
    for (int i = 0; i < k; i++) {
        const rank_filter *f = &filters[i];
        rank_hit *h = NULL;
        size_t nh = 0, fit = 0, b;
        int64_t t0 = now_ns();
        gb_err e = rank_offers(offers, n, f, NULL, NULL, &h, &nh, &fit, NULL, NULL);
        int64_t t1 = now_ns();
        gb_money min = baseline(offers, n, f->gpu_type, &b);
        int64_t t2 = now_ns();
        if (e != GB_OK) {
            fprintf(stderr, "rank_offers failed: %d\n", (int)e);
            free(h);
            goto fail;
        }
        /* sanity: the fits are a subset of the type's offers (not cheaper per unit with no
         * count, since then the price is the offer's own) */
        if (nh && f->gpu_count == 0 && h[0].price < min) {
            fprintf(stderr, "decision %d: rank found $%lld below the baseline's $%lld\n", i,
                    (long long)h[0].price, (long long)min);
            free(h);
            goto fail;
        }
        t_rank[i] = t1 - t0;
        t_base[i] = t2 - t1;
        found += nh;
        fits += fit;
        sink += nh ? h[0].index : 0;
        sink += b;
        free(h);
    }
    double rm, rp, bm, bp;
    stats(t_rank, k, &rm, &rp);
    stats(t_base, k, &bm, &bp);
    fprintf(stderr, "(%zu of %d decisions found an offer; %zu fits on average; sink %llu)\n", found,
            k, fits / (size_t)k, (unsigned long long)(sink & 1));
    printf("rank: %zu offers, %d decisions, mean %.0f us, p99 %.0f us; baseline scan mean %.0f "
           "us, p99 %.0f us; ratio %.2f\n",
           n, k, rm, rp, bm, bp, bm > 0 ? rm / bm : 0.0);
    rc = 0;
fail:
    free(offers);
    free(filters);
    free(t_rank);
    free(t_base);
    return rc;
}
