/* test_broker_readystore.c: the database write probe behind /readyz. SQLite: a database that
 * takes writes (also while another writer holds it, and named "sqlite:PATH"), one whose file
 * lost its write bits, a missing file and a file that is not a database; the probe leaves
 * nothing behind. PostgreSQL (the .postgresql variant): a database that takes writes, one set
 * to read-only transactions and back, a database that does not exist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/store/ready_store.h"
#include "test_db_util.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gb-ready-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof(path), "%s/t.db", dir);
    sqlite3 *h = NULL;
    int rc = sqlite3_open(path, &h);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, "PRAGMA journal_mode=WAL; CREATE TABLE t(x);", NULL, NULL, NULL);
    sqlite3_close(h);
    return rc == SQLITE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char p[160];
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/junk", dir);
    unlink(p);
    rmdir(dir);
    return 0;
}

static int tables(void)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    int n = -1;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, "SELECT count(*) FROM sqlite_master", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return n;
}

static void test_writable(void **state)
{
    (void)state;
    const char *d = NULL;
    assert_true(ready_store_probe_write(path, &d));
    assert_non_null(strstr(d, "succeeded"));
    assert_int_equal(tables(), 1); /* rolled back: no probe table left */
    char url[160];
    snprintf(url, sizeof(url), "sqlite:%s", path);
    assert_true(ready_store_probe_write(url, &d));
    assert_non_null(strstr(d, "succeeded"));
    /* another writer holds the database: busy is not unready */
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_true(ready_store_probe_write(path, &d));
    assert_non_null(strstr(d, "busy"));
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(h);
}

static void test_not_writable(void **state)
{
    (void)state;
    const char *d = NULL;
    assert_int_equal(chmod(path, 0444), 0);
    assert_false(ready_store_probe_write(path, &d));
    assert_non_null(strstr(d, "read-only"));
    assert_int_equal(chmod(path, 0600), 0);
    assert_true(ready_store_probe_write(path, &d));
    char p[160];
    snprintf(p, sizeof(p), "%s/missing.db", dir);
    assert_false(ready_store_probe_write(p, &d));
    assert_int_equal(access(p, F_OK), -1); /* the probe never creates a database */
    assert_false(ready_store_probe_write(NULL, &d));
    /* a file that is not a database: SQLite refuses the write */
    snprintf(p, sizeof(p), "%s/junk", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    for (int i = 0; i < 512; i++)
        fputs("not a database at all ", f);
    fclose(f);
    assert_false(ready_store_probe_write(p, &d));
    assert_non_null(strstr(d, "refused"));
}

/* PostgreSQL: the database's default made read-only transactions through the server's
 * administrative connection (tdb_admin), which the probe's new connection takes up. */
static void read_only(const char *url, int on)
{
    gb_db *a = tdb_open(tdb_admin);
    assert_non_null(a);
    char sql[256];
    snprintf(sql, sizeof(sql), "ALTER DATABASE %s SET default_transaction_read_only = %s",
             strrchr(url, '/') + 1, on ? "on" : "off");
    assert_int_equal(gb_db_exec(a, sql), GB_OK);
    gb_db_close(a);
}

static void test_pg(void **state)
{
    (void)state;
    const char *url = tdb_fresh_url();
    assert_non_null(url);
    const char *d = NULL;
    assert_true(ready_store_probe_write(url, &d));
    assert_non_null(strstr(d, "succeeded"));
    read_only(url, 1);
    assert_false(ready_store_probe_write(url, &d));
    assert_non_null(strstr(d, "read-only"));
    read_only(url, 0);
    assert_true(ready_store_probe_write(url, &d));
    /* the probe's table was temporary and rolled back: the database has no table */
    gb_db *db = tdb_open(url);
    assert_non_null(db);
    gb_q *q = gb_q_prep(db, "SELECT count(*) FROM pg_class WHERE relname = 'gb_readyz_probe'");
    assert_non_null(q);
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_int_equal(row, 1);
    assert_int_equal(gb_q_col_int64(q, 0), 0);
    gb_q_reset(q);
    gb_db_close(db);
    char missing[1200];
    snprintf(missing, sizeof(missing), "%.*s/gb_no_such_database", (int)(strrchr(url, '/') - url),
             url);
    assert_false(ready_store_probe_write(missing, &d));
    assert_non_null(strstr(d, "cannot connect"));
}

int main(void)
{
    if (tdb_is_pg()) {
        const struct CMUnitTest pg[] = {cmocka_unit_test(test_pg)};
        return cmocka_run_group_tests(pg, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writable),
        cmocka_unit_test(test_not_writable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
