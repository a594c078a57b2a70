/* ready_store.c: whether the database takes writes now, for readiness (ready_store.h). */
#include "broker/store/ready_store.h"

#include <sqlite3.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "common/db.h"
#include "common/dbq.h"

/* PostgreSQL: a new connection (the server may have gone read-only or away since the daemon's
 * opened), then in a transaction rolled back: refused on a standby or with read-only
 * transactions, else a temporary table created. */
static bool probe_pg(const char *url, const char **detail)
{
    gb_db *db = NULL;
    *detail = "cannot connect to the database";
    if (gb_db_open_url(url, &db) != GB_OK) return false;
    bool ok = false;
    int ro = 0;
    gb_err e = gb_db_begin(db);
    gb_q *q = e ? NULL
                : gb_q_prep(db, "SELECT pg_is_in_recovery() OR"
                                " current_setting('transaction_read_only') = 'on'");
    if (!e && !q) e = GB_ERR_DB;
    if (!e) {
        int row = 0;
        e = gb_q_step(q, &row);
        ro = !e && row && gb_q_col_int64(q, 0) == 1;
        gb_q_reset(q);
    }
    if (!e && !ro) e = gb_db_exec(db, "CREATE TEMP TABLE gb_readyz_probe(x BIGINT)");
    gb_db_rollback(db);
    gb_db_close(db);
    ok = !e && !ro;
    *detail = ro  ? "the database is read-only (a standby, or read-only transactions)"
              : e ? "a write was refused"
                  : "a write in a rolled-back transaction succeeded";
    return ok;
}

/* SQLite: a write through a connection of its own, rolled back (SQLite's own API: the probe
 * must never create a missing file, and must see a file opened read-only, which gb_db_open,
 * creating the file and setting WAL, does not let it): the daemon's open connections keep
 * writing to a file made read-only after they opened it, a new one sees it as it is now
 * (SQLite opens a write-protected file read-only and refuses the write; a read-only or full
 * file system refuses it too). The mode bits are read first: a daemon running as root is let
 * through by the kernel, but a file nobody may write is one the operator closed. A database
 * busy with another writer takes writes: that is not unready. */
bool ready_store_probe_write(const char *path, const char **detail)
{
    if (path && (strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0))
        return probe_pg(path, detail);
    if (path && strncmp(path, "sqlite:", 7) == 0) path += 7;
    sqlite3 *h = NULL;
    bool ok = false;
    struct stat st;
    *detail = "cannot open the database";
    if (path && stat(path, &st) == 0 && !(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH))) {
        *detail = "the database file is read-only (no write permission bit)";
        return false;
    }
    if (!path ||
        sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        goto done;
    sqlite3_busy_timeout(h, 1000);
    if (sqlite3_db_readonly(h, "main") != 0) {
        *detail = "the database file is read-only";
        goto done;
    }
    int rc = sqlite3_exec(h, "BEGIN IMMEDIATE; CREATE TABLE gb_readyz_probe(x);", NULL, NULL, NULL);
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    ok = rc == SQLITE_OK || rc == SQLITE_BUSY;
    *detail = rc == SQLITE_OK     ? "a write in a rolled-back transaction succeeded"
              : rc == SQLITE_BUSY ? "busy with another writer"
                                  : "a write was refused";
done:
    sqlite3_close(h);
    return ok;
}
