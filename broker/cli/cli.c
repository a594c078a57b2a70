/* cli.c: the gpubroker command: subcommand dispatch and the top-level help. */
#include "broker/cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "broker/cli/cli_daemon.h"
#include "broker/cli/cli_events.h"
#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_util.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"init", cli_init, "create the config, database, master key and the admin API key"},
    {"serve", cli_serve, "run the daemon (HTTP API and workers)"},
    {"sandbox", cli_sandbox, "run the daemon with a demo account, no cloud account needed"},
    {"sim", cli_sim, "run one provider simulator alone"},
    {"vault", cli_vault, "master key operations (rotate)"},
    {"backup", cli_backup, "an online, consistent copy of the database (not the master key)"},
    {"restore", cli_restore, "put a backup in place of the database (daemon stopped)"},
    {"providers", cli_providers, "providers (admin): ls, add, rm"},
    {"hub-token", cli_hub_token, "the Hugging Face Hub token (admin): set, rm, status"},
    {"pods", cli_pods, "pods: ls, get, create, start, stop, rm, logs, events"},
    {"machines", cli_machines, "the live inventory of every provider (Volt format)"},
    {"offers", cli_offers, "live offers, filtered and ranked by price (--explain)"},
    {"place", cli_place, "create a pod on the cheapest machine that fits, with failover"},
    {"jobs", cli_jobs, "fine-tuning jobs: submit, ls, get, cancel, wait"},
    {"events", cli_events, "the account's events: pods, placements, jobs, money (--follow)"},
    {"webhooks", cli_webhooks, "webhooks: endpoints, secret, deliveries, a local receiver"},
    {"account", cli_account, "your account: balance, limits, budget, running cost; set limits"},
    {"costs", cli_costs, "what you spent, by provider, pod, gpu or day"},
    {"ledger", cli_ledger, "your money entries: credits, debits, refunds, pod usage"},
    {"accounts", cli_accounts, "administer accounts: ls, create, show, credit, limits"},
    {"keys", cli_keys, "API keys: ls, create, rm"},
    {"ssh-keys", cli_sshkeys, "SSH public keys: ls, add, get, rm"},
    {"creds", cli_creds, "private registry credentials: ls, add, get, rm"},
    {"templates", cli_templates, "pod templates: ls, get, create, update, rm"},
};

static int usage(FILE *f)
{
    fprintf(f, "usage: gpubroker COMMAND [options]\n\n"
               "A self-hosted broker for GPU pods and fine-tuning jobs across providers.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
        fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\nRun `gpubroker COMMAND --help` for a command's options.\n"
               "Client commands read GPUBROKER_URL (default http://127.0.0.1:8080) and\n"
               "GPUBROKER_API_KEY; add --json for machine-readable output.\n");
    return f == stdout ? CLI_OK : CLI_ERR_USAGE;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) return usage(stderr);
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) return usage(stdout);
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("gpubroker %s\n", GPUBROKER_VERSION);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "error: unknown command '%s'\n\n", argv[1]);
    return usage(stderr);
}
