/* store_create_bench.c: fine-tuning job creation at the store alone (ft_job_create: the job's
 * INSERT, its debit and the commit, what a POST /api/volt/fine-tuning does after its HTTP,
 * JSON and Hub work), from THREADS threads for SECONDS each, once without group commit (each
 * create commits alone: the baseline) and once with it, in the same run on fresh databases.
 * It shows how many creates per second the store can make on this machine with no HTTP at
 * all, the ceiling of bench/jobs_create.sh. The program checks that every create it counted
 * is a job row and that the account paid exactly their sum.
 * GB_BENCH_DB_URL=postgresql://... runs it on that (fresh) database instead of a SQLite file;
 * group commit is SQLite's only, so both passes then run the same way.
 * Usage: store_create_bench [SECONDS] [THREADS]   (defaults 3 8) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "broker/api/scopes.h"
#include "broker/core/accounts.h"
#include "broker/core/app.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "jobs/finetune.h"
#include "jobs/job_store.h"
#include "jobs/ledger.h"
#include "vault/vault.h"

#define THREADS_MAX 64
#define PER_HOUR INT64_C(1000000)                       /* $1 an hour */
#define CREDIT (INT64_C(1000000000) * INT64_C(1000000)) /* $1e9: no create is refused */
/* what bench/jobs_create.sh posts */
#define BODY                                                                                       \
    "{\"name\":\"bench\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\",\"dsRepo\":"        \
    "\"org/data\",\"hours\":1,\"fieldInstruction\":\"instruction\",\"fieldOutput\":\"output\"}"

typedef struct {
    app *a;
    char account[GB_ID_MAX];
    ft_request r;
    atomic_int stop;
    atomic_int failed;
    long made[THREADS_MAX];
} bench_run;

typedef struct {
    bench_run *b;
    int i;
} worker_arg;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *ud)
{
    worker_arg *w = ud;
    bench_run *b = w->b;
    gb_db *db = app_db(b->a);
    while (db && !atomic_load(&b->stop)) {
        ft_job j;
        gb_err e = ft_job_create(db, b->account, &b->r, PER_HOUR, &j);
        if (e) {
            fprintf(stderr, "store_create_bench: create: %s\n", gb_strerror(e));
            atomic_store(&b->failed, 1);
            break;
        }
        b->made[w->i]++;
    }
    if (!db) atomic_store(&b->failed, 1);
    app_db_release();
    return NULL;
}

/* The app on dir's key file and on the pass's own database (a SQLite file in dir, or
 * GB_BENCH_DB_URL: one database for every pass, each pass with an account of its own). */
static app *open_app(const char *dir, int n, int group_commit)
{
    gb_config cfg;
    char err[512] = "";
    app *a = NULL;
    if (gb_config_load(NULL, &cfg, err, sizeof(err)) != GB_OK) {
        fprintf(stderr, "store_create_bench: config: %s\n", err);
        return NULL;
    }
    const char *url = getenv("GB_BENCH_DB_URL");
    free(cfg.database);
    free(cfg.master_key_file);
    free(cfg.data_dir);
    cfg.database = url && url[0] ? gb_strdup(url) : gb_asprintf("%s/pass%d.db", dir, n);
    cfg.master_key_file = gb_asprintf("%s/master.key", dir);
    cfg.data_dir = gb_strdup(dir);
    cfg.group_commit = group_commit;
    if (app_open(&cfg, &a, err, sizeof(err)) != GB_OK) {
        fprintf(stderr, "store_create_bench: app_open: %s\n", err);
        return NULL;
    }
    return a;
}

/* One pass: threads creating for secs; creates/s, or -1 when a create or a check failed. */
static double pass(const char *dir, int n, double secs, int threads, int group_commit)
{
    double rate = -1;
    bench_run *b = calloc(1, sizeof(*b));
    cJSON *body = cJSON_Parse(BODY);
    char err[GB_JSON_ERR_MAX] = "";
    pthread_t th[THREADS_MAX];
    worker_arg args[THREADS_MAX];
    int started = 0;
    if (!b || !body || ft_request_parse(body, &b->r, err) != GB_OK) {
        fprintf(stderr, "store_create_bench: request: %s\n", err);
        goto out;
    }
    b->a = open_app(dir, n, group_commit);
    gb_db *db = b->a ? app_db(b->a) : NULL;
    account_rec acc;
    char key[AUTH_KEY_MAX];
    apikey_rec k;
    char name[32];
    snprintf(name, sizeof(name), "bench pass %d", n); /* one database for every pass on PG */
    if (!db || accounts_create(b->a, db, name, 0, CREDIT, "bench", SCOPE_ALL_USER, &acc, key, &k) !=
                   GB_OK) {
        fprintf(stderr, "store_create_bench: cannot create the account\n");
        goto out;
    }
    gb_strlcpy(b->account, acc.id, sizeof(b->account));
    double t0 = now_s();
    for (; started < threads; started++) {
        args[started] = (worker_arg){b, started};
        if (pthread_create(&th[started], NULL, worker, &args[started]) != 0) break;
    }
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&b->stop, 1);
    long made = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        made += b->made[i];
    }
    double elapsed = now_s() - t0;
    if (started < threads || atomic_load(&b->failed)) goto out;
    /* what happened in the store, not what the threads counted: the rows and the money */
    int64_t rows = -1;
    gb_money bal = -1;
    gb_money want = CREDIT - (gb_money)made * ft_total(PER_HOUR, b->r.hours);
    if (ft_job_count(db, b->account, NULL, &rows) != GB_OK ||
        ledger_balance(db, b->account, &bal) != GB_OK || rows != made || bal != want) {
        fprintf(stderr,
                "store_create_bench: %ld creates counted, %lld job rows, balance %lld "
                "(expected %lld)\n",
                made, (long long)rows, (long long)bal, (long long)want);
        goto out;
    }
    rate = (double)made / elapsed;
    if (b->a->wgroup) {
        uint64_t works = 0, commits = 0;
        gb_db_group_stats(b->a->wgroup, &works, &commits, NULL);
        printf("  group commit: %.2f creates a commit\n",
               commits ? (double)works / (double)commits : 0);
    }
out:
    if (b && b->a) {
        app_db_release();
        app_free(b->a);
    }
    cJSON_Delete(body);
    free(b);
    return rate;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3;
    int threads = argc > 2 ? atoi(argv[2]) : 8;
    if (secs <= 0 || secs > 600 || threads < 1 || threads > THREADS_MAX) {
        fprintf(stderr, "usage: store_create_bench [SECONDS 0-600] [THREADS 1-%d]\n", THREADS_MAX);
        return 2;
    }
    char dir[] = "/tmp/gb-storebench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char *key = gb_asprintf("%s/master.key", dir);
    unsetenv("GPUBROKER_MASTER_KEY");
    gb_log_set_level(GB_LOG_WARN); /* not the vault's and the migrations' news */
    int rc = 1;
    if (!key || vault_keyfile_create(key) != GB_OK) goto out;
    printf("ft_job_create from %d thread%s, %.1f s a pass, no HTTP\n", threads,
           threads == 1 ? "" : "s", secs);
    double base = pass(dir, 1, secs, threads, 0);
    if (base < 0) goto out;
    printf("  without group commit (each create commits alone): %.0f creates/s\n", base);
    double grouped = pass(dir, 2, secs, threads, 1);
    if (grouped < 0) goto out;
    printf("  with group commit (SQLite only):                  %.0f creates/s\n", grouped);
    printf("ratio with / without group commit: %.2f\n", grouped / base);
    rc = 0;
out:
    free(key);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "store_create_bench: could not remove %s\n", dir);
    return rc;
}
