/* e2e_jobs.c: fine-tuning end to end in sandbox mode: a job through every state to success
 * on a placed pod running the simulated trainer; the seed's price and the up-front debit;
 * 402; validation; every cancel case and its refund; a trainer that fails; no nodes in time
 * (refunded automatically); kill -9 of the daemon, after which the job continues and nothing
 * is debited or refunded twice; concurrent cancels racing the runner; the jobs CLI. After
 * every test the balance equals the sum of the account's ledger entries. */
#include <pthread.h>
#include <setjmp.h>
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
static const char *ENV[] = {"GPUBROKER_JOBS_RUNNER_INTERVAL_MS=200",
                            "GPUBROKER_RECONCILER_INTERVAL_MS=200",
                            "GPUBROKER_JOBS_FIND_NODES_TIMEOUT_MS=3000",
                            "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000", NULL};
static const char *EXTRA[] = {"--sim-speed", "60", NULL};

/* A text job's body (a static buffer: one at a time). */
static const char *TEXT_JOB_fn(const char *name, const char *model, int hours)
{
    static char b[512];
    snprintf(b, sizeof(b),
             "{\"name\":\"%s\",\"taskType\":\"text\",\"model\":\"%s\",\"dsRepo\":"
             "\"myorg/support-qa\",\"hours\":%d,\"fieldInstruction\":\"instruction\","
             "\"fieldOutput\":\"output\"}",
             name, model, hours);
    return b;
}
#define TEXT_JOB(n, m, h) TEXT_JOB_fn(n, m, h)

static double balance(const char *key)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r);
    assert_int_equal(r.status, 200);
    double b = cJSON_GetObjectItemCaseSensitive(r.json, "balance")->valuedouble;
    e2e_resp_free(&r);
    return b;
}

/* Balance of every account equals the sum of its ledger, read from the daemon's database. */
static void ledger_consistent(void)
{
    gb_db *db = e2e_db_open(&D);
    /* a job refunded twice would show as two refund rows */
    assert_int_equal(e2e_db_int(db,
                                "SELECT count(*) FROM (SELECT ref FROM ledger WHERE "
                                "kind = 'refund' GROUP BY ref HAVING count(*) > 1) AS twice",
                                NULL, NULL, NULL),
                     0);
    /* refunds only for jobs marked refunded, debits one per job */
    assert_int_equal(
        e2e_db_int(
            db,
            "SELECT count(*) FROM fine_tuning_jobs j WHERE "
            "(SELECT count(*) FROM ledger WHERE ref = j.id AND kind = 'debit') <> 1 "
            "OR (SELECT count(*) FROM ledger WHERE ref = j.id AND kind = 'refund') <> j.refunded",
            NULL, NULL, NULL),
        0);
    gb_db_close(db);
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    e2e_start_sandbox_args(&D, NULL, ENV, EXTRA);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

static void create(const char *key, const char *body, char *id, size_t n)
{
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", key, body, &r);
    if (r.status != 201) fail_msg("create: %ld %s", r.status, r.body);
    snprintf(id, n, "%s", e2e_str(&r, "job.id"));
    e2e_resp_free(&r);
}

static char *wait_status(const char *id, const char *want, int seconds)
{
    char path[512];
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", id);
    for (int i = 0; i < seconds * 10; i++) {
        e2e_resp r;
        e2e_req(&D, "GET", path, D.key, NULL, &r);
        assert_int_equal(r.status, 200);
        const char *st = e2e_str(&r, "job.status");
        if (st && strcmp(st, want) == 0) {
            char *b = r.body;
            r.body = NULL;
            e2e_resp_free(&r);
            return b;
        }
        e2e_resp_free(&r);
        usleep(100000);
    }
    fail_msg("job %s never reached %s", id, want);
    return NULL;
}

static void sim_post(const char *path, const char *json)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", e2e_sim_url(&D, "volt"), path);
    gb_http_req req = {.method = json ? "POST" : "DELETE",
                       .url = url,
                       .body = json,
                       .body_len = json ? strlen(json) : 0};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    gb_http_resp_free(&resp);
}

static void test_job_to_success(void **state)
{
    (void)state;
    double before = balance(D.key);
    char id[64];
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key,
            TEXT_JOB("my-llama-finetune", "meta-llama/Llama-3.1-8B-Instruct", 2), &r);
    assert_int_equal(r.status, 201);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "success")));
    assert_non_null(strstr(r.body, "\"costPerHour\":27.75"));
    assert_non_null(strstr(r.body, "\"totalCost\":55.50"));
    assert_string_equal(e2e_str(&r, "job.status"), "pending");
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "job.id"));
    e2e_resp_free(&r);
    assert_true(balance(D.key) == before - 55.50); /* debited up front */
    free(wait_status(id, "training", 30));
    char *done = wait_status(id, "success", 60);
    assert_non_null(strstr(done, "\"outputModelRepo\":\"gpubroker-sim/"));
    assert_non_null(strstr(done, "\"progress\":100"));
    assert_null(strstr(done, "\"startedAt\":null"));
    assert_null(strstr(done, "\"completedAt\":null"));
    /* the job's pod is removed when the job ends */
    cJSON *j = cJSON_Parse(done);
    char pod[512], repo[256];
    cJSON *job = cJSON_GetObjectItemCaseSensitive(j, "job");
    snprintf(pod, sizeof(pod), "/api/volt/pods/%s",
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "podId")));
    snprintf(repo, sizeof(repo), "%s",
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "outputModelRepo")));
    cJSON_Delete(j);
    free(done);
    /* the repo is the one the job's own pod trained: named after its workload there */
    e2e_req(&D, "GET", pod, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    char want[256];
    snprintf(want, sizeof(want), "gpubroker-sim/%s", e2e_str(&r, "provider_id"));
    e2e_resp_free(&r);
    assert_string_equal(repo, want);
    for (int i = 0; i < 50; i++) {
        e2e_req(&D, "GET", pod, D.key, NULL, &r);
        int gone = strstr(r.body, "\"status\":\"deleted\"") != NULL;
        e2e_resp_free(&r);
        if (gone) break;
        if (i == 49) fail_msg("the job's pod %s was not removed", pod);
        usleep(100000);
    }
    assert_true(balance(D.key) == before - 55.50); /* no refund for a success */
    /* a finished job cannot be cancelled */
    char path[512];
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", id);
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    e2e_expect_error(&r, 409, "CONFLICT");
    e2e_resp_free(&r);
    ledger_consistent();
}

static void test_payment_and_validation(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key,
            "{\"name\":\"poor\",\"credit\":\"10\"}", &r);
    char poor[96];
    snprintf(poor, sizeof(poor), "%s", e2e_str(&r, "api_key.key"));
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/fine-tuning", poor, TEXT_JOB("x", "Qwen/Qwen2.5-0.5B", 1), &r);
    e2e_expect_error(&r, 402, "INSUFFICIENT_BALANCE");
    e2e_resp_free(&r);
    assert_true(balance(poor) == 10.0);
    e2e_req(&D, "GET", "/api/volt/fine-tuning", poor, NULL, &r);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(r.json, "total")->valuedouble, 0);
    e2e_resp_free(&r);
    const char *bad[][2] = {
        {"{\"name\":\"x\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\",\"dsRepo\":\"a/"
         "b\",\"hours\":1,\"fieldInstruction\":\"i\",\"fieldOutput\":5}",
         "fieldOutput"}, /* missing, it defaults to "output" as in Volt's examples */
        {"{\"name\":\"x\",\"taskType\":\"chat\",\"model\":\"Qwen/Qwen2.5-0.5B\",\"dsRepo\":\"a/"
         "b\",\"hours\":1,\"chatTemplate\":\"klingon\",\"fieldConversation\":\"c\"}",
         "chatTemplate"},
        {"{\"name\":\"x\",\"taskType\":\"text\",\"model\":\"acme/mystery-model\",\"dsRepo\":\"a/"
         "b\",\"hours\":1,\"fieldInstruction\":\"i\",\"fieldOutput\":\"o\"}",
         "model"},
        {"{\"name\":\"x\",\"taskType\":\"custom_chat\",\"model\":\"Qwen/"
         "Qwen2.5-7B-Instruct\",\"hours\":2}",
         "datasetUrl"},
        {"{\"name\":\"x\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\",\"dsRepo\":\"a/"
         "b\",\"hours\":0,\"fieldInstruction\":\"i\",\"fieldOutput\":\"o\"}",
         "hours"},
        {"{\"name\":\"x\",\"taskType\":\"poetry\",\"model\":\"Qwen/Qwen2.5-0.5B\",\"hours\":1}",
         "taskType"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e2e_req(&D, "POST", "/api/volt/fine-tuning", D.key, bad[i][0], &r);
        e2e_expect_error(&r, 400, "VALIDATION_ERROR");
        if (!strstr(e2e_str(&r, "message"), bad[i][1]))
            fail_msg("%s: %s", bad[i][1], e2e_str(&r, "message"));
        e2e_resp_free(&r);
    }
}

static void test_cancel_rules(void **state)
{
    (void)state;
    double before = balance(D.key);
    char id[64], path[128];
    e2e_resp r;
    /* before training: a full refund, the seed's message */
    create(D.key, TEXT_JOB("cancel-early", "meta-llama/Llama-3.1-8B-Instruct", 2), id, sizeof(id));
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", id);
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "message"),
                        "Job cancelled and $55.50 refunded to your account");
    assert_string_equal(e2e_str(&r, "job.status"), "cancelled");
    /* one type per name: refunded is the boolean (as on the job), refundedAmount the money */
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "refunded")));
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r.json, "refundedAmount")) ==
                55.50);
    e2e_resp_free(&r);
    assert_true(balance(D.key) == before);
    e2e_req(&D, "DELETE", path, D.key, NULL, &r); /* twice: finished now */
    e2e_expect_error(&r, 409, "CONFLICT");
    e2e_resp_free(&r);
    assert_true(balance(D.key) == before);
    /* once training has started: cancelled without refund, its pod removed */
    create(D.key, TEXT_JOB("cancel-late", "Qwen/Qwen2.5-0.5B", 1), id, sizeof(id));
    free(wait_status(id, "training", 30));
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", id);
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr(e2e_str(&r, "message"), "refunded to your account"));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "refunded")));
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r.json, "refundedAmount")) ==
                0);
    e2e_resp_free(&r);
    assert_true(balance(D.key) == before - 18.50);
    /* another account's job is not found */
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key, "{\"name\":\"mallory\"}", &r);
    char other[96];
    snprintf(other, sizeof(other), "%s", e2e_str(&r, "api_key.key"));
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", path, other, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    ledger_consistent();
}

static void test_trainer_failure_and_no_nodes(void **state)
{
    (void)state;
    double before = balance(D.key);
    char id[64];
    sim_post("/_sim/trainer", "{\"fail_next\":1}");
    create(D.key, TEXT_JOB("doomed", "Qwen/Qwen2.5-0.5B", 1), id, sizeof(id));
    char *b = wait_status(id, "failure", 60);
    assert_non_null(strstr(b, "simulated trainer failure"));
    free(b);
    assert_true(balance(D.key) == before - 18.50); /* training had started: no refund */
    /* no capacity anywhere: the job gives up after the time allowed and is refunded */
    sim_post("/_sim/faults", "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/"
                             "pods\",\"capacity_error\":true,\"count\":-1}");
    create(D.key, TEXT_JOB("homeless", "Qwen/Qwen2.5-0.5B", 1), id, sizeof(id));
    /* while it looks, the job says why it waits */
    char path[128], waiting[600] = "";
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", id);
    for (int i = 0; i < 100 && !waiting[0]; i++) {
        e2e_resp r;
        e2e_req(&D, "GET", path, D.key, NULL, &r);
        const char *m = e2e_str(&r, "job.message");
        if (m && strncmp(m, "waiting: no machine with 1x ", 28) == 0)
            snprintf(waiting, sizeof(waiting), "%s", m);
        e2e_resp_free(&r);
        if (!waiting[0]) usleep(50000);
    }
    if (!waiting[0]) fail_msg("the job never said why it waits");
    b = wait_status(id, "failure_finding_nodes", 30);
    assert_non_null(strstr(b, "\"refunded\":true"));
    assert_non_null(strstr(b, "no nodes could be found in time (3 s): no machine with 1x "));
    free(b);
    sim_post("/_sim/faults", NULL);
    assert_true(balance(D.key) == before - 18.50);
    ledger_consistent();
}

/* A datasetUrl into the broker's own network (cloud metadata here) is refused before any
 * packet is sent; the job fails before training and is refunded in full. */
static void test_dataset_url_guard(void **state)
{
    (void)state;
    double before = balance(D.key);
    char id[64];
    create(D.key,
           "{\"name\":\"sneaky\",\"taskType\":\"custom_chat\",\"model\":\"Qwen/Qwen2.5-0.5B\","
           "\"datasetUrl\":\"http://169.254.169.254/latest/meta-data\",\"hours\":1}",
           id, sizeof(id));
    char *b = wait_status(id, "failure", 20);
    assert_non_null(strstr(b, "refused"));
    assert_non_null(strstr(b, "\"refunded\":true"));
    free(b);
    assert_true(balance(D.key) == before);
    ledger_consistent();
}

typedef struct {
    const char *id;
    long status;
} cancel_arg;

static void *cancel_thread(void *p)
{
    cancel_arg *a = p;
    char path[512];
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", a->id);
    e2e_resp r;
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    a->status = r.status;
    e2e_resp_free(&r);
    return NULL;
}

static void test_concurrent_cancels(void **state)
{
    (void)state;
    double before = balance(D.key);
    enum { JOBS = 6, RACERS = 3 };
    char ids[JOBS][64];
    for (int i = 0; i < JOBS; i++)
        create(D.key, TEXT_JOB("race", "Qwen/Qwen2.5-0.5B", 1), ids[i], sizeof(ids[i]));
    usleep(300000); /* the runner is moving them along meanwhile */
    pthread_t th[JOBS * RACERS];
    cancel_arg args[JOBS * RACERS];
    for (int i = 0; i < JOBS * RACERS; i++) {
        args[i].id = ids[i % JOBS];
        pthread_create(&th[i], NULL, cancel_thread, &args[i]);
    }
    for (int i = 0; i < JOBS * RACERS; i++)
        pthread_join(th[i], NULL);
    for (int j = 0; j < JOBS; j++) { /* exactly one cancel of each job succeeded */
        int ok = 0;
        for (int i = j; i < JOBS * RACERS; i += JOBS)
            ok += args[i].status == 200;
        assert_int_equal(ok, 1);
    }
    ledger_consistent();
    /* the balance agrees with the jobs: refunded ones cost nothing */
    e2e_resp r;
    double cost = 0;
    for (int j = 0; j < JOBS; j++) {
        char path[512];
        snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", ids[j]);
        e2e_req(&D, "GET", path, D.key, NULL, &r);
        assert_string_equal(e2e_str(&r, "job.status"), "cancelled");
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(r.json, "job"), "refunded")))
            cost += 18.50;
        e2e_resp_free(&r);
    }
    assert_true(balance(D.key) == before - cost);
}

static void test_kill9_continues(void **state)
{
    (void)state;
    double before = balance(D.key);
    char id[64], dir[256], key[96];
    create(D.key, TEXT_JOB("survivor", "Qwen/Qwen2.5-0.5B", 1), id, sizeof(id));
    snprintf(dir, sizeof(dir), "%s", D.dir);
    snprintf(key, sizeof(key), "%s", D.key);
    e2e_kill9(&D);
    e2e_start_sandbox_args(&D, dir, ENV, EXTRA);
    snprintf(D.key, sizeof(D.key), "%s", key); /* the old key still works */
    char *b = wait_status(id, "success", 90);
    free(b);
    assert_true(balance(D.key) == before - 18.50); /* debited once, never refunded */
    ledger_consistent();
}

/* ---- kill -9 in a burst of creates ---- */
enum { BURST_MAX = 200 };
typedef struct {
    const char *url, *key;
    char ids[BURST_MAX][64]; /* the jobs answered 201 */
    int n;                   /* read by the main thread while this one runs */
    int failed;              /* a 201 without a job id */
} burst_arg;

/* Creates jobs until the daemon is gone (no cmocka asserts off the main thread). */
static void *burst_thread(void *p)
{
    burst_arg *a = p;
    char body[512];
    e2e_text_job("burst", body, sizeof(body));
    while (__atomic_load_n(&a->n, __ATOMIC_ACQUIRE) < BURST_MAX) {
        gb_http_resp resp;
        if (e2e_post_raw(a->url, "/api/volt/fine-tuning", a->key, body, 20000, &resp))
            break; /* killed */
        if (resp.status == 201) {
            cJSON *o = cJSON_Parse(resp.body);
            const cJSON *id =
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "job"), "id");
            if (cJSON_IsString(id))
                snprintf(a->ids[a->n], sizeof(a->ids[0]), "%s", id->valuestring);
            else
                a->failed++;
            cJSON_Delete(o);
            __atomic_store_n(&a->n, a->n + 1, __ATOMIC_RELEASE);
        }
        gb_http_resp_free(&resp);
    }
    return NULL;
}

/* Reads every sandbox simulator's workloads (/_sim/workloads; one without that view is
 * skipped): *ours counts those whose name is the pod of a "burst" job, *twice the names seen
 * more than once (deleted ones included). */
static void sim_names_read(gb_db *db, int *ours, int *twice)
{
    *ours = *twice = 0;
    cJSON *names = cJSON_CreateObject();
    assert_non_null(names);
    for (int k = 0; k < D.nsims; k++) {
        char url[256];
        snprintf(url, sizeof(url), "%s/_sim/workloads", D.sim_url[k]);
        gb_http_req req = {.method = "GET", .url = url};
        gb_http_resp resp;
        assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
        cJSON *root = resp.status == 200 ? cJSON_Parse(resp.body) : NULL;
        gb_http_resp_free(&resp);
        const cJSON *w;
        cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(root, "workloads"))
        {
            const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "name"));
            if (!nm || !nm[0]) continue;
            if (cJSON_GetObjectItemCaseSensitive(names, nm)) (*twice)++;
            cJSON_AddTrueToObject(names, nm);
            *ours += e2e_db_int(db,
                                "SELECT count(*) FROM pods p JOIN fine_tuning_jobs j"
                                " ON j.id = p.job_id WHERE j.name = 'burst'"
                                " AND p.workload_name = ?1",
                                nm, NULL, NULL) > 0;
        }
        cJSON_Delete(root);
    }
    cJSON_Delete(names);
}

/* Concurrent creates (committed together, docs/store.md "Group commit") and a kill -9 among
 * them: every job answered 201 is there after the restart, debited once, and every job there
 * (answered or not) has its one debit; the balance is the ledger's sum; at the simulators the
 * jobs' workloads appear, none made twice. */
static void test_kill9_in_burst_of_creates(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    char credit[256];
    snprintf(credit, sizeof(credit), "/api/volt/admin/accounts/%s/credit", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    e2e_req(&D, "POST", credit, D.admin_key, "{\"amount\":\"100000\"}", &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    gb_db *db = e2e_db_open(&D);
    int64_t before = e2e_db_int(db, "SELECT count(*) FROM fine_tuning_jobs", NULL, NULL, NULL);
    gb_db_close(db);
    enum { THREADS = 4 };
    static burst_arg args[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].url = D.url;
        args[i].key = D.key;
        assert_int_equal(pthread_create(&th[i], NULL, burst_thread, &args[i]), 0);
    }
    for (int t = 0, told = 0; told < 24; t++) { /* 24 answered, then the kill */
        assert_true(t < 3000);
        usleep(5000);
        told = 0;
        for (int i = 0; i < THREADS; i++)
            told += __atomic_load_n(&args[i].n, __ATOMIC_ACQUIRE);
    }
    /* SQLite: the creates went through group commit (/metrics); PostgreSQL has none */
    e2e_req(&D, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    double works = e2e_metric(r.body, "gpubroker_db_group_works_total");
    double commits = e2e_metric(r.body, "gpubroker_db_group_commits_total");
    if (e2e_db_is_pg()) {
        assert_true(works < 0 && commits < 0);
    } else {
        assert_true(works >= 24);
        assert_true(commits >= 1 && commits <= works);
    }
    e2e_resp_free(&r);
    char dir[256], key[96];
    snprintf(dir, sizeof(dir), "%s", D.dir);
    snprintf(key, sizeof(key), "%s", D.key);
    e2e_kill9(&D);
    int told = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failed, 0);
        told += args[i].n;
    }
    e2e_start_sandbox_args(&D, dir, ENV, EXTRA);
    snprintf(D.key, sizeof(D.key), "%s", key);
    db = e2e_db_open(&D);
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < args[i].n; k++) {
            if (e2e_db_int(db, "SELECT count(*) FROM fine_tuning_jobs WHERE id = ?1",
                           args[i].ids[k], NULL, NULL) != 1)
                fail_msg("job %s was answered 201 and is gone after kill -9", args[i].ids[k]);
        }
    int64_t after = e2e_db_int(db, "SELECT count(*) FROM fine_tuning_jobs", NULL, NULL, NULL);
    assert_true(after - before >= told);
    /* the running balance is the sum of the ledger for every account */
    assert_int_equal(e2e_db_int(db,
                                "SELECT count(*) FROM ledger_balances b WHERE b.balance <> "
                                "(SELECT COALESCE(SUM(amount), 0) FROM ledger l"
                                " WHERE l.account_id = b.account_id)",
                                NULL, NULL, NULL),
                     0);
    /* the far side: the restarted daemon places the jobs; every simulator's own record shows
     * workloads made for them, and no workload name twice (a job's pod created again) */
    int ours = 0, twice = 0;
    for (int t = 0; t < 150 && ours == 0; t++) {
        usleep(100000);
        sim_names_read(db, &ours, &twice);
    }
    if (ours == 0) fail_msg("no simulator shows a workload of the burst's jobs");
    assert_int_equal(twice, 0);
    gb_db_close(db);
    ledger_consistent();
}

static void test_cli(void **state)
{
    (void)state;
    char url[200], key[160];
    snprintf(url, sizeof(url), "GPUBROKER_URL=%s", D.url);
    snprintf(key, sizeof(key), "GPUBROKER_API_KEY=%s", D.key);
    const char *env[] = {url, key, "GPUBROKER_WAIT_INTERVAL_MS=100", NULL};
    char *out, *err;
    const char *submit[] = {"jobs",        "submit",
                            "--name",      "cli",
                            "--task-type", "text",
                            "--model",     "Qwen/Qwen2.5-0.5B",
                            "--ds-repo",   "org/data",
                            "--hours",     "1",
                            "--param",     "fieldInstruction=instruction",
                            "--param",     "fieldOutput=output",
                            "--wait",      "--timeout",
                            "90",          NULL};
    int rc = e2e_cli(submit, env, NULL, &out, &err);
    if (rc) fail_msg("jobs submit --wait: %d %s %s", rc, out, err);
    assert_non_null(strstr(out, "-> training"));
    assert_non_null(strstr(out, "-> success"));
    assert_non_null(strstr(out, "output model: gpubroker-sim/"));
    free(out);
    free(err);
    const char *ls[] = {"jobs", "ls", NULL};
    assert_int_equal(e2e_cli(ls, env, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "STATUS"));
    assert_non_null(strstr(out, "success"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_to_success),
        cmocka_unit_test(test_payment_and_validation),
        cmocka_unit_test(test_cancel_rules),
        cmocka_unit_test(test_trainer_failure_and_no_nodes),
        cmocka_unit_test(test_dataset_url_guard),
        cmocka_unit_test(test_concurrent_cancels),
        cmocka_unit_test(test_kill9_continues),
        cmocka_unit_test(test_cli),
        /* last: its jobs take the simulators' machines */
        cmocka_unit_test(test_kill9_in_burst_of_creates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
