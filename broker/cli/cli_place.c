/* cli_place.c: the scripting commands of placement: `gpubroker offers` (the live offers of
 * every provider, filtered and ranked, with --explain) and `gpubroker place` (the cheapest
 * fitting machine with failover, optionally waiting until it runs, or with --dry-run only
 * its plan and cost). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_util.h"
#include "common/str.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define CLI_ERR_POD_FAILED CLI_ERR_FAILED /* what cli_pods_wait answers for a pod that failed */

static const char OFFERS_HELP[] =
    "usage: gpubroker offers [--gpu TYPE[:COUNT]] [--gpu-count N] [--min-vram GB]\n"
    "                        [--max-price DOLLARS] [--confidential | --not-confidential]\n"
    "                        [--tier secure|spot] [--provider P[,P]] [--exclude-provider P[,P]]\n"
    "                        [--location REGION] [--sort price|price_per_gpu|vram|available]\n"
    "                        [--limit N] [--explain] [--json]\n"
    "\n"
    "The live offers of every provider (cached for a few seconds), cheapest first. --explain\n"
    "also lists every rejected offer with the reason. Prices are per hour for the GPU count.\n"
    "--location matches a region exactly (any case) or by its code before '-' (us matches US\n"
    "and US-East, not FI-Uusimaa).\n";

/* What an offer or a candidate costs per hour: cost_per_hour (the provider's margin added),
 * or price_per_hour from a broker that does not say it. */
static double cost_of(const cJSON *it)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "cost_per_hour");
    if (!cJSON_IsNumber(c)) c = cJSON_GetObjectItemCaseSensitive(it, "price_per_hour");
    return cJSON_GetNumberValue(c);
}

/* Adds "&name=value" (escaped) when the option is set. */
static void add_param(gb_buf *q, const char *name, const cli_opt *o)
{
    if (!o->set) return;
    char *v = cli_url_escape(o->has_arg ? o->val : "true");
    gb_buf_printf(q, "%c%s=%s", q->len ? '&' : '?', name, v ? v : "");
    free(v);
}

int cli_offers(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("gpu"),       CLI_VALUE("gpu-count"),   CLI_VALUE("min-vram"),
                   CLI_VALUE("max-price"), CLI_FLAG("confidential"), CLI_FLAG("not-confidential"),
                   CLI_VALUE("tier"),      CLI_VALUE("provider"),    CLI_VALUE("exclude-provider"),
                   CLI_VALUE("location"),  CLI_VALUE("sort"),        CLI_VALUE("limit"),
                   CLI_FLAG("explain"),    CLI_FLAG("json")};
    const char *pos[1];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 0, &np, &help);
    if (rc || help) return rc ? rc : cli_help(OFFERS_HELP);
    if (o[4].set && o[5].set)
        return cli_usage_error("give --confidential or --not-confidential, not both");
    gb_buf q = {0};
    static const char *names[] = {
        "gpu",  "gpu_count", "min_vram_gb", "max_price",        "confidential",
        NULL,   "tier",      "provider",    "exclude_provider", "location",
        "sort", "limit",     "explain"};
    for (int i = 0; i < 13; i++)
        if (names[i]) add_param(&q, names[i], &o[i]);
    if (o[5].set) gb_buf_printf(&q, "%cconfidential=false", q.len ? '&' : '?');
    char *path = gb_asprintf("/api/volt/offers%s", q.data ? q.data : "");
    gb_buf_free(&q);
    cJSON *j = NULL;
    rc = path ? cli_call("GET", path, NULL, &j) : CLI_ERR_CONN;
    free(path);
    if (rc) return rc;
    if (o[13].set) {
        cli_print_json(stdout, j);
        cJSON_Delete(j);
        return CLI_OK;
    }
    const cJSON *offers = cJSON_GetObjectItemCaseSensitive(j, "offers"), *it;
    printf("%-3s %-9s %-12s %-10s %5s %5s %6s %-7s %9s %9s %5s\n", "#", "PROVIDER", "LOCATION",
           "GPU", "VRAM", "VCPU", "RAM", "TIER", "PRICE/H", "AVAILABLE", "AGE");
    int i = 0;
    cJSON_ArrayForEach(it, offers)
    {
        const char *tier = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "tier"));
        char gpu[48];
        snprintf(gpu, sizeof(gpu), "%gx%s",
                 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "gpu_count")),
                 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "gpu_type")) ?: "?");
        printf("%-3d %-9.9s %-12.12s %-10.10s %5g %5g %6g %-7s %9.2f %9g %4gs\n", ++i,
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "provider")) ?: "?",
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "location")) ?: "", gpu,
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "gpu_vram_gb")),
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "vcpu")),
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "ram_gb")),
               tier && *tier ? tier : "-", cost_of(it),
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "available_gpus")),
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "age_s")));
    }
    printf("Shown %d of %g offers (%g fit)\n", i,
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "considered")),
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "matched")));
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "providers"))
    {
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "error"));
        if (e)
            printf("provider %s: %s\n",
                   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "provider")), e);
    }
    const cJSON *rej = cJSON_GetObjectItemCaseSensitive(j, "rejected");
    if (rej) {
        printf("\nRejected:\n");
        cJSON_ArrayForEach(it, rej) printf(
            "  %-48s %s\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "offer")),
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "reason")));
    }
    cJSON_Delete(j);
    return CLI_OK;
}

/* True when the pod's events say its create failed on every candidate (printed to stderr). */
static int every_attempt_failed(const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/pods/%s/events", id);
    cJSON *j = NULL;
    int failed = 0;
    if (cli_call("GET", path, NULL, &j) != CLI_OK) return 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "events"))
    {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "type"));
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "message"));
        if (!type || (strcmp(type, "attempt_failed") && strcmp(type, "create_failed"))) continue;
        fprintf(stderr, "%s: %s\n", type, msg ? msg : "");
        failed |= !strcmp(type, "create_failed");
    }
    cJSON_Delete(j);
    return failed;
}

static const char PLACE_HELP[] =
    "usage: gpubroker place --gpu TYPE[:COUNT] [--gpu-count N] (--image IMAGE | --template "
    "TPL_ID)\n"
    "                       [--name NAME] [--max-price DOLLARS] [--min-vram GB] [--confidential]\n"
    "                       [--tier T] [--provider P]... [--exclude-provider P]...\n"
    "                       [--location REGION] [--ssh-key KEY_ID]... [--env K=V]... [--port "
    "N]...\n"
    "                       [--wait] [--timeout SECS] [--dry-run [--hours N]] [--explain]\n"
    "                       [--max-duration 2h] [--max-cost DOLLARS] [--json]\n"
    "\n"
    "Queues a pod on the cheapest offer that fits; the broker tries the next one when a provider\n"
    "has no capacity or fails. --gpu H100 means ONE GPU (H100:4 or --gpu-count 4 for more); a\n"
    "machine sold whole with more GPUs than asked is never taken. --location matches a region\n"
    "exactly (any case) or by its code before '-' (us matches US and US-East, not FI-Uusimaa).\n"
    "Offers whose platform cannot take the request (SSH keys, registry credentials, ports) are\n"
    "left out, never tried; --explain prints every offer left out with the reason.\n"
    "Prints the candidate offers in order; --wait follows the pod until\n"
    "it runs and prints its SSH command or URL (or every failed attempt). --dry-run prints the\n"
    "plan instead (the offer, $/h with the provider's margin, the cost of --hours N, default 1,\n"
    "and whether your balance, budget and spend limit admit it) and creates nothing.\n"
    "--max-duration (seconds, or 90m, 2h, 1d) and --max-cost stop the pod once it ran that long\n"
    "or cost that much (the equivalent of SkyPilot's autostop).\n"
    "Exit codes: 0 placed (and running with --wait), 1 other API error, 2 usage,\n"
    "4 the pod failed while waiting, 5 --wait timed out, 6 no offer fits, 7 every attempt "
    "failed (with --wait).\n";

int cli_place(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("gpu"),         CLI_VALUE("image"),
                   CLI_VALUE("template"),    CLI_VALUE("name"),
                   CLI_VALUE("max-price"),   CLI_VALUE("min-vram"),
                   CLI_FLAG("confidential"), CLI_VALUE("tier"),
                   CLI_VALUE("provider"),    CLI_VALUE("exclude-provider"),
                   CLI_VALUE("location"),    CLI_VALUE("ssh-key"),
                   CLI_VALUE("env"),         CLI_VALUE("port"),
                   CLI_FLAG("wait"),         CLI_VALUE("timeout"),
                   CLI_FLAG("json"),         CLI_FLAG("dry-run"),
                   CLI_VALUE("hours"),       CLI_VALUE("max-duration"),
                   CLI_VALUE("max-cost"),    CLI_VALUE("gpu-count"),
                   CLI_FLAG("explain")};
    const char *pos[1];
    int np, help, timeout = 600;
    int rc = cli_parse(argc, argv, o, N(o), pos, 0, &np, &help);
    if (rc || help) return rc ? rc : cli_help(PLACE_HELP);
    if (!o[0].set && !o[5].set) return cli_usage_error("place: --gpu (or --min-vram) is required");
    if (!o[1].set && !o[2].set) return cli_usage_error("place: --image or --template is required");
    if (o[15].set && gb_parse_int(o[15].val, 1, 86400, &timeout))
        return cli_usage_error("--timeout must be a number of seconds from 1 to 86400");
    int json = o[16].set, hours = 0;
    if (o[18].set && (!o[17].set || gb_parse_int(o[18].val, 1, 8760, &hours)))
        return cli_usage_error("--hours goes with --dry-run and is 1 to 8760");
    if (o[17].set && o[14].set) return cli_usage_error("give --dry-run or --wait, not both");
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "provider", "auto");
    if (o[17].set) cJSON_AddTrueToObject(b, "dry_run");
    if (hours) cJSON_AddNumberToObject(b, "hours", hours);
    if (cli_guard_args(o, N(o), b) != CLI_OK) {
        cJSON_Delete(b);
        return CLI_ERR_USAGE;
    }
    int count = 1; /* --gpu TYPE is one GPU: never the whole machine by surprise */
    if (o[21].set && gb_parse_int(o[21].val, 1, 64, &count)) {
        cJSON_Delete(b);
        return cli_usage_error("--gpu-count must be a number from 1 to 64");
    }
    if (o[0].set) {
        char type[64];
        gb_strlcpy(type, o[0].val, sizeof(type));
        char *colon = strchr(type, ':');
        int in_gpu;
        if (colon) {
            *colon = '\0';
            if (gb_parse_int(colon + 1, 1, 64, &in_gpu)) {
                cJSON_Delete(b);
                return cli_usage_error("--gpu %s: the count after ':' must be 1 to 64", o[0].val);
            }
            if (o[21].set && in_gpu != count) {
                cJSON_Delete(b);
                return cli_usage_error("--gpu %s and --gpu-count %d: two different counts",
                                       o[0].val, count);
            }
            count = in_gpu;
        }
        cJSON_AddStringToObject(b, "gpu_type", type);
    }
    cJSON_AddNumberToObject(b, "gpu_count", count);
    if (o[22].set) cJSON_AddTrueToObject(b, "explain");
    static const char *const str_map[][2] = {
        {"image", "image"}, {"template", "template_id"},
        {"name", "name"},   {"max-price", "max_price_per_hour"},
        {"tier", "tier"},   {"location", "location"}};
    for (int i = 0; i < N(str_map); i++) {
        cli_opt *x = cli_opt_get(o, N(o), str_map[i][0]);
        if (x->set) cJSON_AddStringToObject(b, str_map[i][1], x->val);
    }
    int vram;
    if (o[5].set) {
        if (gb_parse_int(o[5].val, 1, 10000, &vram)) {
            cJSON_Delete(b);
            return cli_usage_error("--min-vram must be a number of GB");
        }
        cJSON_AddNumberToObject(b, "min_vram_gb", vram);
    }
    if (o[6].set) cJSON_AddTrueToObject(b, "confidential");
    static const char *const list_map[][2] = {{"provider", "providers"},
                                              {"exclude-provider", "exclude_providers"},
                                              {"ssh-key", "ssh_key_ids"}};
    for (int i = 0; i < N(list_map); i++) {
        cli_opt *x = cli_opt_get(o, N(o), list_map[i][0]);
        if (!x->nvals) continue;
        cJSON *arr = cJSON_AddArrayToObject(b, list_map[i][1]);
        for (int k = 0; k < x->nvals; k++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(x->vals[k]));
    }
    for (int i = 0; i < o[12].nvals; i++) {
        const char *eq = strchr(o[12].vals[i], '=');
        if (!eq || eq == o[12].vals[i] || eq - o[12].vals[i] > 255) {
            cJSON_Delete(b);
            return cli_usage_error("--env %s: use KEY=VALUE", o[12].vals[i]);
        }
        cJSON *env = cJSON_GetObjectItemCaseSensitive(b, "env");
        if (!env) env = cJSON_AddObjectToObject(b, "env");
        char k[256];
        gb_strlcpy(k, o[12].vals[i], (size_t)(eq - o[12].vals[i]) + 1);
        cJSON_AddStringToObject(env, k, eq + 1);
    }
    for (int i = 0; i < o[13].nvals; i++) {
        int port;
        if (gb_parse_int(o[13].vals[i], 1, 65535, &port)) {
            cJSON_Delete(b);
            return cli_usage_error("--port %s: must be a number from 1 to 65535", o[13].vals[i]);
        }
        cJSON *ports = cJSON_GetObjectItemCaseSensitive(b, "ports");
        if (!ports) ports = cJSON_AddArrayToObject(b, "ports");
        cJSON_AddItemToArray(ports, cJSON_CreateNumber(port));
    }
    cJSON *j = NULL, *ej = NULL;
    rc = cli_call_err("POST", "/api/volt/pods", b, &j, &ej);
    cJSON_Delete(b);
    FILE *out = json ? stderr : stdout;
    const cJSON *cands = cJSON_GetObjectItemCaseSensitive(j, "candidates"), *it;
    cJSON_ArrayForEach(it, cands)
    {
        fprintf(out, "candidate %-46s $%.2f/h\n",
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "offer")) ?: "?",
                cost_of(it));
    }
    if (!rc && o[22].set && !json) { /* every offer left out, and why */
        const cJSON *rej = cJSON_GetObjectItemCaseSensitive(j, "rejected");
        fprintf(out, "left out (%d):\n", cJSON_GetArraySize(rej));
        cJSON_ArrayForEach(it, rej)
            fprintf(out, "  %-48s %s\n",
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "offer")) ?: "?",
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "reason")) ?: "");
    }
    if (rc) {
        const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "code"));
        if (code && !strcmp(code, "NO_OFFER")) {
            cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(ej, "reasons"))
                fprintf(stderr, "  %-48s %s\n",
                        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "offer")),
                        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "reason")));
            rc = CLI_ERR_NO_OFFER;
        }
        cJSON_Delete(ej);
        return rc;
    }
    if (o[17].set) {
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
    fprintf(out, "queued %s on %s: %gx%s at $%.2f/h (the next candidates if it fails)\n", id,
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "provider")) ?: "?",
            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "gpu_count")),
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "gpu_type")) ?: "?",
            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "cost_per_hour")));
    if (!o[14].set) {
        if (json) cli_print_json(stdout, j);
        cJSON_Delete(j);
        return CLI_OK;
    }
    cJSON_Delete(j);
    rc = cli_pods_wait(id, "running", timeout, json);
    return rc == CLI_ERR_POD_FAILED && every_attempt_failed(id) ? CLI_ERR_PLACEMENT : rc;
}
