/* usage_store.c: the SQL of the reports over the ledger (usage.h): entries paged and filtered,
 * and sums grouped by pod, provider, GPU type, day or account. Each statement is put together
 * from fixed fragments (never from request text) and cached per connection by its text. */
#include <sqlite3.h>
#include <stdio.h>

#include "broker/store/store_util.h"
#include "broker/store/usage.h"

static const char *const KIND_NAMES[] = {"any", "credit", "debit", "refund", "usage"};
static const char *const GROUP_NAMES[] = {"pod", "provider", "gpu", "day", "account"};

const char *usage_kind_name(usage_kind k)
{
    return k > USAGE_KIND_ANY && k <= USAGE_KIND_USAGE ? KIND_NAMES[k] : "?";
}

int usage_kind_parse(const char *s, usage_kind *out)
{
    for (int i = USAGE_KIND_CREDIT; s && i <= USAGE_KIND_USAGE; i++)
        if (strcmp(s, KIND_NAMES[i]) == 0) {
            *out = (usage_kind)i;
            return 0;
        }
    return -1;
}

int usage_group_parse(const char *s, usage_group_by *out)
{
    for (int i = USAGE_BY_POD; s && i <= USAGE_BY_ACCOUNT; i++)
        if (strcmp(s, GROUP_NAMES[i]) == 0) {
            *out = (usage_group_by)i;
            return 0;
        }
    return -1;
}

/* The WHERE clause of f: ?1 account (when set), ?2 from, ?3 to. */
static const char *where_kind(usage_kind k)
{
    switch (k) {
    case USAGE_KIND_ANY:
        return "";
    case USAGE_KIND_CREDIT:
        return " AND l.kind = 'credit'";
    case USAGE_KIND_DEBIT:
        return " AND l.kind = 'debit' AND l.pod_id IS NULL";
    case USAGE_KIND_REFUND:
        return " AND l.kind = 'refund'";
    case USAGE_KIND_USAGE:
        return " AND l.kind = 'debit' AND l.pod_id IS NOT NULL";
    }
    return " AND 0";
}

static sqlite3_stmt *prepare(gb_db *db, const usage_filter *f, const char *head, const char *tail,
                             usage_kind kind)
{
    char sql[1024];
    int n = snprintf(sql, sizeof(sql), "%s WHERE l.created_at >= ?2 AND l.created_at < ?3%s%s%s",
                     head, f->account_id ? " AND l.account_id = ?1" : "", where_kind(kind), tail);
    if (n < 0 || (size_t)n >= sizeof(sql)) return NULL;
    sqlite3_stmt *s = gb_db_stmt(db, sql);
    if (!s) return NULL;
    if (f->account_id) sqlite3_bind_text(s, 1, f->account_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, f->from_ms);
    sqlite3_bind_int64(s, 3, f->to_ms);
    return s;
}

static const char *col_or_null(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

gb_err usage_entries(gb_db *db, const usage_filter *f, int limit, int64_t offset, usage_entry_fn fn,
                     void *ud)
{
    sqlite3_stmt *s = prepare(db, f,
                              "SELECT l.id, l.account_id, l.kind, l.amount, l.ref, l.pod_id, "
                              "l.period_start, l.period_end, l.note, l.created_at FROM ledger l",
                              " ORDER BY l.created_at DESC, l.id DESC LIMIT ?4 OFFSET ?5", f->kind);
    if (!s) return GB_ERR_DB;
    sqlite3_bind_int(s, 4, limit);
    sqlite3_bind_int64(s, 5, offset);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        usage_entry e;
        memset(&e, 0, sizeof(e));
        e.id = sqlite3_column_int64(s, 0);
        e.account_id = col_or_null(s, 1);
        const char *kind = col_or_null(s, 2);
        e.pod_id = col_or_null(s, 5);
        if (kind && strcmp(kind, "debit") == 0)
            e.kind = e.pod_id ? USAGE_KIND_USAGE : USAGE_KIND_DEBIT;
        else if (usage_kind_parse(kind, &e.kind))
            e.kind = USAGE_KIND_ANY; /* the schema's CHECK allows no other */
        e.amount = sqlite3_column_int64(s, 3);
        e.ref = col_or_null(s, 4);
        e.period_start = sqlite3_column_int64(s, 6);
        e.period_end = sqlite3_column_int64(s, 7);
        e.note = col_or_null(s, 8);
        e.created_at = sqlite3_column_int64(s, 9);
        fn(ud, &e);
    }
    gb_err e = gb_db_check(db, rc, "usage entries");
    sqlite3_reset(s);
    return e;
}

gb_err usage_count(gb_db *db, const usage_filter *f, int64_t *total)
{
    sqlite3_stmt *s = prepare(db, f, "SELECT count(*) FROM ledger l", "", f->kind);
    if (!s) return GB_ERR_DB;
    int rc = sqlite3_step(s);
    gb_err e = gb_db_check(db, rc, "usage count");
    if (!e) *total = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return e;
}

/* The group key of a spend entry (credits have none): job charges and refunds have no pod. */
static const char *group_key(usage_group_by by)
{
    switch (by) {
    case USAGE_BY_POD:
        return "coalesce(l.pod_id, l.ref, '(none)')";
    case USAGE_BY_PROVIDER:
        return "CASE WHEN l.pod_id IS NULL THEN 'fine-tuning' "
               "ELSE coalesce(p.provider, 'unknown') END";
    case USAGE_BY_GPU:
        return "CASE WHEN l.pod_id IS NULL THEN 'fine-tuning' "
               "ELSE coalesce(nullif(p.gpu_type, ''), 'unknown') END";
    case USAGE_BY_DAY:
        return "strftime('%Y-%m-%d', l.created_at / 1000, 'unixepoch')";
    case USAGE_BY_ACCOUNT:
        return "l.account_id";
    }
    return "'?'";
}

gb_err usage_sum(gb_db *db, const usage_filter *f, usage_group_by by, usage_group_fn fn, void *ud,
                 usage_totals *out)
{
    char head[640];
    memset(out, 0, sizeof(*out));
    snprintf(head, sizeof(head),
             "SELECT CASE WHEN l.kind = 'credit' THEN NULL ELSE %s END AS k,"
             " coalesce(-sum(CASE WHEN l.kind <> 'credit' THEN l.amount END), 0),"
             " sum(l.kind <> 'credit'),"
             " coalesce(sum(CASE WHEN l.kind = 'credit' THEN l.amount END), 0)"
             " FROM ledger l LEFT JOIN pods p ON p.id = l.pod_id",
             group_key(by));
    sqlite3_stmt *s =
        prepare(db, f, head,
                by == USAGE_BY_DAY ? " GROUP BY k ORDER BY k" : " GROUP BY k ORDER BY 2 DESC, k",
                USAGE_KIND_ANY);
    if (!s) return GB_ERR_DB;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        usage_group g = {col_or_null(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2)};
        out->credits += sqlite3_column_int64(s, 3);
        if (!g.key) continue; /* the credits */
        out->spend += g.spend;
        out->entries += g.entries;
        fn(ud, &g);
    }
    gb_err e = gb_db_check(db, rc, "usage sum");
    sqlite3_reset(s);
    return e;
}
