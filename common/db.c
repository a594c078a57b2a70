/* db.c: SQLite connections, the statement cache, migrations and transactions; PostgreSQL
 * connections (db_pg.c) share the cache, migrations and transactions through dbq.h. */
#include "common/db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/db_int.h"
#include "common/log.h"
#include "common/str.h"

/* Before SQLite's first use in the process: no memory statistics. With them on (SQLite's
 * default) every sqlite3_malloc and free takes one process-wide mutex to count bytes, and the
 * HTTP threads, each on its own connection, queued on it (a third of the job creation
 * bench's waits in a scheduler profile; docs/benchmarks.md). Nothing here reads the counts. */
static pthread_once_t g_sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); /* MISUSE if initialized already */
}

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

gb_db_entry *gb_db_entry_get(gb_db *db, const char *sql)
{
    unsigned h = hash_str(sql), b = h % GB_DB_BUCKETS;
    /* never by the pointer alone: SQL built in a reused buffer would find another's statement */
    for (gb_db_entry *e = db->buckets[b]; e; e = e->next)
        if (e->hash == h && strcmp(e->sql, sql) == 0) return e;
    gb_db_entry *e = calloc(1, sizeof(*e));
    if (!e) return NULL;
    e->hash = h;
    e->sql = gb_strdup(sql);
    if (!e->sql) {
        free(e);
        return NULL;
    }
    e->next = db->buckets[b];
    db->buckets[b] = e;
    return e;
}

gb_err gb_db_check(gb_db *db, int rc, const char *what)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return GB_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return GB_ERR_CONFLICT;
    GB_ERROR("db", "%s: %s (%d)", what ? what : "sqlite", db && db->h ? sqlite3_errmsg(db->h) : "",
             rc);
    return GB_ERR_DB;
}

/* Releases the writer mutex if this connection holds it. */
static void wunlock(gb_db *db)
{
    if (!db->wlocked) return;
    db->wlocked = 0;
    pthread_mutex_unlock(db->wlock);
}

/* Turns the file to WAL (a no-op once it is). A connection that changes the journal mode
 * while another connection holds a read lock on the file (several opening a new file at
 * once) is refused with SQLITE_BUSY at once, without the busy handler: SQLite breaks that
 * deadlock by refusing. So it is retried here, as the busy handler would, for as long. */
static gb_err wal_mode(gb_db *db)
{
    int64_t end = gb_mono_ms() + GB_DB_BUSY_TIMEOUT_MS;
    for (useconds_t pause = 200;; pause = pause < 20000 ? pause * 2 : pause) {
        int rc = sqlite3_exec(db->h, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if ((rc & 0xff) != SQLITE_BUSY || gb_mono_ms() >= end) return gb_db_check(db, rc, "WAL");
        usleep(pause);
    }
}

gb_err gb_db_open(const char *path, gb_db **out)
{
    *out = NULL;
    gb_db *db = calloc(1, sizeof(*db));
    if (!db) return GB_ERR_NOMEM;
    db->kind = GB_DB_SQLITE;
    db->path = gb_strdup(path);
    pthread_once(&g_sqlite_once, sqlite_setup);
    int rc = sqlite3_open_v2(path, &db->h,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             gb_db_vfs());
    if (rc != SQLITE_OK || !db->path) {
        GB_ERROR("db", "cannot open database %s: %s", path, db->h ? sqlite3_errmsg(db->h) : "");
        gb_db_close(db);
        return GB_ERR_DB;
    }
    sqlite3_busy_timeout(db->h, GB_DB_BUSY_TIMEOUT_MS);
    db->wlock = gb_db_wlock_for(path);
    sqlite3_extended_result_codes(db->h, 1);
    gb_err e = wal_mode(db);
    if (!e)
        e = gb_db_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                           " PRAGMA secure_delete=ON;");
    if (e) {
        gb_db_close(db);
        return e;
    }
    *out = db;
    return GB_OK;
}

void gb_db_close(gb_db *db)
{
    if (!db) return;
    wunlock(db);
    for (int i = 0; i < GB_DB_BUCKETS; i++) {
        gb_db_entry *e = db->buckets[i];
        while (e) {
            gb_db_entry *n = e->next;
            gb_q_destroy(e->q);
            sqlite3_finalize(e->stmt);
            free(e->sql);
            free(e);
            e = n;
        }
    }
    if (db->pg) gb_pg_close(db);
    if (db->h) sqlite3_close_v2(db->h);
    free(db->path);
    free(db);
}

const char *gb_db_path(const gb_db *db)
{
    return db ? db->path : NULL;
}

struct sqlite3 *gb_db_handle(gb_db *db)
{
    return db->h;
}

struct sqlite3_stmt *gb_db_stmt(gb_db *db, const char *sql)
{
    if (db->kind != GB_DB_SQLITE) {
        GB_ERROR("db", "a SQLite statement asked of a PostgreSQL connection: %.60s", sql);
        return NULL;
    }
    gb_db_entry *e = gb_db_entry_get(db, sql);
    if (!e) return NULL;
    if (e->stmt) {
        sqlite3_reset(e->stmt);
        sqlite3_clear_bindings(e->stmt);
        return e->stmt;
    }
    int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->stmt, NULL);
    if (rc != SQLITE_OK) {
        gb_db_check(db, rc, "prepare");
        sqlite3_finalize(e->stmt);
        e->stmt = NULL;
        return NULL;
    }
    return e->stmt;
}

gb_err gb_db_exec(gb_db *db, const char *sql)
{
    if (db->kind == GB_DB_POSTGRESQL) return gb_pg_exec(db, sql);
    char *msg = NULL;
    int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        GB_ERROR("db", "exec failed: %s", msg ? msg : sqlite3_errmsg(db->h));
        sqlite3_free(msg);
        return (rc & 0xff) == SQLITE_CONSTRAINT ? GB_ERR_CONFLICT : GB_ERR_DB;
    }
    return GB_OK;
}

int gb_db_in_txn(gb_db *db)
{
    if (db->kind == GB_DB_POSTGRESQL) return gb_pg_in_txn(db);
    int in = !sqlite3_get_autocommit(db->h);
    if (!in) wunlock(db); /* SQLite ended it itself (an I/O error, a full disk) */
    return in;
}

gb_err gb_db_begin(gb_db *db)
{
    if (gb_db_in_txn(db)) {
        GB_ERROR("db", "nested transaction");
        return GB_ERR_INTERNAL;
    }
    db->nnotify = 0;
    if (db->kind == GB_DB_POSTGRESQL) return gb_pg_begin(db);
    sqlite3_stmt *s = gb_db_stmt(db, "BEGIN IMMEDIATE");
    if (!s) return GB_ERR_DB;
    if (db->wlock) { /* this process's other writers hand over at once (db_wlock.c) */
        if (gb_db_wlock_take(db->wlock, GB_DB_BUSY_TIMEOUT_MS)) {
            GB_ERROR("db", "begin: another writer held %s for %d ms", db->path,
                     GB_DB_BUSY_TIMEOUT_MS);
            return GB_ERR_DB;
        }
        db->wlocked = 1;
    }
    gb_err e = gb_db_check(db, sqlite3_step(s), "begin");
    if (e) wunlock(db);
    return e;
}

gb_err gb_db_after_commit(gb_db *db, void (*fn)(void *ud), void *ud)
{
    if (!gb_db_in_txn(db)) {
        fn(ud);
        return GB_OK;
    }
    for (int i = 0; i < db->nafter; i++)
        if (db->after[i].fn == fn && db->after[i].ud == ud) return GB_OK;
    if (db->nafter >= GB_DB_AFTER_MAX) return GB_ERR_NOMEM;
    db->after[db->nafter].fn = fn;
    db->after[db->nafter].ud = ud;
    db->nafter++;
    return GB_OK;
}

void gb_db_on_made(gb_db *db, gb_db_made_fn fn, void *ud)
{
    db->made_fn = fn;
    db->made_ud = fn ? ud : NULL;
}

gb_err gb_db_made(gb_db *db, const char *what)
{
    if (!db->made_fn) return GB_OK;
    if (!gb_db_in_txn(db)) {
        GB_ERROR("db", "gb_db_made outside a transaction");
        return GB_ERR_INTERNAL;
    }
    return db->made_fn(db, what ? what : "", db->made_ud);
}

/* Runs (and forgets) what gb_db_after_commit queued, after a commit. */
static void run_after(gb_db *db)
{
    int n = db->nafter;
    db->nafter = 0;
    for (int i = 0; i < n; i++)
        db->after[i].fn(db->after[i].ud);
}

int gb_db_channel_ok(const char *c)
{
    size_t n = 0;
    for (; c && c[n]; n++)
        if (!((c[n] >= 'a' && c[n] <= 'z') || c[n] == '_')) return 0;
    return n > 0 && n < 64;
}

gb_err gb_db_notify(gb_db *db, const char *channel)
{
    if (!channel || !gb_db_channel_ok(channel)) return GB_ERR_INVALID;
    if (db->kind != GB_DB_POSTGRESQL) return GB_OK;
    if (gb_db_in_txn(db)) {
        for (int i = 0; i < db->nnotify; i++)
            if (!strcmp(db->notify[i], channel)) return GB_OK;
        if (db->nnotify >= GB_DB_NOTIFY_MAX) return GB_ERR_NOMEM;
        gb_strlcpy(db->notify[db->nnotify++], channel, sizeof(db->notify[0]));
        return GB_OK;
    }
    char sql[96];
    snprintf(sql, sizeof(sql), "NOTIFY %s", channel);
    return gb_pg_exec(db, sql);
}

gb_err gb_db_commit(gb_db *db)
{
    gb_err e;
    if (db->kind == GB_DB_POSTGRESQL) {
        char sql[GB_DB_NOTIFY_MAX * 72 + 8] = "";
        size_t n = 0;
        for (int i = 0; i < db->nnotify; i++) /* each name < 64 characters: it fits */
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, "NOTIFY %s; ", db->notify[i]);
        snprintf(sql + n, sizeof(sql) - n, "COMMIT");
        db->nnotify = 0;
        e = gb_pg_end(db, sql);
    } else {
        sqlite3_stmt *s = gb_db_stmt(db, "COMMIT");
        e = s ? gb_db_check(db, sqlite3_step(s), "commit") : GB_ERR_DB;
        if (!s) return e; /* the transaction is still open: the caller rolls back */
    }
    if (e) {
        gb_db_rollback(db);
        return e;
    }
    wunlock(db);
    run_after(db);
    return GB_OK;
}

void gb_db_rollback(gb_db *db)
{
    db->nafter = 0;
    db->nnotify = 0;
    if (gb_db_in_txn(db)) {
        if (db->kind == GB_DB_POSTGRESQL)
            (void)gb_pg_end(db, "ROLLBACK");
        else
            sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    }
    wunlock(db);
}

int gb_db_version(gb_db *db, const char *module)
{
    gb_q *q = gb_q_prep(db, "SELECT version FROM schema_versions WHERE module = ?1");
    if (!q) return 0;
    gb_q_text(q, 1, module);
    int row = 0;
    int v = !gb_q_step(q, &row) && row ? (int)gb_q_col_int64(q, 0) : 0;
    gb_q_reset(q);
    return v;
}

/* A step's SQL on this backend: PostgreSQL's own step of that version, else the translation. */
static gb_err migration_exec(gb_db *db, const gb_migration_set *set, const gb_migration *m)
{
    if (db->kind != GB_DB_POSTGRESQL) return gb_db_exec(db, m->sql);
    for (size_t i = 0; i < set->pg_count; i++)
        if (set->pg_steps[i].version == m->version) return gb_db_exec(db, set->pg_steps[i].sql);
    char *sql = gb_db_ddl_for_pg(m->sql);
    if (!sql) return GB_ERR_NOMEM;
    gb_err e = gb_db_exec(db, sql);
    free(sql);
    return e;
}

/* PostgreSQL: brokers starting together migrate one at a time (a session lock held from the
 * check of a version to the commit of its step; READ COMMITTED alone would let two run the
 * same CREATE TABLE). SQLite's BEGIN IMMEDIATE already serializes them. */
#define MIGRATE_LOCK "4747400001"

static gb_err migrate_sets(gb_db *db, const gb_migration_set *sets, size_t nsets);

gb_err gb_db_migrate(gb_db *db, const gb_migration_set *sets, size_t nsets)
{
    if (db->kind != GB_DB_POSTGRESQL) return migrate_sets(db, sets, nsets);
    gb_err e = gb_db_exec(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")");
    if (e) return e;
    e = migrate_sets(db, sets, nsets);
    gb_err u = gb_db_exec(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")");
    return e ? e : u;
}

static gb_err migrate_sets(gb_db *db, const gb_migration_set *sets, size_t nsets)
{
    gb_err e = gb_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_versions ("
                              " module TEXT PRIMARY KEY, version INTEGER NOT NULL)");
    if (e) return e;
    for (size_t i = 0; i < nsets; i++) {
        const gb_migration_set *set = &sets[i];
        for (size_t k = 0; k < set->count; k++) {
            const gb_migration *m = &set->steps[k];
            if ((e = gb_db_begin(db))) return e;
            if (m->version <= gb_db_version(db, set->module)) {
                gb_db_rollback(db);
                continue;
            }
            e = migration_exec(db, set, m);
            if (!e) {
                gb_q *q = gb_q_prep(db, "INSERT INTO schema_versions(module, version) "
                                        "VALUES(?1, ?2) ON CONFLICT(module) DO UPDATE "
                                        "SET version = excluded.version");
                if (!q)
                    e = GB_ERR_DB;
                else {
                    gb_q_text(q, 1, set->module);
                    gb_q_int64(q, 2, m->version);
                    e = gb_q_run(q, NULL);
                }
            }
            if (!e) e = gb_db_commit(db);
            if (e) {
                gb_db_rollback(db);
                GB_ERROR("db", "migration %s v%d failed", set->module, m->version);
                return e;
            }
            GB_DEBUG("db", "applied migration %s v%d", set->module, m->version);
        }
    }
    return GB_OK;
}
