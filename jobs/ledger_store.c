/* ledger_store.c: the ledger table and its sums. */
#include "common/clock.h"
#include "common/dbq.h"
#include "common/log.h"
#include "jobs/ledger.h"

static const gb_migration STEPS[] = {
    {1, "CREATE TABLE ledger ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        " kind TEXT NOT NULL CHECK (kind IN ('credit','debit','refund')),"
        " amount INTEGER NOT NULL CHECK ((kind = 'debit' AND amount < 0) OR"
        "                                (kind <> 'debit' AND amount > 0)),"
        " ref TEXT, note TEXT, created_at INTEGER NOT NULL);"
        "CREATE INDEX ledger_account ON ledger(account_id);"},
    /* Whatever the code does, one thing (a fine-tuning job, say) is refunded at most once. */
    {2, "CREATE UNIQUE INDEX ledger_one_refund ON ledger(ref) WHERE kind = 'refund'"},
    /* The balance, kept by the database itself as the running sum of the ledger (a trigger on
     * every entry), so reading it does not scan an account's whole history; the CHECK makes
     * a negative balance impossible even for SQL written by hand. */
    {3, "CREATE TABLE ledger_balances ("
        " account_id TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0));"
        "INSERT INTO ledger_balances(account_id, balance)"
        " SELECT account_id, sum(amount) FROM ledger GROUP BY account_id;"
        "CREATE TRIGGER ledger_balance_keep AFTER INSERT ON ledger BEGIN"
        " INSERT INTO ledger_balances(account_id, balance) SELECT NEW.account_id, 0"
        "  WHERE NOT EXISTS (SELECT 1 FROM ledger_balances WHERE account_id = NEW.account_id);"
        " UPDATE ledger_balances SET balance = balance + NEW.amount"
        "  WHERE account_id = NEW.account_id;"
        " END;"
        "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN"
        " SELECT RAISE(ABORT, 'ledger entries are never changed'); END;"},
    /* Nor removed: a deleted entry would leave the kept balance out of step with the sum of
     * the entries, and money history is never rewritten. (Accounts are never deleted, so the
     * foreign key's ON DELETE CASCADE never needs to run.) */
    {4, "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN"
        " SELECT RAISE(ABORT, 'ledger entries are never deleted'); END;"},
    /* Pod time (broker/core/meter.h): a usage entry is a debit that names its pod and the
     * interval [period_start, period_end) it pays for; one entry per pod and interval start,
     * so a metering round replayed after a crash cannot charge an interval twice. */
    {5, "ALTER TABLE ledger ADD COLUMN pod_id TEXT;"
        "ALTER TABLE ledger ADD COLUMN period_start INTEGER;"
        "ALTER TABLE ledger ADD COLUMN period_end INTEGER;"
        "CREATE UNIQUE INDEX ledger_pod_period ON ledger(pod_id, period_start)"
        " WHERE pod_id IS NOT NULL;"
        "CREATE INDEX ledger_account_time ON ledger(account_id, created_at);"},
    /* ledger_account (account_id) is a prefix of ledger_account_time: every entry paid for
     * the upkeep of both, and each job's debit wrote one more page to the WAL in the commit
     * (docs/benchmarks.md). Queries by account use the longer one. */
    {6, "DROP INDEX ledger_account"},
};

/* PostgreSQL's steps where the translation of STEPS cannot say it: the triggers, as plpgsql
 * functions. The kept balance is one upsert per entry (two brokers inserting an account's
 * first entries at once cannot both create its row), and a negative balance raises SQLSTATE
 * 23514 (check_violation, GB_ERR_CONFLICT like SQLite's RAISE(ABORT)) besides the CHECK. */
static const gb_migration PG_STEPS[] = {
    {3, "CREATE TABLE ledger_balances ("
        " account_id TEXT PRIMARY KEY, balance BIGINT NOT NULL CHECK (balance >= 0));"
        "INSERT INTO ledger_balances(account_id, balance)"
        " SELECT account_id, sum(amount) FROM ledger GROUP BY account_id;"
        "CREATE FUNCTION ledger_balance_keep() RETURNS trigger LANGUAGE plpgsql AS $$"
        " DECLARE b BIGINT; BEGIN"
        " INSERT INTO ledger_balances(account_id, balance) VALUES (NEW.account_id, 0)"
        "  ON CONFLICT (account_id) DO NOTHING;"
        " UPDATE ledger_balances SET balance = balance + NEW.amount"
        "  WHERE account_id = NEW.account_id RETURNING balance INTO b;"
        " IF b < 0 THEN RAISE EXCEPTION 'ledger balance of % would go negative', NEW.account_id"
        "  USING ERRCODE = '23514'; END IF;"
        " RETURN NULL; END $$;"
        "CREATE TRIGGER ledger_balance_keep AFTER INSERT ON ledger"
        " FOR EACH ROW EXECUTE FUNCTION ledger_balance_keep();"
        "CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = '23000'; END $$;"
        "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger FOR EACH ROW"
        " EXECUTE FUNCTION ledger_immutable('ledger entries are never changed');"},
    {4, "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger FOR EACH ROW"
        " EXECUTE FUNCTION ledger_immutable('ledger entries are never deleted');"},
};

static const gb_migration_set SET = {.module = "ledger",
                                     .steps = STEPS,
                                     .count = sizeof(STEPS) / sizeof(STEPS[0]),
                                     .pg_steps = PG_STEPS,
                                     .pg_count = sizeof(PG_STEPS) / sizeof(PG_STEPS[0])};

const gb_migration_set *ledger_migrations(void)
{
    return &SET;
}

const char *ledger_kind_name(ledger_kind k)
{
    switch (k) {
    case LEDGER_CREDIT:
        return "credit";
    case LEDGER_DEBIT:
        return "debit";
    case LEDGER_REFUND:
        return "refund";
    }
    return "?";
}

/* The first integer column of q's first row (0 for none), q reset. */
static gb_err one_int64(gb_q *q, int64_t *out)
{
    int row = 0;
    gb_err e = gb_q_step(q, &row);
    if (!e) *out = row ? gb_q_col_int64(q, 0) : 0;
    gb_q_reset(q);
    return e;
}

gb_err ledger_balance(gb_db *db, const char *account_id, gb_money *out)
{
    gb_q *q = gb_q_prep(
        db, "SELECT COALESCE((SELECT balance FROM ledger_balances WHERE account_id = ?1), 0)");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    return one_int64(q, out);
}

/* The balance read before an entry is added, in the caller's transaction: on PostgreSQL the
 * balance row stays locked until it ends, so two brokers' debits check one after the other
 * (without the lock the second would fail in the trigger, GB_ERR_CONFLICT instead of
 * GB_ERR_LIMIT). No row yet is a balance of 0 (its first entry creates it). */
static gb_err balance_locked(gb_db *db, const char *account_id, gb_money *out)
{
    gb_q *q = gb_q_prep(db, "SELECT balance FROM ledger_balances WHERE account_id = ?1"
                            " FOR UPDATE");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    return one_int64(q, out);
}

gb_err ledger_lock(gb_db *db, const char *account_id)
{
    gb_money bal = 0;
    return balance_locked(db, account_id, &bal);
}

gb_err ledger_add_usage(gb_db *db, const char *account_id, gb_money amount, const char *pod_id,
                        int64_t from_ms, int64_t to_ms, const char *note)
{
    if (amount <= 0 || amount > GB_MONEY_MAX || !pod_id || from_ms > to_ms) return GB_ERR_INVALID;
    if (!gb_db_in_txn(db)) {
        GB_ERROR("ledger", "ledger_add_usage outside a transaction");
        return GB_ERR_INTERNAL;
    }
    gb_money bal;
    gb_err e = balance_locked(db, account_id, &bal);
    if (e) return e;
    if (bal < amount) return GB_ERR_LIMIT;
    /* an interval charged already is no error of the statement: on PostgreSQL that would end
     * the caller's transaction */
    gb_q *q = gb_q_prep(db, "INSERT INTO ledger(account_id, kind, amount, ref, note, "
                            "created_at, pod_id, period_start, period_end) "
                            "VALUES(?1, 'debit', ?2, ?3, ?4, ?5, ?3, ?6, ?5)"
                            " ON CONFLICT DO NOTHING");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    gb_q_int64(q, 2, -amount);
    gb_q_text(q, 3, pod_id);
    gb_q_text(q, 4, note);
    gb_q_int64(q, 5, to_ms);
    gb_q_int64(q, 6, from_ms);
    int64_t n = 0;
    e = gb_q_run(q, &n);
    if (!e && n == 0) e = GB_ERR_CONFLICT;
    return e;
}

gb_err ledger_spent_since(gb_db *db, const char *account_id, int64_t since_ms, gb_money *out)
{
    /* PostgreSQL's sum of BIGINT is NUMERIC: cast back */
    gb_q *q = gb_q_prep(db, "SELECT COALESCE(-CAST(SUM(amount) AS BIGINT), 0) FROM ledger WHERE "
                            "account_id = ?1 AND created_at >= ?2 AND kind <> 'credit'");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    gb_q_int64(q, 2, since_ms);
    return one_int64(q, out);
}

/* An entry's values as ?1-?5: the account, the signed amount, ref, note and the time. */
static void bind_entry(gb_q *q, const char *account_id, gb_money signed_amount, const char *ref,
                       const char *note)
{
    gb_q_text(q, 1, account_id);
    gb_q_int64(q, 2, signed_amount);
    gb_q_text(q, 3, ref);
    gb_q_text(q, 4, note);
    gb_q_int64(q, 5, gb_now_ms());
}

/* A debit in one statement: the balance's row read, locked and checked by the INSERT's own
 * SELECT (no row is a balance of 0), then debited by the trigger. Two statements, a locking
 * read and then the INSERT, kept the row locked on PostgreSQL one round trip longer, and every
 * debit of the account waited for it (docs/benchmarks.md). Under READ COMMITTED a debit that
 * waited for the lock checks the balance as the other left it. */
static gb_err debit(gb_db *db, const char *account_id, gb_money amount, const char *ref,
                    const char *note)
{
    gb_q *q = gb_q_prep(db, "INSERT INTO ledger(account_id, kind, amount, ref, note, created_at)"
                            " SELECT account_id, 'debit', ?2, ?3, ?4, ?5 FROM ledger_balances"
                            " WHERE account_id = ?1 AND balance >= ?6 FOR UPDATE");
    if (!q) return GB_ERR_DB;
    bind_entry(q, account_id, -amount, ref, note);
    gb_q_int64(q, 6, amount);
    int64_t n = 0;
    gb_err e = gb_q_run(q, &n);
    return e ? e : n == 1 ? GB_OK : GB_ERR_LIMIT;
}

/* An entry as the transaction's last change, sent with its COMMIT on PostgreSQL
 * (gb_q_defer_commit; SQLite runs it now): no balance read, the trigger adds it to the kept
 * balance, whose row is locked only within the COMMIT's round trip. */
static gb_err add_at_commit(gb_db *db, const char *account_id, ledger_kind kind, gb_money amount,
                            const char *ref, const char *note)
{
    if (amount <= 0 || amount > GB_MONEY_MAX) return GB_ERR_INVALID;
    if (!gb_db_in_txn(db)) {
        GB_ERROR("ledger", "a ledger entry at the commit outside a transaction");
        return GB_ERR_INTERNAL;
    }
    gb_q *q = gb_q_prep(db, "INSERT INTO ledger(account_id, kind, amount, ref, note, created_at)"
                            " VALUES(?1, ?6, ?2, ?3, ?4, ?5)");
    if (!q) return GB_ERR_DB;
    bind_entry(q, account_id, kind == LEDGER_DEBIT ? -amount : amount, ref, note);
    gb_q_text(q, 6, ledger_kind_name(kind));
    return gb_q_defer_commit(q);
}

gb_err ledger_debit_at_commit(gb_db *db, const char *account_id, gb_money amount, const char *ref,
                              const char *note)
{
    /* ledger_balances' CHECK (balance >= 0) refuses a debit past the balance (an account
     * without a row starts from 0): on SQLite now */
    gb_err e = add_at_commit(db, account_id, LEDGER_DEBIT, amount, ref, note);
    return e == GB_ERR_CONFLICT ? GB_ERR_LIMIT : e;
}

gb_err ledger_refund_at_commit(gb_db *db, const char *account_id, gb_money amount, const char *ref,
                               const char *note)
{
    return add_at_commit(db, account_id, LEDGER_REFUND, amount, ref, note);
}

gb_err ledger_add(gb_db *db, const char *account_id, ledger_kind kind, gb_money amount,
                  const char *ref, const char *note)
{
    if (amount <= 0 || amount > GB_MONEY_MAX) return GB_ERR_INVALID;
    if (!gb_db_in_txn(db)) {
        GB_ERROR("ledger", "ledger_add outside a transaction");
        return GB_ERR_INTERNAL;
    }
    if (kind == LEDGER_DEBIT) return debit(db, account_id, amount, ref, note);
    /* a credit or a refund: positive, and the balance must not pass GB_MONEY_MAX */
    gb_money bal;
    gb_err e = balance_locked(db, account_id, &bal);
    if (e) return e;
    if (bal > GB_MONEY_MAX - amount) return GB_ERR_LIMIT;
    gb_q *q = gb_q_prep(db, "INSERT INTO ledger(account_id, kind, amount, ref, note, "
                            "created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (!q) return GB_ERR_DB;
    gb_q_text(q, 1, account_id);
    gb_q_text(q, 2, ledger_kind_name(kind));
    gb_q_int64(q, 3, amount);
    gb_q_text(q, 4, ref);
    gb_q_text(q, 5, note);
    gb_q_int64(q, 6, gb_now_ms());
    return gb_q_run(q, NULL);
}
