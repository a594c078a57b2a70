/* test_common_json.c: bounded JSON parsing and the validated field readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"

static cJSON *parse(const char *t)
{
    char err[GB_JSON_ERR_MAX];
    cJSON *j = NULL;
    assert_int_equal(gb_json_parse(t, strlen(t), 16, &j, err), GB_OK);
    return j;
}

static void test_parse_limits(void **state)
{
    (void)state;
    char err[GB_JSON_ERR_MAX];
    cJSON *j = NULL;
    assert_int_equal(gb_json_parse("[[[1]]]", 7, 3, &j, err), GB_OK);
    cJSON_Delete(j);
    assert_int_equal(gb_json_parse("[[[[1]]]]", 9, 3, &j, err), GB_ERR_LIMIT);
    assert_null(j);
    /* brackets inside strings do not count */
    assert_int_equal(gb_json_parse("{\"a\":\"[[[[[[\"}", 14, 2, &j, err), GB_OK);
    cJSON_Delete(j);
    assert_int_equal(gb_json_parse("{\"a\":1} x", 9, 3, &j, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "unexpected data"));
    assert_int_equal(gb_json_parse("{\"a\":", 5, 3, &j, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "malformed JSON"));
    assert_int_equal(gb_json_parse("", 0, 3, &j, err), GB_ERR_INVALID);
}

/* Text hygiene at the boundary: a NUL (escaped or raw), invalid UTF-8, raw control characters
 * and a field named twice are refused, naming the field; what JSON allows passes whole. */
static void test_text_hygiene(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        size_t len; /* 0: strlen */
        const char *why;
    } BAD[] = {
        {"{\"password\":\"p\\u0000q\"}", 0, "field 'password' contains a NUL character"},
        {"{\"password\":\"p\0q\"}", 15, "field 'password' contains a NUL byte"},
        {"{\"name\":\"caf\xc3\"}", 0, "field 'name' is not valid UTF-8"},
        {"{\"name\":\"a\xed\xa0\x80"
         "b\"}",
         0, "field 'name' is not valid UTF-8"},
        {"{\"env\":[\"A=1\",\"B=\x01\"]}", 0, "field 'env' contains a raw control character"},
        {"{\"a\":{\"b\":1,\"c\":{\"d\":\"x\\u0000\"}}}", 0, "field 'd' contains a NUL"},
        {"{\"n\xff\":1}", 0, "a field name is not valid UTF-8"},
        {"{\"name\":\"a\",\"name\":\"b\"}", 0, "field 'name' appears twice"},
        {"{\"a\":[{\"k\":1,\"k\":2}]}", 0, "field 'k' appears twice"},
        {"[\"\\u0000\"]", 0, "a string value contains a NUL"},
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        cJSON *j = (cJSON *)1;
        gb_errmsg err = "";
        size_t len = BAD[i].len ? BAD[i].len : strlen(BAD[i].body);
        assert_int_equal(gb_json_parse(BAD[i].body, len, 16, &j, err), GB_ERR_INVALID);
        assert_null(j);
        if (!strstr(err, BAD[i].why)) fail_msg("case %zu: '%s', want '%s'", i, err, BAD[i].why);
    }
    static const char *const OK[] = {
        "{\"name\":\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00\"}",
        "{\"path\":\"C:\\\\u0000\"}",        /* an escaped backslash, then the text u0000 */
        "{\"a\":{\"k\":1},\"b\":{\"k\":2}}", /* the same name in two objects */
        "{\"tab\":\"a\\tb\\nc\"}",
    };
    for (size_t i = 0; i < sizeof(OK) / sizeof(OK[0]); i++) {
        cJSON *j = NULL;
        gb_errmsg err = "";
        if (gb_json_parse(OK[i], strlen(OK[i]), 16, &j, err) != GB_OK)
            fail_msg("case %zu refused: %s", i, err);
        cJSON_Delete(j);
    }
    cJSON *j = NULL;
    gb_errmsg err = "";
    assert_int_equal(gb_json_parse(OK[1], strlen(OK[1]), 16, &j, err), GB_OK);
    assert_string_equal(cJSON_GetObjectItem(j, "path")->valuestring, "C:\\u0000");
    cJSON_Delete(j);
}

static void test_fields(void **state)
{
    (void)state;
    char err[GB_JSON_ERR_MAX];
    cJSON *j = parse("{\"s\":\"abc\",\"n\":5,\"f\":1.5,\"b\":true,\"z\":null,\"m\":\"2.49\","
                     "\"a\":[1,2,3],\"c\":\"a\\u0001b\"}");
    const char *s;
    int64_t n;
    bool b;
    gb_money m;
    const cJSON *a;
    assert_int_equal(gb_json_str(j, "s", 1, 3, true, &s, err), GB_OK);
    assert_string_equal(s, "abc");
    assert_int_equal(gb_json_str(j, "s", 1, 2, true, &s, err), GB_ERR_INVALID);
    assert_string_equal(err, "field 's' is too long (at most 2 characters)");
    assert_int_equal(gb_json_str(j, "n", 1, 2, true, &s, err), GB_ERR_INVALID);
    assert_string_equal(err, "field 'n' must be a string");
    assert_int_equal(gb_json_str(j, "q", 1, 2, false, &s, err), GB_ERR_NOT_FOUND);
    assert_int_equal(gb_json_str(j, "z", 1, 2, false, &s, err), GB_ERR_NOT_FOUND);
    assert_int_equal(gb_json_str(j, "q", 1, 2, true, &s, err), GB_ERR_INVALID);
    assert_string_equal(err, "field 'q' is required");
    assert_int_equal(gb_json_str(j, "c", 1, 20, true, &s, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "control character"));
    assert_int_equal(gb_json_int(j, "n", 0, 10, true, &n, err), GB_OK);
    assert_int_equal(n, 5);
    assert_int_equal(gb_json_int(j, "n", 6, 10, true, &n, err), GB_ERR_INVALID);
    assert_string_equal(err, "field 'n' must be between 6 and 10");
    assert_int_equal(gb_json_int(j, "f", 0, 10, true, &n, err), GB_ERR_INVALID);
    assert_int_equal(gb_json_bool(j, "b", true, &b, err), GB_OK);
    assert_true(b);
    assert_int_equal(gb_json_bool(j, "n", true, &b, err), GB_ERR_INVALID);
    assert_int_equal(gb_json_money(j, "m", 0, GB_MONEY_MAX, true, &m, err), GB_OK);
    assert_int_equal(m, 2490000);
    assert_int_equal(gb_json_money(j, "f", 0, GB_MONEY_MAX, true, &m, err), GB_OK);
    assert_int_equal(m, 1500000);
    assert_int_equal(gb_json_money(j, "f", 0, 1000000, true, &m, err), GB_ERR_INVALID);
    assert_string_equal(err, "field 'f' must be between 0.00 and 1.00");
    assert_int_equal(gb_json_array(j, "a", 3, true, &a, err), GB_OK);
    assert_int_equal(gb_json_array(j, "a", 2, true, &a, err), GB_ERR_INVALID);
    assert_string_equal(err, "field 'a' has too many items (at most 2)");
    static const char *const allowed[] = {"s", "n", NULL};
    assert_int_equal(gb_json_only_keys(j, allowed, err), GB_ERR_INVALID);
    assert_string_equal(err, "unknown field 'f' (allowed: s, n)");
    cJSON_Delete(j);
    /* a long or odd key is not echoed back (it may be a secret pasted in the wrong place) */
    j = parse("{\"s\":1,\"hunter2-secret-value-that-is-long\":1}");
    assert_int_equal(gb_json_only_keys(j, allowed, err), GB_ERR_INVALID);
    assert_null(strstr(err, "hunter2"));
    cJSON_Delete(j);
}

static void test_writers(void **state)
{
    (void)state;
    cJSON *o = cJSON_CreateObject();
    gb_json_add_money(o, "total", 55500000);
    gb_json_add_time(o, "at", 1774706400000);
    gb_json_add_time(o, "never", 0);
    char *t = gb_json_print(o);
    assert_string_equal(t, "{\"total\":55.50,\"at\":\"2026-03-28T14:00:00Z\",\"never\":null}");
    free(t);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_text_hygiene),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
