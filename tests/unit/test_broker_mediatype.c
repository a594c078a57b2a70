/* test_broker_mediatype.c: which Content-Type values name JSON for a request body (anything
 * else is refused with 415 by the HTTP server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "broker/api/api.h"

static void test_json_types(void **state)
{
    (void)state;
    static const char *const YES[] = {"application/json",
                                      "Application/JSON",
                                      "APPLICATION/JSON; charset=utf-8",
                                      "application/json;charset=UTF-8",
                                      " application/json ",
                                      "application/json ; x=y",
                                      "\tapplication/json"};
    for (size_t i = 0; i < sizeof(YES) / sizeof(YES[0]); i++)
        if (!api_is_json_type(YES[i])) fail_msg("refused '%s'", YES[i]);
    static const char *const NO[] = {NULL,
                                     "",
                                     "text/plain",
                                     "application/x-www-form-urlencoded",
                                     "multipart/form-data; boundary=x",
                                     "application/jsonp",
                                     "application/json-patch+json",
                                     "application/json2",
                                     "application/jso",
                                     "json",
                                     "text/json",
                                     "application/ json",
                                     "x application/json"};
    for (size_t i = 0; i < sizeof(NO) / sizeof(NO[0]); i++)
        if (api_is_json_type(NO[i])) fail_msg("accepted '%s'", NO[i] ? NO[i] : "(null)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_json_types)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
