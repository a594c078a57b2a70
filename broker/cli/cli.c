/* cli.c: the gpubroker command: subcommand dispatch and the top-level help. */
#include "broker/cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "broker/cli/cli_daemon.h"
#include "broker/cli/cli_events.h"
#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_table.h"
#include "broker/cli/cli_util.h"

typedef cli_command command;

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
    {"completion", cli_completion, "print a shell completion script: bash, zsh or fish"},
};

const cli_command *cli_commands(size_t *n)
{
    *n = sizeof(COMMANDS) / sizeof(COMMANDS[0]);
    return COMMANDS;
}

static int usage(FILE *f)
{
    fprintf(f, "usage: gpubroker COMMAND [options]\n\n"
               "A self-hosted broker for GPU pods and fine-tuning jobs across providers.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
        fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\nRun `gpubroker COMMAND --help` for a command's options.\n"
               "Client commands read GPUBROKER_URL (default http://127.0.0.1:8080) and\n"
               "GPUBROKER_API_KEY; add --json for machine-readable output (errors then come as\n"
               "{\"error\":{\"code\",\"message\",\"status\"}} on stderr) and --wide for whole\n"
               "table cells on a terminal. An https URL's certificate is verified: --ca FILE (or\n"
               "GPUBROKER_CA_FILE) names the CA certificate that signed a private "
               "one.\n\n" CLI_EXIT_CODES);
    return f == stdout ? CLI_OK : CLI_ERR_USAGE;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) return usage(stderr);
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) return usage(stdout);
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        if (argc > 2 && strcmp(argv[2], "--json") == 0)
            printf("{\"version\":\"%s\"}\n", GPUBROKER_VERSION);
        else
            printf("gpubroker %s\n", GPUBROKER_VERSION);
        return CLI_OK;
    }
    /* --json and --wide mean the same to every command: --json also shapes the errors, and
     * --wide is taken out here (the commands never see it). */
    int kept = 2;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) { /* the rest is not options */
            while (i < argc)
                argv[kept++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--json") == 0) cli_json_errors = 1;
        int ca = cli_ca_option(argc, argv, &i); /* --ca FILE: every client command's */
        if (ca) {
            if (ca < 0) return cli_usage_error("option '--ca' needs a CA certificate file");
            continue;
        }
        if (strcmp(argv[i], "--wide") == 0)
            cli_wide = 1;
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].fn(argc - 2, argv + 2);
    if (cli_json_errors)
        return cli_error(CLI_ERR_USAGE, "USAGE", 0, "unknown command '%s'", argv[1]);
    fprintf(stderr, "error: unknown command '%s'\n\n", argv[1]);
    return usage(stderr);
}
