/* e2e_localhost_guard.c: with no address allowed beyond the public internet (as in a real
 * installation, unlike the sandbox's loopback allowance), a webhook and a fine-tuning
 * datasetUrl to http://localhost:PORT (a name, resolved, not a literal) are refused end to
 * end: the delivery is recorded as refused, the job fails with a full refund, and a listener
 * on that port never sees a connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support_daemon.h"

static e2e_daemon D;
static e2e_canary *C;
static int PORT;

static int setup(void **state)
{
    (void)state;
    /* an empty allow-list: what `gpubroker serve` has by default */
    static const char *env[] = {
        "GPUBROKER_WEBHOOKS_ALLOW_CIDRS=", "GPUBROKER_JOBS_RUNNER_INTERVAL_MS=100", NULL};
    e2e_start_sandbox(&D, NULL, env);
    C = e2e_canary_start(&PORT);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_canary_stop(C);
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

static double balance(void)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", D.key, NULL, &r);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(r.json, "balance");
    double v = cJSON_IsNumber(b) ? b->valuedouble : -1;
    e2e_resp_free(&r);
    return v;
}

static void test_webhook_to_localhost_refused(void **state)
{
    (void)state;
    char body[256], path[128], id[64];
    snprintf(body, sizeof(body),
             "{\"url\":\"http://localhost:%d/hook\",\"events\":\"webhook.test\"}", PORT);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/webhooks", D.key, body, &r);
    if (r.status != 201) fail_msg("add endpoint: %ld %s", r.status, r.body);
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/webhooks/%s/test", id);
    e2e_req(&D, "POST", path, D.key, NULL, &r);
    assert_int_equal(r.status, 202);
    e2e_resp_free(&r);
    int refused = 0;
    for (int k = 0; k < 100 && !refused; k++) {
        e2e_req(&D, "GET", "/api/volt/webhooks/deliveries?limit=1", D.key, NULL, &r);
        refused = strstr(r.body, "refused") != NULL;
        e2e_resp_free(&r);
        if (!refused) usleep(100000);
    }
    if (!refused) fail_msg("the delivery to localhost:%d was not refused", PORT);
    assert_int_equal(e2e_canary_count(C), 0);
}

static void test_dataset_on_localhost_refused(void **state)
{
    (void)state;
    double before = balance();
    char body[512], path[160];
    snprintf(body, sizeof(body),
             "{\"name\":\"sneaky\",\"taskType\":\"custom_chat\",\"model\":\"Qwen/Qwen2.5-0.5B\","
             "\"datasetUrl\":\"http://localhost:%d/data.jsonl\",\"hours\":1}",
             PORT);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key, body, &r);
    if (r.status != 201) fail_msg("create: %ld %s", r.status, r.body);
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", e2e_str(&r, "job.id"));
    e2e_resp_free(&r);
    char *final = NULL;
    for (int i = 0; i < 200 && !final; i++) {
        e2e_req(&D, "GET", path, D.key, NULL, &r);
        const char *st = e2e_str(&r, "job.status");
        if (st && strcmp(st, "failure") == 0) {
            final = r.body;
            r.body = NULL;
        }
        e2e_resp_free(&r);
        if (!final) usleep(100000);
    }
    if (!final) fail_msg("the job never failed");
    assert_non_null(strstr(final, "refused"));
    assert_non_null(strstr(final, "\"refunded\":true"));
    free(final);
    assert_true(balance() == before);
    assert_int_equal(e2e_canary_count(C), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_to_localhost_refused),
        cmocka_unit_test(test_dataset_on_localhost_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
