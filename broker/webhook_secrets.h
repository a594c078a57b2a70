/* webhook_secrets.h: each account's webhook signing secret (whsec_..., sealed in the vault),
 * created on first use and rotatable: after a rotation the previous secret keeps signing beside
 * the new one until webhooks.rotation_overlap_ms has passed. */
#ifndef GB_WEBHOOK_SECRETS_H
#define GB_WEBHOOK_SECRETS_H

#include "broker/app.h"

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

#endif
