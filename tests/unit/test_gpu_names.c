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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_normalize)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
