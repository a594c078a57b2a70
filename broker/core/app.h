/* app.h: the running daemon's shared state (config, vault, limits, metrics) and the
 * per-thread database connection every request and worker uses. */
#ifndef GB_APP_H
#define GB_APP_H

#include <stdint.h>

#include "common/db.h"
#include "config/config.h"
#include "vault/vault.h"

struct ratelimit;
struct keycache;
struct metrics;
struct api_server;
struct registry;
struct offer_cache;
struct blocklist;
struct intent_pool;

typedef struct app {
    gb_config cfg;
    vault *vault;
    struct ratelimit *rl;
    struct keycache *keys;   /* verified API keys (broker/api/keycache.h) */
    struct gb_memo *sshkeys; /* accounts' SSH key lists (sshkey_list_recent) */
    struct metrics *metrics;
    struct api_server *server;
    struct registry *reg;
    struct offer_cache *offers;
    struct blocklist *blocked;   /* offers placement skips for a while */
    struct intent_pool *intents; /* runs provider mutations (intents.h); NULL: none */
    unsigned thread_key_ok;
    gb_db_group *wgroup; /* SQLite's group commit (storage.group_commit); NULL: none */
} app;

/* Opens the database at cfg.database, applies every module's migrations, opens the vault
 * (GPUBROKER_MASTER_KEY or cfg.master_key_file) and loads the API-key pepper.
 * cfg is moved into the app (the caller's copy is zeroed). err gets a message for people. */
gb_err app_open(gb_config *cfg, app **out, char *err, size_t errsz);
void app_free(app *a);

/* This thread's connection to the app's database, opened on first use and closed when the
 * thread exits. NULL when it cannot be opened (logged). */
gb_db *app_db(app *a);
/* Closes this thread's connection now (for the main thread before app_free). */
void app_db_release(void);

/* Every module's migrations, in dependency order. */
#define APP_SCHEMA_SETS 7
gb_err app_migrate(gb_db *db);
/* Fills sets with every module's schema steps, in the order they apply; returns the count. */
size_t app_schema_sets(gb_migration_set sets[APP_SCHEMA_SETS]);
/* gb_db_schema_check over every module's migrations (a newer schema: GB_ERR_CONFLICT). */
gb_err app_schema_check(gb_db *db, int *pending, gb_errmsg err);

#endif
