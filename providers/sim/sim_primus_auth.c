/* sim_primus_auth.c: how the Primus simulator checks credentials: Bearer tokens issued by
 * POST /api/v1/login {"type":"default","name","password"} when its secret is "user:password"
 * (24 h of simulator time each), or the secret itself as a Bearer key ("ak-..." or any other
 * token); 401 answers carry Primus.00009 (Primus.00011 for an unknown user) with the real
 * service's messages (AMD-AGI/Primus-SaFE SaFE/apiserver/pkg/handlers/authority/
 * token_handler.go, default_token.go, apikey_token.go; resources/user.go login). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ids.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_primus_int.h"

int sim_primus_auth(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sp_state *st = state;
    if (strcmp(rq->path, "/api/v1/login") == 0) return 0;
    int64_t now = sim_now(s);
    if (now > st->now) st->now = now;
    const char *h = sim_header(rq, "Authorization");
    const char *tok = NULL;
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        tok = h + 7;
        while (*tok == ' ')
            tok++;
    }
    if (!tok || !*tok) {
        sim_primus_err(rs, 401, SP_E_UNAUTHORIZED, "token not present");
        return -1;
    }
    gb_strlcpy(st->cur_user, st->user, sizeof(st->cur_user));
    if (!st->login_mode) {
        const char *secret = sim_secret(s);
        if (secret && strcmp(tok, secret) == 0) return 0;
        sim_primus_err(rs, 401, SP_E_UNAUTHORIZED, "%s",
                       strncmp(tok, "ak-", 3) == 0 ? "invalid API key"
                                                   : "The user's token is invalid, please login "
                                                     "first");
        return -1;
    }
    for (int i = 0; i < st->ntokens; i++) {
        if (strcmp(st->tokens[i].token, tok) != 0) continue;
        if (st->tokens[i].expire > st->now) return 0;
        break; /* parseTokenFromRequest reports an expired token as invalid */
    }
    sim_primus_err(rs, 401, SP_E_UNAUTHORIZED, "%s",
                   strncmp(tok, "ak-", 3) == 0 ? "invalid API key"
                                               : "The user's token is invalid, please login first");
    return -1;
}

/* POST /api/v1/login {"type":"default","name","password"}. */
void sim_primus_login(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sp_state *st = state;
    char err[GB_JSON_ERR_MAX];
    const char *type = "default", *name = NULL, *pw = NULL;
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    if (!cJSON_IsObject(body) ||
        gb_json_str(body, "type", 0, 16, false, &type, err) == GB_ERR_INVALID ||
        gb_json_str(body, "name", 0, 128, false, &name, err) == GB_ERR_INVALID ||
        gb_json_str(body, "password", 0, 256, false, &pw, err) == GB_ERR_INVALID) {
        sim_primus_err(rs, 400, SP_E_BAD_REQUEST, "Bad request. invalid query: %s",
                       cJSON_IsObject(body) ? err : "the body must be a JSON object");
        goto out;
    }
    if (!name || !name[0]) { /* default_token.go Login */
        sim_primus_err(rs, 400, SP_E_BAD_REQUEST, "Bad request. the userName is empty");
        goto out;
    }
    if (!pw) pw = "";
    if (strcmp(type, "sso") == 0) {
        sim_primus_err(rs, 500, SP_E_INTERNAL, "Internal error. SSO is not enabled");
        goto out;
    }
    const char *secret = sim_secret(s), *colon = secret ? strchr(secret, ':') : NULL;
    size_t ul = colon ? (size_t)(colon - secret) : 0;
    if (!st->login_mode || strlen(name) != ul || strncmp(name, secret, ul) != 0) {
        sim_primus_err(rs, 401, SP_E_NOT_REGISTERED,
                       "the user(%.64s) is not registered or invalid userId", name);
        goto out;
    }
    if (strcmp(pw, colon + 1) != 0) {
        sim_primus_err(rs, 401, SP_E_UNAUTHORIZED, "the password is incorrect");
        goto out;
    }
    sp_token *t = &st->tokens[st->next_token];
    st->next_token = (st->next_token + 1) % SP_MAX_TOKENS;
    if (st->ntokens < SP_MAX_TOKENS) st->ntokens++;
    gb_random_base62(t->token, 32);
    t->expire = st->now + SP_TOKEN_TTL_MS;
    st->logins++;
    char uid[96], ct[32];
    snprintf(uid, sizeof(uid), "user-%s", st->user);
    cJSON *j = cJSON_CreateObject();
    cJSON *roles = j ? cJSON_AddArrayToObject(j, "roles") : NULL;
    cJSON *wss = j ? cJSON_AddArrayToObject(j, "workspaces") : NULL;
    if (roles) cJSON_AddItemToArray(roles, cJSON_CreateString("default"));
    for (int i = 0; wss && i < st->nws; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", st->ws[i].id);
        cJSON_AddStringToObject(e, "name", st->ws[i].id);
        cJSON_AddItemToArray(wss, e);
    }
    if (j) {
        sim_primus_time(st->now, ct, sizeof(ct));
        cJSON_AddStringToObject(j, "id", uid);
        cJSON_AddStringToObject(j, "name", st->user);
        cJSON_AddStringToObject(j, "email", "");
        cJSON_AddStringToObject(j, "type", "default");
        cJSON_AddArrayToObject(j, "managedWorkspaces");
        cJSON_AddStringToObject(j, "creationTime", ct);
        cJSON_AddNumberToObject(j, "restrictedType", 0);
        cJSON_AddNumberToObject(j, "expire", (double)(t->expire / 1000));
        cJSON_AddStringToObject(j, "token", t->token);
    }
    sim_json(rs, 200, j);
out:
    cJSON_Delete(body);
}
