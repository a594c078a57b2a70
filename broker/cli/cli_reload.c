/* cli_reload.c: what `gpubroker serve` does on SIGHUP: the config file is read again; the keys
 * that can change while serving are applied (log.level, rate_limit.requests_per_hour), each
 * other changed key is logged as taking effect after a restart, and a file that does not load
 * changes nothing. docs/operations.md, "Reload and stop". */
#include <stdio.h>
#include <string.h>

#include "broker/api/ratelimit.h"
#include "broker/cli/cli_reload.h"
#include "common/log.h"

void cli_reload(app *a, const char *config_path)
{
    gb_config next;
    char err[512] = "";
    if (gb_config_load(config_path, &next, err, sizeof(err)) != GB_OK) {
        GB_ERROR("main", "SIGHUP: the config does not load, nothing changed: %s", err);
        return;
    }
    const char *changed[64];
    size_t n = gb_config_diff(&a->cfg, &next, changed, 64);
    if (n == 0) GB_INFO("main", "SIGHUP: the config is unchanged");
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(changed[i], "log.level")) {
            a->cfg.log_level = next.log_level;
            gb_log_set_level((gb_log_level)next.log_level);
        } else if (!strcmp(changed[i], "rate_limit.requests_per_hour")) {
            a->cfg.rate_limit_per_hour = next.rate_limit_per_hour;
            ratelimit_set_limit(a->rl, next.rate_limit_per_hour);
        } else {
            GB_WARN("main", "SIGHUP: %s changed: it takes effect after a restart", changed[i]);
            continue;
        }
        GB_INFO("main", "SIGHUP: %s applied", changed[i]);
    }
    gb_config_free(&next);
}
