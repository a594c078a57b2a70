/* test_broker_offercache.c: the offer cache against three real simulators: cold fetches run
 * concurrently (as slow as the slowest provider, not the sum), fresh offers come from the
 * cache, stale offers are served at once while a refresh runs (on the test clock), and a
 * provider that is down drops out without delaying the others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/placement/offer_cache.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "providers/sim/sim.h"

extern const prov_ops prov_volt_ops, prov_targon_ops, prov_lium_ops;

#define TTL 30000
#define DROP 120000

static sim_server *sims[3];
static prov_adapter *ads[3];
static const char *offer_paths[3] = {"/api/volt/machines", "/tha/v2/inventory", "/api/executors"};

static void ctl(int i, const char *method, const char *path, const char *body, char **out)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", sim_port(sims[i]), path);
    gb_http_req req = {
        .method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    assert_true(resp.status < 300);
    if (out) {
        *out = resp.body;
        resp.body = NULL;
    }
    gb_http_resp_free(&resp);
}

static void latency(int i, int ms)
{
    char body[200];
    snprintf(body, sizeof(body),
             "{\"method\":\"GET\",\"path_prefix\":\"%s\",\"latency_ms\":%d,\"count\":-1}",
             offer_paths[i], ms);
    ctl(i, "POST", "/_sim/faults", body, NULL);
}

static int offer_requests(int i)
{
    char *out = NULL;
    ctl(i, "GET", "/_sim/requests", NULL, &out);
    cJSON *j = cJSON_Parse(out);
    free(out);
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(
                               j, "by_route")) if (strstr(it->string, offer_paths[i]) &&
                                                   !strstr(it->string, "/rent")) n +=
        (int)it->valuedouble;
    cJSON_Delete(j);
    return n;
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    const sim_platform *p[3] = {sim_platform_volt(), sim_platform_targon(), sim_platform_lium()};
    const prov_ops *ops[3] = {&prov_volt_ops, &prov_targon_ops, &prov_lium_ops};
    const char *names[3] = {"volt", "targon", "lium"};
    for (int i = 0; i < 3; i++) {
        uint16_t port;
        assert_int_equal(sim_start(p[i], 0, "sekret", &sims[i], &port), GB_OK);
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, p[i]->api_path);
        assert_int_equal(prov_adapter_init(ops[i], names[i], url, "sekret", NULL, &ads[i]), GB_OK);
        ads[i]->policy.max_retries = 1;
        ads[i]->policy.timeout_ms = 2000;
    }
    gb_clock_set(1800000000000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        prov_adapter_free(ads[i]);
        sim_stop(sims[i]);
    }
    gb_clock_use_real();
    gb_http_global_cleanup();
    return 0;
}

static size_t count_of(const prov_offer *o, size_t n, const char *provider)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(o[i].provider, provider) == 0;
    return k;
}

static void test_cache(void **state)
{
    (void)state;
    offer_cache *c = offer_cache_new(TTL, DROP, NULL, NULL);
    prov_offer *o = NULL;
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        latency(i, 300);
    /* cold: all three fetched at once */
    int64_t t0 = gb_mono_ms();
    assert_int_equal(offer_cache_get(c, ads, 3, &o, &n, NULL), GB_OK);
    int64_t cold = gb_mono_ms() - t0;
    assert_true(cold >= 300);
    if (cold >= 700) fail_msg("cold fetch took %lld ms: not concurrent", (long long)cold);
    assert_true(count_of(o, n, "volt") > 0 && count_of(o, n, "targon") > 0 &&
                count_of(o, n, "lium") > 0);
    assert_int_equal(o[0].fetched_at, gb_now_ms());
    free(o);
    int before = offer_requests(0);
    /* fresh: from the cache, nobody asked */
    t0 = gb_mono_ms();
    assert_int_equal(offer_cache_get(c, ads, 3, &o, &n, NULL), GB_OK);
    assert_true(gb_mono_ms() - t0 < 250); /* less than one fetch (300 ms), with room for a
                                           * loaded machine's stall */
    free(o);
    assert_int_equal(offer_requests(0), before);
    /* stale: served at once, refreshed behind */
    gb_clock_advance(TTL + 1);
    cJSON *status = cJSON_CreateArray();
    t0 = gb_mono_ms();
    assert_int_equal(offer_cache_get(c, ads, 3, &o, &n, status), GB_OK);
    assert_true(gb_mono_ms() - t0 < 250); /* as above */
    assert_true(count_of(o, n, "volt") > 0);
    free(o);
    assert_true(
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(status, 0), "stale")));
    assert_true(cJSON_IsTrue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(status, 0), "refreshing")));
    cJSON_Delete(status);
    /* the background refresh lands: wait for it (at most 5 s), not for a fixed time */
    bool stale = true;
    for (int waited = 0; stale && waited < 5000; waited += 20) {
        status = cJSON_CreateArray();
        assert_int_equal(offer_cache_get(c, ads, 3, &o, &n, status), GB_OK);
        free(o);
        stale =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(status, 0), "stale"));
        cJSON_Delete(status);
        if (stale) usleep(20000);
    }
    assert_false(stale);
    assert_int_equal(offer_requests(0), before + 1); /* one refresh, however often asked */
    /* volt goes down: after the drop age its offers are gone, the others stay, and a request
     * waits for volt at most once per TTL */
    ctl(0, "DELETE", "/_sim/faults", NULL, NULL);
    ctl(0, "POST", "/_sim/faults",
        "{\"method\":\"GET\",\"path_prefix\":\"/api/volt/machines\",\"status\":500,\"count\":-1}",
        NULL);
    for (int i = 1; i < 3; i++)
        ctl(i, "DELETE", "/_sim/faults", NULL, NULL);
    gb_clock_advance(DROP + 1);
    status = cJSON_CreateArray();
    assert_int_equal(offer_cache_get(c, ads, 3, &o, &n, status), GB_OK);
    assert_int_equal(count_of(o, n, "volt"), 0);
    assert_true(count_of(o, n, "targon") > 0 && count_of(o, n, "lium") > 0);
    free(o);
    char *txt = cJSON_PrintUnformatted(status);
    assert_non_null(strstr(txt, "\"error\":\"volt answered HTTP 500"));
    free(txt);
    cJSON_Delete(status);
    char err[PROV_ERR_MAX];
    assert_int_not_equal(offer_cache_last_error(c, "volt", err, sizeof(err)), GB_OK);
    assert_int_equal(offer_cache_last_error(c, "targon", err, sizeof(err)), GB_OK);
    int tries = offer_requests(0);
    for (int k = 0; k < 5; k++) { /* within the TTL volt is not asked again */
        assert_int_equal(offer_cache_get(c, ads, 3, &o, &n, NULL), GB_OK);
        free(o);
    }
    assert_int_equal(offer_requests(0), tries);
    /* it comes back: after the TTL it is asked again and its offers return */
    ctl(0, "DELETE", "/_sim/faults", NULL, NULL);
    gb_clock_advance(TTL + 1);
    assert_int_equal(offer_cache_get(c, ads, 3, &o, &n, NULL), GB_OK);
    assert_true(count_of(o, n, "volt") > 0);
    free(o);
    offer_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cache)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
