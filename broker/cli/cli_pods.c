/* cli_pods.c: client commands for pods, machines and providers: `gpubroker pods ...` (with
 * --wait that shows state changes as they happen), `gpubroker machines`, and the admin
 * `gpubroker providers ...`. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_events.h"
#include "broker/cli/cli_util.h"
#include "common/str.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const cli_col POD_COLS[] = {{"ID", "id", COL_STR},
                                   {"NAME", "name", COL_STR},
                                   {"STATUS", "status", COL_STR},
                                   {"PROVIDER", "provider", COL_STR},
                                   {"GPU", "gpu_type", COL_STR},
                                   {"COUNT", "gpu_count", COL_NUM},
                                   {"PRICE/H", "cost_per_hour", COL_MONEY},
                                   {"IP", "ip", COL_STR},
                                   {"SSH PORT", "ssh_port", COL_NUM},
                                   {"UPTIME H", "uptime_hours", COL_NUM},
                                   {"COST", "total_cost", COL_MONEY},
                                   {"SSH", "ssh_command", COL_STR},
                                   {"CREATED", "created_at", COL_TIME}};

static const char PODS_HELP[] =
    "usage: gpubroker pods ls [--status S] [--provider P] [--json]\n"
    "       gpubroker pods get ID [--wait STATUS] [--timeout SECS] [--json]\n"
    "       gpubroker pods create (--machine ID | --provider P --resource R)\n"
    "                             (--image IMAGE | --template TPL_ID) [--name NAME]\n"
    "                             [--gpu-count N] [--ssh-key KEY_ID]... [--env K=V]...\n"
    "                             [--port N]... [--options JSON] [--cost-per-hour X]\n"
    "                             [--wait] [--timeout SECS] [--dry-run [--hours N]]\n"
    "                             [--max-duration 2h] [--max-cost DOLLARS] [--json]\n"
    "       gpubroker pods start|stop|rm ID [--json]\n"
    "       gpubroker pods logs ID [--tail N] [--follow] [--json]\n"
    "       gpubroker pods events ID [--follow] [--json]\n"
    "\n"
    "--wait shows each state change as it happens and exits 0 when the pod is running (or\n"
    "reaches STATUS), 4 when it fails or disappears, 5 after --timeout (default 600 s); it\n"
    "follows the event stream (one request) or polls with backoff, honouring Retry-After.\n"
    "events --follow then prints the pod's events as they happen (see gpubroker events).\n"
    "create --dry-run prints the plan (the offer, $/h with the provider's margin, the cost of\n"
    "--hours N, default 1, and whether your balance, budget and spend limit admit it) and\n"
    "creates nothing. --max-duration (seconds, or 90m, 2h, 1d) and --max-cost stop the pod\n"
    "(delete it where the platform cannot stop) once it ran that long or cost that much.\n"
    "Machine ids come from `gpubroker machines`. Uses GPUBROKER_URL and GPUBROKER_API_KEY.\n";

static char *pod_path(const char *id, const char *suffix)
{
    return gb_asprintf("/api/volt/pods/%s%s", id, suffix ? suffix : "");
}

typedef struct {
    const char *id;
    int json;
} pod_events_ctx;

/* `pods events ID`: the pod's recorded events. */
static int print_pod_events(void *ud)
{
    pod_events_ctx *c = ud;
    char *path = pod_path(c->id, "/events");
    cJSON *j = NULL;
    int rc = path ? cli_call("GET", path, NULL, &j) : CLI_ERR_CONN;
    free(path);
    if (rc) return rc;
    static const cli_col cols[] = {{"AT", "at", COL_TIME},
                                   {"TYPE", "type", COL_STR},
                                   {"FROM", "from", COL_STR},
                                   {"TO", "to", COL_STR},
                                   {"MESSAGE", "message", COL_STR}};
    if (c->json)
        cli_print_json(stdout, j);
    else
        cli_table(stdout, cJSON_GetObjectItemCaseSensitive(j, "events"), cols, N(cols));
    fflush(stdout);
    cJSON_Delete(j);
    return CLI_OK;
}

static int show_pod(cJSON *j, int json, int list)
{
    if (json)
        cli_print_json(stdout, j);
    else if (list)
        cli_table(stdout, cJSON_GetObjectItemCaseSensitive(j, "pods"), POD_COLS, N(POD_COLS));
    else
        cli_fields(stdout, j, POD_COLS, N(POD_COLS));
    cJSON_Delete(j);
    return CLI_OK;
}

static cJSON *create_body(cli_opt *o, int no)
{
    cJSON *b = cJSON_CreateObject();
    static const char *const map[][2] = {
        {"machine", "machine_id"},         {"provider", "provider"},
        {"resource", "resource_name"},     {"image", "image"},
        {"template", "template_id"},       {"name", "name"},
        {"cost-per-hour", "cost_per_hour"}};
    for (int i = 0; i < N(map); i++) {
        cli_opt *x = cli_opt_get(o, no, map[i][0]);
        if (x->set) cJSON_AddStringToObject(b, map[i][1], x->val);
    }
    cli_opt *x = cli_opt_get(o, no, "gpu-count");
    int n;
    if (x->set) {
        if (gb_parse_int(x->val, 1, 64, &n)) goto bad_count;
        cJSON_AddNumberToObject(b, "gpu_count", n);
    }
    x = cli_opt_get(o, no, "ssh-key");
    if (x->nvals) {
        cJSON *arr = cJSON_AddArrayToObject(b, "ssh_key_ids");
        for (int i = 0; i < x->nvals; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(x->vals[i]));
    }
    x = cli_opt_get(o, no, "port");
    if (x->nvals) {
        cJSON *arr = cJSON_AddArrayToObject(b, "ports");
        for (int i = 0; i < x->nvals; i++) {
            if (gb_parse_int(x->vals[i], 1, 65535, &n)) {
                cli_usage_error("--port %s: must be a number from 1 to 65535", x->vals[i]);
                cJSON_Delete(b);
                return NULL;
            }
            cJSON_AddItemToArray(arr, cJSON_CreateNumber(n));
        }
    }
    x = cli_opt_get(o, no, "env");
    if (x->nvals) {
        cJSON *env = cJSON_AddObjectToObject(b, "env");
        for (int i = 0; i < x->nvals; i++) {
            const char *eq = strchr(x->vals[i], '=');
            if (!eq || eq == x->vals[i] || eq - x->vals[i] > 255) {
                cli_usage_error("--env %s: use KEY=VALUE", x->vals[i]);
                cJSON_Delete(b);
                return NULL;
            }
            char k[256];
            gb_strlcpy(k, x->vals[i], (size_t)(eq - x->vals[i]) + 1);
            cJSON_AddStringToObject(env, k, eq + 1);
        }
    }
    x = cli_opt_get(o, no, "options");
    if (x->set) {
        cJSON *opts = cJSON_Parse(x->val);
        if (!cJSON_IsObject(opts)) {
            cJSON_Delete(opts);
            cli_usage_error("--options must be a JSON object");
            cJSON_Delete(b);
            return NULL;
        }
        cJSON_AddItemToObject(b, "provider_options", opts);
    }
    if (cli_guard_args(o, no, b) != CLI_OK) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
bad_count:
    cli_usage_error("--gpu-count must be a number from 1 to 64");
    cJSON_Delete(b);
    return NULL;
}

static int simple(const char *method, const char *id, const char *suffix, int json)
{
    char *path = pod_path(id, suffix);
    cJSON *j = NULL;
    int rc = path ? cli_call(method, path, NULL, &j) : CLI_ERR_CONN;
    free(path);
    if (rc) return rc;
    if (json)
        cli_print_json(stdout, j);
    else {
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status"));
        printf("%s %s%s%s\n", id, st ? st : "", m ? ": " : "", m ? m : "");
    }
    cJSON_Delete(j);
    return CLI_OK;
}

int cli_pods(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json"),           CLI_VALUE("status"),    CLI_VALUE("provider"),
                   CLI_VALUE("wait"),          CLI_VALUE("timeout"),   CLI_VALUE("machine"),
                   CLI_VALUE("resource"),      CLI_VALUE("image"),     CLI_VALUE("template"),
                   CLI_VALUE("name"),          CLI_VALUE("gpu-count"), CLI_VALUE("ssh-key"),
                   CLI_VALUE("env"),           CLI_VALUE("port"),      CLI_VALUE("options"),
                   CLI_VALUE("cost-per-hour"), CLI_VALUE("tail"),      CLI_FLAG("wait-running"),
                   CLI_FLAG("dry-run"),        CLI_VALUE("hours"),     CLI_VALUE("max-duration"),
                   CLI_VALUE("max-cost"),      CLI_FLAG("follow")};
    const char *pos[3];
    int np, help;
    if (argc > 0 && strcmp(argv[0], "logs") == 0) return cli_pods_logs(argc - 1, argv + 1);
    /* `create --wait` is a flag, `get --wait STATUS` takes a value: rewrite the flag form. */
    for (int i = 0; i < argc; i++)
        if (argc > 0 && strcmp(argv[0], "create") == 0 && strcmp(argv[i], "--wait") == 0)
            argv[i] = (char *)"--wait-running";
    int rc = cli_parse(argc, argv, o, N(o), pos, 3, &np, &help);
    if (rc) return rc;
    if (help || np == 0)
        return help ? cli_help(PODS_HELP) : cli_usage_error("pods: missing command (see --help)");
    int json = o[0].set, timeout = 600;
    if (o[4].set && gb_parse_int(o[4].val, 1, 86400, &timeout))
        return cli_usage_error("--timeout must be a number of seconds from 1 to 86400");
    const char *cmd = pos[0];
    if (!strcmp(cmd, "ls") && np == 1) {
        gb_buf q = {0};
        gb_buf_puts(&q, "/api/volt/pods");
        if (o[1].set) gb_buf_printf(&q, "?status=%s", o[1].val);
        if (o[2].set) gb_buf_printf(&q, "%sprovider=%s", o[1].set ? "&" : "?", o[2].val);
        cJSON *j = NULL;
        rc = cli_call("GET", q.data, NULL, &j);
        gb_buf_free(&q);
        return rc ? rc : show_pod(j, json, 1);
    }
    if (!strcmp(cmd, "get") && np == 2) {
        if (o[3].set) return cli_pods_wait(pos[1], o[3].val, timeout, json);
        char *path = pod_path(pos[1], NULL);
        cJSON *j = NULL;
        rc = path ? cli_call("GET", path, NULL, &j) : CLI_ERR_CONN;
        free(path);
        return rc ? rc : show_pod(j, json, 0);
    }
    if (!strcmp(cmd, "create") && np == 1) {
        int hours = 0;
        if (o[19].set && (!o[18].set || gb_parse_int(o[19].val, 1, 8760, &hours)))
            return cli_usage_error("--hours goes with --dry-run and is 1 to 8760");
        if (o[18].set && o[17].set) return cli_usage_error("give --dry-run or --wait, not both");
        cJSON *b = create_body(o, N(o));
        if (!b) return CLI_ERR_USAGE;
        if (o[18].set) cJSON_AddTrueToObject(b, "dry_run");
        if (hours) cJSON_AddNumberToObject(b, "hours", hours);
        cJSON *j = NULL;
        rc = cli_call("POST", "/api/volt/pods", b, &j);
        cJSON_Delete(b);
        if (rc) return rc;
        if (o[18].set) {
            if (json)
                cli_print_json(stdout, j);
            else
                cli_print_plan(stdout, j);
            cJSON_Delete(j);
            return CLI_OK;
        }
        char id[64];
        gb_strlcpy(id, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "id")) ?: "",
                   sizeof(id));
        if (!o[17].set) return show_pod(j, json, 0);
        if (!json)
            show_pod(j, 0, 0);
        else
            cJSON_Delete(j);
        return cli_pods_wait(id, "running", timeout, json);
    }
    if ((!strcmp(cmd, "start") || !strcmp(cmd, "stop")) && np == 2)
        return simple("POST", pos[1], !strcmp(cmd, "start") ? "/start" : "/stop", json);
    if (!strcmp(cmd, "rm") && np == 2) return simple("DELETE", pos[1], NULL, json);
    if (!strcmp(cmd, "events") && np == 2) {
        pod_events_ctx c = {pos[1], json};
        /* --follow: the stream opens first, the history is printed on it, then the pod's
         * events as they happen (cli_events.c): nothing falls between the two */
        return o[22].set
                   ? cli_events_follow("pod.*,placement.*", pos[1], json, print_pod_events, &c)
                   : print_pod_events(&c);
    }
    return cli_usage_error("pods: bad arguments (see gpubroker pods --help)");
}

static const char MACHINES_HELP[] =
    "usage: gpubroker machines [--json]\n"
    "\n"
    "The live inventory of every registered provider, as GET /api/volt/machines gives it.\n";

int cli_machines(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json")};
    const char *pos[1];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 0, &np, &help);
    if (rc || help) return rc ? rc : cli_help(MACHINES_HELP);
    static const cli_col cols[] = {{"ID", "id", COL_STR},
                                   {"PROVIDER", "provider", COL_STR},
                                   {"GPU", "gpu_type", COL_STR},
                                   {"COUNT", "gpu_count", COL_NUM},
                                   {"VRAM", "gpu_vram_gb", COL_NUM},
                                   {"VCPU", "cpu_cores", COL_NUM},
                                   {"RAM", "ram_gb", COL_NUM},
                                   {"PRICE/GPU/H", "cost_per_gpu_hour", COL_MONEY},
                                   {"PRICE/H", "cost_per_hour", COL_MONEY},
                                   {"AVAILABLE", "available_gpus", COL_NUM},
                                   {"LOCATION", "location", COL_STR},
                                   {"TEE", "confidential", COL_BOOL}};
    cJSON *j = NULL;
    rc = cli_call("GET", "/api/volt/machines", NULL, &j);
    if (rc) return rc;
    if (o[0].set)
        cli_print_json(stdout, j);
    else
        cli_table(stdout, cJSON_GetObjectItemCaseSensitive(j, "machines"), cols, N(cols));
    cJSON_Delete(j);
    return CLI_OK;
}

static const char PROVIDERS_HELP[] =
    "usage: gpubroker providers ls [--json]\n"
    "       gpubroker providers add NAME --base-url URL [--kind KIND] [--settings JSON]\n"
    "                               [--no-verify] < secret\n"
    "       gpubroker providers rm NAME\n"
    "\n"
    "Register the GPU platforms gpubroker uses (needs an admin key). The platform's API key is\n"
    "read from standard input and stored encrypted. KIND defaults to NAME. `add` first makes\n"
    "one authenticated call to the platform (its list of workloads) and registers nothing when\n"
    "the platform refuses the key (exit 11, with the platform's message) or cannot be reached\n"
    "(exit 13); --no-verify skips that call.\n"
    "`ls` shows each provider's health: last success, last error and when, latency.\n"
    "KIND: %P.\n";

int cli_providers(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json"), CLI_VALUE("base-url"), CLI_VALUE("kind"),
                   CLI_VALUE("settings"), CLI_FLAG("no-verify")};
    const char *pos[3];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 3, &np, &help);
    if (rc) return rc;
    if (help || np == 0)
        return help ? cli_help_platforms(PROVIDERS_HELP)
                    : cli_usage_error("providers: missing command (ls, add, rm)");
    cJSON *j = NULL;
    if (!strcmp(pos[0], "ls") && np == 1) {
        static const cli_col cols[] = {{"NAME", "name", COL_STR},
                                       {"KIND", "kind", COL_STR},
                                       {"BASE URL", "base_url", COL_STR},
                                       {"HEALTHY", "healthy", COL_BOOL},
                                       {"LAST SUCCESS", "last_success", COL_TIME},
                                       {"LAST ERROR", "last_error", COL_STR},
                                       {"ERROR AT", "last_error_at", COL_TIME},
                                       {"LATENCY MS", "latency_ms", COL_NUM}};
        if ((rc = cli_call("GET", "/api/volt/admin/providers", NULL, &j))) return rc;
        if (o[0].set)
            cli_print_json(stdout, j);
        else
            cli_table(stdout, cJSON_GetObjectItemCaseSensitive(j, "providers"), cols, N(cols));
        cJSON_Delete(j);
        return CLI_OK;
    }
    if (!strcmp(pos[0], "add") && np == 2) {
        if (!o[1].set) return cli_usage_error("providers add: --base-url is required");
        cJSON *settings = NULL;
        if (o[3].set && !cJSON_IsObject(settings = cJSON_Parse(o[3].val))) {
            cJSON_Delete(settings);
            return cli_usage_error("--settings must be a JSON object");
        }
        char *secret = cli_read_stdin(4096);
        if (!secret || !*secret) {
            free(secret);
            cJSON_Delete(settings);
            return cli_usage_error("providers add: give the provider's API key on standard input");
        }
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "name", pos[1]);
        cJSON_AddStringToObject(b, "kind", o[2].set ? o[2].val : pos[1]);
        cJSON_AddStringToObject(b, "base_url", o[1].val);
        cJSON_AddStringToObject(b, "secret", secret);
        if (settings) cJSON_AddItemToObject(b, "settings", settings);
        if (o[4].set) cJSON_AddFalseToObject(b, "verify");
        gb_memzero(secret, strlen(secret));
        free(secret);
        rc = cli_call("POST", "/api/volt/admin/providers", b, &j);
        cJSON *s = cJSON_GetObjectItemCaseSensitive(b, "secret");
        if (s && s->valuestring) gb_memzero(s->valuestring, strlen(s->valuestring));
        cJSON_Delete(b);
        if (rc) return rc;
        if (o[0].set)
            cli_print_json(stdout, j);
        else
            printf("registered provider %s\n", pos[1]);
        cJSON_Delete(j);
        return CLI_OK;
    }
    if (!strcmp(pos[0], "rm") && np == 2) {
        char *path = gb_asprintf("/api/volt/admin/providers/%s", pos[1]);
        rc = path ? cli_call("DELETE", path, NULL, &j) : CLI_ERR_CONN;
        free(path);
        if (rc) return rc;
        if (o[0].set)
            cli_print_json(stdout, j);
        else
            printf("removed provider %s\n", pos[1]);
        cJSON_Delete(j);
        return CLI_OK;
    }
    return cli_usage_error("providers: bad arguments (see gpubroker providers --help)");
}
