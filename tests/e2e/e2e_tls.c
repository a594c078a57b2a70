/* e2e_tls.c: `gpubroker serve` with server.tls_cert_file / tls_key_file speaks HTTPS only: a
 * client with the CA gets answers, one without it and a plain-HTTP one do not; the CLI
 * verifies (--ca or GPUBROKER_CA_FILE, a clear error and exit 3 without); SIGHUP puts a new
 * certificate on new connections (fingerprints by `openssl s_client`), a bad new pair keeps the
 * old; a key readable by others, a mismatched pair or half the TLS keys refuse to start.
 * Certificates are made here by the openssl CLI (scripts/deps.sh installs it). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "support_daemon.h"

static e2e_daemon D;
static char cfg_path[400], cert[400], key[400];

/* A self-signed certificate for 127.0.0.1 (a new key each time) into cert_out / key_out. */
static void make_cert(const char *cert_out, const char *key_out, const char *cn)
{
    char cmd[1400];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=%s -addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' "
             ">/dev/null 2>&1",
             cn, key_out, cert_out);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(chmod(key_out, 0600), 0);
}

/* The SHA-256 fingerprint ("AB:CD:...") of a PEM file's certificate, or of the one a new TLS
 * connection to port gets (file NULL). */
static void fingerprint(const char *file, const char *port, char *out, size_t n)
{
    char cmd[1000];
    if (file)
        snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s' -noout -fingerprint -sha256", file);
    else
        snprintf(cmd, sizeof(cmd),
                 "timeout 10 openssl s_client -connect 127.0.0.1:%s </dev/null 2>/dev/null | "
                 "openssl x509 -noout -fingerprint -sha256",
                 port);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256] = "";
    char *got = fgets(line, sizeof(line), p);
    pclose(p);
    const char *eq = got ? strchr(line, '=') : NULL;
    if (!eq) fail_msg("no fingerprint from: %s", cmd);
    snprintf(out, n, "%.*s", (int)strcspn(eq + 1, "\r\n"), eq + 1);
    assert_true(strlen(out) > 60);
}

static void write_config(const char *extra)
{
    FILE *f = fopen(cfg_path, "w");
    assert_non_null(f);
    fprintf(f, "server:\n  port: 0\n%sstorage:\n  data_dir: \"%s/data\"\n", extra, D.dir);
    fclose(f);
}

static void write_tls_config(const char *c, const char *k)
{
    char extra[2000];
    snprintf(extra, sizeof(extra), "  tls_cert_file: \"%s\"\n  tls_key_file: \"%s\"\n", c, k);
    write_config(extra);
}

/* GET url with ca (may be NULL): the status, 0 when the request failed; *untrusted set. */
static long get(const char *url, const char *ca, int *untrusted)
{
    gb_http_req req = {.method = "GET", .url = url, .ca_file = ca, .timeout_ms = 10000};
    gb_http_resp resp;
    gb_errmsg err = "";
    gb_err e = gb_http_do(&req, &resp, err);
    long st = e == GB_OK ? resp.status : 0;
    if (untrusted) *untrusted = resp.tls_untrusted;
    gb_http_resp_free(&resp);
    return st;
}

static void wait_log(const char *needle)
{
    for (int i = 0; i < 250 && !e2e_file_contains(D.log_path, needle); i++)
        usleep(20000);
    if (!e2e_file_contains(D.log_path, needle)) fail_msg("the log never said '%s'", needle);
}

static void init_daemon_dir(void)
{
    memset(&D, 0, sizeof(D));
    e2e_tmpdir(D.dir, sizeof(D.dir));
    snprintf(cfg_path, sizeof(cfg_path), "%s/gpubroker.yaml", D.dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", D.dir);
    snprintf(key, sizeof(key), "%s/key.pem", D.dir);
    write_config("");
    const char *init[] = {"init", "--config", cfg_path, NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(e2e_cli(init, NULL, NULL, &out, &err), 0);
    const char *k = strstr(out, "GPUBROKER_API_KEY=");
    assert_non_null(k);
    snprintf(D.admin_key, sizeof(D.admin_key), "%.*s", (int)strcspn(k + 18, "\n"), k + 18);
    free(out);
    free(err);
}

/* Runs `gpubroker account [--ca ca]` against D with extra env; exit code, stdout, stderr. */
static int cli_account(const char *ca, const char *ca_env, char **out, char **err)
{
    char url_env[200], key_env[160], ca_var[480];
    snprintf(url_env, sizeof(url_env), "GPUBROKER_URL=%s", D.url);
    snprintf(key_env, sizeof(key_env), "GPUBROKER_API_KEY=%s", D.admin_key);
    snprintf(ca_var, sizeof(ca_var), "GPUBROKER_CA_FILE=%s", ca_env ? ca_env : "");
    const char *env[] = {url_env, key_env, ca_var, NULL};
    const char *with[] = {"account", "--ca", ca, NULL}, *without[] = {"account", NULL};
    return e2e_cli(ca ? with : without, env, NULL, out, err);
}

static void test_https_verify_and_reload(void **state)
{
    (void)state;
    init_daemon_dir();
    make_cert(cert, key, "gpubroker-a");
    char cert_a[420];
    snprintf(cert_a, sizeof(cert_a), "%s/cert-a.pem", D.dir);
    char cmd[2000];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", cert, cert_a);
    assert_int_equal(system(cmd), 0);
    write_tls_config(cert, key);
    const char *serve[] = {"serve", "--config", cfg_path, NULL};
    e2e_start(&D, serve, NULL);
    assert_int_equal(strncmp(D.url, "https://", 8), 0); /* it says what it serves */
    const char *port = strrchr(D.url, ':') + 1;
    char url[300], plain[300];
    snprintf(url, sizeof(url), "%s/healthz", D.url);
    snprintf(plain, sizeof(plain), "http://127.0.0.1:%s/healthz", port);

    /* the CA verifies; no CA (the system's) does not, and says it was the certificate */
    int untrusted = -1;
    assert_int_equal(get(url, cert_a, &untrusted), 200);
    assert_int_equal(untrusted, 0);
    assert_int_equal(get(url, NULL, &untrusted), 0);
    assert_int_equal(untrusted, 1);
    /* an untrusted certificate is not retried: trying again cannot help */
    gb_http_req req = {.method = "GET", .url = url};
    gb_http_policy pol = {.max_retries = 3, .base_delay_ms = 1};
    gb_http_resp resp;
    gb_errmsg msg = "";
    int attempts = 0;
    assert_int_not_equal(gb_http_do_retry(&req, &pol, 1, &resp, msg, &attempts), GB_OK);
    assert_int_equal(attempts, 1);
    assert_int_equal(resp.tls_untrusted, 1);
    assert_non_null(strstr(msg, "not trusted"));
    /* plain HTTP to the TLS port gets no HTTP answer */
    assert_int_equal(get(plain, NULL, &untrusted), 0);
    assert_int_equal(untrusted, 0);

    /* the CLI: --ca and GPUBROKER_CA_FILE work; without, a clear error naming the option */
    char *out = NULL, *err = NULL;
    assert_int_equal(cli_account(cert_a, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "acct_"));
    free(out);
    free(err);
    assert_int_equal(cli_account(NULL, cert_a, &out, &err), 0);
    assert_non_null(strstr(out, "acct_"));
    free(out);
    free(err);
    assert_int_equal(cli_account(NULL, NULL, &out, &err), 3);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "not trusted"));
    assert_non_null(strstr(err, "--ca FILE"));
    assert_non_null(strstr(err, "GPUBROKER_CA_FILE"));
    free(out);
    free(err);

    /* SIGHUP with a renewed pair at the same paths: new connections get it */
    char fp_a[128], fp_b[128], fp_now[128];
    fingerprint(cert_a, NULL, fp_a, sizeof(fp_a));
    fingerprint(NULL, port, fp_now, sizeof(fp_now));
    assert_string_equal(fp_now, fp_a);
    char cert_b[420], key_b[420];
    snprintf(cert_b, sizeof(cert_b), "%s/cert-b.pem", D.dir);
    snprintf(key_b, sizeof(key_b), "%s/key-b.pem", D.dir);
    make_cert(cert_b, key_b, "gpubroker-b");
    fingerprint(cert_b, NULL, fp_b, sizeof(fp_b));
    assert_string_not_equal(fp_a, fp_b);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s' '%s'", cert_b, cert, key_b, key);
    assert_int_equal(system(cmd), 0);
    kill(D.pid, SIGHUP);
    wait_log("SIGHUP: TLS certificate reloaded");
    fingerprint(NULL, port, fp_now, sizeof(fp_now));
    assert_string_equal(fp_now, fp_b);
    assert_int_equal(get(url, cert_b, NULL), 200);
    assert_int_equal(get(url, cert_a, &untrusted), 0); /* the old CA no longer fits */
    assert_int_equal(untrusted, 1);

    /* a new key readable by others is refused: the last good pair stays */
    make_cert(cert, key, "gpubroker-c");
    assert_int_equal(chmod(key, 0644), 0);
    kill(D.pid, SIGHUP);
    wait_log("TLS not reloaded, the old certificate stays");
    assert_true(e2e_file_contains(D.log_path, "are too open"));
    fingerprint(NULL, port, fp_now, sizeof(fp_now));
    assert_string_equal(fp_now, fp_b);
    assert_int_equal(get(url, cert_b, NULL), 200);
    e2e_stop(&D);
}

/* serve with this config: its exit code, and its stderr must contain want. */
static void expect_refused(const char *want)
{
    const char *serve[] = {"serve", "--config", cfg_path, NULL};
    char *out = NULL, *err = NULL;
    int rc = e2e_cli(serve, NULL, NULL, &out, &err);
    if (!strstr(err, want)) fail_msg("serve said '%s', not '%s'", err, want);
    assert_int_not_equal(rc, 0);
    assert_null(strstr(out, "serving on"));
    free(out);
    free(err);
}

static void test_refused_at_start(void **state)
{
    (void)state;
    init_daemon_dir();
    make_cert(cert, key, "gpubroker-a");
    assert_int_equal(chmod(key, 0644), 0); /* group and others may read it */
    write_tls_config(cert, key);
    expect_refused("are too open");
    expect_refused("chmod 600");
    assert_int_equal(chmod(key, 0640), 0); /* the group alone is too much as well */
    expect_refused("are too open");
    /* a key of another certificate */
    char cert_b[420], key_b[420];
    snprintf(cert_b, sizeof(cert_b), "%s/cert-b.pem", D.dir);
    snprintf(key_b, sizeof(key_b), "%s/key-b.pem", D.dir);
    make_cert(cert_b, key_b, "gpubroker-b");
    write_tls_config(cert, key_b);
    expect_refused("server.tls_cert_file");
    /* half the pair, and a file that is missing */
    char half[1200];
    snprintf(half, sizeof(half), "  tls_cert_file: \"%s\"\n", cert_b);
    write_config(half);
    expect_refused("set both (HTTPS) or neither");
    snprintf(half, sizeof(half), "%s/missing.pem", D.dir);
    write_tls_config(half, key_b);
    expect_refused("cannot read");
    /* and the good pair starts (the refusals above were about the files, not the setup) */
    write_tls_config(cert_b, key_b);
    const char *serve[] = {"serve", "--config", cfg_path, NULL};
    e2e_start(&D, serve, NULL);
    char url[300];
    snprintf(url, sizeof(url), "%s/healthz", D.url);
    assert_int_equal(get(url, cert_b, NULL), 200);
    e2e_stop(&D);
}

/* The sandbox takes TLS from GPUBROKER_SERVER_TLS_* and prints an https GPUBROKER_URL. */
static void test_sandbox_tls(void **state)
{
    (void)state;
    char dir[256], c[400], k[400], ce[480], ke[480];
    e2e_tmpdir(dir, sizeof(dir));
    snprintf(c, sizeof(c), "%s/cert.pem", dir);
    snprintf(k, sizeof(k), "%s/key.pem", dir);
    make_cert(c, k, "gpubroker-sandbox");
    snprintf(ce, sizeof(ce), "GPUBROKER_SERVER_TLS_CERT_FILE=%s", c);
    snprintf(ke, sizeof(ke), "GPUBROKER_SERVER_TLS_KEY_FILE=%s", k);
    const char *env[] = {ce, ke, NULL};
    e2e_start_sandbox(&D, dir, env);
    assert_int_equal(strncmp(D.url, "https://127.0.0.1:", 18), 0);
    char url[300];
    snprintf(url, sizeof(url), "%s/api/volt/account", D.url);
    char auth[160];
    snprintf(auth, sizeof(auth), "X-API-Key: %s", D.key);
    const char *hdrs[] = {auth, NULL};
    gb_http_req req = {.method = "GET", .url = url, .headers = hdrs, .ca_file = c};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    assert_int_equal(resp.status, 200);
    assert_non_null(strstr(resp.body, "balance"));
    gb_http_resp_free(&resp);
    e2e_stop(&D);
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    return 0;
}

static int teardown_one(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gb_http_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_https_verify_and_reload, teardown_one),
        cmocka_unit_test_teardown(test_refused_at_start, teardown_one),
        cmocka_unit_test_teardown(test_sandbox_tls, teardown_one),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
