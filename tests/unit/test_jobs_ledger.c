/* test_jobs_ledger.c: the ledger: balance is the sum of entries, debits never take it
 * below zero, entries only inside a transaction, signs enforced by the schema too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/db.h"
#include "jobs/ledger.h"

static gb_db *open_db(void)
{
    char tmpl[] = "/tmp/gb-ledger-XXXXXX", path[256];
    assert_non_null(mkdtemp(tmpl));
    snprintf(path, sizeof(path), "%s/l.db", tmpl);
    gb_db *db;
    assert_int_equal(gb_db_open(path, &db), GB_OK);
    assert_int_equal(gb_db_exec(db, "CREATE TABLE accounts (id TEXT PRIMARY KEY);"
                                    "INSERT INTO accounts VALUES ('a'), ('b')"),
                     GB_OK);
    assert_int_equal(gb_db_migrate(db, ledger_migrations(), 1), GB_OK);
    return db;
}

static gb_money bal(gb_db *db, const char *acct)
{
    gb_money m = -1;
    assert_int_equal(ledger_balance(db, acct, &m), GB_OK);
    return m;
}

static void add(gb_db *db, const char *acct, ledger_kind k, gb_money amt, gb_err want)
{
    assert_int_equal(gb_db_begin(db), GB_OK);
    gb_err e = ledger_add(db, acct, k, amt, "ref", NULL);
    assert_int_equal(e, want);
    if (e)
        gb_db_rollback(db);
    else
        assert_int_equal(gb_db_commit(db), GB_OK);
}

static void test_balance(void **state)
{
    (void)state;
    gb_db *db = open_db();
    assert_int_equal(bal(db, "a"), 0);
    add(db, "a", LEDGER_CREDIT, 100000000, GB_OK);
    add(db, "a", LEDGER_DEBIT, 55500000, GB_OK);
    assert_int_equal(bal(db, "a"), 44500000);
    add(db, "a", LEDGER_DEBIT, 44500001, GB_ERR_LIMIT); /* one micro-dollar too many */
    assert_int_equal(bal(db, "a"), 44500000);
    add(db, "a", LEDGER_REFUND, 55500000, GB_OK);
    assert_int_equal(bal(db, "a"), 100000000);
    add(db, "a", LEDGER_DEBIT, 100000000, GB_OK); /* down to exactly zero */
    assert_int_equal(bal(db, "a"), 0);
    assert_int_equal(bal(db, "b"), 0); /* accounts are separate */
    add(db, "a", LEDGER_CREDIT, 0, GB_ERR_INVALID);
    add(db, "a", LEDGER_CREDIT, -5, GB_ERR_INVALID);
    add(db, "nobody", LEDGER_CREDIT, 5, GB_ERR_CONFLICT); /* foreign key */
    /* outside a transaction nothing is written */
    assert_int_equal(ledger_add(db, "b", LEDGER_CREDIT, 5, NULL, NULL), GB_ERR_INTERNAL);
    assert_int_equal(bal(db, "b"), 0);
    /* the schema itself refuses a positive debit */
    assert_int_equal(gb_db_exec(db, "INSERT INTO ledger(account_id, kind, amount, created_at) "
                                    "VALUES ('b', 'debit', 5, 0)"),
                     GB_ERR_CONFLICT);
    /* the running balance the database keeps always equals the sum of the entries, and it
     * can never go negative, even through SQL written by hand */
    sqlite3 *h = gb_db_handle(db);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT (SELECT balance FROM ledger_balances WHERE "
                                        "account_id = 'a') = (SELECT sum(amount) FROM ledger "
                                        "WHERE account_id = 'a')",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    assert_int_equal(gb_db_exec(db, "INSERT INTO ledger(account_id, kind, amount, created_at) "
                                    "VALUES ('b', 'debit', -5, 0)"),
                     GB_ERR_CONFLICT);
    assert_int_equal(bal(db, "b"), 0);
    assert_int_not_equal(gb_db_exec(db, "UPDATE ledger SET amount = 1 WHERE account_id = 'a'"),
                         GB_OK);
    gb_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_balance)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
