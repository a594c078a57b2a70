/* sim_lium_catalog.c: the Lium simulator's templates (system ones plus the account's own,
 * GET/POST /templates, GET/DELETE /templates/{id}, one-time templates dropped with their pod) and
 * SSH keys (GET/POST /ssh-keys). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "providers/sim/sim_lium.h"

#define SIM_LIUM_USER_ID "0d4c6a52-7e1b-4f3a-9c2d-5b6e7f8a9b0c"
#define MAX_PORTS 16
#define MAX_ENV 64
#define MAX_STARTUP 4096

typedef struct {
    const char *id, *name, *category, *image, *tag;
} sys_template;

static const sys_template SYSTEM[] = {
    {"1f0e5a2b-3c4d-4e5f-8a9b-0c1d2e3f4a01", "PyTorch 2.4 (CUDA 12.4)", "PYTORCH",
     "daturaai/pytorch", "2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04"},
    {"1f0e5a2b-3c4d-4e5f-8a9b-0c1d2e3f4a02", "Ubuntu 22.04", "UBUNTU", "daturaai/ubuntu", "22.04"},
    {"1f0e5a2b-3c4d-4e5f-8a9b-0c1d2e3f4a03", "vLLM OpenAI server", "LLM", "vllm/vllm-openai",
     "v0.6.3"},
};

static cJSON *template_new(const char *id, const char *name, const char *image, const char *tag,
                           bool system, int64_t now_ms)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "id", id);
    cJSON_AddStringToObject(t, "name", name);
    cJSON_AddStringToObject(t, "description", name);
    cJSON_AddStringToObject(t, "docker_image", image);
    cJSON_AddStringToObject(t, "docker_image_tag", tag);
    cJSON_AddStringToObject(t, "docker_image_digest", "");
    if (system)
        cJSON_AddNullToObject(t, "user_id");
    else
        cJSON_AddStringToObject(t, "user_id", SIM_LIUM_USER_ID);
    cJSON_AddBoolToObject(t, "is_private", !system);
    /* Lium verifies an image before use; the simulator accepts every image at once. */
    cJSON_AddStringToObject(t, "status", "VERIFY_SUCCESS");
    sim_lium_time(t, "created_at", now_ms);
    return t;
}

int sim_lium_templates_init(sim_lium_state *st, int64_t now_ms)
{
    for (size_t i = 0; i < sizeof(SYSTEM) / sizeof(SYSTEM[0]); i++) {
        cJSON *t = template_new(SYSTEM[i].id, SYSTEM[i].name, SYSTEM[i].image, SYSTEM[i].tag, true,
                                now_ms);
        if (!t) return -1;
        cJSON_AddStringToObject(t, "category", SYSTEM[i].category);
        cJSON *ports = cJSON_AddArrayToObject(t, "internal_ports");
        cJSON_AddItemToArray(ports, cJSON_CreateNumber(22));
        cJSON_AddItemToArray(ports, cJSON_CreateNumber(8000));
        cJSON_AddStringToObject(t, "startup_commands", "");
        cJSON_AddObjectToObject(t, "environment");
        cJSON *vols = cJSON_AddArrayToObject(t, "volumes");
        cJSON_AddItemToArray(vols, cJSON_CreateString("/workspace"));
        cJSON_AddItemToArray(st->templates, t);
    }
    return 0;
}

void sim_lium_templates_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    (void)rq;
    sim_lium_state *st = state;
    sim_json(rs, 200, cJSON_Duplicate(st->templates, 1));
}

void sim_lium_template_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    const cJSON *t = sim_lium_template_find(state, rq->nparams > 0 ? rq->params[0] : NULL);
    if (!t) {
        sim_error(s, rs, 404, "Template not found");
        return;
    }
    sim_json(rs, 200, cJSON_Duplicate(t, 1));
}

/* A string field: absent -> def (NULL = required). 0 ok, -1 with rs filled. */
static int str_field(const cJSON *b, const char *key, size_t min, size_t max, const char *def,
                     const char **out, sim_resp *rs)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, key);
    if (!v || cJSON_IsNull(v)) {
        if (!def) {
            sim_lium_invalid(rs, key, "field required", "value_error.missing");
            return -1;
        }
        *out = def;
        return 0;
    }
    if (!cJSON_IsString(v)) {
        sim_lium_invalid(rs, key, "str type expected", "type_error.str");
        return -1;
    }
    size_t n = strlen(v->valuestring);
    if (n < min || n > max) {
        char msg[96];
        snprintf(msg, sizeof(msg), "ensure this value has %zu to %zu characters", min, max);
        sim_lium_invalid(rs, key, msg, "value_error.any_str.length");
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

/* A repository reference without tag: lowercase [a-z0-9._/-], an optional registry host
 * with a port before the first '/'. A ':' after the last '/' is a tag and is refused. */
static bool repo_ok(const char *img)
{
    const char *slash = strrchr(img, '/');
    const char *colon = strrchr(img, ':');
    if (colon && (!slash || colon > slash)) return false;
    if (strchr(img, '@')) return false;
    for (const char *p = img; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("._/-:", *p))
            return false;
    return img[0] != '/' && img[strlen(img) - 1] != '/';
}

static bool tag_ok(const char *t)
{
    for (const char *p = t; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) return false;
    return t[0] != '.' && t[0] != '-';
}

/* Copies the optional port list and environment into t; -1 with rs filled when invalid. */
static int add_runtime(cJSON *t, const cJSON *b, sim_resp *rs)
{
    const cJSON *ports = cJSON_GetObjectItemCaseSensitive(b, "internal_ports");
    cJSON *pt_out = cJSON_AddArrayToObject(t, "internal_ports");
    if (ports && !cJSON_IsNull(ports)) {
        if (!cJSON_IsArray(ports) || cJSON_GetArraySize(ports) > MAX_PORTS) {
            sim_lium_invalid(rs, "internal_ports", "a list of at most 16 ports expected",
                             "type_error.list");
            return -1;
        }
        const cJSON *p;
        cJSON_ArrayForEach(p, ports)
        {
            if (!cJSON_IsNumber(p) || p->valuedouble != (double)p->valueint || p->valueint < 1 ||
                p->valueint > 65535) {
                sim_lium_invalid(rs, "internal_ports", "ports must be integers 1-65535",
                                 "value_error");
                return -1;
            }
            cJSON_AddItemToArray(pt_out, cJSON_CreateNumber(p->valueint));
        }
    } else {
        cJSON_AddItemToArray(pt_out, cJSON_CreateNumber(22));
        cJSON_AddItemToArray(pt_out, cJSON_CreateNumber(8000));
    }
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(b, "environment");
    cJSON *env_out = cJSON_AddObjectToObject(t, "environment");
    if (env && !cJSON_IsNull(env)) {
        if (!cJSON_IsObject(env) || cJSON_GetArraySize(env) > MAX_ENV) {
            sim_lium_invalid(rs, "environment", "a dict of at most 64 strings expected",
                             "type_error.dict");
            return -1;
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, env)
        {
            if (!cJSON_IsString(e) || !e->string[0] || strlen(e->valuestring) > MAX_STARTUP) {
                sim_lium_invalid(rs, "environment", "values must be strings", "type_error.str");
                return -1;
            }
            cJSON_AddStringToObject(env_out, e->string, e->valuestring);
        }
    }
    return 0;
}

void sim_lium_template_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_lium_state *st = state;
    cJSON *t = NULL;
    cJSON *b = sim_body(s, rq, rs);
    if (!b) return;
    const char *name, *image, *tag, *digest, *startup, *category;
    /* the body Lium.create_template sends (Datura-ai/lium lium/sdk/client.py) plus the
     * TemplateCreate fields of Datura-ai/lium-sdk lium/models/template.py */
    static const char *const allowed[] = {"name",
                                          "description",
                                          "docker_image",
                                          "docker_image_tag",
                                          "docker_image_digest",
                                          "docker_image_size",
                                          "category",
                                          "volumes",
                                          "environment",
                                          "entrypoint",
                                          "internal_ports",
                                          "is_private",
                                          "readme",
                                          "startup_commands",
                                          "container_start_immediately",
                                          "one_time_template",
                                          "is_temporary",
                                          "docker_credential_id",
                                          NULL};
    if (sim_lium_only(rs, b, allowed)) goto done;
    const cJSON *once = cJSON_GetObjectItemCaseSensitive(b, "one_time_template");
    if (once && !cJSON_IsNull(once) && !cJSON_IsBool(once)) {
        sim_lium_invalid(rs, "one_time_template", "Input should be a valid boolean", "bool_type");
        goto done;
    }
    /* is_private is kept as sent (Lium.create_template sends it, True unless asked otherwise:
     * Datura-ai/lium lium/sdk/client.py) */
    const cJSON *priv = cJSON_GetObjectItemCaseSensitive(b, "is_private");
    if (priv && !cJSON_IsNull(priv) && !cJSON_IsBool(priv)) {
        sim_lium_invalid(rs, "is_private", "Input should be a valid boolean", "bool_type");
        goto done;
    }
    if (str_field(b, "name", 1, SIM_LIUM_NAME_MAX, NULL, &name, rs) ||
        str_field(b, "docker_image", 1, SIM_LIUM_IMAGE_MAX, NULL, &image, rs) ||
        str_field(b, "docker_image_tag", 1, 128, "latest", &tag, rs) ||
        str_field(b, "docker_image_digest", 0, 100, "", &digest, rs) ||
        str_field(b, "startup_commands", 0, MAX_STARTUP, "", &startup, rs) ||
        str_field(b, "category", 1, 32, "UBUNTU", &category, rs))
        goto done;
    if (!repo_ok(image)) {
        sim_lium_invalid(rs, "docker_image",
                         "must be a repository name without tag or digest (use docker_image_tag)",
                         "value_error");
        goto done;
    }
    if (!tag_ok(tag)) {
        sim_lium_invalid(rs, "docker_image_tag", "invalid tag", "value_error");
        goto done;
    }
    if (cJSON_GetArraySize(st->templates) >= SIM_LIUM_MAX_TEMPLATES) {
        sim_error(s, rs, 400, "Template limit reached");
        goto done;
    }
    char id[37];
    sim_lium_uuid(id);
    t = template_new(id, name, image, tag, false, sim_now(s));
    if (!t) {
        sim_error(s, rs, 500, "Internal Server Error");
        goto done;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(t, "docker_image_digest", cJSON_CreateString(digest));
    if (cJSON_IsBool(priv))
        cJSON_ReplaceItemInObjectCaseSensitive(t, "is_private",
                                               cJSON_CreateBool(cJSON_IsTrue(priv)));
    cJSON_AddStringToObject(t, "category", category);
    cJSON_AddStringToObject(t, "startup_commands", startup);
    if (add_runtime(t, b, rs) != 0) goto done;
    cJSON *vols = cJSON_AddArrayToObject(t, "volumes");
    cJSON_AddItemToArray(vols, cJSON_CreateString("/workspace"));
    cJSON_AddBoolToObject(t, "one_time_template", cJSON_IsTrue(once));
    cJSON_AddItemToArray(st->templates, t);
    sim_json(rs, 200, cJSON_Duplicate(t, 1));
    t = NULL;
done:
    cJSON_Delete(t);
    cJSON_Delete(b);
}

static int template_index(const sim_lium_state *st, const char *id)
{
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, st->templates)
    {
        const cJSON *tid = cJSON_GetObjectItemCaseSensitive(t, "id");
        if (cJSON_IsString(tid) && id && strcmp(tid->valuestring, id) == 0) return i;
        i++;
    }
    return -1;
}

static bool template_in_use(const sim_lium_state *st, const char *id)
{
    for (int i = 0; i < st->npods; i++)
        if (strcmp(st->pods[i].template_id, id) == 0) return true;
    return false;
}

void sim_lium_template_release(sim_lium_state *st, const char *id)
{
    int i = template_index(st, id);
    if (i < 0 || template_in_use(st, id)) return;
    const cJSON *t = cJSON_GetArrayItem(st->templates, i);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "one_time_template")))
        cJSON_DeleteItemFromArray(st->templates, i);
}

/* DELETE /templates/{id} (Datura-ai/lium-sdk templates.delete): the account's own template
 * when no pod uses it; 403 for a system template, 400 while a pod uses it. 200 with the
 * deleted template (the SDK reads no answer). */
void sim_lium_template_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_lium_state *st = state;
    const char *id = rq->nparams > 0 ? rq->params[0] : NULL;
    int i = template_index(st, id);
    if (i < 0) {
        sim_error(s, rs, 404, "Template not found");
        return;
    }
    cJSON *t = cJSON_GetArrayItem(st->templates, i);
    if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, "user_id"))) {
        sim_error(s, rs, 403, "System templates cannot be deleted");
        return;
    }
    if (template_in_use(st, id)) {
        sim_error(s, rs, 400, "Template is used by a pod");
        return;
    }
    sim_json(rs, 200, cJSON_DetachItemFromArray(st->templates, i));
}

void sim_lium_keys_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    (void)rq;
    sim_lium_state *st = state;
    sim_json(rs, 200, cJSON_Duplicate(st->keys, 1));
}

void sim_lium_key_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_lium_state *st = state;
    cJSON *b = sim_body(s, rq, rs);
    if (!b) return;
    const char *name, *key;
    static const char *const allowed[] = {"name", "public_key", NULL}; /* Lium.register_ssh_key */
    if (sim_lium_only(rs, b, allowed)) goto done;
    if (str_field(b, "name", 1, SIM_LIUM_NAME_MAX, NULL, &name, rs) ||
        str_field(b, "public_key", 16, SIM_LIUM_PUBKEY_MAX, NULL, &key, rs))
        goto done;
    if ((!gb_str_starts_with(key, "ssh-") && !gb_str_starts_with(key, "ecdsa-sha2-") &&
         !gb_str_starts_with(key, "sk-")) ||
        !strchr(key, ' ') || strpbrk(key, "\r\n")) {
        sim_lium_invalid(rs, "public_key", "not an SSH public key line", "value_error");
        goto done;
    }
    const cJSON *k;
    cJSON_ArrayForEach(k, st->keys)
    {
        const cJSON *pk = cJSON_GetObjectItemCaseSensitive(k, "public_key");
        if (cJSON_IsString(pk) && strcmp(pk->valuestring, key) == 0) {
            sim_error(s, rs, 400, "SSH key already exists");
            goto done;
        }
    }
    if (cJSON_GetArraySize(st->keys) >= SIM_LIUM_MAX_KEYS) {
        sim_error(s, rs, 400, "SSH key limit reached");
        goto done;
    }
    char id[37];
    sim_lium_uuid(id);
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "id", id);
    cJSON_AddStringToObject(n, "name", name);
    cJSON_AddStringToObject(n, "public_key", key);
    cJSON_AddStringToObject(n, "user_id", SIM_LIUM_USER_ID);
    sim_lium_time(n, "created_at", sim_now(s));
    cJSON_AddItemToArray(st->keys, n);
    sim_json(rs, 200, cJSON_Duplicate(n, 1));
done:
    cJSON_Delete(b);
}
