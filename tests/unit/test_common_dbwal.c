/* test_common_dbwal.c: the VFS of gb_db_open's connections (common/db_walvfs.c): a
 * transaction's WAL frames reach the file in one write, as the kernel counts write system
 * calls (/proc/self/io), and what it buffers is never published unwritten, read back stale,
 * left to overwrite another connection's frames, or lost to a kill -9 after a commit. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/db.h"
#include "test_tmpdir.h"

static char dir[] = "/tmp/gb-dbwal-XXXXXX";
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

/* the kernel's count of this process's write system calls (write, pwrite, writev, ...) */
static long long write_calls(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    if (!f) return -1;
    char line[128];
    long long n = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "syscw: %lld", &n) == 1) break;
    fclose(f);
    return n;
}

static long long file_size(const char *suffix)
{
    char p[300];
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/* a value read from file by a plain connection (SQLite's own VFS, its own file handles);
 * -1 when it cannot be read */
static long long plain_count(const char *file, const char *sql)
{
    sqlite3 *h = NULL;
    long long n = -1;
    sqlite3_stmt *s = NULL;
    if (sqlite3_open_v2(file, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return n;
}

/* 1 when SQLite's integrity check finds nothing wrong in file */
static long long intact(const char *file)
{
    return plain_count(file, "SELECT count(*) = 1 FROM pragma_integrity_check"
                             " WHERE integrity_check = 'ok'");
}

#define SCHEMA "CREATE TABLE w (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX w_v ON w(v)"
#define FILL                                                                                       \
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)"                 \
    " INSERT INTO w(v) SELECT hex(randomblob(1500)) FROM n"

/* The write calls (as the kernel counts them) of the same 40-row commit, about 90 pages, on a
 * plain connection (SQLite's own VFS) to a file of its own: the baseline. */
static long long plain_commit_calls(void)
{
    char other[300];
    snprintf(other, sizeof(other), "%s.plain", path);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(other, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;" SCHEMA,
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    long long calls0 = write_calls();
    assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE;" FILL "; COMMIT", NULL, NULL, NULL),
                     SQLITE_OK);
    long long calls = write_calls() - calls0;
    sqlite3_close(h);
    return calls;
}

/* That commit through gb_db_open: SQLite's own VFS writes each frame's header and page apart
 * (176 calls); here the frames go in writes of up to 120 KiB (4 calls). The bound is an
 * eighth of the baseline in the same run, not the 4 alone: the count is the whole process's,
 * and a tool such as valgrind writes too. The frames are in the file when the commit returns:
 * a plain connection reads the rows. */
static void test_commit_is_one_write(void **state)
{
    (void)state;
    long long plain = plain_commit_calls();
    gb_db *db;
    assert_int_equal(gb_db_open(path, &db), GB_OK);
    assert_int_equal(gb_db_exec(db, SCHEMA), GB_OK);
    long long wal0 = file_size("-wal");
    long long calls0 = write_calls();
    assert_true(calls0 >= 0);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(gb_db_exec(db, FILL), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    long long calls = write_calls() - calls0;
    long long grown = file_size("-wal") - wal0;
    gb_db_close(db);
    assert_true(grown >= 40 * 4096);                     /* the frames are in the file */
    assert_true(plain >= 2 * (grown / (24 + 4096)) - 8); /* two calls a frame, there */
    assert_int_equal(plain_count(path, "SELECT count(*) FROM w"), 40);
    if (calls * 8 > plain)
        fail_msg("a commit of %lld WAL bytes took %lld write calls (SQLite's own VFS: %lld)", grown,
                 calls, plain);
}

/* A connection whose transaction spills pages to the WAL (a small page cache) and then rolls
 * back leaves nothing buffered: another connection's commit of as many frames, at the same
 * WAL offsets, stays intact after the first one works on and closes. */
static void test_rolled_back_spill_leaves_nothing_behind(void **state)
{
    (void)state;
    gb_db *a, *b;
    assert_int_equal(gb_db_open(path, &a), GB_OK);
    assert_int_equal(gb_db_open(path, &b), GB_OK);
    assert_int_equal(gb_db_exec(a, "CREATE TABLE IF NOT EXISTS s (id INTEGER PRIMARY KEY,"
                                   " v TEXT)"),
                     GB_OK);
    for (int round = 0; round < 5; round++) {
        long long wal0 = file_size("-wal");
        assert_int_equal(gb_db_exec(a, "PRAGMA cache_size = 5"), GB_OK);
        assert_int_equal(gb_db_begin(a), GB_OK);
        assert_int_equal(gb_db_exec(a, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                                       " FROM n WHERE i < 300)"
                                       " INSERT INTO s(v) SELECT hex(randomblob(1000)) FROM n"),
                         GB_OK);
        if (round == 0) /* it spilled: frames written, none committed (later rounds write over
                         * the same part of the file) */
            assert_true(file_size("-wal") > wal0);
        gb_db_rollback(a);
        assert_int_equal(gb_db_begin(b), GB_OK);
        assert_int_equal(gb_db_exec(b, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                                       " FROM n WHERE i < 300)"
                                       " INSERT INTO s(v) SELECT 'b' || i || hex(zeroblob(500))"
                                       " FROM n"),
                         GB_OK);
        assert_int_equal(gb_db_commit(b), GB_OK);
        assert_int_equal(gb_db_exec(a, "PRAGMA cache_size = -2000"), GB_OK);
        assert_int_equal(gb_db_begin(a), GB_OK);
        assert_int_equal(gb_db_exec(a, "INSERT INTO s(v) VALUES ('a')"), GB_OK);
        assert_int_equal(gb_db_commit(a), GB_OK);
    }
    gb_db_close(a);
    gb_db_close(b);
    assert_int_equal(intact(path), 1);
    assert_int_equal(plain_count(path, "SELECT count(*) FROM s WHERE v LIKE 'b%'"), 1500);
    assert_int_equal(plain_count(path, "SELECT count(*) FROM s WHERE v = 'a'"), 5);
    assert_int_equal(plain_count(path, "SELECT count(*) FROM s"), 1505);
}

/* A child commits numbered rows and reports each commit on a pipe; kill -9 stops it at an
 * arbitrary point. Every reported commit is in the database, the rows have no gaps, and the
 * file is intact. */
static void test_kill_during_commits(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        char file[300];
        snprintf(file, sizeof(file), "%s.k%d", path, round);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            gb_db *db;
            if (gb_db_open(file, &db) ||
                gb_db_exec(db, "CREATE TABLE k (n INTEGER PRIMARY KEY, v TEXT)"))
                _exit(2);
            for (int n = 1;; n++) {
                char sql[200];
                snprintf(sql, sizeof(sql), "INSERT INTO k VALUES (%d, hex(randomblob(%d)))", n,
                         100 + (n * 997) % 6000);
                if (gb_db_begin(db) || gb_db_exec(db, sql) || gb_db_commit(db)) _exit(3);
                if (write(fds[1], &n, sizeof(n)) != (ssize_t)sizeof(n)) _exit(4);
            }
        }
        close(fds[1]);
        int last = 0, n;
        int stop_at = 300 + round * 250;
        while (last < stop_at && read(fds[0], &n, sizeof(n)) == (ssize_t)sizeof(n))
            last = n;
        kill(pid, SIGKILL);
        while (read(fds[0], &n, sizeof(n)) == (ssize_t)sizeof(n))
            last = n; /* reported before it died */
        close(fds[0]);
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFSIGNALED(st));
        assert_true(last >= stop_at);
        gb_db *db; /* recovers the WAL the child left */
        assert_int_equal(gb_db_open(file, &db), GB_OK);
        long long rows = plain_count(file, "SELECT count(*) FROM k");
        long long max = plain_count(file, "SELECT max(n) FROM k");
        assert_int_equal(intact(file), 1);
        gb_db_close(db);
        assert_true(max >= last);    /* every reported commit survived */
        assert_int_equal(rows, max); /* and none is missing below it */
    }
}

/* A commit whose WAL writes fail (the file may not grow: RLIMIT_FSIZE, as with a full disk)
 * fails, and leaves nothing: not its rows, not a damaged file; with room again the next commit
 * works. A buffer whose failed write went unreported would publish frames that are not in the
 * file. In a child, so the limit is not the test process's. */
static void test_failed_write_fails_the_commit(void **state)
{
    (void)state;
    char file[300], wal[320];
    snprintf(file, sizeof(file), "%s.full", path);
    snprintf(wal, sizeof(wal), "%s-wal", file);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG instead */
        gb_db *db;
        struct stat st;
        if (gb_db_open(file, &db) || gb_db_exec(db, "CREATE TABLE f (v TEXT)") ||
            stat(wal, &st) != 0)
            _exit(2);
        struct rlimit lim;
        getrlimit(RLIMIT_FSIZE, &lim);
        rlim_t was = lim.rlim_cur;
        lim.rlim_cur = (rlim_t)st.st_size + 2 * (24 + 4096); /* room for two frames */
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(3);
        if (gb_db_begin(db) ||
            gb_db_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                           " WHERE i < 40) INSERT INTO f(v) SELECT hex(randomblob(1500)) FROM n"))
            _exit(4);
        if (gb_db_commit(db) == GB_OK) _exit(5); /* told committed: it was not written */
        lim.rlim_cur = was;
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(6);
        if (gb_db_begin(db) || gb_db_exec(db, "INSERT INTO f(v) VALUES ('after')") ||
            gb_db_commit(db))
            _exit(7);
        gb_db_close(db);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(plain_count(file, "SELECT count(*) FROM f"), 1);
    assert_int_equal(plain_count(file, "SELECT count(*) FROM f WHERE v = 'after'"), 1);
    assert_int_equal(intact(file), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_is_one_write),
        cmocka_unit_test(test_rolled_back_spill_leaves_nothing_behind),
        cmocka_unit_test(test_kill_during_commits),
        cmocka_unit_test(test_failed_write_fails_the_commit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
