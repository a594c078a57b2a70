/* usage.h: the ledger read for reports: an account's (or every account's) entries in a time
 * window, paged and filtered by kind, and the window's spend and credits summed by pod,
 * provider, GPU type, day or account in one statement, so the groups always add up to the
 * total. Money is signed micro-dollars as the ledger keeps it. */
#ifndef GB_USAGE_H
#define GB_USAGE_H

#include <stdint.h>

#include "common/db.h"
#include "common/money.h"

/* What an entry is: a usage entry is a debit that names a pod (pod time); a debit without
 * one is a fine-tuning job's charge. */
typedef enum {
    USAGE_KIND_ANY,
    USAGE_KIND_CREDIT,
    USAGE_KIND_DEBIT,
    USAGE_KIND_REFUND,
    USAGE_KIND_USAGE
} usage_kind;

typedef enum {
    USAGE_BY_POD, /* pod id for pod time, the job id for job charges and refunds */
    USAGE_BY_PROVIDER,
    USAGE_BY_GPU,
    USAGE_BY_DAY, /* UTC date of created_at */
    USAGE_BY_ACCOUNT
} usage_group_by;

/* "credit", "debit", "refund", "usage"; parse: 0, or -1 for anything else ("any" included). */
const char *usage_kind_name(usage_kind k);
int usage_kind_parse(const char *s, usage_kind *out);
/* "pod", "provider", "gpu", "day", "account"; parse as above. */
int usage_group_parse(const char *s, usage_group_by *out);

typedef struct {
    const char *account_id; /* NULL: every account */
    usage_kind kind;
    int64_t from_ms, to_ms; /* created_at in [from_ms, to_ms) */
} usage_filter;

/* One entry; the strings are NULL when the column is, and live only during the callback. */
typedef struct {
    int64_t id;
    const char *account_id;
    usage_kind kind;
    gb_money amount; /* signed: debits and usage are negative */
    const char *ref;
    const char *pod_id;
    int64_t period_start, period_end; /* usage only; 0 otherwise */
    const char *note;
    int64_t created_at;
} usage_entry;

typedef void (*usage_entry_fn)(void *ud, const usage_entry *e);
/* The entries matching f, newest first (created_at, then id), limit from offset. */
gb_err usage_entries(gb_db *db, const usage_filter *f, int limit, int64_t offset, usage_entry_fn fn,
                     void *ud);
gb_err usage_count(gb_db *db, const usage_filter *f, int64_t *total);

/* One group's spend: debits and usage less refunds, and how many such entries. */
typedef struct {
    const char *key; /* lives only during the callback */
    gb_money spend;
    int64_t entries;
} usage_group;
typedef void (*usage_group_fn)(void *ud, const usage_group *g);
typedef struct {
    gb_money spend;   /* the sum of every group's spend */
    gb_money credits; /* credits in the window (in no group) */
    int64_t entries;  /* spend entries */
} usage_totals;
/* The window of f (its kind is ignored) summed by by: fn once per group (largest spend first;
 * by day in date order) and the totals, all from one statement (one snapshot). */
gb_err usage_sum(gb_db *db, const usage_filter *f, usage_group_by by, usage_group_fn fn, void *ud,
                 usage_totals *out);

#endif
