/* test_providers_datarobot_ops.c: the DataRobot adapter's day-2 operations against the
 * simulator: settings PATCH {runtime} (a rolling replacement; 409 while one runs), DELETE's 502
 * "please retry" when protons would not stop (looked up, sent again), protons and
 * statusDetails (204 before the first snapshot), shared roles (at most 100), and request
 * statistics. */
#include "test_providers_datarobot_util.h"

static const cJSON *member(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(j, key);
    assert_non_null(v);
    return v;
}

static void test_settings_replacement(void **state)
{
    fx *f = *state;
    prov_pod p, g;
    cJSON *s = NULL, *pr = NULL, *d = NULL;
    create_running(f, "gpb-set", 1, NULL, &p);
    assert_int_equal(prov_datarobot_settings_get(f->a, p.provider_id, &s, f->err), GB_OK);
    const cJSON *grp = cJSON_GetArrayItem(gb_jpath(s, "runtime.containerGroups"), 0);
    assert_int_equal(member(grp, "replicaCount")->valueint, 1);
    assert_null(cJSON_GetObjectItem(grp, "autoscaling"));
    const cJSON *ctr = cJSON_GetArrayItem(member(grp, "containers"), 0);
    assert_int_equal(member(member(ctr, "resourceAllocation"), "gpu")->valueint, 1);
    cJSON_Delete(s);

    cJSON *patch = cJSON_Parse("{\"runtime\":{\"containerGroups\":[{\"name\":\"default\","
                               "\"replicaCount\":2}]}}");
    assert_int_equal(prov_datarobot_settings_patch(f->a, p.provider_id, patch, f->err), GB_OK);
    /* a second PATCH while the replacement runs: 409 */
    assert_int_equal(prov_datarobot_settings_patch(f->a, p.provider_id, patch, f->err),
                     GB_ERR_CONFLICT);
    assert_non_null(strstr(f->err, "409"));
    assert_non_null(strstr(f->err, "already in progress"));
    assert_int_equal(pf_route_count(f, "PATCH /api/v2/workloads/:id/settings/"), 2);

    /* the candidate proton: no status snapshot until it runs */
    assert_int_equal(prov_datarobot_protons(f->a, p.provider_id, &pr, f->err), GB_OK);
    assert_int_equal(cJSON_GetArraySize(pr), 2);
    const cJSON *cand = cJSON_GetArrayItem(pr, 1);
    assert_string_equal(member(cand, "role")->valuestring, "candidate");
    assert_string_equal(member(cand, "status")->valuestring, "initializing");
    char cid[32];
    snprintf(cid, sizeof(cid), "%s", member(cand, "id")->valuestring);
    cJSON_Delete(pr);
    assert_int_equal(prov_datarobot_proton_status(f->a, p.provider_id, cid, &d, f->err), GB_OK);
    assert_null(d);
    pf_advance(f, 12000);
    assert_int_equal(prov_datarobot_proton_get(f->a, p.provider_id, cid, &d, f->err), GB_OK);
    assert_string_equal(member(d, "status")->valuestring, "warming");
    cJSON_Delete(d);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING); /* the workload serves all along */
    assert_int_equal(g.gpu_count, 1);

    pf_advance(f, 19000); /* past the 30 s replacement */
    assert_int_equal(prov_datarobot_settings_get(f->a, p.provider_id, &s, f->err), GB_OK);
    grp = cJSON_GetArrayItem(gb_jpath(s, "runtime.containerGroups"), 0);
    assert_int_equal(member(grp, "replicaCount")->valueint, 2);
    cJSON_Delete(s);
    assert_int_equal(prov_datarobot_protons(f->a, p.provider_id, &pr, f->err), GB_OK);
    assert_int_equal(cJSON_GetArraySize(pr), 1);
    assert_string_equal(member(cJSON_GetArrayItem(pr, 0), "id")->valuestring, cid);
    cJSON_Delete(pr);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.gpu_count, 2);
    assert_int_equal(g.price_per_hour, 4200000);
    assert_int_equal(prov_datarobot_settings_patch(f->a, p.provider_id, patch, f->err), GB_OK);
    cJSON_Delete(patch);

    /* refused before sending: unknown keys; by DataRobot: bad values (422) */
    patch = cJSON_Parse("{\"replicas\":2}"); /* the old settings shape */
    int before = pf_total_requests(f);
    assert_int_equal(prov_datarobot_settings_patch(f->a, p.provider_id, patch, f->err),
                     GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "runtime"));
    assert_int_equal(pf_total_requests(f), before);
    cJSON_Delete(patch);
    pf_advance(f, 31000);
    patch = cJSON_Parse("{\"runtime\":{\"containerGroups\":[{\"name\":\"default\","
                        "\"autoscaling\":{\"enabled\":true,\"minReplicaCount\":3,"
                        "\"maxReplicaCount\":2}}]}}");
    assert_int_equal(prov_datarobot_settings_patch(f->a, p.provider_id, patch, f->err),
                     GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "422"));
    assert_non_null(strstr(f->err, "autoscaling"));
    cJSON_Delete(patch);
    /* a stopped workload takes new settings at once (no replacement) */
    assert_int_equal(prov_datarobot_ops.stop(f->a, p.provider_id, f->err), GB_OK);
    pf_advance(f, 6000);
    patch = cJSON_Parse("{\"runtime\":{\"containerGroups\":[{\"name\":\"default\","
                        "\"replicaCount\":2,\"resourceBundles\":[\"gpu.a100.xlarge\"]}]}}");
    assert_int_equal(prov_datarobot_settings_patch(f->a, p.provider_id, patch, f->err), GB_OK);
    assert_int_equal(prov_datarobot_settings_patch(f->a, p.provider_id, patch, f->err), GB_OK);
    cJSON_Delete(patch);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.gpu_count, 4);
}

/* A settings PATCH whose answer was lost is not sent again: it started a replacement at
 * DataRobot, and a second one would meet that replacement (409) or start another. */
static void test_settings_patch_not_resent(void **state)
{
    fx *f = *state;
    prov_pod p;
    cJSON *pr = NULL;
    create_running(f, "gpb-lost", 1, NULL, &p);
    pf_fault(f, "{\"method\":\"PATCH\",\"path_prefix\":\"/api/v2/workloads/\","
                "\"drop_response\":true,\"count\":1}");
    cJSON *patch = cJSON_Parse("{\"runtime\":{\"containerGroups\":[{\"name\":\"default\","
                               "\"replicaCount\":2}]}}");
    assert_int_equal(prov_datarobot_settings_patch(f->a, p.provider_id, patch, f->err),
                     GB_ERR_HTTP);
    cJSON_Delete(patch);
    assert_int_equal(pf_route_count(f, "PATCH /api/v2/workloads/:id/settings/"), 1);
    /* the one PATCH took effect at the simulator: its candidate proton is up */
    assert_int_equal(prov_datarobot_protons(f->a, p.provider_id, &pr, f->err), GB_OK);
    assert_int_equal(cJSON_GetArraySize(pr), 2);
    assert_string_equal(member(cJSON_GetArrayItem(pr, 1), "role")->valuestring, "candidate");
    cJSON_Delete(pr);
}

/* DELETE of a workload whose proton will not stop: DataRobot's 502 "please retry" leaves it;
 * the adapter looks it up, finds it and sends the DELETE again. */
static void test_delete_stuck_proton(void **state)
{
    fx *f = *state;
    prov_pod p, g;
    assert_int_equal(create_env(f, "gpb-stuck", "SIM_FAULT=stuck-proton", &p), GB_OK);
    pf_advance(f, 21000);
    assert_int_equal(prov_datarobot_ops.remove(f->a, p.provider_id, f->err), GB_OK);
    assert_string_equal(f->err, "");
    assert_int_equal(pf_route_count(f, "DELETE /api/v2/workloads/:id/"), 2); /* resent once */
    assert_int_equal(f->nsleeps, 1);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_ERR_NOT_FOUND);
    assert_int_equal(workloads_named(f, "gpb-stuck"), 0);
    cJSON *st = pf_state(f);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(st, "deleted"), 0)->valuestring,
                        p.provider_id);
    cJSON_Delete(st);

    /* the same workload stopped first: its protons are down, one DELETE */
    assert_int_equal(create_env(f, "gpb-stuck2", "SIM_FAULT=stuck-proton", &p), GB_OK);
    pf_advance(f, 21000);
    assert_int_equal(prov_datarobot_ops.stop(f->a, p.provider_id, f->err), GB_OK);
    pf_advance(f, 6000);
    assert_int_equal(prov_datarobot_ops.remove(f->a, p.provider_id, f->err), GB_OK);
    assert_string_equal(f->err, "");
    assert_int_equal(pf_route_count(f, "DELETE /api/v2/workloads/:id/"), 3);
}

/* A gateway 502 on DELETE (nothing deleted): looked up, sent again, deleted cleanly. */
static void test_delete_gateway_502(void **state)
{
    fx *f = *state;
    prov_pod p, g;
    assert_int_equal(create(f, "gpb-gw", "gpu.a100.large", 1, NULL, &p), GB_OK);
    pf_fault(f, "{\"method\":\"DELETE\",\"path_prefix\":\"/api/v2/workloads/\",\"status\":502,"
                "\"count\":1}");
    assert_int_equal(prov_datarobot_ops.remove(f->a, p.provider_id, f->err), GB_OK);
    assert_string_equal(f->err, "");
    assert_int_equal(pf_route_count(f, "DELETE /api/v2/workloads/:id/"), 2);
    assert_int_equal(f->nsleeps, 1);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_ERR_NOT_FOUND);
    /* a DELETE that always fails at the gateway: reported, the workload is still there */
    assert_int_equal(create(f, "gpb-gw2", "gpu.a100.large", 1, NULL, &p), GB_OK);
    pf_fault(f, "{\"method\":\"DELETE\",\"path_prefix\":\"/api/v2/workloads/\",\"status\":502,"
                "\"count\":-1}");
    assert_int_equal(prov_datarobot_ops.remove(f->a, p.provider_id, f->err), GB_ERR_PROVIDER);
    assert_non_null(strstr(f->err, "502"));
    assert_int_equal(workloads_named(f, "gpb-gw2"), 1);
}

/* A DELETE that failed (502) and a workload that cannot be read after it (503): the adapter
 * cannot tell whether it is gone, so it reports the failure; "gone" would stop the billing and
 * the retries of a workload still running at DataRobot. */
static void test_delete_unconfirmed(void **state)
{
    fx *f = *state;
    prov_pod p;
    char rule[256];
    assert_int_equal(create(f, "gpb-unsure", "gpu.a100.large", 1, NULL, &p), GB_OK);
    pf_fault(f, "{\"method\":\"DELETE\",\"path_prefix\":\"/api/v2/workloads/\",\"status\":502,"
                "\"count\":1}");
    snprintf(rule, sizeof(rule),
             "{\"method\":\"GET\",\"path_prefix\":\"/api/v2/workloads/%s/\",\"status\":503,"
             "\"count\":-1}",
             p.provider_id);
    pf_fault(f, rule);
    assert_int_equal(prov_datarobot_ops.remove(f->a, p.provider_id, f->err), GB_ERR_PROVIDER);
    assert_non_null(strstr(f->err, "502"));
    assert_int_equal(pf_route_count(f, "DELETE /api/v2/workloads/:id/"), 1);
    assert_int_equal(workloads_named(f, "gpb-unsure"), 1);
}

static void test_status_details(void **state)
{
    fx *f = *state;
    prov_pod p;
    cJSON *pr = NULL, *d = NULL;
    assert_int_equal(create(f, "gpb-det", "gpu.a100.large", 2, "{\"replicas\":2}", &p), GB_OK);
    assert_int_equal(prov_datarobot_protons(f->a, p.provider_id, &pr, f->err), GB_OK);
    assert_int_equal(cJSON_GetArraySize(pr), 1);
    char pid[32];
    snprintf(pid, sizeof(pid), "%s", member(cJSON_GetArrayItem(pr, 0), "id")->valuestring);
    assert_string_equal(member(cJSON_GetArrayItem(pr, 0), "role")->valuestring, "active");
    cJSON_Delete(pr);
    d = (cJSON *)1;
    assert_int_equal(prov_datarobot_proton_status(f->a, p.provider_id, pid, &d, f->err), GB_OK);
    assert_null(d); /* 204: no snapshot yet */
    pf_advance(f, 10000);
    assert_int_equal(prov_datarobot_proton_status(f->a, p.provider_id, pid, &d, f->err), GB_OK);
    assert_null(d); /* launching: still none */
    pf_advance(f, 11000);
    assert_int_equal(prov_datarobot_proton_status(f->a, p.provider_id, pid, &d, f->err), GB_OK);
    assert_non_null(d);
    const cJSON *reps = member(d, "replicas");
    assert_int_equal(cJSON_GetArraySize(reps), 2);
    const cJSON *c0 = cJSON_GetArrayItem(member(cJSON_GetArrayItem(reps, 0), "containers"), 0);
    assert_string_equal(member(c0, "status")->valuestring, "running");
    assert_true(cJSON_IsTrue(member(c0, "ready")));
    assert_string_equal(member(member(d, "overallStatus"), "state")->valuestring, "running");
    cJSON_Delete(d);
    assert_int_equal(
        prov_datarobot_proton_get(f->a, p.provider_id, "0123456789abcdef01234567", &d, f->err),
        GB_ERR_NOT_FOUND);
    assert_int_equal(prov_datarobot_proton_status(f->a, p.provider_id, "../x", &d, f->err),
                     GB_ERR_INVALID);
    long st = 0;
    char path[160];
    snprintf(path, sizeof(path), API "/workloads/%s/related/", p.provider_id);
    cJSON *j = http(f, "GET", path, NULL, SECRET, &st);
    assert_int_equal(st, 200);
    assert_string_equal(member(cJSON_GetArrayItem(member(j, "data"), 0), "name")->valuestring,
                        IMAGE);
    cJSON_Delete(j);
}

static cJSON *roles_of(int n, bool owner)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        char name[64];
        snprintf(name, sizeof(name), "user%d@example.com", i);
        cJSON_AddStringToObject(r, "shareRecipientType", "user");
        cJSON_AddStringToObject(r, "username", name);
        cJSON_AddStringToObject(r, "role", owner && i == 0 ? "OWNER" : "CONSUMER");
        cJSON_AddItemToArray(arr, r);
    }
    return arr;
}

static void test_shared_roles(void **state)
{
    fx *f = *state;
    prov_pod p;
    cJSON *got = NULL;
    assert_int_equal(create(f, "gpb-share", "gpu.a100.large", 1, NULL, &p), GB_OK);
    assert_int_equal(prov_datarobot_shared_roles_get(f->a, p.provider_id, &got, f->err), GB_OK);
    assert_int_equal(cJSON_GetArraySize(got), 1);
    assert_string_equal(member(cJSON_GetArrayItem(got, 0), "role")->valuestring, "OWNER");
    cJSON_Delete(got);
    cJSON *roles = roles_of(100, true); /* the limit itself is fine */
    assert_int_equal(prov_datarobot_shared_roles_set(f->a, p.provider_id, roles, f->err), GB_OK);
    cJSON_Delete(roles);
    assert_int_equal(prov_datarobot_shared_roles_get(f->a, p.provider_id, &got, f->err), GB_OK);
    assert_int_equal(cJSON_GetArraySize(got), 100);
    assert_string_equal(member(cJSON_GetArrayItem(got, 99), "name")->valuestring,
                        "user99@example.com");
    cJSON_Delete(got);
    /* 101: refused by the adapter before sending, and by DataRobot (422) */
    roles = roles_of(101, true);
    int before = pf_route_count(f, "PATCH /api/v2/workloads/:id/sharedRoles");
    assert_int_equal(prov_datarobot_shared_roles_set(f->a, p.provider_id, roles, f->err),
                     GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "at most 100"));
    assert_int_equal(pf_route_count(f, "PATCH /api/v2/workloads/:id/sharedRoles"), before);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "operation", "updateRoles");
    cJSON_AddItemToObject(body, "roles", roles);
    char *text = cJSON_PrintUnformatted(body);
    char path[160];
    snprintf(path, sizeof(path), API "/workloads/%s/sharedRoles/", p.provider_id);
    long st = 0;
    cJSON *j = http(f, "PATCH", path, text, SECRET, &st);
    assert_int_equal(st, 422);
    const cJSON *d0 = cJSON_GetArrayItem(member(j, "detail"), 0);
    assert_string_equal(member(d0, "path")->valuestring, "roles");
    assert_non_null(strstr(member(d0, "message")->valuestring, "at most 100"));
    cJSON_Delete(j);
    free(text);
    cJSON_Delete(body);
    /* DataRobot's own rules: one OWNER at least */
    roles = roles_of(3, false);
    assert_int_equal(prov_datarobot_shared_roles_set(f->a, p.provider_id, roles, f->err),
                     GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "OWNER"));
    cJSON_Delete(roles);
}

static void test_stats(void **state)
{
    fx *f = *state;
    prov_pod p;
    cJSON *s = NULL;
    create_running(f, "gpb-stats", 1, "{\"replicas\":1}", &p);
    pf_advance(f, 59000); /* ~60 s running */
    assert_int_equal(prov_datarobot_stats(f->a, p.provider_id, NULL, &s, f->err), GB_OK);
    const cJSON *m = member(s, "metrics");
    int total = member(m, "totalRequests")->valueint;
    assert_true(total >= 59 && total <= 61);
    assert_true(member(m, "responseTime")->valuedouble == 200.0); /* quantile 0.5 */
    assert_int_equal(member(m, "requestsOverN")->valueint, 0);
    cJSON_Delete(s);
    prov_datarobot_stats_query q = {.quantile_permille = 900, .slow_ms = 100};
    assert_int_equal(prov_datarobot_stats(f->a, p.provider_id, &q, &s, f->err), GB_OK);
    m = member(s, "metrics");
    assert_true(member(m, "responseTime")->valuedouble > 319.99 &&
                member(m, "responseTime")->valuedouble < 320.01);
    assert_true(member(m, "requestsOverN")->valueint > 0);
    cJSON_Delete(s);
    q = (prov_datarobot_stats_query){.resolution = "PT1M"};
    assert_int_equal(
        prov_datarobot_stats_metric(f->a, p.provider_id, "totalRequests", &q, &s, f->err), GB_OK);
    assert_string_equal(member(s, "resolution")->valuestring, "PT1M");
    int sum = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, member(s, "data")) sum += member(b, "value")->valueint;
    assert_true(sum >= 59 && sum <= 61);
    cJSON_Delete(s);
    assert_int_equal(prov_datarobot_stats_metric(f->a, p.provider_id, "cpuUsage", NULL, &s, f->err),
                     GB_ERR_INVALID);
    q = (prov_datarobot_stats_query){.resolution = "P1Y"};
    assert_int_equal(
        prov_datarobot_stats_metric(f->a, p.provider_id, "responseTime", &q, &s, f->err),
        GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "resolution"));
    assert_int_equal(prov_datarobot_stats(f->a, NULL, NULL, &s, f->err), GB_OK); /* all */
    assert_int_equal(member(s, "workloadCount")->valueint, 1);
    cJSON_Delete(s);
    assert_int_equal(prov_datarobot_stats_reset(f->a, p.provider_id, NULL, f->err), GB_OK);
    assert_int_equal(prov_datarobot_stats(f->a, p.provider_id, NULL, &s, f->err), GB_OK);
    assert_true(member(member(s, "metrics"), "totalRequests")->valueint <= 1);
    cJSON_Delete(s);
    /* a window in the future and a proton that is not this workload's */
    q = (prov_datarobot_stats_query){.proton_id = "0123456789abcdef01234567"};
    assert_int_equal(prov_datarobot_stats(f->a, p.provider_id, &q, &s, f->err), GB_ERR_NOT_FOUND);
    q = (prov_datarobot_stats_query){.start_ms = 2000000000000, .end_ms = 1000000000000};
    assert_int_equal(prov_datarobot_stats(f->a, p.provider_id, &q, &s, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "endTime"));
}

/* More workloads than one page (100): the adapter follows DataRobot's pagination. */
static void test_pagination(void **state)
{
    fx *f = *state;
    long st = 0;
    for (int i = 0; i < 130; i++) { /* CPU-only workloads take no GPUs */
        char body[400];
        snprintf(body, sizeof(body),
                 "{\"name\":\"cpu-%03d\",\"artifact\":{\"spec\":{\"containerGroups\":[{"
                 "\"name\":\"g\",\"containers\":[{\"name\":\"c\",\"imageUri\":\"nginx\","
                 "\"port\":8080,\"primary\":true}]}]}},\"runtime\":{\"containerGroups\":[{"
                 "\"name\":\"g\",\"resourceBundles\":[\"cpu.small\"]}]}}",
                 i);
        cJSON_Delete(http(f, "POST", API "/workloads/", body, SECRET, &st));
        assert_int_equal(st, 201);
    }
    cJSON *j = http(f, "GET", API "/workloads/?offset=120&limit=100", NULL, SECRET, &st);
    assert_int_equal(member(j, "count")->valueint, 10);
    assert_int_equal(member(j, "totalCount")->valueint, 130);
    assert_true(cJSON_IsNull(member(j, "next")));
    assert_true(cJSON_IsString(member(j, "previous")));
    cJSON_Delete(j);
    prov_pod *all = NULL, p;
    size_t n = 0;
    assert_int_equal(prov_datarobot_ops.list_pods(f->a, &all, &n, f->err), GB_OK);
    assert_int_equal(n, 130);
    assert_string_equal(all[129].name, "cpu-129");
    assert_int_equal(all[129].gpu_count, 0);
    free(all);
    assert_int_equal(pf_route_count(f, "GET /api/v2/workloads/"), 3); /* ours + 2 pages */
    assert_int_equal(prov_datarobot_ops.find_by_name(f->a, "cpu-117", &p, f->err), GB_OK);
    assert_string_equal(p.name, "cpu-117");
}

int main(void)
{
    gb_http_global_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, pf_teardown)
    const struct CMUnitTest tests[] = {
        T(test_settings_replacement), T(test_settings_patch_not_resent),
        T(test_delete_stuck_proton),  T(test_delete_gateway_502),
        T(test_delete_unconfirmed),   T(test_status_details),
        T(test_shared_roles),         T(test_stats),
        T(test_pagination),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
