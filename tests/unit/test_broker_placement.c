/* test_broker_placement.c: placement's C entry point (placement_create) against a Volt
 * simulator: a pod queued and recorded with the caller's image, env and name, then placed by
 * its create intent, failover to a dearer offer only within the spend limit, NO_OFFER with
 * reasons, the spend limit, and requests refused before any offer is tried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/api/scopes.h"
#include "broker/core/accounts.h"
#include "broker/core/app.h"
#include "test_db_util.h"
#include "test_app_util.h"
#include "broker/core/intents.h"
#include "broker/core/registry.h"
#include "broker/placement/offers.h"
#include "broker/placement/placement.h"
#include "common/dbq.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim.h"
#include "test_sim_util.h"

static char dir[] = "/tmp/gb-placement-XXXXXX";
static sim_server *sim;
static app *a;
static gb_db *db;
static account_rec acc;
static prov_offer offer;  /* one of the simulator's offers */
static char sim_root[64]; /* the simulator's root URL (its /_sim endpoints) */

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    a = test_app_open(dir);
    a->cfg.placement_block_ms = 0; /* failed offers stay candidates for the next test */
    db = app_db(a);
    char err[512] = "";
    uint16_t port = 0;
    const sim_platform *p = sim_platform_volt();
    assert_int_equal(sim_start(p, 0, "sekret", &sim, &port), GB_OK);
    snprintf(sim_root, sizeof(sim_root), "http://127.0.0.1:%u", port);
    char base[128];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u%s", port, p->api_path ? p->api_path : "");
    assert_int_equal(registry_add(a, db, "volt", "volt", base, "sekret", NULL, err, sizeof(err)),
                     GB_OK);
    test_app_account(a, db, "placer", 100 * GB_MONEY_PER_DOLLAR, &acc);
    prov_offer *all = NULL;
    size_t n = 0;
    assert_int_equal(offers_all(a, &all, &n, NULL), GB_OK);
    assert_true(n > 0);
    offer = all[0];
    free(all);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = test_app_close(a, dir);
    sim_stop(sim);
    gb_http_global_cleanup();
    return rc;
}

static placement_req request(const char *gpu_type)
{
    static const char *const env[] = {"A=1", "B=two"};
    placement_req req = {.account_id = acc.id,
                         .name = "trainer",
                         .image = "img/trainer:latest",
                         .env = env,
                         .nenv = 2};
    placement_filter_init(&req.filter);
    gb_strlcpy(req.filter.gpu_type, gpu_type, sizeof(req.filter.gpu_type));
    req.filter.gpu_count = offer.gpu_count > 0 ? offer.gpu_count : 1;
    return req;
}

/* The placement fields of a create's body, each read and each refused as it should be; a tier
 * is secure or spot, nothing else. */
static void test_filter_from_body(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int want;
        const char *tier, *err;
    } cases[] = {
        {"{\"gpu_type\":\"h100\",\"tier\":\"secure\"}", 0, "secure", NULL},
        {"{\"gpu_type\":\"H100\",\"tier\":\"spot\"}", 0, "spot", NULL},
        {"{\"gpu_type\":\"H100\"}", 0, "", NULL},
        {"{\"gpu_type\":\"H100\",\"tier\":\"gold\"}", -1, NULL, "tier"},
        {"{\"gpu_type\":\"H100\",\"tier\":\"\"}", -1, NULL, "tier"},
        {"{\"tier\":\"spot\"}", -1, NULL, "gpu_type"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *b = cJSON_Parse(cases[i].body);
        assert_non_null(b);
        rank_filter f;
        char err[GB_JSON_ERR_MAX] = "";
        int got = placement_filter_from_body(b, 0, &f, err);
        cJSON_Delete(b);
        if (got != cases[i].want) fail_msg("%s: %d (%s)", cases[i].body, got, err);
        if (cases[i].err) {
            assert_non_null(strstr(err, cases[i].err));
            continue;
        }
        assert_string_equal(f.tier, cases[i].tier);
        assert_string_equal(f.gpu_type, "H100");
        assert_int_equal(f.gpu_count, 1);
    }
}

static void test_placed(void **state)
{
    (void)state;
    placement_req req = request(offer.gpu_type);
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *attempts = NULL;
    placement_error why;
    assert_int_equal(placement_create(a, db, &req, &p, &attempts, &why), GB_OK);
    assert_true(gb_str_starts_with(p.id, "pod_"));
    assert_string_equal(p.account_id, acc.id);
    assert_string_equal(p.name, "trainer");
    assert_string_equal(p.image, "img/trainer:latest");
    assert_string_equal(p.provider, "volt");
    assert_string_equal(p.gpu_type, offer.gpu_type);
    assert_true(p.price_per_hour > 0);
    assert_string_equal(p.ssh_key_ids, "[]");
    /* queued: recorded pending on the cheapest candidate, nothing at the provider yet */
    assert_true(cJSON_GetArraySize(attempts) >= 1);
    const cJSON *at = cJSON_GetArrayItem(attempts, 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(at, "offer")),
                        offer.id);
    assert_int_equal(p.status, POD_PENDING);
    assert_string_equal(p.provider_id, "");
    pod_rec got;
    memset(&got, 0, sizeof(got));
    assert_int_equal(pod_get(db, acc.id, p.id, &got), GB_OK);
    assert_int_equal(got.status, POD_PENDING);
    assert_int_equal(got.price_per_hour, p.price_per_hour);
    pod_rec_clear(&got);
    /* the intent places it: the provider now has the workload, the record its id */
    assert_int_equal(intent_pool_run_due(a, db, "test-worker", 10), 1);
    memset(&got, 0, sizeof(got));
    assert_int_equal(pod_get(db, acc.id, p.id, &got), GB_OK);
    assert_true(got.provider_id[0] != '\0');
    assert_true(got.status == POD_DEPLOYING || got.status == POD_RUNNING);
    assert_string_equal(got.workload_name, p.workload_name);
    pod_rec_clear(&got);
    assert_int_equal(intent_pool_run_due(a, db, "test-worker", 10), 0);
    pod_rec_clear(&p);
    cJSON_Delete(attempts);
    placement_error_clear(&why);
}

static void test_no_offer(void **state)
{
    (void)state;
    placement_req req = request("NO-SUCH-GPU");
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *attempts = NULL;
    placement_error why;
    assert_int_not_equal(placement_create(a, db, &req, &p, &attempts, &why), GB_OK);
    assert_int_equal(why.status, 409);
    assert_string_equal(why.code, "NO_OFFER");
    assert_non_null(strstr(why.message, "No offer fits"));
    assert_true(cJSON_GetArraySize(why.reasons) > 0);
    assert_null(attempts);
    assert_string_equal(p.id, "");
    placement_error_clear(&why);
    assert_null(why.reasons);
}

static void test_spend_limit(void **state)
{
    (void)state;
    assert_int_equal(account_set_spend_limit(db, acc.id, 1), GB_OK); /* one micro-dollar */
    placement_req req = request(offer.gpu_type);
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *attempts = NULL;
    placement_error why;
    assert_int_equal(placement_create(a, db, &req, &p, &attempts, &why), GB_ERR_PAYMENT);
    assert_int_equal(why.status, 402);
    assert_string_equal(why.code, "SPEND_LIMIT");
    assert_non_null(strstr(why.message, "spend limit"));
    assert_null(attempts);
    placement_error_clear(&why);
    assert_int_equal(account_set_spend_limit(db, acc.id, 0), GB_OK);
}

static void test_refused(void **state)
{
    (void)state;
    placement_req req = request(offer.gpu_type);
    req.image = "";
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *attempts = NULL;
    placement_error why;
    assert_int_equal(placement_create(a, db, &req, &p, &attempts, &why), GB_ERR_INVALID);
    assert_int_equal(why.status, 400);
    assert_string_equal(why.code, "VALIDATION_ERROR");
    req = request(offer.gpu_type);
    req.nenv = 129;
    assert_int_equal(placement_create(a, db, &req, &p, &attempts, &why), GB_ERR_INVALID);
    assert_int_equal(why.status, 400);
    assert_null(attempts);
    placement_error_clear(&why);
}

static int hook_calls;
static char hook_pod[GB_ID_MAX];

/* The job runner's hook stand-in: sees the pod inside the create's transaction, then fails. */
static gb_err failing_hook(void *ud, gb_db *hdb, const pod_rec *p)
{
    (void)ud;
    assert_true(gb_db_in_txn(hdb));
    hook_calls++;
    gb_strlcpy(hook_pod, p->id, sizeof(hook_pod));
    return GB_ERR_CONFLICT;
}

/* The caller's work (the job runner records the job's pod) is part of the create's
 * transaction: when it fails, neither the pod nor its intent exists. */
static void test_hook_shares_the_transaction(void **state)
{
    (void)state;
    placement_req req = request(offer.gpu_type);
    pod_txn_hook hook = {failing_hook, NULL};
    req.hook = &hook;
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *cands = NULL;
    placement_error why;
    hook_calls = 0;
    assert_int_not_equal(placement_create(a, db, &req, &p, &cands, &why), GB_OK);
    assert_int_equal(hook_calls, 1);
    assert_null(cands);
    pod_rec got;
    memset(&got, 0, sizeof(got));
    assert_int_equal(pod_get(db, acc.id, hook_pod, &got), GB_ERR_NOT_FOUND);
    assert_false(intent_create_pending(db, hook_pod));
    assert_int_equal(intent_pool_run_due(a, db, "test-worker", 10), 0);
    placement_error_clear(&why);
}

/* A call to the simulator's own endpoints; the parsed answer (caller deletes). */
static cJSON *sim_call(const char *method, const char *path, const char *body)
{
    return tsim_call(sim_root, method, path, body);
}

/* Failover to a dearer offer re-checks the spend limit: the cheaper offer fits, has no
 * capacity, and the next one would pass the limit, so the pod fails and nothing is created. */
static void test_failover_within_spend_limit(void **state)
{
    (void)state;
    account_rec own;
    test_app_account(a, db, "frugal", 100 * GB_MONEY_PER_DOLLAR, &own);
    placement_req req = request("RTX4090");
    req.account_id = own.id;
    req.filter.gpu_count = 1;
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *cands = NULL;
    placement_error why;
    assert_int_equal(placement_create(a, db, &req, &p, &cands, &why), GB_OK);
    assert_true(cJSON_GetArraySize(cands) >= 2);
    /* money is written raw ("0.39"), as the API shows it */
    double first =
        strtod(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cands, 0), "price_per_hour")
                   ->valuestring,
               NULL);
    double second =
        strtod(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cands, 1), "price_per_hour")
                   ->valuestring,
               NULL);
    if (!(second > first)) fail_msg("candidates not dearer: %s", cJSON_PrintUnformatted(cands));
    /* the limit fits the first candidate only; it has no capacity when asked */
    gb_money limit = p.price_per_hour + (gb_money)((second - first) * GB_MONEY_PER_DOLLAR / 2);
    assert_int_equal(account_set_spend_limit(db, own.id, limit), GB_OK);
    cJSON_Delete(sim_call("POST", "/_sim/faults",
                          "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\","
                          "\"capacity_error\":true,\"count\":1}"));
    assert_true(intent_pool_run_due(a, db, "test-worker", 10) >= 2);
    pod_rec got;
    memset(&got, 0, sizeof(got));
    assert_int_equal(pod_get(db, own.id, p.id, &got), GB_OK);
    assert_int_equal(got.status, POD_FAILED);
    assert_non_null(strstr(got.message, "spend limit"));
    assert_string_equal(got.provider_id, "");
    pod_rec_clear(&got);
    /* nothing of its name at the provider */
    cJSON *far = sim_call("GET", "/_sim/workloads", NULL);
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(far, "workloads"))
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "name"));
        assert_false(n && !strcmp(n, p.workload_name));
    }
    cJSON_Delete(far);
    cJSON_Delete(sim_call("DELETE", "/_sim/faults", NULL));
    cJSON_Delete(cands);
    placement_error_clear(&why);
    pod_rec_clear(&p);
}

/* Create requests the simulator has served. */
static long creates_served(void)
{
    cJSON *j = sim_call("GET", "/_sim/requests", NULL);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "by_route"), "POST /api/volt/pods");
    long v = cJSON_IsNumber(n) ? (long)n->valuedouble : 0;
    cJSON_Delete(j);
    return v;
}

static void count_attempts(void *ud, int64_t at, const char *type, const char *from, const char *to,
                           const char *message)
{
    (void)at, (void)from, (void)to, (void)message;
    if (!strcmp(type, "attempt_failed")) (*(int *)ud)++;
}

/* Every create answers 500: each earlier offer gets one call, then failover; the last gets
 * intents.tries_per_offer calls (2 here); then the pod fails. The adapter's own posts after a
 * 5xx (at most 3 per call, docs/providers.md 3.6) are not multiplied beyond that. */
static void test_calls_per_offer(void **state)
{
    (void)state;
    a->cfg.intent_max_attempts = 2;
    placement_req req = request("RTX4090");
    req.filter.gpu_count = 1;
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *cands = NULL;
    placement_error why;
    assert_int_equal(placement_create(a, db, &req, &p, &cands, &why), GB_OK);
    int n = cJSON_GetArraySize(cands);
    assert_true(n >= 2);
    long before = creates_served();
    cJSON_Delete(sim_call("POST", "/_sim/faults",
                          "{\"method\":\"POST\",\"path_prefix\":\"/api/volt/pods\","
                          "\"status\":500,\"count\":-1}"));
    pod_rec got;
    memset(&got, 0, sizeof(got));
    for (int i = 0; i < 100; i++) { /* the last offer's retry waits 1 s */
        intent_pool_run_due(a, db, "test-worker", 10);
        assert_int_equal(pod_get(db, acc.id, p.id, &got), GB_OK);
        pod_rec_clear(&got);
        if (got.status == POD_FAILED) break;
        usleep(100000);
    }
    cJSON_Delete(sim_call("DELETE", "/_sim/faults", NULL));
    a->cfg.intent_max_attempts = 1;
    assert_int_equal(got.status, POD_FAILED);
    int calls = 0;
    assert_int_equal(pod_event_list(db, p.id, count_attempts, &calls), GB_OK);
    assert_int_equal(calls, (n - 1) + 2);
    long posts = creates_served() - before;
    assert_true(posts >= calls && posts <= 3 * calls);
    cJSON_Delete(cands);
    placement_error_clear(&why);
    pod_rec_clear(&p);
}

/* placement.max_attempts bounds the offers a pod's create walks through: with room for two,
 * the queued intent holds the two cheapest fitting offers, however many fit. */
static void test_attempts_bounded(void **state)
{
    (void)state;
    placement_req req = request("");
    req.filter.gpu_count = 0; /* every offer of the simulator fits */
    req.filter.min_vram_gb = 1;
    int old = a->cfg.placement_max_attempts;
    a->cfg.placement_max_attempts = 2;
    pod_rec p;
    memset(&p, 0, sizeof(p));
    cJSON *attempts = NULL;
    placement_error why;
    gb_err e = placement_create(a, db, &req, &p, &attempts, &why);
    a->cfg.placement_max_attempts = old;
    assert_int_equal(e, GB_OK);
    assert_int_equal(cJSON_GetArraySize(attempts), 2);
    char sql[160];
    gb_snprintf(sql, sizeof(sql),
                "SELECT count(*) FROM pod_intents WHERE pod_id = '%s' AND kind = 'create'", p.id);
    assert_int_equal(tdb_int(db, sql), 1);
    gb_q *q = gb_q_prep(db, "SELECT offers FROM pod_intents WHERE pod_id = ?1");
    assert_non_null(q);
    gb_q_text(q, 1, p.id);
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_int_equal(row, 1);
    cJSON *offers = cJSON_Parse(gb_q_col_text(q, 0));
    gb_q_reset(q);
    assert_int_equal(cJSON_GetArraySize(offers), 2); /* what the intent will try */
    cJSON_Delete(offers);
    /* more than two would have fitted */
    req.dry_run = true;
    cJSON *all = NULL;
    placement_error why2;
    pod_rec dry;
    memset(&dry, 0, sizeof(dry));
    assert_int_equal(placement_create(a, db, &req, &dry, &all, &why2), GB_OK);
    assert_true(cJSON_GetArraySize(all) > 2);
    cJSON_Delete(all);
    pod_rec_clear(&dry);
    placement_error_clear(&why2);
    pod_rec_clear(&p);
    cJSON_Delete(attempts);
    placement_error_clear(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_from_body),
        cmocka_unit_test(test_placed),
        cmocka_unit_test(test_no_offer),
        cmocka_unit_test(test_spend_limit),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_failover_within_spend_limit),
        cmocka_unit_test(test_hook_shares_the_transaction),
        cmocka_unit_test(test_calls_per_offer),
        cmocka_unit_test(test_attempts_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
