/* test_jobs_finetune.c: the fine-tuning rules without a database: pricing and its tier
 * boundaries, model sizes from real model ids, every task type's validation, the transition
 * table, the refund rules and the job's JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "jobs/finetune.h"

#define USD(d, c) ((gb_money)(d)*1000000 + (gb_money)(c)*10000)

static gb_err parse(const char *json, ft_request *r, char *err)
{
    cJSON *b = cJSON_Parse(json);
    assert_non_null(b);
    err[0] = '\0';
    gb_err e = ft_request_parse(b, r, err);
    cJSON_Delete(b);
    return e;
}

static gb_money price_of(const char *task, const char *model, const cJSON *table, gb_err want)
{
    ft_request r;
    memset(&r, 0, sizeof(r));
    snprintf(r.task_type, sizeof(r.task_type), "%s", task);
    snprintf(r.model, sizeof(r.model), "%s", model);
    char err[GB_JSON_ERR_MAX] = "";
    gb_money m = -1;
    assert_int_equal(ft_price_per_hour(&r, table, &m, err), want);
    if (want == GB_ERR_INVALID) assert_non_null(strstr(err, "model"));
    if (want == GB_ERR_INVALID && !table) assert_non_null(strstr(err, "field 'model'"));
    return m;
}

static void test_price_seed_example(void **state)
{
    (void)state;
    ft_request r;
    char err[GB_JSON_ERR_MAX];
    assert_int_equal(parse("{\"name\":\"my-llama-finetune\",\"taskType\":\"text\","
                           "\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"dsRepo\":"
                           "\"myorg/support-qa\",\"hours\":2,\"fieldInstruction\":"
                           "\"instruction\",\"fieldOutput\":\"output\"}",
                           &r, err),
                     GB_OK);
    gb_money ph = 0;
    assert_int_equal(ft_price_per_hour(&r, NULL, &ph, err), GB_OK);
    assert_int_equal(ph, USD(27, 75));
    assert_int_equal(ft_total(ph, r.hours), USD(55, 50));
    char buf[32];
    assert_string_equal(gb_money_format(ft_total(ph, r.hours), buf, sizeof(buf)), "55.50");
    assert_int_equal(ft_total(ph, 168), 168 * USD(27, 75));
    assert_int_equal(ft_total(GB_MONEY_MAX, 168), -1);
    assert_int_equal(ft_total(INT64_MAX / 2, 3), -1);
    assert_int_equal(ft_total(-1, 3), -1);
    assert_int_equal(ft_total(0, 3), 0); /* a free tier is no error */
    assert_int_equal(ft_total(USD(1, 0), -1), -1);
    gb_money none = -1;
    assert_int_equal(ft_price_for_size("text", 0, &none), GB_ERR_INVALID); /* no size, no tier */
    assert_int_equal(none, -1);
}

static void test_price_tiers(void **state)
{
    (void)state;
    assert_int_equal(price_of("text", "org/m-0.5B", NULL, GB_OK), USD(18, 50));
    assert_int_equal(price_of("text", "org/m-1B", NULL, GB_OK), USD(18, 50)); /* boundary */
    assert_int_equal(price_of("text", "org/m-1000M", NULL, GB_OK), USD(18, 50));
    assert_int_equal(price_of("text", "org/m-1001M", NULL, GB_OK), USD(27, 75));
    assert_int_equal(price_of("text", "org/m-1.1B", NULL, GB_OK), USD(27, 75));
    assert_int_equal(price_of("chat", "org/m-8B", NULL, GB_OK), USD(27, 75)); /* boundary */
    assert_int_equal(price_of("chat", "org/m-8.1B", NULL, GB_OK), USD(46, 25));
    assert_int_equal(price_of("dpo", "org/m-40B", NULL, GB_OK), USD(46, 25)); /* boundary */
    assert_int_equal(price_of("dpo", "org/m-40.001B", NULL, GB_OK), USD(92, 50));
    assert_int_equal(price_of("grpo", "org/m-41B", NULL, GB_OK), USD(92, 50));
    assert_int_equal(price_of("custom_chat", "Qwen/Qwen2.5-7B-Instruct", NULL, GB_OK), USD(27, 75));
    /* image LoRA regardless of size, even when the name carries none */
    assert_int_equal(price_of("image", "black-forest-labs/FLUX.1-dev", NULL, GB_OK), USD(9, 25));
    assert_int_equal(price_of("image", "org/huge-405B", NULL, GB_OK), USD(9, 25));
    assert_int_equal(price_of("image", "stabilityai/stable-diffusion-xl-base-1.0", NULL, GB_OK),
                     USD(9, 25));
    /* unknown size -> 400 naming 'model', unless the model table knows it */
    price_of("text", "microsoft/phi-3-mini-4k-instruct", NULL, GB_ERR_INVALID);
    cJSON *t = cJSON_Parse("{\"Microsoft/Phi-3-Mini-4k-Instruct\":\"3.8B\",\"openai/gpt2\":0.124,"
                           "\"org/m-8B\":\"70B\",\"org/bad\":\"big\"}");
    assert_int_equal(price_of("text", "microsoft/phi-3-mini-4k-instruct", t, GB_OK), USD(27, 75));
    assert_int_equal(price_of("text", "openai/gpt2", t, GB_OK), USD(18, 50));
    assert_int_equal(price_of("text", "org/m-8B", t, GB_OK), USD(92, 50)); /* table wins */
    price_of("text", "org/bad", t, GB_ERR_INVALID);
    cJSON_Delete(t);
}

static void test_model_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        int64_t millions; /* 0: unknown */
    } cases[] = {
        {"meta-llama/Llama-3.1-8B-Instruct", 8000},
        {"Qwen/Qwen2.5-0.5B", 500},
        {"Qwen/Qwen2.5-7B-Instruct", 7000},
        {"mistralai/Mixtral-8x7B-v0.1", 56000},
        {"mistralai/Mixtral-8x22B-Instruct-v0.1", 176000},
        {"google/gemma-2-27b-it", 27000},
        {"TinyLlama/TinyLlama-1.1B-Chat-v1.0", 1100},
        {"meta-llama/Llama-3.1-70B", 70000},
        {"meta-llama/Llama-3.1-405B-Instruct", 405000},
        {"meta-llama/Llama-3.2-1B", 1000},
        {"Qwen/Qwen3-30B-A3B", 30000},
        {"deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", 1500},
        {"HuggingFaceTB/SmolLM2-135M", 135},
        {"bigscience/bloom-560m", 560},
        {"org/model-500M", 500},
        {"facebook/opt-1.3b", 1300},
        {"moonshotai/Kimi-K2-1T", 1000000},
        {"mistralai/Mistral-7B-Instruct-v0.3", 7000},
        {"microsoft/phi-3-mini-4k-instruct", 0},
        {"openai-community/gpt2", 0},
        {"black-forest-labs/FLUX.1-dev", 0},
        {"org/model-v0.1", 0},
        {"org/model-3.1", 0},
        {"org/model-B", 0},
        {"org/model-0B", 0},
        {"org/model-1.2345B", 0},
        {"bigscience/bloomz-7b1", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t m = -1;
        char err[GB_JSON_ERR_MAX] = "";
        gb_err e = ft_model_size_m(cases[i].id, NULL, &m, err);
        if (cases[i].millions) {
            if (e != GB_OK || m != cases[i].millions)
                fail_msg("%s: %lld", cases[i].id, (long long)m);
        } else {
            if (e != GB_ERR_INVALID) fail_msg("%s should be unknown", cases[i].id);
            assert_non_null(strstr(err, "'model'"));
        }
    }
    double b = 0;
    assert_int_equal(ft_model_params("Qwen/Qwen2.5-0.5B", NULL, &b, NULL), GB_OK);
    assert_true(b > 0.4999 && b < 0.5001);
    assert_int_equal(ft_model_params("mistralai/Mixtral-8x7B-v0.1", NULL, &b, NULL), GB_OK);
    assert_true(b > 55.999 && b < 56.001);
}

static void test_gpu_tiers(void **state)
{
    (void)state;
    int n = 0;
    char type[32];
    assert_string_equal(ft_gpu_tier(0.5, "text", NULL, &n, type), "small");
    assert_int_equal(n, 1);
    assert_string_equal(type, "RTX4090");
    assert_string_equal(ft_gpu_tier(1.0, "text", NULL, &n, type), "small");
    assert_string_equal(ft_gpu_tier(8.0, "chat", NULL, &n, type), "medium");
    assert_int_equal(n, 1);
    assert_string_equal(type, "H100");
    assert_string_equal(ft_gpu_tier(27.0, "dpo", NULL, &n, type), "large");
    assert_int_equal(n, 2);
    assert_string_equal(ft_gpu_tier(70.0, "text", NULL, &n, type), "xlarge");
    assert_int_equal(n, 8);
    assert_string_equal(type, "H100");
    assert_string_equal(ft_gpu_tier(0, "image", NULL, &n, type), "image");
    assert_int_equal(n, 1);
    assert_string_equal(type, "RTX4090");
    assert_null(ft_gpu_tier(0, "text", NULL, &n, type));
    cJSON *t = cJSON_Parse("{\"large\":{\"gpuType\":\"h200\",\"gpuCount\":4},"
                           "\"medium\":{\"gpuCount\":2},\"small\":{\"gpuCount\":0}}");
    char err[GB_JSON_ERR_MAX];
    assert_string_equal(ft_gpu_tier(27.0, "text", t, &n, type), "large");
    assert_int_equal(n, 4);
    assert_string_equal(type, "H200");
    assert_string_equal(ft_gpu_tier(7.0, "text", t, &n, type), "medium");
    assert_int_equal(n, 2);
    assert_string_equal(type, "H100");
    assert_string_equal(ft_gpu_tier(0.5, "text", t, &n, type), "small"); /* bad entry ignored */
    assert_int_equal(n, 1);
    assert_int_equal(ft_gpu_table_check(t, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "small"));
    cJSON_DeleteItemFromObject(t, "small");
    assert_int_equal(ft_gpu_table_check(t, err), GB_OK);
    cJSON_AddObjectToObject(t, "huge");
    assert_int_equal(ft_gpu_table_check(t, err), GB_ERR_INVALID);
    cJSON_Delete(t);
}

/* One valid body per task type (the seed's examples). */
static const char *const BODIES[] = {
    "{\"name\":\"t\",\"taskType\":\"text\",\"model\":\"meta-llama/Llama-3.1-8B-Instruct\","
    "\"dsRepo\":\"myorg/support-qa\",\"hours\":2,\"fieldInstruction\":\"instruction\","
    "\"fieldOutput\":\"output\"}",
    "{\"name\":\"c\",\"taskType\":\"chat\",\"model\":\"meta-llama/Llama-3.1-8B-Instruct\","
    "\"dsRepo\":\"myorg/chat-dataset\",\"hours\":3,\"chatTemplate\":\"llama3\","
    "\"fieldConversation\":\"conversations\"}",
    "{\"name\":\"d\",\"taskType\":\"dpo\",\"model\":\"meta-llama/Llama-3.1-8B-Instruct\","
    "\"dsRepo\":\"myorg/preference-pairs\",\"hours\":4,\"chatTemplate\":\"llama3\","
    "\"fieldPrompt\":\"prompt\",\"fieldChosen\":\"chosen\",\"fieldRejected\":\"rejected\"}",
    "{\"name\":\"g\",\"taskType\":\"grpo\",\"model\":\"meta-llama/Llama-3.1-8B-Instruct\","
    "\"dsRepo\":\"myorg/prompts\",\"hours\":3,\"chatTemplate\":\"llama3\"}",
    "{\"name\":\"u\",\"taskType\":\"custom_chat\",\"model\":\"Qwen/Qwen2.5-7B-Instruct\","
    "\"datasetUrl\":\"https://my-server.com/data.jsonl\",\"hours\":2}",
    "{\"name\":\"i\",\"taskType\":\"image\",\"model\":\"black-forest-labs/FLUX.1-dev\","
    "\"dsRepo\":\"myorg/product-photos\",\"hours\":1,\"imageModelType\":\"flux\"}",
};

/* Parses BODIES[i] with key set to raw JSON value (NULL: removed); expects failure naming key
 * unless want is GB_OK. */
static void variant(int i, const char *key, const char *raw, gb_err want)
{
    cJSON *b = cJSON_Parse(BODIES[i]);
    assert_non_null(b);
    cJSON_DeleteItemFromObjectCaseSensitive(b, key);
    if (raw) cJSON_AddItemToObject(b, key, cJSON_Parse(raw));
    ft_request r;
    char err[GB_JSON_ERR_MAX] = "", quoted[64];
    gb_err e = ft_request_parse(b, &r, err);
    snprintf(quoted, sizeof(quoted), "'%s'", key);
    if (e != want || (want && !strstr(err, quoted)))
        fail_msg("body %d, %s=%s: got %d '%s'", i, key, raw ? raw : "(none)", e, err);
    cJSON_Delete(b);
}

static void test_validate_required(void **state)
{
    (void)state;
    static const char *const required[][6] = {
        {"dsRepo", NULL}, /* fieldInstruction, fieldOutput: defaulted (below) */
        {"chatTemplate", "fieldConversation", "dsRepo", NULL},
        {"fieldPrompt", "fieldChosen", "fieldRejected", "chatTemplate", "dsRepo", NULL},
        {"chatTemplate", "dsRepo", NULL},
        {"datasetUrl", NULL},
        {"imageModelType", "dsRepo", NULL},
    };
    ft_request r;
    char err[GB_JSON_ERR_MAX];
    for (int i = 0; i < 6; i++) {
        assert_int_equal(parse(BODIES[i], &r, err), GB_OK);
        for (const char *const *k = required[i]; *k; k++)
            variant(i, *k, NULL, GB_ERR_INVALID);
        for (const char *const *k =
                 (const char *const[]){"name", "taskType", "model", "hours", NULL};
             *k; k++)
            variant(i, *k, NULL, GB_ERR_INVALID);
        variant(i, "dsRepo", "null", i == 4 ? GB_OK : GB_ERR_INVALID); /* null = absent */
    }
    /* a text job's field names default to Volt's Text SFT example's, absent or null; a value
     * given is kept, a wrong type still refused */
    static const char *const text_fields[][3] = {{"fieldInstruction", "fieldOutput", "instruction"},
                                                 {"fieldOutput", "fieldInstruction", "output"}};
    for (int k = 0; k < 2; k++) {
        for (int null = 0; null < 2; null++) {
            cJSON *b = cJSON_Parse(BODIES[0]);
            cJSON_DeleteItemFromObjectCaseSensitive(b, text_fields[k][0]);
            if (null) cJSON_AddNullToObject(b, text_fields[k][0]);
            cJSON_ReplaceItemInObjectCaseSensitive(b, text_fields[k][1], cJSON_CreateString("q"));
            assert_int_equal(ft_request_parse(b, &r, err), GB_OK);
            assert_string_equal(k == 0 ? r.field_instruction : r.field_output, text_fields[k][2]);
            assert_string_equal(k == 0 ? r.field_output : r.field_instruction, "q");
            cJSON_Delete(b);
        }
        variant(0, text_fields[k][0], "7", GB_ERR_INVALID);
        variant(0, text_fields[k][0], "\"\"", GB_ERR_INVALID);
    }
    /* other tasks get no default: the fields stay refused there */
    variant(1, "fieldInstruction", "\"instruction\"", GB_ERR_INVALID);
    assert_int_equal(parse(BODIES[1], &r, err), GB_OK);
    assert_string_equal(r.field_instruction, "");
    assert_int_equal(parse(BODIES[2], &r, err), GB_OK);
    assert_string_equal(r.task_type, "dpo");
    assert_string_equal(r.chat_template, "llama3");
    assert_string_equal(r.field_rejected, "rejected");
    assert_int_equal(r.hours, 4);
    assert_int_equal(parse(BODIES[4], &r, err), GB_OK);
    assert_string_equal(r.dataset_url, "https://my-server.com/data.jsonl");
    assert_string_equal(r.ds_repo, "");
    assert_int_equal(parse(BODIES[5], &r, err), GB_OK);
    assert_string_equal(r.image_model_type, "flux");
}

static void test_validate_values(void **state)
{
    (void)state;
    variant(1, "chatTemplate", "\"llama2\"", GB_ERR_INVALID);
    variant(1, "chatTemplate", "\"LLAMA3\"", GB_ERR_INVALID);
    variant(1, "chatTemplate", "3", GB_ERR_INVALID);
    static const char *const templates[] = {"alpaca",  "chatml", "deepseek_v3",       "gemma3",
                                            "llama3",  "llama4", "mistral_v3_tekken", "phi_4",
                                            "qwen_25", "qwen3"};
    for (size_t k = 0; k < 10; k++) {
        char raw[40];
        snprintf(raw, sizeof(raw), "\"%s\"", templates[k]);
        variant(2, "chatTemplate", raw, GB_OK);
    }
    static const char *const bad_repos[] = {
        "\"noslash\"", "\"a/b/c\"", "\"-a/b\"", "\"a/b-\"", "\"a/b--c\"", "\"a/..b\"", "\"a/\"",
        "\"/b\"",      "\"a b/c\"", "\"\"",     "5",        "\"a/b.\"",   "\"a./b\"",  "\".a/b\""};
    for (size_t k = 0; k < sizeof(bad_repos) / sizeof(*bad_repos); k++)
        variant(0, "dsRepo", bad_repos[k], GB_ERR_INVALID);
    variant(0, "dsRepo", "\"my.org/data_set-v2.1\"", GB_OK);
    /* each of owner and name is at most 96 characters; each field name at most 128 */
    char raw[300], part[100];
    memset(part, 'a', sizeof(part));
    for (int side = 0; side < 2; side++)
        for (int n = 96; n <= 97; n++) {
            snprintf(raw, sizeof(raw), side ? "\"o/%.*s\"" : "\"%.*s/d\"", n, part);
            variant(0, "dsRepo", raw, n == 96 ? GB_OK : GB_ERR_INVALID);
        }
    static const struct {
        int body;
        const char *key;
    } text_fields[] = {{0, "fieldInstruction"}, {0, "fieldOutput"}, {1, "fieldConversation"},
                       {2, "fieldPrompt"},      {2, "fieldChosen"}, {2, "fieldRejected"}};
    for (size_t k = 0; k < sizeof(text_fields) / sizeof(*text_fields); k++)
        for (int n = 128; n <= 129; n++) {
            raw[0] = '"';
            memset(raw + 1, 'f', (size_t)n);
            snprintf(raw + 1 + n, 2, "\"");
            variant(text_fields[k].body, text_fields[k].key, raw,
                    n == 128 ? GB_OK : GB_ERR_INVALID);
        }
    static const char *const bad_urls[] = {"\"ftp://x.com/y\"",
                                           "\"https://\"",
                                           "\"https://user:pw@host.com/x\"",
                                           "\"https://host.com:99999/\"",
                                           "\"https://host.com:/x\"",
                                           "\"not a url\"",
                                           "\"https://ho st/\"",
                                           "\"https://.host/\"",
                                           "\"https://[]/x\"",
                                           "\"//host.com/x\"",
                                           "\"https://host.com/a\\\"b\""};
    for (size_t k = 0; k < sizeof(bad_urls) / sizeof(*bad_urls); k++)
        variant(4, "datasetUrl", bad_urls[k], GB_ERR_INVALID);
    variant(4, "datasetUrl", "\"http://10.0.0.1:8080/d.jsonl?sig=abc#x\"", GB_OK);
    variant(4, "datasetUrl", "\"HTTPS://[::1]/x\"", GB_OK);
    /* a port of five digits up to 65535, not past it, not 0 */
    variant(4, "datasetUrl", "\"https://host.com:65535/d\"", GB_OK);
    variant(4, "datasetUrl", "\"https://host.com:65536/d\"", GB_ERR_INVALID);
    variant(4, "datasetUrl", "\"https://host.com:0/d\"", GB_ERR_INVALID);
    variant(0, "hours", "0", GB_ERR_INVALID);
    variant(0, "hours", "169", GB_ERR_INVALID);
    variant(0, "hours", "2.5", GB_ERR_INVALID);
    variant(0, "hours", "\"2\"", GB_ERR_INVALID);
    variant(0, "hours", "1", GB_OK);
    variant(0, "hours", "168", GB_OK);
    variant(0, "name", "\"\"", GB_ERR_INVALID);
    char longname[140];
    memset(longname, 0, sizeof(longname));
    longname[0] = '"';
    memset(longname + 1, 'n', 129);
    longname[130] = '"';
    variant(0, "name", longname, GB_ERR_INVALID);
    longname[129] = '"';
    longname[130] = '\0';
    variant(0, "name", longname, GB_OK); /* 128 characters */
    variant(0, "model", "\"not a model\"", GB_ERR_INVALID);
    variant(0, "model", "\"gpt2-7B\"", GB_OK); /* an id without an owner */
    variant(0, "taskType", "\"sft\"", GB_ERR_INVALID);
    variant(5, "imageModelType", "\"sd15\"", GB_ERR_INVALID);
    variant(5, "imageModelType", "\"sdxl\"", GB_OK);
    variant(0, "webhookUrl", "\"javascript:alert(1)\"", GB_ERR_INVALID);
    variant(0, "webhookUrl", "\"https://your-server.com/webhook/voltagegpu\"", GB_OK);
    /* fields that do not apply to the task type are refused, naming them */
    variant(0, "chatTemplate", "\"llama3\"", GB_ERR_INVALID);
    variant(4, "dsRepo", "\"myorg/x\"", GB_ERR_INVALID);
    variant(0, "datasetUrl", "\"https://x.com/d\"", GB_ERR_INVALID);
    variant(1, "fieldInstruction", "\"i\"", GB_ERR_INVALID);
    variant(5, "chatTemplate", "\"llama3\"", GB_ERR_INVALID);
    /* optional ones are accepted */
    variant(3, "fieldPrompt", "\"prompt\"", GB_OK);
    variant(4, "chatTemplate", "\"chatml\"", GB_OK);
    /* unknown fields */
    variant(0, "fieldFoo", "\"x\"", GB_ERR_INVALID);
    ft_request r;
    char err[GB_JSON_ERR_MAX];
    assert_int_equal(parse("[1]", &r, err), GB_ERR_INVALID);
}

static void test_params_roundtrip(void **state)
{
    (void)state;
    for (int i = 0; i < 6; i++) {
        ft_request r, back;
        char err[GB_JSON_ERR_MAX], *params = NULL;
        assert_int_equal(parse(BODIES[i], &r, err), GB_OK);
        assert_int_equal(ft_request_params_json(&r, &params), GB_OK);
        ft_job j;
        memset(&j, 0, sizeof(j));
        snprintf(j.params, sizeof(j.params), "%s", params);
        snprintf(j.name, sizeof(j.name), "%s", r.name);
        snprintf(j.task_type, sizeof(j.task_type), "%s", r.task_type);
        snprintf(j.base_model, sizeof(j.base_model), "%s", r.model);
        snprintf(j.dataset_repo, sizeof(j.dataset_repo), "%s", r.ds_repo);
        snprintf(j.dataset_url, sizeof(j.dataset_url), "%s", r.dataset_url);
        j.hours = r.hours;
        assert_int_equal(ft_job_request(&j, &back), GB_OK);
        assert_memory_equal(&r, &back, sizeof(r));
        free(params);
    }
}

static void test_transitions(void **state)
{
    (void)state;
    /* The expected table, written out independently of finetune_rules.c. */
    static const char *const allowed[] = {"pending>preparing_data",
                                          "pending>idle",
                                          "pending>failure",
                                          "pending>cancelled",
                                          "preparing_data>idle",
                                          "preparing_data>looking_for_nodes",
                                          "preparing_data>failure",
                                          "preparing_data>cancelled",
                                          "idle>preparing_data",
                                          "idle>looking_for_nodes",
                                          "idle>failure",
                                          "idle>cancelled",
                                          "looking_for_nodes>ready",
                                          "looking_for_nodes>failure_finding_nodes",
                                          "looking_for_nodes>failure",
                                          "looking_for_nodes>cancelled",
                                          "ready>training",
                                          "ready>failure",
                                          "ready>cancelled",
                                          "training>evaluating",
                                          "training>failure",
                                          "training>node_training_failure",
                                          "training>cancelled",
                                          "evaluating>success",
                                          "evaluating>failure",
                                          "evaluating>node_training_failure",
                                          "evaluating>cancelled",
                                          NULL};
    int n_allowed = 0;
    for (int f = 0; f < FT_STATE_COUNT; f++) {
        for (int t = 0; t < FT_STATE_COUNT; t++) {
            char pair[64];
            snprintf(pair, sizeof(pair), "%s>%s", ft_state_name((ft_state)f),
                     ft_state_name((ft_state)t));
            bool want = false;
            for (const char *const *a = allowed; *a; a++)
                want = want || !strcmp(*a, pair);
            if (ft_transition_allowed((ft_state)f, (ft_state)t) != want) fail_msg("%s", pair);
            n_allowed += want;
            /* money moves only out of a state before training (ready included) into cancelled
             * or a failure */
            bool refunds = want && (f <= FT_READY) &&
                           (t == FT_CANCELLED || t == FT_FAILURE || t == FT_FAILURE_FINDING_NODES ||
                            t == FT_NODE_TRAINING_FAILURE);
            if (ft_transition_refunds((ft_state)f, (ft_state)t) != refunds)
                fail_msg("refund %s", pair);
        }
        ft_state back;
        assert_int_equal(ft_state_parse(ft_state_name((ft_state)f), &back), 0);
        assert_int_equal(back, f);
        /* every live state can be cancelled and can fail; a finished one goes nowhere */
        bool term = ft_state_terminal((ft_state)f);
        assert_int_equal(ft_transition_allowed((ft_state)f, FT_CANCELLED), !term);
        assert_int_equal(ft_transition_allowed((ft_state)f, FT_FAILURE), !term);
    }
    assert_int_equal(n_allowed, 27);
    assert_false(ft_transition_allowed((ft_state)-1, FT_PENDING));
    assert_false(ft_transition_allowed(FT_PENDING, (ft_state)12));
    /* one past the last state is no state (its row would be read past the table) */
    assert_false(ft_transition_allowed(FT_STATE_COUNT, FT_PENDING));
    assert_false(ft_transition_allowed(FT_PENDING, FT_STATE_COUNT));
    assert_string_equal(ft_state_name(FT_STATE_COUNT), "?");
    assert_false(ft_state_terminal(FT_STATE_COUNT));
    ft_state s;
    assert_int_equal(ft_state_parse("PENDING", &s), -1);
    assert_int_equal(ft_state_parse("", &s), -1);
    assert_int_equal(ft_state_parse(NULL, &s), -1);
    assert_string_equal(ft_state_name((ft_state)99), "?");
    assert_string_equal(ft_state_name(FT_FAILURE_FINDING_NODES), "failure_finding_nodes");
    assert_true(ft_transition_refunds(FT_READY, FT_CANCELLED)); /* training not started */
    assert_true(ft_transition_refunds(FT_READY, FT_FAILURE));
    assert_false(ft_transition_refunds(FT_TRAINING, FT_CANCELLED));
}

static bool in_words(const char *list, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = list; (p = strstr(p, w)); p++)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return true;
    return false;
}

static void test_state_sets(void **state)
{
    (void)state;
    static const char *const refundable = "pending preparing_data idle looking_for_nodes ready";
    static const char *const terminal =
        "success failure failure_finding_nodes node_training_failure cancelled";
    static const char *const committed = "training evaluating";
    for (int f = 0; f < FT_STATE_COUNT; f++) {
        char word[40];
        snprintf(word, sizeof(word), "%s", ft_state_name((ft_state)f));
        bool in_r = in_words(refundable, word), in_t = in_words(terminal, word),
             in_c = in_words(committed, word);
        assert_int_equal(ft_state_refundable_on_cancel((ft_state)f), in_r);
        assert_int_equal(ft_state_terminal((ft_state)f), in_t);
        assert_int_equal(ft_state_cost_committed((ft_state)f), in_c);
        assert_int_equal(in_r + in_t + in_c, 1); /* the three sets split the states */
    }
    assert_true(ft_state_training_started(FT_TRAINING));
    assert_true(ft_state_training_started(FT_SUCCESS));
    assert_false(ft_state_training_started(FT_READY));
    assert_false(ft_state_training_started(FT_FAILURE_FINDING_NODES));
    char msg[256];
    ft_cancel_message(FT_LOOKING_FOR_NODES, USD(55, 50), msg, sizeof(msg));
    assert_string_equal(msg, "Job cancelled and $55.50 refunded to your account");
    ft_cancel_message(FT_PENDING, USD(9, 25), msg, sizeof(msg));
    assert_string_equal(msg, "Job cancelled and $9.25 refunded to your account");
    ft_cancel_message(FT_TRAINING, 0, msg, sizeof(msg));
    assert_non_null(strstr(msg, "without a refund"));
    assert_non_null(strstr(msg, "training"));
}

static void test_json(void **state)
{
    (void)state;
    ft_job j;
    memset(&j, 0, sizeof(j));
    snprintf(j.id, sizeof(j.id), "ftj_abc");
    snprintf(j.name, sizeof(j.name), "my-llama-finetune");
    snprintf(j.task_type, sizeof(j.task_type), "text");
    snprintf(j.base_model, sizeof(j.base_model), "meta-llama/Llama-3.1-8B-Instruct");
    snprintf(j.dataset_repo, sizeof(j.dataset_repo), "myorg/support-qa");
    snprintf(j.webhook_url, sizeof(j.webhook_url), "https://secret.example/hook?token=s3cr3t");
    j.hours = 2;
    j.cost_per_hour = USD(27, 75);
    j.total_cost = USD(55, 50);
    j.status = FT_TRAINING;
    j.created_at = 1774692000000; /* 2026-03-28T10:00:00Z */
    cJSON *o = cJSON_CreateObject();
    assert_int_equal(ft_job_to_json(&j, o), GB_OK);
    char *s = gb_json_print(o);
    assert_non_null(strstr(s, "\"costPerHour\":27.75"));
    assert_non_null(strstr(s, "\"totalCost\":55.50"));
    assert_non_null(strstr(s, "\"hoursRequested\":2"));
    assert_non_null(strstr(s, "\"status\":\"training\""));
    assert_non_null(strstr(s, "\"gradientsTaskId\":\"ftj_abc\""));
    assert_non_null(strstr(s, "\"outputModelRepo\":null"));
    assert_non_null(strstr(s, "\"createdAt\":\"2026-03-28T10:00:00Z\""));
    assert_non_null(strstr(s, "\"completedAt\":null"));
    assert_non_null(strstr(s, "\"refunded\":false"));
    assert_non_null(strstr(s, "\"refundedAmount\":0.00")); /* one name, one type */
    assert_null(strstr(s, "s3cr3t"));                      /* the webhook URL is never shown */
    free(s);
    cJSON_Delete(o);
    o = cJSON_CreateObject();
    assert_int_equal(ft_job_webhook_json(&j, o), GB_ERR_INVALID); /* not finished */
    j.status = FT_SUCCESS;
    j.completed_at = j.created_at + 9000000;
    snprintf(j.output_model_repo, sizeof(j.output_model_repo), "voltagegpu/my-finetune-abc123");
    assert_int_equal(ft_job_webhook_json(&j, o), GB_OK);
    s = gb_json_print(o);
    assert_non_null(strstr(s, "\"event\":\"fine_tuning.job.completed\""));
    assert_non_null(strstr(s, "\"jobId\":\"ftj_abc\""));
    assert_non_null(strstr(s, "\"outputModelRepo\":\"voltagegpu/my-finetune-abc123\""));
    assert_non_null(strstr(s, "\"completedAt\":\"2026-03-28T12:30:00Z\""));
    assert_non_null(strstr(s, "\"refunded\":false"));
    assert_non_null(strstr(s, "\"refundedAmount\":0.00"));
    free(s);
    cJSON_Delete(o);
    /* a refunded job: the boolean and the amount, in the job and in its webhook */
    j.status = FT_CANCELLED;
    j.refunded = true;
    o = cJSON_CreateObject();
    assert_int_equal(ft_job_to_json(&j, o), GB_OK);
    assert_int_equal(ft_job_webhook_json(&j, cJSON_AddObjectToObject(o, "hook")), GB_OK);
    s = gb_json_print(o);
    /* the printed text: money is written as a raw two-decimal number */
    cJSON *back = cJSON_Parse(s), *hook = cJSON_GetObjectItemCaseSensitive(back, "hook");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(back, "refunded")));
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(back, "refundedAmount")) ==
                55.50);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hook, "refunded")));
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(hook, "refundedAmount")) ==
                55.50);
    cJSON_Delete(back);
    free(s);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_price_seed_example), cmocka_unit_test(test_price_tiers),
        cmocka_unit_test(test_model_sizes),        cmocka_unit_test(test_gpu_tiers),
        cmocka_unit_test(test_validate_required),  cmocka_unit_test(test_validate_values),
        cmocka_unit_test(test_params_roundtrip),   cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_state_sets),         cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
