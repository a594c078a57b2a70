/* test_providers_targon_create.c: the Targon adapter's create where a second request would cost
 * money: a register (POST .../workloads) that got no answer in time may still land at Targon,
 * so it is looked up but never sent again; the simulator shows one workload in the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/test_targon_util.h"

#define REGISTER "POST /tha/v3/orgs/:org/workloads"

static void test_register_timeout_not_resent(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_pod p;
    f->a->policy.timeout_ms = 200;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/tha/v3/orgs/gpubroker-sim/workloads\","
                "\"latency_ms\":600,\"count\":1}");
    prov_create_req req = {.name = "slow-reg", .offer_id = "h200-small", .image = "img:1"};
    gb_err e = prov_targon_ops.create(f->a, &req, &p, err);
    assert_true(e == GB_ERR_TIMEOUT || e == GB_ERR_HTTP);
    assert_non_null(strstr(err, "not sent again"));
    assert_int_equal(pf_route_count(f, REGISTER), 1);
    /* the slow register lands at the simulator: one workload, never two */
    assert_int_equal(pf_wait_named(f, "slow-reg", 1, 5000), 1);
    assert_int_equal(sim_count_named(f, "slow-reg", NULL), 1);
    assert_int_equal(pf_route_count(f, REGISTER), 1);
    /* the broker's later look-up finds it, registered and not yet deployed */
    f->a->policy.timeout_ms = 10000;
    assert_int_equal(prov_targon_ops.find_by_name(f->a, "slow-reg", &p, err), GB_OK);
    assert_int_equal(p.status, POD_PENDING);
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_timeout_not_resent, fx_setup, pf_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
