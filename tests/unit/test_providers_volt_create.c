/* test_providers_volt_create.c: what the Volt adapter's create decides before and after its
 * POST /api/volt/pods, read at the simulator: the price limit holds for the pod's total (N GPUs
 * x cost_per_gpu_hour of GET /machines, seed 004), a machine gone between the offer and the
 * POST (404 Not Found, seed 004's error table) is a capacity refusal that leaves no template
 * behind, and SSH key ids given in provider_options reach the pod with the request's keys. */
#include "test_providers_volt_util.h"

static int count_of(fx *f, const char *key)
{
    cJSON *st = pf_state(f);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(st, key));
    cJSON_Delete(st);
    return n;
}

/* mach_rtx4090_02 costs $0.42 per GPU-hour at the simulator: two GPUs are $0.84/hour, above a
 * $0.50 limit though one GPU is below it. Refused before anything is made at Volt. */
static void test_price_limit_counts_every_gpu(void **state)
{
    fx *f = *state;
    prov_pod p;
    static const char *const keys[] = {KEY1};
    prov_create_req req = {.name = "gpb-two",
                           .offer_id = "mach_rtx4090_02",
                           .image = IMAGE21,
                           .gpu_count = 2,
                           .ssh_public_keys = keys,
                           .nssh = 1,
                           .max_price_per_hour = 500000};
    int tpls = count_of(f, "templates");
    assert_int_equal(prov_volt_ops.create(f->a, &req, &p, f->err), GB_ERR_CONFLICT);
    assert_non_null(strstr(f->err, "price changed"));
    assert_non_null(strstr(f->err, "0.84"));
    assert_int_equal(pf_route_count(f, "POST /api/volt/pods"), 0);
    assert_int_equal(pf_named(f, "gpb-two"), 0);
    assert_int_equal(count_of(f, "templates"), tpls);
    /* a limit at the total takes it: two GPUs at $0.84/hour */
    req.max_price_per_hour = 840000;
    assert_int_equal(prov_volt_ops.create(f->a, &req, &p, f->err), GB_OK);
    assert_int_equal(p.price_per_hour, 840000);
    assert_int_equal(pf_named(f, "gpb-two"), 1);
}

/* The machine leaves Volt's inventory between GET /machines and the POST: Volt answers 404.
 * The broker hears "no capacity" (it tries another offer), and the template made for the pod
 * is deleted since no pod will ever use it. */
static void test_machine_gone_is_capacity(void **state)
{
    fx *f = *state;
    prov_pod p;
    static const char *const keys[] = {KEY1};
    prov_create_req req = {.name = "gpb-gone",
                           .offer_id = "mach_l40s_01",
                           .image = "my/img:2",
                           .gpu_count = 1,
                           .ssh_public_keys = keys,
                           .nssh = 1};
    int tpls = count_of(f, "templates");
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\","
                "\"status\":404,\"count\":1}");
    assert_int_equal(prov_volt_ops.create(f->a, &req, &p, f->err), GB_ERR_CAPACITY);
    assert_non_null(strstr(f->err, "not offered any more"));
    assert_int_equal(pf_route_count(f, "POST /api/volt/pods"), 1); /* not posted again */
    assert_int_equal(pf_named(f, "gpb-gone"), 0);
    assert_int_equal(count_of(f, "templates"), tpls);
}

/* provider_options.ssh_key_ids (keys already at the Volt account) go into the create body's
 * ssh_key_ids beside the id of the request's own key (seed 004: POST /pods "ssh_key_ids"). */
static void test_option_key_ids_reach_the_pod(void **state)
{
    fx *f = *state;
    long code = 0;
    cJSON *k =
        pf_http(f, "POST", "/api/volt/ssh-keys", "{\"name\":\"team\",\"public_key\":\"" KEY2 "\"}",
                "X-API-Key: ", "test-secret", &code);
    assert_int_equal(code, 201);
    char kid[64], opts[128];
    snprintf(kid, sizeof(kid), "%s", cJSON_GetObjectItem(k, "id")->valuestring);
    cJSON_Delete(k);
    snprintf(opts, sizeof(opts), "{\"ssh_key_ids\":[\"%s\"]}", kid);
    cJSON *o = cJSON_Parse(opts);
    static const char *const keys[] = {KEY1};
    prov_create_req req = {.name = "gpb-keys",
                           .offer_id = "mach_rtx4090_02",
                           .image = IMAGE21,
                           .gpu_count = 1,
                           .ssh_public_keys = keys,
                           .nssh = 1,
                           .options = o};
    prov_pod p;
    assert_int_equal(prov_volt_ops.create(f->a, &req, &p, f->err), GB_OK);
    cJSON_Delete(o);
    cJSON *st = pf_state(f);
    const cJSON *pod = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "pods"), 0);
    assert_string_equal(cJSON_GetObjectItem(pod, "name")->valuestring, "gpb-keys");
    const cJSON *ids = cJSON_GetObjectItem(pod, "ssh_keys");
    assert_int_equal(cJSON_GetArraySize(ids), 2);
    assert_string_equal(cJSON_GetArrayItem(ids, 0)->valuestring, kid);
    assert_string_not_equal(cJSON_GetArrayItem(ids, 1)->valuestring, kid);
    cJSON_Delete(st);
}

int main(void)
{
    gb_http_global_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, pf_teardown)
    const struct CMUnitTest tests[] = {
        T(test_price_limit_counts_every_gpu),
        T(test_machine_gone_is_capacity),
        T(test_option_key_ids_reach_the_pod),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
