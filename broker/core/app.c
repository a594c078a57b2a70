/* app.c: opening the daemon's shared state and the per-thread SQLite connections. */
#include "broker/core/app.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/placement/blocklist.h"
#include "broker/api/keycache.h"
#include "broker/api/metrics.h"
#include "broker/placement/offer_cache.h"
#include "broker/placement/offers.h"
#include "broker/core/pods.h"
#include "broker/api/ratelimit.h"
#include "broker/core/registry.h"
#include "broker/store/idem_store.h"
#include "broker/store/stores.h"
#include "common/dbq.h"
#include "common/log.h"
#include "common/str.h"
#include "jobs/hub.h"
#include "jobs/job_store.h"
#include "webhooks/outbox.h"
#include "jobs/ledger.h"

#define SSHKEY_MEMO_SLOTS 64 /* accounts whose SSH key list is kept (the oldest replaced) */

static pthread_key_t g_db_key;
static pthread_once_t g_db_once = PTHREAD_ONCE_INIT;
static char *g_db_path; /* one database per process */

static void db_destroy(void *p)
{
    gb_db_close(p);
}

static void db_key_init(void)
{
    pthread_key_create(&g_db_key, db_destroy);
}

gb_db *app_db(app *a)
{
    pthread_once(&g_db_once, db_key_init);
    gb_db *db = pthread_getspecific(g_db_key);
    if (db) return db;
    if (!g_db_path || gb_db_open_url(g_db_path, &db) != GB_OK) return NULL;
    if (a) gb_db_group_attach(db, a->wgroup);
    pthread_setspecific(g_db_key, db);
    return db;
}

void app_db_release(void)
{
    pthread_once(&g_db_once, db_key_init);
    gb_db *db = pthread_getspecific(g_db_key);
    if (db) {
        gb_db_close(db);
        pthread_setspecific(g_db_key, NULL);
    }
}

size_t app_schema_sets(gb_migration_set sets[APP_SCHEMA_SETS])
{
    /* in the order of their references: PostgreSQL refuses a foreign key to a table that is
     * not there yet (SQLite does not check it at CREATE), so accounts come before the ledger */
    const gb_migration_set *all[] = {vault_migrations(), stores_migrations(), ledger_migrations(),
                                     pods_migrations(),  wh_migrations(),     ft_job_migrations(),
                                     idem_migrations()};
    _Static_assert(sizeof(all) / sizeof(all[0]) == APP_SCHEMA_SETS, "APP_SCHEMA_SETS");
    for (size_t i = 0; i < APP_SCHEMA_SETS; i++)
        sets[i] = *all[i];
    return APP_SCHEMA_SETS;
}

gb_err app_migrate(gb_db *db)
{
    gb_migration_set sets[APP_SCHEMA_SETS];
    return gb_db_migrate(db, sets, app_schema_sets(sets));
}

gb_err app_schema_check(gb_db *db, int *pending, gb_errmsg err)
{
    gb_migration_set sets[APP_SCHEMA_SETS];
    return gb_db_schema_check(db, sets, app_schema_sets(sets), pending, err);
}

gb_err app_open(gb_config *cfg, app **out, char *err, size_t errsz)
{
    *out = NULL;
    app *a = calloc(1, sizeof(*a));
    if (!a) return GB_ERR_NOMEM;
    a->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    gb_err e = GB_OK;
    free(g_db_path);
    g_db_path = gb_strdup(a->cfg.database);
    gb_db_pg_set_idle_txn_ms(a->cfg.idle_txn_ms);
    gb_db *db = app_db(a);
    char shown[512]; /* a PostgreSQL URL's password stays out of messages */
    gb_db_url_redact(a->cfg.database, shown, sizeof(shown));
    if (!db) {
        snprintf(err, errsz, "cannot open the database %s", shown);
        e = GB_ERR_DB;
        goto fail;
    }
    gb_migration_set sets[APP_SCHEMA_SETS];
    gb_errmsg merr = "";
    if ((e = gb_db_upgrade(db, sets, app_schema_sets(sets), NULL, 0, merr))) {
        snprintf(err, errsz, "database %s: %s", shown, merr);
        goto fail;
    }
    /* SQLite: write transactions that ask for it (gb_db_txn) commit together */
    if (a->cfg.group_commit && gb_db_kind_of(db) == GB_DB_SQLITE) {
        if ((e = gb_db_group_open(a->cfg.database, &a->wgroup))) {
            snprintf(err, errsz, "cannot open the database %s for group commit", shown);
            goto fail;
        }
        gb_db_group_attach(db, a->wgroup);
    }
    char verr[VAULT_ERR_MAX] = "";
    if ((e = vault_open(a->cfg.master_key_file, getenv("GPUBROKER_MASTER_KEY"), &a->vault, verr))) {
        snprintf(err, errsz, "%s", verr[0] ? verr : "cannot open the vault");
        goto fail;
    }
    if ((e = vault_pepper_load(a->vault, db))) {
        snprintf(err, errsz, "cannot load the API key pepper (wrong master key?)");
        goto fail;
    }
    /* a Hugging Face Hub token given in the environment is sealed in the vault, where job
     * creation reads it (jobs/hub_check.c); it stays there for later starts without it */
    const char *hub_token = getenv("GPUBROKER_HUB_TOKEN");
    if (hub_token && hub_token[0]) {
        if ((e = hub_token_put(a->vault, db, hub_token))) {
            snprintf(err, errsz, "cannot seal GPUBROKER_HUB_TOKEN in the vault");
            goto fail;
        }
    }
    a->rl = ratelimit_new(a->cfg.rate_limit_per_hour);
    a->keys = keycache_new(a->cfg.key_cache_ms);
    a->sshkeys = gb_memo_new(SSHKEY_MEMO_SLOTS, NULL);
    a->metrics = metrics_new();
    a->reg = registry_new();
    a->blocked = blocklist_new();
    if (!a->rl || !a->keys || !a->sshkeys || !a->metrics || !a->reg || !a->blocked) {
        e = GB_ERR_NOMEM;
        goto fail;
    }
    if ((e = offers_init(a))) goto fail;
    if ((e = registry_load(a, db))) {
        snprintf(err, errsz, "cannot load the registered providers");
        goto fail;
    }
    *out = a;
    return GB_OK;
fail:
    app_free(a);
    return e;
}

void app_free(app *a)
{
    if (!a) return;
    app_db_release();
    vault_free(a->vault);
    ratelimit_free(a->rl);
    keycache_free(a->keys);
    gb_memo_free(a->sshkeys);
    metrics_free(a->metrics);
    offer_cache_free(a->offers); /* joins fetch threads, which use the adapters */
    registry_free(a->reg);
    blocklist_free(a->blocked);
    gb_db_group_close(a->wgroup); /* after every thread's connection (threads are joined) */
    gb_config_free(&a->cfg);
    free(a);
}
