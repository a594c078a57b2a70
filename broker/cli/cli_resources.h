/* cli_resources.h: the client commands over the account API: keys, ssh-keys, creds,
 * templates, accounts (admin) and account. */
#ifndef GB_CLI_RESOURCES_H
#define GB_CLI_RESOURCES_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

int cli_keys(int argc, char **argv);
int cli_sshkeys(int argc, char **argv);
int cli_creds(int argc, char **argv);
int cli_templates(int argc, char **argv);
int cli_accounts(int argc, char **argv);
/* cli_account.c */
int cli_account(int argc, char **argv);
/* The body of PUT /api/volt/account or .../limits from --spend-limit and --budget (each a
 * dollar amount, or "none"; NULL: not given). NULL after printing a usage error. */
cJSON *cli_limits_body(const char *spend_limit, const char *budget);
/* Prints an account answer (its money fields in words, or JSON) and deletes it; CLI_OK. */
int cli_show_account(cJSON *j, int json);
/* cli_costs.c */
int cli_costs(int argc, char **argv);
int cli_ledger(int argc, char **argv);
/* An --since/--until value (30s, 30m, 24h, 7d before now, or an RFC 3339 UTC time) as an
 * RFC 3339 time into out; CLI_ERR_USAGE after printing the problem. */
int cli_time_arg(const char *opt, const char *v, char *out, size_t n);
/* Prints a dry run's answer: the offer, $/h, hours, the estimated cost, admitted or why not. */
void cli_print_plan(FILE *f, const cJSON *j);
/* cli_pods.c */
int cli_pods(int argc, char **argv);
int cli_machines(int argc, char **argv);
int cli_providers(int argc, char **argv);
/* cli_hub.c */
int cli_hub_token(int argc, char **argv);
/* Polls a pod until it reaches want (exit codes as `pods get --wait`). */
int cli_pods_wait(const char *id, const char *want, int timeout_s, int json);
/* cli_webhooks.c */
int cli_webhooks(int argc, char **argv);
/* cli_jobs.c */
int cli_jobs(int argc, char **argv);
/* cli_logs.c: `pods logs ...` and `jobs logs ...` (argv after "logs") */
int cli_pods_logs(int argc, char **argv);
int cli_jobs_logs(int argc, char **argv);
/* cli_place.c */
int cli_offers(int argc, char **argv);
int cli_place(int argc, char **argv);

#endif
