/* test_webhooks_outcomes.c: what a receiver's answer or a user's action does to a webhook
 * message, seen at a scripted loopback receiver (test_script_server.h: what it was sent) and
 * in the store's message rows: a 3xx is a failed attempt, not a delivery; a message redelivered
 * after its attempts ran out gets a fresh retry schedule; disabling an endpoint fails its
 * pending messages, so enabling it again sends none of them. The rules are those of the
 * Standard Webhooks spec (github.com/standard-webhooks/standard-webhooks, b2fa7b8,
 * spec/standard-webhooks.md, "Delivery success and failure": "3xx: Failure"; "Visibility into
 * failures and manual retries") and docs/webhooks.md ("Delivery"). */
#include "test_db_util.h"
#include "test_script_server.h"

#include "common/clock.h"
#include "common/str.h"
#include "webhooks/outbox.h"
#include "webhooks/sign.h"

#define ACCT "acc_outc1"
#define T0 1700000000000LL

static struct {
    gb_db *db;
    char secret[WH_SECRET_MAX];
    ss_script ss;
    wh_worker *w;
    bool no_secret; /* the account has no signing secret */
} T;

static gb_db *db_cb(void *ud)
{
    (void)ud;
    return T.db;
}

static size_t secrets_cb(void *ud, const char *account_id, char s[][128], size_t max)
{
    (void)ud;
    (void)account_id;
    if (max < 1 || T.no_secret) return 0;
    gb_strlcpy(s[0], T.secret, 128);
    return 1;
}

static int setup(void **state)
{
    (void)state;
    memset(&T, 0, sizeof(T));
    const char *url = tdb_fresh_url();
    assert_non_null(url);
    assert_non_null(T.db = tdb_open(url));
    assert_int_equal(gb_db_migrate(T.db, wh_migrations(), 1), GB_OK);
    assert_int_equal(wh_secret_new(32, T.secret, sizeof(T.secret)), GB_OK);
    gb_clock_set(T0);
    wh_worker_cfg c = {.attempt_timeout_ms = 10000,
                       .max_in_flight = 8,
                       .allow_cidrs = "127.0.0.0/8",
                       .secrets = secrets_cb,
                       .db = db_cb};
    assert_int_equal(wh_worker_new(&c, &T.w), GB_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    wh_worker_stop(T.w);
    gb_db_close(T.db);
    gb_clock_use_real();
    return 0;
}

/* Starts the receiver answering its connections with statuses, in order. */
static void receiver(const int *statuses, int n)
{
    T.ss.statuses = statuses;
    T.ss.n = n;
    assert_int_equal(ss_start(&T.ss), 0);
}

static void add_endpoint(const char *path, wh_endpoint *out)
{
    char url[128];
    gb_snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", T.ss.port, path);
    assert_int_equal(wh_endpoint_insert(T.db, ACCT, url, "*", out), GB_OK);
}

static size_t enqueue(void)
{
    cJSON *p = cJSON_Parse("{\"type\":\"pod.created\",\"data\":{\"n\":1}}");
    size_t q = 0;
    assert_int_equal(gb_db_begin(T.db), GB_OK);
    assert_int_equal(wh_enqueue(T.db, ACCT, "pod.created", p, NULL, &q), GB_OK);
    assert_int_equal(gb_db_commit(T.db), GB_OK);
    cJSON_Delete(p);
    return q;
}

/* The message row as wh_deliveries_list gives it: status, attempts, lastStatus, lastError. */
typedef struct {
    char id[GB_ID_MAX], status[16], last_error[64];
    int attempts, last_status;
} msg_row;

static msg_row row_of(const char *endpoint_id)
{
    msg_row r;
    memset(&r, 0, sizeof(r));
    cJSON *a = cJSON_CreateArray();
    assert_int_equal(wh_deliveries_list(T.db, ACCT, NULL, 100, a), GB_OK);
    int found = 0;
    cJSON *m;
    cJSON_ArrayForEach(m, a)
    {
        const char *ep = cJSON_GetStringValue(cJSON_GetObjectItem(m, "endpointId"));
        if (endpoint_id && (!ep || strcmp(ep, endpoint_id) != 0)) continue;
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(m, "status"));
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(m, "lastError"));
        gb_strlcpy(r.id, cJSON_GetStringValue(cJSON_GetObjectItem(m, "id")), sizeof(r.id));
        gb_strlcpy(r.status, s ? s : "", sizeof(r.status));
        gb_strlcpy(r.last_error, e ? e : "", sizeof(r.last_error));
        r.attempts = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(m, "attempts"));
        r.last_status = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(m, "lastStatus"));
        found++;
    }
    cJSON_Delete(a);
    assert_int_equal(found, 1);
    return r;
}

/* A redirect is not followed and not a delivery: the message stays pending, retried on the
 * schedule, until a 2xx. The answers carry a Location, which is not followed: each pass sends
 * one request, to the endpoint's own path. */
static void test_redirect_is_not_delivered(void **state)
{
    (void)state;
    static const int st[] = {302, 308, 200};
    T.ss.header = "Location: /elsewhere";
    receiver(st, 3);
    add_endpoint("/hook", NULL);
    assert_int_equal(enqueue(), 1);
    assert_int_equal(wh_worker_pass(T.w), 1);
    assert_int_equal(T.ss.served, 1);
    assert_true(strncmp(T.ss.got[0], "POST /hook ", 11) == 0);
    msg_row r = row_of(NULL);
    assert_string_equal(r.status, "pending");
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.last_status, 302);
    assert_string_equal(r.last_error, "HTTP 302");

    gb_clock_advance(6001); /* past the first retry (5 s + 20%) */
    assert_int_equal(wh_worker_pass(T.w), 1);
    assert_int_equal(T.ss.served, 2);
    r = row_of(NULL);
    assert_string_equal(r.status, "pending");
    assert_int_equal(r.last_status, 308);

    gb_clock_advance(361000); /* past the second (5 min + 20%) */
    assert_int_equal(wh_worker_pass(T.w), 1);
    assert_int_equal(T.ss.served, 3);
    r = row_of(NULL);
    assert_string_equal(r.status, "delivered");
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.last_status, 200);
    /* all three were the one message */
    char idh[128];
    gb_snprintf(idh, sizeof(idh), "webhook-id: %s\r\n", r.id);
    for (int i = 0; i < 3; i++)
        assert_non_null(strstr(T.ss.got[i], idh)); /* as deliver.c spells it */
    ss_stop(&T.ss);
}

/* A message failed after its ten attempts and then redelivered by the user starts over: a
 * failed try is retried on the schedule again, not failed at once. */
static void test_redeliver_gets_fresh_retries(void **state)
{
    (void)state;
    static const int st[] = {500, 200};
    receiver(st, 2);
    add_endpoint("/hook", NULL);
    assert_int_equal(enqueue(), 1);
    /* its attempts run out, recorded straight in the store (no request) */
    for (int i = 0; i < WH_MAX_ATTEMPTS; i++) {
        wh_claimed *c = NULL;
        size_t n = 0;
        assert_int_equal(wh_store_claim(T.db, "whw_test", gb_now_ms(), 60000, 1, &c, &n), GB_OK);
        assert_int_equal(n, 1);
        wh_outcome o = {.status = 500, .retry_after_ms = -1};
        wh_rec rec;
        assert_int_equal(wh_store_record(T.db, &c[0], "whw_test", &o, gb_now_ms(), &rec), GB_OK);
        assert_int_equal(rec, i + 1 < WH_MAX_ATTEMPTS ? WH_REC_RETRY : WH_REC_FAILED);
        wh_claimed_free(c, n);
        gb_clock_advance(29LL * 3600000); /* > 24 h + 20% */
    }
    msg_row r = row_of(NULL);
    assert_string_equal(r.status, "failed");
    assert_int_equal(r.attempts, WH_MAX_ATTEMPTS);

    assert_int_equal(wh_redeliver(T.db, ACCT, r.id), GB_OK);
    r = row_of(NULL);
    assert_string_equal(r.status, "pending");
    assert_int_equal(r.attempts, 0);
    assert_int_equal(wh_worker_pass(T.w), 1); /* answered 500 */
    assert_int_equal(T.ss.served, 1);
    r = row_of(NULL);
    assert_string_equal(r.status, "pending"); /* retried, not failed at once */
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.last_status, 500);

    gb_clock_advance(6001);
    assert_int_equal(wh_worker_pass(T.w), 1); /* answered 200 */
    assert_int_equal(T.ss.served, 2);
    r = row_of(NULL);
    assert_string_equal(r.status, "delivered");
    assert_int_equal(r.attempts, 2);
    ss_stop(&T.ss);
}

/* Disabling an endpoint fails the messages still waiting for it; enabling it again later
 * sends none of them (only what is queued after). Another endpoint's message is untouched. */
static void test_disable_fails_pending(void **state)
{
    (void)state;
    static const int st[] = {200, 200, 200};
    receiver(st, 3);
    wh_endpoint off, on;
    add_endpoint("/off", &off);
    add_endpoint("/on", &on);
    assert_int_equal(enqueue(), 2);
    wh_endpoint g;
    assert_int_equal(wh_endpoint_update(T.db, ACCT, off.id, NULL, NULL, 0, &g), GB_OK);
    assert_false(g.enabled);
    msg_row r = row_of(off.id);
    assert_string_equal(r.status, "failed");
    assert_string_equal(r.last_error, "endpoint disabled");
    assert_int_equal(r.attempts, 0);
    assert_string_equal(row_of(on.id).status, "pending");

    assert_int_equal(wh_endpoint_update(T.db, ACCT, off.id, NULL, NULL, 1, &g), GB_OK);
    assert_true(g.enabled);
    assert_int_equal(wh_worker_pass(T.w), 1); /* the other endpoint's message only */
    assert_int_equal(T.ss.served, 1);
    assert_true(strncmp(T.ss.got[0], "POST /on ", 9) == 0);
    assert_string_equal(row_of(on.id).status, "delivered");
    assert_string_equal(row_of(off.id).status, "failed");
    gb_clock_advance(86400000);
    assert_int_equal(wh_worker_pass(T.w), 0);
    assert_int_equal(T.ss.served, 1);
    ss_stop(&T.ss);
}

/* The SSRF guard checks the address connected to; a proxy from the environment would be that
 * address instead, and the message would reach a private host through it. With http_proxy set
 * to the loopback receiver (an allowed address), an endpoint on a private address is refused
 * and the receiver gets nothing. */
static void test_env_proxy_not_used(void **state)
{
    (void)state;
    static const int st[] = {200};
    receiver(st, 1);
    char proxy[64];
    gb_snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", T.ss.port);
    setenv("http_proxy", proxy, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    assert_int_equal(wh_endpoint_insert(T.db, ACCT, "http://10.255.255.1/hook", "*", NULL), GB_OK);
    assert_int_equal(enqueue(), 1);
    int n = wh_worker_pass(T.w);
    unsetenv("http_proxy");
    assert_int_equal(n, 1);
    assert_int_equal(T.ss.served, 0);
    msg_row r = row_of(NULL);
    assert_string_equal(r.status, "pending");
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.last_error, "10.255.255.1 is not allowed"));
    ss_stop(&T.ss);
}

/* A message of an account with no signing secret is not sent unsigned: the receiver gets
 * nothing, and the attempt is recorded with the reason. */
static void test_no_secret_not_sent(void **state)
{
    (void)state;
    static const int st[] = {200};
    receiver(st, 1);
    add_endpoint("/hook", NULL);
    assert_int_equal(enqueue(), 1);
    T.no_secret = true;
    assert_int_equal(wh_worker_pass(T.w), 1);
    ss_stop(&T.ss);
    assert_int_equal(T.ss.served, 0);
    msg_row r = row_of(NULL);
    assert_string_equal(r.status, "pending");
    assert_int_equal(r.attempts, 1);
    assert_string_equal(r.last_error, "no valid signing secret for the account");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_redirect_is_not_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeliver_gets_fresh_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable_fails_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_proxy_not_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_secret_not_sent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
