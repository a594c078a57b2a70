/* ledger.h: the money ledger. Every change of an account's money is one entry (credit,
 * debit, refund) in integer micro-dollars; the balance is the sum of the entries and never
 * goes negative. */
#ifndef GB_LEDGER_H
#define GB_LEDGER_H

#include <stdint.h>

#include "common/db.h"
#include "common/money.h"

typedef enum { LEDGER_CREDIT, LEDGER_DEBIT, LEDGER_REFUND } ledger_kind;

const gb_migration_set *ledger_migrations(void);

/* Adds one entry of a positive amount inside the caller's write transaction: credits and
 * refunds add, debits subtract. A debit larger than the balance fails with GB_ERR_LIMIT and
 * writes nothing. ref names what caused it (e.g. a job id); note is free text for people. */
gb_err ledger_add(gb_db *db, const char *account_id, ledger_kind kind, gb_money amount,
                  const char *ref, const char *note);
/* A debit as the transaction's last change, sent with its COMMIT on PostgreSQL
 * (gb_q_defer_commit): the balance's row is locked (by the ledger's trigger) only within the
 * COMMIT's round trip, never while the server waits for this client, so the debits of one
 * account queue for a shorter time (docs/benchmarks.md). A debit larger than the balance
 * fails the balance's CHECK: on SQLite here (GB_ERR_LIMIT, nothing written), on PostgreSQL
 * in gb_db_commit (GB_ERR_CONFLICT, the whole transaction undone), which the caller must
 * take for this refusal: only for a transaction whose other changes cannot conflict at its
 * COMMIT. */
gb_err ledger_debit_at_commit(gb_db *db, const char *account_id, gb_money amount, const char *ref,
                              const char *note);
/* A refund as the transaction's last change, sent with its COMMIT on PostgreSQL like the
 * debit above, so a job's cancel or failure holds the account's balance only within the
 * COMMIT's round trip, never while the server waits for this broker. A refund gives back what
 * the debit of ref took, so unlike ledger_add it reads no balance to cap it at GB_MONEY_MAX
 * (the sum stays far inside int64). A second refund of ref fails the unique index: on SQLite
 * here, on PostgreSQL in gb_db_commit (GB_ERR_CONFLICT either way, nothing written). */
gb_err ledger_refund_at_commit(gb_db *db, const char *account_id, gb_money amount, const char *ref,
                               const char *note);
gb_err ledger_balance(gb_db *db, const char *account_id, gb_money *out);
/* A usage entry (a debit that names pod_id and the interval [from_ms, to_ms) of pod time it
 * pays for; created_at = to_ms) inside the caller's transaction. GB_ERR_LIMIT when amount is
 * above the balance, GB_ERR_CONFLICT when that pod's interval starting at from_ms is charged
 * already; nothing written then. */
gb_err ledger_add_usage(gb_db *db, const char *account_id, gb_money amount, const char *pod_id,
                        int64_t from_ms, int64_t to_ms, const char *note);
/* Locks the account's balance row until the caller's transaction ends (PostgreSQL; SQLite's
 * one writer needs none): a transaction that will charge usage and write pod meters takes it
 * before any meter row, so the metering round and a pod's stop or delete take them in one
 * order (the other order deadlocked). No row yet (a balance of 0) locks nothing. */
gb_err ledger_lock(gb_db *db, const char *account_id);
/* What the account spent since since_ms: its debits less its refunds (credits excluded). */
gb_err ledger_spent_since(gb_db *db, const char *account_id, int64_t since_ms, gb_money *out);
const char *ledger_kind_name(ledger_kind k);

#endif
