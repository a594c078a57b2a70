/* hub_parse.c: the Hugging Face Hub's model and dataset answers read into what pricing and
 * the dataset check need. Field names: huggingface/huggingface_hub
 * src/huggingface_hub/hf_api.py (ModelInfo: "safetensors" {"parameters", "total"}, "gated"
 * (false, "auto" or "manual"), "private", "disabled"; DatasetInfo: "cardData" whose
 * "dataset_info" carries the README's "features" [{"name", "dtype"}], one object or a list of
 * configs). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "jobs/hub.h"

#define HUB_JSON_DEPTH 32
#define HUB_PARAMS_MAX 100000000000000.0 /* 100T: anything larger is not a model */

static bool flag(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsTrue(v)) return true;
    /* gated is a string when set ("auto", "manual"), false when not */
    return cJSON_IsString(v) && v->valuestring && v->valuestring[0];
}

static cJSON *parse_object(const char *body, size_t len, gb_errmsg err)
{
    cJSON *j = NULL;
    if (!body || gb_json_parse(body, len, HUB_JSON_DEPTH, &j, NULL) != GB_OK) {
        snprintf(err, GB_ERRMSG_MAX, "the Hub's answer is not JSON");
        return NULL;
    }
    if (!cJSON_IsObject(j) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "id"))) {
        snprintf(err, GB_ERRMSG_MAX, "the Hub's answer is not a repository object");
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

gb_err hub_model_parse(const char *body, size_t len, hub_model *out, gb_errmsg err)
{
    memset(out, 0, sizeof(*out));
    gb_err e = GB_ERR_INVALID;
    cJSON *j = parse_object(body, len, err);
    if (!j) goto fail;
    out->gated = flag(j, "gated");
    out->private_ = flag(j, "private");
    out->disabled = flag(j, "disabled");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "safetensors");
    if (st && !cJSON_IsNull(st)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(st, "total");
        if (!cJSON_IsObject(st) || !cJSON_IsNumber(t) || !isfinite(t->valuedouble) ||
            t->valuedouble < 1 || t->valuedouble > HUB_PARAMS_MAX) {
            snprintf(err, GB_ERRMSG_MAX, "the Hub's safetensors.total is not a parameter count");
            goto fail;
        }
        /* to the nearest 100M from 1B up, as models are named: Llama-3.1-8B has 8.03B
         * parameters and is priced as 8B, not as the next tier */
        int64_t m = t->valuedouble >= 1e9 ? llround(t->valuedouble / 1e8) * 100
                                          : llround(t->valuedouble / 1e6);
        out->millions = m < 1 ? 1 : m;
    }
    e = GB_OK;
fail:
    cJSON_Delete(j);
    return e;
}

/* Adds the names of one features list ([{"name": ...}, ...]). */
static void add_features(hub_dataset *out, const cJSON *feats)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, feats)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
        if (!cJSON_IsString(n) || !n->valuestring || out->nfeatures >= HUB_FEATURES_MAX) continue;
        if (out->nfeatures < 0) out->nfeatures = 0;
        gb_strlcpy(out->features[out->nfeatures++], n->valuestring, HUB_FEATURE_NAME_MAX + 1);
    }
}

gb_err hub_dataset_parse(const char *body, size_t len, hub_dataset *out, gb_errmsg err)
{
    memset(out, 0, sizeof(*out));
    out->nfeatures = -1;
    cJSON *j = parse_object(body, len, err);
    if (!j) return GB_ERR_INVALID;
    out->gated = flag(j, "gated");
    out->private_ = flag(j, "private");
    const cJSON *card = cJSON_GetObjectItemCaseSensitive(j, "cardData");
    const cJSON *info =
        cJSON_IsObject(card) ? cJSON_GetObjectItemCaseSensitive(card, "dataset_info") : NULL;
    if (cJSON_IsObject(info)) {
        const cJSON *feats = cJSON_GetObjectItemCaseSensitive(info, "features");
        if (cJSON_IsArray(feats)) add_features(out, feats);
    } else if (cJSON_IsArray(info)) { /* one entry per config: the union of their features */
        const cJSON *c;
        cJSON_ArrayForEach(c, info)
        {
            const cJSON *feats = cJSON_GetObjectItemCaseSensitive(c, "features");
            if (cJSON_IsArray(feats)) add_features(out, feats);
        }
    }
    cJSON_Delete(j);
    return GB_OK;
}

bool hub_dataset_has(const hub_dataset *d, const char *name)
{
    if (d->nfeatures < 0 || !name || !name[0]) return true;
    for (int i = 0; i < d->nfeatures; i++)
        if (strcmp(d->features[i], name) == 0) return true;
    return false;
}
