/* test_providers_targon_create.c: the Targon adapter's create where a second request would cost
 * money: a register (POST .../workloads) that got no answer in time may still land at Targon,
 * so it is looked up but never sent again; the simulator shows one workload in the end. An SSH
 * key upload whose answer was lost is looked for, so the create goes on with Targon's key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The SSH keys the simulator holds, once there are want of them (or after 5 s). */
static int wait_keys(fixture *f, int want)
{
    int n = -1;
    for (int waited = 0; waited <= 5000 && n != want; waited += 20) {
        if (n >= 0) usleep(20000);
        cJSON *st = pf_state(f);
        n = cJSON_GetArraySize(cJSON_GetObjectItem(st, "ssh_keys"));
        cJSON_Delete(st);
    }
    return n;
}

/* The adapter's pause before its last look: recorded, then real time until the slow upload
 * has landed at the simulator (Targon finishing it while the adapter waits). */
static void sleep_until_three_keys(void *ud, int64_t ms)
{
    pf_rec_sleep(ud, ms);
    wait_keys(ud, 3);
}

/* The answer to the key's upload (POST .../ssh-keys) is lost after Targon stored the key: the
 * adapter finds it among the account's keys and the create goes on with it, rather than
 * failing the create (502) for a key that is there. */
static void test_key_upload_answer_lost(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_pod p;
    const char *pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3hK0sZCYvWbqLost me@laptop";
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/tha/v3/orgs/gpubroker-sim/ssh-keys\","
                "\"drop_response\":true,\"count\":1}");
    prov_create_req req = {.name = "key-lost",
                           .offer_id = "h200-small",
                           .image = "img:1",
                           .ssh_public_keys = &pub,
                           .nssh = 1};
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_OK);
    assert_int_equal(pf_route_count(f, "POST /tha/v3/orgs/:org/ssh-keys"), 1);
    assert_int_equal(pf_route_count(f, REGISTER), 1);
    /* at Targon: the one key, on the one workload */
    cJSON *st = pf_state(f);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "ssh_keys")), 1);
    const cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "workloads"), 0);
    assert_non_null(w);
    assert_string_equal(cJSON_GetObjectItem(w, "uid")->valuestring, p.provider_id);
    const cJSON *k0 = cJSON_GetArrayItem(cJSON_GetObjectItem(w, "ssh_keys"), 0);
    assert_non_null(k0);
    assert_string_equal(cJSON_GetObjectItem(k0, "public_key_raw")->valuestring, pub);
    cJSON_Delete(st);
    /* an upload still in flight after both looks: the create fails and registers nothing, and
     * its next try finds the key that landed (one upload in all) */
    const char *pub2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3hK0sZCYvWbqSlow me@laptop";
    f->a->policy.timeout_ms = 200;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/tha/v3/orgs/gpubroker-sim/ssh-keys\","
                "\"latency_ms\":600,\"count\":1}");
    req.name = "key-slow";
    req.ssh_public_keys = &pub2;
    gb_err e = prov_targon_ops.create(f->a, &req, &p, err);
    assert_true(e == GB_ERR_TIMEOUT || e == GB_ERR_HTTP);
    assert_non_null(strstr(err, "not found"));
    assert_int_equal(f->nsleeps, 1);
    assert_int_equal(pf_route_count(f, REGISTER), 1);
    assert_int_equal(sim_count_named(f, "key-slow", NULL), 0);
    f->a->policy.timeout_ms = 10000;
    assert_int_equal(wait_keys(f, 2), 2);
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_OK);
    assert_int_equal(pf_route_count(f, "POST /tha/v3/orgs/:org/ssh-keys"), 2);
    assert_int_equal(wait_keys(f, 2), 2);
    /* one that lands during the pause: the last look finds it and the create goes on */
    const char *pub3 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3hK0sZCYvWbqLate me@laptop";
    f->a->policy.timeout_ms = 200;
    f->a->policy.sleep_ms = sleep_until_three_keys;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/tha/v3/orgs/gpubroker-sim/ssh-keys\","
                "\"latency_ms\":600,\"count\":1}");
    req.name = "key-late";
    req.ssh_public_keys = &pub3;
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_OK);
    assert_int_equal(f->nsleeps, 2);
    assert_int_equal(pf_route_count(f, "POST /tha/v3/orgs/:org/ssh-keys"), 3);
    assert_int_equal(sim_count_named(f, "key-late", NULL), 1);
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_timeout_not_resent, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_key_upload_answer_lost, fx_setup, pf_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
