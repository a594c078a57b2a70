/* ledger_store.c: the ledger table and its sums. */
#include <sqlite3.h>

#include "common/clock.h"
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
};

static const gb_migration_set SET = {
    .module = "ledger", .steps = STEPS, .count = sizeof(STEPS) / sizeof(STEPS[0])};

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

gb_err ledger_balance(gb_db *db, const char *account_id, gb_money *out)
{
    sqlite3_stmt *s = gb_db_stmt(
        db, "SELECT coalesce((SELECT balance FROM ledger_balances WHERE account_id = ?1), 0)");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, account_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    gb_err e = gb_db_check(db, rc, "ledger balance");
    if (!e) *out = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return e;
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
    gb_err e = ledger_balance(db, account_id, &bal);
    if (e) return e;
    if (bal < amount) return GB_ERR_LIMIT;
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO ledger(account_id, kind, amount, ref, note, "
                                     "created_at, pod_id, period_start, period_end) "
                                     "VALUES(?1, 'debit', ?2, ?3, ?4, ?5, ?3, ?6, ?5)");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, account_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, -amount);
    sqlite3_bind_text(s, 3, pod_id, -1, SQLITE_TRANSIENT);
    if (note) sqlite3_bind_text(s, 4, note, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, to_ms);
    sqlite3_bind_int64(s, 6, from_ms);
    e = gb_db_check(db, sqlite3_step(s), "ledger usage");
    sqlite3_reset(s);
    return e;
}

gb_err ledger_spent_since(gb_db *db, const char *account_id, int64_t since_ms, gb_money *out)
{
    sqlite3_stmt *s = gb_db_stmt(db, "SELECT coalesce(-sum(amount), 0) FROM ledger WHERE "
                                     "account_id = ?1 AND created_at >= ?2 AND kind <> 'credit'");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, account_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, since_ms);
    int rc = sqlite3_step(s);
    gb_err e = gb_db_check(db, rc, "ledger spent");
    if (!e) *out = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return e;
}

gb_err ledger_add(gb_db *db, const char *account_id, ledger_kind kind, gb_money amount,
                  const char *ref, const char *note)
{
    if (amount <= 0 || amount > GB_MONEY_MAX) return GB_ERR_INVALID;
    if (!gb_db_in_txn(db)) {
        GB_ERROR("ledger", "ledger_add outside a transaction");
        return GB_ERR_INTERNAL;
    }
    gb_money bal;
    gb_err e = ledger_balance(db, account_id, &bal);
    if (e) return e;
    if (kind == LEDGER_DEBIT && bal < amount) return GB_ERR_LIMIT;
    if (kind != LEDGER_DEBIT && bal > GB_MONEY_MAX - amount) return GB_ERR_LIMIT;
    sqlite3_stmt *s = gb_db_stmt(db, "INSERT INTO ledger(account_id, kind, amount, ref, note, "
                                     "created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (!s) return GB_ERR_DB;
    sqlite3_bind_text(s, 1, account_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, ledger_kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, kind == LEDGER_DEBIT ? -amount : amount);
    if (ref) sqlite3_bind_text(s, 4, ref, -1, SQLITE_TRANSIENT);
    if (note) sqlite3_bind_text(s, 5, note, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, gb_now_ms());
    e = gb_db_check(db, sqlite3_step(s), "ledger insert");
    sqlite3_reset(s);
    return e;
}
