/* sim_targon_keys.c: the Targon simulator's organizations (v3: GET /tha/v3/orgs, one org the
 * key belongs to) and SSH keys (POST/GET/DELETE .../ssh-keys): shapes of targon-sdk
 * libs/go/org.go and libs/go/ssh_key.go, docs.targon.com/api/ssh-keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_targon_int.h"

#define KEYS_DEFAULT 50
#define KEYS_MAX 100
#define KEY_LINE_MAX 16384

static cJSON *org_json(sim_targon_state *st)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    char t[32];
    sim_targon_time(sim_now(st->srv) - 86400000, t);
    cJSON_AddStringToObject(o, "uid", "org-gbsim0000001");
    cJSON_AddStringToObject(o, "slug", SIM_TARGON_ORG);
    cJSON_AddStringToObject(o, "name", "gpubroker simulator");
    cJSON_AddStringToObject(o, "org_type", "PERSONAL");
    cJSON_AddStringToObject(o, "role", "OWNER");
    cJSON_AddStringToObject(o, "billing_email", "");
    cJSON_AddNumberToObject(o, "credits", 1000.0);
    cJSON_AddNumberToObject(o, "overage", 0);
    cJSON_AddStringToObject(o, "created_at", t);
    cJSON_AddStringToObject(o, "updated_at", t);
    return o;
}

/* GET /tha/v3/orgs -> {items: [Org], next_cursor} */
void sim_targon_orgs(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    (void)rq;
    cJSON *j = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(j, "items");
    if (items) cJSON_AddItemToArray(items, org_json(state));
    cJSON_AddNullToObject(j, "next_cursor");
    sim_json(rs, 200, j);
}

void sim_targon_org_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    if (rq->nparams < 1 || strcmp(rq->params[0], SIM_TARGON_ORG) != 0) {
        sim_error(s, rs, 404, "organization not found");
        return;
    }
    sim_json(rs, 200, org_json(state));
}

cJSON *sim_targon_key_json(const sim_targon_key *k)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    char t[32];
    sim_targon_time(k->created_ms, t);
    cJSON_AddStringToObject(o, "uid", k->uid);
    cJSON_AddStringToObject(o, "name", k->name);
    cJSON_AddStringToObject(o, "public_key_raw", k->public_key_raw);
    cJSON_AddStringToObject(o, "created_at", t);
    cJSON_AddStringToObject(o, "updated_at", t);
    return o;
}

/* "type base64 [comment]" with a known type and base64 key data. */
static bool openssh_key(const char *line)
{
    static const char *const types[] = {"ssh-ed25519 ",
                                        "ssh-rsa ",
                                        "ecdsa-sha2-nistp256 ",
                                        "ecdsa-sha2-nistp384 ",
                                        "ecdsa-sha2-nistp521 ",
                                        "sk-ssh-ed25519@openssh.com ",
                                        "sk-ecdsa-sha2-nistp256@openssh.com ",
                                        NULL};
    const char *d = NULL;
    for (int i = 0; types[i] && !d; i++)
        if (gb_str_starts_with(line, types[i])) d = line + strlen(types[i]);
    if (!d) return false;
    size_t k = 0;
    for (; d[k] && d[k] != ' '; k++) {
        char c = d[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            return false;
    }
    return k >= 16;
}

/* POST .../ssh-keys {name, ssh_key} -> 201 SSHKey */
void sim_targon_keys_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    static const char *const allowed[] = {"name", "ssh_key", NULL};
    sim_targon_state *st = state;
    char err[GB_JSON_ERR_MAX];
    const char *name = NULL, *line = NULL;
    cJSON *b = sim_body(s, rq, rs);
    if (!b) return;
    if (gb_json_only_keys(b, allowed, err) || gb_json_str(b, "name", 1, 127, true, &name, err) ||
        gb_json_str(b, "ssh_key", 1, KEY_LINE_MAX, true, &line, err)) {
        sim_error(s, rs, 400, "%s", err);
        goto done;
    }
    if (!openssh_key(line)) {
        sim_error(s, rs, 400, "ssh_key is not a valid OpenSSH public key");
        goto done;
    }
    for (int i = 0; i < st->nkeys; i++) {
        if (strcmp(st->keys[i].name, name) == 0) {
            sim_error(s, rs, 409, "an SSH key named '%s' already exists", name);
            goto done;
        }
    }
    if (st->nkeys >= SIM_TARGON_MAX_KEYS) {
        sim_error(s, rs, 400, "SSH key limit of %d reached", SIM_TARGON_MAX_KEYS);
        goto done;
    }
    sim_targon_key *k = &st->keys[st->nkeys];
    memset(k, 0, sizeof(*k));
    if (!(k->public_key_raw = gb_strdup(line))) {
        sim_error(s, rs, 500, "out of memory");
        goto done;
    }
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    do {
        unsigned char r[12];
        gb_random_bytes(r, sizeof(r));
        memcpy(k->uid, "shk-", 4);
        for (int i = 0; i < 12; i++)
            k->uid[4 + i] = alphabet[r[i] % 36];
        k->uid[16] = '\0';
    } while (sim_targon_key_find(st, k->uid)); /* k is not counted yet */
    gb_strlcpy(k->name, name, sizeof(k->name));
    k->created_ms = sim_now(s);
    st->nkeys++;
    sim_json(rs, 201, sim_targon_key_json(k));
done:
    cJSON_Delete(b);
}

/* GET .../ssh-keys?limit&cursor -> {items, next_cursor} */
void sim_targon_keys_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_state *st = state;
    int limit = KEYS_DEFAULT, offset = 0;
    const char *q_limit = sim_query(rq, "limit"), *q_cursor = sim_query(rq, "cursor");
    if (q_limit && gb_parse_int(q_limit, 1, KEYS_MAX, &limit)) {
        sim_error(s, rs, 400, "limit must be an integer between 1 and %d", KEYS_MAX);
        return;
    }
    if (q_cursor && q_cursor[0] && gb_parse_int(q_cursor, 0, SIM_TARGON_MAX_KEYS, &offset)) {
        sim_error(s, rs, 400, "invalid cursor");
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(j, "items");
    for (int i = offset; items && i < st->nkeys && i < offset + limit; i++)
        cJSON_AddItemToArray(items, sim_targon_key_json(&st->keys[i]));
    if (offset + limit < st->nkeys) {
        char next[16];
        snprintf(next, sizeof(next), "%d", offset + limit);
        cJSON_AddStringToObject(j, "next_cursor", next);
    } else {
        cJSON_AddNullToObject(j, "next_cursor");
    }
    sim_json(rs, 200, j);
}

void sim_targon_keys_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_key *k = sim_targon_key_find(state, rq->nparams > 0 ? rq->params[0] : NULL);
    if (!k) {
        sim_error(s, rs, 404, "SSH key not found");
        return;
    }
    sim_json(rs, 200, sim_targon_key_json(k));
}

void sim_targon_keys_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_state *st = state;
    sim_targon_key *k = sim_targon_key_find(st, rq->nparams > 0 ? rq->params[0] : NULL);
    if (!k) {
        sim_error(s, rs, 404, "SSH key not found");
        return;
    }
    free(k->public_key_raw);
    size_t i = (size_t)(k - st->keys);
    memmove(k, k + 1, (size_t)(st->nkeys - 1 - (int)i) * sizeof(*k));
    st->nkeys--;
    sim_json(rs, 204, NULL);
}
