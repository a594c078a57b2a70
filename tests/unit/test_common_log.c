/* test_common_log.c: JSON log lines parse as one object with ts, level, module, msg and the
 * thread's request id, whatever the message holds (quotes, backslashes, control characters,
 * a message longer than the line); request ids are validated and made fresh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* Runs one gb_log call with stderr sent to a temporary file; returns what was written. */
static char *capture(gb_log_level lvl, const char *module, const char *msg)
{
    char path[] = "/tmp/gb-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    gb_log(lvl, module, "%s", msg);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
    close(fd);
    unlink(path);
    return buf;
}

static cJSON *one_object(const char *text)
{
    size_t n = strlen(text);
    assert_true(n > 0);
    assert_int_equal(text[n - 1], '\n');
    assert_null(memchr(text, '\n', n - 1)); /* one line */
    cJSON *o = cJSON_Parse(text);
    if (!cJSON_IsObject(o)) fail_msg("not a JSON object: %s", text);
    return o;
}

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void test_json_line(void **state)
{
    (void)state;
    gb_log_set_json(true);
    gb_request_id_set(NULL);
    const char *msg = "a \"quoted\" back\\slash\nnew line\ttab \x01 ctl \x7f del";
    char *t = capture(GB_LOG_WARN, "mod", msg);
    cJSON *o = one_object(t);
    assert_string_equal(str(o, "msg"), msg);
    assert_string_equal(str(o, "level"), "warn");
    assert_string_equal(str(o, "module"), "mod");
    assert_non_null(str(o, "ts"));
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "request_id"));
    cJSON_Delete(o);
    free(t);
    /* with a request id, and a message far longer than a line: cut, still one object */
    gb_request_id_set("req-1.A_b");
    char big[8000];
    memset(big, '"', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    t = capture(GB_LOG_ERROR, "m", big);
    o = one_object(t);
    assert_string_equal(str(o, "request_id"), "req-1.A_b");
    assert_true(strlen(str(o, "msg")) > 100);
    cJSON_Delete(o);
    free(t);
    /* text lines stay text */
    gb_log_set_json(false);
    t = capture(GB_LOG_ERROR, "m", "plain");
    assert_non_null(strstr(t, "ERROR [m] plain\n"));
    assert_int_not_equal(t[0], '{');
    free(t);
    gb_request_id_set(NULL);
}

static int cmp_id(const void *x, const void *y)
{
    return strcmp(x, y);
}

static void test_request_ids(void **state)
{
    (void)state;
    char max[GB_REQUEST_ID_MAX + 2];
    memset(max, 'a', sizeof(max));
    max[GB_REQUEST_ID_MAX] = '\0';
    assert_true(gb_request_id_valid(max));
    max[GB_REQUEST_ID_MAX] = 'a';
    max[GB_REQUEST_ID_MAX + 1] = '\0';
    assert_false(gb_request_id_valid(max)); /* 129 */
    assert_true(gb_request_id_valid("Az09._-"));
    assert_false(gb_request_id_valid(""));
    assert_false(gb_request_id_valid(NULL));
    assert_false(gb_request_id_valid("a b"));
    assert_false(gb_request_id_valid("a\r\nX-Evil: 1"));
    assert_false(gb_request_id_valid("é"));
    char a[40], b[40];
    gb_request_id_new(a, sizeof(a));
    gb_request_id_new(b, sizeof(b));
    assert_int_equal(strlen(a), 32);
    assert_true(gb_request_id_valid(a));
    assert_string_not_equal(a, b);
    /* ids come from a per-thread pool refilled every 16: across refills, never one twice */
    enum { N = 2000 };
    static char ids[N][40];
    for (int i = 0; i < N; i++) {
        gb_request_id_new(ids[i], sizeof(ids[i]));
        assert_true(gb_request_id_valid(ids[i]));
    }
    qsort(ids, N, sizeof(ids[0]), cmp_id);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    gb_request_id_set("x.y");
    assert_string_equal(gb_request_id(), "x.y");
    gb_request_id_set("bad id"); /* invalid: cleared */
    assert_null(gb_request_id());
    assert_int_equal(gb_log_format_parse("json"), 1);
    assert_int_equal(gb_log_format_parse("text"), 0);
    assert_int_equal(gb_log_format_parse("JSON"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_request_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
