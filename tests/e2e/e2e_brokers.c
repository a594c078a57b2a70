/* e2e_brokers.c: three `gpubroker serve` processes on one PostgreSQL (issue 19), sharing one
 * master key file, with three standalone Volt simulators (registered as mine0..mine2: the
 * trainers run there and outlive any broker) and a standalone Hub simulator. Fine-tuning jobs
 * are created through all three brokers (GB_E2E_BROKER_JOBS, default 1,000); midway one
 * broker is killed with kill -9 and another is paused (SIGSTOP) past its leases, then resumed.
 * Then: every job ends, and ends once (one fine_tuning.job.completed message each, one debit,
 * at most one refund); every completion webhook is delivered at least once (a `gpubroker
 * webhooks listen` receiver) and recorded once; the ledger sums to the kept balances; no job
 * had two pods created at a provider (a create every provider refused fails its pod and the
 * job places another) and no pod a second workload at the simulators (their far side is
 * sampled all along, and read from their own records at the end: /_sim/state, where deleted
 * pods stay) and no pod left running there. Only in the PostgreSQL
 * variant: several brokers on one SQLite file are refused by design (docs/store.md). */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/db.h"
#include "common/dbq.h"
#include "common/http_client.h"
#include "common/str.h"
#include "support_daemon.h"

#define SECRET "e2e-brokers-secret-0123456789"
#define NSIMS 3
#define NBROKERS 3
#define MAX_JOBS 5000
#define LEASE_MS 2000

static e2e_daemon B[NBROKERS], SIM[NSIMS], HUB;
static char SHARED[256], CONFIG[320], ADMIN[96], KEY[96], SECRET_WH[128];
static int PG; /* the PostgreSQL variant: the one the test runs in */
static int NJOBS;
static pid_t listener;
static char LISTEN_OUT[400], LISTEN_URL[128];

/* Far side: workload id per workload name, as sampled at the simulators. */
#define MAX_SEEN (4 * MAX_JOBS)
static struct {
    char name[64], id[64];
} seen[MAX_SEEN];
static int nseen, twice;
static char twice_names[8][64]; /* the first names seen twice, each once */
static int ntwice_names;

static void sample_sims(void)
{
    for (int s = 0; s < NSIMS; s++) {
        cJSON *w = e2e_sim_workloads_at(SIM[s].url), *it;
        cJSON_ArrayForEach(it, w)
        {
            const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "id"));
            if (!nm || !id || strncmp(nm, "gpb-", 4) != 0) continue;
            int k = 0;
            while (k < nseen && strcmp(seen[k].name, nm) != 0)
                k++;
            if (k < nseen) {
                if (strcmp(seen[k].id, id) != 0) {
                    fprintf(stderr, "workload %s twice: %s and %s\n", nm, seen[k].id, id);
                    twice++;
                    int t = 0;
                    while (t < ntwice_names && strcmp(twice_names[t], nm) != 0)
                        t++;
                    if (t == ntwice_names && t < 8)
                        gb_strlcpy(twice_names[ntwice_names++], nm, sizeof(twice_names[0]));
                }
            } else if (nseen < MAX_SEEN) {
                gb_strlcpy(seen[nseen].name, nm, sizeof(seen[0].name));
                gb_strlcpy(seen[nseen++].id, id, sizeof(seen[0].id));
            }
        }
        cJSON_Delete(w);
    }
}

static const char *const ENV_COMMON[] = {
    "GPUBROKER_SERVER_PORT=0",
    "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=10000000",
    "GPUBROKER_JOBS_RUNNER_INTERVAL_MS=200",
    "GPUBROKER_RECONCILER_INTERVAL_MS=200",
    "GPUBROKER_JOBS_LEASE_MS=2000",
    /* provider mutations: leases shorter than the pause below (the default, 2 x the provider
     * timeout + 10 s, outlasted it), and an unsure create looked for 2 s, not a minute, so a
     * killed broker's creates move on within seconds */
    "GPUBROKER_PROVIDERS_TIMEOUT_MS=2500",
    "GPUBROKER_INTENTS_CLAIM_MS=6000",
    "GPUBROKER_INTENTS_SETTLE_MS=2000",
    /* a transaction the paused broker left open (the account balance's row lock) is ended
     * within the pause, so the others go on (docs/store.md) */
    "GPUBROKER_STORAGE_IDLE_IN_TRANSACTION_MS=3000",
    "GPUBROKER_JOBS_FIND_NODES_TIMEOUT_MS=900000",
    "GPUBROKER_JOBS_PROVIDERS=mine0,mine1,mine2",
    /* a machine found full is tried again soon: the simulators' capacity frees every second */
    "GPUBROKER_PLACEMENT_BLOCK_MS=500",
    "GPUBROKER_PROVIDERS_REQUESTS_PER_MINUTE=0", /* the simulators take any rate */
    "GPUBROKER_OFFERS_TTL_MS=1000",
    "GPUBROKER_JOBS_TRAINER_IMAGE=gpubroker/sim-trainer:latest",
    "GPUBROKER_JOBS_TRAINER_STATE_URL={provider_url}/_trainer/{workload_id}",
    "GPUBROKER_WEBHOOKS_ALLOW_CIDRS=127.0.0.0/8",
    "GPUBROKER_WEBHOOKS_ATTEMPT_TIMEOUT_MS=2000",
    "GPUBROKER_WEBHOOKS_RECLAIM_AFTER_MS=3000",
};
#define NENV_COMMON (sizeof(ENV_COMMON) / sizeof(ENV_COMMON[0]))

/* The environment of broker i (i < 0: the init command), NULL-terminated, in env[]. */
static void broker_env(int i, const char **env, char (*bufs)[1300])
{
    size_t n = 0;
    for (; n < NENV_COMMON; n++)
        env[n] = ENV_COMMON[n];
    snprintf(bufs[0], 1300, "GPUBROKER_VAULT_MASTER_KEY_FILE=%s/master.key", SHARED);
    snprintf(bufs[1], 1300, "GPUBROKER_STORAGE_DATA_DIR=%s/data%d", SHARED, i < 0 ? 9 : i);
    snprintf(bufs[2], 1300, "GPUBROKER_JOBS_HUB_URL=%s", HUB.url);
    /* the database: support_daemon.c gives every command with --config CONFIG the one of
     * CONFIG's directory */
    for (int k = 0; k < 3; k++)
        env[n++] = bufs[k];
    env[n] = NULL;
}

static void start_broker(int i)
{
    const char *env[NENV_COMMON + 8];
    char bufs[3][1300];
    broker_env(i, env, bufs);
    memset(&B[i], 0, sizeof(B[i]));
    gb_snprintf(B[i].dir, sizeof(B[i].dir), "%s/data%d", SHARED, i);
    mkdir(B[i].dir, 0700);
    const char *args[] = {"serve", "--config", CONFIG, NULL};
    e2e_start(&B[i], args, env);
}

/* A `gpubroker webhooks listen` receiver: one line per webhook-id it verified (repeats of an
 * id are answered but not printed again). */
static void listener_start(void)
{
    snprintf(LISTEN_OUT, sizeof(LISTEN_OUT), "%s/listen.out", SHARED);
    listener = e2e_fork();
    if (listener == 0) {
        int o = open(LISTEN_OUT, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open("/dev/null", O_WRONLY);
        dup2(o, 1);
        dup2(e, 2);
        execl(getenv("GPUBROKER_BIN"), "gpubroker", "webhooks", "listen", "--port", "0", "--secret",
              SECRET_WH, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !LISTEN_URL[0]; i++) {
        usleep(50000);
        char *t = e2e_slurp(LISTEN_OUT, NULL);
        const char *u = t ? strstr(t, "LISTEN_URL=") : NULL;
        if (u && strchr(u, '\n'))
            snprintf(LISTEN_URL, sizeof(LISTEN_URL), "%.*s", (int)strcspn(u + 11, "\n"), u + 11);
        free(t);
    }
    if (!LISTEN_URL[0]) fail_msg("webhooks listen did not start");
}

static int listened(const char *needle)
{
    char *t = e2e_slurp(LISTEN_OUT, NULL);
    int n = 0;
    for (const char *p = t; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(t);
    return n;
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    const char *nj = getenv("GB_E2E_BROKER_JOBS");
    NJOBS = nj ? atoi(nj) : 1000;
    if (NJOBS < 6 || NJOBS > MAX_JOBS) NJOBS = 1000;
    e2e_tmpdir(SHARED, sizeof(SHARED));
    snprintf(CONFIG, sizeof(CONFIG), "%s/g.yaml", SHARED);
    if (!(PG = e2e_db_is_pg())) return 0; /* the test skips */
    for (int s = 0; s < NSIMS; s++)
        e2e_start_sim(&SIM[s], "volt", SECRET);
    e2e_start_sim(&HUB, "hub", SECRET);
    /* the one database and the one key file, made once */
    const char *env[NENV_COMMON + 8];
    char bufs[3][1300];
    broker_env(-1, env, bufs);
    const char *init[] = {"init", "--config", CONFIG, "--json", NULL};
    char *out = NULL, *err = NULL;
    if (e2e_cli(init, env, NULL, &out, &err) != 0) fail_msg("init: %s %s", out, err);
    cJSON *j = cJSON_Parse(out);
    const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "api_key"));
    if (!k) fail_msg("init gave no key: %s", out);
    snprintf(ADMIN, sizeof(ADMIN), "%s", k);
    cJSON_Delete(j);
    free(out);
    free(err);
    for (int i = 0; i < NBROKERS; i++)
        start_broker(i);
    /* a user with credit for every job, the simulators as providers (made through one broker,
     * seen by all: one database) */
    e2e_resp r;
    char body[200];
    snprintf(body, sizeof(body), "{\"name\":\"many\",\"credit\":%d}", NJOBS * 20 + 100);
    e2e_req(&B[0], "POST", "/api/volt/admin/accounts", ADMIN, body, &r);
    if (r.status != 201) fail_msg("account: %ld %s", r.status, r.body);
    snprintf(KEY, sizeof(KEY), "%s", e2e_str(&r, "api_key.key"));
    e2e_resp_free(&r);
    for (int s = 0; s < NSIMS; s++) {
        char name[16];
        snprintf(name, sizeof(name), "mine%d", s);
        snprintf(B[s].admin_key, sizeof(B[s].admin_key), "%s", ADMIN);
        e2e_register_sim(&B[s], &SIM[s], name, "volt", SECRET, "{\"requests_per_hour\":1000000}");
        /* an hour of training is five simulator minutes: a quarter second here */
        assert_int_equal(
            e2e_sim_req(&SIM[s], SECRET, "POST", "/_sim/clock", "{\"speed\":1200}", NULL), 200);
    }
    e2e_req(&B[1], "GET", "/api/volt/webhooks/secret", KEY, NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(SECRET_WH, sizeof(SECRET_WH), "%s", e2e_str(&r, "secret"));
    e2e_resp_free(&r);
    listener_start();
    snprintf(body, sizeof(body), "{\"url\":\"%s/hook\",\"events\":\"fine_tuning.job.completed\"}",
             LISTEN_URL);
    e2e_req(&B[2], "POST", "/api/volt/webhooks", KEY, body, &r);
    if (r.status != 201) fail_msg("webhook endpoint: %ld %s", r.status, r.body);
    e2e_resp_free(&r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!PG) return 0;
    for (int i = 0; i < NBROKERS; i++)
        if (B[i].pid > 0) {
            kill(B[i].pid, SIGCONT);
            e2e_stop(&B[i]);
        }
    if (listener > 0) {
        kill(listener, SIGTERM);
        waitpid(listener, NULL, 0);
    }
    for (int s = 0; s < NSIMS; s++) {
        e2e_stop(&SIM[s]);
        e2e_cleanup(&SIM[s]);
    }
    e2e_stop(&HUB);
    e2e_cleanup(&HUB);
    if (getenv("GB_E2E_KEEP")) { /* debugging: the brokers' logs and files stay */
        fprintf(stderr, "kept %s (GB_E2E_KEEP)\n", SHARED);
        return 0;
    }
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", SHARED);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- jobs ---- */

typedef struct {
    int broker, from, to, made;
    long last_status;
} creator;

static void *create_jobs(void *arg)
{
    creator *c = arg;
    char body[512];
    e2e_text_job("shared", body, sizeof(body));
    for (int i = c->from; i < c->to; i++) {
        gb_http_resp resp;
        if (e2e_post_raw(B[c->broker].url, "/api/volt/fine-tuning", KEY, body, 60000, &resp)) break;
        c->last_status = resp.status;
        c->made += resp.status == 201;
        gb_http_resp_free(&resp);
        if (c->last_status != 201) break;
    }
    return NULL;
}

/* Creates jobs [from, to) through the brokers listed (alive ones), in parallel. */
static void create_through(const int *brokers, int nb, int from, int to)
{
    creator c[NBROKERS];
    pthread_t th[NBROKERS];
    int per = (to - from + nb - 1) / nb;
    for (int k = 0; k < nb; k++) {
        int a = from + k * per, b = a + per < to ? a + per : to;
        c[k] = (creator){.broker = brokers[k], .from = a, .to = b};
        assert_int_equal(pthread_create(&th[k], NULL, create_jobs, &c[k]), 0);
    }
    for (int k = 0; k < nb; k++) {
        pthread_join(th[k], NULL);
        if (c[k].made != c[k].to - c[k].from)
            fail_msg("broker %d created %d of %d jobs (last status %ld)", c[k].broker, c[k].made,
                     c[k].to - c[k].from, c[k].last_status);
    }
}

static gb_db *open_shared(void)
{
    return e2e_db_open_dir(SHARED);
}

#define q_int(db, sql) e2e_db_int(db, sql, NULL, NULL, NULL)

#define UNFINISHED                                                                                 \
    "SELECT count(*) FROM fine_tuning_jobs WHERE status NOT IN ('success', 'failure',"             \
    " 'failure_finding_nodes', 'node_training_failure', 'cancelled')"

/* Waits until at least `done` jobs are finished, sampling the simulators meanwhile. */
/* The unfinished jobs' rows, for a run that waits on a few of them (a CI run once timed out
 * with one job left and nothing to tell why). */
static void print_unfinished(gb_db *db)
{
    gb_q *q = gb_q_prep(db, "SELECT id, status, pod_id, lease_owner, lease_until, attempts,"
                            " next_step_at FROM fine_tuning_jobs WHERE status NOT IN ('success',"
                            " 'failure', 'failure_finding_nodes', 'node_training_failure',"
                            " 'cancelled')");
    if (!q) return;
    int row = 0;
    while (!gb_q_step(q, &row) && row)
        fprintf(stderr,
                "unfinished %s: %s, pod %s, lease %s until %lld, attempts %lld, next %lld\n",
                gb_q_col_text(q, 0), gb_q_col_text(q, 1), gb_q_col_text(q, 2), gb_q_col_text(q, 3),
                (long long)gb_q_col_int64(q, 4), (long long)gb_q_col_int64(q, 5),
                (long long)gb_q_col_int64(q, 6));
    gb_q_reset(q);
}

static void wait_finished(gb_db *db, int done, int seconds)
{
    int64_t end = gb_mono_ms() + (int64_t)seconds * 1000, left = -1;
    int rounds = 0;
    while (gb_mono_ms() < end) {
        sample_sims();
        int64_t total = q_int(db, "SELECT count(*) FROM fine_tuning_jobs");
        left = q_int(db, UNFINISHED);
        if (total - left >= done) return;
        if (++rounds % 20 == 0) /* progress, every 6 s */
            fprintf(stderr, "%lld of %lld jobs finished, waiting for %d\n",
                    (long long)(total - left), (long long)total, done);
        if (rounds % 200 == 0 && left > 0 && left <= 5) /* a minute: what the last ones hold */
            print_unfinished(db);
        usleep(300000);
    }
    fail_msg("only %lld jobs finished in %d s (%lld left)",
             (long long)(q_int(db, "SELECT count(*) FROM fine_tuning_jobs") - left), seconds,
             (long long)left);
}

/* Idempotency keys are rows of the shared database: a create retried through another broker
 * is answered from the first one's answer, and the thing is made once. */
static void post_idem(int broker, const char *idem, const char *body, e2e_resp *r)
{
    char auth[160], ik[160];
    snprintf(auth, sizeof(auth), "X-API-Key: %s", KEY);
    snprintf(ik, sizeof(ik), "Idempotency-Key: %s", idem);
    const char *h[] = {auth, "Content-Type: application/json", ik, NULL};
    e2e_req_h(&B[broker], "POST", "/api/volt/templates", h, body, r);
}

static void test_idempotency_across_brokers(void **state)
{
    (void)state;
    if (!PG) skip();
    const char *body = "{\"name\":\"idem-shared\",\"image\":\"ubuntu\"}";
    e2e_resp r0, r2, mm;
    post_idem(0, "shared-1", body, &r0);
    assert_int_equal(r0.status, 201);
    assert_null(e2e_header(&r0, "Idempotent-Replayed"));
    post_idem(2, "shared-1", body, &r2);
    assert_int_equal(r2.status, 201);
    assert_string_equal(e2e_header(&r2, "Idempotent-Replayed"), "true");
    assert_string_equal(r2.body, r0.body);
    post_idem(1, "shared-1", "{\"name\":\"other\",\"image\":\"ubuntu\"}", &mm);
    e2e_expect_error(&mm, 409, "IDEMPOTENCY_MISMATCH");
    e2e_resp_free(&r0);
    e2e_resp_free(&r2);
    e2e_resp_free(&mm);
    gb_db *db = open_shared();
    assert_int_equal(q_int(db, "SELECT count(*) FROM templates WHERE name = 'idem-shared'"), 1);
    gb_db_close(db);
}

/* A stopped process's sessions (here two of this test's, named as a broker's sessions are):
 * one idle in a transaction holding a row, one queued for the row. The brokers' sweep
 * (storage.idle_in_transaction_ms, 3 s here) ends both at once; without it the queued one
 * took the row when the first was ended and held it for another whole limit (docs/store.md). */
typedef struct {
    gb_db *db;
    gb_err update, commit;
    _Atomic int resume;
} queued;

static void *queued_update(void *arg)
{
    queued *w = arg;
    if (gb_db_begin(w->db) != GB_OK) return NULL;
    w->update = gb_db_exec(w->db, "UPDATE e2e_stall SET v = v + 10 WHERE k = 'a'");
    while (!w->resume) /* stopped: the row, once taken, stays held */
        usleep(20000);
    w->commit = gb_db_commit(w->db);
    if (w->commit) gb_db_rollback(w->db);
    return NULL;
}

static void test_stopped_sessions_ended(void **state)
{
    (void)state;
    if (!PG) skip();
    gb_db *h = open_shared(), *s1 = open_shared(), *s2 = open_shared();
    assert_int_equal(gb_db_exec(h, "CREATE TABLE e2e_stall (k TEXT PRIMARY KEY, v BIGINT)"), GB_OK);
    assert_int_equal(gb_db_exec(h, "INSERT INTO e2e_stall VALUES('a', 1)"), GB_OK);
    assert_int_equal(gb_db_exec(s1, "SET application_name = 'gpubroker/e2estopped'"), GB_OK);
    assert_int_equal(gb_db_exec(s2, "SET application_name = 'gpubroker/e2estopped'"), GB_OK);
    assert_int_equal(gb_db_exec(h, "SET lock_timeout = 20000"), GB_OK);
    assert_int_equal(gb_db_begin(s1), GB_OK);
    assert_int_equal(q_int(s1, "SELECT v FROM e2e_stall WHERE k = 'a' FOR UPDATE"), 1);
    int64_t t0 = gb_mono_ms();
    queued w = {.db = s2, .update = GB_ERR_INTERNAL, .commit = GB_ERR_INTERNAL};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, queued_update, &w), 0);
    usleep(300000);
    gb_err took = gb_db_exec(h, "UPDATE e2e_stall SET v = v + 1 WHERE k = 'a'");
    int64_t waited = gb_mono_ms() - t0;
    printf("a row held by a stopped process's sessions taken after %lld ms\n", (long long)waited);
    /* the limit (3 s) and a sweep's interval (750 ms); the server's own end of idle
     * transactions is the brokers' setting, not these sessions' */
    /* s1 first: if nothing ended it, its commit frees the row s2 still waits for */
    gb_err s1_commit = gb_db_commit(s1);
    if (s1_commit) gb_db_rollback(s1);
    w.resume = 1; /* the thread ends before anything here can fail */
    pthread_join(th, NULL);
    int64_t v = q_int(h, "SELECT v FROM e2e_stall WHERE k = 'a'");
    (void)gb_db_exec(h, "DROP TABLE e2e_stall");
    gb_db_close(s2); /* closed before the checks: a failed one leaves no session behind */
    gb_db_close(s1);
    gb_db_close(h);
    assert_int_equal(took, GB_OK);
    if (waited > 8000 || waited < 2800)
        fail_msg("the row was taken after %lld ms", (long long)waited);
    assert_int_not_equal(w.commit, GB_OK);
    assert_int_not_equal(s1_commit, GB_OK);
    assert_int_equal(v, 2);
    /* the brokers say so in /metrics (two of them may both have ended the same session) */
    long long ended = 0;
    for (int i = 0; i < NBROKERS; i++) {
        e2e_resp r;
        e2e_req(&B[i], "GET", "/metrics", ADMIN, NULL, &r);
        assert_int_equal(r.status, 200);
        const char *m = strstr(r.body, "\ngpubroker_db_stalled_sessions_ended_total ");
        assert_non_null(m);
        ended += strtoll(m + strlen("\ngpubroker_db_stalled_sessions_ended_total "), NULL, 10);
        e2e_resp_free(&r);
    }
    if (ended < 2) fail_msg("the brokers' metrics count %lld sessions ended", ended);
}

/* ---- the far side: what the simulators hold at the end ---- */

typedef struct {
    int live;          /* pods not deleted, at every simulator */
    int made;          /* pods ever created, deleted ones too */
    int twice;         /* gpb- names created more than once */
    int templates;     /* templates the adapter made ("gpubroker-...") still there */
    gb_db *report;     /* when set, each live pod is printed with its record */
    char left[8][160]; /* names of live pods and templates left (the first 8) */
    int nleft;
} far_side;

static void note_left(far_side *f, const char *name)
{
    if (f->nleft < 8) gb_strlcpy(f->left[f->nleft++], name, sizeof(f->left[0]));
}

/* Every broker's log lines about the workload name (a template's without "gpubroker-"): what
 * CI shows of a leak, the logs themselves go with the test's directory. */
static void print_logs_about(const char *name)
{
    if (strncmp(name, "gpubroker-", 10) == 0) name += 10;
    for (int i = 0; i < NBROKERS; i++) {
        FILE *fp = fopen(B[i].log_path, "r");
        if (!fp) continue;
        char line[2048];
        int shown = 0;
        while (fgets(line, sizeof(line), fp) && shown < 60) {
            if (!strstr(line, name)) continue;
            fprintf(stderr, "broker %d: %s", i, line);
            shown++;
        }
        fclose(fp);
    }
}

static void far_side_read(far_side *f, gb_db *report)
{
    memset(f, 0, sizeof(*f));
    f->report = report;
    cJSON *names = cJSON_CreateObject();
    assert_non_null(names);
    for (int k = 0; k < NSIMS; k++) {
        char *body = NULL;
        assert_int_equal(e2e_sim_req(&SIM[k], SECRET, "GET", "/_sim/state", NULL, &body), 200);
        cJSON *st = cJSON_Parse(body);
        free(body);
        assert_non_null(st);
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st, "pods"))
        {
            const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
            const char *status =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "status"));
            f->made++;
            if (!status || strcmp(status, "deleted") != 0) {
                f->live++;
                if (nm) note_left(f, nm);
                if (f->report && nm) {
                    gb_q *q =
                        gb_q_prep(f->report, "SELECT p.id, p.status, p.job_id, j.status"
                                             " FROM pods p LEFT JOIN fine_tuning_jobs j"
                                             " ON j.id = p.job_id WHERE p.workload_name = ?1");
                    int row = 0;
                    gb_q_text(q, 1, nm);
                    while (!gb_q_step(q, &row) && row)
                        fprintf(stderr, "live at mine%d: %s (%s): pod %s %s, job %s %s\n", k, nm,
                                status ? status : "?", gb_q_col_text(q, 0), gb_q_col_text(q, 1),
                                gb_q_col_text(q, 2), gb_q_col_text(q, 3));
                    gb_q_reset(q);
                }
            }
            if (!nm) continue;
            if (cJSON_GetObjectItemCaseSensitive(names, nm))
                f->twice++;
            else
                cJSON_AddTrueToObject(names, nm);
        }
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st, "templates"))
        {
            const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
            if (nm && strncmp(nm, "gpubroker-", 10) == 0) {
                f->templates++;
                note_left(f, nm);
            }
        }
        cJSON_Delete(st);
    }
    cJSON_Delete(names);
}

static void test_three_brokers(void **state)
{
    (void)state;
    if (!PG) {
        printf("several brokers share one database on PostgreSQL only: skipped on SQLite\n");
        skip();
    }
    gb_db *db = open_shared();
    int64_t t0 = gb_mono_ms();
    int all[] = {0, 1, 2}, two[] = {0, 2};
    create_through(all, 3, 0, NJOBS / 2);
    wait_finished(db, NJOBS / 6, 900);
    /* midway: broker 1 dies with its leases, its claimed jobs, deliveries and pods */
    e2e_kill9(&B[1]);
    B[1].pid = 0;
    create_through(two, 2, NJOBS / 2, NJOBS);
    /* broker 2 stops past its leases (jobs 2 s, deliveries 3 s, provider mutations 6 s), then
     * wakes with old claims */
    wait_finished(db, NJOBS / 2, 900);
    kill(B[2].pid, SIGSTOP);
    for (int64_t end = gb_mono_ms() + 3 * LEASE_MS + 1000; gb_mono_ms() < end; usleep(300000))
        sample_sims();
    kill(B[2].pid, SIGCONT);
    wait_finished(db, NJOBS, 1200);
    printf("%d jobs through three brokers in %.1f s\n", NJOBS, (gb_mono_ms() - t0) / 1000.0);
    sample_sims();

    /* every job ended once: one completion message, one debit, at most one refund */
    assert_int_equal(q_int(db, "SELECT count(*) FROM fine_tuning_jobs"), NJOBS);
    assert_int_equal(q_int(db, UNFINISHED), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM wh_messages"
                               " WHERE event = 'fine_tuning.job.completed'"),
                     NJOBS);
    int64_t ok = q_int(db, "SELECT count(*) FROM fine_tuning_jobs WHERE status = 'success'");
    printf("%lld of %d succeeded\n", (long long)ok, NJOBS);
    assert_true(ok >= NJOBS * 9 / 10);
    gb_q *q = gb_q_prep(db, "SELECT payload FROM wh_messages"
                            " WHERE event = 'fine_tuning.job.completed'");
    int row = 0, parsed = 0;
    char(*ids)[64] = calloc((size_t)NJOBS, 64);
    assert_non_null(ids);
    while (!gb_q_step(q, &row) && row) {
        cJSON *o = cJSON_Parse(gb_q_col_text(q, 0));
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "jobId"));
        if (id && parsed < NJOBS) gb_strlcpy(ids[parsed++], id, 64);
        cJSON_Delete(o);
    }
    gb_q_reset(q);
    assert_int_equal(parsed, NJOBS);
    for (int i = 0; i < parsed; i++) /* one message per job: no id twice */
        for (int k = i + 1; k < parsed; k++)
            if (!strcmp(ids[i], ids[k])) fail_msg("job %s completed twice", ids[i]);
    free(ids);
    assert_int_equal(q_int(db, "SELECT count(*) FROM (SELECT ref FROM ledger WHERE kind = 'debit'"
                               " AND ref LIKE 'ftj\\_%' GROUP BY ref HAVING count(*) <> 1) x"),
                     0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM ledger WHERE kind = 'debit'"
                               " AND ref LIKE 'ftj\\_%'"),
                     NJOBS);
    assert_int_equal(q_int(db, "SELECT count(*) FROM (SELECT ref FROM ledger WHERE kind = 'refund'"
                               " GROUP BY ref HAVING count(*) > 1) x"),
                     0);
    /* the ledger sums to the kept balances, account by account */
    assert_int_equal(q_int(db, "SELECT count(*) FROM ledger_balances b WHERE b.balance <>"
                               " (SELECT coalesce(sum(amount), 0) FROM ledger l"
                               "  WHERE l.account_id = b.account_id)"),
                     0);
    assert_int_equal(q_int(db, "SELECT count(DISTINCT account_id) FROM ledger"),
                     q_int(db, "SELECT count(*) FROM ledger_balances"));
    /* no pod twice: a job's pod whose create every provider refused (full) is failed and the
     * job places another, but no job ever had two pods created at a provider, and no pod two
     * workloads at the simulators */
    assert_int_equal(q_int(db, "SELECT count(*) FROM (SELECT job_id FROM pods WHERE job_id <> ''"
                               " AND provider_id <> '' GROUP BY job_id HAVING count(*) > 1) x"),
                     0);
    gb_q *pq = gb_q_prep(db, "SELECT p.id, p.status, p.job_id, j.status, j.pod_id FROM pods p"
                             " JOIN fine_tuning_jobs j ON j.id = p.job_id"
                             " WHERE p.provider_id = '' AND p.status <> 'failed'");
    int prow = 0, stray = 0;
    while (!gb_q_step(pq, &prow) && prow) { /* a create cancelled in time is harmless */
        fprintf(stderr, "pod %s (%s) of job %s (%s, its pod %s) never reached a provider\n",
                gb_q_col_text(pq, 0), gb_q_col_text(pq, 1), gb_q_col_text(pq, 2),
                gb_q_col_text(pq, 3), gb_q_col_text(pq, 4));
        stray += strcmp(gb_q_col_text(pq, 1), "deleted") != 0; /* one that may still be made */
    }
    gb_q_reset(pq);
    assert_int_equal(stray, 0);
    printf("%lld jobs placed again after a refused create\n",
           (long long)q_int(db, "SELECT count(DISTINCT job_id) FROM pods WHERE job_id <> ''"
                                " AND status = 'failed'"));
    for (int t = 0; t < ntwice_names; t++) {
        fprintf(stderr, "made twice: %s; what the brokers logged of it:\n", twice_names[t]);
        print_logs_about(twice_names[t]);
    }
    assert_int_equal(twice, 0);
    printf("%d workloads seen at the simulators\n", nseen);
    assert_true(nseen >= 1);

    /* every completion delivered at least once (the receiver prints each id once) and
     * recorded once, as delivered */
    for (int64_t end = gb_mono_ms() + 180000;
         gb_mono_ms() < end && listened("fine_tuning.job.completed") < NJOBS; usleep(300000))
        ;
    assert_int_equal(listened("fine_tuning.job.completed"), NJOBS);
    for (int64_t end = gb_mono_ms() + 30000;
         gb_mono_ms() < end && q_int(db, "SELECT count(*) FROM wh_messages WHERE status <>"
                                         " 'delivered'") > 0;
         usleep(300000))
        ;
    assert_int_equal(q_int(db, "SELECT count(*) FROM wh_messages WHERE status <> 'delivered'"), 0);

    /* the simulators' own records (deleted pods kept): every finished job's pod is gone there,
     * no name was ever created twice, every workload created is one of our pod records, and
     * no template the adapter made is left behind */
    far_side f;
    for (int64_t end = gb_mono_ms() + 60000; gb_mono_ms() < end; usleep(300000)) {
        far_side_read(&f, NULL);
        if (f.live == 0 && f.templates == 0) break;
    }
    far_side_read(&f, db);
    printf("at the simulators: %d pods made, %d live, %d templates left\n", f.made, f.live,
           f.templates);
    for (int i = 0; i < f.nleft; i++) {
        fprintf(stderr, "left at a simulator: %s; what the brokers logged of it:\n", f.left[i]);
        print_logs_about(f.left[i]);
    }
    assert_int_equal(f.live, 0);
    assert_int_equal(f.twice, 0);
    /* a create whose broker was killed between the template and the pod, or whose POST was
     * ambiguous with no pod after all, once left its template (seen in CI); the unsure create
     * that no workload appeared for now drops it (prov_ops.abandoned) */
    assert_int_equal(f.templates, 0);
    assert_int_equal(f.made, q_int(db, "SELECT count(*) FROM pods WHERE provider_id <> ''"));
    gb_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotency_across_brokers),
        cmocka_unit_test(test_stopped_sessions_ended),
        cmocka_unit_test(test_three_brokers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
