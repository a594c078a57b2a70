/* sim_volt_keys.c: the Volt simulator's SSH keys (GET/POST/DELETE /ssh-keys) and templates
 * (a few system templates; GET/POST /templates, GET /templates/:id). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_volt_int.h"

#define SV_MAX_PORTS 64
#define SV_MAX_ENV 128

/* ---- SSH keys ---- */

/* Length of "type base64" at the start of a public key line (the comment is not part of
 * the key); 0 when the line is not "<type> <base64>[ comment]". */
static size_t key_core_len(const char *k)
{
    static const char *const types[] = {"ssh-ed25519 ",         "ssh-rsa ",
                                        "ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ",
                                        "ecdsa-sha2-nistp521 ", "sk-ssh-ed25519@openssh.com "};
    size_t t = 0;
    for (size_t i = 0; i < GB_ARRAY_LEN(types) && !t; i++)
        if (gb_str_starts_with(k, types[i])) t = strlen(types[i]);
    if (!t) return 0;
    size_t n = 0;
    for (const char *p = k + t; *p && *p != ' '; p++, n++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            return 0;
    }
    return n >= 16 ? t + n : 0;
}

/* A stand-in fingerprint (the simulator has no SHA-256): FNV-1a of the key, base64-looking. */
static void fake_fingerprint(const char *k, size_t n, char out[64])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint64_t)(unsigned char)k[i]) * UINT64_C(1099511628211);
    memcpy(out, "SHA256:", 7);
    for (int i = 0; i < 43; i++) {
        h = (h ^ (uint64_t)i) * UINT64_C(1099511628211);
        out[7 + i] = b64[(h >> 29) & 63];
    }
    out[50] = '\0';
}

sv_key *sim_volt_key_find(sv_state *st, const char *id)
{
    for (size_t i = 0; id && i < st->nkeys; i++)
        if (strcmp(st->keys[i].id, id) == 0) return &st->keys[i];
    return NULL;
}

cJSON *sim_volt_key_json(const sv_key *k)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "id", k->id);
    cJSON_AddStringToObject(j, "name", k->name);
    cJSON_AddStringToObject(j, "public_key", k->public_key);
    cJSON_AddStringToObject(j, "fingerprint", k->fingerprint);
    gb_json_add_time(j, "created_at", k->created_at);
    return j;
}

void sim_volt_keys_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    (void)rq;
    sv_state *st = state;
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = j ? cJSON_AddArrayToObject(j, "ssh_keys") : NULL;
    for (size_t i = 0; arr && i < st->nkeys; i++)
        cJSON_AddItemToArray(arr, sim_volt_key_json(&st->keys[i]));
    if (j) cJSON_AddNumberToObject(j, "total", (double)st->nkeys);
    sim_json(rs, 200, j);
}

void sim_volt_keys_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sv_state *st = state;
    char err[GB_JSON_ERR_MAX];
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    const char *name = NULL, *pub = NULL;
    static const char *const allowed[] = {"name", "public_key", NULL};
    if (sim_volt_only(rs, body, allowed)) goto out;
    if (gb_json_str(body, "name", 1, SV_NAME_MAX, true, &name, err) ||
        gb_json_str(body, "public_key", 1, SV_PUBKEY_MAX, true, &pub, err)) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto out;
    }
    size_t core = key_core_len(pub);
    if (!core) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR",
                     "field 'public_key' is not an OpenSSH public "
                     "key (expected e.g. \"ssh-ed25519 AAAA... comment\")");
        goto out;
    }
    for (size_t i = 0; i < st->nkeys; i++) {
        const char *o = st->keys[i].public_key;
        if (key_core_len(o) == core && strncmp(o, pub, core) == 0) {
            sim_volt_err(rs, 409, "CONFLICT", "SSH key already exists on your account (%s)",
                         st->keys[i].id);
            goto out;
        }
    }
    if (st->nkeys >= SV_MAX_KEYS) {
        sim_volt_err(rs, 409, "LIMIT_REACHED", "At most %d SSH keys per account", SV_MAX_KEYS);
        goto out;
    }
    sv_key *k = &st->keys[st->nkeys];
    memset(k, 0, sizeof(*k));
    k->public_key = gb_strdup(pub);
    if (!k->public_key) {
        sim_volt_err(rs, 500, "INTERNAL_ERROR", "out of memory");
        goto out;
    }
    gb_id_new("key_", k->id, sizeof(k->id));
    gb_strlcpy(k->name, name, sizeof(k->name));
    fake_fingerprint(pub, core, k->fingerprint);
    k->created_at = st->now;
    st->nkeys++;
    sim_json(rs, 201, sim_volt_key_json(k));
out:
    cJSON_Delete(body);
}

void sim_volt_key_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sv_state *st = state;
    sv_key *k = sim_volt_key_find(st, rq->params[0]);
    if (!k) {
        sim_volt_err(rs, 404, "NOT_FOUND", "SSH key not found: %.64s", rq->params[0]);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "id", k->id);
        cJSON_AddBoolToObject(j, "deleted", 1);
        cJSON_AddStringToObject(j, "message", "SSH key removed from account.");
    }
    free(k->public_key);
    size_t i = (size_t)(k - st->keys);
    memmove(k, k + 1, (st->nkeys - i - 1) * sizeof(*k));
    st->nkeys--;
    sim_json(rs, 200, j);
}

/* ---- templates ---- */

static const struct {
    const char *id, *name, *image, *category, *description;
} SYSTEM_TPLS[] = {
    {"tpl_pytorch21", "PyTorch 2.1 CUDA 12.1", "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel",
     "machine-learning", "Official PyTorch image with CUDA 12.1 and cuDNN 8"},
    {"tpl_pytorch25", "PyTorch 2.5 CUDA 12.4", "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel",
     "machine-learning", "Official PyTorch image with CUDA 12.4 and cuDNN 9"},
    {"tpl_cuda124", "CUDA 12.4 Ubuntu 22.04", "nvidia/cuda:12.4.1-devel-ubuntu22.04", "base",
     "NVIDIA CUDA development image"},
};

void sim_volt_tpls_seed(sv_state *st)
{
    for (size_t i = 0; i < GB_ARRAY_LEN(SYSTEM_TPLS); i++) {
        sv_tpl *t = &st->tpls[st->ntpls++];
        gb_strlcpy(t->id, SYSTEM_TPLS[i].id, sizeof(t->id));
        gb_strlcpy(t->name, SYSTEM_TPLS[i].name, sizeof(t->name));
        gb_strlcpy(t->image, SYSTEM_TPLS[i].image, sizeof(t->image));
        gb_strlcpy(t->category, SYSTEM_TPLS[i].category, sizeof(t->category));
        gb_strlcpy(t->description, SYSTEM_TPLS[i].description, sizeof(t->description));
        t->is_system = true;
        t->created_at = INT64_C(1764547200000); /* 2025-12-01T00:00:00Z */
    }
}

sv_tpl *sim_volt_tpl_find(sv_state *st, const char *id)
{
    for (size_t i = 0; id && i < st->ntpls; i++)
        if (strcmp(st->tpls[i].id, id) == 0) return &st->tpls[i];
    return NULL;
}

cJSON *sim_volt_tpl_json(const sv_tpl *t, bool full)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "id", t->id);
    cJSON_AddStringToObject(j, "name", t->name);
    cJSON_AddStringToObject(j, "image", t->image);
    cJSON_AddStringToObject(j, "category", t->category);
    cJSON_AddBoolToObject(j, "is_system", t->is_system);
    cJSON_AddStringToObject(j, "description", t->description);
    if (full && t->ports) cJSON_AddItemToObject(j, "ports", cJSON_Duplicate(t->ports, 1));
    if (full && t->env_vars) cJSON_AddItemToObject(j, "env_vars", cJSON_Duplicate(t->env_vars, 1));
    gb_json_add_time(j, "created_at", t->created_at);
    return j;
}

void sim_volt_tpls_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    (void)rq;
    sv_state *st = state;
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = j ? cJSON_AddArrayToObject(j, "templates") : NULL;
    for (size_t i = 0; arr && i < st->ntpls; i++)
        cJSON_AddItemToArray(arr, sim_volt_tpl_json(&st->tpls[i], false));
    if (j) cJSON_AddNumberToObject(j, "total", (double)st->ntpls);
    sim_json(rs, 200, j);
}

void sim_volt_tpl_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    const sv_tpl *t = sim_volt_tpl_find(state, rq->params[0]);
    if (!t)
        sim_volt_err(rs, 404, "NOT_FOUND", "Template not found: %.64s", rq->params[0]);
    else
        sim_json(rs, 200, sim_volt_tpl_json(t, true));
}

/* Checks ports (1..65535, at most 64) and env_vars (string values, at most 128). */
static int check_ports_env(const cJSON *ports, const cJSON *env, char *err, size_t n)
{
    const cJSON *it;
    if (ports) {
        if (!cJSON_IsArray(ports) || cJSON_GetArraySize(ports) > SV_MAX_PORTS) {
            gb_snprintf(err, n, "field 'ports' must be an array of at most %d ports", SV_MAX_PORTS);
            return -1;
        }
        cJSON_ArrayForEach(it, ports)
        {
            if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 65535 ||
                it->valuedouble != (double)it->valueint) {
                gb_snprintf(err, n, "field 'ports' must hold port numbers 1-65535");
                return -1;
            }
        }
    }
    if (env) {
        if (!cJSON_IsObject(env) || cJSON_GetArraySize(env) > SV_MAX_ENV) {
            gb_snprintf(err, n, "field 'env_vars' must be an object of at most %d strings",
                        SV_MAX_ENV);
            return -1;
        }
        cJSON_ArrayForEach(it, env)
        {
            if (!cJSON_IsString(it) || strlen(it->string) > 128 || strlen(it->valuestring) > 4096) {
                gb_snprintf(err, n, "field 'env_vars' must map names to string values");
                return -1;
            }
        }
    }
    return 0;
}

void sim_volt_tpls_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sv_state *st = state;
    char err[GB_JSON_ERR_MAX];
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    const char *name = NULL, *image = NULL, *cat = "custom", *desc = "", *cred = NULL;
    static const char *const allowed[] = {
        "name",  "image",    "category", "description", "docker_credential_id",
        "ports", "env_vars", NULL};
    if (sim_volt_only(rs, body, allowed)) goto out;
    if (gb_json_str(body, "docker_credential_id", 1, GB_ID_MAX - 1, false, &cred, err) ==
            GB_ERR_INVALID ||
        gb_json_str(body, "name", 1, SV_NAME_MAX, true, &name, err) ||
        gb_json_str(body, "image", 1, SV_IMAGE_MAX, true, &image, err) ||
        gb_json_str(body, "category", 1, 63, false, &cat, err) == GB_ERR_INVALID ||
        gb_json_str(body, "description", 0, 255, false, &desc, err) == GB_ERR_INVALID) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto out;
    }
    cJSON *ports = cJSON_GetObjectItemCaseSensitive(body, "ports");
    cJSON *env = cJSON_GetObjectItemCaseSensitive(body, "env_vars");
    if (cJSON_IsNull(ports)) ports = NULL;
    if (cJSON_IsNull(env)) env = NULL;
    if (check_ports_env(ports, env, err, sizeof(err))) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto out;
    }
    if (st->ntpls >= SV_MAX_TEMPLATES) {
        sim_volt_err(rs, 409, "LIMIT_REACHED", "At most %d templates per account",
                     SV_MAX_TEMPLATES);
        goto out;
    }
    sv_tpl *t = &st->tpls[st->ntpls];
    memset(t, 0, sizeof(*t));
    gb_id_new("tpl_", t->id, sizeof(t->id));
    gb_strlcpy(t->name, name, sizeof(t->name));
    gb_strlcpy(t->image, image, sizeof(t->image));
    gb_strlcpy(t->category, cat, sizeof(t->category));
    gb_strlcpy(t->description, desc, sizeof(t->description));
    t->ports = ports ? cJSON_DetachItemViaPointer(body, ports) : NULL;
    t->env_vars = env ? cJSON_DetachItemViaPointer(body, env) : NULL;
    t->created_at = st->now;
    st->ntpls++;
    sim_json(rs, 201, sim_volt_tpl_json(t, true));
out:
    cJSON_Delete(body);
}

/* DELETE /api/volt/templates/:id (seed 004): a custom template; system ones are refused. */
void sim_volt_tpl_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sv_state *st = state;
    sv_tpl *t = sim_volt_tpl_find(st, rq->params[0]);
    if (!t) {
        sim_volt_err(rs, 404, "NOT_FOUND", "Template not found: %.64s", rq->params[0]);
        return;
    }
    if (t->is_system) {
        sim_volt_err(rs, 403, "FORBIDDEN", "System templates cannot be deleted.");
        return;
    }
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "id", t->id);
        cJSON_AddBoolToObject(j, "deleted", 1);
        cJSON_AddStringToObject(j, "message",
                                "Template deleted. Existing pods using this template are not "
                                "affected.");
    }
    cJSON_Delete(t->ports);
    cJSON_Delete(t->env_vars);
    size_t i = (size_t)(t - st->tpls);
    memmove(t, t + 1, (st->ntpls - i - 1) * sizeof(*t));
    st->ntpls--;
    sim_json(rs, 200, j);
}
