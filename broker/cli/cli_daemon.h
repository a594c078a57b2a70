/* cli_daemon.h: the commands that run or prepare the daemon itself. */
#ifndef GB_CLI_DAEMON_H
#define GB_CLI_DAEMON_H

int cli_init(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_sandbox(int argc, char **argv);
int cli_vault(int argc, char **argv);
int cli_sim(int argc, char **argv);

#endif
