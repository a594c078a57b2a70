/* webhook_secrets.h: each account's webhook signing secret (whsec_..., sealed in the vault),
 * created on first use and rotatable: after a rotation the previous secret keeps signing beside
 * the new one until webhooks.rotation_overlap_ms has passed. */
#ifndef GB_WEBHOOK_SECRETS_H
#define GB_WEBHOOK_SECRETS_H

#include "broker/core/app.h"

#define WEBHOOK_SECRET_MAX 128

/* The current secret (created when the account has none). */
gb_err webhook_secret_current(app *a, gb_db *db, const char *account_id,
                              char out[WEBHOOK_SECRET_MAX]);
/* A new current secret; the old one signs too until *previous_until (ms). */
gb_err webhook_secret_rotate(app *a, gb_db *db, const char *account_id,
                             char out[WEBHOOK_SECRET_MAX], int64_t *previous_until);
/* Every secret that signs now: current, and the previous one while its overlap lasts. */
size_t webhook_secrets_signing(app *a, gb_db *db, const char *account_id,
                               char secrets[][WEBHOOK_SECRET_MAX], size_t max);

/* Optional Ed25519 signing (v1a): a new key pair for the account (replacing any); the public
 * key (whpk_...) into pk. */
gb_err webhook_ed25519_create(app *a, gb_db *db, const char *account_id, char *pk, size_t pksz);
/* The account's public key, GB_ERR_NOT_FOUND when it has none. */
gb_err webhook_ed25519_public(app *a, gb_db *db, const char *account_id, char *pk, size_t pksz);
gb_err webhook_ed25519_delete(gb_db *db, const char *account_id);
/* 1 and the secret key (whsk_...) when the account has one, else 0. */
int webhook_ed25519_secret(app *a, gb_db *db, const char *account_id, char *sk, size_t sksz);

#endif
