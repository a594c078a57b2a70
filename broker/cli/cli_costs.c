/* cli_costs.c: the money reports on the command line: `gpubroker costs` (the usage API: spend
 * grouped by provider, pod, gpu or day, and a total line), `gpubroker ledger` (the entries,
 * newest first) and the plan a dry run prints (`place --dry-run`, `pods create --dry-run`). */
#include <stdlib.h>
#include <string.h>

#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_util.h"
#include "common/clock.h"
#include "common/money.h"
#include "common/str.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int cli_time_arg(const char *opt, const char *v, char *out, size_t n)
{
    size_t len = v ? strlen(v) : 0;
    int64_t ms, count;
    if (len >= 2 && len < 12) {
        char num[16];
        int64_t unit = 0;
        switch (v[len - 1]) {
        case 's':
            unit = 1000;
            break;
        case 'm':
            unit = 60000;
            break;
        case 'h':
            unit = 3600000;
            break;
        case 'd':
            unit = 86400000;
            break;
        default:
            break;
        }
        gb_strlcpy(num, v, len < sizeof(num) ? len : sizeof(num)); /* without the unit */
        if (unit && gb_parse_i64(num, 1, INT64_C(315360000000) / unit, &count) == 0) {
            gb_time_format(gb_now_ms() - count * unit, out, n);
            return 0;
        }
    }
    if (v && gb_time_parse(v, &ms) == 0 && len < n) {
        gb_strlcpy(out, v, n);
        return 0;
    }
    return cli_usage_error("--%s %s: give an age (30m, 24h, 7d) or an RFC 3339 UTC time "
                           "(2026-03-28T14:00:00Z)",
                           opt, v ? v : "");
}

/* "$12.50" from an exact *_micros field (two decimals), or "?". */
static const char *dollars(const cJSON *o, const char *key, char *buf, size_t n)
{
    char k[48], d[32];
    snprintf(k, sizeof(k), "%s_micros", key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v)) return "?";
    snprintf(buf, n, "$%s", gb_money_format((gb_money)v->valuedouble, d, sizeof(d)));
    return buf;
}

static const char COSTS_HELP[] =
    "usage: gpubroker costs [--since AGE|TIME] [--until AGE|TIME] [--by provider|pod|gpu|day]\n"
    "                       [--account ID | --all] [--json]\n"
    "\n"
    "What your account spent in a window, summed from the ledger: pod time, fine-tuning jobs\n"
    "(less their refunds), grouped --by provider, pod (the job id for a job), gpu or day (UTC);\n"
    "the total line also shows the credits and the net (credits - spend), which is what the\n"
    "balance changed by. AGE is 30s, 30m, 24h or 7d before now; TIME is RFC 3339 UTC. Default:\n"
    "from the start of this month (UTC) to now. --account ID or --all (every account, grouped\n"
    "by account unless --by says otherwise) need an admin key. Uses GPUBROKER_URL and\n"
    "GPUBROKER_API_KEY.\n";

int cli_costs(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("since"),   CLI_VALUE("until"), CLI_VALUE("by"),
                   CLI_VALUE("account"), CLI_FLAG("all"),    CLI_FLAG("json")};
    const char *pos[1];
    int np, help;
    char t[64];
    int rc = cli_parse(argc, argv, o, N(o), pos, 0, &np, &help);
    if (rc || help) return rc ? rc : cli_help(COSTS_HELP);
    if (o[3].set && o[4].set) return cli_usage_error("costs: give --account or --all, not both");
    const char *by = o[2].set ? o[2].val : (o[4].set ? "account" : NULL);
    static const char *const groups[] = {"provider", "pod", "gpu", "day", "account"};
    int ok = !by;
    for (int i = 0; by && i < N(groups); i++)
        ok |= !strcmp(by, groups[i]) && (i < 4 || o[3].set || o[4].set);
    if (!ok) return cli_usage_error("--by must be provider, pod, gpu or day (account: admin)");
    bool admin = o[3].set || o[4].set;
    gb_buf q = {0};
    gb_buf_puts(&q, admin ? "/api/volt/admin/usage" : "/api/volt/account/usage");
    char sep = '?';
    for (int i = 0; i < 2; i++) {
        if (!o[i].set) continue;
        if (cli_time_arg(o[i].name, o[i].val, t, sizeof(t))) {
            gb_buf_free(&q);
            return CLI_ERR_USAGE;
        }
        gb_buf_printf(&q, "%c%s=%s", sep, i ? "to" : "from", t);
        sep = '&';
    }
    if (by) {
        gb_buf_printf(&q, "%cgroup_by=%s", sep, by);
        sep = '&';
    }
    if (o[3].set) {
        char *id = cli_url_escape(o[3].val);
        gb_buf_printf(&q, "%caccount_id=%s", sep, id ? id : "");
        free(id);
    }
    cJSON *j = NULL;
    rc = q.data ? cli_call("GET", q.data, NULL, &j) : CLI_ERR_CONN;
    gb_buf_free(&q);
    if (rc) return rc;
    if (o[5].set) {
        cli_print_json(stdout, j);
        cJSON_Delete(j);
        return CLI_OK;
    }
    char a[32], b[32], c[32];
    const char *g = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "group_by"));
    printf("from %s to %s\n",
           cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "from")) ?: "?",
           cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "to")) ?: "?");
    char head[16];
    gb_strlcpy(head, g ? g : "key", sizeof(head));
    for (char *p = head; *p; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
    printf("%-40s %14s %8s\n", head, "SPEND", "ENTRIES");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "groups"))
    {
        printf("%-40.40s %14s %8g\n",
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "key")) ?: "?",
               dollars(it, "spend", a, sizeof(a)),
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "entries")));
    }
    printf("%-40s %14s %8g   credits %s, net %s\n", "total", dollars(j, "spend", a, sizeof(a)),
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "entries")),
           dollars(j, "credits", b, sizeof(b)), dollars(j, "net", c, sizeof(c)));
    cJSON_Delete(j);
    return CLI_OK;
}

static const char LEDGER_HELP[] =
    "usage: gpubroker ledger [--kind credit|debit|refund|usage] [--since AGE|TIME]\n"
    "                        [--until AGE|TIME] [--limit N] [--offset N]\n"
    "                        [--account ID | --all] [--json]\n"
    "\n"
    "Your account's money entries, newest first: credits, debits (fine-tuning jobs), refunds\n"
    "and usage (pod time, one entry per metering period). AGE is 30s, 30m, 24h or 7d before\n"
    "now; TIME is RFC 3339 UTC. --limit 1-1000 (default 100). --account ID or --all need an\n"
    "admin key. Uses GPUBROKER_URL and GPUBROKER_API_KEY.\n";

int cli_ledger(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("kind"),  CLI_VALUE("since"),  CLI_VALUE("until"),
                   CLI_VALUE("limit"), CLI_VALUE("offset"), CLI_VALUE("account"),
                   CLI_FLAG("all"),    CLI_FLAG("json")};
    const char *pos[1];
    int np, help, n;
    char t[64];
    int rc = cli_parse(argc, argv, o, N(o), pos, 0, &np, &help);
    if (rc || help) return rc ? rc : cli_help(LEDGER_HELP);
    if (o[5].set && o[6].set) return cli_usage_error("ledger: give --account or --all, not both");
    if (o[3].set && gb_parse_int(o[3].val, 1, 1000, &n))
        return cli_usage_error("--limit must be a number from 1 to 1000");
    if (o[4].set && gb_parse_int(o[4].val, 0, 1000000000, &n))
        return cli_usage_error("--offset must be a number >= 0");
    bool admin = o[5].set || o[6].set;
    gb_buf q = {0};
    gb_buf_puts(&q, admin ? "/api/volt/admin/ledger" : "/api/volt/account/ledger");
    char sep = '?';
    static const char *const names[] = {"kind", "from", "to", "limit", "offset", "account_id"};
    for (int i = 0; i < 6; i++) {
        if (!o[i].set) continue;
        const char *v = o[i].val;
        if ((i == 1 || i == 2) && cli_time_arg(o[i].name, v, t, sizeof(t))) {
            gb_buf_free(&q);
            return CLI_ERR_USAGE;
        }
        char *esc = cli_url_escape(i == 1 || i == 2 ? t : v);
        gb_buf_printf(&q, "%c%s=%s", sep, names[i], esc ? esc : "");
        free(esc);
        sep = '&';
    }
    cJSON *j = NULL;
    rc = q.data ? cli_call("GET", q.data, NULL, &j) : CLI_ERR_CONN;
    gb_buf_free(&q);
    if (rc) return rc;
    if (o[7].set) {
        cli_print_json(stdout, j);
        cJSON_Delete(j);
        return CLI_OK;
    }
    static const cli_col user_cols[] = {
        {"ID", "id", COL_NUM},      {"CREATED", "created_at", COL_TIME},
        {"KIND", "kind", COL_STR},  {"AMOUNT", "amount_micros", COL_MICROS},
        {"POD", "pod_id", COL_STR}, {"REF", "ref", COL_STR},
        {"NOTE", "note", COL_STR}};
    static const cli_col admin_cols[] = {{"ID", "id", COL_NUM},
                                         {"ACCOUNT", "account_id", COL_STR},
                                         {"CREATED", "created_at", COL_TIME},
                                         {"KIND", "kind", COL_STR},
                                         {"AMOUNT", "amount_micros", COL_MICROS},
                                         {"POD", "pod_id", COL_STR},
                                         {"REF", "ref", COL_STR},
                                         {"NOTE", "note", COL_STR}};
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(j, "entries");
    if (admin)
        cli_table(stdout, entries, admin_cols, N(admin_cols));
    else
        cli_table(stdout, entries, user_cols, N(user_cols));
    printf("Shown %d of %g (from %g)\n", cJSON_GetArraySize(entries),
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "total")),
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "offset")));
    cJSON_Delete(j);
    return CLI_OK;
}

void cli_print_plan(FILE *f, const cJSON *j)
{
    char a[32], b[32];
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "offer");
    fprintf(f, "dry run: nothing was created\n");
    fprintf(f, "offer:          %s (%s, %gx%s)\n",
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(off, "id")) ?: "?",
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(off, "provider")) ?: "?",
            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(off, "count")),
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(off, "gpu_type")) ?: "?");
    fprintf(f, "price:          %s/h\n", dollars(j, "price_per_hour", a, sizeof(a)));
    fprintf(f, "hours:          %g\n",
            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "hours")));
    fprintf(f, "estimated cost: %s\n", dollars(j, "estimated_cost", b, sizeof(b)));
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(j, "refusal");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "admitted")))
        fprintf(f, "admitted:       yes\n");
    else
        fprintf(f, "admitted:       no: %s: %s\n",
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "code")) ?: "?",
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "message")) ?: "");
}
