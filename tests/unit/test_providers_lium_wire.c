/* test_providers_lium_wire.c: the Lium adapter against fixtures written from Lium's public SDK
 * (tests/fixtures/wire/lium, sources in SOURCES.md): its parsers read every response fixture
 * (served by a scripted loopback server), the bodies it sends fit the request fixtures, and
 * the simulator refuses the old shapes with FastAPI's 422 and serves the current ones. */
#include "common/str.h"
#include "test_prov_fixture.h"
#include "test_script_server.h"
#include "test_wire_util.h"

extern const prov_ops prov_lium_ops;

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb5pQm3 user@test"
#define X_ID "3f6b0c1e-2a4d-4c8e-9b1f-5d7e8a9b0c11"
#define POD_ID "8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static const char *const KEYS[] = {KEY};

static char *fixture(const char *file)
{
    return wire_text_must("lium", file);
}

static prov_adapter *script_adapter(ss_script *s)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api", s->port);
    prov_adapter *a = NULL;
    assert_int_equal(prov_adapter_init(&prov_lium_ops, "lium", url, "k", NULL, &a), GB_OK);
    a->policy.max_retries = -1;
    return a;
}

/* The JSON body of recorded request i (after the blank line); NULL when none. */
static cJSON *sent_body(const ss_script *s, int i)
{
    return wire_request_json(s->got[i]);
}

static void assert_fits(const cJSON *sent, const char *file)
{
    wire_expect_fits(sent, "lium", file);
}

/* Offers, create (template + rent), get, list and logs read the SDK's shapes; the template
 * and rent bodies fit the SDK's request bodies; the paths carry size, tail and follow. */
static void test_adapter_reads_and_sends_sdk_shapes(void **state)
{
    (void)state;
    char *ex = fixture("executors_list.json"), *tl = fixture("templates_list.json");
    char *tp = fixture("template.json"), *pod = fixture("pod.json");
    char *pods = fixture("pods_list.json"), *logs = fixture("logs.txt");
    int st[] = {200, 200, 200, 200, 200, 200, 200, 200, 200};
    const char *bodies[] = {ex, ex, tl, tp, pod, pod, pods, logs};
    ss_script s = {.statuses = st, .bodies = bodies, .n = 8};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = script_adapter(&s);
    char err[PROV_ERR_MAX];

    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_lium_ops.list_offers(a, &o, &n, err), GB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(o[0].offer_id, X_ID);
    assert_string_equal(o[0].gpu_type, "H100");
    assert_int_equal(o[0].gpu_count, 8);
    assert_int_equal(o[0].price_per_gpu_hour, 2100000);
    assert_int_equal(o[0].price_per_hour, 16800000);
    assert_int_equal(o[0].vcpu, 192);
    assert_int_equal(o[0].ram_gb, 2048);
    assert_string_equal(o[0].tier, "secure");
    assert_string_equal(o[0].location, "US-Virginia");
    assert_int_equal(o[0].available, 1);
    free(o);
    assert_non_null(strstr(s.got[0], "GET /api/executors?size=1000 HTTP/1.1"));

    static const int ports[] = {8888};
    const char *env[] = {"MODE=train"};
    prov_create_req rq = {.name = "wire-pod",
                          .offer_id = X_ID,
                          .image = "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel",
                          .gpu_count = 8,
                          .ssh_public_keys = KEYS,
                          .nssh = 1,
                          .ports = ports,
                          .nports = 1,
                          .env = env,
                          .nenv = 1};
    prov_pod p;
    assert_int_equal(prov_lium_ops.create(a, &rq, &p, err), GB_OK);
    assert_string_equal(p.provider_id, POD_ID);
    assert_int_equal(p.status, POD_RUNNING);
    assert_int_equal(p.ssh_port, 40010);
    assert_string_equal(p.ip, "198.51.100.20");
    assert_int_equal(p.price_per_hour, 16800000);
    assert_int_equal(p.gpu_count, 8);
    assert_non_null(strstr(s.got[1], "GET /api/executors?size=1000 "));
    assert_non_null(strstr(s.got[2], "GET /api/templates "));
    assert_non_null(strstr(s.got[3], "POST /api/templates "));
    cJSON *tb = sent_body(&s, 3);
    assert_fits(tb, "template_create_request.json");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(tb, "one_time_template")));
    assert_string_equal(cJSON_GetObjectItem(tb, "name")->valuestring, "gpubroker-wire-pod");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(tb, "environment"), "MODE")->valuestring, "train");
    cJSON_Delete(tb);
    assert_non_null(strstr(s.got[4], "POST /api/executors/" X_ID "/rent "));
    cJSON *rb = sent_body(&s, 4);
    assert_fits(rb, "rent_request.json");
    assert_string_equal(cJSON_GetObjectItem(rb, "template_id")->valuestring,
                        "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d");
    cJSON_Delete(rb);

    assert_int_equal(prov_lium_ops.get(a, POD_ID, &p, err), GB_OK);
    assert_string_equal(p.name, "train-1");
    assert_string_equal(p.ssh_command, "ssh -p 40010 root@198.51.100.20");
    assert_string_equal(p.url, "http://198.51.100.20:40011");
    assert_true(p.created_at > 0);

    prov_pod *list = NULL;
    assert_int_equal(prov_lium_ops.list_pods(a, &list, &n, err), GB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].status, POD_PENDING);
    assert_int_equal(list[0].gpu_count, 8); /* "8" as a string */
    assert_int_equal(list[0].price_per_hour, 16800000);
    free(list);

    char *text = NULL;
    assert_int_equal(prov_lium_ops.logs(a, POD_ID, 50, &text, err), GB_OK);
    assert_non_null(strstr(s.got[7], "GET /api/pods/" POD_ID "/logs?tail=50&follow=false "));
    assert_string_equal(text, "2026-06-29T10:00:00Z Pulling image pytorch/pytorch:2.1.0\n"
                              "2026-06-29T10:00:25Z sshd: Server listening on 0.0.0.0 port 22.\n");
    free(text);
    prov_adapter_free(a);
    ss_stop(&s);
    free(ex), free(tl), free(tp), free(pod), free(pods), free(logs);
}

/* The fixtures the adapter only reads as parts (template, ssh key) are valid JSON with the
 * fields the adapter looks at. */
static void test_other_fixtures_parse(void **state)
{
    (void)state;
    static const char *const files[] = {"template.json", "ssh_key.json", "validation_error.json"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        cJSON *j = wire_json("lium", files[i]);
        assert_non_null(j);
        cJSON_Delete(j);
    }
    cJSON *k = wire_json("lium", "ssh_key.json");
    assert_non_null(cJSON_GetObjectItem(k, "public_key"));
    cJSON_Delete(k);
}

static int setup(void **state)
{
    *state = pf_start(sim_platform_lium(), "wire-secret");
    return 0;
}

static long sim_call(pf_fx *f, const char *method, const char *path, const char *body, cJSON **out)
{
    long status = 0;
    cJSON *j = pf_http(f, method, path, body, "X-API-KEY: ", "wire-secret", &status);
    if (out)
        *out = j;
    else
        cJSON_Delete(j);
    return status;
}

/* The old rent body (image and gpu_count instead of a template) and unknown template fields
 * are refused with FastAPI's 422 detail list; nothing is rented. */
static void test_sim_refuses_old_shapes(void **state)
{
    pf_fx *f = *state;
    char *old = fixture("rent_request_old.json");
    cJSON *j = NULL;
    assert_int_equal(
        sim_call(f, "POST", "/api/executors/6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e01/rent", old, &j),
        422);
    assert_fits(j, "validation_error.json");
    const cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "detail"), 0);
    assert_string_equal(cJSON_GetObjectItem(d0, "type")->valuestring, "extra_forbidden");
    cJSON_Delete(j);
    free(old);
    assert_int_equal(sim_call(f, "POST", "/api/templates",
                              "{\"name\":\"t\",\"docker_image\":\"a/b\",\"image_tag\":\"1\"}", &j),
                     422);
    const cJSON *loc =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "detail"), 0), "loc");
    assert_string_equal(cJSON_GetArrayItem(loc, 0)->valuestring, "body");
    assert_string_equal(cJSON_GetArrayItem(loc, 1)->valuestring, "image_tag");
    cJSON_Delete(j);
    cJSON *st = pf_state(f);
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(st, "executors"))
        assert_int_equal(cJSON_GetObjectItem(x, "rent_count")->valueint, 0);
    cJSON_Delete(st);
}

/* The simulator serves the SDK's shapes: an executor and a rented pod fit the fixtures' keys
 * (every key the simulator sends is one the SDK's models know), size pages the list, and
 * a logs call is recorded with its tail and follow. */
static void test_sim_serves_sdk_shapes(void **state)
{
    pf_fx *f = *state;
    cJSON *j = NULL;
    assert_int_equal(sim_call(f, "GET", "/api/executors?size=1000", NULL, &j), 200);
    assert_int_equal(cJSON_GetArraySize(j), 8);
    cJSON *fx = wire_json("lium", "executors_list.json");
    char why[512];
    if (!wire_shape_fits(j, fx, why, sizeof(why))) fail_msg("executors: %s", why);
    cJSON_Delete(fx);
    cJSON_Delete(j);
    assert_int_equal(sim_call(f, "GET", "/api/executors", NULL, &j), 200);
    assert_int_equal(cJSON_GetArraySize(j), 5); /* the default page: why the SDK sends size */
    cJSON_Delete(j);
    assert_int_equal(sim_call(f, "GET", "/api/executors?size=0", NULL, NULL), 422);

    prov_adapter *a = pf_adapter(f, &prov_lium_ops, "lium", "/api", "wire-secret", NULL);
    prov_create_req rq = {.name = "shape-pod",
                          .offer_id = "6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e06",
                          .image = "pytorch/pytorch:2.1.0",
                          .gpu_count = 1,
                          .ssh_public_keys = KEYS,
                          .nssh = 1};
    prov_pod p;
    char err[PROV_ERR_MAX];
    assert_int_equal(prov_lium_ops.create(a, &rq, &p, err), GB_OK);
    pf_advance(f, 31000);
    char path[160];
    snprintf(path, sizeof(path), "/api/pods/%s", p.provider_id);
    assert_int_equal(sim_call(f, "GET", path, NULL, &j), 200);
    fx = wire_json("lium", "pod.json");
    /* the nested executor and template carry more than the fixture's excerpt: check the pod's
     * own keys */
    cJSON_DeleteItemFromObject(j, "executor");
    cJSON_DeleteItemFromObject(j, "template");
    if (!wire_shape_fits(j, fx, why, sizeof(why))) fail_msg("pod: %s", why);
    cJSON_Delete(fx);
    cJSON_Delete(j);
    char *text = NULL;
    assert_int_equal(prov_lium_ops.logs(a, p.provider_id, 2, &text, err), GB_OK);
    assert_non_null(strstr(text, "sshd"));
    assert_null(strstr(text, "Pulling")); /* tail=2 cut at the simulator */
    free(text);
    cJSON *st = pf_state(f);
    assert_int_equal(cJSON_GetObjectItem(st, "logs_calls")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(st, "logs_tail")->valuestring, "2");
    assert_string_equal(cJSON_GetObjectItem(st, "logs_follow")->valuestring, "false");
    cJSON_Delete(st);
    prov_adapter_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapter_reads_and_sends_sdk_shapes),
        cmocka_unit_test(test_other_fixtures_parse),
        cmocka_unit_test_setup_teardown(test_sim_refuses_old_shapes, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_sim_serves_sdk_shapes, setup, pf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
