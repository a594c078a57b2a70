/* test_providers_platforms.c: the one list of platforms (providers/platforms.h) reaches the
 * adapter registry and the simulator registry alike, every adapter fills the required ops, and
 * every adapter keeps provider.h's ownership contract when a call fails. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "providers/platforms.h"
#include "providers/provider.h"
#include "providers/sim/sim.h"

static void test_every_platform_has_adapter_and_simulator(void **state)
{
    (void)state;
#define NAME(n) #n,
    static const char *const LIST[] = {PROV_PLATFORMS(NAME) NULL};
    const char *const *kinds = prov_kinds();
    const char *const *sims = sim_platform_names();
    size_t n = 0;
    for (; LIST[n]; n++) {
        assert_non_null(kinds[n]);
        assert_string_equal(kinds[n], LIST[n]);
        assert_non_null(sims[n]);
        assert_string_equal(sims[n], LIST[n]);
        const prov_ops *ops = prov_ops_for(LIST[n]);
        assert_non_null(ops);
        assert_string_equal(ops->kind, LIST[n]);
        assert_non_null(ops->map_status);
        assert_non_null(ops->list_offers);
        assert_non_null(ops->create);
        assert_non_null(ops->get);
        assert_non_null(ops->remove);
        assert_non_null(ops->find_by_name);
        assert_non_null(ops->list_pods);
        const sim_platform *p = sim_platform_by_name(LIST[n]);
        assert_non_null(p);
        assert_string_equal(p->name, LIST[n]);
    }
    assert_true(n >= 6);
    assert_null(kinds[n]);
    assert_null(sims[n]);
    assert_null(prov_ops_for("nope"));
    assert_null(sim_platform_by_name("nope"));
}

/* A loopback URL nothing listens on (a port bound, then released). */
static void closed_url(char *url, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(url, n, "http://127.0.0.1:%d", ntohs(a.sin_port));
    close(fd);
}

/* provider.h: an entry that fails leaves *out NULL (and *n 0), so a caller that frees *out
 * after a failure frees nothing twice. Every adapter, against a platform that is not there. */
static void test_failed_calls_return_nothing_to_free(void **state)
{
    (void)state;
    char url[64];
    closed_url(url, sizeof(url));
    static prov_offer junk_offer;
    static prov_pod junk_pod;
    static prov_event junk_event;
    static char junk_text[1];
    for (const char *const *k = prov_kinds(); *k; k++) {
        prov_adapter *a = NULL;
        assert_int_equal(prov_adapter_new(*k, *k, url, "id:secret", NULL, &a), GB_OK);
        a->policy.max_retries = -1;
        gb_errmsg err = "";
        prov_offer *offers = &junk_offer;
        prov_pod *pods = &junk_pod;
        size_t n = 99;
        if (a->ops->list_offers(a, &offers, &n, err) == GB_OK) fail_msg("%s: list_offers", *k);
        assert_null(offers);
        assert_int_equal(n, 0);
        n = 99;
        if (a->ops->list_pods(a, &pods, &n, err) == GB_OK) fail_msg("%s: list_pods", *k);
        assert_null(pods);
        assert_int_equal(n, 0);
        if (a->ops->events) {
            prov_event *ev = &junk_event;
            n = 99;
            if (a->ops->events(a, "wl-1", &ev, &n, err) == GB_OK) fail_msg("%s: events", *k);
            assert_null(ev);
            assert_int_equal(n, 0);
        }
        if (a->ops->logs) {
            char *text = junk_text;
            if (a->ops->logs(a, "wl-1", 10, &text, err) == GB_OK) fail_msg("%s: logs", *k);
            assert_null(text);
        }
        prov_adapter_free(a);
    }
}

static int setup(void **state)
{
    (void)state;
    return gb_http_global_init() == GB_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    gb_http_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_platform_has_adapter_and_simulator),
        cmocka_unit_test(test_failed_calls_return_nothing_to_free),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
