/* test_webhooks_ssrf.c: the edges of every address range the webhook SSRF guard blocks
 * (wh_address_allowed): the first and the last address of each range are refused, and so are
 * their IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) forms; the
 * address just outside a range (where that neighbour is not itself blocked) is allowed in
 * every form. A range narrowed or widened by one bit, or a form no longer unwrapped, fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "webhooks/outbox.h"

/* One blocked IPv4 range: its first and last address, and its neighbours just below and
 * above (NULL when there is none or it lies in another blocked range). */
typedef struct {
    const char *first, *last, *below, *above;
} v4_range;

static const v4_range V4[] = {
    {"0.0.0.0", "0.255.255.255", NULL, "1.0.0.0"},                        /* 0/8 */
    {"10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0"},          /* 10/8 */
    {"100.64.0.0", "100.127.255.255", "100.63.255.255", "100.128.0.0"},   /* 100.64/10 */
    {"127.0.0.0", "127.255.255.255", "126.255.255.255", "128.0.0.0"},     /* 127/8 */
    {"169.254.0.0", "169.254.255.255", "169.253.255.255", "169.255.0.0"}, /* 169.254/16 */
    {"172.16.0.0", "172.31.255.255", "172.15.255.255", "172.32.0.0"},     /* 172.16/12 */
    {"192.0.0.0", "192.0.0.255", "191.255.255.255", "192.0.1.0"},         /* 192.0.0/24 */
    {"192.168.0.0", "192.168.255.255", "192.167.255.255", "192.169.0.0"}, /* 192.168/16 */
    {"198.18.0.0", "198.19.255.255", "198.17.255.255", "198.20.0.0"},     /* 198.18/15 */
    {"224.0.0.0", "239.255.255.255", "223.255.255.255", NULL},            /* 224/4 */
    {"240.0.0.0", "255.255.255.255", NULL, NULL},                         /* 240/4 */
};

typedef struct {
    const char *first, *last, *below, *above;
} v6_range;

static const v6_range V6[] = {
    /* ::/96: unspecified, loopback, IPv4-compatible. What lies above (::1:0:0) is reserved
     * space nobody routes; no verdict on it is pinned here. */
    {"::", "::ffff:ffff", NULL, NULL},
    {"fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "fe00::"}, /* fc00::/7 unique-local */
    {"fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     NULL}, /* fe80::/10 link-local; above it fec0::/10 */
    {"fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, NULL}, /* fec0::/10 site-local */
    {"ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, NULL}, /* ff00::/8 multicast */
};

static int g_checked;

static void expect(const char *ip, int allowed)
{
    int got = wh_address_allowed(ip, NULL);
    if (got != allowed)
        fail_msg("%s: %s, want %s", ip, got ? "allowed" : "blocked",
                 allowed ? "allowed" : "blocked");
    g_checked++;
}

/* ip and every IPv6 form that carries it must get the same verdict. */
static void expect_all_forms(const char *ip, int allowed)
{
    unsigned char a[4];
    char s[64];
    assert_int_equal(inet_pton(AF_INET, ip, a), 1);
    expect(ip, allowed);
    snprintf(s, sizeof(s), "::ffff:%s", ip); /* IPv4-mapped */
    expect(s, allowed);
    snprintf(s, sizeof(s), "::ffff:%02x%02x:%02x%02x", a[0], a[1], a[2], a[3]);
    expect(s, allowed);
    snprintf(s, sizeof(s), "64:ff9b::%s", ip); /* NAT64 well-known prefix */
    expect(s, allowed);
    snprintf(s, sizeof(s), "64:ff9b::%02x%02x:%02x%02x", a[0], a[1], a[2], a[3]);
    expect(s, allowed);
    /* 6to4: the IPv4 address is bits 16..47; the rest (subnet, interface) does not matter */
    snprintf(s, sizeof(s), "2002:%02x%02x:%02x%02x::", a[0], a[1], a[2], a[3]);
    expect(s, allowed);
    snprintf(s, sizeof(s), "2002:%02x%02x:%02x%02x:ffff:ffff:ffff:ffff:ffff", a[0], a[1], a[2],
             a[3]);
    expect(s, allowed);
}

static void test_ipv4_edges_in_every_form(void **state)
{
    (void)state;
    g_checked = 0;
    for (size_t i = 0; i < sizeof(V4) / sizeof(V4[0]); i++) {
        expect_all_forms(V4[i].first, 0);
        expect_all_forms(V4[i].last, 0);
        if (V4[i].below) expect_all_forms(V4[i].below, 1);
        if (V4[i].above) expect_all_forms(V4[i].above, 1);
    }
    assert_true(g_checked > 250); /* the table was really walked */
}

static void test_ipv6_edges(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(V6) / sizeof(V6[0]); i++) {
        expect(V6[i].first, 0);
        expect(V6[i].last, 0);
        if (V6[i].below) expect(V6[i].below, 1);
        if (V6[i].above) expect(V6[i].above, 1);
    }
    expect("::1", 0);
    expect("::127.0.0.1", 0); /* IPv4-compatible, deprecated */
    /* 6to4 unwraps only its own prefix: the global unicast neighbours of 2002::/16 */
    expect("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1);
    expect("2003:a00:1::", 1);
    expect("2003:7f00:1::", 1);
    /* ordinary global unicast */
    expect("2606:4700:4700::1111", 1);
    expect("2a00:1450:4001:81d::200e", 1);
}

/* The allow-list is the only way in, and only for what it names. */
static void test_allow_list_edges(void **state)
{
    (void)state;
    assert_true(wh_address_allowed("172.31.255.255", "172.16.0.0/12"));
    assert_true(wh_address_allowed("::ffff:172.31.255.255", "172.16.0.0/12"));
    assert_false(wh_address_allowed("172.31.255.255", "172.16.0.0/13"));
    assert_true(wh_address_allowed("172.23.255.255", "172.16.0.0/13"));
    assert_true(wh_address_allowed("10.1.2.3", "10.1.2.3"));
    assert_false(wh_address_allowed("10.1.2.4", "10.1.2.3"));
    assert_true(wh_address_allowed("fd00::1", "fd00::/8"));
    assert_false(wh_address_allowed("fe80::1", "fd00::/8"));
    /* an IPv4 entry does not open the same address in a NAT64 or 6to4 wrapping */
    assert_false(wh_address_allowed("64:ff9b::a00:1", "10.0.0.0/8"));
    assert_false(wh_address_allowed("2002:a00:1::", "10.0.0.0/8"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_ipv4_edges_in_every_form),
                                       cmocka_unit_test(test_ipv6_edges),
                                       cmocka_unit_test(test_allow_list_edges)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
