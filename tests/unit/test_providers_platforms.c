/* test_providers_platforms.c: the one list of platforms (providers/platforms.h) reaches the
 * adapter registry and the simulator registry alike, and every adapter fills the wire ops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_platform_has_adapter_and_simulator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
