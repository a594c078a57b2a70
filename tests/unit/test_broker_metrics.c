/* test_broker_metrics.c: the request histogram of GET /metrics counts a latency equal to a
 * bucket's bound in that bucket (Prometheus "le" is less than or equal), the buckets are
 * cumulative, and a status outside 100..599 is counted as 599. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "broker/api/metrics.h"
#include "common/str.h"

static void has(const char *text, const char *line)
{
    if (!strstr(text, line)) fail_msg("missing '%s' in:\n%s", line, text);
}

static void test_bucket_bounds(void **state)
{
    (void)state;
    metrics *m = metrics_new();
    assert_non_null(m);
    static const char *const names[] = {"GET /x"};
    metrics_observe(m, 0, 200, 1000);   /* exactly 1 ms */
    metrics_observe(m, 0, 200, 1001);   /* just over */
    metrics_observe(m, 0, 700, 250000); /* exactly 0.25 s, a status out of range */
    gb_buf b = {0};
    assert_int_equal(metrics_render(m, names, 1, &b), GB_OK);
    assert_non_null(b.data);
    const char *t = b.data;
    has(t, "gpubroker_http_requests_total{route=\"GET /x\",status=\"200\"} 2\n");
    has(t, "gpubroker_http_requests_total{route=\"GET /x\",status=\"599\"} 1\n");
    has(t, "gpubroker_http_request_duration_seconds_bucket{route=\"GET /x\",le=\"0.0005\"} 0\n");
    has(t, "gpubroker_http_request_duration_seconds_bucket{route=\"GET /x\",le=\"0.001\"} 1\n");
    has(t, "gpubroker_http_request_duration_seconds_bucket{route=\"GET /x\",le=\"0.0025\"} 2\n");
    has(t, "gpubroker_http_request_duration_seconds_bucket{route=\"GET /x\",le=\"0.1\"} 2\n");
    has(t, "gpubroker_http_request_duration_seconds_bucket{route=\"GET /x\",le=\"0.25\"} 3\n");
    has(t, "gpubroker_http_request_duration_seconds_bucket{route=\"GET /x\",le=\"+Inf\"} 3\n");
    has(t, "gpubroker_http_request_duration_seconds_sum{route=\"GET /x\"} 0.252001\n");
    has(t, "gpubroker_http_request_duration_seconds_count{route=\"GET /x\"} 3\n");
    gb_buf_free(&b);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_bucket_bounds)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
