/* schedule.c: the pure rules of webhook delivery: the retry schedule with jitter and
 * Retry-After, event filter matching, URL checks, and the SSRF address guard. */
#include <arpa/inet.h>
#include <string.h>

#include "common/str.h"
#include "webhooks/outbox.h"

static const int64_t k_delays_ms[] = {
    5LL * 1000,         5LL * 60 * 1000,    30LL * 60 * 1000,
    2LL * 3600 * 1000,  5LL * 3600 * 1000,  10LL * 3600 * 1000,
    14LL * 3600 * 1000, 20LL * 3600 * 1000, 24LL * 3600 * 1000,
};

int64_t wh_retry_delay_ms(int failed_attempts, uint32_t rnd)
{
    if (failed_attempts < 1 || failed_attempts > (int)GB_ARRAY_LEN(k_delays_ms)) return -1;
    int64_t base = k_delays_ms[failed_attempts - 1];
    int64_t r = (int64_t)(rnd % 40001u) - 20000; /* -20000..20000 per 100000 = +-20% */
    return base + base * r / 100000;
}

int64_t wh_next_delay_ms(int failed_attempts, int64_t ra_ms, uint32_t rnd)
{
    int64_t d = wh_retry_delay_ms(failed_attempts, rnd);
    if (d < 0) return -1;
    if (ra_ms > WH_RETRY_AFTER_CAP_MS) ra_ms = WH_RETRY_AFTER_CAP_MS;
    return ra_ms > d ? ra_ms : d;
}

bool wh_events_match(const char *filter, const char *event)
{
    if (!filter || !event || !event[0]) return false;
    size_t elen = strlen(event);
    const char *p = filter;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        size_t n = (size_t)(end - p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n == 1 && p[0] == '*') return true;
        if (n == elen && memcmp(p, event, n) == 0) return true;
        /* "pod.*" matches "pod.created" (and "pod.x.y"), not "pod" or "podium.x" */
        if (n >= 2 && p[n - 1] == '*' && p[n - 2] == '.' && elen > n - 1 &&
            memcmp(p, event, n - 1) == 0)
            return true;
        p = end;
    }
    return false;
}

bool wh_url_valid(const char *url)
{
    if (!url) return false;
    size_t n = strlen(url);
    size_t pre;
    if (gb_str_starts_with(url, "https://"))
        pre = 8;
    else if (gb_str_starts_with(url, "http://"))
        pre = 7;
    else
        return false;
    if (n <= pre || n > WH_URL_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= ' ' || (unsigned char)url[i] >= 0x7f) return false;
    return true;
}

/* ---- SSRF guard ---- */

typedef struct {
    int v6; /* 0: a holds 4 bytes, 1: 16 bytes */
    unsigned char a[16];
} addr;

static int parse_addr(const char *s, addr *out)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, s, out->a) == 1) return 0;
    if (inet_pton(AF_INET6, s, out->a) != 1) return -1;
    out->v6 = 1;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out->a, mapped, 12) == 0) { /* ::ffff:a.b.c.d is that IPv4 address */
        memmove(out->a, out->a + 12, 4);
        memset(out->a + 4, 0, 12);
        out->v6 = 0;
    }
    return 0;
}

static int prefix_match(const unsigned char *a, const unsigned char *net, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)full) != 0) return 0;
    if (rest == 0) return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

static int v4_blocked(const unsigned char *a)
{
    static const struct {
        unsigned char net[4];
        int bits;
    } nets[] = {
        {{0, 0, 0, 0}, 8}, /* "this network", incl. 0.0.0.0 */
        {{10, 0, 0, 0}, 8},     {{100, 64, 0, 0}, 10}, {{127, 0, 0, 0}, 8},
        {{169, 254, 0, 0}, 16}, {{172, 16, 0, 0}, 12}, {{192, 0, 0, 0}, 24},
        {{192, 168, 0, 0}, 16}, {{198, 18, 0, 0}, 15}, {{224, 0, 0, 0}, 4}, /* multicast */
        {{240, 0, 0, 0}, 4}, /* reserved + broadcast */
    };
    for (size_t i = 0; i < GB_ARRAY_LEN(nets); i++)
        if (prefix_match(a, nets[i].net, nets[i].bits)) return 1;
    return 0;
}

static int v6_blocked(const unsigned char *a)
{
    static const unsigned char zero[16] = {0};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
    if (memcmp(a, zero, 12) == 0) return 1; /* ::, ::1 and the old IPv4-compatible ::/96 */
    if (memcmp(a, nat64, 12) == 0) return v4_blocked(a + 12);   /* 64:ff9b::/96 */
    if (a[0] == 0x20 && a[1] == 0x02) return v4_blocked(a + 2); /* 6to4 2002::/16 */
    if ((a[0] & 0xfe) == 0xfc) return 1;                        /* fc00::/7 unique-local */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return 1;        /* fe80::/10 link-local */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return 1;        /* fec0::/10 site-local */
    if (a[0] == 0xff) return 1;                                 /* multicast */
    return 0;
}

/* 1 when a lies in one of the comma-separated CIDRs (a bare address is a /32 or /128). */
static int in_allow_list(const addr *a, const char *list)
{
    if (!list) return 0;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        char item[64];
        size_t n = (size_t)(end - p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n > 0 && n < sizeof(item)) {
            memcpy(item, p, n);
            item[n] = '\0';
            char *slash = strchr(item, '/');
            if (slash) *slash = '\0';
            addr net;
            if (parse_addr(item, &net) == 0 && net.v6 == a->v6) {
                int max = a->v6 ? 128 : 32, bits = max;
                if (!slash || gb_parse_int(slash + 1, 0, max, &bits) == 0)
                    if (prefix_match(a->a, net.a, bits)) return 1;
            }
        }
        p = end;
    }
    return 0;
}

int wh_address_allowed(const char *ip, const char *allow_cidrs)
{
    addr a;
    if (!ip || parse_addr(ip, &a) != 0) return 0;
    if (in_allow_list(&a, allow_cidrs)) return 1;
    return a.v6 ? !v6_blocked(a.a) : !v4_blocked(a.a);
}
