/* cli.c: subcommand dispatch. */
#include "broker/cli.h"

#include <stdio.h>

int cli_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    puts("gpubroker");
    return 0;
}
