/* cli.h: the command-line front end (subcommand dispatch, --help). */
#ifndef GB_CLI_H
#define GB_CLI_H

int cli_main(int argc, char **argv);

#endif
