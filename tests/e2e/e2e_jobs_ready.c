/* e2e_jobs_ready.c: a job cancelled in `ready` (its machine found, training not started) is
 * refunded in full, as the Volt summary of the cancel rules says; its pod is removed. The job
 * runner steps every 1.5 s here so the job stays in ready long enough to be seen and
 * cancelled there (the full run of the other states is e2e_jobs.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "support_daemon.h"

static e2e_daemon D;
static const char *ENV[] = {"GPUBROKER_JOBS_RUNNER_INTERVAL_MS=1500",
                            "GPUBROKER_RECONCILER_INTERVAL_MS=200",
                            "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000", NULL};
static const char *EXTRA[] = {"--sim-speed", "60", NULL};

static const char *ppath_of(const char *pod)
{
    static char p[128];
    snprintf(p, sizeof(p), "/api/volt/pods/%s", pod);
    return p;
}

static double balance(void)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    double b = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r.json, "balance"));
    e2e_resp_free(&r);
    return b;
}

/* Polls the job until status is want (true) or it has passed it (false). */
static bool reach(const char *path, const char *want, char *pod, size_t n)
{
    for (int i = 0; i < 3000; i++) {
        e2e_resp r;
        e2e_req(&D, "GET", path, D.key, NULL, &r);
        assert_int_equal(r.status, 200);
        const char *st = e2e_str(&r, "job.status");
        bool at = st && strcmp(st, want) == 0;
        bool past = st && (strcmp(st, "training") == 0 || strcmp(st, "evaluating") == 0 ||
                           strcmp(st, "success") == 0 || strncmp(st, "fail", 4) == 0);
        if (at) snprintf(pod, n, "%s", e2e_str(&r, "job.podId") ? e2e_str(&r, "job.podId") : "");
        e2e_resp_free(&r);
        if (at) return true;
        if (past) fail_msg("job went past %s to %s", want, st);
        usleep(20000);
    }
    fail_msg("job never reached %s", want);
    return false;
}

static void test_cancel_in_ready_refunds_in_full(void **state)
{
    (void)state;
    double before = balance();
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key,
            "{\"name\":\"ready-cancel\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\","
            "\"dsRepo\":\"myorg/support-qa\",\"hours\":2,\"fieldInstruction\":\"instruction\","
            "\"fieldOutput\":\"output\"}",
            &r);
    if (r.status != 201) fail_msg("create: %ld %s", r.status, r.body);
    char id[64], path[128], pod[64] = "";
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "job.id"));
    e2e_resp_free(&r);
    double paid = before - balance();
    assert_true(paid > 0); /* debited up front */
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", id);
    assert_true(reach(path, "ready", pod, sizeof(pod)));
    assert_true(pod[0] != '\0'); /* its machine was found: a pod exists */
    e2e_req(&D, "GET", ppath_of(pod), D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    char pid[96], prov[32];
    snprintf(pid, sizeof(pid), "%s", e2e_str(&r, "provider_id"));
    snprintf(prov, sizeof(prov), "%s", e2e_str(&r, "provider"));
    e2e_resp_free(&r);
    assert_int_equal(e2e_sim_count(&D, prov, pid), 1); /* it exists at the provider */
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "job.status"), "cancelled");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "refunded")));
    double refunded =
        cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r.json, "refundedAmount"));
    if (refunded != paid) fail_msg("refunded %.2f of %.2f", refunded, paid);
    e2e_resp_free(&r);
    assert_true(balance() == before);
    /* the job's pod is removed, here and at the provider (the far side's own view) */
    e2e_wait_pod(&D, D.key, pod, "deleted", 15000);
    for (int i = 0; i < 200 && e2e_sim_count(&D, prov, pid) > 0; i++) /* the platform's own */
        usleep(50000);                                                /* teardown may lag */
    assert_int_equal(e2e_sim_count(&D, prov, pid), 0);
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    e2e_start_sandbox_args(&D, NULL, ENV, EXTRA);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    gb_http_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_in_ready_refunds_in_full),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
