/* ready_store.c: whether the database file takes writes now, for readiness (ready_store.h). */
#include "broker/store/ready_store.h"

#include <sqlite3.h>
#include <stddef.h>
#include <sys/stat.h>

/* A write through a connection of its own, rolled back: the daemon's open connections keep
 * writing to a file made read-only after they opened it, a new one sees it as it is now
 * (SQLite opens a write-protected file read-only and refuses the write; a read-only or full
 * file system refuses it too). The mode bits are read first: a daemon running as root is let
 * through by the kernel, but a file nobody may write is one the operator closed. A database
 * busy with another writer takes writes: that is not unready. */
bool ready_store_probe_write(const char *path, const char **detail)
{
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
