/* hub_check.c: the checks a fine-tuning request passes at the Hugging Face Hub before it is
 * charged: the model's parameter count (Hub, cache, name, in that order of trust) and the
 * dataset's existence and fields. One plain GET each, no retry, within jobs.hub_timeout_ms,
 * never inside a database transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/str.h"
#include "jobs/hub.h"

#define HUB_MAX_RESPONSE (4u << 20)
#define HUB_TOKEN_MAX 512

typedef enum { HUB_OK, HUB_MISSING, HUB_DENIED, HUB_DOWN } hub_answer;

static void say(hub_check *out, int status, const char *fmt, const char *a, const char *b)
{
    out->status = status;
    snprintf(out->message, sizeof(out->message), fmt, a, b ? b : "");
}

/* GET {base}/api/{kind}/{repo}, or with kind NULL {base}/{repo}/resolve/main/config.json (a
 * file of the repository: huggingface/huggingface_hub src/huggingface_hub/constants.py
 * HUGGINGFACE_CO_URL_TEMPLATE); on HUB_OK *resp holds the 200 answer (caller frees). */
static hub_answer hub_get(const hub_cfg *cfg, const char *token, const char *kind, const char *repo,
                          gb_http_resp *resp)
{
    char url[1024], auth[HUB_TOKEN_MAX + 32];
    if (kind ? gb_snprintf(url, sizeof(url), "%s/api/%s/%s", cfg->base_url, kind, repo)
             : gb_snprintf(url, sizeof(url), "%s/%s/resolve/main/config.json", cfg->base_url, repo))
        return HUB_DOWN;
    const char *headers[3] = {"Accept: application/json", NULL, NULL};
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[1] = auth;
    }
    gb_http_req req = {.method = "GET",
                       .url = url,
                       .headers = headers,
                       .connect_timeout_ms = cfg->timeout_ms,
                       .timeout_ms = cfg->timeout_ms,
                       .max_response = HUB_MAX_RESPONSE,
                       .keep_alive = 1};
    gb_errmsg err = "";
    gb_err e = gb_http_do(&req, resp, err);
    gb_memzero(auth, sizeof(auth));
    if (e) {
        GB_WARN("hub", "GET %s: %s", url, err);
        return HUB_DOWN;
    }
    long st = resp->status;
    if (st == 200) return HUB_OK;
    gb_http_resp_free(resp);
    /* the Hub answers 401 for a private or missing repository without a token (X-Error-Code
     * RepoNotFound), 403 for a gated one without access (GatedRepo): huggingface_hub
     * src/huggingface_hub/utils/_http.py hf_raise_for_status */
    if (st == 404) return HUB_MISSING;
    if (st == 401 || st == 403) return HUB_DENIED;
    GB_WARN("hub", "GET %s: status %ld", url, st);
    return HUB_DOWN;
}

/* The size in the name, as the last fallback; false when there is none. */
static bool from_name(const ft_request *r, hub_check *out)
{
    gb_errmsg err;
    int64_t m = 0;
    if (ft_model_size_m(r->model, NULL, &m, err) != GB_OK) return false;
    out->millions = m;
    out->source = "name";
    return true;
}

/* No safetensors: the size estimated from the repository's config.json; false when it has
 * none or it gives no size. */
static bool from_config(const hub_cfg *cfg, const char *token, const ft_request *r, hub_check *out)
{
    gb_http_resp resp;
    memset(&resp, 0, sizeof(resp));
    if (hub_get(cfg, token, NULL, r->model, &resp) != HUB_OK) return false;
    int64_t m = 0;
    gb_errmsg err = "";
    gb_err e = hub_config_params(resp.body, resp.body_len, &m, err);
    gb_http_resp_free(&resp);
    if (e) {
        GB_WARN("hub", "model %s: %s", r->model, err);
        return false;
    }
    out->millions = m;
    out->source = "config";
    return true;
}

static void check_model(gb_db *db, const hub_cfg *cfg, const char *token, const ft_request *r,
                        hub_check *out)
{
    int64_t m = 0, at = 0, now = gb_now_ms();
    bool cached = hub_cache_get_recent(db, r->model, cfg->memory_ms, &m, &at) == GB_OK;
    if (cached && now - at < cfg->ttl_ms) {
        out->millions = m;
        out->source = "cache";
        return;
    }
    gb_http_resp resp;
    memset(&resp, 0, sizeof(resp));
    hub_answer a = hub_get(cfg, token, "models", r->model, &resp);
    hub_model hm;
    gb_errmsg err = "";
    if (a == HUB_OK && hub_model_parse(resp.body, resp.body_len, &hm, err) != GB_OK) {
        GB_WARN("hub", "model %s: %s", r->model, err);
        a = HUB_DOWN; /* garbage: as if the Hub were down */
    }
    if (a == HUB_OK) gb_http_resp_free(&resp);
    if (a == HUB_MISSING) {
        say(out, 400, "field 'model': '%s' does not exist on the Hugging Face Hub%s", r->model,
            NULL);
        return;
    }
    if (a == HUB_DENIED || (a == HUB_OK && (hm.gated || hm.private_) && !token)) {
        say(out, 400,
            "field 'model': '%s' is gated or private on the Hugging Face Hub and cannot be "
            "used without access%s",
            r->model, " (accept its terms on the Hub and seal a Hub token as hub/token)");
        return;
    }
    if (a == HUB_OK && hm.disabled) {
        say(out, 400, "field 'model': '%s' is disabled on the Hugging Face Hub%s", r->model, NULL);
        return;
    }
    if (a == HUB_OK && hm.millions > 0) {
        out->millions = hm.millions;
        out->source = "hub";
        if (hub_cache_put(db, r->model, hm.millions, now) != GB_OK)
            GB_WARN("hub", "cannot cache the size of %s", r->model);
        return;
    }
    if (a == HUB_OK && from_config(cfg, token, r, out)) {
        if (hub_cache_put(db, r->model, out->millions, now) != GB_OK)
            GB_WARN("hub", "cannot cache the size of %s", r->model);
        return;
    }
    if (a == HUB_DOWN && cached) { /* stale, but better than nothing */
        out->millions = m;
        out->source = "cache";
        return;
    }
    if (from_name(r, out)) return;
    if (a == HUB_DOWN)
        say(out, 503,
            "The Hugging Face Hub cannot be reached and the size of model '%s' is neither "
            "cached nor in its name%s; try again later",
            r->model, NULL);
    else
        say(out, 400,
            "field 'model': the Hugging Face Hub gives no parameter count for '%s' (no "
            "safetensors, no usable config.json) and its name has no size like 8B%s",
            r->model, NULL);
}

/* The dataset's answer (from the Hub or kept) against the request: access and fields. */
static void check_fields(const char *token, const ft_request *r, const hub_dataset *dp,
                         hub_check *out)
{
    if ((dp->gated || dp->private_) && !token) {
        say(out, 400, "field 'dsRepo': dataset '%s' is gated or private on the Hugging Face Hub%s",
            r->ds_repo, " (seal a Hub token with access as hub/token)");
        return;
    }
    const struct {
        const char *json, *value;
    } fields[] = {{"fieldInstruction", r->field_instruction},
                  {"fieldOutput", r->field_output},
                  {"fieldConversation", r->field_conversation},
                  {"fieldPrompt", r->field_prompt},
                  {"fieldChosen", r->field_chosen},
                  {"fieldRejected", r->field_rejected}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (hub_dataset_has(dp, fields[i].value)) continue;
        out->status = 400;
        snprintf(out->message, sizeof(out->message),
                 "field '%s': dataset '%s' has no feature '%s' on the Hugging Face Hub",
                 fields[i].json, r->ds_repo, fields[i].value);
        return;
    }
}

/* The dataset fields the request names, checked against the features the Hub shows. */
static void check_dataset(const hub_cfg *cfg, const char *token, const ft_request *r,
                          hub_check *out)
{
    hub_dataset d;
    int64_t now = gb_mono_ms();
    char key[VAULT_HASH_HEX] = "";
    if (cfg->ds_ttl_ms > 0 && cfg->v) { /* without a vault (no pepper): nothing is kept */
        const void *parts[3] = {cfg->base_url, r->ds_repo, token};
        size_t lens[3] = {strlen(cfg->base_url), strlen(r->ds_repo), token ? strlen(token) : 0};
        if (vault_digest(cfg->v, parts, lens, 3, key) != GB_OK) key[0] = '\0';
    }
    if (key[0] && hub_dscache_get(key, now, cfg->ds_ttl_ms, &d)) {
        check_fields(token, r, &d, out);
        return;
    }
    gb_http_resp resp;
    memset(&resp, 0, sizeof(resp));
    hub_answer a = hub_get(cfg, token, "datasets", r->ds_repo, &resp);
    if (a == HUB_DOWN) { /* cannot check: the trainer finds out (docs/fine-tuning.md) */
        GB_WARN("hub", "dataset %s not checked: the Hub is unreachable", r->ds_repo);
        return;
    }
    if (a == HUB_MISSING || a == HUB_DENIED) {
        say(out, 400,
            "field 'dsRepo': dataset '%s' does not exist on the Hugging Face Hub or is "
            "private%s",
            r->ds_repo, NULL);
        return;
    }
    gb_errmsg err = "";
    gb_err e = hub_dataset_parse(resp.body, resp.body_len, &d, err);
    gb_http_resp_free(&resp);
    if (e) {
        GB_WARN("hub", "dataset %s: %s", r->ds_repo, err);
        return;
    }
    if (key[0]) hub_dscache_put(key, now, &d);
    check_fields(token, r, &d, out);
}

void hub_check_request(gb_db *db, const hub_cfg *cfg, const ft_request *r, hub_check *out)
{
    memset(out, 0, sizeof(*out));
    out->source = "none";
    char *token = NULL;
    size_t tn = 0;
    if (cfg->v &&
        vault_get_recent(cfg->v, db, HUB_TOKEN_REF, cfg->memory_ms, &token, &tn) == GB_OK &&
        (tn == 0 || tn > HUB_TOKEN_MAX || memchr(token, '\r', tn) || memchr(token, '\n', tn))) {
        vault_secret_free(token, tn); /* a token no header can carry: none */
        token = NULL;
    }
    if (strcmp(r->task_type, "image") != 0) check_model(db, cfg, token, r, out);
    if (out->status == 0 && r->ds_repo[0]) check_dataset(cfg, token, r, out);
    vault_secret_free(token, tn);
}

gb_err hub_token_put(vault *v, gb_db *db, const char *token)
{
    gb_err e = gb_db_begin(db);
    if (!e) e = vault_put(v, db, HUB_TOKEN_REF, token, strlen(token));
    if (!e) e = gb_db_commit(db);
    if (e) gb_db_rollback(db);
    return e;
}
