/* billing.h: the money guards in front of every pod that starts to cost: the monthly budget,
 * the balance for metering.min_run_minutes of the pod, and the hourly spend limit. Pods of
 * fine-tuning jobs are paid by the job and pass. */
#ifndef GB_BILLING_H
#define GB_BILLING_H

#include <stdbool.h>

#include "broker/core/app.h"
#include "common/money.h"

typedef struct {
    const char *code; /* BUDGET | INSUFFICIENT_BALANCE | SPEND_LIMIT (static) */
    char message[320];
} billing_refusal;

/* GB_ERR_PAYMENT with why filled when the account may not take on a pod of provider at price
 * per hour (its margin added); committed: the price is not yet part of the account's
 * committed cost (a create, or a start of a stopped pod). Run it inside the transaction that
 * records the pod, so concurrent requests cannot pass together. */
gb_err billing_admit(app *a, gb_db *db, const char *account_id, const char *provider,
                     gb_money price, billing_refusal *why);

/* The first instant of the calendar month (UTC) holding now_ms, and its "YYYY-MM". */
int64_t billing_month_start(int64_t now_ms, char month[8]);

#endif
