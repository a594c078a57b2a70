/* webhook_secrets.c: per-account signing secrets in the vault ("webhooks/<acct>/current" and
 * ".../previous") with the previous one's end of overlap in webhook_rotations. */
#include "broker/store/webhook_secrets.h"

#include <stdio.h>
#include <string.h>

#include "broker/store/stores.h"
#include "common/dbq.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "webhooks/sign.h"

static void ref(const char *account_id, const char *which, char *out, size_t n)
{
    snprintf(out, n, "webhooks/%s/%s", account_id, which);
}

/* Writers of one account's secrets queue on its accounts row (account_lock): PostgreSQL's READ
 * COMMITTED would otherwise let two first uses both find no secret, or two rotations both read
 * the same current one, and the later write silently replace the earlier (a secret handed out
 * that nothing signs with). */
static gb_err get(app *a, gb_db *db, const char *r, char out[WEBHOOK_SECRET_MAX])
{
    char *s = NULL;
    size_t n = 0;
    gb_err e = vault_get(a->vault, db, r, &s, &n);
    if (!e) {
        if (n >= WEBHOOK_SECRET_MAX)
            e = GB_ERR_INTERNAL;
        else
            gb_strlcpy(out, s, WEBHOOK_SECRET_MAX);
    }
    vault_secret_free(s, n);
    return e;
}

gb_err webhook_secret_current(app *a, gb_db *db, const char *account_id,
                              char out[WEBHOOK_SECRET_MAX])
{
    char r[160];
    ref(account_id, "current", r, sizeof(r));
    gb_err e = get(a, db, r, out);
    if (e != GB_ERR_NOT_FOUND) return e;
    /* first use: create it (a concurrent first use may have won; then read theirs) */
    if ((e = wh_secret_new(32, out, WEBHOOK_SECRET_MAX))) return e;
    if ((e = gb_db_begin(db))) return e;
    if ((e = account_lock(db, account_id))) {
        gb_db_rollback(db);
        return e;
    }
    char existing[WEBHOOK_SECRET_MAX];
    if (get(a, db, r, existing) == GB_OK) {
        gb_db_rollback(db);
        gb_strlcpy(out, existing, WEBHOOK_SECRET_MAX);
        gb_memzero(existing, sizeof(existing));
        return GB_OK;
    }
    e = vault_put(a->vault, db, r, out, strlen(out));
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    return e;
}

gb_err webhook_secret_rotate(app *a, gb_db *db, const char *account_id,
                             char out[WEBHOOK_SECRET_MAX], int64_t *previous_until)
{
    char cur[WEBHOOK_SECRET_MAX], rc[160], rp[160];
    gb_err e = webhook_secret_current(a, db, account_id, cur); /* creates it on first use */
    if (e) return e;
    ref(account_id, "current", rc, sizeof(rc));
    ref(account_id, "previous", rp, sizeof(rp));
    if ((e = wh_secret_new(32, out, WEBHOOK_SECRET_MAX))) goto done;
    *previous_until = gb_now_ms() + a->cfg.webhooks_rotation_overlap_ms;
    if ((e = gb_db_begin(db))) goto done;
    /* the current secret read again under the lock: one read before the transaction may
     * have been replaced by a concurrent rotation since, which would then be lost */
    e = account_lock(db, account_id);
    if (!e) e = get(a, db, rc, cur);
    if (!e) e = vault_put(a->vault, db, rp, cur, strlen(cur));
    if (!e) e = vault_put(a->vault, db, rc, out, strlen(out));
    if (!e) e = webhook_rotation_set(db, account_id, *previous_until);
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
done:
    gb_memzero(cur, sizeof(cur));
    return e;
}

size_t webhook_secrets_signing(app *a, gb_db *db, const char *account_id,
                               char secrets[][WEBHOOK_SECRET_MAX], size_t max)
{
    size_t n = 0;
    if (max == 0 || webhook_secret_current(a, db, account_id, secrets[0]) != GB_OK) return 0;
    n = 1;
    int64_t until = 0;
    char rp[160];
    ref(account_id, "previous", rp, sizeof(rp));
    if (n < max && webhook_rotation_get(db, account_id, &until) == GB_OK && until > gb_now_ms() &&
        get(a, db, rp, secrets[n]) == GB_OK)
        n++;
    return n;
}

gb_err webhook_ed25519_create(app *a, gb_db *db, const char *account_id, char *pk, size_t pksz)
{
    char sk[WH_SK_MAX], rs[160], rp[160];
    gb_err e = wh_ed25519_keypair(sk, sizeof(sk), pk, pksz);
    if (e) return e;
    ref(account_id, "ed25519", rs, sizeof(rs));
    ref(account_id, "ed25519_public", rp, sizeof(rp));
    if (!(e = gb_db_begin(db))) {
        e = vault_put(a->vault, db, rs, sk, strlen(sk));
        if (!e) e = vault_put(a->vault, db, rp, pk, strlen(pk));
        if (!e)
            e = gb_db_commit(db);
        else
            gb_db_rollback(db);
    }
    gb_memzero(sk, sizeof(sk));
    return e;
}

gb_err webhook_ed25519_public(app *a, gb_db *db, const char *account_id, char *pk, size_t pksz)
{
    char rp[160], buf[WEBHOOK_SECRET_MAX];
    ref(account_id, "ed25519_public", rp, sizeof(rp));
    gb_err e = get(a, db, rp, buf);
    if (!e) gb_strlcpy(pk, buf, pksz);
    return e;
}

gb_err webhook_ed25519_delete(gb_db *db, const char *account_id)
{
    char rs[160], rp[160];
    ref(account_id, "ed25519", rs, sizeof(rs));
    ref(account_id, "ed25519_public", rp, sizeof(rp));
    gb_err e = gb_db_begin(db);
    if (e) return e;
    e = vault_delete(db, rs);
    if (!e) e = vault_delete(db, rp);
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    return e;
}

int webhook_ed25519_secret(app *a, gb_db *db, const char *account_id, char *sk, size_t sksz)
{
    char rs[160], buf[WEBHOOK_SECRET_MAX];
    ref(account_id, "ed25519", rs, sizeof(rs));
    if (get(a, db, rs, buf) != GB_OK) return 0;
    gb_strlcpy(sk, buf, sksz);
    gb_memzero(buf, sizeof(buf));
    return 1;
}
