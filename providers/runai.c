/* runai.c: the NVIDIA Run:ai adapter's plumbing: the access token (client credentials at
 * POST /api/v1/token, cached per adapter and refreshed before it expires or after a 401), one
 * authenticated call, error mapping, the phase table and the operator's settings.
 *
 * Phase -> normalized status (DESIGN.md section 4), case-insensitive:
 *   Creating, Pending                 -> pending   (not placed by the scheduler yet)
 *   Initializing, Resuming            -> deploying (GPUs allocated, containers starting)
 *   Running, Updating, Degraded       -> running   (GPUs held and the workload is up: an
 *                                        update or a degraded replica does not stop billing)
 *   Stopping, Terminating, Deleting   -> stopping
 *   Stopped -> stopped; Completed -> succeeded; Failed -> failed; Deleted -> deleted;
 *   Unknown and anything else         -> unknown */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/runai_int.h"

#define TOKEN_MAX 16384 /* an access token (a JWT) we accept */
#define CLIENT_ID_MAX 512
#define CLIENT_SECRET_MAX 4096
#define DEFAULT_TOKEN_LIFE_S 3600 /* when the answer has no expiresIn */
#define MAX_TOKEN_LIFE_S (30 * 86400)
#define REFRESH_MARGIN_MS 60000 /* refresh when less than 60 s (or 10% of the life) remain */

typedef struct {
    pthread_mutex_t mu;
    char *token;        /* NULL = none yet */
    int64_t refresh_at; /* gb_now_ms() after which a new token is fetched first */
    uint64_t gen;       /* bumped with each new token */
} runai_state;

static pthread_mutex_t g_state_mu = PTHREAD_MUTEX_INITIALIZER;

static void wipe_free(char *s)
{
    if (s) gb_memzero(s, strlen(s));
    free(s);
}

void prov_runai_state_free(void *state)
{
    runai_state *st = state;
    if (!st) return;
    wipe_free(st->token);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* The adapter's token cache, made on first use (adapters have no init hook). */
static runai_state *state_of(prov_adapter *a)
{
    pthread_mutex_lock(&g_state_mu);
    if (!a->state) {
        runai_state *st = calloc(1, sizeof(*st));
        if (st && pthread_mutex_init(&st->mu, NULL) != 0) {
            free(st);
            st = NULL;
        }
        a->state = st;
    }
    runai_state *st = a->state;
    pthread_mutex_unlock(&g_state_mu);
    return st;
}

const char *prov_runai_str(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

bool prov_runai_uuid_ok(const char *id)
{
    static const char hex[] = "0123456789abcdefABCDEF";
    if (!id || strlen(id) != 36) return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : !strchr(hex, id[i])) return false;
    }
    return true;
}

static bool printable(const char *s, bool allow_space)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || (!allow_space && *s == ' ')) return false;
    return true;
}

/* ---- errors ---- */

/* prov_status_error, plus 429 -> GB_ERR_LIMIT and Run:ai's quota/capacity refusals (400, 403,
 * 409, 422 or 503 whose message speaks of capacity or quota) -> GB_ERR_CAPACITY. */
static gb_err runai_error(prov_adapter *a, const gb_http_resp *r, char *err)
{
    static const char *const words[] = {"insufficient capacity", "no capacity", "not enough gpu",
                                        "insufficient gpu", "quota"};
    gb_err e = prov_status_error(a, r, err);
    if (r->status == 429) e = GB_ERR_LIMIT;
    long s = r->status;
    if (s == 400 || s == 403 || s == 409 || s == 422 || s == 503)
        for (size_t i = 0; i < GB_ARRAY_LEN(words); i++)
            if (gb_str_icontains(err, words[i])) e = GB_ERR_CAPACITY;
    return e;
}

/* ---- the access token ---- */

/* POST /api/v1/token with the client credentials; caller holds st->mu. */
static gb_err fetch_token(prov_adapter *a, runai_state *st, char *err)
{
    gb_err e = GB_ERR_NOMEM;
    cJSON *body = NULL, *j = NULL;
    gb_http_resp r = {0};
    char *id = NULL;
    const char *colon = strchr(a->secret, ':');
    size_t idlen = colon ? (size_t)(colon - a->secret) : 0;
    if (!colon || idlen == 0 || idlen > CLIENT_ID_MAX || !colon[1] ||
        strlen(colon + 1) > CLIENT_SECRET_MAX || !printable(a->secret, false)) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: the secret must be 'clientID:clientSecret' (an application's client "
                 "credentials, printable, no spaces)",
                 a->name);
        return GB_ERR_AUTH;
    }
    if (!(id = gb_strndup(a->secret, idlen)) || !(body = cJSON_CreateObject()) ||
        !cJSON_AddStringToObject(body, "grantType", "client_credentials") ||
        !cJSON_AddStringToObject(body, "clientID", id) ||
        !cJSON_AddStringToObject(body, "clientSecret", colon + 1))
        goto done;
    e = prov_http(a, "POST", RUNAI_TOKEN_PATH, NULL, body, true, &r, err);
    if (e) goto done;
    if (r.status < 200 || r.status > 299) {
        char why[PROV_ERR_MAX];
        e = runai_error(a, &r, why);
        if (r.status == 400) e = GB_ERR_AUTH;     /* a grant Run:ai will not take */
        if (r.status == 404) e = GB_ERR_PROVIDER; /* no token endpoint at base_url */
        snprintf(err, PROV_ERR_MAX, "%s: no access token (POST %s): %.300s%s", a->name,
                 RUNAI_TOKEN_PATH, why,
                 e == GB_ERR_AUTH ? "; check the clientID:clientSecret credentials" : "");
        goto done;
    }
    if ((e = prov_parse_json(a, &r, &j, err))) goto done;
    const char *tok = prov_runai_str(j, "accessToken");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expiresIn");
    if (!tok || !tok[0] || strlen(tok) > TOKEN_MAX || !printable(tok, false)) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: no usable accessToken", a->name);
        e = GB_ERR_PROVIDER;
        goto done;
    }
    int64_t life = DEFAULT_TOKEN_LIFE_S;
    if (cJSON_IsNumber(exp) && exp->valuedouble >= 1)
        life = exp->valuedouble > MAX_TOKEN_LIFE_S ? MAX_TOKEN_LIFE_S : (int64_t)exp->valuedouble;
    life *= 1000;
    int64_t margin = life / 10 > REFRESH_MARGIN_MS ? life / 10 : REFRESH_MARGIN_MS;
    if (margin > life / 2) margin = life / 2;
    char *copy = gb_strdup(tok);
    if (!copy) {
        e = GB_ERR_NOMEM;
        goto done;
    }
    wipe_free(st->token);
    st->token = copy;
    st->refresh_at = gb_now_ms() + life - margin;
    st->gen++;
    e = GB_OK;
done:
    if (body) {
        cJSON *cs = cJSON_GetObjectItemCaseSensitive(body, "clientSecret");
        if (cJSON_IsString(cs)) gb_memzero(cs->valuestring, strlen(cs->valuestring));
    }
    if (j) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "accessToken");
        if (cJSON_IsString(t)) gb_memzero(t->valuestring, strlen(t->valuestring));
    }
    if (r.body) gb_memzero(r.body, r.body_len);
    gb_http_resp_free(&r);
    cJSON_Delete(body);
    cJSON_Delete(j);
    wipe_free(id);
    return e;
}

/* A copy of a usable token (*gen its generation). A new one is fetched when there is none, when
 * it is close to expiry, or when force is set and the cached one is still generation stale. */
static gb_err token_get(prov_adapter *a, bool force, uint64_t stale, char **tok, uint64_t *gen,
                        char *err)
{
    runai_state *st = state_of(a);
    if (!st) return GB_ERR_NOMEM;
    gb_err e = GB_OK;
    pthread_mutex_lock(&st->mu);
    if (!st->token || gb_now_ms() >= st->refresh_at || (force && st->gen == stale))
        e = fetch_token(a, st, err);
    if (!e) {
        *tok = gb_strdup(st->token);
        *gen = st->gen;
        if (!*tok) e = GB_ERR_NOMEM;
    }
    pthread_mutex_unlock(&st->mu);
    return e;
}

gb_err prov_runai_call(prov_adapter *a, const char *method, const char *path, const cJSON *body,
                       bool idempotent, cJSON **out, long *status, char *err)
{
    if (out) *out = NULL;
    if (status) *status = 0;
    uint64_t gen = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *tok = NULL;
        gb_http_resp r = {0};
        gb_err e = token_get(a, attempt > 0, gen, &tok, &gen, err);
        if (e) return e;
        char *hdr = gb_asprintf("Authorization: Bearer %s", tok);
        wipe_free(tok);
        if (!hdr) return GB_ERR_NOMEM;
        const char *const hdrs[] = {hdr, NULL};
        e = prov_http(a, method, path, hdrs, body, idempotent, &r, err);
        wipe_free(hdr);
        if (e) {
            gb_http_resp_free(&r);
            return e;
        }
        if (status) *status = r.status;
        if (r.status == 401 && attempt == 0) { /* expired or revoked: one fresh token */
            gb_http_resp_free(&r);
            continue;
        }
        if (r.status < 200 || r.status > 299) {
            e = runai_error(a, &r, err);
            size_t l = strlen(err);
            if (r.status == 401 && l + 40 < PROV_ERR_MAX)
                snprintf(err + l, PROV_ERR_MAX - l, " (also with a fresh access token)");
        } else if (out && r.body_len > 0) {
            e = prov_parse_json(a, &r, out, err);
        }
        gb_http_resp_free(&r);
        return e;
    }
    return GB_ERR_INTERNAL; /* not reached */
}

/* ---- phases ---- */

static const struct {
    const char *raw;
    pod_status st;
} PHASES[] = {
    {"Creating", POD_PENDING},   {"Pending", POD_PENDING},   {"Initializing", POD_DEPLOYING},
    {"Resuming", POD_DEPLOYING}, {"Running", POD_RUNNING},   {"Updating", POD_RUNNING},
    {"Degraded", POD_RUNNING},   {"Stopping", POD_STOPPING}, {"Terminating", POD_STOPPING},
    {"Deleting", POD_STOPPING},  {"Stopped", POD_STOPPED},   {"Completed", POD_SUCCEEDED},
    {"Failed", POD_FAILED},      {"Deleted", POD_DELETED},   {"Unknown", POD_UNKNOWN},
};

pod_status prov_runai_map_status(const char *raw)
{
    for (size_t i = 0; raw && i < GB_ARRAY_LEN(PHASES); i++)
        if (gb_str_ieq(raw, PHASES[i].raw)) return PHASES[i].st;
    return POD_UNKNOWN;
}

/* ---- settings ---- */

static gb_err setting_str(const cJSON *j, const char *key, size_t max, char *out, size_t n,
                          char *jerr)
{
    const char *v = NULL;
    gb_err e = gb_json_str(j, key, 1, max, false, &v, jerr);
    if (e == GB_OK) gb_strlcpy(out, v, n);
    return e == GB_ERR_INVALID ? e : GB_OK;
}

gb_err prov_runai_settings(prov_adapter *a, runai_settings *s, char *err)
{
    const cJSON *j = a->settings;
    char jerr[GB_JSON_ERR_MAX] = "";
    int64_t v;
    memset(s, 0, sizeof(*s));
    s->gpus_per_node = 8;
    if (j && !cJSON_IsObject(j)) {
        snprintf(err, PROV_ERR_MAX, "%s: settings must be a JSON object", a->name);
        return GB_ERR_INVALID;
    }
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(j, "rate_per_gpu_hour");
    if (rate && !cJSON_IsNull(rate)) {
        int bad = cJSON_IsString(rate)   ? gb_money_parse(rate->valuestring, &s->rate)
                  : cJSON_IsNumber(rate) ? gb_money_from_double(rate->valuedouble, &s->rate)
                                         : -1;
        if (bad || s->rate <= 0 || s->rate > 100000 * GB_MONEY_PER_DOLLAR) {
            snprintf(jerr, sizeof(jerr),
                     "field 'rate_per_gpu_hour' must be a positive amount in dollars (\"1.80\")");
            goto bad;
        }
        s->has_rate = true;
    }
    if (setting_str(j, "gpu_type", 95, s->gpu_name, sizeof(s->gpu_name), jerr) ||
        setting_str(j, "location", 63, s->location, sizeof(s->location), jerr) ||
        setting_str(j, "project", 63, s->project, sizeof(s->project), jerr) ||
        setting_str(j, "cluster_id", 63, s->cluster_id, sizeof(s->cluster_id), jerr))
        goto bad;
    if (!s->gpu_name[0]) gb_strlcpy(s->gpu_name, "GPU", sizeof(s->gpu_name));
    prov_gpu_normalize(s->gpu_name, s->gpu_type, &s->gpu_vram_gb);
    gb_err e = gb_json_int(j, "gpu_vram_gb", 0, 4096, false, &v, jerr);
    if (e == GB_OK) s->gpu_vram_gb = (int)v;
    if (e == GB_ERR_INVALID) goto bad;
    e = gb_json_int(j, "gpus_per_node", 1, RUNAI_MAX_GPUS, false, &v, jerr);
    if (e == GB_OK) s->gpus_per_node = (int)v;
    if (e == GB_ERR_INVALID) goto bad;
    s->max_gpus = s->gpus_per_node;
    e = gb_json_int(j, "max_gpus", 1, 1000000, false, &v, jerr);
    if (e == GB_OK) s->max_gpus = (int)v;
    if (e == GB_ERR_INVALID) goto bad;
    return GB_OK;
bad:
    snprintf(err, PROV_ERR_MAX, "%s: settings: %s", a->name, jerr);
    return GB_ERR_INVALID;
}

/* ---- workloads ---- */

/* A member at the top level of a workload object or under its "metadata". */
static const cJSON *member(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v))
        v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "metadata"), key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static const char *member_str(const cJSON *j, const char *key)
{
    const cJSON *v = member(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A GPU count: a number (Run:ai allows fractions: rounded up) or a numeric string. */
static int gpu_value(const cJSON *v)
{
    double d = -1;
    if (cJSON_IsNumber(v)) d = v->valuedouble;
    int n = 0;
    if (cJSON_IsString(v) && gb_parse_int(v->valuestring, 0, 100000, &n) == 0) d = n;
    if (!(d >= 0 && d <= 100000)) return 0;
    int i = (int)d;
    return d > i ? i + 1 : i;
}

int prov_runai_workload_gpus(const cJSON *j)
{
    const cJSON *v = member(j, "requestedGPUs");
    if (v) return gpu_value(v);
    const cJSON *m = member(j, "rawManifest");
    if (!cJSON_IsObject(m)) return 0;
    cJSON *c = prov_runai_manifest_container((cJSON *)m);
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "resources"),
                                         "limits"),
        "nvidia.com/gpu");
    return gpu_value(lim);
}

int prov_runai_parse_workload(const runai_settings *s, const cJSON *j, prov_pod *out)
{
    memset(out, 0, sizeof(*out));
    const char *id = cJSON_IsObject(j) ? member_str(j, "id") : NULL;
    if (!id || !id[0] || strlen(id) >= sizeof(out->provider_id)) return -1;
    gb_strlcpy(out->provider_id, id, sizeof(out->provider_id));
    const char *v;
    if ((v = member_str(j, "name"))) gb_strlcpy(out->name, v, sizeof(out->name));
    if ((v = member_str(j, "phase"))) gb_strlcpy(out->raw_status, v, sizeof(out->raw_status));
    out->status = prov_runai_map_status(out->raw_status);
    if ((v = member_str(j, "phaseMessage"))) gb_strlcpy(out->message, v, sizeof(out->message));
    out->gpu_count = prov_runai_workload_gpus(j);
    gb_strlcpy(out->gpu_type, s->gpu_type, sizeof(out->gpu_type));
    if (s->has_rate) out->price_per_hour = s->rate * out->gpu_count;
    if ((v = member_str(j, "createdAt")) && gb_time_parse(v, &out->created_at)) out->created_at = 0;
    return 0;
}
