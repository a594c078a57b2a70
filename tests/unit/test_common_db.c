/* test_common_db.c: the SQLite wrapper: WAL, migrations applied once and in order, the
 * statement cache, transactions and error mapping; writers of one file in one process taking
 * turns through its writer mutex. */
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
#include <pthread.h>
#include <sqlite3.h>

#include "common/db.h"
#include "test_tmpdir.h"

static char dir[] = "/tmp/gb-db-XXXXXX";
static char path[256];

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/t.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return ttmp_remove(dir);
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

/* ---- writers of one file in one process hand over at once (db_wlock.c) ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *writer(void *p)
{
    (void)p;
    gb_db *db = NULL;
    if (gb_db_open(path, &db)) return (void *)1;
    intptr_t bad = 0;
    for (int i = 0; i < 200; i++) {
        if (gb_db_begin(db) || gb_db_exec(db, "INSERT INTO w(x) VALUES(1)") || gb_db_commit(db))
            bad++;
    }
    gb_db_close(db);
    return (void *)bad;
}

static void test_writers_many_threads(void **state)
{
    (void)state;
    gb_db *db = NULL;
    assert_int_equal(gb_db_open(path, &db), GB_OK);
    assert_int_equal(gb_db_exec(db, "CREATE TABLE IF NOT EXISTS w (x INTEGER)"), GB_OK);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *bad = NULL;
        pthread_join(t[i], &bad);
        assert_null(bad); /* every transaction of every thread committed */
    }
    assert_int_equal(count(db, "SELECT count(*) FROM w"), 800);
    gb_db_close(db);
}

/* The writer mutex is released by a rollback and by closing a connection in a transaction: a
 * leaked one would hold the next begin for the 10 s busy timeout and fail it. */
static void test_writer_released(void **state)
{
    (void)state;
    gb_db *a = NULL, *b = NULL;
    assert_int_equal(gb_db_open(path, &a), GB_OK);
    assert_int_equal(gb_db_open(path, &b), GB_OK);
    int64_t t0 = mono_ms();
    assert_int_equal(gb_db_begin(a), GB_OK);
    gb_db_rollback(a);
    assert_int_equal(gb_db_begin(b), GB_OK);
    assert_int_equal(gb_db_commit(b), GB_OK);
    assert_int_equal(gb_db_begin(a), GB_OK);
    gb_db_close(a); /* mid-transaction */
    assert_int_equal(gb_db_begin(b), GB_OK);
    assert_int_equal(gb_db_commit(b), GB_OK);
    assert_true(mono_ms() - t0 < 1000);
    gb_db_close(b);
}

static void *hold_150ms(void *p)
{
    int64_t *committed_at = p;
    gb_db *db = NULL;
    if (gb_db_open(path, &db) || gb_db_begin(db)) return (void *)1;
    usleep(150000);
    committed_at[0] = mono_ms();
    gb_err e = gb_db_commit(db);
    gb_db_close(db);
    return e ? (void *)1 : NULL;
}

/* A writer waiting for another gets the file as soon as it commits. SQLite's busy handler alone
 * would retry on its sleep schedule (1, 2, 5, 10, 15, 20, 25, 25, 25, 50 ms: after a 150 ms
 * hold, at 178 ms, 28 ms late). */
static void test_writer_handoff(void **state)
{
    (void)state;
    gb_db *db = NULL;
    assert_int_equal(gb_db_open(path, &db), GB_OK);
    int64_t best = INT64_MAX;
    for (int round = 0; round < 3; round++) {
        int64_t committed_at = 0;
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, hold_150ms, &committed_at), 0);
        usleep(20000); /* it has begun */
        assert_int_equal(gb_db_begin(db), GB_OK);
        int64_t got = mono_ms();
        assert_int_equal(gb_db_commit(db), GB_OK);
        void *bad = NULL;
        pthread_join(t, &bad);
        assert_null(bad);
        assert_true(committed_at > 0);
        if (got - committed_at < best) best = got - committed_at;
    }
    printf("handoff: the waiting writer began %lld ms after the other committed\n",
           (long long)best);
    assert_true(best < 15);
    gb_db_close(db);
}

/* SQLite's memory statistics are off (db.c): with them on, every allocation of every
 * connection took one process-wide mutex. With them off SQLite counts nothing, so the bytes
 * it reports in use stay 0 while a connection works. */
static void test_no_memory_statistics(void **state)
{
    (void)state;
    gb_db *db;
    assert_int_equal(gb_db_open(path, &db), GB_OK);
    assert_int_equal(gb_db_exec(db, "CREATE TABLE IF NOT EXISTS m (v TEXT);"
                                    "INSERT INTO m VALUES (hex(randomblob(5000)))"),
                     GB_OK);
    assert_true(count(db, "SELECT count(*) FROM m") >= 1);
    assert_int_equal(sqlite3_memory_used(), 0);
    gb_db_close(db);
}

/* Connections opened at the same moment on a new file (brokers and a CLI started together)
 * all open: the first ones turn the file to WAL, and SQLite refuses a connection's change of
 * journal mode at once, without its busy handler, while another holds a read lock on the file
 * (a deadlock SQLite breaks by refusing). The open retried only through the busy handler,
 * and in test_common_dbq's concurrent migrations one start in about seven failed with
 * "database is locked". Here: 30 new files, 8 connections each, released by one barrier. */
#define OPENERS 8

typedef struct {
    const char *file;
    pthread_barrier_t *line;
    gb_err e;
} opener;

static void *open_one(void *arg)
{
    opener *o = arg;
    gb_db *db = NULL;
    pthread_barrier_wait(o->line);
    o->e = gb_db_open(o->file, &db);
    if (!o->e) o->e = gb_db_exec(db, "CREATE TABLE IF NOT EXISTS o (v INTEGER)");
    gb_db_close(db);
    return NULL;
}

static void test_concurrent_opens_of_a_new_file(void **state)
{
    (void)state;
    int failed = 0;
    for (int round = 0; round < 30; round++) {
        char file[300];
        snprintf(file, sizeof(file), "%s.new%d", path, round);
        pthread_barrier_t line;
        pthread_barrier_init(&line, NULL, OPENERS);
        pthread_t t[OPENERS];
        opener o[OPENERS];
        for (int i = 0; i < OPENERS; i++) {
            o[i] = (opener){file, &line, GB_ERR_INTERNAL};
            assert_int_equal(pthread_create(&t[i], NULL, open_one, &o[i]), 0);
        }
        for (int i = 0; i < OPENERS; i++) {
            pthread_join(t[i], NULL);
            failed += o[i].e != GB_OK;
        }
        pthread_barrier_destroy(&line);
        gb_db *db;
        assert_int_equal(gb_db_open(file, &db), GB_OK);
        sqlite3_stmt *s = gb_db_stmt(db, "PRAGMA journal_mode");
        assert_non_null(s);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
        sqlite3_reset(s);
        gb_db_close(db);
    }
    if (failed) fail_msg("%d of %d opens of a new file failed", failed, 30 * OPENERS);
}

/* A file another process holds locked (here: another connection's exclusive transaction in
 * rollback-journal mode) cannot be turned to WAL: the open waits the busy timeout (10 s), then
 * fails with GB_ERR_DB instead of waiting for ever or serving without WAL, and the file is left
 * as it was. Once the lock is gone, the same open works. */
static void test_wal_mode_gives_up(void **state)
{
    (void)state;
    char file[300];
    snprintf(file, sizeof(file), "%s.locked", path);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(file, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "CREATE TABLE x(v); INSERT INTO x VALUES (1);"
                                  " BEGIN EXCLUSIVE; INSERT INTO x VALUES (2)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    gb_db *db = (gb_db *)1;
    assert_int_equal(gb_db_open(file, &db), GB_ERR_DB);
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_null(db);
    double waited = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    if (waited < 9.5 || waited > 30) fail_msg("gave up after %.1f s (busy timeout 10 s)", waited);
    assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "delete"); /* as it was */
    sqlite3_finalize(s);
    sqlite3_close(h);
    assert_int_equal(gb_db_open(file, &db), GB_OK);
    assert_int_equal(count(db, "SELECT count(*) FROM x"), 1);
    gb_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_txn_and_errors),
        cmocka_unit_test(test_writers_many_threads),
        cmocka_unit_test(test_writer_released),
        cmocka_unit_test(test_writer_handoff),
        cmocka_unit_test(test_no_memory_statistics),
        cmocka_unit_test(test_concurrent_opens_of_a_new_file),
        cmocka_unit_test(test_wal_mode_gives_up),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
