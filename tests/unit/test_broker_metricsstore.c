/* test_broker_metricsstore.c: the /metrics families read from the database
 * (metrics_store.c) on SQLite and PostgreSQL, over stand-ins of the tables they read (pods,
 * fine_tuning_jobs, wh_messages, wh_attempts, ledger: other modules' migrations): every family
 * with its exact lines, sums past 32 bits (PostgreSQL's sum() of a bigint is a numeric), the
 * outbox age on the test clock, and empty tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/store/metrics_store.h"
#include "common/clock.h"
#include "test_db_util.h"

#define T0 1764547200000LL

static gb_db *db;

static int setup(void **state)
{
    (void)state;
    db = tdb_open(tdb_fresh_url());
    if (!db) return -1;
    return gb_db_exec(db, "CREATE TABLE pods (id TEXT PRIMARY KEY, provider TEXT NOT NULL,"
                          " status TEXT NOT NULL, price_per_hour BIGINT NOT NULL);"
                          "CREATE TABLE fine_tuning_jobs (id TEXT PRIMARY KEY, status TEXT);"
                          "CREATE TABLE wh_messages (id TEXT PRIMARY KEY, status TEXT NOT NULL,"
                          " created_at BIGINT NOT NULL);"
                          "CREATE TABLE wh_attempts (id BIGINT PRIMARY KEY,"
                          " status BIGINT NOT NULL);"
                          "CREATE TABLE ledger (id BIGINT PRIMARY KEY, kind TEXT NOT NULL,"
                          " amount BIGINT NOT NULL, pod_id TEXT)")
               ? -1
               : 0;
}

static int teardown(void **state)
{
    (void)state;
    gb_clock_use_real();
    gb_db_close(db);
    return 0;
}

/* The lines of family name (its samples, without the HELP and TYPE lines), "|" between. */
static void samples(const char *text, const char *name, char *out, size_t n)
{
    out[0] = 0;
    size_t nl = strlen(name);
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (strncmp(p, name, nl) == 0 && (p[nl] == ' ' || p[nl] == '{')) {
            size_t o = strlen(out);
            snprintf(out + o, n - o, "%s%.*s", o ? "|" : "", (int)len, p);
        }
        p = end ? end + 1 : NULL;
    }
}

static char *render(void)
{
    gb_buf b = {0};
    assert_int_equal(metrics_store_render(db, &b), GB_OK);
    assert_non_null(b.data);
    return gb_buf_take(&b);
}

static void test_empty(void **state)
{
    (void)state;
    gb_clock_set(T0);
    char *t = render();
    char s[1024];
    assert_non_null(strstr(t, "# TYPE gpubroker_pods gauge\n"));
    samples(t, "gpubroker_pods", s, sizeof(s));
    assert_string_equal(s, "");
    samples(t, "gpubroker_running_cost_per_hour_dollars", s, sizeof(s));
    assert_string_equal(s, "gpubroker_running_cost_per_hour_dollars 0.000000");
    samples(t, "gpubroker_webhook_outbox_oldest_age_seconds", s, sizeof(s));
    assert_string_equal(s, "gpubroker_webhook_outbox_oldest_age_seconds 0.000000");
    samples(t, "gpubroker_ledger_total_dollars", s, sizeof(s));
    assert_string_equal(s, "gpubroker_ledger_total_dollars{kind=\"usage\"} 0.000000");
    free(t);
}

static void test_families(void **state)
{
    (void)state;
    assert_int_equal(
        gb_db_exec(db, "INSERT INTO pods VALUES ('p1', 'volt', 'running', 3500000000),"
                       " ('p2', 'volt', 'running', 3500000001), ('p3', 'lium', 'running', 1),"
                       " ('p4', 'volt', 'stopped', 9), ('p5', 'lium', 'deleted', 9),"
                       " ('p6', 'a\"b', 'pending', 9);"
                       "INSERT INTO fine_tuning_jobs VALUES ('j1', 'running'), ('j2', 'queued'),"
                       " ('j3', 'running');"
                       "INSERT INTO wh_messages VALUES ('m1', 'pending', 1764547190000),"
                       " ('m2', 'pending', 1764547195000), ('m3', 'delivered', 1);"
                       "INSERT INTO wh_attempts VALUES (1, 200), (2, 299), (3, 500), (4, 0),"
                       " (5, 204);"
                       "INSERT INTO ledger VALUES (1, 'credit', 9000000000000, NULL),"
                       " (2, 'debit', -2500000, 'p1'), (3, 'debit', -1000000, NULL),"
                       " (4, 'refund', 500000, NULL)"),
        GB_OK);
    gb_clock_set(T0);
    char *t = render();
    char s[2048];
    samples(t, "gpubroker_pods", s, sizeof(s));
    assert_string_equal(s, "gpubroker_pods{provider=\"a\\\"b\",status=\"pending\"} 1.000000|"
                           "gpubroker_pods{provider=\"lium\",status=\"running\"} 1.000000|"
                           "gpubroker_pods{provider=\"volt\",status=\"running\"} 2.000000|"
                           "gpubroker_pods{provider=\"volt\",status=\"stopped\"} 1.000000");
    samples(t, "gpubroker_running_cost_per_hour_dollars", s, sizeof(s));
    assert_string_equal(s, "gpubroker_running_cost_per_hour_dollars 7000.000002");
    samples(t, "gpubroker_jobs", s, sizeof(s));
    assert_string_equal(s, "gpubroker_jobs{state=\"queued\"} 1.000000|"
                           "gpubroker_jobs{state=\"running\"} 2.000000");
    samples(t, "gpubroker_webhook_outbox_depth", s, sizeof(s));
    assert_string_equal(s, "gpubroker_webhook_outbox_depth 2.000000");
    samples(t, "gpubroker_webhook_outbox_oldest_age_seconds", s, sizeof(s));
    assert_string_equal(s, "gpubroker_webhook_outbox_oldest_age_seconds 10.000000");
    samples(t, "gpubroker_webhook_delivery_attempts", s, sizeof(s));
    assert_string_equal(s, "gpubroker_webhook_delivery_attempts{result=\"error\"} 1.000000|"
                           "gpubroker_webhook_delivery_attempts{result=\"http_error\"} 1.000000|"
                           "gpubroker_webhook_delivery_attempts{result=\"success\"} 3.000000");
    samples(t, "gpubroker_ledger_total_dollars", s, sizeof(s));
    assert_string_equal(s, "gpubroker_ledger_total_dollars{kind=\"credit\"} 9000000.000000|"
                           "gpubroker_ledger_total_dollars{kind=\"debit\"} 3.500000|"
                           "gpubroker_ledger_total_dollars{kind=\"refund\"} 0.500000|"
                           "gpubroker_ledger_total_dollars{kind=\"usage\"} 2.500000");
    free(t);
    /* the age follows the clock (the statement is cached; now is bound, not in its text) */
    gb_clock_set(T0 + 2500);
    t = render();
    samples(t, "gpubroker_webhook_outbox_oldest_age_seconds", s, sizeof(s));
    assert_string_equal(s, "gpubroker_webhook_outbox_oldest_age_seconds 12.500000");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_families),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
