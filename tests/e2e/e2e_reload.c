/* e2e_reload.c: `gpubroker serve` on SIGHUP reads its config file again: a new rate limit and
 * log level apply at once, a changed key that needs a restart is named in the log and left as
 * it was, and a file that does not load changes nothing; SIGTERM then stops it cleanly. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "support_daemon.h"

static e2e_daemon D;
static char cfg_path[400];

static void write_config(int per_hour, const char *level, int port, const char *extra)
{
    FILE *f = fopen(cfg_path, "w");
    assert_non_null(f);
    fprintf(f,
            "server:\n  port: %d\nstorage:\n  data_dir: \"%s/data\"\nrate_limit:\n"
            "  requests_per_hour: %d\nlog:\n  level: %s\n%s",
            port, D.dir, per_hour, level, extra ? extra : "");
    fclose(f);
}

static long get_account(void)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", D.admin_key, NULL, &r);
    long st = r.status;
    e2e_resp_free(&r);
    return st;
}

/* Polls until the log contains needle (5 s at most). */
static void wait_log(const char *needle)
{
    for (int i = 0; i < 250 && !e2e_file_contains(D.log_path, needle); i++)
        usleep(20000);
    if (!e2e_file_contains(D.log_path, needle)) fail_msg("the log never said '%s'", needle);
}

static void test_sighup_reloads(void **state)
{
    (void)state;
    e2e_tmpdir(D.dir, sizeof(D.dir));
    snprintf(cfg_path, sizeof(cfg_path), "%s/gpubroker.yaml", D.dir);
    write_config(5, "info", 0, NULL);
    const char *init[] = {"init", "--config", cfg_path, NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(e2e_cli(init, NULL, NULL, &out, &err), 0);
    const char *k = strstr(out, "GPUBROKER_API_KEY=");
    assert_non_null(k);
    snprintf(D.admin_key, sizeof(D.admin_key), "%.*s", (int)strcspn(k + 18, "\n"), k + 18);
    free(out);
    free(err);
    const char *serve[] = {"serve", "--config", cfg_path, NULL};
    e2e_start(&D, serve, NULL);
    int ok = 0;
    while (get_account() == 200)
        ok++;
    assert_int_equal(ok, 5); /* 5 an hour: the sixth is refused */
    /* at info, a request's own debug line is not logged */
    assert_false(e2e_file_contains(D.log_path, "GET /api/volt/account -> "));
    /* more requests, a debug log, and a new port (a restart's business) */
    write_config(1000, "debug", 1, NULL);
    kill(D.pid, SIGHUP);
    wait_log("rate_limit.requests_per_hour applied");
    wait_log("log.level applied");
    wait_log("server.port changed: it takes effect after a restart");
    assert_int_equal(get_account(), 200);
    wait_log("GET /api/volt/account -> 200"); /* debug: the level is in effect, not only named */
    /* a file that does not load: nothing changes, it keeps serving */
    write_config(3, "info", 0, "rate_limit: [oops\n");
    kill(D.pid, SIGHUP);
    wait_log("the config does not load, nothing changed");
    for (int i = 0; i < 10; i++)
        assert_int_equal(get_account(), 200); /* still 1000 an hour, not 3 */
    e2e_stop(&D);                             /* SIGTERM: exit 0 within 10 s */
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    gb_http_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sighup_reloads)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
