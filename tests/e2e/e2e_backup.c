/* e2e_backup.c: a long reader (as a backup is) holds the WAL, seen in the log and /metrics;
 * `gpubroker backup` taken while credits are being written restores (after the
 * daemon stops) to a database whose ledger equals its balances, with every credit committed
 * before the backup started and none after it ended; restore refuses a database a daemon has
 * open; the restored data dir serves again with the same keys; a database whose schema is
 * newer than the binary is refused at start with a clear message and left as it was. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "support_daemon.h"

static e2e_daemon D;
static const char *ENV[] = {"GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=1000000", NULL};
static char account_id[64];
static volatile int stop_load;
static volatile int credits_ok;

static int64_t one(gb_db *h, const char *sql)
{
    return e2e_db_int(h, sql, NULL, NULL, NULL);
}

static void *load(void *p)
{
    (void)p;
    char path[160];
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/%s/credit", account_id);
    while (!stop_load) {
        e2e_resp r;
        e2e_req(&D, "POST", path, D.admin_key, "{\"amount\":0.01,\"note\":\"load\"}", &r);
        if (r.status == 200) __atomic_add_fetch(&credits_ok, 1, __ATOMIC_SEQ_CST);
        e2e_resp_free(&r);
    }
    return NULL;
}

/* The number of 'load' credits in the daemon's database. */
static int64_t load_credits(void)
{
    gb_db *h = e2e_db_open(&D);
    int64_t n = one(h, "SELECT count(*) FROM ledger WHERE note = 'load'");
    gb_db_close(h);
    return n;
}

/* Skips the test on PostgreSQL, saying why. */
static void sqlite_only(const char *why)
{
    if (e2e_db_is_pg()) {
        print_message("skipped on PostgreSQL: %s\n", why);
        skip();
    }
}

/* account_id: the demo account's id. */
static void account_id_read(void)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(account_id, sizeof(account_id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
}

static void test_backup_under_load_restores(void **state)
{
    (void)state;
    /* by design: on PostgreSQL backup and restore point to pg_dump (test_postgresql_url) */
    sqlite_only("`gpubroker backup`/`restore` copy a SQLite file");
    e2e_resp r;
    account_id_read();
    char bk[400], dd[300];
    snprintf(bk, sizeof(bk), "%s/backup.db", D.dir);
    snprintf(dd, sizeof(dd), "GPUBROKER_STORAGE_DATA_DIR=%s", D.dir);
    const char *env[] = {dd, NULL};
    pthread_t th[3];
    stop_load = 0;
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, load, NULL);
    while (__atomic_load_n(&credits_ok, __ATOMIC_SEQ_CST) < 30)
        usleep(10000);
    int64_t before = load_credits();
    const char *backup[] = {"backup", bk, NULL};
    char *out = NULL, *err = NULL;
    int rc = e2e_cli(backup, env, NULL, &out, &err);
    if (rc != 0) fail_msg("backup: %d %s %s", rc, out, err);
    assert_non_null(strstr(out, "NOT in the backup")); /* the master key is not in it: said */
    free(out);
    free(err);
    int64_t after = load_credits();
    /* a second backup to the same path is refused without --force */
    assert_int_not_equal(e2e_cli(backup, env, NULL, &out, &err), 0);
    assert_non_null(strstr(err, "--force"));
    free(out);
    free(err);
    /* restore refuses while the daemon has the database open */
    const char *restore[] = {"restore", bk, NULL};
    assert_int_not_equal(e2e_cli(restore, env, NULL, &out, &err), 0);
    assert_non_null(strstr(err, "stop the daemon"));
    free(out);
    free(err);
    while (__atomic_load_n(&credits_ok, __ATOMIC_SEQ_CST) < (int)after + 20)
        usleep(10000); /* more credits after the backup: the restore must not have them */
    stop_load = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    int64_t final = load_credits();
    e2e_stop(&D);
    rc = e2e_cli(restore, env, NULL, &out, &err);
    if (rc != 0) fail_msg("restore: %d %s %s", rc, out, err);
    assert_non_null(strstr(out, "replaced-"));
    free(out);
    free(err);
    /* the restored database: intact, its ledger equal to its balances, one point in time
     * between the backup's start and end */
    gb_db *h = e2e_db_open(&D);
    assert_int_equal(
        one(h, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"), 0);
    assert_int_equal(one(h, "SELECT count(*) FROM ledger_balances b WHERE b.balance <> (SELECT "
                            "coalesce(sum(amount), 0) FROM ledger l WHERE l.account_id = "
                            "b.account_id)"),
                     0);
    int64_t restored = one(h, "SELECT count(*) FROM ledger WHERE note = 'load'");
    gb_db_close(h);
    if (restored < before || restored > after || restored >= final)
        fail_msg("restored %lld credits; before %lld, after %lld, final %lld", (long long)restored,
                 (long long)before, (long long)after, (long long) final);
    /* and it serves again: the same data dir, the demo account's balance as restored */
    e2e_start_sandbox(&D, D.dir, ENV);
    e2e_req(&D, "GET", "/api/volt/account/ledger?limit=1", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    assert_int_equal(load_credits(), restored);
}

/* Runs fill on writer (the test's own pages in the WAL), then a commit of the daemon's (a
 * credit through path); returns /metrics' WAL restarts and *refused its refused ones. */
static double pages_then_commit(gb_db *writer, const char *fill, const char *path, double *refused)
{
    assert_int_equal(gb_db_exec(writer, fill), GB_OK);
    e2e_resp r;
    e2e_req(&D, "POST", path, D.admin_key, "{\"amount\":1,\"note\":\"wal\"}", &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    *refused = e2e_metric(r.body, "gpubroker_db_wal_restarts_refused_total");
    double restarts = e2e_metric(r.body, "gpubroker_db_wal_restarts_total");
    e2e_resp_free(&r);
    return restarts;
}

/* A reader that keeps an old snapshot (a backup, a long export) refuses the restart of a WAL
 * past its limit (docs/store.md): the daemon says so in its log and in /metrics, and restarts
 * the WAL once the reader has ended. The pages come from a writer of the test's own, so the
 * limit is passed in one commit; the daemon's next commit (a credit) tries the restart. */
static void test_long_reader_holds_the_wal(void **state)
{
    (void)state;
    sqlite_only("the WAL and its restarts are SQLite's");
    account_id_read();
    char credit[160];
    snprintf(credit, sizeof(credit), "/api/volt/admin/accounts/%s/credit", account_id);
    gb_db *reader = e2e_db_open(&D), *writer = e2e_db_open(&D);
    assert_int_equal(gb_db_exec(writer, "PRAGMA wal_autocheckpoint=0;"
                                        " CREATE TABLE e2e_pages(b BLOB)"),
                     GB_OK);
    assert_int_equal(gb_db_exec(reader, "BEGIN"), GB_OK);
    assert_true(one(reader, "SELECT count(*) FROM ledger") >= 0); /* the snapshot, held */
    /* 4,500 pages of 4 KiB in one commit: past the WAL's limit (4,096 pages) */
    const char *fill = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
                       " WHERE i < 4500) INSERT INTO e2e_pages SELECT zeroblob(4000) FROM c";
    double refused = 0, restarts = pages_then_commit(writer, fill, credit, &refused);
    if (refused < 1 || restarts != 0)
        fail_msg("with the reader: %.0f restarts refused, %.0f done", refused, restarts);
    assert_int_equal(e2e_file_contains(D.log_path, "WAL restart refused"), 1);
    /* the reader ends; past the limit again, the next commit restarts the WAL */
    assert_int_equal(gb_db_exec(reader, "COMMIT"), GB_OK);
    restarts = pages_then_commit(writer, fill, credit, &refused);
    if (restarts < 1) fail_msg("after the reader: %.0f restarts", restarts);
    assert_int_equal(gb_db_exec(writer, "DROP TABLE e2e_pages"), GB_OK);
    gb_db_close(reader);
    gb_db_close(writer);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    e2e_stop(&D);
    gb_db *h = e2e_db_open(&D);
    assert_int_equal(gb_db_exec(h, "UPDATE schema_versions SET version = version + 1 WHERE "
                                   "module = 'ledger'"),
                     GB_OK);
    int64_t v = one(h, "SELECT version FROM schema_versions WHERE module = 'ledger'");
    gb_db_close(h);
    const char *args[] = {"sandbox", "--port", "0", "--data-dir", D.dir, NULL};
    char *out = NULL, *err = NULL, dbenv[1300];
    /* on PostgreSQL the daemon's database, which a CLI command without --config is not given */
    const char *env[] = {e2e_db_env(D.dir, dbenv, sizeof(dbenv)) ? dbenv : NULL, NULL};
    int rc = e2e_cli(args, env, NULL, &out, &err);
    assert_int_equal(rc, 14); /* its own exit code (gpubroker --help) */
    if (!strstr(err, "newer than this gpubroker")) fail_msg("stderr: %s", err);
    assert_non_null(strstr(err, "ledger"));
    free(out);
    free(err);
    h = e2e_db_open(&D);
    assert_int_equal(one(h, "SELECT version FROM schema_versions WHERE module = 'ledger'"), v);
    gb_db_close(h);
    /* no copy was made: nothing was about to change */
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -c before-upgrade", D.dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    assert_int_equal(n, 0);
}

/* A PostgreSQL database (docs/store.md): `backup` and `restore` point to pg_dump and
 * pg_restore and write nothing; a server that cannot be reached fails the start with the
 * URL's password hidden (here nothing listens on port 1). */
static void test_postgresql_url(void **state)
{
    (void)state;
    const char *env[] = {"GPUBROKER_STORAGE_DATABASE=postgresql://gb:s3cretpw@127.0.0.1:1/gb",
                         NULL};
    char dest[300];
    snprintf(dest, sizeof(dest), "%s/pg-backup.db", D.dir);
    const char *backup[] = {"backup", dest, NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(e2e_cli(backup, env, NULL, &out, &err), 2);
    if (!strstr(err, "pg_dump")) fail_msg("stderr: %s", err);
    assert_null(strstr(err, "s3cretpw"));
    assert_int_not_equal(access(dest, F_OK), 0);
    free(out);
    free(err);
    const char *restore[] = {"restore", dest, NULL};
    assert_int_equal(e2e_cli(restore, env, NULL, &out, &err), 2);
    assert_non_null(strstr(err, "pg_restore"));
    free(out);
    free(err);
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/pg-sandbox", D.dir);
    const char *sandbox[] = {"sandbox", "--port", "0", "--data-dir", dir, NULL};
    int rc = e2e_cli(sandbox, env, NULL, &out, &err);
    assert_int_not_equal(rc, 0);
    if (!strstr(err, "postgresql://gb:***@127.0.0.1:1/gb")) fail_msg("stderr: %s", err);
    if (strstr(err, "s3cretpw") || strstr(out, "s3cretpw")) fail_msg("password shown: %s", err);
    free(out);
    free(err);
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    e2e_start_sandbox(&D, NULL, ENV);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    gb_http_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_reader_holds_the_wal),
        cmocka_unit_test(test_backup_under_load_restores),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_postgresql_url),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
