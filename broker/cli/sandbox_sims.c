/* sandbox_sims.c: everything of the gpubroker binary that uses the provider simulators: the
 * sandbox's simulators (started, registered as providers, printed, stopped) and the
 * `gpubroker sim` command. Built as gb_sandbox, apart from the daemon's core. */
#include "broker/cli/sandbox_sims.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cli/cli_daemon.h"
#include "broker/cli/cli_util.h"
#include "broker/core/registry.h"
#include "common/http_client.h"
#include "common/ids.h"
#include "common/str.h"
#include "providers/sim/sim.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define MAX_SIMS 8

struct sandbox_sims {
    const char *names[MAX_SIMS];
    sim_server *srv[MAX_SIMS];
    int n;
};

const char *sandbox_trainer_image(void)
{
    return SIM_TRAINER_IMAGE ":latest";
}

/* "VOLT" for "volt": the name as it appears in SIM_<NAME>_... lines. */
static void upper_name(const char *name, char out[PROV_NAME_MAX])
{
    size_t k = 0;
    for (; name[k] && k + 1 < PROV_NAME_MAX; k++)
        out[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
    out[k] = '\0';
}

/* Starts the simulator of one platform and registers it as the provider of that name. */
static gb_err start_one(app *a, sandbox_sims *s, const char *name, int speed)
{
    /* "id:secret" suits every platform: an API key for most, client credentials for Run:ai's
     * token exchange */
    char secret[49], base[128], err[512] = "", clock_url[128], speed_body[64];
    memcpy(secret, "sandbox:", 8);
    gb_random_base62(secret + 8, 40);
    uint16_t port = 0;
    sim_server *srv = NULL;
    const sim_platform *plat = sim_platform_by_name(name);
    gb_err e = GB_ERR_INTERNAL;
    if (!plat || sim_start(plat, 0, secret, &srv, &port) != GB_OK) {
        cli_error(CLI_ERR_CONN, "STARTUP", 0, "cannot start the %s simulator", name);
        goto fail;
    }
    s->names[s->n] = name;
    s->srv[s->n++] = srv;
    snprintf(base, sizeof(base), "http://127.0.0.1:%u%s", port,
             plat->api_path ? plat->api_path : "");
    cJSON *settings = plat->sandbox_settings ? cJSON_Parse(plat->sandbox_settings) : NULL;
    /* the simulators' clocks run `speed` times faster, so a platform's hourly request limit
     * passes `speed` times a real hour: the broker need not pace itself for them */
    if (!settings) settings = cJSON_CreateObject();
    if (settings) cJSON_AddNumberToObject(settings, "requests_per_hour", 0);
    e = registry_add(a, app_db(a), name, name, base, secret, settings, err, sizeof(err));
    cJSON_Delete(settings);
    if (e) {
        cli_error(CLI_ERR_CONN, "STARTUP", 0, "cannot register the %s simulator: %s", name, err);
        goto fail;
    }
    snprintf(clock_url, sizeof(clock_url), "http://127.0.0.1:%u/_sim/clock", port);
    snprintf(speed_body, sizeof(speed_body), "{\"speed\":%d}", speed);
    gb_http_req req = {
        .method = "POST", .url = clock_url, .body = speed_body, .body_len = strlen(speed_body)};
    gb_http_resp resp;
    if (gb_http_do(&req, &resp, NULL) == GB_OK) gb_http_resp_free(&resp);
fail:
    gb_memzero(secret, sizeof(secret));
    return e;
}

gb_err sandbox_sims_start(app *a, int speed, sandbox_sims **out)
{
    *out = NULL;
    sandbox_sims *s = calloc(1, sizeof(*s));
    if (!s) return GB_ERR_NOMEM;
    const char *const *names = sim_platform_names();
    for (int i = 0; names[i] && s->n < MAX_SIMS; i++) {
        gb_err e = start_one(a, s, names[i], speed);
        if (e) {
            sandbox_sims_stop(s);
            return e;
        }
    }
    /* the Hugging Face Hub: no provider; jobs ask it for model sizes and datasets */
    uint16_t port = 0;
    sim_server *hub = NULL;
    if (s->n >= MAX_SIMS || sim_start(sim_platform_hub(), 0, "", &hub, &port) != GB_OK) {
        cli_error(CLI_ERR_CONN, "STARTUP", 0, "cannot start the Hub simulator");
        sandbox_sims_stop(s);
        return GB_ERR_INTERNAL;
    }
    s->names[s->n] = "hub";
    s->srv[s->n++] = hub;
    char *url = getenv("GPUBROKER_JOBS_HUB_URL") ? NULL : gb_asprintf("http://127.0.0.1:%u", port);
    if (url) {
        free(a->cfg.jobs_hub_url);
        a->cfg.jobs_hub_url = url;
    }
    *out = s;
    return GB_OK;
}

void sandbox_sims_print(const sandbox_sims *s, FILE *f)
{
    for (int i = 0; s && i < s->n; i++) {
        char upper[PROV_NAME_MAX];
        upper_name(s->names[i], upper);
        fprintf(f, "SIM_%s_URL=http://127.0.0.1:%u\n", upper, sim_port(s->srv[i]));
    }
}

void sandbox_sims_stop(sandbox_sims *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++)
        sim_stop(s->srv[i]);
    free(s);
}

static const char SIM_HELP[] =
    "usage: gpubroker sim --provider NAME [--port N] [--secret S] [--json]\n"
    "\n"
    "Runs one provider simulator (or with hub, the Hugging Face Hub's: point jobs.hub_url at\n"
    "it) alone on 127.0.0.1 and prints\n"
    "SIM_<NAME>_URL=... and SIM_<NAME>_SECRET=... (a random \"sim:...\" secret unless --secret\n"
    "is given; Run:ai's simulator takes it as clientID:clientSecret); --json prints them as\n"
    "one object {\"SIM_<NAME>_URL\": ..., \"SIM_<NAME>_SECRET\": ...}.\n"
    "Fault injection: POST/DELETE $URL/_sim/faults (see docs/simulators.md). Serves until\n"
    "SIGINT/SIGTERM.\n"
    "NAME: %P.\n";

int cli_sim(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("provider"), CLI_VALUE("port"), CLI_VALUE("secret"), CLI_FLAG("json")};
    const char *pos[1];
    int np, help, port = 0;
    int rc = cli_parse(argc, argv, o, N(o), pos, 0, &np, &help);
    if (rc || help) return rc ? rc : cli_help_platforms(SIM_HELP);
    const sim_platform *p = o[0].set ? sim_platform_by_name(o[0].val) : NULL;
    if (!p && o[0].set && strcmp(o[0].val, "hub") == 0) p = sim_platform_hub(); /* no provider */
    if (!p) return cli_usage_error("--provider must be one of %s or hub", cli_platforms());
    if (o[1].set && gb_parse_int(o[1].val, 0, 65535, &port))
        return cli_usage_error("--port must be a number from 0 to 65535");
    char secret[257];
    if (o[2].set && (strlen(o[2].val) == 0 || strlen(o[2].val) >= sizeof(secret)))
        return cli_usage_error("--secret must be 1 to 256 characters");
    if (o[2].set)
        gb_strlcpy(secret, o[2].val, sizeof(secret));
    else { /* "id:secret" suits every platform (Run:ai takes client credentials) */
        memcpy(secret, "sim:", 4);
        gb_random_base62(secret + 4, 40);
    }
    sigset_t set;
    cli_block_signals(&set);
    sim_server *srv = NULL;
    uint16_t bound = 0;
    if (sim_start(p, (uint16_t)port, secret, &srv, &bound) != GB_OK) {
        cli_error(CLI_ERR_CONN, "STARTUP", 0, "cannot start the %s simulator on port %d", p->name,
                  port);
        return CLI_ERR_CONN;
    }
    char upper[PROV_NAME_MAX];
    upper_name(p->name, upper);
    char lines[512];
    snprintf(lines, sizeof(lines), "SIM_%s_URL=http://127.0.0.1:%u\nSIM_%s_SECRET=%s\n", upper,
             bound, upper, secret);
    cli_print_env(lines, o[3].set);
    gb_memzero(lines, sizeof(lines));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    sim_stop(srv);
    return CLI_OK;
}
