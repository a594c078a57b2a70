/* sim_runai_auth.c: the Run:ai simulator's access tokens, as the public OpenAPI spec
 * (runai-professional-services/runapy, .generator/swagger.json 1.224.0) lists them:
 *  - POST /api/v1/token, JSON TokenRequest {"grantType","clientID","clientSecret",...} ->
 *    200 TokenResponse {"accessToken","expiresIn"}; errors are Run:ai's {"code","message"};
 *  - POST /api/v2/token, application/x-www-form-urlencoded grant_type=client_credentials&
 *    client_id=..&client_secret=.. -> 200 OAuth2TokenResponse {"access_token","token_type",
 *    "expires_in"}; errors are OAuth2Error {"error","error_description"} (400, 401).
 * Only the client_credentials grant is simulated. The credentials are the simulator's secret
 * "clientID:clientSecret"; tokens expire on the simulator clock. Every other route needs
 * "Authorization: Bearer <live token>", else 401. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ids.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_runai_int.h"

#define FORM_MAX_FIELDS 16
#define FORM_VALUE_MAX 4096

/* A new live token (the oldest goes when the table is full). */
static sr_token *issue(sr_state *st)
{
    size_t k = 0; /* drop expired tokens, then the oldest when full */
    for (size_t i = 0; i < st->ntokens; i++)
        if (st->tokens[i].expires_at > st->now) st->tokens[k++] = st->tokens[i];
    st->ntokens = k;
    if (st->ntokens == SR_MAX_TOKENS) {
        memmove(st->tokens, st->tokens + 1, (SR_MAX_TOKENS - 1) * sizeof(st->tokens[0]));
        st->ntokens--;
    }
    sr_token *t = &st->tokens[st->ntokens++];
    gb_random_base62(t->token, SR_TOKEN_CHARS);
    t->expires_at = st->now + SR_TOKEN_LIFE_S * INT64_C(1000);
    st->tokens_issued++;
    return t;
}

/* True when id:secret are the simulator's credentials. */
static bool creds_ok(sim_server *s, const char *id, const char *sec)
{
    const char *want = sim_secret(s), *colon = strchr(want, ':');
    size_t idlen = colon ? (size_t)(colon - want) : 0;
    return colon && strlen(id) == idlen && strncmp(id, want, idlen) == 0 &&
           strcmp(sec, colon + 1) == 0;
}

void sim_runai_token_v1(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const allowed[] = {
        "grantType", "appID",    "appSecret", "code",         "redirectUri",   "refreshToken",
        "username",  "password", "clientID",  "clientSecret", "externalToken", NULL};
    char jerr[GB_JSON_ERR_MAX];
    cJSON *b = sim_body(s, rq, rs);
    if (!b) return;
    const char *gt = gb_jstr(b, "grantType"), *id = gb_jstr(b, "clientID");
    const char *sec = gb_jstr(b, "clientSecret");
    if (!cJSON_IsObject(b) || gb_json_only_keys(b, allowed, jerr)) {
        sim_runai_err(rs, 400, "%s", cJSON_IsObject(b) ? jerr : "the body must be a JSON object");
    } else if (!gt || strcmp(gt, "client_credentials") != 0) {
        sim_runai_err(rs, 400, "grantType must be \"client_credentials\"");
    } else if (!id || !sec || !id[0] || !sec[0]) {
        sim_runai_err(rs, 400, "clientID and clientSecret are required");
    } else if (!creds_ok(s, id, sec)) {
        sim_runai_err(rs, 401, "Invalid client credentials");
    } else {
        sr_token *t = issue(state);
        cJSON *j = cJSON_CreateObject();
        if (j) {
            cJSON_AddStringToObject(j, "accessToken", t->token);
            cJSON_AddNumberToObject(j, "expiresIn", SR_TOKEN_LIFE_S);
        }
        sim_json(rs, 200, j);
    }
    if (sec) gb_memzero((char *)sec, strlen(sec));
    cJSON_Delete(b);
}

/* ---- /api/v2/token: OAuth2, form-encoded ---- */

static void oauth_error(sim_resp *rs, int status, const char *code, const char *desc)
{
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "error", code);
        cJSON_AddStringToObject(j, "error_description", desc);
    }
    sim_json(rs, status, j);
}

static int hexv(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes one x-www-form-urlencoded component of n bytes into out (cap bytes); -1 when it
 * is malformed or too long. */
static int form_decode(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? hexv(p[i + 1]) : -1, lo = i + 2 < n ? hexv(p[i + 2]) : -1;
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap) return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

typedef struct {
    char key[32];
    char val[FORM_VALUE_MAX];
} form_field;

/* Splits the body into fields; -1 when malformed. */
static int form_parse(const char *body, size_t len, form_field *f, int *nf)
{
    *nf = 0;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        const char *eq = memchr(body + i, '=', end - i);
        if (!eq || *nf >= FORM_MAX_FIELDS ||
            form_decode(body + i, (size_t)(eq - (body + i)), f[*nf].key, sizeof(f[*nf].key)) ||
            form_decode(eq + 1, (size_t)(body + end - eq - 1), f[*nf].val, sizeof(f[*nf].val)))
            return -1;
        (*nf)++;
        i = end + 1;
    }
    return 0;
}

static const char *form_get(const form_field *f, int nf, const char *key)
{
    for (int i = 0; i < nf; i++)
        if (strcmp(f[i].key, key) == 0) return f[i].val;
    return NULL;
}

void sim_runai_token_v2(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const known[] = {"grant_type", "client_id",   "client_secret",
                                        "username",   "password",    "refresh_token",
                                        "code",       "redirect_uri"};
    (void)s;
    const char *ct = sim_header(rq, "Content-Type");
    form_field *f = calloc(FORM_MAX_FIELDS, sizeof(*f));
    int nf = 0;
    if (!f) {
        oauth_error(rs, 500, "server_error", "out of memory");
        return;
    }
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        oauth_error(rs, 400, "invalid_request",
                    "the body must be application/x-www-form-urlencoded");
        goto done;
    }
    if (form_parse(rq->body ? rq->body : "", rq->body_len, f, &nf)) {
        oauth_error(rs, 400, "invalid_request", "malformed form body");
        goto done;
    }
    for (int i = 0; i < nf; i++) {
        bool ok = false;
        for (size_t k = 0; k < GB_ARRAY_LEN(known); k++)
            ok = ok || strcmp(f[i].key, known[k]) == 0;
        if (!ok) {
            oauth_error(rs, 400, "invalid_request", "unknown parameter in the form body");
            goto done;
        }
    }
    const char *gt = form_get(f, nf, "grant_type"), *id = form_get(f, nf, "client_id");
    const char *sec = form_get(f, nf, "client_secret");
    if (!gt) {
        oauth_error(rs, 400, "invalid_request", "grant_type is required");
    } else if (strcmp(gt, "client_credentials") != 0) {
        oauth_error(rs, 400, "unsupported_grant_type", "only client_credentials is simulated");
    } else if (!id || !sec || !id[0] || !sec[0]) {
        oauth_error(rs, 400, "invalid_request", "client_id and client_secret are required");
    } else if (!creds_ok(s, id, sec)) {
        oauth_error(rs, 401, "invalid_client", "Client authentication failed");
    } else {
        sr_token *t = issue(state);
        cJSON *j = cJSON_CreateObject();
        if (j) {
            cJSON_AddStringToObject(j, "access_token", t->token);
            cJSON_AddStringToObject(j, "token_type", "Bearer");
            cJSON_AddNumberToObject(j, "expires_in", SR_TOKEN_LIFE_S);
        }
        sim_json(rs, 200, j);
    }
done:
    gb_memzero(f, FORM_MAX_FIELDS * sizeof(*f));
    free(f);
}

int sim_runai_auth(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sr_state *st = state;
    int64_t now = sim_now(s);
    if (now > st->now) st->now = now;
    if (strcmp(rq->path, "/api/v1/token") == 0 || strcmp(rq->path, "/api/v2/token") == 0) return 0;
    const char *h = sim_header(rq, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        sim_runai_err(rs, 401, "Unauthorized: a Bearer access token is required");
        return -1;
    }
    for (size_t i = 0; i < st->ntokens; i++) {
        if (strcmp(st->tokens[i].token, h + 7) != 0) continue;
        if (st->tokens[i].expires_at > st->now) return 0;
        sim_runai_err(rs, 401, "Unauthorized: the access token has expired");
        return -1;
    }
    sim_runai_err(rs, 401, "Unauthorized: invalid access token");
    return -1;
}
