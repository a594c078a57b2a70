/* runai_manifest.c: the Kubernetes manifest the Run:ai adapter submits (a Pod, or a
 * one-replica Deployment), written as YAML and base 64 for manifestBase64Encoded, and the
 * validation of the adapter's provider_options. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/json.h"
#include "common/str.h"
#include "common/utf8.h"
#include "providers/runai_int.h"

#define MAX_CMD_ITEMS 64
#define MAX_ARGS 256
#define MAX_ITEM_LEN 65536
#define MAX_ENV 512
#define MAX_ENV_NAME 256
#define MAX_PORTS 64
#define MAX_SSH_KEYS 16
#define SSH_KEY_MAX 16384
#define IMAGE_MAX 1024
#define YAML_MAX_DEPTH 32

/* metadata.priority: the values schema PriorityClass lists (runapy swagger.json 1.224.0). */
static const char *const PRIORITIES[] = {"very-low",    "low",  "medium-low", "medium",
                                         "medium-high", "high", "very-high"};

static bool dns_label(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-') return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

bool prov_runai_dns_label(const char *s)
{
    return dns_label(s, RUNAI_NAME_MAX);
}

/* A string array of at most max items, each 1..MAX_ITEM_LEN bytes; -1 otherwise. */
static int str_array_ok(const cJSON *arr, int max)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > max) return -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) > MAX_ITEM_LEN) return -1;
    }
    return 0;
}

gb_err prov_runai_validate_options(const cJSON *o, char *err)
{
    static const char *const allowed[] = {"command",  "args",          "project",
                                          "priority", "workload_kind", NULL};
    char jerr[GB_JSON_ERR_MAX];
    const char *s = NULL;
    if (!o || cJSON_IsNull(o)) return GB_OK;
    if (!cJSON_IsObject(o)) {
        snprintf(err, PROV_ERR_MAX, "provider_options must be a JSON object");
        return GB_ERR_INVALID;
    }
    if (gb_json_only_keys(o, allowed, jerr)) goto bad;
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
    if (cmd && !cJSON_IsNull(cmd) &&
        (cJSON_IsString(cmd)
             ? !cmd->valuestring[0] || strlen(cmd->valuestring) > MAX_ITEM_LEN
             : str_array_ok(cmd, MAX_CMD_ITEMS) != 0 || cJSON_GetArraySize(cmd) == 0)) {
        gb_snprintf(jerr, sizeof(jerr),
                    "field 'command' must be a shell command string or a non-empty array of "
                    "at most %d strings",
                    MAX_CMD_ITEMS);
        goto bad;
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(o, "args");
    if (args && !cJSON_IsNull(args) && str_array_ok(args, MAX_ARGS) != 0) {
        gb_snprintf(jerr, sizeof(jerr), "field 'args' must be an array of at most %d strings",
                    MAX_ARGS);
        goto bad;
    }
    if (gb_json_str(o, "project", 1, RUNAI_NAME_MAX, false, &s, jerr) == GB_ERR_INVALID) goto bad;
    if (s && !dns_label(s, RUNAI_NAME_MAX)) {
        gb_snprintf(jerr, sizeof(jerr),
                    "field 'project' must be a Run:ai project name "
                    "(lowercase letters, digits and '-')");
        goto bad;
    }
    s = NULL;
    if (gb_json_str(o, "priority", 1, 32, false, &s, jerr) == GB_ERR_INVALID) goto bad;
    bool known = !s;
    for (size_t i = 0; s && i < GB_ARRAY_LEN(PRIORITIES); i++)
        known = known || !strcmp(s, PRIORITIES[i]);
    if (!known) {
        gb_snprintf(jerr, sizeof(jerr),
                    "field 'priority' must be one of very-low, low, medium-low, medium, "
                    "medium-high, high, very-high");
        goto bad;
    }
    s = NULL;
    if (gb_json_str(o, "workload_kind", 1, 32, false, &s, jerr) == GB_ERR_INVALID) goto bad;
    if (s && strcmp(s, "Pod") != 0 && strcmp(s, "Deployment") != 0) {
        gb_snprintf(jerr, sizeof(jerr), "field 'workload_kind' must be 'Pod' or 'Deployment'");
        goto bad;
    }
    return GB_OK;
bad:
    snprintf(err, PROV_ERR_MAX, "provider_options: %.440s", jerr);
    return GB_ERR_INVALID;
}

/* ---- the manifest (JSON form) ---- */

cJSON *prov_runai_manifest_container(cJSON *m)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(m, "spec");
    cJSON *cs = cJSON_GetObjectItemCaseSensitive(spec, "containers");
    if (!cJSON_IsArray(cs))
        cs = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "template"),
                                             "spec"),
            "containers");
    cJSON *c = cJSON_IsArray(cs) ? cJSON_GetArrayItem(cs, 0) : NULL;
    return cJSON_IsObject(c) ? c : NULL;
}

gb_err prov_runai_container_env(cJSON *c, const char *name, const char *value)
{
    cJSON *env = cJSON_GetObjectItemCaseSensitive(c, "env");
    if (!cJSON_IsArray(env)) {
        cJSON_DeleteItemFromObjectCaseSensitive(c, "env");
        if (!value) return GB_OK;
        if (!(env = cJSON_AddArrayToObject(c, "env"))) return GB_ERR_NOMEM;
    }
    int i = 0;
    for (cJSON *it = env->child; it; it = it->next, i++) {
        const char *n = gb_jstr(it, "name");
        if (!n || strcmp(n, name) != 0) continue;
        if (!value) {
            cJSON_DeleteItemFromArray(env, i);
            return GB_OK;
        }
        cJSON *v = cJSON_CreateString(value);
        return v && cJSON_ReplaceItemInObjectCaseSensitive(it, "value", v) ? GB_OK : GB_ERR_NOMEM;
    }
    if (!value) return GB_OK;
    cJSON *e = cJSON_CreateObject();
    if (!e || !cJSON_AddItemToArray(env, e)) {
        cJSON_Delete(e);
        return GB_ERR_NOMEM;
    }
    return cJSON_AddStringToObject(e, "name", name) && cJSON_AddStringToObject(e, "value", value)
               ? GB_OK
               : GB_ERR_NOMEM;
}

static bool env_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > MAX_ENV_NAME || (s[0] >= '0' && s[0] <= '9')) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return false;
    return true;
}

/* Adds a deep copy of v (NULL on allocation failure). */
static cJSON *add_copy(cJSON *obj, const char *key, const cJSON *v)
{
    cJSON *c = cJSON_Duplicate(v, 1);
    if (c && !cJSON_AddItemToObject(obj, key, c)) {
        cJSON_Delete(c);
        c = NULL;
    }
    return c;
}

/* command, args, env, ports, SSH keys and GPUs of the one container; -1 with err set. */
static int fill_container(prov_adapter *a, const prov_create_req *req, int gpus, cJSON *c,
                          char *err)
{
    const cJSON *o = req->options;
    const cJSON *cmd = o ? cJSON_GetObjectItemCaseSensitive(o, "command") : NULL;
    const cJSON *args = o ? cJSON_GetObjectItemCaseSensitive(o, "args") : NULL;
    if (cJSON_IsString(cmd)) {
        const char *sh[] = {"/bin/sh", "-c", cmd->valuestring};
        cJSON *arr = cJSON_CreateStringArray(sh, 3);
        if (!arr || !cJSON_AddItemToObject(c, "command", arr)) {
            cJSON_Delete(arr);
            goto nomem;
        }
    } else if (cJSON_IsArray(cmd) && !add_copy(c, "command", cmd)) {
        goto nomem;
    }
    if (cJSON_IsArray(args) && !add_copy(c, "args", args)) goto nomem;
    if (req->nenv > MAX_ENV) {
        snprintf(err, PROV_ERR_MAX, "%s: at most %d env entries", a->name, MAX_ENV);
        return -1;
    }
    for (int i = 0; i < req->nenv; i++) {
        const char *eq = req->env[i] ? strchr(req->env[i], '=') : NULL;
        char name[MAX_ENV_NAME + 1];
        size_t nl = eq ? (size_t)(eq - req->env[i]) : 0;
        if (!eq || !env_name_ok(req->env[i], nl)) {
            snprintf(err, PROV_ERR_MAX,
                     "%s: env entry %d must be NAME=value (NAME of letters, "
                     "digits, '_', '.', '-')",
                     a->name, i + 1);
            return -1;
        }
        gb_strlcpy(name, req->env[i], nl + 1);
        if (prov_runai_container_env(c, name, eq + 1)) goto nomem;
    }
    if (req->nssh > MAX_SSH_KEYS) {
        snprintf(err, PROV_ERR_MAX, "%s: at most %d SSH keys", a->name, MAX_SSH_KEYS);
        return -1;
    }
    gb_buf keys = {0};
    for (int i = 0; i < req->nssh; i++) {
        const char *k = req->ssh_public_keys[i];
        if (!k || !k[0] || strlen(k) > SSH_KEY_MAX || strchr(k, '\n')) {
            gb_buf_free(&keys);
            snprintf(err, PROV_ERR_MAX, "%s: SSH public key %d is not one OpenSSH line", a->name,
                     i + 1);
            return -1;
        }
        if (gb_buf_printf(&keys, "%s%s", i ? "\n" : "", k)) goto nomem_keys;
    }
    if (keys.len && prov_runai_container_env(c, RUNAI_SSH_ENV, keys.data)) goto nomem_keys;
    gb_buf_free(&keys);
    if (req->nports > MAX_PORTS) {
        snprintf(err, PROV_ERR_MAX, "%s: at most %d ports", a->name, MAX_PORTS);
        return -1;
    }
    cJSON *ports = req->nports ? cJSON_AddArrayToObject(c, "ports") : NULL;
    for (int i = 0; i < req->nports; i++) {
        if (req->ports[i] < 1 || req->ports[i] > 65535) {
            snprintf(err, PROV_ERR_MAX, "%s: port %d is not between 1 and 65535", a->name,
                     req->ports[i]);
            return -1;
        }
        cJSON *p = ports ? cJSON_CreateObject() : NULL;
        if (p && !cJSON_AddItemToArray(ports, p)) {
            cJSON_Delete(p);
            p = NULL;
        }
        if (!p || !cJSON_AddNumberToObject(p, "containerPort", req->ports[i])) goto nomem;
    }
    cJSON *res = cJSON_AddObjectToObject(c, "resources");
    cJSON *lim = res ? cJSON_AddObjectToObject(res, "limits") : NULL;
    if (!lim || !cJSON_AddNumberToObject(lim, "nvidia.com/gpu", gpus)) goto nomem;
    return 0;
nomem_keys:
    gb_buf_free(&keys);
nomem:
    snprintf(err, PROV_ERR_MAX, "%s: out of memory", a->name);
    return -1;
}

cJSON *prov_runai_manifest_new(prov_adapter *a, const prov_create_req *req, int gpus, gb_err *e,
                               char *err)
{
    const char *kind = req->options ? gb_jstr(req->options, "workload_kind") : NULL;
    bool deploy = kind && strcmp(kind, "Deployment") == 0;
    *e = GB_ERR_INVALID;
    if (!dns_label(req->name, RUNAI_NAME_MAX)) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: the workload name must be 1-63 lowercase letters, "
                 "digits or '-' (a Kubernetes name)",
                 a->name);
        return NULL;
    }
    if (!req->image || !req->image[0] || strlen(req->image) > IMAGE_MAX ||
        strpbrk(req->image, " \t\r\n")) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: a container image (no spaces, at most %d chars) is "
                 "needed; Run:ai has no templates",
                 a->name, IMAGE_MAX);
        return NULL;
    }
    *e = GB_ERR_NOMEM;
    cJSON *m = cJSON_CreateObject(), *md = NULL, *labels = NULL;
    cJSON *spec = NULL, *pod = NULL, *cs = NULL, *c = NULL;
    if (!m || !cJSON_AddStringToObject(m, "apiVersion", deploy ? "apps/v1" : "v1") ||
        !cJSON_AddStringToObject(m, "kind", deploy ? "Deployment" : "Pod") ||
        !(md = cJSON_AddObjectToObject(m, "metadata")) ||
        !cJSON_AddStringToObject(md, "name", req->name) ||
        !(labels = cJSON_AddObjectToObject(md, "labels")) ||
        !cJSON_AddStringToObject(labels, "app.kubernetes.io/name", req->name) ||
        !cJSON_AddStringToObject(labels, "app.kubernetes.io/managed-by", "gpubroker") ||
        !(spec = cJSON_AddObjectToObject(m, "spec")))
        goto fail;
    if (deploy) {
        cJSON *rep = cJSON_AddNumberToObject(spec, "replicas", 1);
        cJSON *sel = rep ? cJSON_AddObjectToObject(spec, "selector") : NULL;
        cJSON *ml = sel ? cJSON_AddObjectToObject(sel, "matchLabels") : NULL;
        cJSON *tpl = ml ? cJSON_AddObjectToObject(spec, "template") : NULL;
        cJSON *tmd = tpl ? cJSON_AddObjectToObject(tpl, "metadata") : NULL;
        if (!tmd || !cJSON_AddStringToObject(ml, "app.kubernetes.io/name", req->name) ||
            !add_copy(tmd, "labels", labels) || !(pod = cJSON_AddObjectToObject(tpl, "spec")))
            goto fail;
    } else {
        pod = spec;
        if (!cJSON_AddStringToObject(pod, "restartPolicy", "Never")) goto fail;
    }
    if (!(cs = cJSON_AddArrayToObject(pod, "containers")) || !(c = cJSON_CreateObject()) ||
        !cJSON_AddItemToArray(cs, c)) {
        cJSON_Delete(c);
        goto fail;
    }
    if (!cJSON_AddStringToObject(c, "name", "main") ||
        !cJSON_AddStringToObject(c, "image", req->image))
        goto fail;
    if (fill_container(a, req, gpus, c, err)) {
        *e = strstr(err, "out of memory") ? GB_ERR_NOMEM : GB_ERR_INVALID;
        cJSON_Delete(m);
        return NULL;
    }
    *e = GB_OK;
    return m;
fail:
    snprintf(err, PROV_ERR_MAX, "%s: out of memory", a->name);
    cJSON_Delete(m);
    return NULL;
}

/* ---- YAML and base 64 ---- */

static bool plain_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 253) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = k[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-' && ch != '/'))) return false;
    }
    return true;
}

/* YAML's printable characters (YAML 1.1 section 5.1); others are written as escapes. */
static bool yaml_printable(uint32_t cp)
{
    return cp == 0x09 || cp == 0x0a || cp == 0x0d || (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 ||
           (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
           (cp >= 0x10000 && cp <= 0x10ffff);
}

/* A double-quoted YAML scalar; GB_ERR_INVALID when s is not UTF-8 (a Kubernetes manifest is
 * Unicode text). */
static gb_err put_str(gb_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    gb_err e = gb_buf_puts(b, "\"");
    while (!e && n > 0) {
        uint32_t cp;
        size_t l = gb_utf8_next(p, n, &cp);
        if (l == 0) return GB_ERR_INVALID;
        if (cp == '"')
            e = gb_buf_puts(b, "\\\"");
        else if (cp == '\\')
            e = gb_buf_puts(b, "\\\\");
        else if (cp == '\n')
            e = gb_buf_puts(b, "\\n");
        else if (cp == '\r')
            e = gb_buf_puts(b, "\\r");
        else if (cp == '\t')
            e = gb_buf_puts(b, "\\t");
        else if (cp < 0x20 || cp == 0x7f || cp == 0x85 || !yaml_printable(cp))
            e = gb_buf_printf(b, "\\u%04x", (unsigned)cp); /* all such are below U+10000 */
        else
            e = gb_buf_append(b, p, l);
        p += l;
        n -= l;
    }
    return e ? e : gb_buf_puts(b, "\"");
}

static gb_err put_scalar(gb_buf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) return put_str(b, v->valuestring);
    if (cJSON_IsBool(v)) return gb_buf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            return gb_buf_printf(b, "%lld", (long long)d);
        return gb_buf_printf(b, "%.17g", d);
    }
    return gb_buf_puts(b, "null");
}

static bool is_coll(const cJSON *v)
{
    return cJSON_IsObject(v) || cJSON_IsArray(v);
}

static gb_err put_map(gb_buf *b, const cJSON *o, int indent, bool inline_first, int depth);
static gb_err put_seq(gb_buf *b, const cJSON *arr, int indent, int depth);

/* After "key:" or "-": the value on the same line, or a nested block below. */
static gb_err put_value(gb_buf *b, const cJSON *v, int indent, bool in_seq, int depth)
{
    if (depth > YAML_MAX_DEPTH) return GB_ERR_LIMIT;
    if (!is_coll(v)) {
        gb_err e = gb_buf_puts(b, " ");
        if (!e) e = put_scalar(b, v);
        return e ? e : gb_buf_puts(b, "\n");
    }
    if (!v->child) return gb_buf_puts(b, cJSON_IsObject(v) ? " {}\n" : " []\n");
    if (in_seq && cJSON_IsObject(v)) {
        gb_err e = gb_buf_puts(b, " ");
        return e ? e : put_map(b, v, indent + 2, true, depth + 1);
    }
    gb_err e = gb_buf_puts(b, "\n");
    if (e) return e;
    return cJSON_IsObject(v) ? put_map(b, v, indent + 2, false, depth + 1)
                             : put_seq(b, v, indent + 2, depth + 1);
}

/* A key YAML can take as an implicit key (at most 1024 characters written, YAML 1.2 section
 * 7.4): Kubernetes keys are at most 317 bytes (prefix 253 + "/" + name 63) of printable text,
 * so anything else is refused rather than written in a form a parser would reject. */
static gb_err put_key(gb_buf *b, const char *k)
{
    if (plain_key(k)) return gb_buf_puts(b, k);
    size_t n = strlen(k);
    const unsigned char *p = (const unsigned char *)k;
    if (n > 317) return GB_ERR_INVALID;
    while (n > 0) {
        uint32_t cp;
        size_t l = gb_utf8_next(p, n, &cp);
        if (l == 0 || cp < 0x20 || !yaml_printable(cp) || cp == 0x85) return GB_ERR_INVALID;
        p += l;
        n -= l;
    }
    return put_str(b, k);
}

static gb_err put_map(gb_buf *b, const cJSON *o, int indent, bool inline_first, int depth)
{
    gb_err e = GB_OK;
    for (const cJSON *c = o->child; !e && c; c = c->next) {
        if (!(inline_first && c == o->child)) e = gb_buf_printf(b, "%*s", indent, "");
        if (!e) e = put_key(b, c->string);
        if (!e) e = gb_buf_puts(b, ":");
        if (!e) e = put_value(b, c, indent, false, depth);
    }
    return e;
}

static gb_err put_seq(gb_buf *b, const cJSON *arr, int indent, int depth)
{
    gb_err e = GB_OK;
    for (const cJSON *c = arr->child; !e && c; c = c->next) {
        e = gb_buf_printf(b, "%*s-", indent, "");
        if (!e) e = put_value(b, c, indent, true, depth);
    }
    return e;
}

gb_err prov_runai_manifest_encode(prov_adapter *a, const cJSON *manifest, char **b64, char *err)
{
    *b64 = NULL;
    gb_buf y = {0};
    gb_err e = cJSON_IsObject(manifest) ? put_map(&y, manifest, 0, false, 0) : GB_ERR_INVALID;
    size_t enc = (y.len + 2) / 3 * 4;
    if (e == GB_ERR_LIMIT || e == GB_ERR_INVALID) {
        snprintf(err, PROV_ERR_MAX, "%s: the manifest is not a nestable JSON object of UTF-8 text",
                 a->name);
        e = GB_ERR_INVALID;
    } else if (e) {
        snprintf(err, PROV_ERR_MAX, "%s: out of memory", a->name);
    } else if (enc > RUNAI_MANIFEST_MAX) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: the Kubernetes manifest is %zu bytes (%zu in base 64), above Run:ai's "
                 "limit of %d base-64 characters (2 MiB); shorten env values, command or args",
                 a->name, y.len, enc, RUNAI_MANIFEST_MAX);
        e = GB_ERR_INVALID;
    } else if (!(*b64 = gb_base64_encode(y.data ? y.data : "", y.len))) {
        e = GB_ERR_NOMEM;
    }
    gb_buf_free(&y);
    return e;
}
