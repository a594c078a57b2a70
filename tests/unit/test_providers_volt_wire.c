/* test_providers_volt_wire.c: the Volt adapter against fixtures written from the Volt API
 * document (seed 004, docs.voltagegpu.com/api-reference; tests/fixtures/wire/volt/SOURCES.md):
 * its parsers read every response fixture (scripted loopback server), its bodies fit the
 * request fixtures, a base URL with the documented /api/volt suffix works, the templates and
 * SSH keys it makes are deleted with their pod (checked in the simulator's state), and the
 * simulator refuses old and unknown fields with Volt's error body. */
#include "common/str.h"
#include "test_prov_fixture.h"
#include "test_script_server.h"
#include "test_wire_util.h"

extern const prov_ops prov_volt_ops;

#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGwirekeyonexxxxxxxxxxxxxxxxxxxxxxxxxxxx a@b"
#define KEY2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGwirekeytwoxxxxxxxxxxxxxxxxxxxxxxxxxxxx c@d"
#define IMAGE21 "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel"

typedef pf_fx fx;

static int setup(void **state)
{
    fx *f = pf_start(sim_platform_volt(), "test-secret");
    f->a = pf_adapter(f, &prov_volt_ops, "volt", "", "test-secret", NULL);
    *state = f;
    return 0;
}

static cJSON *http(fx *f, const char *method, const char *path, const char *body, const char *key,
                   long *status)
{
    return pf_http(f, method, path, body, "X-API-Key: ", key, status);
}

static char *fixture(const char *file)
{
    return wire_text_must("volt", file);
}

static prov_adapter *script_adapter(ss_script *s, const char *suffix)
{
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, suffix);
    prov_adapter *a = NULL;
    assert_int_equal(prov_adapter_init(&prov_volt_ops, "volt", url, "k", NULL, &a), GB_OK);
    a->policy.max_retries = -1;
    return a;
}

static cJSON *sent_body(const ss_script *s, int i)
{
    return wire_request_json(s->got[i]);
}

static void assert_fits(const cJSON *sent, const char *file)
{
    wire_expect_fits(sent, "volt", file);
}

/* Offers, a Lium-standard create (template, key, pod), a Targon create, get, list, update and
 * delete read the document's answers and send its bodies; the base URL ends in /api/volt. */
static void test_adapter_reads_and_sends_doc_shapes(void **state)
{
    (void)state;
    char *mach = fixture("machines_list.json"), *tl = fixture("templates_list.json");
    char *tc = fixture("template_create_response.json"), *kl = fixture("ssh_keys_list.json");
    char *kc = fixture("ssh_key_create_response.json");
    char *pl = fixture("pod_create_lium_response.json");
    char *pt = fixture("pod_create_targon_response.json"), *pod = fixture("pod.json");
    char *pods = fixture("pods_list.json"), *act = fixture("pod_action_response.json");
    char *del = fixture("pod_delete_response.json");
    int st[16];
    for (int i = 0; i < 16; i++)
        st[i] = i == 15 ? 401 : 200;
    char *errb = fixture("error.json");
    const char *bodies[] = {mach, mach, tl,  tc,  kl,  kc, pl, pt,
                            pod,  pods, act, pod, del, tl, kl, errb};
    ss_script s = {.statuses = st, .bodies = bodies, .n = 16};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = script_adapter(&s, "/api/volt"); /* the documented base URL */
    char err[PROV_ERR_MAX];

    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_volt_ops.list_offers(a, &o, &n, err), GB_OK);
    assert_non_null(strstr(s.got[0], "GET /api/volt/machines HTTP/1.1"));
    assert_int_equal(n, 3);
    assert_string_equal(o[0].offer_id, "mach_rtx4090_01");
    assert_string_equal(o[0].gpu_type, "RTX4090");
    assert_int_equal(o[0].price_per_gpu_hour, 390000);
    assert_int_equal(o[0].available_gpus, 3);
    assert_true(o[2].confidential);
    free(o);

    const char *keys[] = {KEY1};
    const char *env[] = {"MODEL_DIR=/workspace/models"}; /* a name the document's example has */
    prov_create_req rq = {.name = "wire-pod",
                          .offer_id = "mach_rtx4090_01",
                          .image = IMAGE21,
                          .gpu_count = 1,
                          .ssh_public_keys = keys,
                          .nssh = 1,
                          .env = env,
                          .nenv = 1,
                          .volume_size_gb = 50};
    prov_pod p;
    assert_int_equal(prov_volt_ops.create(a, &rq, &p, err), GB_OK);
    assert_string_equal(p.provider_id, "pod_def456");
    assert_int_equal(p.status, POD_DEPLOYING);
    assert_int_equal(p.price_per_hour, 390000);
    assert_non_null(strstr(s.got[3], "POST /api/volt/templates "));
    cJSON *b = sent_body(&s, 3);
    assert_fits(b, "template_create_request.json");
    assert_string_equal(cJSON_GetObjectItem(b, "name")->valuestring, "gpubroker-wire-pod");
    cJSON_Delete(b);
    assert_non_null(strstr(s.got[5], "POST /api/volt/ssh-keys "));
    b = sent_body(&s, 5);
    assert_fits(b, "ssh_key_create_request.json");
    cJSON_Delete(b);
    assert_non_null(strstr(s.got[6], "POST /api/volt/pods "));
    b = sent_body(&s, 6);
    assert_fits(b, "pod_create_lium_request.json");
    assert_string_equal(cJSON_GetObjectItem(b, "template_id")->valuestring, "tpl_sdxl_02");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "ssh_key_ids"), 0)->valuestring,
                        "key_def456");
    cJSON_Delete(b);

    cJSON *opts = cJSON_Parse("{\"provider\":\"targon\",\"resource_name\":\"h200-small\","
                              "\"cost_per_hour\":2.4}");
    prov_create_req tq = {.name = "wire-tdx",
                          .image = "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel",
                          .options = opts};
    assert_int_equal(prov_volt_ops.create(a, &tq, &p, err), GB_OK);
    cJSON_Delete(opts);
    assert_string_equal(p.provider_id, "pod_targon_789");
    assert_int_equal(p.price_per_hour, 2400000);
    b = sent_body(&s, 7);
    assert_fits(b, "pod_create_targon_request.json");
    cJSON_Delete(b);

    assert_int_equal(prov_volt_ops.get(a, "pod_def456", &p, err), GB_OK);
    assert_int_equal(p.status, POD_RUNNING);
    assert_string_equal(p.ssh_command, "ssh -p 22 root@203.0.113.42");
    assert_int_equal(p.gpu_count, 1);
    prov_pod *list = NULL;
    assert_int_equal(prov_volt_ops.list_pods(a, &list, &n, err), GB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "training-run-7");
    assert_true(list[0].created_at > 0);
    free(list);

    cJSON *ch = cJSON_Parse("{\"name\":\"training-run-v2\"}");
    assert_int_equal(prov_volt_ops.update(a, "pod_def456", ch, err), GB_OK);
    cJSON_Delete(ch);
    assert_non_null(strstr(s.got[10], "PUT /api/volt/pods/pod_def456 "));
    b = sent_body(&s, 10);
    assert_fits(b, "pod_update_request.json");
    cJSON_Delete(b);

    /* delete: read, DELETE, then the cleanup looks for its template and keys (none of the
     * broker's here: "work-laptop" is the user's key) and deletes nothing else */
    assert_int_equal(prov_volt_ops.remove(a, "pod_def456", err), GB_OK);
    assert_non_null(strstr(s.got[12], "DELETE /api/volt/pods/pod_def456 "));
    assert_non_null(strstr(s.got[13], "GET /api/volt/templates "));
    assert_non_null(strstr(s.got[14], "GET /api/volt/ssh-keys "));

    /* the document's error body maps to its code */
    assert_int_equal(prov_volt_ops.get(a, "pod_def456", &p, err), GB_ERR_AUTH);
    assert_non_null(strstr(err, "INVALID_API_KEY"));
    assert_int_equal(s.served, 16);
    prov_adapter_free(a);
    ss_stop(&s);
    free(mach), free(tl), free(tc), free(kl), free(kc), free(pl), free(pt), free(pod);
    free(pods), free(act), free(del), free(errb);
}

/* The bare host and the documented .../api/volt both reach the simulator's routes once. */
static void test_base_url_both_forms(void **state)
{
    fx *f = *state;
    prov_adapter *with = pf_adapter(f, &prov_volt_ops, "volt", "/api/volt/", "test-secret", NULL);
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_volt_ops.list_offers(f->a, &o, &n, f->err), GB_OK);
    assert_int_equal(n, 7);
    free(o);
    assert_int_equal(prov_volt_ops.list_offers(with, &o, &n, f->err), GB_OK);
    assert_int_equal(n, 7);
    free(o);
    assert_int_equal(pf_route_count(f, "GET /api/volt/machines"), 2);
    assert_int_equal(pf_total_requests(f), 2); /* no doubled /api/volt/api/volt path */
    prov_adapter_free(with);
}

static const cJSON *named(const cJSON *arr, const char *name)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (strcmp(cJSON_GetObjectItem(it, "name")->valuestring, name) == 0) return it;
    }
    return NULL;
}

/* Two pods share a key the adapter registered; each has a template of its own. Deleting the
 * first removes its template but keeps the shared key; deleting the second removes the rest.
 * Checked in the simulator's state. */
static void test_cleanup_after_delete(void **state)
{
    fx *f = *state;
    const char *keys[] = {KEY1};
    const char *env[] = {"A=1"};
    prov_create_req r1 = {.name = "clean-a",
                          .offer_id = "mach_rtx4090_02",
                          .image = IMAGE21,
                          .gpu_count = 1,
                          .ssh_public_keys = keys,
                          .nssh = 1,
                          .env = env,
                          .nenv = 1};
    prov_create_req r2 = r1;
    r2.name = "clean-b";
    prov_pod p1, p2;
    assert_int_equal(prov_volt_ops.create(f->a, &r1, &p1, f->err), GB_OK);
    assert_int_equal(prov_volt_ops.create(f->a, &r2, &p2, f->err), GB_OK);
    cJSON *st = pf_state(f);
    assert_non_null(named(cJSON_GetObjectItem(st, "templates"), "gpubroker-clean-a"));
    assert_non_null(named(cJSON_GetObjectItem(st, "templates"), "gpubroker-clean-b"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "ssh_keys")), 1);
    int tpls = cJSON_GetArraySize(cJSON_GetObjectItem(st, "templates"));
    cJSON_Delete(st);

    assert_int_equal(prov_volt_ops.remove(f->a, p1.provider_id, f->err), GB_OK);
    st = pf_state(f);
    assert_null(named(cJSON_GetObjectItem(st, "templates"), "gpubroker-clean-a"));
    assert_non_null(named(cJSON_GetObjectItem(st, "templates"), "gpubroker-clean-b"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "templates")), tpls - 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "ssh_keys")), 1); /* b uses it */
    cJSON_Delete(st);

    assert_int_equal(prov_volt_ops.remove(f->a, p2.provider_id, f->err), GB_OK);
    st = pf_state(f);
    assert_null(named(cJSON_GetObjectItem(st, "templates"), "gpubroker-clean-b"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "templates")), tpls - 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "ssh_keys")), 0);
    cJSON_Delete(st);
    /* deleting again is harmless and deletes nothing more */
    assert_int_equal(prov_volt_ops.remove(f->a, p2.provider_id, f->err), GB_OK);
}

/* A user's own key (not named gpubroker-...) and system templates are never deleted. */
static void test_cleanup_spares_user_objects(void **state)
{
    fx *f = *state;
    long status = 0;
    cJSON *k = http(f, "POST", "/api/volt/ssh-keys",
                    "{\"name\":\"laptop\",\"public_key\":\"" KEY2 "\"}", "test-secret", &status);
    assert_int_equal(status, 201);
    cJSON_Delete(k);
    const char *keys[] = {KEY2};
    prov_create_req r = {.name = "mine",
                         .offer_id = "mach_a100_01",
                         .image = IMAGE21,
                         .gpu_count = 1,
                         .ssh_public_keys = keys,
                         .nssh = 1};
    prov_pod p;
    assert_int_equal(prov_volt_ops.create(f->a, &r, &p, f->err), GB_OK);
    cJSON *st = pf_state(f);
    int tpls = cJSON_GetArraySize(cJSON_GetObjectItem(st, "templates"));
    cJSON_Delete(st);
    assert_int_equal(prov_volt_ops.remove(f->a, p.provider_id, f->err), GB_OK);
    st = pf_state(f);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "ssh_keys")), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "templates")), tpls);
    cJSON_Delete(st);
}

/* The old create body (a bare image, env) and unknown fields anywhere are refused with the
 * document's error body; nothing is created. System templates cannot be deleted. */
static void test_sim_refuses_old_shapes(void **state)
{
    fx *f = *state;
    char *old = fixture("pod_create_old_request.json");
    long status = 0;
    cJSON *j = http(f, "POST", "/api/volt/pods", old, "test-secret", &status);
    free(old);
    assert_int_equal(status, 400);
    assert_fits(j, "error.json");
    assert_string_equal(cJSON_GetObjectItem(j, "code")->valuestring, "VALIDATION_ERROR");
    cJSON_Delete(j);
    static const char *const bad[][2] = {
        {"/api/volt/ssh-keys", "{\"name\":\"k\",\"public_key\":\"" KEY1 "\",\"label\":\"x\"}"},
        {"/api/volt/templates", "{\"name\":\"t\",\"image\":\"a/b:1\",\"environment\":{}}"},
        {"/api/volt/pods", "{\"provider\":\"targon\",\"resource_name\":\"h200-small\","
                           "\"image\":\"a/b:1\",\"cost_per_hour\":9,\"machine_id\":\"x\"}"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = http(f, "POST", bad[i][0], bad[i][1], "test-secret", &status);
        assert_int_equal(status, 400);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "error")));
        cJSON_Delete(j);
    }
    cJSON *st = pf_state(f);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "pods")), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "ssh_keys")), 0);
    cJSON_Delete(st);
    j = http(f, "DELETE", "/api/volt/templates/tpl_pytorch21", NULL, "test-secret", &status);
    assert_int_equal(status, 403);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapter_reads_and_sends_doc_shapes),
        cmocka_unit_test_setup_teardown(test_base_url_both_forms, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_after_delete, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_spares_user_objects, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_sim_refuses_old_shapes, setup, pf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
