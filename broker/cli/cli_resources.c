/* cli_resources.c: client commands for the account API. Each resource is described by a
 * table (path, list key, columns) and shares ls/get/rm; create/update build their bodies
 * from options. */
#include "broker/cli/cli_resources.h"

#include <stdlib.h>
#include <string.h>

#include "broker/api/scopes.h"
#include "broker/cli/cli_util.h"
#include "common/str.h"

typedef struct {
    const char *path;
    const char *list_key;
    const cli_col *cols;
    int ncols;
} resource;

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int show(cJSON *j, int json, const resource *r, int list)
{
    if (json)
        cli_print_json(stdout, j);
    else if (list)
        cli_table(stdout, cJSON_GetObjectItemCaseSensitive(j, r->list_key), r->cols, r->ncols);
    else
        cli_fields(stdout, j, r->cols, r->ncols);
    cJSON_Delete(j);
    return CLI_OK;
}

static int do_ls(const resource *r, int json)
{
    cJSON *j;
    int rc = cli_call("GET", r->path, NULL, &j);
    return rc ? rc : show(j, json, r, 1);
}

static int do_get(const resource *r, const char *id, int json)
{
    char *path = gb_asprintf("%s/%s", r->path, id);
    cJSON *j = NULL;
    int rc = path ? cli_call("GET", path, NULL, &j) : CLI_ERR_CONN;
    free(path);
    return rc ? rc : show(j, json, r, 0);
}

static int do_rm(const resource *r, const char *id, int json)
{
    char *path = gb_asprintf("%s/%s", r->path, id);
    cJSON *j = NULL;
    int rc = path ? cli_call("DELETE", path, NULL, &j) : CLI_ERR_CONN;
    free(path);
    if (rc) return rc;
    if (json)
        cli_print_json(stdout, j);
    else
        printf("deleted %s\n", id);
    cJSON_Delete(j);
    return CLI_OK;
}

static int post(const char *method, const char *path, cJSON *body, int json, const resource *r)
{
    cJSON *j = NULL;
    int rc = body ? cli_call(method, path, body, &j) : CLI_ERR_CONN;
    cJSON_Delete(body);
    return rc ? rc : show(j, json, r, 0);
}

/* ---- keys ---- */

static const cli_col KEY_COLS[] = {{"ID", "id", COL_STR},
                                   {"NAME", "name", COL_STR},
                                   {"KEY", "key", COL_STR},
                                   {"PREVIEW", "key_preview", COL_STR},
                                   {"SCOPES", "scopes", COL_LIST},
                                   {"LAST USED", "last_used", COL_TIME},
                                   {"CREATED", "created_at", COL_TIME}};
static const resource KEYS = {"/api/volt/api-keys", "api_keys", KEY_COLS, N(KEY_COLS)};

static const char KEYS_HELP[] =
    "usage: gpubroker keys ls [--json]\n"
    "       gpubroker keys create NAME [--scope SCOPE]... [--json]\n"
    "       gpubroker keys rm KEY_ID [--json]\n"
    "\n"
    "Manage API keys. `create` prints the new key once; store it. Scopes:\n"
    "%s\n"
    "(default: every scope of the calling key but admin).\n"
    "Uses GPUBROKER_URL and GPUBROKER_API_KEY.\n";

int cli_keys(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json"), CLI_VALUE("scope")};
    const char *pos[3];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 3, &np, &help);
    if (rc) return rc;
    if (help) {
        printf(KEYS_HELP, scope_names()); /* the names from GB_SCOPES */
        return CLI_OK;
    }
    if (np == 0) return cli_usage_error("keys: missing command (ls, create, rm)");
    int json = o[0].set;
    if (!strcmp(pos[0], "ls") && np == 1) return do_ls(&KEYS, json);
    if (!strcmp(pos[0], "create") && np == 2) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "name", pos[1]);
        if (o[1].nvals) {
            cJSON *arr = cJSON_AddArrayToObject(b, "scopes");
            for (int i = 0; i < o[1].nvals; i++)
                cJSON_AddItemToArray(arr, cJSON_CreateString(o[1].vals[i]));
        }
        return post("POST", KEYS.path, b, json, &KEYS);
    }
    if (!strcmp(pos[0], "rm") && np == 2) {
        cJSON *b = cJSON_CreateObject(), *j = NULL;
        cJSON_AddStringToObject(b, "key_id", pos[1]);
        rc = cli_call("DELETE", KEYS.path, b, &j);
        cJSON_Delete(b);
        if (rc) return rc;
        if (json)
            cli_print_json(stdout, j);
        else
            printf("revoked %s\n", pos[1]);
        cJSON_Delete(j);
        return CLI_OK;
    }
    return cli_usage_error("keys: bad arguments (see gpubroker keys --help)");
}

/* ---- ssh-keys ---- */

static const cli_col SSH_COLS[] = {{"ID", "id", COL_STR},
                                   {"NAME", "name", COL_STR},
                                   {"FINGERPRINT", "fingerprint", COL_STR},
                                   {"CREATED", "created_at", COL_TIME}};
static const resource SSH = {"/api/volt/ssh-keys", "ssh_keys", SSH_COLS, N(SSH_COLS)};

static const char SSH_HELP[] =
    "usage: gpubroker ssh-keys ls [--json]\n"
    "       gpubroker ssh-keys add NAME (--file PATH.pub | --key 'ssh-ed25519 AAAA...') [--json]\n"
    "       gpubroker ssh-keys get ID [--json]\n"
    "       gpubroker ssh-keys rm ID [--json]\n"
    "\n"
    "Manage the SSH public keys put on your pods (ssh-ed25519, ssh-rsa >= 2048 bits,\n"
    "ecdsa-sha2-nistp256/384/521). Uses GPUBROKER_URL and GPUBROKER_API_KEY.\n";

int cli_sshkeys(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json"), CLI_VALUE("file"), CLI_VALUE("key")};
    const char *pos[3];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 3, &np, &help);
    if (rc) return rc;
    if (help || np == 0)
        return help ? cli_help(SSH_HELP)
                    : cli_usage_error("ssh-keys: missing command (ls, add, get, rm)");
    int json = o[0].set;
    if (!strcmp(pos[0], "ls") && np == 1) return do_ls(&SSH, json);
    if (!strcmp(pos[0], "get") && np == 2) return do_get(&SSH, pos[1], json);
    if (!strcmp(pos[0], "rm") && np == 2) return do_rm(&SSH, pos[1], json);
    if (!strcmp(pos[0], "add") && np == 2) {
        char *text = NULL;
        if (o[1].set == o[2].set)
            return cli_usage_error("ssh-keys add: give exactly one of --file or --key");
        if (o[1].set && gb_read_file(o[1].val, 16384, &text, NULL) != GB_OK)
            return cli_usage_error("ssh-keys add: cannot read %s (at most 16 KiB)", o[1].val);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "name", pos[1]);
        if (text) { /* trim the trailing newline of a .pub file */
            size_t l = strlen(text);
            while (l && (text[l - 1] == '\n' || text[l - 1] == '\r'))
                text[--l] = '\0';
        }
        cJSON_AddStringToObject(b, "public_key", text ? text : o[2].val);
        free(text);
        return post("POST", SSH.path, b, json, &SSH);
    }
    return cli_usage_error("ssh-keys: bad arguments (see gpubroker ssh-keys --help)");
}

/* ---- creds ---- */

static const cli_col CRED_COLS[] = {{"ID", "id", COL_STR},
                                    {"NAME", "name", COL_STR},
                                    {"REGISTRY", "registry", COL_STR},
                                    {"USERNAME", "username", COL_STR},
                                    {"CREATED", "created_at", COL_TIME}};
static const resource CREDS = {"/api/volt/docker-credentials", "credentials", CRED_COLS,
                               N(CRED_COLS)};

static const char CREDS_HELP[] =
    "usage: gpubroker creds ls [--json]\n"
    "       gpubroker creds add NAME --registry HOST --username USER [--json] < password-file\n"
    "       gpubroker creds get ID [--json]\n"
    "       gpubroker creds rm ID [--json]\n"
    "\n"
    "Manage private registry credentials. The password is read from standard input (never\n"
    "from the command line), stored encrypted, and never shown again.\n"
    "Uses GPUBROKER_URL and GPUBROKER_API_KEY.\n";

int cli_creds(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json"), CLI_VALUE("registry"), CLI_VALUE("username")};
    const char *pos[3];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 3, &np, &help);
    if (rc) return rc;
    if (help || np == 0)
        return help ? cli_help(CREDS_HELP)
                    : cli_usage_error("creds: missing command (ls, add, get, rm)");
    int json = o[0].set;
    if (!strcmp(pos[0], "ls") && np == 1) return do_ls(&CREDS, json);
    if (!strcmp(pos[0], "get") && np == 2) return do_get(&CREDS, pos[1], json);
    if (!strcmp(pos[0], "rm") && np == 2) return do_rm(&CREDS, pos[1], json);
    if (!strcmp(pos[0], "add") && np == 2) {
        if (!o[1].set || !o[2].set)
            return cli_usage_error("creds add: --registry and --username are required");
        char *pw = cli_read_stdin(8192);
        if (!pw || !*pw) {
            free(pw);
            return cli_usage_error("creds add: give the password on standard input");
        }
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "name", pos[1]);
        cJSON_AddStringToObject(b, "registry", o[1].val);
        cJSON_AddStringToObject(b, "username", o[2].val);
        cJSON_AddStringToObject(b, "password", pw);
        gb_memzero(pw, strlen(pw));
        free(pw);
        cJSON *j = NULL;
        rc = cli_call("POST", CREDS.path, b, &j);
        cJSON *p = cJSON_GetObjectItemCaseSensitive(b, "password");
        if (p && p->valuestring) gb_memzero(p->valuestring, strlen(p->valuestring));
        cJSON_Delete(b);
        return rc ? rc : show(j, json, &CREDS, 0);
    }
    return cli_usage_error("creds: bad arguments (see gpubroker creds --help)");
}

/* ---- templates ---- */

static const cli_col TPL_COLS[] = {{"ID", "id", COL_STR},
                                   {"NAME", "name", COL_STR},
                                   {"IMAGE", "image", COL_STR},
                                   {"CATEGORY", "category", COL_STR},
                                   {"SYSTEM", "is_system", COL_BOOL},
                                   {"PORTS", "ports", COL_LIST},
                                   {"CREDENTIAL", "docker_credential_id", COL_STR},
                                   {"CREATED", "created_at", COL_TIME}};
static const resource TPL = {"/api/volt/templates", "templates", TPL_COLS, N(TPL_COLS)};

static const char TPL_HELP[] =
    "usage: gpubroker templates ls [--json]\n"
    "       gpubroker templates get ID [--json]\n"
    "       gpubroker templates create NAME --image IMAGE [options] [--json]\n"
    "       gpubroker templates update ID [--name NAME] [--image IMAGE] [options] [--json]\n"
    "       gpubroker templates rm ID [--json]\n"
    "\n"
    "options: --category C  --description TEXT  --credential CRED_ID  --port N (repeatable)\n"
    "         --env KEY=VALUE (repeatable)\n"
    "System templates are read-only. Uses GPUBROKER_URL and GPUBROKER_API_KEY.\n";

static cJSON *tpl_body(cli_opt *o, int no, const char *name)
{
    cJSON *b = cJSON_CreateObject();
    if (name) cJSON_AddStringToObject(b, "name", name);
    const char *str_opts[][2] = {{"name", "name"},
                                 {"image", "image"},
                                 {"category", "category"},
                                 {"description", "description"},
                                 {"credential", "docker_credential_id"}};
    for (size_t i = 0; i < sizeof(str_opts) / sizeof(str_opts[0]); i++) {
        cli_opt *x = cli_opt_get(o, no, str_opts[i][0]);
        if (x && x->set) {
            cJSON_DeleteItemFromObjectCaseSensitive(b, str_opts[i][1]);
            cJSON_AddStringToObject(b, str_opts[i][1], x->val);
        }
    }
    cli_opt *ports = cli_opt_get(o, no, "port");
    if (ports->nvals) {
        cJSON *arr = cJSON_AddArrayToObject(b, "ports");
        for (int i = 0; i < ports->nvals; i++) {
            int p;
            if (gb_parse_int(ports->vals[i], 1, 65535, &p)) {
                cli_usage_error("--port %s: must be a number from 1 to 65535", ports->vals[i]);
                cJSON_Delete(b);
                return NULL;
            }
            cJSON_AddItemToArray(arr, cJSON_CreateNumber(p));
        }
    }
    cli_opt *env = cli_opt_get(o, no, "env");
    if (env->nvals) {
        cJSON *obj = cJSON_AddObjectToObject(b, "env_vars");
        for (int i = 0; i < env->nvals; i++) {
            const char *eq = strchr(env->vals[i], '=');
            if (!eq || eq == env->vals[i]) {
                cli_usage_error("--env %s: use KEY=VALUE", env->vals[i]);
                cJSON_Delete(b);
                return NULL;
            }
            char k[257];
            gb_strlcpy(k, env->vals[i],
                       (size_t)(eq - env->vals[i]) + 1 < sizeof(k) ? (size_t)(eq - env->vals[i]) + 1
                                                                   : sizeof(k));
            cJSON_AddStringToObject(obj, k, eq + 1);
        }
    }
    return b;
}

int cli_templates(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json"),      CLI_VALUE("name"),        CLI_VALUE("image"),
                   CLI_VALUE("category"), CLI_VALUE("description"), CLI_VALUE("credential"),
                   CLI_VALUE("port"),     CLI_VALUE("env")};
    const char *pos[3];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 3, &np, &help);
    if (rc) return rc;
    if (help || np == 0)
        return help ? cli_help(TPL_HELP)
                    : cli_usage_error("templates: missing command (ls, get, create, update, rm)");
    int json = o[0].set;
    if (!strcmp(pos[0], "ls") && np == 1) return do_ls(&TPL, json);
    if (!strcmp(pos[0], "get") && np == 2) return do_get(&TPL, pos[1], json);
    if (!strcmp(pos[0], "rm") && np == 2) return do_rm(&TPL, pos[1], json);
    if (!strcmp(pos[0], "create") && np == 2) {
        if (!o[2].set) return cli_usage_error("templates create: --image is required");
        cJSON *b = tpl_body(o, N(o), pos[1]);
        return b ? post("POST", TPL.path, b, json, &TPL) : CLI_ERR_USAGE;
    }
    if (!strcmp(pos[0], "update") && np == 2) {
        cJSON *b = tpl_body(o, N(o), NULL);
        if (!b) return CLI_ERR_USAGE;
        char *path = gb_asprintf("%s/%s", TPL.path, pos[1]);
        rc = path ? post("PUT", path, b, json, &TPL) : CLI_ERR_CONN;
        free(path);
        return rc;
    }
    return cli_usage_error("templates: bad arguments (see gpubroker templates --help)");
}

/* ---- accounts (admin) and account ---- */

static const cli_col ACC_COLS[] = {{"ID", "id", COL_STR},
                                   {"NAME", "name", COL_STR},
                                   {"BALANCE", "balance", COL_MONEY},
                                   {"ADMIN", "is_admin", COL_BOOL},
                                   {"CREATED", "created_at", COL_TIME}};
static const resource ACC = {"/api/volt/admin/accounts", "accounts", ACC_COLS, N(ACC_COLS)};

static const char ACC_HELP[] =
    "usage: gpubroker accounts ls [--json]\n"
    "       gpubroker accounts create NAME [--credit DOLLARS] [--admin] [--json]\n"
    "       gpubroker accounts show ID [--json]\n"
    "       gpubroker accounts credit ID DOLLARS [--note TEXT] [--json]\n"
    "       gpubroker accounts limits ID [--spend-limit DOLLARS|none] [--budget DOLLARS|none]\n"
    "                                    [--json]\n"
    "\n"
    "Administer accounts (needs a key with the admin scope). `create` prints the new\n"
    "account's first API key once. `limits` sets the administrator's caps on an account's\n"
    "hourly spend and monthly budget, which its holder can lower but not raise.\n"
    "Uses GPUBROKER_URL and GPUBROKER_API_KEY.\n";

int cli_accounts(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json"),  CLI_VALUE("credit"),      CLI_FLAG("admin"),
                   CLI_VALUE("note"), CLI_VALUE("spend-limit"), CLI_VALUE("budget")};
    const char *pos[4];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 4, &np, &help);
    if (rc) return rc;
    if (help || np == 0)
        return help ? cli_help(ACC_HELP)
                    : cli_usage_error(
                          "accounts: missing command (ls, create, show, credit, limits)");
    int json = o[0].set;
    if (!strcmp(pos[0], "ls") && np == 1) return do_ls(&ACC, json);
    if (!strcmp(pos[0], "show") && np == 2) return do_get(&ACC, pos[1], json);
    if (!strcmp(pos[0], "create") && np == 2) {
        cJSON *b = cJSON_CreateObject(), *j = NULL;
        cJSON_AddStringToObject(b, "name", pos[1]);
        if (o[1].set) cJSON_AddStringToObject(b, "credit", o[1].val);
        if (o[2].set) cJSON_AddTrueToObject(b, "admin");
        rc = cli_call("POST", ACC.path, b, &j);
        cJSON_Delete(b);
        if (rc) return rc;
        if (json) {
            cli_print_json(stdout, j);
        } else {
            cli_fields(stdout, cJSON_GetObjectItemCaseSensitive(j, "account"), ACC_COLS,
                       N(ACC_COLS));
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(j, "api_key"), "key");
            printf("API key (shown once, store it now):\n%s\n",
                   cJSON_IsString(k) ? k->valuestring : "?");
        }
        cJSON_Delete(j);
        return CLI_OK;
    }
    if (!strcmp(pos[0], "credit") && np == 3) {
        cJSON *b = cJSON_CreateObject(), *j = NULL;
        cJSON_AddStringToObject(b, "amount", pos[2]);
        if (o[3].set) cJSON_AddStringToObject(b, "note", o[3].val);
        char *path = gb_asprintf("%s/%s/credit", ACC.path, pos[1]);
        rc = path ? cli_call("POST", path, b, &j) : CLI_ERR_CONN;
        free(path);
        cJSON_Delete(b);
        if (rc) return rc;
        static const cli_col cols[] = {{"ID", "id", COL_STR},
                                       {"CREDITED", "credited", COL_MONEY},
                                       {"BALANCE", "balance", COL_MONEY}};
        if (json)
            cli_print_json(stdout, j);
        else
            cli_fields(stdout, j, cols, N(cols));
        cJSON_Delete(j);
        return CLI_OK;
    }
    if (!strcmp(pos[0], "limits") && np == 2) {
        cJSON *b = cli_limits_body(o[4].set ? o[4].val : NULL, o[5].set ? o[5].val : NULL);
        if (!b) return CLI_ERR_USAGE;
        char *path = gb_asprintf("%s/%s/limits", ACC.path, pos[1]);
        cJSON *j = NULL;
        rc = path ? cli_call("PUT", path, b, &j) : CLI_ERR_CONN;
        free(path);
        cJSON_Delete(b);
        return rc ? rc : cli_show_account(j, json);
    }
    return cli_usage_error("accounts: bad arguments (see gpubroker accounts --help)");
}
