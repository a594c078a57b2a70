/* money.c: parsing and formatting of integer micro-dollar amounts. */
#include "common/money.h"

#include <math.h>
#include <stdio.h>

int gb_money_parse(const char *s, gb_money *out)
{
    if (!s) return -1;
    int neg = 0;
    if (*s == '-' || *s == '+') neg = (*s++ == '-');
    if (!*s) return -1;
    int64_t whole = 0, frac = 0;
    int nwhole = 0, nfrac = 0;
    while (*s >= '0' && *s <= '9') {
        if (whole > GB_MONEY_MAX / GB_MONEY_PER_DOLLAR) return -1;
        whole = whole * 10 + (*s++ - '0');
        nwhole++;
    }
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9') {
            if (nfrac == 6) return -1;
            frac = frac * 10 + (*s++ - '0');
            nfrac++;
        }
        if (nfrac == 0) return -1;
    }
    if (*s != '\0' || nwhole + nfrac == 0) return -1;
    for (int i = nfrac; i < 6; i++)
        frac *= 10;
    if (whole > GB_MONEY_MAX / GB_MONEY_PER_DOLLAR) return -1;
    int64_t v = whole * GB_MONEY_PER_DOLLAR + frac;
    if (v > GB_MONEY_MAX) return -1;
    *out = neg ? -v : v;
    return 0;
}

int gb_money_from_double(double d, gb_money *out)
{
    if (!isfinite(d)) return -1;
    double m = d * (double)GB_MONEY_PER_DOLLAR;
    if (fabs(m) > (double)GB_MONEY_MAX) return -1;
    *out = (gb_money)llround(m);
    return 0;
}

char *gb_money_format(gb_money m, char *buf, size_t n)
{
    int neg = m < 0;
    /* |INT64_MIN| cannot be negated; clamp (far beyond GB_MONEY_MAX anyway). */
    uint64_t a = neg ? (uint64_t)(-(m + 1)) + 1u : (uint64_t)m;
    uint64_t cents = (a + 5000u) / 10000u;
    snprintf(buf, n, "%s%llu.%02llu", (neg && cents) ? "-" : "", (unsigned long long)(cents / 100u),
             (unsigned long long)(cents % 100u));
    return buf;
}

int gb_money_plus_bp(gb_money m, int bp, gb_money *out)
{
    return gb_money_mul_ratio(m, 10000 + (int64_t)bp, 10000, out);
}

int gb_money_mul_ratio(gb_money m, int64_t num, int64_t den, gb_money *out)
{
    if (den == 0) return -1;
    __int128 p = (__int128)m * num;
    __int128 q = p / den, r = p % den;
    if (r != 0) {
        __int128 twice = r < 0 ? -2 * r : 2 * r;
        __int128 d = den < 0 ? -(__int128)den : den;
        if (twice >= d) q += ((p < 0) != (den < 0)) ? -1 : 1;
    }
    if (q > INT64_MAX || q < INT64_MIN) return -1;
    *out = (gb_money)q;
    return 0;
}
