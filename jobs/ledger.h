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
gb_err ledger_balance(gb_db *db, const char *account_id, gb_money *out);
const char *ledger_kind_name(ledger_kind k);

#endif
