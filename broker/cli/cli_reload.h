/* cli_reload.h: the daemon's config reload on SIGHUP (cli_reload.c). */
#ifndef GB_CLI_RELOAD_H
#define GB_CLI_RELOAD_H

#include "broker/core/app.h"

/* Reads config_path (NULL: defaults and GPUBROKER_* only) again and applies what can change
 * live; called from the thread that waits for signals. */
void cli_reload(app *a, const char *config_path);

#endif
