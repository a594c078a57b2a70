/* test_common_db_backup.c: a schema newer than the binary refused (a higher version, an
 * unknown module); an upgrade of an existing database copies it first (the copy holds the old
 * schema and the data), a new database is not copied; an online copy taken while another
 * connection commits is one consistent point in time; a restore moves a crashed database's WAL
 * aside with it. */
#include <pthread.h>
#include <stdatomic.h>
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
#include "test_tmpdir.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gb-dbb-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return ttmp_remove(dir);
}

static const gb_migration V1[] = {{1, "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"}};
static const gb_migration V2[] = {{1, "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"},
                                  {2, "ALTER TABLE t ADD COLUMN w INTEGER DEFAULT 7"}};
static const gb_migration O1[] = {{1, "CREATE TABLE o (x)"}};

static int64_t one(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static gb_db *fresh(const char *name)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    unlink(p);
    gb_db *db = NULL;
    assert_int_equal(gb_db_open(p, &db), GB_OK);
    return db;
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    gb_db *db = fresh("newer.db");
    gb_migration_set sets[2] = {{.module = "m", .steps = V2, .count = 2},
                                {.module = "o", .steps = O1, .count = 1}};
    int pending = -1;
    gb_errmsg err = "";
    assert_int_equal(gb_db_schema_check(db, sets, 2, &pending, err), GB_OK);
    assert_int_equal(pending, 3); /* new: everything */
    assert_int_equal(gb_db_migrate(db, sets, 2), GB_OK);
    assert_int_equal(gb_db_schema_check(db, sets, 2, &pending, err), GB_OK);
    assert_int_equal(pending, 0);
    /* an older binary (knows m up to 1) */
    gb_migration_set old[2] = {{.module = "m", .steps = V1, .count = 1},
                               {.module = "o", .steps = O1, .count = 1}};
    assert_int_equal(gb_db_schema_check(db, old, 2, &pending, err), GB_ERR_CONFLICT);
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, "m at version 2"));
    char bk[256] = "x";
    assert_int_equal(gb_db_upgrade(db, old, 2, bk, sizeof(bk), err), GB_ERR_CONFLICT);
    assert_string_equal(bk, ""); /* nothing copied, nothing changed */
    assert_int_equal(gb_db_version(db, "m"), 2);
    /* a module this binary does not know */
    assert_int_equal(gb_db_schema_check(db, sets, 1, &pending, err), GB_ERR_CONFLICT);
    assert_non_null(strstr(err, "o at version 1"));
    gb_db_close(db);
}

static void test_upgrade_copies_first(void **state)
{
    (void)state;
    gb_db *db = fresh("up.db");
    gb_migration_set s1 = {.module = "m", .steps = V1, .count = 1},
                     s2 = {.module = "m", .steps = V2, .count = 2};
    char bk[512] = "x";
    gb_errmsg err = "";
    assert_int_equal(gb_db_upgrade(db, &s1, 1, bk, sizeof(bk), err), GB_OK);
    assert_string_equal(bk, ""); /* a new database: no copy */
    assert_int_equal(gb_db_exec(db, "INSERT INTO t(v) VALUES(41), (1)"), GB_OK);
    assert_int_equal(gb_db_upgrade(db, &s2, 1, bk, sizeof(bk), err), GB_OK);
    assert_non_null(strstr(bk, "up.db.before-upgrade-"));
    assert_int_equal(gb_db_version(db, "m"), 2);
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open_v2(bk, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(one(c, "SELECT version FROM schema_versions WHERE module = 'm'"), 1);
    assert_int_equal(one(c, "SELECT sum(v) FROM t"), 42);
    assert_int_equal(one(c, "SELECT count(*) FROM pragma_table_info('t') WHERE name = 'w'"), 0);
    sqlite3_close(c);
    /* nothing pending: no copy */
    assert_int_equal(gb_db_upgrade(db, &s2, 1, bk, sizeof(bk), err), GB_OK);
    assert_string_equal(bk, "");
    gb_db_close(db);
}

static atomic_int stop_writer;

/* Moves money between two rows in transactions: their sum is always 0. */
static void *writer(void *p)
{
    gb_db *db = NULL;
    assert_int_equal(gb_db_open((const char *)p, &db), GB_OK);
    int n = 0;
    while (!atomic_load(&stop_writer) || n < 200) {
        assert_int_equal(gb_db_begin(db), GB_OK);
        assert_int_equal(gb_db_exec(db, "UPDATE t SET v = v + 3 WHERE id = 1"), GB_OK);
        assert_int_equal(gb_db_exec(db, "INSERT INTO t(v) VALUES(-3)"), GB_OK);
        assert_int_equal(gb_db_commit(db), GB_OK);
        n++;
    }
    gb_db_close(db);
    return NULL;
}

static void test_online_copy_is_consistent(void **state)
{
    (void)state;
    gb_db *db = fresh("live.db");
    gb_migration_set s1 = {.module = "m", .steps = V1, .count = 1};
    assert_int_equal(gb_db_migrate(db, &s1, 1), GB_OK);
    assert_int_equal(gb_db_exec(db, "INSERT INTO t(id, v) VALUES(1, 0)"), GB_OK);
    /* rows enough that a copy takes a while */
    assert_int_equal(gb_db_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                                    "FROM n WHERE i < 20000) INSERT INTO t(v) SELECT 0 FROM n"),
                     GB_OK);
    char p[128], out[160];
    snprintf(p, sizeof(p), "%s/live.db", dir);
    atomic_store(&stop_writer, 0);
    pthread_t th;
    pthread_create(&th, NULL, writer, p);
    usleep(20000);
    for (int i = 0; i < 5; i++) {
        snprintf(out, sizeof(out), "%s/copy%d.db", dir, i);
        gb_errmsg err = "";
        assert_int_equal(gb_db_backup(db, out, err), GB_OK);
        sqlite3 *c = NULL;
        assert_int_equal(sqlite3_open_v2(out, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(one(c, "SELECT sum(v) FROM t"), 0);
        assert_int_equal(one(c, "SELECT count(*) FROM pragma_integrity_check WHERE "
                                "integrity_check <> 'ok'"),
                         0);
        sqlite3_close(c);
        char part[200];
        snprintf(part, sizeof(part), "%s.part", out);
        assert_int_not_equal(access(part, F_OK), 0); /* no half-written file left */
    }
    atomic_store(&stop_writer, 1);
    pthread_join(th, NULL);
    /* a copy into a directory that does not exist fails and says where */
    gb_errmsg err = "";
    snprintf(out, sizeof(out), "%s/no/such/dir/x.db", dir);
    assert_int_not_equal(gb_db_backup(db, out, err), GB_OK);
    assert_non_null(strstr(err, "no/such/dir"));
    gb_db_close(db);
}

static void test_restore(void **state)
{
    (void)state;
    gb_db *db = fresh("r.db");
    gb_migration_set s1 = {.module = "m", .steps = V1, .count = 1},
                     s2 = {.module = "m", .steps = V2, .count = 2};
    assert_int_equal(gb_db_migrate(db, &s1, 1), GB_OK);
    assert_int_equal(gb_db_exec(db, "INSERT INTO t(v) VALUES(5)"), GB_OK);
    char bk[128], live[128], moved[512] = "x";
    snprintf(bk, sizeof(bk), "%s/r.bak", dir);
    snprintf(live, sizeof(live), "%s/r.db", dir);
    gb_errmsg err = "";
    assert_int_equal(gb_db_backup(db, bk, err), GB_OK);
    assert_int_equal(gb_db_exec(db, "INSERT INTO t(v) VALUES(100)"), GB_OK); /* after it */
    gb_db_close(db);
    /* a binary that knows less refuses the backup; garbage is refused; nothing moves */
    gb_migration_set none = {.module = "other", .steps = O1, .count = 1};
    assert_int_equal(gb_db_restore(bk, live, &none, 1, moved, sizeof(moved), err), GB_ERR_CONFLICT);
    char junk[128];
    snprintf(junk, sizeof(junk), "%s/junk.bak", dir);
    FILE *f = fopen(junk, "w");
    assert_non_null(f);
    fputs("SQLite format 3 but not really, and not a gpubroker database\n", f);
    fclose(f);
    assert_int_not_equal(gb_db_restore(junk, live, &s2, 1, moved, sizeof(moved), err), GB_OK);
    assert_int_equal(access(live, F_OK), 0);
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open_v2(live, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(one(c, "SELECT sum(v) FROM t"), 105);
    sqlite3_close(c);
    /* restored: the backup's content in place, the replaced database kept aside */
    assert_int_equal(gb_db_restore(bk, live, &s2, 1, moved, sizeof(moved), err), GB_OK);
    assert_non_null(strstr(moved, "r.db.replaced-"));
    assert_int_equal(sqlite3_open_v2(live, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(one(c, "SELECT sum(v) FROM t"), 5);
    sqlite3_close(c);
    assert_int_equal(sqlite3_open_v2(moved, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(one(c, "SELECT sum(v) FROM t"), 105);
    sqlite3_close(c);
    /* and it opens and upgrades as any database does */
    assert_int_equal(gb_db_open(live, &db), GB_OK);
    assert_int_equal(gb_db_upgrade(db, &s2, 1, moved, sizeof(moved), err), GB_OK);
    assert_int_equal(gb_db_version(db, "m"), 2);
    gb_db_close(db);
}

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), a)) > 0)
        assert_int_equal(fwrite(buf, 1, n, b), n);
    fclose(a);
    assert_int_equal(fclose(b), 0);
}

/* A database a crash left with its last commits still in its WAL: a restore moves the WAL
 * aside with it (the aside copy keeps those commits); a WAL left next to the restored file
 * would be read into it. */
static void test_restore_moves_wal_aside(void **state)
{
    (void)state;
    gb_db *db = fresh("w.db");
    gb_migration_set s1 = {.module = "m", .steps = V1, .count = 1};
    assert_int_equal(gb_db_migrate(db, &s1, 1), GB_OK);
    assert_int_equal(gb_db_exec(db, "INSERT INTO t(v) VALUES(5)"), GB_OK);
    char bk[128], src[128], live[128], wal[160], moved[512] = "", mwal[600];
    snprintf(bk, sizeof(bk), "%s/w.bak", dir);
    snprintf(src, sizeof(src), "%s/w.db", dir);
    snprintf(live, sizeof(live), "%s/crashed.db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", live);
    gb_errmsg err = "";
    assert_int_equal(gb_db_backup(db, bk, err), GB_OK);
    gb_db_close(db);
    /* the crashed database: its file and a WAL holding commits the file does not have yet */
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open(src, &c), SQLITE_OK);
    assert_int_equal(sqlite3_exec(c,
                                  "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
                                  "INSERT INTO t(v) VALUES(100); UPDATE t SET v = v + 1000;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    copy_file(src, live);
    char srcwal[160];
    snprintf(srcwal, sizeof(srcwal), "%s-wal", src);
    copy_file(srcwal, wal);
    sqlite3_close(c);
    assert_int_equal(gb_db_restore(bk, live, &s1, 1, moved, sizeof(moved), err), GB_OK);
    /* the restored file alone, with no WAL of the replaced database next to it */
    assert_int_not_equal(access(wal, F_OK), 0);
    assert_int_equal(sqlite3_open_v2(live, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(one(c, "SELECT sum(v) FROM t"), 5);
    sqlite3_close(c);
    /* the replaced database kept aside whole: its WAL's commits are there */
    snprintf(mwal, sizeof(mwal), "%s-wal", moved);
    assert_int_equal(access(mwal, F_OK), 0);
    assert_int_equal(sqlite3_open(moved, &c), SQLITE_OK);
    assert_int_equal(one(c, "SELECT sum(v) FROM t"), 2105);
    sqlite3_close(c);
}

/* A backup whose pages are damaged (a bad disk, a cut copy) is refused before anything moves:
 * the live database stays in place, whole. */
static void test_restore_refuses_damaged(void **state)
{
    (void)state;
    gb_db *db = fresh("d.db");
    gb_migration_set s1 = {.module = "m", .steps = V1, .count = 1};
    assert_int_equal(gb_db_migrate(db, &s1, 1), GB_OK);
    assert_int_equal(gb_db_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                                    "FROM n WHERE i < 2000) INSERT INTO t(v) SELECT i FROM n"),
                     GB_OK);
    char bk[128], live[128], moved[512] = "";
    snprintf(bk, sizeof(bk), "%s/d.bak", dir);
    snprintf(live, sizeof(live), "%s/d.db", dir);
    gb_errmsg err = "";
    assert_int_equal(gb_db_backup(db, bk, err), GB_OK);
    gb_db_close(db);
    /* the backup's last page (a page of t: its rows came last) overwritten */
    FILE *f = fopen(bk, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size > 3 * 4096);
    assert_int_equal(fseek(f, size - 4096, SEEK_SET), 0);
    for (int i = 0; i < 64; i++)
        fputc(0xa5, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(gb_db_restore(bk, live, &s1, 1, moved, sizeof(moved), err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "not an intact SQLite database"));
    assert_string_equal(moved, "");
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open_v2(live, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(one(c, "SELECT sum(v) FROM t"), 2001000);
    sqlite3_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_upgrade_copies_first),
        cmocka_unit_test(test_online_copy_is_consistent),
        cmocka_unit_test(test_restore),
        cmocka_unit_test(test_restore_moves_wal_aside),
        cmocka_unit_test(test_restore_refuses_damaged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
