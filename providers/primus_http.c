/* primus_http.c: the Primus adapter's side of prov_call: Bearer auth with an API key or a token
 * from POST /api/v1/login (cached per adapter, renewed before "expire" and once after a 401),
 * Primus error bodies {"errorCode","errorMessage"} mapped to gb_err, and the settings.
 * Sources (AMD-AGI/Primus-SaFE): login SaFE/apiserver/pkg/handlers/resources/user.go and
 * .../view/user_view.go (UserLoginRequest/UserLoginResponse); Bearer "ak-" API keys
 * .../authority/token_handler.go and apikey_token.go; the error body
 * SaFE/apiserver/pkg/utils/error.go (PrimusApiError) with the codes of
 * SaFE/common/pkg/errors/error_code.go. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/primus_int.h"

typedef struct {
    pthread_mutex_t mu;
    char token[PRIMUS_TOKEN_MAX + 1];
    int64_t expire_ms; /* 0 = no expiry given */
} primus_auth;

static pthread_mutex_t g_state_mu = PTHREAD_MUTEX_INITIALIZER;

static primus_auth *auth_state(prov_adapter *a)
{
    pthread_mutex_lock(&g_state_mu);
    if (!a->state) {
        primus_auth *s = calloc(1, sizeof(*s));
        if (s && pthread_mutex_init(&s->mu, NULL) != 0) {
            free(s);
            s = NULL;
        }
        a->state = s;
    }
    primus_auth *s = a->state;
    pthread_mutex_unlock(&g_state_mu);
    return s;
}

void prov_primus_state_free(void *state)
{
    primus_auth *s = state;
    if (!s) return;
    gb_memzero(s->token, sizeof(s->token));
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* "user:password" (not an "ak-" key) means: log in for a token. */
static bool login_mode(const prov_adapter *a)
{
    const char *c = strchr(a->secret, ':');
    return c && c != a->secret && strncmp(a->secret, "ak-", 3) != 0;
}

/* ---- small helpers ---- */

bool prov_primus_id_ok(const char *id)
{
    size_t n = 0;
    for (const char *p = id ? id : ""; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return n >= 1 && n <= 127;
}

const char *prov_primus_setting(const prov_adapter *a, const char *key)
{
    const char *s = a->settings ? gb_jstr(a->settings, key) : NULL;
    return s && s[0] ? s : NULL;
}

int prov_primus_setting_int(const prov_adapter *a, const char *key, int min, int max, int def)
{
    const cJSON *v = a->settings ? cJSON_GetObjectItemCaseSensitive(a->settings, key) : NULL;
    int out = def;
    if (cJSON_IsNumber(v) && v->valuedouble >= min && v->valuedouble <= max)
        out = (int)v->valuedouble;
    else if (cJSON_IsString(v) && gb_parse_int(v->valuestring, min, max, &out) != 0)
        out = def;
    return out;
}

gb_money prov_primus_rate(const prov_adapter *a)
{
    const cJSON *v =
        a->settings ? cJSON_GetObjectItemCaseSensitive(a->settings, "rate_per_gpu_hour") : NULL;
    gb_money m = -1;
    int bad = -1;
    if (cJSON_IsString(v))
        bad = gb_money_parse(v->valuestring, &m);
    else if (cJSON_IsNumber(v))
        bad = gb_money_from_double(v->valuedouble, &m);
    return bad == 0 && m >= 0 ? m : -1;
}

void prov_primus_ws_query(const prov_adapter *a, char *buf, size_t n)
{
    const char *ws = prov_primus_setting(a, "workspace_id");
    if (ws && prov_primus_id_ok(ws))
        snprintf(buf, n, "workspaceId=%s&", ws);
    else
        gb_strlcpy(buf, "", n);
}

/* ---- errors ---- */

/* The gb_err for a non-2xx answer, with "<name> answered HTTP N: <message> (<errorCode>)". */
gb_err prov_primus_error(prov_adapter *a, const gb_http_resp *r, char *err)
{
    static const char *const keys[] = {"errorMessage", "message", "error", "reason", "detail"};
    cJSON *j = cJSON_ParseWithLength(r->body ? r->body : "", r->body_len);
    const char *msg = NULL, *code = j ? gb_jstr(j, "errorCode") : NULL;
    for (size_t i = 0; j && !msg && i < GB_ARRAY_LEN(keys); i++) {
        msg = gb_jstr(j, keys[i]);
        if (msg && !msg[0]) msg = NULL;
    }
    snprintf(err, PROV_ERR_MAX, "%s answered HTTP %ld: %.300s%s%.40s%s", a->name, r->status,
             msg           ? msg
             : r->body_len ? "(no message)"
                           : "(empty body)",
             code ? " (" : "", code ? code : "", code ? ")" : "");
    gb_err e;
    switch (r->status) {
    case 400:
    case 422:
        e = GB_ERR_INVALID;
        break;
    case 401:
    case 403:
        e = GB_ERR_AUTH;
        break;
    case 402:
        e = GB_ERR_PAYMENT;
        break;
    case 404:
        e = GB_ERR_NOT_FOUND;
        break;
    case 409:
        e = GB_ERR_CONFLICT;
        break;
    case 429:
        e = GB_ERR_LIMIT;
        break;
    default:
        e = GB_ERR_PROVIDER;
        break;
    }
    if (code) {
        if (strcmp(code, "Primus.00008") == 0 || strcmp(code, "Primus.03001") == 0)
            e = GB_ERR_CAPACITY; /* QuotaInsufficient, NodeNotReady */
        else if (strcmp(code, "Primus.00009") == 0 || strcmp(code, "Primus.00011") == 0)
            e = GB_ERR_AUTH; /* Unauthorized, UserNotRegistered */
        else if (strcmp(code, "Primus.00005") == 0 || strcmp(code, "Primus.01001") == 0 ||
                 strcmp(code, "Primus.02001") == 0 || strcmp(code, "Primus.03002") == 0)
            e = r->status >= 500 ? e : GB_ERR_NOT_FOUND;
        else if (strcmp(code, "Primus.00004") == 0)
            e = GB_ERR_CONFLICT; /* AlreadyExist */
    }
    if ((e == GB_ERR_PROVIDER || e == GB_ERR_CONFLICT || e == GB_ERR_INVALID) && msg &&
        (gb_str_icontains(msg, "insufficient resource") ||
         gb_str_icontains(msg, "quota insufficient") ||
         gb_str_icontains(msg, "insufficient quota")))
        e = GB_ERR_CAPACITY;
    cJSON_Delete(j);
    return e;
}

/* ---- login ---- */

/* POST /api/v1/login {"type":"default","name","password"} -> {"token","expire"}. Caller holds
 * s->mu. */
static gb_err login(prov_adapter *a, primus_auth *s, char *err)
{
    const char *colon = strchr(a->secret, ':');
    char user[256];
    size_t ul = (size_t)(colon - a->secret);
    if (ul >= sizeof(user) || strlen(colon + 1) > 1024) {
        snprintf(err, PROV_ERR_MAX, "%s: the credentials are too long", a->name);
        return GB_ERR_AUTH;
    }
    gb_strlcpy(user, a->secret, ul + 1);
    cJSON *body = cJSON_CreateObject(), *pw = NULL, *j = NULL;
    gb_http_resp r;
    memset(&r, 0, sizeof(r));
    gb_err e = GB_ERR_NOMEM;
    if (!body || !cJSON_AddStringToObject(body, "type", "default") ||
        !cJSON_AddStringToObject(body, "name", user) ||
        !(pw = cJSON_AddStringToObject(body, "password", colon + 1)))
        goto done;
    e = prov_http(a, "POST", PRIMUS_API "/login", NULL, body, true, &r, err);
    if (e) goto done;
    if (r.status < 200 || r.status > 299) {
        e = prov_primus_error(a, &r, err);
        if (e == GB_ERR_INVALID || e == GB_ERR_NOT_FOUND) e = GB_ERR_AUTH;
        size_t l = strlen(err);
        snprintf(err + l, PROV_ERR_MAX - l, " (login as '%.64s')", user);
        goto done;
    }
    if ((e = prov_parse_json(a, &r, &j, err))) goto done;
    const char *tok = gb_jstr(j, "token");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expire");
    if (!tok || !tok[0] || strlen(tok) > PRIMUS_TOKEN_MAX) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: login answered without a token",
                 a->name);
        e = GB_ERR_PROVIDER;
        goto done;
    }
    gb_strlcpy(s->token, tok, sizeof(s->token));
    s->expire_ms = cJSON_IsNumber(exp) && exp->valuedouble > 0 && exp->valuedouble < 1e11
                       ? (int64_t)exp->valuedouble * 1000
                       : 0;
done:
    if (pw && pw->valuestring) gb_memzero(pw->valuestring, strlen(pw->valuestring));
    if (j) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "token");
        if (cJSON_IsString(t) && t->valuestring) gb_memzero(t->valuestring, strlen(t->valuestring));
    }
    if (r.body) gb_memzero(r.body, r.body_len);
    cJSON_Delete(body);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
    gb_memzero(user, sizeof(user));
    return e;
}

/* ops->auth: "Authorization: Bearer <key>" for an API key or a plain token (refused once:
 * GB_ERR_AUTH); with "user:password" a token from POST /api/v1/login, cached, renewed a minute
 * before "expire" (-1: never expires) and after a 401 unless another thread already did. */
gb_err prov_primus_auth(prov_adapter *a, const char *rejected, char **hdr, char *err)
{
    *hdr = NULL;
    if (!login_mode(a)) return prov_auth_bearer(a, rejected, hdr, err);
    primus_auth *s = auth_state(a);
    if (!s) return GB_ERR_NOMEM;
    static const char P[] = "Authorization: Bearer ";
    gb_err e = GB_OK;
    pthread_mutex_lock(&s->mu);
    if (rejected && strncmp(rejected, P, sizeof(P) - 1) == 0 &&
        strcmp(rejected + sizeof(P) - 1, s->token) == 0)
        gb_memzero(s->token, sizeof(s->token)); /* expired or revoked: log in once more */
    if (!s->token[0] || (s->expire_ms && gb_wall_ms() >= s->expire_ms - 60000))
        e = login(a, s, err);
    if (!e && !(*hdr = gb_asprintf("%s%s", P, s->token))) e = GB_ERR_NOMEM;
    pthread_mutex_unlock(&s->mu);
    return e;
}
