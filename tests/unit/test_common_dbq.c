/* test_common_dbq.c: the statement interface (common/dbq.h) against a real backend: SQLite,
 * and PostgreSQL as unit.test_common_dbq.postgresql (test_db_util.h: a fresh database on the
 * server scripts/pg.sh started).
 * Types, placeholders, the statement cache, transactions, constraint errors, migrations,
 * claims by several connections (each row once), fencing of an expired lease, the singleton
 * lock, and (PostgreSQL) a connection killed by the server. */
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

#include "common/clock.h"
#include "common/db.h"
#include "common/dbq.h"
#include "common/log.h"
#include "test_db_util.h"

static const char *url; /* the database under test (test_db_util.h) */
static int pg;

static gb_db *open_db(void)
{
    gb_db *db = NULL;
    assert_int_equal(gb_db_open_url(url, &db), GB_OK);
    return db;
}

static void exec_ok(gb_db *db, const char *sql)
{
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
}

static int setup_all(void **state)
{
    (void)state;
    gb_log_set_level(GB_LOG_ERROR);
    pg = tdb_is_pg();
    url = tdb_fresh_url();
    return url ? 0 : -1;
}

static void test_kind_and_redact(void **state)
{
    (void)state;
    gb_db *db = open_db();
    assert_int_equal(gb_db_kind_of(db), pg ? GB_DB_POSTGRESQL : GB_DB_SQLITE);
    gb_db_close(db);
    char out[256];
    gb_db_url_redact("postgresql://gb:s3cret@10.0.0.1:5432/gb?sslmode=require", out, sizeof(out));
    assert_string_equal(out, "postgresql://gb:***@10.0.0.1:5432/gb?sslmode=require");
    assert_null(strstr(out, "s3cret"));
    /* a password holding '@': everything up to the last '@' before the host is hidden */
    gb_db_url_redact("postgresql://gb:p@ss@db.internal/gb", out, sizeof(out));
    assert_string_equal(out, "postgresql://gb:***@db.internal/gb");
    gb_db_url_redact("postgres://gb@host/db", out, sizeof(out));
    assert_string_equal(out, "postgres://gb@host/db");
    gb_db_url_redact("sqlite:/var/lib/gb.db", out, sizeof(out));
    assert_string_equal(out, "/var/lib/gb.db");
    gb_db *x = NULL;
    assert_int_equal(gb_db_open_url("mysql://h/db", &x), GB_ERR_INVALID);
    assert_int_equal(gb_db_open_url("", &x), GB_ERR_INVALID);
    assert_int_equal(gb_db_open_url("sqlite:", &x), GB_ERR_INVALID);
    assert_null(x);
    /* nothing listens on port 1: refused at once, an error, no handle */
    assert_int_equal(gb_db_open_url("postgresql://u:p@127.0.0.1:1/x", &x), GB_ERR_DB);
    assert_null(x);
}

static void test_types(void **state)
{
    (void)state;
    gb_db *db = open_db();
    exec_ok(db, "DROP TABLE IF EXISTS ty");
    exec_ok(db, pg ? "CREATE TABLE ty (k TEXT PRIMARY KEY, i BIGINT, t TEXT, b BYTEA)"
                   : "CREATE TABLE ty (k TEXT PRIMARY KEY, i BIGINT, t TEXT, b BLOB)");
    static const unsigned char blob[] = {0, 1, 2, 0xff, 0, '\\', 'x', 0};
    const int64_t ints[] = {INT64_MAX, INT64_MIN + 1, 0, -1, 1234567890123LL};
    for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
        gb_q *q = gb_q_prep(db, "INSERT INTO ty(k, i, t, b) VALUES(?1, ?2, ?3, ?4)");
        assert_non_null(q);
        char key[16];
        snprintf(key, sizeof(key), "k%zu", k);
        gb_q_text(q, 1, key);
        gb_q_int64(q, 2, ints[k]);
        gb_q_text(q, 3, k == 0 ? "" : k == 1 ? NULL : "gr\xc3\xbc\xc3\x9f 'quoted' ?1 $1");
        gb_q_blob(q, 4, blob, sizeof(blob));
        int64_t n = 0;
        assert_int_equal(gb_q_run(q, &n), GB_OK);
        assert_int_equal(n, 1);
    }
    for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
        gb_q *q = gb_q_prep(db, "SELECT i, t, b FROM ty WHERE k = ?1");
        char key[16];
        snprintf(key, sizeof(key), "k%zu", k);
        gb_q_text(q, 1, key);
        int row = 0;
        assert_int_equal(gb_q_step(q, &row), GB_OK);
        assert_true(row);
        assert_true(gb_q_col_int64(q, 0) == ints[k]);
        if (k == 0) { /* '' and NULL are different things in both */
            assert_false(gb_q_col_is_null(q, 1));
            assert_string_equal(gb_q_col_text(q, 1), "");
        } else if (k == 1) {
            assert_true(gb_q_col_is_null(q, 1));
            assert_null(gb_q_col_text(q, 1));
        } else {
            assert_string_equal(gb_q_col_text(q, 1), "gr\xc3\xbc\xc3\x9f 'quoted' ?1 $1");
        }
        size_t n = 0;
        const void *b = gb_q_col_blob(q, 2, &n);
        assert_int_equal(n, sizeof(blob));
        assert_memory_equal(b, blob, sizeof(blob));
        assert_int_equal(gb_q_step(q, &row), GB_OK);
        assert_false(row);
        gb_q_reset(q);
    }
    /* a sum of money beyond 32 bits stays exact */
    assert_true(tdb_int(db, "SELECT sum(i) FROM ty WHERE k IN ('k2', 'k3', 'k4')") ==
                1234567890122LL);
    gb_db_close(db);
}

static void test_placeholders(void **state)
{
    (void)state;
    gb_db *db = open_db();
    exec_ok(db, "DROP TABLE IF EXISTS ph");
    exec_ok(db, "CREATE TABLE ph (a BIGINT, b TEXT, c TEXT)");
    /* ?1 used twice, a '?' and a '--' inside literals, a comment with a '?' */
    gb_q *q = gb_q_prep(db, "INSERT INTO ph(a, b, c) VALUES(?1, ?2 || '?x', -- why? \n"
                            " CAST(?1 AS TEXT) || '--?')");
    assert_non_null(q);
    gb_q_int64(q, 1, 7);
    gb_q_text(q, 2, "v");
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
    q = gb_q_prep(db, "SELECT a, b, c FROM ph WHERE a = ? AND b = ?");
    gb_q_int64(q, 1, 7);
    gb_q_text(q, 2, "v?x");
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_true(row);
    assert_string_equal(gb_q_col_text(q, 1), "v?x");
    assert_string_equal(gb_q_col_text(q, 2), "7--?");
    gb_q_reset(q);
    /* a parameter left unbound is NULL, as SQLite has it (cast: nothing else gives it a type) */
    q = gb_q_prep(db, "SELECT count(*) FROM ph WHERE CAST(?1 AS TEXT) IS NULL");
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_int_equal(gb_q_col_int64(q, 0), 1);
    gb_q_reset(q);
    gb_db_close(db);
}

/* " FOR UPDATE" is SQLite's to drop only where it is a clause: inside a literal, a comment or
 * a longer name it stays (it was removed everywhere once). On PostgreSQL the text is as is. */
static void test_for_update_in_literals(void **state)
{
    (void)state;
    gb_db *db = open_db();
    exec_ok(db, "DROP TABLE IF EXISTS fu");
    exec_ok(db, "CREATE TABLE fu (k TEXT PRIMARY KEY, v TEXT)");
    gb_q *q = gb_q_prep(db, "INSERT INTO fu(k, v) VALUES('a', ' FOR UPDATE SKIP LOCKED and"
                            " \" FOR UPDATE\"'), ('b', 'x')");
    assert_non_null(q);
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
    q = gb_q_prep(db, "SELECT v FROM fu WHERE k = 'a' -- read FOR UPDATE\n FOR UPDATE");
    assert_non_null(q);
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_true(row);
    assert_string_equal(gb_q_col_text(q, 0), " FOR UPDATE SKIP LOCKED and \" FOR UPDATE\"");
    gb_q_reset(q);
    /* the clause itself, at the end and before a parenthesis, is still dropped on SQLite */
    q = gb_q_prep(db, "SELECT count(*) FROM (SELECT k FROM fu ORDER BY k LIMIT 1"
                      " FOR UPDATE SKIP LOCKED) AS one");
    assert_non_null(q);
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_int_equal(gb_q_col_int64(q, 0), 1);
    gb_q_reset(q);
    gb_db_close(db);
}

static void test_cache_and_reset(void **state)
{
    (void)state;
    gb_db *db = open_db();
    exec_ok(db, "DROP TABLE IF EXISTS ca");
    exec_ok(db, "CREATE TABLE ca (v BIGINT)");
    const char *sql = "INSERT INTO ca(v) VALUES(?1)";
    gb_q *q1 = gb_q_prep(db, sql);
    char copy[64];
    strcpy(copy, sql);
    gb_q *q2 = gb_q_prep(db, copy); /* same text, another pointer: the same statement */
    assert_ptr_equal(q1, q2);
    for (int i = 0; i < 50; i++) {
        gb_q *q = gb_q_prep(db, sql);
        gb_q_int64(q, 1, i);
        assert_int_equal(gb_q_run(q, NULL), GB_OK);
    }
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM ca"), 50);
    assert_int_equal(tdb_int(db, "SELECT sum(v) FROM ca"), 49 * 50 / 2);
    /* texts built in one buffer, one after the other: each gets its own statement (the cache
     * once matched by the pointer first) */
    char buf[64];
    for (int i = 0; i < 200; i++) { /* more texts than the cache has buckets: some share one */
        snprintf(buf, sizeof(buf), "SELECT %d", i);
        assert_int_equal(tdb_int(db, buf), i);
    }
    /* a statement abandoned mid-rows is reset by the next prep */
    gb_q *q = gb_q_prep(db, "SELECT v FROM ca ORDER BY v");
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_int_equal(gb_q_col_int64(q, 0), 0);
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_int_equal(gb_q_col_int64(q, 0), 1);
    q = gb_q_prep(db, "SELECT v FROM ca ORDER BY v");
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_int_equal(gb_q_col_int64(q, 0), 0);
    gb_q_reset(q);
    /* SQL that does not prepare: NULL from gb_q_prep (SQLite) or an error from its first step
     * (PostgreSQL prepares then), logged */
    q = gb_q_prep(db, "SELEKT nothing");
    if (pg) {
        assert_non_null(q);
        assert_int_equal(gb_q_step(q, &row), GB_ERR_DB);
        assert_false(row);
        gb_q_reset(q);
    } else {
        assert_null(q);
    }
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM ca"), 50); /* the connection still works */
    gb_db_close(db);
}

static void test_transactions_and_conflicts(void **state)
{
    (void)state;
    gb_db *db = open_db();
    exec_ok(db, "DROP TABLE IF EXISTS child");
    exec_ok(db, "DROP TABLE IF EXISTS tx");
    exec_ok(db, "CREATE TABLE tx (k TEXT PRIMARY KEY, v BIGINT NOT NULL CHECK (v >= 0))");
    exec_ok(db, "CREATE TABLE child (k TEXT NOT NULL REFERENCES tx(k))");
    const char *ins = "INSERT INTO tx(k, v) VALUES(?1, ?2)";
    gb_q *q;
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_true(gb_db_in_txn(db));
    assert_int_equal(gb_db_begin(db), GB_ERR_INTERNAL); /* no nesting */
    q = gb_q_prep(db, ins);
    gb_q_text(q, 1, "gone");
    gb_q_int64(q, 2, 1);
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
    gb_db_rollback(db);
    assert_false(gb_db_in_txn(db));
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM tx"), 0);

    assert_int_equal(gb_db_begin(db), GB_OK);
    q = gb_q_prep(db, ins);
    gb_q_text(q, 1, "kept");
    gb_q_int64(q, 2, 5);
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(tdb_int(db, "SELECT v FROM tx WHERE k = 'kept'"), 5);

    /* unique, check, not null, foreign key: each a conflict, nothing written */
    q = gb_q_prep(db, ins);
    gb_q_text(q, 1, "kept");
    gb_q_int64(q, 2, 6);
    assert_int_equal(gb_q_run(q, NULL), GB_ERR_CONFLICT);
    q = gb_q_prep(db, ins);
    gb_q_text(q, 1, "neg");
    gb_q_int64(q, 2, -1);
    assert_int_equal(gb_q_run(q, NULL), GB_ERR_CONFLICT);
    q = gb_q_prep(db, ins);
    gb_q_text(q, 1, "null");
    gb_q_null(q, 2);
    assert_int_equal(gb_q_run(q, NULL), GB_ERR_CONFLICT);
    q = gb_q_prep(db, "INSERT INTO child(k) VALUES(?1)");
    gb_q_text(q, 1, "nobody");
    assert_int_equal(gb_q_run(q, NULL), GB_ERR_CONFLICT);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM tx"), 1);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM child"), 0);

    /* an error inside a transaction: the transaction is rolled back whole */
    assert_int_equal(gb_db_begin(db), GB_OK);
    q = gb_q_prep(db, ins);
    gb_q_text(q, 1, "a");
    gb_q_int64(q, 2, 1);
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
    q = gb_q_prep(db, ins);
    gb_q_text(q, 1, "a");
    gb_q_int64(q, 2, 1);
    assert_int_equal(gb_q_run(q, NULL), GB_ERR_CONFLICT);
    gb_db_rollback(db);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM tx"), 1);

    /* UPDATE ... RETURNING: rows and the change count */
    q = gb_q_prep(db, "UPDATE tx SET v = v + ?1 WHERE k = ?2 RETURNING v");
    gb_q_int64(q, 1, 10);
    gb_q_text(q, 2, "kept");
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_true(row);
    assert_int_equal(gb_q_col_int64(q, 0), 15);
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_false(row);
    assert_int_equal(gb_q_changes(q), 1);
    gb_q_reset(q);
    q = gb_q_prep(db, "DELETE FROM tx WHERE v > ?1");
    gb_q_int64(q, 1, 100);
    int64_t n = -1;
    assert_int_equal(gb_q_run(q, &n), GB_OK);
    assert_int_equal(n, 0);
    gb_db_close(db);
}

/* A transaction's first statement runs inside it, whatever kind it is (on PostgreSQL the
 * BEGIN goes with it: in one pipeline with a prepared statement, in one simple query with
 * gb_db_exec): another connection does not see its write before the commit, a rollback undoes
 * it; a first statement that fails fails the transaction; a transaction with no statement
 * commits and rolls back cleanly, also with a NOTIFY; the connection works after each. */
static void test_first_statement_inside_transaction(void **state)
{
    (void)state;
    gb_db *a = open_db(), *b = open_db();
    exec_ok(a, "DROP TABLE IF EXISTS lz");
    exec_ok(a, "CREATE TABLE lz (k BIGINT PRIMARY KEY)");
    const char *ins = "INSERT INTO lz(k) VALUES(?1)";
    /* a prepared first statement */
    assert_int_equal(gb_db_begin(a), GB_OK);
    gb_q *q = gb_q_prep(a, ins);
    gb_q_int64(q, 1, 1);
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM lz"), 0);
    assert_int_equal(gb_db_commit(a), GB_OK);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM lz"), 1);
    /* gb_db_exec first, then a rollback */
    assert_int_equal(gb_db_begin(a), GB_OK);
    exec_ok(a, "INSERT INTO lz(k) VALUES(2)");
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM lz"), 1);
    gb_db_rollback(a);
    assert_false(gb_db_in_txn(a));
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM lz"), 1);
    /* a first statement with rows */
    assert_int_equal(gb_db_begin(a), GB_OK);
    q = gb_q_prep(a, "SELECT k FROM lz WHERE k >= ?1 ORDER BY k");
    gb_q_int64(q, 1, 0);
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_true(row);
    assert_int_equal(gb_q_col_int64(q, 0), 1);
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_false(row);
    gb_q_reset(q);
    assert_int_equal(gb_db_commit(a), GB_OK);
    /* a first statement that fails: the transaction fails with it */
    assert_int_equal(gb_db_begin(a), GB_OK);
    q = gb_q_prep(a, ins);
    gb_q_int64(q, 1, 1);
    assert_int_equal(gb_q_run(q, NULL), GB_ERR_CONFLICT);
    q = gb_q_prep(a, ins);
    gb_q_int64(q, 1, 3);
    if (pg) assert_int_not_equal(gb_q_run(q, NULL), GB_OK); /* the transaction is aborted */
    if (pg) assert_int_equal(gb_db_commit(a), GB_ERR_DB);
    gb_db_rollback(a);
    assert_false(gb_db_in_txn(a));
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM lz"), 1);
    /* a first statement that is not valid SQL: an error, and the connection goes on */
    assert_int_equal(gb_db_begin(a), GB_OK);
    gb_log_set_level(GB_LOG_OFF);
    assert_int_not_equal(gb_db_exec(a, "INSERT INTO no_such_table VALUES(1)"), GB_OK);
    gb_log_set_level(GB_LOG_ERROR);
    gb_db_rollback(a);
    assert_int_equal(tdb_int(a, "SELECT count(*) FROM lz"), 1);
    /* no statement at all, with and without a NOTIFY */
    assert_int_equal(gb_db_begin(a), GB_OK);
    assert_true(gb_db_in_txn(a));
    assert_int_equal(gb_db_commit(a), GB_OK);
    assert_false(gb_db_in_txn(a));
    assert_int_equal(gb_db_begin(a), GB_OK);
    gb_db_rollback(a);
    assert_false(gb_db_in_txn(a));
    assert_int_equal(gb_db_begin(a), GB_OK);
    assert_int_equal(gb_db_notify(a, "lz_chan"), GB_OK);
    assert_int_equal(gb_db_commit(a), GB_OK);
    assert_false(gb_db_in_txn(a));
    assert_int_equal(tdb_int(a, "SELECT count(*) FROM lz"), 1);
    gb_db_close(a);
    gb_db_close(b);
}

static void defer_k(gb_db *db, const char *sql, int64_t k, gb_err want)
{
    gb_q *q = gb_q_prep(db, sql);
    assert_non_null(q);
    gb_q_int64(q, 1, k);
    assert_int_equal(gb_q_defer(q), want);
}

static void kill_session(gb_db *other, int64_t pid);

static void hold_k(gb_db *db, const char *sql, int64_t k, const char *t, gb_err want)
{
    gb_q *q = gb_q_prep(db, sql);
    assert_non_null(q);
    gb_q_int64(q, 1, k);
    gb_q_text(q, 2, t);
    assert_int_equal(gb_q_defer_commit(q), want);
}

/* gb_q_defer_commit: on PostgreSQL the change waits for the COMMIT, even when statements run
 * after it, so a lock it takes is never held while the server waits for this client (a broker
 * paused inside the transaction held the event log's lock, and every broker's appends waited;
 * docs/store.md). Held changes run in their order with their own parameters (the statement
 * bound again in between), a ROLLBACK drops them, their failure fails the COMMIT and leaves
 * nothing, more of them than one pipeline holds still run in order, and a session killed
 * while one is held fails the commit and leaves nothing. SQLite runs them at once. */
static void test_deferred_to_commit(void **state)
{
    (void)state;
    gb_db *a = open_db(), *b = open_db();
    exec_ok(a, "DROP TABLE IF EXISTS dc");
    exec_ok(a, "CREATE TABLE dc (k BIGINT PRIMARY KEY, t TEXT NOT NULL, seq INTEGER)");
    const char *ins = "INSERT INTO dc(k, t, seq) VALUES(?1, ?2, (SELECT count(*) FROM dc))";
    assert_int_equal(gb_db_begin(a), GB_OK);
    hold_k(a, ins, 1, "one", GB_OK);
    hold_k(a, ins, 2, "two", GB_OK);
    /* a statement after them: on PostgreSQL it does not see them (they run at the COMMIT) */
    assert_int_equal(tdb_int(a, "SELECT count(*) FROM dc"), pg ? 0 : 2);
    hold_k(a, ins, 3, "three", GB_OK);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM dc"), 0);
    assert_int_equal(gb_db_commit(a), GB_OK);
    assert_false(gb_db_in_txn(a));
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM dc"), 3);
    /* in their order, each with its own parameters */
    assert_int_equal(tdb_int(b, "SELECT seq FROM dc WHERE k = 1 AND t = 'one'"), 0);
    assert_int_equal(tdb_int(b, "SELECT seq FROM dc WHERE k = 2 AND t = 'two'"), 1);
    assert_int_equal(tdb_int(b, "SELECT seq FROM dc WHERE k = 3 AND t = 'three'"), 2);
    /* a rollback drops them */
    assert_int_equal(gb_db_begin(a), GB_OK);
    hold_k(a, ins, 4, "four", GB_OK);
    gb_db_rollback(a);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM dc WHERE k = 4"), 0);
    /* a transaction of held changes only: BEGIN, them and the COMMIT at once */
    assert_int_equal(gb_db_begin(a), GB_OK);
    hold_k(a, ins, 5, "five", GB_OK);
    assert_int_equal(gb_db_commit(a), GB_OK);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM dc WHERE k = 5"), 1);
    /* more than one pipeline holds: still in order */
    assert_int_equal(gb_db_begin(a), GB_OK);
    for (int64_t k = 100; k < 250; k++)
        hold_k(a, ins, k, "many", GB_OK);
    assert_int_equal(gb_db_commit(a), GB_OK);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM dc WHERE t = 'many' AND seq = k - 96"), 150);
    /* a conflict fails the commit, which leaves nothing */
    gb_log_set_level(GB_LOG_OFF);
    assert_int_equal(gb_db_begin(a), GB_OK);
    hold_k(a, ins, 6, "six", GB_OK);
    hold_k(a, ins, 1, "again", pg ? GB_OK : GB_ERR_CONFLICT);
    if (pg)
        assert_int_equal(gb_db_commit(a), GB_ERR_CONFLICT);
    else
        gb_db_rollback(a);
    gb_log_set_level(GB_LOG_ERROR);
    assert_false(gb_db_in_txn(a));
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM dc WHERE k = 6"), 0);
    assert_int_equal(tdb_int(a, "SELECT count(*) FROM dc"), 154); /* the connection works */
    if (pg) {
        /* the lock it asks for is free until the COMMIT, statements after it included */
        const char *lock = "SELECT pg_advisory_xact_lock(?1) FROM (SELECT ?2) x";
        assert_int_equal(gb_db_begin(a), GB_OK);
        hold_k(a, lock, 4343, "", GB_OK);
        assert_int_equal(tdb_int(a, "SELECT count(*) FROM dc"), 154);
        assert_int_equal(tdb_int(b, "SELECT CAST(pg_try_advisory_lock(4343) AS INTEGER)"), 1);
        assert_int_equal(tdb_int(b, "SELECT CAST(pg_advisory_unlock(4343) AS INTEGER)"), 1);
        assert_int_equal(gb_db_commit(a), GB_OK);
        /* the session killed while a change is held: the commit fails, nothing stays, and the
         * next transaction runs on a new session */
        int64_t pid = tdb_int(a, "SELECT pg_backend_pid()");
        assert_int_equal(gb_db_begin(a), GB_OK);
        assert_int_equal(tdb_int(a, "SELECT count(*) FROM dc"), 154); /* begun at the server */
        hold_k(a, ins, 20, "killed", GB_OK);
        kill_session(b, pid);
        gb_log_set_level(GB_LOG_OFF);
        assert_int_not_equal(gb_db_commit(a), GB_OK);
        gb_log_set_level(GB_LOG_ERROR);
        assert_false(gb_db_in_txn(a));
        assert_int_equal(tdb_int(b, "SELECT count(*) FROM dc WHERE k = 20"), 0);
        assert_int_equal(gb_db_begin(a), GB_OK);
        hold_k(a, ins, 21, "after", GB_OK);
        assert_int_equal(gb_db_commit(a), GB_OK);
        assert_int_equal(tdb_int(b, "SELECT count(*) FROM dc WHERE k = 21"), 1);
        assert_int_not_equal(tdb_int(a, "SELECT pg_backend_pid()"), pid);
    }
    /* outside a transaction: at once */
    hold_k(a, ins, 7, "seven", GB_OK);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM dc WHERE k = 7"), 1);
    gb_db_close(b);
    gb_db_close(a);
}

/* Kills db's session from another connection, as a server restart would. */
static void kill_session(gb_db *other, int64_t pid)
{
    gb_q *q = gb_q_prep(other, "SELECT pg_terminate_backend(CAST(?1 AS INTEGER))");
    gb_q_int64(q, 1, pid);
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_int_equal(gb_q_col_int64(q, 0), 1);
    gb_q_reset(q);
}

/* gb_q_defer: a deferred change is part of its transaction (seen by the transaction's next
 * statement, committed or rolled back with it); on PostgreSQL it reaches the server only with
 * the next statement or the COMMIT (another session can still take a lock it asks for), and
 * its failure is the failure of that statement or of the commit, which leaves nothing behind.
 * More deferred statements than one pipeline holds, a statement prepared between two deferred
 * ones, a gb_db_exec after them, and a session killed while they wait all end as a
 * transaction must; the connection works after each. */
static void test_deferred_statements(void **state)
{
    (void)state;
    gb_db *a = open_db(), *b = open_db();
    exec_ok(a, "DROP TABLE IF EXISTS df");
    exec_ok(a, "CREATE TABLE df (k BIGINT PRIMARY KEY)");
    const char *ins = "INSERT INTO df(k) VALUES(?1)";
    const char *ins2 = "INSERT INTO df(k) VALUES(?1 + 1000)";
    /* seen by the next statement, not by another session before the commit */
    assert_int_equal(gb_db_begin(a), GB_OK);
    defer_k(a, ins, 1, GB_OK); /* the transaction's first statement */
    defer_k(a, ins, 2, GB_OK);
    defer_k(a, ins2, 3, GB_OK); /* a statement prepared while others wait */
    assert_int_equal(tdb_int(a, "SELECT count(*) FROM df"), 3);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM df"), 0);
    defer_k(a, ins, 4, GB_OK);
    assert_int_equal(gb_db_notify(a, "dfchan"), GB_OK); /* NOTIFY and COMMIT piped */
    assert_int_equal(gb_db_commit(a), GB_OK);
    assert_false(gb_db_in_txn(a));
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM df"), 4);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM df WHERE k = 1003"), 1);
    /* more than one pipeline holds */
    assert_int_equal(gb_db_begin(a), GB_OK);
    for (int64_t k = 100; k < 250; k++)
        defer_k(a, ins, k, GB_OK);
    assert_int_equal(gb_db_commit(a), GB_OK);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM df WHERE k >= 100 AND k < 250"), 150);
    /* a rollback undoes them */
    assert_int_equal(gb_db_begin(a), GB_OK);
    defer_k(a, ins, 5, GB_OK);
    gb_db_rollback(a);
    assert_false(gb_db_in_txn(a));
    assert_int_equal(tdb_int(a, "SELECT count(*) FROM df WHERE k = 5"), 0);
    /* a conflict: told by the next statement (SQLite: by the defer itself) */
    gb_log_set_level(GB_LOG_OFF);
    assert_int_equal(gb_db_begin(a), GB_OK);
    defer_k(a, ins, 6, GB_OK);
    defer_k(a, ins, 1, pg ? GB_OK : GB_ERR_CONFLICT);
    gb_q *q = gb_q_prep(a, "SELECT count(*) FROM df");
    int row = 0;
    if (pg) assert_int_equal(gb_q_step(q, &row), GB_ERR_CONFLICT);
    gb_q_reset(q);
    gb_db_rollback(a);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM df WHERE k = 6"), 0);
    /* a conflict told by the commit, which leaves nothing */
    assert_int_equal(gb_db_begin(a), GB_OK);
    defer_k(a, ins, 7, GB_OK);
    defer_k(a, ins, 2, pg ? GB_OK : GB_ERR_CONFLICT);
    if (pg) {
        defer_k(a, ins, 8, GB_OK);
        assert_int_equal(gb_db_commit(a), GB_ERR_CONFLICT);
    } else {
        gb_db_rollback(a);
    }
    assert_false(gb_db_in_txn(a));
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM df WHERE k IN (7, 8)"), 0);
    /* a conflict told by a gb_db_exec after it */
    assert_int_equal(gb_db_begin(a), GB_OK);
    defer_k(a, ins, 4, pg ? GB_OK : GB_ERR_CONFLICT);
    if (pg) assert_int_equal(gb_db_exec(a, "INSERT INTO df(k) VALUES(9)"), GB_ERR_CONFLICT);
    gb_db_rollback(a);
    gb_log_set_level(GB_LOG_ERROR);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM df WHERE k = 9"), 0);
    assert_int_equal(tdb_int(a, "SELECT count(*) FROM df"), 154); /* the connection works */
    if (pg) {
        /* not sent before the next statement: another session takes the lock it asks for */
        assert_int_equal(gb_db_begin(a), GB_OK);
        defer_k(a, "SELECT pg_advisory_xact_lock(?1)", 4242, GB_OK);
        assert_int_equal(tdb_int(b, "SELECT CAST(pg_try_advisory_lock(4242) AS INTEGER)"), 1);
        assert_int_equal(tdb_int(b, "SELECT CAST(pg_advisory_unlock(4242) AS INTEGER)"), 1);
        assert_int_equal(tdb_int(a, "SELECT count(*) FROM df"), 154); /* now it is sent */
        assert_int_equal(tdb_int(b, "SELECT CAST(pg_try_advisory_lock(4242) AS INTEGER)"), 0);
        assert_int_equal(gb_db_commit(a), GB_OK);
        /* the session killed while deferred statements wait: the commit fails, nothing stays,
         * and the next transaction runs on a new session */
        int64_t pid = tdb_int(a, "SELECT pg_backend_pid()");
        assert_int_equal(gb_db_begin(a), GB_OK);
        defer_k(a, ins, 10, GB_OK);
        kill_session(b, pid);
        defer_k(a, ins, 11, GB_OK);
        gb_log_set_level(GB_LOG_OFF);
        assert_int_equal(gb_db_commit(a), GB_ERR_DB);
        gb_log_set_level(GB_LOG_ERROR);
        assert_false(gb_db_in_txn(a));
        assert_int_equal(tdb_int(b, "SELECT count(*) FROM df WHERE k IN (10, 11)"), 0);
        assert_int_equal(gb_db_begin(a), GB_OK);
        defer_k(a, ins, 12, GB_OK);
        assert_int_equal(gb_db_commit(a), GB_OK);
        assert_int_equal(tdb_int(b, "SELECT count(*) FROM df WHERE k = 12"), 1);
        assert_int_not_equal(tdb_int(a, "SELECT pg_backend_pid()"), pid);
    }
    gb_db_close(a);
    gb_db_close(b);
}

/* gb_db_after_commit: after a commit only (a rollback or a failed commit drops it), once per
 * fn and ud in a transaction, at once outside one. */
static int after_calls[2];

static void after_fn(void *ud)
{
    after_calls[*(int *)ud]++;
}

static void test_after_commit(void **state)
{
    (void)state;
    static int zero = 0, one = 1;
    gb_db *db = open_db();
    exec_ok(db, "DROP TABLE IF EXISTS ac");
    exec_ok(db, "CREATE TABLE ac (k TEXT PRIMARY KEY)");
    memset(after_calls, 0, sizeof(after_calls));
    assert_int_equal(gb_db_after_commit(db, after_fn, &zero), GB_OK); /* no transaction */
    assert_int_equal(after_calls[0], 1);

    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(gb_db_after_commit(db, after_fn, &zero), GB_OK);
    assert_int_equal(gb_db_after_commit(db, after_fn, &zero), GB_OK); /* the same: once */
    assert_int_equal(gb_db_after_commit(db, after_fn, &one), GB_OK);
    assert_int_equal(after_calls[0], 1); /* not before the commit */
    exec_ok(db, "INSERT INTO ac(k) VALUES('a')");
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(after_calls[0], 2);
    assert_int_equal(after_calls[1], 1);

    assert_int_equal(gb_db_begin(db), GB_OK); /* rolled back: never called */
    assert_int_equal(gb_db_after_commit(db, after_fn, &one), GB_OK);
    gb_db_rollback(db);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK); /* nor by a later commit */
    assert_int_equal(after_calls[1], 1);

    /* a commit that fails (a deferred constraint in PostgreSQL; SQLite checks at the
     * statement) is a rollback: not called */
    if (pg) {
        exec_ok(db, "DROP TABLE IF EXISTS acd");
        exec_ok(db,
                "CREATE TABLE acd (k TEXT, CONSTRAINT u UNIQUE (k) DEFERRABLE INITIALLY DEFERRED)");
        assert_int_equal(gb_db_begin(db), GB_OK);
        exec_ok(db, "INSERT INTO acd(k) VALUES('x')");
        exec_ok(db, "INSERT INTO acd(k) VALUES('x')");
        assert_int_equal(gb_db_after_commit(db, after_fn, &one), GB_OK);
        assert_int_not_equal(gb_db_commit(db), GB_OK);
        assert_false(gb_db_in_txn(db));
        assert_int_equal(after_calls[1], 1);
    }
    gb_db_close(db);
}

static void test_row_locks(void **state)
{
    (void)state;
    gb_db *db = open_db();
    exec_ok(db, "DROP TABLE IF EXISTS rl");
    exec_ok(db, "CREATE TABLE rl (k TEXT PRIMARY KEY, v BIGINT NOT NULL)");
    exec_ok(db, "INSERT INTO rl(k, v) VALUES('a', 1)");
    /* a read that locks its row (PostgreSQL) is plain SQL in SQLite */
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(tdb_int(db, "SELECT v FROM rl WHERE k = 'a' FOR UPDATE"), 1);
    assert_int_equal(gb_db_commit(db), GB_OK);
    if (pg) { /* another connection cannot take the locked row, and skips it when told to */
        gb_db *b = open_db();
        assert_int_equal(gb_db_begin(db), GB_OK);
        assert_int_equal(tdb_int(db, "SELECT v FROM rl WHERE k = 'a' FOR UPDATE"), 1);
        assert_int_equal(tdb_int(b, "SELECT count(*) FROM (SELECT k FROM rl FOR UPDATE SKIP"
                                    " LOCKED) x"),
                         0);
        gb_db_rollback(db);
        assert_int_equal(tdb_int(b, "SELECT count(*) FROM (SELECT k FROM rl FOR UPDATE SKIP"
                                    " LOCKED) x"),
                         1);
        gb_db_close(b);
    }
    gb_db_close(db);
}

/* A session that leaves its transaction idle past gb_db_pg_set_idle_txn_ms (a broker paused
 * inside it) is ended by the server, so its row lock does not hold other brokers up: in
 * e2e_brokers a stopped broker held the account balance's row and the others waited for the
 * whole pause. Its own transaction is then lost, and its next statement reconnects. */
static void test_idle_transaction_ended(void **state)
{
    (void)state;
    if (!pg) {
        printf("PostgreSQL only: SQLite's lock is this process's\n");
        return;
    }
    gb_db_pg_set_idle_txn_ms(300);
    gb_db *a = open_db(), *b = open_db();
    gb_db_pg_set_idle_txn_ms(0);
    exec_ok(a, "DROP TABLE IF EXISTS idl");
    exec_ok(a, "CREATE TABLE idl (k TEXT PRIMARY KEY, v BIGINT NOT NULL)");
    exec_ok(a, "INSERT INTO idl(k, v) VALUES('a', 1)");
    exec_ok(b, "SET lock_timeout = 3000"); /* without the limit: a refusal here, not a hang */
    assert_int_equal(gb_db_begin(a), GB_OK);
    assert_int_equal(tdb_int(a, "SELECT v FROM idl WHERE k = 'a' FOR UPDATE"), 1);
    usleep(800000); /* paused, holding the row */
    int64_t t0 = gb_mono_ms();
    exec_ok(b, "UPDATE idl SET v = 2 WHERE k = 'a'");
    int64_t waited = gb_mono_ms() - t0;
    if (waited > 2000) fail_msg("the other session waited %lld ms", (long long)waited);
    assert_int_not_equal(gb_db_commit(a), GB_OK); /* its transaction was ended */
    assert_int_equal(tdb_int(a, "SELECT v FROM idl WHERE k = 'a'"), 2); /* a new session */
    gb_db_close(b);
    gb_db_close(a);
}

/* A stopped broker's session that waits for a lock (its statement sent before the stop) takes
 * the lock when the idle session ahead of it is ended, and then sits idle holding it: in
 * e2e_brokers three sessions of the paused broker held the account balance's row one after the
 * other, each for a whole limit. The sweep (gb_db_pg_end_stalled) ends every busy session of a
 * process one of whose sessions sat idle in a transaction past the limit, at once; idle
 * sessions, this process's own and other applications' stay. */
typedef struct {
    gb_db *db;
    gb_err update, commit;
    _Atomic int resume;
} stalled_waiter;

static void *stalled_wait(void *arg)
{
    stalled_waiter *w = arg;
    if (gb_db_begin(w->db) != GB_OK) return NULL;
    w->update = gb_db_exec(w->db, "UPDATE stl SET v = v + 10 WHERE k = 'a'");
    while (!w->resume) /* stopped: the row, once taken, stays held */
        usleep(20000);
    w->commit = gb_db_commit(w->db);
    if (w->commit) gb_db_rollback(w->db);
    return NULL;
}

typedef struct {
    gb_db *db;
    _Atomic int stop, ended, errors;
} sweeper;

static void *sweep(void *arg)
{
    sweeper *s = arg;
    while (!s->stop) {
        int n = 0;
        if (gb_db_pg_end_stalled(s->db, 500, &n)) s->errors++;
        s->ended += n;
        usleep(50000);
    }
    return NULL;
}

static void test_stalled_process_ended(void **state)
{
    (void)state;
    int n = -1;
    gb_db *lite = NULL;
    assert_int_equal(gb_db_open_url(":memory:", &lite), GB_OK);
    assert_int_equal(gb_db_pg_end_stalled(lite, 500, &n), GB_OK); /* nothing on SQLite */
    assert_int_equal(n, 0);
    gb_db_close(lite);
    if (!pg) {
        printf("PostgreSQL only: SQLite's lock is this process's\n");
        return;
    }
    assert_true(strncmp(gb_db_pg_app_name(), GB_DB_PG_APP_PREFIX, strlen(GB_DB_PG_APP_PREFIX)) ==
                0);
    assert_int_equal(strlen(gb_db_pg_app_name()), strlen(GB_DB_PG_APP_PREFIX) + 12);
    gb_db_pg_set_idle_txn_ms(500); /* the stopped process's sessions: the server's end at 1 s */
    gb_db *s1 = open_db(), *s2 = open_db(), *s3 = open_db();
    gb_db_pg_set_idle_txn_ms(0);
    gb_db *h = open_db(), *own = open_db(), *other = open_db(), *sw = open_db();
    exec_ok(h, "DROP TABLE IF EXISTS stl");
    exec_ok(h, "CREATE TABLE stl (k TEXT PRIMARY KEY, v BIGINT NOT NULL)");
    exec_ok(h, "INSERT INTO stl(k, v) VALUES('a', 1), ('b', 1), ('c', 1)");
    gb_db *stopped[] = {s1, s2, s3};
    for (int i = 0; i < 3; i++)
        exec_ok(stopped[i], "SET application_name = 'gpubroker/stoppedtest'");
    exec_ok(other, "SET application_name = 'psql'");
    int64_t s3_pid = tdb_int(s3, "SELECT pg_backend_pid()");
    /* idle in transactions that must outlast the sweep: this process's own, another
     * application's */
    assert_int_equal(gb_db_begin(own), GB_OK);
    assert_int_equal(tdb_int(own, "SELECT v FROM stl WHERE k = 'b' FOR UPDATE"), 1);
    assert_int_equal(gb_db_begin(other), GB_OK);
    assert_int_equal(tdb_int(other, "SELECT v FROM stl WHERE k = 'c' FOR UPDATE"), 1);
    exec_ok(h, "SET lock_timeout = 5000"); /* a refusal rather than a hang */
    /* the stopped process: one session idle holding the row, one queued for it */
    assert_int_equal(gb_db_begin(s1), GB_OK);
    assert_int_equal(tdb_int(s1, "SELECT v FROM stl WHERE k = 'a' FOR UPDATE"), 1);
    uint64_t counted = gb_db_pg_stalled_ended();
    int64_t t0 = gb_mono_ms();
    stalled_waiter w = {.db = s2, .update = GB_ERR_INTERNAL, .commit = GB_ERR_INTERNAL};
    pthread_t wt, st;
    assert_int_equal(pthread_create(&wt, NULL, stalled_wait, &w), 0);
    usleep(150000);
    sweeper sv = {.db = sw};
    assert_int_equal(pthread_create(&st, NULL, sweep, &sv), 0);
    gb_err took = gb_db_exec(h, "UPDATE stl SET v = v + 1 WHERE k = 'a'");
    int64_t waited = gb_mono_ms() - t0;
    /* the server alone: 1 s for s1, then s2 takes the row and holds it 1 s more */
    w.resume = 1; /* both threads end before anything here can fail */
    pthread_join(wt, NULL);
    sv.stop = 1;
    pthread_join(st, NULL);
    assert_int_equal(took, GB_OK);
    if (waited > 1400) fail_msg("the healthy session waited %lld ms", (long long)waited);
    if (waited < 400) fail_msg("ended after %lld ms, before the limit", (long long)waited);
    assert_int_equal(sv.errors, 0);
    assert_int_equal(sv.ended, 2);                           /* s1 and s2; s3 was idle */
    assert_int_equal(gb_db_pg_stalled_ended() - counted, 2); /* GET /metrics */
    assert_int_not_equal(w.commit, GB_OK);                   /* the queued change never committed */
    assert_int_equal(tdb_int(h, "SELECT v FROM stl WHERE k = 'a'"), 2);
    assert_int_not_equal(gb_db_commit(s1), GB_OK);
    assert_int_equal(tdb_int(s3, "SELECT pg_backend_pid()"), s3_pid); /* the same session */
    assert_int_equal(gb_db_commit(own), GB_OK);
    assert_int_equal(gb_db_commit(other), GB_OK);
    gb_db *all[] = {s1, s2, s3, h, own, other, sw};
    for (int i = 0; i < 7; i++)
        gb_db_close(all[i]);
}

static void test_ddl_for_pg(void **state)
{
    (void)state;
    char *s = gb_db_ddl_for_pg("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a INTEGER,"
                               " b BLOB, c REAL, d TEXT DEFAULT 'INTEGER REAL', e INTEGERS,"
                               " f MYINTEGER);INSERT INTO t(a) VALUES(1)");
    assert_non_null(s);
    assert_string_equal(s, "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
                           " a BIGINT, b BYTEA, c DOUBLE PRECISION, d TEXT DEFAULT 'INTEGER REAL',"
                           " e INTEGERS, f MYINTEGER);INSERT INTO t(a) VALUES(1)");
    free(s);
    s = gb_db_ddl_for_pg("REAL REAL REAL");
    assert_string_equal(s, "DOUBLE PRECISION DOUBLE PRECISION DOUBLE PRECISION");
    free(s);
}

static const gb_migration M2[] = {
    {1, "CREATE TABLE mig (k TEXT PRIMARY KEY)"},
    {2, "ALTER TABLE mig ADD COLUMN w BIGINT DEFAULT 7"},
};
/* PostgreSQL's own step 2: what only it can say (here: a comment on the column) */
static const gb_migration M2_PG[] = {
    {2, "ALTER TABLE mig ADD COLUMN w BIGINT DEFAULT 8"},
};
static const gb_migration MBAD[] = {
    {1, "CREATE TABLE mig_ok (x TEXT)"},
    {2, "CREATE TABLE mig_half (x TEXT); THIS IS NOT SQL"},
};

static void test_migrations(void **state)
{
    (void)state;
    gb_db *db = open_db();
    exec_ok(db, "DROP TABLE IF EXISTS mig");
    exec_ok(db, "DROP TABLE IF EXISTS mig_ok");
    exec_ok(db, "DROP TABLE IF EXISTS mig_half");
    exec_ok(db, "CREATE TABLE IF NOT EXISTS schema_versions (module TEXT PRIMARY KEY,"
                " version INTEGER NOT NULL)");
    exec_ok(db, "DELETE FROM schema_versions WHERE module IN ('dbq_m', 'dbq_bad')");
    gb_migration_set one = {.module = "dbq_m", .steps = M2, .count = 1};
    gb_migration_set two = {
        .module = "dbq_m", .steps = M2, .count = 2, .pg_steps = M2_PG, .pg_count = 1};
    assert_int_equal(gb_db_migrate(db, &one, 1), GB_OK);
    assert_int_equal(gb_db_version(db, "dbq_m"), 1);
    assert_int_equal(gb_db_migrate(db, &two, 1), GB_OK);
    assert_int_equal(gb_db_migrate(db, &two, 1), GB_OK); /* applied once */
    assert_int_equal(gb_db_version(db, "dbq_m"), 2);
    exec_ok(db, "INSERT INTO mig(k) VALUES('x')");
    assert_int_equal(tdb_int(db, "SELECT w FROM mig"), pg ? 8 : 7); /* PostgreSQL's own step */
    /* INTEGER is 64-bit on both (PostgreSQL's translation makes it BIGINT) */
    exec_ok(db, "DROP TABLE IF EXISTS mig64");
    exec_ok(db, "DELETE FROM schema_versions WHERE module = 'dbq_64'");
    static const gb_migration M64[] = {{1, "CREATE TABLE mig64 (v INTEGER NOT NULL)"}};
    gb_migration_set s64 = {.module = "dbq_64", .steps = M64, .count = 1};
    assert_int_equal(gb_db_migrate(db, &s64, 1), GB_OK);
    gb_q *q64 = gb_q_prep(db, "INSERT INTO mig64(v) VALUES(?1)");
    gb_q_int64(q64, 1, 1764547200000LL);
    assert_int_equal(gb_q_run(q64, NULL), GB_OK);
    assert_true(tdb_int(db, "SELECT v FROM mig64") == 1764547200000LL);
    /* a failing step: the steps before it stay, its own half is rolled back */
    gb_migration_set bad = {.module = "dbq_bad", .steps = MBAD, .count = 2};
    assert_int_equal(gb_db_migrate(db, &bad, 1), GB_ERR_DB);
    assert_int_equal(gb_db_version(db, "dbq_bad"), 1);
    assert_false(gb_db_in_txn(db));
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM mig_ok"), 0);
    gb_q *q = gb_q_prep(db, "SELECT count(*) FROM mig_half");
    int row = 0;
    if (q) assert_int_not_equal(gb_q_step(q, &row), GB_OK); /* the table does not exist */
    if (q) gb_q_reset(q);
    gb_db_close(db);
}

/* Brokers started together migrate one at a time: steps that are not idempotent (CREATE
 * TABLE without IF NOT EXISTS) run once, every start succeeds. */
static const gb_migration MCON[] = {
    {1, "CREATE TABLE con1 (k TEXT PRIMARY KEY)"},
    {2, "CREATE TABLE con2 (k TEXT PRIMARY KEY); INSERT INTO con2(k) VALUES('once')"},
};

typedef struct {
    const char *url;
    gb_err e;
} mig_arg;

static pthread_barrier_t mig_line;

static void *migrate_worker(void *p)
{
    mig_arg *m = p;
    gb_db *db = NULL;
    m->e = gb_db_open_url(m->url, &db);
    pthread_barrier_wait(&mig_line);
    gb_migration_set set = {.module = "dbq_con", .steps = MCON, .count = 2};
    gb_errmsg err = "";
    if (!m->e) m->e = gb_db_upgrade(db, &set, 1, NULL, 0, err);
    gb_db_close(db);
    return NULL;
}

static void test_concurrent_migrations(void **state)
{
    (void)state;
    const char *fresh = tdb_fresh_url(); /* a database nobody migrated yet */
    assert_non_null(fresh);
    enum { N = 4 };
    pthread_t t[N];
    mig_arg m[N];
    assert_int_equal(pthread_barrier_init(&mig_line, NULL, N), 0);
    for (int i = 0; i < N; i++) {
        m[i] = (mig_arg){fresh, GB_ERR_INTERNAL};
        assert_int_equal(pthread_create(&t[i], NULL, migrate_worker, &m[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(m[i].e, GB_OK);
    }
    pthread_barrier_destroy(&mig_line);
    gb_db *db = tdb_open(fresh);
    assert_non_null(db);
    assert_int_equal(gb_db_version(db, "dbq_con"), 2);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM con2"), 1);
    /* a binary that knows only step 1 refuses the database (a newer schema) */
    gb_migration_set older = {.module = "dbq_con", .steps = MCON, .count = 1};
    int pending = -1;
    gb_errmsg err = "";
    assert_int_equal(gb_db_schema_check(db, &older, 1, &pending, err), GB_ERR_CONFLICT);
    assert_non_null(strstr(err, "newer"));
    gb_migration_set same = {.module = "dbq_con", .steps = MCON, .count = 2};
    assert_int_equal(gb_db_schema_check(db, &same, 1, &pending, err), GB_OK);
    assert_int_equal(pending, 0);
    /* PostgreSQL is backed up with pg_dump, not by us */
    char dest[64];
    snprintf(dest, sizeof(dest), "/tmp/gb-dbq-backup-%d.db", (int)getpid());
    gb_err be = gb_db_backup(db, dest, err);
    if (pg) {
        assert_int_equal(be, GB_ERR_INVALID);
        assert_non_null(strstr(err, "pg_dump"));
    } else {
        assert_int_equal(be, GB_OK);
        unlink(dest);
    }
    gb_db_close(db);
}

/* ---- claims: several connections (brokers) take rows with leases ---- */

#define WORK_ROWS 300
#define WORKERS 4

static const char *CLAIM =
    "UPDATE work SET owner = ?1, lease_until = ?2 + ?3, token = token + 1"
    " WHERE id IN (SELECT id FROM work WHERE state = 'ready' AND lease_until <= ?2"
    "  ORDER BY id LIMIT 7 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, token";
static const char *FINISH = "UPDATE work SET state = 'done', done_by = ?3,"
                            " done_count = done_count + 1 WHERE id = ?1 AND token = ?2"
                            " AND state = 'ready'";

static void make_work(gb_db *db)
{
    exec_ok(db, "DROP TABLE IF EXISTS work");
    exec_ok(db, "CREATE TABLE work (id BIGINT PRIMARY KEY, state TEXT NOT NULL DEFAULT 'ready',"
                " owner TEXT NOT NULL DEFAULT '', lease_until BIGINT NOT NULL DEFAULT 0,"
                " token BIGINT NOT NULL DEFAULT 0, done_by TEXT,"
                " done_count BIGINT NOT NULL DEFAULT 0)");
    assert_int_equal(gb_db_begin(db), GB_OK);
    for (int i = 1; i <= WORK_ROWS; i++) {
        gb_q *q = gb_q_prep(db, "INSERT INTO work(id) VALUES(?1)");
        gb_q_int64(q, 1, i);
        assert_int_equal(gb_q_run(q, NULL), GB_OK);
    }
    assert_int_equal(gb_db_commit(db), GB_OK);
}

typedef struct {
    char name[16];
    int done;
    int failed;
} worker_arg;

static pthread_barrier_t start_line; /* the workers start together */

static void *claim_worker(void *p)
{
    worker_arg *w = p;
    gb_db *db = NULL;
    int opened = gb_db_open_url(url, &db) == GB_OK;
    pthread_barrier_wait(&start_line);
    if (!opened) {
        w->failed = 1;
        return NULL;
    }
    for (;;) {
        int64_t ids[16], tokens[16];
        int n = 0;
        if (gb_db_begin(db)) {
            w->failed = 1;
            break;
        }
        gb_q *q = gb_q_prep(db, CLAIM);
        gb_q_text(q, 1, w->name);
        gb_q_int64(q, 2, 1000);
        gb_q_int64(q, 3, 60000);
        int row = 0;
        gb_err e;
        while (!(e = gb_q_step(q, &row)) && row && n < 16) {
            ids[n] = gb_q_col_int64(q, 0);
            tokens[n++] = gb_q_col_int64(q, 1);
        }
        gb_q_reset(q);
        if (e || gb_db_commit(db)) {
            gb_db_rollback(db);
            w->failed = 1;
            break;
        }
        if (!n) break; /* nothing left that is not leased */
        for (int i = 0; i < n; i++) {
            q = gb_q_prep(db, FINISH);
            gb_q_int64(q, 1, ids[i]);
            gb_q_int64(q, 2, tokens[i]);
            gb_q_text(q, 3, w->name);
            int64_t changed = 0;
            if (gb_q_run(q, &changed) || changed != 1) w->failed = 1;
            w->done++;
            usleep(300); /* the work itself: the others claim meanwhile */
        }
    }
    gb_db_close(db);
    return NULL;
}

static void test_claims_each_row_once(void **state)
{
    (void)state;
    gb_db *db = open_db();
    make_work(db);
    pthread_t t[WORKERS];
    worker_arg w[WORKERS];
    memset(w, 0, sizeof(w));
    assert_int_equal(pthread_barrier_init(&start_line, NULL, WORKERS), 0);
    for (int i = 0; i < WORKERS; i++) {
        snprintf(w[i].name, sizeof(w[i].name), "broker%d", i);
        assert_int_equal(pthread_create(&t[i], NULL, claim_worker, &w[i]), 0);
    }
    int total = 0, busy = 0;
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(t[i], NULL);
        assert_false(w[i].failed);
        total += w[i].done;
        busy += w[i].done > 0;
    }
    pthread_barrier_destroy(&start_line);
    assert_int_equal(total, WORK_ROWS);
    assert_true(busy >= 2); /* the work was shared, not done by one */
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM work WHERE state = 'done'"), WORK_ROWS);
    assert_int_equal(tdb_int(db, "SELECT max(done_count) FROM work"), 1);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM work WHERE done_by <> owner"), 0);
    gb_db_close(db);
}

/* A broker that paused past its lease cannot finish what another took over. */
static void test_fencing(void **state)
{
    (void)state;
    gb_db *a = open_db(), *b = open_db();
    make_work(a);
    exec_ok(a, "DELETE FROM work WHERE id > 1");
    const char *claim = "UPDATE work SET owner = ?1, lease_until = ?2 + ?3, token = token + 1"
                        " WHERE id IN (SELECT id FROM work WHERE state = 'ready'"
                        "  AND lease_until <= ?2 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                        " RETURNING id, token";
    int64_t tok_a = 0, tok_b = 0;
    gb_db *who[2] = {a, b};
    int64_t now[2] = {1000, 1000 + 30001};
    int64_t *tok[2] = {&tok_a, &tok_b};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(gb_db_begin(who[k]), GB_OK);
        gb_q *q = gb_q_prep(who[k], claim);
        gb_q_text(q, 1, k ? "b" : "a");
        gb_q_int64(q, 2, now[k]);
        gb_q_int64(q, 3, 30000);
        int row = 0;
        assert_int_equal(gb_q_step(q, &row), GB_OK);
        assert_true(row); /* b's clock is past a's lease: b takes the row over */
        *tok[k] = gb_q_col_int64(q, 1);
        gb_q_reset(q);
        assert_int_equal(gb_db_commit(who[k]), GB_OK);
    }
    assert_int_equal(tok_b, tok_a + 1);
    /* a wakes up and finishes with its old token: fenced, nothing changes */
    gb_q *q = gb_q_prep(a, FINISH);
    gb_q_int64(q, 1, 1);
    gb_q_int64(q, 2, tok_a);
    gb_q_text(q, 3, "a");
    int64_t changed = -1;
    assert_int_equal(gb_q_run(q, &changed), GB_OK);
    assert_int_equal(changed, 0);
    q = gb_q_prep(b, FINISH);
    gb_q_int64(q, 1, 1);
    gb_q_int64(q, 2, tok_b);
    gb_q_text(q, 3, "b");
    assert_int_equal(gb_q_run(q, &changed), GB_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(tdb_int(a, "SELECT done_count FROM work WHERE id = 1"), 1);
    gb_db_close(a);
    gb_db_close(b);
}

static void test_singleton_lock(void **state)
{
    (void)state;
    gb_db *a = open_db();
    int got = -1;
    assert_int_equal(gb_db_try_lock(a, 42, &got), GB_ERR_INTERNAL); /* outside a transaction */
    assert_int_equal(got, 0);
    assert_int_equal(gb_db_begin(a), GB_OK);
    assert_int_equal(gb_db_try_lock(a, 42, &got), GB_OK);
    assert_int_equal(got, 1);
    if (pg) {
        gb_db *b = open_db();
        assert_int_equal(gb_db_begin(b), GB_OK);
        assert_int_equal(gb_db_try_lock(b, 42, &got), GB_OK);
        assert_int_equal(got, 0); /* a holds it */
        assert_int_equal(gb_db_try_lock(b, 43, &got), GB_OK);
        assert_int_equal(got, 1); /* another key is free */
        gb_db_rollback(b);
        assert_int_equal(gb_db_commit(a), GB_OK); /* the lock ends with a's transaction */
        assert_int_equal(gb_db_begin(b), GB_OK);
        assert_int_equal(gb_db_try_lock(b, 42, &got), GB_OK);
        assert_int_equal(got, 1);
        gb_db_rollback(b);
        gb_db_close(b);
    } else {
        assert_int_equal(gb_db_commit(a), GB_OK);
    }
    gb_db_close(a);
}

/* The server ends our session (a restart, a failover, an administrator): the statement that
 * meets it fails, the next one reconnects and prepares again. */
static void test_reconnect(void **state)
{
    (void)state;
    if (!pg) skip();
    gb_db *a = open_db(), *b = open_db();
    int64_t pid = tdb_int(a, "SELECT pg_backend_pid()");
    assert_int_equal(tdb_int(a, "SELECT 1 + 1"), 2); /* prepared on the old session */
    kill_session(b, pid);
    int row = 0;
    gb_q *q = gb_q_prep(a, "SELECT 1 + 1");
    assert_int_equal(gb_q_step(q, &row), GB_ERR_DB);
    gb_q_reset(q);
    assert_int_equal(tdb_int(a, "SELECT 1 + 1"), 2);
    assert_int_not_equal(tdb_int(a, "SELECT pg_backend_pid()"), pid);
    gb_db_close(a);
    gb_db_close(b);
}

/* gb_db_plan_generic: the server reports the session's plans generic, and again after it
 * ended the session and the next statement reconnected; another connection is left alone;
 * inside a transaction it is refused (a SET there would end with it). SQLite: nothing. */
static void test_plan_generic(void **state)
{
    (void)state;
    gb_db *a = open_db(), *b = open_db();
    if (!pg) {
        assert_int_equal(gb_db_plan_generic(a), GB_OK);
        gb_db_close(a);
        gb_db_close(b);
        return;
    }
    const char *generic = "SELECT CASE WHEN current_setting('plan_cache_mode') ="
                          " 'force_generic_plan' THEN 1 ELSE 0 END";
    assert_int_equal(tdb_int(a, generic), 0);
    assert_int_equal(gb_db_begin(a), GB_OK);
    assert_int_equal(gb_db_plan_generic(a), GB_ERR_INTERNAL);
    gb_db_rollback(a);
    assert_int_equal(tdb_int(a, generic), 0);
    assert_int_equal(gb_db_plan_generic(a), GB_OK);
    assert_int_equal(tdb_int(a, generic), 1);
    assert_int_equal(tdb_int(b, generic), 0);
    int64_t pid = tdb_int(a, "SELECT pg_backend_pid()");
    kill_session(b, pid);
    int row = 0;
    gb_q *q = gb_q_prep(a, "SELECT 1 + 1");
    assert_int_equal(gb_q_step(q, &row), GB_ERR_DB); /* meets the ended session */
    gb_q_reset(q);
    assert_int_equal(tdb_int(a, generic), 1); /* a new session, set again */
    assert_int_not_equal(tdb_int(a, "SELECT pg_backend_pid()"), pid);
    gb_db_close(a);
    gb_db_close(b);
}

/* A session the server ends inside a transaction: that transaction is lost, its caller told
 * (GB_ERR_DB), nothing of it stays, and the connection works again after the rollback. */
static void test_session_lost_inside_transaction(void **state)
{
    (void)state;
    if (!pg) skip();
    gb_db *a = open_db(), *b = open_db();
    exec_ok(a, "DROP TABLE IF EXISTS lost");
    exec_ok(a, "CREATE TABLE lost (k BIGINT)");
    int64_t pid = tdb_int(a, "SELECT pg_backend_pid()");
    assert_int_equal(gb_db_begin(a), GB_OK);
    gb_q *q = gb_q_prep(a, "INSERT INTO lost(k) VALUES(1)");
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
    kill_session(b, pid);
    q = gb_q_prep(a, "INSERT INTO lost(k) VALUES(2)");
    assert_int_equal(gb_q_run(q, NULL), GB_ERR_DB); /* not retried inside a transaction */
    assert_int_not_equal(gb_db_commit(a), GB_OK);
    gb_db_rollback(a);
    assert_false(gb_db_in_txn(a));
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM lost"), 0);
    assert_int_equal(tdb_int(a, "SELECT count(*) FROM lost"), 0); /* a new session */
    assert_int_not_equal(tdb_int(a, "SELECT pg_backend_pid()"), pid);
    assert_int_equal(gb_db_begin(a), GB_OK);
    q = gb_q_prep(a, "INSERT INTO lost(k) VALUES(3)");
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
    assert_int_equal(gb_db_commit(a), GB_OK);
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM lost"), 1);
    /* a COMMIT of a transaction an error aborted: PostgreSQL answers ROLLBACK without an
     * error; the caller is told */
    exec_ok(a, "CREATE UNIQUE INDEX lost_k ON lost(k)");
    assert_int_equal(gb_db_begin(a), GB_OK);
    q = gb_q_prep(a, "INSERT INTO lost(k) VALUES(4)");
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
    q = gb_q_prep(a, "INSERT INTO lost(k) VALUES(3)");
    assert_int_equal(gb_q_run(q, NULL), GB_ERR_CONFLICT);
    assert_int_equal(gb_db_commit(a), GB_ERR_DB);
    assert_false(gb_db_in_txn(a));
    assert_int_equal(tdb_int(b, "SELECT count(*) FROM lost"), 1);
    gb_db_close(a);
    gb_db_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_and_redact),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_cache_and_reset),
        cmocka_unit_test(test_transactions_and_conflicts),
        cmocka_unit_test(test_first_statement_inside_transaction),
        cmocka_unit_test(test_deferred_statements),
        cmocka_unit_test(test_deferred_to_commit),
        cmocka_unit_test(test_after_commit),
        cmocka_unit_test(test_row_locks),
        cmocka_unit_test(test_idle_transaction_ended),
        cmocka_unit_test(test_stalled_process_ended),
        cmocka_unit_test(test_ddl_for_pg),
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_concurrent_migrations),
        cmocka_unit_test(test_claims_each_row_once),
        cmocka_unit_test(test_fencing),
        cmocka_unit_test(test_singleton_lock),
        cmocka_unit_test(test_reconnect),
        cmocka_unit_test(test_plan_generic),
        cmocka_unit_test(test_session_lost_inside_transaction),
        cmocka_unit_test(test_for_update_in_literals),
    };
    return cmocka_run_group_tests(tests, setup_all, NULL);
}
