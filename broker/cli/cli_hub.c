/* cli_hub.c: `gpubroker hub-token`: set (from standard input), remove or show whether the
 * Hugging Face Hub token the fine-tuning checks send is set (admin; PUT/DELETE/GET
 * /api/volt/admin/hub-token). The token never appears on the command line or in output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_util.h"
#include "common/str.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char HELP[] =
    "usage: gpubroker hub-token set|rm|status [--json]\n"
    "\n"
    "The Hugging Face Hub token sent when fine-tuning jobs are checked (needs an admin key):\n"
    "with it, gated and private models and datasets the token can read are accepted.\n"
    "  set     read the token (hf_...) from standard input and seal it in the vault\n"
    "  rm      remove it\n"
    "  status  say whether one is set (the token itself is never shown)\n";

int cli_hub_token(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json")};
    const char *pos[2];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 2, &np, &help);
    if (rc) return rc;
    if (help) return cli_help(HELP);
    if (np != 1) return cli_usage_error("hub-token: say set, rm or status");
    cJSON *j = NULL;
    if (!strcmp(pos[0], "set")) {
        char *t = cli_read_stdin(4096);
        if (!t || !*t) {
            free(t);
            return cli_usage_error("hub-token set: give the token on standard input");
        }
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "token", t);
        gb_memzero(t, strlen(t));
        free(t);
        rc = cli_call("PUT", "/api/volt/admin/hub-token", b, &j);
        cJSON *s = cJSON_GetObjectItemCaseSensitive(b, "token");
        if (s && s->valuestring) gb_memzero(s->valuestring, strlen(s->valuestring));
        cJSON_Delete(b);
    } else if (!strcmp(pos[0], "rm")) {
        rc = cli_call("DELETE", "/api/volt/admin/hub-token", NULL, &j);
    } else if (!strcmp(pos[0], "status")) {
        rc = cli_call("GET", "/api/volt/admin/hub-token", NULL, &j);
    } else {
        return cli_usage_error("hub-token: unknown command '%s' (set, rm, status)", pos[0]);
    }
    if (rc) return rc;
    if (o[0].set)
        cli_print_json(stdout, j);
    else
        printf("Hub token: %s\n", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "hub_token_set"))
                                      ? "set"
                                      : "not set");
    cJSON_Delete(j);
    return CLI_OK;
}
