/* cli_daemon.h: the commands that run or prepare the daemon itself. */
#ifndef GB_CLI_DAEMON_H
#define GB_CLI_DAEMON_H

#include <signal.h>

#include "broker/cli/cli_util.h"
#include "config/config.h"

int cli_init(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_sandbox(int argc, char **argv);
int cli_vault(int argc, char **argv);
/* `gpubroker sim`: in sandbox_sims.c (gb_sandbox), with the rest that uses the simulators. */
int cli_sim(int argc, char **argv);

/* Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts later) for
 * sigwait(); ignores SIGPIPE. Daemon commands call it before starting any thread. */
void cli_block_signals(sigset_t *set);

/* The config file to read: --config, else $GPUBROKER_CONFIG, else ./gpubroker.yaml if it
 * exists, else none (defaults and GPUBROKER_* overrides only). */
const char *cli_config_path(cli_opt *opt);
/* Loads the config (printing the problem; CLI_ERR_USAGE) with derived paths. */
int cli_load_config(const char *path, gb_config *cfg);

/* cli_backup.c: `gpubroker backup` and `restore`, and the lock on <database>.lock that every
 * command opening the database takes shared (exclusive = 0) and restore takes exclusive; -1
 * when another process holds it the other way (or it cannot be made). The lock lasts until
 * the process exits. */
int cli_db_lock(const char *database, int exclusive);
int cli_backup(int argc, char **argv);
int cli_restore(int argc, char **argv);

#endif
