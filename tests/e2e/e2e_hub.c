/* e2e_hub.c: fine-tuning prices from the Hugging Face Hub, end to end in sandbox mode against
 * the Hub simulator (providers/sim/sim_hub.c): models without a size in their name priced by
 * the Hub's parameter count through the size tiers, a gated, a private and a disabled model
 * refused, a missing or private dataset or a missing field refused with the balance unchanged
 * to the micro-dollar, a Hub that is down or slow (faults) falling back to the cache for a
 * model seen before (sized by the Hub or by its config.json) and answering a clear 503 for one
 * never seen, and the cache surviving a daemon restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "jobs/finetune.h"
#include "jobs/hub.h"
#include "support_daemon.h"

static e2e_daemon D;
/* TTL 0: every job asks the Hub, so a Hub that is down is what sends it to the cache */
static const char *ENV[] = {"GPUBROKER_JOBS_HUB_TIMEOUT_MS=1000",
                            "GPUBROKER_JOBS_HUB_CACHE_TTL_MS=0",
                            "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000",
                            "GPUBROKER_JOBS_RUNNER_INTERVAL_MS=3600000", NULL};

static const char *job_body(const char *model, const char *ds, const char *fi)
{
    static char b[512];
    snprintf(b, sizeof(b),
             "{\"name\":\"hub\",\"taskType\":\"text\",\"model\":\"%s\",\"dsRepo\":\"%s\","
             "\"hours\":1,\"fieldInstruction\":\"%s\",\"fieldOutput\":\"output\"}",
             model, ds, fi);
    return b;
}

/* The sum of every balance, exactly, from the daemon's database. */
static long long db_balances(void)
{
    gb_db *db = e2e_db_open(&D);
    long long v =
        e2e_db_int(db, "SELECT coalesce(sum(balance), 0) FROM ledger_balances", NULL, NULL, NULL);
    gb_db_close(db);
    return v;
}

static long hub_req(const char *method, const char *path, const char *body, char **out)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", e2e_sim_url(&D, "hub"), path);
    gb_http_req req = {
        .method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    long st = resp.status;
    if (out) *out = strdup(resp.body ? resp.body : "");
    gb_http_resp_free(&resp);
    return st;
}

/* The hourly price the Hub simulator's parameter count gives, through the tiers. */
static gb_money hub_price(const char *model)
{
    char path[256], *body = NULL;
    snprintf(path, sizeof(path), "/api/models/%s", model);
    assert_int_equal(hub_req("GET", path, NULL, &body), 200);
    hub_model m;
    gb_errmsg err;
    assert_int_equal(hub_model_parse(body, strlen(body), &m, err), GB_OK);
    free(body);
    assert_true(m.millions > 0);
    gb_money p = 0;
    assert_int_equal(ft_price_for_size("text", m.millions, &p), GB_OK);
    return p;
}

static void hub_down(int latency_ms)
{
    char b[200];
    snprintf(b, sizeof(b),
             "{\"method\":\"GET\",\"path_prefix\":\"/api/\",\"status\":%d,\"latency_ms\":%d,"
             "\"count\":-1}",
             latency_ms ? 0 : 503, latency_ms);
    assert_int_equal(hub_req("POST", "/_sim/faults", b, NULL), 200);
}

static void hub_up(void)
{
    long st = hub_req("DELETE", "/_sim/faults", NULL, NULL);
    assert_true(st == 200 || st == 204);
}

/* Creates a job; returns its costPerHour in micro-dollars (or fails). */
static gb_money create_ok(const char *model)
{
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key,
            job_body(model, "myorg/support-qa", "instruction"), &r);
    if (r.status != 201) fail_msg("%s: %ld %s", model, r.status, r.body);
    cJSON *j = cJSON_GetObjectItemCaseSensitive(r.json, "job");
    double c = cJSON_GetObjectItemCaseSensitive(j, "costPerHour")->valuedouble;
    e2e_resp_free(&r);
    return (gb_money)(c * 1e6 + 0.5);
}

/* The answer must be status/code with a message naming what; nothing is charged. */
static void refused(const char *body, long status, const char *code, const char *what)
{
    long long before = db_balances();
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key, body, &r);
    e2e_expect_error(&r, status, code);
    if (!strstr(r.body, what)) fail_msg("'%s' not named in %s", what, r.body);
    e2e_resp_free(&r);
    assert_true(db_balances() == before);
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    e2e_start_sandbox(&D, NULL, ENV);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    gb_http_global_cleanup();
    return 0;
}

static void test_priced_by_the_hub(void **state)
{
    (void)state;
    const char *models[] = {"gpt2",
                            "HuggingFaceH4/zephyr-beta",
                            "Qwen/Qwen2.5-Coder-Instruct",
                            "mistralai/Mistral-Nemo-Instruct-2407",
                            "deepseek-ai/DeepSeek-R1",
                            "microsoft/phi-2",
                            "microsoft/Phi-3-mini-4k-instruct"};
    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
        long long before = db_balances();
        gb_money want = hub_price(models[i]);
        gb_money got = create_ok(models[i]);
        if (got != want) fail_msg("%s: %lld, not %lld", models[i], (long long)got, (long long)want);
        assert_true(db_balances() == before - want); /* one hour, debited up front */
    }
    /* the mixture of experts is priced by its total parameters: the largest tier */
    gb_money xl = 0;
    assert_int_equal(ft_price_for_size("text", 671000, &xl), GB_OK);
    assert_true(hub_price("deepseek-ai/DeepSeek-R1") == xl);
    /* no safetensors block: the size in the name is the fallback */
    gb_money b7 = 0;
    assert_int_equal(ft_price_for_size("text", 7000, &b7), GB_OK);
    assert_true(create_ok("myorg/legacy-bin-7b") == b7);
    /* no safetensors but a config.json: sized from it (published counts, SOURCES.md), the
     * mixture of experts by every expert */
    const struct {
        const char *model;
        int64_t published_m;
    } cfg[] = {
        {"myorg/legacy-gpt2", 124}, {"myorg/legacy-llama", 6738}, {"myorg/legacy-moe", 46703}};
    for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
        gb_money want = 0;
        assert_int_equal(ft_price_for_size("text", cfg[i].published_m, &want), GB_OK);
        gb_money got = create_ok(cfg[i].model);
        if (got != want)
            fail_msg("%s: %lld, not %lld", cfg[i].model, (long long)got, (long long)want);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    refused(job_body("meta-llama/Llama-3.3-Instruct", "myorg/support-qa", "instruction"), 400,
            "VALIDATION_ERROR", "meta-llama/Llama-3.3-Instruct");
    refused(job_body("myorg/private-model", "myorg/support-qa", "instruction"), 400,
            "VALIDATION_ERROR", "myorg/private-model");
    refused(job_body("no-such-org/no-such-model", "myorg/support-qa", "instruction"), 400,
            "VALIDATION_ERROR", "no-such-org/no-such-model");
    refused(job_body("myorg/legacy-bin-model", "myorg/support-qa", "instruction"), 400,
            "VALIDATION_ERROR", "myorg/legacy-bin-model");
    refused(job_body("gpt2", "no-such-org/no-such-dataset", "instruction"), 400, "VALIDATION_ERROR",
            "no-such-org/no-such-dataset");
    refused(job_body("gpt2", "myorg/support-qa", "question"), 400, "VALIDATION_ERROR", "question");
    refused(job_body("gpt2", "myorg/gated-data", "instruction"), 400, "VALIDATION_ERROR",
            "myorg/gated-data");
    /* a disabled model, though the Hub sizes it; a private dataset (401 without a token) */
    refused(job_body("myorg/disabled-7b", "myorg/support-qa", "instruction"), 400,
            "VALIDATION_ERROR", "myorg/disabled-7b");
    refused(job_body("gpt2", "myorg/private-data", "instruction"), 400, "VALIDATION_ERROR",
            "myorg/private-data");
}

/* The number of fine-tuning jobs in the database. */
static long long db_jobs(void)
{
    gb_db *db = e2e_db_open(&D);
    long long v = e2e_db_int(db, "SELECT count(*) FROM fine_tuning_jobs", NULL, NULL, NULL);
    gb_db_close(db);
    return v;
}

/* "dry_run": true answers the price a create would charge (same sizing through the Hub), and
 * neither creates a job nor charges anything; refusals are the create's. */
static void test_dry_run(void **state)
{
    (void)state;
    const char *model = "HuggingFaceH4/zephyr-beta";
    gb_money want = hub_price(model);
    char body[600];
    snprintf(body, sizeof(body),
             "{\"name\":\"quote\",\"taskType\":\"text\",\"model\":\"%s\","
             "\"dsRepo\":\"myorg/support-qa\",\"hours\":3,\"fieldInstruction\":"
             "\"instruction\",\"fieldOutput\":\"output\",\"dry_run\":true}",
             model);
    long long bal = db_balances(), jobs = db_jobs();
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key, body, &r);
    if (r.status != 200) fail_msg("dry run: %ld %s", r.status, r.body);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "dry_run")));
    assert_null(cJSON_GetObjectItemCaseSensitive(r.json, "job"));
    double per = cJSON_GetObjectItemCaseSensitive(r.json, "costPerHour")->valuedouble;
    double micros = cJSON_GetObjectItemCaseSensitive(r.json, "totalCostMicros")->valuedouble;
    assert_true((gb_money)(per * 1e6 + 0.5) == want);
    assert_true((gb_money)micros == 3 * want);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r.json, "baseModel")->valuestring, model);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(r.json, "hoursRequested")->valueint, 3);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "affordable")));
    e2e_resp_free(&r);
    assert_true(db_balances() == bal);
    assert_true(db_jobs() == jobs);
    /* the same body without dry_run charges exactly the quoted total */
    char *real = strstr(body, ",\"dry_run\":true");
    strcpy(real, "}");
    e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key, body, &r);
    if (r.status != 201) fail_msg("create: %ld %s", r.status, r.body);
    e2e_resp_free(&r);
    assert_true(db_balances() == bal - 3 * want);
    assert_true(db_jobs() == jobs + 1);
    /* a dry run is refused like the create: a gated model, a non-boolean dry_run */
    refused("{\"name\":\"q\",\"taskType\":\"text\",\"model\":\"meta-llama/Llama-3.3-Instruct\","
            "\"dsRepo\":\"myorg/support-qa\",\"hours\":1,\"fieldInstruction\":\"instruction\","
            "\"fieldOutput\":\"output\",\"dry_run\":true}",
            400, "VALIDATION_ERROR", "meta-llama/Llama-3.3-Instruct");
    refused("{\"name\":\"q\",\"taskType\":\"text\",\"model\":\"gpt2\",\"dsRepo\":"
            "\"myorg/support-qa\",\"hours\":1,\"fieldInstruction\":\"instruction\","
            "\"fieldOutput\":\"output\",\"dry_run\":\"yes\"}",
            400, "VALIDATION_ERROR", "dry_run");
    assert_true(db_jobs() == jobs + 1);
}

static void test_hub_down_and_restart(void **state)
{
    (void)state;
    gb_money want = hub_price("HuggingFaceH4/zephyr-beta"),
             r1 = hub_price("deepseek-ai/DeepSeek-R1"), legacy = 0;
    /* a size read from config.json is cached like a Hub count (its name has none) */
    assert_int_equal(ft_price_for_size("text", 6738, &legacy), GB_OK);
    assert_true(create_ok("myorg/legacy-llama") == legacy);
    assert_true(create_ok("HuggingFaceH4/zephyr-beta") == want); /* seen: cached */
    hub_down(0);
    assert_true(create_ok("HuggingFaceH4/zephyr-beta") == want);
    assert_true(create_ok("myorg/legacy-llama") == legacy);
    refused(job_body("Qwen/Qwen2.5-Coder-Instruct-never", "myorg/support-qa", "instruction"), 503,
            "HUB_UNAVAILABLE", "Qwen/Qwen2.5-Coder-Instruct-never");
    hub_up();
    hub_down(3000); /* slower than jobs.hub_timeout_ms */
    refused(job_body("myorg/never-seen", "myorg/support-qa", "instruction"), 503, "HUB_UNAVAILABLE",
            "myorg/never-seen");
    hub_up();
    /* the cache survives a restart: the new Hub simulator is down from the start */
    char dir[256];
    snprintf(dir, sizeof(dir), "%s", D.dir);
    e2e_stop(&D);
    e2e_start_sandbox(&D, dir, ENV);
    hub_down(0);
    assert_true(create_ok("HuggingFaceH4/zephyr-beta") == want);
    assert_true(create_ok("deepseek-ai/DeepSeek-R1") == r1);
    refused(job_body("Qwen/Qwen2.5-Coder-Instruct-never", "myorg/support-qa", "instruction"), 503,
            "HUB_UNAVAILABLE", "never");
    hub_up();
}

/* With a Hub token (sealed in the vault from GPUBROKER_HUB_TOKEN) the gated and the private
 * model are accepted: the token reaches the Hub (the private one is hidden without it); it is
 * in no log, and stays sealed for a start without it. */
static void test_token(void **state)
{
    (void)state;
    char dir[256];
    snprintf(dir, sizeof(dir), "%s", D.dir);
    e2e_stop(&D);
    /* a token no header can carry (a carriage return or a line feed: another header after it)
     * is no token: the private model is refused as without one */
    static const char *const bad_tokens[] = {"GPUBROKER_HUB_TOKEN=hf_simTok3n9x\rX-Injected: yes",
                                             "GPUBROKER_HUB_TOKEN=hf_simTok3n9x\nX-Injected: yes"};
    for (size_t i = 0; i < sizeof(bad_tokens) / sizeof(bad_tokens[0]); i++) {
        const char *bad[] = {ENV[0], ENV[1], ENV[2], ENV[3], bad_tokens[i], NULL};
        e2e_start_sandbox(&D, dir, bad);
        refused(job_body("myorg/private-model", "myorg/support-qa", "instruction"), 400,
                "VALIDATION_ERROR", "myorg/private-model");
        e2e_stop(&D);
    }
    const char *env[] = {ENV[0], ENV[1], ENV[2], ENV[3], "GPUBROKER_HUB_TOKEN=hf_simTok3n9x", NULL};
    e2e_start_sandbox(&D, dir, env);
    assert_true(create_ok("meta-llama/Llama-3.3-Instruct") > 0);
    assert_true(create_ok("myorg/private-model") > 0);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key,
            job_body("gpt2", "myorg/private-data", "instruction"), &r);
    if (r.status != 201) fail_msg("private dataset with a token: %ld %s", r.status, r.body);
    e2e_resp_free(&r);
    assert_int_equal(e2e_file_contains(D.log_path, "hf_simTok3n9x"), 0);
    e2e_stop(&D);
    e2e_start_sandbox(&D, dir, ENV);
    assert_true(create_ok("myorg/private-model") > 0);
    /* the admin route and CLI: removed, the private model is refused again at once; set from
     * standard input, accepted; never shown, never logged */
    e2e_req(&D, "GET", "/api/volt/admin/hub-token", D.key, NULL, &r);
    e2e_expect_error(&r, 403, "INSUFFICIENT_SCOPE"); /* admin only */
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", "/api/volt/admin/hub-token", D.admin_key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "hub_token_set")));
    e2e_resp_free(&r);
    refused(job_body("myorg/private-model", "myorg/support-qa", "instruction"), 400,
            "VALIDATION_ERROR", "myorg/private-model");
    e2e_req(&D, "PUT", "/api/volt/admin/hub-token", D.admin_key, "{\"token\":\"hf_a b\"}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR"); /* no header can carry a space */
    e2e_resp_free(&r);
    e2e_req(&D, "PUT", "/api/volt/admin/hub-token", D.admin_key, "{\"tokn\":\"hf_x\"}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    e2e_resp_free(&r);
    char url[200], key[160];
    snprintf(url, sizeof(url), "GPUBROKER_URL=%s", D.url);
    snprintf(key, sizeof(key), "GPUBROKER_API_KEY=%s", D.admin_key);
    const char *env2[] = {url, key, NULL};
    const char *set[] = {"hub-token", "set", NULL}, *status[] = {"hub-token", "status", NULL};
    char *out = NULL, *err = NULL;
    int rc = e2e_cli(set, env2, "hf_cliTok7q\n", &out, &err);
    if (rc != 0) fail_msg("hub-token set: %d %s %s", rc, out, err);
    assert_null(strstr(out, "hf_cliTok7q"));
    free(out);
    free(err);
    assert_true(create_ok("myorg/private-model") > 0);
    assert_int_equal(e2e_cli(status, env2, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "Hub token: set"));
    free(out);
    free(err);
    e2e_req(&D, "GET", "/api/volt/admin/hub-token", D.admin_key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "hf_cliTok7q"));
    e2e_resp_free(&r);
    assert_int_equal(e2e_file_contains(D.log_path, "hf_cliTok7q"), 0);
}

/* How many dataset GETs the Hub simulator has answered. */
static int dataset_gets(void)
{
    char *body = NULL;
    assert_int_equal(hub_req("GET", "/_sim/requests", NULL, &body), 200);
    cJSON *j = cJSON_Parse(body);
    free(body);
    cJSON *by = cJSON_GetObjectItemCaseSensitive(j, "by_route");
    cJSON *n = cJSON_GetObjectItemCaseSensitive(by, "GET /api/datasets/:owner/:name");
    int v = cJSON_IsNumber(n) ? n->valueint : 0;
    cJSON_Delete(j);
    return v;
}

/* A dataset's 200 answer is kept for jobs.hub_dataset_ttl_ms (default 60 s): three jobs on one
 * dataset ask the Hub once, a missing dataset is asked again each time, and with the Hub down
 * the kept answer still refuses a field the dataset lacks (without it the dataset would go
 * unchecked and the job be charged). */
static void test_dataset_answer_kept(void **state)
{
    (void)state;
    const char *ok = "{\"name\":\"kept\",\"taskType\":\"text\",\"model\":\"gpt2\",\"dsRepo\":"
                     "\"tatsu-lab/alpaca\",\"hours\":1,\"fieldInstruction\":\"instruction\","
                     "\"fieldOutput\":\"output\"}";
    int before = dataset_gets();
    for (int i = 0; i < 3; i++) {
        e2e_resp r;
        e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key, ok, &r);
        if (r.status != 201) fail_msg("%ld %s", r.status, r.body);
        e2e_resp_free(&r);
    }
    assert_int_equal(dataset_gets() - before, 1);
    before = dataset_gets();
    for (int i = 0; i < 2; i++)
        refused(job_body("gpt2", "no-such-org/kept-nothing", "instruction"), 400,
                "VALIDATION_ERROR", "no-such-org/kept-nothing");
    assert_int_equal(dataset_gets() - before, 2);
    hub_down(0);
    refused(job_body("gpt2", "tatsu-lab/alpaca", "question"), 400, "VALIDATION_ERROR", "question");
    hub_up();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priced_by_the_hub),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_dry_run),
        cmocka_unit_test(test_dataset_answer_kept),
        cmocka_unit_test(test_hub_down_and_restart),
        cmocka_unit_test(test_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
