/* db.c: SQLite connections, the statement cache, migrations and transactions. */
#include "common/db.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/str.h"

typedef struct stmt_entry {
    const char *key; /* the caller's SQL text (normally a literal) */
    char *sql;       /* our copy, compared when the pointer differs */
    sqlite3_stmt *stmt;
    struct stmt_entry *next;
} stmt_entry;

#define STMT_BUCKETS 64

struct gb_db {
    sqlite3 *h;
    char *path;
    stmt_entry *buckets[STMT_BUCKETS];
};

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

gb_err gb_db_check(gb_db *db, int rc, const char *what)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return GB_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return GB_ERR_CONFLICT;
    GB_ERROR("db", "%s: %s (%d)", what ? what : "sqlite", db && db->h ? sqlite3_errmsg(db->h) : "",
             rc);
    return GB_ERR_DB;
}

gb_err gb_db_open(const char *path, gb_db **out)
{
    *out = NULL;
    gb_db *db = calloc(1, sizeof(*db));
    if (!db) return GB_ERR_NOMEM;
    db->path = gb_strdup(path);
    int rc = sqlite3_open_v2(
        path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK || !db->path) {
        GB_ERROR("db", "cannot open database %s: %s", path, db->h ? sqlite3_errmsg(db->h) : "");
        gb_db_close(db);
        return GB_ERR_DB;
    }
    sqlite3_busy_timeout(db->h, 10000);
    sqlite3_extended_result_codes(db->h, 1);
    gb_err e = gb_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                              "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;");
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
    for (int i = 0; i < STMT_BUCKETS; i++) {
        stmt_entry *e = db->buckets[i];
        while (e) {
            stmt_entry *n = e->next;
            sqlite3_finalize(e->stmt);
            free(e->sql);
            free(e);
            e = n;
        }
    }
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
    unsigned b = hash_str(sql) % STMT_BUCKETS;
    for (stmt_entry *e = db->buckets[b]; e; e = e->next) {
        if (e->key == sql || strcmp(e->sql, sql) == 0) {
            sqlite3_reset(e->stmt);
            sqlite3_clear_bindings(e->stmt);
            return e->stmt;
        }
    }
    stmt_entry *e = calloc(1, sizeof(*e));
    if (!e) return NULL;
    e->key = sql;
    e->sql = gb_strdup(sql);
    int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->stmt, NULL);
    if (rc != SQLITE_OK || !e->sql) {
        gb_db_check(db, rc, "prepare");
        sqlite3_finalize(e->stmt);
        free(e->sql);
        free(e);
        return NULL;
    }
    e->next = db->buckets[b];
    db->buckets[b] = e;
    return e->stmt;
}

gb_err gb_db_exec(gb_db *db, const char *sql)
{
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
    return !sqlite3_get_autocommit(db->h);
}

gb_err gb_db_begin(gb_db *db)
{
    if (gb_db_in_txn(db)) {
        GB_ERROR("db", "nested transaction");
        return GB_ERR_INTERNAL;
    }
    sqlite3_stmt *s = gb_db_stmt(db, "BEGIN IMMEDIATE");
    if (!s) return GB_ERR_DB;
    return gb_db_check(db, sqlite3_step(s), "begin");
}

gb_err gb_db_commit(gb_db *db)
{
    sqlite3_stmt *s = gb_db_stmt(db, "COMMIT");
    if (!s) return GB_ERR_DB;
    gb_err e = gb_db_check(db, sqlite3_step(s), "commit");
    if (e) gb_db_rollback(db);
    return e;
}

void gb_db_rollback(gb_db *db)
{
    if (gb_db_in_txn(db)) sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

int gb_db_version(gb_db *db, const char *module)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT version FROM schema_versions WHERE module = ?1");
    if (!s) return 0;
    sqlite3_bind_text(s, 1, module, -1, SQLITE_STATIC);
    int v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_reset(s);
    return v;
}

gb_err gb_db_migrate(gb_db *db, const gb_migration_set *sets, size_t nsets)
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
            e = gb_db_exec(db, m->sql);
            if (!e) {
                sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO schema_versions(module, version) "
                                                 "VALUES(?1, ?2) ON CONFLICT(module) DO UPDATE "
                                                 "SET version = excluded.version");
                if (!s)
                    e = GB_ERR_DB;
                else {
                    sqlite3_bind_text(s, 1, set->module, -1, SQLITE_STATIC);
                    sqlite3_bind_int(s, 2, m->version);
                    e = gb_db_check(db, sqlite3_step(s), "migrate");
                    sqlite3_reset(s);
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
