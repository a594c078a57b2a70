/* test_providers_runai.c: the Run:ai adapter against the Run:ai simulator over loopback HTTP:
 * offers from settings, the whole lifecycle (project resolved by name in the configured
 * cluster, phases read from v1 on the simulator clock, update, delete; no stop or start in
 * workloads v2), access tokens (v2 form first, v1 where v2 is missing; expiry, refresh, one
 * retry on 401, bad credentials, a throttled token endpoint), retries and faults, no double
 * create, and the 2 MiB manifest limit. */
#include "test_providers_runai_util.h"

static void check_manifest(fx *f, const char *id, const char *image, int gpus)
{
    cJSON *w = state_workload(f, id);
    const cJSON *m = cJSON_GetObjectItem(w, "rawManifest");
    assert_string_equal(cJSON_GetObjectItem(m, "kind")->valuestring, "Pod");
    assert_string_equal(cJSON_GetObjectItem(m, "apiVersion")->valuestring, "v1");
    const cJSON *c =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "spec"), "containers"), 0);
    assert_string_equal(cJSON_GetObjectItem(c, "image")->valuestring, image);
    const cJSON *lim = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "resources"), "limits");
    assert_int_equal(cJSON_GetObjectItem(lim, "nvidia.com/gpu")->valueint, gpus);
    const cJSON *env = cJSON_GetObjectItem(c, "env");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(env, 0), "name")->valuestring,
                        "MODEL_DIR");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(env, 1), "value")->valuestring,
                        "say \"hi\"\n");
    const cJSON *port = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "ports"), 0);
    assert_int_equal(cJSON_GetObjectItem(port, "containerPort")->valueint, 8888);
    assert_int_equal(cJSON_GetObjectItem(w, "requestedGPUs")->valueint, gpus);
    cJSON_Delete(w);
}

static const char *env_value(const cJSON *w, const char *name)
{
    const cJSON *c = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(w, "rawManifest"), "spec"),
                            "containers"),
        0);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "env"))
    {
        if (strcmp(cJSON_GetObjectItem(e, "name")->valuestring, name) == 0)
            return cJSON_GetObjectItem(e, "value")->valuestring;
    }
    return NULL;
}

static void expect_phase(fx *f, const char *id, const char *raw, pod_status st)
{
    prov_pod g;
    assert_int_equal(prov_runai_ops.get(f->a, id, &g, f->err), GB_OK);
    assert_string_equal(g.raw_status, raw);
    assert_int_equal(g.status, st);
}

static void test_lifecycle(void **state)
{
    fx *f = *state;
    prov_offer *offers = NULL;
    size_t n = 0;
    assert_int_equal(prov_runai_ops.list_offers(f->a, &offers, &n, f->err), GB_OK);
    assert_int_equal(n, 4);
    static const int counts[] = {1, 2, 4, 8};
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "runai:gpu-%d", counts[i]);
        assert_string_equal(offers[i].id, id);
        assert_string_equal(offers[i].offer_id, id + 6);
        assert_string_equal(offers[i].gpu_type, "H100");
        assert_int_equal(offers[i].gpu_count, counts[i]);
        assert_int_equal(offers[i].gpu_vram_gb, 80);
        assert_int_equal(offers[i].price_per_gpu_hour, 1800000);
        assert_int_equal(offers[i].price_per_hour, 1800000 * counts[i]);
        assert_int_equal(offers[i].available_gpus, 16);
        assert_int_equal(offers[i].available, 16 / counts[i]);
        assert_string_equal(offers[i].tier, "secure");
        assert_string_equal(offers[i].location, "on-prem");
        assert_false(offers[i].confidential);
    }
    free(offers);

    prov_pod p, g;
    assert_int_equal(create(f, "gpb-life", "gpu-2", 2, NULL, &p), GB_OK);
    assert_int_equal(strlen(p.provider_id), 36);
    assert_string_equal(p.name, "gpb-life");
    assert_string_equal(p.raw_status, "Creating");
    assert_int_equal(p.status, POD_PENDING);
    assert_int_equal(p.gpu_count, 2);
    assert_int_equal(p.price_per_hour, 3600000);
    assert_string_equal(p.gpu_type, "H100");
    /* one create (no dry run), the project resolved once; one v2 token for everything */
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads"), 1);
    assert_int_equal(pf_route_count(f, "GET /api/v1/org-unit/projects"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v2/token"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v1/token"), 0);
    assert_int_equal(workloads_named(f, "gpb-life"), 1);
    /* not placed yet (Creating, then Pending), but ahead in the queue: its GPUs are taken */
    assert_int_equal(prov_runai_ops.list_offers(f->a, &offers, &n, f->err), GB_OK);
    assert_int_equal(offers[0].available_gpus, 14);
    free(offers);
    pf_advance(f, 2500);
    expect_phase(f, p.provider_id, "Pending", POD_PENDING);
    assert_int_equal(prov_runai_ops.list_offers(f->a, &offers, &n, f->err), GB_OK);
    assert_int_equal(offers[0].available_gpus, 14);
    assert_int_equal(offers[3].available, 1);
    free(offers);
    cJSON *w0 = state_workload(f, p.provider_id);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(w0, "metadata"), "projectId")->valuestring,
        "1"); /* team-a's id, not its name */
    cJSON_Delete(w0);
    check_manifest(f, p.provider_id, IMAGE, 2);
    cJSON *w = state_workload(f, p.provider_id);
    assert_string_equal(env_value(w, "PUBLIC_KEY"), KEY1);
    cJSON_Delete(w);

    pf_advance(f, 3000);
    expect_phase(f, p.provider_id, "Initializing", POD_DEPLOYING);
    assert_int_equal(prov_runai_ops.list_offers(f->a, &offers, &n, f->err), GB_OK);
    assert_int_equal(offers[0].available_gpus, 14);
    assert_int_equal(offers[3].available, 1);
    free(offers);
    pf_advance(f, 15000);
    expect_phase(f, p.provider_id, "Running", POD_RUNNING);

    /* workloads v2 has no stop or start: the broker answers 409 NOT_SUPPORTED */
    assert_null(prov_runai_ops.stop);
    assert_null(prov_runai_ops.start);
    assert_int_equal(pf_state_int(f, "freeGPUs"), 14);
    /* phases come from v1; v2 is asked only when v1 does not know the workload */
    assert_true(pf_route_count(f, "GET /api/v1/workloads/:id") >= 3);
    assert_int_equal(pf_route_count(f, "GET /api/v2/workloads/:id"), 0);

    cJSON *ch = cJSON_Parse("{\"name\":\"Renamed\"}"); /* metadata only: no restart */
    assert_int_equal(prov_runai_ops.update(f->a, p.provider_id, ch, f->err), GB_OK);
    cJSON_Delete(ch);
    expect_phase(f, p.provider_id, "Running", POD_RUNNING);
    ch = cJSON_Parse("{\"name\":\"My box\",\"image\":\"my/img:2\",\"gpu_count\":4,"
                     "\"ssh_public_keys\":[\"" KEY1 "\",\"" KEY2 "\"]}");
    assert_int_equal(prov_runai_ops.update(f->a, p.provider_id, ch, f->err), GB_OK);
    cJSON_Delete(ch);
    expect_phase(f, p.provider_id, "Updating", POD_RUNNING);
    assert_int_equal(pf_route_count(f, "PUT /api/v2/workloads/:id"), 2);
    pf_advance(f, 3500);
    expect_phase(f, p.provider_id, "Running", POD_RUNNING);
    assert_int_equal(pf_state_int(f, "freeGPUs"), 12);
    w = state_workload(f, p.provider_id);
    assert_string_equal(env_value(w, "PUBLIC_KEY"), KEY1 "\n" KEY2);
    assert_string_equal(env_value(w, "MODEL_DIR"), "/workspace");
    const cJSON *an = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(w, "rawManifest"), "metadata"), "annotations");
    assert_string_equal(cJSON_GetObjectItem(an, "gpubroker.io/display-name")->valuestring,
                        "My box");
    cJSON_Delete(w);
    check_manifest(f, p.provider_id, "my/img:2", 4);
    ch = cJSON_Parse("{\"volume_size_gb\":10}");
    assert_int_equal(prov_runai_ops.update(f->a, p.provider_id, ch, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "volume_size_gb"));
    cJSON_Delete(ch);

    prov_pod *pods = NULL;
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(pods[0].provider_id, p.provider_id);
    assert_int_equal(pods[0].gpu_count, 4);
    assert_int_equal(pods[0].price_per_hour, 4 * 1800000);
    free(pods);
    assert_int_equal(prov_runai_ops.find_by_name(f->a, "gpb-life", &g, f->err), GB_OK);
    assert_string_equal(g.provider_id, p.provider_id);

    assert_int_equal(prov_runai_ops.remove(f->a, p.provider_id, f->err), GB_OK);
    expect_phase(f, p.provider_id, "Deleting", POD_STOPPING);
    assert_int_equal(prov_runai_ops.find_by_name(f->a, "gpb-life", &g, f->err), GB_ERR_NOT_FOUND);
    /* v1 does not know it (not reported yet, e.g.): the v2 read with syncInfo answers */
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/v1/workloads/\","
                "\"status\":404,\"count\":1}");
    assert_int_equal(prov_runai_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_string_equal(g.raw_status, "Deleting");
    assert_int_equal(g.status, POD_STOPPING);
    assert_string_equal(g.name, "gpb-life");
    assert_int_equal(g.gpu_count, 4);
    assert_int_equal(pf_route_count(f, "GET /api/v2/workloads/:id"), 3); /* 2 updates + this */
    pf_advance(f, 3500);
    assert_int_equal(prov_runai_ops.get(f->a, p.provider_id, &g, f->err), GB_ERR_NOT_FOUND);
    assert_int_equal(prov_runai_ops.remove(f->a, p.provider_id, f->err), GB_OK); /* gone: ok */
    assert_int_equal(pf_state_int(f, "freeGPUs"), 16);
    assert_int_equal(prov_runai_ops.get(f->a, NOPE_ID, &g, f->err), GB_ERR_NOT_FOUND);
    assert_int_equal(prov_runai_ops.get(f->a, "../etc", &g, f->err), GB_ERR_INVALID);
    assert_int_equal(prov_runai_ops.remove(f->a, "x", f->err), GB_ERR_INVALID);
    assert_int_equal(pf_route_count(f, "POST /api/v2/token"), 1); /* the token was reused */
    assert_int_equal(pf_route_count(f, "GET /api/v1/org-unit/projects"), 1); /* cached */
}

/* settings.cluster_id picks the cluster: a project of that name in another cluster (the
 * simulator's team-a is in CLUSTER) is not it, and nothing is created. */
static void test_project_other_cluster(void **state)
{
    fx *f = *state;
    prov_adapter *a = adapter(f, CREDS,
                              "{\"rate_per_gpu_hour\":\"1.80\",\"project\":\"team-a\","
                              "\"cluster_id\":\"9d2a0c4e-1b3f-4e5a-8c7d-6f5e4d3c2b1a\"}");
    prov_create_req req = {.name = "gpb-other", .image = IMAGE, .gpu_count = 1};
    prov_pod p;
    assert_int_equal(prov_runai_ops.create(a, &req, &p, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "no Run:ai project named 'team-a' in cluster "
                                   "9d2a0c4e-1b3f-4e5a-8c7d-6f5e4d3c2b1a"));
    assert_int_equal(pf_route_count(f, "GET /api/v1/org-unit/projects"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads"), 0);
    assert_int_equal(workloads_named(f, "gpb-other"), 0);
    prov_adapter_free(a);
}

/* gpus_per_node bounds an update too: a whole node (8) is fine, one GPU more is refused. */
static void test_update_whole_node(void **state)
{
    fx *f = *state;
    prov_pod p;
    assert_int_equal(create(f, "gpb-node", "gpu-1", 1, NULL, &p), GB_OK);
    cJSON *ch = cJSON_Parse("{\"gpu_count\":8}");
    assert_int_equal(prov_runai_ops.update(f->a, p.provider_id, ch, f->err), GB_OK);
    cJSON_Delete(ch);
    check_manifest(f, p.provider_id, IMAGE, 8);
    ch = cJSON_Parse("{\"gpu_count\":9}");
    assert_int_equal(prov_runai_ops.update(f->a, p.provider_id, ch, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "more than one node has (8)"));
    cJSON_Delete(ch);
    assert_int_equal(pf_route_count(f, "PUT /api/v2/workloads/:id"), 1);
    check_manifest(f, p.provider_id, IMAGE, 8);
}

/* A Deployment (provider_options) with a shell command, project and priority. */
static void test_deployment_options(void **state)
{
    fx *f = *state;
    prov_pod p;
    assert_int_equal(create(f, "gpb-dep", "gpu-8", 0,
                            "{\"workload_kind\":\"Deployment\",\"command\":\"python serve.py\","
                            "\"args\":[\"--port\",\"8888\"],\"project\":\"team-b\","
                            "\"priority\":\"high\"}",
                            &p),
                     GB_OK);
    assert_int_equal(p.gpu_count, 8);
    cJSON *w = state_workload(f, p.provider_id);
    const cJSON *md = cJSON_GetObjectItem(w, "metadata");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(md, "gvk"), "kind")->valuestring,
                        "Deployment");
    assert_string_equal(cJSON_GetObjectItem(md, "projectId")->valuestring, "2");
    assert_string_equal(cJSON_GetObjectItem(md, "projectName")->valuestring, "team-b");
    assert_string_equal(cJSON_GetObjectItem(md, "priority")->valuestring, "high");
    const cJSON *spec = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "rawManifest"), "spec");
    assert_int_equal(cJSON_GetObjectItem(spec, "replicas")->valueint, 1);
    const cJSON *c = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "template"), "spec"),
                            "containers"),
        0);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "command"), 2)->valuestring,
                        "python serve.py");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "args"), 1)->valuestring, "8888");
    cJSON_Delete(w);
    pf_advance(f, 21000);
    expect_phase(f, p.provider_id, "Running", POD_RUNNING);
    /* names are unique per project: the same name again is Run:ai's 409, posted once */
    assert_int_equal(create(f, "gpb-dep", "gpu-1", 1, "{\"project\":\"team-b\"}", &p),
                     GB_ERR_CONFLICT);
    assert_non_null(strstr(f->err, "already exists"));
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads"), 2);
    assert_int_equal(workloads_named(f, "gpb-dep"), 1);
    /* a project the credentials do not see: refused before any create */
    assert_int_equal(create(f, "gpb-nope", "gpu-1", 1, "{\"project\":\"team-z\"}", &p),
                     GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "no Run:ai project named 'team-z'"));
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads"), 2);
    assert_int_equal(create(f, "gpb-big", "gpu-16", 16, NULL, &p), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "gpus_per_node"));
    assert_int_equal(create(f, "gpb-bad-offer", "mach_x", 1, NULL, &p), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "offer_id"));
    assert_int_equal(create(f, "Bad_Name", "gpu-1", 1, NULL, &p), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "name"));
}

/* The simulator's token expires (its clock passes expiresIn): a 401, one new token, retried. */
static void test_token_expires_mid_run(void **state)
{
    fx *f = *state;
    prov_pod *pods = NULL;
    size_t n = 0;
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    free(pods);
    assert_int_equal(pf_route_count(f, "POST /api/v2/token"), 1);
    pf_advance(f, 301 * 1000);
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    free(pods);
    assert_int_equal(pf_route_count(f, "POST /api/v2/token"), 2);
    assert_int_equal(pf_route_count(f, "GET /api/v1/workloads"), 3); /* ok, 401, ok */
    assert_int_equal(f->nsleeps, 0);
}

/* The adapter refreshes on its own when less than 60 s of the token's life remain. */
static void test_token_refreshed_before_expiry(void **state)
{
    fx *f = *state;
    prov_pod *pods = NULL;
    size_t n = 0;
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    free(pods);
    gb_clock_set(gb_wall_ms() + 200 * 1000); /* 100 s left: still used */
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    free(pods);
    assert_int_equal(pf_route_count(f, "POST /api/v2/token"), 1);
    gb_clock_set(gb_wall_ms() + 250 * 1000); /* 50 s left: a new one first */
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    free(pods);
    assert_int_equal(pf_route_count(f, "POST /api/v2/token"), 2);
    assert_int_equal(pf_route_count(f, "GET /api/v1/workloads"), 3); /* no 401 on the way */
    gb_clock_use_real();
}

/* A 401 while the cached token still looks valid: exactly one refresh and one retry. */
static void test_401_retried_once(void **state)
{
    fx *f = *state;
    prov_pod *pods = NULL;
    size_t n = 0;
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    free(pods);
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/v1/workloads\","
                "\"status\":401,\"count\":1}");
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    free(pods);
    assert_int_equal(pf_route_count(f, "POST /api/v2/token"), 2);
    assert_int_equal(pf_route_count(f, "GET /api/v1/workloads"), 3);
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/v1/workloads\","
                "\"status\":401,\"count\":-1}");
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_ERR_AUTH);
    assert_null(pods);
    assert_non_null(strstr(f->err, "401"));
    assert_int_equal(pf_route_count(f, "POST /api/v2/token"), 3); /* one more, not a loop */
    assert_int_equal(pf_route_count(f, "GET /api/v1/workloads"), 5);
}

static void test_bad_credentials(void **state)
{
    fx *f = *state;
    prov_adapter *bad = adapter(f, "client-id:wrong-secret", SETTINGS);
    prov_offer *offers = NULL;
    size_t n = 0;
    assert_int_equal(prov_runai_ops.list_offers(bad, &offers, &n, f->err), GB_ERR_AUTH);
    assert_non_null(strstr(f->err, "Client authentication failed (invalid_client)"));
    assert_non_null(strstr(f->err, "clientID:clientSecret"));
    assert_null(strstr(f->err, "wrong-secret"));
    assert_int_equal(pf_route_count(f, "GET /api/v1/workloads"), 0);
    prov_adapter_free(bad);
    bad = adapter(f, "no-colon-here", SETTINGS); /* refused before any request */
    int before = pf_total_requests(f);
    prov_pod p;
    assert_int_equal(prov_runai_ops.get(bad, NOPE_ID, &p, f->err), GB_ERR_AUTH);
    assert_non_null(strstr(f->err, "clientID:clientSecret"));
    assert_null(strstr(f->err, "no-colon-here"));
    assert_int_equal(pf_total_requests(f), before);
    prov_adapter_free(bad);
    /* a raw call without or with a bogus token */
    long st = 0;
    cJSON *j = http(f, "GET", "/api/v1/workloads", NULL, NULL, &st);
    assert_int_equal(st, 401);
    cJSON_Delete(j);
    j = http(f, "GET", "/api/v1/workloads", NULL, "bogus", &st);
    assert_int_equal(st, 401);
    assert_non_null(strstr(cJSON_GetObjectItem(j, "message")->valuestring, "invalid access token"));
    cJSON_Delete(j);
}

/* A control plane before spec 1.224.0 has no POST /api/v2/token: the adapter falls back to
 * the JSON v1 grant and stays there. */
static void test_token_v1_fallback(void **state)
{
    fx *f = *state;
    prov_pod *pods = NULL;
    size_t n = 0;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/v2/token\","
                "\"status\":404,\"count\":-1}");
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    free(pods);
    assert_int_equal(pf_route_count(f, "POST /api/v2/token"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v1/token"), 1);
    pf_advance(f, 301 * 1000); /* expired: the next token comes from v1 directly */
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    free(pods);
    assert_int_equal(pf_route_count(f, "POST /api/v2/token"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v1/token"), 2);
    /* v1's refusal is Run:ai's {"code","message"} */
    prov_adapter *bad = adapter(f, "client-id:wrong-secret", SETTINGS);
    assert_int_equal(prov_runai_ops.list_pods(bad, &pods, &n, f->err), GB_ERR_AUTH);
    assert_non_null(strstr(f->err, "Invalid client credentials"));
    assert_non_null(strstr(f->err, "/api/v1/token"));
    prov_adapter_free(bad);
}

/* A throttled token endpoint (429) is a rate limit: not bad credentials, and no reason to
 * leave v2 for v1. */
static void test_token_429(void **state)
{
    fx *f = *state;
    prov_pod *pods = NULL;
    size_t n = 0;
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/v2/token\","
                "\"status\":429,\"count\":-1,\"retry_after\":2}");
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_ERR_LIMIT);
    assert_null(pods);
    assert_non_null(strstr(f->err, "429"));
    assert_null(strstr(f->err, "clientID:clientSecret"));
    assert_int_equal(f->nsleeps, 1);
    assert_int_equal(f->sleeps[0], 2000);
    assert_int_equal(pf_route_count(f, "POST /api/v2/token"), 2);
    assert_int_equal(pf_route_count(f, "POST /api/v1/token"), 0);
    assert_int_equal(pf_route_count(f, "GET /api/v1/workloads"), 0);
}

static void test_429_retry_after(void **state)
{
    fx *f = *state;
    prov_pod *pods = NULL;
    size_t n = 0;
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/v1/workloads\","
                "\"status\":429,\"count\":2,\"retry_after\":3}");
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    free(pods);
    assert_int_equal(f->nsleeps, 2);
    assert_int_equal(f->sleeps[0], 3000);
    assert_int_equal(f->sleeps[1], 3000);
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/v1/workloads\","
                "\"status\":429,\"count\":-1,\"retry_after\":1}");
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_ERR_LIMIT);
    assert_non_null(strstr(f->err, "Too many requests"));
}

static void test_502_retried(void **state)
{
    fx *f = *state;
    prov_offer *offers = NULL;
    size_t n = 0;
    pf_fault(f, "{\"path_prefix\":\"/api/v1/workloads\",\"status\":502,\"count\":2}");
    assert_int_equal(prov_runai_ops.list_offers(f->a, &offers, &n, f->err), GB_OK);
    free(offers);
    assert_int_equal(f->nsleeps, 2);
    assert_true(f->sleeps[0] >= 125 && f->sleeps[0] < 375); /* 250 ms +-50% */
    assert_true(f->sleeps[1] >= 250 && f->sleeps[1] < 750);
    f->nsleeps = 0;
    f->a->policy.max_retries = 2;
    pf_fault(f, "{\"path_prefix\":\"/api/v1/workloads\",\"status\":502,\"count\":-1}");
    assert_int_equal(prov_runai_ops.list_offers(f->a, &offers, &n, f->err), GB_ERR_PROVIDER);
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
    pf_fault(f, "{\"path_prefix\":\"/api/v1/workloads/\",\"latency_ms\":1500,"
                "\"count\":-1}");
    assert_int_equal(prov_runai_ops.get(f->a, NOPE_ID, &p, f->err), GB_ERR_TIMEOUT);
    assert_non_null(strstr(f->err, "runai unreachable"));
    assert_non_null(strstr(f->err, "2 attempts"));
    assert_int_equal(f->nsleeps, 1);
}

static void test_truncated_body(void **state)
{
    fx *f = *state;
    prov_pod *pods = NULL;
    size_t n = 0;
    pf_fault(f, "{\"path_prefix\":\"/api/v1/workloads\",\"truncate_body\":true,"
                "\"count\":1}");
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK); /* retried */
    free(pods);
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"path_prefix\":\"/api/v1/workloads\",\"truncate_body\":true,"
                "\"count\":-1}");
    gb_err e = prov_runai_ops.list_pods(f->a, &pods, &n, f->err);
    assert_true(e == GB_ERR_HTTP || e == GB_ERR_PROVIDER);
    assert_null(pods);
    assert_non_null(strstr(f->err, "runai"));
}

/* One rule on the next create. */
static void fault_create(fx *f, const char *effect)
{
    char rule[256];
    snprintf(rule, sizeof(rule),
             "{\"method\":\"POST\",\"path_prefix\":\"/api/v2/workloads\",%s,\"count\":1}", effect);
    pf_fault(f, rule);
}

static void test_create_never_twice(void **state)
{
    fx *f = *state;
    prov_pod p;
    fault_create(f, "\"drop_response\":true");
    assert_int_equal(create(f, "gpb-drop", "gpu-1", 1, NULL, &p), GB_OK);
    assert_string_equal(p.name, "gpb-drop");
    assert_int_equal(strlen(p.provider_id), 36);
    assert_int_equal(workloads_named(f, "gpb-drop"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads"), 1); /* one create */
    assert_int_equal(pf_route_count(f, "GET /api/v1/workloads"), 1);  /* then a lookup */
    /* a 502 before the workload was made: looked up, not found, created once */
    fault_create(f, "\"status\":502");
    assert_int_equal(create(f, "gpb-502", "gpu-1", 1, NULL, &p), GB_OK);
    assert_int_equal(workloads_named(f, "gpb-502"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads"), 3);
    assert_int_equal(pf_route_count(f, "GET /api/v1/workloads"), 2);
    assert_int_equal(f->nsleeps, 1);
    /* a truncated 202: the workload exists, found by name */
    fault_create(f, "\"truncate_body\":true");
    assert_int_equal(create(f, "gpb-trunc", "gpu-1", 1, NULL, &p), GB_OK);
    assert_int_equal(workloads_named(f, "gpb-trunc"), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads"), 4);
}

/* A create that times out while Run:ai is still working on it: looked up, not posted again. */
static void test_create_timeout_no_duplicate(void **state)
{
    fx *f = *state;
    prov_pod p;
    f->a->policy.timeout_ms = 200;
    fault_create(f, "\"latency_ms\":600");
    assert_int_equal(create(f, "gpb-slow", "gpu-1", 1, NULL, &p), GB_ERR_TIMEOUT);
    assert_non_null(strstr(f->err, "not retried to avoid a duplicate"));
    /* the slow request finishes at the simulator: one workload, never two */
    assert_int_equal(pf_wait_named(f, "gpb-slow", 1, 5000), 1);
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads"), 1);
    assert_int_equal(workloads_named(f, "gpb-slow"), 1);
    assert_int_equal(prov_runai_ops.find_by_name(f->a, "gpb-slow", &p, f->err), GB_OK);
}

static void test_manifest_too_large(void **state)
{
    fx *f = *state;
    size_t big = (size_t)2 * 1024 * 1024;
    char *env = malloc(big + 8);
    assert_non_null(env);
    memcpy(env, "BIG=", 4);
    memset(env + 4, 'x', big - 4);
    env[big] = '\0';
    const char *envs[] = {env};
    prov_create_req req = {
        .name = "gpb-huge", .image = IMAGE, .gpu_count = 1, .env = envs, .nenv = 1};
    prov_pod p;
    int before = pf_total_requests(f);
    assert_int_equal(prov_runai_ops.create(f->a, &req, &p, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "2 MiB"));
    assert_int_equal(pf_total_requests(f), before); /* refused before sending anything */
    env[1500 * 1000] = '\0'; /* 1.5 MB: 2 MB in base 64, still within the limit */
    assert_int_equal(prov_runai_ops.create(f->a, &req, &p, f->err), GB_OK);
    assert_int_equal(workloads_named(f, "gpb-huge"), 1);
    free(env);
}

int main(void)
{
    gb_http_global_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_lifecycle),
        T(test_project_other_cluster),
        T(test_update_whole_node),
        T(test_deployment_options),
        T(test_token_expires_mid_run),
        T(test_token_refreshed_before_expiry),
        T(test_401_retried_once),
        T(test_bad_credentials),
        T(test_token_v1_fallback),
        T(test_token_429),
        T(test_429_retry_after),
        T(test_502_retried),
        T(test_timeout),
        T(test_truncated_body),
        T(test_create_never_twice),
        T(test_create_timeout_no_duplicate),
        T(test_manifest_too_large),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
