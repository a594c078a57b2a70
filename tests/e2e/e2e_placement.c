/* e2e_placement.c: end to end in sandbox mode: GET /api/volt/offers ranking, filters and
 * explain; "provider":"auto" queued on the cheapest fit and failing over (in the intent
 * worker) when that provider has no capacity (skipping the blocked offer next time), a pod
 * failed with every attempt as an event,
 * answering NO_OFFER with reasons; a provider that is down while the others answer; the price
 * lock (PRICE_CHANGED); the spend limit; the place and offers CLI with their exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "support_daemon.h"

static e2e_daemon D;
static char KEY_ID[64];

static void sim(const char *provider, const char *method, const char *json)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/_sim/faults", e2e_sim_url(&D, provider));
    gb_http_req req = {
        .method = method, .url = url, .body = json, .body_len = json ? strlen(json) : 0};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    assert_true(resp.status < 300);
    gb_http_resp_free(&resp);
}

static void clear_faults(void)
{
    sim("lium", "DELETE", NULL);
    sim("volt", "DELETE", NULL);
    sim("targon", "DELETE", NULL);
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    static const char *env[] = {"GPUBROKER_OFFERS_TTL_MS=200",
                                "GPUBROKER_OFFERS_DROP_AFTER_MS=600",
                                "GPUBROKER_PROVIDERS_MAX_RETRIES=1",
                                "GPUBROKER_PROVIDERS_TIMEOUT_MS=3000",
                                "GPUBROKER_RECONCILER_INTERVAL_MS=200",
                                "GPUBROKER_PLACEMENT_BLOCK_MS=1500",
                                NULL};
    static const char *extra[] = {"--sim-speed", "100", NULL};
    e2e_start_sandbox_args(&D, NULL, env, extra);
    /* lium needs an SSH key on every pod */
    e2e_add_ssh_key(&D, D.key, KEY_ID, sizeof(KEY_ID), NULL, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void test_offers_ranking_and_filters(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/offers?gpu=H100:1", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *offers = cJSON_GetObjectItemCaseSensitive(r.json, "offers"), *o;
    assert_true(cJSON_GetArraySize(offers) >= 2);
    double last = 0;
    cJSON_ArrayForEach(o, offers)
    {
        assert_string_equal(
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "gpu_type_normalized")),
            "H100");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "gpu_type")),
                            "H100 80GB"); /* Volt's name */
        assert_true(num(o, "gpu_count") == 1);
        assert_true(num(o, "price_per_hour") >= last);
        last = num(o, "price_per_hour");
        assert_non_null(cJSON_GetObjectItemCaseSensitive(o, "fetched_at"));
    }
    e2e_resp_free(&r);
    /* every offer from each provider, in one answer */
    e2e_req(&D, "GET", "/api/volt/offers", D.key, NULL, &r);
    assert_non_null(strstr(r.body, "\"provider\":\"lium\""));
    assert_non_null(strstr(r.body, "\"provider\":\"targon\""));
    assert_non_null(strstr(r.body, "\"provider\":\"volt\""));
    int all = (int)num(r.json, "total");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/offers?confidential=true", D.key, NULL, &r);
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r.json, "offers"))
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "confidential")));
    assert_true(num(r.json, "total") > 0 && num(r.json, "total") < all);
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/offers?provider=lium,volt&exclude_provider=volt", D.key, NULL,
            &r);
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r.json, "offers")) assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "provider")), "lium");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/offers?gpu=H100:1&max_price=2.50&explain=true&limit=1", D.key,
            NULL, &r);
    assert_int_equal((int)num(r.json, "total"), 1);
    assert_non_null(strstr(r.body, "above max $2.50/h"));
    assert_non_null(strstr(r.body, "is not H100"));
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/offers?gpu=H100:x", D.key, NULL, &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "'gpu'"));
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/offers?sort=cheapest", D.key, NULL, &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    e2e_resp_free(&r);
}

static void place(const char *extra, e2e_resp *r)
{
    char body[768];
    snprintf(body, sizeof(body),
             "{\"provider\":\"auto\",\"gpu_type\":\"H100\",\"gpu_count\":1,\"image\":\"x/y:1\","
             "\"ssh_key_ids\":[\"%s\"]%s}",
             KEY_ID, extra ? extra : "");
    e2e_req(&D, "POST", "/api/volt/pods", D.key, body, r);
}

/* Deletes the pod and waits until its delete intent removed the workload (when it had one). */
static void rm_pod(const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/pods/%s", id);
    e2e_resp r;
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    const char *pid = e2e_str(&r, "provider_id"), *st = e2e_str(&r, "status");
    int placed = pid && pid[0], failed = st && !strcmp(st, "failed");
    e2e_resp_free(&r);
    if (!placed && !failed) { /* let its create finish, so its delete is the last word */
        char got[128] = "";
        e2e_wait_placed(&D, D.key, id, got, sizeof(got), 15000);
        placed = 1;
    }
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    for (int i = 0; placed && i < 200 && !e2e_pod_event(&D, D.key, id, "removed", NULL); i++)
        usleep(50000);
}

static void test_failover_and_block(void **state)
{
    (void)state;
    clear_faults();
    e2e_resp r;
    /* the cheapest H100 offer is lium's; its rent answers "no capacity" once */
    /* among lium and volt (the test knows their create paths) */
    e2e_req(&D, "GET", "/api/volt/offers?gpu=H100:1&limit=2&provider=lium,volt", D.key, NULL, &r);
    char cheapest[160], second[160];
    snprintf(cheapest, sizeof(cheapest), "%s",
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                 cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "offers"), 0), "id")));
    snprintf(second, sizeof(second), "%s",
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                 cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "offers"), 1), "id")));
    e2e_resp_free(&r);
    assert_true(strncmp(cheapest, "lium:", 5) == 0);
    sim("lium", "POST",
        "{\"method\":\"POST\",\"path_prefix\":\"/api/"
        "executors\",\"capacity_error\":true,\"count\":1}");
    int lium0 = e2e_sim_count(&D, "lium", NULL), volt0 = e2e_sim_count(&D, "volt", NULL);
    place(",\"providers\":[\"lium\",\"volt\"]", &r);
    if (r.status != 201) fail_msg("placement: %ld %s", r.status, r.body);
    /* the answer names the offers it will try, cheapest first */
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(r.json, "candidates");
    assert_int_equal(cJSON_GetArraySize(att), 2);
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(att, 0), "offer")),
        cheapest);
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(att, 1), "offer")),
        second);
    char id[64], path[160], pid[128] = "";
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    e2e_wait_placed(&D, D.key, id, pid, sizeof(pid), 15000);
    /* the far side: the refused attempt left nothing at lium, volt has exactly the new one */
    assert_int_equal(e2e_sim_count(&D, "lium", NULL), lium0);
    assert_int_equal(e2e_sim_count(&D, "volt", NULL), volt0 + 1);
    assert_int_equal(e2e_sim_count(&D, "volt", pid), 1); /* the recorded one is the one there */
    snprintf(path, sizeof(path), "/api/volt/pods/%s", id);
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_string_equal(e2e_str(&r, "provider"), "volt");
    assert_true(num(r.json, "cost_per_hour") > 2.25); /* the price of the offer it got */
    e2e_resp_free(&r);
    /* every attempt is an event of the pod */
    snprintf(path, sizeof(path), "/api/volt/pods/%s/events", id);
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_non_null(strstr(r.body, "attempt_failed"));
    assert_non_null(strstr(r.body, cheapest));
    e2e_resp_free(&r);
    rm_pod(id);
    assert_int_equal(e2e_sim_count(&D, "volt", pid), 0); /* and the delete reached volt */
    /* the blocked offer is skipped next time, with the reason in explain */
    e2e_req(&D, "GET", "/api/volt/offers?gpu=H100:1&explain=true", D.key, NULL, &r);
    assert_non_null(strstr(r.body, "blocked"));
    e2e_resp_free(&r);
    place(",\"providers\":[\"lium\",\"volt\"]", &r);
    assert_int_equal(r.status, 201);
    att = cJSON_GetObjectItemCaseSensitive(r.json, "candidates");
    assert_int_equal(cJSON_GetArraySize(att), 1);
    assert_string_not_equal(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(att, 0), "offer")),
        cheapest);
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    rm_pod(id);
}

static void test_all_attempts_fail(void **state)
{
    (void)state;
    clear_faults();
    sim("lium", "POST",
        "{\"method\":\"POST\",\"path_prefix\":\"/api/executors\",\"status\":500,\"count\":-1}");
    sim("volt", "POST",
        "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\",\"status\":500,\"count\":-1}");
    e2e_resp r;
    int lium0 = e2e_sim_count(&D, "lium", NULL), volt0 = e2e_sim_count(&D, "volt", NULL);
    place(",\"providers\":[\"volt\",\"lium\"]", &r);
    assert_int_equal(r.status, 201); /* answered at once; the attempts come later */
    char id[64];
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    cJSON *cands = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(r.json, "candidates"), 1);
    assert_true(cJSON_GetArraySize(cands) >= 1);
    e2e_resp_free(&r);
    e2e_wait_pod(&D, D.key, id, "failed", 30000);
    assert_true(e2e_pod_event(&D, D.key, id, "create_failed", "HTTP 500"));
    const cJSON *c; /* every candidate was tried */
    cJSON_ArrayForEach(c, cands)
    {
        char want[200];
        snprintf(want, sizeof(want),
                 "%s: ", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "offer")));
        assert_true(e2e_pod_event(&D, D.key, id, "attempt_failed", want));
    }
    cJSON_Delete(cands);
    e2e_req(&D, "GET", "/api/volt/pods?status=failed", D.key, NULL, &r);
    assert_non_null(strstr(r.body, id)); /* recorded as failed, with its events */
    e2e_resp_free(&r);
    assert_int_equal(e2e_sim_count(&D, "lium", NULL), lium0); /* nothing at either provider */
    assert_int_equal(e2e_sim_count(&D, "volt", NULL), volt0);
    rm_pod(id);
    clear_faults();
    usleep(1600000); /* placement.block_ms: the failed offers are tried again after this */
}

static void test_no_offer(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", D.key,
            "{\"provider\":\"auto\",\"gpu_type\":\"H100\",\"max_price_per_hour\":0.5,\"image\":\"x/"
            "y\"}",
            &r);
    e2e_expect_error(&r, 409, "NO_OFFER");
    assert_non_null(strstr(r.body, "above max $0.50/h"));
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/pods", D.key, "{\"provider\":\"auto\",\"image\":\"x/y\"}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "gpu_type"));
    e2e_resp_free(&r);
}

static void test_price_lock_and_price_changed(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", D.key,
            "{\"provider\":\"targon\",\"resource_name\":\"h200-small\",\"image\":\"x/"
            "y:1\",\"cost_per_hour\":1.00}",
            &r);
    e2e_expect_error(&r, 409, "PRICE_CHANGED");
    assert_non_null(strstr(e2e_str(&r, "message"), "$2.49/h"));
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/pods", D.key,
            "{\"provider\":\"targon\",\"resource_name\":\"h200-small\",\"image\":\"x/"
            "y:1\",\"cost_per_hour\":2.49}",
            &r);
    assert_int_equal(r.status, 201);
    assert_true(num(r.json, "cost_per_hour") == 2.49);
    char id[64];
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    rm_pod(id);
}

static void test_spend_limit(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "PUT", "/api/volt/account", D.key, "{\"spend_limit_per_hour\":3}", &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    place(NULL, &r);
    assert_int_equal(r.status, 201);
    char id[64];
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    place(NULL, &r); /* a second H100 would pass $3/h */
    e2e_expect_error(&r, 402, "SPEND_LIMIT");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/account", D.key, NULL, &r);
    assert_true(num(r.json, "spend_limit_per_hour") == 3);
    e2e_resp_free(&r);
    rm_pod(id);
    place(NULL, &r); /* deleted pods no longer count */
    assert_int_equal(r.status, 201);
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    rm_pod(id);
    e2e_req(&D, "PUT", "/api/volt/account", D.key, "{\"spend_limit_per_hour\":0}", &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
}

static void test_provider_down(void **state)
{
    (void)state;
    clear_faults();
    sim("volt", "POST",
        "{\"method\":\"GET\",\"path_prefix\":\"/api/volt/machines\",\"status\":500,\"count\":-1}");
    e2e_resp r;
    int gone = 0;
    for (int i = 0; i < 50 && !gone; i++) { /* served stale, then dropped */
        usleep(100000);
        e2e_req(&D, "GET", "/api/volt/offers", D.key, NULL, &r);
        assert_int_equal(r.status, 200);
        gone = strstr(r.body, "\"provider\":\"volt\",\"gpu") == NULL &&
               strstr(r.body, "volt answered HTTP 500");
        if (gone) {
            assert_non_null(strstr(r.body, "\"provider\":\"lium\""));
            assert_non_null(strstr(r.body, "\"provider\":\"targon\""));
        }
        e2e_resp_free(&r);
    }
    assert_true(gone);
    clear_faults();
    int back = 0; /* and it comes back once it answers again */
    for (int i = 0; i < 50 && !back; i++) {
        usleep(100000);
        e2e_req(&D, "GET", "/api/volt/offers", D.key, NULL, &r);
        back = strstr(r.body, "\"provider\":\"volt\",\"gpu") != NULL;
        e2e_resp_free(&r);
    }
    assert_true(back);
}

static void test_cli(void **state)
{
    (void)state;
    char url[200], key[160];
    snprintf(url, sizeof(url), "GPUBROKER_URL=%s", D.url);
    snprintf(key, sizeof(key), "GPUBROKER_API_KEY=%s", D.key);
    const char *env[] = {url, key, "GPUBROKER_WAIT_INTERVAL_MS=100", NULL};
    char *out, *err;
    const char *offers[] = {"offers", "--gpu", "H100:1", "--max-price", "3", NULL};
    assert_int_equal(e2e_cli(offers, env, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "PRICE/H"));
    assert_non_null(strstr(out, "Shown "));
    free(out);
    free(err);
    const char *none[] = {"place", "--gpu", "B300", "--image", "x/y:1", NULL};
    assert_int_equal(e2e_cli(none, env, NULL, &out, &err), 6);
    assert_non_null(strstr(err, "NO_OFFER"));
    free(out);
    free(err);
    const char *ok[] = {"place", "--gpu",     "H100:1",    "--max-price", "3",    "--image",
                        "x/y:1", "--ssh-key", KEY_ID,      "--provider",  "lium", "--provider",
                        "volt",  "--wait",    "--timeout", "60",          NULL};
    int rc = e2e_cli(ok, env, NULL, &out, &err);
    if (rc) fail_msg("place --wait: %d %s %s", rc, out, err);
    assert_non_null(strstr(out, "queued pod_"));
    assert_non_null(strstr(out, "candidate "));
    assert_non_null(strstr(out, "-> running"));
    assert_non_null(strstr(out, "ssh: "));
    free(out);
    free(err);
    /* every attempt failing is exit code 7, with the attempts on stderr */
    sim("volt", "POST",
        "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\",\"status\":500,\"count\":-1}");
    const char *doomed[] = {"place",     "--gpu", "H100:1",     "--image", "x/y:1",
                            "--ssh-key", KEY_ID,  "--provider", "volt",    "--wait",
                            "--timeout", "60",    NULL};
    rc = e2e_cli(doomed, env, NULL, &out, &err);
    clear_faults();
    if (rc != 7) fail_msg("place --wait with every attempt failing: %d %s %s", rc, out, err);
    assert_non_null(strstr(err, "create_failed"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offers_ranking_and_filters),
        cmocka_unit_test(test_failover_and_block),
        cmocka_unit_test(test_all_attempts_fail),
        cmocka_unit_test(test_no_offer),
        cmocka_unit_test(test_price_lock_and_price_changed),
        cmocka_unit_test(test_spend_limit),
        cmocka_unit_test(test_provider_down),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
