/* test_broker_reconcile_list.c: the reconciler's list poll against a Volt simulator. A list
 * call that fails with a 404 (the platform's route gone or moved, an account it no longer
 * knows) says nothing about the pods it should have covered: they are not taken for deleted
 * out of band (which would stop their metering while their workloads run on, paid and
 * unrecorded), only counted as a failed poll and looked at again later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_db_util.h"
#include "test_app_util.h"
#include "test_sim_util.h"

#include "broker/api/scopes.h"
#include "broker/core/accounts.h"
#include "broker/core/app.h"
#include "broker/core/pods.h"
#include "broker/core/registry.h"
#include "broker/workers/reconciler.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "common/ids.h"
#include "common/str.h"
#include "providers/sim/sim.h"

#define PODS 2

static char dir[] = "/tmp/gb-reclist-XXXXXX";
static app *a;
static gb_db *db;
static account_rec acc;

static int setup(void **state)
{
    (void)state;
    a = test_app_open(dir);
    db = app_db(a);
    test_app_account(a, db, "reclist", 0, &acc);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_app_close(a, dir);
}

/* A running pod at provider prov, due for its poll now. */
static void running_pod(pod_rec *p, const char *prov, int i)
{
    memset(p, 0, sizeof(*p));
    gb_id_new("pod_", p->id, sizeof(p->id));
    gb_strlcpy(p->account_id, acc.id, sizeof(p->account_id));
    gb_snprintf(p->name, sizeof(p->name), "listed-%d", i);
    gb_strlcpy(p->provider, prov, sizeof(p->provider));
    gb_snprintf(p->provider_id, sizeof(p->provider_id), "w-%s", p->id);
    gb_snprintf(p->workload_name, sizeof(p->workload_name), "gpb-%.20s", p->id + 4);
    gb_strlcpy(p->kind, "rental", sizeof(p->kind));
    gb_strlcpy(p->offer_id, "mach_rtx4090_01", sizeof(p->offer_id));
    gb_strlcpy(p->gpu_type, "RTX 4090", sizeof(p->gpu_type));
    p->gpu_count = 1;
    p->price_per_hour = 390000;
    p->status = POD_RUNNING;
    p->created_at = p->running_since = gb_now_ms() - 60000;
    p->next_poll_at = 0;
    assert_int_equal(pod_insert(db, p), GB_OK);
}

/* Requests the simulator at base served on route ("GET /api/volt/pods"). */
static long served(const char *base, const char *route)
{
    cJSON *j = tsim_call(base, "GET", "/_sim/requests", NULL);
    const cJSON *n =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "by_route"), route);
    long v = cJSON_IsNumber(n) ? (long)n->valuedouble : 0;
    cJSON_Delete(j);
    return v;
}

static void test_list_404_is_a_failed_poll(void **state)
{
    (void)state;
    gb_http_global_init();
    sim_server *sim = NULL;
    uint16_t port = 0;
    assert_int_equal(sim_start(sim_platform_volt(), 0, "vk", &sim, &port), GB_OK);
    char base[64], err[256] = "";
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", port);
    assert_int_equal(registry_add(a, db, "vlist", "volt", base, "vk", NULL, err, sizeof(err)),
                     GB_OK);
    pod_rec p[PODS];
    for (int i = 0; i < PODS; i++)
        running_pod(&p[i], "vlist", i);
    /* Volt's list of pods answers 404 (GET /api/volt/pods, the route prov_volt_call asks) */
    tsim_control(base, "POST", "/_sim/faults",
                 "{\"method\":\"GET\",\"path_prefix\":\"/api/volt/pods\",\"status\":404,"
                 "\"count\":-1}");
    reconciler_round(a, db, NULL);
    /* the round asked by the list (two pods of one provider), and nothing else */
    assert_int_equal(served(base, "GET /api/volt/pods"), 1);
    for (int i = 0; i < PODS; i++) {
        pod_rec got;
        memset(&got, 0, sizeof(got));
        assert_int_equal(pod_get(db, acc.id, p[i].id, &got), GB_OK);
        assert_string_equal(pod_status_name(got.status), "running");
        assert_string_equal(got.provider_id, p[i].provider_id);
        assert_int_equal(got.poll_failures, 1);
        assert_true(got.next_poll_at > gb_now_ms()); /* looked at again, later */
        pod_rec_clear(&got);
        char sql[160];
        gb_snprintf(sql, sizeof(sql), "SELECT count(*) FROM pod_events WHERE pod_id = '%s'",
                    p[i].id);
        assert_int_equal(tdb_int(db, sql), 0); /* no "gone" event, no webhook */
        pod_rec_clear(&p[i]);
    }
    assert_int_equal(registry_remove(a, db, "vlist"), GB_OK);
    sim_stop(sim);
    gb_http_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_404_is_a_failed_poll),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
