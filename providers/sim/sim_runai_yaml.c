/* sim_runai_yaml.c: the Run:ai simulator's manifest reader: base 64, a small YAML subset
 * (block mappings and sequences, plain/single/double-quoted scalars, comments; no anchors,
 * tags, flow or block scalars) or JSON text, into cJSON; then the Kubernetes checks the
 * simulator needs (kind, name, containers, GPU limits). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "providers/sim/sim_runai_int.h"

#define MAX_DEPTH 64

typedef struct {
    char *s; /* the line's content after its indentation, right-trimmed */
    int indent;
    int no; /* 1-based line number */
} yline;

typedef struct {
    yline *l;
    int n, i, depth;
    char *msg;
    size_t msgn;
    bool failed;
} yparser;

static void fail(yparser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(yparser *p, int line, const char *fmt, ...)
{
    if (p->failed) return;
    p->failed = true;
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(p->msg, p->msgn, "manifest: line %d: %s", line, why);
}

bool sim_runai_dns_label(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > SR_NAME_MAX || s[0] == '-' || s[n - 1] == '-') return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* ---- scalars ---- */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A quoted scalar starting at s (s[0] is the quote) into b; returns the char after the closing
 * quote, or NULL. */
static const char *quoted(const char *s, gb_buf *b)
{
    static const char from[] = "\"\\/ntrabefv", to[] = "\"\\/\n\t\r\a\b\x1b\f\v";
    char q = *s++;
    for (;;) {
        if (!*s) return NULL;
        if (*s == q) {
            if (q == '\'' && s[1] == '\'') { /* '' is a quote */
                if (gb_buf_append(b, s, 1)) return NULL;
                s += 2;
                continue;
            }
            return s + 1;
        }
        if (q == '\'' || *s != '\\') {
            if (gb_buf_append(b, s++, 1)) return NULL;
            continue;
        }
        s++;
        const char *k = *s ? strchr(from, *s) : NULL;
        if (k) {
            if (gb_buf_append(b, &to[k - from], 1)) return NULL;
            s++;
        } else if (*s == 'x' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            char c = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            if (c == 0 || gb_buf_append(b, &c, 1)) return NULL;
            s += 3;
        } else {
            return NULL; /* \0, \u and unknown escapes: not in this subset */
        }
    }
}

static bool only_comment(const char *s)
{
    while (*s == ' ')
        s++;
    return *s == '\0' || *s == '#';
}

static cJSON *scalar(yparser *p, const char *s, int line)
{
    if (*s == '"' || *s == '\'') {
        gb_buf b = {0};
        const char *end = quoted(s, &b);
        cJSON *v = NULL;
        if (!end || !only_comment(end))
            fail(p, line, "bad quoted string");
        else if (!(v = cJSON_CreateString(b.data ? b.data : "")))
            fail(p, line, "out of memory");
        gb_buf_free(&b);
        return v;
    }
    if (strcmp(s, "[]") == 0) return cJSON_CreateArray();
    if (strcmp(s, "{}") == 0) return cJSON_CreateObject();
    if (strchr("[{|>&*!%@`", *s)) {
        fail(p, line, "flow collections, block scalars, anchors and tags are not supported");
        return NULL;
    }
    size_t n = strlen(s);
    const char *hash = strstr(s, " #");
    if (hash) n = (size_t)(hash - s);
    while (n && s[n - 1] == ' ')
        n--;
    char *t = gb_strndup(s, n);
    cJSON *v = NULL;
    int64_t num;
    if (!t) {
        fail(p, line, "out of memory");
        return NULL;
    }
    if (!strcmp(t, "null") || !strcmp(t, "~") || !t[0])
        v = cJSON_CreateNull();
    else if (!strcmp(t, "true") || !strcmp(t, "false"))
        v = cJSON_CreateBool(t[0] == 't');
    else if (n <= 15 && gb_parse_i64(t, -999999999999999, 999999999999999, &num) == 0)
        v = cJSON_CreateNumber((double)num);
    else
        v = cJSON_CreateString(t);
    free(t);
    if (!v) fail(p, line, "out of memory");
    return v;
}

/* ---- block structure ---- */

static bool seq_item(const char *s)
{
    return s[0] == '-' && (s[1] == ' ' || s[1] == '\0');
}

/* Splits "key: rest" (key plain or quoted); *key is malloc'd. false when s is no map entry. */
static bool map_entry(const char *s, char **key, const char **rest)
{
    const char *colon = NULL;
    gb_buf b = {0};
    if (*s == '"' || *s == '\'') {
        const char *end = quoted(s, &b);
        if (!end || *end != ':' || (end[1] && end[1] != ' ')) {
            gb_buf_free(&b);
            return false;
        }
        colon = end;
        *key = gb_buf_take(&b);
    } else {
        for (const char *c = s; *c && !colon; c++)
            if (*c == ':' && (c[1] == ' ' || c[1] == '\0')) colon = c;
        if (!colon || colon == s || seq_item(s) || *s == '#') return false;
        size_t n = (size_t)(colon - s);
        while (n && s[n - 1] == ' ')
            n--;
        *key = gb_strndup(s, n);
    }
    if (!*key) return false;
    const char *r = colon + 1;
    while (*r == ' ')
        r++;
    *rest = *r == '#' ? r + strlen(r) : r;
    return true;
}

static cJSON *node(yparser *p, int indent);

/* The value of an entry whose text after "key:" or "-" was empty: a nested block or null. */
static cJSON *nested(yparser *p, int indent, bool allow_same_seq)
{
    if (p->i < p->n && (p->l[p->i].indent > indent ||
                        (allow_same_seq && p->l[p->i].indent == indent && seq_item(p->l[p->i].s))))
        return node(p, p->l[p->i].indent);
    return cJSON_CreateNull();
}

static cJSON *map(yparser *p, int indent)
{
    cJSON *o = cJSON_CreateObject();
    while (o && !p->failed && p->i < p->n && p->l[p->i].indent == indent) {
        yline *L = &p->l[p->i];
        char *key = NULL;
        const char *rest = NULL;
        if (seq_item(L->s) || !map_entry(L->s, &key, &rest)) {
            fail(p, L->no, "expected 'key: value'");
            break;
        }
        cJSON *v = NULL;
        if (cJSON_GetObjectItemCaseSensitive(o, key)) {
            fail(p, L->no, "duplicate key '%.64s'", key);
        } else if (*rest) {
            v = scalar(p, rest, L->no);
            p->i++;
        } else {
            p->i++;
            v = nested(p, indent, true);
        }
        if (v && !cJSON_AddItemToObject(o, key, v)) cJSON_Delete(v);
        free(key);
    }
    if (!p->failed && p->i < p->n && p->l[p->i].indent > indent)
        fail(p, p->l[p->i].no, "unexpected indentation");
    if (!o) fail(p, 0, "out of memory");
    return o;
}

static cJSON *seq(yparser *p, int indent)
{
    cJSON *a = cJSON_CreateArray();
    while (a && !p->failed && p->i < p->n && p->l[p->i].indent == indent &&
           seq_item(p->l[p->i].s)) {
        yline *L = &p->l[p->i];
        const char *rest = L->s + 1;
        while (*rest == ' ')
            rest++;
        char *key = NULL;
        const char *r2;
        cJSON *v;
        if (!*rest) {
            p->i++;
            v = nested(p, indent, false);
        } else if (seq_item(rest) || map_entry(rest, &key, &r2)) {
            free(key); /* the item is a block that starts on this line: re-read it there */
            L->indent += (int)(rest - L->s);
            L->s = (char *)rest;
            v = node(p, L->indent);
        } else {
            v = scalar(p, rest, L->no);
            p->i++;
        }
        if (v && !cJSON_AddItemToArray(a, v)) cJSON_Delete(v);
    }
    if (!p->failed && p->i < p->n && p->l[p->i].indent > indent)
        fail(p, p->l[p->i].no, "unexpected indentation");
    if (!a) fail(p, 0, "out of memory");
    return a;
}

static cJSON *node(yparser *p, int indent)
{
    if (++p->depth > MAX_DEPTH) {
        fail(p, p->l[p->i].no, "nested too deeply");
        p->depth--;
        return NULL;
    }
    cJSON *v = seq_item(p->l[p->i].s) ? seq(p, indent) : map(p, indent);
    p->depth--;
    return v;
}

/* Parses YAML text (modified in place) into a mapping; NULL with msg. */
static cJSON *yaml_parse(char *text, size_t len, char *msg, size_t msgn)
{
    yparser p = {.msg = msg, .msgn = msgn};
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += text[i] == '\n';
    p.l = calloc(cap, sizeof(*p.l));
    cJSON *root = NULL;
    if (!p.l) {
        snprintf(msg, msgn, "manifest: out of memory");
        return NULL;
    }
    int no = 0;
    for (char *line = text; line && !p.failed;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        no++;
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        int ind = 0;
        while (line[ind] == ' ')
            ind++;
        if (line[ind] == '\t') fail(&p, no, "tabs are not allowed in indentation");
        bool marker = !strcmp(line, "---") || !strcmp(line, "...");
        if (marker && p.n > 0) fail(&p, no, "only one YAML document is allowed");
        if (line[ind] && line[ind] != '#' && !marker) p.l[p.n++] = (yline){line + ind, ind, no};
        line = nl ? nl + 1 : NULL;
    }
    if (!p.failed && p.n == 0) snprintf(msg, msgn, "manifest is empty");
    if (!p.failed && p.n > 0) {
        root = node(&p, p.l[0].indent);
        if (!p.failed && p.i < p.n) fail(&p, p.l[p.i].no, "unexpected indentation");
        if (!p.failed && !cJSON_IsObject(root))
            fail(&p, p.l[0].no, "the manifest must be a mapping");
    }
    if (p.failed || p.n == 0) {
        cJSON_Delete(root);
        root = NULL;
    }
    free(p.l);
    return root;
}

/* ---- base 64 ---- */

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Strict standard base 64 (line breaks skipped); NULL when invalid. */
static char *b64_decode(const char *in, size_t *outlen)
{
    size_t n = strlen(in), o = 0, q = 0, pad = 0;
    char *out = malloc(n / 4 * 3 + 4);
    unsigned acc = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '\n' || c == '\r') continue;
        int v = c == '=' ? 0 : b64val(c);
        if (v < 0 || (pad && c != '=') || (c == '=' && q < 2)) goto bad;
        if (c == '=') pad++;
        acc = acc << 6 | (unsigned)v;
        if (++q == 4) {
            out[o++] = (char)(acc >> 16);
            if (pad < 2) out[o++] = (char)(acc >> 8 & 0xff);
            if (pad < 1) out[o++] = (char)(acc & 0xff);
            q = 0;
            acc = 0;
        }
    }
    if (q != 0 || pad > 2) goto bad;
    out[o] = '\0';
    *outlen = o;
    return out;
bad:
    free(out);
    return NULL;
}

/* ---- Kubernetes checks ---- */

static int bad(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *str_at(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A GPU limit: an integer or a string of one (a Kubernetes quantity), 0..64; -1 otherwise. */
static int gpu_limit(const cJSON *v)
{
    int n = -1;
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 64 &&
        v->valuedouble == (int)v->valuedouble)
        n = (int)v->valuedouble;
    else if (cJSON_IsString(v) && gb_parse_int(v->valuestring, 0, 64, &n) != 0)
        n = -1;
    return n;
}

static int check(const cJSON *m, sr_manifest *info, char *msg, size_t n)
{
    memset(info, 0, sizeof(*info));
    const char *kind = str_at(m, "kind"), *api = str_at(m, "apiVersion");
    const char *name = str_at(cJSON_GetObjectItemCaseSensitive(m, "metadata"), "name");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(m, "spec"), *pod = spec;
    if (!kind || !api) return bad(msg, n, "manifest: apiVersion and kind are required");
    if (!sim_runai_dns_label(name))
        return bad(msg, n,
                   "manifest: metadata.name must be a DNS-1123 label (1-63 "
                   "lowercase letters, digits or '-')");
    info->replicas = 1;
    if (!strcmp(kind, "Deployment") && !strcmp(api, "apps/v1")) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(spec, "replicas");
        if (r && !(cJSON_IsNumber(r) && r->valuedouble >= 0 && r->valuedouble <= SR_MAX_REPLICAS &&
                   r->valuedouble == (int)r->valuedouble))
            return bad(msg, n, "manifest: spec.replicas must be 0-%d", SR_MAX_REPLICAS);
        if (r) info->replicas = (int)r->valuedouble;
        pod = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "template"),
                                               "spec");
    } else if (strcmp(kind, "Pod") || strcmp(api, "v1")) {
        return bad(msg, n,
                   "workload type '%.32s' (%.32s) is not registered (registered: "
                   "v1 Pod, apps/v1 Deployment)",
                   kind, api);
    }
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(pod, "containers"), *c;
    int nc = cJSON_IsArray(cs) ? cJSON_GetArraySize(cs) : 0;
    if (nc < 1 || nc > SR_MAX_CONTAINERS)
        return bad(msg, n, "manifest: the pod spec needs 1-%d containers", SR_MAX_CONTAINERS);
    cJSON_ArrayForEach(c, cs)
    {
        const char *cn = str_at(c, "name"), *img = str_at(c, "image");
        if (!sim_runai_dns_label(cn) || !img || !img[0])
            return bad(msg, n, "manifest: every container needs a name and an image");
        const cJSON *lim = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(c, "resources"), "limits");
        int g = gpu_limit(cJSON_GetObjectItemCaseSensitive(lim, "nvidia.com/gpu"));
        if (g < 0)
            return bad(msg, n,
                       "manifest: resources.limits[\"nvidia.com/gpu\"] must be an "
                       "integer 0-64");
        info->gpus_per_pod += g;
        const cJSON *env = cJSON_GetObjectItemCaseSensitive(c, "env"), *e;
        const cJSON *envs = cJSON_IsArray(env) ? env : NULL;
        cJSON_ArrayForEach(e, envs)
        {
            if (!str_at(e, "name")) return bad(msg, n, "manifest: every env entry needs a name");
        }
        const cJSON *ports = cJSON_GetObjectItemCaseSensitive(c, "ports"), *pt;
        const cJSON *plist = cJSON_IsArray(ports) ? ports : NULL;
        cJSON_ArrayForEach(pt, plist)
        {
            const cJSON *cp = cJSON_GetObjectItemCaseSensitive(pt, "containerPort");
            if (!cJSON_IsNumber(cp) || cp->valuedouble < 1 || cp->valuedouble > 65535)
                return bad(msg, n, "manifest: containerPort must be 1-65535");
        }
        if (!info->image[0]) gb_strlcpy(info->image, img, sizeof(info->image));
    }
    gb_strlcpy(info->kind, kind, sizeof(info->kind));
    gb_strlcpy(info->name, name, sizeof(info->name));
    return 0;
}

int sim_runai_manifest_read(const cJSON *body, cJSON **out, sr_manifest *info, char *msg, size_t n)
{
    *out = NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "manifest");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(body, "manifestBase64Encoded");
    if (cJSON_IsNull(m)) m = NULL;
    if (cJSON_IsNull(b)) b = NULL;
    if (m && b) return bad(msg, n, "manifest and manifestBase64Encoded are mutually exclusive");
    if (!m && !b) return bad(msg, n, "one of manifest or manifestBase64Encoded is required");
    cJSON *j = NULL;
    if (m) {
        if (!cJSON_IsObject(m)) return bad(msg, n, "manifest must be an object");
        j = cJSON_Duplicate(m, 1);
    } else {
        if (!cJSON_IsString(b)) return bad(msg, n, "manifestBase64Encoded must be a string");
        if (strlen(b->valuestring) > SR_MANIFEST_B64_MAX)
            return bad(msg, n, "manifestBase64Encoded is longer than %d characters (2 MiB)",
                       SR_MANIFEST_B64_MAX);
        size_t len = 0;
        char *text = b64_decode(b->valuestring, &len);
        if (!text) return bad(msg, n, "manifestBase64Encoded is not valid base 64");
        if (strlen(text) != len) {
            free(text);
            return bad(msg, n, "manifest is not text");
        }
        const char *t = text + strspn(text, " \t\r\n");
        if (*t == '{') {
            j = cJSON_ParseWithLength(t, strlen(t)); /* JSON is YAML too */
            if (!j) snprintf(msg, n, "manifest: invalid JSON");
        } else {
            j = yaml_parse(text, len, msg, n);
        }
        free(text);
        if (!j) return -1;
    }
    if (!cJSON_IsObject(j) || check(j, info, msg, n) != 0) {
        if (j && !cJSON_IsObject(j)) snprintf(msg, n, "manifest must be a mapping");
        cJSON_Delete(j);
        return -1;
    }
    *out = j;
    return 0;
}
