/* cli_table.h: how wide the CLI's tables may be: the terminal's width when stdout is one
 * (ioctl TIOCGWINSZ, or $COLUMNS), no limit for scripts or with --wide. */
#ifndef GB_CLI_TABLE_H
#define GB_CLI_TABLE_H

#include <stdio.h>

/* Set by cli_main from --wide (taken out of the command line before the command sees it):
 * tables show every cell whole. */
extern int cli_wide;
/* The columns a table printed to f may use: 0 (no limit) when f is not a terminal or with
 * --wide; else $COLUMNS when it is a number from 20 to 1000, else the terminal's width, else
 * 80. GPUBROKER_FORCE_TTY=1 treats f as a terminal (the tests' hook: no pty needed). */
int cli_table_width(FILE *f);

#endif
