/* test_db_util.h: fresh databases for store tests on either backend (docs/store.md). By
 * default a SQLite file in a new directory under /tmp; when GB_TEST_DB_URL_FILE names a file
 * holding a PostgreSQL server's URL (ctest's unit.<test>.postgresql, server from scripts/pg.sh),
 * a new database on that server. Everything made is removed at exit.
 *
 * A unit test that includes this header gets the .postgresql variant in ctest by itself
 * (tests/CMakeLists.txt). Use: url = tdb_fresh_url(); gb_db_open_url(url, &db). */
#ifndef GB_TEST_DB_UTIL_H
#define GB_TEST_DB_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/db.h"
#include "common/dbq.h"

#define TDB_MAX 64
static char tdb_admin[1024];
static char *tdb_made[TDB_MAX]; /* database names (PostgreSQL) or directories (SQLite) */
static int tdb_count;
static int tdb_pg = -1;

static inline void tdb_cleanup(void)
{
    gb_db *a = NULL;
    if (tdb_pg == 1 && gb_db_open_url(tdb_admin, &a) != GB_OK) a = NULL;
    for (int i = 0; i < tdb_count; i++) {
        char buf[1200];
        if (tdb_pg == 1) {
            snprintf(buf, sizeof(buf), "DROP DATABASE IF EXISTS %s WITH (FORCE)", tdb_made[i]);
            if (a) (void)gb_db_exec(a, buf);
        } else {
            static const char *files[] = {"t.db", "t.db-wal", "t.db-shm"};
            for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
                snprintf(buf, sizeof(buf), "%s/%s", tdb_made[i], files[k]);
                unlink(buf);
            }
            rmdir(tdb_made[i]);
        }
        free(tdb_made[i]);
    }
    gb_db_close(a);
    tdb_count = 0;
}

/* 1 when the tests run on PostgreSQL. Exits 77 (skipped) when the URL file is named but
 * missing: no server was started. */
static inline int tdb_is_pg(void)
{
    if (tdb_pg >= 0) return tdb_pg;
    const char *f = getenv("GB_TEST_DB_URL_FILE");
    tdb_pg = 0;
    if (f) {
        FILE *fp = fopen(f, "r");
        if (!fp || !fgets(tdb_admin, sizeof(tdb_admin), fp)) {
            fprintf(stderr, "no PostgreSQL (%s): skipped\n", f);
            exit(77);
        }
        fclose(fp);
        tdb_admin[strcspn(tdb_admin, "\r\n")] = 0;
        tdb_pg = 1;
    }
    return tdb_pg;
}

/* A new empty database; its URL stays valid until exit. NULL on failure (printed). */
static inline const char *tdb_fresh_url(void)
{
    static char urls[TDB_MAX][1100];
    if (tdb_count >= TDB_MAX) return NULL;
    char *url = urls[tdb_count];
    if (tdb_is_pg()) {
        char name[64];
        snprintf(name, sizeof(name), "gbt_%d_%ld_%d", (int)getpid(), (long)time(NULL), tdb_count);
        gb_db *a = NULL;
        if (gb_db_open_url(tdb_admin, &a) != GB_OK) return NULL;
        /* registered after libpq's first connection initialized OpenSSL: exit handlers run
         * in reverse, so the cleanup's own connection comes before OpenSSL's cleanup */
        static int registered;
        if (!registered++) atexit(tdb_cleanup);
        char sql[128];
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
        gb_err e = gb_db_exec(a, sql);
        gb_db_close(a);
        if (e) return NULL;
        const char *slash = strrchr(tdb_admin, '/');
        if (!slash) return NULL;
        snprintf(url, sizeof(urls[0]), "%.*s/%s", (int)(slash - tdb_admin), tdb_admin, name);
        tdb_made[tdb_count++] = strdup(name);
        return url;
    }
    static int registered_dirs;
    if (!registered_dirs++) atexit(tdb_cleanup);
    char dir[] = "/tmp/gb-tdb-XXXXXX";
    if (!mkdtemp(dir)) return NULL;
    snprintf(url, sizeof(urls[0]), "sqlite:%s/t.db", dir);
    tdb_made[tdb_count++] = strdup(dir);
    return url;
}

/* The first column of the one row sql gives, as an integer (a statement error or no row fails
 * the test). */
static inline int64_t tdb_int(gb_db *db, const char *sql)
{
    gb_q *q = gb_q_prep(db, sql);
    assert_non_null(q);
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_true(row);
    int64_t v = gb_q_col_int64(q, 0);
    gb_q_reset(q);
    return v;
}

/* The first column of sql's first row as an integer, -1 for no row; ?1 bound to arg (may be
 * NULL). A statement error fails the test. */
static inline int64_t tdb_int_arg(gb_db *db, const char *sql, const char *arg)
{
    gb_q *q = gb_q_prep(db, sql);
    assert_non_null(q);
    if (arg) gb_q_text(q, 1, arg);
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    int64_t v = row ? gb_q_col_int64(q, 0) : -1;
    gb_q_reset(q);
    return v;
}

/* Opens a new connection to url (NULL on failure). */
static inline gb_db *tdb_open(const char *url)
{
    gb_db *db = NULL;
    return url && gb_db_open_url(url, &db) == GB_OK ? db : NULL;
}

#endif
