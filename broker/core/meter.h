/* meter.h: pod time as money. Each pod (not a fine-tuning job's: the job's price pays for it)
 * has a meter: the rate locked at its first charge (the pod's locked price plus the
 * provider's margin, metering.margins), the running time charged so far and what it came to,
 * the same for stopped time at the platform's storage rate, and where the next ledger entry's
 * interval starts. Settling a pod writes one usage entry for [period_from, now) that brings
 * what was charged up to round(rate x time / 1 h) for its whole life, so the sum of the
 * entries is exact to the micro-dollar however the periods fall, and the meter row and the
 * entry are written in one transaction (a kill -9 neither loses nor doubles an interval; the
 * ledger's unique (pod, period_start) refuses a replay). See docs/metering.md. */
#ifndef GB_METER_H
#define GB_METER_H

#include <stdbool.h>

#include "broker/core/app.h"
#include "broker/core/pods.h"

typedef struct {
    char pod_id[GB_ID_MAX];
    char account_id[GB_ID_MAX];
    gb_money rate;       /* per running hour, margin included */
    gb_money idle_rate;  /* per stopped hour */
    int64_t period_from; /* the next entry's interval starts here (ms) */
    int64_t settled_at;  /* last settled (ms); stopped time is counted from here */
    int64_t run_ms;      /* running time charged for */
    gb_money run_charged;
    int64_t idle_ms; /* stopped time charged for */
    gb_money idle_charged;
    gb_money unpaid; /* accrued but above the balance (written off, stops the pods) */
    bool open;       /* false once the pod is deleted and settled */
} meter_rec;

gb_err meter_get(gb_db *db, const char *pod_id, meter_rec *out); /* NOT_FOUND: none yet */
gb_err meter_put(gb_db *db, const meter_rec *m);

/* What a running hour at price on provider costs the user: the price plus the provider's
 * margin (metering.margins) in *out; -1 when that overflows (*out is then the price itself). */
int meter_price_rate(const app *a, const char *provider, gb_money price, gb_money *out);
/* The highest price on provider whose meter_price_rate is at most cap: a user's price cap
 * (max_price_per_hour) as the provider's share of it. cap itself when the provider has no
 * margin or cap is 0 (none). */
gb_money meter_price_cap(const app *a, const char *provider, gb_money cap);
/* The pod's rate per running hour: the one its meter locked at the first charge when p has
 * it (pod_rec.meter_rate), else its locked price plus its provider's margin as set now. */
gb_money meter_rate(const app *a, const pod_rec *p);
/* Per stopped hour: the provider's storage price per GB-hour (its "stopped_price_per_gb_hour"
 * setting, else what the adapter knows the platform charges) times the pod's volume. A
 * provider this broker has not yet seen registered (through another broker) is looked up again
 * in db (registry_get_synced), not taken for one that charges nothing. */
gb_money meter_idle_rate(app *a, gb_db *db, const pod_rec *p);

typedef struct {
    gb_money charged; /* written to the ledger now */
    gb_money unpaid;  /* due now but above the balance */
    gb_money total;   /* accrued over the pod's life so far (charged + unpaid) */
} meter_result;

/* Whether p's time is charged by the meter: every pod but a fine-tuning job's (the job paid
 * up front). Only a change of such a pod locks the account's balance (ledger_lock, before the
 * meter's row); a job pod's changes leave it to the account's other money transactions. */
bool meter_charges(const pod_rec *p);

/* In the caller's transaction: charges p (as read inside that transaction, its status after
 * any change) up to now. was is its status before a change being written with it (p->status
 * otherwise): stopped time counts while it was stopped. Pods of jobs and pods that never ran
 * are left alone. out may be NULL. */
gb_err meter_settle(app *a, gb_db *db, const pod_rec *p, pod_status was, int64_t now,
                    meter_result *out);

/* The advisory lock key of the metering round (PostgreSQL; gb_db_try_lock). */
#define METER_ROUND_LOCK INT64_C(4747400002)

typedef struct {
    int pods;            /* settled */
    int entries;         /* ledger entries written */
    gb_money charged;    /* their sum */
    int accounts_low;    /* accounts at or below the low-water mark */
    int stops_requested; /* pods asked to stop or be deleted (balance or guards) */
    int skipped;         /* 1: another broker's round held the round's lock; nothing done */
} meter_stats;

/* One metering round at now on db: settles every metered pod in one transaction, sends
 * account.balance_low (once while low) and account.budget (50/80/100 %, once a month each),
 * then stops the pods of accounts at the low-water mark and pods past their max_duration or
 * max_cost (deleted where the platform cannot stop). st may be NULL. Several brokers on one
 * PostgreSQL: one round at a time (an advisory lock held by the round's transaction; a broker
 * that does not get it skips its round, st->skipped), the metered pods locked while settled. */
gb_err meter_round(app *a, gb_db *db, int64_t now, meter_stats *st);

/* What account_id's pods cost the user per hour now: each at its open meter's locked rate,
 * or at its price plus its provider's margin (meter_price_rate) before its meter opens; jobs'
 * pods never (the job paid). committed counts the pods about to run or stop too (pending,
 * deploying, stopping: the spend limit's sum), else running ones only. GB_ERR_LIMIT when the
 * sum overflows. */
gb_err meter_pods_cost(const app *a, gb_db *db, const char *account_id, int committed,
                       gb_money *per_hour);
/* meter_pods_cost of the running pods. */
gb_err meter_running_cost(const app *a, gb_db *db, const char *account_id, gb_money *per_hour);

#endif
