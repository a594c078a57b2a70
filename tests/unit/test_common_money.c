/* test_common_money.c: money parsing, formatting and arithmetic at their edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/money.h"

static void test_parse(void **state)
{
    (void)state;
    gb_money m;
    assert_int_equal(gb_money_parse("2.49", &m), 0);
    assert_int_equal(m, 2490000);
    assert_int_equal(gb_money_parse("0.000001", &m), 0);
    assert_int_equal(m, 1);
    assert_int_equal(gb_money_parse("-3", &m), 0);
    assert_int_equal(m, -3000000);
    assert_int_equal(gb_money_parse("+1000.5", &m), 0);
    assert_int_equal(m, 1000500000);
    assert_int_equal(gb_money_parse(".5", &m), 0);
    assert_int_equal(m, 500000);
    assert_int_equal(gb_money_parse("1000000000000", &m), 0);
    assert_int_equal(m, GB_MONEY_MAX);
    const char *bad[] = {"",
                         "-",
                         ".",
                         "1.",
                         "1.0000001",
                         "1e3",
                         "abc",
                         "1,5",
                         " 1",
                         "1 ",
                         "1000000000000.000001",
                         "99999999999999999999",
                         "0x10",
                         "--1",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        m = 777;
        if (gb_money_parse(bad[i], &m) == 0) fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(m, 777);
    }
    assert_int_not_equal(gb_money_parse(NULL, &m), 0);
}

static void test_format(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(gb_money_format(2490000, b, sizeof(b)), "2.49");
    assert_string_equal(gb_money_format(55500000, b, sizeof(b)), "55.50");
    assert_string_equal(gb_money_format(4875000, b, sizeof(b)), "4.88"); /* half up */
    assert_string_equal(gb_money_format(4874999, b, sizeof(b)), "4.87");
    assert_string_equal(gb_money_format(-4875000, b, sizeof(b)), "-4.88"); /* away from 0 */
    assert_string_equal(gb_money_format(0, b, sizeof(b)), "0.00");
    assert_string_equal(gb_money_format(-4000, b, sizeof(b)), "0.00"); /* no "-0.00" */
    assert_string_equal(gb_money_format(1, b, sizeof(b)), "0.00");
    assert_string_equal(gb_money_format(GB_MONEY_MAX, b, sizeof(b)), "1000000000000.00");
    assert_string_equal(gb_money_format(INT64_MIN, b, sizeof(b)), "-9223372036854.78");
}

static void test_from_double(void **state)
{
    (void)state;
    gb_money m;
    assert_int_equal(gb_money_from_double(0.39, &m), 0);
    assert_int_equal(m, 390000);
    assert_int_equal(gb_money_from_double(27.75, &m), 0);
    assert_int_equal(m, 27750000);
    assert_int_equal(gb_money_from_double(0.1 + 0.2, &m), 0);
    assert_int_equal(m, 300000);
    assert_int_not_equal(gb_money_from_double(1e300, &m), 0);
    assert_int_not_equal(gb_money_from_double(0.0 / 0.0, &m), 0);
}

static void test_mul_ratio(void **state)
{
    (void)state;
    gb_money m;
    /* $27.75/h for 2 h */
    assert_int_equal(gb_money_mul_ratio(27750000, 2, 1, &m), 0);
    assert_int_equal(m, 55500000);
    /* $0.39/h for 12.5 h = 4.875 */
    assert_int_equal(gb_money_mul_ratio(390000, 125, 10, &m), 0);
    assert_int_equal(m, 4875000);
    /* rounding half away from zero at the micro-dollar */
    assert_int_equal(gb_money_mul_ratio(1, 1, 2, &m), 0);
    assert_int_equal(m, 1);
    assert_int_equal(gb_money_mul_ratio(-1, 1, 2, &m), 0);
    assert_int_equal(m, -1);
    assert_int_equal(gb_money_mul_ratio(1, 1, 3, &m), 0);
    assert_int_equal(m, 0);
    assert_int_not_equal(gb_money_mul_ratio(INT64_MAX, 2, 1, &m), 0);
    assert_int_not_equal(gb_money_mul_ratio(1, 1, 0, &m), 0);
    /* a margin in basis points, rounded as above */
    assert_int_equal(gb_money_plus_bp(390000, 1000, &m), 0);
    assert_int_equal(m, 429000);
    assert_int_equal(gb_money_plus_bp(1, 5000, &m), 0); /* 1.5 -> 2 */
    assert_int_equal(m, 2);
    assert_int_equal(gb_money_plus_bp(2727273, 1000, &m), 0); /* 3,000,000.3 */
    assert_int_equal(m, 3000000);
    m = 7;
    assert_int_not_equal(gb_money_plus_bp(INT64_MAX, 1, &m), 0);
    assert_int_equal(m, 7); /* untouched */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_from_double),
        cmocka_unit_test(test_mul_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
