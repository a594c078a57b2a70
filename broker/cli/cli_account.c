/* cli_account.c: `gpubroker account` (the caller's balance, spend limit and who set it, the
 * monthly budget and how much of it is used, the running cost per hour and the time the
 * balance lasts at it) and `gpubroker account set` (the holder's own limits). */
#include <stdlib.h>
#include <string.h>

#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_util.h"
#include "common/money.h"
#include "common/str.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const cJSON *get(const cJSON *o, const char *path)
{
    char key[64];
    const char *dot;
    while (o && (dot = strchr(path, '.'))) {
        gb_strlcpy(key, path,
                   (size_t)(dot - path) + 1 < sizeof(key) ? (size_t)(dot - path) + 1 : sizeof(key));
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        path = dot + 1;
    }
    return o ? cJSON_GetObjectItemCaseSensitive(o, path) : NULL;
}

/* "$12.50" for a number, none for null or absent. */
static const char *money(const cJSON *o, const char *path, char *buf, size_t n)
{
    const cJSON *v = get(o, path);
    if (!cJSON_IsNumber(v)) return "none";
    snprintf(buf, n, "$%.2f", v->valuedouble);
    return buf;
}

int cli_show_account(cJSON *j, int json)
{
    char a[32], b[32];
    if (json) {
        cli_print_json(stdout, j);
        cJSON_Delete(j);
        return CLI_OK;
    }
    const char *id = cJSON_GetStringValue(get(j, "id")),
               *name = cJSON_GetStringValue(get(j, "name"));
    if (id) printf("id:                  %s\n", id);
    if (name) printf("name:                %s\n", name);
    if (cJSON_IsNumber(get(j, "balance")))
        printf("balance:             %s%s\n", money(j, "balance", a, sizeof(a)),
               cJSON_IsTrue(get(j, "balance_low")) ? " (low: pods are being stopped)" : "");
    const char *lim = money(j, "spend_limit_per_hour", a, sizeof(a));
    printf("spend limit:         %s%s", lim, strcmp(lim, "none") ? "/h" : "");
    if (cJSON_IsNumber(get(j, "limits.admin.spend_limit_per_hour")))
        printf(" (administrator's cap %s/h)",
               money(j, "limits.admin.spend_limit_per_hour", b, sizeof(b)));
    printf("\nmonthly budget:      %s", money(j, "monthly_budget", a, sizeof(a)));
    if (cJSON_IsNumber(get(j, "limits.admin.monthly_budget")))
        printf(" (administrator's cap %s)", money(j, "limits.admin.monthly_budget", b, sizeof(b)));
    printf("\nspent this month:    %s", money(j, "month_spent", a, sizeof(a)));
    const cJSON *pct = get(j, "budget_used_percent");
    if (cJSON_IsNumber(pct)) printf(" (%.1f %% of the budget)", pct->valuedouble);
    printf("\nrunning cost:        %s/h\n", money(j, "running_cost_per_hour", a, sizeof(a)));
    const cJSON *left = get(j, "estimated_hours_left");
    if (cJSON_IsNumber(left))
        printf("time left:           %.2f h at this cost\n", left->valuedouble);
    else
        printf("time left:           - (nothing running)\n");
    const char *msg = cJSON_GetStringValue(get(j, "message"));
    if (msg) printf("%s\n", msg);
    cJSON_Delete(j);
    return CLI_OK;
}

cJSON *cli_limits_body(const char *spend_limit, const char *budget)
{
    static const char *const keys[] = {"spend_limit_per_hour", "monthly_budget"};
    static const char *const opts[] = {"spend-limit", "budget"};
    const char *vals[] = {spend_limit, budget};
    if (!spend_limit && !budget) {
        cli_usage_error("give --spend-limit or --budget (a dollar amount, or none)");
        return NULL;
    }
    cJSON *b = cJSON_CreateObject();
    for (int i = 0; b && i < 2; i++) {
        gb_money m;
        if (!vals[i]) continue;
        if (!strcmp(vals[i], "none")) {
            cJSON_AddNumberToObject(b, keys[i], 0);
            continue;
        }
        if (gb_money_parse(vals[i], &m) || m < 0) {
            cli_usage_error("--%s %s: give a dollar amount like 25 or 12.50, or none", opts[i],
                            vals[i]);
            cJSON_Delete(b);
            return NULL;
        }
        cJSON_AddStringToObject(b, keys[i], vals[i]);
    }
    return b;
}

static const char ACCOUNT_HELP[] =
    "usage: gpubroker account [--json]\n"
    "       gpubroker account set [--spend-limit DOLLARS|none] [--budget DOLLARS|none] [--json]\n"
    "\n"
    "Shows the account of GPUBROKER_API_KEY: its balance, the hourly spend limit and the\n"
    "monthly budget (and the caps an administrator set, which you can lower but not raise),\n"
    "what this month cost so far, what your running pods cost per hour and how long the\n"
    "balance lasts at that. `set` changes your own spend limit per hour and monthly budget\n"
    "(none removes yours). See also `gpubroker costs` and `gpubroker ledger`.\n";

int cli_account(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json"), CLI_VALUE("spend-limit"), CLI_VALUE("budget")};
    const char *pos[2];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 1, &np, &help);
    if (rc) return rc;
    if (help) return cli_help(ACCOUNT_HELP);
    cJSON *j = NULL;
    if (np == 1 && !strcmp(pos[0], "set")) {
        cJSON *b = cli_limits_body(o[1].set ? o[1].val : NULL, o[2].set ? o[2].val : NULL);
        if (!b) return CLI_ERR_USAGE;
        rc = cli_call("PUT", "/api/volt/account", b, &j);
        cJSON_Delete(b);
        return rc ? rc : cli_show_account(j, o[0].set);
    }
    if (np != 0 || o[1].set || o[2].set)
        return cli_usage_error("account: bad arguments (see gpubroker account --help)");
    rc = cli_call("GET", "/api/volt/account", NULL, &j);
    return rc ? rc : cli_show_account(j, o[0].set);
}
