/* test_providers_primus.c: the Primus-SaFE adapter against the Primus simulator over loopback
 * HTTP: offers from settings, the lifecycle (create with a base64 entryPoint, phases on the
 * simulator clock, logs, events, PATCH, stop, delete), capacity, every phase mapped, listing
 * with paging, the batch endpoints and provider_options validation. */
#include "test_providers_primus_util.h"

static void find_offer(const prov_offer *o, size_t n, int gpus, int avail_gpus)
{
    for (size_t i = 0; i < n; i++) {
        if (o[i].gpu_count != gpus) continue;
        assert_string_equal(o[i].provider, "primus");
        assert_string_equal(o[i].gpu_type, "MI300X");
        assert_int_equal(o[i].gpu_vram_gb, 192);
        assert_int_equal(o[i].price_per_gpu_hour, 1400000);
        assert_int_equal(o[i].price_per_hour, 1400000 * gpus);
        assert_int_equal(o[i].available_gpus, avail_gpus);
        assert_int_equal(o[i].available, avail_gpus / gpus);
        assert_string_equal(o[i].tier, "secure");
        assert_string_equal(o[i].location, "on-prem");
        assert_false(o[i].confidential);
        return;
    }
    fail_msg("no offer for %d GPUs", gpus);
}

static void check_offers(fx *f, int avail)
{
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_primus_ops.list_offers(f->a, &o, &n, f->err), GB_OK);
    assert_int_equal(n, 4);
    find_offer(o, n, 1, avail);
    find_offer(o, n, 8, avail);
    assert_string_equal(o[3].id, "primus:mi300x-8x");
    free(o);
}

static void test_lifecycle(void **state)
{
    fx *f = *state;
    prov_pod p, g;
    check_offers(f, 32);
    assert_int_equal(create(f, "gpb-dev", 8,
                            "{\"kind\":\"Deployment\",\"command\":\"python train.py --epochs 3\","
                            "\"priority\":1,\"env\":{\"HF_HOME\":\"/data\"}}",
                            &p),
                     GB_OK);
    assert_int_equal(p.status, POD_PENDING);
    assert_string_equal(p.raw_status, "Pending");
    assert_string_equal(p.name, "gpb-dev");
    assert_int_equal(p.gpu_count, 8);
    assert_int_equal(p.price_per_hour, 8 * 1400000);
    assert_true(strncmp(p.provider_id, "gpb-dev-", 8) == 0);
    cJSON *st = pf_state(f); /* resources[], images[], entryPoints[] (decoded in GET) */
    const cJSON *w = state_wl(st, p.provider_id);
    assert_non_null(w);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(w, "entryPoints"), 0)->valuestring,
                        "python train.py --epochs 3");
    assert_string_equal(cJSON_GetObjectItem(w, "command")->valuestring,
                        "python train.py --epochs 3");
    const cJSON *gvk = cJSON_GetObjectItem(w, "groupVersionKind");
    assert_string_equal(cJSON_GetObjectItem(gvk, "kind")->valuestring, "Deployment");
    assert_string_equal(cJSON_GetObjectItem(gvk, "version")->valuestring, "v1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(w, "resources")), 1);
    assert_null(cJSON_GetObjectItem(w, "resource"));
    const cJSON *res = cJSON_GetArrayItem(cJSON_GetObjectItem(w, "resources"), 0);
    assert_string_equal(cJSON_GetObjectItem(res, "gpu")->valuestring, "8");
    assert_string_equal(cJSON_GetObjectItem(res, "cpu")->valuestring, "128");
    assert_string_equal(cJSON_GetObjectItem(res, "memory")->valuestring, "1024Gi");
    assert_string_equal(cJSON_GetObjectItem(res, "ephemeralStorage")->valuestring, "50Gi");
    assert_int_equal(cJSON_GetObjectItem(res, "replica")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(w, "workspaceId")->valuestring, "ws-sandbox");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(w, "images"), 0)->valuestring,
                        IMAGE);
    assert_int_equal(cJSON_GetObjectItem(w, "priority")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(w, "env"), "HF_HOME")->valuestring,
                        "/data");
    cJSON_Delete(st);

    pf_advance(f, 19000);
    assert_int_equal(status_of(f, p.provider_id), POD_PENDING); /* dispatched, pulling */
    pf_advance(f, 2000);
    assert_int_equal(prov_primus_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);
    assert_string_equal(g.raw_status, "Running");
    assert_true(g.ip[0] != '\0');
    assert_int_equal(g.ssh_port, 2222);
    assert_non_null(strstr(g.ssh_command, "ssh -o ServerAliveInterval=60 "));
    assert_int_equal(g.gpu_count, 8); /* from resources[] */
    assert_int_equal(g.price_per_hour, 8 * 1400000);
    assert_true(g.created_at > 0);
    check_offers(f, 24);

    pf_advance(f, 95000);
    char *text = NULL;
    assert_int_equal(prov_primus_ops.logs(f->a, p.provider_id, 0, &text, f->err), GB_OK);
    assert_non_null(strstr(text, "Started container main"));
    assert_non_null(strstr(text, "+ python train.py --epochs 3"));
    assert_non_null(strstr(text, "heartbeat 3:"));
    free(text);
    assert_int_equal(prov_primus_ops.logs(f->a, p.provider_id, 2, &text, f->err), GB_OK);
    assert_null(strstr(text, "Started container")); /* only the last two lines */
    assert_non_null(strstr(text, "heartbeat 3:"));
    free(text);
    prov_event *ev = NULL;
    size_t nev = 0;
    assert_int_equal(prov_primus_ops.events(f->a, p.provider_id, &ev, &nev, f->err), GB_OK);
    assert_int_equal(nev, 3);
    assert_string_equal(ev[0].type, "AdminScheduled");
    assert_string_equal(ev[1].type, "AdminDispatched");
    assert_string_equal(ev[2].type, "K8sRunning");
    assert_true(ev[2].at > ev[1].at);
    free(ev);

    cJSON *ch = cJSON_Parse("{\"priority\":2,\"description\":\"tuned\"}");
    assert_int_equal(prov_primus_ops.update(f->a, p.provider_id, ch, f->err), GB_OK);
    cJSON_Delete(ch);
    st = pf_state(f);
    w = state_wl(st, p.provider_id);
    assert_int_equal(cJSON_GetObjectItem(w, "priority")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(w, "description")->valuestring, "tuned");
    assert_string_equal(cJSON_GetObjectItem(w, "phase")->valuestring, "Running");
    cJSON_Delete(st);
    ch = cJSON_Parse("{\"name\":\"other\"}");
    assert_int_equal(prov_primus_ops.update(f->a, p.provider_id, ch, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "'name'"));
    cJSON_Delete(ch);
    ch = cJSON_Parse("{\"command\":\"python serve.py\"}"); /* a new entryPoint: Updating */
    assert_int_equal(prov_primus_ops.update(f->a, p.provider_id, ch, f->err), GB_OK);
    cJSON_Delete(ch);
    assert_int_equal(prov_primus_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_string_equal(g.raw_status, "Updating");
    assert_int_equal(g.status, POD_RUNNING);
    check_offers(f, 24); /* an Updating workload still holds its GPUs */
    pf_advance(f, 11000);
    assert_int_equal(prov_primus_ops.get(f->a, p.provider_id, &g, f->err), GB_OK);
    assert_string_equal(g.raw_status, "Running");

    assert_int_equal(prov_primus_ops.find_by_name(f->a, "gpb-dev", &g, f->err), GB_OK);
    assert_string_equal(g.provider_id, p.provider_id);
    assert_int_equal(prov_primus_ops.stop(f->a, p.provider_id, f->err), GB_OK);
    assert_int_equal(status_of(f, p.provider_id), POD_STOPPED);
    assert_int_equal(prov_primus_ops.stop(f->a, p.provider_id, f->err), GB_OK); /* again: ok */
    check_offers(f, 32);
    /* start: POST .../resume with the workload's own spec; the same id runs again */
    assert_non_null(prov_primus_ops.start);
    assert_int_equal(prov_primus_ops.start(f->a, p.provider_id, f->err), GB_OK);
    assert_int_equal(status_of(f, p.provider_id), POD_PENDING);
    st = pf_state(f);
    w = state_wl(st, p.provider_id);
    assert_string_equal(cJSON_GetObjectItem(w, "command")->valuestring, "python serve.py");
    assert_int_equal(cJSON_GetObjectItem(w, "gpus")->valueint, 8);
    assert_int_equal(cJSON_GetObjectItem(w, "priority")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(w, "env"), "HF_HOME")->valuestring,
                        "/data");
    cJSON_Delete(st);
    assert_int_equal(wls_named(f, "gpb-dev"), 1);
    pf_advance(f, 21000);
    assert_int_equal(status_of(f, p.provider_id), POD_RUNNING);
    check_offers(f, 24);
    assert_int_equal(prov_primus_ops.start(f->a, p.provider_id, f->err), GB_OK); /* running */
    assert_int_equal(prov_primus_ops.stop(f->a, p.provider_id, f->err), GB_OK);
    assert_int_equal(prov_primus_ops.remove(f->a, p.provider_id, f->err), GB_OK);
    assert_int_equal(prov_primus_ops.get(f->a, p.provider_id, &g, f->err), GB_ERR_NOT_FOUND);
    assert_non_null(strstr(f->err, "Primus.01001"));
    assert_int_equal(prov_primus_ops.remove(f->a, p.provider_id, f->err), GB_OK); /* gone */
    assert_int_equal(prov_primus_ops.stop(f->a, p.provider_id, f->err), GB_OK);   /* IgnoreFound */
    assert_int_equal(prov_primus_ops.find_by_name(f->a, "gpb-dev", &g, f->err), GB_ERR_NOT_FOUND);
    assert_int_equal(prov_primus_ops.get(f->a, "../x", &g, f->err), GB_ERR_INVALID);
}

/* PyTorchJob succeeds or times out, a Deployment waits NotReady for its readiness probe. */
static void test_kinds_and_phases(void **state)
{
    fx *f = *state;
    prov_pod ok, late, svc;
    assert_int_equal(create(f, "gpb-job", 16,
                            "{\"kind\":\"PyTorchJob\",\"command\":\"torchrun train.py\","
                            "\"env\":{\"PRIMUS_SIM_RUN_SECONDS\":\"100\"}}",
                            &ok),
                     GB_OK);
    assert_int_equal(create(f, "gpb-late", 1,
                            "{\"kind\":\"PyTorchJob\",\"command\":\"sleep 999\",\"timeout\":30}",
                            &late),
                     GB_OK);
    assert_int_equal(create(f, "gpb-svc", 1,
                            "{\"kind\":\"Deployment\",\"readiness\":{\"path\":\"/health\","
                            "\"port\":8000,\"initialDelaySeconds\":60}}",
                            &svc),
                     GB_OK);
    cJSON *st = pf_state(f);
    /* 16 GPUs: a master and a worker of 8 (the server's ConvertResourceToList split) */
    const cJSON *rs = cJSON_GetObjectItem(state_wl(st, ok.provider_id), "resources");
    assert_int_equal(cJSON_GetArraySize(rs), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *res = cJSON_GetArrayItem(rs, i);
        assert_int_equal(cJSON_GetObjectItem(res, "replica")->valueint, 1);
        assert_string_equal(cJSON_GetObjectItem(res, "gpu")->valuestring, "8");
    }
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(state_wl(st, ok.provider_id), "images")), 2);
    cJSON_Delete(st);
    pf_advance(f, 21000);
    assert_int_equal(status_of(f, ok.provider_id), POD_RUNNING);
    assert_int_equal(status_of(f, late.provider_id), POD_RUNNING);
    prov_pod g;
    assert_int_equal(prov_primus_ops.get(f->a, svc.provider_id, &g, f->err), GB_OK);
    assert_string_equal(g.raw_status, "NotReady");
    assert_int_equal(g.status, POD_DEPLOYING);
    check_offers(f, 32 - 16 - 1 - 1); /* the NotReady one holds its GPU too */
    pf_advance(f, 31000);
    assert_int_equal(prov_primus_ops.get(f->a, late.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_FAILED);
    assert_non_null(strstr(g.message, "timed out"));
    pf_advance(f, 30000);
    assert_int_equal(status_of(f, svc.provider_id), POD_RUNNING);
    assert_int_equal(status_of(f, ok.provider_id), POD_RUNNING);
    pf_advance(f, 40000);
    assert_int_equal(status_of(f, ok.provider_id), POD_SUCCEEDED);
    assert_int_equal(prov_primus_ops.stop(f->a, ok.provider_id, f->err), GB_OK); /* ended: ok */
    assert_int_equal(status_of(f, ok.provider_id), POD_SUCCEEDED);
    assert_int_equal(create(f, "gpb-nocmd", 1, "{\"kind\":\"PyTorchJob\"}", &g), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "'command'"));
    assert_int_equal(create(f, "gpb-big-dev", 16, NULL, &g), GB_ERR_INVALID); /* Authoring */
    assert_non_null(strstr(f->err, "one node"));
}

/* 32 GPUs: a fifth 8-GPU workload waits Pending until one stops; 40 GPUs is a quota error. */
static void test_capacity(void **state)
{
    fx *f = *state;
    prov_pod p[5], g;
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "gpb-cap-%d", i);
        assert_int_equal(create(f, name, 8, NULL, &p[i]), GB_OK);
    }
    pf_advance(f, 21000);
    for (int i = 0; i < 4; i++)
        assert_int_equal(status_of(f, p[i].provider_id), POD_RUNNING);
    assert_int_equal(prov_primus_ops.get(f->a, p[4].provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_PENDING);
    assert_non_null(strstr(g.message, "Insufficient resources"));
    check_offers(f, 0);
    assert_int_equal(prov_primus_ops.stop(f->a, p[0].provider_id, f->err), GB_OK);
    pf_advance(f, 21000);
    assert_int_equal(status_of(f, p[4].provider_id), POD_RUNNING);
    f->nsleeps = 0;
    assert_int_equal(create(f, "gpb-huge", 40, "{\"kind\":\"PyTorchJob\",\"command\":\"x\"}", &g),
                     GB_ERR_CAPACITY);
    assert_non_null(strstr(f->err, "Primus.00008"));
    assert_int_equal(wls_named(f, "gpb-huge"), 0);
    prov_create_req req = {
        .name = "gpb-cheap", .image = IMAGE, .gpu_count = 4, .max_price_per_hour = 5000000};
    assert_int_equal(prov_primus_ops.create(f->a, &req, &g, f->err), GB_ERR_CONFLICT);
    assert_non_null(strstr(f->err, "5.60"));
}

static void test_status_mapping(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        pod_status want;
    } cases[] = {
        {"Pending", POD_PENDING},     {"PENDING", POD_PENDING},     {"pending", POD_PENDING},
        {"Running", POD_RUNNING},     {"running", POD_RUNNING},     {"Updating", POD_RUNNING},
        {"UPDATING", POD_RUNNING},    {"NotReady", POD_DEPLOYING},  {"notready", POD_DEPLOYING},
        {"Succeeded", POD_SUCCEEDED}, {"SUCCEEDED", POD_SUCCEEDED}, {"Failed", POD_FAILED},
        {"failed", POD_FAILED},       {"Stopped", POD_STOPPED},     {"STOPPED", POD_STOPPED},
        {"Unknown", POD_UNKNOWN},     {"Completed", POD_UNKNOWN},   {"", POD_UNKNOWN},
        {NULL, POD_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(prov_primus_ops.map_status(cases[i].raw), cases[i].want);
}

/* 150 workloads: list_pods pages with limit 100 (two pages), the filters narrow them. */
static void test_list_paging(void **state)
{
    fx *f = *state;
    long code;
    for (int i = 0; i < 150; i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"displayName\":\"bulk-%03d\",\"workspaceId\":\"ws-sandbox\","
                 "\"images\":[\"img\"],\"entryPoints\":[\"ZWNobyBoaQ==\"],\"resources\":[{"
                 "\"replica\":1,\"cpu\":\"4\",\"gpu\":\"0\",\"memory\":\"8Gi\"}],"
                 "\"groupVersionKind\":{\"kind\":\"%s\"}}",
                 i, i % 3 == 0 ? "PyTorchJob" : "Deployment");
        cJSON_Delete(api(f, "POST", "/api/v1/workloads", body, &code));
        assert_int_equal(code, 200);
    }
    int before = pf_route_count(f, "GET /api/v1/workloads");
    prov_pod *pods = NULL;
    size_t n = 0;
    assert_int_equal(prov_primus_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    assert_int_equal(n, 150);
    assert_string_equal(pods[0].name, "bulk-000"); /* oldest first */
    assert_string_equal(pods[149].name, "bulk-149");
    for (size_t i = 1; i < n; i++)
        assert_string_not_equal(pods[i].provider_id, pods[i - 1].provider_id);
    free(pods);
    assert_int_equal(pf_route_count(f, "GET /api/v1/workloads") - before, 2);
    prov_pod g;
    assert_int_equal(prov_primus_ops.find_by_name(f->a, "bulk-123", &g, f->err), GB_OK);
    assert_string_equal(g.name, "bulk-123");
    cJSON *j = api(f, "GET", "/api/v1/workloads?kind=PyTorchJob&limit=10&offset=45", NULL, &code);
    assert_int_equal(code, 200);
    assert_int_equal(cJSON_GetObjectItem(j, "totalCount")->valueint, 50);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 5);
    cJSON_Delete(j);
    j = api(f, "GET", "/api/v1/workloads?phase=Running,Stopped&workspaceId=ws-sandbox", NULL,
            &code);
    assert_int_equal(cJSON_GetObjectItem(j, "totalCount")->valueint, 0);
    cJSON_Delete(j);
    j = api(f, "GET", "/api/v1/workloads?workspaceId=ws-research", NULL, &code);
    assert_int_equal(cJSON_GetObjectItem(j, "totalCount")->valueint, 0);
    cJSON_Delete(j);
}

static void test_batch(void **state)
{
    fx *f = *state;
    prov_pod a, b, c;
    cJSON *res = NULL;
    assert_int_equal(create(f, "gpb-b1", 1, NULL, &a), GB_OK);
    assert_int_equal(create(f, "gpb-b2", 1, NULL, &b), GB_OK);
    assert_int_equal(create(f, "gpb-b3", 1, NULL, &c), GB_OK);
    pf_advance(f, 21000);
    const char *stop_ids[] = {a.provider_id, b.provider_id};
    assert_int_equal(prov_primus_batch(f->a, "stop", stop_ids, 2, &res, f->err), GB_OK);
    assert_string_equal(cJSON_GetObjectItem(res, "op")->valuestring, "stop");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(res, "workloadIds")), 2);
    cJSON_Delete(res);
    assert_int_equal(status_of(f, a.provider_id), POD_STOPPED);
    assert_int_equal(status_of(f, b.provider_id), POD_STOPPED);
    assert_int_equal(status_of(f, c.provider_id), POD_RUNNING);
    const char *del_ids[] = {a.provider_id, b.provider_id, "no-such-workload"};
    assert_int_equal(prov_primus_batch(f->a, "delete", del_ids, 3, &res, f->err), GB_OK);
    cJSON_Delete(res);
    prov_pod g;
    assert_int_equal(prov_primus_ops.get(f->a, a.provider_id, &g, f->err), GB_ERR_NOT_FOUND);
    assert_int_equal(prov_primus_ops.get(f->a, b.provider_id, &g, f->err), GB_ERR_NOT_FOUND);
    assert_int_equal(status_of(f, c.provider_id), POD_RUNNING);
    const char *gone[] = {"no-such-workload"};
    /* the batch clone is gone upstream: the adapter refuses it without a request */
    int posts = pf_route_count(f, "POST /api/v1/workloads/clone");
    assert_int_equal(prov_primus_batch(f->a, "clone", gone, 1, &res, f->err), GB_ERR_INVALID);
    assert_null(res);
    assert_int_equal(pf_route_count(f, "POST /api/v1/workloads/clone"), posts);
    assert_int_equal(prov_primus_batch(f->a, "start", gone, 1, &res, f->err), GB_ERR_INVALID);
    assert_int_equal(prov_primus_batch(f->a, "stop", gone, 0, &res, f->err), GB_ERR_INVALID);
    const char *bad[] = {"../etc"};
    assert_int_equal(prov_primus_batch(f->a, "stop", bad, 1, &res, f->err), GB_ERR_INVALID);
}

static void test_validate_options(void **state)
{
    fx *f = *state;
    static const pf_opt_case cases[] = {
        {"{\"kind\":\"PyTorchJob\",\"command\":\"torchrun x.py\",\"priority\":2,\"timeout\":60}",
         NULL},
        {"{\"kind\":\"Deployment\",\"liveness\":{\"path\":\"/h\",\"port\":80},\"service\":"
         "{\"port\":80,\"serviceType\":\"NodePort\",\"nodePort\":30080}}",
         NULL},
        {"{\"entryPoint\":\"ZWNobyBoaQ==\",\"cpu\":\"500m\",\"memory\":64,\"replica\":1}", NULL},
        {"{\"cronJobs\":[{\"schedule\":\"0 3 * * *\",\"action\":\"start\"}]}", NULL},
        {"{\"priority\":3}", "'priority'"},
        {"{\"priority\":-1}", "'priority'"},
        {"{\"kind\":\"Job\"}", "'kind'"},
        {"{\"kind\":7}", "'kind'"},
        {"{\"foo\":1}", "'foo'"},
        {"{\"entryPoint\":\"not base64!\"}", "'entryPoint'"},
        {"{\"entryPoint\":\"ZWNobyBoaQ==\",\"command\":\"x\"}", "'command'"},
        {"{\"liveness\":{\"port\":80}}", "'liveness'"},
        {"{\"kind\":\"Deployment\",\"readiness\":{\"port\":0}}", "'port'"},
        {"{\"kind\":\"Authoring\",\"replica\":2}", "'replica'"},
        {"{\"cpu\":\"lots\"}", "'cpu'"},
        {"{\"memory\":\"12 GB\"}", "'memory'"},
        {"{\"env\":{\"A\":1}}", "'env'"},
        {"{\"service\":{\"port\":70000}}", "'service'"},
        {"{\"service\":{\"port\":80,\"protocol\":\"SCTP\"}}", "'protocol'"},
        {"{\"timeout\":1.5}", "'timeout'"},
        {"{\"workspaceId\":\"../x\"}", "'workspaceId'"},
        {"{\"cronJobs\":[{\"schedule\":\"0 3 * * *\",\"action\":\"scale\"}]}", "'cronJobs'"},
        {"{\"dependencies\":[1]}", "'dependencies'"},
        {"[1]", "JSON object"},
    };
    pf_check_options(&prov_primus_ops, cases, GB_ARRAY_LEN(cases));
    prov_pod p; /* create refuses bad options before sending anything */
    cJSON *before = http(f, "GET", "/_sim/requests", NULL, NULL, NULL);
    assert_int_equal(create(f, "gpb-bad", 1, "{\"priority\":3}", &p), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "priority"));
    assert_int_equal(create(f, "gpb-bad", 1, "{\"kind\":\"TPUJob\"}", &p), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "kind"));
    cJSON *after = http(f, "GET", "/_sim/requests", NULL, NULL, NULL);
    assert_int_equal(cJSON_GetObjectItem(before, "count")->valueint,
                     cJSON_GetObjectItem(after, "count")->valueint);
    cJSON_Delete(before);
    cJSON_Delete(after);
}

/* SSH keys are refused, never dropped: Primus-SaFE workloads take none. */
static void test_ssh_keys_refused(void **state)
{
    fx *f = *state;
    prov_pod p;
    static const char *const keys[] = {
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtestkeyonexxxxxxxxxxxxxxxxxxxxxxxxxxxx a@b"};
    prov_create_req req = {
        .name = "gpb-keyed", .image = IMAGE, .gpu_count = 1, .ssh_public_keys = keys, .nssh = 1};
    int before = pf_total_requests(f);
    assert_int_equal(prov_primus_ops.create(f->a, &req, &p, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "SSH keys"));
    assert_int_equal(pf_total_requests(f), before); /* nothing sent */
    assert_int_equal(pf_named(f, "gpb-keyed"), 0);
}

int main(void)
{
    gb_http_global_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_lifecycle),      T(test_kinds_and_phases),
        T(test_capacity),       T(test_ssh_keys_refused),
        T(test_status_mapping), T(test_list_paging),
        T(test_batch),          T(test_validate_options),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
