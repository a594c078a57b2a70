/* e2e_cli_scripts.c: the CLI as scripts and terminals use it, through the real binary against
 * a sandbox: `providers add` refusing a key the simulator (as the platform) refuses, and
 * registering nothing; --no-verify; an unreachable platform; `providers ls` showing the last
 * error after a simulator fault (and the providers table keeping it); `pods logs --follow`
 * printing lines appended later exactly once and ending when the pod goes; `jobs logs`;
 * errors under --json and the exit codes; tables cut to $COLUMNS on a (forced) terminal and
 * whole with --wide or in a pipe; `gpubroker completion` scripts checked by the shells. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "support_daemon.h"

static e2e_daemon D;
static char ENV_URL[200], ENV_KEY[160];
static const char *ENV[] = {"GPUBROKER_JOBS_RUNNER_INTERVAL_MS=200",
                            "GPUBROKER_RECONCILER_INTERVAL_MS=200",
                            "GPUBROKER_JOBS_PROVIDERS=targon",
                            "GPUBROKER_OFFERS_TTL_MS=500",
                            "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000",
                            NULL};

/* Runs the CLI with key (the user's or the admin's) and extra env entries (NULL-ended list
 * after the arguments' NULL). */
static int run_env(const char *key, const char *const *extra, const char *stdin_text, char **out,
                   char **err, const char *const *args)
{
    const char *env[12];
    int n = 0;
    snprintf(ENV_URL, sizeof(ENV_URL), "GPUBROKER_URL=%s", D.url);
    snprintf(ENV_KEY, sizeof(ENV_KEY), "GPUBROKER_API_KEY=%s", key);
    env[n++] = ENV_URL;
    env[n++] = ENV_KEY;
    for (int i = 0; extra && extra[i] && n < 11; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    return e2e_cli(args, env, stdin_text, out, err);
}

static int run(const char *key, const char *stdin_text, char **out, char **err, ...)
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
    return run_env(key, NULL, stdin_text, out, err, args);
}

static long sim_http(const char *provider, const char *method, const char *path, const char *body,
                     char **out)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", e2e_sim_url(&D, provider), path);
    gb_http_req req = {.method = method,
                       .url = url,
                       .body = body,
                       .body_len = body ? strlen(body) : 0,
                       .timeout_ms = 10000};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    long st = resp.status;
    if (out) *out = strndup(resp.body ? resp.body : "", resp.body_len);
    gb_http_resp_free(&resp);
    return st;
}

/* The JSON error object a --json command printed on stderr (asserting its shape). */
static cJSON *json_error(const char *err, long status, const char *code)
{
    cJSON *j = cJSON_Parse(err);
    if (!j) fail_msg("stderr is not JSON: %s", err);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (!cJSON_IsObject(e)) fail_msg("not an error object: %s", err);
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")));
    assert_int_equal((long)cJSON_GetObjectItemCaseSensitive(e, "status")->valuedouble, status);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "code")), code);
    return j;
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    e2e_start_sandbox(&D, NULL, ENV);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

static int provider_listed(const char *name)
{
    e2e_resp r;
    char quoted[64];
    snprintf(quoted, sizeof(quoted), "\"name\":\"%s\"", name);
    e2e_req(&D, "GET", "/api/volt/admin/providers", D.admin_key, NULL, &r);
    assert_int_equal(r.status, 200);
    int hit = strstr(r.body, quoted) != NULL;
    e2e_resp_free(&r);
    return hit;
}

/* A wrong key is refused at `providers add` with the platform's own message (the Volt
 * simulator answers 401 "Invalid API key..." as the Volt API does) and nothing is
 * registered; the secret appears nowhere; --no-verify registers it. */
static void test_provider_add_verifies(void **state)
{
    (void)state;
    const char *url = e2e_sim_url(&D, "volt");
    char *out, *err;
    int rc = run(D.admin_key, "wrong-key-4f2a9c", &out, &err, "providers", "add", "volt-wrong",
                 "--kind", "volt", "--base-url", url, NULL);
    assert_int_equal(rc, 11);
    assert_non_null(strstr(err, "PROVIDER_KEY_REFUSED"));
    assert_non_null(strstr(err, "Invalid API key"));
    assert_null(strstr(err, "wrong-key-4f2a9c"));
    free(out);
    free(err);
    assert_false(provider_listed("volt-wrong"));
    /* the same over the API: 422 with the platform's message */
    char body[512];
    snprintf(body, sizeof(body),
             "{\"name\":\"lium-wrong\",\"kind\":\"lium\",\"base_url\":\"%s/api\","
             "\"secret\":\"wrong-key-4f2a9c\"}",
             e2e_sim_url(&D, "lium"));
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/providers", D.admin_key, body, &r);
    e2e_expect_error(&r, 422, "PROVIDER_KEY_REFUSED");
    assert_non_null(strstr(r.body, "Invalid API key"));
    assert_null(strstr(r.body, "wrong-key-4f2a9c"));
    e2e_resp_free(&r);
    assert_false(provider_listed("lium-wrong"));
    /* "verify" must be a boolean */
    snprintf(body, sizeof(body),
             "{\"name\":\"x\",\"kind\":\"volt\",\"base_url\":\"%s\",\"secret\":\"k\","
             "\"verify\":\"no\"}",
             url);
    e2e_req(&D, "POST", "/api/volt/admin/providers", D.admin_key, body, &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    e2e_resp_free(&r);
    /* a platform that cannot be reached: 502 PROVIDER_UNREACHABLE, exit 13, nothing stored */
    rc = run(D.admin_key, "some-key", &out, &err, "providers", "add", "gone", "--kind", "volt",
             "--base-url", "http://127.0.0.1:1", "--json", NULL);
    assert_int_equal(rc, 13);
    cJSON_Delete(json_error(err, 502, "PROVIDER_UNREACHABLE"));
    free(out);
    free(err);
    assert_false(provider_listed("gone"));
    /* --no-verify registers the wrong key; its first call then fails (later, as before) */
    rc = run(D.admin_key, "wrong-key-4f2a9c", &out, &err, "providers", "add", "volt-wrong",
             "--kind", "volt", "--base-url", url, "--no-verify", NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "registered provider volt-wrong"));
    free(out);
    free(err);
    assert_true(provider_listed("volt-wrong"));
    e2e_req(&D, "DELETE", "/api/volt/admin/providers/volt-wrong", D.admin_key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    /* the right key still registers after the check */
    assert_true(provider_listed("volt"));
}

/* Reads providers.last_error of name from the daemon's database. */
static char *stored_error(const char *name, long long *at)
{
    gb_db *db = e2e_db_open(&D);
    char *v = NULL;
    gb_q *s = gb_q_prep(db, "SELECT last_error, last_error_at FROM providers WHERE name = ?1");
    assert_non_null(s);
    gb_q_text(s, 1, name);
    int row = 0;
    assert_int_equal(gb_q_step(s, &row), GB_OK);
    if (row) {
        const char *t = gb_q_col_text(s, 0);
        v = strdup(t ? t : "");
        *at = gb_q_col_int64(s, 1);
    }
    gb_q_reset(s);
    gb_db_close(db);
    return v;
}

/* A fault at the simulator shows in `providers ls` as the provider's last error and when, and
 * is kept in the providers table (a restart shows it). */
static void test_providers_ls_last_error(void **state)
{
    (void)state;
    /* the offers (GET /tha/v3/inventory) answer 503 with a message of the simulator's own */
    assert_int_equal(sim_http("targon", "POST", "/_sim/faults",
                              "{\"method\":\"GET\",\"path_prefix\":\"/tha/v3/inventory\","
                              "\"status\":503,\"count\":-1}",
                              NULL),
                     200);
    char *out = NULL, *err = NULL;
    int seen = 0;
    for (int i = 0; i < 100 && !seen; i++) {
        e2e_resp r;
        e2e_req(&D, "GET", "/api/volt/machines", D.key, NULL, &r); /* refreshes the offers */
        e2e_resp_free(&r);
        assert_int_equal(run(D.admin_key, NULL, &out, &err, "providers", "ls", "--json", NULL), 0);
        cJSON *j = cJSON_Parse(out);
        const cJSON *p;
        cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(j, "providers"))
        {
            const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));
            const char *le =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "last_error"));
            if (n && !strcmp(n, "targon") && le && strstr(le, "503")) {
                seen = 1;
                assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p, "last_error_at")));
            }
            if (n && strcmp(n, "targon") != 0) /* the others stay clean */
                assert_null(strstr(le ? le : "", "503"));
        }
        cJSON_Delete(j);
        free(out);
        free(err);
        if (!seen) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(seen);
    /* the table shows it too, and the database has it */
    assert_int_equal(run(D.admin_key, NULL, &out, &err, "providers", "ls", NULL), 0);
    assert_non_null(strstr(out, "LAST ERROR"));
    assert_non_null(strstr(out, "503"));
    free(out);
    free(err);
    long long at = 0;
    char *stored = NULL;
    for (int i = 0; i < 50; i++) {
        free(stored);
        stored = stored_error("targon", &at);
        if (stored && strstr(stored, "503")) break;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    assert_non_null(stored);
    assert_non_null(strstr(stored, "503"));
    assert_true(at > 0);
    free(stored);
    assert_int_equal(sim_http("targon", "DELETE", "/_sim/faults", NULL, NULL), 200);
}

/* The lines of text (split at '\n'); returns the count and fills v (pointers into text). */
static int split(char *text, char **v, int max)
{
    int n = 0;
    for (char *p = text, *nl; p && *p && n < max; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        v[n++] = p;
    }
    return n;
}

static long logs_served(void)
{
    char *out = NULL;
    assert_int_equal(sim_http("targon", "GET", "/_sim/requests", NULL, &out), 200);
    cJSON *j = cJSON_Parse(out);
    free(out);
    long n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "by_route"))
    {
        size_t l = strlen(it->string);
        if (l > 5 && !strcmp(it->string + l - 5, "/logs")) n += (long)it->valuedouble;
    }
    cJSON_Delete(j);
    return n;
}

typedef struct {
    const char *args[12];
    const char *env[4];
    int rc;
    char *out, *err;
} bg_cli;

static void *bg_run(void *arg)
{
    bg_cli *b = arg;
    b->rc = run_env(D.key, b->env, NULL, &b->out, &b->err, b->args);
    return NULL;
}

static void create_targon_pod(char *id, size_t n)
{
    char machine[192], body[512];
    e2e_machine_of(&D, "targon", machine, sizeof(machine), NULL);
    snprintf(body, sizeof(body),
             "{\"machine_id\":\"%s\",\"name\":\"follow-me\",\"image\":\"pytorch/pytorch:latest\"}",
             machine);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", D.key, body, &r);
    if (r.status != 201 && r.status != 202) fail_msg("create: %ld %s", r.status, r.body);
    snprintf(id, n, "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
}

/* `pods logs --follow` prints the lines there are, then each line appended later exactly
 * once, and ends by itself when the pod is deleted; its output is the pod's whole log. */
static void test_pods_logs_follow(void **state)
{
    (void)state;
    char id[64];
    create_targon_pod(id, sizeof(id));
    e2e_wait_pod(&D, D.key, id, "running", 30000);
    bg_cli b = {.args = {"pods", "logs", id, "--follow", "--tail", "10000", NULL},
                .env = {"GPUBROKER_LOGS_INTERVAL_MS=100", NULL}};
    long before = logs_served();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bg_run, &b), 0);
    /* it has read the log at least twice before anything is appended */
    for (int i = 0; i < 100 && logs_served() < before + 2; i++) {
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    assert_true(logs_served() >= before + 2);
    /* ten minutes of simulated time: ten heartbeat lines, in two steps */
    for (int k = 0; k < 2; k++) {
        assert_int_equal(sim_http("targon", "POST", "/_sim/clock", "{\"advance_ms\":300000}", NULL),
                         200);
        long seen = logs_served();
        for (int i = 0; i < 100 && logs_served() < seen + 2; i++) {
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
    }
    e2e_resp r;
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/pods/%s", id);
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    assert_true(r.status == 200 || r.status == 202);
    e2e_resp_free(&r);
    assert_int_equal(pthread_join(t, NULL), 0); /* ended by itself (e2e_cli gives up at 60 s) */
    assert_int_equal(b.rc, 0);
    /* the whole log now, to compare with */
    char *all = NULL, *err = NULL;
    assert_int_equal(run(D.key, NULL, &all, &err, "pods", "logs", id, "--tail", "10000", NULL), 0);
    free(err);
    char *fv[512], *av[512];
    int fn = split(b.out, fv, 512), an = split(all, av, 512);
    int beats = 0;
    for (int i = 0; i < an; i++)
        beats += strstr(av[i], "heartbeat") != NULL;
    assert_true(beats >= 10);
    assert_int_equal(fn, an);
    for (int i = 0; i < fn; i++)
        assert_string_equal(fv[i], av[i]); /* each line once, in order */
    free(all);
    free(b.out);
    free(b.err);
    /* --json without --follow: one object with the lines */
    char *out = NULL;
    assert_int_equal(run(D.key, NULL, &out, &err, "pods", "logs", id, "--json", NULL), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "lines")) >= 10);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "id")), id);
    cJSON_Delete(j);
    free(out);
    free(err);
}

/* The logs of a pod whose create is still at the platform (no workload id yet): 409 saying
 * so, not the adapter's complaint about an empty id. */
static void test_pods_logs_before_placed(void **state)
{
    (void)state;
    assert_int_equal(sim_http("targon", "POST", "/_sim/faults",
                              "{\"method\":\"POST\",\"path_prefix\":\"/tha/v3/orgs\","
                              "\"latency_ms\":3000,\"count\":1}",
                              NULL),
                     200);
    char id[64], path[128];
    create_targon_pod(id, sizeof(id));
    snprintf(path, sizeof(path), "/api/volt/pods/%s/logs", id);
    e2e_resp r;
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    e2e_expect_error(&r, 409, "CONFLICT");
    assert_non_null(strstr(r.body, "being created"));
    e2e_resp_free(&r);
    char *out = NULL, *err = NULL;
    assert_int_equal(run(D.key, NULL, &out, &err, "pods", "logs", id, NULL), 11);
    free(out);
    free(err);
    e2e_wait_pod(&D, D.key, id, "running", 30000); /* then the logs come */
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/pods/%s", id);
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    e2e_resp_free(&r);
}

/* `jobs logs`: 404 for no such job, the trainer pod's lines once the job has one. */
static void test_jobs_logs(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    int rc = run(D.key, NULL, &out, &err, "jobs", "logs", "ftj_nosuchjob", "--json", NULL);
    assert_int_equal(rc, 9);
    cJSON_Delete(json_error(err, 404, "NOT_FOUND"));
    free(out);
    free(err);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key,
            "{\"name\":\"logs-job\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\","
            "\"dsRepo\":\"myorg/support-qa\",\"hours\":1,\"fieldInstruction\":\"instruction\","
            "\"fieldOutput\":\"output\"}",
            &r);
    if (r.status != 201) fail_msg("job: %ld %s", r.status, r.body);
    char id[64], path[128];
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "job.id"));
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s/logs", id);
    /* until the runner gave it a pod: 409 NO_TRAINER_POD; then the pod's log */
    int got = 0;
    for (int i = 0; i < 300 && !got; i++) {
        e2e_req(&D, "GET", path, D.key, NULL, &r);
        if (r.status == 409) {
            e2e_expect_error(&r, 409, "NO_TRAINER_POD");
        } else if (r.status == 200) {
            const char *logs = e2e_str(&r, "logs");
            const char *pod = e2e_str(&r, "pod_id");
            assert_non_null(pod);
            assert_true(pod[0] != '\0');
            if (logs && strstr(logs, "Pulling image")) got = 1;
        } else {
            fail_msg("job logs: %ld %s", r.status, r.body);
        }
        e2e_resp_free(&r);
        if (!got) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(got);
    rc = run(D.key, NULL, &out, &err, "jobs", "logs", id, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "Pulling image"));
    free(out);
    free(err);
    /* --follow --json: one {"id","line"} object per line, ending by itself once the job ends
     * (here: cancelled) */
    bg_cli b = {.args = {"jobs", "logs", id, "--follow", "--json", NULL},
                .env = {"GPUBROKER_LOGS_INTERVAL_MS=100", NULL}};
    long before = logs_served();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bg_run, &b), 0);
    for (int i = 0; i < 100 && logs_served() < before + 2; i++) {
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    assert_true(logs_served() >= before + 2);
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", id);
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(b.rc, 0);
    char *lv[512];
    int n = split(b.out, lv, 512), pulls = 0;
    assert_true(n >= 1);
    for (int i = 0; i < n; i++) {
        cJSON *j = cJSON_Parse(lv[i]);
        if (!j) fail_msg("not a JSON line: %s", lv[i]);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "id")), id);
        const char *line = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "line"));
        assert_non_null(line);
        pulls += strstr(line, "Pulling image") != NULL;
        cJSON_Delete(j);
    }
    assert_int_equal(pulls, 1); /* printed once, however many polls saw it */
    free(b.out);
    free(b.err);
}

/* Under --json an error is {"error":{code,message,status}} on stderr with the exit code of
 * the list in --help. */
static void test_json_errors_and_exit_codes(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(run(D.key, NULL, &out, &err, "--help", NULL), 0);
    assert_non_null(strstr(out, "exit codes:"));
    assert_non_null(strstr(out, "13 provider or service unavailable"));
    free(out);
    free(err);
    /* 404: 9 */
    int rc = run(D.key, NULL, &out, &err, "pods", "get", "pod_doesnotexist", "--json", NULL);
    assert_int_equal(rc, 9);
    assert_string_equal(out, "");
    cJSON_Delete(json_error(err, 404, "NOT_FOUND"));
    free(out);
    free(err);
    /* without --json the same error is a line of text */
    rc = run(D.key, NULL, &out, &err, "pods", "get", "pod_doesnotexist", NULL);
    assert_int_equal(rc, 9);
    assert_true(strncmp(err, "error: ", 7) == 0);
    free(out);
    free(err);
    /* a missing scope (403): 10 */
    rc = run(D.key, NULL, &out, &err, "accounts", "ls", "--json", NULL);
    assert_int_equal(rc, 10);
    cJSON_Delete(json_error(err, 403, "INSUFFICIENT_SCOPE"));
    free(out);
    free(err);
    /* a wrong API key (401): 10 */
    rc = run("gpb_sk_wrongwrongwrongwrongwrongwrongwrongwrong", NULL, &out, &err, "pods", "ls",
             "--json", NULL);
    assert_int_equal(rc, 10);
    cJSON_Delete(json_error(err, 401, "INVALID_API_KEY"));
    free(out);
    free(err);
    /* a usage error: 2, code USAGE, status 0 */
    rc = run(D.key, NULL, &out, &err, "keys", "ls", "--bogus", "--json", NULL);
    assert_int_equal(rc, 2);
    cJSON_Delete(json_error(err, 0, "USAGE"));
    free(out);
    free(err);
    /* a system template cannot be deleted: 403 as before */
    rc = run(D.key, NULL, &out, &err, "templates", "rm", "tpl_pytorch21", NULL);
    assert_int_equal(rc, 10);
    free(out);
    free(err);
    /* the waits' errors are JSON too: a job that does not exist (404: 9), one that does not
     * finish in time (TIMEOUT: 5) */
    rc = run(D.key, NULL, &out, &err, "jobs", "wait", "ftj_doesnotexist", "--json", NULL);
    assert_int_equal(rc, 9);
    cJSON_Delete(json_error(err, 404, "NOT_FOUND"));
    free(out);
    free(err);
    e2e_resp jr;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key,
            "{\"name\":\"wait-json\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\","
            "\"dsRepo\":\"myorg/support-qa\",\"hours\":1}",
            &jr);
    assert_int_equal(jr.status, 201);
    char jid[64];
    snprintf(jid, sizeof(jid), "%s", e2e_str(&jr, "job.id"));
    e2e_resp_free(&jr);
    rc = run(D.key, NULL, &out, &err, "jobs", "wait", jid, "--timeout", "1", "--json", NULL);
    assert_int_equal(rc, 5);
    cJSON_Delete(json_error(err, 0, "TIMEOUT"));
    free(out);
    free(err);
    char jpath[128];
    snprintf(jpath, sizeof(jpath), "/api/volt/fine-tuning/%s", jid);
    e2e_req(&D, "DELETE", jpath, D.key, NULL, &jr); /* cancelled: refunded */
    e2e_resp_free(&jr);
    /* money (402): 12, and nothing was made or charged. A script tells "top up" from other
     * refusals by this code. */
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key,
            "{\"name\":\"poor-cli\",\"credit\":\"1\"}", &jr);
    assert_int_equal(jr.status, 201);
    char poor[160];
    snprintf(poor, sizeof(poor), "%s", e2e_str(&jr, "api_key.key"));
    e2e_resp_free(&jr);
    rc = run(poor, NULL, &out, &err, "jobs", "submit", "--name", "poor", "--task-type", "text",
             "--model", "Qwen/Qwen2.5-0.5B", "--ds-repo", "org/data", "--hours", "1", "--json",
             NULL);
    assert_int_equal(rc, 12);
    assert_string_equal(out, "");
    cJSON *pe = json_error(err, 402, "INSUFFICIENT_BALANCE");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(pe, "error"), "exit_code")
                         ->valuedouble,
                     12);
    cJSON_Delete(pe);
    free(out);
    free(err);
    e2e_req(&D, "GET", "/api/volt/fine-tuning", poor, NULL, &jr);
    assert_int_equal(jr.status, 200);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(jr.json, "total")->valuedouble, 0);
    e2e_resp_free(&jr);
    /* nobody listening: 3, code CONNECTION */
    const char *args[] = {"pods", "ls", "--json", NULL};
    const char *env[] = {"GPUBROKER_URL=http://127.0.0.1:1", "GPUBROKER_API_KEY=x", NULL};
    rc = e2e_cli(args, env, NULL, &out, &err);
    assert_int_equal(rc, 3);
    cJSON_Delete(json_error(err, 0, "CONNECTION"));
    free(out);
    free(err);
}

/* Display columns of a UTF-8 line. */
static int cols(const char *s, const char *end)
{
    int n = 0;
    for (; s < end; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int max_cols(const char *text)
{
    int m = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        const char *e = nl ? nl : p + strlen(p);
        if (cols(p, e) > m) m = cols(p, e);
        p = nl ? nl + 1 : e;
    }
    return m;
}

/* On a terminal (forced: GPUBROKER_FORCE_TTY=1, the width from $COLUMNS) the table fits in
 * 60 columns by cutting the widest column with an ellipsis; --wide and a pipe show it whole. */
static void test_table_width(void **state)
{
    (void)state;
    char long_name[96];
    snprintf(long_name, sizeof(long_name), "a-very-long-ssh-key-name-%s",
             "that-goes-on-and-on-past-any-terminal-width-xyz");
    e2e_resp r;
    char body[512];
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"public_key\":\"ssh-ed25519 "
             "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl wide@test\"}",
             long_name);
    e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key, body, &r);
    if (r.status != 201) fail_msg("ssh key: %ld %s", r.status, r.body);
    e2e_resp_free(&r);
    const char *args[] = {"ssh-keys", "ls", NULL};
    const char *tty[] = {"GPUBROKER_FORCE_TTY=1", "COLUMNS=60", NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(run_env(D.key, tty, NULL, &out, &err, args), 0);
    assert_true(max_cols(out) <= 60);
    assert_non_null(strstr(out, "\xE2\x80\xA6"));
    assert_null(strstr(out, long_name));
    free(out);
    free(err);
    const char *wide_args[] = {"ssh-keys", "ls", "--wide", NULL};
    assert_int_equal(run_env(D.key, tty, NULL, &out, &err, wide_args), 0);
    assert_non_null(strstr(out, long_name));
    assert_null(strstr(out, "\xE2\x80\xA6"));
    assert_true(max_cols(out) > 60);
    free(out);
    free(err);
    /* a pipe (no terminal): everything, whatever $COLUMNS says */
    const char *pipe_env[] = {"COLUMNS=60", NULL};
    assert_int_equal(run_env(D.key, pipe_env, NULL, &out, &err, args), 0);
    assert_non_null(strstr(out, long_name));
    assert_null(strstr(out, "\xE2\x80\xA6"));
    free(out);
    free(err);
}

static int shell_exists(const char *sh)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", sh);
    return system(cmd) == 0;
}

/* `gpubroker completion bash` parses (bash -n), registers the function (complete -p) and
 * completes a subcommand and an option; zsh and fish are checked where installed. */
static void test_completion(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    char path[400], cmd[1200];
    snprintf(path, sizeof(path), "%s/completion.bash", D.dir);
    assert_int_equal(run(D.key, NULL, &out, &err, "completion", "bash", NULL), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(out, f);
    fclose(f);
    free(out);
    free(err);
    snprintf(cmd, sizeof(cmd), "bash -n %s", path);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "bash -c 'source %s && complete -p gpubroker | grep -q _gpubroker && "
             "COMP_WORDS=(gpubroker pods lo) COMP_CWORD=2 && _gpubroker && "
             "[ \"${COMPREPLY[*]}\" = logs ] && "
             "COMP_WORDS=(gpubroker providers add x --no-v) COMP_CWORD=4 && _gpubroker && "
             "[ \"${COMPREPLY[*]}\" = --no-verify ] && "
             "COMP_WORDS=(gpubroker compl) COMP_CWORD=1 && _gpubroker && "
             "[ \"${COMPREPLY[*]}\" = completion ]'",
             path);
    assert_int_equal(system(cmd), 0);
    assert_int_not_equal(run(D.key, NULL, &out, &err, "completion", "tcsh", NULL), 0);
    free(out);
    free(err);
    static const char *const shells[][2] = {{"zsh", "zsh -n %s"}, {"fish", "fish -n %s"}};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run(D.key, NULL, &out, &err, "completion", shells[i][0], NULL), 0);
        assert_non_null(strstr(out, "gpubroker"));
        if (!shell_exists(shells[i][0])) {
            printf("# %s is not installed: its syntax check is skipped\n", shells[i][0]);
        } else {
            snprintf(path, sizeof(path), "%s/completion.%s", D.dir, shells[i][0]);
            f = fopen(path, "w");
            assert_non_null(f);
            fputs(out, f);
            fclose(f);
            snprintf(cmd, sizeof(cmd), shells[i][1], path);
            assert_int_equal(system(cmd), 0);
        }
        free(out);
        free(err);
    }
}

/* The first line a long-running command (sim, sandbox) prints, then SIGTERM. */
static char *first_line_of(const char *const *args)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        const char *argv[16] = {"gpubroker"};
        for (int i = 0; args[i] && i < 14; i++)
            argv[i + 1] = args[i];
        execv(getenv("GPUBROKER_BIN"), (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = f ? getline(&line, &cap, f) : -1;
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    if (f) fclose(f);
    if (n <= 0) {
        free(line);
        return NULL;
    }
    return line;
}

/* The daemon commands take --json too: init, vault rotate, sim (one object each). */
static void test_daemon_commands_json(void **state)
{
    (void)state;
    char dir[256], config[320], data[340];
    e2e_tmpdir(dir, sizeof(dir));
    snprintf(config, sizeof(config), "%s/g.yaml", dir);
    snprintf(data, sizeof(data), "GPUBROKER_STORAGE_DATA_DIR=%s/data", dir);
    const char *env[] = {data, NULL};
    const char *init[] = {"init", "--config", config, "--json", NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(e2e_cli(init, env, NULL, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    if (!j) fail_msg("init --json: %s", out);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "already_initialized")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "config_written")));
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "api_key"));
    assert_non_null(key);
    assert_true(strncmp(key, "gpb_sk_", 7) == 0);
    cJSON_Delete(j);
    free(out);
    free(err);
    assert_int_equal(e2e_cli(init, env, NULL, &out, &err), 0); /* again: nothing new */
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "already_initialized")));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "api_key"));
    cJSON_Delete(j);
    free(out);
    free(err);
    const char *rotate[] = {"vault", "rotate", "--config", config, "--json", NULL};
    assert_int_equal(e2e_cli(rotate, env, NULL, &out, &err), 0);
    j = cJSON_Parse(out);
    if (!j) fail_msg("vault rotate --json: %s %s", out, err);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "rotated")));
    assert_true(cJSON_GetObjectItemCaseSensitive(j, "resealed")->valuedouble >= 1);
    cJSON_Delete(j);
    free(out);
    free(err);
    /* a daemon command's error under --json is the same object (a missing config: usage) */
    const char *serve[] = {"serve", "--config", "/nonexistent/gpubroker.yaml", "--json", NULL};
    assert_int_equal(e2e_cli(serve, env, NULL, &out, &err), 2);
    cJSON_Delete(json_error(err, 0, "CONFIG"));
    free(out);
    free(err);
    const char *sim[] = {"sim", "--provider", "volt", "--secret", "s3cret", "--json", NULL};
    char *line = first_line_of(sim);
    assert_non_null(line);
    j = cJSON_Parse(line);
    if (!j) fail_msg("sim --json: %s", line);
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "SIM_VOLT_SECRET")), "s3cret");
    assert_true(strncmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "SIM_VOLT_URL")),
                        "http://127.0.0.1:", 17) == 0);
    cJSON_Delete(j);
    free(line);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_add_verifies),
        cmocka_unit_test(test_pods_logs_follow),
        cmocka_unit_test(test_pods_logs_before_placed),
        cmocka_unit_test(test_jobs_logs),
        cmocka_unit_test(test_json_errors_and_exit_codes),
        cmocka_unit_test(test_table_width),
        cmocka_unit_test(test_completion),
        cmocka_unit_test(test_daemon_commands_json),
        /* last: targon's offers are away for a while after its fault */
        cmocka_unit_test(test_providers_ls_last_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
