/* cli_daemon.h: the commands that run or prepare the daemon itself. */
#ifndef GB_CLI_DAEMON_H
#define GB_CLI_DAEMON_H

#include <signal.h>

int cli_init(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_sandbox(int argc, char **argv);
int cli_vault(int argc, char **argv);
/* `gpubroker sim`: in sandbox_sims.c (gb_sandbox), with the rest that uses the simulators. */
int cli_sim(int argc, char **argv);

/* Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts later) for
 * sigwait(); ignores SIGPIPE. Daemon commands call it before starting any thread. */
void cli_block_signals(sigset_t *set);

#endif
