/* test_common_errors.c: the one list of error codes (GB_ERRORS): every code has its own
 * description and a default API answer whose message takes the object's name when it is a
 * client error and says nothing of it when it is a server error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/gb.h"

#define ID_(id, text, status, code, message) id,
static const gb_err ALL[] = {GB_ERRORS(ID_)};
#undef ID_

static void test_descriptions(void **state)
{
    (void)state;
    assert_int_equal(GB_OK, 0);
    for (size_t i = 0; i < GB_ARRAY_LEN(ALL); i++) {
        assert_int_equal(ALL[i], (gb_err)i); /* the enum follows the list */
        const char *t = gb_strerror(ALL[i]);
        assert_string_not_equal(t, "unknown error");
        for (size_t j = 0; j < i; j++)
            if (strcmp(t, gb_strerror(ALL[j])) == 0) fail_msg("two codes say '%s'", t);
    }
    assert_string_equal(gb_strerror(GB_ERR_NOT_FOUND), "not found");
    assert_string_equal(gb_strerror(GB_ERR_PAYMENT), "payment required");
    assert_string_equal(gb_strerror((gb_err)-1), "unknown error");
    assert_string_equal(gb_strerror((gb_err)GB_ARRAY_LEN(ALL)), "unknown error");
}

static void test_http(void **state)
{
    (void)state;
    for (size_t i = 0; i < GB_ARRAY_LEN(ALL); i++) {
        const gb_err_http *h = gb_err_to_http(ALL[i]);
        assert_true(h->status >= 400 && h->status <= 599);
        assert_true(h->code[0] != '\0');
        const char *p = strchr(h->message, '%');
        if (h->status < 500) { /* names the object: exactly one %s, nothing else to format */
            assert_non_null(p);
            assert_int_equal(p[1], 's');
            assert_null(strchr(p + 1, '%'));
        } else { /* details only in the log */
            assert_null(p);
            assert_string_equal(h->code, "INTERNAL_ERROR");
        }
    }
    static const struct {
        gb_err e;
        int status;
        const char *code, *message;
    } want[] = {
        {GB_ERR_NOT_FOUND, 404, "NOT_FOUND", "Pod not found"},
        {GB_ERR_CONFLICT, 409, "CONFLICT", "Pod conflicts with an existing one"},
        {GB_ERR_INVALID, 400, "VALIDATION_ERROR", "invalid Pod"},
        {GB_ERR_DB, 500, "INTERNAL_ERROR", "Internal server error"},
        {GB_OK, 500, "INTERNAL_ERROR", "Internal server error"},
        {(gb_err)99, 500, "INTERNAL_ERROR", "Internal server error"},
    };
    for (size_t i = 0; i < GB_ARRAY_LEN(want); i++) {
        const gb_err_http *h = gb_err_to_http(want[i].e);
        char msg[128];
        snprintf(msg, sizeof(msg), h->message, "Pod");
        assert_int_equal(h->status, want[i].status);
        assert_string_equal(h->code, want[i].code);
        assert_string_equal(msg, want[i].message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_descriptions),
                                       cmocka_unit_test(test_http)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
