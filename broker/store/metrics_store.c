/* metrics_store.c: the /metrics families read from the database (docs/operations.md,
 * Monitoring): pods by provider and status, the running pods' cost per hour, jobs by state,
 * the webhook outbox's depth and oldest pending age, delivery attempts by result and the
 * ledger's totals. Gauges: they are what the tables hold at the scrape. */
#include "broker/store/metrics_store.h"

#include "broker/store/store_util.h"
#include "common/clock.h"
#include "common/money.h"

/* Appends v as a Prometheus label value (backslash, quote and newline escaped). */
static gb_err label(gb_buf *out, const char *v)
{
    gb_err e = GB_OK;
    for (; v && *v && !e; v++) {
        if (*v == '\\' || *v == '"')
            e = gb_buf_printf(out, "\\%c", *v);
        else if (*v == '\n')
            e = gb_buf_printf(out, "\\n");
        else
            e = gb_buf_printf(out, "%c", *v);
    }
    return e;
}

/* One family from sql (a literal: the statement is cached), whose rows are (label values...,
 * value): nlabels label columns named names[]; the value an integer (a count, micro-dollars
 * or milliseconds; PostgreSQL's sum() of a bigint is a numeric, read as its text) scaled by
 * 1/div. A non-negative now binds ?1. */
static gb_err family(gb_db *db, gb_buf *out, const char *name, const char *help, const char *sql,
                     const char *const *names, int nlabels, double div, int64_t now)
{
    gb_err e = gb_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    gb_q *q = e ? NULL : gb_q_prep(db, sql);
    if (!e && !q) e = GB_ERR_DB;
    if (q && now >= 0) gb_q_int64(q, 1, now);
    int has = 0;
    while (!e && !(e = gb_q_step(q, &has)) && has) {
        e = gb_buf_printf(out, "%s", name);
        for (int i = 0; i < nlabels && !e; i++) {
            e = gb_buf_printf(out, "%s%s=\"", i ? "," : "{", names[i]);
            if (!e) e = label(out, gb_q_col_text(q, i));
            if (!e) e = gb_buf_printf(out, "\"%s", i == nlabels - 1 ? "}" : "");
        }
        if (!e) e = gb_buf_printf(out, " %.6f\n", (double)gb_q_col_int64(q, nlabels) / div);
    }
    if (q) gb_q_reset(q);
    return e;
}

gb_err metrics_store_render(gb_db *db, gb_buf *out)
{
    static const char *const PS[] = {"provider", "status"};
    static const char *const ST[] = {"state"};
    static const char *const RS[] = {"result"};
    static const char *const KD[] = {"kind"};
    const double usd = (double)GB_MONEY_PER_DOLLAR;
    gb_err e = family(db, out, "gpubroker_pods", "Pods not deleted, by provider and status.",
                      "SELECT provider, status, count(*) FROM pods WHERE status <> 'deleted'"
                      " GROUP BY provider, status ORDER BY 1, 2",
                      PS, 2, 1, -1);
    if (!e)
        e = family(db, out, "gpubroker_running_cost_per_hour_dollars",
                   "What the running pods cost per hour, in dollars.",
                   "SELECT coalesce(sum(price_per_hour), 0) FROM pods WHERE status = 'running'",
                   NULL, 0, usd, -1);
    if (!e)
        e = family(db, out, "gpubroker_jobs", "Fine-tuning jobs by state.",
                   "SELECT status, count(*) FROM fine_tuning_jobs GROUP BY status ORDER BY 1", ST,
                   1, 1, -1);
    if (!e)
        e = family(db, out, "gpubroker_webhook_outbox_depth", "Webhook messages not delivered yet.",
                   "SELECT count(*) FROM wh_messages WHERE status = 'pending'", NULL, 0, 1, -1);
    if (!e)
        e = family(db, out, "gpubroker_webhook_outbox_oldest_age_seconds",
                   "Age of the oldest webhook message not delivered yet (0: none).",
                   "SELECT CAST(?1 AS BIGINT) - coalesce(min(created_at), CAST(?1 AS BIGINT))"
                   " FROM wh_messages WHERE status = 'pending'",
                   NULL, 0, 1000, gb_now_ms());
    if (!e)
        e = family(db, out, "gpubroker_webhook_delivery_attempts",
                   "Delivery attempts on record by result (success: 2xx; http_error: another "
                   "status; error: no answer).",
                   "SELECT CASE WHEN status BETWEEN 200 AND 299 THEN 'success'"
                   " WHEN status > 0 THEN 'http_error' ELSE 'error' END AS r, count(*)"
                   " FROM wh_attempts GROUP BY r ORDER BY r",
                   RS, 1, 1, -1);
    if (!e)
        e = family(db, out, "gpubroker_ledger_total_dollars",
                   "Ledger totals in dollars by kind (credit, debit, refund; usage: the debits "
                   "metering running pods).",
                   "SELECT kind, abs(sum(amount)) FROM ledger GROUP BY kind UNION ALL"
                   " SELECT 'usage', abs(coalesce(sum(amount), 0)) FROM ledger"
                   " WHERE kind = 'debit' AND pod_id IS NOT NULL ORDER BY 1",
                   KD, 1, usd, -1);
    return e;
}
