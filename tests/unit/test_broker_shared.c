/* test_broker_shared.c: several brokers on one database (issue 19), on SQLite and, as
 * unit.test_broker_shared.postgresql, on PostgreSQL. The metering round: two brokers' rounds
 * at once (two threads, each on its own connection) charge every minute exactly once; a round
 * that finds another broker's round holding the lock skips and charges nothing, and the next
 * round charges all of it. The provider registry: a registration, re-registration and removal
 * made through one broker reach another broker's adapters at its next sync, and a sync never
 * undoes a change the same broker made while it ran. The balance lock
 * another broker's debit waits for, and the job runner's sweep of finished jobs' live pods.
 * The reconciler's claim lease follows the provider timeout (a killed broker's claimed pods
 * wait about 15 s, not a fixed minute, with a 2.5 s timeout). A platform's hourly request limit
 * is one window for all brokers on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "test_db_util.h"

#include "broker/api/scopes.h"
#include "broker/core/accounts.h"
#include "broker/core/app.h"
#include "broker/core/meter.h"
#include "broker/core/pods.h"
#include "broker/core/registry.h"
#include "broker/workers/job_runner.h"
#include "broker/workers/job_trainer.h"
#include "broker/workers/reconciler.h"
#include "common/clock.h"
#include "common/ids.h"
#include "jobs/finetune.h"
#include "jobs/job_store.h"
#include "jobs/ledger.h"
#include "common/str.h"
#include "test_app_util.h"

#define T0 INT64_C(1796000000000)
#define MINUTE INT64_C(60000)
#define ROUNDS 40
#define PODS 6
#define PRICE ((gb_money)3600000) /* $3.60/h: 60,000 micro-dollars a minute */

static char dir[] = "/tmp/gb-shared-XXXXXX";
static app *a;
static pod_rec pods[PODS];

static int setup(void **state)
{
    (void)state;
    a = test_app_open(dir);
    gb_db *db = app_db(a);
    account_rec acc;
    test_app_account(a, db, "share", (gb_money)1000 * GB_MONEY_PER_DOLLAR, &acc);
    for (int i = 0; i < PODS; i++) {
        pod_rec *p = &pods[i];
        memset(p, 0, sizeof(*p));
        gb_id_new("pod_", p->id, sizeof(p->id));
        gb_strlcpy(p->account_id, acc.id, sizeof(p->account_id));
        gb_strlcpy(p->name, "shared", sizeof(p->name));
        gb_strlcpy(p->provider, "volt", sizeof(p->provider));
        gb_snprintf(p->provider_id, sizeof(p->provider_id), "w-%s", p->id);
        gb_snprintf(p->workload_name, sizeof(p->workload_name), "gpb-%.20s", p->id + 4);
        gb_strlcpy(p->kind, "rental", sizeof(p->kind));
        gb_strlcpy(p->offer_id, "o1", sizeof(p->offer_id));
        gb_strlcpy(p->gpu_type, "H100", sizeof(p->gpu_type));
        p->gpu_count = 1;
        p->price_per_hour = PRICE;
        p->status = POD_RUNNING;
        p->created_at = p->running_since = T0;
        p->next_poll_at = INT64_MAX;
        assert_int_equal(pod_insert(db, p), GB_OK);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    app_db_release();
    return test_app_close(a, dir);
}

/* What the ledger charged for usage, in micro-dollars (a positive number). */
static int64_t charged(gb_db *db)
{
    return -tdb_int(db, "SELECT coalesce(sum(amount), 0) FROM ledger WHERE pod_id LIKE 'pod_%'");
}

typedef struct {
    int errors, skipped, ran;
} rounds;

/* One broker's metering worker: a round a minute of the test clock, on its own connection. */
static void *broker_rounds(void *arg)
{
    rounds *r = arg;
    gb_db *db = app_db(a);
    for (int k = 1; db && k <= ROUNDS; k++) {
        meter_stats st;
        gb_err e = meter_round(a, db, T0 + k * MINUTE, &st);
        r->errors += e != GB_OK;
        r->skipped += st.skipped;
        r->ran += !st.skipped && !e;
    }
    if (!db) r->errors++;
    app_db_release();
    return NULL;
}

static void test_concurrent_rounds_charge_once(void **state)
{
    (void)state;
    rounds r[2];
    pthread_t th[2];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, broker_rounds, &r[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(r[i].errors, 0);
    }
    gb_db *db = app_db(a);
    /* a last round (one may have been skipped): every pod charged its 40 minutes, once */
    meter_stats st;
    assert_int_equal(meter_round(a, db, T0 + ROUNDS * MINUTE, &st), GB_OK);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(charged(db), (int64_t)PODS * ROUNDS * (PRICE / 60));
    printf("rounds run %d + %d, skipped %d + %d\n", r[0].ran, r[1].ran, r[0].skipped, r[1].skipped);
    /* every round either ran or was skipped for the other broker's; how many of each depends
     * on the threads' timing (one thread may be far ahead and skip the other's whole run) */
    for (int i = 0; i < 2; i++)
        assert_int_equal(r[i].ran + r[i].skipped, ROUNDS);
    assert_true(r[0].ran + r[1].ran >= 1);
}

static void test_round_skipped_while_locked(void **state)
{
    (void)state;
    if (!tdb_is_pg()) {
        /* SQLite's one writer is the lock: gb_db_try_lock is always granted there */
        skip();
    }
    gb_db *db = app_db(a);
    gb_db *other = tdb_open(a->cfg.database);
    assert_non_null(other);
    int64_t before = charged(db);
    assert_int_equal(gb_db_begin(other), GB_OK);
    int got = 0;
    assert_int_equal(gb_db_try_lock(other, METER_ROUND_LOCK, &got), GB_OK);
    assert_int_equal(got, 1);
    meter_stats st;
    int64_t later = T0 + (ROUNDS + 10) * MINUTE;
    assert_int_equal(meter_round(a, db, later, &st), GB_OK);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(st.pods, 0);
    assert_int_equal(charged(db), before);
    gb_db_rollback(other); /* the other broker's round ended */
    assert_int_equal(meter_round(a, db, later, &st), GB_OK);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.pods, PODS);
    assert_int_equal(charged(db) - before, (int64_t)PODS * 10 * (PRICE / 60));
    gb_db_close(other);
}

/* A second broker on the first one's database and master key file. */
static app *second_broker(void)
{
    return test_app_second(a);
}

static void test_registry_follows_other_broker(void **state)
{
    (void)state;
    app *b = second_broker();
    gb_db *db = app_db(a);
    char err[256] = "";
    assert_int_equal(registry_add(a, db, "elsewhere", "volt", "http://127.0.0.1:9/api", "k1", NULL,
                                  err, sizeof(err)),
                     GB_OK);
    assert_null(registry_get(b, "elsewhere")); /* b has not looked yet */
    /* the reconciler's round syncs at most every 2 s; forced here */
    gb_db *dbb = tdb_open(a->cfg.database); /* b's own connection */
    assert_non_null(dbb);
    assert_int_equal(registry_sync(b, dbb, true), GB_OK);
    prov_adapter *ad = registry_get(b, "elsewhere");
    assert_non_null(ad);
    assert_string_equal(ad->base_url, "http://127.0.0.1:9/api");
    /* an unchanged registration keeps the adapter it has */
    assert_int_equal(registry_sync(b, dbb, true), GB_OK);
    assert_ptr_equal(registry_get(b, "elsewhere"), ad);
    usleep(2000); /* a re-registration is a new version (its time) */
    assert_int_equal(registry_add(a, db, "elsewhere", "volt", "http://127.0.0.1:10/api", "k2", NULL,
                                  err, sizeof(err)),
                     GB_OK);
    assert_int_equal(registry_sync(b, dbb, true), GB_OK);
    assert_string_equal(registry_get(b, "elsewhere")->base_url, "http://127.0.0.1:10/api");
    assert_int_equal(registry_remove(a, db, "elsewhere"), GB_OK);
    assert_non_null(registry_get(b, "elsewhere"));
    assert_int_equal(registry_sync(b, dbb, true), GB_OK);
    assert_null(registry_get(b, "elsewhere"));
    gb_db_close(dbb);
    (void)test_app_second_close(b, a);
}

/* A sync running on another thread of the same broker (the reconciler's) never undoes a
 * registration or removal made here: its listing may have been read before the change
 * committed, and applying it afterwards dropped the new provider (or brought back the
 * removed one) until the next sync, 2 s later. Here the sync runs without pause on its own
 * connection while providers come and go; each must be there (gone) right after the call
 * and stay so until two more syncs have finished. */
typedef struct {
    gb_db *db;
    atomic_int stop;
    atomic_long rounds;
    gb_err e;
} syncer;

#define ROUNDS_FLICKER 150

static void *sync_loop(void *arg)
{
    syncer *s = arg;
    while (!s->stop) {
        gb_err e = registry_sync(a, s->db, true);
        if (e) s->e = e;
        s->rounds++;
    }
    return NULL;
}

/* Until two syncs that began after now have ended: is name's presence ever not want? */
static int flickers(syncer *s, const char *name, int want)
{
    long until = s->rounds + 3;
    int bad = 0;
    while (s->rounds < until && !s->e)
        bad |= (registry_get(a, name) != NULL) != want;
    return bad;
}

static void test_registry_sync_keeps_local_changes(void **state)
{
    (void)state;
    syncer s = {.db = tdb_open(a->cfg.database)};
    assert_non_null(s.db);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sync_loop, &s), 0);
    gb_db *db = app_db(a);
    char err[256] = "", name[32];
    int lost = 0, back = 0;
    for (int i = 0; i < ROUNDS_FLICKER && !s.e; i++) {
        snprintf(name, sizeof(name), "flicker%d", i % 4);
        assert_int_equal(registry_add(a, db, name, "volt", "http://127.0.0.1:9/api", "k", NULL, err,
                                      sizeof(err)),
                         GB_OK);
        lost += flickers(&s, name, 1);
        assert_int_equal(registry_remove(a, db, name), GB_OK);
        back += flickers(&s, name, 0);
    }
    s.stop = 1;
    pthread_join(th, NULL);
    gb_db_close(s.db);
    assert_int_equal(s.e, GB_OK);
    if (lost || back)
        fail_msg("a concurrent sync undid %d registration(s) and %d removal(s) of %d", lost, back,
                 ROUNDS_FLICKER);
}

/* ledger_lock holds the account's balance row until the transaction ends: another broker's
 * debit of that account waits for it (here: gives up after its lock_timeout) and goes through
 * once the holder is done. (The metering round and a pod's delete take the balance before the
 * meter rows this way; the other order deadlocked.) PostgreSQL only: SQLite has one writer. */
static void test_ledger_lock_holds_the_balance(void **state)
{
    (void)state;
    if (!tdb_is_pg()) skip();
    gb_db *db = app_db(a);
    gb_db *other = tdb_open(a->cfg.database);
    assert_non_null(other);
    const char *acct = pods[0].account_id;
    gb_money before = 0, after = 0;
    assert_int_equal(ledger_balance(db, acct, &before), GB_OK);
    assert_int_equal(gb_db_exec(other, "SET lock_timeout = '300ms'"), GB_OK);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(ledger_lock(db, acct), GB_OK);
    /* both rolled back before asserting, so a failure leaves no transaction open for the
     * tests after this one */
    gb_err waited = gb_db_begin(other);
    if (!waited) waited = ledger_add(other, acct, LEDGER_DEBIT, 1, "lock-test", "test");
    gb_db_rollback(other);
    gb_db_rollback(db); /* the lock released */
    assert_int_not_equal(waited, GB_OK);
    assert_int_equal(gb_db_begin(other), GB_OK);
    assert_int_equal(ledger_add(other, acct, LEDGER_DEBIT, 1, "lock-test", "test"), GB_OK);
    assert_int_equal(gb_db_commit(other), GB_OK);
    assert_int_equal(ledger_balance(db, acct, &after), GB_OK);
    assert_true(after == before - 1);
    gb_db_close(other);
}

typedef struct {
    int n;
    char pods[8][GB_ID_MAX];
} ended;

static void on_ended(void *ud, const char *account_id, const char *pod_id)
{
    ended *e = ud;
    assert_string_equal(account_id, pods[0].account_id);
    if (e->n < 8) gb_strlcpy(e->pods[e->n++], pod_id, GB_ID_MAX);
}

static bool ended_has(const ended *e, const char *pod_id)
{
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->pods[i], pod_id)) return true;
    return false;
}

/* A job of the given status (set directly) with a pod of its own in pod_status. */
static void job_with_pod(gb_db *db, const char *job_status, pod_status ps, char *pod_id)
{
    cJSON *body = cJSON_Parse("{\"name\":\"ended\",\"taskType\":\"text\",\"model\":"
                              "\"Qwen/Qwen2.5-0.5B\",\"dsRepo\":\"org/data\",\"hours\":1,"
                              "\"fieldInstruction\":\"instruction\",\"fieldOutput\":\"output\"}");
    ft_request r;
    char err[256] = "";
    if (ft_request_parse(body, &r, err) != GB_OK) fail_msg("%s", err);
    cJSON_Delete(body);
    ft_job j;
    assert_int_equal(ft_job_create(db, pods[0].account_id, &r, 1000000, &j), GB_OK);
    gb_q *q = gb_q_prep(db, "UPDATE fine_tuning_jobs SET status = ?2 WHERE id = ?1");
    assert_non_null(q);
    gb_q_text(q, 1, j.id);
    gb_q_text(q, 2, job_status);
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
    pod_rec p = pods[0];
    gb_id_new("pod_", p.id, sizeof(p.id));
    gb_strlcpy(p.job_id, j.id, sizeof(p.job_id));
    gb_snprintf(p.workload_name, sizeof(p.workload_name), "gpb-%.20s", p.id + 4);
    gb_snprintf(p.provider_id, sizeof(p.provider_id), "w-%s", p.id);
    p.status = ps;
    assert_int_equal(pod_insert(db, &p), GB_OK);
    gb_strlcpy(pod_id, p.id, GB_ID_MAX);
}

/* The job runner's sweep (ft_job_ended_pods): pods of finished jobs that are still live, and
 * only those, at most the limit. */
static void test_ended_jobs_live_pods(void **state)
{
    (void)state;
    gb_db *db = app_db(a);
    char done_running[GB_ID_MAX], done_deleted[GB_ID_MAX], live_job[GB_ID_MAX],
        failed_stopped[GB_ID_MAX], failed_failed[GB_ID_MAX];
    job_with_pod(db, "success", POD_RUNNING, done_running);
    job_with_pod(db, "success", POD_DELETED, done_deleted);
    job_with_pod(db, "training", POD_RUNNING, live_job);
    job_with_pod(db, "failure", POD_STOPPED, failed_stopped);
    job_with_pod(db, "cancelled", POD_FAILED, failed_failed);
    ended e = {0};
    assert_int_equal(ft_job_ended_pods(db, 8, on_ended, &e), GB_OK);
    assert_int_equal(e.n, 2);
    assert_true(ended_has(&e, done_running));
    assert_true(ended_has(&e, failed_stopped));
    assert_false(ended_has(&e, done_deleted) || ended_has(&e, live_job) ||
                 ended_has(&e, failed_failed));
    ended one = {0};
    assert_int_equal(ft_job_ended_pods(db, 1, on_ended, &one), GB_OK);
    assert_int_equal(one.n, 1);
    assert_int_equal(ft_job_ended_pods(db, 0, on_ended, &one), GB_ERR_INVALID);
}

/* The job runner's round sweeps them: a finished job's pod still running (its delete was lost,
 * or the job ended by a path that did not remove it) is deleted (its record marked deleted and
 * a delete intent queued for the provider), not left running and paid for. */
static void test_runner_deletes_ended_jobs_pods(void **state)
{
    (void)state;
    gb_db *db = app_db(a);
    char pod[GB_ID_MAX];
    job_with_pod(db, "success", POD_RUNNING, pod);
    job_runner *r = NULL;
    assert_int_equal(job_runner_start(a, "http://127.0.0.1:9", &r), GB_OK); /* a round at once */
    pod_status st = POD_RUNNING;
    for (int i = 0; i < 100 && st != POD_DELETED; i++) {
        pod_rec p;
        memset(&p, 0, sizeof(p));
        assert_int_equal(pod_get(db, pods[0].account_id, pod, &p), GB_OK);
        st = p.status;
        pod_rec_clear(&p);
        if (st != POD_DELETED) usleep(50000);
    }
    job_runner_stop(r);
    assert_string_equal(pod_status_name(st), "deleted");
    char sql[160];
    gb_snprintf(sql, sizeof(sql),
                "SELECT count(*) FROM pod_intents WHERE pod_id = '%s' AND kind = 'delete'", pod);
    assert_int_equal(tdb_int(db, sql), 1); /* the provider is told */
}

/* A pod due for a look whose provider another broker registered after this broker's last
 * sync (at most every 2 s): the round syncs and looks, instead of parking the pod for five
 * minutes as if its provider had been removed. Seen in e2e_brokers: a job waited for its
 * pod, parked by a broker that had not yet seen the registration, until the test timed out. */
static void test_round_syncs_for_unknown_provider(void **state)
{
    (void)state;
    app *b = second_broker();
    gb_db *db = app_db(a);
    gb_db *dbb = tdb_open(a->cfg.database); /* b's own connection */
    assert_non_null(dbb);
    assert_int_equal(registry_sync(b, dbb, true), GB_OK); /* b has just looked */
    char err[256] = "";
    /* nothing listens on port 9: the look fails at once */
    assert_int_equal(
        registry_add(a, db, "late", "volt", "http://127.0.0.1:9/api", "k1", NULL, err, sizeof(err)),
        GB_OK);
    pod_rec p = pods[0];
    gb_id_new("pod_", p.id, sizeof(p.id));
    gb_strlcpy(p.provider, "late", sizeof(p.provider));
    gb_snprintf(p.workload_name, sizeof(p.workload_name), "gpb-%.20s", p.id + 4);
    gb_snprintf(p.provider_id, sizeof(p.provider_id), "w-%s", p.id);
    p.next_poll_at = 0;
    assert_int_equal(pod_insert(db, &p), GB_OK);
    assert_null(registry_get(b, "late"));
    reconciler_round(b, dbb, NULL);
    assert_non_null(registry_get(b, "late"));
    pod_rec after;
    assert_int_equal(pod_get(dbb, p.account_id, p.id, &after), GB_OK);
    int64_t wait = after.next_poll_at - gb_now_ms();
    pod_rec_clear(&after);
    if (wait > 60000) fail_msg("the pod waits %lld ms for its next look", (long long)wait);
    char sql[128];
    gb_snprintf(sql, sizeof(sql), "SELECT poll_failures FROM pods WHERE id = '%s'", p.id);
    assert_int_equal(tdb_int(dbb, sql), 1); /* looked at, and the look failed */
    /* what the intent workers look up the same way (registry_get_synced): found once
     * registered anywhere, NULL for a name the providers table does not have */
    assert_int_equal(registry_add(a, db, "later", "volt", "http://127.0.0.1:9/api", "k2", NULL, err,
                                  sizeof(err)),
                     GB_OK);
    assert_null(registry_get(b, "later"));
    /* a finished job's trainer is asked at its provider's URL the same way: not taken for
     * "no trainer to ask" (nothing listens on port 9: the ask itself fails) */
    char *tpl = b->cfg.jobs_trainer_state_url;
    b->cfg.jobs_trainer_state_url = "{provider_url}/trainer/{job_id}";
    pod_rec tp = pods[0];
    gb_strlcpy(tp.provider, "later", sizeof(tp.provider));
    ft_job tj;
    memset(&tj, 0, sizeof(tj));
    gb_strlcpy(tj.id, "ftj_trainerlater", sizeof(tj.id));
    job_trainer_view tv;
    gb_err te = job_trainer_state(b, dbb, &tj, &tp, &tv);
    b->cfg.jobs_trainer_state_url = tpl;
    if (te == GB_OK || te == GB_ERR_NOT_FOUND)
        fail_msg("the trainer of a pod at a provider registered elsewhere: %s", gb_strerror(te));
    prov_adapter *ad = registry_get_synced(b, dbb, "later");
    assert_non_null(ad);
    assert_string_equal(ad->name, "later");
    assert_null(registry_get_synced(b, dbb, "never-registered"));
    assert_int_equal(registry_remove(a, db, "later"), GB_OK);
    assert_int_equal(registry_remove(a, db, "late"), GB_OK);
    gb_db_close(dbb);
    (void)test_app_second_close(b, a);
}

/* Requests to provider ad until its budget refuses, at most max: how many were let through
 * (nothing listens on port 9, so each one let through fails at once). */
static int let_through(prov_adapter *ad, int max)
{
    int n = 0;
    for (int i = 0; i < max; i++) {
        gb_http_resp r;
        gb_errmsg err = "";
        gb_err e = prov_http_raw(ad, "GET", "/pods", NULL, NULL, NULL, 0, true, &r, err);
        gb_http_resp_free(&r);
        if (e == GB_ERR_LIMIT) break;
        n++;
    }
    return n;
}

/* A platform's published hourly limit (a provider's requests_per_hour) is one budget for every
 * broker using its account: on PostgreSQL the window is counted in the store, so two brokers
 * together get the limit, not twice it; on SQLite (one broker owns the file) each broker
 * counts its own. */
static void test_hourly_budget_shared(void **state)
{
    (void)state;
    app *b = second_broker();
    a->cfg.provider_max_retries = b->cfg.provider_max_retries = 0; /* no retries: fails at once */
    gb_db *db = app_db(a);
    gb_db *dbb = tdb_open(a->cfg.database);
    assert_non_null(dbb);
    char err[256] = "";
    cJSON *settings = cJSON_Parse("{\"requests_per_hour\":4}");
    assert_int_equal(registry_add(a, db, "metered", "volt", "http://127.0.0.1:9/api", "k1",
                                  settings, err, sizeof(err)),
                     GB_OK);
    cJSON_Delete(settings);
    assert_int_equal(registry_sync(b, dbb, true), GB_OK);
    prov_adapter *pa = registry_get(a, "metered"), *pb = registry_get(b, "metered");
    assert_non_null(pa);
    assert_non_null(pb);
    int from_a = let_through(pa, 3), from_b = let_through(pb, 10), more_a = let_through(pa, 10);
    if (tdb_is_pg()) {
        assert_int_equal(from_a + from_b + more_a, 4); /* the platform's 4 an hour, in all */
        assert_int_equal(from_b, 1);
    } else {
        assert_int_equal(from_a + more_a, 4); /* each its own 4 */
        assert_int_equal(from_b, 4);
    }
    assert_int_equal(registry_remove(a, db, "metered"), GB_OK);
    gb_db_close(dbb);
    (void)test_app_second_close(b, a);
}

static void test_reconciler_lease(void **state)
{
    (void)state;
    app one;
    memset(&one, 0, sizeof(one));
    one.cfg.provider_timeout_ms = 30000; /* the defaults: two calls' timeouts and 10 s */
    one.cfg.reconcile_interval_ms = 5000;
    assert_true(reconciler_lease_ms(&one) == 70000);
    one.cfg.provider_timeout_ms = 2500; /* e2e_brokers: 15 s, not the old floor of 60 s */
    one.cfg.reconcile_interval_ms = 200;
    assert_true(reconciler_lease_ms(&one) == 15000);
    one.cfg.reconcile_interval_ms = 60000; /* slow rounds: four of them */
    assert_true(reconciler_lease_ms(&one) == 240000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_rounds_charge_once),
        cmocka_unit_test(test_round_skipped_while_locked),
        cmocka_unit_test(test_registry_follows_other_broker),
        cmocka_unit_test(test_registry_sync_keeps_local_changes),
        cmocka_unit_test(test_ledger_lock_holds_the_balance),
        cmocka_unit_test(test_ended_jobs_live_pods),
        cmocka_unit_test(test_runner_deletes_ended_jobs_pods),
        cmocka_unit_test(test_round_syncs_for_unknown_provider),
        cmocka_unit_test(test_reconciler_lease),
        cmocka_unit_test(test_hourly_budget_shared),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
