/* main.c: the gpubroker binary: dispatches to subcommands. */
#include "broker/cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
