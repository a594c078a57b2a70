/* test_providers_lium.c: the Lium adapter against the Lium simulator over loopback HTTP: the
 * pod lifecycle, offers and prices, retries and faults, idempotent rent, capacity,
 * credentials, gpu_count checks and one-time templates. (Pure mapping: test_providers_lium_map.c.)
 */
#include "common/str.h"
#include "test_providers_lium_util.h"

static const prov_offer *offer_by_id(const prov_offer *o, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(o[i].offer_id, id) == 0) return &o[i];
    return NULL;
}

/* How many pods in /_sim/state carry name, and how often executor was rented. */
static void state_counts(fx *f, const char *name, const char *exec, int *pods, int *rents)
{
    cJSON *st = pf_state(f);
    const cJSON *p, *x;
    *pods = 0;
    *rents = -1;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(st, "pods"))
    {
        if (strcmp(cJSON_GetObjectItem(p, "pod_name")->valuestring, name) == 0) (*pods)++;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(st, "executors"))
    {
        if (strcmp(cJSON_GetObjectItem(x, "id")->valuestring, exec) == 0)
            *rents = cJSON_GetObjectItem(x, "rent_count")->valueint;
    }
    cJSON_Delete(st);
}

static void test_lifecycle(void **state)
{
    fx *f = *state;
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_lium_ops.list_offers(f->a, &o, &n, f->err), GB_OK);
    assert_int_equal(n, 8);
    const prov_offer *h = offer_by_id(o, n, X_H100x8);
    assert_non_null(h);
    assert_string_equal(h->id, "lium:" X_H100x8);
    assert_string_equal(h->gpu_type, "H100");
    assert_string_equal(h->gpu_name, "NVIDIA H100 80GB HBM3");
    assert_int_equal(h->gpu_count, 8);
    assert_int_equal(h->gpu_vram_gb, 80);
    assert_int_equal(h->price_per_gpu_hour, 2100000);
    assert_int_equal(h->price_per_hour, 16800000); /* 8 x $2.10 */
    assert_string_equal(h->location, "US-East");
    assert_string_equal(h->tier, "secure");
    assert_int_equal(h->available, 1);
    assert_int_equal(h->vcpu, 192);
    assert_int_equal(h->ram_gb, 2048);
    const prov_offer *r = offer_by_id(o, n, X_4090x4);
    assert_string_equal(r->gpu_type, "RTX4090");
    assert_int_equal(r->price_per_hour, 1400000); /* 4 x $0.35 */
    assert_string_equal(r->tier, "spot");
    free(o);

    prov_create_req rq = req_for("lc-pod", X_4090x4, 4);
    static const int ports[] = {8888};
    rq.ports = ports;
    rq.nports = 1;
    prov_pod p;
    assert_int_equal(prov_lium_ops.create(f->a, &rq, &p, f->err), GB_OK);
    assert_true(p.provider_id[0] != '\0');
    assert_string_equal(p.name, "lc-pod");
    assert_int_equal(p.status, POD_PENDING);
    assert_string_equal(p.raw_status, "PENDING");
    assert_int_equal(p.price_per_hour, 1400000);
    assert_int_equal(p.gpu_count, 4);
    assert_string_equal(p.gpu_type, "RTX4090");
    char id[128];
    gb_strlcpy(id, p.provider_id, sizeof(id));

    pf_advance(f, 26000); /* container up, SSH not yet: RUNNING without ssh_connect_cmd */
    assert_int_equal(prov_lium_ops.get(f->a, id, &p, f->err), GB_OK);
    assert_string_equal(p.raw_status, "RUNNING");
    assert_int_equal(p.status, POD_DEPLOYING);
    assert_int_equal(p.ssh_port, 0);

    pf_advance(f, 5000);
    assert_int_equal(prov_lium_ops.get(f->a, id, &p, f->err), GB_OK);
    assert_int_equal(p.status, POD_RUNNING);
    assert_string_equal(p.ip, "198.51.100.12");
    assert_true(p.ssh_port >= 40000);
    char want[128];
    gb_snprintf(want, sizeof(want), "ssh -p %d root@198.51.100.12", p.ssh_port);
    assert_string_equal(p.ssh_command, want);
    assert_true(gb_str_starts_with(p.url, "http://198.51.100.12:"));
    assert_true(p.created_at > 0);

    char *logs = NULL;
    assert_int_equal(prov_lium_ops.logs(f->a, id, 0, &logs, f->err), GB_OK);
    assert_non_null(strstr(logs, "Pulling image " IMAGE));
    assert_non_null(strstr(logs, "sshd"));
    free(logs);
    assert_int_equal(prov_lium_ops.logs(f->a, id, 1, &logs, f->err), GB_OK);
    assert_non_null(strstr(logs, "sshd"));
    assert_null(strstr(logs, "Pulling"));
    free(logs);

    prov_pod *all = NULL;
    assert_int_equal(prov_lium_ops.list_pods(f->a, &all, &n, f->err), GB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(all[0].provider_id, id);
    free(all);
    assert_int_equal(prov_lium_ops.find_by_name(f->a, "lc-pod", &p, f->err), GB_OK);
    assert_string_equal(p.provider_id, id);
    assert_int_equal(prov_lium_ops.find_by_name(f->a, "nope", &p, f->err), GB_ERR_NOT_FOUND);
    assert_int_equal(prov_lium_ops.list_offers(f->a, &o, &n, f->err), GB_OK);
    assert_int_equal(n, 7); /* the rented executor is not offered */
    assert_null(offer_by_id(o, n, X_4090x4));
    free(o);

    assert_int_equal(prov_lium_ops.remove(f->a, id, f->err), GB_OK);
    assert_int_equal(prov_lium_ops.get(f->a, id, &p, f->err), GB_OK);
    assert_string_equal(p.raw_status, "DELETING");
    assert_int_equal(p.status, POD_STOPPING);
    pf_advance(f, 6000);
    assert_int_equal(prov_lium_ops.get(f->a, id, &p, f->err), GB_ERR_NOT_FOUND);
    assert_int_equal(prov_lium_ops.list_offers(f->a, &o, &n, f->err), GB_OK);
    assert_int_equal(n, 8);
    free(o);
}

static void test_429_retry_after(void **state)
{
    fx *f = *state;
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/executors\",\"status\":429,"
                "\"count\":2,\"retry_after\":3}");
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_lium_ops.list_offers(f->a, &o, &n, f->err), GB_OK);
    assert_int_equal(n, 8);
    free(o);
    assert_int_equal(f->nsleeps, 2);
    assert_int_equal(f->sleeps[0], 3000);
    assert_int_equal(f->sleeps[1], 3000);
}

static void test_502_retried(void **state)
{
    fx *f = *state;
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/pods\",\"status\":502,\"count\":2}");
    prov_pod *all = NULL;
    size_t n = 9;
    assert_int_equal(prov_lium_ops.list_pods(f->a, &all, &n, f->err), GB_OK);
    assert_int_equal(n, 0);
    free(all);
    assert_int_equal(f->nsleeps, 2);
    cJSON *rq = pf_requests(f);
    const cJSON *by = cJSON_GetObjectItem(rq, "by_route");
    assert_int_equal(cJSON_GetObjectItem(by, "GET /api/pods")->valueint, 3);
    cJSON_Delete(rq);
}

static void test_timeout(void **state)
{
    fx *f = *state;
    f->a->policy.timeout_ms = 300;
    f->a->policy.max_retries = 1;
    pf_fault(f,
             "{\"method\":\"GET\",\"path_prefix\":\"/api/pods\",\"latency_ms\":3000,\"count\":-1}");
    prov_pod p;
    assert_int_equal(prov_lium_ops.find_by_name(f->a, "x", &p, f->err), GB_ERR_TIMEOUT);
    assert_non_null(strstr(f->err, "lium unreachable"));
    assert_non_null(strstr(f->err, "GET /pods"));
    assert_non_null(strstr(f->err, "2 attempts"));
    pf_clear_faults(f);
}

static void test_truncated_body(void **state)
{
    fx *f = *state;
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/executors\",\"truncate_body\":true,"
                "\"count\":-1}");
    prov_offer *o = NULL;
    size_t n = 0;
    gb_err e = prov_lium_ops.list_offers(f->a, &o, &n, f->err);
    assert_true(e == GB_ERR_HTTP || e == GB_ERR_PROVIDER);
    assert_null(o);
    assert_non_null(strstr(f->err, "lium"));
    assert_non_null(strstr(f->err, "/executors"));
}

static void test_drop_response_rent(void **state)
{
    fx *f = *state;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/executors/" X_H100x1
                "/rent\",\"drop_response\":true,\"count\":1}");
    prov_create_req rq = req_for("dropped-rent", X_H100x1, 1);
    prov_pod p;
    assert_int_equal(prov_lium_ops.create(f->a, &rq, &p, f->err), GB_OK);
    assert_string_equal(p.name, "dropped-rent");
    assert_true(p.provider_id[0] != '\0');
    int pods, rents;
    state_counts(f, "dropped-rent", X_H100x1, &pods, &rents);
    assert_int_equal(pods, 1);
    assert_int_equal(rents, 1);
    cJSON *rqs = pf_requests(f);
    const cJSON *by = cJSON_GetObjectItem(rqs, "by_route");
    assert_int_equal(cJSON_GetObjectItem(by, "POST /api/executors/:id/rent")->valueint, 1);
    cJSON_Delete(rqs);
}

static void test_502_rent_looks_up_before_retry(void **state)
{
    fx *f = *state;
    /* the 502 comes before the handler: nothing was rented, so one retry rents once */
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/executors/\",\"status\":502,"
                "\"count\":1}");
    prov_create_req rq = req_for("retried-rent", X_4090x2, 0);
    prov_pod p;
    assert_int_equal(prov_lium_ops.create(f->a, &rq, &p, f->err), GB_OK);
    assert_int_equal(p.gpu_count, 2);
    int pods, rents;
    state_counts(f, "retried-rent", X_4090x2, &pods, &rents);
    assert_int_equal(pods, 1);
    assert_int_equal(rents, 1);
    cJSON *rqs = pf_requests(f);
    const cJSON *by = cJSON_GetObjectItem(rqs, "by_route");
    assert_int_equal(cJSON_GetObjectItem(by, "POST /api/executors/:id/rent")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(by, "GET /api/pods")->valueint, 1); /* the look-up */
    cJSON_Delete(rqs);
    assert_int_equal(f->nsleeps, 1); /* the backoff before the second rent */
}

static void test_rented_executor_capacity(void **state)
{
    fx *f = *state;
    prov_create_req a = req_for("first", X_H100x8, 8);
    prov_pod p;
    assert_int_equal(prov_lium_ops.create(f->a, &a, &p, f->err), GB_OK);
    prov_create_req b = req_for("second", X_H100x8, 8);
    assert_int_equal(prov_lium_ops.create(f->a, &b, &p, f->err), GB_ERR_CAPACITY);
    assert_non_null(strstr(f->err, "not offered")); /* a rented executor is not listed */
    /* and the injected capacity fault gives the same answer */
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/executors/\",\"capacity_error\":true,"
                "\"count\":1}");
    prov_create_req c = req_for("third", X_4090x4, 4);
    assert_int_equal(prov_lium_ops.create(f->a, &c, &p, f->err), GB_ERR_CAPACITY);
    int pods, rents;
    state_counts(f, "second", X_H100x8, &pods, &rents);
    assert_int_equal(pods, 0);
    assert_int_equal(rents, 1);
}

static void test_bad_credentials(void **state)
{
    fx *f = *state;
    prov_adapter *bad = adapter(f, "wrong-key-123");
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_lium_ops.list_offers(bad, &o, &n, f->err), GB_ERR_AUTH);
    assert_non_null(strstr(f->err, "401"));
    assert_non_null(strstr(f->err, "Invalid API key"));
    assert_null(strstr(f->err, "wrong-key-123"));
    prov_adapter_free(bad);
    bad = adapter(f, ""); /* no key at all: refused before anything is sent */
    int before = pf_total_requests(f);
    assert_int_equal(prov_lium_ops.list_offers(bad, &o, &n, f->err), GB_ERR_AUTH);
    assert_non_null(strstr(f->err, "empty"));
    assert_int_equal(pf_total_requests(f), before);
    prov_adapter_free(bad);
    /* the simulator's answer to a request without X-API-KEY: FastAPI's 403 */
    long status = 0;
    cJSON *j = pf_http(f, "GET", "/api/executors", NULL, "", NULL, &status);
    assert_int_equal(status, 403);
    assert_string_equal(cJSON_GetObjectItem(j, "detail")->valuestring, "Not authenticated");
    cJSON_Delete(j);
}

static void test_gpu_count_mismatch(void **state)
{
    fx *f = *state;
    prov_create_req rq = req_for("half", X_H100x8, 2);
    prov_pod p;
    assert_int_equal(prov_lium_ops.create(f->a, &rq, &p, f->err), GB_ERR_INVALID);
    assert_true(gb_str_starts_with(f->err, "gpu_count"));
    assert_non_null(strstr(f->err, "8 GPUs"));
    int pods, rents;
    state_counts(f, "half", X_H100x8, &pods, &rents);
    assert_int_equal(pods, 0);
    assert_int_equal(rents, 0);
}

/* The listed price of executor, from the adapter's own listing. */
static gb_money listed_price(fx *f, const char *exec)
{
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_lium_ops.list_offers(f->a, &o, &n, f->err), GB_OK);
    const prov_offer *x = offer_by_id(o, n, exec);
    gb_money p = x ? x->price_per_hour : -1;
    free(o);
    return p;
}

/* A live price that moved since the broker listed it (POST /_sim/prices): the create's price
 * cap, checked against the executor as listed now, refuses it and rents nothing; bad control
 * requests change nothing. */
static void test_price_moves(void **state)
{
    fx *f = *state;
    assert_int_equal(listed_price(f, X_H100x8), 16800000);
    cJSON_Delete(pf_sim(f, "POST", "/_sim/prices", "{\"percent\":120}"));
    assert_int_equal(listed_price(f, X_H100x8), 20160000); /* 8 x $2.52 */
    prov_create_req rq = req_for("dear", X_H100x8, 8);
    rq.max_price_per_hour = 16800000;
    prov_pod p;
    assert_int_equal(prov_lium_ops.create(f->a, &rq, &p, f->err), GB_ERR_CAPACITY);
    assert_non_null(strstr(f->err, "over max_price_per_hour"));
    int pods, rents;
    state_counts(f, "dear", X_H100x8, &pods, &rents);
    assert_int_equal(pods, 0);
    assert_int_equal(rents, 0);
    static const char *const bad[] = {"{\"percent\":9}",
                                      "{\"percent\":1001}",
                                      "{\"percent\":\"x\"}",
                                      "{\"pct\":100}",
                                      "{}",
                                      "nope",
                                      NULL};
    for (int i = 0; bad[i]; i++) {
        long st = 0;
        cJSON_Delete(pf_http(f, "POST", "/_sim/prices", bad[i], NULL, NULL, &st));
        assert_int_equal(st, 400);
    }
    assert_int_equal(listed_price(f, X_H100x8), 20160000);
    cJSON_Delete(pf_sim(f, "POST", "/_sim/prices", "{\"percent\":100}"));
    assert_int_equal(listed_price(f, X_H100x8), 16800000);
}

static int template_count(fx *f)
{
    cJSON *st = pf_state(f);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(st, "templates"));
    cJSON_Delete(st);
    return n;
}

/* The template named name in /_sim/state, or NULL (caller deletes *st). */
static const cJSON *template_named(fx *f, cJSON **st, const char *name)
{
    *st = pf_state(f);
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(*st, "templates"))
    {
        if (strcmp(cJSON_GetObjectItem(t, "name")->valuestring, name) == 0) return t;
    }
    return NULL;
}

/* Each pod gets a one-time template of its own (Datura-ai/lium lium/sdk/client.py
 * create_template: one_time_template deletes it after pod removal), so none pile up. */
static void test_one_time_templates(void **state)
{
    fx *f = *state;
    prov_create_req a = req_for("tpl-a", X_4090x4, 4);
    prov_create_req b = req_for("tpl-b", X_4090x2, 2);
    prov_pod pa, pb;
    assert_int_equal(prov_lium_ops.create(f->a, &a, &pa, f->err), GB_OK);
    assert_int_equal(prov_lium_ops.create(f->a, &b, &pb, f->err), GB_OK);
    cJSON *st;
    const cJSON *ta = template_named(f, &st, "gpubroker-tpl-a");
    assert_non_null(ta);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ta, "one_time_template")));
    assert_string_equal(cJSON_GetObjectItem(ta, "docker_image")->valuestring, "pytorch/pytorch");
    assert_string_equal(cJSON_GetObjectItem(ta, "docker_image_tag")->valuestring,
                        "2.1.0-cuda12.1-cudnn8-devel");
    cJSON_Delete(st);
    assert_non_null(template_named(f, &st, "gpubroker-tpl-b"));
    cJSON_Delete(st);
    /* deleting pod a: its template goes with it once the pod is gone, b's stays */
    assert_int_equal(prov_lium_ops.remove(f->a, pa.provider_id, f->err), GB_OK);
    pf_advance(f, 6000);
    assert_null(template_named(f, &st, "gpubroker-tpl-a"));
    cJSON_Delete(st);
    assert_non_null(template_named(f, &st, "gpubroker-tpl-b"));
    cJSON_Delete(st);
    /* a refused rent deletes the template made for it */
    prov_create_req c = req_for("tpl-c", X_4090x2, 2); /* rented by tpl-b: not offered */
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/executors/\",\"capacity_error\":true,"
                "\"count\":1}");
    prov_create_req d = req_for("tpl-d", X_H100x1, 1);
    assert_int_equal(prov_lium_ops.create(f->a, &d, &pa, f->err), GB_ERR_CAPACITY);
    assert_null(template_named(f, &st, "gpubroker-tpl-d"));
    cJSON_Delete(st);
    assert_int_equal(pf_route_count(f, "DELETE /api/templates/:id"), 1);
    assert_int_equal(prov_lium_ops.create(f->a, &c, &pa, f->err), GB_ERR_CAPACITY);
    assert_null(template_named(f, &st, "gpubroker-tpl-c")); /* refused before any template */
    cJSON_Delete(st);
}

/* A rent whose every try failed unsure (502s, no pod appeared) leaves the template made for
 * it; the broker then calls abandoned, which deletes it and only it. */
static void test_abandoned_create_drops_its_template(void **state)
{
    fx *f = *state;
    prov_create_req keep = req_for("ab-keep", X_4090x2, 2);
    prov_pod p;
    assert_int_equal(prov_lium_ops.create(f->a, &keep, &p, f->err), GB_OK);
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/executors/\",\"status\":502,"
                "\"count\":-1}");
    prov_create_req lost = req_for("ab-lost", X_H100x1, 1);
    assert_int_not_equal(prov_lium_ops.create(f->a, &lost, &p, f->err), GB_OK);
    cJSON *st;
    assert_non_null(template_named(f, &st, "gpubroker-ab-lost")); /* unsure: kept */
    cJSON_Delete(st);
    assert_non_null(prov_lium_ops.abandoned);
    prov_lium_ops.abandoned(f->a, "ab-lost");
    assert_null(template_named(f, &st, "gpubroker-ab-lost"));
    cJSON_Delete(st);
    assert_non_null(template_named(f, &st, "gpubroker-ab-keep")); /* another pod's stays */
    cJSON_Delete(st);
}

static void test_options_template_id(void **state)
{
    fx *f = *state;
    /* a template_id in provider_options skips the template step and goes to rent */
    cJSON *o = cJSON_Parse("{\"template_id\":\"1f0e5a2b-3c4d-4e5f-8a9b-0c1d2e3f4a02\"}");
    prov_create_req rq = req_for("opt-tpl", X_H100x1, 1);
    rq.image = NULL;
    rq.options = o;
    prov_pod p;
    int before = template_count(f);
    assert_int_equal(prov_lium_ops.create(f->a, &rq, &p, f->err), GB_OK);
    assert_int_equal(template_count(f), before);
    cJSON_Delete(o);
    o = cJSON_Parse("{\"flavor\":\"big\"}");
    rq = req_for("opt-bad", X_H100x8, 8);
    rq.options = o;
    assert_int_equal(prov_lium_ops.create(f->a, &rq, &p, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "flavor"));
    cJSON_Delete(o);
}

static void test_invalid_requests(void **state)
{
    fx *f = *state;
    prov_pod p;
    prov_create_req rq = req_for("no-keys", X_H100x1, 1);
    rq.nssh = 0;
    assert_int_equal(prov_lium_ops.create(f->a, &rq, &p, f->err), GB_ERR_INVALID);
    assert_true(gb_str_starts_with(f->err, "ssh_public_keys"));
    rq = req_for("bad-env", X_H100x1, 1);
    const char *env[] = {"=x"};
    rq.env = env;
    rq.nenv = 1;
    assert_int_equal(prov_lium_ops.create(f->a, &rq, &p, f->err), GB_ERR_INVALID);
    assert_true(gb_str_starts_with(f->err, "env[0]"));
    rq = req_for("gone", "0000-not-an-executor", 0);
    assert_int_equal(prov_lium_ops.create(f->a, &rq, &p, f->err), GB_ERR_CAPACITY);
    assert_int_equal(prov_lium_ops.get(f->a, "../etc", &p, f->err), GB_ERR_INVALID);
    assert_int_equal(prov_lium_ops.get(f->a, "6f1c2a3e-0000", &p, f->err), GB_ERR_NOT_FOUND);
    assert_non_null(strstr(f->err, "Pod not found"));
    assert_null(prov_lium_ops.start);
    assert_null(prov_lium_ops.stop);
    assert_null(prov_lium_ops.update);
    assert_non_null(prov_lium_ops.logs);
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_429_retry_after, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_502_retried, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_body, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_drop_response_rent, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_502_rent_looks_up_before_retry, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_rented_executor_capacity, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_bad_credentials, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_gpu_count_mismatch, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_price_moves, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_one_time_templates, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_create_drops_its_template, setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_options_template_id, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_requests, setup, pf_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
