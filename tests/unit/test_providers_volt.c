/* test_providers_volt.c: the Volt adapter against the Volt simulator over loopback HTTP:
 * lifecycle, status mapping, retries and faults, no double create, money and capacity
 * errors, credentials, and provider_options validation. */
#include "test_providers_volt_util.h"

static void test_lifecycle(void **state)
{
    fx *f = *state;
    prov_offer *offers = NULL;
    size_t n = 0;
    assert_int_equal(prov_volt_ops.list_offers(f->a, &offers, &n, f->err), GB_OK);
    assert_true(n >= 3);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(offers[i].offer_id, "mach_rtx4090_01") == 0) {
            assert_string_equal(offers[i].id, "volt:mach_rtx4090_01");
            assert_string_equal(offers[i].gpu_type, "RTX4090");
            assert_string_equal(offers[i].gpu_name, "RTX 4090");
            assert_int_equal(offers[i].gpu_count, 1);
            assert_int_equal(offers[i].price_per_gpu_hour, 390000);
            assert_int_equal(offers[i].price_per_hour, 390000);
            assert_int_equal(offers[i].available_gpus, 3);
            assert_int_equal(offers[i].vcpu, 8);
            assert_false(offers[i].confidential);
            seen++;
        } else if (strcmp(offers[i].offer_id, "mach_h200_targon_01") == 0) {
            assert_string_equal(offers[i].gpu_type, "H200");
            assert_int_equal(offers[i].gpu_vram_gb, 141);
            assert_true(offers[i].confidential);
            seen++;
        }
    }
    free(offers);
    assert_int_equal(seen, 2);

    prov_pod p, g;
    assert_int_equal(create(f, "gpb-life", "mach_rtx4090_01", 2, NULL, &p), GB_OK);
    assert_int_equal(p.status, POD_DEPLOYING);
    assert_string_equal(p.raw_status, "deploying");
    assert_int_equal(p.price_per_hour, 780000);
    assert_string_equal(p.gpu_type, "RTX4090");
    assert_int_equal(machine_available(f, "mach_rtx4090_01"), 1);
    assert_int_equal(live_pods_named(f, "gpb-life"), 1);
    cJSON *st = pf_state(f); /* the image went through the system template, the key was added */
    const cJSON *sp = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "pods"), 0);
    assert_string_equal(cJSON_GetObjectItem(sp, "template_id")->valuestring, "tpl_pytorch21");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(sp, "ssh_keys")), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "ssh_keys")), 1);
    cJSON_Delete(st);

    pf_advance(f, 16000);
    assert_int_equal(prov_volt_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);
    assert_true(g.ip[0] != '\0');
    assert_int_equal(g.ssh_port, 22);
    assert_non_null(strstr(g.ssh_command, "ssh -p 22 root@"));

    assert_int_equal(prov_volt_ops.stop(f->a, p.provider_id, f->err), GB_OK);
    assert_int_equal(prov_volt_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_STOPPING);
    assert_int_equal(machine_available(f, "mach_rtx4090_01"), 3);
    assert_int_equal(prov_volt_ops.stop(f->a, p.provider_id, f->err), GB_OK); /* again: done */
    pf_advance(f, 6000);
    assert_int_equal(prov_volt_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_STOPPED);
    assert_string_equal(g.ip, "");

    assert_int_equal(prov_volt_ops.start(f->a, p.provider_id, f->err), GB_OK);
    assert_int_equal(prov_volt_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_DEPLOYING);
    assert_string_equal(g.raw_status, "starting");
    pf_advance(f, 16000);
    assert_int_equal(prov_volt_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);

    cJSON *ch =
        cJSON_Parse("{\"name\":\"gpb-life-2\",\"ssh_public_keys\":[\"" KEY1 "\",\"" KEY2 "\"]}");
    assert_int_equal(prov_volt_ops.update(f->a, p.provider_id, ch, f->err), GB_OK);
    cJSON_Delete(ch);
    assert_int_equal(prov_volt_ops.find_by_name(f->a, "gpb-life-2", &g, f->err), GB_OK);
    assert_string_equal(g.provider_id, p.provider_id);
    st = pf_state(f); /* KEY1 reused, KEY2 added */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "ssh_keys")), 2);
    sp = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "pods"), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(sp, "ssh_keys")), 2);
    cJSON_Delete(st);
    ch = cJSON_Parse("{\"gpu_count\":4}");
    assert_int_equal(prov_volt_ops.update(f->a, p.provider_id, ch, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "gpu_count"));
    cJSON_Delete(ch);

    prov_pod *pods = NULL;
    assert_int_equal(prov_volt_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    assert_int_equal(n, 1);
    free(pods);
    assert_int_equal(prov_volt_ops.remove(f->a, p.provider_id, f->err), GB_OK);
    assert_int_equal(prov_volt_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_DELETED);
    assert_int_equal(prov_volt_ops.remove(f->a, p.provider_id, f->err), GB_OK); /* gone: ok */
    assert_int_equal(prov_volt_ops.find_by_name(f->a, "gpb-life-2", &g, f->err), GB_ERR_NOT_FOUND);
    assert_int_equal(machine_available(f, "mach_rtx4090_01"), 3);
    assert_int_equal(prov_volt_ops.get(f->a, "pod_nope", &g, f->err), GB_ERR_NOT_FOUND);
    assert_int_equal(prov_volt_ops.get(f->a, "../x", &g, f->err), GB_ERR_INVALID);
}

/* The seed's start/stop bodies, and hardware changes refused while running. */
static void test_sim_seed_bodies(void **state)
{
    fx *f = *state;
    prov_pod p;
    long st;
    assert_int_equal(create(f, "gpb-seed", "mach_a100_01", 1, NULL, &p), GB_OK);
    char path[160], body[64];
    snprintf(path, sizeof(path), "/api/volt/pods/%s", p.provider_id);
    cJSON *j = http(f, "PUT", path, "{\"gpu_count\":2}", "test-secret", &st);
    assert_int_equal(st, 409);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "error")));
    assert_non_null(strstr(cJSON_GetObjectItem(j, "message")->valuestring,
                           "Pod must be stopped to change hardware settings"));
    cJSON_Delete(j);
    pf_advance(f, 16000);
    snprintf(path, sizeof(path), "/api/volt/pods/%s/stop", p.provider_id);
    j = http(f, "POST", path, NULL, "test-secret", &st);
    assert_int_equal(st, 200);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "stopping");
    assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring,
                        "Pod is stopping. Data on /root volume is preserved.");
    cJSON_Delete(j);
    pf_advance(f, 6000);
    snprintf(path, sizeof(path), "/api/volt/pods/%s", p.provider_id);
    snprintf(body, sizeof(body), "{\"gpu_count\":2,\"name\":\"gpb-seed-2\"}");
    j = http(f, "PUT", path, body, "test-secret", &st);
    assert_int_equal(st, 200);
    assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring,
                        "Pod updated successfully.");
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/api/volt/pods/%s/start", p.provider_id);
    j = http(f, "POST", path, NULL, "test-secret", &st);
    assert_int_equal(st, 200);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "starting");
    assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring,
                        "Pod is starting. This typically takes 15-30 seconds.");
    cJSON_Delete(j);
    assert_int_equal(prov_volt_ops.get(f->a, p.provider_id, &p, f->err), GB_OK);
    assert_int_equal(p.price_per_hour, 2 * 1290000);
}

static void test_status_mapping(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        pod_status want;
    } cases[] = {
        {"deploying", POD_DEPLOYING},
        {"DEPLOYING", POD_DEPLOYING},
        {"running", POD_RUNNING},
        {"Running", POD_RUNNING},
        {"starting", POD_DEPLOYING},
        {"stopping", POD_STOPPING},
        {"stopped", POD_STOPPED},
        {"STOPPED", POD_STOPPED},
        {"deleted", POD_DELETED},
        {"pending", POD_PENDING},
        {"PENDING", POD_PENDING},
        {"queued", POD_PENDING},
        {"registered", POD_PENDING},
        {"created", POD_PENDING},
        {"creating", POD_DEPLOYING},
        {"provisioning", POD_DEPLOYING},
        {"initializing", POD_DEPLOYING},
        {"restarting", POD_DEPLOYING},
        {"REBOOT_PENDING", POD_DEPLOYING},
        {"ready", POD_RUNNING},
        {"active", POD_RUNNING},
        {"paused", POD_STOPPED},
        {"suspended", POD_STOPPED},
        {"exited", POD_STOPPED},
        {"deleting", POD_STOPPING},
        {"terminating", POD_STOPPING},
        {"terminated", POD_DELETED},
        {"destroyed", POD_DELETED},
        {"failed", POD_FAILED},
        {"FAILED", POD_FAILED},
        {"error", POD_FAILED},
        {"errored", POD_FAILED},
        {"crashed", POD_FAILED},
        {"completed", POD_SUCCEEDED},
        {"succeeded", POD_SUCCEEDED},
        {"exploded", POD_UNKNOWN},
        {"", POD_UNKNOWN},
        {NULL, POD_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(prov_volt_ops.map_status(cases[i].raw), cases[i].want);
}

static void test_429_retry_after(void **state)
{
    fx *f = *state;
    prov_offer *offers = NULL;
    size_t n = 0;
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/volt/machines\","
                "\"status\":429,\"count\":2,\"retry_after\":3}");
    assert_int_equal(prov_volt_ops.list_offers(f->a, &offers, &n, f->err), GB_OK);
    free(offers);
    assert_int_equal(f->nsleeps, 2);
    assert_int_equal(f->sleeps[0], 3000);
    assert_int_equal(f->sleeps[1], 3000);
}

/* The simulator's own limit: 1,000 requests per hour per key, then 429 + Retry-After. */
static void test_rate_limit_window(void **state)
{
    fx *f = *state;
    long st = 0;
    for (int i = 0; i < 1000; i++) {
        cJSON_Delete(http(f, "GET", "/api/volt/templates", NULL, "test-secret", &st));
        assert_int_equal(st, 200);
    }
    f->a->policy.max_retries = 1;
    prov_offer *offers = NULL;
    size_t n = 0;
    assert_int_equal(prov_volt_ops.list_offers(f->a, &offers, &n, f->err), GB_ERR_LIMIT);
    assert_non_null(strstr(f->err, "Rate limit exceeded"));
    assert_int_equal(f->nsleeps, 1);
    assert_true(f->sleeps[0] > 3000000 - 60000 || f->sleeps[0] == 60000); /* capped at 60 s */
    pf_advance(f, 3600 * 1000);
    assert_int_equal(prov_volt_ops.list_offers(f->a, &offers, &n, f->err), GB_OK);
    free(offers);
    /* on a fast simulator clock Retry-After is the real time left (speed 3600: ~1 s) */
    for (int i = 0; i < 1000; i++)
        cJSON_Delete(http(f, "GET", "/api/volt/templates", NULL, "test-secret", &st));
    cJSON_Delete(http(f, "POST", "/_sim/clock", "{\"speed\":3600}", "test-secret", &st));
    assert_int_equal(st, 200);
    f->nsleeps = 0;
    assert_int_equal(prov_volt_ops.list_offers(f->a, &offers, &n, f->err), GB_ERR_LIMIT);
    assert_int_equal(f->nsleeps, 1);
    assert_true(f->sleeps[0] <= 1000);
    cJSON_Delete(http(f, "POST", "/_sim/clock", "{\"speed\":1}", "test-secret", &st));
}

static void test_502_retried(void **state)
{
    fx *f = *state;
    prov_offer *offers = NULL;
    size_t n = 0;
    pf_fault(f, "{\"path_prefix\":\"/api/volt/machines\",\"status\":502,\"count\":2}");
    assert_int_equal(prov_volt_ops.list_offers(f->a, &offers, &n, f->err), GB_OK);
    free(offers);
    assert_int_equal(f->nsleeps, 2);
    assert_true(f->sleeps[0] >= 125 && f->sleeps[0] < 375); /* 250 ms +-50% */
    assert_true(f->sleeps[1] >= 250 && f->sleeps[1] < 750);
    f->nsleeps = 0;
    f->a->policy.max_retries = 2;
    pf_fault(f, "{\"path_prefix\":\"/api/volt/machines\",\"status\":502,\"count\":-1}");
    assert_int_equal(prov_volt_ops.list_offers(f->a, &offers, &n, f->err), GB_ERR_PROVIDER);
    assert_int_equal(f->nsleeps, 2);
    assert_non_null(strstr(f->err, "502"));
    assert_non_null(strstr(f->err, "Upstream provider (Lium/Targon) temporarily unavailable"));
}

static void test_timeout(void **state)
{
    fx *f = *state;
    prov_pod p;
    f->a->policy.timeout_ms = 200;
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"path_prefix\":\"/api/volt/pods/\",\"latency_ms\":1500,"
                "\"count\":-1}");
    assert_int_equal(prov_volt_ops.get(f->a, "pod_x", &p, f->err), GB_ERR_TIMEOUT);
    assert_non_null(strstr(f->err, "volt unreachable"));
    assert_non_null(strstr(f->err, "2 attempts"));
    assert_int_equal(f->nsleeps, 1);
}

static void test_truncated_body(void **state)
{
    fx *f = *state;
    prov_offer *offers = NULL;
    size_t n = 0;
    pf_fault(f, "{\"path_prefix\":\"/api/volt/machines\",\"truncate_body\":true,"
                "\"count\":1}");
    assert_int_equal(prov_volt_ops.list_offers(f->a, &offers, &n, f->err), GB_OK); /* retried */
    free(offers);
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"path_prefix\":\"/api/volt/machines\",\"truncate_body\":true,"
                "\"count\":-1}");
    gb_err e = prov_volt_ops.list_offers(f->a, &offers, &n, f->err);
    assert_true(e == GB_ERR_HTTP || e == GB_ERR_PROVIDER);
    assert_null(offers);
    assert_non_null(strstr(f->err, "volt"));
}

static void test_create_never_twice(void **state)
{
    fx *f = *state;
    prov_pod p;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\","
                "\"drop_response\":true,\"count\":1}");
    assert_int_equal(create(f, "gpb-drop", "mach_rtx4090_02", 1, NULL, &p), GB_OK);
    assert_string_equal(p.name, "gpb-drop");
    assert_true(strncmp(p.provider_id, "pod_", 4) == 0);
    assert_int_equal(live_pods_named(f, "gpb-drop"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/volt/pods"), 1); /* one POST, then a lookup */
    assert_int_equal(pf_route_count(f, "GET /api/volt/pods"), 1);
    /* a 502 before the pod was made: looked up, not found, created once */
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\","
                "\"status\":502,\"count\":1}");
    assert_int_equal(create(f, "gpb-502", "mach_rtx4090_02", 1, NULL, &p), GB_OK);
    assert_int_equal(live_pods_named(f, "gpb-502"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/volt/pods"), 3);
    assert_int_equal(pf_route_count(f, "GET /api/volt/pods"), 2);
    assert_int_equal(f->nsleeps, 1);
    /* a truncated 201: the pod exists, found by name */
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\","
                "\"truncate_body\":true,\"count\":1}");
    assert_int_equal(create(f, "gpb-trunc", "mach_rtx4090_02", 1, NULL, &p), GB_OK);
    assert_int_equal(live_pods_named(f, "gpb-trunc"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/volt/pods"), 4);
    assert_int_equal(pf_route_count(f, "GET /api/volt/pods"), 3);
}

/* A create that times out while Volt is still working on it: looked up, not posted again. */
static void test_create_timeout_no_duplicate(void **state)
{
    fx *f = *state;
    prov_pod p;
    f->a->policy.timeout_ms = 200;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\","
                "\"latency_ms\":600,\"count\":1}");
    assert_int_equal(create(f, "gpb-slow", "mach_rtx4090_02", 1, NULL, &p), GB_ERR_TIMEOUT);
    assert_non_null(strstr(f->err, "not retried to avoid a duplicate"));
    /* the slow request finishes at the simulator: one workload, never two */
    assert_int_equal(pf_wait_named(f, "gpb-slow", 1, 5000), 1);
    assert_int_equal(pf_route_count(f, "POST /api/volt/pods"), 1);
    assert_int_equal(live_pods_named(f, "gpb-slow"), 1);
    assert_int_equal(prov_volt_ops.find_by_name(f->a, "gpb-slow", &p, f->err), GB_OK);
}

static void test_payment(void **state)
{
    fx *f = *state;
    prov_pod p;
    assert_int_equal(create(f, "gpb-spend", "mach_h100_02", 4, NULL, &p), GB_OK); /* $10.76/h */
    pf_advance(f, 16000);
    pf_advance(f, INT64_C(46) * 3600 * 1000); /* $494.96 of $500 spent */
    assert_int_equal(create(f, "gpb-broke", "mach_a100_01", 8, NULL, &p), GB_ERR_PAYMENT);
    assert_non_null(strstr(f->err, "Insufficient balance"));
    assert_non_null(strstr(f->err, "INSUFFICIENT_BALANCE"));
    assert_int_equal(live_pods_named(f, "gpb-broke"), 0);
}

static void test_capacity(void **state)
{
    fx *f = *state;
    prov_pod p;
    assert_int_equal(create(f, "gpb-big", "mach_h100_02", 5, NULL, &p), GB_ERR_CAPACITY);
    assert_non_null(strstr(f->err, "Not enough GPUs"));
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\","
                "\"capacity_error\":true,\"count\":1}");
    assert_int_equal(create(f, "gpb-cap", "mach_h100_02", 1, NULL, &p), GB_ERR_CAPACITY);
    assert_int_equal(live_pods_named(f, "gpb-cap"), 0);
    assert_int_equal(create(f, "gpb-gone", "mach_nope", 1, NULL, &p), GB_ERR_CAPACITY);
}

static void test_bad_credentials(void **state)
{
    fx *f = *state;
    prov_adapter *bad = adapter(f, "wrong-secret");
    prov_offer *offers = NULL;
    size_t n = 0;
    assert_int_equal(prov_volt_ops.list_offers(bad, &offers, &n, f->err), GB_ERR_AUTH);
    assert_non_null(strstr(f->err, "Invalid API key. Generate a new key at Dashboard > API Keys."));
    assert_null(strstr(f->err, "wrong-secret"));
    prov_adapter_free(bad);
}

static void test_targon(void **state)
{
    fx *f = *state;
    prov_pod p;
    assert_int_equal(create(f, "gpb-tdx", NULL, 1,
                            "{\"provider\":\"targon\",\"resource_name\":"
                            "\"h200-small\",\"cost_per_hour\":2.40}",
                            &p),
                     GB_OK);
    assert_true(strncmp(p.provider_id, "pod_targon_", 11) == 0);
    assert_string_equal(p.gpu_type, "H200");
    assert_int_equal(p.price_per_hour, 2400000);
    assert_int_equal(create(f, "gpb-cheap", NULL, 1,
                            "{\"provider\":\"targon\",\"resource_name\":"
                            "\"h200-small\",\"cost_per_hour\":2.00}",
                            &p),
                     GB_ERR_CONFLICT);
    assert_non_null(strstr(f->err, "below the current price"));
    /* a Targon machine offer: resource and live price found by the adapter */
    assert_int_equal(create(f, "gpb-offer", "mach_h200_targon_01", 4, NULL, &p), GB_OK);
    assert_int_equal(p.price_per_hour, 4 * 2400000);
    static const char *const none[] = {NULL};
    prov_create_req req = {.name = "gpb-max",
                           .offer_id = "mach_h200_targon_01",
                           .image = IMAGE21,
                           .gpu_count = 1,
                           .ssh_public_keys = none,
                           .max_price_per_hour = 2000000};
    assert_int_equal(prov_volt_ops.create(f->a, &req, &p, f->err), GB_ERR_CONFLICT);
    assert_non_null(strstr(f->err, "price changed"));
}

static void test_custom_template(void **state)
{
    fx *f = *state;
    static const char *const env[] = {"MODEL_DIR=/workspace", "X=a=b"};
    static const int ports[] = {8888};
    prov_pod p;
    prov_create_req req = {.name = "gpb-tpl",
                           .offer_id = "mach_l40s_01",
                           .image = "my/img:1",
                           .gpu_count = 1,
                           .env = env,
                           .nenv = 2,
                           .ports = ports,
                           .nports = 1};
    assert_int_equal(prov_volt_ops.create(f->a, &req, &p, f->err), GB_OK);
    cJSON *st = pf_state(f);
    const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "templates"), 3);
    assert_string_equal(cJSON_GetObjectItem(t, "name")->valuestring, "gpubroker-gpb-tpl");
    assert_string_equal(cJSON_GetObjectItem(t, "image")->valuestring, "my/img:1");
    const cJSON *sp = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "pods"), 0);
    const char *tid = cJSON_GetObjectItem(t, "id")->valuestring;
    assert_string_equal(cJSON_GetObjectItem(sp, "template_id")->valuestring, tid);
    char path[128];
    long code = 0;
    snprintf(path, sizeof(path), "/api/volt/templates/%s", tid);
    cJSON_Delete(st);
    cJSON *j = http(f, "GET", path, NULL, "test-secret", &code);
    assert_int_equal(code, 200);
    const cJSON *ev = cJSON_GetObjectItem(j, "env_vars");
    assert_string_equal(cJSON_GetObjectItem(ev, "MODEL_DIR")->valuestring, "/workspace");
    assert_string_equal(cJSON_GetObjectItem(ev, "X")->valuestring, "a=b");
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "ports"), 0)->valueint, 8888);
    cJSON_Delete(j);
    /* a create refused for capacity leaves no template behind (every failed try left one) */
    st = pf_state(f);
    int before = cJSON_GetArraySize(cJSON_GetObjectItem(st, "templates"));
    cJSON_Delete(st);
    for (int i = 0; i < 3; i++) {
        pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\","
                    "\"capacity_error\":true,\"count\":1}");
        req.name = "gpb-full";
        assert_int_equal(prov_volt_ops.create(f->a, &req, &p, f->err), GB_ERR_CAPACITY);
    }
    st = pf_state(f);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "templates")), before);
    cJSON_Delete(st);
}

static void test_validate_options(void **state)
{
    fx *f = *state;
    static const pf_opt_case cases[] = {
        {"{\"provider\":\"targon\",\"resource_name\":\"h200-small\",\"cost_per_hour\":2.4}", NULL},
        {"{\"template_id\":\"tpl_pytorch21\",\"volume_size_gb\":100}", NULL},
        {"{\"ssh_key_ids\":[\"key_abc\"]}", NULL},
        {"{\"foo\":1}", "'foo'"},
        {"{\"provider\":\"aws\"}", "'provider'"},
        {"{\"resource_name\":\"h200-small\"}", "'resource_name'"},
        {"{\"provider\":\"targon\",\"resource_name\":\"H200 SMALL\"}", "'resource_name'"},
        {"{\"provider\":\"targon\",\"cost_per_hour\":\"abc\"}", "'cost_per_hour'"},
        {"{\"cost_per_hour\":2}", "'cost_per_hour'"},
        {"{\"volume_size_gb\":0}", "'volume_size_gb'"},
        {"{\"ssh_key_ids\":[1]}", "'ssh_key_ids'"},
        {"{\"provider\":\"targon\",\"template_id\":\"tpl_x\"}", "'template_id'"},
        {"{\"template_id\":\"../etc\"}", "'template_id'"},
        {"[1]", "JSON object"},
    };
    pf_check_options(&prov_volt_ops, cases, GB_ARRAY_LEN(cases));
    /* create refuses bad options before sending anything */
    prov_pod p;
    cJSON *before = http(f, "GET", "/_sim/requests", NULL, NULL, NULL);
    assert_int_equal(create(f, "gpb-bad", "mach_a100_01", 1, "{\"volume_size_gb\":-1}", &p),
                     GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "volume_size_gb"));
    cJSON *after = http(f, "GET", "/_sim/requests", NULL, NULL, NULL);
    assert_int_equal(cJSON_GetObjectItem(before, "count")->valueint,
                     cJSON_GetObjectItem(after, "count")->valueint);
    cJSON_Delete(before);
    cJSON_Delete(after);
}

/* Registry credentials Volt's pod API cannot carry are refused, never dropped: also when a
 * template with the image exists (the old code reused it and pulled without them). */
static void test_registry_credentials_refused(void **state)
{
    fx *f = *state;
    prov_pod p;
    assert_int_equal(create(f, "gpb-first", "mach_rtx4090_02", 1, NULL, &p), GB_OK);
    int posts = pf_route_count(f, "POST /api/volt/pods");
    static const char *const keys[] = {KEY1};
    prov_create_req req = {.name = "gpb-private",
                           .offer_id = "mach_rtx4090_02",
                           .image = IMAGE21,
                           .gpu_count = 1,
                           .ssh_public_keys = keys,
                           .nssh = 1,
                           .registry_server = "registry.example.com",
                           .registry_username = "robot",
                           .registry_password = "pw"};
    assert_int_equal(prov_volt_ops.create(f->a, &req, &p, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "registry credentials"));
    assert_int_equal(pf_route_count(f, "POST /api/volt/pods"), posts); /* nothing sent */
    assert_int_equal(pf_named(f, "gpb-private"), 0);
}

int main(void)
{
    gb_http_global_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, pf_teardown)
    const struct CMUnitTest tests[] = {
        T(test_lifecycle),
        T(test_registry_credentials_refused),
        T(test_sim_seed_bodies),
        T(test_status_mapping),
        T(test_429_retry_after),
        T(test_rate_limit_window),
        T(test_502_retried),
        T(test_timeout),
        T(test_truncated_body),
        T(test_create_never_twice),
        T(test_create_timeout_no_duplicate),
        T(test_payment),
        T(test_capacity),
        T(test_bad_credentials),
        T(test_targon),
        T(test_custom_template),
        T(test_validate_options),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
