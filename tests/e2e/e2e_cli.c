/* e2e_cli.c: end to end through the gpubroker binary: init (idempotent, 0600 files),
 * serve with a config file and environment overrides, config errors that name the key,
 * the client commands in table and --json form with their exit codes, --help everywhere,
 * and `vault rotate` while the daemon serves. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "support_daemon.h"

static char DIR_[256], CONFIG[320], ENV_DATA[320], ADMIN_KEY[96];
static e2e_daemon D;
static char ENV_URL[200], ENV_KEY[160];

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void cli_env(const char *key)
{
    snprintf(ENV_URL, sizeof(ENV_URL), "GPUBROKER_URL=%s", D.url);
    snprintf(ENV_KEY, sizeof(ENV_KEY), "GPUBROKER_API_KEY=%s", key);
}

static int run(const char *stdin_text, char **out, char **err, ...)
{
    const char *args[24];
    int n = 0;
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 23)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    const char *env[] = {ENV_URL, ENV_KEY, ENV_DATA, NULL};
    return e2e_cli(args, env, stdin_text, out, err);
}

static int setup(void **state)
{
    (void)state;
    e2e_tmpdir(DIR_, sizeof(DIR_));
    snprintf(CONFIG, sizeof(CONFIG), "%s/gpubroker.yaml", DIR_);
    snprintf(ENV_DATA, sizeof(ENV_DATA), "GPUBROKER_STORAGE_DATA_DIR=%s/data", DIR_);
    ENV_URL[0] = ENV_KEY[0] = '\0';
    snprintf(ENV_URL, sizeof(ENV_URL), "GPUBROKER_X=1");
    snprintf(ENV_KEY, sizeof(ENV_KEY), "GPUBROKER_Y=1");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    char *cmd = NULL;
    if (asprintf(&cmd, "rm -rf '%s'", DIR_) > 0 && system(cmd) != 0) fprintf(stderr, "rm failed\n");
    free(cmd);
    return 0;
}

static void test_init(void **state)
{
    (void)state;
    char *out, *err;
    int rc = run(NULL, &out, &err, "init", "--config", CONFIG, NULL);
    if (rc != 0) fail_msg("init failed: %s", err);
    const char *k = strstr(out, "GPUBROKER_API_KEY=gpb_sk_");
    assert_non_null(k);
    snprintf(ADMIN_KEY, sizeof(ADMIN_KEY), "%.*s", (int)strcspn(k + 18, "\n"), k + 18);
    free(out);
    free(err);
    char path[400];
    assert_int_equal(mode_of(CONFIG), 0600);
    snprintf(path, sizeof(path), "%s/data/master.key", DIR_);
    assert_int_equal(mode_of(path), 0600);
    snprintf(path, sizeof(path), "%s/data", DIR_);
    assert_int_equal(mode_of(path), 0700);
    /* the config file is the commented example */
    char *cfg = e2e_slurp(CONFIG, NULL);
    assert_non_null(cfg);
    assert_non_null(strstr(cfg, "# "));
    assert_non_null(strstr(cfg, "port:"));
    free(cfg);
    /* a second init changes nothing and prints no key */
    rc = run(NULL, &out, &err, "init", "--config", CONFIG, NULL);
    assert_int_equal(rc, 0);
    assert_null(strstr(out, "gpb_sk_"));
    assert_non_null(strstr(out, "already initialized"));
    free(out);
    free(err);
}

static void test_config_errors(void **state)
{
    (void)state;
    char bad[400], *out, *err;
    snprintf(bad, sizeof(bad), "%s/bad.yaml", DIR_);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("server:\n  port: eighty\n", f);
    fclose(f);
    int rc = run(NULL, &out, &err, "serve", "--config", bad, NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "server.port"));
    assert_non_null(strstr(err, ":2:"));
    free(out);
    free(err);
    f = fopen(bad, "w");
    fputs("server:\n  prot: 80\n", f);
    fclose(f);
    rc = run(NULL, &out, &err, "serve", "--config", bad, NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "server.prot"));
    free(out);
    free(err);
    /* an environment override with a bad value names the variable */
    const char *args[] = {"serve", "--config", CONFIG, NULL};
    const char *env[] = {ENV_DATA, "GPUBROKER_SERVER_PORT=99999", NULL};
    rc = e2e_cli(args, env, NULL, &out, &err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "GPUBROKER_SERVER_PORT"));
    free(out);
    free(err);
    rc = run(NULL, &out, &err, "serve", "--config", "/nonexistent/gpubroker.yaml", NULL);
    assert_int_not_equal(rc, 0);
    free(out);
    free(err);
}

static void test_key_file_permissions_enforced(void **state)
{
    (void)state;
    char path[400], *out, *err;
    snprintf(path, sizeof(path), "%s/data/master.key", DIR_);
    assert_int_equal(chmod(path, 0644), 0);
    int rc = run(NULL, &out, &err, "serve", "--config", CONFIG, NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "master.key"));
    free(out);
    free(err);
    assert_int_equal(chmod(path, 0600), 0);
}

static void test_serve(void **state)
{
    (void)state;
    memset(&D, 0, sizeof(D));
    snprintf(D.dir, sizeof(D.dir), "%s", DIR_);
    const char *args[] = {"serve", "--config", CONFIG, NULL};
    const char *env[] = {ENV_DATA, "GPUBROKER_SERVER_PORT=0", NULL};
    e2e_start(&D, args, env);
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", ADMIN_KEY, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "name"), "admin");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "is_admin")));
    e2e_resp_free(&r);
}

static void test_client_commands(void **state)
{
    (void)state;
    char *out, *err;
    cli_env(ADMIN_KEY);
    /* accounts create prints the new key once; --json gives the same data as JSON */
    int rc = run(NULL, &out, &err, "accounts", "create", "alice", "--credit", "40", "--json", NULL);
    if (rc) fail_msg("accounts create: %s", err);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    const cJSON *key =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "api_key"), "key");
    assert_true(cJSON_IsString(key));
    char alice[96];
    snprintf(alice, sizeof(alice), "%s", key->valuestring);
    cJSON_Delete(j);
    free(out);
    free(err);

    cli_env(alice);
    rc = run(NULL, &out, &err, "account", NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "alice"));
    assert_non_null(strstr(out, "$40.00"));
    free(out);
    free(err);

    /* ssh-keys add from a file, then the table shows ssh-keygen's fingerprint */
    char kpath[400], cmd[600];
    snprintf(kpath, sizeof(kpath), "%s/id_test", DIR_);
    snprintf(cmd, sizeof(cmd), "ssh-keygen -q -N '' -t ed25519 -f %s", kpath);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s.pub", kpath);
    rc = run(NULL, &out, &err, "ssh-keys", "add", "laptop", "--file", cmd, NULL);
    if (rc) fail_msg("ssh-keys add: %s", err);
    free(out);
    free(err);
    rc = run(NULL, &out, &err, "ssh-keys", "ls", NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "FINGERPRINT"));
    assert_non_null(strstr(out, "laptop"));
    assert_non_null(strstr(out, "SHA256:"));
    free(out);
    free(err);

    /* creds add reads the password from stdin; it is never printed */
    rc = run("hunter2-registry-password\n", &out, &err, "creds", "add", "ghcr", "--registry",
             "ghcr.io", "--username", "me", "--json", NULL);
    if (rc) fail_msg("creds add: %s", err);
    assert_null(strstr(out, "hunter2"));
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "registry")->valuestring, "ghcr.io");
    cJSON_Delete(j);
    free(out);
    free(err);
    rc = run("", &out, &err, "creds", "add", "x", "--registry", "r", "--username", "u", NULL);
    assert_int_equal(rc, 2);
    free(out);
    free(err);

    /* templates create with repeated options; ls --json lists it */
    rc = run(NULL, &out, &err, "templates", "create", "mine", "--image", "ghcr.io/me/app:1",
             "--port", "22", "--port", "8188", "--env", "A=b", NULL);
    if (rc) fail_msg("templates create: %s", err);
    free(out);
    free(err);
    rc = run(NULL, &out, &err, "templates", "ls", "--json", NULL);
    assert_int_equal(rc, 0);
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(j, "total")->valuedouble, 5);
    cJSON_Delete(j);
    free(out);
    free(err);

    /* errors: the server's message and the exit code of its status (403: 10); usage errors
     * exit 2 */
    rc = run(NULL, &out, &err, "templates", "rm", "tpl_pytorch21", NULL);
    assert_int_equal(rc, 10);
    assert_non_null(strstr(err, "System templates cannot be deleted"));
    assert_non_null(strstr(err, "403"));
    free(out);
    free(err);
    rc = run(NULL, &out, &err, "keys", "ls", "--bogus", NULL);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "--bogus"));
    free(out);
    free(err);
    rc = run(NULL, &out, &err, "accounts", "ls", NULL); /* alice is no admin */
    assert_int_equal(rc, 10);
    assert_non_null(strstr(err, "INSUFFICIENT_SCOPE"));
    free(out);
    free(err);

    /* keys: create with a scope, the list never shows the key */
    rc = run(NULL, &out, &err, "keys", "create", "ci", "--scope", "pods", "--json", NULL);
    assert_int_equal(rc, 0);
    j = cJSON_Parse(out);
    char ci[96];
    snprintf(ci, sizeof(ci), "%s", cJSON_GetObjectItemCaseSensitive(j, "key")->valuestring);
    cJSON_Delete(j);
    free(out);
    free(err);
    rc = run(NULL, &out, &err, "keys", "ls", NULL);
    assert_int_equal(rc, 0);
    assert_null(strstr(out, ci));
    assert_non_null(strstr(out, "ci"));
    free(out);
    free(err);
}

static void test_help_everywhere(void **state)
{
    (void)state;
    const char *cmds[] = {"init",     "serve", "sandbox",  "vault", "account",
                          "accounts", "keys",  "ssh-keys", "creds", "templates"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char *out, *err;
        int rc = run(NULL, &out, &err, cmds[i], "--help", NULL);
        assert_int_equal(rc, 0);
        if (!strstr(out, "usage: gpubroker")) fail_msg("%s --help: %s", cmds[i], out);
        free(out);
        free(err);
    }
    char *out, *err;
    assert_int_equal(run(NULL, &out, &err, "--help", NULL), 0);
    assert_non_null(strstr(out, "templates"));
    free(out);
    free(err);
    assert_int_equal(run(NULL, &out, &err, "frobnicate", NULL), 2);
    assert_non_null(strstr(err, "unknown command 'frobnicate'"));
    free(out);
    free(err);
}

static void test_vault_rotate_while_serving(void **state)
{
    (void)state;
    char kpath[400], *out, *err;
    snprintf(kpath, sizeof(kpath), "%s/data/master.key", DIR_);
    char *before = e2e_slurp(kpath, NULL);
    assert_non_null(before);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/docker-credentials", ADMIN_KEY,
            "{\"name\":\"a\",\"registry\":\"ghcr.io\",\"username\":\"u\",\"password\":\"p1\"}", &r);
    assert_int_equal(r.status, 201);
    e2e_resp_free(&r);
    int rc = run(NULL, &out, &err, "vault", "rotate", "--config", CONFIG, NULL);
    if (rc) fail_msg("rotate: %s", err);
    assert_non_null(strstr(out, "re-sealed"));
    free(out);
    free(err);
    char *after = e2e_slurp(kpath, NULL);
    assert_non_null(after);
    assert_string_not_equal(before, after);
    assert_int_equal(mode_of(kpath), 0600);
    free(before);
    free(after);
    /* the running daemon keeps serving: auth (pepper) and new secrets under the new key */
    e2e_req(&D, "POST", "/api/volt/docker-credentials", ADMIN_KEY,
            "{\"name\":\"b\",\"registry\":\"ghcr.io\",\"username\":\"u\",\"password\":\"p2\"}", &r);
    assert_int_equal(r.status, 201);
    e2e_resp_free(&r);
    /* and after a restart every key and secret opens with the rotated key file alone */
    e2e_stop(&D);
    memset(&D, 0, sizeof(D));
    snprintf(D.dir, sizeof(D.dir), "%s", DIR_);
    const char *args[] = {"serve", "--config", CONFIG, NULL};
    const char *env[] = {ENV_DATA, "GPUBROKER_SERVER_PORT=0", NULL};
    e2e_start(&D, args, env);
    e2e_req(&D, "GET", "/api/volt/docker-credentials", ADMIN_KEY, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(r.json, "total")->valuedouble, 2);
    e2e_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_key_file_permissions_enforced),
        cmocka_unit_test(test_serve),
        cmocka_unit_test(test_client_commands),
        cmocka_unit_test(test_help_everywhere),
        cmocka_unit_test(test_vault_rotate_while_serving),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
