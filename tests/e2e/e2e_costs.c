/* e2e_costs.c: the money reports end to end in sandbox mode, with pods metered every 200 ms:
 * an account runs pods on two providers, pays a fine-tuning job and has another refunded;
 * then usage grouped by pod, provider, gpu and day sums exactly to the spend, credits - spend
 * is the balance change over the same window (read exactly from the database), ledger paging
 * gives every entry once, the kind filters partition the entries, from/to are half-open, bad
 * parameters are 400, another account sees nothing of it and the admin forms see both. Dry
 * runs create nothing, write nothing and price as metering does; a $0 account's is refused.
 * The CLI's costs, ledger and place --dry-run agree with the API. The default window is this
 * month. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/http_client.h"
#include "support_daemon.h"

static e2e_daemon D;
static char ALICE[96], ALICE_ID[64], BOB[96], BOB_ID[64], BROKE[96];
static char T0[40], TMID[40], TEND[40]; /* window bounds (RFC 3339 with ms) */
static int64_t BAL0;                    /* alice's exact balance at TMID */
static char POD1[64], POD2[64], JOB1[64], JOB2[64], MACHINE1[160];
static double POD1_PRICE; /* price_per_hour (the provider's) the real create answered */

static const char *ENV[] = {"GPUBROKER_METERING_PERIOD_MS=200",
                            "GPUBROKER_RECONCILER_INTERVAL_MS=200",
                            "GPUBROKER_JOBS_RUNNER_INTERVAL_MS=3600000",
                            "GPUBROKER_METERING_MARGINS=volt=10,lium=50",
                            "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=1000000",
                            NULL};
static const char *EXTRA[] = {"--sim-speed", "100", NULL};

#define JOB_BODY(name)                                                                             \
    "{\"name\":\"" name "\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\",\"dsRepo\":"     \
    "\"myorg/support-qa\",\"hours\":1,\"fieldInstruction\":\"instruction\",\"fieldOutput\":"       \
    "\"output\"}"

/* Now as RFC 3339 with milliseconds, after a 2 ms pause on each side so that no entry shares
 * the instant. */
static void now_iso(char out[40])
{
    usleep(2000);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char base[32];
    gb_time_format(ms - ms % 1000, base, sizeof(base));
    base[strlen(base) - 1] = '\0'; /* the Z */
    snprintf(out, 40, "%s.%03dZ", base, (int)(ms % 1000));
    usleep(2000);
}

static int64_t micros(const cJSON *o, const char *key)
{
    char k[64];
    snprintf(k, sizeof(k), "%s_micros", key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v)) fail_msg("no number %s", k);
    return (int64_t)v->valuedouble;
}

static const char *str(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* GET path as key; fails the test unless 200. */
static void get(const char *key, const char *path, e2e_resp *r)
{
    e2e_req(&D, "GET", path, key, NULL, r);
    if (r->status != 200) fail_msg("GET %s: %ld %s", path, r->status, r->body);
}

/* The account's balance to the micro-dollar, from the database the ledger keeps it in. */
static int64_t exact_balance(const char *account_id)
{
    gb_db *db = e2e_db_open(&D);
    int64_t b = e2e_db_int(db,
                           "SELECT coalesce((SELECT balance FROM ledger_balances "
                           "WHERE account_id = ?1), 0)",
                           account_id, NULL, NULL);
    gb_db_close(db);
    return b;
}

static void new_account(const char *name, const char *credit, char *key, char *id)
{
    char body[160];
    if (credit)
        snprintf(body, sizeof(body), "{\"name\":\"%s\",\"credit\":\"%s\"}", name, credit);
    else
        snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key, body, &r);
    if (r.status != 201) fail_msg("account %s: %ld %s", name, r.status, r.body);
    snprintf(key, 96, "%s", e2e_str(&r, "api_key.key"));
    if (id) snprintf(id, 64, "%s", e2e_str(&r, "account.id"));
    e2e_resp_free(&r);
}

static void create_pod(const char *key, const char *machine, char *id, double *price)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"image\":\"x/y:1\"}", machine);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", key, body, &r);
    if (r.status != 201) fail_msg("create on %s: %ld %s", machine, r.status, r.body);
    snprintf(id, 64, "%s", e2e_str(&r, "id"));
    /* price_per_hour is the provider's price the pod locked; cost_per_hour what the user pays:
     * with volt's 10 % margin, shown to the cent */
    int64_t p = (int64_t)(num(r.json, "price_per_hour") * 1e6 + 0.5);
    int64_t want = strncmp(machine, "volt", 4) == 0 ? (p * 11 + 5) / 10 : p;
    if ((int64_t)(num(r.json, "cost_per_hour") * 1e6 + 0.5) != (want + 5000) / 10000 * 10000)
        fail_msg("pod on %s: price %lld, cost_per_hour %s", machine, (long long)p, r.body);
    if (price) *price = num(r.json, "price_per_hour");
    e2e_resp_free(&r);
}

static void create_job(const char *key, const char *body, char *id)
{
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/fine-tuning", key, body, &r);
    if (r.status != 201) fail_msg("job: %ld %s", r.status, r.body);
    snprintf(id, 64, "%s", e2e_str(&r, "job.id"));
    e2e_resp_free(&r);
}

static int ledger_total(const char *key, const char *query)
{
    char path[512];
    snprintf(path, sizeof(path), "/api/volt/account/ledger%s", query);
    e2e_resp r;
    get(key, path, &r);
    int t = (int)num(r.json, "total");
    e2e_resp_free(&r);
    return t;
}

/* Usage entries of pod id so far. */
static int usage_of(const char *key, const char *pod)
{
    e2e_resp r;
    get(key, "/api/volt/account/ledger?kind=usage&limit=1000", &r);
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r.json, "entries")) n +=
        str(e, "pod_id") && !strcmp(str(e, "pod_id"), pod);
    e2e_resp_free(&r);
    return n;
}

static void wait_usage(const char *pod, int want)
{
    for (int i = 0; i < 150 && usage_of(ALICE, pod) < want; i++)
        usleep(100000);
    if (usage_of(ALICE, pod) < want) fail_msg("pod %s has fewer than %d usage entries", pod, want);
}

static void delete_pod(const char *key, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s", id);
    e2e_resp r;
    e2e_req(&D, "DELETE", path, key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
}

/* Alice: two pods on two providers metered for a while and deleted, a job paid and one
 * cancelled (refunded); bob pays one job; then the ledger is left to settle. */
static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    e2e_start_sandbox_args(&D, NULL, ENV, EXTRA);
    now_iso(T0);
    new_account("alice", "500", ALICE, ALICE_ID);
    new_account("bob", "50", BOB, BOB_ID);
    new_account("broke", NULL, BROKE, NULL);
    BAL0 = exact_balance(ALICE_ID);
    now_iso(TMID);
    char machine2[160];
    e2e_machine_of(&D, "volt", MACHINE1, sizeof(MACHINE1), NULL);
    e2e_machine_of(&D, "runai", machine2, sizeof(machine2), NULL);
    create_pod(ALICE, MACHINE1, POD1, &POD1_PRICE);
    create_pod(ALICE, machine2, POD2, NULL);
    create_job(ALICE, JOB_BODY("kept"), JOB2);
    create_job(ALICE, JOB_BODY("cancelled"), JOB1);
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%s", JOB1);
    e2e_resp r;
    e2e_req(&D, "DELETE", path, ALICE, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(e2e_str(&r, "message"), "refunded"));
    e2e_resp_free(&r);
    char bob_job[64];
    create_job(BOB, JOB_BODY("bobs"), bob_job);
    e2e_wait_pod(&D, ALICE, POD1, "running", 20000);
    e2e_wait_pod(&D, ALICE, POD2, "running", 20000);
    wait_usage(POD1, 3);
    wait_usage(POD2, 3);
    delete_pod(ALICE, POD1);
    delete_pod(ALICE, POD2);
    for (int i = 0; i < 150 && !(e2e_pod_event(&D, ALICE, POD1, "removed", NULL) &&
                                 e2e_pod_event(&D, ALICE, POD2, "removed", NULL));
         i++)
        usleep(100000);
    assert_true(e2e_pod_event(&D, ALICE, POD1, "removed", NULL));
    assert_true(e2e_pod_event(&D, ALICE, POD2, "removed", NULL));
    /* settled: the entry count stays put over several metering periods */
    int last = -1, n;
    for (int i = 0; i < 100 && (n = ledger_total(ALICE, "")) != last; i++) {
        last = n;
        usleep(800000);
    }
    if (n != last) fail_msg("alice's ledger never settled");
    now_iso(TEND);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

/* GET usage as key over [from, to) grouped by by (NULL: the default). */
static void usage(const char *key, const char *admin_q, const char *from, const char *to,
                  const char *by, e2e_resp *r)
{
    char path[512];
    snprintf(path, sizeof(path), "/api/volt/%s/usage?from=%s&to=%s%s%s%s%s",
             admin_q ? "admin" : "account", from, to, by ? "&group_by=" : "", by ? by : "",
             admin_q ? "&" : "", admin_q ? admin_q : "");
    get(key, path, r);
}

static int64_t group_spend(const cJSON *groups, const char *key)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, groups) if (str(g, "key") &&
                                      !strcmp(str(g, "key"), key)) return micros(g, "spend");
    fail_msg("no group %s", key);
    return 0;
}

static void test_groups_add_up(void **state)
{
    (void)state;
    static const char *const by[] = {"pod", "provider", "gpu", "day"};
    int64_t spend = -1;
    for (int i = 0; i < 4; i++) {
        e2e_resp r;
        usage(ALICE, NULL, T0, TEND, by[i], &r);
        assert_string_equal(str(r.json, "group_by"), by[i]);
        const cJSON *groups = cJSON_GetObjectItemCaseSensitive(r.json, "groups"), *g;
        int64_t sum = 0, entries = 0;
        cJSON_ArrayForEach(g, groups)
        {
            sum += micros(g, "spend");
            entries += (int64_t)num(g, "entries");
        }
        assert_true(cJSON_GetArraySize(groups) >= (strcmp(by[i], "day") ? 2 : 1));
        assert_true(micros(r.json, "spend") == sum);
        assert_true((int64_t)num(r.json, "entries") == entries);
        if (spend < 0) spend = sum;
        assert_true(sum == spend); /* the same total whichever way it is cut */
        if (!strcmp(by[i], "pod")) {
            assert_true(group_spend(groups, JOB1) == 0); /* paid and refunded */
            assert_true(group_spend(groups, JOB2) == 18500000);
            assert_true(group_spend(groups, POD1) > 0 && group_spend(groups, POD2) > 0);
            assert_int_equal(cJSON_GetArraySize(groups), 4);
        }
        if (!strcmp(by[i], "provider")) {
            assert_true(group_spend(groups, "fine-tuning") == 18500000);
            assert_true(group_spend(groups, "volt") > 0 && group_spend(groups, "runai") > 0);
            assert_int_equal(cJSON_GetArraySize(groups), 3);
        }
        if (!strcmp(by[i], "gpu")) assert_true(group_spend(groups, "fine-tuning") == 18500000);
        e2e_resp_free(&r);
    }
    assert_true(spend > 18500000); /* the job and the pods' time */
}

static void test_net_is_the_balance_change(void **state)
{
    (void)state;
    int64_t bal = exact_balance(ALICE_ID);
    e2e_resp r;
    usage(ALICE, NULL, T0, TEND, "day", &r); /* alice's whole life */
    assert_true(micros(r.json, "credits") == 500000000);
    assert_true(micros(r.json, "net") == micros(r.json, "credits") - micros(r.json, "spend"));
    assert_true(micros(r.json, "net") == bal);
    e2e_resp_free(&r);
    usage(ALICE, NULL, TMID, TEND, "provider", &r); /* after the opening credit */
    assert_true(micros(r.json, "credits") == 0);
    assert_true(micros(r.json, "net") == bal - BAL0);
    assert_true(BAL0 == 500000000);
    e2e_resp_free(&r);
    /* the default window is this month to now, which holds all of it */
    get(ALICE, "/api/volt/account/usage", &r);
    assert_string_equal(str(r.json, "group_by"), "pod");
    assert_true(micros(r.json, "net") == bal);
    e2e_resp_free(&r);
}

/* Every page of the ledger in [T0, TEND) as key (admin_q: the admin form with that query);
 * checks each id comes once and returns the number; *sum gets the amounts' sum. */
static int walk_pages(const char *key, const char *admin_q, const char *kind, int64_t *sum,
                      int64_t *ids, int maxids)
{
    int n = 0, total = -1;
    *sum = 0;
    for (int off = 0;; off += 7) {
        char path[512];
        snprintf(path, sizeof(path), "/api/volt/%s/ledger?limit=7&offset=%d&from=%s&to=%s%s%s%s",
                 admin_q ? "admin" : "account", off, T0, TEND, kind ? "&kind=" : "",
                 kind ? kind : "", admin_q ? admin_q : "");
        e2e_resp r;
        get(key, path, &r);
        if (total < 0) total = (int)num(r.json, "total");
        assert_int_equal((int)num(r.json, "total"), total);
        const cJSON *entries = cJSON_GetObjectItemCaseSensitive(r.json, "entries"), *e;
        int page = cJSON_GetArraySize(entries);
        cJSON_ArrayForEach(e, entries)
        {
            int64_t id = (int64_t)num(e, "id");
            for (int k = 0; k < n; k++)
                if (ids[k] == id) fail_msg("entry %lld listed twice", (long long)id);
            assert_true(n < maxids);
            ids[n++] = id;
            *sum += micros(e, "amount");
            if (kind) assert_string_equal(str(e, "kind"), kind);
            int is_usage = !strcmp(str(e, "kind"), "usage");
            assert_true(is_usage == (str(e, "pod_id") != NULL));
            assert_true(is_usage == (str(e, "period_start") != NULL));
            if (admin_q) assert_non_null(str(e, "account_id"));
        }
        e2e_resp_free(&r);
        if (page < 7) break;
    }
    assert_int_equal(n, total);
    return n;
}

static void test_paging_and_kinds(void **state)
{
    (void)state;
    static int64_t ids[4000];
    int64_t sum = 0, part_sum = 0;
    int all = walk_pages(ALICE, NULL, NULL, &sum, ids, 4000);
    assert_true(sum == exact_balance(ALICE_ID)); /* every entry, each once */
    assert_true(all >= 2 + 3 + 3 + 2);           /* credit, usage x 2 pods, 2 debits, refund */
    static const char *const kinds[] = {"credit", "debit", "refund", "usage"};
    static const int64_t count_want[] = {1, 2, 1, -1};
    int parts = 0;
    for (int i = 0; i < 4; i++) {
        int64_t s;
        int n = walk_pages(ALICE, NULL, kinds[i], &s, ids, 4000);
        if (count_want[i] >= 0) assert_int_equal(n, count_want[i]);
        parts += n;
        part_sum += s;
    }
    assert_int_equal(parts, all);
    assert_true(part_sum == sum);
    /* newest first */
    e2e_resp r;
    get(ALICE, "/api/volt/account/ledger?limit=1000", &r);
    const cJSON *e;
    int64_t last = INT64_MAX;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r.json, "entries"))
    {
        int64_t t;
        assert_int_equal(gb_time_parse(str(e, "created_at"), &t), 0);
        assert_true(t <= last);
        last = t;
    }
    e2e_resp_free(&r);
}

static void test_half_open_bounds(void **state)
{
    (void)state;
    e2e_resp r;
    get(ALICE, "/api/volt/account/ledger?kind=usage&limit=1", &r);
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "entries"), 0);
    char at[40], q[256];
    snprintf(at, sizeof(at), "%s", str(e, "created_at"));
    int64_t id = (int64_t)num(e, "id");
    e2e_resp_free(&r);
    int all = ledger_total(ALICE, "");
    snprintf(q, sizeof(q), "?to=%s", at);
    int before = ledger_total(ALICE, q);
    snprintf(q, sizeof(q), "?from=%s", at);
    int after = ledger_total(ALICE, q);
    assert_int_equal(before + after, all); /* [.., at) and [at, ..) split it */
    snprintf(q, sizeof(q), "?from=%s&to=%s", at, at);
    assert_int_equal(ledger_total(ALICE, q), 0);
    /* the entry at `at` is in [at, ..), not in [.., at) */
    snprintf(q, sizeof(q), "/api/volt/account/ledger?limit=1000&from=%s", at);
    get(ALICE, q, &r);
    int found = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r.json, "entries")) found +=
        (int64_t)num(e, "id") == id;
    e2e_resp_free(&r);
    assert_int_equal(found, 1);
    snprintf(q, sizeof(q), "/api/volt/account/ledger?limit=1000&to=%s", at);
    get(ALICE, q, &r);
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r.json, "entries"))
        assert_true((int64_t)num(e, "id") != id);
    e2e_resp_free(&r);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"/api/volt/account/ledger?bogus=1", "'bogus'"},
        {"/api/volt/account/ledger?kind=payment", "'kind'"},
        {"/api/volt/account/ledger?limit=0", "'limit'"},
        {"/api/volt/account/ledger?limit=1001", "'limit'"},
        {"/api/volt/account/ledger?offset=-1", "'offset'"},
        {"/api/volt/account/ledger?from=yesterday", "'from'"},
        {"/api/volt/account/ledger?to=2026-13-01T00:00:00Z", "'to'"},
        {"/api/volt/account/ledger?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "'from'"},
        {"/api/volt/account/ledger?account_id=x", "'account_id'"},
        {"/api/volt/account/usage?group_by=week", "'group_by'"},
        {"/api/volt/account/usage?group_by=account", "'group_by'"},
        {"/api/volt/account/usage?kind=usage", "'kind'"},
        {"/api/volt/account/usage?from=2026-01-01", "'from'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e2e_resp r;
        e2e_req(&D, "GET", bad[i][0], ALICE, NULL, &r);
        e2e_expect_error(&r, 400, "VALIDATION_ERROR");
        if (!strstr(e2e_str(&r, "message"), bad[i][1]))
            fail_msg("%s: %s does not name %s", bad[i][0], r.body, bad[i][1]);
        e2e_resp_free(&r);
    }
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/admin/usage?group_by=account&account_id=acct_nope", D.admin_key,
            NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/admin/ledger", ALICE, NULL, &r); /* not an admin */
    assert_int_equal(r.status, 403);
    e2e_resp_free(&r);
}

static void test_tenancy_and_admin(void **state)
{
    (void)state;
    static int64_t ids[4000], bob_ids[64];
    int64_t sum, bob_sum;
    int alice_n = walk_pages(ALICE, NULL, NULL, &sum, ids, 4000);
    int bob_n = walk_pages(BOB, NULL, NULL, &bob_sum, bob_ids, 64);
    assert_int_equal(bob_n, 2); /* his credit and his job: nothing of alice's */
    for (int i = 0; i < bob_n; i++)
        for (int k = 0; k < alice_n; k++)
            assert_true(bob_ids[i] != ids[k]);
    assert_true(bob_sum == exact_balance(BOB_ID));
    e2e_resp r;
    usage(BOB, NULL, T0, TEND, "pod", &r);
    assert_true(micros(r.json, "spend") == 18500000);
    assert_null(strstr(r.body, POD1));
    e2e_resp_free(&r);
    /* the administrator: one account, or all of them */
    char q[128];
    static int64_t admin_ids[4000];
    int64_t admin_sum;
    snprintf(q, sizeof(q), "&account_id=%s", ALICE_ID);
    assert_int_equal(walk_pages(D.admin_key, q, NULL, &admin_sum, admin_ids, 4000), alice_n);
    assert_true(admin_sum == sum);
    int every = walk_pages(D.admin_key, "", NULL, &admin_sum, admin_ids, 4000);
    assert_int_equal(every, alice_n + bob_n + 0); /* broke has no entry */
    usage(D.admin_key, "", T0, TEND, "account", &r);
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(r.json, "groups");
    e2e_resp ra;
    usage(ALICE, NULL, T0, TEND, NULL, &ra);
    assert_true(group_spend(groups, ALICE_ID) == micros(ra.json, "spend"));
    assert_true(group_spend(groups, BOB_ID) == 18500000);
    assert_true(micros(r.json, "credits") == 550000000);
    e2e_resp_free(&ra);
    e2e_resp_free(&r);
    snprintf(q, sizeof(q), "account_id=%s", BOB_ID);
    usage(D.admin_key, q, T0, TEND, "provider", &r);
    assert_true(micros(r.json, "spend") == 18500000);
    assert_true(group_spend(cJSON_GetObjectItemCaseSensitive(r.json, "groups"), "fine-tuning") ==
                18500000);
    e2e_resp_free(&r);
}

static int pod_count(const char *key)
{
    e2e_resp r;
    get(key, "/api/volt/pods", &r);
    int n = (int)num(r.json, "total");
    e2e_resp_free(&r);
    return n;
}

static void test_dry_run(void **state)
{
    (void)state;
    int pods = pod_count(ALICE), entries = ledger_total(ALICE, "");
    int far = e2e_sim_count(&D, "volt", NULL);
    char body[512];
    snprintf(body, sizeof(body),
             "{\"machine_id\":\"%s\",\"image\":\"x/y:1\",\"dry_run\":true,\"hours\":3}", MACHINE1);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", ALICE, body, &r);
    if (r.status != 200) fail_msg("dry run: %ld %s", r.status, r.body);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "dry_run")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "admitted")));
    assert_null(cJSON_GetObjectItemCaseSensitive(r.json, "refusal"));
    const cJSON *offer = cJSON_GetObjectItemCaseSensitive(r.json, "offer");
    assert_string_equal(str(offer, "id"), MACHINE1);
    assert_string_equal(str(offer, "provider"), "volt");
    /* the provider's price is what the real create locked; metering adds volt's 10 % */
    assert_true(num(offer, "price_per_hour") == POD1_PRICE);
    int64_t rate = micros(r.json, "price_per_hour");
    int64_t base = (int64_t)(POD1_PRICE * 1e6 + 0.5);
    assert_true(rate > base);
    assert_true(rate == (base * 11 + 5) / 10);
    assert_int_equal((int)num(r.json, "hours"), 3);
    assert_true(micros(r.json, "estimated_cost") == rate * 3);
    e2e_resp_free(&r);
    /* pod 1 was charged at exactly that rate: the sum of its usage entries is rate x its time */
    get(ALICE, "/api/volt/account/ledger?kind=usage&limit=1000", &r);
    int64_t charged = 0, ms = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r.json, "entries"))
    {
        if (strcmp(str(e, "pod_id"), POD1)) continue;
        int64_t a, b;
        assert_int_equal(gb_time_parse(str(e, "period_start"), &a), 0);
        assert_int_equal(gb_time_parse(str(e, "period_end"), &b), 0);
        charged -= micros(e, "amount");
        ms += b - a;
    }
    e2e_resp_free(&r);
    int64_t want = (rate * ms + 1800000) / 3600000;
    if (charged != want)
        fail_msg("pod 1 charged %lld for %lld ms; at the dry run's rate %lld that is %lld",
                 (long long)charged, (long long)ms, (long long)rate, (long long)want);
    /* placement by price: the first candidate, nothing queued */
    e2e_req(&D, "POST", "/api/volt/pods", ALICE,
            "{\"provider\":\"auto\",\"gpu_type\":\"H100\",\"image\":\"x/y:1\",\"dry_run\":true}",
            &r);
    assert_int_equal(r.status, 200);
    assert_int_equal((int)num(r.json, "hours"), 1);
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "candidates"), 0);
    assert_non_null(c0);
    assert_string_equal(str(c0, "offer"),
                        str(cJSON_GetObjectItemCaseSensitive(r.json, "offer"), "id"));
    assert_string_equal(
        str(cJSON_GetObjectItemCaseSensitive(r.json, "offer"), "gpu_type_normalized"), "H100");
    e2e_resp_free(&r);
    /* hours without dry_run, and out of range */
    snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"image\":\"x/y:1\",\"hours\":3}",
             MACHINE1);
    e2e_req(&D, "POST", "/api/volt/pods", ALICE, body, &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    e2e_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"machine_id\":\"%s\",\"image\":\"x/y:1\",\"dry_run\":true,\"hours\":8761}",
             MACHINE1);
    e2e_req(&D, "POST", "/api/volt/pods", ALICE, body, &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    e2e_resp_free(&r);
    /* $0: refused in the plan as the real create is refused */
    snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"image\":\"x/y:1\",\"dry_run\":true}",
             MACHINE1);
    e2e_req(&D, "POST", "/api/volt/pods", BROKE, body, &r);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "admitted")));
    assert_string_equal(e2e_str(&r, "refusal.code"), "INSUFFICIENT_BALANCE");
    e2e_resp_free(&r);
    snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"image\":\"x/y:1\"}", MACHINE1);
    e2e_req(&D, "POST", "/api/volt/pods", BROKE, body, &r);
    e2e_expect_error(&r, 402, "INSUFFICIENT_BALANCE");
    e2e_resp_free(&r);
    /* nothing was made or written */
    assert_int_equal(pod_count(ALICE), pods);
    assert_int_equal(pod_count(BROKE), 0);
    assert_int_equal(ledger_total(ALICE, ""), entries);
    assert_int_equal(e2e_sim_count(&D, "volt", NULL), far);
}

/* The object of the far side's state array `list` whose `key` is value (NULL when none); it
 * lives in st. */
static const cJSON *sim_item(const cJSON *st, const char *list, const char *key, const char *value)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(st, list))
    {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
        if (v && strcmp(v, value) == 0) return o;
    }
    return NULL;
}

/* A money field of an answer in micro-dollars. */
static int64_t money_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) fail_msg("no number %s", key);
    return (int64_t)(v->valuedouble * 1e6 + 0.5);
}

/* GET /api/volt/offers counts volt's 10 % margin: each offer's cost_per_hour is its price plus
 * its provider's margin, the list is ranked by that cost, and max_price compares it (the
 * provider's own price as the cap leaves the volt offer out, its cost lets it in). */
static void test_offers_cost_the_margin(void **state)
{
    (void)state;
    e2e_resp r;
    get(ALICE, "/api/volt/offers", &r);
    const cJSON *o, *offers = cJSON_GetObjectItemCaseSensitive(r.json, "offers");
    int64_t last = -1, vprice = 0, vcost = 0, vgpus = 0;
    char vid[160] = "", path[300];
    int n = 0;
    cJSON_ArrayForEach(o, offers)
    {
        int64_t price = money_of(o, "price_per_hour"), cost = money_of(o, "cost_per_hour");
        int volt = strcmp(str(o, "provider"), "volt") == 0,
            lium = strcmp(str(o, "provider"), "lium") == 0;
        /* the sandbox's prices are whole cents, and money is shown to the cent */
        int64_t want = volt   ? ((price * 11 + 5) / 10 + 5000) / 10000 * 10000
                       : lium ? ((price * 15 + 5) / 10 + 5000) / 10000 * 10000
                              : price;
        if (price % 10000 || cost != want)
            fail_msg("%s: price %lld, cost %lld", str(o, "id"), (long long)price, (long long)cost);
        assert_true(cost >= last); /* cheapest to the user first */
        last = cost;
        n++;
        if (volt && price > 0 && !vid[0]) {
            snprintf(vid, sizeof(vid), "%s", str(o, "id"));
            vprice = price;
            vgpus = (int64_t)num(o, "gpu_count");
            vcost = (price * 11 + 5) / 10; /* exactly: the cap below is exact */
        }
    }
    e2e_resp_free(&r);
    assert_true(n > 1);
    if (!vid[0]) fail_msg("no volt offer");
    /* the far side: price_per_hour is what volt itself lists for the machine */
    cJSON *st = e2e_sim_state(&D, "volt");
    const cJSON *m = sim_item(st, "machines", "id", strchr(vid, ':') + 1);
    if (!m) fail_msg("volt lists no machine %s", vid);
    /* (volt rents its machines by the GPU: the offer is for gpu_count of them) */
    assert_true(money_of(m, "cost_per_gpu_hour") * vgpus == vprice);
    cJSON_Delete(st);
    /* the Volt inventory says the same cost: a script sends it back as cost_per_hour */
    get(ALICE, "/api/volt/machines", &r);
    int seen = 0;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r.json, "machines"))
    {
        if (strcmp(str(o, "id"), vid) != 0) continue;
        seen = 1;
        assert_true(money_of(o, "cost_per_hour") == (vcost + 5000) / 10000 * 10000);
    }
    e2e_resp_free(&r);
    assert_true(seen);
    for (int k = 0; k < 2; k++) {
        int64_t cap = k ? vcost : vprice;
        snprintf(path, sizeof(path), "/api/volt/offers?max_price=%lld.%06lld",
                 (long long)(cap / 1000000), (long long)(cap % 1000000));
        get(ALICE, path, &r);
        int found = 0;
        cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r.json, "offers"))
        {
            assert_true(money_of(o, "cost_per_hour") <= (cap + 5000) / 10000 * 10000);
            found |= strcmp(str(o, "id"), vid) == 0;
        }
        e2e_resp_free(&r);
        assert_int_equal(found, k);
    }
}

/* The lium simulator lists its prices at percent % (POST /_sim/prices). */
static void lium_prices(int percent)
{
    char body[48];
    snprintf(body, sizeof(body), "{\"percent\":%d}", percent);
    gb_http_resp r;
    assert_int_equal(e2e_post_raw(e2e_sim_url(&D, "lium"), "/_sim/prices", "", body, 5000, &r),
                     GB_OK);
    assert_int_equal(r.status, 200);
    gb_http_resp_free(&r);
}

/* The provider is told its own share of the user's cap. A create on a lium machine whose
 * cost_per_hour allows the listed price plus lium's 50 % margin, after lium's live price rose
 * 20 %: lium is told the price the cap allows (the listed one), refuses the dearer executor,
 * and nothing is rented. Told the whole cap (1.5 x the price) it rented at 1.2 x, and the user
 * paid 1.8 x for a cap of 1.5 x. */
static void test_price_rise_refused(void **state)
{
    (void)state;
    char key[96], kid[64], machine[160], body[1200];
    new_account("dave", "1000", key, NULL);
    e2e_add_ssh_key(&D, key, kid, sizeof(kid), NULL, 0);
    e2e_resp r;
    e2e_machine_of(&D, "lium", machine, sizeof(machine), NULL); /* the listing, cached */
    int64_t price = -1;
    get(key, "/api/volt/offers?provider=lium", &r);
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r.json, "offers"))
    {
        if (strcmp(str(o, "id"), machine) == 0) price = money_of(o, "price_per_hour");
    }
    e2e_resp_free(&r);
    if (price <= 0) fail_msg("no lium offer %s", machine);
    int64_t cap = (price * 15 + 5) / 10; /* the listed price with the margin, exactly */
    int far = e2e_sim_count(&D, "lium", NULL), posts = e2e_sim_requests(&D, "lium", "POST"),
        gets = e2e_sim_requests(&D, "lium", "GET");
    cJSON *st = e2e_sim_state(&D, "lium");
    const cJSON *x = sim_item(st, "executors", "id", strchr(machine, ':') + 1);
    if (!x) fail_msg("lium has no executor %s", machine);
    int rents = (int)num(x, "rent_count");
    cJSON_Delete(st);
    lium_prices(120);
    snprintf(body, sizeof(body),
             "{\"machine_id\":\"%s\",\"image\":\"x/y:1\",\"ssh_key_ids\":[\"%s\"],"
             "\"cost_per_hour\":\"%lld.%06lld\"}",
             machine, kid, (long long)(cap / 1000000), (long long)(cap % 1000000));
    e2e_req(&D, "POST", "/api/volt/pods", key, body, &r); /* the cached price fits the cap */
    if (r.status != 201) fail_msg("create: %ld %s", r.status, r.body);
    char id[64];
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    e2e_wait_pod(&D, key, id, "failed", 20000);
    lium_prices(100);
    assert_true(e2e_pod_event(&D, key, id, "attempt_failed", "over max_price_per_hour"));
    /* the far side: lium was asked for its executors (the live price), was never asked to
     * rent or to make a template, and the executor was never rented */
    assert_int_equal(e2e_sim_count(&D, "lium", NULL), far);
    assert_int_equal(e2e_sim_requests(&D, "lium", "POST"), posts);
    assert_true(e2e_sim_requests(&D, "lium", "GET") > gets);
    st = e2e_sim_state(&D, "lium");
    x = sim_item(st, "executors", "id", strchr(machine, ':') + 1);
    assert_non_null(x);
    assert_int_equal((int)num(x, "rent_count"), rents);
    cJSON_Delete(st);
}

/* PUT /api/volt/account's spend_limit_per_hour to the micro-dollar, as text. */
static void set_limit(const char *key, int64_t micros_)
{
    char body[96];
    snprintf(body, sizeof(body), "{\"spend_limit_per_hour\":\"%lld.%06lld\"}",
             (long long)(micros_ / 1000000), (long long)(micros_ % 1000000));
    e2e_resp r;
    e2e_req(&D, "PUT", "/api/volt/account", key, body, &r);
    if (r.status != 200) fail_msg("limit: %ld %s", r.status, r.body);
    e2e_resp_free(&r);
}

/* The account's running cost and its spend limit count what the user pays: volt's price with
 * its 10 % margin, not the provider's price (a $3 limit let $3.30 run before). */
static void test_limit_counts_the_margin(void **state)
{
    (void)state;
    char key[96], id[64], body[512];
    new_account("carol", "1000", key, NULL);
    double price = 0;
    create_pod(key, MACHINE1, id, &price);
    int64_t base = (int64_t)(price * 1e6 + 0.5), rate = (base * 11 + 5) / 10;
    assert_true(rate > base);
    e2e_resp r;
    int64_t per_hour = 0;
    for (int i = 0; i < 200 && per_hour == 0; i++) { /* once it runs */
        get(key, "/api/volt/account", &r);
        per_hour = (int64_t)(num(r.json, "running_cost_per_hour") * 1e6 + 0.5);
        e2e_resp_free(&r);
        if (!per_hour) usleep(50000);
    }
    if (per_hour != (rate + 5000) / 10000 * 10000) /* shown to the cent */
        fail_msg("running cost %lld, the price with the margin %lld (the price %lld)",
                 (long long)per_hour, (long long)rate, (long long)base);
    /* the far side: volt runs the pod at its own price; the margin is ours alone */
    char path[120];
    snprintf(path, sizeof(path), "/api/volt/pods/%s", id);
    get(key, path, &r);
    char pid[96];
    snprintf(pid, sizeof(pid), "%s", e2e_str(&r, "provider_id"));
    e2e_resp_free(&r);
    cJSON *st = e2e_sim_state(&D, "volt");
    const cJSON *far = sim_item(st, "pods", "id", pid);
    if (!far) fail_msg("volt has no pod %s", pid);
    assert_true(money_of(far, "cost_per_hour") == base);
    cJSON_Delete(st);
    int posts = e2e_sim_requests(&D, "volt", "POST");
    /* a second pod like it fits a limit of two rates, not one micro-dollar less */
    snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"image\":\"x/y:1\",\"dry_run\":true}",
             MACHINE1);
    set_limit(key, 2 * rate - 1);
    e2e_req(&D, "POST", "/api/volt/pods", key, body, &r);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "admitted")));
    assert_string_equal(e2e_str(&r, "refusal.code"), "SPEND_LIMIT");
    e2e_resp_free(&r);
    set_limit(key, 2 * rate);
    e2e_req(&D, "POST", "/api/volt/pods", key, body, &r);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "admitted")));
    e2e_resp_free(&r);
    /* an explicit machine's cost_per_hour is what the user agrees to pay: the provider's
     * price alone is short of it by the margin */
    for (int k = 0; k < 2; k++) {
        int64_t agreed = k ? rate : base;
        snprintf(body, sizeof(body),
                 "{\"machine_id\":\"%s\",\"image\":\"x/y:1\",\"dry_run\":true,"
                 "\"cost_per_hour\":\"%lld.%06lld\"}",
                 MACHINE1, (long long)(agreed / 1000000), (long long)(agreed % 1000000));
        e2e_req(&D, "POST", "/api/volt/pods", key, body, &r);
        if (k)
            assert_int_equal(r.status, 200);
        else
            e2e_expect_error(&r, 409, "PRICE_CHANGED");
        e2e_resp_free(&r);
    }
    /* none of those dry runs and refusals reached the platform */
    assert_int_equal(e2e_sim_requests(&D, "volt", "POST"), posts);
}

static void test_cli(void **state)
{
    (void)state;
    char url[200], key[160], since[64], until[64];
    snprintf(url, sizeof(url), "GPUBROKER_URL=%s", D.url);
    snprintf(key, sizeof(key), "GPUBROKER_API_KEY=%s", ALICE);
    const char *env[] = {url, key, NULL};
    char *out, *err;
    snprintf(since, sizeof(since), "%s", T0);
    snprintf(until, sizeof(until), "%s", TEND);
    const char *costs[] = {"costs", "--since",  since,    "--until", until,
                           "--by",  "provider", "--json", NULL};
    assert_int_equal(e2e_cli(costs, env, NULL, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    e2e_resp r;
    usage(ALICE, NULL, T0, TEND, "provider", &r);
    assert_true(micros(j, "spend") == micros(r.json, "spend"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "groups")),
                     cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "groups")));
    e2e_resp_free(&r);
    cJSON_Delete(j);
    free(out);
    free(err);
    const char *table[] = {"costs", "--since", "7d", "--by", "pod", NULL};
    assert_int_equal(e2e_cli(table, env, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "total"));
    assert_non_null(strstr(out, POD1));
    assert_non_null(strstr(out, JOB2));
    free(out);
    free(err);
    const char *ledger[] = {"ledger",  "--since", since,    "--until", until,
                            "--limit", "1000",    "--json", NULL};
    assert_int_equal(e2e_cli(ledger, env, NULL, &out, &err), 0);
    j = cJSON_Parse(out);
    assert_non_null(j);
    int total = ledger_total(ALICE, "");
    assert_int_equal((int)num(j, "total"), total);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "entries")), total);
    cJSON_Delete(j);
    free(out);
    free(err);
    const char *refunds[] = {"ledger", "--kind", "refund", NULL};
    assert_int_equal(e2e_cli(refunds, env, NULL, &out, &err), 0);
    assert_non_null(strstr(out, JOB1));
    assert_null(strstr(out, "usage"));
    free(out);
    free(err);
    /* the table shows a usage entry exactly (micro-dollars), not rounded to $0.00 */
    const char *last_json[] = {"ledger", "--kind", "usage", "--limit", "1", "--json", NULL};
    assert_int_equal(e2e_cli(last_json, env, NULL, &out, &err), 0);
    j = cJSON_Parse(out);
    const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "entries"), 0);
    double micros = cJSON_GetObjectItemCaseSensitive(e0, "amount_micros")->valuedouble;
    assert_true(micros < 0);
    char want[48];
    snprintf(want, sizeof(want), "%.6f", -micros / 1e6);
    for (size_t k = strlen(want) - 1; want[k] == '0' && want[k - 3] != '.'; k--)
        want[k] = '\0';
    char shown[64];
    snprintf(shown, sizeof(shown), " -$%s ", want);
    cJSON_Delete(j);
    free(out);
    free(err);
    const char *last_table[] = {"ledger", "--kind", "usage", "--limit", "1", NULL};
    assert_int_equal(e2e_cli(last_table, env, NULL, &out, &err), 0);
    if (!strstr(out, shown)) fail_msg("'%s' not in:\n%s", shown, out);
    free(out);
    free(err);
    const char *bad[] = {"costs", "--since", "7 days", NULL};
    assert_int_equal(e2e_cli(bad, env, NULL, &out, &err), 2);
    free(out);
    free(err);
    int pods = pod_count(ALICE);
    const char *place[] = {"place",     "--gpu",   "H100", "--image", "x/y:1",
                           "--dry-run", "--hours", "5",    NULL};
    assert_int_equal(e2e_cli(place, env, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "dry run: nothing was created"));
    assert_non_null(strstr(out, "hours:          5"));
    assert_non_null(strstr(out, "estimated cost: $"));
    assert_non_null(strstr(out, "admitted:       yes"));
    free(out);
    free(err);
    const char *create[] = {"pods",  "create",    "--machine", MACHINE1, "--image",
                            "x/y:1", "--dry-run", "--json",    NULL};
    assert_int_equal(e2e_cli(create, env, NULL, &out, &err), 0);
    j = cJSON_Parse(out);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "dry_run")));
    cJSON_Delete(j);
    free(out);
    free(err);
    assert_int_equal(pod_count(ALICE), pods);
    const char *account[] = {"account", NULL};
    assert_int_equal(e2e_cli(account, env, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "running cost:"));
    assert_non_null(strstr(out, "monthly budget:"));
    free(out);
    free(err);
}

/* Without from and to, usage is this month (UTC) to now: an entry of last month, written in
 * the store, is not in it; the answer names the window. */
static void test_default_window_is_this_month(void **state)
{
    (void)state;
    char key[96], id[64], month[40], end[40], sql[256];
    new_account("erin", "5", key, id);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    int64_t start = (int64_t)timegm(&tm) * 1000;
    gb_time_format(start, month, sizeof(month));
    snprintf(sql, sizeof(sql),
             "INSERT INTO ledger(account_id, kind, amount, note, created_at)"
             " VALUES (?1, 'credit', 7000000, 'last month', %lld) RETURNING id",
             (long long)(start - 1000));
    gb_db *db = e2e_db_open(&D);
    e2e_db_int(db, sql, id, NULL, NULL);
    gb_db_close(db);
    e2e_resp r;
    get(key, "/api/volt/account/usage", &r);
    const char *from = str(r.json, "from");
    if (!from || strcmp(from, month) != 0) fail_msg("from %s, not %s", from ? from : "null", month);
    assert_true(micros(r.json, "credits") == 5000000);
    e2e_resp_free(&r);
    now_iso(end);
    usage(key, NULL, "2000-01-01T00:00:00Z", end, NULL, &r); /* asked for: both */
    assert_true(micros(r.json, "credits") == 12000000);
    e2e_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_add_up),
        cmocka_unit_test(test_net_is_the_balance_change),
        cmocka_unit_test(test_paging_and_kinds),
        cmocka_unit_test(test_half_open_bounds),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_tenancy_and_admin),
        cmocka_unit_test(test_dry_run),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_limit_counts_the_margin),
        cmocka_unit_test(test_offers_cost_the_margin),
        cmocka_unit_test(test_price_rise_refused),
        cmocka_unit_test(test_default_window_is_this_month),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
