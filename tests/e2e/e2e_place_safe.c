/* e2e_place_safe.c: placement defaults that cannot surprise a budget, end to end in sandbox
 * mode: `place --gpu H200` (and the API without gpu_count) takes ONE GPU; a placement with an
 * SSH key leaves DataRobot's offers out with the reason (explain, NO_OFFER) and never calls
 * DataRobot (its simulator's far side: no workload, no POST); a machine sold whole is left
 * out when fewer GPUs are asked; `--location us` keeps US-* and drops FI-Uusimaa; two counts
 * on the command line are a usage error. */
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
static char URL_ENV[200], KEY_ENV[160];

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    static const char *env[] = {"GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000", NULL};
    static const char *extra[] = {"--sim-speed", "100", NULL};
    e2e_start_sandbox_args(&D, NULL, env, extra);
    e2e_add_ssh_key(&D, D.key, KEY_ID, sizeof(KEY_ID), NULL, 0);
    snprintf(URL_ENV, sizeof(URL_ENV), "GPUBROKER_URL=%s", D.url);
    snprintf(KEY_ENV, sizeof(KEY_ENV), "GPUBROKER_API_KEY=%s", D.key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

static int cli(const char *const *args, char **out, char **err)
{
    const char *env[] = {URL_ENV, KEY_ENV, NULL};
    return e2e_cli(args, env, NULL, out, err);
}

/* The POSTs DataRobot's simulator has served since its counts were cleared. */
static long datarobot_posts(void)
{
    return e2e_sim_requests(&D, "datarobot", "POST");
}

static void datarobot_clear(void)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/_sim/requests", e2e_sim_url(&D, "datarobot"));
    gb_http_req req = {.method = "DELETE", .url = url};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    assert_int_equal(resp.status, 200);
    gb_http_resp_free(&resp);
}

/* 1 when some offer of list ({offer, reason}) whose id starts with offer_prefix is there with
 * a reason containing text ("" = any). */
static int has_reason(const cJSON *list, const char *offer_prefix, const char *text)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        const char *o = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "offer"));
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "reason"));
        if (o && strncmp(o, offer_prefix, strlen(offer_prefix)) == 0 &&
            (!text[0] || (why && strstr(why, text))))
            return 1;
    }
    return 0;
}

static void test_gpu_type_means_one_gpu(void **state)
{
    (void)state;
    /* the sandbox sells H200 as 1, 2, 4 and 8 GPUs (lium only as a whole 8xH200 machine) */
    char *out, *err;
    const char *args[] = {"place",  "--gpu",    "H200",   "--image", "ubuntu",
                          "--name", "one-h200", "--json", NULL};
    int rc = cli(args, &out, &err);
    if (rc) fail_msg("place: exit %d: %s", rc, err);
    cJSON *j = cJSON_Parse(out);
    free(out);
    free(err);
    assert_non_null(j);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "gpu_count")),
                     1);
    double price = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "cost_per_hour"));
    assert_true(price > 0 && price < 3); /* one H200, not $19.92 or $23.20 of them */
    char id[64], pid[128] = "";
    snprintf(id, sizeof(id), "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "id")));
    char provider[32];
    snprintf(provider, sizeof(provider), "%s",
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "provider")));
    cJSON_Delete(j);
    e2e_wait_placed(&D, D.key, id, pid, sizeof(pid), 15000);
    assert_int_equal(e2e_sim_count(&D, provider, pid), 1); /* it exists at the provider */
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/pods/%s", id);
    e2e_resp r;
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_int_equal(
        (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r.json, "gpu_count")), 1);
    e2e_resp_free(&r);
    /* the API without gpu_count: one GPU too */
    e2e_req(&D, "POST", "/api/volt/pods", D.key,
            "{\"provider\":\"auto\",\"gpu_type\":\"H200\",\"image\":\"ubuntu\",\"dry_run\":true,"
            "\"providers\":[\"lium\",\"targon\"],\"explain\":true}",
            &r);
    assert_int_equal(r.status, 200);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(r.json, "offer"), "count")),
                     1);
    assert_string_equal(e2e_str(&r, "offer.id"), "targon:h200-small");
    /* lium's whole 8xH200 machine is left out, and says why */
    assert_true(has_reason(cJSON_GetObjectItemCaseSensitive(r.json, "rejected"),
                           "lium:", "offer has 8 GPUs, not 1 (whole machine only)"));
    e2e_resp_free(&r);
    /* two different counts on the command line */
    const char *two[] = {"place", "--gpu", "H200:2", "--gpu-count", "3", "--image", "ubuntu", NULL};
    assert_int_equal(cli(two, &out, &err), 2);
    free(out);
    free(err);
    const char *four[] = {"place",   "--gpu",  "H200",      "--gpu-count", "4",
                          "--image", "ubuntu", "--dry-run", "--json",      NULL};
    assert_int_equal(cli(four, &out, &err), 0);
    j = cJSON_Parse(out);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(j, "offer"), "count")),
                     4);
    cJSON_Delete(j);
    free(out);
    free(err);
}

static void test_ssh_key_skips_datarobot(void **state)
{
    (void)state;
    datarobot_clear();
    /* DataRobot sells 8xH100 bundles; with an SSH key it cannot take the pod */
    char body[512];
    snprintf(body, sizeof(body),
             "{\"name\":\"keyed\",\"provider\":\"auto\",\"gpu_type\":\"H100\",\"gpu_count\":8,"
             "\"image\":\"ubuntu\",\"ssh_key_ids\":[\"%s\"],\"explain\":true}",
             KEY_ID);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", D.key, body, &r);
    if (r.status != 201) fail_msg("placement: %ld %s", r.status, r.body);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "candidates")) > 0);
    assert_false(
        has_reason(cJSON_GetObjectItemCaseSensitive(r.json, "candidates"), "datarobot:", ""));
    assert_true(has_reason(cJSON_GetObjectItemCaseSensitive(r.json, "rejected"), "datarobot:",
                           "provider datarobot cannot take this request: field "
                           "'ssh_public_keys': DataRobot workloads take no SSH keys"));
    char id[64], pid[128] = "";
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    e2e_wait_placed(&D, D.key, id, pid, sizeof(pid), 15000);
    /* only DataRobot allowed: no offer, the reason says why, DataRobot is never asked */
    char *out, *err;
    const char *only[] = {"place",     "--gpu", "H100:8",  "--provider", "datarobot",
                          "--ssh-key", KEY_ID,  "--image", "ubuntu",     NULL};
    assert_int_equal(cli(only, &out, &err), 6);
    assert_non_null(strstr(err, "NO_OFFER"));
    if (!strstr(err, "DataRobot workloads take no SSH keys")) fail_msg("stderr: %s", err);
    free(out);
    free(err);
    assert_int_equal(e2e_sim_count(&D, "datarobot", NULL), 0);
    assert_int_equal(datarobot_posts(), 0);
    /* the same without the key is DataRobot's to take: the far side sees its create */
    const char *nokey[] = {"place",     "--gpu",   "H100:8", "--provider",
                           "datarobot", "--image", "ubuntu", NULL};
    int rc = cli(nokey, &out, &err);
    if (rc) fail_msg("place on datarobot: exit %d: %s", rc, err);
    free(out);
    free(err);
    cJSON *w = NULL;
    for (int i = 0; i < 200 && !cJSON_GetArraySize(w); i++) {
        cJSON_Delete(w);
        w = e2e_sim_workloads(&D, "datarobot");
        if (!cJSON_GetArraySize(w)) usleep(50000);
    }
    assert_int_equal(cJSON_GetArraySize(w), 1);
    cJSON_Delete(w);
    assert_true(datarobot_posts() > 0);
}

static void test_location_prefix(void **state)
{
    (void)state;
    char *out, *err;
    const char *args[] = {"offers", "--gpu",     "H100",   "--location",
                          "us",     "--explain", "--json", NULL};
    assert_int_equal(cli(args, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    free(out);
    free(err);
    assert_non_null(j);
    int us = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "offers"))
    {
        const char *loc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "location"));
        assert_non_null(loc);
        assert_true(loc[0] == 'U' && loc[1] == 'S' && (loc[2] == '\0' || loc[2] == '-'));
        us++;
    }
    assert_true(us > 0); /* lium's US-East H100 machine */
    assert_true(has_reason(cJSON_GetObjectItemCaseSensitive(j, "rejected"),
                           "lium:", "location FI-Uusimaa does not match 'us'"));
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpu_type_means_one_gpu),
        cmocka_unit_test(test_ssh_key_skips_datarobot),
        cmocka_unit_test(test_location_prefix),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
