/* test_providers_model.c: the normalized status names and the adapter registry of the unified
 * model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "providers/provider.h"

static void test_status_names(void **state)
{
    (void)state;
    for (int s = POD_PENDING; s <= POD_UNKNOWN; s++) {
        pod_status back;
        assert_int_equal(pod_status_parse(pod_status_name((pod_status)s), &back), 0);
        assert_int_equal(back, s);
    }
    pod_status x;
    assert_int_equal(pod_status_parse("RUNNING", &x), 0);
    assert_int_equal(x, POD_RUNNING);
    assert_int_equal(pod_status_parse("starting", &x), -1);
    assert_true(pod_status_settled(POD_STOPPED));
    assert_true(pod_status_settled(POD_DELETED));
    assert_false(pod_status_settled(POD_RUNNING));
    assert_false(pod_status_settled(POD_DEPLOYING));
}

static void test_registry(void **state)
{
    (void)state;
    prov_adapter *a = NULL;
    assert_int_equal(prov_adapter_new("nosuch", "x", "http://h", "k", NULL, &a), GB_ERR_NOT_FOUND);
    assert_null(a);
    for (const char *const *k = prov_kinds(); *k; k++) {
        assert_int_equal(prov_adapter_new(*k, *k, "http://127.0.0.1:1/", "secret", NULL, &a),
                         GB_OK);
        assert_string_equal(a->base_url, "http://127.0.0.1:1"); /* trailing slash trimmed */
        assert_non_null(a->ops->create);
        assert_non_null(a->ops->get);
        assert_non_null(a->ops->remove);
        assert_non_null(a->ops->list_offers);
        assert_non_null(a->ops->map_status);
        assert_int_equal(a->ops->map_status("definitely-not-a-status"), POD_UNKNOWN);
        prov_adapter_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_status_names),
                                       cmocka_unit_test(test_registry)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
