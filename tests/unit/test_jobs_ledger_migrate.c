/* test_jobs_ledger_migrate.c: migrations with data. For every older schema version of the
 * ledger (0 .. latest-1) a database is built with only the first K steps, filled with accounts
 * and entries as that version allowed, then migrated to the latest version; the kept balances
 * must equal the sum of the entries (also after new entries), and an UPDATE or a DELETE of an
 * entry must be refused by the ledger's own triggers (their RAISE message, not a CHECK, a
 * foreign key or any other failure). */
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
#include "jobs/ledger.h"

#define NO_UPDATE_MSG "ledger entries are never changed"
#define NO_DELETE_MSG "ledger entries are never deleted"

/* What every filled database holds, in micro-dollars: a = 100 - 30 + 5 + 7, b = 50 - 50. */
static const char FILL_SQL[] =
    "INSERT INTO ledger(account_id, kind, amount, ref, note, created_at) VALUES"
    " ('acct_a', 'credit', 100000000, NULL, 'opening credit', 1000),"
    " ('acct_a', 'debit', -30000000, 'ftj_1', 'job', 2000),"
    " ('acct_a', 'refund', 5000000, 'ftj_1', 'refund', 3000),"
    " ('acct_a', 'credit', 7000000, NULL, 'top-up', 4000),"
    " ('acct_b', 'credit', 50000000, NULL, 'opening credit', 1500),"
    " ('acct_b', 'debit', -50000000, 'ftj_2', 'job', 2500)";
static const struct {
    const char *id;
    gb_money balance;
} WANT[] = {{"acct_a", 82000000}, {"acct_b", 0}, {"acct_c", 0}};

static char g_dir[64], g_path[128];

static gb_db *open_fresh(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/gb-ledger-mig-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    snprintf(g_path, sizeof(g_path), "%s/l.db", g_dir);
    gb_db *db;
    assert_int_equal(gb_db_open(g_path, &db), GB_OK);
    assert_int_equal(gb_db_exec(db, "CREATE TABLE accounts (id TEXT PRIMARY KEY);"
                                    "INSERT INTO accounts VALUES ('acct_a'), ('acct_b'), "
                                    "('acct_c')"),
                     GB_OK);
    return db;
}

static void done(gb_db *db)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char f[160];
    gb_db_close(db);
    for (size_t i = 0; i < 3; i++) {
        snprintf(f, sizeof(f), "%s%s", g_path, suffixes[i]);
        unlink(f);
    }
    rmdir(g_dir);
}

static int64_t q(gb_db *db, const char *sql, const char *arg)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(gb_db_handle(db), sql, -1, &s, NULL), SQLITE_OK);
    if (arg) sqlite3_bind_text(s, 1, arg, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Every account's kept balance equals the sum of its entries and the expected figure. */
static void check_balances(gb_db *db, gb_money extra_a)
{
    for (size_t i = 0; i < sizeof(WANT) / sizeof(WANT[0]); i++) {
        gb_money kept = -1;
        assert_int_equal(ledger_balance(db, WANT[i].id, &kept), GB_OK);
        int64_t sum =
            q(db, "SELECT coalesce(sum(amount), 0) FROM ledger WHERE account_id = ?1", WANT[i].id);
        gb_money want = WANT[i].balance + (i == 0 ? extra_a : 0);
        if (kept != sum || kept != want)
            fail_msg("%s: kept balance %lld, sum of entries %lld, expected %lld", WANT[i].id,
                     (long long)kept, (long long)sum, (long long)want);
    }
}

/* Runs sql directly and requires the ledger's trigger to refuse it with want_msg. */
static void refused_by_trigger(gb_db *db, const char *sql, const char *want_msg)
{
    sqlite3 *h = gb_db_handle(db);
    char *msg = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK) fail_msg("'%s' was not refused", sql);
    int ext = sqlite3_extended_errcode(h);
    if (ext != SQLITE_CONSTRAINT_TRIGGER || !msg || strcmp(msg, want_msg) != 0)
        fail_msg("'%s' refused with code %d '%s', want the trigger's '%s'", sql, ext,
                 msg ? msg : "", want_msg);
    sqlite3_free(msg);
}

static void check_immutable(gb_db *db)
{
    int64_t rows = q(db, "SELECT count(*) FROM ledger", NULL);
    int64_t digest = q(db, "SELECT sum(id * 7 + amount) FROM ledger", NULL);
    assert_true(rows > 0); /* the statements below must reach a row to fire a trigger */
    /* changes that every CHECK and foreign key would allow: only the trigger stands */
    refused_by_trigger(db, "UPDATE ledger SET note = 'edited' WHERE account_id = 'acct_a'",
                       NO_UPDATE_MSG);
    refused_by_trigger(db, "UPDATE ledger SET amount = amount + 1 WHERE kind = 'credit'",
                       NO_UPDATE_MSG);
    refused_by_trigger(db, "DELETE FROM ledger WHERE kind = 'debit'", NO_DELETE_MSG);
    refused_by_trigger(db, "DELETE FROM ledger", NO_DELETE_MSG);
    assert_int_equal(q(db, "SELECT count(*) FROM ledger", NULL), rows);
    assert_int_equal(q(db, "SELECT sum(id * 7 + amount) FROM ledger", NULL), digest);
}

static void add(gb_db *db, const char *acct, ledger_kind k, gb_money amt)
{
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(ledger_add(db, acct, k, amt, NULL, "after migration"), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
}

static void test_every_older_version(void **state)
{
    (void)state;
    const gb_migration_set *full = ledger_migrations();
    int latest = (int)full->count;
    assert_true(latest >= 4); /* the no-delete trigger is step 4 */
    for (int k = 0; k < latest; k++) {
        gb_db *db = open_fresh();
        if (k > 0) {
            gb_migration_set old = {
                .module = full->module, .steps = full->steps, .count = (size_t)k};
            assert_int_equal(gb_db_migrate(db, &old, 1), GB_OK);
        }
        if (k > 0) {
            assert_int_equal(gb_db_version(db, "ledger"), k);
            assert_int_equal(gb_db_exec(db, FILL_SQL), GB_OK);
        }

        assert_int_equal(gb_db_migrate(db, full, 1), GB_OK);
        assert_int_equal(gb_db_version(db, "ledger"), latest);
        /* step 6: only the longer of the two account indexes is kept up */
        assert_int_equal(q(db,
                           "SELECT count(*) FROM pragma_index_list('ledger')"
                           " WHERE name IN ('ledger_account', 'ledger_account_time')",
                           NULL),
                         1);
        if (k > 0) {
            check_balances(db, 0);
        } else { /* nothing could be written before the table existed */
            assert_int_equal(q(db, "SELECT count(*) FROM ledger", NULL), 0);
            assert_int_equal(gb_db_exec(db, FILL_SQL), GB_OK);
            check_balances(db, 0);
        }
        /* the migrated database keeps the balance running */
        add(db, "acct_a", LEDGER_DEBIT, 2000000);
        add(db, "acct_c", LEDGER_CREDIT, 1);
        add(db, "acct_c", LEDGER_DEBIT, 1);
        check_balances(db, -2000000);
        check_immutable(db);
        check_balances(db, -2000000);
        done(db);
    }
}

/* The migration must not depend on the order entries were written in, nor on an account
 * having many: a long history of small entries is summed exactly. */
static void test_long_history(void **state)
{
    (void)state;
    const gb_migration_set *full = ledger_migrations();
    gb_db *db = open_fresh();
    gb_migration_set v1 = {.module = full->module, .steps = full->steps, .count = 1};
    assert_int_equal(gb_db_migrate(db, &v1, 1), GB_OK);
    assert_int_equal(gb_db_begin(db), GB_OK);
    for (int i = 1; i <= 500; i++) {
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO ledger(account_id, kind, amount, created_at) VALUES "
                 "('acct_c', '%s', %d, %d)",
                 i % 3 ? "credit" : "debit", i % 3 ? i * 3 : -i, i);
        assert_int_equal(gb_db_exec(db, sql), GB_OK);
    }
    assert_int_equal(gb_db_commit(db), GB_OK);
    int64_t sum = q(db, "SELECT sum(amount) FROM ledger", NULL);
    assert_true(sum > 0);
    assert_int_equal(gb_db_migrate(db, full, 1), GB_OK);
    gb_money kept = -1;
    assert_int_equal(ledger_balance(db, "acct_c", &kept), GB_OK);
    assert_int_equal(kept, sum);
    done(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_older_version),
                                       cmocka_unit_test(test_long_history)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
