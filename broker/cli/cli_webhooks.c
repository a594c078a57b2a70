/* cli_webhooks.c: `gpubroker webhooks ls|add|rm|test|secret|rotate|deliveries|redeliver|
 * listen`: the account's webhook endpoints, signing secret and deliveries, and a local
 * verifying receiver. */
#include <stdlib.h>
#include <string.h>

#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_util.h"
#include "common/str.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int cli_webhooks_listen(int argc, char **argv);

static const char WH_HELP[] =
    "usage: gpubroker webhooks ls [--json]\n"
    "       gpubroker webhooks add URL [--events LIST] [--json]\n"
    "       gpubroker webhooks rm ID\n"
    "       gpubroker webhooks test ID\n"
    "       gpubroker webhooks secret | rotate [--json]\n"
    "       gpubroker webhooks deliveries [--status pending|delivered|failed] [--json]\n"
    "       gpubroker webhooks redeliver MESSAGE_ID\n"
    "       gpubroker webhooks listen --secret whsec_... [--port N] [--json]\n"
    "\n"
    "Webhooks: POSTs signed per the Standard Webhooks specification when a job finishes\n"
    "(fine_tuning.job.completed) or a pod changes state (pod.running, pod.stopped, ...).\n"
    "LIST is a comma list of event names, 'pod.*' or '*' (the default).\n";

static const cli_col EP_COLS[] = {{"ID", "id", COL_STR},
                                  {"URL", "url", COL_STR},
                                  {"EVENTS", "events", COL_STR},
                                  {"ENABLED", "enabled", COL_BOOL},
                                  {"DISABLED", "disabled_reason", COL_STR},
                                  {"CREATED", "created_at", COL_TIME}};
static const cli_col DL_COLS[] = {
    {"ID", "id", COL_STR},         {"EVENT", "event", COL_STR},
    {"STATUS", "status", COL_STR}, {"ATTEMPTS", "attempts", COL_NUM},
    {"URL", "url", COL_STR},       {"CREATED", "created_at", COL_TIME}};

static int call_show(const char *method, const char *path, cJSON *body, int json,
                     const char *list_key, const cli_col *cols, int ncols)
{
    cJSON *j = NULL;
    int rc = cli_call(method, path, body, &j);
    cJSON_Delete(body);
    if (rc) return rc;
    if (json)
        cli_print_json(stdout, j);
    else if (list_key)
        cli_table(stdout, cJSON_GetObjectItemCaseSensitive(j, list_key), cols, ncols);
    else if (cols)
        cli_fields(stdout, j, cols, ncols);
    else {
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "secret"));
        printf("%s\n", s ? s : m ? m : "ok");
    }
    cJSON_Delete(j);
    return CLI_OK;
}

int cli_webhooks(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "listen") == 0) return cli_webhooks_listen(argc - 1, argv + 1);
    cli_opt o[] = {CLI_FLAG("json"), CLI_VALUE("events"), CLI_VALUE("status")};
    const char *pos[3];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 3, &np, &help);
    if (rc) return rc;
    if (help || np == 0)
        return help ? cli_help(WH_HELP) : cli_usage_error("webhooks: missing command (see --help)");
    int json = o[0].set;
    const char *cmd = pos[0];
    char path[300];
    if (!strcmp(cmd, "ls") && np == 1)
        return call_show("GET", "/api/volt/webhooks", NULL, json, "webhooks", EP_COLS, N(EP_COLS));
    if (!strcmp(cmd, "add") && np == 2) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "url", pos[1]);
        if (o[1].set) cJSON_AddStringToObject(b, "events", o[1].val);
        return call_show("POST", "/api/volt/webhooks", b, json, NULL, EP_COLS, N(EP_COLS));
    }
    if ((!strcmp(cmd, "rm") || !strcmp(cmd, "test")) && np == 2) {
        if (gb_snprintf(path, sizeof(path), "/api/volt/webhooks/%s%s", pos[1],
                        !strcmp(cmd, "test") ? "/test" : ""))
            return cli_usage_error("id too long");
        return call_show(!strcmp(cmd, "rm") ? "DELETE" : "POST", path, NULL, json, NULL, NULL, 0);
    }
    if (!strcmp(cmd, "secret") && np == 1)
        return call_show("GET", "/api/volt/webhooks/secret", NULL, json, NULL, NULL, 0);
    if (!strcmp(cmd, "rotate") && np == 1)
        return call_show("POST", "/api/volt/webhooks/secret/rotate", NULL, json, NULL, NULL, 0);
    if (!strcmp(cmd, "deliveries") && np == 1) {
        if (o[2].set)
            gb_snprintf(path, sizeof(path), "/api/volt/webhooks/deliveries?status=%s", o[2].val);
        else
            gb_strlcpy(path, "/api/volt/webhooks/deliveries", sizeof(path));
        return call_show("GET", path, NULL, json, "deliveries", DL_COLS, N(DL_COLS));
    }
    if (!strcmp(cmd, "redeliver") && np == 2) {
        if (gb_snprintf(path, sizeof(path), "/api/volt/webhooks/deliveries/%s/redeliver", pos[1]))
            return cli_usage_error("id too long");
        return call_show("POST", path, NULL, json, NULL, NULL, 0);
    }
    return cli_usage_error("webhooks: bad arguments (see gpubroker webhooks --help)");
}
