/* e2e_pods.c: end to end in sandbox mode: the machines list built from every simulator
 * (the lifecycle on each platform is e2e_lifecycle.c); DataRobot's retried delete; a create
 * the provider refuses fails the pod and leaves nothing at the provider; bad provider credentials;
 * bad requests and tenancy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "gpu/gpu.h"
#include "providers/provider.h"
#include "support_daemon.h"

static e2e_daemon D;

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    static const char *env[] = {
        "GPUBROKER_RECONCILER_INTERVAL_MS=100", "GPUBROKER_RECONCILER_ORPHAN_CHECK_EVERY=1",
        "GPUBROKER_PROVIDERS_TIMEOUT_MS=3000", "GPUBROKER_PROVIDERS_MAX_RETRIES=1", NULL};
    static const char *extra[] = {"--sim-speed", "200", NULL};
    e2e_start_sandbox_args(&D, NULL, env, extra);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

static int total(const e2e_resp *r)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(r->json, "total");
    return cJSON_IsNumber(t) ? (int)t->valuedouble : -1;
}

static void test_machines(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/machines", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    const char *const *provs = prov_kinds(); /* every platform of the one list */
    for (int i = 0; provs[i]; i++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "\"provider\":\"%s\"", provs[i]);
        if (!strstr(r.body, needle)) fail_msg("no %s machines in %s", provs[i], r.body);
    }
    assert_true(total(&r) >= 6);
    /* Volt's GPU names in gpu_type (the seed's machines: "RTX 4090", "H100 80GB"), the broker's
     * normalized one beside it */
    int volt_names = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(r.json, "machines"))
    {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "gpu_type")),
                   *n = cJSON_GetStringValue(
                       cJSON_GetObjectItemCaseSensitive(m, "gpu_type_normalized"));
        assert_non_null(t);
        assert_non_null(n);
        if (strcmp(n, "RTX4090") == 0) assert_string_equal(t, "RTX 4090");
        if (strcmp(n, "H100") == 0) assert_string_equal(t, "H100 80GB");
        volt_names += strcmp(t, "RTX 4090") == 0 || strcmp(t, "H100 80GB") == 0;
    }
    assert_true(volt_names >= 2);
    e2e_resp_free(&r);
    /* the offers filter takes either name and finds the same offers */
    e2e_req(&D, "GET", "/api/volt/offers?gpu=RTX%204090", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    int by_volt = total(&r);
    assert_true(by_volt >= 1);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "offers"), 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "gpu_type"))
                            ?: "(none)",
                        "RTX 4090");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "gpu_type_normalized"))
            ?: "(none)",
        "RTX4090");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/offers?gpu=RTX4090", D.key, NULL, &r);
    assert_int_equal(total(&r), by_volt);
    e2e_resp_free(&r);
}

/* DELETEs the DataRobot simulator has served so far. */
static int datarobot_deletes(void)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/_sim/requests", e2e_sim_url(&D, "datarobot"));
    gb_http_req req = {.method = "GET", .url = url};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "by_route"), "DELETE /api/v2/workloads/:id/");
    int count = cJSON_IsNumber(n) ? n->valueint : 0;
    cJSON_Delete(j);
    gb_http_resp_free(&resp);
    return count;
}

/* DataRobot's DELETE answers 502 "please retry" when a proton will not stop (the simulator's
 * SIM_FAULT=stuck-proton): the broker looks the workload up, sends the DELETE again, and the
 * pod is deleted. A second delete of the deleted pod is 404 and sends nothing. */
static void test_datarobot_delete_warning(void **state)
{
    (void)state;
    char machine[160], body[512], id[64], path[128];
    int gpus;
    e2e_machine_of(&D, "datarobot", machine, sizeof(machine), &gpus);
    snprintf(body, sizeof(body),
             "{\"machine_id\":\"%s\",\"image\":\"x/y:1\",\"env\":{\"SIM_FAULT\":\"stuck-proton\"}}",
             machine);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", D.key, body, &r);
    if (r.status != 201) fail_msg("create: %ld %s", r.status, r.body);
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    /* keys are present with null, never missing: no volume was asked for */
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "volume_size_gb")));
    e2e_resp_free(&r);
    e2e_wait_pod(&D, D.key, id, "running", 15000);
    int before = datarobot_deletes();
    snprintf(path, sizeof(path), "/api/volt/pods/%s", id);
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "volume_size_gb")));
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "status"), "deleted");
    e2e_resp_free(&r);
    /* the delete intent removes it (the adapter sends the DELETE twice) and says so */
    for (int i = 0; i < 200 && !e2e_pod_event(&D, D.key, id, "removed", NULL) &&
                    !e2e_pod_event(&D, D.key, id, "delete_warning", NULL);
         i++)
        usleep(50000);
    assert_int_equal(datarobot_deletes(), before + 2);
    assert_int_equal(e2e_sim_count(&D, "datarobot", NULL), 0);
    /* deleting it again is 404 and queues nothing: no further DELETE reaches DataRobot */
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    usleep(1000000);
    assert_int_equal(datarobot_deletes(), before + 2);
}

static void sim_fault(const char *provider, const char *json)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/_sim/faults", e2e_sim_url(&D, provider));
    gb_http_req req = {.method = json ? "POST" : "DELETE",
                       .url = url,
                       .body = json,
                       .body_len = json ? strlen(json) : 0};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    assert_true(resp.status >= 200 && resp.status < 300);
    gb_http_resp_free(&resp);
}

/* A create the provider refuses (500 on every try): the API answered 201 at once; the pod
 * ends failed with the provider's error as an event, and nothing exists at the provider. */
static void test_provider_failure_fails_the_pod(void **state)
{
    (void)state;
    char machine[160], body[512], id[64];
    int gpus;
    e2e_machine_of(&D, "volt", machine, sizeof(machine), &gpus);
    int far = e2e_sim_count(&D, "volt", NULL);
    sim_fault(
        "volt",
        "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\",\"status\":500,\"count\":-1}");
    snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"name\":\"doomed\",\"image\":\"x/y:1\"}",
             machine);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", D.key, body, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(e2e_str(&r, "status"), "pending");
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    e2e_wait_pod(&D, D.key, id, "failed", 20000);
    sim_fault("volt", NULL);
    assert_true(e2e_pod_event(&D, D.key, id, "create_failed", "volt"));
    assert_true(e2e_pod_event(&D, D.key, id, "attempt_failed", NULL));
    assert_int_equal(e2e_sim_count(&D, "volt", NULL), far); /* nothing at the provider */
}

static void test_bad_provider_credentials(void **state)
{
    (void)state;
    char body[512];
    snprintf(
        body, sizeof(body),
        "{\"name\":\"volt-bad\",\"kind\":\"volt\",\"base_url\":\"%s\",\"secret\":\"wrong-key\","
        "\"verify\":false}", /* registered unchecked: the 401 comes at the first call */
        e2e_sim_url(&D, "volt"));
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/providers", D.admin_key, body, &r);
    assert_int_equal(r.status, 201);
    assert_null(strstr(r.body, "wrong-key"));
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/pods", D.key,
            "{\"provider\":\"volt-bad\",\"machine_id\":\"anything\",\"image\":\"x/y:1\"}", &r);
    e2e_expect_error(&r, 502, "PROVIDER_AUTH_FAILED");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/pods?provider=volt-bad", D.key, NULL, &r);
    assert_int_equal(total(&r), 0);
    e2e_resp_free(&r);
    /* the health list shows the failure, never the secret */
    e2e_req(&D, "GET", "/api/volt/admin/providers", D.admin_key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "wrong-key"));
    assert_non_null(strstr(r.body, "\"healthy\":false"));
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", "/api/volt/admin/providers/volt-bad", D.admin_key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
}

static void test_bad_requests_and_tenancy(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", D.key, "{\"image\":\"x/y\"}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "machine_id"));
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/pods", D.key, "{\"machine_id\":\"volt:nope\",\"image\":\"x/y\"}",
            &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/pods", D.key,
            "{\"machine_id\":\"volt:nope\",\"image\":\"x/y\",\"ssh_key_ids\":[\"key_nope\"]}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "ssh_key_ids"));
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/pods?status=bogus", D.key, NULL, &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    e2e_resp_free(&r);
    /* another account sees none of the demo account's pods */
    char machine[160], body[512], id[64], path[128];
    int gpus;
    e2e_machine_of(&D, "volt", machine, sizeof(machine), &gpus);
    snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"image\":\"x/y:1\"}", machine);
    e2e_req(&D, "POST", "/api/volt/pods", D.key, body, &r);
    assert_int_equal(r.status, 201);
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key, "{\"name\":\"eve\"}", &r);
    char eve[96];
    snprintf(eve, sizeof(eve), "%s", e2e_str(&r, "api_key.key"));
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/pods/%s", id);
    e2e_req(&D, "GET", path, eve, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", path, eve, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/pods", eve, NULL, &r);
    assert_int_equal(total(&r), 0);
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
}

/* GET /pods pages with limit/offset like the fine-tuning list (newest first, each pod once,
 * total counting them all); every list answers an unknown query parameter with the 400 of an
 * unknown body field, and a bad limit with a 400 naming it. */
static void test_list_paging_and_queries(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key,
            "{\"name\":\"pager\",\"credit\":\"500\"}", &r);
    assert_int_equal(r.status, 201);
    char key[96];
    snprintf(key, sizeof(key), "%s", e2e_str(&r, "api_key.key"));
    e2e_resp_free(&r);
    char machine[160], body[512], ids[3][64];
    int gpus;
    e2e_machine_of(&D, "volt", machine, sizeof(machine), &gpus);
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"image\":\"x/y:1\",\"name\":\"p%d\"}",
                 machine, i);
        e2e_req(&D, "POST", "/api/volt/pods", key, body, &r);
        if (r.status != 201) fail_msg("create: %ld %s", r.status, r.body);
        snprintf(ids[i], sizeof(ids[i]), "%s", e2e_str(&r, "id"));
        char want[GPU_TYPE_MAX];
        gpu_normalize(e2e_str(&r, "gpu_type"), want, NULL); /* Volt's name, normalizing back */
        assert_string_equal(e2e_str(&r, "gpu_type_normalized") ?: "(none)", want);
        assert_string_equal(e2e_str(&r, "gpu_type"), gpu_volt_name(want));
        e2e_resp_free(&r);
        usleep(20000); /* distinct created_at: the order is the creation order */
    }
    static const char *const pages[] = {"/api/volt/pods?limit=2", "/api/volt/pods?limit=2&offset=2",
                                        "/api/volt/pods?offset=3"};
    static const int sizes[] = {2, 1, 0};
    int seen = 0;
    for (int p = 0; p < 3; p++) {
        e2e_req(&D, "GET", pages[p], key, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(total(&r), 3);
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r.json, "pods");
        assert_int_equal(cJSON_GetArraySize(arr), sizes[p]);
        const cJSON *it;
        cJSON_ArrayForEach(it, arr)
        {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "id"));
            assert_string_equal(id, ids[2 - seen]); /* newest first, each once */
            seen++;
        }
        e2e_resp_free(&r);
    }
    assert_int_equal(seen, 3);
    e2e_req(&D, "GET", "/api/volt/pods?limit=0", key, NULL, &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "limit"));
    e2e_resp_free(&r);
    /* an unknown query parameter on every list route: 400 naming it, like a body field */
    static const char *const lists[] = {
        "/api/volt/pods",        "/api/volt/machines",           "/api/volt/ssh-keys",
        "/api/volt/templates",   "/api/volt/docker-credentials", "/api/volt/api-keys",
        "/api/volt/fine-tuning", "/api/volt/webhooks",           "/api/volt/webhooks/deliveries",
        "/api/volt/offers",      "/api/volt/account/ledger",     "/api/volt/account/usage"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        char path[160];
        snprintf(path, sizeof(path), "%s?bogus=1", lists[i]);
        e2e_req(&D, "GET", path, key, NULL, &r);
        if (r.status != 400) fail_msg("%s: %ld %s", path, r.status, r.body);
        e2e_expect_error(&r, 400, "VALIDATION_ERROR");
        assert_non_null(strstr(e2e_str(&r, "message"), "unknown query parameter 'bogus'"));
        e2e_resp_free(&r);
    }
    /* the known ones still work */
    e2e_req(&D, "GET", "/api/volt/pods?status=pending&provider=volt&limit=5&offset=0", key, NULL,
            &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/api/volt/pods/%.64s", ids[i]);
        e2e_req(&D, "DELETE", path, key, NULL, &r);
        e2e_resp_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_machines),
        cmocka_unit_test(test_datarobot_delete_warning),
        cmocka_unit_test(test_provider_failure_fails_the_pod),
        cmocka_unit_test(test_bad_provider_credentials),
        cmocka_unit_test(test_bad_requests_and_tenancy),
        cmocka_unit_test(test_list_paging_and_queries),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
