/* finetune_validate.c: validation of a POST /api/volt/fine-tuning body into an ft_request:
 * which fields each task type requires, allows or refuses, and their syntax. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "common/str.h"
#include "jobs/finetune.h"

#define SETERR(...)                                                                                \
    do {                                                                                           \
        if (err) (void)gb_snprintf_words(err, GB_JSON_ERR_MAX, __VA_ARGS__);                       \
    } while (0)

static const char *const KEYS[] = {"name",        "taskType",          "model",
                                   "dsRepo",      "datasetUrl",        "hours",
                                   "webhookUrl",  "chatTemplate",      "fieldInstruction",
                                   "fieldOutput", "fieldConversation", "fieldPrompt",
                                   "fieldChosen", "fieldRejected",     "imageModelType",
                                   NULL};

static const char *const CHAT_TEMPLATES[] = {
    "alpaca", "chatml",  "deepseek_v3", "gemma3", "llama3", "llama4", "mistral_v3_tekken",
    "phi_4",  "qwen_25", "qwen3",       NULL};
static const char *const IMAGE_TYPES[] = {"flux", "sdxl", NULL};

/* The task-specific fields, their syntax and where they go in ft_request. */
typedef enum { K_TEXT, K_REPO, K_URL, K_TEMPLATE, K_IMAGE } field_kind;
enum {
    F_DS_REPO,
    F_DATASET_URL,
    F_TEMPLATE,
    F_INSTR,
    F_OUTPUT,
    F_CONV,
    F_PROMPT,
    F_CHOSEN,
    F_REJECTED,
    F_IMAGE,
    F_COUNT
};

static const struct {
    const char *key;
    field_kind kind;
    size_t max_len, off, size;
    const char *dflt; /* the value a task that defaults the field (D below) gets */
} FIELDS[F_COUNT] = {
#define FLD(key, kind, max, member, dflt)                                                          \
    {                                                                                              \
        key, kind, max, offsetof(ft_request, member), sizeof(((ft_request *)0)->member), dflt      \
    }
    [F_DS_REPO] = FLD("dsRepo", K_REPO, FT_REPO_MAX, ds_repo, NULL),
    [F_DATASET_URL] = FLD("datasetUrl", K_URL, FT_URL_MAX, dataset_url, NULL),
    [F_TEMPLATE] = FLD("chatTemplate", K_TEMPLATE, 31, chat_template, NULL),
    [F_INSTR] = FLD("fieldInstruction", K_TEXT, FT_FIELD_MAX, field_instruction, "instruction"),
    [F_OUTPUT] = FLD("fieldOutput", K_TEXT, FT_FIELD_MAX, field_output, "output"),
    [F_CONV] = FLD("fieldConversation", K_TEXT, FT_FIELD_MAX, field_conversation, NULL),
    [F_PROMPT] = FLD("fieldPrompt", K_TEXT, FT_FIELD_MAX, field_prompt, NULL),
    [F_CHOSEN] = FLD("fieldChosen", K_TEXT, FT_FIELD_MAX, field_chosen, NULL),
    [F_REJECTED] = FLD("fieldRejected", K_TEXT, FT_FIELD_MAX, field_rejected, NULL),
    [F_IMAGE] = FLD("imageModelType", K_IMAGE, 15, image_model_type, NULL),
#undef FLD
};

/* Per task type: each task field is refused (N), required (R), optional (O), or defaulted (D:
 * absent or null, it takes FIELDS[].dflt). A text job's fieldInstruction and fieldOutput
 * default to "instruction" and "output", the names of Volt's Text SFT example: the Volt
 * reference's webhook example sends a text job without them (VoltageGPU API reference,
 * Fine-Tuning and Webhooks, /work/shared/seeds/004_1ea3563deb947c81.txt). */
enum { N = 0, R, O, D };
// clang-format off
static const struct {
    const char *type;
    unsigned char use[F_COUNT];
} TASKS[] = {
    /*                 repo url tmpl instr out conv prompt chosen rej image */
    {"text",        {R, N, N, D, D, N, N, N, N, N}},
    {"chat",        {R, N, R, N, N, R, N, N, N, N}},
    {"dpo",         {R, N, R, N, N, N, R, R, R, N}},
    {"grpo",        {R, N, R, N, N, N, O, N, N, N}},
    {"custom_chat", {N, R, O, N, N, N, N, N, N, N}},
    {"image",       {R, N, N, N, N, N, N, N, N, R}},
};
// clang-format on

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return true;
    return false;
}

static void join(const char *const *list, char *out, size_t n)
{
    gb_buf b = {0};
    for (const char *const *p = list; *p; p++)
        gb_buf_printf(&b, "%s%s", p == list ? "" : ", ", *p);
    gb_strlcpy(out, b.data ? b.data : "", n);
    gb_buf_free(&b);
}

static bool repo_part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 96) return false;
    if (s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok) return false;
        if (i > 0 && (c == '-' || c == '.') && s[i - 1] == c) return false; /* "--", ".." */
    }
    return true;
}

bool ft_repo_id_valid(const char *s, bool owner_optional)
{
    if (!s || strlen(s) > FT_REPO_MAX) return false;
    const char *slash = strchr(s, '/');
    if (!slash) return owner_optional && repo_part_ok(s, strlen(s));
    return repo_part_ok(s, (size_t)(slash - s)) && repo_part_ok(slash + 1, strlen(slash + 1));
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
}

bool ft_http_url_valid(const char *s)
{
    if (!s || strlen(s) > FT_URL_MAX) return false;
    const char *p;
    if (strncasecmp(s, "https://", 8) == 0)
        p = s + 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        p = s + 7;
    else
        return false;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++)
        if (*q <= 0x20 || *q >= 0x7f || *q == '"' || *q == '<' || *q == '>' || *q == '\\')
            return false;
    size_t alen = strcspn(p, "/?#");
    if (alen == 0 || memchr(p, '@', alen)) return false; /* a host, no user:password@ */
    const char *end = p + alen, *h = p;
    if (*h == '[') { /* IPv6 literal */
        const char *rb = memchr(h, ']', alen);
        if (!rb || rb == h + 1) return false;
        for (const char *c = h + 1; c < rb; c++)
            if (!(host_char(*c) || *c == ':')) return false;
        h = rb + 1;
    } else {
        if (*h == '.' || *h == '-' || *h == ':') return false;
        while (h < end && host_char(*h))
            h++;
    }
    if (h == end) return true;
    if (*h != ':' || h + 1 == end || end - (h + 1) > 5) return false;
    int port = 0;
    for (const char *c = h + 1; c < end; c++) {
        if (*c < '0' || *c > '9') return false;
        port = port * 10 + (*c - '0');
    }
    return port >= 1 && port <= 65535;
}

static gb_err task_field(const cJSON *body, int f, int use, const char *task, ft_request *out,
                         char *err)
{
    const char *key = FIELDS[f].key, *v = NULL;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, key);
    bool present = item && !cJSON_IsNull(item);
    char list[160];
    if (!present) {
        if (use == D && FIELDS[f].dflt)
            gb_strlcpy((char *)out + FIELDS[f].off, FIELDS[f].dflt, FIELDS[f].size);
        if (use != R) return GB_OK;
        SETERR("field '%s' is required for taskType '%s'", key, task);
        return GB_ERR_INVALID;
    }
    if (use == N) {
        SETERR("field '%s' does not apply to taskType '%s'", key, task);
        return GB_ERR_INVALID;
    }
    gb_err e = gb_json_str(body, key, 1, FIELDS[f].max_len, true, &v, err);
    if (e) return e;
    switch (FIELDS[f].kind) {
    case K_TEXT:
        break;
    case K_REPO:
        if (!ft_repo_id_valid(v, false)) {
            SETERR("field '%s' must be a HuggingFace dataset repo 'owner/name'", key);
            return GB_ERR_INVALID;
        }
        break;
    case K_URL:
        if (!ft_http_url_valid(v)) {
            SETERR("field '%s' must be an http(s) URL with a host (no credentials)", key);
            return GB_ERR_INVALID;
        }
        break;
    case K_TEMPLATE:
    case K_IMAGE: {
        const char *const *allowed = FIELDS[f].kind == K_TEMPLATE ? CHAT_TEMPLATES : IMAGE_TYPES;
        if (!in_list(v, allowed)) {
            join(allowed, list, sizeof(list));
            SETERR("field '%s' must be one of %s", key, list);
            return GB_ERR_INVALID;
        }
        break;
    }
    }
    gb_strlcpy((char *)out + FIELDS[f].off, v, FIELDS[f].size);
    return GB_OK;
}

gb_err ft_request_parse(const cJSON *body, ft_request *out, char *err)
{
    const char *s = NULL;
    int64_t hours = 0;
    int task = -1;
    gb_err e;
    memset(out, 0, sizeof(*out));
    if ((e = gb_json_only_keys(body, KEYS, err))) goto fail;
    if ((e = gb_json_str(body, "taskType", 1, 15, true, &s, err))) goto fail;
    for (size_t i = 0; i < GB_ARRAY_LEN(TASKS); i++)
        if (strcmp(s, TASKS[i].type) == 0) task = (int)i;
    if (task < 0) {
        SETERR("field 'taskType' must be one of text, chat, dpo, grpo, custom_chat, image");
        e = GB_ERR_INVALID;
        goto fail;
    }
    gb_strlcpy(out->task_type, s, sizeof(out->task_type));
    if ((e = gb_json_str(body, "name", 1, FT_NAME_MAX, true, &s, err))) goto fail;
    gb_strlcpy(out->name, s, sizeof(out->name));
    if ((e = gb_json_str(body, "model", 1, FT_REPO_MAX, true, &s, err))) goto fail;
    if (!ft_repo_id_valid(s, true)) {
        SETERR("field 'model' must be a HuggingFace model id like 'meta-llama/Llama-3.1-8B'");
        e = GB_ERR_INVALID;
        goto fail;
    }
    gb_strlcpy(out->model, s, sizeof(out->model));
    if ((e = gb_json_int(body, "hours", FT_HOURS_MIN, FT_HOURS_MAX, true, &hours, err))) goto fail;
    out->hours = (int)hours;
    for (int f = 0; f < F_COUNT; f++)
        if ((e = task_field(body, f, TASKS[task].use[f], TASKS[task].type, out, err))) goto fail;
    e = gb_json_str(body, "webhookUrl", 1, FT_URL_MAX, false, &s, err);
    if (e == GB_ERR_NOT_FOUND) {
        e = GB_OK;
    } else if (!e) {
        if (!ft_http_url_valid(s)) {
            SETERR("field 'webhookUrl' must be an http(s) URL with a host (no credentials)");
            e = GB_ERR_INVALID;
            goto fail;
        }
        gb_strlcpy(out->webhook_url, s, sizeof(out->webhook_url));
    }
fail:
    return e;
}

gb_err ft_request_params_json(const ft_request *r, char **out)
{
    gb_err e = GB_ERR_NOMEM;
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o) goto fail;
    for (int f = 0; f < F_COUNT; f++) {
        const char *v = (const char *)r + FIELDS[f].off;
        if (f == F_DS_REPO || f == F_DATASET_URL || !v[0]) continue; /* own columns */
        if (!cJSON_AddStringToObject(o, FIELDS[f].key, v)) goto fail;
    }
    *out = cJSON_PrintUnformatted(o);
    if (*out) e = GB_OK;
fail:
    cJSON_Delete(o);
    return e;
}

gb_err ft_job_request(const ft_job *j, ft_request *out)
{
    gb_err e = GB_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    cJSON *p = cJSON_Parse(j->params[0] ? j->params : "{}");
    if (!cJSON_IsObject(p)) goto fail;
    gb_strlcpy(out->name, j->name, sizeof(out->name));
    gb_strlcpy(out->task_type, j->task_type, sizeof(out->task_type));
    gb_strlcpy(out->model, j->base_model, sizeof(out->model));
    gb_strlcpy(out->ds_repo, j->dataset_repo, sizeof(out->ds_repo));
    gb_strlcpy(out->dataset_url, j->dataset_url, sizeof(out->dataset_url));
    gb_strlcpy(out->webhook_url, j->webhook_url, sizeof(out->webhook_url));
    out->hours = j->hours;
    for (int f = 0; f < F_COUNT; f++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, FIELDS[f].key);
        if (f == F_DS_REPO || f == F_DATASET_URL || !cJSON_IsString(v)) continue;
        gb_strlcpy((char *)out + FIELDS[f].off, v->valuestring, FIELDS[f].size);
    }
    e = GB_OK;
fail:
    cJSON_Delete(p);
    return e;
}
