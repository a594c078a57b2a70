/* test_jobs_report.c: the trainer's report body (ft_report_parse): known fields only, each
 * bounded, progress a fraction 0..1 kept as a percentage, only the statuses a trainer may
 * report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "jobs/job_store.h"

static gb_err parse(const char *text, ft_report *r, char *err)
{
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    gb_err e = ft_report_parse(j, r, err);
    /* strings point into the JSON: compare them before it goes */
    if (!e && r->output_model_repo) assert_string_equal(r->output_model_repo, "me/tuned");
    if (!e && r->message) assert_string_equal(r->message, "epoch 2");
    cJSON_Delete(j);
    return e;
}

static void test_valid(void **state)
{
    (void)state;
    ft_report r;
    char err[GB_JSON_ERR_MAX] = "";
    assert_int_equal(parse("{\"status\":\"training\",\"progress\":0.5,"
                           "\"outputModelRepo\":\"me/tuned\",\"message\":\"epoch 2\"}",
                           &r, err),
                     GB_OK);
    assert_true(r.has_status);
    assert_int_equal(r.status, FT_TRAINING);
    assert_true(r.has_progress);
    assert_true(r.progress > 49.999 && r.progress < 50.001);
    assert_non_null(r.output_model_repo);
    assert_non_null(r.message);
    assert_int_equal(parse("{}", &r, err), GB_OK);
    assert_false(r.has_status);
    assert_false(r.has_progress);
    assert_null(r.output_model_repo);
    assert_null(r.message);
    assert_int_equal(parse("{\"progress\":1}", &r, err), GB_OK);
    assert_true(r.progress > 99.999 && r.progress < 100.001);
    assert_int_equal(parse("{\"progress\":0}", &r, err), GB_OK);
    assert_true(r.has_progress);
    static const struct {
        const char *s;
        ft_state want;
    } ok[] = {{"training", FT_TRAINING},
              {"evaluating", FT_EVALUATING},
              {"success", FT_SUCCESS},
              {"failure", FT_FAILURE}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"status\":\"%s\"}", ok[i].s);
        assert_int_equal(parse(body, &r, err), GB_OK);
        assert_int_equal(r.status, ok[i].want);
    }
}

static void test_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *body, *in_err;
    } bad[] = {
        {"{\"statu\":\"training\"}", "statu"},
        {"{\"progress\":1.01}", "progress"},
        {"{\"progress\":-0.01}", "progress"},
        {"{\"progress\":\"0.5\"}", "progress"},
        {"{\"progress\":null}", "progress"},
        {"{\"status\":\"pending\"}", "status"},
        {"{\"status\":\"cancelled\"}", "status"},
        {"{\"status\":\"\"}", "status"},
        {"{\"status\":7}", "status"},
        {"{\"outputModelRepo\":\"ab\"}", "outputModelRepo"},
        {"{\"message\":\"\"}", "message"},
        {"[]", "object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ft_report r;
        char err[GB_JSON_ERR_MAX] = "";
        if (parse(bad[i].body, &r, err) != GB_ERR_INVALID) fail_msg("accepted %s", bad[i].body);
        if (!strstr(err, bad[i].in_err)) fail_msg("%s: error '%s'", bad[i].body, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_valid),
                                       cmocka_unit_test(test_invalid)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
