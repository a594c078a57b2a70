/* test_providers_gpu.c: GPU name normalization across the platforms' spellings, and the
 * normalized status names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "providers/provider.h"

static void test_normalize(void **state)
{
    (void)state;
    static const struct {
        const char *in, *type;
        int vram;
    } cases[] = {
        {"NVIDIA H100 80GB HBM3", "H100", 80}, {"H100 80GB", "H100", 80},
        {"h100", "H100", 80},                  {"h200-small", "H200", 141},
        {"NVIDIA H200", "H200", 141},          {"RTX 4090", "RTX4090", 24},
        {"rtx4090-medium", "RTX4090", 24},     {"NVIDIA GeForce RTX 4090", "RTX4090", 24},
        {"A100 80GB", "A100-80GB", 80},        {"NVIDIA A100-SXM4-80GB", "A100-80GB", 80},
        {"A100 40GB", "A100-40GB", 40},        {"b200-large", "B200", 180},
        {"NVIDIA L40S", "L40S", 48},           {"L4", "L4", 24},
        {"H100 NVL", "H100-NVL", 94},          {"AMD Instinct MI300X", "MI300X", 192},
        {"NVIDIA A100-SXM4-40GB", "A100-40GB", 40}, {"A100 PCIe 40GB", "A100-40GB", 40},
        {"NVIDIA RTX A4000", "RTXA4000", 16},  {"RTX A6000", "RTXA6000", 48},
        {"NVIDIA A40", "A40", 48},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char t[32];
        int v = -1;
        if (prov_gpu_normalize(cases[i].in, t, &v) != 0) fail_msg("not recognized: %s", cases[i].in);
        if (strcmp(t, cases[i].type) != 0) fail_msg("%s -> %s, want %s", cases[i].in, t, cases[i].type);
        assert_int_equal(v, cases[i].vram);
    }
    char t[32];
    int v = 7;
    assert_int_equal(prov_gpu_normalize("  Quantum Widget 9 ", t, &v), -1);
    assert_string_equal(t, "QUANTUM WIDGET 9");
    assert_int_equal(v, 7); /* untouched */
    assert_int_equal(prov_gpu_normalize(NULL, t, &v), -1);
    assert_string_equal(t, "");
}

static void test_status_names(void **state)
{
    (void)state;
    for (int s = POD_PENDING; s <= POD_UNKNOWN; s++) {
        pod_status back;
        assert_int_equal(pod_status_parse(pod_status_name((pod_status)s), &back), 0);
        assert_int_equal(back, s);
    }
    pod_status x;
    assert_int_equal(pod_status_parse("RUNNING", &x), 0);
    assert_int_equal(x, POD_RUNNING);
    assert_int_equal(pod_status_parse("starting", &x), -1);
    assert_true(pod_status_settled(POD_STOPPED));
    assert_true(pod_status_settled(POD_DELETED));
    assert_false(pod_status_settled(POD_RUNNING));
    assert_false(pod_status_settled(POD_DEPLOYING));
}

static void test_registry(void **state)
{
    (void)state;
    prov_adapter *a = NULL;
    assert_int_equal(prov_adapter_new("nosuch", "x", "http://h", "k", NULL, &a), GB_ERR_NOT_FOUND);
    assert_null(a);
    for (const char *const *k = prov_kinds(); *k; k++) {
        assert_int_equal(prov_adapter_new(*k, *k, "http://127.0.0.1:1/", "secret", NULL, &a), GB_OK);
        assert_string_equal(a->base_url, "http://127.0.0.1:1"); /* trailing slash trimmed */
        assert_non_null(a->ops->create);
        assert_non_null(a->ops->get);
        assert_non_null(a->ops->remove);
        assert_non_null(a->ops->list_offers);
        assert_non_null(a->ops->map_status);
        assert_int_equal(a->ops->map_status("definitely-not-a-status"), POD_UNKNOWN);
        prov_adapter_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_normalize),
                                       cmocka_unit_test(test_status_names),
                                       cmocka_unit_test(test_registry)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
