/* test_broker_scopes.c: the one list of API key scopes (GB_SCOPES): masks, names both ways,
 * the default set of a new key, the list of names for messages, and docs/api.md naming every
 * scope (the doc is kept by hand). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/api/scopes.h"

static void test_names(void **state)
{
    (void)state;
    unsigned seen = 0;
    for (unsigned i = 0; i < SCOPE_COUNT; i++) {
        unsigned bit = 1u << i;
        const char *n = scope_name(bit);
        assert_string_not_equal(n, "?");
        assert_int_equal(scope_parse(n), bit);
        assert_non_null(strstr(scope_names(), n));
        seen |= bit;
    }
    assert_int_equal(seen, SCOPE_ALL);
    assert_int_equal(SCOPE_PODS, 1u);
    assert_int_equal(SCOPE_ADMIN, 1u << 8); /* stored in keys: bits never move */
    assert_int_equal(SCOPE_ALL_USER, SCOPE_ALL & ~(unsigned)SCOPE_ADMIN);
    assert_string_equal(scope_name(SCOPE_FINE_TUNING), "fine-tuning");
    assert_string_equal(scope_name(SCOPE_PODS | SCOPE_ADMIN), "?");
    assert_int_equal(scope_parse("gpus"), 0);
    assert_int_equal(scope_parse(NULL), 0);
    char joined[512] = "";
    for (unsigned i = 0; i < SCOPE_COUNT; i++) /* the names in bit order, ", " between */
        snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", i ? ", " : "",
                 scope_name(1u << i));
    assert_string_equal(scope_names(), joined);
    assert_true(strncmp(scope_names(), "pods, templates, ", 17) == 0);
    cJSON *arr = cJSON_CreateArray();
    scope_to_json(SCOPE_SSH_KEYS | SCOPE_ADMIN, arr);
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    assert_string_equal(cJSON_GetArrayItem(arr, 0)->valuestring, "ssh-keys");
    assert_string_equal(cJSON_GetArrayItem(arr, 1)->valuestring, "admin");
    cJSON_Delete(arr);
}

static void test_docs(void **state)
{
    (void)state;
    const char *src = getenv("GB_SOURCE_DIR");
    if (!src) fail_msg("GB_SOURCE_DIR is not set (ctest sets it)");
    char path[512], doc[1 << 16];
    snprintf(path, sizeof(path), "%s/docs/api.md", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    const char *para = strstr(doc, "Scopes (per key):");
    assert_non_null(para);
    const char *end = strstr(para, "\n\n");
    assert_non_null(end);
    for (unsigned i = 0; i < SCOPE_COUNT; i++) {
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "`%s`", scope_name(1u << i));
        const char *at = strstr(para, quoted);
        if (!at || at > end) fail_msg("docs/api.md does not list the scope %s", quoted);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_names), cmocka_unit_test(test_docs)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
