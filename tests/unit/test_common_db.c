/* test_common_db.c: the SQLite wrapper: WAL, migrations applied once and in order, the
 * statement cache, transactions and error mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/db.h"

static char path[256];

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/gb-db-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    snprintf(path, sizeof(path), "%s/t.db", tmpl);
    return 0;
}

static const gb_migration V1[] = {{1, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"}};
static const gb_migration V2[] = {{1, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"},
                                  {2, "ALTER TABLE t ADD COLUMN w INTEGER DEFAULT 7"}};
static const gb_migration BAD[] = {{1, "CREATE TABLE u (x)"}, {2, "THIS IS NOT SQL"}};

static int count(gb_db *db, const char *sql)
{
    sqlite3_stmt *s = gb_db_stmt(db, sql);
    assert_non_null(s);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return n;
}

static void test_migrations(void **state)
{
    (void)state;
    gb_db *db;
    assert_int_equal(gb_db_open(path, &db), GB_OK);
    gb_migration_set s1 = {.module = "m", .steps = V1, .count = 1};
    assert_int_equal(gb_db_migrate(db, &s1, 1), GB_OK);
    assert_int_equal(gb_db_version(db, "m"), 1);
    assert_int_equal(gb_db_migrate(db, &s1, 1), GB_OK); /* idempotent */
    gb_migration_set s2 = {.module = "m", .steps = V2, .count = 2};
    assert_int_equal(gb_db_migrate(db, &s2, 1), GB_OK);
    assert_int_equal(gb_db_version(db, "m"), 2);
    assert_int_equal(gb_db_exec(db, "INSERT INTO t(v) VALUES('a')"), GB_OK);
    assert_int_equal(count(db, "SELECT w FROM t"), 7);
    /* a failing step leaves earlier steps applied and its own rolled back */
    gb_migration_set bad = {.module = "n", .steps = BAD, .count = 2};
    assert_int_equal(gb_db_migrate(db, &bad, 1), GB_ERR_DB);
    assert_int_equal(gb_db_version(db, "n"), 1);
    assert_int_equal(count(db, "SELECT count(*) FROM sqlite_master WHERE name = 'u'"), 1);
    /* WAL mode and foreign keys are on */
    sqlite3_stmt *s = gb_db_stmt(db, "PRAGMA journal_mode");
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_reset(s);
    assert_int_equal(count(db, "PRAGMA foreign_keys"), 1);
    gb_db_close(db);
}

static void test_txn_and_errors(void **state)
{
    (void)state;
    gb_db *db;
    assert_int_equal(gb_db_open(path, &db), GB_OK);
    /* the same SQL text gives the same cached statement */
    const char *q = "SELECT count(*) FROM t";
    sqlite3_stmt *a = gb_db_stmt(db, q);
    char copy[64];
    snprintf(copy, sizeof(copy), "%s", q);
    assert_ptr_equal(gb_db_stmt(db, copy), a);
    assert_null(gb_db_stmt(db, "SELECT nope FROM nowhere"));
    int before = count(db, q);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_true(gb_db_in_txn(db));
    assert_int_equal(gb_db_begin(db), GB_ERR_INTERNAL); /* no nesting */
    assert_int_equal(gb_db_exec(db, "INSERT INTO t(v) VALUES('b')"), GB_OK);
    gb_db_rollback(db);
    assert_false(gb_db_in_txn(db));
    assert_int_equal(count(db, q), before);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(gb_db_exec(db, "INSERT INTO t(v) VALUES('c')"), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(count(db, q), before + 1);
    /* a constraint violation is a conflict */
    assert_int_equal(gb_db_exec(db, "INSERT INTO t(v) VALUES('c')"), GB_ERR_CONFLICT);
    gb_db_rollback(db); /* harmless without a transaction */
    gb_db_close(db);
    gb_db_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_txn_and_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
