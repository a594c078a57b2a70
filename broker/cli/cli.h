/* cli.h: the command-line front end (subcommand dispatch, --help). */
#ifndef GB_CLI_H
#define GB_CLI_H

#include <stddef.h>

int cli_main(int argc, char **argv);

/* One command of `gpubroker`: what `--help` and `gpubroker completion` are made from. */
typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} cli_command;
/* The command table (static), *n entries. */
const cli_command *cli_commands(size_t *n);
/* `gpubroker completion bash|zsh|fish` (cli_completion.c). */
int cli_completion(int argc, char **argv);

#endif
