/* cli_backup.c: `gpubroker backup PATH` (a consistent online copy of the database while the
 * daemon runs: the vault's sealed rows are in it, the master key is not) and `gpubroker
 * restore BACKUP` (into a database no process has open, the one in place kept aside), and the
 * lock file that tells them apart. docs/operations.md, "Backups". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/cli/cli_daemon.h"
#include "broker/core/app.h"
#include "common/db.h"
#include "common/dbq.h"
#include "common/str.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int cli_db_lock(const char *database, int exclusive)
{
    /* a PostgreSQL database is the server's: brokers share it, and pg_dump/pg_restore are its
     * backups; there is no file to lock */
    if (gb_db_url_is_pg(database)) return INT_MAX;
    char path[4096];
    if (gb_snprintf(path, sizeof(path), "%s.lock", database)) return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
        close(fd);
        return -1;
    }
    return fd; /* kept open: the lock lasts as long as the process */
}

static const char BACKUP_HELP[] =
    "usage: gpubroker backup PATH [--config FILE] [--force] [--json]\n"
    "\n"
    "Writes a consistent copy of the database to PATH while the daemon runs (SQLite's online\n"
    "backup: one point in time; writers are not stopped). The copy holds everything the\n"
    "database does, the vault's sealed secrets included, but NOT the master key: keep a copy\n"
    "of the key file apart from the backups; without it the sealed secrets cannot be opened.\n"
    "An existing PATH is refused unless --force. Restore with `gpubroker restore PATH`.\n";

static const char RESTORE_HELP[] =
    "usage: gpubroker restore BACKUP [--config FILE] [--json]\n"
    "\n"
    "Puts a backup made by `gpubroker backup` in place of the configured database. The daemon\n"
    "must be stopped (refused while any gpubroker process has the database open). The backup\n"
    "is checked first (an intact gpubroker database whose schema this binary knows); the\n"
    "database in place is kept as <database>.replaced-<time>. The master key file must be the\n"
    "one the backup's secrets were sealed with.\n";

int cli_backup(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("config"), CLI_FLAG("force"), CLI_FLAG("json")};
    const char *pos[2];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 1, &np, &help);
    if (rc || help) return rc ? rc : cli_help(BACKUP_HELP);
    if (np != 1) return cli_usage_error("backup: give the PATH to write");
    if (!o[1].set && access(pos[0], F_OK) == 0)
        return cli_usage_error("backup: %s exists (--force replaces it)", pos[0]);
    gb_config cfg;
    if ((rc = cli_load_config(cli_config_path(&o[0]), &cfg))) return rc;
    gb_db *db = NULL;
    gb_errmsg err = "";
    if (gb_db_url_is_pg(cfg.database)) {
        fprintf(stderr, "error: the database is PostgreSQL: back it up with pg_dump "
                        "(docs/operations.md); the master key file is not in it either\n");
        rc = CLI_ERR_USAGE;
    } else if (access(cfg.database, F_OK) != 0) {
        fprintf(stderr, "error: no database at %s\n", cfg.database);
        rc = CLI_ERR_USAGE;
    } else if (gb_db_open(cfg.database, &db) != GB_OK) {
        fprintf(stderr, "error: cannot open %s\n", cfg.database);
        rc = CLI_ERR_CONN;
    } else if (gb_db_backup(db, pos[0], err) != GB_OK) {
        fprintf(stderr, "error: backup: %s\n", err);
        rc = CLI_ERR_CONN;
    }
    gb_db_close(db);
    if (!rc) {
        struct stat st;
        long long bytes = stat(pos[0], &st) == 0 ? (long long)st.st_size : -1;
        if (o[2].set) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "backup", pos[0]);
            cJSON_AddStringToObject(j, "database", cfg.database);
            cJSON_AddNumberToObject(j, "bytes", (double)bytes);
            cJSON_AddFalseToObject(j, "master_key_included");
            cJSON_AddStringToObject(j, "master_key_file", cfg.master_key_file);
            cli_print_json(stdout, j);
            cJSON_Delete(j);
        } else
            printf("backed up %s to %s (%lld bytes, one consistent point in time; sealed secrets "
                   "included)\nthe master key %s is NOT in the backup: keep a copy of it apart; "
                   "without it the sealed secrets cannot be opened\n",
                   cfg.database, pos[0], bytes, cfg.master_key_file);
    }
    gb_config_free(&cfg);
    return rc;
}

int cli_restore(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("config"), CLI_FLAG("json")};
    const char *pos[2];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 1, &np, &help);
    if (rc || help) return rc ? rc : cli_help(RESTORE_HELP);
    if (np != 1) return cli_usage_error("restore: give the BACKUP file");
    gb_config cfg;
    if ((rc = cli_load_config(cli_config_path(&o[0]), &cfg))) return rc;
    if (gb_db_url_is_pg(cfg.database)) {
        fprintf(stderr, "error: the database is PostgreSQL: restore it with pg_restore "
                        "(docs/operations.md)\n");
        gb_config_free(&cfg);
        return CLI_ERR_USAGE;
    }
    int fd = cli_db_lock(cfg.database, 1);
    if (fd < 0) {
        fprintf(stderr,
                "error: a gpubroker process has %s open: stop the daemon before restoring\n",
                cfg.database);
        gb_config_free(&cfg);
        return CLI_ERR_CONN;
    }
    gb_migration_set sets[APP_SCHEMA_SETS];
    char moved[4096] = "";
    gb_errmsg err = "";
    gb_err e =
        gb_db_restore(pos[0], cfg.database, sets, app_schema_sets(sets), moved, sizeof(moved), err);
    if (e) {
        fprintf(stderr, "error: restore: %s (nothing was changed)\n", err);
        rc = e == GB_ERR_IO ? CLI_ERR_CONN : CLI_ERR_USAGE;
    } else if (o[1].set) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "restored", pos[0]);
        cJSON_AddStringToObject(j, "database", cfg.database);
        if (moved[0])
            cJSON_AddStringToObject(j, "replaced", moved);
        else
            cJSON_AddNullToObject(j, "replaced");
        cli_print_json(stdout, j);
        cJSON_Delete(j);
    } else {
        printf("restored %s into %s\n", pos[0], cfg.database);
        if (moved[0]) printf("the database that was there is kept as %s\n", moved);
    }
    close(fd);
    gb_config_free(&cfg);
    return rc;
}
