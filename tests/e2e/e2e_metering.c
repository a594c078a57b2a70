/* e2e_metering.c: pod time as money, end to end in sandbox mode (metering every 200 ms), checked
 * in the daemon's own SQLite file and at a webhook receiver that is not ours:
 * - a $0 account's create is 402 INSUFFICIENT_BALANCE and leaves nothing; credited, the pod
 *   runs and its usage entries form one chain of intervals whose sum is its price times its
 *   running time, to the micro-dollar, and exactly what the balance lost;
 * - kill -9 of the daemon while pods accrue, and a restart: no interval missing or doubled;
 * - a balance that runs out: account.balance_low, then the pod stopped (pod.stopped with the
 *   reason) and the Lium pod, which cannot stop, deleted; nothing accrues after;
 * - an administrator's spend limit and budget: the holder cannot raise them; 402 SPEND_LIMIT,
 *   402 BUDGET at 100 % with the account.budget webhooks. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "common/money.h"
#include "support_daemon.h"

#define SECRET "e2e-metering-secret-0123456789"

static e2e_daemon D, SIM; /* SIM: a standalone simulator, alive across the daemon's kill -9 */
static char DIR_[256], KEY[96], ADMIN[96], OUT[300];
static pid_t receiver;
static int naccounts;
static char HOOK_URL[128];
static void receiver_start(const char *key);
static void receiver_stop(void);

static const char *const ENV[] = {
    "GPUBROKER_METERING_PERIOD_MS=200",           "GPUBROKER_METERING_MIN_RUN_MINUTES=0",
    "GPUBROKER_RECONCILER_INTERVAL_MS=100",       "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=1000000",
    "GPUBROKER_WEBHOOKS_ALLOW_CIDRS=127.0.0.0/8", NULL};
static const char *const EXTRA[] = {"--sim-speed", "60", NULL};

static void start(int fresh)
{
    e2e_start_sandbox_args(&D, fresh ? NULL : DIR_, ENV, EXTRA);
    if (fresh) {
        snprintf(DIR_, sizeof(DIR_), "%s", D.dir);
        snprintf(KEY, sizeof(KEY), "%s", D.key);
        snprintf(ADMIN, sizeof(ADMIN), "%s", D.admin_key);
    } else {
        snprintf(D.key, sizeof(D.key), "%s", KEY);
        snprintf(D.admin_key, sizeof(D.admin_key), "%s", ADMIN);
    }
}

/* ---- the daemon's database (its SQLite file, or its PostgreSQL database) ---- */

static gb_db *db_open(void)
{
    return e2e_db_open_dir(DIR_);
}

static int64_t q_int(const char *sql, const char *arg)
{
    gb_db *db = db_open();
    int found = 0;
    int64_t v = e2e_db_int(db, sql, arg, NULL, &found);
    gb_db_close(db);
    return found ? v : -1;
}

static int64_t entries(const char *pod)
{
    return q_int("SELECT count(*) FROM ledger WHERE pod_id = ?1", pod);
}

/* The pod's usage entries chain (each starts where the one before ended); returns their sum
 * (positive) and the chain's ends. */
static gb_money chain(const char *pod, int64_t *first, int64_t *last)
{
    gb_db *db = db_open();
    gb_q *s = gb_q_prep(db, "SELECT period_start, period_end, amount FROM ledger "
                            "WHERE pod_id = ?1 ORDER BY period_start");
    assert_non_null(s);
    gb_q_text(s, 1, pod);
    gb_money sum = 0;
    int64_t at = -1;
    *first = -1;
    int row = 0;
    gb_err e;
    while ((e = gb_q_step(s, &row)) == GB_OK && row) {
        int64_t from = gb_q_col_int64(s, 0), to = gb_q_col_int64(s, 1);
        if (at < 0)
            *first = from;
        else if (from != at)
            fail_msg("%s: an entry starts at %lld, the one before ended at %lld", pod,
                     (long long)from, (long long)at);
        assert_true(to > from);
        assert_true(gb_q_col_int64(s, 2) < 0);
        sum -= gb_q_col_int64(s, 2);
        at = to;
    }
    assert_int_equal(e, GB_OK);
    gb_q_reset(s);
    gb_db_close(db);
    *last = at;
    return sum;
}

/* The event log's seq of the pod's first event of type whose payload names the balance as
 * the reason; -1 when there is none. */
static int64_t sent_seq(const char *type, const char *pod)
{
    gb_db *db = db_open();
    int found = 0;
    int64_t v = e2e_db_int(db,
                           "SELECT min(seq) FROM wh_events WHERE event = ?1 AND subject_id = ?2 "
                           "AND payload LIKE '%balance%'",
                           type, pod, &found);
    gb_db_close(db);
    return found && v > 0 ? v : -1;
}

/* round(price x running time / 1 h) from the pod's row, as the platform would bill it. */
static gb_money expected(const char *pod)
{
    gb_db *db = db_open();
    gb_q *s = gb_q_prep(db, "SELECT price_per_hour, running_ms, status FROM pods WHERE id = ?1");
    assert_non_null(s);
    gb_q_text(s, 1, pod);
    int row = 0;
    assert_int_equal(gb_q_step(s, &row), GB_OK);
    assert_int_equal(row, 1);
    gb_money price = gb_q_col_int64(s, 0), m = 0;
    int64_t ms = gb_q_col_int64(s, 1);
    assert_non_null(gb_q_col_text(s, 2));
    assert_string_not_equal(gb_q_col_text(s, 2), "running");
    gb_q_reset(s);
    gb_db_close(db);
    assert_true(ms > 0);
    assert_int_equal(gb_money_mul_ratio(price, ms, 3600000, &m), 0);
    return m;
}

/* ---- API helpers ---- */

static gb_money money_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    gb_money m = -1;
    if (cJSON_IsString(v)) assert_int_equal(gb_money_parse(v->valuestring, &m), 0);
    if (cJSON_IsNumber(v)) assert_int_equal(gb_money_from_double(v->valuedouble, &m), 0);
    return m;
}

/* The account's balance to the micro-dollar (the API shows cents), from the database. */
static gb_money balance(const char *key)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r);
    assert_int_equal(r.status, 200);
    gb_money b =
        q_int("SELECT balance FROM ledger_balances WHERE account_id = ?1", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    return b < 0 ? 0 : b;
}

/* A new account (credit in dollars, as text) with a webhook endpoint at the receiver; its key
 * into key. */
static void new_account(const char *credit, char *key, size_t n, const char *hook_url)
{
    char body[320];
    snprintf(body, sizeof(body), "{\"name\":\"metered%d\",\"credit\":%s}", naccounts++, credit);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key, body, &r);
    assert_int_equal(r.status, 201);
    snprintf(key, n, "%s", e2e_str(&r, "api_key.key"));
    e2e_resp_free(&r);
    if (!hook_url) return;
    receiver_start(key);
    hook_url = HOOK_URL;
    snprintf(body, sizeof(body), "{\"url\":\"%s\",\"events\":\"account.*,pod.*\"}", hook_url);
    e2e_req(&D, "POST", "/api/volt/webhooks", key, body, &r);
    assert_int_equal(r.status, 201);
    e2e_resp_free(&r);
}

static void credit(const char *key, const char *dollars)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r);
    char path[160], body[64];
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/%s/credit", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    snprintf(body, sizeof(body), "{\"amount\":%s}", dollars);
    e2e_req(&D, "POST", path, D.admin_key, body, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
}

/* A fresh ed25519 key on key's account (Lium takes no pod without one): its id into kid. */
/* POST /api/volt/pods on a machine of provider; the answer in r (caller frees). */
static void create_on(const char *key, const char *provider, e2e_resp *r)
{
    char machine[160], body[400], kid[64], keys[96] = "";
    int gpus = 0;
    e2e_machine_of(&D, provider, machine, sizeof(machine), &gpus);
    if (!strcmp(provider, "lium")) {
        e2e_add_ssh_key(&D, key, kid, sizeof(kid), NULL, 0);
        snprintf(keys, sizeof(keys), ",\"ssh_key_ids\":[\"%s\"]", kid);
    }
    if (strchr(machine, ':')) /* "provider:offer" */
        snprintf(body, sizeof(body),
                 "{\"name\":\"metered\",\"machine_id\":\"%s\",\"image\":\"ubuntu:22.04\"%s}",
                 machine, keys);
    else
        snprintf(body, sizeof(body),
                 "{\"name\":\"metered\",\"provider\":\"%s\",\"machine_id\":\"%s\","
                 "\"image\":\"ubuntu:22.04\"%s}",
                 provider, machine, keys);
    e2e_req(&D, "POST", "/api/volt/pods", key, body, r);
}

static void create_running(const char *key, const char *provider, char *id, size_t n)
{
    e2e_resp r;
    create_on(key, provider, &r);
    if (r.status != 201) fail_msg("create on %s: %ld %s", provider, r.status, r.body);
    snprintf(id, n, "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    char path[160];
    snprintf(path, sizeof(path), "/api/volt/pods/%s", id);
    for (int i = 0; i < 200; i++) {
        e2e_req(&D, "GET", path, key, NULL, &r);
        const char *st = e2e_str(&r, "status");
        int done = st && (!strcmp(st, "running") || !strcmp(st, "failed"));
        e2e_resp_free(&r);
        if (done) break;
        usleep(100000);
    }
    snprintf(path, sizeof(path), "/api/volt/pods/%s/events", id);
    e2e_req(&D, "GET", path, key, NULL, &r);
    if (!strstr(r.body, "\"running\"")) fail_msg("%s on %s never ran: %s", id, provider, r.body);
    e2e_resp_free(&r);
}

static void delete_pod(const char *key, const char *id)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/volt/pods/%s", id);
    e2e_resp r;
    e2e_req(&D, "DELETE", path, key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
}

static void wait_entries(const char *pod, int64_t n, int ms)
{
    for (int i = 0; i < ms / 50 && entries(pod) < n; i++)
        usleep(50000);
    assert_true(entries(pod) >= n);
}

/* ---- the receiver ---- */

/* A receiver verifying with the signing secret of key's account. */
static void receiver_start(const char *key)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/webhooks/secret", key, NULL, &r);
    char secret[128];
    snprintf(secret, sizeof(secret), "%s", e2e_str(&r, "secret"));
    e2e_resp_free(&r);
    snprintf(OUT, sizeof(OUT), "%s/hooks.out", DIR_);
    char script[512], urlf[320];
    snprintf(script, sizeof(script), "%s/tests/e2e/webhook_receiver.py",
             getenv("GB_SOURCE_DIR") ? getenv("GB_SOURCE_DIR") : ".");
    snprintf(urlf, sizeof(urlf), "%s/hooks.url", DIR_);
    receiver_stop();
    unlink(urlf); /* the last receiver's address must not be read as this one's */
    receiver = e2e_fork();
    if (receiver == 0) {
        int o = open(urlf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(o, 1);
        dup2(o, 2); /* not the test's stderr, which ctest waits on */
        execlp("python3", "python3", script, secret, OUT, "bodies", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        char *t = e2e_slurp(urlf, NULL);
        const char *u = t ? strstr(t, "LISTEN_URL=") : NULL;
        if (u && strchr(u, '\n')) {
            snprintf(HOOK_URL, sizeof(HOOK_URL), "%.*s", (int)(strchr(u, '\n') - u - 11), u + 11);
            free(t);
            return;
        }
        free(t);
        usleep(100000);
    }
    fail_msg("the webhook receiver did not start (python3 missing?)");
}

static void receiver_stop(void)
{
    if (receiver <= 0) return;
    kill(receiver, SIGTERM);
    waitpid(receiver, NULL, 0);
    receiver = 0;
}

/* The receiver's line number (1-based) of the first verified delivery holding every needle,
 * waiting up to ms; 0 when none. */
static int hook_line(const char *a, const char *b, const char *c, int ms)
{
    for (int i = 0; i <= ms / 100; i++) {
        char *t = e2e_slurp(OUT, NULL);
        int line = 0, found = 0;
        for (char *p = t, *nl; p && *p && !found; p = nl + 1) {
            nl = strchr(p, '\n');
            if (!nl) break;
            *nl = '\0';
            line++;
            if (!strncmp(p, "OK ", 3) && strstr(p, a) && (!b || strstr(p, b)) &&
                (!c || strstr(p, c)))
                found = line;
        }
        free(t);
        if (found) return found;
        usleep(100000);
    }
    return 0;
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    start(1);
    e2e_start_sim(&SIM, "volt", SECRET);
    assert_int_equal(e2e_sim_req(&SIM, SECRET, "POST", "/_sim/clock", "{\"speed\":300}", NULL),
                     200);
    e2e_register_sim(&D, &SIM, "mine", "volt", SECRET, "{\"requests_per_hour\":0}");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    receiver_stop();
    e2e_stop(&D);
    if (!getenv("KEEP")) e2e_cleanup(&D);
    e2e_stop(&SIM);
    e2e_cleanup(&SIM);
    return 0;
}

static void test_zero_balance_then_exact_accrual(void **state)
{
    (void)state;
    char key[96], id[64];
    new_account("0", key, sizeof(key), NULL);
    e2e_resp r;
    create_on(key, "volt", &r);
    e2e_expect_error(&r, 402, "INSUFFICIENT_BALANCE");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/pods", key, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "pods")), 0);
    e2e_resp_free(&r);
    credit(key, "50");
    gb_money before = balance(key);
    create_running(key, "volt", id, sizeof(id));
    wait_entries(id, 4, 10000);
    delete_pod(key, id);
    int64_t first, last;
    gb_money sum = chain(id, &first, &last);
    assert_int_equal(sum, expected(id));
    assert_int_equal(before - balance(key), sum);
    /* the chain starts when the pod began to run and ends at the delete (or at the last
     * round, when the few ms between them came to less than half a micro-dollar) */
    int64_t deleted = q_int("SELECT deleted_at FROM pods WHERE id = ?1", id);
    assert_true(last <= deleted && last > deleted - 1000);
    assert_int_equal(q_int("SELECT deleted_at - running_ms FROM pods WHERE id = ?1", id), first);
    usleep(600000); /* deleted: nothing after */
    assert_int_equal(chain(id, &first, &last), sum);
}

static void test_kill9_during_accrual(void **state)
{
    (void)state;
    char key[96], a[64], b[64];
    new_account("50", key, sizeof(key), NULL);
    create_running(key, "mine", a, sizeof(a));
    create_running(key, "mine", b, sizeof(b));
    wait_entries(a, 3, 10000);
    wait_entries(b, 3, 10000);
    e2e_kill9(&D);
    int64_t ea = entries(a);
    start(0);
    wait_entries(a, ea + 3, 15000);
    delete_pod(key, a);
    delete_pod(key, b);
    int64_t first, last;
    assert_int_equal(chain(a, &first, &last), expected(a));
    assert_int_equal(chain(b, &first, &last), expected(b));
    assert_int_equal(50 * GB_MONEY_PER_DOLLAR - balance(key), expected(a) + expected(b));
}

static void test_balance_runs_out(void **state)
{
    (void)state;
    char key[96], v[64], l[64];
    new_account("0.02", key, sizeof(key), "receiver");
    create_running(key, "volt", v, sizeof(v));
    create_running(key, "lium", l, sizeof(l));
    /* $0.02 lasts a few seconds at these prices */
    e2e_wait_pod(&D, key, v, "stopped", 60000);
    e2e_wait_pod(&D, key, l, "deleted", 20000);
    assert_int_equal(balance(key), 0);
    /* each arrived, signed, at the receiver; deliveries run concurrently (no order between
     * messages is promised there: on PostgreSQL they often arrive out of it), so the order
     * they were sent in is read from the event log, whose seq is the order of the commits */
    assert_true(hook_line("account.balance_low", NULL, NULL, 10000) > 0);
    assert_true(hook_line("pod.stopped", v, "balance", 10000) > 0);
    assert_true(hook_line("pod.deleted", l, "balance", 10000) > 0);
    assert_true(hook_line("pod.stopping", v, "balance", 1000) > 0);
    int64_t low = q_int("SELECT min(seq) FROM wh_events WHERE event = 'account.balance_low' AND "
                        "account_id = (SELECT account_id FROM pods WHERE id = ?1)",
                        v);
    assert_true(low > 0);
    assert_true(sent_seq("pod.stopping", v) > low);
    assert_true(sent_seq("pod.stopped", v) > low);
    assert_true(sent_seq("pod.deleted", l) > low);
    /* a start needs money like a create */
    char path[160];
    snprintf(path, sizeof(path), "/api/volt/pods/%s/start", v);
    e2e_resp r;
    e2e_req(&D, "POST", path, key, NULL, &r);
    e2e_expect_error(&r, 402, "INSUFFICIENT_BALANCE");
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/pods/%s", v);
    e2e_req(&D, "GET", path, key, NULL, &r);
    assert_string_equal(e2e_str(&r, "status"), "stopped");
    assert_non_null(strstr(e2e_str(&r, "stop_reason"), "balance"));
    assert_true(money_at(r.json, "unpaid") >= 0);
    e2e_resp_free(&r);
    /* nothing accrues after */
    int64_t n = entries(v) + entries(l);
    usleep(800000);
    assert_int_equal(entries(v) + entries(l), n);
    assert_int_equal(q_int("SELECT sum(amount) FROM ledger WHERE account_id = (SELECT "
                           "account_id FROM pods WHERE id = ?1)",
                           v),
                     0);
    receiver_stop();
}

static void test_limits_and_budget(void **state)
{
    (void)state;
    char key[96], path[200];
    new_account("100", key, sizeof(key), "receiver");
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r);
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/%s/limits", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    e2e_req(&D, "PUT", path, D.admin_key, "{\"spend_limit_per_hour\":5,\"monthly_budget\":1}", &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    /* the holder cannot raise or remove them; lowering works */
    e2e_req(&D, "PUT", "/api/volt/account", key, "{\"spend_limit_per_hour\":10}", &r);
    e2e_expect_error(&r, 403, "FORBIDDEN");
    e2e_resp_free(&r);
    e2e_req(&D, "PUT", "/api/volt/account", key, "{\"monthly_budget\":0}", &r);
    e2e_expect_error(&r, 403, "FORBIDDEN");
    e2e_resp_free(&r);
    e2e_req(&D, "PUT", "/api/volt/account", key, "{\"spend_limit_per_hour\":0.01}", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(money_at(r.json, "spend_limit_per_hour"), 10000);
    e2e_resp_free(&r);
    e2e_req(&D, "PUT", path, key, "{\"spend_limit_per_hour\":50}", &r); /* not an admin */
    assert_int_equal(r.status, 403);
    e2e_resp_free(&r);
    create_on(key, "volt", &r);
    e2e_expect_error(&r, 402, "SPEND_LIMIT");
    e2e_resp_free(&r);
    e2e_req(&D, "PUT", "/api/volt/account", key, "{\"spend_limit_per_hour\":5}", &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    /* a fine-tuning job's upfront debit takes the month past the $1 budget */
    e2e_req(&D, "POST", "/api/volt/fine-tuning", key,
            "{\"name\":\"b\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\",\"dsRepo\":"
            "\"myorg/support-qa\",\"hours\":1,\"fieldInstruction\":\"instruction\","
            "\"fieldOutput\":\"output\"}",
            &r);
    assert_int_equal(r.status, 201);
    e2e_resp_free(&r);
    create_on(key, "volt", &r);
    e2e_expect_error(&r, 402, "BUDGET");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r);
    assert_true(cJSON_GetObjectItemCaseSensitive(r.json, "budget_used_percent")->valuedouble >=
                100.0);
    e2e_resp_free(&r);
    /* the alerts: 50, 80 and 100 %, each once */
    assert_true(hook_line("account.budget", "\"percent\":50", NULL, 5000) > 0);
    assert_true(hook_line("account.budget", "\"percent\":80", NULL, 5000) > 0);
    assert_true(hook_line("account.budget", "\"percent\":100", NULL, 5000) > 0);
    receiver_stop();
}

/* The guards from the CLI: recorded on the pod as given; a guard under a minute refused. */
static void test_cli_guards(void **state)
{
    (void)state;
    char key[96], url[300], keyv[160], machine[160], *out = NULL, *err = NULL;
    new_account("20", key, sizeof(key), NULL);
    snprintf(url, sizeof(url), "GPUBROKER_URL=%s", D.url);
    snprintf(keyv, sizeof(keyv), "GPUBROKER_API_KEY=%s", key);
    const char *env[] = {url, keyv, NULL};
    e2e_machine_of(&D, "mine", machine, sizeof(machine), NULL);
    const char *bad[] = {"pods", "create",         "--machine", machine,  "--image",
                         "x:1",  "--max-duration", "30s",       "--json", NULL};
    assert_int_equal(e2e_cli(bad, env, NULL, &out, &err), 2);
    assert_non_null(strstr(err, "--max-duration"));
    free(out);
    free(err);
    const char *good[] = {"pods",           "create", "--machine",  machine, "--image", "x:1",
                          "--max-duration", "2h",     "--max-cost", "3.5",   "--json",  NULL};
    assert_int_equal(e2e_cli(good, env, NULL, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    char path[160];
    snprintf(path, sizeof(path), "/api/volt/pods/%s",
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "id")));
    cJSON_Delete(j);
    free(out);
    free(err);
    e2e_resp r;
    e2e_req(&D, "GET", path, key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(r.json, "max_duration")->valuedouble,
                     7200);
    assert_int_equal(money_at(r.json, "max_cost"), 3500000);
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", path, key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_balance_then_exact_accrual),
        cmocka_unit_test(test_kill9_during_accrual),
        cmocka_unit_test(test_balance_runs_out),
        cmocka_unit_test(test_limits_and_budget),
        cmocka_unit_test(test_cli_guards),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
