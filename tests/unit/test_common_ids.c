/* test_common_ids.c: identifiers, time formatting/parsing, and the string helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/str.h"

static void test_ids(void **state)
{
    (void)state;
    char a[GB_ID_MAX], b[GB_ID_MAX];
    assert_int_equal(gb_id_new("pod_", a, sizeof(a)), GB_OK);
    assert_int_equal(gb_id_new("pod_", b, sizeof(b)), GB_OK);
    assert_int_equal(strlen(a), 4 + GB_ID_RANDOM_CHARS);
    assert_string_not_equal(a, b);
    assert_true(gb_id_valid(a, "pod_"));
    assert_false(gb_id_valid(a, "key_"));
    assert_false(gb_id_valid("pod_", "pod_"));
    assert_false(gb_id_valid("pod_a-b", "pod_"));
    assert_false(gb_id_valid("pod_a/../b", "pod_"));
    char small[8];
    assert_int_equal(gb_id_new("pod_", small, sizeof(small)), GB_ERR_INVALID);
    /* every base62 symbol shows up, and nothing else (no modulo-bias shortcuts) */
    char big[4001];
    gb_random_base62(big, 4000);
    assert_int_equal(strlen(big), 4000);
    int seen[128] = {0};
    for (int i = 0; i < 4000; i++)
        seen[(int)big[i]]++;
    int distinct = 0;
    for (int c = 0; c < 128; c++) {
        if (!seen[c]) continue;
        distinct++;
        assert_true((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
    }
    assert_int_equal(distinct, 62);
}

/* Time-ordered ids sort (bytewise, as SQLite's TEXT key and PostgreSQL's C collation compare)
 * in the order of their milliseconds, so a table's key index takes new rows at its right edge
 * (docs/benchmarks.md); the same length and alphabet as a random id. */
static void test_ordered_ids(void **state)
{
    (void)state;
    char a[GB_ID_MAX], b[GB_ID_MAX], c[GB_ID_MAX];
    const int64_t t = 1796342400000; /* 2026-12-04 */
    assert_int_equal(gb_id_new_ordered("ftj_", t, a, sizeof(a)), GB_OK);
    assert_int_equal(gb_id_new_ordered("ftj_", t, b, sizeof(b)), GB_OK);
    assert_int_equal(strlen(a), 4 + GB_ID_RANDOM_CHARS);
    assert_true(gb_id_valid(a, "ftj_"));
    assert_memory_equal(a, b, 4 + GB_ID_TIME_CHARS); /* the same millisecond */
    assert_string_not_equal(a, b);                   /* its random part differs */
    /* each later millisecond sorts after, across every carry of the last digits */
    char prev[GB_ID_MAX];
    memcpy(prev, a, sizeof(a));
    for (int64_t d = 1; d < 62 * 62 * 3; d += 7) {
        assert_int_equal(gb_id_new_ordered("ftj_", t + d, c, sizeof(c)), GB_OK);
        assert_true(strcmp(prev, c) < 0);
        memcpy(prev, c, sizeof(c));
    }
    assert_true(strcmp(a, prev) < 0);
    /* the epoch and the last millisecond that fits */
    assert_int_equal(gb_id_new_ordered("x", 0, c, sizeof(c)), GB_OK);
    assert_memory_equal(c, "x00000000", 9);
    int64_t last = 1;
    for (int i = 0; i < GB_ID_TIME_CHARS; i++)
        last *= 62;
    assert_int_equal(gb_id_new_ordered("x", last - 1, c, sizeof(c)), GB_OK);
    assert_memory_equal(c, "xzzzzzzzz", 9);
    /* a clock outside the range still makes a valid id, at the nearer end */
    assert_int_equal(gb_id_new_ordered("x", last, c, sizeof(c)), GB_OK);
    assert_memory_equal(c, "xzzzzzzzz", 9);
    assert_int_equal(gb_id_new_ordered("x", INT64_MAX, c, sizeof(c)), GB_OK);
    assert_memory_equal(c, "xzzzzzzzz", 9);
    assert_int_equal(gb_id_new_ordered("x", -1, c, sizeof(c)), GB_OK);
    assert_memory_equal(c, "x00000000", 9);
    assert_true(gb_id_valid(c, "x"));
    char small[8];
    assert_int_equal(gb_id_new_ordered("ftj_", t, small, sizeof(small)), GB_ERR_INVALID);
}

static void test_time(void **state)
{
    (void)state;
    char b[32];
    gb_time_format(1774706400000, b, sizeof(b));
    assert_string_equal(b, "2026-03-28T14:00:00Z");
    int64_t ms;
    assert_int_equal(gb_time_parse("2026-03-28T14:00:00Z", &ms), 0);
    assert_int_equal(ms, 1774706400000);
    assert_int_equal(gb_time_parse("2026-03-28T14:00:00.25Z", &ms), 0);
    assert_int_equal(ms, 1774706400250);
    assert_int_not_equal(gb_time_parse("2026-03-28 14:00:00Z", &ms), 0);
    assert_int_not_equal(gb_time_parse("2026-13-28T14:00:00Z", &ms), 0);
    assert_int_not_equal(gb_time_parse("2026-03-28T14:00:00+01:00", &ms), 0);
    assert_int_not_equal(gb_time_parse("2026-03-28T14:00:00.Z", &ms), 0);
    /* the test clock */
    gb_clock_set(1000);
    assert_int_equal(gb_now_ms(), 1000);
    gb_clock_advance(500);
    assert_int_equal(gb_now_ms(), 1500);
    gb_clock_use_real();
    assert_true(gb_now_ms() > 1774706400000);
}

static void test_strings(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(gb_parse_i64("42", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_not_equal(gb_parse_i64("101", 0, 100, &v), 0);
    assert_int_not_equal(gb_parse_i64("4x", 0, 100, &v), 0);
    assert_int_not_equal(gb_parse_i64("", 0, 100, &v), 0);
    assert_int_not_equal(gb_parse_i64("99999999999999999999", INT64_MIN, INT64_MAX, &v), 0);
    char d[4];
    assert_int_equal(gb_strlcpy(d, "abcdef", sizeof(d)), 6);
    assert_string_equal(d, "abc");
    assert_int_equal(gb_snprintf(d, sizeof(d), "%s", "abcd"), -1);
    assert_int_equal(gb_snprintf(d, sizeof(d), "%s", "abc"), 0);
    gb_buf b = {0};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(gb_buf_printf(&b, "%d,", i), GB_OK);
    assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
    assert_int_equal(b.data[b.len], '\0');
    char *t = gb_buf_take(&b);
    assert_null(b.data);
    assert_true(strlen(t) > 3000);
    free(t);
    assert_true(gb_str_ieq("Running", "RUNNING"));
    assert_false(gb_str_ieq("Running", "RUN"));
    assert_true(gb_str_icontains("Error: NO Capacity left", "no capacity"));
    assert_true(gb_str_icontains("capacity", "CAPACITY"));
    assert_false(gb_str_icontains("no capacit", "no capacity"));
    assert_false(gb_str_icontains(NULL, "x"));
}

/* A message too long for its buffer ends after a whole word with " ...", never mid-word; one
 * that fits is left alone. */
static void test_words_fit(void **state)
{
    (void)state;
    char b[24];
    assert_int_equal(gb_snprintf_words(b, sizeof(b), "%s", "short one"), 0);
    assert_string_equal(b, "short one");
    assert_int_equal(
        gb_snprintf_words(b, sizeof(b), "unknown field (allowed: %s)", "alpha, beta, gamma"), -1);
    assert_string_equal(b, "unknown field ...");
    /* exactly full: fits */
    assert_int_equal(gb_snprintf_words(b, sizeof(b), "%s", "abcdefghij klmnopqrstuv"), 0);
    assert_string_equal(b, "abcdefghij klmnopqrstuv");
    /* one word longer than the buffer: cut inside it, marked */
    assert_int_equal(gb_snprintf_words(b, sizeof(b), "%s", "abcdefghijklmnopqrstuvwxyz"), -1);
    assert_string_equal(b, "abcdefghijklmnopqrst...");
    /* a string cut elsewhere (full to the last byte), cut back the same way */
    char c[16] = "one two three f";
    gb_words_fit(c, sizeof(c));
    assert_string_equal(c, "one two ...");
    char tiny[4];
    assert_int_equal(gb_snprintf_words(tiny, sizeof(tiny), "%s", "abcdef"), -1);
    assert_int_equal(strlen(tiny), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_fit),   cmocka_unit_test(test_ids),
        cmocka_unit_test(test_ordered_ids), cmocka_unit_test(test_time),
        cmocka_unit_test(test_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
