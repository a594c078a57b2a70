/* sim_hub.c: a Hugging Face Hub simulator for the sandbox and the tests: GET /api/models/{repo}
 * and GET /api/datasets/{repo} (repo "name" or "owner/name") answered from a fixed catalogue,
 * shaped like the Hub's API as huggingface/huggingface_hub src/huggingface_hub/hf_api.py
 * reads it (ModelInfo: id, author, sha, private, gated, disabled, pipeline_tag, tags,
 * library_name, safetensors {parameters, total}; DatasetInfo: id, author, private, gated,
 * cardData.dataset_info.features [{name, dtype}]). Errors are {"error": "..."} as the Hub sends
 * them: 404 for a repository that does not exist, 401 for a private one (model or dataset)
 * without a token. */
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "providers/sim/sim.h"

typedef struct {
    const char *id;
    double total;      /* safetensors.total; 0 = no safetensors block */
    const char *dtype; /* the key of safetensors.parameters */
    const char *gated; /* NULL (false), "auto", "manual" */
    bool private_;
    const char *pipeline;
    const char *config; /* config.json (NULL: the repository has none) */
} hub_model_spec;

/* config.json of .bin-only checkpoints, with the size keys of the public files they copy
 * (tests/fixtures/wire/hub/SOURCES.md): meta-llama/Llama-2-7b-hf, openai-community/gpt2 and
 * mistralai/Mixtral-8x7B-v0.1 (a mixture of experts). */
#define CFG_LLAMA2_7B                                                                              \
    "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_act\":\"silu\",\"hidden_size\":4096,"      \
    "\"intermediate_size\":11008,\"model_type\":\"llama\",\"num_attention_heads\":32,"             \
    "\"num_hidden_layers\":32,\"num_key_value_heads\":32,\"tie_word_embeddings\":false,"           \
    "\"vocab_size\":32000}"
#define CFG_GPT2                                                                                   \
    "{\"activation_function\":\"gelu_new\",\"architectures\":[\"GPT2LMHeadModel\"],"               \
    "\"model_type\":\"gpt2\",\"n_embd\":768,\"n_head\":12,\"n_layer\":12,\"n_positions\":1024,"    \
    "\"vocab_size\":50257}"
#define CFG_MIXTRAL                                                                                \
    "{\"architectures\":[\"MixtralForCausalLM\"],\"hidden_act\":\"silu\",\"hidden_size\":4096,"    \
    "\"intermediate_size\":14336,\"model_type\":\"mixtral\",\"num_attention_heads\":32,"           \
    "\"num_experts_per_tok\":2,\"num_hidden_layers\":32,\"num_key_value_heads\":8,"                \
    "\"num_local_experts\":8,\"tie_word_embeddings\":false,\"vocab_size\":32000}"

/* Counts: gpt2's safetensors.total is 137022720 (the F32 tensors of model.safetensors, biases
 * included; a recorded answer of https://huggingface.co/api/models/openai-community/gpt2); the
 * others are the published sizes (model cards: phi-2 2.7B, Phi-3-mini 3.8B, DeepSeek-R1 671B
 * total of which 37B active, a mixture of experts, Qwen2.5-0.5B 0.49B, Mistral 7B 7.24B,
 * Llama-3.1-70B 70.6B). */
static const hub_model_spec MODELS[] = {
    {"gpt2", 137022720, "F32", NULL, false, "text-generation", NULL},
    {"openai-community/gpt2", 137022720, "F32", NULL, false, "text-generation", NULL},
    {"microsoft/phi-2", 2779683840, "F16", NULL, false, "text-generation", NULL},
    {"microsoft/Phi-3-mini-4k-instruct", 3821079552, "BF16", NULL, false, "text-generation", NULL},
    {"deepseek-ai/DeepSeek-R1", 684531386000, "BF16", NULL, false, "text-generation", NULL},
    {"mistralai/Mistral-Nemo-Instruct-2407", 12247782400, "BF16", NULL, false, "text-generation",
     NULL},
    {"HuggingFaceH4/zephyr-beta", 7241732096, "BF16", NULL, false, "text-generation", NULL},
    {"Qwen/Qwen2.5-Coder-Instruct", 494032768, "BF16", NULL, false, "text-generation", NULL},
    {"meta-llama/Llama-3.3-Instruct", 70553706496, "BF16", "manual", false, "text-generation",
     NULL},
    /* the models the other tests name (sizes in their names too; Meta's Llama is gated on the
     * real Hub; here it is open so jobs of it run without a token) */
    {"Qwen/Qwen2.5-0.5B", 494032768, "BF16", NULL, false, "text-generation", NULL},
    {"Qwen/Qwen2.5-7B-Instruct", 7615616512, "BF16", NULL, false, "text-generation", NULL},
    {"meta-llama/Llama-3.1-8B-Instruct", 8030261248, "BF16", NULL, false, "text-generation", NULL},
    {"myorg/private-model", 1000000000, "BF16", NULL, true, "text-generation", NULL},
    /* a checkpoint of .bin files only: the Hub has no safetensors block for it */
    {"myorg/legacy-bin-model", 0, NULL, NULL, false, "text-generation", NULL},
    {"myorg/legacy-bin-7b", 0, NULL, NULL, false, "text-generation", NULL},
    /* .bin-only checkpoints with a config.json: sized from it (6.74B, 124M, 46.7B) */
    {"myorg/legacy-llama", 0, NULL, NULL, false, "text-generation", CFG_LLAMA2_7B},
    {"myorg/legacy-gpt2", 0, NULL, NULL, false, "text-generation", CFG_GPT2},
    {"myorg/legacy-moe", 0, NULL, NULL, false, "text-generation", CFG_MIXTRAL},
    /* the Volt image example's model (a gated repository on the real Hub; open here so the
     * example runs without a token) */
    {"black-forest-labs/FLUX.1-dev", 11901408320, "BF16", NULL, false, "text-to-image", NULL},
    /* a model the Hub has disabled (ModelInfo.disabled true): refused however it is sized */
    {"myorg/disabled-7b", 7241732096, "BF16", NULL, false, "text-generation", NULL},
};

/* The models answered with "disabled": true (ModelInfo.disabled, hf_api.py). */
static const char *const DISABLED_MODELS[] = {"myorg/disabled-7b", NULL};

/* The private datasets: 401 without a token, as for a private model (the Hub answers 401 for
 * a private or missing repository asked without one: huggingface_hub
 * src/huggingface_hub/utils/_http.py hf_raise_for_status, RepoNotFound), "private": true with
 * one (DatasetInfo.private, hf_api.py). */
static const char *const PRIVATE_DATASETS[] = {"myorg/private-data", NULL};

static bool listed(const char *const *list, const char *id)
{
    for (; *list; list++)
        if (gb_str_ieq(*list, id)) return true;
    return false;
}

typedef struct {
    const char *id;
    const char *features[6]; /* NULL-terminated; features[0] NULL = no dataset_info */
    const char *gated;
} hub_dataset_spec;

static const hub_dataset_spec DATASETS[] = {
    {"myorg/support-qa", {"instruction", "output", NULL}, NULL},
    {"myorg/chats", {"conversations", NULL}, NULL},
    {"myorg/prefs", {"prompt", "chosen", "rejected", NULL}, NULL},
    {"myorg/no-card", {NULL}, NULL},
    {"tatsu-lab/alpaca", {"instruction", "input", "output", "text", NULL}, NULL},
    {"a/b", {NULL}, NULL},
    {"org/data", {NULL}, NULL},
    {"myorg/gated-data", {"instruction", "output", NULL}, "auto"},
    /* the datasets the Volt API document's body examples name (tests/fixtures/volt_examples.json)
     */
    {"myorg/chat-dataset", {"conversations", NULL}, NULL},
    {"myorg/preference-pairs", {"prompt", "chosen", "rejected", NULL}, NULL},
    {"myorg/prompts", {"prompt", NULL}, NULL},
    {"myorg/product-photos", {NULL}, NULL},
    {"myorg/dataset", {"instruction", "output", NULL}, NULL},
    {"myorg/private-data", {"instruction", "output", NULL}, NULL}, /* PRIVATE_DATASETS */
};

/* The repository id of the request: ":a" or ":a/:b". */
static void repo_of(const sim_req *rq, char *out, size_t n)
{
    if (rq->nparams >= 2)
        gb_snprintf(out, n, "%s/%s", rq->params[0], rq->params[1]);
    else
        gb_snprintf(out, n, "%s", rq->nparams ? rq->params[0] : "");
}

static void author(cJSON *o, const char *id)
{
    const char *slash = strchr(id, '/');
    if (!slash) return;
    char a[128];
    size_t n = (size_t)(slash - id) < sizeof(a) - 1 ? (size_t)(slash - id) : sizeof(a) - 1;
    memcpy(a, id, n);
    a[n] = '\0';
    cJSON_AddStringToObject(o, "author", a);
}

static void gated(cJSON *o, const char *g)
{
    if (g)
        cJSON_AddStringToObject(o, "gated", g);
    else
        cJSON_AddFalseToObject(o, "gated");
}

/* The model the request names, or NULL with the Hub's answer written: 401 for a private
 * repository asked without a token, 404 for one that does not exist. */
static const hub_model_spec *find_model(sim_server *s, const sim_req *rq, sim_resp *rs,
                                        const char *id)
{
    const hub_model_spec *m = NULL;
    for (size_t i = 0; i < sizeof(MODELS) / sizeof(MODELS[0]) && !m; i++)
        if (gb_str_ieq(MODELS[i].id, id)) m = &MODELS[i];
    if (m && m->private_ && !sim_header(rq, "Authorization")) {
        sim_error(s, rs, 401, "Invalid credentials in Authorization header");
        return NULL;
    }
    if (!m) sim_error(s, rs, 404, "Repository not found");
    return m;
}

/* GET /{repo}/resolve/{revision}/config.json: the file itself (huggingface_hub constants.py
 * HUGGINGFACE_CO_URL_TEMPLATE); 404 "Entry not found" when the repository has none, as the
 * Hub answers for a missing file (X-Error-Code EntryNotFound, utils/_http.py). */
static void h_config(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)state;
    char id[256];
    if (rq->nparams >= 3)
        gb_snprintf(id, sizeof(id), "%s/%s", rq->params[0], rq->params[1]);
    else
        gb_snprintf(id, sizeof(id), "%s", rq->nparams ? rq->params[0] : "");
    const hub_model_spec *m = find_model(s, rq, rs, id);
    if (!m) return;
    if (!m->config) {
        sim_error(s, rs, 404, "Entry not found");
        return;
    }
    cJSON *o = cJSON_Parse(m->config);
    sim_json(rs, 200, o);
}

static void h_model(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)state;
    char id[256];
    repo_of(rq, id, sizeof(id));
    const hub_model_spec *m = find_model(s, rq, rs, id);
    if (!m) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "_id", "sim0000000000000000000000");
    cJSON_AddStringToObject(o, "id", m->id);
    cJSON_AddStringToObject(o, "modelId", m->id);
    author(o, m->id);
    cJSON_AddStringToObject(o, "sha", "0000000000000000000000000000000000000000");
    cJSON_AddBoolToObject(o, "private", m->private_);
    gated(o, m->gated);
    cJSON_AddBoolToObject(o, "disabled", listed(DISABLED_MODELS, m->id));
    cJSON_AddStringToObject(o, "pipeline_tag", m->pipeline);
    cJSON_AddStringToObject(o, "library_name", "transformers");
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    cJSON_AddItemToArray(tags, cJSON_CreateString("transformers"));
    cJSON *sib = cJSON_AddArrayToObject(o, "siblings");
    cJSON *f = NULL;
    if (m->config || m->total > 0) { /* the sized models have a config.json (its content only
                                        for the .bin-only ones) */
        f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "rfilename", "config.json");
        cJSON_AddItemToArray(sib, f);
    }
    if (m->total > 0) {
        cJSON_AddItemToArray(tags, cJSON_CreateString("safetensors"));
        f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "rfilename", "model.safetensors");
        cJSON_AddItemToArray(sib, f);
        cJSON *st = cJSON_AddObjectToObject(o, "safetensors");
        cJSON *p = cJSON_AddObjectToObject(st, "parameters");
        cJSON_AddNumberToObject(p, m->dtype, m->total);
        cJSON_AddNumberToObject(st, "total", m->total);
    } else {
        f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "rfilename", "pytorch_model.bin");
        cJSON_AddItemToArray(sib, f);
    }
    cJSON_AddObjectToObject(o, "cardData");
    cJSON_AddNumberToObject(o, "downloads", 0);
    cJSON_AddNumberToObject(o, "likes", 0);
    sim_json(rs, 200, o);
}

static void h_dataset(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)state;
    char id[256];
    repo_of(rq, id, sizeof(id));
    const hub_dataset_spec *d = NULL;
    for (size_t i = 0; i < sizeof(DATASETS) / sizeof(DATASETS[0]) && !d; i++)
        if (gb_str_ieq(DATASETS[i].id, id)) d = &DATASETS[i];
    if (!d) {
        sim_error(s, rs, 404, "Repository not found");
        return;
    }
    bool private_ = listed(PRIVATE_DATASETS, d->id);
    if (private_ && !sim_header(rq, "Authorization")) {
        sim_error(s, rs, 401, "Invalid credentials in Authorization header");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "_id", "sim0000000000000000000001");
    cJSON_AddStringToObject(o, "id", d->id);
    author(o, d->id);
    cJSON_AddStringToObject(o, "sha", "0000000000000000000000000000000000000000");
    cJSON_AddBoolToObject(o, "private", private_);
    gated(o, d->gated);
    cJSON_AddFalseToObject(o, "disabled");
    cJSON *card = cJSON_AddObjectToObject(o, "cardData");
    if (d->features[0]) {
        cJSON *info = cJSON_AddObjectToObject(card, "dataset_info");
        cJSON *feats = cJSON_AddArrayToObject(info, "features");
        for (int i = 0; i < 6 && d->features[i]; i++) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "name", d->features[i]);
            cJSON_AddStringToObject(f, "dtype", "string");
            cJSON_AddItemToArray(feats, f);
        }
    }
    cJSON_AddNumberToObject(o, "downloads", 0);
    sim_json(rs, 200, o);
}

static const sim_route ROUTES[] = {
    {"GET", "/api/models/:name", h_model},
    {"GET", "/api/models/:owner/:name", h_model},
    {"GET", "/api/datasets/:name", h_dataset},
    {"GET", "/api/datasets/:owner/:name", h_dataset},
    {"GET", "/:name/resolve/:rev/config.json", h_config},
    {"GET", "/:owner/:name/resolve/:rev/config.json", h_config},
};

static void error_body(sim_resp *rs, int status, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", message);
    sim_json(rs, status, j);
}

static const sim_platform HUB = {
    .name = "hub",
    .routes = ROUTES,
    .nroutes = sizeof(ROUTES) / sizeof(ROUTES[0]),
    .error = error_body,
    .api_path = "",
};

const sim_platform *sim_platform_hub(void)
{
    return &HUB;
}
