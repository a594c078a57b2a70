/* cli_daemon.c: `gpubroker init`, `serve`, `sandbox` and `vault rotate`: loading the config,
 * preparing the data directory, running the server until SIGINT/SIGTERM. */
#include "broker/core/intents.h"
#include "broker/cli/cli_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/core/accounts.h"
#include "broker/api/api_server.h"
#include "broker/core/app.h"
#include "broker/cli/cli_reload.h"
#include "broker/cli/cli_util.h"
#include "broker/cli/sandbox_sims.h"
#include "broker/workers/job_runner.h"
#include "broker/workers/meter_worker.h"
#include "broker/workers/stall_worker.h"
#include "broker/workers/reconciler.h"
#include "broker/core/registry.h"
#include "broker/store/stores.h"
#include "broker/store/webhook_secrets.h"
#include "webhooks/outbox.h"
#include "broker/api/scopes.h"
#include "common/dbq.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/str.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define DEFAULT_CONFIG "gpubroker.yaml"
#define SANDBOX_CREDIT (INT64_C(1000) * GB_MONEY_PER_DOLLAR)

/* --config, else $GPUBROKER_CONFIG, else ./gpubroker.yaml when it exists, else NULL. */
const char *cli_config_path(cli_opt *opt)
{
    if (opt->set) return opt->val;
    const char *env = getenv("GPUBROKER_CONFIG");
    if (env && *env) return env;
    return access(DEFAULT_CONFIG, F_OK) == 0 ? DEFAULT_CONFIG : NULL;
}

/* --log-format text|json over the config's log.format. */
static int log_format_opt(const cli_opt *o)
{
    int json = o->set ? gb_log_format_parse(o->val) : -2;
    if (json == -1) return cli_usage_error("--log-format must be text or json");
    if (json >= 0) gb_log_set_json(json == 1);
    return CLI_OK;
}

int cli_load_config(const char *path, gb_config *cfg)
{
    char err[GB_CONFIG_ERR_MAX];
    if (gb_config_load(path, cfg, err, sizeof(err)) != GB_OK) {
        cli_error(CLI_ERR_USAGE, "CONFIG", 0, "config: %s", err);
        return CLI_ERR_USAGE;
    }
    gb_log_set_level((gb_log_level)cfg->log_level);
    int json = gb_log_format_parse(cfg->log_format);
    if (json < 0) {
        cli_error(CLI_ERR_USAGE, "CONFIG", 0, "config: log.format must be text or json");
        gb_config_free(cfg);
        return CLI_ERR_USAGE;
    }
    gb_log_set_json(json == 1);
    return CLI_OK;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    if (gb_strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return (mkdir(buf, mode) != 0 && errno != EEXIST) ? -1 : 0;
}

/* Creates the data directory and, unless the key comes from the environment, the key file. */
static int prepare_data(const gb_config *cfg, int *created_key)
{
    *created_key = 0;
    if (mkdir_p(cfg->data_dir, 0700) != 0) {
        cli_error(CLI_ERR_CONN, "IO", 0, "cannot create data directory %s: %s", cfg->data_dir,
                  strerror(errno));
        return CLI_ERR_CONN;
    }
    const char *env = getenv("GPUBROKER_MASTER_KEY");
    if (env && *env) return CLI_OK;
    gb_err e = vault_keyfile_create(cfg->master_key_file);
    if (e == GB_OK)
        *created_key = 1;
    else if (e != GB_ERR_CONFLICT) {
        cli_error(CLI_ERR_CONN, "IO", 0, "cannot create master key file %s", cfg->master_key_file);
        return CLI_ERR_CONN;
    }
    return CLI_OK;
}

static int open_app(gb_config *cfg, app **a)
{
    char err[512] = "";
    /* held until exit: `gpubroker restore` refuses a database a daemon has open */
    if (cli_db_lock(cfg->database, 0) < 0) {
        fprintf(stderr, "error: %s is being restored (gpubroker restore); try again after\n",
                cfg->database);
        return CLI_ERR_CONN;
    }
    gb_err e = app_open(cfg, a, err, sizeof(err));
    if (e == GB_ERR_CONFLICT) /* a schema newer than this binary: gb_db_schema_check */
        return cli_error(CLI_ERR_SCHEMA, "SCHEMA_NEWER", 0, "%s", err);
    if (e) return cli_error(CLI_ERR_CONN, "STARTUP", 0, "%s", err[0] ? err : "cannot start");
    return CLI_OK;
}

/* Blocks SIGINT and SIGTERM in the calling thread and so in every thread it starts later.
 * Daemon commands call it first thing: a thread started before it (an HTTP server's, a
 * simulator's) would take the signal's default action and kill the process uncleanly. */
void cli_block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static size_t worker_secrets(void *ud, const char *account_id, char secrets[][128], size_t max)
{
    app *a = ud;
    gb_db *db = app_db(a);
    return db ? webhook_secrets_signing(a, db, account_id, secrets, max) : 0;
}

static int worker_ed25519(void *ud, const char *account_id, char *sk, size_t sksz)
{
    app *a = ud;
    gb_db *db = app_db(a);
    return db ? webhook_ed25519_secret(a, db, account_id, sk, sksz) : 0;
}

static gb_db *worker_db(void *ud)
{
    return app_db(ud);
}

/* Serves until SIGINT or SIGTERM, which cli_block_signals() routed to sigwait() here. */
/* Ends the process if the shutdown has not finished in time: everything it would have done
 * is durable (intents, leases, the outbox) and is taken up again at the next start. */
typedef struct {
    int ms;
    app *a;
    char prefix[48]; /* the intent pool's lease owners */
} watchdog;

static void *shutdown_watchdog(void *p)
{
    const watchdog *wd = p;
    int ms = wd->ms;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    /* what is in flight is handed back: its leases released, due at once at the next start
     * (a create is then found by its gpb- name, never made twice) */
    gb_db *db = app_db(wd->a);
    int64_t n = 0;
    if (!db || intent_release_prefix(db, wd->prefix, &n) != GB_OK) n = -1;
    GB_ERROR("main",
             "shutdown took longer than %d ms: exiting now; %lld provider operation(s) in flight "
             "handed back for the next start",
             ms, (long long)n);
    _exit(CLI_ERR_CONN);
    return NULL;
}

/* What run_server started; each stop takes NULL. */
typedef struct {
    intent_pool *pool;
    api_server *srv;
    reconciler *rec;
    wh_worker *hooks;
    job_runner *jobs;
    meter_worker *meter;
    stall_worker *stall;
    gb_db_listener *sshkeys; /* PostgreSQL: other brokers' SSH key changes */
} running;

/* First no new work (the API answers what it has), then the workers finish their round;
 * queued intents stay queued for the next start. */
static void stop_all(running *r)
{
    api_server_stop(r->srv);
    stall_worker_stop(r->stall);
    meter_worker_stop(r->meter);
    job_runner_stop(r->jobs);
    wh_worker_stop(r->hooks);
    reconciler_stop(r->rec);
    intent_pool_stop(r->pool);
    gb_db_listen_stop(r->sshkeys);
}

static int startup_failed(running *r, const char *what)
{
    cli_error(CLI_ERR_CONN, "STARTUP", 0, "%s", what);
    stop_all(r);
    return CLI_ERR_CONN;
}

static int run_server(app *a, bool reload, const char *config_path,
                      void (*announce)(void *ud, uint16_t port), void *ud)
{
    sigset_t set;
    cli_block_signals(&set);
    running r = {0};
    uint16_t port = 0;
    char err[256] = "";
    /* the intent workers before the API, which queues their work */
    if (intent_pool_start(a, &r.pool) != GB_OK)
        return startup_failed(&r, "cannot start the intent workers");
    if (api_server_start(a, &r.srv, &port, err, sizeof(err)) != GB_OK)
        return startup_failed(&r, err);
    if (reconciler_start(a, &r.rec) != GB_OK)
        return startup_failed(&r, "cannot start the reconciler");
    char report[300];
    if (a->cfg.jobs_report_url && a->cfg.jobs_report_url[0])
        gb_strlcpy(report, a->cfg.jobs_report_url, sizeof(report));
    else
        snprintf(report, sizeof(report), "%s://%s:%u", a->cfg.tls_cert_file[0] ? "https" : "http",
                 a->cfg.listen, port);
    wh_worker_cfg wcfg = {.attempt_timeout_ms = a->cfg.webhooks_attempt_timeout_ms,
                          .lease_ms = a->cfg.webhooks_reclaim_after_ms,
                          .poll_ms = a->cfg.webhooks_poll_ms,
                          .allow_cidrs = a->cfg.webhooks_allow_cidrs,
                          .https_only = a->cfg.webhooks_https_only != 0,
                          .events_retention_ms = (int64_t)a->cfg.events_retention_days * 86400000,
                          .secrets = worker_secrets,
                          .ed25519 = worker_ed25519,
                          .db = worker_db,
                          .ud = a,
                          .listen_url = a->cfg.database};
    if (wh_worker_start(&wcfg, &r.hooks) != GB_OK)
        return startup_failed(&r, "cannot start the webhook worker");
    if (job_runner_start(a, report, &r.jobs) != GB_OK)
        return startup_failed(&r, "cannot start the job runner");
    if (meter_worker_start(a, &r.meter) != GB_OK)
        return startup_failed(&r, "cannot start the metering worker");
    /* PostgreSQL: SSH key lists kept in memory hear of other brokers' changes */
    if (a->cfg.ssh_keys_memory_ms > 0 &&
        gb_db_listen(a->cfg.database, SSHKEY_NOTIFY_CHANNEL, sshkey_changed_elsewhere, NULL,
                     &r.sshkeys) != GB_OK)
        return startup_failed(&r, "cannot listen for other brokers' SSH key changes");
    /* PostgreSQL: another broker stopped inside a transaction */
    if (stall_worker_start(a, &r.stall) != GB_OK)
        return startup_failed(&r, "cannot start the stalled-broker sweep");
    announce(ud, port);
    int sig = 0;
    for (;;) {
        sigwait(&set, &sig);
        if (sig != SIGHUP) break;
        if (reload)
            cli_reload(a, config_path);
        else
            GB_INFO("main", "SIGHUP: nothing to reload here");
    }
    GB_INFO("main", "received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    /* bounded: past server.shutdown_timeout_ms the process ends anyway */
    static watchdog wdog;
    wdog.ms = a->cfg.shutdown_timeout_ms;
    wdog.a = a;
    intent_pool_owner_prefix(r.pool, wdog.prefix, sizeof(wdog.prefix));
    pthread_t wd;
    if (pthread_create(&wd, NULL, shutdown_watchdog, &wdog) == 0) pthread_detach(wd);
    stop_all(&r);
    GB_INFO("main", "stopped");
    return CLI_OK;
}

static const char INIT_HELP[] =
    "usage: gpubroker init [--config PATH] [--admin-key-file FILE] [--json]\n"
    "\n"
    "Writes a commented config file (default ./gpubroker.yaml) if none exists, creates the\n"
    "data directory, the database and the vault master key (mode 0600), an admin account and\n"
    "one admin API key, printed once. Running it again changes nothing.\n"
    "--admin-key-file FILE writes the admin key line to FILE (created, mode 0600) instead of\n"
    "printing it (the service unit uses it, so the key never reaches the journal).\n"
    "--json prints one object {config, config_written, master_key, master_key_created,\n"
    "database, admin_account, api_key or api_key_file (only when created),\n"
    "already_initialized}.\n";

/* Writes "GPUBROKER_API_KEY=<key>" to a new file of mode 0600 (never over an existing one). */
static int write_key_file(const char *path, const char *key)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "error: cannot create %s: %s\n", path, strerror(errno));
        return CLI_ERR_CONN;
    }
    char line[AUTH_KEY_MAX + 32];
    int n = snprintf(line, sizeof(line), "GPUBROKER_API_KEY=%s\n", key);
    bool ok = n > 0 && (size_t)n < sizeof(line) && write(fd, line, (size_t)n) == n;
    gb_memzero(line, sizeof(line));
    if (close(fd) != 0) ok = false;
    if (!ok) fprintf(stderr, "error: cannot write %s\n", path);
    return ok ? CLI_OK : CLI_ERR_CONN;
}

int cli_init(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("config"), CLI_FLAG("json"), CLI_VALUE("admin-key-file")};
    const char *pos[1];
    int np, help, created_key;
    int rc = cli_parse(argc, argv, o, N(o), pos, 0, &np, &help);
    if (rc || help) return rc ? rc : cli_help(INIT_HELP);
    const char *path = o[0].set ? o[0].val : getenv("GPUBROKER_CONFIG");
    if (!path || !*path) path = DEFAULT_CONFIG;
    gb_err e = gb_config_write_default(path);
    if (e && e != GB_ERR_CONFLICT) {
        cli_error(CLI_ERR_CONN, "IO", 0, "cannot write config %s", path);
        return CLI_ERR_CONN;
    }
    int json = o[1].set;
    if (!e && !json) printf("wrote config %s\n", path);
    gb_config cfg;
    if ((rc = cli_load_config(path, &cfg))) return rc;
    if ((rc = prepare_data(&cfg, &created_key))) goto fail_cfg;
    if (created_key && !json) printf("created master key %s (mode 0600)\n", cfg.master_key_file);
    char shown[512]; /* a PostgreSQL URL's password stays off the screen */
    gb_db_url_redact(cfg.database, shown, sizeof(shown));
    if (!json) printf("database %s\n", shown);
    cJSON *res = json ? cJSON_CreateObject() : NULL;
    cJSON_AddStringToObject(res, "config", path);
    cJSON_AddBoolToObject(res, "config_written", !e);
    cJSON_AddStringToObject(res, "master_key", cfg.master_key_file);
    cJSON_AddBoolToObject(res, "master_key_created", created_key);
    cJSON_AddStringToObject(res, "database", shown);
    app *a = NULL;
    if ((rc = open_app(&cfg, &a))) {
        cJSON_Delete(res);
        goto fail_cfg;
    }
    gb_db *db = app_db(a);
    account_rec acc;
    if (account_find_admin(db, &acc) == GB_OK) {
        if (!json)
            printf("already initialized: admin account %s exists; no new key printed\n"
                   "(create more keys with `gpubroker keys create`)\n",
                   acc.id);
        cJSON_AddStringToObject(res, "admin_account", acc.id);
        cJSON_AddTrueToObject(res, "already_initialized");
        if (res) cli_print_json(stdout, res);
        cJSON_Delete(res);
        app_free(a);
        return CLI_OK;
    }
    apikey_rec key;
    char plain[AUTH_KEY_MAX];
    e = accounts_create(a, db, "admin", 1, 0, "admin", SCOPE_ALL, &acc, plain, &key);
    if (e) {
        cJSON_Delete(res);
        app_free(a);
        return cli_error(CLI_ERR_CONN, "INIT_FAILED", 0, "cannot create the admin account: %s",
                         gb_strerror(e));
    }
    if (o[2].set && (rc = write_key_file(o[2].val, plain)) != CLI_OK) {
        /* the account exists, its key is lost: say so (`keys create` makes another) */
        cJSON_Delete(res);
        res = NULL;
        json = 0;
        fprintf(stderr, "error: the admin key could not be written; create one with `gpubroker "
                        "keys create` using GPUBROKER_ADMIN_API_KEY of another admin\n");
    } else if (json) {
        cJSON_AddStringToObject(res, "admin_account", acc.id);
        if (o[2].set)
            cJSON_AddStringToObject(res, "api_key_file", o[2].val);
        else
            cJSON_AddStringToObject(res, "api_key", plain);
        cJSON_AddFalseToObject(res, "already_initialized");
        char *t = cJSON_PrintUnformatted(res);
        if (t) puts(t);
        if (t) gb_memzero(t, strlen(t));
        free(t);
        cJSON *k = cJSON_GetObjectItemCaseSensitive(res, "api_key");
        if (k && k->valuestring) gb_memzero(k->valuestring, strlen(k->valuestring));
        cJSON_Delete(res);
    } else if (o[2].set) {
        printf("created admin account %s\nadmin API key written to %s (mode 0600)\n", acc.id,
               o[2].val);
    } else {
        printf("created admin account %s\n"
               "admin API key (shown once, store it now):\n"
               "GPUBROKER_API_KEY=%s\n",
               acc.id, plain);
    }
    gb_memzero(plain, sizeof(plain));
    app_free(a);
    return rc;
fail_cfg:
    gb_config_free(&cfg);
    return rc;
}

static const char SERVE_HELP[] =
    "usage: gpubroker serve [--config PATH] [--json] [--log-format text|json]\n"
    "\n"
    "Serves the API until SIGINT or SIGTERM. The config comes from --config, else\n"
    "$GPUBROKER_CONFIG, else ./gpubroker.yaml if present; GPUBROKER_* variables override it\n"
    "(see config/gpubroker.example.yaml). Run `gpubroker init` first. Once listening it prints\n"
    "\"gpubroker VERSION serving on URL\", with --json {\"version\", \"url\"}. --log-format json\n"
    "logs one JSON object a line {ts, level, module, msg, request_id} (config log.format).\n";

static int serve_json; /* serve --json */

static void announce_serve(void *ud, uint16_t port)
{
    const gb_config *cfg = ud;
    const char *scheme = cfg->tls_cert_file[0] ? "https" : "http"; /* server.tls_cert_file */
    if (serve_json)
        printf("{\"version\":\"%s\",\"url\":\"%s://%s:%u\"}\n", GPUBROKER_VERSION, scheme,
               cfg->listen, port);
    else
        printf("gpubroker %s serving on %s://%s:%u\n", GPUBROKER_VERSION, scheme, cfg->listen,
               port);
    fflush(stdout);
}

int cli_serve(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("config"), CLI_FLAG("json"), CLI_VALUE("log-format")};
    const char *pos[1];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 0, &np, &help);
    if (rc || help) return rc ? rc : cli_help(SERVE_HELP);
    serve_json = o[1].set;
    sigset_t sigs;
    cli_block_signals(&sigs);
    gb_config cfg;
    if ((rc = cli_load_config(cli_config_path(&o[0]), &cfg))) return rc;
    if ((rc = log_format_opt(&o[2]))) {
        gb_config_free(&cfg);
        return rc;
    }
    const char *env = getenv("GPUBROKER_MASTER_KEY");
    if (!(env && *env) && access(cfg.master_key_file, F_OK) != 0) {
        cli_error(CLI_ERR_USAGE, "NOT_INITIALIZED", 0,
                  "no master key at %s; run `gpubroker init` first", cfg.master_key_file);
        gb_config_free(&cfg);
        return CLI_ERR_USAGE;
    }
    app *a = NULL;
    if ((rc = open_app(&cfg, &a))) {
        gb_config_free(&cfg);
        return rc;
    }
    gb_http_global_init();
    rc = run_server(a, true, cli_config_path(&o[0]), announce_serve, &a->cfg);
    app_free(a);
    gb_http_global_cleanup();
    return rc;
}

static const char SANDBOX_HELP[] =
    "usage: gpubroker sandbox [--port N] [--data-dir DIR] [--sim-speed X] [--json]\n"
    "                         [--log-format text|json]\n"
    "\n"
    "Runs the daemon locally with a demo account funded with $1,000.00 and prints, one per\n"
    "line, GPUBROKER_URL=..., GPUBROKER_API_KEY=... (the demo account's fresh key) and\n"
    "GPUBROKER_ADMIN_API_KEY=... It also runs a simulator of every provider on loopback,\n"
    "registers them as the daemon's providers and prints SIM_<NAME>_URL=... for each.\n"
    "Serves until SIGINT/SIGTERM. Default port: any free one; default data directory:\n"
    "./gpubroker-sandbox (reused across runs). --sim-speed X runs the simulators' clocks X\n"
    "times faster than real time (default 10), so pods come up in seconds. --json prints the\n"
    "same as one object {\"GPUBROKER_URL\": ..., \"SIM_TARGON_URL\": ..., ...}.\n";

typedef struct {
    const char *listen;
    const char *scheme; /* https with server.tls_cert_file (GPUBROKER_SERVER_TLS_*) */
    char key[AUTH_KEY_MAX];
    char admin_key[AUTH_KEY_MAX];
    sandbox_sims *sims;
    int json;
} sandbox_info;

static void announce_sandbox(void *ud, uint16_t port)
{
    sandbox_info *s = ud;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        fprintf(f, "GPUBROKER_URL=%s://%s:%u\nGPUBROKER_API_KEY=%s\nGPUBROKER_ADMIN_API_KEY=%s\n",
                s->scheme, s->listen, port, s->key, s->admin_key);
        sandbox_sims_print(s->sims, f);
        fclose(f);
    }
    cli_print_env(text ? text : "", s->json);
    if (text) gb_memzero(text, strlen(text));
    free(text);
    fflush(stdout);
    gb_memzero(s->key, sizeof(s->key));
    gb_memzero(s->admin_key, sizeof(s->admin_key));
}

/* Makes sure the named account exists (creating it with opening credit) and issues a fresh
 * key for it into key_out. */
static gb_err sandbox_account(app *a, const char *name, int admin, gb_money credit,
                              char key_out[AUTH_KEY_MAX])
{
    gb_db *db = app_db(a);
    account_rec acc;
    apikey_rec key;
    unsigned scopes = admin ? SCOPE_ALL : SCOPE_ALL_USER;
    if (account_find_by_name(db, name, &acc) != GB_OK)
        return accounts_create(a, db, name, admin, credit, "sandbox", scopes, &acc, key_out, &key);
    gb_err e = gb_db_begin(db);
    if (!e) e = auth_issue_key(a, db, acc.id, "sandbox", scopes, key_out, &key);
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    return e;
}

int cli_sandbox(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("port"), CLI_VALUE("data-dir"), CLI_VALUE("sim-speed"),
                   CLI_FLAG("json"), CLI_VALUE("log-format")};
    const char *pos[1];
    int np, help, port = 0, created_key, speed = 10;
    int rc = cli_parse(argc, argv, o, N(o), pos, 0, &np, &help);
    if (rc || help) return rc ? rc : cli_help(SANDBOX_HELP);
    sigset_t sigs;
    cli_block_signals(&sigs); /* before the simulators start their threads */
    if (o[0].set && gb_parse_int(o[0].val, 0, 65535, &port))
        return cli_usage_error("--port must be a number from 0 to 65535");
    if (o[2].set && gb_parse_int(o[2].val, 1, 10000, &speed))
        return cli_usage_error("--sim-speed must be a number from 1 to 10000");
    gb_config cfg;
    if ((rc = cli_load_config(NULL, &cfg))) return rc;
    if ((rc = log_format_opt(&o[4]))) {
        gb_config_free(&cfg);
        return rc;
    }
    const char *dir = o[1].set ? o[1].val : "gpubroker-sandbox";
    char *db = gb_asprintf("%s/gpubroker.db", dir), *key = gb_asprintf("%s/master.key", dir);
    char *dd = gb_strdup(dir);
    if (!db || !key || !dd) {
        free(db);
        free(key);
        free(dd);
        gb_config_free(&cfg);
        return CLI_ERR_CONN;
    }
    if (gb_db_url_is_pg(cfg.database)) { /* a PostgreSQL given (GPUBROKER_STORAGE_DATABASE) stays */
        free(db);
        if (!(db = gb_strdup(cfg.database))) {
            free(key);
            free(dd);
            gb_config_free(&cfg);
            return CLI_ERR_CONN;
        }
    }
    free(cfg.database);
    free(cfg.master_key_file);
    free(cfg.data_dir);
    cfg.database = db;
    cfg.master_key_file = key;
    cfg.data_dir = dd;
    cfg.port = port;
    if (!getenv("GPUBROKER_JOBS_TRAINER_IMAGE")) { /* the simulated trainer runs on sandbox pods */
        char *img = gb_strdup(sandbox_trainer_image());
        if (img) {
            free(cfg.jobs_trainer_image);
            cfg.jobs_trainer_image = img;
        }
    }
    if (!getenv("GPUBROKER_WEBHOOKS_ALLOW_CIDRS")) { /* local receivers, never link-local */
        char *c = gb_strdup("127.0.0.0/8");
        if (c) {
            free(cfg.webhooks_allow_cidrs);
            cfg.webhooks_allow_cidrs = c;
        }
    }
    if (!getenv("GPUBROKER_JOBS_TRAINER_STATE_URL")) { /* each simulator serves its trainers */
        char *u = gb_strdup("{provider_url}/_trainer/{workload_id}");
        if (u) {
            free(cfg.jobs_trainer_state_url);
            cfg.jobs_trainer_state_url = u;
        }
    }
    if (!getenv("GPUBROKER_JOBS_PROVIDERS")) { /* the Volt simulator's pods run the trainer */
        char *p = gb_strdup("volt");
        if (p) {
            free(cfg.jobs_providers);
            cfg.jobs_providers = p;
        }
    }
    if ((rc = prepare_data(&cfg, &created_key))) {
        gb_config_free(&cfg);
        return rc;
    }
    app *a = NULL;
    if ((rc = open_app(&cfg, &a))) {
        gb_config_free(&cfg);
        return rc;
    }
    sandbox_info info;
    memset(&info, 0, sizeof(info));
    info.listen = a->cfg.listen;
    info.scheme = a->cfg.tls_cert_file[0] ? "https" : "http";
    info.json = o[3].set;
    if (sandbox_account(a, "demo", 0, SANDBOX_CREDIT, info.key) ||
        sandbox_account(a, "sandbox-admin", 1, 0, info.admin_key)) {
        cli_error(CLI_ERR_CONN, "STARTUP", 0, "cannot create the sandbox accounts");
        app_free(a);
        return CLI_ERR_CONN;
    }
    gb_http_global_init();
    if (sandbox_sims_start(a, speed, &info.sims) == GB_OK)
        rc = run_server(a, false, NULL, announce_sandbox, &info);
    else
        rc = CLI_ERR_CONN;
    app_free(a);
    sandbox_sims_stop(info.sims);
    gb_http_global_cleanup();
    return rc;
}

static const char VAULT_HELP[] =
    "usage: gpubroker vault rotate [--config PATH] [--json]\n"
    "\n"
    "Makes a new master key and re-seals every stored secret under it in one transaction.\n"
    "A running daemon keeps serving and picks up the new key file by itself. Needs the key\n"
    "file (not GPUBROKER_MASTER_KEY).\n";

int cli_vault(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("config"), CLI_FLAG("json")};
    const char *pos[2];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 2, &np, &help);
    if (rc || help) return rc ? rc : cli_help(VAULT_HELP);
    if (np != 1 || strcmp(pos[0], "rotate") != 0)
        return cli_usage_error("vault: the only command is `rotate` (see --help)");
    gb_config cfg;
    if ((rc = cli_load_config(cli_config_path(&o[0]), &cfg))) return rc;
    gb_db *db = NULL;
    size_t n = 0;
    char err[VAULT_ERR_MAX] = "";
    gb_err e = gb_db_open_url(cfg.database, &db);
    if (!e) e = app_migrate(db);
    if (!e) e = vault_rotate(cfg.master_key_file, db, &n, err);
    gb_db_close(db);
    gb_config_free(&cfg);
    if (e) {
        cli_error(CLI_ERR_CONN, "ROTATION_FAILED", 0, "rotation failed: %s",
                  err[0] ? err : gb_strerror(e));
        return CLI_ERR_CONN;
    }
    if (o[1].set)
        printf("{\"rotated\":true,\"resealed\":%zu}\n", n);
    else
        printf("rotated the master key: %zu secrets re-sealed\n", n);
    return CLI_OK;
}
