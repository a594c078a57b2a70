/* hub.h: what gpubroker asks the Hugging Face Hub before it prices a fine-tuning job: a
 * model's parameter count (GET /api/models/{repo}: safetensors.total, else config.json) and whether
 * a dataset exists with the fields a job names (GET /api/datasets/{repo}:
 * cardData.dataset_info.features), the answers' parsing, the SQLite cache of model sizes, and the
 * lookup with its fallbacks (Hub, then cache, then the size in the name). Shapes:
 * huggingface/huggingface_hub src/huggingface_hub/hf_api.py (ModelInfo, SafeTensorsInfo,
 * DatasetInfo). */
#ifndef GB_JOBS_HUB_H
#define GB_JOBS_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/db.h"
#include "common/gb.h"
#include "jobs/finetune.h"
#include "vault/vault.h"

#define HUB_FEATURES_MAX 64
#define HUB_FEATURE_NAME_MAX 128

typedef struct {
    int64_t millions; /* safetensors.total in millions (to 100M from 1B up); 0 = not given */
    bool gated;       /* "gated": "auto" or "manual" (false or absent: not gated) */
    bool private_;    /* "private": true */
    bool disabled;    /* "disabled": true */
} hub_model;

typedef struct {
    int nfeatures; /* -1: the Hub shows no features (nothing can be checked) */
    char features[HUB_FEATURES_MAX][HUB_FEATURE_NAME_MAX + 1];
    bool gated, private_;
} hub_dataset;

/* Parses a 200 answer of GET /api/models/{repo}. GB_ERR_INVALID (err: a gb_errmsg) when the
 * body is not a model object or safetensors is malformed. */
gb_err hub_model_parse(const char *body, size_t len, hub_model *out, gb_errmsg err);
/* Parses a 200 answer of GET /api/datasets/{repo}. */
gb_err hub_dataset_parse(const char *body, size_t len, hub_dataset *out, gb_errmsg err);
/* Estimates the parameter count (in millions, rounded like safetensors.total) of a model from
 * its config.json (hub_config.c: embeddings, attention, MLP, every expert of a mixture).
 * GB_ERR_INVALID when the file lacks the sizes or gives an implausible count. */
gb_err hub_config_params(const char *body, size_t len, int64_t *millions, gb_errmsg err);
/* True when the dataset shows features and name is one of them (or shows none). */
bool hub_dataset_has(const hub_dataset *d, const char *name);

/* The cache (table hub_model_sizes in the jobs migrations). Model ids compare
 * case-insensitively. get: GB_ERR_NOT_FOUND when absent; *fetched_at (may be NULL) in ms. */
gb_err hub_cache_get(gb_db *db, const char *model, int64_t *millions, int64_t *fetched_at);
gb_err hub_cache_put(gb_db *db, const char *model, int64_t millions, int64_t now_ms);
/* hub_cache_get, the answer (a size, or GB_ERR_NOT_FOUND) kept in memory per store and model
 * for max_age_ms of gb_mono_ms() (common/memo.h): a hub_cache_put of this process is seen at
 * once, another broker's after at most max_age_ms. max_age_ms <= 0 reads the store. */
gb_err hub_cache_get_recent(gb_db *db, const char *model, int64_t max_age_ms, int64_t *millions,
                            int64_t *fetched_at);

/* The dataset answers kept in memory (hub_dscache.c) under key (a digest of Hub URL, dataset
 * and token, shorter than VAULT_HASH_HEX) for ttl_ms of gb_mono_ms() time; get is false when
 * absent, expired or ttl_ms <= 0. */
bool hub_dscache_get(const char *key, int64_t now, int64_t ttl_ms, hub_dataset *out);
void hub_dscache_put(const char *key, int64_t now, const hub_dataset *d);
void hub_dscache_clear(void); /* tests */

typedef struct {
    const char *base_url; /* jobs.hub_url */
    int timeout_ms;       /* jobs.hub_timeout_ms */
    int64_t ttl_ms;       /* jobs.hub_cache_ttl_ms */
    int64_t ds_ttl_ms;    /* jobs.hub_dataset_ttl_ms (0: every job asks) */
    int64_t memory_ms;    /* jobs.hub_memory_ms: the token and sizes kept from the store */
    vault *v;             /* for the token sealed as HUB_TOKEN_REF (may be NULL) */
} hub_cfg;

#define HUB_TOKEN_REF "hub/token"
/* Seals token as HUB_TOKEN_REF in its own transaction (db must not be in one). */
gb_err hub_token_put(vault *v, gb_db *db, const char *token);

/* The outcome of a check: status 0 = fine; else the HTTP status to answer (400 or 503) with
 * message (a gb_errmsg-sized text naming the model or dataset and the reason). */
typedef struct {
    int status;
    char message[512];
    int64_t millions;   /* the model's size (0 for image jobs) */
    const char *source; /* "hub", "config" (config.json), "cache", "name" */
} hub_check;

/* Everything a job needs from the Hub before it is charged: the model's size (Hub; a fresh
 * cache entry first; on a Hub that is down, slow or answers garbage: the cache even if stale,
 * then the name), gated/private models refused, and the dataset (dsRepo) checked to exist
 * with the fields the request names. Runs HTTP: call it outside any transaction. */
void hub_check_request(gb_db *db, const hub_cfg *cfg, const ft_request *r, hub_check *out);

#endif
