/* test_broker_podmodel.c: a pod's running-time accounting across status changes and its cost
 * from the locked price. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "broker/core/pods.h"

static void test_accounting(void **state)
{
    (void)state;
    pod_rec p;
    memset(&p, 0, sizeof(p));
    p.price_per_hour = 390000; /* $0.39/h */
    p.status = POD_DEPLOYING;
    int64_t t = 1000000;
    assert_int_equal(pod_running_ms(&p, t), 0);
    pod_set_status(&p, POD_RUNNING, t);
    assert_int_equal(pod_running_ms(&p, t + 3600000), 3600000);
    pod_set_status(&p, POD_STOPPING, t + 3600000); /* stop billing time */
    assert_int_equal(pod_running_ms(&p, t + 9999999), 3600000);
    pod_set_status(&p, POD_STOPPED, t + 3700000);
    assert_int_equal(p.stopped_at, t + 3700000);
    pod_set_status(&p, POD_RUNNING, t + 7200000);
    /* 12.5 hours in all: 0.39 * 12.5 = 4.875 -> 4875000 micro-dollars */
    int64_t at = t + 7200000 + 11 * 3600000 + 1800000;
    assert_int_equal(pod_running_ms(&p, at), 45000000);
    assert_int_equal(pod_cost(&p, p.price_per_hour, at), 4875000);
    assert_int_equal(pod_cost(&p, 429000, at), 5362500); /* at 0.429: a 10% margin */
    assert_int_equal(pod_cost(&p, INT64_MAX, at), 0);    /* out of range */
    pod_set_status(&p, POD_DELETED, at);
    assert_int_equal(p.deleted_at, at);
    assert_int_equal(pod_running_ms(&p, at + 5000000), 45000000);
    /* setting the same status twice changes nothing */
    int64_t ms = p.running_ms;
    pod_set_status(&p, POD_DELETED, at + 1);
    assert_int_equal(p.running_ms, ms);
    assert_int_equal(p.deleted_at, at);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_accounting)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
