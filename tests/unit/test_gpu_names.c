/* test_gpu_names.c: GPU name normalization across the platforms' spellings (the catalog of
 * gpu/gpu.c), linked against gb_gpu alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gpu/gpu.h"

static void test_normalize(void **state)
{
    (void)state;
    static const struct {
        const char *in, *type;
        int vram;
    } cases[] = {
        {"NVIDIA H100 80GB HBM3", "H100", 80},
        {"H100 80GB", "H100", 80},
        {"h100", "H100", 80},
        {"h200-small", "H200", 141},
        {"NVIDIA H200", "H200", 141},
        {"RTX 4090", "RTX4090", 24},
        {"rtx4090-medium", "RTX4090", 24},
        {"NVIDIA GeForce RTX 4090", "RTX4090", 24},
        {"A100 80GB", "A100-80GB", 80},
        {"NVIDIA A100-SXM4-80GB", "A100-80GB", 80},
        {"A100 40GB", "A100-40GB", 40},
        {"b200-large", "B200", 180},
        {"NVIDIA L40S", "L40S", 48},
        {"L4", "L4", 24},
        {"H100 NVL", "H100-NVL", 94},
        {"AMD Instinct MI300X", "MI300X", 192},
        {"NVIDIA A100-SXM4-40GB", "A100-40GB", 40},
        {"A100 PCIe 40GB", "A100-40GB", 40},
        {"NVIDIA RTX A4000", "RTXA4000", 16},
        {"RTX A6000", "RTXA6000", 48},
        {"NVIDIA A40", "A40", 48},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char t[GPU_TYPE_MAX];
        int v = -1;
        if (gpu_normalize(cases[i].in, t, &v) != 0) fail_msg("not recognized: %s", cases[i].in);
        if (strcmp(t, cases[i].type) != 0)
            fail_msg("%s -> %s, want %s", cases[i].in, t, cases[i].type);
        assert_int_equal(v, cases[i].vram);
    }
    char t[GPU_TYPE_MAX];
    int v = 7;
    assert_int_equal(gpu_normalize("  Quantum Widget 9 ", t, &v), -1);
    assert_string_equal(t, "QUANTUM WIDGET 9");
    assert_int_equal(v, 7); /* untouched */
    assert_int_equal(gpu_normalize(NULL, t, &v), -1);
    assert_string_equal(t, "");
}

/* Volt's own spelling in Volt answers (the seed's "RTX 4090", "H100 80GB", "H200"); every
 * type of the table has one, and it normalizes back to the type, so a filter given either
 * finds the same GPUs. */
static void test_volt_names(void **state)
{
    (void)state;
    assert_string_equal(gpu_volt_name("RTX4090"), "RTX 4090");
    assert_string_equal(gpu_volt_name("H100"), "H100 80GB");
    assert_string_equal(gpu_volt_name("H200"), "H200");
    assert_string_equal(gpu_volt_name("A100-80GB"), "A100 80GB");
    assert_string_equal(gpu_volt_name("QUANTUM WIDGET 9"), "QUANTUM WIDGET 9"); /* unknown: as is */
    assert_string_equal(gpu_volt_name(NULL), "");
    static const char *const types[] = {
        "GH200",       "H200",    "H100-NVL", "H100",    "B200",     "B300",     "A100-80GB",
        "A100-40GB",   "L40S",    "L40",      "L4",      "RTXA6000", "RTXA5000", "RTXA4000",
        "RTX6000-ADA", "RTX5090", "RTX4090",  "RTX3090", "A40",      "A10G",     "MI300X",
        "MI325X",      "MI250",   "V100",     "T4"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char back[GPU_TYPE_MAX];
        const char *v = gpu_volt_name(types[i]);
        if (gpu_normalize(v, back, NULL) != 0 || strcmp(back, types[i]) != 0)
            fail_msg("%s -> %s -> %s", types[i], v, back);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_normalize),
                                       cmocka_unit_test(test_volt_names)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
