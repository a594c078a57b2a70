/* rank.c: filters offers by a placement request and ranks the fits in one pass with no
 * per-offer allocation; rejection reasons are written only when the caller asks for them. */
#include "broker/placement/rank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"

/* Why an offer does not fit, in the order the checks run (the first failing one wins). */
typedef enum {
    R_FIT = 0,
    R_GPU,
    R_VRAM,
    R_COUNT,
    R_ALLOW,
    R_DENY,
    R_CONFIDENTIAL,
    R_TIER,
    R_LOCATION,
    R_STALE,
    R_CAPACITY,
    R_PRICE,
    R_BLOCKED
} reason_code;

/* One fitting offer while ranking. */
typedef struct {
    const char *id; /* the offer's global id, for ties */
    gb_money price; /* for the requested count */
    gb_money cost;  /* the price plus the provider's margin: what is ranked on */
    size_t index;
    int gpus; /* GPUs that price buys (for the per-GPU sort) */
    int key;  /* VRAM per GPU or available GPUs, for those sorts */
} entry;

/* The filter, prepared once per call. */
typedef struct {
    const rank_filter *f;
    rank_blocked_fn blocked;
    void *ud;
    size_t tlen;  /* strlen(f->gpu_type) */
    char loc[64]; /* lower-cased location needle, a trailing '-' dropped */
    size_t loclen;
    int loc_prefix; /* the needle has no '-': it also matches the code before a location's '-' */
    int64_t oldest; /* fetched_at below this is stale (when max_age_ms > 0) */
} ctx;

/* What a check learned about one offer, for the ranking and the reason. */
typedef struct {
    gb_money price;
    gb_money cost; /* the price plus the provider's margin */
    int gpus;
    int per_gpu; /* a per-GPU offer serving gpu_count GPUs */
    int64_t blocked_until;
} facts;

const char *rank_sort_name(rank_sort s)
{
    switch (s) {
    case RANK_SORT_PRICE:
        return "price";
    case RANK_SORT_PRICE_PER_GPU:
        return "price_per_gpu";
    case RANK_SORT_VRAM:
        return "vram";
    case RANK_SORT_AVAILABLE:
        return "available";
    }
    return "price";
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* The location rule (docs/placement.md): the whole location, case-insensitively, or, for a
 * needle without '-', the region code before the location's first '-' ("us" matches "US" and
 * "US-East", never "FI-Uusimaa" or "datarobot-us"). needle is lower-cased, nlen > 0. */
static int loc_match(const char *loc, const char *needle, size_t nlen, int prefix)
{
    size_t i = 0;
    for (; i < nlen; i++)
        if (!loc[i] || lower(loc[i]) != needle[i]) return 0;
    return loc[i] == '\0' || (prefix && loc[i] == '-');
}

/* Prepares a needle from want: lower-cased, surrounding blanks and one trailing '-' dropped
 * ("US-" is "us"); *prefix tells whether it may match a code before '-'. Returns its length. */
static size_t loc_needle(const char *want, char out[64], int *prefix)
{
    size_t a = 0, n = 0;
    while (want[a] == ' ' || want[a] == '\t')
        a++;
    for (; want[a + n] && n + 1 < 64; n++)
        out[n] = lower(want[a + n]);
    while (n && (out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    if (n > 1 && out[n - 1] == '-') n--;
    out[n] = '\0';
    *prefix = memchr(out, '-', n) == NULL;
    return n;
}

int rank_location_match(const char *location, const char *want)
{
    char needle[64];
    int prefix;
    if (!want || !want[0]) return 1;
    size_t n = loc_needle(want, needle, &prefix);
    return n == 0 || (location && loc_match(location, needle, n, prefix));
}

/* The first n bytes of a and b are equal (inline: most offers differ in the first byte or two
 * of their GPU type, and this runs for every offer). */
static inline int same_prefix(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* Case-insensitive ASCII equality (inline: strcasecmp goes through the locale). */
static inline int ieq(const char *a, const char *b)
{
    for (; lower(*a) == lower(*b); a++, b++)
        if (!*a) return 1;
    return 0;
}

static int in_list(const char *name, const char (*list)[32], int n)
{
    for (int i = 0; i < n; i++)
        if (ieq(name, list[i])) return 1;
    return 0;
}

/* What price on provider costs the user: the price plus the provider's margin (in basis
 * points, gb_money_plus_bp, as metering charges it); the most money can say when that
 * overflows. */
static gb_money cost_of(const rank_filter *f, const char *provider, gb_money price)
{
    for (int i = 0; i < f->nmargins; i++) {
        if (strcmp(provider, f->margin_provider[i]) != 0) continue;
        gb_money r;
        return gb_money_plus_bp(price, f->margin_bp[i], &r) ? INT64_MAX : r;
    }
    return price;
}

/* Runs every check on o in reason order; fills fx for a fit (and as far as known otherwise). */
static reason_code check(const ctx *c, const prov_offer *o, facts *fx)
{
    const rank_filter *f = c->f;
    if (c->tlen && !same_prefix(o->gpu_type, f->gpu_type, c->tlen + 1)) return R_GPU;
    if (f->min_vram_gb > 0 && o->gpu_vram_gb < f->min_vram_gb) return R_VRAM;
    int want = f->gpu_count;
    fx->per_gpu = 0;
    fx->gpus = want; /* the GPUs bought, when serving per GPU */
    if (want > 0 && o->gpu_count != want) {
        if (o->gpu_count != 1 || o->price_per_gpu_hour <= 0) return R_COUNT;
        fx->per_gpu = 1;
    }
    if (f->nproviders > 0 && !in_list(o->provider, f->providers, f->nproviders)) return R_ALLOW;
    if (f->nexclude > 0 && in_list(o->provider, f->exclude, f->nexclude)) return R_DENY;
    if (f->confidential >= 0 && (int)o->confidential != f->confidential) return R_CONFIDENTIAL;
    if (f->tier[0] && !ieq(o->tier, f->tier)) return R_TIER;
    if (c->loclen && !loc_match(o->location, c->loc, c->loclen, c->loc_prefix)) return R_LOCATION;
    if (f->max_age_ms > 0 && o->fetched_at < c->oldest) return R_STALE;
    if (fx->per_gpu) {
        if (o->available_gpus < want) return R_CAPACITY;
        fx->price =
            o->price_per_gpu_hour > INT64_MAX / want ? INT64_MAX : o->price_per_gpu_hour * want;
    } else {
        if (o->available <= 0) return R_CAPACITY;
        fx->price = o->price_per_hour;
    }
    fx->cost = f->nmargins ? cost_of(f, o->provider, fx->price) : fx->price;
    if (f->max_price > 0 && fx->cost > f->max_price) return R_PRICE;
    if (c->blocked) {
        fx->blocked_until = c->blocked(c->ud, o->id);
        if (fx->blocked_until != 0 && fx->blocked_until > f->now_ms) return R_BLOCKED;
    }
    return R_FIT;
}

/* Dollars with two decimals, or up to six when cents do not say it exactly: "3.20",
 * "3.000001". buf needs 32 bytes. */
static const char *fmt_money(gb_money m, char *buf, size_t n)
{
    uint64_t a = m < 0 ? (uint64_t)(-(m + 1)) + 1u : (uint64_t)m;
    uint64_t whole = a / 1000000u, frac = a % 1000000u;
    const char *sign = m < 0 ? "-" : "";
    if (frac % 10000u == 0) {
        snprintf(buf, n, "%s%llu.%02llu", sign, (unsigned long long)whole,
                 (unsigned long long)(frac / 10000u));
        return buf;
    }
    int digits = 6;
    while (frac % 10u == 0) {
        frac /= 10u;
        digits--;
    }
    snprintf(buf, n, "%s%llu.%0*llu", sign, (unsigned long long)whole, digits,
             (unsigned long long)frac);
    return buf;
}

/* "95 s" or "1.5 s". */
static const char *fmt_secs(int64_t ms, char *buf, size_t n)
{
    if (ms % 1000 == 0)
        snprintf(buf, n, "%lld s", (long long)(ms / 1000));
    else
        snprintf(buf, n, "%lld.%03lld s", (long long)(ms / 1000), (long long)(ms % 1000));
    return buf;
}

static const char *or_none(const char *s, const char *none)
{
    return s[0] ? s : none;
}

/* Writes the reason for code (never R_FIT) about o into out (160 bytes). */
static void explain(const ctx *c, const prov_offer *o, reason_code code, const facts *fx, char *out,
                    size_t n)
{
    const rank_filter *f = c->f;
    char a[32], b[32], d[32];
    switch (code) {
    case R_FIT:
        snprintf(out, n, "fits");
        return;
    case R_GPU:
        snprintf(out, n, "gpu %s is not %s", or_none(o->gpu_type, "(unknown)"), f->gpu_type);
        return;
    case R_VRAM:
        snprintf(out, n, "vram %d GB per GPU below minimum %d GB", o->gpu_vram_gb, f->min_vram_gb);
        return;
    case R_COUNT:
        snprintf(out, n, "offer has %d GPU%s, not %d%s", o->gpu_count, o->gpu_count == 1 ? "" : "s",
                 f->gpu_count,
                 o->gpu_count == 1             ? " (no per-GPU price)"
                 : o->gpu_count > f->gpu_count ? " (whole machine only)"
                                               : "");
        return;
    case R_ALLOW: {
        char list[96] = "";
        size_t len = 0;
        for (int i = 0; i < f->nproviders && len + 1 < sizeof(list); i++) {
            int w =
                snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", f->providers[i]);
            if (w < 0) break;
            len += (size_t)w;
        }
        snprintf(out, n, "provider %s not allowed (allowed: %s)", o->provider, list);
        return;
    }
    case R_DENY:
        snprintf(out, n, "provider %s excluded", o->provider);
        return;
    case R_CONFIDENTIAL:
        snprintf(out, n,
                 f->confidential ? "not confidential (confidential required)"
                                 : "confidential (non-confidential required)");
        return;
    case R_TIER:
        snprintf(out, n, "tier %s is not %s", or_none(o->tier, "(none)"), f->tier);
        return;
    case R_LOCATION:
        snprintf(out, n, "location %s does not match '%s'", or_none(o->location, "(unknown)"),
                 f->location);
        return;
    case R_STALE:
        if (o->fetched_at <= 0) {
            snprintf(out, n, "stale: fetch time unknown (max age %s)",
                     fmt_secs(f->max_age_ms, a, sizeof(a)));
            return;
        }
        snprintf(out, n, "stale: fetched %lld s ago (max age %s)",
                 (long long)((f->now_ms - o->fetched_at) / 1000),
                 fmt_secs(f->max_age_ms, a, sizeof(a)));
        return;
    case R_CAPACITY:
        if (fx->per_gpu)
            snprintf(out, n, "no capacity (%d GPU%s available, %d requested)", o->available_gpus,
                     o->available_gpus == 1 ? "" : "s", f->gpu_count);
        else
            snprintf(out, n, "no capacity (%d available)", o->available);
        return;
    case R_PRICE: {
        char m[64] = ""; /* the margin, when there is one (a provider name is < 32) */
        if (fx->cost != fx->price) snprintf(m, sizeof(m), " with the %s margin", o->provider);
        if (fx->per_gpu)
            snprintf(out, n, "price $%s/h (%d x $%s%s) above max $%s/h",
                     fmt_money(fx->cost, a, sizeof(a)), fx->gpus,
                     fmt_money(o->price_per_gpu_hour, d, sizeof(d)), m,
                     fmt_money(f->max_price, b, sizeof(b)));
        else
            snprintf(out, n, "price $%s/h%s above max $%s/h", fmt_money(fx->cost, a, sizeof(a)), m,
                     fmt_money(f->max_price, b, sizeof(b)));
        return;
    }
    case R_BLOCKED: {
        int64_t s = fx->blocked_until / 1000;
        int64_t day = s % 86400;
        if (day < 0) day += 86400;
        snprintf(out, n, "offer blocked until %02d:%02d:%02d UTC after a failure",
                 (int)(day / 3600), (int)(day / 60 % 60), (int)(day % 60));
        return;
    }
    }
    snprintf(out, n, "rejected");
}

/* Ranking order: <0 when a comes first. The sort key, then cost (the price with the margin), then
 * id, then index. */
static inline int cmp_entry(const entry *a, const entry *b, rank_sort s)
{
    switch (s) {
    case RANK_SORT_PRICE:
        break;
    case RANK_SORT_PRICE_PER_GPU: {
        /* a.cost / a.gpus vs b.cost / b.gpus, exactly */
        __int128 l = (__int128)a->cost * b->gpus, r = (__int128)b->cost * a->gpus;
        if (l != r) return l < r ? -1 : 1;
        break;
    }
    case RANK_SORT_VRAM:
    case RANK_SORT_AVAILABLE:
        if (a->key != b->key) return a->key > b->key ? -1 : 1;
        break;
    }
    if (a->cost != b->cost) return a->cost < b->cost ? -1 : 1;
    int c = strcmp(a->id, b->id);
    if (c) return c;
    return a->index < b->index ? -1 : (a->index > b->index);
}

static int cmp_price(const void *a, const void *b)
{
    return cmp_entry(a, b, RANK_SORT_PRICE);
}
static int cmp_ppg(const void *a, const void *b)
{
    return cmp_entry(a, b, RANK_SORT_PRICE_PER_GPU);
}
static int cmp_vram(const void *a, const void *b)
{
    return cmp_entry(a, b, RANK_SORT_VRAM);
}
static int cmp_avail(const void *a, const void *b)
{
    return cmp_entry(a, b, RANK_SORT_AVAILABLE);
}

/* A bounded max-heap of the best k entries seen: the worst of them at the root. */
static void heap_offer(entry *h, size_t *len, size_t k, const entry *e, rank_sort s)
{
    size_t i;
    if (*len < k) {
        i = (*len)++;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (cmp_entry(&h[p], e, s) >= 0) break;
            h[i] = h[p];
            i = p;
        }
        h[i] = *e;
        return;
    }
    if (cmp_entry(e, &h[0], s) >= 0) return; /* not better than the worst kept */
    i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const entry *worst = e;
        if (l < *len && cmp_entry(&h[l], worst, s) > 0) {
            m = l;
            worst = &h[l];
        }
        if (r < *len && cmp_entry(&h[r], worst, s) > 0) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = *e;
}

/* Margins from 0 to 1000 % (metering.margins' range), each provider named. */
static int margins_valid(const rank_filter *f)
{
    if (f->nmargins < 0 || f->nmargins > RANK_MAX_PROVIDERS) return 0;
    for (int i = 0; i < f->nmargins; i++)
        if (f->margin_bp[i] < 0 || f->margin_bp[i] > 100000 ||
            !memchr(f->margin_provider[i], '\0', sizeof(f->margin_provider[i])))
            return 0;
    return 1;
}

static int filter_valid(const rank_filter *f)
{
    return f->gpu_count >= 0 && f->min_vram_gb >= 0 && f->max_price >= 0 && f->confidential >= -1 &&
           f->confidential <= 1 && f->nproviders >= 0 && f->nproviders <= RANK_MAX_PROVIDERS &&
           f->nexclude >= 0 && f->nexclude <= RANK_MAX_PROVIDERS && f->limit >= 0 &&
           f->max_age_ms >= 0 && margins_valid(f) &&
           (f->sort == RANK_SORT_PRICE || f->sort == RANK_SORT_PRICE_PER_GPU ||
            f->sort == RANK_SORT_VRAM || f->sort == RANK_SORT_AVAILABLE) &&
           memchr(f->gpu_type, '\0', sizeof(f->gpu_type)) &&
           memchr(f->tier, '\0', sizeof(f->tier)) && memchr(f->location, '\0', sizeof(f->location));
}

gb_err rank_offers(const prov_offer *offers, size_t n, const rank_filter *f,
                   rank_blocked_fn blocked, void *ud, rank_hit **hits, size_t *nhits,
                   size_t *ntotal_fit, rank_reject **rejects, size_t *nrejects)
{
    gb_err rc = GB_ERR_NOMEM;
    entry *fits = NULL;
    rank_hit *out = NULL;
    rank_reject *rej = NULL;
    size_t nfit = 0, cap = 0, len = 0, nrej = 0, rcap = 0;

    if (hits) *hits = NULL;
    if (nhits) *nhits = 0;
    if (ntotal_fit) *ntotal_fit = 0;
    if (rejects) *rejects = NULL;
    if (nrejects) *nrejects = 0;
    if (!f || !hits || !nhits || (n && !offers) || (rejects && !nrejects) || !filter_valid(f))
        return GB_ERR_INVALID;

    ctx c = {.f = f, .blocked = blocked, .ud = ud, .tlen = strlen(f->gpu_type)};
    c.loclen = loc_needle(f->location, c.loc, &c.loc_prefix);
    c.oldest = f->now_ms - f->max_age_ms;
    rank_sort s = f->sort;
    /* With a limit only the best `limit` fits are kept (a heap); without, all of them. */
    size_t k = f->limit > 0 ? (size_t)f->limit : 0;
    if (k > n) k = n;
    if (k > 0) {
        fits = malloc(k * sizeof(*fits));
        if (!fits) goto fail;
        cap = k;
    }

    for (size_t i = 0; i < n; i++) {
        const prov_offer *o = &offers[i];
        facts fx;
        reason_code why = check(&c, o, &fx);
        if (why != R_FIT) {
            if (!rejects) continue;
            if (nrej == rcap) {
                size_t ncap = rcap ? rcap * 2 : 64;
                if (ncap > n) ncap = n;
                rank_reject *p = realloc(rej, ncap * sizeof(*rej));
                if (!p) goto fail;
                rej = p;
                rcap = ncap;
            }
            rej[nrej].index = i;
            explain(&c, o, why, &fx, rej[nrej].reason, sizeof(rej[nrej].reason));
            nrej++;
            continue;
        }
        entry e = {.id = o->id, .price = fx.price, .cost = fx.cost, .index = i, .gpus = 1};
        if (s == RANK_SORT_PRICE_PER_GPU)
            e.gpus = fx.per_gpu ? fx.gpus : o->gpu_count > 0 ? o->gpu_count : 1;
        else if (s == RANK_SORT_VRAM)
            e.key = o->gpu_vram_gb;
        else if (s == RANK_SORT_AVAILABLE)
            e.key = o->available_gpus;
        nfit++;
        if (k > 0) {
            heap_offer(fits, &len, k, &e, s);
            continue;
        }
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            if (ncap > n) ncap = n;
            entry *p = realloc(fits, ncap * sizeof(*fits));
            if (!p) goto fail;
            fits = p;
            cap = ncap;
        }
        fits[len++] = e;
    }

    if (len > 1) {
        int (*cmp)(const void *, const void *) = s == RANK_SORT_PRICE_PER_GPU ? cmp_ppg
                                                 : s == RANK_SORT_VRAM        ? cmp_vram
                                                 : s == RANK_SORT_AVAILABLE   ? cmp_avail
                                                                              : cmp_price;
        qsort(fits, len, sizeof(*fits), cmp);
    }
    if (len > 0) {
        out = malloc(len * sizeof(*out));
        if (!out) goto fail;
        for (size_t i = 0; i < len; i++) {
            out[i].index = fits[i].index;
            out[i].price = fits[i].price;
            out[i].cost = fits[i].cost;
        }
    }
    free(fits);
    *hits = out;
    *nhits = len;
    if (ntotal_fit) *ntotal_fit = nfit;
    if (rejects) {
        *rejects = rej;
        *nrejects = nrej;
    }
    return GB_OK;

fail:
    free(fits);
    free(out);
    free(rej);
    return rc;
}
