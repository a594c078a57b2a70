/* test_providers_primus_auth.c: the Primus-SaFE adapter's credentials and faults against the
 * simulator: the login token flow (cached, renewed after an injected 401 and after expiry),
 * API keys, bad credentials, 429 with Retry-After, 502 retries, timeouts, truncated bodies,
 * capacity answers, and a create that never makes two workloads nor loses one it made. */
#include "test_providers_primus_util.h"

static void list_ok(fx *f)
{
    prov_pod *pods = NULL;
    size_t n = 0;
    assert_int_equal(prov_primus_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    free(pods);
}

static void test_login_flow(void **state)
{
    fx *f = *state;
    prov_pod p;
    assert_int_equal(pf_state_int(f, "logins"), 0);
    assert_int_equal(create(f, "gpb-login", 1, NULL, &p), GB_OK);
    list_ok(f);
    list_ok(f);
    assert_int_equal(pf_state_int(f, "logins"), 1); /* one token, reused */
    assert_int_equal(pf_route_count(f, "POST /api/v1/login"), 1);
    /* a 401 (revoked token): one new login, the call repeated and answered */
    pf_fault(
        f,
        "{\"method\":\"GET\",\"path_prefix\":\"/api/v1/workloads/\",\"status\":401,\"count\":1}");
    assert_int_equal(status_of(f, p.provider_id), POD_PENDING);
    assert_int_equal(pf_state_int(f, "logins"), 2);
    /* the token expires (24 h of simulator time): renewed on the 401 */
    pf_advance(f, INT64_C(25) * 3600 * 1000);
    assert_int_equal(status_of(f, p.provider_id), POD_RUNNING);
    assert_int_equal(pf_state_int(f, "logins"), 3);
    /* 401 twice in a row: the second is final */
    pf_fault(
        f,
        "{\"method\":\"GET\",\"path_prefix\":\"/api/v1/workloads/\",\"status\":401,\"count\":2}");
    prov_pod g;
    assert_int_equal(prov_primus_ops.get(f->a, p.provider_id, &g, f->err), GB_ERR_AUTH);
    assert_non_null(strstr(f->err, "Primus.00009"));
    assert_null(strstr(f->err, "wonder-land-7"));
    assert_int_equal(pf_state_int(f, "logins"), 4);
    assert_int_equal(status_of(f, p.provider_id), POD_RUNNING);
}

static void test_bad_credentials(void **state)
{
    fx *f = *state;
    prov_adapter *bad = adapter(f, "alice:not-the-password");
    prov_offer *offers = NULL;
    size_t n = 0;
    assert_int_equal(prov_primus_ops.list_offers(bad, &offers, &n, f->err), GB_ERR_AUTH);
    assert_non_null(strstr(f->err, "the password is incorrect"));
    assert_null(strstr(f->err, "not-the-password"));
    assert_null(offers);
    prov_adapter_free(bad);
    bad = adapter(f, "ak-not-a-key");
    prov_pod p;
    assert_int_equal(prov_primus_ops.get(bad, "wl-1", &p, f->err), GB_ERR_AUTH);
    assert_non_null(strstr(f->err, "invalid API key"));
    assert_null(strstr(f->err, "ak-not-a-key"));
    prov_adapter_free(bad);
    assert_int_equal(pf_route_count(f, "POST /api/v1/login"), 1); /* the key never logs in */
    long st = 0;
    cJSON_Delete(http(f, "GET", "/api/v1/workloads", NULL, NULL, &st));
    assert_int_equal(st, 401);
}

/* A simulator started with an API key: Bearer ak-..., no login at all. */
static void test_api_key(void **state)
{
    fx *f = *state;
    prov_pod p;
    assert_int_equal(create(f, "gpb-key", 2, NULL, &p), GB_OK);
    list_ok(f);
    assert_int_equal(pf_route_count(f, "POST /api/v1/login"), 0);
    cJSON *st = pf_state(f);
    assert_string_equal(cJSON_GetObjectItem(st, "auth")->valuestring, "api_key");
    assert_string_equal(cJSON_GetObjectItem(state_wl(st, p.provider_id), "userName")->valuestring,
                        "api-user");
    cJSON_Delete(st);
    prov_adapter *bad = adapter(f, "alice:wonder-land-7"); /* no users behind a key */
    assert_int_equal(prov_primus_ops.get(bad, p.provider_id, &p, f->err), GB_ERR_AUTH);
    prov_adapter_free(bad);
}

/* What `gpubroker sandbox` does: a random plain secret (a Bearer token, no login) and the
 * platform's sandbox_settings, whose workspace the simulator knows. */
static void test_sandbox(void **state)
{
    fx *f = *state;
    cJSON *set = cJSON_Parse(sim_platform_primus()->sandbox_settings);
    assert_non_null(set);
    assert_string_equal(cJSON_GetObjectItem(set, "rate_per_gpu_hour")->valuestring, "1.40");
    assert_int_equal(cJSON_GetObjectItem(set, "max_gpus")->valueint, 32);
    const char *ws = cJSON_GetObjectItem(set, "workspace_id")->valuestring;
    cJSON *st = pf_state(f);
    const cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "workspaces"), 0);
    assert_string_equal(cJSON_GetObjectItem(w, "workspaceId")->valuestring, ws);
    assert_int_equal(cJSON_GetObjectItem(w, "totalGpus")->valueint, 32);
    cJSON_Delete(st);
    char url[64];
    prov_adapter *a = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)f->port,
             sim_platform_primus()->api_path);
    assert_int_equal(prov_adapter_init(&prov_primus_ops, "primus", url, PLAIN_SECRET, set, &a),
                     GB_OK);
    cJSON_Delete(set);
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_primus_ops.list_offers(a, &o, &n, f->err), GB_OK);
    assert_int_equal(n, 4);
    assert_int_equal(o[0].available_gpus, 32);
    free(o);
    prov_create_req req = {.name = "gpb-sandbox", .offer_id = "mi300x-4x", .image = IMAGE};
    prov_pod p;
    assert_int_equal(prov_primus_ops.create(a, &req, &p, f->err), GB_OK);
    assert_int_equal(p.gpu_count, 4);
    assert_int_equal(p.price_per_hour, 5600000);
    assert_int_equal(pf_route_count(f, "POST /api/v1/login"), 0);
    prov_adapter_free(a);
}

static void test_429_retry_after(void **state)
{
    fx *f = *state;
    list_ok(f); /* logged in first */
    f->nsleeps = 0;
    pf_fault(f,
             "{\"method\":\"GET\",\"path_prefix\":\"/api/v1/workloads\",\"status\":429,\"count\":2,"
             "\"retry_after\":3}");
    list_ok(f);
    assert_int_equal(f->nsleeps, 2);
    assert_int_equal(f->sleeps[0], 3000);
    assert_int_equal(f->sleeps[1], 3000);
    f->nsleeps = 0;
    f->a->policy.max_retries = 1;
    pf_fault(
        f, "{\"method\":\"GET\",\"path_prefix\":\"/api/v1/workloads\",\"status\":429,\"count\":-1,"
           "\"retry_after\":7}");
    prov_pod *pods = NULL;
    size_t n = 0;
    assert_int_equal(prov_primus_ops.list_pods(f->a, &pods, &n, f->err), GB_ERR_LIMIT);
    assert_int_equal(f->nsleeps, 1);
    assert_int_equal(f->sleeps[0], 7000);
    assert_non_null(strstr(f->err, "Too many requests"));
}

static void test_502_retried(void **state)
{
    fx *f = *state;
    list_ok(f);
    f->nsleeps = 0;
    pf_fault(f, "{\"path_prefix\":\"/api/v1/workloads\",\"status\":502,\"count\":2}");
    list_ok(f);
    assert_int_equal(f->nsleeps, 2);
    assert_true(f->sleeps[0] >= 125 && f->sleeps[0] < 375); /* 250 ms +-50% */
    assert_true(f->sleeps[1] >= 250 && f->sleeps[1] < 750);
    f->nsleeps = 0;
    f->a->policy.max_retries = 2;
    pf_fault(f, "{\"path_prefix\":\"/api/v1/workloads\",\"status\":502,\"count\":-1}");
    prov_pod *pods = NULL;
    size_t n = 0;
    assert_int_equal(prov_primus_ops.list_pods(f->a, &pods, &n, f->err), GB_ERR_PROVIDER);
    assert_int_equal(f->nsleeps, 2);
    assert_non_null(strstr(f->err, "502"));
    assert_non_null(strstr(f->err, "Bad gateway"));
}

static void test_timeout(void **state)
{
    fx *f = *state;
    prov_pod p;
    list_ok(f);
    f->nsleeps = 0;
    f->a->policy.timeout_ms = 200;
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"path_prefix\":\"/api/v1/workloads/\",\"latency_ms\":1500,\"count\":-1}");
    assert_int_equal(prov_primus_ops.get(f->a, "wl-x", &p, f->err), GB_ERR_TIMEOUT);
    assert_non_null(strstr(f->err, "primus unreachable"));
    assert_non_null(strstr(f->err, "2 attempts"));
    assert_int_equal(f->nsleeps, 1);
}

static void test_truncated_body(void **state)
{
    fx *f = *state;
    list_ok(f);
    pf_fault(f, "{\"path_prefix\":\"/api/v1/workloads\",\"truncate_body\":true,\"count\":1}");
    list_ok(f); /* a GET is retried */
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"path_prefix\":\"/api/v1/workloads\",\"truncate_body\":true,\"count\":-1}");
    prov_pod *pods = NULL;
    size_t n = 0;
    gb_err e = prov_primus_ops.list_pods(f->a, &pods, &n, f->err);
    assert_true(e == GB_ERR_HTTP || e == GB_ERR_PROVIDER);
    assert_null(pods);
    assert_non_null(strstr(f->err, "primus"));
}

static void test_create_never_twice(void **state)
{
    fx *f = *state;
    prov_pod p;
    list_ok(f);
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/v1/workloads\",\"drop_response\":true,"
                "\"count\":1}");
    assert_int_equal(create(f, "gpb-drop", 1, NULL, &p), GB_OK);
    assert_string_equal(p.name, "gpb-drop");
    assert_true(strncmp(p.provider_id, "gpb-drop-", 9) == 0);
    assert_int_equal(wls_named(f, "gpb-drop"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v1/workloads"), 1);
    /* a 502 before the workload was made: looked up, not found, posted once more */
    pf_fault(
        f,
        "{\"method\":\"POST\",\"path_prefix\":\"/api/v1/workloads\",\"status\":502,\"count\":1}");
    f->nsleeps = 0;
    assert_int_equal(create(f, "gpb-502", 1, NULL, &p), GB_OK);
    assert_int_equal(wls_named(f, "gpb-502"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v1/workloads"), 3);
    assert_int_equal(f->nsleeps, 1);
    /* a truncated 200: the workload exists, found by name */
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/v1/workloads\",\"truncate_body\":true,"
                "\"count\":1}");
    assert_int_equal(create(f, "gpb-trunc", 1, NULL, &p), GB_OK);
    assert_int_equal(wls_named(f, "gpb-trunc"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v1/workloads"), 4);
    /* a timeout while the platform is still working on it: reported, not posted again */
    f->a->policy.timeout_ms = 200;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/v1/workloads\",\"latency_ms\":600,"
                "\"count\":1}");
    assert_int_equal(create(f, "gpb-slow", 1, NULL, &p), GB_ERR_TIMEOUT);
    assert_non_null(strstr(f->err, "not retried to avoid a duplicate"));
    /* the slow request finishes at the simulator: one workload, never two */
    assert_int_equal(pf_wait_named(f, "gpb-slow", 1, 5000), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v1/workloads"), 5);
    assert_int_equal(wls_named(f, "gpb-slow"), 1);
    f->a->policy.timeout_ms = 0;
    assert_int_equal(prov_primus_ops.find_by_name(f->a, "gpb-slow", &p, f->err), GB_OK);
}

/* The adapter's sleep before its second look: recorded, then real time until the slow POST
 * has finished at the simulator (the platform completing it while the adapter waits). */
static void sleep_until_late_made(void *ud, int64_t ms)
{
    pf_rec_sleep(ud, ms);
    pf_wait_named(ud, "gpb-late", 1, 5000);
}

/* A POST that timed out may still be in flight: the adapter looks by name once more after a
 * pause, and a workload made meanwhile is the create's result, not an orphan left running. */
static void test_create_looks_twice(void **state)
{
    fx *f = *state;
    prov_pod p;
    list_ok(f);
    f->nsleeps = 0;
    f->a->policy.timeout_ms = 200;
    f->a->policy.sleep_ms = sleep_until_late_made;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/v1/workloads\",\"latency_ms\":600,"
                "\"count\":1}");
    int lists = pf_route_count(f, "GET /api/v1/workloads");
    assert_int_equal(create(f, "gpb-late", 1, NULL, &p), GB_OK);
    assert_int_equal(pf_route_count(f, "POST /api/v1/workloads"), 1);
    assert_true(pf_route_count(f, "GET /api/v1/workloads") - lists >= 2); /* looked twice */
    assert_int_equal(f->nsleeps, 1);
    assert_int_equal(wls_named(f, "gpb-late"), 1);
    cJSON *st = sim_state(f);
    const cJSON *w = state_wl(st, p.provider_id);
    assert_non_null(w);
    assert_string_equal(cJSON_GetObjectItem(w, "displayName")->valuestring, "gpb-late");
    cJSON_Delete(st);
}

/* displayName is not unique at Primus: an older workload with the create's name (a pod of the
 * same name made before) is not taken for the one the lost answer made; the newest wins. */
static void test_create_lost_answer_takes_newest(void **state)
{
    fx *f = *state;
    prov_pod old, p;
    assert_int_equal(create(f, "gpb-twin", 1, NULL, &old), GB_OK);
    advance(f, 60000);
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/v1/workloads\",\"drop_response\":true,"
                "\"count\":1}");
    assert_int_equal(create(f, "gpb-twin", 1, NULL, &p), GB_OK);
    assert_int_equal(wls_named(f, "gpb-twin"), 2);
    assert_string_not_equal(p.provider_id, old.provider_id);
    cJSON *st = sim_state(f);
    const cJSON *w = state_wl(st, p.provider_id);
    assert_non_null(w);
    assert_string_equal(cJSON_GetObjectItem(w, "displayName")->valuestring, "gpb-twin");
    cJSON_Delete(st);
    prov_pod found;
    assert_int_equal(prov_primus_ops.find_by_name(f->a, "gpb-twin", &found, f->err), GB_OK);
    assert_string_equal(found.provider_id, p.provider_id);
}

static void test_capacity_fault(void **state)
{
    fx *f = *state;
    prov_pod p;
    list_ok(f);
    f->nsleeps = 0;
    pf_fault(f,
             "{\"method\":\"POST\",\"path_prefix\":\"/api/v1/workloads\",\"capacity_error\":true,"
             "\"count\":-1}");
    assert_int_equal(create(f, "gpb-full", 1, NULL, &p), GB_ERR_CAPACITY);
    assert_non_null(strstr(f->err, "Insufficient resource quota"));
    assert_int_equal(f->nsleeps, 5); /* 503 is retried by the HTTP layer, then reported */
    assert_int_equal(wls_named(f, "gpb-full"), 0);
}

int main(void)
{
    gb_http_global_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_login_flow),
        T(test_bad_credentials),
        cmocka_unit_test_setup_teardown(test_api_key, setup_key, teardown),
        cmocka_unit_test_setup_teardown(test_sandbox, setup_plain, teardown),
        T(test_429_retry_after),
        T(test_502_retried),
        T(test_timeout),
        T(test_truncated_body),
        T(test_create_never_twice),
        T(test_create_looks_twice),
        T(test_create_lost_answer_takes_newest),
        T(test_capacity_fault),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
