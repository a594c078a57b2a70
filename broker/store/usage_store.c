/* usage_store.c: the SQL of the reports over the ledger (usage.h): entries paged and filtered,
 * and sums grouped by pod, provider, GPU type, day or account. Each statement is put together
 * from fixed fragments (never from request text), once per process, and cached per connection
 * by its text. One text serves both backends but for the day's key (below). */
#include <pthread.h>
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

/* The filter's part of the WHERE clause. */
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
    return " AND 1 = 0";
}

/* The group key of a spend entry (credits have none): job charges and refunds have no pod. */
static const char *group_key(usage_group_by by, int pg)
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
        /* the UTC day of a time in ms: the dialects share no date function */
        return pg ? "to_char(to_timestamp(l.created_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
                  : "strftime('%Y-%m-%d', l.created_at / 1000, 'unixepoch')";
    case USAGE_BY_ACCOUNT:
        return "l.account_id";
    }
    return "'?'";
}

/* Every statement's text, by filter (with or without an account), kind or grouping, and
 * backend. Made once: the statement cache may keep the caller's pointer as its key, so a
 * text is never built in a buffer that later holds another. Placeholders: ?1 the account when
 * the filter has one, then from, to (and for entries limit, offset). */
enum { N_KINDS = USAGE_KIND_USAGE + 1, N_GROUPS = USAGE_BY_ACCOUNT + 1, SQL_MAX = 1024 };
static char entries_sql[2][N_KINDS][SQL_MAX];
static char count_sql[2][N_KINDS][SQL_MAX];
static char sum_sql[2][2][N_GROUPS][SQL_MAX]; /* [pg][account][group] */
static int sql_ok;
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;

/* head WHERE <window and account> <kind> tail, with the placeholders numbered for acct. */
static int compose(char *out, int acct, const char *head, usage_kind kind, const char *tail_fmt)
{
    char tail[256];
    int a = acct ? 1 : 0;
    int t = snprintf(tail, sizeof(tail), tail_fmt, 3 + a, 4 + a);
    int n =
        snprintf(out, SQL_MAX, "%s WHERE l.created_at >= ?%d AND l.created_at < ?%d%s%s%s", head,
                 1 + a, 2 + a, acct ? " AND l.account_id = ?1" : "", where_kind(kind), tail);
    return t >= 0 && (size_t)t < sizeof(tail) && n >= 0 && n < SQL_MAX;
}

#define ENTRIES_HEAD                                                                               \
    "SELECT l.id, l.account_id, l.kind, l.amount, l.ref, l.pod_id, l.period_start,"                \
    " l.period_end, l.note, l.created_at FROM ledger l"

static void sql_init(void)
{
    int ok = 1;
    for (int a = 0; a < 2; a++) {
        for (int k = 0; k < N_KINDS; k++) {
            ok &= compose(entries_sql[a][k], a, ENTRIES_HEAD, (usage_kind)k,
                          " ORDER BY l.created_at DESC, l.id DESC LIMIT ?%d OFFSET ?%d");
            ok &= compose(count_sql[a][k], a, "SELECT count(*) FROM ledger l", (usage_kind)k, "");
        }
        for (int pg = 0; pg < 2; pg++)
            for (int g = 0; g < N_GROUPS; g++) {
                char head[640];
                int n = snprintf(head, sizeof(head),
                                 "SELECT CASE WHEN l.kind = 'credit' THEN NULL ELSE %s END AS k,"
                                 " coalesce(-sum(CASE WHEN l.kind <> 'credit' THEN l.amount END),"
                                 " 0), sum(CASE WHEN l.kind <> 'credit' THEN 1 ELSE 0 END),"
                                 " coalesce(sum(CASE WHEN l.kind = 'credit' THEN l.amount END), 0)"
                                 " FROM ledger l LEFT JOIN pods p ON p.id = l.pod_id",
                                 group_key((usage_group_by)g, pg));
                ok &= n >= 0 && (size_t)n < sizeof(head);
                ok &= compose(sum_sql[pg][a][g], a, head, USAGE_KIND_ANY,
                              g == USAGE_BY_DAY ? " GROUP BY k ORDER BY k"
                                                : " GROUP BY k ORDER BY 2 DESC, k");
            }
    }
    sql_ok = ok;
}

/* The statement of text sql with f's account and window bound; *next is the number of the
 * next placeholder. */
static gb_q *prepare(gb_db *db, const usage_filter *f, const char *sql, int *next)
{
    gb_q *s = gb_q_prep(db, sql);
    if (!s) return NULL;
    int i = 1;
    if (f->account_id) gb_q_text(s, i++, f->account_id);
    gb_q_int64(s, i++, f->from_ms);
    gb_q_int64(s, i++, f->to_ms);
    if (next) *next = i;
    return s;
}

static int kind_ok(usage_kind k)
{
    return (unsigned)k < N_KINDS;
}

gb_err usage_entries(gb_db *db, const usage_filter *f, int limit, int64_t offset, usage_entry_fn fn,
                     void *ud)
{
    pthread_once(&sql_once, sql_init);
    if (!sql_ok || !kind_ok(f->kind)) return GB_ERR_INTERNAL;
    int i = 0;
    gb_q *s = prepare(db, f, entries_sql[f->account_id != NULL][f->kind], &i);
    if (!s) return GB_ERR_DB;
    gb_q_int64(s, i, limit);
    gb_q_int64(s, i + 1, offset);
    int has = 0;
    gb_err err;
    while (!(err = gb_q_step(s, &has)) && has) {
        usage_entry e;
        memset(&e, 0, sizeof(e));
        e.id = gb_q_col_int64(s, 0);
        e.account_id = gb_q_col_text(s, 1);
        const char *kind = gb_q_col_text(s, 2);
        e.pod_id = gb_q_col_text(s, 5);
        if (kind && strcmp(kind, "debit") == 0)
            e.kind = e.pod_id ? USAGE_KIND_USAGE : USAGE_KIND_DEBIT;
        else if (usage_kind_parse(kind, &e.kind))
            e.kind = USAGE_KIND_ANY; /* the schema's CHECK allows no other */
        e.amount = gb_q_col_int64(s, 3);
        e.ref = gb_q_col_text(s, 4);
        e.period_start = gb_q_col_int64(s, 6);
        e.period_end = gb_q_col_int64(s, 7);
        e.note = gb_q_col_text(s, 8);
        e.created_at = gb_q_col_int64(s, 9);
        fn(ud, &e);
    }
    gb_q_reset(s);
    return err;
}

gb_err usage_count(gb_db *db, const usage_filter *f, int64_t *total)
{
    pthread_once(&sql_once, sql_init);
    if (!sql_ok || !kind_ok(f->kind)) return GB_ERR_INTERNAL;
    gb_q *s = prepare(db, f, count_sql[f->account_id != NULL][f->kind], NULL);
    if (!s) return GB_ERR_DB;
    return sq_int64(s, total);
}

gb_err usage_sum(gb_db *db, const usage_filter *f, usage_group_by by, usage_group_fn fn, void *ud,
                 usage_totals *out)
{
    memset(out, 0, sizeof(*out));
    pthread_once(&sql_once, sql_init);
    if (!sql_ok || (unsigned)by >= N_GROUPS) return GB_ERR_INTERNAL;
    int pg = gb_db_kind_of(db) == GB_DB_POSTGRESQL;
    gb_q *s = prepare(db, f, sum_sql[pg][f->account_id != NULL][by], NULL);
    if (!s) return GB_ERR_DB;
    int has = 0;
    gb_err err;
    while (!(err = gb_q_step(s, &has)) && has) {
        usage_group g = {gb_q_col_text(s, 0), gb_q_col_int64(s, 1), gb_q_col_int64(s, 2)};
        out->credits += gb_q_col_int64(s, 3);
        if (!g.key) continue; /* the credits */
        out->spend += g.spend;
        out->entries += g.entries;
        fn(ud, &g);
    }
    gb_q_reset(s);
    return err;
}
