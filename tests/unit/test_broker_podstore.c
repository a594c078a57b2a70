/* test_broker_podstore.c: the pods, intents, meters and usage stores (pod_store.c,
 * intent_store.c, meter_store.c, usage_store.c) on SQLite and, as
 * unit.test_broker_podstore.postgresql, on PostgreSQL (test_db_util.h). Only the tables they
 * need: the pods migrations over stand-in accounts and ledger tables.
 * The pods migrations (the v4 upgrade of a running pod into a meter), pods filtered, paged and
 * summed (prices beyond 2^31 micro-dollars), events and providers; intents claimed in a pod's
 * order, exclusively (four connections at once take each intent once), fenced by owner and
 * released; due pods claimed by the reconcilers of several brokers (each once per lease);
 * meters inserted then updated in place; usage grouped by day (the UTC boundary),
 * provider, GPU, pod and account, entries paged and counted by kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "broker/core/intents.h"
#include "broker/core/meter.h"
#include "broker/core/pods.h"
#include "broker/store/usage.h"
#include "common/clock.h"
#include "common/db.h"
#include "common/dbq.h"
#include "common/log.h"
#include "common/str.h"
#include "test_db_util.h"

#define HOUR 3600000LL
#define DAY4 1796342400000LL /* 2026-12-04T00:00:00Z in ms */
#define BIG 3000000000LL     /* $3000.000000: beyond 2^31 micro-dollars */

static int pg;

static void exec_ok(gb_db *db, const char *sql)
{
    if (pg) {
        char *t = gb_db_ddl_for_pg(sql);
        assert_non_null(t);
        assert_int_equal(gb_db_exec(db, t), GB_OK);
        free(t);
    } else {
        assert_int_equal(gb_db_exec(db, sql), GB_OK);
    }
}

/* A fresh database with the stand-in accounts (a, b) and the pods tables at version upto
 * (0: all). */
static gb_db *open_db(const char **url_out, size_t upto)
{
    const char *url = tdb_fresh_url();
    assert_non_null(url);
    gb_db *db = tdb_open(url);
    assert_non_null(db);
    exec_ok(db, "CREATE TABLE accounts (id TEXT PRIMARY KEY)");
    exec_ok(db, "INSERT INTO accounts(id) VALUES ('a'), ('b')");
    gb_migration_set set = *pods_migrations();
    if (upto) set.count = upto;
    assert_int_equal(gb_db_migrate(db, &set, 1), GB_OK);
    if (url_out) *url_out = url;
    return db;
}

static pod_rec mkpod(const char *id, const char *acct, const char *provider, pod_status st,
                     gb_money price, int64_t created)
{
    pod_rec p;
    memset(&p, 0, sizeof(p));
    gb_strlcpy(p.id, id, sizeof(p.id));
    gb_strlcpy(p.account_id, acct, sizeof(p.account_id));
    gb_snprintf(p.name, sizeof(p.name), "n-%s", id);
    gb_strlcpy(p.provider, provider, sizeof(p.provider));
    gb_snprintf(p.provider_id, sizeof(p.provider_id), "pid-%s", id);
    gb_snprintf(p.workload_name, sizeof(p.workload_name), "gpb-%s", id);
    gb_strlcpy(p.kind, "rental", sizeof(p.kind));
    gb_strlcpy(p.offer_id, "off", sizeof(p.offer_id));
    gb_strlcpy(p.gpu_type, "H100", sizeof(p.gpu_type));
    p.gpu_count = 8;
    p.status = st;
    p.price_per_hour = price;
    p.created_at = created;
    p.next_poll_at = created;
    return p;
}

/* ---- migrations ---- */

static void test_migrations(void **state)
{
    (void)state;
    /* a database at v3 with a pod running for an hour, then upgraded: v4 opens its meter
     * with that hour counted as paid (pg_steps' v4 on PostgreSQL) */
    gb_db *db = open_db(NULL, 3);
    assert_int_equal(gb_db_version(db, "pods"), 3);
    gb_q *q = gb_q_prep(db, "INSERT INTO pods(id, account_id, name, provider, provider_id,"
                            " workload_name, kind, offer_id, status, price_per_hour, created_at,"
                            " running_since, running_ms) VALUES (?1, 'a', ?2, 'volt', ?1, ?1,"
                            " 'rental', 'o', ?3, ?4, 0, ?5, ?6)");
    assert_non_null(q);
    int64_t now = gb_now_ms();
    struct {
        const char *id, *name, *status;
        int64_t since, ms;
    } pods[] = {
        {"p_run", "web", "running", now - HOUR, 60000},
        {"p_job", "ft-ftj_123", "running", now - HOUR, 0}, /* a job's pod: no meter */
        {"p_stop", "idle", "stopped", 0, 0},               /* never ran: no meter */
        {"p_gone", "old", "deleted", 0, HOUR},
    };
    for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
        gb_q_text(q, 1, pods[i].id);
        gb_q_text(q, 2, pods[i].name);
        gb_q_text(q, 3, pods[i].status);
        gb_q_int64(q, 4, BIG);
        gb_q_int64(q, 5, pods[i].since);
        gb_q_int64(q, 6, pods[i].ms);
        assert_int_equal(gb_q_run(q, NULL), GB_OK);
    }
    assert_int_equal(gb_db_migrate(db, pods_migrations(), 1), GB_OK);
    assert_int_equal(gb_db_version(db, "pods"), (int)pods_migrations()->count);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM pod_meters"), 1);
    meter_rec m;
    assert_int_equal(meter_get(db, "p_run", &m), GB_OK);
    assert_string_equal(m.account_id, "a");
    assert_int_equal(m.rate, BIG);
    /* the upgrade reads the clock in whole seconds */
    assert_true(m.run_ms > HOUR + 60000 - 1000 && m.run_ms < HOUR + 60000 + 120000);
    /* rounded to the micro-dollar: BIG per hour for run_ms */
    assert_int_equal(m.run_charged, (BIG * m.run_ms + 1800000) / 3600000);
    assert_true(m.run_charged > BIG);
    assert_true(m.period_from >= now - 2000 && m.period_from <= gb_now_ms() + 1000);
    assert_true(m.open);
    pod_rec p;
    assert_int_equal(pod_get(db, "a", "p_job", &p), GB_OK);
    assert_string_equal(p.job_id, "ftj_123");
    assert_int_equal(p.max_cost, 0);
    pod_rec_clear(&p);
    /* again: nothing to apply */
    assert_int_equal(gb_db_migrate(db, pods_migrations(), 1), GB_OK);
    gb_db_close(db);
}

/* ---- pods ---- */

typedef struct {
    int n;
    char ids[16][32];
    int64_t prices[16];
} seen;

/* pod_rates_each's rows: how many, their prices' sum, their open meters' rates' sum */
typedef struct {
    int n;
    gb_money price, metered;
} rate_sum;

static void add_rate(void *ud, const char *provider, gb_money price, gb_money meter_rate)
{
    rate_sum *c = ud;
    assert_true(strcmp(provider, "volt") == 0 || strcmp(provider, "lium") == 0);
    c->n++;
    c->price += price;
    if (meter_rate >= 0) c->metered += meter_rate;
}

static void collect(void *ud, const pod_rec *p)
{
    seen *s = ud;
    if (s->n < 16) {
        gb_strlcpy(s->ids[s->n], p->id, sizeof(s->ids[0]));
        s->prices[s->n] = p->price_per_hour;
    }
    s->n++;
}

static void test_pods(void **state)
{
    (void)state;
    gb_db *db = open_db(NULL, 0);
    pod_rec p = mkpod("p1", "a", "volt", POD_RUNNING, BIG, 1000);
    p.ssh_key_ids = "[\"k1\"]";
    p.options = "{\"x\":1}";
    p.confidential = true;
    p.max_duration_ms = 7 * 24 * HOUR;
    p.max_cost = 5 * BIG;
    gb_strlcpy(p.job_id, "", sizeof(p.job_id));
    gb_strlcpy(p.image, "img:1", sizeof(p.image));
    gb_strlcpy(p.template_id, "tpl-1", sizeof(p.template_id));
    gb_strlcpy(p.raw_status, "RUNNING", sizeof(p.raw_status));
    gb_strlcpy(p.message, "up", sizeof(p.message));
    gb_strlcpy(p.ip, "10.1.2.3", sizeof(p.ip));
    gb_strlcpy(p.ssh_command, "ssh root@10.1.2.3 -p 2222", sizeof(p.ssh_command));
    gb_strlcpy(p.url, "https://p1.example", sizeof(p.url));
    p.ssh_port = 2222;
    p.vcpu = 16;
    p.ram_gb = 64;
    p.volume_size_gb = 100;
    assert_int_equal(pod_insert(db, &p), GB_OK);
    assert_int_equal(pod_insert(db, &p), GB_ERR_CONFLICT);
    pod_rec q2 = mkpod("p2", "a", "lium", POD_PENDING, 2 * BIG, 2000);
    assert_int_equal(pod_insert(db, &q2), GB_OK);
    pod_rec q3 = mkpod("p3", "a", "volt", POD_DELETED, 7, 3000);
    assert_int_equal(pod_insert(db, &q3), GB_OK);
    pod_rec q4 = mkpod("p4", "b", "volt", POD_RUNNING, 11, 4000);
    gb_strlcpy(q4.job_id, "ftj_9", sizeof(q4.job_id)); /* a job's pod: never counted */
    assert_int_equal(pod_insert(db, &q4), GB_OK);
    /* the same workload name at one provider is one pod */
    pod_rec dup = mkpod("p5", "b", "volt", POD_PENDING, 1, 5000);
    gb_strlcpy(dup.workload_name, p.workload_name, sizeof(dup.workload_name));
    assert_int_equal(pod_insert(db, &dup), GB_ERR_CONFLICT);

    pod_rec g;
    assert_int_equal(pod_get(db, "a", "p1", &g), GB_OK);
    assert_string_equal(g.name, "n-p1");
    assert_int_equal(g.status, POD_RUNNING);
    assert_int_equal(g.price_per_hour, BIG);
    assert_int_equal(g.gpu_count, 8);
    assert_true(g.confidential);
    assert_string_equal(g.ssh_key_ids, "[\"k1\"]");
    assert_string_equal(g.options, "{\"x\":1}");
    assert_int_equal(g.max_duration_ms, 7 * 24 * HOUR);
    assert_int_equal(g.max_cost, 5 * BIG);
    /* every column read back as written, into a record holding other bytes (a column the
     * row reader skipped would keep them) */
    pod_rec w;
    memset(&w, 'x', sizeof(w));
    w.ssh_key_ids = w.options = NULL;
    assert_int_equal(pod_get(db, "a", "p1", &w), GB_OK);
    assert_string_equal(w.id, "p1");
    assert_string_equal(w.account_id, "a");
    assert_string_equal(w.provider_id, "pid-p1");
    assert_string_equal(w.kind, "rental");
    assert_string_equal(w.gpu_type, "H100");
    assert_int_equal(w.created_at, 1000);
    assert_string_equal(w.image, "img:1");
    assert_string_equal(w.template_id, "tpl-1");
    assert_string_equal(w.raw_status, "RUNNING");
    assert_string_equal(w.message, "up");
    assert_string_equal(w.ip, "10.1.2.3");
    assert_string_equal(w.ssh_command, "ssh root@10.1.2.3 -p 2222");
    assert_string_equal(w.url, "https://p1.example");
    assert_string_equal(w.provider, "volt");
    assert_string_equal(w.workload_name, "gpb-p1");
    assert_string_equal(w.offer_id, "off");
    assert_string_equal(w.name, "n-p1");
    assert_int_equal(w.ssh_port, 2222);
    assert_int_equal(w.vcpu, 16);
    assert_int_equal(w.ram_gb, 64);
    assert_int_equal(w.volume_size_gb, 100);
    pod_rec_clear(&w);
    pod_rec_clear(&g);
    assert_int_equal(pod_get(db, "b", "p1", &g), GB_ERR_NOT_FOUND); /* not b's */
    assert_int_equal(pod_get(db, "a", "p2", &g), GB_OK);
    assert_null(g.options);
    assert_string_equal(g.ssh_key_ids, "[]");
    pod_rec_clear(&g);
    assert_int_equal(pod_by_workload(db, "lium", "gpb-p2", &g), GB_OK);
    assert_string_equal(g.id, "p2");
    pod_rec_clear(&g);
    assert_int_equal(pod_by_workload(db, "volt", "gpb-p2", &g), GB_ERR_NOT_FOUND);
    assert_true(pod_workload_known(db, "volt", "gpb-p3")); /* deleted ones too */
    assert_false(pod_workload_known(db, "volt", "gpb-nope"));

    /* lists: newest first, deleted ones only when asked for, filters by provider */
    seen s = {0};
    assert_int_equal(pod_list(db, "a", NULL, NULL, collect, &s), GB_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[0], "p2");
    assert_string_equal(s.ids[1], "p1");
    assert_int_equal(s.prices[0], 2 * BIG);
    memset(&s, 0, sizeof(s));
    assert_int_equal(pod_list(db, "a", "deleted", NULL, collect, &s), GB_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ids[0], "p3");
    memset(&s, 0, sizeof(s));
    assert_int_equal(pod_list(db, "a", NULL, "volt", collect, &s), GB_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ids[0], "p1");
    memset(&s, 0, sizeof(s));
    assert_int_equal(pod_list_page(db, "a", NULL, NULL, 1, 1, collect, &s), GB_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ids[0], "p1");
    assert_int_equal(pod_list_page(db, "a", NULL, NULL, 0, 0, collect, &s), GB_ERR_INVALID);
    assert_int_equal(pod_list_page(db, "a", NULL, NULL, POD_LIST_MAX + 1, 0, collect, &s),
                     GB_ERR_INVALID);
    assert_int_equal(pod_list_page(db, "a", NULL, NULL, 1, -1, collect, &s), GB_ERR_INVALID);
    int64_t n = -1;
    assert_int_equal(pod_count(db, "a", NULL, NULL, &n), GB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(pod_count(db, "a", "running", "volt", &n), GB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(pod_count(db, "a", "running", "lium", &n), GB_OK);
    assert_int_equal(n, 0);

    /* money beyond 2^31: running p1 and pending p2 are committed, job pods never */
    rate_sum c = {0, 0, 0};
    assert_int_equal(pod_rates_each(db, "a", 1, add_rate, &c), GB_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.price, 3 * BIG);
    assert_int_equal(c.metered, 0); /* no meter open yet */
    c = (rate_sum){0, 0, 0};
    assert_int_equal(pod_rates_each(db, "a", 0, add_rate, &c), GB_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.price, BIG);
    c = (rate_sum){0, 0, 0};
    assert_int_equal(pod_rates_each(db, "b", 1, add_rate, &c), GB_OK);
    assert_int_equal(c.n, 0);
    /* a pod still being made or being stopped is committed money too, not running money */
    const pod_status busy[] = {POD_DEPLOYING, POD_STOPPING};
    for (size_t i = 0; i < sizeof(busy) / sizeof(busy[0]); i++) {
        q2.status = busy[i];
        assert_int_equal(pod_update(db, &q2), GB_OK);
        c = (rate_sum){0, 0, 0};
        assert_int_equal(pod_rates_each(db, "a", 1, add_rate, &c), GB_OK);
        assert_int_equal(c.n, 2);
        assert_int_equal(c.price, 3 * BIG);
        c = (rate_sum){0, 0, 0};
        assert_int_equal(pod_rates_each(db, "a", 0, add_rate, &c), GB_OK);
        assert_int_equal(c.n, 1);
    }
    q2.status = POD_PENDING;
    assert_int_equal(pod_update(db, &q2), GB_OK);
    /* an open meter's locked rate comes with its pod; a closed one's does not */
    meter_rec mt = {.rate = BIG + 7, .open = true, .period_from = 1, .settled_at = 1};
    gb_strlcpy(mt.pod_id, "p1", sizeof(mt.pod_id));
    gb_strlcpy(mt.account_id, "a", sizeof(mt.account_id));
    assert_int_equal(meter_put(db, &mt), GB_OK);
    c = (rate_sum){0, 0, 0};
    assert_int_equal(pod_rates_each(db, "a", 1, add_rate, &c), GB_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.metered, BIG + 7);
    mt.open = false;
    assert_int_equal(meter_put(db, &mt), GB_OK);
    c = (rate_sum){0, 0, 0};
    assert_int_equal(pod_rates_each(db, "a", 0, add_rate, &c), GB_OK);
    assert_int_equal(c.metered, 0);

    /* due for a poll: not deleted, by time */
    assert_int_equal(pod_poll_at(db, "p1", 2500), GB_OK);
    assert_int_equal(pod_poll_at(db, "nope", 2500), GB_ERR_NOT_FOUND);
    memset(&s, 0, sizeof(s));
    assert_int_equal(pod_list_due(db, 4000, 10, collect, &s), GB_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.ids[0], "p2");
    assert_string_equal(s.ids[1], "p1");
    assert_string_equal(s.ids[2], "p4");
    memset(&s, 0, sizeof(s));
    assert_int_equal(pod_list_due(db, 2499, 10, collect, &s), GB_OK);
    assert_int_equal(s.n, 1);

    /* updates: fenced by the status read */
    assert_int_equal(pod_get(db, "a", "p2", &g), GB_OK);
    g.status = POD_RUNNING;
    g.running_since = 5 * HOUR;
    g.running_ms = 3 * HOUR;
    gb_strlcpy(g.ip, "10.0.0.2", sizeof(g.ip));
    g.ssh_port = 2222;
    assert_int_equal(pod_update_from(db, &g, POD_DEPLOYING), GB_ERR_CONFLICT);
    assert_int_equal(pod_update_from(db, &g, POD_PENDING), GB_OK);
    assert_int_equal(pod_update_from(db, &g, POD_PENDING), GB_ERR_CONFLICT);
    g.poll_failures = 3;
    assert_int_equal(pod_update(db, &g), GB_OK);
    pod_rec_clear(&g);
    assert_int_equal(pod_get(db, "a", "p2", &g), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);
    assert_int_equal(g.running_since, 5 * HOUR);
    assert_int_equal(g.running_ms, 3 * HOUR);
    assert_string_equal(g.ip, "10.0.0.2");
    assert_int_equal(g.ssh_port, 2222);
    assert_int_equal(g.poll_failures, 3);
    gb_strlcpy(g.provider, "volt", sizeof(g.provider));
    g.price_per_hour = 4 * BIG;
    g.gpu_count = 2;
    assert_int_equal(pod_set_placement(db, &g), GB_OK);
    pod_rec_clear(&g);
    assert_int_equal(pod_get(db, "a", "p2", &g), GB_OK);
    assert_string_equal(g.provider, "volt");
    assert_int_equal(g.price_per_hour, 4 * BIG);
    assert_int_equal(g.gpu_count, 2);
    pod_rec_clear(&g);
    pod_rec ghost = mkpod("ghost", "a", "volt", POD_RUNNING, 1, 1);
    assert_int_equal(pod_update(db, &ghost), GB_ERR_NOT_FOUND);

    /* metered: not-job pods running, or with an open meter */
    meter_rec m = {.rate = 1, .open = true};
    gb_strlcpy(m.pod_id, "p3", sizeof(m.pod_id));
    gb_strlcpy(m.account_id, "a", sizeof(m.account_id));
    assert_int_equal(meter_put(db, &m), GB_OK);
    memset(&s, 0, sizeof(s));
    assert_int_equal(pod_list_metered(db, collect, &s), GB_OK);
    assert_int_equal(s.n, 3); /* p1, p2 running; p3 deleted with its meter open */
    gb_db_close(db);
}

typedef struct {
    int n;
    char types[8][16];
    char froms[8][16];
    int64_t at[8];
} evs;

static void ev_collect(void *ud, int64_t at, const char *type, const char *from, const char *to,
                       const char *message)
{
    evs *e = ud;
    (void)to;
    (void)message;
    if (e->n < 8) {
        gb_strlcpy(e->types[e->n], type, sizeof(e->types[0]));
        gb_strlcpy(e->froms[e->n], from ? from : "(null)", sizeof(e->froms[0]));
        e->at[e->n] = at;
    }
    e->n++;
}

typedef struct {
    int n;
    char names[4][32];
    char errors[4][64];
    int64_t error_at[4];
    int settings_null[4];
} provs;

static void prov_collect(void *ud, const provider_rec *r)
{
    provs *p = ud;
    if (p->n < 4) {
        gb_strlcpy(p->names[p->n], r->name, sizeof(p->names[0]));
        gb_strlcpy(p->errors[p->n], r->last_error, sizeof(p->errors[0]));
        p->error_at[p->n] = r->last_error_at;
        p->settings_null[p->n] = r->settings == NULL;
    }
    p->n++;
}

static void test_events_and_providers(void **state)
{
    (void)state;
    gb_db *db = open_db(NULL, 0);
    pod_rec p = mkpod("p1", "a", "volt", POD_PENDING, 1, 1);
    assert_int_equal(pod_insert(db, &p), GB_OK);
    int64_t t0 = DAY4 + 5;
    assert_int_equal(pod_event_add(db, "p1", t0, "created", NULL, "pending", NULL), GB_OK);
    assert_int_equal(pod_event_add(db, "p1", t0 + HOUR, "status", "pending", "running", "up"),
                     GB_OK);
    assert_int_equal(pod_event_add(db, "nope", t0, "created", NULL, "pending", ""),
                     GB_ERR_CONFLICT); /* foreign key */
    evs e = {0};
    assert_int_equal(pod_event_list(db, "p1", ev_collect, &e), GB_OK);
    assert_int_equal(e.n, 2);
    assert_string_equal(e.types[0], "created");
    assert_string_equal(e.froms[0], "(null)");
    assert_string_equal(e.froms[1], "pending");
    assert_int_equal(e.at[1], t0 + HOUR);
    assert_true(pod_event_since(db, "p1", "status", t0 + HOUR));
    assert_false(pod_event_since(db, "p1", "status", t0 + HOUR + 1));
    assert_false(pod_event_since(db, "p1", "deleted", 0));

    provider_rec r = {.created_at = 7};
    gb_strlcpy(r.name, "volt", sizeof(r.name));
    gb_strlcpy(r.kind, "volt", sizeof(r.kind));
    gb_strlcpy(r.base_url, "http://v", sizeof(r.base_url));
    r.settings = "{\"a\":1}";
    assert_int_equal(provider_upsert(db, &r), GB_OK);
    gb_strlcpy(r.name, "arc", sizeof(r.name));
    r.settings = NULL;
    assert_int_equal(provider_upsert(db, &r), GB_OK);
    assert_int_equal(provider_note_error(db, "volt", "timeout", DAY4), GB_OK);
    provs ps = {0};
    assert_int_equal(provider_list(db, prov_collect, &ps), GB_OK);
    assert_int_equal(ps.n, 2);
    assert_string_equal(ps.names[0], "arc");
    assert_string_equal(ps.names[1], "volt");
    assert_string_equal(ps.errors[1], "timeout");
    assert_int_equal(ps.error_at[1], DAY4);
    assert_true(ps.settings_null[0]);
    /* registering again clears the last error */
    gb_strlcpy(r.name, "volt", sizeof(r.name));
    assert_int_equal(provider_upsert(db, &r), GB_OK);
    memset(&ps, 0, sizeof(ps));
    assert_int_equal(provider_list(db, prov_collect, &ps), GB_OK);
    assert_string_equal(ps.errors[1], "");
    assert_int_equal(ps.error_at[1], 0);
    assert_true(ps.settings_null[1]);
    assert_int_equal(provider_delete(db, "arc"), GB_OK);
    assert_int_equal(provider_delete(db, "arc"), GB_ERR_NOT_FOUND);
    gb_db_close(db);
}

/* ---- intents ---- */

static int64_t add_intent(gb_db *db, const char *pod, intent_kind k, int64_t next_at)
{
    intent_rec r;
    memset(&r, 0, sizeof(r));
    gb_strlcpy(r.pod_id, pod, sizeof(r.pod_id));
    gb_strlcpy(r.account_id, "a", sizeof(r.account_id));
    r.kind = k;
    r.offers = k == INTENT_CREATE ? "[{\"provider\":\"volt\"}]" : NULL;
    r.next_at = next_at;
    r.created_at = next_at;
    gb_strlcpy(r.request_id, "req-1", sizeof(r.request_id));
    assert_int_equal(intent_insert(db, &r), GB_OK);
    assert_string_equal(r.state, "queued");
    assert_true(r.id > 0);
    return r.id;
}

static void test_intents(void **state)
{
    (void)state;
    gb_db *db = open_db(NULL, 0);
    for (int i = 1; i <= 2; i++) {
        char id[8];
        gb_snprintf(id, sizeof(id), "p%d", i);
        pod_rec p = mkpod(id, "a", "volt", POD_PENDING, 1, i);
        assert_int_equal(pod_insert(db, &p), GB_OK);
    }
    int64_t now = DAY4;
    int64_t c1 = add_intent(db, "p1", INTENT_CREATE, now - 10);
    int64_t d1 = add_intent(db, "p1", INTENT_DELETE, now - 20); /* due first, but after c1 */
    int64_t c2 = add_intent(db, "p2", INTENT_CREATE, now - 5);
    assert_true(c1 < d1 && d1 < c2);
    int64_t n = 0;
    assert_int_equal(intent_count_queued(db, &n), GB_OK);
    assert_int_equal(n, 3);
    assert_true(intent_create_pending(db, "p1"));

    /* claims: one intent per pod at a time, in the pod's order, by next_at across pods */
    intent_rec r;
    assert_int_equal(intent_claim(db, "w1:a", now, 60000, &r), GB_OK);
    assert_int_equal(r.id, c1);
    assert_int_equal(r.kind, INTENT_CREATE);
    assert_string_equal(r.offers, "[{\"provider\":\"volt\"}]");
    assert_null(r.changes);
    assert_string_equal(r.request_id, "req-1");
    assert_string_equal(r.lease_owner, "w1:a");
    assert_int_equal(r.lease_until, now + 60000);
    intent_rec r2;
    assert_int_equal(intent_claim(db, "w2:a", now, 60000, &r2), GB_OK);
    assert_int_equal(r2.id, c2); /* d1 waits for c1 */
    intent_rec_clear(&r2);
    assert_int_equal(intent_claim(db, "w2:a", now, 60000, &r2), GB_ERR_NOT_FOUND);
    /* a create a worker holds is not cancelled */
    int cancelled = -1;
    assert_int_equal(intent_cancel_unstarted_create(db, "p1", now, &cancelled), GB_OK);
    assert_int_equal(cancelled, 0);
    /* the lease passes (a crashed worker): free again, to another worker */
    assert_int_equal(intent_claim(db, "w2:a", now + 60000, 60000, &r2), GB_OK);
    assert_int_equal(r2.id, c1);
    /* the first worker lost it: its save is refused */
    r.attempts = 1;
    gb_strlcpy(r.state, "done", sizeof(r.state));
    assert_int_equal(intent_save(db, &r, "w1:a", 1), GB_ERR_CONFLICT);
    /* the new owner saves progress, keeping its lease, then releases it */
    r2.attempts = 2;
    r2.offer_index = 1;
    r2.unsure_until = now + 5 * HOUR;
    r2.next_at = now + 1000;
    gb_strlcpy(r2.last_error, "busy", sizeof(r2.last_error));
    assert_int_equal(intent_save(db, &r2, "w2:a", 0), GB_OK);
    intent_rec r3;
    assert_int_equal(intent_claim(db, "w3:b", now + 1000, 60000, &r3), GB_ERR_NOT_FOUND);
    assert_int_equal(intent_save(db, &r2, "w2:a", 1), GB_OK);
    assert_int_equal(intent_claim(db, "w3:b", now + 999, 60000, &r3), GB_ERR_NOT_FOUND);
    assert_int_equal(intent_claim(db, "w3:b", now + 1000, 60000, &r3), GB_OK);
    assert_int_equal(r3.id, c1);
    assert_int_equal(r3.attempts, 2);
    assert_int_equal(r3.offer_index, 1);
    assert_int_equal(r3.unsure_until, now + 5 * HOUR);
    assert_string_equal(r3.last_error, "busy");
    intent_rec_clear(&r3);
    /* a worker pool restarting releases its own leases (prefix "w3:"), not another's */
    int64_t released = -1;
    assert_int_equal(intent_release_prefix(db, "w3:", &released), GB_OK);
    assert_int_equal(released, 1);
    assert_int_equal(intent_release_prefix(db, "w3:", &released), GB_OK);
    assert_int_equal(released, 0);
    /* done: the delete behind it comes next */
    gb_strlcpy(r2.state, "done", sizeof(r2.state));
    assert_int_equal(intent_claim(db, "w4:", now + 2000, 60000, &r3), GB_OK);
    assert_int_equal(r3.id, c1);
    gb_strlcpy(r3.state, "done", sizeof(r3.state));
    assert_int_equal(intent_save(db, &r3, "w4:", 1), GB_OK);
    intent_rec_clear(&r3);
    assert_false(intent_create_pending(db, "p1"));
    assert_int_equal(intent_claim(db, "w4:", now + 2000, 60000, &r3), GB_OK);
    assert_int_equal(r3.id, d1);
    assert_int_equal(r3.kind, INTENT_DELETE);
    intent_rec_clear(&r3);
    intent_rec_clear(&r);
    intent_rec_clear(&r2);
    assert_int_equal(intent_count_queued(db, &n), GB_OK);
    assert_int_equal(n, 2); /* d1 (leased) and c2 (leased) */

    /* a create no worker started is cancelled, only once */
    pod_rec p3 = mkpod("p3", "a", "volt", POD_PENDING, 1, 3);
    assert_int_equal(pod_insert(db, &p3), GB_OK);
    add_intent(db, "p3", INTENT_CREATE, now);
    assert_int_equal(intent_cancel_unstarted_create(db, "p3", now, &cancelled), GB_OK);
    assert_int_equal(cancelled, 1);
    assert_int_equal(intent_cancel_unstarted_create(db, "p3", now, &cancelled), GB_OK);
    assert_int_equal(cancelled, 0);
    assert_false(intent_create_pending(db, "p3"));
    gb_db_close(db);
}

/* Four connections claim at once: each intent is taken exactly once. */
#define CLAIM_PODS 40
#define CLAIMERS 4

typedef struct {
    const char *url;
    int k;
    int got[2 * CLAIM_PODS];
    int count;
    int errors;
} claimer;

static int64_t claim_base;

static void *claim_loop(void *arg)
{
    claimer *c = arg;
    gb_db *db = tdb_open(c->url);
    if (!db) {
        c->errors++;
        return NULL;
    }
    char owner[16];
    gb_snprintf(owner, sizeof(owner), "w%d:", c->k);
    for (;;) {
        intent_rec r;
        gb_err e = intent_claim(db, owner, DAY4, HOUR, &r);
        if (e == GB_ERR_NOT_FOUND) break;
        if (e) {
            c->errors++;
            break;
        }
        int64_t i = r.id - claim_base;
        if (i >= 0 && i < 2 * CLAIM_PODS) c->got[i]++;
        c->count++;
        intent_rec_clear(&r);
    }
    gb_db_close(db);
    return NULL;
}

static void test_intent_claims_concurrent(void **state)
{
    (void)state;
    const char *url;
    gb_db *db = open_db(&url, 0);
    assert_int_equal(gb_db_begin(db), GB_OK);
    for (int i = 0; i < CLAIM_PODS; i++) {
        char id[8];
        gb_snprintf(id, sizeof(id), "p%d", i);
        pod_rec p = mkpod(id, "a", "volt", POD_PENDING, 1, i);
        assert_int_equal(pod_insert(db, &p), GB_OK);
        int64_t iid = add_intent(db, id, INTENT_CREATE, DAY4 - i);
        if (i == 0) claim_base = iid;
        add_intent(db, id, INTENT_DELETE, DAY4 - 100); /* behind its create: never now */
    }
    assert_int_equal(gb_db_commit(db), GB_OK);
    claimer cs[CLAIMERS];
    pthread_t th[CLAIMERS];
    for (int k = 0; k < CLAIMERS; k++) {
        memset(&cs[k], 0, sizeof(cs[k]));
        cs[k].url = url;
        cs[k].k = k;
        assert_int_equal(pthread_create(&th[k], NULL, claim_loop, &cs[k]), 0);
    }
    int total = 0;
    for (int k = 0; k < CLAIMERS; k++) {
        pthread_join(th[k], NULL);
        assert_int_equal(cs[k].errors, 0);
        total += cs[k].count;
    }
    assert_int_equal(total, CLAIM_PODS);
    /* the creates (ids base, base+2, ...) each once; the deletes never */
    for (int i = 0; i < 2 * CLAIM_PODS; i++) {
        int times = 0;
        for (int k = 0; k < CLAIMERS; k++)
            times += cs[k].got[i];
        assert_int_equal(times, i % 2 == 0 ? 1 : 0);
    }
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM pod_intents WHERE lease_owner <> ''"),
                     CLAIM_PODS);
    gb_db_close(db);
}

/* The reconciler's claims of due pods: a claim takes due, live pods once until its lease
 * ends, then they are due again; four connections at once take each pod once. */
#define DUE_PODS 120

typedef struct {
    const char *url;
    int got[DUE_PODS];
    int count, errors;
} due_claimer;

static void count_due(void *ud, const pod_rec *p)
{
    due_claimer *c = ud;
    int i = atoi(p->id + 1);
    if (p->id[0] == 'd' && i >= 0 && i < DUE_PODS) c->got[i]++;
    if (p->next_poll_at != DAY4 + HOUR) c->errors++; /* handed over with its lease */
    c->count++;
}

static void *due_loop(void *arg)
{
    due_claimer *c = arg;
    gb_db *db = tdb_open(c->url);
    if (!db) {
        c->errors++;
        return NULL;
    }
    for (;;) {
        int before = c->count;
        if (pod_claim_due(db, DAY4, HOUR, 7, count_due, c) != GB_OK) {
            c->errors++;
            break;
        }
        if (c->count == before) break;
    }
    gb_db_close(db);
    return NULL;
}

static void test_pod_claims(void **state)
{
    (void)state;
    const char *url;
    gb_db *db = open_db(&url, 0);
    assert_int_equal(gb_db_begin(db), GB_OK);
    for (int i = 0; i < DUE_PODS; i++) {
        char id[8];
        gb_snprintf(id, sizeof(id), "d%d", i);
        pod_rec p = mkpod(id, "a", "volt", i % 10 == 9 ? POD_DELETED : POD_RUNNING, 1,
                          i % 10 == 8 ? DAY4 + 1 : DAY4 - i); /* not yet due: created later */
        assert_int_equal(pod_insert(db, &p), GB_OK);
    }
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(pod_claim_due(db, DAY4, 0, 7, count_due, NULL), GB_ERR_INVALID);
    assert_int_equal(pod_claim_due(db, DAY4, HOUR, 0, count_due, NULL), GB_ERR_INVALID);
    due_claimer cs[CLAIMERS];
    pthread_t th[CLAIMERS];
    for (int k = 0; k < CLAIMERS; k++) {
        memset(&cs[k], 0, sizeof(cs[k]));
        cs[k].url = url;
        assert_int_equal(pthread_create(&th[k], NULL, due_loop, &cs[k]), 0);
    }
    int total = 0;
    for (int k = 0; k < CLAIMERS; k++) {
        pthread_join(th[k], NULL);
        assert_int_equal(cs[k].errors, 0);
        total += cs[k].count;
    }
    assert_int_equal(total, DUE_PODS * 8 / 10);
    for (int i = 0; i < DUE_PODS; i++) {
        int times = 0;
        for (int k = 0; k < CLAIMERS; k++)
            times += cs[k].got[i];
        assert_int_equal(times, i % 10 >= 8 ? 0 : 1); /* deleted and not-yet-due never */
    }
    /* leased: nothing due until the lease ends, then all of them (and the later one) again */
    due_claimer again;
    memset(&again, 0, sizeof(again));
    assert_int_equal(pod_claim_due(db, DAY4 + HOUR - 1, HOUR, DUE_PODS, count_due, &again), GB_OK);
    assert_int_equal(again.count, DUE_PODS / 10); /* only the ones created at DAY4 + 1 */
    memset(&again, 0, sizeof(again));
    assert_int_equal(pod_claim_due(db, DAY4 + HOUR, 1, DUE_PODS, count_due, &again), GB_OK);
    assert_int_equal(again.count, DUE_PODS * 8 / 10);
    gb_db_close(db);
}

/* ---- a worker's read-then-write of a pod against its owner's delete ---- */

typedef struct {
    const char *url;
    volatile int locked; /* set once pod_lock returned */
    gb_err lock_e, update_e;
} deleter;

/* The owner's delete as pod_actions.c runs it: the pod locked first, then written only over
 * the status it was read with (pending). */
static void *delete_thread(void *arg)
{
    deleter *d = arg;
    gb_db *db = tdb_open(d->url);
    if (!db) return NULL;
    pod_rec p = mkpod("race", "a", "volt", POD_PENDING, 5, 1);
    d->lock_e = gb_db_begin(db);
    if (!d->lock_e) d->lock_e = pod_lock(db, p.id);
    __atomic_store_n(&d->locked, 1, __ATOMIC_SEQ_CST);
    pod_set_status(&p, POD_DELETED, 2);
    d->update_e = d->lock_e ? d->lock_e : pod_update_from(db, &p, POD_PENDING);
    if (d->update_e)
        gb_db_rollback(db);
    else
        d->update_e = gb_db_commit(db);
    gb_db_close(db);
    return NULL;
}

/* A create worker reads the pod with pod_get_for_update and writes it back whole: the owner's
 * delete waits for it (on PostgreSQL the row lock; on SQLite the one writer), then finds the
 * status moved on and changes nothing, instead of committing between the read and the write
 * and having "deleted" overwritten (a deleted pod brought back to running). */
static void test_pod_read_for_update(void **state)
{
    (void)state;
    const char *url;
    gb_db *db = open_db(&url, 0);
    pod_rec p = mkpod("race", "a", "volt", POD_PENDING, 5, 1);
    assert_int_equal(pod_insert(db, &p), GB_OK);
    assert_int_equal(pod_lock(db, "nope") == GB_OK, 0); /* no such pod */
    assert_int_equal(gb_db_begin(db), GB_OK);
    pod_rec cur;
    memset(&cur, 0, sizeof(cur));
    assert_int_equal(pod_get_for_update(db, "a", "race", &cur), GB_OK);
    assert_int_equal(cur.status, POD_PENDING);
    pod_rec_clear(&cur);
    deleter d = {.url = url};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, delete_thread, &d), 0);
    usleep(300000);
    assert_int_equal(__atomic_load_n(&d.locked, __ATOMIC_SEQ_CST), 0); /* it waits */
    pod_set_status(&p, POD_DEPLOYING, 3);
    assert_int_equal(pod_update(db, &p), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    pthread_join(th, NULL);
    assert_int_equal(d.lock_e, GB_OK);
    assert_int_equal(d.update_e, GB_ERR_CONFLICT); /* read as pending, now deploying */
    assert_int_equal(pod_get(db, "a", "race", &cur), GB_OK);
    assert_int_equal(cur.status, POD_DEPLOYING);
    pod_rec_clear(&cur);
    gb_db_close(db);
}

/* ---- meters ---- */

static void test_meters(void **state)
{
    (void)state;
    gb_db *db = open_db(NULL, 0);
    pod_rec p = mkpod("p1", "a", "volt", POD_RUNNING, BIG, 1);
    assert_int_equal(pod_insert(db, &p), GB_OK);
    meter_rec m;
    assert_int_equal(meter_get(db, "p1", &m), GB_ERR_NOT_FOUND);
    meter_rec w = {.rate = BIG,
                   .idle_rate = BIG / 10,
                   .period_from = DAY4,
                   .settled_at = DAY4 + 1,
                   .run_ms = 30 * 24 * HOUR,
                   .run_charged = 720 * BIG,
                   .idle_ms = 5,
                   .idle_charged = 6,
                   .unpaid = BIG + 1,
                   .open = true};
    gb_strlcpy(w.pod_id, "p1", sizeof(w.pod_id));
    gb_strlcpy(w.account_id, "a", sizeof(w.account_id));
    assert_int_equal(meter_put(db, &w), GB_OK);
    assert_int_equal(meter_get(db, "p1", &m), GB_OK);
    assert_int_equal(m.rate, BIG);
    assert_int_equal(m.idle_rate, BIG / 10);
    assert_int_equal(m.period_from, DAY4);
    assert_int_equal(m.settled_at, DAY4 + 1);
    assert_int_equal(m.run_ms, 30 * 24 * HOUR);
    assert_int_equal(m.run_charged, 720 * BIG);
    assert_int_equal(m.idle_ms, 5);
    assert_int_equal(m.idle_charged, 6);
    assert_int_equal(m.unpaid, BIG + 1);
    assert_true(m.open);
    /* updated in place */
    w.run_ms += HOUR;
    w.run_charged += BIG;
    w.open = false;
    assert_int_equal(meter_put(db, &w), GB_OK);
    assert_int_equal(meter_get(db, "p1", &m), GB_OK);
    assert_int_equal(m.run_charged, 721 * BIG);
    assert_false(m.open);
    assert_int_equal(tdb_int(db, "SELECT count(*) FROM pod_meters"), 1);
    /* the meter of a pod that does not exist is refused */
    gb_strlcpy(w.pod_id, "nope", sizeof(w.pod_id));
    assert_int_equal(meter_put(db, &w), GB_ERR_CONFLICT);
    gb_db_close(db);
}

/* ---- usage ---- */

static void ledger_add_row(gb_db *db, const char *acct, const char *kind, int64_t amount,
                           const char *ref, const char *pod, int64_t at)
{
    gb_q *q = gb_q_prep(db, "INSERT INTO ledger(account_id, kind, amount, ref, note, created_at,"
                            " pod_id, period_start, period_end) VALUES (?1, ?2, ?3, ?4, 'n', ?5,"
                            " ?6, ?7, ?8)");
    assert_non_null(q);
    gb_q_text(q, 1, acct);
    gb_q_text(q, 2, kind);
    gb_q_int64(q, 3, amount);
    gb_q_text(q, 4, ref);
    gb_q_int64(q, 5, at);
    gb_q_text(q, 6, pod);
    if (pod) {
        gb_q_int64(q, 7, at - HOUR);
        gb_q_int64(q, 8, at);
    } else {
        gb_q_null(q, 7);
        gb_q_null(q, 8);
    }
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
}

typedef struct {
    int n;
    char keys[8][32];
    gb_money spend[8];
    int64_t entries[8];
} groups;

static void group_collect(void *ud, const usage_group *g)
{
    groups *gs = ud;
    if (gs->n < 8) {
        gb_strlcpy(gs->keys[gs->n], g->key, sizeof(gs->keys[0]));
        gs->spend[gs->n] = g->spend;
        gs->entries[gs->n] = g->entries;
    }
    gs->n++;
}

typedef struct {
    int n;
    int64_t ids[16];
    usage_kind kinds[16];
    gb_money amounts[16];
    int64_t period_start[16];
} entries;

static void entry_collect(void *ud, const usage_entry *e)
{
    entries *es = ud;
    if (es->n < 16) {
        es->ids[es->n] = e->id;
        es->kinds[es->n] = e->kind;
        es->amounts[es->n] = e->amount;
        es->period_start[es->n] = e->period_start;
    }
    es->n++;
}

static gb_db *usage_db(void)
{
    gb_db *db = open_db(NULL, 0);
    /* the ledger's columns (jobs/ledger_store.c's tables, without their triggers) */
    exec_ok(db, "CREATE TABLE ledger (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                " account_id TEXT NOT NULL REFERENCES accounts(id), kind TEXT NOT NULL,"
                " amount INTEGER NOT NULL, ref TEXT, note TEXT, created_at INTEGER NOT NULL,"
                " pod_id TEXT, period_start INTEGER, period_end INTEGER)");
    pod_rec p1 = mkpod("p1", "a", "volt", POD_RUNNING, BIG, 1);
    pod_rec p2 = mkpod("p2", "a", "lium", POD_RUNNING, BIG, 2);
    gb_strlcpy(p2.gpu_type, "", sizeof(p2.gpu_type)); /* unknown GPU */
    pod_rec p3 = mkpod("p3", "b", "volt", POD_RUNNING, BIG, 3);
    gb_strlcpy(p3.gpu_type, "A100", sizeof(p3.gpu_type));
    assert_int_equal(pod_insert(db, &p1), GB_OK);
    assert_int_equal(pod_insert(db, &p2), GB_OK);
    assert_int_equal(pod_insert(db, &p3), GB_OK);
    /* around the UTC midnight starting 2026-12-04 */
    ledger_add_row(db, "a", "credit", 10 * BIG, "topup", NULL, DAY4 - 2 * HOUR);
    ledger_add_row(db, "a", "debit", -BIG, NULL, "p1", DAY4 - 1);             /* 12-03 */
    ledger_add_row(db, "a", "debit", -2 * BIG, NULL, "p2", DAY4);             /* 12-04 */
    ledger_add_row(db, "a", "debit", -BIG - 7, NULL, "p1", DAY4 + 1);         /* 12-04 */
    ledger_add_row(db, "a", "debit", -500, "ftj_1", NULL, DAY4 + 2);          /* a job: 12-04 */
    ledger_add_row(db, "a", "refund", 200, "ftj_1", NULL, DAY4 + 3);          /* 12-04 */
    ledger_add_row(db, "b", "debit", -3 * BIG, NULL, "p3", DAY4 + 24 * HOUR); /* 12-05 */
    ledger_add_row(db, "b", "credit", 5, "topup", NULL, DAY4 + 24 * HOUR);
    return db;
}

static void test_usage_sums(void **state)
{
    (void)state;
    gb_db *db = usage_db();
    usage_filter f = {.account_id = "a", .from_ms = 0, .to_ms = DAY4 + 48 * HOUR};
    usage_totals t;
    groups g = {0};
    assert_int_equal(usage_sum(db, &f, USAGE_BY_DAY, group_collect, &g, &t), GB_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.keys[0], "2026-12-03");
    assert_int_equal(g.spend[0], BIG);
    assert_int_equal(g.entries[0], 1);
    assert_string_equal(g.keys[1], "2026-12-04");
    /* the refund is spend given back: -(debits + refund) */
    assert_int_equal(g.spend[1], 2 * BIG + BIG + 7 + 500 - 200);
    assert_int_equal(g.entries[1], 4);
    assert_int_equal(t.spend, 4 * BIG + 7 + 300);
    assert_int_equal(t.entries, 5);
    assert_int_equal(t.credits, 10 * BIG);

    memset(&g, 0, sizeof(g));
    assert_int_equal(usage_sum(db, &f, USAGE_BY_PROVIDER, group_collect, &g, &t), GB_OK);
    assert_int_equal(g.n, 3); /* by spend, largest first */
    assert_string_equal(g.keys[0], "volt");
    assert_int_equal(g.spend[0], 2 * BIG + 7);
    assert_int_equal(g.entries[0], 2);
    assert_string_equal(g.keys[1], "lium");
    assert_int_equal(g.spend[1], 2 * BIG);
    assert_string_equal(g.keys[2], "fine-tuning");
    assert_int_equal(g.spend[2], 300);
    assert_int_equal(g.entries[2], 2);

    memset(&g, 0, sizeof(g));
    assert_int_equal(usage_sum(db, &f, USAGE_BY_GPU, group_collect, &g, &t), GB_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.keys[0], "H100");
    assert_string_equal(g.keys[1], "unknown");
    assert_string_equal(g.keys[2], "fine-tuning");

    memset(&g, 0, sizeof(g));
    assert_int_equal(usage_sum(db, &f, USAGE_BY_POD, group_collect, &g, &t), GB_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.keys[0], "p1");
    assert_string_equal(g.keys[1], "p2");
    assert_string_equal(g.keys[2], "ftj_1");

    /* every account; a window that ends at the midnight */
    usage_filter all = {.account_id = NULL, .from_ms = 0, .to_ms = DAY4 + 48 * HOUR};
    memset(&g, 0, sizeof(g));
    assert_int_equal(usage_sum(db, &all, USAGE_BY_ACCOUNT, group_collect, &g, &t), GB_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.keys[0], "a");
    assert_int_equal(g.spend[0], 4 * BIG + 307);
    assert_string_equal(g.keys[1], "b");
    assert_int_equal(g.spend[1], 3 * BIG);
    assert_int_equal(t.credits, 10 * BIG + 5);
    memset(&g, 0, sizeof(g));
    assert_int_equal(usage_sum(db, &all, USAGE_BY_DAY, group_collect, &g, &t), GB_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.keys[2], "2026-12-05");
    all.to_ms = DAY4;
    memset(&g, 0, sizeof(g));
    assert_int_equal(usage_sum(db, &all, USAGE_BY_DAY, group_collect, &g, &t), GB_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.keys[0], "2026-12-03");
    assert_int_equal(t.spend, BIG);
    gb_db_close(db);
}

static void test_usage_entries(void **state)
{
    (void)state;
    gb_db *db = usage_db();
    usage_filter f = {.account_id = "a", .kind = USAGE_KIND_ANY, .to_ms = DAY4 + 48 * HOUR};
    int64_t n = -1;
    assert_int_equal(usage_count(db, &f, &n), GB_OK);
    assert_int_equal(n, 6);
    entries e = {0};
    assert_int_equal(usage_entries(db, &f, 2, 0, entry_collect, &e), GB_OK);
    assert_int_equal(e.n, 2); /* newest first */
    assert_int_equal(e.kinds[0], USAGE_KIND_REFUND);
    assert_int_equal(e.amounts[0], 200);
    assert_int_equal(e.kinds[1], USAGE_KIND_DEBIT); /* the job's debit names no pod */
    assert_int_equal(e.period_start[1], 0);
    memset(&e, 0, sizeof(e));
    assert_int_equal(usage_entries(db, &f, 2, 2, entry_collect, &e), GB_OK);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.kinds[0], USAGE_KIND_USAGE);
    assert_int_equal(e.amounts[0], -BIG - 7);
    assert_int_equal(e.period_start[0], DAY4 + 1 - HOUR);
    assert_int_equal(e.amounts[1], -2 * BIG);

    f.kind = USAGE_KIND_USAGE;
    assert_int_equal(usage_count(db, &f, &n), GB_OK);
    assert_int_equal(n, 3);
    f.kind = USAGE_KIND_DEBIT;
    assert_int_equal(usage_count(db, &f, &n), GB_OK);
    assert_int_equal(n, 1);
    f.kind = USAGE_KIND_CREDIT;
    memset(&e, 0, sizeof(e));
    assert_int_equal(usage_entries(db, &f, 10, 0, entry_collect, &e), GB_OK);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.amounts[0], 10 * BIG);
    f.account_id = NULL;
    assert_int_equal(usage_count(db, &f, &n), GB_OK);
    assert_int_equal(n, 2);
    f.kind = USAGE_KIND_ANY;
    f.from_ms = DAY4;
    f.to_ms = DAY4 + 3;
    assert_int_equal(usage_count(db, &f, &n), GB_OK);
    assert_int_equal(n, 3); /* [DAY4, DAY4 + 3) */
    memset(&e, 0, sizeof(e));
    assert_int_equal(usage_entries(db, &f, 10, 1, entry_collect, &e), GB_OK);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.amounts[1], -2 * BIG);
    gb_db_close(db);
}

static int setup_all(void **state)
{
    (void)state;
    gb_log_set_level(GB_LOG_ERROR);
    pg = tdb_is_pg();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_pods),
        cmocka_unit_test(test_events_and_providers),
        cmocka_unit_test(test_intents),
        cmocka_unit_test(test_intent_claims_concurrent),
        cmocka_unit_test(test_pod_claims),
        cmocka_unit_test(test_pod_read_for_update),
        cmocka_unit_test(test_meters),
        cmocka_unit_test(test_usage_sums),
        cmocka_unit_test(test_usage_entries),
    };
    return cmocka_run_group_tests(tests, setup_all, NULL);
}
