/* e2e_jobs_recovery.c: fine-tuning jobs survive the broker's death. The trainers run at a
 * standalone `gpubroker sim` (a separate process, so they outlive a kill -9 of the daemon),
 * registered as provider "mine". Jobs reach training, the daemon is killed, the trainers
 * finish (some fail) while it is down, and after the restart every job reaches its final state
 * with the right ledger entries within a couple of runner rounds: once through the runner's
 * own look at the trainer (restart on another port: the trainers' reports cannot arrive) and
 * once through the trainers' retried reports alone (same port, trainer state URL off). A pod
 * deleted at the provider during training ends node_training_failure; a success report while
 * the job's pod is deleted is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/http_client.h"
#include "support_daemon.h"

#define SECRET "e2e-volt-secret-0123456789"
#define JOBS 4
#define FAILING 2
#define COST 18.50 /* a 1-hour job on a 0.5B model */

static e2e_daemon D, SIM;
static char ADMIN[96], KEY[96];

static long sim_req(const char *method, const char *path, const char *body)
{
    return e2e_sim_req(&SIM, SECRET, method, path, body, NULL);
}

/* GET at the simulator with its key; the parsed body (caller deletes). */
static cJSON *sim_get(const char *path)
{
    char url[256], key[96];
    snprintf(url, sizeof(url), "%s%s", SIM.url, path);
    snprintf(key, sizeof(key), "X-API-Key: %s", SECRET);
    const char *h[] = {key, NULL};
    gb_http_req req = {.method = "GET", .url = url, .headers = h};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    assert_int_equal(resp.status, 200);
    cJSON *o = cJSON_Parse(resp.body);
    gb_http_resp_free(&resp);
    assert_non_null(o);
    return o;
}

/* Runs sql on the daemon's database while it runs (SQLite: WAL, busy timeout). */
static void db_exec(const char *sql)
{
    gb_db *db = e2e_db_open(&D);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    gb_db_close(db);
}

/* Starts (or restarts, in dir) the daemon; port "0" for any, state_url NULL for the
 * sandbox's default trainer state URL. */
static void start_daemon(const char *dir, const char *port, const char *state_url)
{
    char su[160];
    const char *env[] = {"GPUBROKER_JOBS_RUNNER_INTERVAL_MS=200",
                         "GPUBROKER_RECONCILER_INTERVAL_MS=200",
                         "GPUBROKER_JOBS_LEASE_MS=1000",
                         "GPUBROKER_JOBS_PROVIDERS=mine",
                         "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000",
                         NULL,
                         NULL};
    if (state_url) {
        snprintf(su, sizeof(su), "GPUBROKER_JOBS_TRAINER_STATE_URL=%s", state_url);
        env[5] = su;
    }
    const char *extra[] = {"--port", port, NULL};
    e2e_start_sandbox_args(&D, dir, env, strcmp(port, "0") ? extra : NULL);
    if (ADMIN[0]) { /* the first run's keys still work */
        snprintf(D.admin_key, sizeof(D.admin_key), "%s", ADMIN);
        snprintf(D.key, sizeof(D.key), "%s", KEY);
    }
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    e2e_start_sim(&SIM, "volt", SECRET);
    start_daemon(NULL, "0", NULL);
    snprintf(ADMIN, sizeof(ADMIN), "%s", D.admin_key);
    snprintf(KEY, sizeof(KEY), "%s", D.key);
    e2e_register_sim(&D, &SIM, "mine", "volt", SECRET, "{\"requests_per_hour\":100000}");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    e2e_stop(&SIM);
    e2e_cleanup(&SIM);
    return 0;
}

static double balance(void)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    double b = cJSON_GetObjectItemCaseSensitive(r.json, "balance")->valuedouble;
    e2e_resp_free(&r);
    return b;
}

/* Ledger rows of kind for ref, read from the daemon's database. */
static int ledger_rows(const char *ref, const char *kind)
{
    gb_db *db = e2e_db_open(&D);
    int n = (int)e2e_db_int(db, "SELECT count(*) FROM ledger WHERE ref = ?1 AND kind = ?2", ref,
                            kind, NULL);
    gb_db_close(db);
    return n;
}

static void create(char *id, size_t n)
{
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key,
            "{\"name\":\"recover\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\","
            "\"dsRepo\":\"myorg/support-qa\",\"hours\":1,\"fieldInstruction\":\"instruction\","
            "\"fieldOutput\":\"output\"}",
            &r);
    if (r.status != 201) fail_msg("create: %ld %s", r.status, r.body);
    snprintf(id, n, "%s", e2e_str(&r, "job.id"));
    e2e_resp_free(&r);
}

/* The job's status into st (and its podId into pod, when given). */
static void job_status(const char *id, char *st, size_t n, char *pod, size_t pn)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", id);
    e2e_resp r;
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(st, n, "%s", e2e_str(&r, "job.status"));
    if (pod) snprintf(pod, pn, "%s", e2e_str(&r, "job.podId") ? e2e_str(&r, "job.podId") : "");
    e2e_resp_free(&r);
}

static void wait_status(const char *id, const char *want, int ms)
{
    char st[64] = "";
    for (int64_t end = gb_mono_ms() + ms; gb_mono_ms() < end; usleep(100000)) {
        job_status(id, st, sizeof(st), NULL, 0);
        if (!strcmp(st, want)) return;
    }
    fail_msg("job %s is %s, never reached %s", id, st, want);
}

/* Jobs to training, kill -9, the trainers finish while the daemon is down (FAILING of them
 * fail), restart: every job is final within within_ms of the restart, none refunded
 * (training had started), the pods removed. */
static void kill9_round(const char *restart_port, const char *state_url, int within_ms)
{
    double before = balance();
    char ids[JOBS][64], dir[256], port[16];
    assert_int_equal(sim_req("POST", "/_sim/clock", "{\"speed\":5}"), 200);
    assert_int_equal(sim_req("POST", "/_sim/trainer", "{\"fail_next\":2}"), 200);
    for (int i = 0; i < JOBS; i++)
        create(ids[i], sizeof(ids[i]));
    for (int i = 0; i < JOBS; i++)
        wait_status(ids[i], "training", 30000);
    const char *colon = strrchr(D.url, ':');
    snprintf(port, sizeof(port), "%s", colon ? colon + 1 : "0");
    snprintf(dir, sizeof(dir), "%s", D.dir);
    e2e_kill9(&D);
    /* far past every trainer's end: they finish (or fail) now, with nobody to tell */
    assert_int_equal(sim_req("POST", "/_sim/clock", "{\"advance_ms\":600000}"), 200);
    usleep(1500000); /* their first reports are refused by the closed port and retried */
    start_daemon(dir, restart_port ? restart_port : port, state_url);
    int64_t t0 = gb_mono_ms();
    int success = 0, failure = 0, pending = JOBS;
    char st[JOBS][64], pod[JOBS][128];
    while (pending > 0 && gb_mono_ms() - t0 < within_ms) {
        pending = 0;
        for (int i = 0; i < JOBS; i++) {
            job_status(ids[i], st[i], sizeof(st[i]), pod[i], sizeof(pod[i]));
            if (!strcmp(st[i], "training") || !strcmp(st[i], "evaluating")) pending++;
        }
        usleep(100000);
    }
    for (int i = 0; i < JOBS; i++) {
        if (!strcmp(st[i], "success"))
            success++;
        else if (!strcmp(st[i], "failure"))
            failure++;
        else
            fail_msg("job %s still %s %lld ms after the restart", ids[i], st[i],
                     (long long)(gb_mono_ms() - t0));
        assert_true(pod[i][0] != '\0');
        assert_int_equal(ledger_rows(ids[i], "debit"), 1);
        assert_int_equal(ledger_rows(ids[i], "refund"), 0); /* training had started */
    }
    assert_int_equal(success, JOBS - FAILING);
    assert_int_equal(failure, FAILING);
    assert_true(balance() == before - JOBS * COST);
    /* the finished jobs' pods are removed at the provider */
    for (int i = 0; i < 50 && e2e_sim_count(&SIM, "volt", NULL) > 0; i++)
        usleep(100000);
    assert_int_equal(e2e_sim_count(&SIM, "volt", NULL), 0);
}

/* The runner's own look: the daemon comes back on another port, so no report of the
 * trainers (sent to the old one) can arrive; only the trainer state endpoint tells, within
 * 2.5 s (the dead runner's lease of 1 s, then a round or two of 200 ms). */
static void test_kill9_runner_reads_trainers(void **state)
{
    (void)state;
    kill9_round("0", NULL, 2500);
}

/* The trainers' retries: the daemon comes back on the same port with the trainer state URL
 * off; the reports the trainers kept sending with backoff (0.5 s doubling: the next try may
 * be some seconds after the restart) are the only news. */
static void test_kill9_reports_retried(void **state)
{
    (void)state;
    kill9_round(NULL, "", 20000);
}

/* A pod deleted at the provider during training: node_training_failure, no refund. */
static void test_pod_killed_at_provider(void **state)
{
    (void)state;
    double before = balance();
    char id[64], st[64], pod[128], path[200];
    assert_int_equal(sim_req("POST", "/_sim/clock", "{\"speed\":5}"), 200);
    create(id, sizeof(id));
    wait_status(id, "training", 30000);
    job_status(id, st, sizeof(st), pod, sizeof(pod));
    snprintf(path, sizeof(path), "/api/volt/pods/%s", pod);
    e2e_resp r;
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(path, sizeof(path), "/api/volt/pods/%s", e2e_str(&r, "provider_id"));
    e2e_resp_free(&r);
    assert_int_equal(sim_req("DELETE", path, NULL), 200);
    wait_status(id, "node_training_failure", 10000);
    assert_int_equal(ledger_rows(id, "refund"), 0);
    assert_true(balance() == before - COST);
}

/* A success report while the job's pod is deleted (at the provider, then in the broker's
 * record by the reconciler) is refused (409), and the job is not success; the runner, let
 * loose again, ends it node_training_failure. The runner is held off meanwhile (the test
 * holds the job's lease) so the report, not the runner, meets the deleted pod. */
static void test_success_report_needs_live_pod(void **state)
{
    (void)state;
    char id[64], st[64], pod[128], path[256], sql[512], token[128] = "";
    assert_int_equal(sim_req("POST", "/_sim/clock", "{\"speed\":5}"), 200);
    create(id, sizeof(id));
    wait_status(id, "training", 30000);
    job_status(id, st, sizeof(st), pod, sizeof(pod));
    /* the job token, from the pod's template at the simulator */
    snprintf(path, sizeof(path), "/api/volt/pods/%s", pod);
    e2e_resp r;
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    snprintf(path, sizeof(path), "/api/volt/pods/%s", e2e_str(&r, "provider_id"));
    e2e_resp_free(&r);
    cJSON *sp = sim_get(path);
    char tpath[256];
    snprintf(tpath, sizeof(tpath), "/api/volt/templates/%s",
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sp, "template_id")));
    cJSON_Delete(sp);
    cJSON *tpl = sim_get(tpath);
    const char *tok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(tpl, "env_vars"), "GPUBROKER_JOB_TOKEN"));
    assert_non_null(tok);
    snprintf(token, sizeof(token), "Authorization: Bearer %s", tok);
    cJSON_Delete(tpl);
    snprintf(sql, sizeof(sql),
             "UPDATE fine_tuning_jobs SET next_step_at = 9000000000000, lease_owner = 'test',"
             " lease_until = 9000000000000 WHERE id = '%s'",
             id);
    db_exec(sql);
    /* the pod goes away at the provider; the reconciler records it deleted */
    assert_int_equal(sim_req("DELETE", path, NULL), 200);
    snprintf(path, sizeof(path), "/api/volt/pods/%s", pod);
    for (int i = 0;; i++) {
        e2e_req(&D, "GET", path, D.key, NULL, &r);
        int gone = r.body && strstr(r.body, "\"status\":\"deleted\"") != NULL;
        e2e_resp_free(&r);
        if (gone) break;
        if (i == 100) fail_msg("pod %s was never recorded deleted", pod);
        usleep(100000);
    }
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s/report", id);
    const char *h[] = {token, "Content-Type: application/json", NULL};
    e2e_req_h(&D, "POST", path, h,
              "{\"status\":\"success\",\"progress\":1,\"outputModelRepo\":\"x/y\"}", &r);
    e2e_expect_error(&r, 409, "CONFLICT");
    assert_non_null(strstr(e2e_str(&r, "message"), "no live pod"));
    e2e_resp_free(&r);
    job_status(id, st, sizeof(st), NULL, 0);
    assert_string_equal(st, "training");
    snprintf(sql, sizeof(sql),
             "UPDATE fine_tuning_jobs SET next_step_at = 0, lease_owner = '', lease_until = 0"
             " WHERE id = '%s'",
             id);
    db_exec(sql);
    wait_status(id, "node_training_failure", 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_runner_reads_trainers),
        cmocka_unit_test(test_kill9_reports_retried),
        cmocka_unit_test(test_pod_killed_at_provider),
        cmocka_unit_test(test_success_report_needs_live_pod),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
