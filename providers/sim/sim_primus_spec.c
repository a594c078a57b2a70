/* sim_primus_spec.c: the Primus simulator's reading of request bodies: CreateWorkloadRequest
 * (create and resume) and PatchWorkloadRequest, as the current server takes them
 * (AMD-AGI/Primus-SaFE SaFE/apiserver/pkg/handlers/resources/view/workload_view.go with the
 * embedded WorkloadSpec of SaFE/apis/pkg/apis/amd/v1/workload_types.go), with the defaults
 * and refusals of its admission webhook (SaFE/webhooks/pkg/workload_webhook.go:
 * mutateResources drops resources without a replica and defaults ephemeralStorage to 50Gi,
 * mutateEntryPoints base64-encodes plain entry points, mutateAuthoring runs "sleep infinity";
 * validateRequiredParams refuses an empty displayName, workspace or resources, and a resource
 * without cpu or memory, as 400 Primus.00002 "admission webhook ... denied the request: Bad
 * request. ..."). The real decoder ignores unknown fields; the simulator refuses them (the
 * removed flat resource, image and entryPoint among them) with the server's 400 body, so an
 * adapter that drifts from the current shapes fails here. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_primus_int.h"

static const char *const KINDS[] = {"PyTorchJob", "Deployment", "StatefulSet", "Authoring"};

/* The fields of CreateWorkloadRequest (with WorkloadSpec) and of PatchWorkloadRequest. */
static const char *const CREATE_KEYS[] = {"resources",
                                          "workspace",
                                          "images",
                                          "entryPoints",
                                          "jobPort",
                                          "env",
                                          "isSupervised",
                                          "groupVersionKind",
                                          "maxRetry",
                                          "priority",
                                          "ttlSecondsAfterFinished",
                                          "timeout",
                                          "customerLabels",
                                          "liveness",
                                          "readiness",
                                          "service",
                                          "isTolerateAll",
                                          "hostpath",
                                          "dependencies",
                                          "cronJobs",
                                          "secrets",
                                          "githubAuth",
                                          "specifiedNodes",
                                          "nodesAffinity",
                                          "excludedNodes",
                                          "displayName",
                                          "description",
                                          "workspaceId",
                                          "workloadId",
                                          "labels",
                                          "annotations",
                                          "preheat",
                                          "privileged",
                                          "userEntity",
                                          "useWorkspaceStorage",
                                          "forceHostNetwork",
                                          "ownerId",
                                          "dynamoOptions",
                                          "inferaOptions",
                                          NULL};
static const char *const PATCH_KEYS[] = {"githubAuth",  "priority", "resources",   "images",
                                         "entryPoints", "env",      "description", "timeout",
                                         "maxRetry",    "cronJobs", "service",     NULL};

/* ---- base64 ---- */

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool sim_primus_b64_ok(const char *s, size_t *n)
{
    size_t len = strlen(s), pad = 0;
    if (len % 4 != 0) return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=') {
            if (i + 2 < len) return false;
            pad++;
        } else if (pad || b64_val(s[i]) < 0) {
            return false;
        }
    }
    if (n) *n = len / 4 * 3 - pad;
    return true;
}

char *sim_primus_b64_decode(const char *s)
{
    size_t n;
    if (!sim_primus_b64_ok(s, &n)) return NULL;
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; s[i]; i += 4) {
        unsigned v = 0;
        for (int j = 0; j < 4; j++)
            v = v << 6 | (unsigned)(s[i + j] == '=' ? 0 : b64_val(s[i + j]));
        char b[3] = {(char)(v >> 16), (char)(v >> 8 & 0xff), (char)(v & 0xff)};
        for (int j = 0; j < 3 && k < n; j++)
            out[k++] = b[j];
    }
    out[k] = '\0';
    return out;
}

/* ---- field checks ---- */

/* A Kubernetes quantity: digits[.digits][suffix]; milli allows "500m". */
static bool quantity_ok(const char *s, bool milli)
{
    static const char *const suffixes[] = {"",  "Ki", "Mi", "Gi", "Ti", "Pi",
                                           "k", "K",  "M",  "G",  "T",  "P"};
    const char *p = s;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (!digits || strlen(s) > 20) return false;
    if (milli && strcmp(p, "m") == 0) return true;
    for (size_t i = 0; i < GB_ARRAY_LEN(suffixes); i++)
        if (strcmp(p, suffixes[i]) == 0) return true;
    return false;
}

/* An object of string values (env, customerLabels). */
static bool str_map_ok(const cJSON *m, const char *what, char *err)
{
    const cJSON *it;
    if (!cJSON_IsObject(m) || cJSON_GetArraySize(m) > 256) {
        snprintf(err, GB_JSON_ERR_MAX, "%s must be an object of at most 256 strings", what);
        return false;
    }
    cJSON_ArrayForEach(it, m)
    {
        if (!it->string || !it->string[0] || strlen(it->string) > 253 || !cJSON_IsString(it) ||
            strlen(it->valuestring) > 32768) {
            snprintf(err, GB_JSON_ERR_MAX, "%s: '%.64s' must be a string", what,
                     it->string ? it->string : "");
            return false;
        }
    }
    return true;
}

static bool probe_ok(const cJSON *p, const char *what, char *err)
{
    char e[GB_JSON_ERR_MAX];
    const char *path;
    int64_t v;
    if (!cJSON_IsObject(p) || gb_json_str(p, "path", 0, 256, false, &path, e) == GB_ERR_INVALID ||
        gb_json_int(p, "port", 1, 65535, true, &v, e) ||
        gb_json_int(p, "initialDelaySeconds", 0, 86400, false, &v, e) == GB_ERR_INVALID ||
        gb_json_int(p, "periodSeconds", 1, 3600, false, &v, e) == GB_ERR_INVALID ||
        gb_json_int(p, "failureThreshold", 1, 100, false, &v, e) == GB_ERR_INVALID) {
        snprintf(err, GB_JSON_ERR_MAX, "%s: %.200s", what,
                 cJSON_IsObject(p) ? e : "must be an object");
        return false;
    }
    return true;
}

static bool service_ok(const cJSON *s, char *err)
{
    char e[GB_JSON_ERR_MAX] = "";
    const char *proto = "TCP", *type = "ClusterIP";
    int64_t v;
    if (!cJSON_IsObject(s)) {
        snprintf(err, GB_JSON_ERR_MAX, "service: must be an object");
        return false;
    }
    if (gb_json_str(s, "protocol", 1, 8, false, &proto, e) == GB_ERR_INVALID ||
        gb_json_int(s, "port", 1, 65535, true, &v, e) ||
        gb_json_int(s, "nodePort", 0, 32767, false, &v, e) == GB_ERR_INVALID ||
        gb_json_int(s, "targetPort", 0, 65535, false, &v, e) == GB_ERR_INVALID ||
        gb_json_str(s, "serviceType", 1, 16, false, &type, e) == GB_ERR_INVALID) {
        snprintf(err, GB_JSON_ERR_MAX, "service: %.200s", e);
        return false;
    }
    if (strcmp(proto, "TCP") != 0 && strcmp(proto, "UDP") != 0) {
        snprintf(err, GB_JSON_ERR_MAX, "service: field 'protocol' must be TCP or UDP");
        return false;
    }
    if (strcmp(type, "ClusterIP") != 0 && strcmp(type, "NodePort") != 0) {
        snprintf(err, GB_JSON_ERR_MAX,
                 "service: field 'serviceType' must be ClusterIP or NodePort");
        return false;
    }
    return true;
}

/* An optional array of at most max strings; false with err naming key otherwise. */
static bool str_array_ok(const cJSON *b, const char *key, int max, const cJSON **out, char *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(b, key), *it;
    *out = NULL;
    if (!a || cJSON_IsNull(a)) return true;
    bool ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) <= max;
    const cJSON *arr = ok ? a : NULL;
    cJSON_ArrayForEach(it, arr) ok =
        ok && cJSON_IsString(it) && it->valuestring[0] && strlen(it->valuestring) < 96;
    if (!ok) {
        snprintf(err, GB_JSON_ERR_MAX, "field '%s' must be an array of at most %d names", key, max);
        return false;
    }
    *out = a;
    return true;
}

/* Replaces *slot with a copy of v (when present). */
static bool keep(cJSON **slot, const cJSON *v)
{
    if (!v || cJSON_IsNull(v)) return true;
    cJSON *c = cJSON_Duplicate(v, 1);
    if (!c) return false;
    cJSON_Delete(*slot);
    *slot = c;
    return true;
}

/* ---- answers ---- */

static int fail(int *status, const char **code, int st, const char *cd, char *err, size_t n,
                const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static int fail(int *status, const char **code, int st, const char *cd, char *err, size_t n,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    *status = st;
    *code = cd;
    return -1;
}

/* The messages of a Kubernetes error aggregate: one as is, several as "[a, b]", repeats
 * dropped (k8s.io/apimachinery util/errors). */
typedef struct {
    char text[512];
    int n;
} agg_t;

static void agg_add(agg_t *g, const char *msg)
{
    if (strstr(g->text, msg)) return;
    size_t l = strlen(g->text);
    snprintf(g->text + l, sizeof(g->text) - l, "%s%s", g->n ? ", " : "", msg);
    g->n++;
}

/* A Go decoder type error for key, as ParseRequestBody reports it. */
static bool typed(const cJSON *b, const char *key, int want, const char *go, const char *owner,
                  char *msg, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, key);
    if (!v || cJSON_IsNull(v) || (v->type & 0xff) & want) return true;
    snprintf(msg, n, "json: cannot unmarshal %s into Go struct field %s.%s of type %s",
             cJSON_IsString(v)   ? "string"
             : cJSON_IsNumber(v) ? "number"
             : cJSON_IsBool(v)   ? "bool"
             : cJSON_IsArray(v)  ? "array"
                                 : "object",
             owner, key, go);
    return false;
}

/* The decoder's checks of the fields the simulator reads; false with msg. */
static bool types_ok(const cJSON *b, const char *owner, char *msg, size_t n)
{
    static const struct {
        const char *key;
        int want;
        const char *go;
    } T[] = {{"displayName", cJSON_String, "string"},
             {"description", cJSON_String, "string"},
             {"workspaceId", cJSON_String, "string"},
             {"workspace", cJSON_String, "string"},
             {"resources", cJSON_Array, "[]v1.WorkloadResource"},
             {"images", cJSON_Array, "[]string"},
             {"entryPoints", cJSON_Array, "[]string"},
             {"groupVersionKind", cJSON_Object, "v1.GroupVersionKind"},
             {"priority", cJSON_Number, "int"},
             {"timeout", cJSON_Number, "int"},
             {"maxRetry", cJSON_Number, "int"},
             {"ttlSecondsAfterFinished", cJSON_Number, "int"},
             {"env", cJSON_Object, "map[string]string"},
             {"customerLabels", cJSON_Object, "map[string]string"},
             {"isSupervised", cJSON_True | cJSON_False, "bool"},
             {"isTolerateAll", cJSON_True | cJSON_False, "bool"},
             {"privileged", cJSON_True | cJSON_False, "bool"},
             {"useWorkspaceStorage", cJSON_True | cJSON_False, "bool"},
             {"forceHostNetwork", cJSON_True | cJSON_False, "bool"},
             {"specifiedNodes", cJSON_Array, "[]string"},
             {"excludedNodes", cJSON_Array, "[]string"},
             {"dependencies", cJSON_Array, "[]string"},
             {"secrets", cJSON_Array, "[]v1.SecretEntity"},
             {"nodesAffinity", cJSON_String, "string"}};
    for (size_t i = 0; i < GB_ARRAY_LEN(T); i++)
        if (!typed(b, T[i].key, T[i].want, T[i].go, owner, msg, n)) return false;
    return true;
}

static const char *unknown_key(const cJSON *b, const char *const *keys)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, b)
    {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], it->string) != 0)
            i++;
        if (!keys[i]) return it->string;
    }
    return NULL;
}

/* resources[] as the webhook leaves them (replica <= 0 dropped, gpu "0" dropped,
 * ephemeralStorage 50Gi by default) into *out; required-field messages go to g; -1 with msg
 * on a field the simulator cannot take (types, quantities, GPUs per node). */
static int read_resources(const cJSON *arr, cJSON **out, agg_t *g, char *msg, size_t n)
{
    static const char *const RKEYS[] = {"replica",          "cpu",          "gpu",
                                        "gpuName",          "memory",       "sharedMemory",
                                        "ephemeralStorage", "rdmaResource", NULL};
    cJSON *res = cJSON_CreateArray();
    const cJSON *r;
    if (!res) return -1;
    cJSON_ArrayForEach(r, arr)
    {
        const char *bad;
        if (!cJSON_IsObject(r)) {
            snprintf(msg, n, "json: cannot unmarshal into Go value of type v1.WorkloadResource");
            goto bad;
        }
        if ((bad = unknown_key(r, RKEYS))) {
            snprintf(msg, n, "json: unknown field \"%.64s\"", bad);
            goto bad;
        }
        if (!typed(r, "replica", cJSON_Number, "int", "WorkloadResource", msg, n)) goto bad;
        static const char *const S[] = {"cpu", "gpu", "memory", "sharedMemory", "ephemeralStorage"};
        for (size_t i = 0; i < GB_ARRAY_LEN(S); i++)
            if (!typed(r, S[i], cJSON_String, "string", "WorkloadResource", msg, n)) goto bad;
        int64_t rep = gb_jint(r, "replica", 0);
        if (rep <= 0) continue; /* mutateResources drops it */
        const char *cpu = gb_jstr(r, "cpu"), *mem = gb_jstr(r, "memory");
        const char *gpu = gb_jstr(r, "gpu"), *sto = gb_jstr(r, "ephemeralStorage");
        const char *shm = gb_jstr(r, "sharedMemory");
        if (!cpu || !cpu[0]) agg_add(g, "the cpu is empty");
        if (!mem || !mem[0]) agg_add(g, "the memory is empty");
        int gp = 0;
        const char *badq = cpu && cpu[0] && !quantity_ok(cpu, true)    ? cpu
                           : mem && mem[0] && !quantity_ok(mem, false) ? mem
                           : sto && sto[0] && !quantity_ok(sto, false) ? sto
                           : shm && shm[0] && !quantity_ok(shm, false) ? shm
                                                                       : NULL;
        if (badq) {
            snprintf(msg, n, "quantities must match the regular expression: '%.24s'", badq);
            goto bad;
        }
        if (gpu && gpu[0] && (gb_parse_int(gpu, 0, 1000, &gp) != 0 || gp > SP_GPUS_PER_NODE)) {
            snprintf(msg, n, "the gpu '%.24s' is more than a node has (%d)", gpu, SP_GPUS_PER_NODE);
            goto bad;
        }
        cJSON *c = cJSON_CreateObject();
        if (!c) goto nomem;
        cJSON_AddItemToArray(res, c);
        cJSON_AddNumberToObject(c, "replica", (double)(rep > 1024 ? 1024 : rep));
        cJSON_AddStringToObject(c, "cpu", cpu ? cpu : "");
        if (gp > 0) cJSON_AddStringToObject(c, "gpu", gpu);
        if (gp > 0) cJSON_AddStringToObject(c, "gpuName", "amd.com/gpu");
        cJSON_AddStringToObject(c, "memory", mem ? mem : "");
        if (shm && shm[0]) cJSON_AddStringToObject(c, "sharedMemory", shm);
        cJSON_AddStringToObject(c, "ephemeralStorage", sto && sto[0] ? sto : "50Gi");
    }
    *out = res;
    return 0;
bad:
    cJSON_Delete(res);
    return -1;
nomem:
    cJSON_Delete(res);
    snprintf(msg, n, "out of memory");
    return -1;
}

/* Sums of resources: pods, GPUs, GPUs of the first. */
static void totals(sp_wl *w)
{
    const cJSON *r;
    w->replica = w->gpus = 0;
    w->gpu_per_replica = 0;
    cJSON_ArrayForEach(r, w->resources)
    {
        int rep = (int)gb_jint(r, "replica", 0), g = 0;
        const char *gs = gb_jstr(r, "gpu");
        if (gs) gb_parse_int(gs, 0, SP_GPUS_PER_NODE, &g);
        if (r == w->resources->child) w->gpu_per_replica = g;
        w->replica += rep;
        w->gpus += g * rep;
    }
}

/* images[] (and entryPoints[], base64 as mutateEntryPoints leaves them) for n resources. */
static int read_lists(const cJSON *b, int n, bool authoring, cJSON **imgs, cJSON **eps, char *msg,
                      size_t mn)
{
    const cJSON *im = cJSON_GetObjectItemCaseSensitive(b, "images");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(b, "entryPoints"), *it;
    *imgs = *eps = NULL;
    if (cJSON_GetArraySize(im) != n) {
        snprintf(msg, mn, "the images must match the length of resources (%d)", n);
        return -1;
    }
    cJSON_ArrayForEach(it, im) if (!cJSON_IsString(it) || !it->valuestring[0] ||
                                   strlen(it->valuestring) > SP_IMAGE_MAX)
    {
        snprintf(msg, mn, "the image is empty or longer than %d characters", SP_IMAGE_MAX);
        return -1;
    }
    if (!authoring && ep && !cJSON_IsNull(ep) && cJSON_GetArraySize(ep) != n) {
        snprintf(msg, mn, "the entryPoints must match the length of resources (%d)", n);
        return -1;
    }
    cJSON *out = cJSON_CreateArray();
    for (int i = 0; out && i < n; i++) {
        const cJSON *e = authoring ? NULL : cJSON_GetArrayItem(ep, i);
        const char *t = cJSON_IsString(e) ? e->valuestring : authoring ? "sleep infinity" : "";
        size_t dl = 0;
        char *enc = NULL;
        if (e && !cJSON_IsString(e)) {
            snprintf(msg, mn, "json: cannot unmarshal into Go struct field of type string");
            cJSON_Delete(out);
            return -1;
        }
        if (t[0] && !sim_primus_b64_ok(t, &dl)) { /* mutateEntryPoints encodes plain text */
            size_t l = strlen(t);
            enc = malloc((l + 2) / 3 * 4 + 1);
            static const char A[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            size_t k = 0;
            for (size_t j = 0; enc && j < l; j += 3) {
                unsigned v = (unsigned)(unsigned char)t[j] << 16;
                if (j + 1 < l) v |= (unsigned)(unsigned char)t[j + 1] << 8;
                if (j + 2 < l) v |= (unsigned char)t[j + 2];
                enc[k++] = A[v >> 18 & 63];
                enc[k++] = A[v >> 12 & 63];
                enc[k++] = j + 1 < l ? A[v >> 6 & 63] : '=';
                enc[k++] = j + 2 < l ? A[v & 63] : '=';
            }
            if (enc) enc[k] = '\0';
            dl = l;
        }
        if (dl > SP_ENTRY_MAX) {
            free(enc);
            snprintf(msg, mn, "the entryPoint is longer than %d bytes", SP_ENTRY_MAX);
            cJSON_Delete(out);
            return -1;
        }
        cJSON_AddItemToArray(out, cJSON_CreateString(enc ? enc : t));
        free(enc);
    }
    *imgs = cJSON_Duplicate(im, 1);
    *eps = out;
    return *imgs && *eps ? 0 : -1;
}

/* The optional fields create and PATCH share; -1 with msg. */
static int shared_fields(const cJSON *b, sp_wl *w, char *msg, size_t n)
{
    char e[GB_JSON_ERR_MAX];
    const char *desc = NULL;
    int64_t prio = w->priority, tmo = w->timeout_s, retry = w->max_retry;
    gb_json_int(b, "priority", INT32_MIN, INT32_MAX, false, &prio, NULL);
    gb_json_int(b, "timeout", 0, INT64_C(31536000), false, &tmo, NULL);
    gb_json_int(b, "maxRetry", INT32_MIN, INT32_MAX, false, &retry, NULL);
    if (gb_json_str(b, "description", 0, SP_DESC_MAX, false, &desc, e) == GB_ERR_INVALID) goto bad;
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(b, "env");
    const cJSON *cron = cJSON_GetObjectItemCaseSensitive(b, "cronJobs");
    const cJSON *svc = cJSON_GetObjectItemCaseSensitive(b, "service");
    if (env && !cJSON_IsNull(env) && !str_map_ok(env, "env", e)) goto bad;
    if (svc && !cJSON_IsNull(svc) && !service_ok(svc, e)) goto bad;
    if (cron && !cJSON_IsNull(cron)) {
        const cJSON *it;
        bool ok = cJSON_IsArray(cron) && cJSON_GetArraySize(cron) <= 16;
        const cJSON *arr = ok ? cron : NULL;
        cJSON_ArrayForEach(it, arr)
        {
            const char *sched, *act;
            if (gb_json_str(it, "schedule", 1, 64, true, &sched, e) ||
                gb_json_str(it, "action", 1, 16, true, &act, e) ||
                (strcmp(act, "start") != 0 && strcmp(act, "scale") != 0))
                ok = false;
        }
        if (!ok) {
            snprintf(e, sizeof(e), "the cronJobs must hold {schedule, action: start or scale}");
            goto bad;
        }
    }
    if (desc) gb_strlcpy(w->description, desc, sizeof(w->description));
    /* mutatePriority clamps to 0-2, mutateMaxRetry to 0-50 */
    w->priority = prio < 0 ? 0 : prio > 2 ? 2 : (int)prio;
    w->max_retry = retry < 0 ? 0 : retry > 50 ? 50 : retry;
    w->timeout_s = tmo;
    if (!keep(&w->env, env) || !keep(&w->cron, cron) || !keep(&w->service, svc)) {
        snprintf(msg, n, "out of memory");
        return -1;
    }
    return 0;
bad:
    gb_strlcpy(msg, e, n);
    return -1;
}

int sim_primus_spec_create(sp_state *st, const cJSON *b, sp_wl *w, int *status, const char **code,
                           char *err, size_t errn)
{
    char msg[400];
    agg_t g = {"", 0};
    cJSON *res = NULL, *imgs = NULL, *eps = NULL;
    if (!cJSON_IsObject(b))
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn,
                    "Bad request. json: cannot unmarshal into Go value of type "
                    "view.CreateWorkloadRequest");
    if (!types_ok(b, "CreateWorkloadRequest", msg, sizeof(msg)))
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn, "Bad request. %s", msg);
    const char *name = gb_jstr(b, "displayName"), *wsid = gb_jstr(b, "workspaceId");
    if (!wsid || !wsid[0]) wsid = gb_jstr(b, "workspace");
    if (!name || !name[0]) agg_add(&g, "the displayName is empty");
    if (!wsid || !wsid[0]) agg_add(&g, "the workspace is empty");
    if (read_resources(cJSON_GetObjectItemCaseSensitive(b, "resources"), &res, &g, msg,
                       sizeof(msg)))
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn, "Bad request. %s", msg);
    if (cJSON_GetArraySize(res) == 0) agg_add(&g, "the resources are empty");
    if (g.n) {
        cJSON_Delete(res);
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn,
                    SP_WEBHOOK "Bad request. %s%s%s", g.n > 1 ? "[" : "", g.text,
                    g.n > 1 ? "]" : "");
    }
    const char *unk = unknown_key(b, CREATE_KEYS), *kind = "PyTorchJob", *ver = "v1";
    if (unk) {
        cJSON_Delete(res);
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn,
                    "Bad request. json: unknown field \"%.64s\"", unk);
    }
    const cJSON *gvk = cJSON_GetObjectItemCaseSensitive(b, "groupVersionKind");
    if (gb_jstr(gvk, "kind") && gb_jstr(gvk, "kind")[0]) kind = gb_jstr(gvk, "kind");
    if (gb_jstr(gvk, "version") && gb_jstr(gvk, "version")[0]) ver = gb_jstr(gvk, "version");
    size_t k = 0;
    while (k < GB_ARRAY_LEN(KINDS) && strcmp(KINDS[k], kind) != 0)
        k++;
    if (k == GB_ARRAY_LEN(KINDS) || strlen(name) > SP_NAME_MAX) {
        cJSON_Delete(res);
        if (k == GB_ARRAY_LEN(KINDS))
            return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn,
                        SP_WEBHOOK "Bad request. the resource template of %.32s is not found",
                        kind);
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn,
                    SP_WEBHOOK "Bad request. the displayName is longer than %d", SP_NAME_MAX);
    }
    bool authoring = k == 3;
    int n = cJSON_GetArraySize(res);
    if (read_lists(b, n, authoring, &imgs, &eps, msg, sizeof(msg))) {
        cJSON_Delete(res);
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn, SP_WEBHOOK "Bad request. %s",
                    msg);
    }
    if (authoring) { /* mutateAuthoring: one resource of one replica */
        while (cJSON_GetArraySize(res) > 1) {
            cJSON_DeleteItemFromArray(res, 1);
            cJSON_DeleteItemFromArray(imgs, 1);
            cJSON_DeleteItemFromArray(eps, 1);
        }
        cJSON_ReplaceItemInObject(res->child, "replica", cJSON_CreateNumber(1));
    }
    cJSON_Delete(w->resources);
    cJSON_Delete(w->images);
    cJSON_Delete(w->entry_points);
    w->resources = res;
    w->images = imgs;
    w->entry_points = eps;
    totals(w);
    const cJSON *nodes = NULL, *deps = NULL, *excl = NULL;
    char e[GB_JSON_ERR_MAX];
    int64_t ttl = 60;
    bool sup = false, tol = false, priv = false, uws = true, fhn = false;
    gb_json_int(b, "ttlSecondsAfterFinished", 0, INT32_MAX, false, &ttl, NULL);
    gb_json_bool(b, "isSupervised", false, &sup, NULL);
    gb_json_bool(b, "isTolerateAll", false, &tol, NULL);
    gb_json_bool(b, "privileged", false, &priv, NULL);
    gb_json_bool(b, "useWorkspaceStorage", false, &uws, NULL);
    gb_json_bool(b, "forceHostNetwork", false, &fhn, NULL);
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(b, "customerLabels");
    if (!str_array_ok(b, "specifiedNodes", 16, &nodes, e) ||
        !str_array_ok(b, "excludedNodes", 64, &excl, e) ||
        !str_array_ok(b, "dependencies", 64, &deps, e) ||
        (labels && !cJSON_IsNull(labels) && !str_map_ok(labels, "customerLabels", e)) ||
        shared_fields(b, w, e, sizeof(e)))
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn, "Bad request. %s", e);
    bool service = k == 1 || k == 2;
    static const char *const probes[] = {"liveness", "readiness"};
    for (int i = 0; i < 2; i++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(b, probes[i]);
        if (!p || cJSON_IsNull(p) || !service) continue; /* mutateHealthCheck drops them */
        if (!probe_ok(p, probes[i], e))
            return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn, "Bad request. %s", e);
        if (!keep(i ? &w->readiness : &w->liveness, p)) goto nomem;
    }
    int wi = sim_primus_ws_find(st, wsid);
    if (wi < 0)
        return fail(status, code, 404, SP_E_WS_NOT_FOUND, err, errn, "Workspace %.63s not found.",
                    wsid);
    if (w->gpus > st->ws[wi].total_gpus)
        return fail(status, code, 503, SP_E_QUOTA, err, errn,
                    "Insufficient resource quota: %d GPUs requested, workspace %s has %d", w->gpus,
                    st->ws[wi].id, st->ws[wi].total_gpus);
    w->ws = wi;
    gb_strlcpy(w->display_name, name, sizeof(w->display_name));
    gb_strlcpy(w->kind, KINDS[k], sizeof(w->kind));
    gb_strlcpy(w->version, ver, sizeof(w->version));
    const char *aff = gb_jstr(b, "nodesAffinity");
    gb_strlcpy(w->nodes_affinity,
               cJSON_GetArraySize(nodes) ? (aff && aff[0] ? aff : "required") : "",
               sizeof(w->nodes_affinity));
    w->ttl_after_s = ttl;
    w->supervised = sup && !authoring && !service;
    w->tolerate_all = tol;
    w->privileged = priv;
    w->use_ws_storage = uws;
    w->force_host_net = fhn;
    if (!keep(&w->labels, labels) || !keep(&w->nodes_spec, nodes) || !keep(&w->deps, deps) ||
        !keep(&w->excluded, excl) ||
        !keep(&w->secrets, cJSON_GetObjectItemCaseSensitive(b, "secrets")))
        goto nomem;
    return 0;
nomem:
    return fail(status, code, 500, SP_E_INTERNAL, err, errn, "Internal error. out of memory");
}

int sim_primus_spec_patch(const cJSON *b, sp_wl *w, int *status, const char **code, char *err,
                          size_t errn)
{
    char msg[400];
    agg_t g = {"", 0};
    /* patchWorkload wraps the decoder's "Bad request." error in another NewBadRequest */
    if (!cJSON_IsObject(b))
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn,
                    "Bad request. Bad request. json: cannot unmarshal into Go value of type "
                    "view.PatchWorkloadRequest");
    if (!types_ok(b, "PatchWorkloadRequest", msg, sizeof(msg)))
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn, "Bad request. Bad request. %s",
                    msg);
    const char *unk = unknown_key(b, PATCH_KEYS);
    if (unk)
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn,
                    "Bad request. Bad request. json: unknown field \"%.64s\"", unk);
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(b, "resources");
    if (ra && !cJSON_IsNull(ra)) {
        cJSON *res = NULL;
        if (read_resources(ra, &res, &g, msg, sizeof(msg)))
            return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn, "Bad request. %s", msg);
        if (cJSON_GetArraySize(res) == 0) agg_add(&g, "the resources are empty");
        if (g.n) {
            cJSON_Delete(res);
            return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn,
                        SP_WEBHOOK "Bad request. %s%s%s", g.n > 1 ? "[" : "", g.text,
                        g.n > 1 ? "]" : "");
        }
        if (strcmp(w->kind, "Authoring") == 0) {
            while (cJSON_GetArraySize(res) > 1)
                cJSON_DeleteItemFromArray(res, 1);
            cJSON_ReplaceItemInObject(res->child, "replica", cJSON_CreateNumber(1));
        }
        cJSON_Delete(w->resources); /* w is the caller's copy */
        w->resources = res;
        totals(w);
    }
    int n = cJSON_GetArraySize(w->resources);
    const cJSON *im = cJSON_GetObjectItemCaseSensitive(b, "images");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(b, "entryPoints");
    bool authoring = strcmp(w->kind, "Authoring") == 0;
    if (cJSON_GetArraySize(im) > 0 || (cJSON_GetArraySize(ep) > 0 && !authoring)) {
        /* applyWorkloadPatch keeps the current list when the request's is empty */
        cJSON *tmp = cJSON_CreateObject(), *imgs = NULL, *eps = NULL;
        if (!tmp) return fail(status, code, 500, SP_E_INTERNAL, err, errn, "Internal error.");
        cJSON_AddItemToObject(tmp, "images",
                              cJSON_Duplicate(cJSON_GetArraySize(im) ? im : w->images, 1));
        if (cJSON_GetArraySize(ep) > 0)
            cJSON_AddItemToObject(tmp, "entryPoints", cJSON_Duplicate(ep, 1));
        else
            cJSON_AddItemToObject(tmp, "entryPoints", cJSON_Duplicate(w->entry_points, 1));
        int r = read_lists(tmp, n, authoring, &imgs, &eps, msg, sizeof(msg));
        cJSON_Delete(tmp);
        if (r)
            return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn,
                        SP_WEBHOOK "Bad request. %s", msg);
        cJSON_Delete(w->images);
        cJSON_Delete(w->entry_points);
        w->images = imgs;
        w->entry_points = eps;
    } else if (cJSON_GetArraySize(w->images) != n) {
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn,
                    SP_WEBHOOK "Bad request. the images must match the length of resources (%d)",
                    n);
    }
    if (shared_fields(b, w, msg, sizeof(msg)))
        return fail(status, code, 400, SP_E_BAD_REQUEST, err, errn, "Bad request. %s", msg);
    return 0;
}

const char *sim_primus_image(const sp_wl *w)
{
    const cJSON *i = cJSON_GetArrayItem(w->images, 0);
    return cJSON_IsString(i) ? i->valuestring : "";
}

char *sim_primus_command(const sp_wl *w)
{
    const cJSON *e = cJSON_GetArrayItem(w->entry_points, 0);
    return sim_primus_b64_decode(cJSON_IsString(e) ? e->valuestring : "");
}
