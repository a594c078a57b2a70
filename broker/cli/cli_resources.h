/* cli_resources.h: the client commands over the account API: keys, ssh-keys, creds,
 * templates, accounts (admin) and account. */
#ifndef GB_CLI_RESOURCES_H
#define GB_CLI_RESOURCES_H

int cli_keys(int argc, char **argv);
int cli_sshkeys(int argc, char **argv);
int cli_creds(int argc, char **argv);
int cli_templates(int argc, char **argv);
int cli_accounts(int argc, char **argv);
int cli_account(int argc, char **argv);
/* cli_pods.c */
int cli_pods(int argc, char **argv);
int cli_machines(int argc, char **argv);
int cli_providers(int argc, char **argv);
/* Polls a pod until it reaches want (exit codes as `pods get --wait`). */
int cli_pods_wait(const char *id, const char *want, int timeout_s, int json);
/* cli_webhooks.c */
int cli_webhooks(int argc, char **argv);
/* cli_jobs.c */
int cli_jobs(int argc, char **argv);
/* cli_place.c */
int cli_offers(int argc, char **argv);
int cli_place(int argc, char **argv);

#endif
