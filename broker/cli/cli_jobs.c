/* cli_jobs.c: `gpubroker jobs submit|ls|get|cancel|wait` for fine-tuning jobs; `wait` shows
 * each state change as it happens and exits 0 on success, non-zero on failure or cancel. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_util.h"
#include "broker/cli/cli_wait.h"
#include "common/str.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define CLI_ERR_JOB_FAILED CLI_ERR_FAILED

static const cli_col JOB_COLS[] = {{"ID", "id", COL_STR},
                                   {"NAME", "name", COL_STR},
                                   {"TASK", "taskType", COL_STR},
                                   {"MODEL", "baseModel", COL_STR},
                                   {"STATUS", "status", COL_STR},
                                   {"PROGRESS", "progress", COL_NUM},
                                   {"HOURS", "hoursRequested", COL_NUM},
                                   {"PRICE/H", "costPerHour", COL_MONEY},
                                   {"TOTAL", "totalCost", COL_MONEY},
                                   {"OUTPUT", "outputModelRepo", COL_STR},
                                   {"MESSAGE", "message", COL_STR},
                                   {"CREATED", "createdAt", COL_TIME}};

static const char JOBS_HELP[] =
    "usage: gpubroker jobs submit --name NAME --task-type TYPE --model HF_MODEL --hours N\n"
    "                             [--ds-repo OWNER/NAME | --dataset-url URL] [--webhook-url URL]\n"
    "                             [--param KEY=VALUE]... [--wait] [--timeout SECS] [--json]\n"
    "       gpubroker jobs submit --file JOB.json [--wait] [--json]\n"
    "       gpubroker jobs ls [--status S] [--json]\n"
    "       gpubroker jobs get ID [--json]\n"
    "       gpubroker jobs cancel ID [--json]\n"
    "       gpubroker jobs wait ID [--timeout SECS] [--json]\n"
    "       gpubroker jobs logs ID [--tail N] [--follow] [--json]\n"
    "\n"
    "Fine-tuning jobs, paid per hour up front. TYPE: text, chat, dpo, grpo, custom_chat, image.\n"
    "--param sets the task's fields, e.g. --param fieldInstruction=instruction\n"
    "--param fieldOutput=output, --param chatTemplate=llama3.\n"
    "wait prints each state change; exit 0 on success, 4 on a failure, 8 when cancelled,\n"
    "5 after --timeout (default 86400 s). It follows the event stream (one request however\n"
    "long it waits) or polls with backoff, honouring Retry-After.\n";

static int show(cJSON *j, int json, int list)
{
    if (json)
        cli_print_json(stdout, j);
    else if (list)
        cli_table(stdout, cJSON_GetObjectItemCaseSensitive(j, "jobs"), JOB_COLS, N(JOB_COLS));
    else
        cli_fields(stdout, cJSON_GetObjectItemCaseSensitive(j, "job"), JOB_COLS, N(JOB_COLS));
    cJSON_Delete(j);
    return CLI_OK;
}

int cli_jobs(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json"),       CLI_VALUE("status"),      CLI_VALUE("name"),
                   CLI_VALUE("task-type"), CLI_VALUE("model"),       CLI_VALUE("hours"),
                   CLI_VALUE("ds-repo"),   CLI_VALUE("dataset-url"), CLI_VALUE("webhook-url"),
                   CLI_VALUE("param"),     CLI_VALUE("file"),        CLI_FLAG("wait"),
                   CLI_VALUE("timeout")};
    const char *pos[3];
    int np, help, timeout = 86400;
    if (argc > 0 && strcmp(argv[0], "logs") == 0) return cli_jobs_logs(argc - 1, argv + 1);
    int rc = cli_parse(argc, argv, o, N(o), pos, 3, &np, &help);
    if (rc) return rc;
    if (help || np == 0)
        return help ? cli_help(JOBS_HELP) : cli_usage_error("jobs: missing command (see --help)");
    if (o[12].set && gb_parse_int(o[12].val, 1, 31 * 86400, &timeout))
        return cli_usage_error("--timeout must be a number of seconds");
    int json = o[0].set;
    const char *cmd = pos[0];
    cJSON *j = NULL;
    if (!strcmp(cmd, "ls") && np == 1) {
        char *path = o[1].set ? gb_asprintf("/api/volt/fine-tuning?status=%s", o[1].val)
                              : gb_strdup("/api/volt/fine-tuning");
        rc = path ? cli_call("GET", path, NULL, &j) : CLI_ERR_CONN;
        free(path);
        return rc ? rc : show(j, json, 1);
    }
    if ((!strcmp(cmd, "get") || !strcmp(cmd, "cancel")) && np == 2) {
        char *path = gb_asprintf("/api/volt/fine-tuning/%s", pos[1]);
        rc = path ? cli_call(!strcmp(cmd, "get") ? "GET" : "DELETE", path, NULL, &j) : CLI_ERR_CONN;
        free(path);
        if (rc) return rc;
        if (!strcmp(cmd, "get")) return show(j, json, 0);
        if (json)
            cli_print_json(stdout, j);
        else
            printf("%s\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"))
                               ?: "cancelled");
        cJSON_Delete(j);
        return CLI_OK;
    }
    if (!strcmp(cmd, "wait") && np == 2) return cli_wait_job(pos[1], timeout, json);
    if (!strcmp(cmd, "submit") && np == 1) {
        cJSON *b = NULL;
        if (o[10].set) {
            char *text = NULL;
            if (gb_read_file(o[10].val, 1 << 20, &text, NULL) != GB_OK)
                return cli_usage_error("cannot read %s (at most 1 MiB)", o[10].val);
            b = cJSON_Parse(text);
            free(text);
            if (!cJSON_IsObject(b)) {
                cJSON_Delete(b);
                return cli_usage_error("%s is not a JSON object", o[10].val);
            }
        } else {
            b = cJSON_CreateObject();
            static const char *const map[][2] = {{"name", "name"},
                                                 {"task-type", "taskType"},
                                                 {"model", "model"},
                                                 {"ds-repo", "dsRepo"},
                                                 {"dataset-url", "datasetUrl"},
                                                 {"webhook-url", "webhookUrl"}};
            for (int i = 0; i < N(map); i++) {
                cli_opt *x = cli_opt_get(o, N(o), map[i][0]);
                if (x->set) cJSON_AddStringToObject(b, map[i][1], x->val);
            }
            int hours;
            if (o[5].set) {
                if (gb_parse_int(o[5].val, 1, 100000, &hours)) {
                    cJSON_Delete(b);
                    return cli_usage_error("--hours must be a whole number");
                }
                cJSON_AddNumberToObject(b, "hours", hours);
            }
            for (int i = 0; i < o[9].nvals; i++) {
                const char *eq = strchr(o[9].vals[i], '=');
                if (!eq || eq == o[9].vals[i] || eq - o[9].vals[i] > 63) {
                    cJSON_Delete(b);
                    return cli_usage_error("--param %s: use KEY=VALUE", o[9].vals[i]);
                }
                char k[64];
                gb_strlcpy(k, o[9].vals[i], (size_t)(eq - o[9].vals[i]) + 1);
                cJSON_AddStringToObject(b, k, eq + 1);
            }
        }
        rc = cli_call("POST", "/api/volt/fine-tuning", b, &j);
        cJSON_Delete(b);
        if (rc) return rc;
        char id[64];
        gb_strlcpy(id,
                   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                       cJSON_GetObjectItemCaseSensitive(j, "job"), "id"))
                       ?: "",
                   sizeof(id));
        if (!o[11].set) return show(j, json, 0);
        if (!json)
            show(j, 0, 0);
        else
            cJSON_Delete(j);
        return cli_wait_job(id, timeout, json);
    }
    return cli_usage_error("jobs: bad arguments (see gpubroker jobs --help)");
}
