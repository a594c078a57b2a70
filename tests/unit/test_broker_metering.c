/* test_broker_metering.c: pod time as money on a test clock, against the real store (a SQLite
 * file, or PostgreSQL in the .postgresql variant, where the races hold row locks) and a Volt
 * simulator (a platform that can stop) and a Lium one (cannot): a $0 account refused, accrual
 * exact to the micro-dollar in a chain of intervals with a final entry on stop, a round rolled
 * back (a crash) neither losing nor doubling time, margins, the balance running out
 * (account.balance_low before the stops, a delete where the platform cannot stop, nothing
 * accrued after), per-pod guards, budgets and their alerts, and job pods left to the job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <pthread.h>
#include <unistd.h>

#include "test_db_util.h"

#include "broker/api/handlers.h"
#include "broker/api/pod_api.h"
#include "broker/api/scopes.h"
#include "broker/core/accounts.h"
#include "broker/core/app.h"
#include "broker/core/billing.h"
#include "broker/core/meter.h"
#include "broker/core/pod_actions.h"
#include "broker/core/registry.h"
#include "broker/placement/placement.h"
#include "broker/workers/reconciler.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "common/str.h"
#include "jobs/ledger.h"
#include "providers/sim/sim.h"
#include "test_app_util.h"
#include "test_sim_util.h"
#include "webhooks/outbox.h"

#define T0 INT64_C(1796000000000) /* 2026-12-01T...Z: a fixed start */
#define HOUR INT64_C(3600000)
#define USD(x) ((gb_money)((x)*GB_MONEY_PER_DOLLAR))

static char dir[] = "/tmp/gb-metering-XXXXXX";
static sim_server *volt_sim, *lium_sim;
static app *a;
static gb_db *db;
static int nacc;

static void add_sim(const sim_platform *p, const char *name, sim_server **out)
{
    char err[512] = "", base[128];
    uint16_t port = 0;
    assert_int_equal(sim_start(p, 0, "sekret", out, &port), GB_OK);
    snprintf(base, sizeof(base), "http://127.0.0.1:%u%s", port, p->api_path ? p->api_path : "");
    assert_int_equal(registry_add(a, db, name, name, base, "sekret", NULL, err, sizeof(err)),
                     GB_OK);
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    a = test_app_open(dir);
    db = app_db(a);
    add_sim(sim_platform_volt(), "volt", &volt_sim);
    add_sim(sim_platform_lium(), "lium", &lium_sim);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gb_clock_use_real();
    int rc = test_app_close(a, dir);
    sim_stop(volt_sim);
    sim_stop(lium_sim);
    gb_http_global_cleanup();
    return rc;
}

/* A new account with credit and a webhook endpoint for every event (so events are queued). */
static void new_account(gb_money credit, account_rec *acc)
{
    char name[32], key[AUTH_KEY_MAX];
    apikey_rec k;
    snprintf(name, sizeof(name), "acct%d", nacc++);
    assert_int_equal(accounts_create(a, db, name, 0, credit, "test", SCOPE_ALL_USER, acc, key, &k),
                     GB_OK);
    wh_endpoint ep;
    assert_int_equal(wh_endpoint_insert(db, acc->id, "https://hooks.example.com/x", "*", &ep),
                     GB_OK);
}

/* A pod placed at provider and running since `since` (inserted as the create intent would
 * leave it). */
static void running_pod(const account_rec *acc, const char *provider, gb_money price, int64_t since,
                        pod_rec *p)
{
    memset(p, 0, sizeof(*p));
    gb_id_new("pod_", p->id, sizeof(p->id));
    gb_strlcpy(p->account_id, acc->id, sizeof(p->account_id));
    gb_strlcpy(p->name, "metered", sizeof(p->name));
    gb_strlcpy(p->provider, provider, sizeof(p->provider));
    snprintf(p->provider_id, sizeof(p->provider_id), "w-%s", p->id);
    snprintf(p->workload_name, sizeof(p->workload_name), "gpb-%.20s", p->id + 4);
    gb_strlcpy(p->kind, "rental", sizeof(p->kind));
    gb_strlcpy(p->offer_id, "o1", sizeof(p->offer_id));
    gb_strlcpy(p->gpu_type, "H100", sizeof(p->gpu_type));
    p->gpu_count = 1;
    p->price_per_hour = price;
    p->status = POD_RUNNING;
    p->created_at = since;
    p->running_since = since;
    p->next_poll_at = INT64_MAX;
    assert_int_equal(pod_insert(db, p), GB_OK);
}

static int64_t q_int(const char *sql, const char *arg)
{
    return tdb_int_arg(db, sql, arg);
}

static gb_money usage_sum(const char *pod_id)
{
    return -q_int("SELECT coalesce(sum(amount), 0) FROM ledger WHERE pod_id = ?1", pod_id);
}

static int64_t usage_count(const char *pod_id)
{
    return q_int("SELECT count(*) FROM ledger WHERE pod_id = ?1", pod_id);
}

/* Every usage entry of the pod starts where the one before ended, the first at `from`; the
 * last end is returned. */
static int64_t chain(const char *pod_id, int64_t from)
{
    gb_q *q = gb_q_prep(db, "SELECT period_start, period_end, created_at FROM ledger"
                            " WHERE pod_id = ?1 ORDER BY period_start");
    assert_non_null(q);
    gb_q_text(q, 1, pod_id);
    int64_t at = from;
    int row = 0;
    gb_err e;
    while (!(e = gb_q_step(q, &row)) && row) {
        assert_int_equal(gb_q_col_int64(q, 0), at);
        assert_true(gb_q_col_int64(q, 1) > at);
        assert_int_equal(gb_q_col_int64(q, 2), gb_q_col_int64(q, 1));
        at = gb_q_col_int64(q, 1);
    }
    assert_int_equal(e, GB_OK);
    gb_q_reset(q);
    return at;
}

static gb_money expect(gb_money rate, int64_t ms)
{
    gb_money m = 0;
    assert_int_equal(gb_money_mul_ratio(rate, ms, HOUR, &m), 0);
    return m;
}

static gb_money balance(const account_rec *acc)
{
    gb_money b = -1;
    assert_int_equal(ledger_balance(db, acc->id, &b), GB_OK);
    return b;
}

static void reload(pod_rec *p)
{
    char id[GB_ID_MAX], account[GB_ID_MAX];
    gb_strlcpy(id, p->id, sizeof(id));
    gb_strlcpy(account, p->account_id, sizeof(account));
    pod_rec_clear(p);
    assert_int_equal(pod_get(db, account, id, p), GB_OK);
}

static void test_zero_balance_refused(void **state)
{
    (void)state;
    gb_clock_set(T0);
    account_rec acc;
    new_account(0, &acc);
    billing_refusal why;
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(2), &why), GB_ERR_PAYMENT);
    assert_string_equal(why.code, "INSUFFICIENT_BALANCE");
    assert_non_null(strstr(why.message, "10 minutes"));
    /* never on credit: without a minimum run time a priced pod still needs some balance; a
     * free one does not */
    int min_run = a->cfg.metering_min_run_min;
    a->cfg.metering_min_run_min = 0;
    assert_int_equal(billing_admit(a, db, acc.id, "volt", 1, &why), GB_ERR_PAYMENT);
    assert_string_equal(why.code, "INSUFFICIENT_BALANCE");
    a->cfg.metering_min_run_min = min_run;
    assert_int_equal(billing_admit(a, db, acc.id, "volt", 0, &why), GB_OK);
    /* placement answers 402 with the code and records nothing */
    static const char *const env[] = {"A=1"};
    placement_req req = {.account_id = acc.id, .image = "img", .env = env, .nenv = 1};
    placement_filter_init(&req.filter);
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *cands = NULL;
    placement_error perr;
    assert_int_equal(placement_create(a, db, &req, &p, &cands, &perr), GB_ERR_PAYMENT);
    assert_int_equal(perr.status, 402);
    assert_string_equal(perr.code, "INSUFFICIENT_BALANCE");
    placement_error_clear(&perr);
    assert_int_equal(q_int("SELECT count(*) FROM pods WHERE account_id = ?1", acc.id), 0);
    /* 10 minutes at $2/h is $0.333333: one micro-dollar short is refused, enough passes */
    assert_int_equal(accounts_credit(db, acc.id, 333332, "almost", &(gb_money){0}), GB_OK);
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(2), &why), GB_ERR_PAYMENT);
    assert_int_equal(accounts_credit(db, acc.id, 1, "enough", &(gb_money){0}), GB_OK);
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(2), &why), GB_OK);
}

static void test_accrual_exact(void **state)
{
    (void)state;
    gb_clock_set(T0);
    account_rec acc;
    new_account(USD(100), &acc);
    pod_rec p;
    gb_money price = 2345679; /* $2.345679/h: no period divides it evenly */
    running_pod(&acc, "volt", price, T0, &p);
    gb_money before = balance(&acc);
    /* rounds at uneven times, as a worker that runs late would */
    int64_t t = T0;
    static const int64_t steps[] = {60000, 61337, 59999, 1, 120001, 7, 60000, 33333};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        t += steps[i];
        gb_clock_set(t);
        meter_stats st;
        assert_int_equal(meter_round(a, db, t, &st), GB_OK);
        assert_int_equal(usage_sum(p.id), expect(price, t - T0));
    }
    /* stopped: the final entry is written with the stop, nothing after */
    t += 4242;
    gb_clock_set(t);
    reload(&p);
    assert_int_equal(pod_request(a, db, &p, INTENT_STOP, NULL, NULL), GB_OK);
    int64_t stopped = t;
    assert_int_equal(usage_sum(p.id), expect(price, stopped - T0));
    int64_t n = usage_count(p.id);
    for (int i = 0; i < 3; i++) {
        t += 60000;
        gb_clock_set(t);
        assert_int_equal(meter_round(a, db, t, NULL), GB_OK);
    }
    assert_int_equal(usage_count(p.id), n);
    assert_int_equal(usage_sum(p.id), expect(price, stopped - T0));
    assert_int_equal(chain(p.id, T0), stopped);
    assert_int_equal(before - balance(&acc), usage_sum(p.id));
    pod_rec_clear(&p);
}

/* A round that dies before its commit (kill -9) leaves nothing; the next one charges the whole
 * time once; a replayed interval is refused by the ledger itself. */
static void test_crash_neither_loses_nor_doubles(void **state)
{
    (void)state;
    gb_clock_set(T0);
    account_rec acc;
    new_account(USD(100), &acc);
    pod_rec p;
    gb_money price = USD(3.21);
    running_pod(&acc, "volt", price, T0, &p);
    assert_int_equal(meter_round(a, db, T0 + 60000, NULL), GB_OK);
    meter_rec m1;
    assert_int_equal(meter_get(db, p.id, &m1), GB_OK);
    /* the crash: settled inside a transaction that never commits */
    assert_int_equal(gb_db_begin(db), GB_OK);
    reload(&p);
    assert_int_equal(meter_settle(a, db, &p, p.status, T0 + 120000, NULL), GB_OK);
    assert_int_equal(usage_count(p.id), 2);
    gb_db_rollback(db);
    assert_int_equal(usage_count(p.id), 1);
    meter_rec m2;
    assert_int_equal(meter_get(db, p.id, &m2), GB_OK);
    assert_int_equal(m2.run_ms, m1.run_ms);
    assert_int_equal(m2.period_from, m1.period_from);
    /* restarted later: one entry for the whole gap */
    assert_int_equal(meter_round(a, db, T0 + 185000, NULL), GB_OK);
    assert_int_equal(usage_count(p.id), 2);
    assert_int_equal(usage_sum(p.id), expect(price, 185000));
    assert_int_equal(chain(p.id, T0), T0 + 185000);
    /* the same round twice at the same instant charges nothing more */
    assert_int_equal(meter_round(a, db, T0 + 185000, NULL), GB_OK);
    assert_int_equal(usage_count(p.id), 2);
    /* an interval charged already cannot be written again */
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(ledger_add_usage(db, acc.id, 5, p.id, T0 + 60000, T0 + 185000, "replay"),
                     GB_ERR_CONFLICT);
    gb_db_rollback(db);
    pod_rec_clear(&p);
}

#define RACE_PRICE 2345679 /* $2.345679/h */

/* A running pod (price RACE_PRICE, since T0) charged for its first minute by a round; the
 * clock at T0 + 1 min. */
static void charged_a_minute(account_rec *acc, pod_rec *p)
{
    gb_clock_set(T0);
    new_account(USD(100), acc);
    running_pod(acc, "volt", RACE_PRICE, T0, p);
    assert_int_equal(meter_round(a, db, T0 + 60000, NULL), GB_OK);
    gb_clock_set(T0 + 60000);
}

/* A metering round begins and takes its locks as meter_round does: the pods' rows, then the
 * balances (SQLite's write transaction holds them all at once). */
static void round_takes_locks(const account_rec *acc, const pod_rec *p)
{
    pod_rec cur;
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(pod_get_for_update(db, acc->id, p->id, &cur), GB_OK);
    pod_rec_clear(&cur);
    assert_int_equal(ledger_lock(db, acc->id), GB_OK);
}

/* The metering round of a minute later, in the transaction db holds (it took the locks
 * first): the pod settled at T0 + 2 min, committed. */
static void round_a_minute_later(const account_rec *acc, const pod_rec *p)
{
    pod_rec cur;
    gb_clock_set(T0 + 120000);
    assert_int_equal(pod_get(db, acc->id, p->id, &cur), GB_OK);
    assert_int_equal(cur.status, POD_RUNNING);
    assert_int_equal(meter_settle(a, db, &cur, POD_RUNNING, T0 + 120000, NULL), GB_OK);
    pod_rec_clear(&cur);
    assert_int_equal(gb_db_commit(db), GB_OK);
}

/* The pod is deleted, and its charges end where its recorded running time ends. */
static void charged_to_its_end(const account_rec *acc, const pod_rec *p)
{
    pod_rec cur;
    assert_int_equal(pod_get(db, acc->id, p->id, &cur), GB_OK);
    assert_int_equal(cur.status, POD_DELETED);
    assert_int_equal(usage_sum(p->id), expect(RACE_PRICE, cur.running_ms));
    int64_t last = chain(p->id, T0);
    if (last > cur.deleted_at)
        fail_msg("charged up to %lld, deleted at %lld", (long long)last, (long long)cur.deleted_at);
    assert_int_equal(cur.deleted_at - cur.running_ms, T0);
    pod_rec_clear(&cur);
}

typedef struct {
    pod_rec *p;
    gb_err e;
} delete_arg;

static void *delete_on_own_connection(void *ud)
{
    delete_arg *d = ud;
    gb_db *mine = app_db(a);
    d->e = mine ? pod_request(a, mine, d->p, INTENT_DELETE, NULL, NULL) : GB_ERR_DB;
    app_db_release();
    return NULL;
}

/* A delete that waits for the write lock while a metering round holds it: the round charges
 * the pod's time up to its own clock, later than the delete's request. The pod's recorded
 * running time must end where its charges end (the delete read the clock before it waited:
 * the pod was recorded a minute shorter than it was charged, the last entry ending after the
 * pod's delete; on PostgreSQL e2e_metering saw the same race as 1 micro-dollar, once). */
static void test_delete_behind_a_round(void **state)
{
    (void)state;
    account_rec acc;
    pod_rec p;
    charged_a_minute(&acc, &p);
    reload(&p);
    round_takes_locks(&acc, &p); /* the round holds the locks */
    delete_arg d = {&p, GB_ERR_INTERNAL};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, delete_on_own_connection, &d), 0);
    usleep(300000); /* the delete is asked for and waits */
    round_a_minute_later(&acc, &p);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(d.e, GB_OK);
    charged_to_its_end(&acc, &p);
    pod_rec_clear(&p);
}

static void *reconcile_on_own_connection(void *ud)
{
    (void)ud;
    gb_db *mine = app_db(a);
    if (mine) reconciler_round(a, mine, NULL);
    app_db_release();
    return NULL;
}

/* POSTs (body) or DELETEs (NULL) the volt simulator's fault rules. */
static void volt_faults(const char *body)
{
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", sim_port(volt_sim));
    tsim_control(base, body ? "POST" : "DELETE", "/_sim/faults", body);
}

/* The volt simulator's count of requests so far (/_sim/requests). */
static int64_t volt_requests(void)
{
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", sim_port(volt_sim));
    cJSON *j = tsim_call(base, "GET", "/_sim/requests", NULL);
    int64_t n = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "count"));
    cJSON_Delete(j);
    return n;
}

/* Until a session of the database waits for a lock (PostgreSQL, read on a connection of its
 * own: a transaction sees pg_stat_activity as of its first look); SQLite's writer waits in
 * its busy handler, which nothing shows: a fixed 2 s. Waits at most 20 s. */
static void until_a_lock_waits(void)
{
    if (!tdb_is_pg()) {
        usleep(2000000);
        return;
    }
    gb_db *look = NULL;
    assert_int_equal(gb_db_open_url(a->cfg.database, &look), GB_OK);
    int64_t end = gb_mono_ms() + 20000;
    while (tdb_int(look, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                         " current_database() AND wait_event_type = 'Lock'") == 0 &&
           gb_mono_ms() < end)
        usleep(20000);
    gb_db_close(look);
}

/* The same race through the reconciler: it finds the workload gone at the provider (slowly),
 * and records the pod deleted while a metering round holds the lock with a later clock. */
static void test_gone_behind_a_round(void **state)
{
    (void)state;
    account_rec acc;
    pod_rec p;
    charged_a_minute(&acc, &p); /* its workload is not at the simulator */
    char sql[160];
    snprintf(sql, sizeof(sql), "UPDATE pods SET next_poll_at = 0 WHERE id = '%s'", p.id);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    /* every look at the pod answers after 500 ms: the reconciler has claimed the pod and
     * waits for the answer when the round takes the lock */
    volt_faults("{\"method\":\"GET\",\"path_prefix\":\"/api/volt/pods\",\"count\":-1,"
                "\"latency_ms\":500}");
    int64_t asked = volt_requests();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reconcile_on_own_connection, NULL), 0);
    /* the reconciler has claimed the pod and asked (a fixed 250 ms was too short under
     * valgrind: the round's locks came first, and the claim skipped the locked pod) */
    for (int64_t end = gb_mono_ms() + 20000; volt_requests() == asked && gb_mono_ms() < end;)
        usleep(10000);
    round_takes_locks(&acc, &p);
    until_a_lock_waits(); /* the answers came; the reconciler waits for the lock */
    round_a_minute_later(&acc, &p);
    assert_int_equal(pthread_join(th, NULL), 0);
    volt_faults(NULL);
    charged_to_its_end(&acc, &p);
    pod_rec_clear(&p);
}

/* A broker that has not yet seen a provider's registration (made through another broker
 * since its last sync, at most every 2 s) treats that provider's pods as the registering
 * broker would: an account that runs out has its pod stopped, not deleted as a pod of an
 * unknown provider that cannot stop; a meter opened there locks the provider's storage price,
 * not 0 (the stopped pod's storage would stay unpaid for good); a pod action loads the pod's
 * adapter, and a create naming the provider is placed, instead of "no longer registered" and
 * "no provider named" answers. */
static void test_provider_registered_elsewhere(void **state)
{
    (void)state;
    app *b = test_app_second(a); /* it has read the providers table: no "fresh*" yet */
    char err[512] = "", base[300];
    snprintf(base, sizeof(base), "%s", registry_get(a, "volt")->base_url);
    cJSON *set = cJSON_Parse("{\"stopped_price_per_gb_hour\":\"0.0001\"}");
    assert_int_equal(registry_add(a, db, "fresh1", "volt", base, "sekret", set, err, sizeof(err)),
                     GB_OK);
    /* fresh1: an account that runs out in b's round */
    gb_clock_set(T0);
    account_rec poor, rich;
    new_account(USD(0.05), &poor);
    pod_rec v, w;
    running_pod(&poor, "fresh1", USD(1.8), T0, &v); /* $0.0005 a second */
    assert_null(registry_get(b, "fresh1"));
    gb_clock_set(T0 + 120000);
    meter_stats st;
    assert_int_equal(meter_round(b, db, T0 + 120000, &st), GB_OK);
    assert_int_equal(st.stops_requested, 1);
    reload(&v);
    assert_int_equal(v.status, POD_STOPPING);
    assert_int_equal(
        q_int("SELECT count(*) FROM pod_intents WHERE pod_id = ?1 AND kind = 'stop'", v.id), 1);
    assert_int_equal(
        q_int("SELECT count(*) FROM pod_intents WHERE pod_id = ?1 AND kind = 'delete'", v.id), 0);
    /* fresh2, registered after b's sync: a pod with a 200 GB volume whose meter b opens */
    assert_int_equal(registry_add(a, db, "fresh2", "volt", base, "sekret", set, err, sizeof(err)),
                     GB_OK);
    cJSON_Delete(set);
    assert_null(registry_get(b, "fresh2"));
    new_account(USD(100), &rich);
    running_pod(&rich, "fresh2", USD(1), T0, &w);
    char sql[200];
    snprintf(sql, sizeof(sql), "UPDATE pods SET volume_size_gb = 200 WHERE id = '%s'", w.id);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    assert_int_equal(meter_round(b, db, T0 + 180000, NULL), GB_OK);
    meter_rec m;
    assert_int_equal(meter_get(db, w.id, &m), GB_OK);
    assert_int_equal(m.idle_rate, USD(0.02)); /* 200 GB at $0.0001 a GB-hour */
    /* fresh3: a pod action through b (stop, start, delete, update, logs load the pod and its
     * adapter with pod_load) finds the provider, not "no longer registered" */
    set = cJSON_Parse("{}");
    assert_int_equal(registry_add(a, db, "fresh3", "volt", base, "sekret", set, err, sizeof(err)),
                     GB_OK);
    cJSON_Delete(set);
    pod_rec x, got;
    running_pod(&rich, "fresh3", USD(1), T0, &x);
    assert_null(registry_get(b, "fresh3"));
    api_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.app = b;
    rq.db = db;
    rq.params[0] = x.id;
    rq.nparams = 1;
    gb_strlcpy(rq.account_id, rich.id, sizeof(rq.account_id));
    api_resp rs;
    memset(&rs, 0, sizeof(rs));
    prov_adapter *ad = pod_load(&rq, &rs, &got);
    if (!ad) fail_msg("pod_load answered %d: %s", rs.status, rs.body ? rs.body : "");
    assert_string_equal(ad->name, "fresh3");
    assert_int_equal(rs.status, 0); /* nothing answered */
    pod_rec_clear(&got);
    pod_rec_clear(&x);
    /* fresh4 and fresh5, each registered after b's last sync: a create through b naming it,
     * by "provider:offer" and by "provider" */
    static const char *bodies[] = {
        "{\"machine_id\":\"fresh4:mach_rtx4090_01\",\"name\":\"f4\","
        "\"image\":\"pytorch/pytorch\"}",
        "{\"provider\":\"fresh5\",\"resource_name\":\"mach_rtx4090_01\",\"name\":\"f5\","
        "\"image\":\"pytorch/pytorch\"}"};
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "fresh5" : "fresh4";
        set = cJSON_Parse("{}");
        assert_int_equal(registry_add(a, db, name, "volt", base, "sekret", set, err, sizeof(err)),
                         GB_OK);
        cJSON_Delete(set);
        assert_null(registry_get(b, name));
        memset(&rq, 0, sizeof(rq));
        rq.app = b;
        rq.db = db;
        rq.method = "POST";
        rq.path = "/api/volt/pods";
        rq.body = bodies[i];
        rq.body_len = strlen(bodies[i]);
        rq.scopes = SCOPE_ALL_USER;
        gb_strlcpy(rq.account_id, rich.id, sizeof(rq.account_id));
        memset(&rs, 0, sizeof(rs));
        h_pods_create(&rq, &rs);
        if (rs.status / 100 != 2)
            fail_msg("create on %s answered %d: %s", name, rs.status, rs.body ? rs.body : "");
        assert_non_null(strstr(rs.body, name));
        free(rs.body);
    }
    pod_rec_clear(&v);
    pod_rec_clear(&w);
    db = test_app_second_close(b, a);
}

/* gb_config_margin_each's entries as "name=bp " into the string ud (128 bytes). */
static void note_margin(void *ud, const char *name, size_t len, int bp)
{
    char *s = ud;
    size_t k = strlen(s);
    snprintf(s + k, 128 - k, "%.*s=%d ", (int)len, name, bp);
}

/* a money field of a JSON answer (a number of dollars) */
static gb_money json_money(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    gb_money m = -1;
    assert_true(cJSON_IsRaw(v)); /* written exactly (gb_json_add_money) */
    assert_int_equal(gb_money_parse(v->valuestring, &m), 0);
    return m;
}

/* pod_list_page's callback: the listed pod's locked rate into ud (a gb_money) */
static void note_rate(void *ud, const pod_rec *p)
{
    *(gb_money *)ud = p->meter_rate;
}

static void test_margin_locked(void **state)
{
    (void)state;
    gb_clock_set(T0);
    account_rec acc;
    new_account(USD(100), &acc);
    pod_rec p;
    running_pod(&acc, "volt", USD(2), T0, &p);
    char *old = a->cfg.metering_margins;
    a->cfg.metering_margins = "lium=1,volt=12.5";
    assert_int_equal(meter_round(a, db, T0 + HOUR, NULL), GB_OK);
    assert_int_equal(usage_sum(p.id), USD(2.25));
    /* a margin changed later does not reprice a pod already metered */
    a->cfg.metering_margins = "volt=50";
    assert_int_equal(meter_round(a, db, T0 + 2 * HOUR, NULL), GB_OK);
    assert_int_equal(usage_sum(p.id), USD(4.5));
    /* and the pods API shows that locked rate, not the price with today's margin */
    pod_rec g;
    assert_int_equal(pod_get(db, acc.id, p.id, &g), GB_OK);
    assert_int_equal(g.meter_rate, USD(2.25));
    cJSON *o = pod_json(a, &g, T0 + 2 * HOUR, 1);
    assert_int_equal(json_money(o, "cost_per_hour"), USD(2.25));
    assert_int_equal(json_money(o, "total_cost"), USD(4.5));
    cJSON_Delete(o);
    pod_rec_clear(&g);
    gb_money listed = -1;
    assert_int_equal(pod_list_page(db, acc.id, NULL, NULL, 10, 0, note_rate, &listed), GB_OK);
    assert_int_equal(listed, USD(2.25));
    a->cfg.metering_margins = old;
    assert_int_equal(gb_config_margin("volt=12.5,lium=1", "volt"), 1250);
    assert_int_equal(gb_config_margin("volt=1.234", "volt"), -1);
    assert_int_equal(gb_config_margin("volt=5,", "volt"), -1);
    assert_int_equal(gb_config_margin("=5", "volt"), -1);
    assert_int_equal(gb_config_margin("lium=5", "volt"), 0);
    /* every entry in order, or none of a malformed list */
    char seen[128] = "";
    assert_int_equal(gb_config_margin_each("lium=5,volt=12.5,lium=7", note_margin, seen), 0);
    assert_string_equal(seen, "lium=500 volt=1250 lium=700 ");
    seen[0] = '\0';
    assert_int_equal(gb_config_margin_each("lium=5,volt=x", note_margin, seen), -1);
    assert_string_equal(seen, "");
    assert_int_equal(gb_config_margin_each(NULL, note_margin, seen), 0);
    assert_string_equal(seen, "");
    pod_rec_clear(&p);
}

/* the events queued for the account, oldest first, joined by spaces */
static void events_of(const account_rec *acc, char *out, size_t n)
{
    out[0] = '\0';
    /* rowid: insertion order on both backends (PostgreSQL's is an identity column) */
    gb_q *q = gb_q_prep(db, "SELECT event FROM wh_messages WHERE account_id = ?1 ORDER BY rowid");
    assert_non_null(q);
    gb_q_text(q, 1, acc->id);
    int row = 0;
    gb_err e;
    while (!(e = gb_q_step(q, &row)) && row) {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s", len ? " " : "", gb_q_col_text(q, 0));
    }
    assert_int_equal(e, GB_OK);
    gb_q_reset(q);
}

/* The account's queued events whose name starts with prefix and whose payload's field is a
 * string holding text (text not NULL) or the number num (read in C: SQLite's json_extract
 * and PostgreSQL's operators differ). */
static int payloads_with(const account_rec *acc, const char *prefix, const char *field,
                         const char *text, double num)
{
    gb_q *q = gb_q_prep(db, "SELECT event, payload FROM wh_messages WHERE account_id = ?1");
    assert_non_null(q);
    gb_q_text(q, 1, acc->id);
    int row = 0, n = 0;
    gb_err e;
    while (!(e = gb_q_step(q, &row)) && row) {
        if (!gb_str_starts_with(gb_q_col_text(q, 0), prefix)) continue;
        cJSON *j = cJSON_Parse(gb_q_col_text(q, 1));
        assert_non_null(j);
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, field);
        if (text ? cJSON_IsString(f) && strstr(f->valuestring, text)
                 : cJSON_IsNumber(f) && f->valuedouble == num)
            n++;
        cJSON_Delete(j);
    }
    assert_int_equal(e, GB_OK);
    gb_q_reset(q);
    return n;
}

static void test_balance_runs_out(void **state)
{
    (void)state;
    gb_clock_set(T0);
    account_rec acc;
    new_account(USD(0.05), &acc);
    pod_rec v, l;
    running_pod(&acc, "volt", USD(1.8), T0, &v); /* $0.0005 a second each */
    running_pod(&acc, "lium", USD(1.8), T0, &l); /* Lium cannot stop: deleted */
    /* 40 s: $0.04 of $0.05 */
    assert_int_equal(meter_round(a, db, T0 + 40000, NULL), GB_OK);
    assert_int_equal(balance(&acc), USD(0.01));
    char ev[512];
    events_of(&acc, ev, sizeof(ev));
    assert_string_equal(ev, "");
    /* 60 s: $0.06 due, $0.01 left: the balance is taken to zero, the rest unpaid */
    gb_clock_set(T0 + 60000);
    meter_stats st;
    assert_int_equal(meter_round(a, db, T0 + 60000, &st), GB_OK);
    assert_int_equal(balance(&acc), 0);
    assert_int_equal(st.accounts_low, 1);
    assert_int_equal(st.stops_requested, 2);
    assert_int_equal(usage_sum(v.id) + usage_sum(l.id), USD(0.05));
    reload(&v);
    reload(&l);
    assert_int_equal(v.status, POD_STOPPING);
    assert_int_equal(l.status, POD_DELETED);
    assert_non_null(strstr(v.stop_reason, "balance"));
    assert_non_null(strstr(l.stop_reason, "balance"));
    /* the warning comes first, then each pod's change */
    events_of(&acc, ev, sizeof(ev));
    assert_true(gb_str_starts_with(ev, "account.balance_low "));
    assert_non_null(strstr(ev, "pod.stopping"));
    assert_non_null(strstr(ev, "pod.deleted"));
    assert_int_equal(payloads_with(&acc, "pod.", "reason", "balance", 0), 2);
    /* the warning's payload as docs/webhooks.md lists it (read back from the outbox) */
    const char *bl = "account.balance_low";
    assert_int_equal(payloads_with(&acc, bl, "event", bl, 0), 1);
    assert_int_equal(payloads_with(&acc, bl, "accountId", acc.id, 0), 1);
    assert_int_equal(payloads_with(&acc, bl, "action", "stopping the account's pods", 0), 1);
    assert_int_equal(payloads_with(&acc, bl, "balance", NULL, 0), 1);
    assert_int_equal(payloads_with(&acc, bl, "unpaid", NULL, 0.01), 1);
    assert_int_equal(payloads_with(&acc, bl, "runningCostPerHour", NULL, 3.6), 1);
    assert_int_equal(
        q_int("SELECT count(*) FROM pod_intents WHERE pod_id = ?1 AND kind = 'stop'", v.id), 1);
    assert_int_equal(
        q_int("SELECT count(*) FROM pod_intents WHERE pod_id = ?1 AND kind = 'delete'", l.id), 1);
    /* nothing accrues after, and the warning is not repeated */
    int64_t n = usage_count(v.id) + usage_count(l.id);
    for (int i = 2; i < 5; i++)
        assert_int_equal(meter_round(a, db, T0 + i * 60000, NULL), GB_OK);
    assert_int_equal(usage_count(v.id) + usage_count(l.id), n);
    events_of(&acc, ev, sizeof(ev));
    assert_ptr_equal(strstr(ev + 1, "account.balance_low"), NULL);
    /* the stop failed at the platform and the pod runs on: it is deleted instead */
    reload(&v);
    pod_set_status(&v, POD_RUNNING, T0 + 300000);
    assert_int_equal(pod_update(db, &v), GB_OK);
    assert_int_equal(pod_event_add(db, v.id, T0 + 300000, "stop_failed", NULL, NULL, "refused"),
                     GB_OK);
    gb_clock_set(T0 + 301000);
    assert_int_equal(meter_round(a, db, T0 + 301000, NULL), GB_OK);
    reload(&v);
    assert_int_equal(v.status, POD_DELETED);
    /* credited again: no longer low, pods may be created */
    gb_money bal = 0;
    assert_int_equal(accounts_credit(db, acc.id, USD(10), "top up", &bal), GB_OK);
    assert_int_equal(bal, USD(10)); /* the balance after the credit, as the ledger holds it */
    assert_int_equal(balance(&acc), USD(10));
    assert_int_equal(meter_round(a, db, T0 + 400000, NULL), GB_OK);
    account_money m;
    assert_int_equal(account_money_get(db, acc.id, &m), GB_OK);
    assert_int_equal(m.low_balance_at, 0);
    billing_refusal why;
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(1.8), &why), GB_OK);
    pod_rec_clear(&v);
    pod_rec_clear(&l);
}

static void test_guards(void **state)
{
    (void)state;
    gb_clock_set(T0);
    account_rec acc;
    new_account(USD(100), &acc);
    pod_rec d, c;
    running_pod(&acc, "volt", USD(3.6), T0, &d);
    running_pod(&acc, "volt", USD(3.6), T0, &c);
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE pods SET max_duration_ms = 120000 WHERE id = '%s'", d.id);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    snprintf(sql, sizeof(sql), "UPDATE pods SET max_cost = 100000 WHERE id = '%s'", c.id);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    /* 99 s: $0.099 each, 99 s run: neither guard reached */
    gb_clock_set(T0 + 99000);
    assert_int_equal(meter_round(a, db, T0 + 99000, NULL), GB_OK);
    reload(&d);
    reload(&c);
    assert_int_equal(d.status, POD_RUNNING);
    assert_int_equal(c.status, POD_RUNNING);
    /* 100 s: the cost guard ($0.10) */
    gb_clock_set(T0 + 100000);
    assert_int_equal(meter_round(a, db, T0 + 100000, NULL), GB_OK);
    reload(&d);
    reload(&c);
    assert_int_equal(d.status, POD_RUNNING);
    assert_int_equal(c.status, POD_STOPPING);
    assert_non_null(strstr(c.stop_reason, "max_cost"));
    assert_int_equal(usage_sum(c.id), USD(0.1));
    /* 120 s: the duration guard */
    gb_clock_set(T0 + 120000);
    assert_int_equal(meter_round(a, db, T0 + 120000, NULL), GB_OK);
    reload(&d);
    assert_int_equal(d.status, POD_STOPPING);
    assert_non_null(strstr(d.stop_reason, "max_duration"));
    /* started again by its owner: the reason goes */
    pod_set_status(&d, POD_STOPPED, T0 + 130000);
    assert_int_equal(pod_update(db, &d), GB_OK);
    reload(&d);
    assert_int_equal(pod_request(a, db, &d, INTENT_START, NULL, NULL), GB_OK);
    reload(&d);
    assert_string_equal(d.stop_reason, "");
    pod_rec_clear(&d);
    pod_rec_clear(&c);
}

static void test_budget(void **state)
{
    (void)state;
    gb_clock_set(T0);
    account_rec acc;
    new_account(USD(100), &acc);
    account_money m;
    assert_int_equal(account_money_get(db, acc.id, &m), GB_OK);
    m.admin_budget = USD(1);
    assert_int_equal(account_money_set(db, acc.id, &m), GB_OK);
    pod_rec p;
    running_pod(&acc, "volt", USD(3.6), T0, &p); /* $0.001 a second */
    char ev[1024];
    int64_t marks[] = {499000, 500000, 799000, 800000, 999000, 1000000, 1100000};
    const char *want[] = {"",
                          "account.budget",
                          "account.budget",
                          "account.budget account.budget",
                          "account.budget account.budget",
                          "account.budget account.budget account.budget",
                          "account.budget account.budget account.budget"};
    billing_refusal why;
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        gb_clock_set(T0 + marks[i]);
        assert_int_equal(meter_round(a, db, T0 + marks[i], NULL), GB_OK);
        events_of(&acc, ev, sizeof(ev));
        assert_string_equal(ev, want[i]);
        gb_err e = billing_admit(a, db, acc.id, "volt", USD(1), &why);
        if (marks[i] < 1000000) {
            assert_int_equal(e, GB_OK);
        } else {
            assert_int_equal(e, GB_ERR_PAYMENT);
            assert_string_equal(why.code, "BUDGET");
        }
    }
    assert_int_equal(payloads_with(&acc, "", "percent", NULL, 80), 1);
    char month[8];
    billing_month_start(T0, month);
    assert_int_equal(payloads_with(&acc, "account.budget", "month", month, 0), 3);
    assert_int_equal(payloads_with(&acc, "account.budget", "event", "account.budget", 0), 3);
    assert_int_equal(payloads_with(&acc, "account.budget", "budget", NULL, 1), 3);
    /* the month a budget counts: UTC, from its first millisecond */
    assert_int_equal(billing_month_start(INT64_C(1798761599999), month), INT64_C(1796083200000));
    assert_string_equal(month, "2026-12");
    assert_int_equal(billing_month_start(INT64_C(1798761600000), month), INT64_C(1798761600000));
    assert_string_equal(month, "2027-01");
    /* the holder's own lower budget applies; the admin's stays the cap */
    assert_int_equal(account_cap(USD(5), USD(1)), USD(1));
    assert_int_equal(account_cap(USD(0.5), USD(1)), USD(0.5));
    assert_int_equal(account_cap(0, USD(1)), USD(1));
    assert_int_equal(account_cap(USD(2), 0), USD(2));
    pod_rec_clear(&p);
}

/* Registers name as another provider at the volt simulator's URL with the given settings
 * (JSON text); err (512 bytes) gets registry_add's message. */
static gb_err add_volt_like(const char *name, const char *settings, char *err)
{
    char base[300];
    snprintf(base, sizeof(base), "%s", registry_get(a, "volt")->base_url);
    cJSON *set = cJSON_Parse(settings);
    assert_non_null(set);
    gb_err e = registry_add(a, db, name, "volt", base, "sekret", set, err, 512);
    cJSON_Delete(set);
    return e;
}

/* A stopped pod pays the platform's storage price for its volume (here a provider setting),
 * from the moment it stopped until it is deleted; running time at the pod's price. */
static void test_stopped_storage(void **state)
{
    (void)state;
    char err[512] = "";
    assert_int_equal(add_volt_like("disky", "{\"stopped_price_per_gb_hour\":\"-1\"}", err),
                     GB_ERR_INVALID);
    assert_non_null(strstr(err, "stopped_price_per_gb_hour"));
    assert_int_equal(add_volt_like("disky", "{\"stopped_price_per_gb_hour\":\"0.0001\"}", err),
                     GB_OK);
    gb_clock_set(T0);
    account_rec acc;
    new_account(USD(100), &acc);
    pod_rec p;
    memset(&p, 0, sizeof(p));
    running_pod(&acc, "disky", USD(1), T0, &p);
    char sql[200];
    snprintf(sql, sizeof(sql), "UPDATE pods SET volume_size_gb = 200 WHERE id = '%s'", p.id);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    assert_int_equal(meter_round(a, db, T0 + HOUR / 2, NULL), GB_OK);
    /* stop asked at 1 h, stopped at the platform at 1 h + 1 min */
    gb_clock_set(T0 + HOUR);
    reload(&p);
    assert_int_equal(pod_request(a, db, &p, INTENT_STOP, NULL, NULL), GB_OK);
    assert_int_equal(usage_sum(p.id), USD(1));
    reload(&p);
    pod_set_status(&p, POD_STOPPED, T0 + HOUR + 60000);
    assert_int_equal(pod_update(db, &p), GB_OK);
    /* its max_cost ($1.02) is passed by the storage below: a stopped pod has nothing left to
     * stop, and the guard must not take it for one that cannot stop and delete it (its
     * volume and data with it) */
    snprintf(sql, sizeof(sql), "UPDATE pods SET max_cost = 1020000 WHERE id = '%s'", p.id);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    /* 2 h later: 200 GB x $0.0001 x 2 h = $0.04 of storage */
    int64_t t = T0 + 3 * HOUR + 60000;
    assert_int_equal(meter_round(a, db, t, NULL), GB_OK);
    assert_int_equal(usage_sum(p.id), USD(1) + USD(0.04));
    reload(&p);
    assert_int_equal(p.status, POD_STOPPED);
    assert_string_equal(p.stop_reason, "");
    /* a round whose clock is an hour behind (a broker's clock behind the others', or a round
     * that read its clock before it waited for the locks) charges nothing and does not move
     * the meter back: the hour it "repeats" is not charged again below */
    assert_int_equal(meter_round(a, db, t - HOUR, NULL), GB_OK);
    assert_int_equal(usage_sum(p.id), USD(1) + USD(0.04));
    /* deleted 30 min later: the last $0.01, then the meter is closed */
    gb_clock_set(t + HOUR / 2);
    reload(&p);
    assert_int_equal(pod_request(a, db, &p, INTENT_DELETE, NULL, NULL), GB_OK);
    assert_int_equal(usage_sum(p.id), USD(1) + USD(0.05));
    meter_rec m;
    assert_int_equal(meter_get(db, p.id, &m), GB_OK);
    assert_false(m.open);
    assert_int_equal(meter_round(a, db, t + 2 * HOUR, NULL), GB_OK);
    assert_int_equal(usage_sum(p.id), USD(1) + USD(0.05));
    pod_rec_clear(&p);
}

/* A pod's cost for its max_cost guard is its running time and its stopped storage together:
 * started again after storage was charged, it is stopped when the two reach the guard. The
 * storage price is the setting's number form here ({"stopped_price_per_gb_hour": 0.0001}). */
static void test_storage_counts_toward_max_cost(void **state)
{
    (void)state;
    char err[512] = "";
    assert_int_equal(add_volt_like("disknum", "{\"stopped_price_per_gb_hour\":0.0001}", err),
                     GB_OK);
    gb_clock_set(T0);
    account_rec acc;
    new_account(USD(100), &acc);
    pod_rec p;
    running_pod(&acc, "disknum", USD(1), T0, &p);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "UPDATE pods SET volume_size_gb = 200, max_cost = 1030000 WHERE id = '%s'", p.id);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    /* 1 h running ($1), then 2 h stopped: 200 GB x $0.0001 x 2 h = $0.04 */
    gb_clock_set(T0 + HOUR);
    reload(&p);
    assert_int_equal(pod_request(a, db, &p, INTENT_STOP, NULL, NULL), GB_OK);
    reload(&p);
    pod_set_status(&p, POD_STOPPED, T0 + HOUR);
    assert_int_equal(pod_update(db, &p), GB_OK);
    assert_int_equal(meter_round(a, db, T0 + 3 * HOUR, NULL), GB_OK);
    assert_int_equal(usage_sum(p.id), USD(1) + USD(0.04));
    reload(&p);
    assert_int_equal(p.status, POD_STOPPED); /* $1.04 stopped: nothing to stop */
    /* started again: 1 min more running ($1.0167 + $0.04 >= $1.03) and the guard stops it,
     * where the running time alone ($1.0167) would not have reached it */
    gb_clock_set(T0 + 3 * HOUR);
    assert_int_equal(pod_request(a, db, &p, INTENT_START, NULL, NULL), GB_OK);
    reload(&p);
    pod_set_status(&p, POD_RUNNING, T0 + 3 * HOUR);
    assert_int_equal(pod_update(db, &p), GB_OK);
    gb_clock_set(T0 + 3 * HOUR + 60000);
    assert_int_equal(meter_round(a, db, T0 + 3 * HOUR + 60000, NULL), GB_OK);
    reload(&p);
    assert_int_equal(p.status, POD_STOPPING);
    assert_non_null(strstr(p.stop_reason, "max_cost"));
    pod_rec_clear(&p);
}

/* At T0: an account with $100 and a $3 spend limit (*m as set), running a $2 volt pod. */
static void limited_account(account_rec *acc, pod_rec *p, account_money *m)
{
    gb_clock_set(T0);
    new_account(USD(100), acc);
    running_pod(acc, "volt", USD(2), T0, p);
    assert_int_equal(account_money_get(db, acc->id, m), GB_OK);
    m->spend_limit = USD(3);
    assert_int_equal(account_money_set(db, acc->id, m), GB_OK);
}

/* The spend limit holds to the micro-dollar: a pod that takes the committed cost exactly to the
 * limit fits, one micro-dollar more does not. */
static void test_spend_limit_exact(void **state)
{
    (void)state;
    account_rec acc;
    pod_rec p;
    account_money m;
    limited_account(&acc, &p, &m);
    billing_refusal why;
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(1), &why), GB_OK);
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(1) + 1, &why), GB_ERR_PAYMENT);
    assert_string_equal(why.code, "SPEND_LIMIT");
    /* an administrator's lower cap wins over the holder's */
    m.admin_spend_limit = USD(2.5);
    assert_int_equal(account_money_set(db, acc.id, &m), GB_OK);
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(0.5), &why), GB_OK);
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(0.5) + 1, &why), GB_ERR_PAYMENT);
    pod_rec_clear(&p);
}

/* Running costs whose sum passes GB_MONEY_MAX: the sum is refused (GB_ERR_LIMIT, 0), never
 * wrapped, and a spend limit then admits no pod (the refusal is the caller's error, not a
 * small running cost that fits). */
static void test_running_cost_overflow(void **state)
{
    (void)state;
    account_rec acc;
    pod_rec p, q;
    account_money m;
    limited_account(&acc, &p, &m);
    gb_money per_hour = -1;
    assert_int_equal(meter_running_cost(a, db, acc.id, &per_hour), GB_OK);
    assert_int_equal(per_hour, USD(2));
    running_pod(&acc, "volt", GB_MONEY_MAX - USD(2) + 1, T0, &q);
    assert_int_equal(meter_running_cost(a, db, acc.id, &per_hour), GB_ERR_LIMIT);
    assert_int_equal(per_hour, 0);
    billing_refusal why;
    assert_int_not_equal(billing_admit(a, db, acc.id, "volt", 1, &why), GB_OK);
    /* gone, so later tests' rounds do not meet it */
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE pods SET status = 'deleted' WHERE id = '%s'", q.id);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    pod_rec_clear(&q);
    pod_rec_clear(&p);
}

/* The spend limit and the running cost are what the user pays: each pod's price with its
 * provider's margin (metering.margins), or the rate its open meter locked, not the provider's
 * price. A 10% margin on a $2 pod commits $2.20 of a $3 limit. */
static void test_spend_limit_with_margin(void **state)
{
    (void)state;
    char *old = a->cfg.metering_margins;
    a->cfg.metering_margins = "volt=10";
    account_rec acc;
    pod_rec p;
    account_money m;
    limited_account(&acc, &p, &m);
    gb_money per_hour = -1;
    assert_int_equal(meter_running_cost(a, db, acc.id, &per_hour), GB_OK);
    assert_int_equal(per_hour, USD(2.2));
    billing_refusal why;
    /* $0.70 is $0.77 with the margin: $2.97 in all fits; $0.80 ($0.88, $3.08) does not */
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(0.7), &why), GB_OK);
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(0.8), &why), GB_ERR_PAYMENT);
    assert_string_equal(why.code, "SPEND_LIMIT");
    assert_non_null(strstr(why.message, "($0.88/h)"));
    assert_non_null(strstr(why.message, "$3.08/h"));
    /* a provider without a margin is taken at its price */
    assert_int_equal(billing_admit(a, db, acc.id, "lium", USD(0.8), &why), GB_OK);
    /* once metered, the pod counts at the rate its meter locked, whatever the margin now */
    assert_int_equal(meter_round(a, db, T0 + HOUR, NULL), GB_OK);
    a->cfg.metering_margins = "volt=50";
    assert_int_equal(meter_running_cost(a, db, acc.id, &per_hour), GB_OK);
    assert_int_equal(per_hour, USD(2.2));
    /* and a new volt pod at the margin of now: $0.50 is $0.75, $2.95 in all */
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(0.5), &why), GB_OK);
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(0.54), &why), GB_ERR_PAYMENT);
    a->cfg.metering_margins = old;
    pod_rec_clear(&p);
}

/* The balance a pod needs (metering.min_run_min of it) is counted at what the user pays, the
 * rate with the margin: with 50% on volt a $2 pod is $3/h, so 10 minutes need $0.50, not the
 * $0.33 of the provider's price. */
static void test_balance_minimum_with_margin(void **state)
{
    (void)state;
    char *old = a->cfg.metering_margins;
    a->cfg.metering_margins = "volt=50";
    gb_clock_set(T0);
    account_rec acc;
    new_account(USD(0.4), &acc);
    billing_refusal why;
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(2), &why), GB_ERR_PAYMENT);
    assert_string_equal(why.code, "INSUFFICIENT_BALANCE");
    assert_non_null(strstr(why.message, "($0.50)"));
    assert_int_equal(billing_admit(a, db, acc.id, "lium", USD(2), &why), GB_OK); /* no margin */
    assert_int_equal(accounts_credit(db, acc.id, USD(0.1) - 1, "almost", &(gb_money){0}), GB_OK);
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(2), &why), GB_ERR_PAYMENT);
    assert_int_equal(accounts_credit(db, acc.id, 1, "enough", &(gb_money){0}), GB_OK);
    assert_int_equal(billing_admit(a, db, acc.id, "volt", USD(2), &why), GB_OK);
    a->cfg.metering_margins = old;
}

/* A user's price cap (max_price_per_hour) as the provider's share of it: the highest price
 * whose rate with the margin stays within the cap. */
static void test_price_cap(void **state)
{
    (void)state;
    char *old = a->cfg.metering_margins;
    a->cfg.metering_margins = "volt=10,lium=33.33";
    const char *provs[] = {"volt", "lium"};
    const gb_money caps[] = {USD(3), USD(2.5) + 1, 1, 7, USD(1000)};
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
            gb_money p = meter_price_cap(a, provs[i], caps[k]), r, r1;
            assert_int_equal(meter_price_rate(a, provs[i], p, &r), 0);
            assert_int_equal(meter_price_rate(a, provs[i], p + 1, &r1), 0);
            if (r > caps[k] || r1 <= caps[k])
                fail_msg("%s cap %lld: price %lld costs %lld, one more %lld", provs[i],
                         (long long)caps[k], (long long)p, (long long)r, (long long)r1);
        }
    assert_int_equal(meter_price_cap(a, "volt", USD(3)), 2727273);  /* x 1.1 = 3,000,000.3: $3 */
    assert_int_equal(meter_price_cap(a, "targon", USD(3)), USD(3)); /* no margin */
    assert_int_equal(meter_price_cap(a, "volt", 0), 0);             /* no cap */
    a->cfg.metering_margins = old;
}

static void test_job_pods_not_metered(void **state)
{
    (void)state;
    gb_clock_set(T0);
    account_rec acc;
    new_account(USD(100), &acc);
    pod_rec p;
    running_pod(&acc, "volt", USD(5), T0, &p);
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE pods SET job_id = 'ftj_x' WHERE id = '%s'", p.id);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    assert_int_equal(meter_round(a, db, T0 + HOUR, NULL), GB_OK);
    assert_int_equal(usage_count(p.id), 0);
    meter_rec m;
    assert_int_equal(meter_get(db, p.id, &m), GB_ERR_NOT_FOUND);
    gb_money per_hour = -1;
    assert_int_equal(meter_running_cost(a, db, acc.id, &per_hour), GB_OK);
    assert_int_equal(per_hour, 0);
    /* nor when it is stopped or deleted (the change settles the pods it may) */
    gb_clock_set(T0 + 2 * HOUR);
    reload(&p);
    assert_string_equal(p.job_id, "ftj_x");
    assert_int_equal(pod_request(a, db, &p, INTENT_DELETE, NULL, NULL), GB_OK);
    assert_int_equal(usage_count(p.id), 0);
    assert_int_equal(meter_get(db, p.id, &m), GB_ERR_NOT_FOUND);
    pod_rec_clear(&p);
}

/* A fine-tuning job's pod is never metered, so its status changes (a stop or delete asked
 * for, the reconciler finding it gone) do not lock the account's balance: they locked it for
 * the metering order's sake, and every other money transaction of the account (job creates,
 * refunds) waited on each, or on a broker paused inside one for the whole idle-transaction
 * limit (docs/store.md). PostgreSQL: another session holds the balance's row; the changes do
 * not wait for it (lock_timeout 1 s: a wait would fail them). */
static void test_job_pod_changes_leave_the_balance_alone(void **state)
{
    (void)state;
    gb_clock_use_real();
    account_rec acc;
    new_account(USD(100), &acc);
    pod_rec asked, gone;
    running_pod(&acc, "volt", USD(5), gb_now_ms(), &asked);
    running_pod(&acc, "volt", USD(5), gb_now_ms(), &gone); /* its workload is not there */
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE pods SET job_id = 'ftj_jp' WHERE id IN ('%s', '%s')",
             asked.id, gone.id);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    snprintf(sql, sizeof(sql), "UPDATE pods SET next_poll_at = 0 WHERE id = '%s'", gone.id);
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
    reload(&asked);
    gb_db *hold = NULL;
    int pg = tdb_is_pg();
    if (pg) {
        assert_int_equal(gb_db_open_url(a->cfg.database, &hold), GB_OK);
        assert_int_equal(gb_db_begin(hold), GB_OK);
        assert_int_equal(tdb_int_arg(hold,
                                     "SELECT balance FROM ledger_balances"
                                     " WHERE account_id = ?1 FOR UPDATE",
                                     acc.id),
                         USD(100));
        assert_int_equal(gb_db_exec(db, "SET lock_timeout = 1000"), GB_OK);
    }
    gb_err asked_e = pod_request(a, db, &asked, INTENT_STOP, NULL, NULL);
    reconciler_round(a, db, NULL);
    pod_rec after;
    gb_err got = pod_get(db, acc.id, gone.id, &after);
    if (pg) {
        assert_int_equal(gb_db_exec(db, "SET lock_timeout = 0"), GB_OK);
        gb_db_rollback(hold);
        gb_db_close(hold);
    }
    assert_int_equal(asked_e, GB_OK);
    assert_int_equal(got, GB_OK);
    assert_int_equal(after.status, POD_DELETED); /* the reconciler recorded it gone */
    /* the stop was queued (the reconciler has found this one gone too since) */
    assert_int_equal(
        q_int("SELECT count(*) FROM pod_intents WHERE pod_id = ?1 AND kind = 'stop'", asked.id), 1);
    assert_int_equal(usage_count(asked.id), 0);
    pod_rec_clear(&after);
    pod_rec_clear(&asked);
    pod_rec_clear(&gone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_balance_refused),
        cmocka_unit_test(test_accrual_exact),
        cmocka_unit_test(test_crash_neither_loses_nor_doubles),
        cmocka_unit_test(test_delete_behind_a_round),
        cmocka_unit_test(test_gone_behind_a_round),
        cmocka_unit_test(test_margin_locked),
        cmocka_unit_test(test_balance_runs_out),
        cmocka_unit_test(test_guards),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_stopped_storage),
        cmocka_unit_test(test_storage_counts_toward_max_cost),
        cmocka_unit_test(test_provider_registered_elsewhere),
        cmocka_unit_test(test_spend_limit_exact),
        cmocka_unit_test(test_running_cost_overflow),
        cmocka_unit_test(test_spend_limit_with_margin),
        cmocka_unit_test(test_balance_minimum_with_margin),
        cmocka_unit_test(test_price_cap),
        cmocka_unit_test(test_job_pods_not_metered),
        cmocka_unit_test(test_job_pod_changes_leave_the_balance_alone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
