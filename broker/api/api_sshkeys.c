/* api_sshkeys.c: /api/volt/ssh-keys: list, add (validated, fingerprinted), get, remove. */
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/store/stores.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "vault/sshkey.h"

static cJSON *key_json(const sshkey_rec *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "public_key", r->public_key ? r->public_key : "");
    cJSON_AddStringToObject(o, "fingerprint", r->fingerprint);
    gb_json_add_time(o, "created_at", r->created_at);
    return o;
}

static void add_key(void *ud, const sshkey_rec *r)
{
    cJSON_AddItemToArray(ud, key_json(r));
}

void h_sshkeys_list(api_req *rq, api_resp *rs)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "ssh_keys");
    gb_err e = sshkey_list_recent(rq->db, rq->app->sshkeys, rq->app->cfg.ssh_keys_memory_ms,
                                  rq->account_id, add_key, arr);
    api_list(rs, o, arr, e, "SSH keys");
}

/* Trims surrounding whitespace into a new string. */
static char *trimmed(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return gb_strndup(s, n);
}

typedef struct {
    sshkey_rec rec;
    int64_t max; /* limits.max_list_items: keys an account may have */
} key_add;

/* The room check, the insert and, for an Idempotency-Key, the record that it was made
 * (idem.c): one transaction. */
static gb_err insert_key(gb_db *db, void *ud)
{
    const key_add *k = ud;
    gb_err e = account_room(db, k->rec.account_id, sshkey_count, k->max);
    if (!e) e = sshkey_insert(db, &k->rec);
    return e ? e : gb_db_made(db, k->rec.id);
}

void h_sshkeys_create(api_req *rq, api_resp *rs)
{
    static const char *const allowed[] = {"name", "public_key", NULL};
    char err[GB_JSON_ERR_MAX];
    const char *name = NULL, *pub = NULL;
    key_add add;
    memset(&add, 0, sizeof(add));
    sshkey_rec *rec = &add.rec;
    add.max = rq->app->cfg.max_list_items;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    /* public_key: control characters are refused by gb_json_str, so one line only. */
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_str(body, "name", 1, NAME_MAX_LEN, true, &name, err) ||
        gb_json_str(body, "public_key", 1, SSH_PUBKEY_MAX, true, &pub, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    char type[32], serr[SSHKEY_ERR_MAX];
    if (sshkey_parse(pub, type, rec->fingerprint, serr) != GB_OK) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", serr);
        goto done;
    }
    gb_id_new("key_", rec->id, sizeof(rec->id));
    gb_strlcpy(rec->account_id, rq->account_id, sizeof(rec->account_id));
    gb_strlcpy(rec->name, name, sizeof(rec->name));
    rec->public_key = trimmed(pub);
    rec->created_at = gb_now_ms();
    gb_err e = rec->public_key ? gb_db_txn(rq->db, insert_key, &add) : GB_ERR_NOMEM;
    if (e == GB_ERR_CONFLICT)
        api_error(rs, 409, "CONFLICT", "This SSH key (%s) is already on your account",
                  rec->fingerprint);
    else if (e)
        api_owned_error(rs, e, add.max, "SSH keys", "SSH key");
    else
        api_json(rs, 201, key_json(rec));
done:
    sshkey_rec_clear(rec);
    cJSON_Delete(body);
}

void h_sshkeys_get(api_req *rq, api_resp *rs)
{
    sshkey_rec rec;
    memset(&rec, 0, sizeof(rec));
    gb_err e = sshkey_get(rq->db, rq->account_id, rq->params[0], &rec);
    if (e)
        api_error_from(rs, e, "SSH key");
    else
        api_json(rs, 200, key_json(&rec));
    sshkey_rec_clear(&rec);
}

void h_sshkeys_delete(api_req *rq, api_resp *rs)
{
    gb_err e = sshkey_delete(rq->db, rq->account_id, rq->params[0]);
    if (e)
        api_error_from(rs, e, "SSH key");
    else
        api_deleted(rs, rq->params[0], "SSH key removed from account.");
}
