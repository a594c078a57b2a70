/* test_jobs_ledger.c: the ledger on both backends (test_db_util.h): balance is the sum of
 * entries, debits never take it below zero (also from two connections debiting at once, each
 * debit its own transaction), entries only inside a transaction, signs enforced by the schema
 * too, a pod's interval charged once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/db.h"
#include "common/dbq.h"
#include "jobs/ledger.h"
#include "test_db_util.h"

static const char *g_url;

static gb_db *open_db(void)
{
    g_url = tdb_fresh_url();
    gb_db *db = tdb_open(g_url);
    assert_non_null(db);
    assert_int_equal(gb_db_exec(db, "CREATE TABLE accounts (id TEXT PRIMARY KEY);"
                                    "INSERT INTO accounts VALUES ('a'), ('b')"),
                     GB_OK);
    assert_int_equal(gb_db_migrate(db, ledger_migrations(), 1), GB_OK);
    return db;
}

/* The first column of sql's first row as an integer (-1 for no row). */
static int64_t q(gb_db *db, const char *sql)
{
    gb_q *s = gb_q_prep(db, sql);
    assert_non_null(s);
    int row = 0;
    assert_int_equal(gb_q_step(s, &row), GB_OK);
    int64_t v = row ? gb_q_col_int64(s, 0) : -1;
    gb_q_reset(s);
    return v;
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
    assert_int_equal(q(db, "SELECT CASE WHEN (SELECT balance FROM ledger_balances WHERE"
                           " account_id = 'a') = (SELECT SUM(amount) FROM ledger"
                           " WHERE account_id = 'a') THEN 1 ELSE 0 END"),
                     1);
    assert_int_equal(gb_db_exec(db, "INSERT INTO ledger(account_id, kind, amount, created_at) "
                                    "VALUES ('b', 'debit', -5, 0)"),
                     GB_ERR_CONFLICT);
    assert_int_equal(bal(db, "b"), 0);
    assert_int_equal(gb_db_exec(db, "UPDATE ledger SET amount = 1 WHERE account_id = 'a'"),
                     GB_ERR_CONFLICT);
    assert_int_equal(gb_db_exec(db, "DELETE FROM ledger WHERE account_id = 'a'"), GB_ERR_CONFLICT);
    assert_int_equal(bal(db, "a"), 0);
    assert_int_equal(q(db, "SELECT count(*) FROM ledger WHERE account_id = 'a'"), 4);
    gb_db_close(db);
}

/* Usage entries: a pod's interval is charged once; the duplicate is refused without ending
 * the transaction (on PostgreSQL a failed statement would), so what else it wrote stays. */
static void test_usage(void **state)
{
    (void)state;
    gb_db *db = open_db();
    add(db, "a", LEDGER_CREDIT, 1000, GB_OK);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(ledger_add_usage(db, "a", 300, "pod_1", 0, 60000, "pod usage"), GB_OK);
    assert_int_equal(ledger_add_usage(db, "a", 300, "pod_1", 0, 90000, "pod usage"),
                     GB_ERR_CONFLICT);
    assert_int_equal(ledger_add_usage(db, "a", 800, "pod_1", 60000, 90000, NULL), GB_ERR_LIMIT);
    assert_int_equal(ledger_add_usage(db, "a", 200, "pod_1", 60000, 90000, NULL), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(bal(db, "a"), 500);
    gb_money spent = -1;
    assert_int_equal(ledger_spent_since(db, "a", 0, &spent), GB_OK);
    assert_int_equal(spent, 500);
    assert_int_equal(ledger_spent_since(db, "a", 70000, &spent), GB_OK);
    assert_int_equal(spent, 200);
    /* an entry counts from its own millisecond on (entries are dated at their interval's end) */
    assert_int_equal(ledger_spent_since(db, "a", 60000, &spent), GB_OK);
    assert_int_equal(spent, 500);
    assert_int_equal(ledger_spent_since(db, "a", 60001, &spent), GB_OK);
    assert_int_equal(spent, 200);
    assert_int_equal(ledger_spent_since(db, "a", 90000, &spent), GB_OK);
    assert_int_equal(spent, 200);
    assert_int_equal(ledger_spent_since(db, "a", 90001, &spent), GB_OK);
    assert_int_equal(spent, 0);
    assert_int_equal(ledger_spent_since(db, "b", 0, &spent), GB_OK);
    assert_int_equal(spent, 0);
    add(db, "a", LEDGER_REFUND, 100, GB_OK);
    assert_int_equal(ledger_spent_since(db, "a", 0, &spent), GB_OK);
    assert_int_equal(spent, 400);
    assert_int_equal(ledger_add_usage(db, "a", 1, "pod_1", 0, 1, NULL), GB_ERR_INTERNAL);
    gb_db_close(db);
}

/* The limits of an entry, each at its edge: a usage entry's amount, pod and interval; a
 * credit that would take the balance past GB_MONEY_MAX; zero amounts refused by the schema
 * too. Nothing refused is written. */
static void test_limits(void **state)
{
    (void)state;
    gb_db *db = open_db();
    add(db, "a", LEDGER_CREDIT, 1000, GB_OK);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(ledger_add_usage(db, "a", 0, "pod_1", 0, 1, NULL), GB_ERR_INVALID);
    assert_int_equal(ledger_add_usage(db, "a", -1, "pod_1", 0, 1, NULL), GB_ERR_INVALID);
    assert_int_equal(ledger_add_usage(db, "a", GB_MONEY_MAX + 1, "pod_1", 0, 1, NULL),
                     GB_ERR_INVALID);
    assert_int_equal(ledger_add_usage(db, "a", 1, NULL, 0, 1, NULL), GB_ERR_INVALID);
    assert_int_equal(ledger_add_usage(db, "a", 1, "pod_1", 2, 1, NULL), GB_ERR_INVALID);
    /* an empty interval is one (a round at the same millisecond), and a whole balance */
    assert_int_equal(ledger_add_usage(db, "a", 999, "pod_1", 5, 5, NULL), GB_OK);
    assert_int_equal(ledger_add_usage(db, "a", 2, "pod_1", 6, 7, NULL), GB_ERR_LIMIT);
    assert_int_equal(ledger_add_usage(db, "a", 1, "pod_1", 6, 7, NULL), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(bal(db, "a"), 0);
    assert_int_equal(q(db, "SELECT count(*) FROM ledger WHERE account_id = 'a'"), 3);
    /* credits up to GB_MONEY_MAX exactly, not a micro-dollar past it */
    add(db, "b", LEDGER_CREDIT, GB_MONEY_MAX, GB_OK);
    add(db, "b", LEDGER_CREDIT, GB_MONEY_MAX + 1, GB_ERR_INVALID);
    add(db, "b", LEDGER_CREDIT, 1, GB_ERR_LIMIT);
    add(db, "b", LEDGER_DEBIT, 10, GB_OK);
    add(db, "b", LEDGER_REFUND, 11, GB_ERR_LIMIT);
    add(db, "b", LEDGER_REFUND, 10, GB_OK);
    assert_int_equal(bal(db, "b"), GB_MONEY_MAX);
    assert_int_equal(gb_db_begin(db), GB_OK); /* and a usage entry of all of it */
    assert_int_equal(ledger_add_usage(db, "b", GB_MONEY_MAX, "pod_2", 0, 1, NULL), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(bal(db, "b"), 0);
    assert_int_equal(q(db, "SELECT count(*) FROM ledger WHERE account_id = 'b'"), 4);
    /* the schema refuses zero amounts of either sign's kinds */
    assert_int_equal(gb_db_exec(db, "INSERT INTO ledger(account_id, kind, amount, created_at) "
                                    "VALUES ('a', 'debit', 0, 0)"),
                     GB_ERR_CONFLICT);
    assert_int_equal(gb_db_exec(db, "INSERT INTO ledger(account_id, kind, amount, created_at) "
                                    "VALUES ('a', 'credit', 0, 0)"),
                     GB_ERR_CONFLICT);
    assert_int_equal(q(db, "SELECT count(*) FROM ledger WHERE account_id = 'a'"), 3);
    gb_db_close(db);
}

#define DEBITS 600

typedef struct {
    pthread_barrier_t *go;
    int ok, limit, bad;
} debtor;

/* One connection (a broker) debiting 1 at a time, each debit its own transaction. */
static void *debit_loop(void *arg)
{
    debtor *d = arg;
    gb_db *db = tdb_open(g_url);
    if (!db) {
        d->bad = DEBITS;
        pthread_barrier_wait(d->go);
        return NULL;
    }
    pthread_barrier_wait(d->go);
    for (int i = 0; i < DEBITS; i++) {
        gb_err e = gb_db_begin(db);
        if (!e) e = ledger_add(db, "a", LEDGER_DEBIT, 1, NULL, "race");
        if (!e) e = gb_db_commit(db);
        if (e) gb_db_rollback(db);
        if (e == GB_OK)
            d->ok++;
        else if (e == GB_ERR_LIMIT)
            d->limit++;
        else
            d->bad++;
    }
    gb_db_close(db);
    return NULL;
}

/* Two connections debit one account at once, more than it holds: exactly the balance is
 * spent, every other debit is refused as over the limit (not as a failed statement: the
 * balance read waits for the other's debit), and the balance never goes below zero. */
static void test_concurrent_debits(void **state)
{
    (void)state;
    gb_db *db = open_db();
    const gb_money credit = DEBITS + DEBITS / 2; /* 2 x DEBITS tries, 1.5 x DEBITS money */
    add(db, "a", LEDGER_CREDIT, credit, GB_OK);
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
    debtor d[2] = {{.go = &go}, {.go = &go}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, debit_loop, &d[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    print_message("debits: %d+%d done, %d+%d over the limit\n", d[0].ok, d[1].ok, d[0].limit,
                  d[1].limit);
    assert_int_equal(d[0].bad + d[1].bad, 0);
    assert_int_equal(d[0].ok + d[1].ok, credit);
    assert_int_equal(d[0].limit + d[1].limit, 2 * DEBITS - credit);
    assert_true(d[0].ok > 0 && d[1].ok > 0); /* both took part */
    assert_int_equal(bal(db, "a"), 0);
    assert_int_equal(q(db, "SELECT CAST(SUM(amount) AS BIGINT) FROM ledger WHERE account_id = 'a'"),
                     0);
    assert_int_equal(q(db, "SELECT count(*) FROM ledger_balances WHERE balance < 0"), 0);
    gb_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_balance),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_concurrent_debits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
