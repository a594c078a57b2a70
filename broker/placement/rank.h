/* rank.h: placement's offer filtering and ranking (DESIGN.md section 6): pure logic over an
 * array of unified offers, with a human reason for every rejected offer. */
#ifndef GB_RANK_H
#define GB_RANK_H

#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"
#include "common/money.h"
#include "providers/provider.h"

typedef enum {
    RANK_SORT_PRICE = 0,     /* price for the requested count, cheapest first */
    RANK_SORT_PRICE_PER_GPU, /* that price divided by the GPUs it buys, cheapest first */
    RANK_SORT_VRAM,          /* VRAM per GPU, largest first */
    RANK_SORT_AVAILABLE      /* available_gpus, most first */
} rank_sort;

#define RANK_MAX_PROVIDERS 16
#define RANK_MAX_GPU_COUNT 64
#define RANK_MAX_LIMIT 1000

typedef struct {
    char gpu_type[32];  /* normalized ("" = any); e.g. from "h100" via gpu_normalize */
    int gpu_count;      /* 0 = any; else the offer must provide exactly this many GPUs (an
                         * offer with price_per_gpu_hour>0 and gpu_count 1 and
                         * available_gpus >= N can serve N: then price = per-GPU x N) */
    int min_vram_gb;    /* 0 = any; VRAM per GPU */
    gb_money max_price; /* per hour, total for the requested count; 0 = no cap */
    int confidential;   /* -1 any, 0 must not, 1 must */
    char tier[16];      /* "" any, "secure", "spot" */
    char providers[RANK_MAX_PROVIDERS][32];
    int nproviders; /* allow list (empty = all) */
    char exclude[RANK_MAX_PROVIDERS][32];
    int nexclude;      /* deny list */
    char location[64]; /* "" any; rank_location_match */
    rank_sort sort;
    int limit;          /* 0 = no limit */
    int64_t max_age_ms; /* 0 = any; offers older than now - max_age are rejected as stale */
    int64_t now_ms;     /* the caller's clock (also the reference for blocked offers) */
    /* Per-provider margins (metering.margins): an offer's cost to the
     * user is its price plus its provider's margin, in basis points; max_price and the price
     * sorts use that cost. None: the cost is the price (placement_filter_margins). */
    int nmargins;
    char margin_provider[RANK_MAX_PROVIDERS][32];
    int margin_bp[RANK_MAX_PROVIDERS];
} rank_filter;

/* index into the input array, the provider's price for the requested count, and what that
 * costs the user (the price plus the provider's margin) */
typedef struct {
    size_t index;
    gb_money price;
    gb_money cost;
} rank_hit;
/* why an offer was rejected, for people ("gpu H200 is not H100", "provider lium excluded") */
typedef struct {
    size_t index;
    char reason[160];
} rank_reject;

/* Optional: offers blocked after failures (placement failover). Called with the offer's global
 * id ("<provider>:<offer_id>", prov_offer.id); returns the ms until which it is blocked, or 0.
 * An offer is blocked while that time is after f->now_ms. Called only for offers that pass
 * every other check. */
typedef int64_t (*rank_blocked_fn)(void *ud, const char *offer_id);

/* Filters offers by f and ranks the fitting ones (sort key, then ties broken by price, then by
 * offer id, then by input index, so the order is deterministic). hits/rejects are malloc'd
 * arrays (free(); NULL when empty); rejects may be NULL when the caller does not want reasons
 * (then they are not built: fast path). *ntotal_fit gets the number that fit before limit
 * (ntotal_fit may be NULL). Every offer ends up in exactly one of hits (or cut by limit) or
 * rejects, with its FIRST failing reason, checked in this order: gpu type, VRAM, GPU count,
 * provider allow list, provider deny list, confidential, tier, location, stale, capacity,
 * price, blocked. GB_ERR_INVALID for a bad filter (negative count, too many providers, ...),
 * GB_ERR_NOMEM. */
gb_err rank_offers(const prov_offer *offers, size_t n, const rank_filter *f,
                   rank_blocked_fn blocked, void *ud, rank_hit **hits, size_t *nhits,
                   size_t *ntotal_fit, rank_reject **rejects, size_t *nrejects);

/* Query-string style arguments; each may be NULL (an empty string is the same as absent). */
typedef struct {
    const char *gpu, *min_vram_gb, *gpu_count, *max_price, *confidential, *tier, *provider,
        *exclude_provider, *location, *sort, *limit;
} rank_query;

/* Fills f from q: gpu ("H100", "h100", "H100:2" = type and count, "RTX 4090"), min_vram_gb
 * (0-10000), gpu_count (1-64), max_price (dollars, > 0), confidential ("true"/"false"/"1"/
 * "0"), tier ("secure"/"spot"), provider and exclude_provider (comma lists, at most 16 names),
 * location, sort ("price", "price_per_gpu", "vram", "available"), limit (1-1000). A count in
 * both gpu ("H100:2") and gpu_count must be the same (else an error naming both). On bad input
 * returns GB_ERR_INVALID with err (a gb_errmsg) naming the parameter, e.g. "query 'gpu': count
 * must be a number from 1 to 64 (got 'x')". Defaults: sort price, limit 0, confidential -1.
 * An unknown GPU name is allowed (upper-cased) but matches no offer. now_ms and max_age_ms
 * are left 0: the caller sets them. */
gb_err rank_filter_from_query(const rank_query *q, rank_filter *f, gb_errmsg err);

/* The location rule: want ("" = any) matches a location equal to it case-insensitively, or,
 * when want has no '-', one whose region code before the first '-' equals it ("us" matches
 * "US" and "US-East", not "FI-Uusimaa" nor "datarobot-us"). Blanks around want and one
 * trailing '-' are dropped ("US-" is "us"). */
int rank_location_match(const char *location, const char *want);

/* "price", "price_per_gpu", "vram", "available". */
const char *rank_sort_name(rank_sort s);

#endif
