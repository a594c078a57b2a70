/* handlers.h: the route handlers, one file per resource (api_<resource>.c). */
#ifndef GB_HANDLERS_H
#define GB_HANDLERS_H

#include "broker/api/api.h"
#include "common/money.h"

/* api_health.c */
void h_healthz(api_req *rq, api_resp *rs);
void h_readyz(api_req *rq, api_resp *rs);
void h_metrics(api_req *rq, api_resp *rs);
/* api_openapi.c */
void h_openapi(api_req *rq, api_resp *rs);
void h_ui_index(api_req *rq, api_resp *rs);
void h_ui_asset(api_req *rq, api_resp *rs);
/* api_keys.c */
void h_keys_list(api_req *rq, api_resp *rs);
void h_keys_create(api_req *rq, api_resp *rs);
void h_keys_delete(api_req *rq, api_resp *rs);
/* api_sshkeys.c */
void h_sshkeys_list(api_req *rq, api_resp *rs);
void h_sshkeys_create(api_req *rq, api_resp *rs);
void h_sshkeys_get(api_req *rq, api_resp *rs);
void h_sshkeys_delete(api_req *rq, api_resp *rs);
/* api_creds.c */
void h_creds_list(api_req *rq, api_resp *rs);
void h_creds_create(api_req *rq, api_resp *rs);
void h_creds_get(api_req *rq, api_resp *rs);
void h_creds_delete(api_req *rq, api_resp *rs);
/* api_templates.c */
void h_templates_list(api_req *rq, api_resp *rs);
void h_templates_create(api_req *rq, api_resp *rs);
void h_templates_get(api_req *rq, api_resp *rs);
void h_templates_update(api_req *rq, api_resp *rs);
void h_templates_delete(api_req *rq, api_resp *rs);
/* api_account.c */
void h_account_get(api_req *rq, api_resp *rs);
void h_admin_accounts_list(api_req *rq, api_resp *rs);
void h_admin_accounts_create(api_req *rq, api_resp *rs);
void h_admin_accounts_get(api_req *rq, api_resp *rs);
void h_admin_accounts_credit(api_req *rq, api_resp *rs);
void h_admin_accounts_limits(api_req *rq, api_resp *rs);
/* Adds an account's money fields (limits, budget used, running cost, time left) to o; -1 on a
 * store error. */
int account_money_fields(const app *a, gb_db *db, const char *id, gb_money balance, cJSON *o);

/* api_usage.c */
void h_account_ledger(api_req *rq, api_resp *rs);
void h_account_usage(api_req *rq, api_resp *rs);
void h_admin_ledger(api_req *rq, api_resp *rs);
void h_admin_usage(api_req *rq, api_resp *rs);

/* pod_create.c, api_pods.c */
void h_pods_create(api_req *rq, api_resp *rs);
void h_pods_list(api_req *rq, api_resp *rs);
void h_pods_get(api_req *rq, api_resp *rs);
void h_pods_update(api_req *rq, api_resp *rs);
void h_pods_start(api_req *rq, api_resp *rs);
void h_pods_stop(api_req *rq, api_resp *rs);
void h_pods_delete(api_req *rq, api_resp *rs);
void h_pods_events(api_req *rq, api_resp *rs);
void h_pods_logs(api_req *rq, api_resp *rs);
/* api_providers.c */
void h_machines_list(api_req *rq, api_resp *rs);
void h_admin_providers_list(api_req *rq, api_resp *rs);
void h_admin_providers_add(api_req *rq, api_resp *rs);
void h_admin_providers_delete(api_req *rq, api_resp *rs);
void h_admin_orphans(api_req *rq, api_resp *rs);
/* api_hub.c */
void h_admin_hub_token_get(api_req *rq, api_resp *rs);
void h_admin_hub_token_put(api_req *rq, api_resp *rs);
void h_admin_hub_token_delete(api_req *rq, api_resp *rs);

/* api_offers.c */
void h_offers_list(api_req *rq, api_resp *rs);
void h_account_update(api_req *rq, api_resp *rs);

/* api_jobs.c */
void h_jobs_create(api_req *rq, api_resp *rs);
void h_jobs_list(api_req *rq, api_resp *rs);
void h_jobs_get(api_req *rq, api_resp *rs);
void h_jobs_cancel(api_req *rq, api_resp *rs);
void h_jobs_logs(api_req *rq, api_resp *rs); /* api_logs.c */
void h_jobs_report(api_req *rq, api_resp *rs);

/* api_webhooks.c */
void h_webhooks_list(api_req *rq, api_resp *rs);
void h_webhooks_create(api_req *rq, api_resp *rs);
void h_webhooks_update(api_req *rq, api_resp *rs);
void h_webhooks_delete(api_req *rq, api_resp *rs);
void h_webhooks_test(api_req *rq, api_resp *rs);
void h_webhooks_secret(api_req *rq, api_resp *rs);
void h_webhooks_rotate(api_req *rq, api_resp *rs);
void h_webhooks_deliveries(api_req *rq, api_resp *rs);
void h_webhooks_redeliver(api_req *rq, api_resp *rs);
void h_webhooks_ed25519_get(api_req *rq, api_resp *rs);
void h_webhooks_ed25519_create(api_req *rq, api_resp *rs);
void h_webhooks_ed25519_delete(api_req *rq, api_resp *rs);

/* api_events.c */
void h_events(api_req *rq, api_resp *rs);

#endif
