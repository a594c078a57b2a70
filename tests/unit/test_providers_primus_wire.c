/* test_providers_primus_wire.c: the Primus adapter and simulator against contract fixtures
 * written from AMD-AGI/Primus-SaFE (tests/fixtures/wire/primus/, SOURCES.md names the source of
 * each). A scripted loopback server answers the adapter with the response fixtures (its parsers
 * must read them) and records what the adapter sent (its bodies must fit the request
 * fixtures); the simulator must answer in the fixtures' shapes and refuse the old ones. */
#include "test_providers_primus_util.h"
#include "test_script_server.h"
#include "test_wire_util.h"

#define KEY "ak-Wire7Test9Key3Xq5Lm8Np2Rt4"

/* A fixture printed compactly (caller frees). */
static char *fixture_text(const char *file)
{
    return wire_compact_must("primus", file);
}

/* The GET fixture with phase replaced (caller frees). */
static char *get_with_phase(const char *phase)
{
    cJSON *j = wire_json("primus", "get_response.json");
    assert_non_null(j);
    cJSON_ReplaceItemInObject(j, "phase", cJSON_CreateString(phase));
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return t;
}

static prov_adapter *ss_adapter(ss_script *s, const char *secret)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
    cJSON *settings = cJSON_Parse(SETTINGS);
    prov_adapter *a = NULL;
    assert_int_equal(prov_adapter_init(&prov_primus_ops, "primus", url, secret, settings, &a),
                     GB_OK);
    cJSON_Delete(settings);
    a->policy.max_retries = -1;
    return a;
}

/* The JSON body of recorded request i (caller deletes), its request line checked. */
static cJSON *sent_body(const ss_script *s, int i, const char *line)
{
    if (strncmp(s->got[i], line, strlen(line)) != 0)
        fail_msg("request %d: '%.80s', want '%s'", i, s->got[i], line);
    cJSON *j = wire_request_json(s->got[i]);
    if (!j) fail_msg("request %d has no JSON body: %s", i, s->got[i]);
    return j;
}

static void expect_fits(const cJSON *produced, const char *file)
{
    wire_expect_fits(produced, "primus", file);
}

/* GET and list answers: gpus from resources[], sshCommand, times, message. */
static void test_parse_responses(void **state)
{
    (void)state;
    char *get = fixture_text("get_response.json"), *list = fixture_text("list_response.json");
    char *logs = fixture_text("pod_logs_response.json");
    int st[] = {200, 200, 200, 200};
    const char *bodies[] = {get, list, get, logs};
    ss_script s = {.statuses = st, .bodies = bodies, .n = 4};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = ss_adapter(&s, KEY);
    char err[PROV_ERR_MAX] = "";
    prov_pod p;
    assert_int_equal(prov_primus_ops.get(a, "my-training-job-abc12", &p, err), GB_OK);
    assert_string_equal(p.provider_id, "my-training-job-abc12");
    assert_string_equal(p.name, "my-training-job");
    assert_int_equal(p.status, POD_RUNNING);
    assert_int_equal(p.gpu_count, 16); /* two resources of 8 */
    assert_int_equal(p.price_per_hour, 16 * 1400000);
    assert_string_equal(p.ip, "10.0.0.1");
    assert_int_equal(p.ssh_port, 2222);
    assert_non_null(strstr(p.ssh_command, "ssh -o ServerAliveInterval=60 user-001."));
    assert_true(p.created_at > 0);
    assert_non_null(strstr(s.got[0], "GET /api/v1/workloads/my-training-job-abc12 HTTP"));
    assert_non_null(strstr(s.got[0], "Authorization: Bearer " KEY "\r\n"));
    prov_pod *pods = NULL;
    size_t n = 0;
    assert_int_equal(prov_primus_ops.list_pods(a, &pods, &n, err), GB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(pods[0].gpu_count, 32); /* master 1x8 + workers 3x8 */
    assert_int_equal(pods[1].gpu_count, 1);
    assert_int_equal(pods[1].status, POD_PENDING);
    assert_string_equal(pods[1].message, "Insufficient resources");
    free(pods);
    assert_non_null(strstr(s.got[1], "GET /api/v1/workloads?workspaceId=ws-sandbox&"));
    char *text = NULL;
    assert_int_equal(prov_primus_ops.logs(a, "my-training-job-abc12", 10, &text, err), GB_OK);
    assert_string_equal(text, "step 10: loss=2.27\nstep 20: loss=2.08\n");
    free(text);
    assert_non_null(strstr(s.got[3], "GET /api/v1/workloads/my-training-job-abc12/pods/"
                                     "my-training-job-abc12-master-0/logs?tailLines=10 HTTP"));
    prov_adapter_free(a);
    ss_stop(&s);
    free(get);
    free(list);
    free(logs);
}

/* create, start (resume), update, batch: every body fits its request fixture. */
static void test_request_bodies(void **state)
{
    (void)state;
    char *created = fixture_text("create_response.json"), *get = fixture_text("get_response.json");
    char *stopped = get_with_phase("Stopped");
    int st[] = {200, 200, 200, 200, 200, 200, 200};
    const char *bodies[] = {created, get, stopped, created, get, "null", "null"};
    ss_script s = {.statuses = st, .bodies = bodies, .n = 7};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = ss_adapter(&s, KEY);
    char err[PROV_ERR_MAX] = "";
    prov_pod p;
    cJSON *o =
        cJSON_Parse("{\"kind\":\"PyTorchJob\",\"command\":\"torchrun train.py\","
                    "\"env\":{\"HF_HOME\":\"/data\"},\"priority\":1,\"timeout\":3600,"
                    "\"customerLabels\":{\"team\":\"ml\"},\"specifiedNodes\":[\"n1\",\"n2\"]}");
    const int port = 8080;
    prov_create_req req = {.name = "gpb-wire",
                           .image = IMAGE,
                           .gpu_count = 16,
                           .options = o,
                           .ports = &port,
                           .nports = 1};
    assert_int_equal(prov_primus_ops.create(a, &req, &p, err), GB_OK);
    cJSON_Delete(o);
    cJSON *b = sent_body(&s, 0, "POST /api/v1/workloads HTTP");
    expect_fits(b, "create_request.json");
    const cJSON *res = cJSON_GetObjectItem(b, "resources");
    assert_int_equal(cJSON_GetArraySize(res), 2); /* master + worker */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "images")), 2);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "entryPoints"), 1)->valuestring,
                        "dG9yY2hydW4gdHJhaW4ucHk="); /* base64("torchrun train.py") */
    assert_null(cJSON_GetObjectItem(b, "resource"));
    assert_null(cJSON_GetObjectItem(b, "image"));
    assert_null(cJSON_GetObjectItem(b, "entryPoint"));
    cJSON_Delete(b);
    assert_string_equal(p.provider_id, "my-training-job-abc12");

    /* start of a Stopped workload: POST .../resume with the create body rebuilt from GET */
    assert_int_equal(prov_primus_ops.start(a, "my-training-job-abc12", err), GB_OK);
    b = sent_body(&s, 3, "POST /api/v1/workloads/my-training-job-abc12/resume HTTP");
    expect_fits(b, "resume_request.json");
    assert_string_equal(cJSON_GetObjectItem(b, "displayName")->valuestring, "my-training-job");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "resources")), 2);
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "resources"), 0),
                                    "gpuName")); /* set by the server */
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "entryPoints"), 0)->valuestring,
                        "cHl0aG9uIHRyYWluLnB5"); /* GET's "python train.py", encoded again */
    cJSON_Delete(b);

    /* update of a running one: resources[] and images[] rebuilt to the same length */
    cJSON *ch = cJSON_Parse("{\"gpu_count\":8,\"image\":\"img:2\",\"priority\":2}");
    assert_int_equal(prov_primus_ops.update(a, "my-training-job-abc12", ch, err), GB_OK);
    cJSON_Delete(ch);
    b = sent_body(&s, 5, "PATCH /api/v1/workloads/my-training-job-abc12 HTTP");
    expect_fits(b, "patch_request.json");
    res = cJSON_GetObjectItem(b, "resources");
    assert_int_equal(cJSON_GetArraySize(res), 2); /* 8 GPUs over the same 2 nodes */
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 1), "gpu")->valuestring, "4");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "cpu")->valuestring,
                        "128"); /* kept from GET */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "images")), 2);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "images"), 1)->valuestring,
                        "img:2");
    assert_null(cJSON_GetObjectItem(b, "entryPoints")); /* unchanged: the server keeps them */
    cJSON_Delete(b);

    const char *ids[] = {"my-training-job-abc12"};
    cJSON *out = NULL;
    assert_int_equal(prov_primus_batch(a, "stop", ids, 1, &out, err), GB_OK);
    cJSON_Delete(out);
    b = sent_body(&s, 6, "POST /api/v1/workloads/stop HTTP");
    expect_fits(b, "batch_request.json");
    cJSON_Delete(b);
    assert_int_equal(s.served, 7);
    prov_adapter_free(a);
    ss_stop(&s);
    free(created);
    free(get);
    free(stopped);
}

/* Login: the body fits, the token from the answer is used; errors map with their reason. */
static void test_login_and_errors(void **state)
{
    (void)state;
    char *login = fixture_text("login_response.json"), *list = fixture_text("list_response.json");
    char *bad = fixture_text("error_response.json");
    int st[] = {200, 200, 400};
    const char *bodies[] = {login, list, bad};
    ss_script s = {.statuses = st, .bodies = bodies, .n = 3};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = ss_adapter(&s, "alice:secret");
    char err[PROV_ERR_MAX] = "";
    prov_pod *pods = NULL;
    size_t n = 0;
    assert_int_equal(prov_primus_ops.list_pods(a, &pods, &n, err), GB_OK);
    free(pods);
    cJSON *b = sent_body(&s, 0, "POST /api/v1/login HTTP");
    expect_fits(b, "login_request.json");
    cJSON_Delete(b);
    assert_non_null(strstr(s.got[1], "Authorization: Bearer dXNlci0wMDEuLi4=\r\n"));
    prov_pod p;
    fx local = {.a = a};
    assert_int_equal(create(&local, "gpb-x", 1, NULL, &p), GB_ERR_INVALID);
    assert_non_null(strstr(local.err, "HTTP 400: admission webhook"));
    assert_non_null(strstr(local.err, "the resources are empty (Primus.00002)"));
    prov_adapter_free(a);
    ss_stop(&s);
    free(login);
    free(list);
    free(bad);
}

/* The simulator answers in the fixtures' shapes. */
static void test_sim_answers_fit(void **state)
{
    fx *f = *state;
    prov_pod p;
    assert_int_equal(create(f, "gpb-fit", 16,
                            "{\"kind\":\"PyTorchJob\",\"command\":\"torchrun x.py\","
                            "\"service\":{\"port\":8080,\"targetPort\":8080}}",
                            &p),
                     GB_OK);
    pf_advance(f, 21000);
    char path[256];
    long code = 0;
    snprintf(path, sizeof(path), "/api/v1/workloads/%s", p.provider_id);
    cJSON *j = api(f, "GET", path, NULL, &code);
    assert_int_equal(code, 200);
    expect_fits(j, "get_response.json");
    const cJSON *pod = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "pods"), 0);
    snprintf(path, sizeof(path), "/api/v1/workloads/%s/pods/%s/logs", p.provider_id,
             cJSON_GetObjectItem(pod, "podId")->valuestring);
    cJSON_Delete(j);
    j = api(f, "GET", path, NULL, &code);
    expect_fits(j, "pod_logs_response.json");
    cJSON_Delete(j);
    j = api(f, "GET", "/api/v1/workloads", NULL, &code);
    expect_fits(j, "list_response.json");
    cJSON_Delete(j);
    j = http(f, "POST", "/api/v1/login",
             "{\"type\":\"default\",\"name\":\"alice\",\"password\":\"wonder-land-7\"}", NULL,
             &code);
    expect_fits(j, "login_response.json");
    cJSON_Delete(j);
}

/* The old shapes are refused with the server's own status and body, and change nothing. */
static void test_sim_refuses_old_shapes(void **state)
{
    fx *f = *state;
    long code = 0;
    char *old = wire_read("primus", "old_create_request.json");
    assert_non_null(old);
    cJSON *j = api(f, "POST", "/api/v1/workloads", old, &code);
    free(old);
    assert_int_equal(code, 400);
    cJSON *want = wire_json("primus", "error_response.json");
    assert_string_equal(cJSON_GetObjectItem(j, "errorCode")->valuestring,
                        cJSON_GetObjectItem(want, "errorCode")->valuestring);
    assert_string_equal(cJSON_GetObjectItem(j, "errorMessage")->valuestring,
                        cJSON_GetObjectItem(want, "errorMessage")->valuestring);
    cJSON_Delete(want);
    cJSON_Delete(j);
    assert_int_equal(wls_named(f, "my-training-job"), 0);

    prov_pod p;
    assert_int_equal(create(f, "gpb-old", 8, "{\"kind\":\"Deployment\"}", &p), GB_OK);
    pf_advance(f, 21000);
    char path[256], *patch = wire_read("primus", "old_patch_request.json");
    snprintf(path, sizeof(path), "/api/v1/workloads/%s", p.provider_id);
    j = api(f, "PATCH", path, patch, &code);
    free(patch);
    assert_int_equal(code, 400);
    assert_string_equal(cJSON_GetObjectItem(j, "errorCode")->valuestring, "Primus.00002");
    assert_non_null(strstr(cJSON_GetObjectItem(j, "errorMessage")->valuestring, "unknown field"));
    cJSON_Delete(j);
    cJSON *st = sim_state(f);
    const cJSON *w = state_wl(st, p.provider_id);
    assert_int_equal(cJSON_GetObjectItem(w, "priority")->valueint, 0); /* unchanged */
    assert_int_equal(cJSON_GetObjectItem(w, "gpus")->valueint, 8);
    assert_string_equal(cJSON_GetObjectItem(w, "phase")->valuestring, "Running");
    cJSON_Delete(st);

    char *clone = wire_read("primus", "old_batch_clone_request.json");
    j = api(f, "POST", "/api/v1/workloads/clone", clone, &code);
    free(clone);
    assert_int_equal(code, 404);
    want = wire_json("primus", "error_noroute.json");
    assert_string_equal(cJSON_GetObjectItem(j, "errorCode")->valuestring,
                        cJSON_GetObjectItem(want, "errorCode")->valuestring);
    assert_string_equal(cJSON_GetObjectItem(j, "errorMessage")->valuestring,
                        cJSON_GetObjectItem(want, "errorMessage")->valuestring);
    cJSON_Delete(want);
    cJSON_Delete(j);
    assert_int_equal(wls_named(f, "gpb-old"), 1); /* no clone appeared */
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_responses),
        cmocka_unit_test(test_request_bodies),
        cmocka_unit_test(test_login_and_errors),
        cmocka_unit_test_setup_teardown(test_sim_answers_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_refuses_old_shapes, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
