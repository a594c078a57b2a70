/* hub_config.c: a model's parameter count estimated from its config.json, for checkpoints
 * the Hub gives no safetensors.total for (.bin-only repositories). The keys are those of the
 * transformers configuration classes (huggingface/transformers
 * src/transformers/models/{gpt2,llama,phi,mixtral,qwen2_moe,deepseek_v3}/configuration_*.py);
 * the file is at {hub}/{repo}/resolve/main/config.json (huggingface/huggingface_hub
 * src/huggingface_hub/constants.py HUGGINGFACE_CO_URL_TEMPLATE). The count is embeddings +
 * layers x (attention + MLP), experts of a mixture counted in full; biases and norms are left
 * out (under 0.1 % for the families in tests/fixtures/wire/hub). docs/fine-tuning.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "jobs/hub.h"

#define CFG_JSON_DEPTH 32
#define CFG_DIM_MAX 1000000.0
#define CFG_PARAMS_MAX 100000000000000.0

/* The first of keys that is a number in [1, CFG_DIM_MAX]; 0 when none is. */
static double num(const cJSON *o, const char *const *keys)
{
    for (; *keys; keys++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, *keys);
        if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 1 &&
            v->valuedouble <= CFG_DIM_MAX)
            return floor(v->valuedouble);
    }
    return 0;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

/* A gated MLP (gate, up and down projections) for SiLU/SwiGLU models and Gemma; two matrices
 * (up, down) for GELU models such as GPT-2, Phi and BERT. */
static bool gated_mlp(const cJSON *c)
{
    const char *act = str(c, "hidden_act");
    if (!act[0]) act = str(c, "hidden_activation");
    if (!act[0]) act = str(c, "activation_function");
    if (!strcmp(act, "silu") || !strcmp(act, "swish") || strstr(act, "glu")) return true;
    return strncmp(str(c, "model_type"), "gemma", 5) == 0;
}

gb_err hub_config_params(const char *body, size_t len, int64_t *millions, gb_errmsg err)
{
    static const char *const K_D[] = {"hidden_size", "n_embd", "d_model", NULL};
    static const char *const K_L[] = {"num_hidden_layers", "n_layer", "num_layers", NULL};
    static const char *const K_V[] = {"vocab_size", NULL};
    static const char *const K_H[] = {"num_attention_heads", "n_head", NULL};
    static const char *const K_KV[] = {"num_key_value_heads", NULL};
    static const char *const K_HD[] = {"head_dim", NULL};
    static const char *const K_I[] = {"intermediate_size", "n_inner", "ffn_dim", NULL};
    static const char *const K_E[] = {"num_local_experts", "n_routed_experts", "num_experts", NULL};
    static const char *const K_EI[] = {"moe_intermediate_size", NULL};
    static const char *const K_SH[] = {"n_shared_experts", NULL};
    static const char *const K_SHI[] = {"shared_expert_intermediate_size", NULL};
    static const char *const K_DENSE[] = {"first_k_dense_replace", NULL};
    static const char *const K_POS[] = {"n_positions", NULL};
    *millions = 0;
    cJSON *c = NULL;
    gb_err e = GB_ERR_INVALID;
    if (!body || gb_json_parse(body, len, CFG_JSON_DEPTH, &c, NULL) != GB_OK ||
        !cJSON_IsObject(c)) {
        snprintf(err, GB_ERRMSG_MAX, "the model's config.json is not a JSON object");
        goto fail;
    }
    double d = num(c, K_D), L = num(c, K_L), V = num(c, K_V), H = num(c, K_H);
    if (!d || !L || !V || !H) {
        snprintf(err, GB_ERRMSG_MAX,
                 "the model's config.json has no hidden size, layer count, vocabulary or heads");
        goto fail;
    }
    double kv = num(c, K_KV), hd = num(c, K_HD), inter = num(c, K_I);
    if (!kv) kv = H;
    if (!hd) hd = floor(d / H);
    if (!inter) inter = 4 * d; /* GPT-2's n_inner: None means 4 x n_embd */
    /* tie_word_embeddings: PretrainedConfig's default is true */
    const cJSON *tie = cJSON_GetObjectItemCaseSensitive(c, "tie_word_embeddings");
    double total = V * d * (cJSON_IsFalse(tie) ? 2 : 1);
    if (!strcmp(str(c, "model_type"), "gpt2")) total += num(c, K_POS) * d; /* learned positions */
    double attn = d * (H * hd) + 2 * d * (kv * hd) + (H * hd) * d;
    double mats = gated_mlp(c) ? 3 : 2;
    double experts = num(c, K_E), dense = L;
    double moe = 0;
    if (experts > 0) {
        double ei = num(c, K_EI);
        if (!ei) ei = inter;
        double shared = num(c, K_SH) * ei + num(c, K_SHI);
        moe = mats * d * (experts * ei + shared) + d * experts; /* + the router */
        dense = num(c, K_DENSE);
        if (dense > L) dense = L;
    }
    total += L * attn + dense * mats * d * inter + (L - dense) * moe;
    if (!isfinite(total) || total < 1 || total > CFG_PARAMS_MAX) {
        snprintf(err, GB_ERRMSG_MAX, "the model's config.json gives no plausible size");
        goto fail;
    }
    int64_t m = total >= 1e9 ? llround(total / 1e8) * 100 : llround(total / 1e6);
    *millions = m < 1 ? 1 : m;
    e = GB_OK;
fail:
    cJSON_Delete(c);
    return e;
}
