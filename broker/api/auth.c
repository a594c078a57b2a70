/* auth.c: issuing API keys and authenticating requests by the keyed hash of their key. */
#include "broker/api/auth.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

#define TOUCH_EVERY_MS 60000 /* last_used is written at most once a minute per key */

gb_err auth_issue_key(app *a, gb_db *db, const char *account_id, const char *name, unsigned scopes,
                      char key_out[AUTH_KEY_MAX], apikey_rec *rec)
{
    char rnd[AUTH_KEY_RANDOM + 1];
    gb_random_base62(rnd, AUTH_KEY_RANDOM);
    if (gb_snprintf(key_out, AUTH_KEY_MAX, "%s%s", AUTH_KEY_PREFIX, rnd)) return GB_ERR_INTERNAL;
    gb_memzero(rnd, sizeof(rnd));
    char hash[VAULT_HASH_HEX];
    gb_err e = vault_hash_api_key(a->vault, key_out, hash);
    if (e) return e;
    memset(rec, 0, sizeof(*rec));
    if ((e = gb_id_new("ak_", rec->id, sizeof(rec->id)))) return e;
    gb_strlcpy(rec->account_id, account_id, sizeof(rec->account_id));
    gb_strlcpy(rec->name, name, sizeof(rec->name));
    size_t kl = strlen(key_out);
    snprintf(rec->preview, sizeof(rec->preview), "gpb_...%s", key_out + kl - 4);
    rec->scopes = scopes;
    rec->created_at = gb_now_ms();
    return apikey_insert(db, rec, hash);
}

/* Where a key comes from here (Volt says "Dashboard > API Keys"): the dashboard's Keys page
 * (docs/dashboard.md) or the CLI's `keys create` (broker/cli), the first key being the one
 * `gpubroker init` prints. */
#define AUTH_HOW_TO_GET                                                                            \
    "Create a key on the dashboard's Keys page or with 'gpubroker keys create NAME' (the first "   \
    "one is printed by 'gpubroker init'), or ask your administrator."

int auth_check(api_req *rq, api_resp *rs, const char *key)
{
    if (!key) {
        api_error(rs, 401, "INVALID_API_KEY",
                  "Missing API key. Send it in the X-API-Key header or as "
                  "'Authorization: Bearer <key>'. " AUTH_HOW_TO_GET);
        return -1;
    }
    size_t kl = strlen(key);
    char hash[VAULT_HASH_HEX];
    apikey_rec rec;
    if (kl < 8 || kl >= AUTH_KEY_MAX || vault_hash_api_key(rq->app->vault, key, hash) != GB_OK ||
        apikey_lookup_hash(rq->db, hash, &rec) != GB_OK) {
        api_error(rs, 401, "INVALID_API_KEY", "Invalid API key. " AUTH_HOW_TO_GET);
        return -1;
    }
    gb_strlcpy(rq->account_id, rec.account_id, sizeof(rq->account_id));
    gb_strlcpy(rq->key_id, rec.id, sizeof(rq->key_id));
    rq->scopes = rec.scopes;
    int64_t now = gb_now_ms();
    if (now - rec.last_used >= TOUCH_EVERY_MS && apikey_touch(rq->db, rec.id, now) != GB_OK)
        GB_WARN("auth", "could not record last use of key %s", rec.id);
    return 0;
}
