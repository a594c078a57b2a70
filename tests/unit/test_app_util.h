/* test_app_util.h: a whole broker app (config defaults, a fresh SQLite file, a new vault key,
 * every migration) in a temporary directory, for unit tests of the broker's C entry points.
 * Included after test_db_util.h, the database is a fresh one on PostgreSQL in the test's
 * .postgresql variant.
 * Header-only like the other test helpers; include it once per test program. */
#ifndef GB_TEST_APP_UTIL_H
#define GB_TEST_APP_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/api/scopes.h"
#include "broker/core/accounts.h"
#include "broker/core/app.h"
#include "common/str.h"

/* An app on the config defaults with its database, key file and data directory these
 * (malloc'd; the config owns them). */
static inline app *test_app_with(char *database, char *master_key_file, char *data_dir)
{
    gb_config cfg;
    char err[512] = "";
    app *a = NULL;
    assert_int_equal(gb_config_load(NULL, &cfg, err, sizeof(err)), GB_OK);
    free(cfg.database);
    free(cfg.master_key_file);
    free(cfg.data_dir);
    cfg.database = database;
    cfg.master_key_file = master_key_file;
    cfg.data_dir = data_dir;
    if (app_open(&cfg, &a, err, sizeof(err)) != GB_OK) fail_msg("app_open: %s", err);
    return a;
}

/* Opens the app in dir (a mkdtemp template, filled in place). */
static app *test_app_open(char *dir)
{
    assert_non_null(mkdtemp(dir));
#ifdef GB_TEST_DB_UTIL_H /* a store test: on PostgreSQL in its .postgresql variant */
    const char *url = tdb_is_pg() ? tdb_fresh_url() : NULL;
    char *database = url ? gb_strdup(url) : gb_asprintf("%s/gpubroker.db", dir);
#else
    char *database = gb_asprintf("%s/gpubroker.db", dir);
#endif
    char *key = gb_asprintf("%s/master.key", dir);
    unsetenv("GPUBROKER_MASTER_KEY");
    assert_int_equal(vault_keyfile_create(key), GB_OK);
    return test_app_with(database, key, gb_strdup(dir));
}

/* A second broker on a's database and key file (several brokers on one database). Close it
 * with test_app_second_close. */
static inline app *test_app_second(const app *a)
{
    return test_app_with(gb_strdup(a->cfg.database), gb_strdup(a->cfg.master_key_file),
                         gb_strdup(a->cfg.data_dir));
}

/* Frees the second broker b. Its app_free closes this thread's connection (app_db's), so
 * a's connection is opened again: the one returned, for the test's db. */
static inline gb_db *test_app_second_close(app *b, app *a)
{
    app_free(b);
    return app_db(a);
}

/* A new user account (every user scope) named name with credit, in *acc. */
static inline void test_app_account(app *a, gb_db *db, const char *name, gb_money credit,
                                    account_rec *acc)
{
    char key[AUTH_KEY_MAX];
    apikey_rec k;
    assert_int_equal(accounts_create(a, db, name, 0, credit, "test", SCOPE_ALL_USER, acc, key, &k),
                     GB_OK);
}

/* Frees the app and removes dir; 0 when the directory went. */
static int test_app_close(app *a, const char *dir)
{
    app_free(a);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
