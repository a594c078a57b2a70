/* test_common_utf8.c: strict UTF-8 decoding: the boundaries of each sequence length, and the
 * forms RFC 3629 forbids (overlong, surrogates, above U+10FFFF, cut short, stray bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/utf8.h"

static void test_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint32_t cp;
        size_t len;
    } OK[] = {
        {"\x00", 0, 1},
        {"\x7f", 0x7f, 1},
        {"\xc2\x80", 0x80, 2},
        {"\xdf\xbf", 0x7ff, 2},
        {"\xe0\xa0\x80", 0x800, 3},
        {"\xed\x9f\xbf", 0xd7ff, 3},
        {"\xee\x80\x80", 0xe000, 3},
        {"\xef\xbf\xbf", 0xffff, 3},
        {"\xf0\x90\x80\x80", 0x10000, 4},
        {"\xf4\x8f\xbf\xbf", 0x10ffff, 4},
    };
    for (size_t i = 0; i < sizeof(OK) / sizeof(OK[0]); i++) {
        uint32_t cp = 0xdeadbeef;
        size_t n = OK[i].len;
        assert_int_equal(gb_utf8_next((const unsigned char *)OK[i].s, n, &cp), n);
        assert_int_equal(cp, OK[i].cp);
        assert_true(gb_utf8_valid(OK[i].s, n));
    }
    const char *text = "gr\xc3\xbc\xc3\x9f dich \xe2\x82\xac \xf0\x9f\x98\x80";
    assert_true(gb_utf8_valid(text, strlen(text)));
    assert_true(gb_utf8_valid("", 0));
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *const BAD[] = {
        "\x80",             /* a continuation byte alone */
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x9f\xbf",     /* overlong three-byte */
        "\xf0\x8f\xbf\xbf", /* overlong four-byte */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xed\xbf\xbf",     /* surrogate U+DFFF */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80", /* lead above f4 */
        "\xff",             /* never in UTF-8 */
        "\xc3",             /* cut short */
        "\xe2\x82",         /* cut short */
        "\xc3\x28",         /* bad continuation */
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        uint32_t cp;
        size_t n = strlen(BAD[i]);
        assert_int_equal(gb_utf8_next((const unsigned char *)BAD[i], n, &cp), 0);
        assert_false(gb_utf8_valid(BAD[i], n));
    }
    assert_false(gb_utf8_valid("ok\xc3", 3)); /* valid prefix, cut tail */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
