/* auth.c: issuing API keys and authenticating requests by the keyed hash of their key. */
#include "broker/api/auth.h"

#include <stdio.h>
#include <string.h>

#include "broker/api/keycache.h"
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

/* The key row of hash: from the cache when it holds it (younger than api.key_cache_ms), else
 * from the store (then cached). */
static gb_err lookup(api_req *rq, const char *hash, keycache_val *v)
{
    keycache *kc = rq->app->keys;
    if (keycache_get(kc, hash, gb_mono_ms(), v)) return GB_OK;
    uint64_t gen = keycache_gen(kc); /* before the read: a revoke after it keeps the row out */
    apikey_rec rec;
    gb_err e = apikey_lookup_hash(rq->db, hash, &rec);
    if (e) return e; /* an unknown key is never cached: it would only take room */
    gb_strlcpy(v->key_id, rec.id, sizeof(v->key_id));
    gb_strlcpy(v->account_id, rec.account_id, sizeof(v->account_id));
    v->scopes = rec.scopes;
    v->last_used = rec.last_used;
    keycache_put(kc, hash, v, gen, gb_mono_ms());
    return GB_OK;
}

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
    keycache_val v;
    if (kl < 8 || kl >= AUTH_KEY_MAX || vault_hash_api_key(rq->app->vault, key, hash) != GB_OK ||
        lookup(rq, hash, &v) != GB_OK) {
        api_error(rs, 401, "INVALID_API_KEY", "Invalid API key. " AUTH_HOW_TO_GET);
        return -1;
    }
    gb_strlcpy(rq->account_id, v.account_id, sizeof(rq->account_id));
    gb_strlcpy(rq->key_id, v.key_id, sizeof(rq->key_id));
    rq->scopes = v.scopes;
    int64_t now = gb_now_ms();
    if (now - v.last_used >= TOUCH_EVERY_MS) {
        if (apikey_touch(rq->db, v.key_id, now) != GB_OK)
            GB_WARN("auth", "could not record last use of key %s", v.key_id);
        else
            keycache_touched(rq->app->keys, hash, now);
    }
    return 0;
}
