/* db_backup.c: consistent online copies of a database (SQLite's backup API: one read
 * transaction, so writers in WAL mode go on and the copy is one point in time), the refusal of
 * a database whose schema is newer than this binary knows, and migrations that copy the
 * database before they change it. https://www.sqlite.org/backup.html, sqlite3_backup_init. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/db.h"
#include "common/dbq.h"
#include "common/log.h"
#include "common/str.h"

/* Copies src's main database into the file at path (created or overwritten) and syncs it. */
static gb_err copy_into(sqlite3 *src, const char *path, gb_errmsg err)
{
    sqlite3 *dst = NULL;
    gb_err e = GB_ERR_IO;
    if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, GB_ERRMSG_MAX, "cannot create %.300s: %.150s", path, sqlite3_errmsg(dst));
        goto done;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        snprintf(err, GB_ERRMSG_MAX, "cannot start the copy: %s", sqlite3_errmsg(dst));
        goto done;
    }
    int rc;
    /* all pages in one step: one read transaction, one consistent snapshot; a writer holding
     * the lock (rollback journal mode) only delays it */
    for (int tries = 0; (rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED;
         tries++) {
        if (tries > 100) break;
        sqlite3_sleep(50);
    }
    int frc = sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE || frc != SQLITE_OK) {
        snprintf(err, GB_ERRMSG_MAX, "the copy failed: %s", sqlite3_errmsg(dst));
        goto done;
    }
    /* a copy is a plain rollback-journal file: one file to move around */
    if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, GB_ERRMSG_MAX, "cannot finish %.300s: %.150s", path, sqlite3_errmsg(dst));
        goto done;
    }
    e = GB_OK;
done:
    sqlite3_close(dst);
    if (!e) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
            snprintf(err, GB_ERRMSG_MAX, "cannot sync %.400s", path);
            e = GB_ERR_IO;
        }
        if (fd >= 0) close(fd);
    }
    return e;
}

gb_err gb_db_backup_handle(struct sqlite3 *src, const char *dest, gb_errmsg err)
{
    char tmp[4096];
    if (gb_snprintf(tmp, sizeof(tmp), "%s.part", dest)) {
        snprintf(err, GB_ERRMSG_MAX, "the path is too long");
        return GB_ERR_INVALID;
    }
    unlink(tmp);
    gb_err e = copy_into(src, tmp, err);
    if (!e && rename(tmp, dest) != 0) {
        snprintf(err, GB_ERRMSG_MAX, "cannot move the copy to %.400s", dest);
        e = GB_ERR_IO;
    }
    if (e) unlink(tmp);
    return e;
}

gb_err gb_db_backup(gb_db *db, const char *dest, gb_errmsg err)
{
    if (gb_db_kind_of(db) == GB_DB_POSTGRESQL) {
        snprintf(err, GB_ERRMSG_MAX,
                 "the database is PostgreSQL: back it up with pg_dump "
                 "(docs/operations.md)");
        return GB_ERR_INVALID;
    }
    return gb_db_backup_handle(gb_db_handle(db), dest, err);
}

/* The highest version a set knows. */
static int last_version(const gb_migration_set *set)
{
    int v = 0;
    for (size_t k = 0; k < set->count; k++)
        if (set->steps[k].version > v) v = set->steps[k].version;
    return v;
}

/* One row of schema_versions against the sets this binary knows: records the module's version
 * in versions[] (per set); GB_ERR_CONFLICT (err says why) for a module or a version it does
 * not know (a newer gpubroker wrote it). */
static gb_err version_row(const char *module, int version, const gb_migration_set *sets,
                          size_t nsets, int versions[64], gb_errmsg err)
{
    const gb_migration_set *set = NULL;
    for (size_t i = 0; i < nsets && !set; i++)
        if (module && strcmp(sets[i].module, module) == 0) {
            set = &sets[i];
            if (i < 64) versions[i] = version;
        }
    if (set && version <= last_version(set)) return GB_OK;
    snprintf(err, GB_ERRMSG_MAX,
             "the database's schema is newer than this gpubroker knows (%.64s at version %d, "
             "this binary knows %s%d): run the newer gpubroker, or restore a backup taken "
             "before the upgrade",
             module ? module : "?", version, set ? "up to " : "no such module, ",
             set ? last_version(set) : 0);
    return GB_ERR_CONFLICT;
}

/* The steps of sets newer than versions[] into *pending; GB_OK. */
static gb_err count_pending(const gb_migration_set *sets, size_t nsets, const int versions[64],
                            int *pending)
{
    for (size_t i = 0; i < nsets && i < 64; i++)
        for (size_t k = 0; k < sets[i].count; k++)
            if (sets[i].steps[k].version > versions[i]) (*pending)++;
    return GB_OK;
}

/* One integer of a query on a raw handle; -1 on error. */
static int64_t one_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* The check of gb_db_schema_check on a raw handle (a read-only backup's too). */
static gb_err schema_check(sqlite3 *h, const gb_migration_set *sets, size_t nsets, int *pending,
                           gb_errmsg err)
{
    *pending = 0;
    int64_t have = one_int(h, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                              "name = 'schema_versions'");
    if (have < 0) {
        snprintf(err, GB_ERRMSG_MAX, "not a readable database: %.200s", sqlite3_errmsg(h));
        return GB_ERR_DB;
    }
    sqlite3_stmt *s = NULL;
    if (have && sqlite3_prepare_v2(h, "SELECT module, version FROM schema_versions", -1, &s,
                                   NULL) != SQLITE_OK) {
        snprintf(err, GB_ERRMSG_MAX, "cannot read schema_versions: %.200s", sqlite3_errmsg(h));
        return GB_ERR_DB;
    }
    int versions[64] = {0}; /* per set, the recorded version */
    gb_err e = GB_OK;
    while (s && !e && sqlite3_step(s) == SQLITE_ROW)
        e = version_row((const char *)sqlite3_column_text(s, 0), sqlite3_column_int(s, 1), sets,
                        nsets, versions, err);
    sqlite3_finalize(s);
    return e ? e : count_pending(sets, nsets, versions, pending);
}

/* The same check through dbq.h (PostgreSQL: no raw handle). */
static gb_err schema_check_q(gb_db *db, const gb_migration_set *sets, size_t nsets, int *pending,
                             gb_errmsg err)
{
    *pending = 0;
    int versions[64] = {0};
    gb_q *q = gb_q_prep(db, "SELECT to_regclass('schema_versions') IS NOT NULL");
    int row = 0, have = 0;
    if (!q || gb_q_step(q, &row) || !row) {
        if (q) gb_q_reset(q);
        snprintf(err, GB_ERRMSG_MAX, "not a readable database");
        return GB_ERR_DB;
    }
    have = gb_q_col_int64(q, 0) == 1;
    gb_q_reset(q);
    gb_err e = GB_OK;
    if (have && !(q = gb_q_prep(db, "SELECT module, version FROM schema_versions"))) {
        snprintf(err, GB_ERRMSG_MAX, "cannot read schema_versions");
        return GB_ERR_DB;
    }
    while (have && !e && !(e = gb_q_step(q, &row)) && row)
        e = version_row(gb_q_col_text(q, 0), (int)gb_q_col_int64(q, 1), sets, nsets, versions, err);
    if (have) gb_q_reset(q);
    return e ? e : count_pending(sets, nsets, versions, pending);
}

gb_err gb_db_schema_check(gb_db *db, const gb_migration_set *sets, size_t nsets, int *pending,
                          gb_errmsg err)
{
    if (gb_db_kind_of(db) == GB_DB_POSTGRESQL) return schema_check_q(db, sets, nsets, pending, err);
    return schema_check(gb_db_handle(db), sets, nsets, pending, err);
}

/* "YYYYmmddTHHMMSSZ" of now (UTC). */
static void stamp_now(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y%m%dT%H%M%SZ", &tm);
}

gb_err gb_db_restore(const char *backup, const char *dest, const gb_migration_set *sets,
                     size_t nsets, char *moved, size_t moved_size, gb_errmsg err)
{
    sqlite3 *src = NULL;
    gb_err e = GB_ERR_INVALID;
    int pending = 0;
    if (moved && moved_size) moved[0] = '\0';
    if (sqlite3_open_v2(backup, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, GB_ERRMSG_MAX, "cannot open the backup %.300s", backup);
        goto done;
    }
    if (one_int(src, "SELECT count(*) FROM pragma_quick_check WHERE quick_check <> 'ok'") != 0) {
        snprintf(err, GB_ERRMSG_MAX, "%.300s is not an intact SQLite database", backup);
        goto done;
    }
    if (one_int(src, "SELECT count(*) FROM sqlite_master WHERE name = 'schema_versions'") != 1) {
        snprintf(err, GB_ERRMSG_MAX, "%.300s is not a gpubroker database", backup);
        goto done;
    }
    if ((e = schema_check(src, sets, nsets, &pending, err))) goto done;
    char part[4096], aside[4096], stamp[32];
    stamp_now(stamp);
    if (gb_snprintf(part, sizeof(part), "%s.restoring", dest) ||
        gb_snprintf(aside, sizeof(aside), "%s.replaced-%s", dest, stamp)) {
        snprintf(err, GB_ERRMSG_MAX, "the database path is too long");
        e = GB_ERR_INVALID;
        goto done;
    }
    unlink(part);
    if ((e = copy_into(src, part, err))) goto done;
    /* the database in place (with its WAL, which may hold its last commits) is kept aside */
    if (access(dest, F_OK) == 0) {
        static const char *const side[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < 3 && !e; i++) {
            char a[4200], b[4200];
            snprintf(a, sizeof(a), "%s%s", dest, side[i]);
            snprintf(b, sizeof(b), "%s%s", aside, side[i]);
            if (access(a, F_OK) == 0 && rename(a, b) != 0) {
                snprintf(err, GB_ERRMSG_MAX, "cannot move %.300s aside", a);
                e = GB_ERR_IO;
            }
        }
        if (!e && moved && moved_size) gb_strlcpy(moved, aside, moved_size);
    }
    if (!e && rename(part, dest) != 0) {
        snprintf(err, GB_ERRMSG_MAX, "cannot move the restored copy to %.300s", dest);
        e = GB_ERR_IO;
    }
    if (e) unlink(part);
done:
    sqlite3_close(src);
    return e;
}

gb_err gb_db_upgrade(gb_db *db, const gb_migration_set *sets, size_t nsets, char *backup_path,
                     size_t backup_size, gb_errmsg err)
{
    int pending = 0;
    if (backup_path && backup_size) backup_path[0] = '\0';
    gb_err e = gb_db_schema_check(db, sets, nsets, &pending, err);
    if (e) return e;
    int64_t total = 0;
    for (size_t i = 0; i < nsets; i++)
        total += (int64_t)sets[i].count;
    /* an existing database about to change: copied first, next to it (PostgreSQL's are the
     * operator's pg_dump: a server's database is not ours to copy) */
    if (pending > 0 && pending < total && gb_db_kind_of(db) == GB_DB_POSTGRESQL)
        GB_INFO("db",
                "%d schema steps to apply to %s (no copy taken: back PostgreSQL up with "
                "pg_dump)",
                pending, gb_db_path(db));
    else if (pending > 0 && pending < total && gb_db_path(db) &&
             strcmp(gb_db_path(db), ":memory:")) {
        char path[4096], stamp[32];
        stamp_now(stamp);
        if (gb_snprintf(path, sizeof(path), "%s.before-upgrade-%s", gb_db_path(db), stamp)) {
            snprintf(err, GB_ERRMSG_MAX, "the database path is too long for its backup");
            return GB_ERR_INVALID;
        }
        if ((e = gb_db_backup(db, path, err))) return e;
        GB_INFO("db", "%d schema steps to apply: the database was first copied to %s", pending,
                path);
        if (backup_path && backup_size) gb_strlcpy(backup_path, path, backup_size);
    }
    if ((e = gb_db_migrate(db, sets, nsets)))
        snprintf(err, GB_ERRMSG_MAX, "a schema step failed (the log says which)");
    return e;
}
