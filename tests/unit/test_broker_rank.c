/* test_broker_rank.c: placement filtering and ranking over a hand-made offer set (every filter,
 * every sort, reasons, blocked and stale offers, limits), the query parser, and a cross-check
 * of 100,000 random offers against a naive reference implementation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/placement/placement.h"
#include "broker/placement/rank.h"
#include "common/str.h"

#define NOW INT64_C(1700000000000) /* 2023-11-14T22:13:20Z */
#define USD(x) ((gb_money)((x)*1000000.0 + 0.5))

/* ---- the hand-made offer set ---- */

typedef struct {
    const char *provider, *oid, *gpu;
    int count, vram;
    double price, ppg;
    int avail, avail_gpus;
    int conf;
    const char *tier, *loc;
} spec;

static const spec SET[] = {
    /* 0 */ {"targon", "h100-small", "H100", 1, 80, 2.50, 2.50, 3, 3, 1, "secure", "us-east"},
    /* 1 */ {"targon", "h100-large", "H100", 8, 80, 20.00, 2.50, 1, 8, 1, "secure", "us-east"},
    /* 2 */ {"targon", "h200-small", "H200", 1, 141, 3.50, 3.50, 0, 0, 1, "secure", "us-west"},
    /* 3 */ {"volt", "m1", "H100", 1, 80, 2.20, 2.20, 4, 4, 0, "", "EU-Central (Frankfurt)"},
    /* 4 */ {"volt", "m2", "RTX4090", 1, 24, 0.40, 0.40, 8, 8, 0, "", "eu-north"},
    /* 5 */ {"volt", "m3", "A100-80GB", 1, 80, 1.20, 1.20, 2, 2, 1, "", "us-central"},
    /* 6 */ {"lium", "e1", "H100", 8, 80, 16.00, 2.00, 1, 8, 0, "spot", "Poland"},
    /* 7 */ {"lium", "e2", "H100", 2, 80, 4.80, 2.40, 1, 2, 0, "secure", "Poland"},
    /* 8 */ {"lium", "e3", "RTX4090", 4, 24, 1.60, 0.40, 0, 0, 0, "spot", "Romania"},
    /* 9 */ {"lium", "e4", "H200", 8, 141, 28.00, 3.50, 1, 8, 0, "secure", "US"},
    /* 10 */ {"sim", "x1", "H100", 1, 80, 2.20, 2.20, 1, 1, 0, "", "us-east"},
    /* 11 */ {"runpod", "a", "H100", 2, 80, 4.40, 2.20, 2, 4, 0, "secure", "CA"},
};
#define NSET (sizeof(SET) / sizeof(SET[0]))

static prov_offer g_offers[NSET];

static void fill(prov_offer *o, const spec *s)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->id, sizeof(o->id), "%s:%s", s->provider, s->oid);
    gb_strlcpy(o->provider, s->provider, sizeof(o->provider));
    gb_strlcpy(o->offer_id, s->oid, sizeof(o->offer_id));
    gb_strlcpy(o->gpu_type, s->gpu, sizeof(o->gpu_type));
    gb_strlcpy(o->gpu_name, s->gpu, sizeof(o->gpu_name));
    o->gpu_count = s->count;
    o->gpu_vram_gb = s->vram;
    o->price_per_hour = USD(s->price);
    o->price_per_gpu_hour = USD(s->ppg);
    o->available = s->avail;
    o->available_gpus = s->avail_gpus;
    o->confidential = s->conf != 0;
    gb_strlcpy(o->tier, s->tier, sizeof(o->tier));
    gb_strlcpy(o->location, s->loc, sizeof(o->location));
    o->fetched_at = NOW - 1000;
}

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSET; i++)
        fill(&g_offers[i], &SET[i]);
    return 0;
}

static void base(rank_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->confidential = -1;
    f->now_ms = NOW;
}

/* The result of one rank_offers call over the set, checked for consistency. */
typedef struct {
    rank_hit *hits;
    size_t nhits, nfit;
    rank_reject *rej;
    size_t nrej;
    const char *reason[NSET]; /* NULL for a hit */
} result;

static void run_with(const rank_filter *f, rank_blocked_fn fn, void *ud, result *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(
        rank_offers(g_offers, NSET, f, fn, ud, &r->hits, &r->nhits, &r->nfit, &r->rej, &r->nrej),
        GB_OK);
    /* every offer is in exactly one of hits (or cut by limit) or rejects */
    assert_int_equal(r->nfit + r->nrej, NSET);
    assert_true(r->nhits <= r->nfit);
    int seen[NSET] = {0};
    for (size_t i = 0; i < r->nhits; i++) {
        assert_true(r->hits[i].index < NSET);
        seen[r->hits[i].index]++;
    }
    for (size_t i = 0; i < r->nrej; i++) {
        assert_true(r->rej[i].index < NSET);
        assert_true(r->rej[i].reason[0] != '\0');
        seen[r->rej[i].index]++;
        r->reason[r->rej[i].index] = r->rej[i].reason;
    }
    for (size_t i = 0; i < NSET; i++)
        assert_true(seen[i] <= 1);
    if (r->nhits == r->nfit)
        for (size_t i = 0; i < NSET; i++)
            assert_int_equal(seen[i], 1);
    /* the fast path (no reasons) gives the same hits */
    rank_hit *h2 = NULL;
    size_t n2 = 0, fit2 = 0;
    assert_int_equal(rank_offers(g_offers, NSET, f, fn, ud, &h2, &n2, &fit2, NULL, NULL), GB_OK);
    assert_int_equal(n2, r->nhits);
    assert_int_equal(fit2, r->nfit);
    for (size_t i = 0; i < n2; i++) {
        assert_int_equal(h2[i].index, r->hits[i].index);
        assert_int_equal(h2[i].price, r->hits[i].price);
    }
    free(h2);
}

static void run(const rank_filter *f, result *r)
{
    run_with(f, NULL, NULL, r);
}

static void done(result *r)
{
    free(r->hits);
    free(r->rej);
}

static void expect_order(const result *r, const size_t *want, size_t n)
{
    if (r->nhits != n) {
        fprintf(stderr, "got %zu hits:", r->nhits);
        for (size_t i = 0; i < r->nhits; i++)
            fprintf(stderr, " %zu", r->hits[i].index);
        fprintf(stderr, "\n");
    }
    assert_int_equal(r->nhits, n);
    for (size_t i = 0; i < n; i++) {
        if (r->hits[i].index != want[i])
            fprintf(stderr, "position %zu: got %zu want %zu\n", i, r->hits[i].index, want[i]);
        assert_int_equal(r->hits[i].index, want[i]);
    }
}

static void expect_reason(const result *r, size_t idx, const char *text)
{
    if (!r->reason[idx] || !strstr(r->reason[idx], text))
        fprintf(stderr, "offer %zu: reason '%s', want '%s'\n", idx,
                r->reason[idx] ? r->reason[idx] : "(none: a hit)", text);
    assert_non_null(r->reason[idx]);
    assert_non_null(strstr(r->reason[idx], text));
}

#define ORDER(r, ...)                                                                              \
    do {                                                                                           \
        static const size_t w_[] = {__VA_ARGS__};                                                  \
        expect_order(r, w_, sizeof(w_) / sizeof(w_[0]));                                           \
    } while (0)

/* ---- filters alone ---- */

static void test_no_filter(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    result r;
    run(&f, &r);
    /* by price; 10 and 3 tie at $2.20: "sim:x1" < "volt:m1" */
    ORDER(&r, 4, 5, 10, 3, 0, 11, 7, 6, 1, 9);
    assert_int_equal(r.nfit, 10);
    expect_reason(&r, 2, "no capacity (0 available)");
    expect_reason(&r, 8, "no capacity (0 available)");
    assert_int_equal(r.hits[0].price, USD(0.40));
    assert_int_equal(r.hits[9].price, USD(28.00));
    done(&r);
}

static void test_gpu_type(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    gb_strlcpy(f.gpu_type, "H100", sizeof(f.gpu_type));
    result r;
    run(&f, &r);
    ORDER(&r, 10, 3, 0, 11, 7, 6, 1);
    expect_reason(&r, 2, "gpu H200 is not H100");
    expect_reason(&r, 4, "gpu RTX4090 is not H100");
    expect_reason(&r, 5, "gpu A100-80GB is not H100");
    expect_reason(&r, 8, "gpu RTX4090 is not H100"); /* the first failing reason, not capacity */
    expect_reason(&r, 9, "gpu H200 is not H100");
    done(&r);
    /* an unknown type matches nothing */
    gb_strlcpy(f.gpu_type, "TPU-V5", sizeof(f.gpu_type));
    run(&f, &r);
    assert_int_equal(r.nhits, 0);
    assert_null(r.hits);
    expect_reason(&r, 0, "gpu H100 is not TPU-V5");
    done(&r);
}

static void test_vram(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    f.min_vram_gb = 100;
    result r;
    run(&f, &r);
    ORDER(&r, 9);
    expect_reason(&r, 2, "no capacity");
    expect_reason(&r, 0, "vram 80 GB per GPU below minimum 100 GB");
    expect_reason(&r, 4, "vram 24 GB per GPU below minimum 100 GB");
    done(&r);
    f.min_vram_gb = 80; /* equal passes */
    run(&f, &r);
    ORDER(&r, 5, 10, 3, 0, 11, 7, 6, 1, 9);
    done(&r);
}

static void test_gpu_count(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    f.gpu_count = 2;
    result r;
    run(&f, &r);
    /* 11 (2 GPUs, $4.40) ties volt:m1 serving 2 x $2.20; "runpod:a" < "volt:m1" */
    ORDER(&r, 4, 5, 11, 3, 7, 0);
    assert_int_equal(r.hits[0].price, USD(0.80)); /* 2 x $0.40 */
    assert_int_equal(r.hits[1].price, USD(2.40));
    assert_int_equal(r.hits[2].price, USD(4.40));
    assert_int_equal(r.hits[3].price, USD(4.40));
    assert_int_equal(r.hits[4].price, USD(4.80));
    assert_int_equal(r.hits[5].price, USD(5.00));
    expect_reason(&r, 1, "offer has 8 GPUs, not 2");
    expect_reason(&r, 6, "offer has 8 GPUs, not 2");
    expect_reason(&r, 8, "offer has 4 GPUs, not 2");
    expect_reason(&r, 2, "no capacity (0 GPUs available, 2 requested)");
    expect_reason(&r, 10, "no capacity (1 GPU available, 2 requested)");
    done(&r);

    /* 4 GPUs: per-GPU offers need 4 available GPUs */
    f.gpu_count = 4;
    run(&f, &r);
    ORDER(&r, 4, 3); /* 4 x $0.40 (8 free), volt:m1 4 x $2.20 (4 free) */
    assert_int_equal(r.hits[0].price, USD(1.60));
    assert_int_equal(r.hits[1].price, USD(8.80));
    expect_reason(&r, 0, "no capacity (3 GPUs available, 4 requested)");
    expect_reason(&r, 5, "no capacity (2 GPUs available, 4 requested)");
    expect_reason(&r, 8, "no capacity (0 available)"); /* a 4-GPU unit, none available */
    expect_reason(&r, 7, "offer has 2 GPUs, not 4");
    done(&r);

    /* 1 GPU: only single-GPU offers, at their own price */
    f.gpu_count = 1;
    run(&f, &r);
    ORDER(&r, 4, 5, 10, 3, 0);
    done(&r);

    /* a 1-GPU offer without a per-GPU price cannot serve 2 */
    prov_offer saved = g_offers[3];
    g_offers[3].price_per_gpu_hour = 0;
    f.gpu_count = 2;
    gb_strlcpy(f.gpu_type, "H100", sizeof(f.gpu_type));
    run(&f, &r);
    ORDER(&r, 11, 7, 0);
    expect_reason(&r, 3, "offer has 1 GPU, not 2 (no per-GPU price)");
    done(&r);
    g_offers[3] = saved;
}

static void test_max_price(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    gb_strlcpy(f.gpu_type, "H100", sizeof(f.gpu_type));
    f.max_price = USD(2.20); /* equal passes */
    result r;
    run(&f, &r);
    ORDER(&r, 10, 3);
    expect_reason(&r, 0, "price $2.50/h above max $2.20/h");
    expect_reason(&r, 1, "price $20.00/h above max $2.20/h");
    done(&r);
    f.max_price = USD(2.20) - 1; /* one micro-dollar less: both fail */
    run(&f, &r);
    assert_int_equal(r.nhits, 0);
    expect_reason(&r, 3, "price $2.20/h above max $2.199999/h");
    expect_reason(&r, 10, "price $2.20/h above max $2.199999/h");
    done(&r);
    /* per-GPU serving: the cap applies to the total */
    f.gpu_count = 2;
    f.max_price = USD(4.50);
    run(&f, &r);
    ORDER(&r, 11, 3);
    expect_reason(&r, 0, "price $5.00/h (2 x $2.50) above max $4.50/h");
    expect_reason(&r, 7, "price $4.80/h above max $4.50/h");
    done(&r);
    f.max_price = USD(4.40) + 1;
    f.gpu_count = 0;
    f.gpu_type[0] = '\0';
    g_offers[4].price_per_hour = USD(4.40) + 2;
    run(&f, &r);
    expect_reason(&r, 4, "price $4.400002/h above max $4.400001/h");
    done(&r);
    fill(&g_offers[4], &SET[4]);
}

/* With metering.margins the ranking and max_price use what the user pays: the provider's
 * price plus its margin. Hits keep the provider's price (what a pod locks) beside that cost. */
static void test_margins(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    gb_strlcpy(f.gpu_type, "H100", sizeof(f.gpu_type));
    f.gpu_count = 1;
    result r;
    run(&f, &r);
    ORDER(&r, 10, 3, 0); /* sim and volt at $2.20, targon at $2.50 */
    done(&r);
    assert_int_equal(placement_filter_margins(&f, "volt=20"), GB_OK);
    run(&f, &r);
    ORDER(&r, 10, 0, 3); /* volt's $2.20 costs $2.64 */
    assert_int_equal(r.hits[2].price, USD(2.20));
    assert_int_equal(r.hits[2].cost, USD(2.64));
    assert_int_equal(r.hits[0].cost, r.hits[0].price);
    done(&r);
    f.max_price = USD(2.64) - 1;
    run(&f, &r);
    ORDER(&r, 10, 0);
    expect_reason(&r, 3, "price $2.64/h with the volt margin above max $2.639999/h");
    done(&r);
    f.max_price = USD(2.64); /* equal passes */
    run(&f, &r);
    ORDER(&r, 10, 0, 3);
    done(&r);
    /* per GPU: the margin on the total */
    f.gpu_count = 2;
    f.max_price = USD(5.00);
    assert_int_equal(placement_filter_margins(&f, "targon=10,volt=0"), GB_OK);
    run(&f, &r);
    expect_reason(&r, 0, "price $5.50/h (2 x $2.50 with the targon margin) above max $5.00/h");
    done(&r);
    /* the list as metering.margins reads it */
    assert_int_equal(placement_filter_margins(&f, "lium=5,volt=12.5,lium=7"), GB_OK);
    assert_int_equal(f.nmargins, 2);
    assert_string_equal(f.margin_provider[0], "lium");
    assert_int_equal(f.margin_bp[0], 700); /* the last entry for a name wins */
    assert_int_equal(f.margin_bp[1], 1250);
    assert_int_equal(placement_filter_margins(&f, NULL), GB_OK);
    assert_int_equal(f.nmargins, 0);
    assert_int_equal(placement_filter_margins(&f, "volt"), GB_ERR_INVALID);
    assert_int_equal(placement_filter_margins(&f, "volt=1.234"), GB_ERR_INVALID);
    char many[512] = "";
    for (int i = 0; i <= RANK_MAX_PROVIDERS; i++) {
        size_t len = strlen(many);
        snprintf(many + len, sizeof(many) - len, "%sp%d=1", i ? "," : "", i);
    }
    assert_int_equal(placement_filter_margins(&f, many), GB_ERR_INVALID);
    assert_int_equal(f.nmargins, 0);
    assert_int_equal(placement_filter_margins(&f, "a-provider-name-of-32-characters=5"),
                     GB_ERR_INVALID);    /* longer than a provider name can be */
    f.nmargins = RANK_MAX_PROVIDERS + 1; /* a filter made by hand is checked too */
    rank_hit *h = NULL;
    size_t nh = 0;
    assert_int_equal(rank_offers(g_offers, NSET, &f, NULL, NULL, &h, &nh, NULL, NULL, NULL),
                     GB_ERR_INVALID);
    f.nmargins = 1;
    gb_strlcpy(f.margin_provider[0], "volt", sizeof(f.margin_provider[0]));
    f.margin_bp[0] = -1; /* a negative margin would undercut the price */
    assert_int_equal(rank_offers(g_offers, NSET, &f, NULL, NULL, &h, &nh, NULL, NULL, NULL),
                     GB_ERR_INVALID);
    f.margin_bp[0] = 100001; /* above 1000 % */
    assert_int_equal(rank_offers(g_offers, NSET, &f, NULL, NULL, &h, &nh, NULL, NULL, NULL),
                     GB_ERR_INVALID);
    f.margin_bp[0] = 100000;
    assert_int_equal(rank_offers(g_offers, NSET, &f, NULL, NULL, &h, &nh, NULL, NULL, NULL), GB_OK);
    free(h);
}

static void test_confidential(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    f.confidential = 1;
    result r;
    run(&f, &r);
    ORDER(&r, 5, 0, 1);
    expect_reason(&r, 2, "no capacity");
    expect_reason(&r, 3, "not confidential (confidential required)");
    done(&r);
    f.confidential = 0;
    run(&f, &r);
    ORDER(&r, 4, 10, 3, 11, 7, 6, 9);
    expect_reason(&r, 0, "confidential (non-confidential required)");
    expect_reason(&r, 5, "confidential (non-confidential required)");
    expect_reason(&r, 8, "no capacity");
    done(&r);
}

static void test_tier(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    gb_strlcpy(f.tier, "secure", sizeof(f.tier));
    result r;
    run(&f, &r);
    ORDER(&r, 0, 11, 7, 1, 9);
    expect_reason(&r, 6, "tier spot is not secure");
    expect_reason(&r, 3, "tier (none) is not secure");
    done(&r);
    gb_strlcpy(f.tier, "spot", sizeof(f.tier));
    run(&f, &r);
    ORDER(&r, 6);
    expect_reason(&r, 8, "no capacity");
    expect_reason(&r, 0, "tier secure is not spot");
    done(&r);
}

static void test_providers(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    gb_strlcpy(f.providers[0], "lium", 32);
    gb_strlcpy(f.providers[1], "VOLT", 32); /* names compare case-insensitively */
    f.nproviders = 2;
    result r;
    run(&f, &r);
    ORDER(&r, 4, 5, 3, 7, 6, 9);
    expect_reason(&r, 0, "provider targon not allowed (allowed: lium, VOLT)");
    expect_reason(&r, 10, "provider sim not allowed");
    expect_reason(&r, 8, "no capacity");
    done(&r);

    base(&f);
    gb_strlcpy(f.exclude[0], "lium", 32);
    gb_strlcpy(f.exclude[1], "sim", 32);
    f.nexclude = 2;
    run(&f, &r);
    ORDER(&r, 4, 5, 3, 0, 11, 1);
    expect_reason(&r, 6, "provider lium excluded");
    expect_reason(&r, 8, "provider lium excluded");
    expect_reason(&r, 10, "provider sim excluded");
    done(&r);

    /* allowed and excluded: the deny list wins; the allow list is checked first */
    gb_strlcpy(f.providers[0], "lium", 32);
    f.nproviders = 1;
    run(&f, &r);
    assert_int_equal(r.nhits, 0);
    expect_reason(&r, 6, "provider lium excluded");
    expect_reason(&r, 0, "provider targon not allowed");
    done(&r);
}

/* The location rule on its own: exact (any case), or the code before the first '-'. */
static void test_location_rule(void **state)
{
    (void)state;
    static const struct {
        const char *location, *want;
        int match;
    } cases[] = {
        {"US-East", "us", 1},         {"US", "us", 1},           {"us-west-2", "US", 1},
        {"FI-Uusimaa", "us", 0},      {"datarobot-us", "us", 0}, {"USA", "us", 0},
        {"US-East", "US-East", 1},    {"us-east", "US-EAST", 1}, {"US-East-1", "us-east", 0},
        {"US-East", "US-", 1},        {"US-East", " us ", 1},    {"FI-Uusimaa", "fi", 1},
        {"FI-Uusimaa", "uusimaa", 0}, {"Poland", "pol", 0},      {"", "us", 0},
        {"anything", "", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = rank_location_match(cases[i].location, cases[i].want);
        if (got != cases[i].match)
            fail_msg("location '%s' vs '%s': %d, want %d", cases[i].location, cases[i].want, got,
                     cases[i].match);
    }
}

static void test_location(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    gb_strlcpy(f.location, "eu", sizeof(f.location));
    result r;
    run(&f, &r);
    ORDER(&r, 4, 3);
    expect_reason(&r, 0, "location us-east does not match 'eu'");
    done(&r);
    gb_strlcpy(f.location, "eu-central (FRANKFURT)", sizeof(f.location)); /* exact, any case */
    run(&f, &r);
    ORDER(&r, 3);
    done(&r);
    gb_strlcpy(f.location, "FRANKFURT", sizeof(f.location)); /* no substring match */
    run(&f, &r);
    assert_int_equal(r.nhits, 0);
    expect_reason(&r, 3, "location EU-Central (Frankfurt) does not match 'FRANKFURT'");
    done(&r);
    gb_strlcpy(f.location, "us", sizeof(f.location));
    run(&f, &r);
    ORDER(&r, 5, 10, 0, 1, 9);
    expect_reason(&r, 2, "no capacity");
    expect_reason(&r, 11, "location CA does not match 'us'");
    done(&r);
    g_offers[11].location[0] = '\0';
    run(&f, &r);
    expect_reason(&r, 11, "location (unknown) does not match 'us'");
    done(&r);
    fill(&g_offers[11], &SET[11]);
}

/* ---- sorts ---- */

static void test_sorts(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    result r;
    f.sort = RANK_SORT_PRICE_PER_GPU;
    run(&f, &r);
    /* per GPU: 0.40, 1.20, 2.00, then 2.20 x3 (by price: 10 and 3 at $2.20 by id, 11 at
     * $4.40), 2.40, then 2.50 x2 (0 at $2.50, 1 at $20), 3.50 */
    ORDER(&r, 4, 5, 6, 10, 3, 11, 7, 0, 1, 9);
    done(&r);

    f.sort = RANK_SORT_VRAM;
    run(&f, &r);
    ORDER(&r, 9, 5, 10, 3, 0, 11, 7, 6, 1, 4);
    done(&r);

    f.sort = RANK_SORT_AVAILABLE;
    run(&f, &r);
    /* 8 GPUs: 4, 6, 1, 9 by price; 4: 3, 11; 3: 0; 2: 5, 7; 1: 10 */
    ORDER(&r, 4, 6, 1, 9, 3, 11, 0, 5, 7, 10);
    done(&r);

    /* per GPU with a requested count: the price buys that many GPUs */
    f.sort = RANK_SORT_PRICE_PER_GPU;
    f.gpu_count = 2;
    gb_strlcpy(f.gpu_type, "H100", sizeof(f.gpu_type));
    run(&f, &r);
    ORDER(&r, 11, 3, 7, 0);
    done(&r);

    /* a full tie (same price, same id) falls back to the input order */
    prov_offer saved = g_offers[10];
    g_offers[10] = g_offers[3];
    base(&f);
    gb_strlcpy(f.gpu_type, "H100", sizeof(f.gpu_type));
    f.max_price = USD(2.20);
    run(&f, &r);
    ORDER(&r, 3, 10);
    done(&r);
    g_offers[10] = saved;
}

static void test_combined(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    gb_strlcpy(f.gpu_type, "H100", sizeof(f.gpu_type));
    f.gpu_count = 2;
    f.max_price = USD(4.50);
    gb_strlcpy(f.exclude[0], "runpod", 32);
    f.nexclude = 1;
    f.confidential = 0;
    result r;
    run(&f, &r);
    ORDER(&r, 3);
    assert_int_equal(r.hits[0].price, USD(4.40));
    expect_reason(&r, 11, "provider runpod excluded");
    expect_reason(&r, 7, "price $4.80/h above max $4.50/h");
    expect_reason(&r, 0, "confidential (non-confidential required)"); /* before its price */
    expect_reason(&r, 1, "offer has 8 GPUs, not 2");
    expect_reason(&r, 10, "no capacity (1 GPU available, 2 requested)");
    expect_reason(&r, 9, "gpu H200 is not H100");
    done(&r);

    /* every filter at once */
    base(&f);
    gb_strlcpy(f.gpu_type, "H100", sizeof(f.gpu_type));
    f.gpu_count = 1;
    f.min_vram_gb = 80;
    f.max_price = USD(3);
    f.confidential = 1;
    gb_strlcpy(f.tier, "secure", sizeof(f.tier));
    gb_strlcpy(f.providers[0], "targon", 32);
    gb_strlcpy(f.providers[1], "volt", 32);
    f.nproviders = 2;
    gb_strlcpy(f.exclude[0], "lium", 32);
    f.nexclude = 1;
    gb_strlcpy(f.location, "US-", sizeof(f.location));
    f.max_age_ms = 60000;
    f.sort = RANK_SORT_VRAM;
    f.limit = 5;
    run(&f, &r);
    ORDER(&r, 0);
    expect_reason(&r, 1, "offer has 8 GPUs, not 1");
    expect_reason(&r, 3, "not confidential");
    expect_reason(&r, 6, "offer has 8 GPUs");
    expect_reason(&r, 10, "provider sim not allowed");
    done(&r);
}

/* ---- blocked, stale, limit ---- */

typedef struct {
    int calls;
} block_state;

static int64_t blocked_fn(void *ud, const char *id)
{
    block_state *b = ud;
    b->calls++;
    if (strcmp(id, "volt:m1") == 0) return NOW + 60000;   /* 22:14:20 UTC */
    if (strcmp(id, "sim:x1") == 0) return NOW - 1;        /* expired */
    if (strcmp(id, "targon:h100-small") == 0) return NOW; /* ends now: no longer blocked */
    return 0;
}

static void test_blocked(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    gb_strlcpy(f.gpu_type, "H100", sizeof(f.gpu_type));
    block_state b = {0};
    result r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(rank_offers(g_offers, NSET, &f, blocked_fn, &b, &r.hits, &r.nhits, &r.nfit,
                                 &r.rej, &r.nrej),
                     GB_OK);
    /* consulted only for offers that pass every other check (7 H100 offers with capacity) */
    assert_int_equal(b.calls, 7);
    done(&r);
    run_with(&f, blocked_fn, &b, &r);
    ORDER(&r, 10, 0, 11, 7, 6, 1);
    expect_reason(&r, 3, "offer blocked until 22:14:20 UTC after a failure");
    done(&r);
    /* a blocked offer that also fails another check gets that reason */
    f.max_price = USD(2);
    run_with(&f, blocked_fn, &b, &r);
    expect_reason(&r, 3, "price $2.20/h above max $2.00/h");
    done(&r);
}

static void test_stale(void **state)
{
    (void)state;
    rank_filter f;
    base(&f);
    f.max_age_ms = 60000;
    g_offers[4].fetched_at = NOW - 95000;
    g_offers[5].fetched_at = NOW - 60000; /* exactly the max age: fresh */
    g_offers[3].fetched_at = NOW - 60001;
    result r;
    run(&f, &r);
    ORDER(&r, 5, 10, 0, 11, 7, 6, 1, 9);
    expect_reason(&r, 4, "stale: fetched 95 s ago (max age 60 s)");
    expect_reason(&r, 3, "stale: fetched 60 s ago");
    done(&r);
    f.max_age_ms = 1500;
    run(&f, &r);
    expect_reason(&r, 4, "(max age 1.500 s)");
    done(&r);
    g_offers[4].fetched_at = 0;
    run(&f, &r);
    expect_reason(&r, 4, "stale: fetch time unknown (max age 1.500 s)");
    done(&r);
    f.max_age_ms = 0; /* any age */
    run(&f, &r);
    assert_int_equal(r.nfit, 10);
    done(&r);
    for (size_t i = 3; i <= 5; i++)
        fill(&g_offers[i], &SET[i]);
}

static void test_limit(void **state)
{
    (void)state;
    for (int s = RANK_SORT_PRICE; s <= RANK_SORT_AVAILABLE; s++) {
        rank_filter f;
        base(&f);
        f.sort = (rank_sort)s;
        result all, r;
        run(&f, &all);
        for (int lim = 1; lim <= 12; lim++) {
            f.limit = lim;
            run(&f, &r);
            assert_int_equal(r.nfit, 10);
            assert_int_equal(r.nhits, lim < 10 ? (size_t)lim : 10);
            for (size_t i = 0; i < r.nhits; i++) {
                assert_int_equal(r.hits[i].index, all.hits[i].index);
                assert_int_equal(r.hits[i].price, all.hits[i].price);
            }
            assert_int_equal(r.nrej, 2); /* the cut fits are not rejects */
            done(&r);
        }
        done(&all);
    }
    /* ntotal_fit may be NULL; an empty input works */
    rank_filter f;
    base(&f);
    f.limit = 1;
    rank_hit *h = NULL;
    size_t nh = 9;
    assert_int_equal(rank_offers(g_offers, NSET, &f, NULL, NULL, &h, &nh, NULL, NULL, NULL), GB_OK);
    assert_int_equal(nh, 1);
    assert_int_equal(h[0].index, 4);
    free(h);
    rank_reject *rj = NULL;
    size_t nr = 9, fit = 9;
    assert_int_equal(rank_offers(NULL, 0, &f, NULL, NULL, &h, &nh, &fit, &rj, &nr), GB_OK);
    assert_int_equal(nh, 0);
    assert_int_equal(nr, 0);
    assert_int_equal(fit, 0);
    assert_null(h);
    assert_null(rj);
}

static void test_invalid(void **state)
{
    (void)state;
    rank_filter f;
    rank_hit *h = NULL;
    size_t nh = 0, nr = 0;
    rank_reject *rj = NULL;
    base(&f);
    assert_int_equal(rank_offers(g_offers, NSET, NULL, NULL, NULL, &h, &nh, NULL, NULL, NULL),
                     GB_ERR_INVALID);
    assert_int_equal(rank_offers(g_offers, NSET, &f, NULL, NULL, NULL, &nh, NULL, NULL, NULL),
                     GB_ERR_INVALID);
    assert_int_equal(rank_offers(NULL, 3, &f, NULL, NULL, &h, &nh, NULL, NULL, NULL),
                     GB_ERR_INVALID);
    assert_int_equal(rank_offers(g_offers, NSET, &f, NULL, NULL, &h, &nh, NULL, &rj, NULL),
                     GB_ERR_INVALID);
    rank_filter bad = f;
    bad.gpu_count = -1;
    assert_int_equal(rank_offers(g_offers, NSET, &bad, NULL, NULL, &h, &nh, NULL, &rj, &nr),
                     GB_ERR_INVALID);
    bad = f;
    bad.nproviders = RANK_MAX_PROVIDERS + 1;
    assert_int_equal(rank_offers(g_offers, NSET, &bad, NULL, NULL, &h, &nh, NULL, &rj, &nr),
                     GB_ERR_INVALID);
    bad = f;
    bad.sort = (rank_sort)7;
    assert_int_equal(rank_offers(g_offers, NSET, &bad, NULL, NULL, &h, &nh, NULL, &rj, &nr),
                     GB_ERR_INVALID);
    bad = f;
    bad.confidential = 2;
    assert_int_equal(rank_offers(g_offers, NSET, &bad, NULL, NULL, &h, &nh, NULL, &rj, &nr),
                     GB_ERR_INVALID);
    bad = f;
    bad.limit = -1;
    assert_int_equal(rank_offers(g_offers, NSET, &bad, NULL, NULL, &h, &nh, NULL, &rj, &nr),
                     GB_ERR_INVALID);
    assert_null(h);
    assert_null(rj);
}

/* ---- the query parser ---- */

static gb_err parse(const rank_query *q, rank_filter *f, char *err)
{
    memset(f, 0x5a, sizeof(*f)); /* everything must be set by the parser */
    memset(err, 0x5a, 256);
    return rank_filter_from_query(q, f, err);
}

static void expect_bad(const rank_query *q, const char *msg)
{
    rank_filter f;
    gb_errmsg err;
    assert_int_equal(parse(q, &f, err), GB_ERR_INVALID);
    if (strcmp(err, msg) != 0) fprintf(stderr, "err '%s'\nwant '%s'\n", err, msg);
    assert_string_equal(err, msg);
}

static void test_query_defaults(void **state)
{
    (void)state;
    rank_filter f;
    gb_errmsg err;
    rank_query q = {0};
    assert_int_equal(parse(&q, &f, err), GB_OK);
    assert_string_equal(f.gpu_type, "");
    assert_int_equal(f.gpu_count, 0);
    assert_int_equal(f.min_vram_gb, 0);
    assert_int_equal(f.max_price, 0);
    assert_int_equal(f.confidential, -1);
    assert_string_equal(f.tier, "");
    assert_int_equal(f.nproviders, 0);
    assert_int_equal(f.nexclude, 0);
    assert_string_equal(f.location, "");
    assert_int_equal(f.sort, RANK_SORT_PRICE);
    assert_int_equal(f.limit, 0);
    assert_int_equal(f.max_age_ms, 0);
    assert_int_equal(f.now_ms, 0);
    assert_string_equal(err, "");
    assert_int_equal(parse(NULL, &f, err), GB_OK);
    assert_int_equal(f.confidential, -1);
    /* empty values are the same as absent */
    rank_query e = {.gpu = "",
                    .min_vram_gb = "",
                    .gpu_count = "",
                    .max_price = "",
                    .confidential = "",
                    .tier = "",
                    .provider = "",
                    .exclude_provider = "",
                    .location = "",
                    .sort = "",
                    .limit = ""};
    assert_int_equal(parse(&e, &f, err), GB_OK);
    assert_int_equal(f.confidential, -1);
    assert_int_equal(f.limit, 0);
    assert_string_equal(f.gpu_type, "");
    assert_int_equal(rank_filter_from_query(&q, NULL, err), GB_ERR_INVALID);
}

static void test_query_good(void **state)
{
    (void)state;
    rank_filter f;
    gb_errmsg err;
    static const struct {
        const char *in, *type;
        int count;
    } gpus[] = {
        {"H100", "H100", 0},
        {"h100", "H100", 0},
        {"H100:2", "H100", 2},
        {"h100:8", "H100", 8},
        {"RTX 4090", "RTX4090", 0},
        {"rtx 4090:64", "RTX4090", 64},
        {"NVIDIA A100-SXM4-80GB:1", "A100-80GB", 1},
        {" h200 ", "H200", 0},
        {"tpu-v5", "TPU-V5", 0},
        {"mystery gpu:3", "MYSTERY GPU", 3},
    };
    for (size_t i = 0; i < sizeof(gpus) / sizeof(gpus[0]); i++) {
        rank_query q = {.gpu = gpus[i].in};
        assert_int_equal(parse(&q, &f, err), GB_OK);
        assert_string_equal(f.gpu_type, gpus[i].type);
        assert_int_equal(f.gpu_count, gpus[i].count);
    }
    rank_query q = {.gpu = "H100:2",
                    .gpu_count = "2",
                    .min_vram_gb = "80",
                    .max_price = "4.5",
                    .confidential = "true",
                    .tier = "Secure",
                    .provider = "targon, volt ,lium",
                    .exclude_provider = "sim",
                    .location = "US-East",
                    .sort = "price_per_gpu",
                    .limit = "1000"};
    assert_int_equal(parse(&q, &f, err), GB_OK);
    assert_string_equal(f.gpu_type, "H100");
    assert_int_equal(f.gpu_count, 2); /* the same count twice is fine */
    assert_int_equal(f.min_vram_gb, 80);
    assert_int_equal(f.max_price, USD(4.5));
    assert_int_equal(f.confidential, 1);
    assert_string_equal(f.tier, "secure");
    assert_int_equal(f.nproviders, 3);
    assert_string_equal(f.providers[0], "targon");
    assert_string_equal(f.providers[1], "volt");
    assert_string_equal(f.providers[2], "lium");
    assert_int_equal(f.nexclude, 1);
    assert_string_equal(f.exclude[0], "sim");
    assert_string_equal(f.location, "US-East");
    assert_int_equal(f.sort, RANK_SORT_PRICE_PER_GPU);
    assert_int_equal(f.limit, 1000);

    static const struct {
        const char *in;
        int want;
    } conf[] = {{"true", 1}, {"TRUE", 1}, {"1", 1}, {"false", 0}, {"False", 0}, {"0", 0}};
    for (size_t i = 0; i < sizeof(conf) / sizeof(conf[0]); i++) {
        rank_query c = {.confidential = conf[i].in};
        assert_int_equal(parse(&c, &f, err), GB_OK);
        assert_int_equal(f.confidential, conf[i].want);
    }
    static const struct {
        const char *in;
        rank_sort want;
    } sorts[] = {{"price", RANK_SORT_PRICE},
                 {"price_per_gpu", RANK_SORT_PRICE_PER_GPU},
                 {"vram", RANK_SORT_VRAM},
                 {"available", RANK_SORT_AVAILABLE}};
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
        rank_query c = {.sort = sorts[i].in};
        assert_int_equal(parse(&c, &f, err), GB_OK);
        assert_int_equal(f.sort, sorts[i].want);
        assert_string_equal(rank_sort_name(f.sort), sorts[i].in);
    }
    rank_query c = {.gpu_count = "64",
                    .min_vram_gb = "0",
                    .max_price = "0.000001",
                    .tier = "spot",
                    .limit = "1",
                    .confidential = "0"};
    assert_int_equal(parse(&c, &f, err), GB_OK);
    assert_int_equal(f.gpu_count, 64);
    assert_int_equal(f.max_price, 1);
    assert_string_equal(f.tier, "spot");
    assert_int_equal(f.limit, 1);
    assert_int_equal(f.confidential, 0);
    /* 16 providers is the maximum */
    rank_query p = {.exclude_provider = "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p"};
    assert_int_equal(parse(&p, &f, err), GB_OK);
    assert_int_equal(f.nexclude, 16);
    assert_string_equal(f.exclude[15], "p");
    /* a parsed filter drives the ranking */
    rank_query r = {.gpu = "h100:2", .max_price = "4.50", .sort = "price", .limit = "1"};
    assert_int_equal(parse(&r, &f, err), GB_OK);
    f.now_ms = NOW;
    f.max_age_ms = 0;
    rank_hit *h = NULL;
    size_t nh = 0, fit = 0;
    assert_int_equal(rank_offers(g_offers, NSET, &f, NULL, NULL, &h, &nh, &fit, NULL, NULL), GB_OK);
    assert_int_equal(nh, 1);
    assert_int_equal(fit, 2);
    assert_int_equal(h[0].index, 11);
    free(h);
}

static void test_query_bad(void **state)
{
    (void)state;
    expect_bad(&(rank_query){.gpu = "H100:x"},
               "query 'gpu': count must be a number from 1 to 64 (got 'x')");
    expect_bad(&(rank_query){.gpu = "H100:0"},
               "query 'gpu': count must be a number from 1 to 64 (got '0')");
    expect_bad(&(rank_query){.gpu = "H100:65"},
               "query 'gpu': count must be a number from 1 to 64 (got '65')");
    expect_bad(&(rank_query){.gpu = "H100:"},
               "query 'gpu': count must be a number from 1 to 64 (got '')");
    expect_bad(&(rank_query){.gpu = ":2"},
               "query 'gpu': GPU type is missing (like H100 or H100:2) (got ':2')");
    expect_bad(&(rank_query){.gpu = "  "},
               "query 'gpu': GPU type is missing (like H100 or H100:2) (got '  ')");
    expect_bad(&(rank_query){.gpu = "H\n100"},
               "query 'gpu': GPU name has a control character (got 'H?100')");
    char longname[100];
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    expect_bad(&(rank_query){.gpu = longname},
               "query 'gpu': GPU name too long (at most 63 characters) (got "
               "'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...')");
    expect_bad(&(rank_query){.gpu = "H100:2", .gpu_count = "3"},
               "query 'gpu' and 'gpu_count': two different GPU counts (2 in 'gpu', 3 in "
               "'gpu_count'); give one");
    expect_bad(&(rank_query){.gpu_count = "0"},
               "query 'gpu_count': must be a number from 1 to 64 (got '0')");
    expect_bad(&(rank_query){.gpu_count = "65"},
               "query 'gpu_count': must be a number from 1 to 64 (got '65')");
    expect_bad(&(rank_query){.gpu_count = "two"},
               "query 'gpu_count': must be a number from 1 to 64 (got 'two')");
    expect_bad(&(rank_query){.gpu_count = "2x"},
               "query 'gpu_count': must be a number from 1 to 64 (got '2x')");
    expect_bad(&(rank_query){.min_vram_gb = "-1"},
               "query 'min_vram_gb': must be a number of GB from 0 to 10000 (got '-1')");
    expect_bad(&(rank_query){.min_vram_gb = "80GB"},
               "query 'min_vram_gb': must be a number of GB from 0 to 10000 (got '80GB')");
    expect_bad(&(rank_query){.min_vram_gb = "10001"},
               "query 'min_vram_gb': must be a number of GB from 0 to 10000 (got '10001')");
    expect_bad(&(rank_query){.max_price = "abc"},
               "query 'max_price': must be a dollar amount per hour above 0, like 3 or 2.50 "
               "(got 'abc')");
    expect_bad(&(rank_query){.max_price = "0"},
               "query 'max_price': must be a dollar amount per hour above 0, like 3 or 2.50 "
               "(got '0')");
    expect_bad(&(rank_query){.max_price = "-2"},
               "query 'max_price': must be a dollar amount per hour above 0, like 3 or 2.50 "
               "(got '-2')");
    expect_bad(&(rank_query){.max_price = "1.0000001"},
               "query 'max_price': must be a dollar amount per hour above 0, like 3 or 2.50 "
               "(got '1.0000001')");
    expect_bad(&(rank_query){.max_price = "$3"},
               "query 'max_price': must be a dollar amount per hour above 0, like 3 or 2.50 "
               "(got '$3')");
    expect_bad(&(rank_query){.confidential = "yes"},
               "query 'confidential': must be true, false, 1 or 0 (got 'yes')");
    expect_bad(&(rank_query){.confidential = "2"},
               "query 'confidential': must be true, false, 1 or 0 (got '2')");
    expect_bad(&(rank_query){.tier = "community"},
               "query 'tier': must be secure or spot (got 'community')");
    expect_bad(&(rank_query){.provider = "targon,,volt"},
               "query 'provider': empty provider name in the list (got 'targon,,volt')");
    expect_bad(&(rank_query){.provider = "targon,"},
               "query 'provider': empty provider name in the list (got 'targon,')");
    expect_bad(&(rank_query){.provider = "tar gon"},
               "query 'provider': provider names are letters, digits, '-', '_' and '.' "
               "separated by commas (got 'tar gon')");
    expect_bad(&(rank_query){.provider = "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"},
               "query 'provider': at most 16 providers (got 'a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q')");
    expect_bad(&(rank_query){.provider = "abcdefghijabcdefghijabcdefghijab"},
               "query 'provider': provider names have at most 31 characters (got "
               "'abcdefghijabcdefghijabcdefghijab')");
    expect_bad(&(rank_query){.exclude_provider = ","},
               "query 'exclude_provider': empty provider name in the list (got ',')");
    expect_bad(&(rank_query){.exclude_provider = "lium;rm"},
               "query 'exclude_provider': provider names are letters, digits, '-', '_' and '.' "
               "separated by commas (got 'lium;rm')");
    char longloc[80];
    memset(longloc, 'x', sizeof(longloc) - 1);
    longloc[64] = '\0';
    expect_bad(&(rank_query){.location = longloc}, "query 'location': at most 63 characters (got "
                                                   "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...')");
    expect_bad(&(rank_query){.location = "us\teast"},
               "query 'location': has a control character (got 'us?east')");
    expect_bad(&(rank_query){.sort = "cheapest"},
               "query 'sort': must be one of price, price_per_gpu, vram, available (got "
               "'cheapest')");
    expect_bad(&(rank_query){.sort = "PRICE "},
               "query 'sort': must be one of price, price_per_gpu, vram, available (got "
               "'PRICE ')");
    expect_bad(&(rank_query){.limit = "0"},
               "query 'limit': must be a number from 1 to 1000 (got '0')");
    expect_bad(&(rank_query){.limit = "1001"},
               "query 'limit': must be a number from 1 to 1000 (got '1001')");
    expect_bad(&(rank_query){.limit = "ten"},
               "query 'limit': must be a number from 1 to 1000 (got 'ten')");
    /* the first bad parameter is named (in a fixed order: gpu first) */
    expect_bad(&(rank_query){.gpu = "H100:x", .limit = "0"},
               "query 'gpu': count must be a number from 1 to 64 (got 'x')");
}

/* ---- the cross-check against a naive reference ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}
static int rnd_int(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static const char *const RPROV[] = {"targon", "volt", "lium", "sim", "runpod", "vast"};
static const char *const RGPU[] = {"H100", "H200", "A100-80GB", "RTX4090", "L40S", "B200"};
static const int RVRAM[] = {80, 141, 80, 24, 48, 180};
static const char *const RTIER[] = {"", "secure", "spot"};
static const char *const RLOC[] = {"us-east", "US-West", "eu-central", "Poland",
                                   "",        "CA",      "FI-Uusimaa", "datarobot-us"};

static void random_offers(prov_offer *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&o[i], 0, sizeof(o[i]));
        int p = rnd_int(6), g = rnd_int(6);
        gb_strlcpy(o[i].provider, RPROV[p], sizeof(o[i].provider));
        /* a few duplicate ids, so the final tie-break (input order) is exercised */
        snprintf(o[i].id, sizeof(o[i].id), "%s:%zu", RPROV[p], i % (n / 2 + 1));
        gb_strlcpy(o[i].gpu_type, RGPU[g], sizeof(o[i].gpu_type));
        o[i].gpu_vram_gb = RVRAM[g];
        static const int counts[] = {1, 1, 1, 2, 4, 8};
        o[i].gpu_count = counts[rnd_int(6)];
        /* coarse prices so that ties are common */
        gb_money ppg = (gb_money)(20 + rnd_int(60)) * 50000; /* $1.00 .. $3.95 */
        o[i].price_per_gpu_hour = rnd_int(10) == 0 ? 0 : ppg;
        o[i].price_per_hour = ppg * o[i].gpu_count;
        o[i].available = rnd_int(4) == 0 ? 0 : rnd_int(5);
        o[i].available_gpus = o[i].gpu_count == 1 ? rnd_int(9) : o[i].available * o[i].gpu_count;
        o[i].confidential = rnd_int(3) == 0;
        gb_strlcpy(o[i].tier, RTIER[rnd_int(3)], sizeof(o[i].tier));
        gb_strlcpy(o[i].location, RLOC[rnd_int(8)], sizeof(o[i].location));
        o[i].fetched_at = NOW - rnd_int(120000);
    }
}

static int64_t rnd_blocked(void *ud, const char *id)
{
    (void)ud;
    uint64_t h = 1469598103934665603u;
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    if (h % 13 == 0) return NOW + 1000 + (int64_t)(h % 100000);
    if (h % 13 == 1) return NOW - 5;
    return 0;
}

static void random_filter(rank_filter *f, int force_narrow)
{
    base(f);
    if (force_narrow || rnd_int(3)) gb_strlcpy(f->gpu_type, RGPU[rnd_int(6)], 32);
    if (rnd_int(3) == 0) {
        static const int c[] = {1, 2, 3, 4, 8};
        f->gpu_count = c[rnd_int(5)];
    }
    if (rnd_int(4) == 0) f->min_vram_gb = 48 * (1 + rnd_int(3));
    if (rnd_int(3) == 0) f->max_price = (gb_money)(1 + rnd_int(12)) * 500000;
    f->confidential = rnd_int(3) - 1;
    if (rnd_int(3) == 0) gb_strlcpy(f->tier, RTIER[1 + rnd_int(2)], sizeof(f->tier));
    if (force_narrow || rnd_int(3) == 0) {
        f->nproviders = 1 + rnd_int(2);
        for (int i = 0; i < f->nproviders; i++)
            gb_strlcpy(f->providers[i], RPROV[rnd_int(6)], 32);
    }
    if (rnd_int(3) == 0) {
        f->nexclude = 1;
        gb_strlcpy(f->exclude[0], RPROV[rnd_int(6)], 32);
    }
    if (rnd_int(4) == 0) gb_strlcpy(f->location, rnd_int(2) ? "us" : "EU", sizeof(f->location));
    f->sort = (rank_sort)rnd_int(4);
    if (rnd_int(3) == 0) f->max_age_ms = 60000;
}

/* The reference: the first failing check (the documented order) as a keyword of its reason. */
static const char *ref_reason(const prov_offer *o, const rank_filter *f, int use_blocked,
                              gb_money *price, int *gpus)
{
    if (f->gpu_type[0] && strcmp(o->gpu_type, f->gpu_type)) return "gpu ";
    if (o->gpu_vram_gb < f->min_vram_gb) return "vram ";
    int per_gpu = 0;
    *gpus = o->gpu_count;
    if (f->gpu_count && o->gpu_count != f->gpu_count) {
        if (!(o->gpu_count == 1 && o->price_per_gpu_hour > 0)) return "offer has ";
        per_gpu = 1;
        *gpus = f->gpu_count;
    }
    int allowed = f->nproviders == 0;
    for (int i = 0; i < f->nproviders; i++)
        if (gb_str_ieq(f->providers[i], o->provider)) allowed = 1;
    if (!allowed) return "provider ";
    for (int i = 0; i < f->nexclude; i++)
        if (gb_str_ieq(f->exclude[i], o->provider)) return "provider ";
    if (f->confidential == 1 && !o->confidential) return "not confidential";
    if (f->confidential == 0 && o->confidential) return "confidential";
    if (f->tier[0] && strcmp(f->tier, o->tier)) return "tier ";
    if (f->location[0]) {
        char hay[64], nee[64];
        size_t i;
        for (i = 0; o->location[i]; i++)
            hay[i] = (char)(o->location[i] |
                            ((o->location[i] >= 'A' && o->location[i] <= 'Z') ? 32 : 0));
        hay[i] = 0;
        for (i = 0; f->location[i]; i++)
            nee[i] = (char)(f->location[i] |
                            ((f->location[i] >= 'A' && f->location[i] <= 'Z') ? 32 : 0));
        nee[i] = 0;
        /* the whole location, or its code before the first '-' for a needle without one */
        int ok = strcmp(hay, nee) == 0;
        char *dash = strchr(hay, '-');
        if (!ok && dash && !strchr(nee, '-')) {
            *dash = '\0';
            ok = strcmp(hay, nee) == 0;
        }
        if (!ok) return "location ";
    }
    if (f->max_age_ms && NOW - o->fetched_at > f->max_age_ms) return "stale: ";
    if (per_gpu ? o->available_gpus < f->gpu_count : o->available < 1) return "no capacity";
    *price = per_gpu ? o->price_per_gpu_hour * f->gpu_count : o->price_per_hour;
    if (f->max_price && *price > f->max_price) return "price $";
    if (use_blocked && rnd_blocked(NULL, o->id) > NOW) return "offer blocked until ";
    return NULL;
}

typedef struct {
    size_t index;
    gb_money price;
    int gpus, taken;
} ref_fit;

/* 1 when a ranks before b. */
static int ref_before(const ref_fit *a, const ref_fit *b, const prov_offer *o, rank_sort s)
{
    const prov_offer *x = &o[a->index], *y = &o[b->index];
    if (s == RANK_SORT_PRICE_PER_GPU && a->price * b->gpus != b->price * a->gpus)
        return a->price * b->gpus < b->price * a->gpus;
    if (s == RANK_SORT_VRAM && x->gpu_vram_gb != y->gpu_vram_gb)
        return x->gpu_vram_gb > y->gpu_vram_gb;
    if (s == RANK_SORT_AVAILABLE && x->available_gpus != y->available_gpus)
        return x->available_gpus > y->available_gpus;
    if (a->price != b->price) return a->price < b->price;
    int c = strcmp(x->id, y->id);
    if (c) return c < 0;
    return a->index < b->index;
}

static void test_random_cross_check(void **state)
{
    (void)state;
    size_t n = 100000;
    const char *env = getenv("RANK_TEST_OFFERS");
    int v;
    if (env && gb_parse_int(env, 10, 10000000, &v) == 0) n = (size_t)v;
    prov_offer *o = calloc(n, sizeof(*o));
    ref_fit *fits = calloc(n, sizeof(*fits));
    const char **why = calloc(n, sizeof(*why));
    assert_non_null(o);
    assert_non_null(fits);
    assert_non_null(why);
    rng_state = UINT64_C(0x9e3779b97f4a7c15);
    random_offers(o, n);
    size_t total_hits = 0;
    for (int round = 0; round < 40; round++) {
        rank_filter f;
        static const int limits[] = {1, 1, 5, 50, 0};
        int lim = limits[rnd_int(5)];
        random_filter(&f, lim == 0);
        f.limit = lim;
        int use_blocked = rnd_int(2);
        int want_reasons = round % 4 == 0;
        /* the reference */
        size_t nf = 0;
        for (size_t i = 0; i < n; i++) {
            gb_money price = 0;
            int gpus = 0;
            why[i] = ref_reason(&o[i], &f, use_blocked, &price, &gpus);
            if (!why[i]) fits[nf++] = (ref_fit){i, price, gpus, 0};
        }
        size_t want_n = lim && (size_t)lim < nf ? (size_t)lim : nf;
        /* the candidate */
        rank_hit *h = NULL;
        rank_reject *rj = NULL;
        size_t nh = 0, fit = 0, nr = 0;
        assert_int_equal(rank_offers(o, n, &f, use_blocked ? rnd_blocked : NULL, NULL, &h, &nh,
                                     &fit, want_reasons ? &rj : NULL, want_reasons ? &nr : NULL),
                         GB_OK);
        assert_int_equal(fit, nf);
        assert_int_equal(nh, want_n);
        /* O(n^2) selection: the best remaining fit, one at a time */
        for (size_t k = 0; k < want_n; k++) {
            size_t best = SIZE_MAX;
            for (size_t j = 0; j < nf; j++)
                if (!fits[j].taken &&
                    (best == SIZE_MAX || ref_before(&fits[j], &fits[best], o, f.sort)))
                    best = j;
            fits[best].taken = 1;
            if (h[k].index != fits[best].index)
                fprintf(stderr, "round %d position %zu: got %zu want %zu\n", round, k, h[k].index,
                        fits[best].index);
            assert_int_equal(h[k].index, fits[best].index);
            assert_int_equal(h[k].price, fits[best].price);
        }
        if (want_reasons) {
            assert_int_equal(nr, n - nf);
            size_t j = 0;
            for (size_t i = 0; i < n; i++) {
                if (!why[i]) continue;
                assert_int_equal(rj[j].index, i);
                if (strncmp(rj[j].reason, why[i], strlen(why[i])) != 0)
                    fprintf(stderr, "offer %zu: '%s', want '%s...'\n", i, rj[j].reason, why[i]);
                assert_int_equal(strncmp(rj[j].reason, why[i], strlen(why[i])), 0);
                j++;
            }
        }
        total_hits += nh;
        free(h);
        free(rj);
    }
    assert_true(total_hits > 0);
    free(o);
    free(fits);
    free(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_filter),
        cmocka_unit_test(test_gpu_type),
        cmocka_unit_test(test_vram),
        cmocka_unit_test(test_gpu_count),
        cmocka_unit_test(test_max_price),
        cmocka_unit_test(test_confidential),
        cmocka_unit_test(test_margins),
        cmocka_unit_test(test_tier),
        cmocka_unit_test(test_providers),
        cmocka_unit_test(test_location_rule),
        cmocka_unit_test(test_location),
        cmocka_unit_test(test_sorts),
        cmocka_unit_test(test_combined),
        cmocka_unit_test(test_blocked),
        cmocka_unit_test(test_stale),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_query_defaults),
        cmocka_unit_test(test_query_good),
        cmocka_unit_test(test_query_bad),
        cmocka_unit_test(test_random_cross_check),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
