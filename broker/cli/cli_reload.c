/* cli_reload.c: what `gpubroker serve` does on SIGHUP: the config file is read again; the keys
 * that can change while serving are applied (log.level, rate_limit.requests_per_hour), each
 * other changed key is logged as taking effect after a restart, and a file that does not load
 * changes nothing. With TLS on, the certificate and key files are read again every time (a
 * renewed certificate keeps its path) and new connections get them. docs/operations.md,
 * "Reload and stop" and "TLS". */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "broker/api/api_server.h"
#include "broker/api/ratelimit.h"
#include "broker/cli/cli_reload.h"
#include "common/log.h"

static bool tls_on(const gb_config *c)
{
    return c->tls_cert_file && c->tls_cert_file[0];
}

/* TLS on before and after: the (maybe renamed) files are loaded; a bad pair keeps the old. */
static void reload_tls(app *a, gb_config *next)
{
    if (!tls_on(&a->cfg) || !tls_on(next)) return; /* on or off: the diff says "restart" */
    char err[512] = "";
    if (api_server_tls_reload(a->server, next->tls_cert_file, next->tls_key_file, err,
                              sizeof(err)) != GB_OK) {
        GB_ERROR("main", "SIGHUP: TLS not reloaded, the old certificate stays: %s", err);
        return;
    }
    char *t = a->cfg.tls_cert_file; /* the paths now in use (next frees the old ones) */
    a->cfg.tls_cert_file = next->tls_cert_file;
    next->tls_cert_file = t;
    t = a->cfg.tls_key_file;
    a->cfg.tls_key_file = next->tls_key_file;
    next->tls_key_file = t;
    GB_INFO("main", "SIGHUP: TLS certificate reloaded from %s", a->cfg.tls_cert_file);
}

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
    bool tls_both = tls_on(&a->cfg) && tls_on(&next);
    reload_tls(a, &next);
    if (n == 0) GB_INFO("main", "SIGHUP: the config is unchanged");
    for (size_t i = 0; i < n; i++) {
        if (tls_both && !strncmp(changed[i], "server.tls_", 11)) {
            continue; /* reload_tls's */
        } else if (!strcmp(changed[i], "log.level")) {
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
