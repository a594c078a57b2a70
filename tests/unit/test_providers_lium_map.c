/* test_providers_lium_map.c: the Lium adapter's pure mapping: every raw status (any case),
 * provider_options checks, and the variants of executor and pod JSON the real API may send
 * (prices, locations, SSH commands, timestamps). No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "providers/lium.h"
#include "test_prov_fixture.h"

extern const prov_ops prov_lium_ops;

static void test_status_map(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        pod_status want;
    } T[] = {
        {"PENDING", POD_PENDING},
        {"pending", POD_PENDING},
        {"CREATING", POD_DEPLOYING},
        {"DEPLOYING", POD_DEPLOYING},
        {"STARTING", POD_DEPLOYING},
        {"RUNNING", POD_RUNNING},
        {"running", POD_RUNNING},
        {"Running", POD_RUNNING},
        {"REBOOT_PENDING", POD_DEPLOYING},
        {"reboot_pending", POD_DEPLOYING},
        {"REBOOTING", POD_DEPLOYING},
        {"STOPPING", POD_STOPPING},
        {"DELETING", POD_STOPPING},
        {"deleting", POD_STOPPING},
        {"STOPPED", POD_STOPPED},
        {"FAILED", POD_FAILED},
        {"failed", POD_FAILED},
        {"ERROR", POD_FAILED},
        {"TERMINATED", POD_DELETED},
        {"DELETED", POD_DELETED},
        {"deleted", POD_DELETED},
        {"HIBERNATING", POD_UNKNOWN},
        {"", POD_UNKNOWN},
        {"RUNNING ", POD_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(T) / sizeof(T[0]); i++)
        if (prov_lium_ops.map_status(T[i].raw) != T[i].want) fail_msg("status '%s'", T[i].raw);
    assert_int_equal(prov_lium_ops.map_status(NULL), POD_UNKNOWN);
}

/* RUNNING without ssh_connect_cmd is still deploying (ready = RUNNING with SSH). */
static void test_running_needs_ssh(void **state)
{
    (void)state;
    prov_pod p;
    cJSON *j = cJSON_Parse("{\"id\":\"p1\",\"pod_name\":\"n\",\"status\":\"running\","
                           "\"ssh_connect_cmd\":null}");
    assert_int_equal(prov_lium_pod_from_json(j, &p), 0);
    assert_int_equal(p.status, POD_DEPLOYING);
    assert_string_equal(p.raw_status, "running");
    cJSON_Delete(j);
    j = cJSON_Parse("{\"id\":\"p1\",\"status\":\"REBOOT_PENDING\","
                    "\"ssh_connect_cmd\":\"ssh root@10.1.2.3 -p 41000\"}");
    assert_int_equal(prov_lium_pod_from_json(j, &p), 0);
    assert_int_equal(p.status, POD_DEPLOYING);
    assert_int_equal(p.ssh_port, 41000);
    cJSON_Delete(j);
    assert_int_equal(prov_lium_pod_from_json(NULL, &p), -1);
}

static void test_options(void **state)
{
    (void)state;
    static const pf_opt_case T[] = {
        {"{\"template_id\":\"1f0e5a2b-3c4d\",\"initial_port_count\":2}", NULL},
        {"{\"volume_id\":\"vol-1\"}", NULL},
        {"{}", NULL},
        {"{\"flavor\":\"big\"}", "flavor"},
        {"{\"template_id\":42}", "template_id"},
        {"{\"template_id\":\"../x\"}", "template_id"},
        {"{\"initial_port_count\":1.5}", "initial_port_count"},
        {"{\"initial_port_count\":0}", "initial_port_count"},
        {"[1]", "provider_options"},
    };
    pf_check_options(&prov_lium_ops, T, GB_ARRAY_LEN(T));
}

static void test_offer_variants(void **state)
{
    prov_adapter *a = NULL;
    (void)state;
    assert_int_equal(prov_adapter_init(&prov_lium_ops, "lium-eu", "http://x/api", "k", NULL, &a),
                     GB_OK);
    prov_offer o;
    /* an older answer: price_per_hour only, location as a string, name only in details */
    cJSON *j = cJSON_Parse("{\"id\":\"e-1\",\"price_per_hour\":3.2,\"location\":\"EU-West\","
                           "\"specs\":{\"gpu\":{\"count\":4,\"details\":[{\"name\":\"NVIDIA "
                           "A100 80GB PCIe\"}]}},\"status\":\"available\"}");
    assert_int_equal(prov_lium_offer_from_json(a, j, &o), 0);
    assert_string_equal(o.id, "lium-eu:e-1");
    assert_string_equal(o.gpu_type, "A100-80GB");
    assert_int_equal(o.price_per_hour, 3200000);
    assert_int_equal(o.price_per_gpu_hour, 800000);
    assert_string_equal(o.location, "EU-West");
    assert_int_equal(o.available, 1);
    assert_int_equal(o.available_gpus, 4);
    assert_string_equal(o.tier, "");
    cJSON_Delete(j);
    /* an unknown GPU keeps its name and VRAM from details; no price -> no offer */
    j = cJSON_Parse("{\"id\":\"e-2\",\"machine_name\":\"NVIDIA Quadro Z9\",\"price_per_gpu\":1,"
                    "\"status\":\"rented\",\"tier\":\"SECURE\",\"location\":{\"country\":"
                    "\"DE\"},\"specs\":{\"gpu\":{\"count\":2,\"details\":[{\"name\":\"NVIDIA "
                    "Quadro Z9\",\"capacity\":49152}]}}}");
    assert_int_equal(prov_lium_offer_from_json(a, j, &o), 0);
    assert_string_equal(o.gpu_type, "NVIDIA QUADRO Z9");
    assert_int_equal(o.gpu_vram_gb, 48);
    assert_int_equal(o.available, 0);
    assert_string_equal(o.tier, "secure");
    assert_string_equal(o.location, "DE");
    cJSON_Delete(j);
    j = cJSON_Parse("{\"id\":\"e-3\",\"specs\":{\"gpu\":{\"count\":1}}}");
    assert_int_equal(prov_lium_offer_from_json(a, j, &o), -1);
    cJSON_Delete(j);
    prov_adapter_free(a);
}

static void test_pod_variants(void **state)
{
    (void)state;
    prov_pod p;
    cJSON *j = cJSON_Parse(
        "{\"id\":\"p-9\",\"pod_name\":\"x\",\"status\":\"RUNNING\",\"ssh_connect_cmd\":\"ssh -p "
        "2222 ubuntu@203.0.113.7\",\"ports_mapping\":{\"22\":2222,\"8000\":2300},\"created_at\":"
        "\"2026-03-28T14:00:00.123456+02:00\",\"executor\":{\"machine_name\":\"NVIDIA H200\","
        "\"price_per_gpu\":2.5,\"specs\":{\"gpu\":{\"count\":2}}}}");
    assert_int_equal(prov_lium_pod_from_json(j, &p), 0);
    assert_int_equal(p.status, POD_RUNNING);
    assert_string_equal(p.ip, "203.0.113.7");
    assert_int_equal(p.ssh_port, 2222);
    assert_string_equal(p.ssh_command, "ssh -p 2222 ubuntu@203.0.113.7");
    assert_string_equal(p.url, "http://203.0.113.7:2300");
    assert_string_equal(p.gpu_type, "H200");
    assert_int_equal(p.gpu_count, 2);
    assert_int_equal(p.price_per_hour, 5000000); /* no "price": 2 x $2.50 */
    assert_int_equal(p.created_at, INT64_C(1774706400000) - 2 * 3600 * 1000);
    cJSON_Delete(j);
    /* no -p: the port comes from ports_mapping["22"] */
    char user[32], host[64];
    int port;
    assert_int_equal(
        prov_lium_parse_ssh("ssh root@h.example", user, sizeof(user), host, sizeof(host), &port),
        0);
    assert_string_equal(user, "root");
    assert_int_equal(port, 0);
    assert_int_equal(prov_lium_parse_ssh("scp a b", user, sizeof(user), host, sizeof(host), &port),
                     -1);
    assert_int_equal(
        prov_lium_parse_ssh("ssh -p 99999 root@h", user, sizeof(user), host, sizeof(host), &port),
        -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_map),   cmocka_unit_test(test_running_needs_ssh),
        cmocka_unit_test(test_options),      cmocka_unit_test(test_offer_variants),
        cmocka_unit_test(test_pod_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
