/* test_providers_datarobot.c: the DataRobot adapter against the DataRobot simulator over
 * loopback HTTP: offers, the whole lifecycle, every status mapped, credentials, 429/502
 * retries, timeouts, truncated bodies, no double create, capacity, and provider_options
 * validation. (Settings, protons, sharing, statistics and deletion: the _ops test.) */
#include "test_providers_datarobot_util.h"

/* The simulator's GPU bundles (GET /mlops/compute/bundles/), as offers. */
static void check_offers(fx *f, int want_free)
{
    static const struct {
        const char *id, *type;
        int gpus;
    } want[] = {{"gpu.a100.large", "A100-80GB", 1},
                {"gpu.a100.xlarge", "A100-80GB", 2},
                {"gpu.h100.2xlarge", "H100", 8}};
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_datarobot_ops.list_offers(f->a, &o, &n, f->err), GB_OK);
    assert_int_equal(n, 3); /* the CPU-only bundles are no offers */
    for (size_t i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof(id), "datarobot:%s", want[i].id);
        assert_string_equal(o[i].id, id);
        assert_string_equal(o[i].offer_id, want[i].id);
        assert_string_equal(o[i].provider, "datarobot");
        assert_string_equal(o[i].gpu_type, want[i].type);
        assert_int_equal(o[i].gpu_count, want[i].gpus);
        assert_int_equal(o[i].gpu_vram_gb, 80);
        assert_true(o[i].vcpu >= 12);
        assert_true(o[i].ram_gb >= 128);
        assert_int_equal(o[i].price_per_gpu_hour, 2100000);
        assert_int_equal(o[i].price_per_hour, 2100000 * want[i].gpus);
        assert_int_equal(o[i].available_gpus, want_free);
        assert_int_equal(o[i].available, want_free / want[i].gpus);
        assert_string_equal(o[i].tier, "secure");
        assert_string_equal(o[i].location, "datarobot-us");
        assert_false(o[i].confidential);
    }
    free(o);
}

static void test_lifecycle(void **state)
{
    fx *f = *state;
    prov_pod p, g;
    check_offers(f, 16);
    assert_int_equal(create(f, "gpb-life", "gpu.a100.large", 2, "{\"importance\":\"LOW\"}", &p),
                     GB_OK);
    assert_int_equal(p.status, POD_PENDING);
    assert_string_equal(p.raw_status, "submitted");
    assert_string_equal(p.name, "gpb-life");
    assert_int_equal(p.gpu_count, 2);
    assert_string_equal(p.gpu_type, "A100-80GB");
    assert_int_equal(p.price_per_hour, 4200000);
    assert_int_equal(strlen(p.provider_id), 24);
    assert_int_equal(workloads_named(f, "gpb-life"), 1);
    cJSON *st = pf_state(f); /* what the create body carried, as the simulator understood it */
    const cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "workloads"), 0);
    const cJSON *grp = gb_jpath(w, "runtime.containerGroups");
    grp = cJSON_GetArrayItem(grp, 0);
    const cJSON *ctr = cJSON_GetArrayItem(gb_jpath(w, "artifact.spec.containerGroups"), 0);
    ctr = cJSON_GetArrayItem(cJSON_GetObjectItem(ctr, "containers"), 0);
    assert_string_equal(cJSON_GetObjectItem(w, "importance")->valuestring, "low");
    assert_int_equal(cJSON_GetObjectItem(grp, "replicaCount")->valueint, 2); /* 2 x 1 GPU */
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(grp, "resourceBundles"), 0)->valuestring,
        "gpu.a100.large");
    assert_int_equal(cJSON_GetObjectItem(ctr, "port")->valueint, 8000);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ctr, "primary")));
    assert_string_equal(cJSON_GetObjectItem(ctr, "imageUri")->valuestring, IMAGE);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ctr, "environmentVars")), 2);
    assert_int_equal(cJSON_GetObjectItem(w, "gpusHeld")->valueint, 2);
    cJSON_Delete(st);
    check_offers(f, 14);

    pf_advance(f, 3000);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_DEPLOYING);
    assert_string_equal(g.raw_status, "provisioning");
    pf_advance(f, 6000);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_string_equal(g.raw_status, "launching");
    pf_advance(f, 12000);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);
    assert_int_equal(g.gpu_count, 2);
    assert_int_equal(g.price_per_hour, 4200000);
    assert_non_null(strstr(g.url, "/endpoints/workloads/"));
    assert_non_null(strstr(g.url, p.provider_id));
    assert_true(g.created_at > 0);

    assert_int_equal(prov_datarobot_ops.stop(f->a, p.provider_id, f->err), GB_OK);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_STOPPING);
    assert_int_equal(prov_datarobot_ops.stop(f->a, p.provider_id, f->err), GB_OK); /* 200 */
    pf_advance(f, 6000);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_STOPPED);
    check_offers(f, 16);

    assert_int_equal(prov_datarobot_ops.start(f->a, p.provider_id, f->err), GB_OK);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_DEPLOYING);
    assert_int_equal(prov_datarobot_ops.start(f->a, p.provider_id, f->err), GB_OK); /* 200 */
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads/:id/start/"), 2);
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads/:id/stop/"), 2);
    pf_advance(f, 21000);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);

    cJSON *ch = cJSON_Parse("{\"name\":\"gpb-renamed\",\"description\":\"inference\","
                            "\"importance\":\"critical\",\"ssh_public_keys\":[]}");
    assert_int_equal(prov_datarobot_ops.update(f->a, p.provider_id, ch, f->err), GB_OK);
    cJSON_Delete(ch);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_string_equal(g.name, "gpb-renamed");
    st = pf_state(f);
    w = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "workloads"), 0);
    assert_string_equal(cJSON_GetObjectItem(w, "importance")->valuestring, "critical");
    assert_string_equal(cJSON_GetObjectItem(w, "description")->valuestring, "inference");
    cJSON_Delete(st);
    ch = cJSON_Parse("{\"ssh_public_keys\":[\"ssh-ed25519 AAAA x\"]}");
    assert_int_equal(prov_datarobot_ops.update(f->a, p.provider_id, ch, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "ssh_public_keys"));
    cJSON_Delete(ch);

    prov_event *ev = NULL;
    size_t nev = 0;
    assert_int_equal(prov_datarobot_ops.events(f->a, p.provider_id, &ev, &nev, f->err), GB_OK);
    assert_true(nev >= 10);
    assert_string_equal(ev[0].type, "Created");
    int running = 0;
    for (size_t i = 0; i < nev; i++)
        running += strcmp(ev[i].type, "StatusChange") == 0 && strstr(ev[i].message, "to running");
    assert_int_equal(running, 2);
    for (size_t i = 1; i < nev; i++)
        assert_true(ev[i].at >= ev[i - 1].at);
    free(ev);

    prov_pod *all = NULL;
    size_t n = 0;
    assert_int_equal(prov_datarobot_ops.list_pods(f->a, &all, &n, f->err), GB_OK);
    assert_int_equal(n, 1);
    free(all);
    assert_int_equal(prov_datarobot_ops.find_by_name(f->a, "gpb-renamed", &g, f->err), GB_OK);
    assert_string_equal(g.provider_id, p.provider_id);
    assert_int_equal(prov_datarobot_ops.find_by_name(f->a, "gpb-nope", &g, f->err),
                     GB_ERR_NOT_FOUND);

    f->err[0] = 'x';
    assert_int_equal(prov_datarobot_ops.remove(f->a, p.provider_id, f->err), GB_OK);
    assert_string_equal(f->err, ""); /* clean: no warning */
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_ERR_NOT_FOUND);
    assert_int_equal(prov_datarobot_ops.remove(f->a, p.provider_id, f->err), GB_OK); /* gone */
    check_offers(f, 16);
}

static void test_status_mapping(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        pod_status want;
    } cases[] = {
        {"unknown", POD_UNKNOWN},
        {"submitted", POD_PENDING},
        {"provisioning", POD_DEPLOYING},
        {"launching", POD_DEPLOYING},
        {"running", POD_RUNNING},
        {"suspended", POD_STOPPED},
        {"interrupted", POD_FAILED},
        {"stopping", POD_STOPPING},
        {"stopped", POD_STOPPED},
        {"errored", POD_FAILED},
        {"failed", POD_FAILED},
        {"terminated", POD_FAILED},
        {"updating", POD_RUNNING},
        {"RUNNING", POD_RUNNING},
        {"Submitted", POD_PENDING},
        {"ErRoReD", POD_FAILED},
        {"initializing", POD_UNKNOWN},
        {"warming", POD_UNKNOWN},
        {"draining", POD_UNKNOWN},
        {"deleted", POD_UNKNOWN},
        {"", POD_UNKNOWN},
        {NULL, POD_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(prov_datarobot_ops.map_status(cases[i].raw), cases[i].want);
}

/* A workload whose container crashes: errored -> failed, with the platform's reason. */
static void test_errored(void **state)
{
    fx *f = *state;
    prov_pod p, g;
    assert_int_equal(create_env(f, "gpb-crash", "SIM_FAULT=fail-launch", &p), GB_OK);
    pf_advance(f, 21000);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_FAILED);
    assert_string_equal(g.raw_status, "errored");
    assert_non_null(strstr(g.message, "CrashLoopBackOff"));
    check_offers(f, 16); /* an errored workload holds no GPUs */
    assert_int_equal(prov_datarobot_ops.start(f->a, p.provider_id, f->err), GB_OK);
}

static void test_bad_credentials(void **state)
{
    fx *f = *state;
    prov_adapter *bad = adapter(f, "wrong-token");
    prov_pod p;
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_datarobot_ops.list_offers(bad, &o, &n, f->err), GB_ERR_AUTH);
    assert_null(o);
    assert_non_null(strstr(f->err, "401"));
    assert_null(strstr(f->err, "wrong-token"));
    assert_int_equal(prov_datarobot_ops.get(bad, "0123456789abcdef01234567", &p, f->err),
                     GB_ERR_AUTH);
    prov_adapter_free(bad);
    long st = 0;
    cJSON *j = http(f, "GET", API "/workloads/", NULL, NULL, &st);
    assert_int_equal(st, 401);
    assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring, "Invalid API key");
    cJSON_Delete(j);
    assert_int_equal(f->nsleeps, 0); /* 401 is not retried */
}

static void test_429_retry_after(void **state)
{
    fx *f = *state;
    prov_pod *all = NULL;
    size_t n = 0;
    pf_fault(f,
             "{\"method\":\"GET\",\"path_prefix\":\"/api/v2/workloads\",\"status\":429,\"count\":2,"
             "\"retry_after\":3}");
    assert_int_equal(prov_datarobot_ops.list_pods(f->a, &all, &n, f->err), GB_OK);
    free(all);
    assert_int_equal(f->nsleeps, 2);
    assert_int_equal(f->sleeps[0], 3000);
    assert_int_equal(f->sleeps[1], 3000);
    f->a->policy.max_retries = 1;
    pf_fault(
        f, "{\"method\":\"GET\",\"path_prefix\":\"/api/v2/workloads\",\"status\":429,\"count\":-1,"
           "\"retry_after\":1}");
    assert_int_equal(prov_datarobot_ops.list_pods(f->a, &all, &n, f->err), GB_ERR_LIMIT);
    assert_non_null(strstr(f->err, "rate limit"));
}

static void test_502_retried(void **state)
{
    fx *f = *state;
    prov_pod p, g;
    assert_int_equal(create(f, "gpb-502", "gpu.a100.large", 1, NULL, &p), GB_OK);
    pf_fault(
        f,
        "{\"method\":\"GET\",\"path_prefix\":\"/api/v2/workloads/\",\"status\":502,\"count\":2}");
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(f->nsleeps, 2);
    assert_true(f->sleeps[0] >= 125 && f->sleeps[0] < 375); /* 250 ms +-50% */
    assert_true(f->sleeps[1] >= 250 && f->sleeps[1] < 750);
    f->nsleeps = 0;
    f->a->policy.max_retries = 2;
    pf_fault(f, "{\"path_prefix\":\"/api/v2/workloads/\",\"status\":502,\"count\":-1}");
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_ERR_PROVIDER);
    assert_int_equal(f->nsleeps, 2);
    assert_non_null(strstr(f->err, "502"));
    assert_non_null(strstr(f->err, "Bad gateway"));
}

static void test_timeout(void **state)
{
    fx *f = *state;
    prov_pod p;
    f->a->policy.timeout_ms = 200;
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"path_prefix\":\"/api/v2/workloads/\",\"latency_ms\":1500,\"count\":-1}");
    assert_int_equal(prov_datarobot_ops.get(f->a, "0123456789abcdef01234567", &p, f->err),
                     GB_ERR_TIMEOUT);
    assert_non_null(strstr(f->err, "datarobot unreachable"));
    assert_non_null(strstr(f->err, "2 attempts"));
    assert_int_equal(f->nsleeps, 1);
}

static void test_truncated_body(void **state)
{
    fx *f = *state;
    prov_pod *all = NULL;
    size_t n = 0;
    prov_pod p;
    assert_int_equal(create(f, "gpb-trunc", "gpu.a100.large", 1, NULL, &p), GB_OK);
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/v2/workloads\",\"truncate_body\":true,"
                "\"count\":1}");
    assert_int_equal(prov_datarobot_ops.list_pods(f->a, &all, &n, f->err), GB_OK); /* retried */
    assert_int_equal(n, 1);
    free(all);
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/v2/workloads\",\"truncate_body\":true,"
                "\"count\":-1}");
    gb_err e = prov_datarobot_ops.list_pods(f->a, &all, &n, f->err);
    assert_true(e == GB_ERR_HTTP || e == GB_ERR_PROVIDER);
    assert_null(all);
    assert_non_null(strstr(f->err, "datarobot"));
}

static void test_create_never_twice(void **state)
{
    fx *f = *state;
    prov_pod p;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/v2/workloads\",\"drop_response\":true,"
                "\"count\":1}");
    assert_int_equal(create(f, "gpb-drop", "gpu.a100.large", 1, NULL, &p), GB_OK);
    assert_string_equal(p.name, "gpb-drop");
    assert_int_equal(strlen(p.provider_id), 24);
    assert_int_equal(workloads_named(f, "gpb-drop"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads/"), 1); /* one POST, a lookup */
    assert_int_equal(pf_route_count(f, "GET /api/v2/workloads/"), 1);
    /* a 502 before the workload was made: looked up, not found, created once */
    pf_fault(
        f,
        "{\"method\":\"POST\",\"path_prefix\":\"/api/v2/workloads\",\"status\":502,\"count\":1}");
    assert_int_equal(create(f, "gpb-five", "gpu.a100.large", 1, NULL, &p), GB_OK);
    assert_int_equal(workloads_named(f, "gpb-five"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads/"), 3);
    assert_int_equal(pf_route_count(f, "GET /api/v2/workloads/"), 2);
    assert_int_equal(f->nsleeps, 1);
    /* a truncated 201: the workload exists, found by name */
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/v2/workloads\",\"truncate_body\":true,"
                "\"count\":1}");
    assert_int_equal(create(f, "gpb-cut", "gpu.a100.large", 1, NULL, &p), GB_OK);
    assert_int_equal(workloads_named(f, "gpb-cut"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads/"), 4);
}

/* A create that times out while DataRobot is still working on it: looked up, not resent. */
static void test_create_timeout_no_duplicate(void **state)
{
    fx *f = *state;
    prov_pod p;
    f->a->policy.timeout_ms = 200;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/v2/workloads\",\"latency_ms\":600,"
                "\"count\":1}");
    assert_int_equal(create(f, "gpb-slow", "gpu.a100.large", 1, NULL, &p), GB_ERR_TIMEOUT);
    assert_non_null(strstr(f->err, "not retried to avoid a duplicate"));
    /* the slow request finishes at the simulator: one workload, never two */
    assert_int_equal(pf_wait_named(f, "gpb-slow", 1, 5000), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads/"), 1);
    assert_int_equal(workloads_named(f, "gpb-slow"), 1);
    assert_int_equal(prov_datarobot_ops.find_by_name(f->a, "gpb-slow", &p, f->err), GB_OK);
}

static void test_capacity(void **state)
{
    fx *f = *state;
    prov_pod p;
    assert_int_equal(create(f, "gpb-big", "gpu.h100.2xlarge", 16, NULL, &p), GB_OK); /* 2 x 8 */
    check_offers(f, 0);
    /* the cluster is full: DataRobot's 403 replica limit, a capacity answer for the broker */
    assert_int_equal(create(f, "gpb-more", "gpu.a100.large", 1, NULL, &p), GB_ERR_CAPACITY);
    assert_non_null(strstr(f->err, "exceeds the maximum allowed"));
    assert_int_equal(workloads_named(f, "gpb-more"), 0);
    pf_fault(f,
             "{\"method\":\"POST\",\"path_prefix\":\"/api/v2/workloads\",\"capacity_error\":true,"
             "\"count\":1}");
    assert_int_equal(create(f, "gpb-cap", "gpu.a100.large", 1, NULL, &p), GB_ERR_CAPACITY);
    /* more GPUs than the cluster has, an uneven split, an unknown bundle: refused here */
    int before = pf_total_requests(f);
    assert_int_equal(create(f, "gpb-huge", "gpu.h100.2xlarge", 32, NULL, &p), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "gpu_count"));
    assert_int_equal(create(f, "gpb-odd", "gpu.h100.2xlarge", 12, NULL, &p), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "multiple"));
    assert_int_equal(create(f, "gpb-rep", "gpu.a100.xlarge", 4, "{\"replicas\":3}", &p),
                     GB_ERR_INVALID);
    assert_int_equal(pf_total_requests(f), before + 3); /* only the bundle lookups */
    assert_int_equal(create(f, "gpb-nob", "gpu.nope.tiny", 1, NULL, &p), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "offer_id"));
    assert_int_equal(create(f, "gpb-cpu", "cpu.small", 1, NULL, &p), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "no GPU"));
    prov_create_req req = {.name = "gpb-cheap",
                           .offer_id = "gpu.a100.large",
                           .image = IMAGE,
                           .gpu_count = 2,
                           .max_price_per_hour = 4000000};
    before = pf_total_requests(f);
    assert_int_equal(prov_datarobot_ops.create(f->a, &req, &p, f->err), GB_ERR_CONFLICT);
    assert_non_null(strstr(f->err, "$4.20/hour"));
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads/"), 3); /* big, more, cap */
}

/* An autoscaled workload (replicaCount absent) runs its minReplicaCount replicas until it
 * scales: its GPUs and price are the minimum's, as at create, not the ceiling's. */
static void test_autoscaled_gpus(void **state)
{
    fx *f = *state;
    prov_pod p, g;
    cJSON *pr = NULL;
    create_running(f, "gpb-auto", 1, "{\"min_replicas\":1,\"max_replicas\":4}", &p);
    assert_int_equal(p.price_per_hour, 2100000);
    /* the simulator runs one replica (its active proton) */
    assert_int_equal(prov_datarobot_protons(f->a, p.provider_id, &pr, f->err), GB_OK);
    assert_int_equal(cJSON_GetArraySize(pr), 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pr, 0), "replicas")->valueint, 1);
    cJSON_Delete(pr);
    assert_int_equal(prov_datarobot_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.gpu_count, 1);
    assert_int_equal(g.price_per_hour, 2100000);
    prov_pod *pods = NULL;
    size_t n = 0;
    assert_int_equal(prov_datarobot_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(pods[0].gpu_count, 1);
    free(pods);
}

static void test_validate_options(void **state)
{
    fx *f = *state;
    static const pf_opt_case cases[] = {
        {"{}", NULL},
        {"{\"importance\":\"HIGH\",\"replicas\":2,\"cpu\":16,\"memory_mb\":65536,\"port\":8080,"
         "\"description\":\"d\",\"min_replicas\":1,\"max_replicas\":4}",
         NULL},
        {"{\"importance\":\"moderate\"}", NULL},
        {"{\"importance\":\"URGENT\"}", "importance"},
        {"{\"importance\":3}", "importance"},
        {"{\"replicas\":0}", "replicas"},
        {"{\"replicas\":17}", "replicas"},
        {"{\"cpu\":1000}", "cpu"},
        {"{\"memory_mb\":10}", "memory_mb"},
        {"{\"port\":70000}", "port"},
        {"{\"port\":80}", "port"},
        {"{\"min_replicas\":4,\"max_replicas\":2}", "min_replicas"},
        {"{\"tags\":[{\"key\":\"a\",\"value\":\"b\"}]}", "tags"},
        {"{\"gpu\":2}", "gpu"},
        {"[]", "provider_options"},
    };
    pf_check_options(&prov_datarobot_ops, cases, GB_ARRAY_LEN(cases));
    /* create refuses bad options and unsupported requests before sending anything */
    prov_pod p;
    int before = pf_total_requests(f);
    assert_int_equal(create(f, "gpb-bad", "gpu.a100.large", 1, "{\"replicas\":-1}", &p),
                     GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "replicas"));
    static const char *const keys[] = {"ssh-ed25519 AAAAC3 a@b"};
    prov_create_req req = {.name = "gpb-ssh",
                           .offer_id = "gpu.a100.large",
                           .image = IMAGE,
                           .gpu_count = 1,
                           .ssh_public_keys = keys,
                           .nssh = 1};
    assert_int_equal(prov_datarobot_ops.create(f->a, &req, &p, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "ssh_public_keys"));
    req.nssh = 0;
    req.volume_size_gb = 50;
    assert_int_equal(prov_datarobot_ops.create(f->a, &req, &p, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "volume_size_gb"));
    req.volume_size_gb = 0;
    req.image = NULL;
    assert_int_equal(prov_datarobot_ops.create(f->a, &req, &p, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "image"));
    assert_int_equal(pf_total_requests(f), before);
}

/* The simulator's own validation: DataRobot's 422 {"detail":[{path, message, code}]}, mapped
 * to GB_ERR_INVALID. (The old shapes: test_providers_datarobot_wire.) */
static void test_sim_validation(void **state)
{
    fx *f = *state;
    long st = 0;
    cJSON *j = http(f, "POST", API "/workloads/",
                    "{\"name\":\"x\",\"artifact\":{\"spec\":{\"containerGroups\":[{\"name\":\"g\","
                    "\"containers\":[{\"name\":\"c\",\"imageUri\":\"i\",\"port\":80,"
                    "\"primary\":true}]}]}}}",
                    SECRET, &st);
    assert_int_equal(st, 422);
    const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "detail"), 0);
    assert_string_equal(cJSON_GetObjectItem(d, "path")->valuestring,
                        "artifact.spec.containerGroups[0].containers[0].port");
    cJSON_Delete(j);
    j = http(f, "POST", API "/workloads/", "{\"name\":\"x\"}", SECRET, &st);
    assert_int_equal(st, 422); /* neither artifactId nor artifact */
    cJSON_Delete(j);
    j = http(f, "POST", API "/workloads/",
             "{\"name\":\"x\",\"artifactId\":\"0123456789abcdef01234567\"}", SECRET, &st);
    assert_int_equal(st, 404);
    assert_string_equal(cJSON_GetObjectItem(j, "detail")->valuestring, "Artifact not found");
    cJSON_Delete(j);
    j = http(f, "GET", API "/workloads/?limit=0", NULL, SECRET, &st);
    assert_int_equal(st, 422);
    cJSON_Delete(j);
    j = http(f, "GET", API "/workloads", NULL, SECRET, &st); /* the documented path ends in / */
    assert_int_equal(st, 404);
    cJSON_Delete(j);
    prov_pod p;
    assert_int_equal(prov_datarobot_ops.get(f->a, "0123456789abcdef01234567", &p, f->err),
                     GB_ERR_NOT_FOUND);
    assert_non_null(strstr(f->err, "Workload not found"));
    assert_int_equal(prov_datarobot_ops.get(f->a, "../etc", &p, f->err), GB_ERR_INVALID);
}

int main(void)
{
    gb_http_global_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, pf_teardown)
    const struct CMUnitTest tests[] = {
        T(test_lifecycle),
        T(test_status_mapping),
        T(test_errored),
        T(test_bad_credentials),
        T(test_429_retry_after),
        T(test_502_retried),
        T(test_timeout),
        T(test_truncated_body),
        T(test_create_never_twice),
        T(test_create_timeout_no_duplicate),
        T(test_capacity),
        T(test_autoscaled_gpus),
        T(test_validate_options),
        T(test_sim_validation),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
