/* runai_auth.c: the Run:ai adapter's state: the access token (prov_ops.auth) and the cache of
 * project ids. Sources (public OpenAPI spec, runai-professional-services/runapy,
 * .generator/swagger.json 1.224.0, tag "Tokens" and "Projects"):
 *  - POST /api/v2/token, application/x-www-form-urlencoded {grant_type=client_credentials,
 *    client_id, client_secret} -> 200 OAuth2TokenResponse {access_token, token_type,
 *    expires_in}; 400/401 OAuth2Error {error, error_description}. New in spec 1.224.0: tried
 *    first; a 404 or 405 (an older control plane) switches this adapter to v1 for good.
 *  - POST /api/v1/token, JSON TokenRequest {grantType:"client_credentials", clientID,
 *    clientSecret} -> 200 TokenResponse {accessToken, expiresIn}.
 *  - GET /api/v1/org-unit/projects?filterBy=name==<name> -> {projects:[{id, name, clusterId,
 *    ...}], next}: workloads v2 take metadata.projectId, an id, not the project's name. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/runai_int.h"

#define TOKEN_MAX 16384 /* an access token (a JWT) we accept */
#define CLIENT_ID_MAX 512
#define CLIENT_SECRET_MAX 4096
#define DEFAULT_TOKEN_LIFE_S 3600 /* when the answer has no expiry */
#define MAX_TOKEN_LIFE_S (30 * 86400)
#define REFRESH_MARGIN_MS 60000 /* refresh when less than 60 s (or 10% of the life) remain */
#define PROJECT_CACHE 16

typedef enum { TOKEN_V2 = 0, TOKEN_V1 } token_api;

typedef struct {
    char name[64], cluster[64]; /* the key */
    char id[64], cluster_id[64];
} project_entry;

typedef struct {
    pthread_mutex_t mu;
    char *hdr;          /* "Authorization: Bearer <token>"; NULL = none yet */
    int64_t refresh_at; /* gb_now_ms() after which a new token is fetched first */
    token_api api;
    project_entry projects[PROJECT_CACHE];
    int nprojects, next_slot;
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
    wipe_free(st->hdr);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* The adapter's state, made on first use (adapters have no init hook). */
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

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) return false;
    return true;
}

/* Appends s percent-encoded for a form body (RFC 3986 unreserved characters kept). */
static gb_err form_put(gb_buf *b, const char *s)
{
    gb_err e = GB_OK;
    for (; !e && *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
        e = keep ? gb_buf_append(b, s, 1) : gb_buf_printf(b, "%%%02X", c);
    }
    return e;
}

/* The token answer's reason: OAuth2Error {error, error_description} or Run:ai's Error. */
static void token_reason(prov_adapter *a, const gb_http_resp *r, char *why)
{
    cJSON *j = cJSON_ParseWithLength(r->body ? r->body : "", r->body_len);
    const char *code = gb_jstr(j, "error"), *desc = gb_jstr(j, "error_description");
    if (code)
        snprintf(why, PROV_ERR_MAX, "HTTP %ld: %.200s%s%.100s%s", r->status, desc ? desc : code,
                 desc ? " (" : "", desc ? code : "", desc ? ")" : "");
    else
        prov_runai_error(a, r, why);
    cJSON_Delete(j);
}

/* One token request on api; *life_s and *tok (caller wipes and frees) on success. *missing is
 * set when the endpoint does not exist (404/405). */
static gb_err token_request(prov_adapter *a, token_api api, const char *id, const char *secret,
                            char **tok, int64_t *life_s, bool *missing, char *err)
{
    gb_err e = GB_ERR_NOMEM;
    gb_buf form = {0};
    cJSON *body = NULL, *j = NULL;
    gb_http_resp r = {0};
    const char *path = api == TOKEN_V2 ? RUNAI_TOKEN_V2 : RUNAI_TOKEN_V1;
    *missing = false;
    if (api == TOKEN_V2) {
        if (gb_buf_puts(&form, "grant_type=client_credentials&client_id=") || form_put(&form, id) ||
            gb_buf_puts(&form, "&client_secret=") || form_put(&form, secret))
            goto done;
        e = prov_http_raw(a, "POST", path, NULL, "application/x-www-form-urlencoded", form.data,
                          form.len, true, &r, err);
    } else {
        if (!(body = cJSON_CreateObject()) ||
            !cJSON_AddStringToObject(body, "grantType", "client_credentials") ||
            !cJSON_AddStringToObject(body, "clientID", id) ||
            !cJSON_AddStringToObject(body, "clientSecret", secret))
            goto done;
        e = prov_http(a, "POST", path, NULL, body, true, &r, err);
    }
    if (e) goto done;
    if (r.status < 200 || r.status > 299) {
        char why[PROV_ERR_MAX];
        token_reason(a, &r, why);
        *missing = r.status == 404 || r.status == 405;
        e = r.status == 400 || r.status == 401 || r.status == 403 ? GB_ERR_AUTH
            : r.status == 429                                     ? GB_ERR_LIMIT
                                                                  : GB_ERR_PROVIDER;
        snprintf(err, PROV_ERR_MAX, "%s: no access token (POST %s): %.300s%s", a->name, path, why,
                 e == GB_ERR_AUTH ? "; check the clientID:clientSecret credentials" : "");
        goto done;
    }
    if ((e = prov_parse_json(a, &r, &j, err))) goto done;
    const char *t = gb_jstr(j, api == TOKEN_V2 ? "access_token" : "accessToken");
    double life = gb_jnum(j, api == TOKEN_V2 ? "expires_in" : "expiresIn", 0);
    if (!t || !t[0] || strlen(t) > TOKEN_MAX || !printable(t)) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: no usable %s", a->name,
                 api == TOKEN_V2 ? "access_token" : "accessToken");
        e = GB_ERR_PROVIDER;
        goto done;
    }
    *life_s = life >= 1 ? (life > MAX_TOKEN_LIFE_S ? MAX_TOKEN_LIFE_S : (int64_t)life)
                        : DEFAULT_TOKEN_LIFE_S;
    e = (*tok = gb_strdup(t)) ? GB_OK : GB_ERR_NOMEM;
done:
    if (form.data) gb_memzero(form.data, form.len);
    gb_buf_free(&form);
    if (body) {
        cJSON *cs = cJSON_GetObjectItemCaseSensitive(body, "clientSecret");
        if (cJSON_IsString(cs)) gb_memzero(cs->valuestring, strlen(cs->valuestring));
    }
    if (j) {
        cJSON *at =
            cJSON_GetObjectItemCaseSensitive(j, api == TOKEN_V2 ? "access_token" : "accessToken");
        if (cJSON_IsString(at)) gb_memzero(at->valuestring, strlen(at->valuestring));
    }
    if (r.body) gb_memzero(r.body, r.body_len);
    gb_http_resp_free(&r);
    cJSON_Delete(body);
    cJSON_Delete(j);
    return e;
}

/* A new token into st (caller holds st->mu): v2 first, v1 where v2 does not exist. */
static gb_err fetch_token(prov_adapter *a, runai_state *st, char *err)
{
    const char *colon = strchr(a->secret, ':');
    size_t idlen = colon ? (size_t)(colon - a->secret) : 0;
    if (!colon || idlen == 0 || idlen > CLIENT_ID_MAX || !colon[1] ||
        strlen(colon + 1) > CLIENT_SECRET_MAX || !printable(a->secret)) {
        snprintf(err, PROV_ERR_MAX,
                 "%s: the secret must be 'clientID:clientSecret' (an application's client "
                 "credentials, printable, no spaces)",
                 a->name);
        return GB_ERR_AUTH;
    }
    char *id = gb_strndup(a->secret, idlen), *tok = NULL;
    if (!id) return GB_ERR_NOMEM;
    int64_t life = 0;
    bool missing = false;
    gb_err e = token_request(a, st->api, id, colon + 1, &tok, &life, &missing, err);
    if (e && missing && st->api == TOKEN_V2) { /* a control plane before spec 1.224.0 */
        st->api = TOKEN_V1;
        e = token_request(a, TOKEN_V1, id, colon + 1, &tok, &life, &missing, err);
    }
    wipe_free(id);
    if (e) return e;
    char *hdr = gb_asprintf("Authorization: Bearer %s", tok);
    wipe_free(tok);
    if (!hdr) return GB_ERR_NOMEM;
    int64_t ms = life * 1000;
    int64_t margin = ms / 10 > REFRESH_MARGIN_MS ? ms / 10 : REFRESH_MARGIN_MS;
    if (margin > ms / 2) margin = ms / 2;
    wipe_free(st->hdr);
    st->hdr = hdr;
    st->refresh_at = gb_now_ms() + ms - margin;
    return GB_OK;
}

gb_err prov_runai_auth(prov_adapter *a, const char *rejected, char **hdr, char *err)
{
    *hdr = NULL;
    runai_state *st = state_of(a);
    if (!st) return GB_ERR_NOMEM;
    gb_err e = GB_OK;
    pthread_mutex_lock(&st->mu);
    /* a refused header that is still the cached one: fetch anew (another thread may already
     * have done so, then its token is used) */
    bool stale = rejected && st->hdr && strcmp(rejected, st->hdr) == 0;
    if (!st->hdr || stale || gb_now_ms() >= st->refresh_at) e = fetch_token(a, st, err);
    if (!e && !(*hdr = gb_strdup(st->hdr))) e = GB_ERR_NOMEM;
    pthread_mutex_unlock(&st->mu);
    return e;
}

/* ---- projects ---- */

static bool cached_project(runai_state *st, const char *name, const char *cluster, char id[64],
                           char cluster_out[64])
{
    bool hit = false;
    pthread_mutex_lock(&st->mu);
    for (int i = 0; i < st->nprojects && !hit; i++) {
        project_entry *p = &st->projects[i];
        if (strcmp(p->name, name) != 0 || strcmp(p->cluster, cluster) != 0) continue;
        gb_strlcpy(id, p->id, 64);
        gb_strlcpy(cluster_out, p->cluster_id, 64);
        hit = true;
    }
    pthread_mutex_unlock(&st->mu);
    return hit;
}

static void cache_project(runai_state *st, const char *name, const char *cluster, const char *id,
                          const char *cluster_id)
{
    pthread_mutex_lock(&st->mu);
    project_entry *p = &st->projects[st->next_slot];
    st->next_slot = (st->next_slot + 1) % PROJECT_CACHE;
    if (st->nprojects < PROJECT_CACHE) st->nprojects++;
    gb_strlcpy(p->name, name, sizeof(p->name));
    gb_strlcpy(p->cluster, cluster, sizeof(p->cluster));
    gb_strlcpy(p->id, id, sizeof(p->id));
    gb_strlcpy(p->cluster_id, cluster_id, sizeof(p->cluster_id));
    pthread_mutex_unlock(&st->mu);
}

gb_err prov_runai_project_id(prov_adapter *a, const char *name, const char *cluster, char id[64],
                             char cluster_out[64], char *err)
{
    runai_state *st = state_of(a);
    if (!st) return GB_ERR_NOMEM;
    if (cached_project(st, name, cluster, id, cluster_out)) return GB_OK;
    char path[160];
    cJSON *j = NULL;
    /* names are DNS labels (checked by the callers): no escaping needed but for "==" */
    snprintf(path, sizeof(path), RUNAI_PROJECTS "?filterBy=name%%3D%%3D%s&limit=100", name);
    gb_err e = prov_call(a, "GET", path, NULL, true, &j, NULL, err);
    if (e) return e;
    int found = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(j, "projects"))
    {
        const char *pn = gb_jstr(p, "name"), *pc = gb_jstr(p, "clusterId");
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(p, "id");
        if (!pn || strcmp(pn, name) != 0 || (cluster[0] && (!pc || strcmp(pc, cluster) != 0)))
            continue;
        if (cJSON_IsString(pid) && pid->valuestring[0] && strlen(pid->valuestring) < 64)
            gb_strlcpy(id, pid->valuestring, 64);
        else if (cJSON_IsNumber(pid) && pid->valuedouble >= 0 && pid->valuedouble < 1e15)
            snprintf(id, 64, "%.0f", pid->valuedouble);
        else
            continue;
        gb_strlcpy(cluster_out, pc && strlen(pc) < 64 ? pc : "", 64);
        found++;
    }
    cJSON_Delete(j);
    if (found == 1) {
        cache_project(st, name, cluster, id, cluster_out);
        return GB_OK;
    }
    if (found == 0)
        snprintf(err, PROV_ERR_MAX,
                 "%s: no Run:ai project named '%.63s'%s%.63s visible to these "
                 "credentials",
                 a->name, name, cluster[0] ? " in cluster " : "", cluster);
    else
        snprintf(err, PROV_ERR_MAX,
                 "%s: the project name '%.63s' exists in %d clusters; set settings.cluster_id",
                 a->name, name, found);
    return GB_ERR_INVALID;
}
