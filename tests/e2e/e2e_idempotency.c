/* e2e_idempotency.c: Idempotency-Key end to end in sandbox mode. A pod create retried in turn
 * and eight copies sent at once make one pod and one workload at the provider (its simulator's
 * far side); a fine-tuning job and an admin credit sent eight times at once are one ledger
 * entry each; the replay carries Idempotent-Replayed; another body with the same key is 409
 * IDEMPOTENCY_MISMATCH and changes nothing; a 4xx is replayed; keys are per account; a key
 * that is not 1 to 255 printable ASCII characters is 400. Every covered create records, in
 * its own transaction, what it made in the key's row (read from the daemon's database), and a
 * key left as a crash between that commit and the stored answer leaves it (unanswered, past
 * its lease) is answered 409 IDEMPOTENCY_ANSWER_LOST naming the job or the pod, with no
 * second job or debit and no second workload at the simulator. (The 24 h expiry, an abandoned
 * reservation and a real kill -9 after the commit are in tests/unit/test_broker_idem.c and
 * test_broker_idemrun.c, on the test clock.) */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "support_daemon.h"

static e2e_daemon D;

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    static const char *env[] = {"GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000",
                                "GPUBROKER_RECONCILER_INTERVAL_MS=200", NULL};
    static const char *extra[] = {"--sim-speed", "100", NULL};
    e2e_start_sandbox_args(&D, NULL, env, extra);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

/* One request with an Idempotency-Key (NULL: none) as key. */
static void post_idem(const char *key, const char *path, const char *idem, const char *body,
                      e2e_resp *r)
{
    char auth[160], ik[400];
    snprintf(auth, sizeof(auth), "X-API-Key: %s", key);
    snprintf(ik, sizeof(ik), "Idempotency-Key: %s", idem ? idem : "");
    const char *h[] = {auth, "Content-Type: application/json", idem ? ik : NULL, NULL};
    e2e_req_h(&D, "POST", path, h, body, r);
}

/* How many items of the list at path (under the key of its answer) are named name. */
static int named_in(const char *path, const char *list, const char *name)
{
    e2e_resp r;
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r.json, list))
    {
        const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
        n += nm && strcmp(nm, name) == 0;
    }
    e2e_resp_free(&r);
    return n;
}

static int pods_named(const char *name)
{
    return named_in("/api/volt/pods?limit=1000", "pods", name);
}

static int jobs_named(const char *name)
{
    return named_in("/api/volt/fine-tuning", "jobs", name);
}

/* The account's ledger entries (of kind, or all when NULL). */
static int ledger_entries(const char *key, const char *kind)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/account/ledger?limit=1000%s%s", kind ? "&kind=" : "",
             kind ? kind : "");
    e2e_resp r;
    e2e_req(&D, "GET", path, key, NULL, &r);
    assert_int_equal(r.status, 200);
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "entries"));
    e2e_resp_free(&r);
    return n;
}

static double balance(const char *key)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r);
    assert_int_equal(r.status, 200);
    double b = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r.json, "balance"));
    e2e_resp_free(&r);
    return b;
}

static void test_sequential_retry_one_pod(void **state)
{
    (void)state;
    char machine[200], body[400], pid[128] = "";
    e2e_machine_of(&D, "volt", machine, sizeof(machine), NULL);
    snprintf(body, sizeof(body),
             "{\"name\":\"idem-seq\",\"machine_id\":\"%s\",\"gpu_count\":1,\"image\":\"ubuntu\"}",
             machine);
    int at_volt = e2e_sim_count(&D, "volt", NULL);
    e2e_resp a, b;
    post_idem(D.key, "/api/volt/pods", "seq-1", body, &a);
    assert_int_equal(a.status, 201);
    assert_null(e2e_header(&a, "Idempotent-Replayed"));
    post_idem(D.key, "/api/volt/pods", "seq-1", body, &b);
    assert_int_equal(b.status, 201);
    assert_string_equal(b.body, a.body); /* the first answer, byte for byte */
    assert_string_equal(e2e_header(&b, "Idempotent-Replayed"), "true");
    e2e_wait_placed(&D, D.key, e2e_str(&a, "id"), pid, sizeof(pid), 15000);
    e2e_resp_free(&b);
    /* a retry after the pod was placed is still the same answer */
    post_idem(D.key, "/api/volt/pods", "seq-1", body, &b);
    assert_int_equal(b.status, 201);
    assert_string_equal(b.body, a.body);
    e2e_resp_free(&b);
    assert_int_equal(pods_named("idem-seq"), 1);
    assert_int_equal(e2e_sim_count(&D, "volt", NULL), at_volt + 1);
    assert_int_equal(e2e_sim_count(&D, "volt", pid), 1); /* the recorded one is there */
    /* without a key the same body is a new pod (the header is what makes a retry safe) */
    post_idem(D.key, "/api/volt/pods", NULL, body, &b);
    assert_int_equal(b.status, 201);
    assert_string_not_equal(e2e_str(&b, "id"), e2e_str(&a, "id"));
    pid[0] = '\0';
    e2e_wait_placed(&D, D.key, e2e_str(&b, "id"), pid, sizeof(pid), 15000); /* settled */
    e2e_resp_free(&b);
    assert_int_equal(pods_named("idem-seq"), 2);
    e2e_resp_free(&a);
}

#define RACERS 8

typedef struct {
    const char *path, *body, *idem, *key;
    pthread_barrier_t *go;
    long status;
    char *answer;
    int replayed;
} racer;

static void *race(void *arg)
{
    racer *x = arg;
    char url[300], auth[160], ik[300];
    snprintf(url, sizeof(url), "%s%s", D.url, x->path);
    snprintf(auth, sizeof(auth), "X-API-Key: %s", x->key);
    snprintf(ik, sizeof(ik), "Idempotency-Key: %s", x->idem);
    const char *h[] = {auth, "Content-Type: application/json", ik, NULL};
    gb_http_req req = {.method = "POST",
                       .url = url,
                       .headers = h,
                       .body = x->body,
                       .body_len = strlen(x->body),
                       .timeout_ms = 30000};
    gb_http_resp resp;
    pthread_barrier_wait(x->go);
    if (gb_http_do(&req, &resp, NULL) != GB_OK) return NULL;
    char v[16];
    x->status = resp.status;
    x->replayed = gb_http_resp_header(&resp, "Idempotent-Replayed", v, sizeof(v)) == 0;
    x->answer = resp.body;
    resp.body = NULL;
    gb_http_resp_free(&resp);
    return NULL;
}

/* Sends body to path RACERS times at once with one key; checks that every answer is want and
 * the same, all but one replayed; returns the answer (caller frees). */
static char *race_all(const char *key, const char *path, const char *idem, const char *body,
                      long want)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACERS);
    racer x[RACERS];
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++) {
        x[i] = (racer){.path = path, .body = body, .idem = idem, .key = key, .go = &go};
        assert_int_equal(pthread_create(&t[i], NULL, race, &x[i]), 0);
    }
    int replayed = 0;
    for (int i = 0; i < RACERS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < RACERS; i++) {
        if (x[i].status != want)
            fail_msg("racer %d: HTTP %ld %s", i, x[i].status, x[i].answer ? x[i].answer : "");
        assert_string_equal(x[i].answer, x[0].answer);
        replayed += x[i].replayed;
    }
    assert_int_equal(replayed, RACERS - 1);
    for (int i = 1; i < RACERS; i++)
        free(x[i].answer);
    return x[0].answer;
}

static void test_concurrent_placement_one_pod(void **state)
{
    (void)state;
    static const char body[] =
        "{\"name\":\"idem-race\",\"provider\":\"auto\",\"gpu_type\":\"H200\","
        "\"image\":\"ubuntu\"}";
    int before[3] = {e2e_sim_count(&D, "volt", NULL), e2e_sim_count(&D, "targon", NULL),
                     e2e_sim_count(&D, "lium", NULL)};
    char *answer = race_all(D.key, "/api/volt/pods", "race-pod-1", body, 201);
    cJSON *j = cJSON_Parse(answer);
    free(answer);
    char id[64], pid[128] = "";
    snprintf(id, sizeof(id), "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "id")));
    cJSON_Delete(j);
    e2e_wait_placed(&D, D.key, id, pid, sizeof(pid), 15000);
    assert_int_equal(pods_named("idem-race"), 1);
    int after[3] = {e2e_sim_count(&D, "volt", NULL), e2e_sim_count(&D, "targon", NULL),
                    e2e_sim_count(&D, "lium", NULL)};
    assert_int_equal(after[0] + after[1] + after[2], before[0] + before[1] + before[2] + 1);
}

static void test_concurrent_charges_once(void **state)
{
    (void)state;
    /* a fine-tuning job is debited up front: eight at once with one key are one job, one debit */
    static const char job[] =
        "{\"name\":\"idem-job\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\",\"dsRepo\":"
        "\"myorg/support-qa\",\"hours\":1,\"fieldInstruction\":\"instruction\","
        "\"fieldOutput\":\"output\"}";
    int entries = ledger_entries(D.key, NULL);
    double bal = balance(D.key);
    free(race_all(D.key, "/api/volt/fine-tuning", "race-job-1", job, 201));
    assert_int_equal(ledger_entries(D.key, NULL), entries + 1);
    assert_true(balance(D.key) < bal);
    assert_int_equal(jobs_named("idem-job"), 1);
    e2e_resp r;
    /* an administrator's credit: eight at once, then a retry, are one credit */
    e2e_req(&D, "GET", "/api/volt/account", D.key, NULL, &r);
    char path[160];
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/%s/credit", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    int credits = ledger_entries(D.key, "credit");
    bal = balance(D.key);
    free(race_all(D.admin_key, path, "race-credit-1", "{\"amount\":7.25}", 200));
    post_idem(D.admin_key, path, "race-credit-1", "{\"amount\":7.25}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_header(&r, "Idempotent-Replayed"), "true");
    e2e_resp_free(&r);
    assert_int_equal(ledger_entries(D.key, "credit"), credits + 1);
    double now = balance(D.key);
    assert_true(now - bal > 7.24 && now - bal < 7.26);
}

static void test_mismatch_and_bad_keys(void **state)
{
    (void)state;
    e2e_resp r;
    static const char dry[] = "{\"provider\":\"auto\",\"gpu_type\":\"H100\",\"image\":\"ubuntu\","
                              "\"dry_run\":true}";
    post_idem(D.key, "/api/volt/pods", "mm-1", dry, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    /* another body, another path: refused, nothing runs */
    int pods = pods_named("idem-mm");
    post_idem(D.key, "/api/volt/pods", "mm-1",
              "{\"name\":\"idem-mm\",\"provider\":\"auto\",\"gpu_type\":\"H100\",\"image\":"
              "\"ubuntu\"}",
              &r);
    e2e_expect_error(&r, 409, "IDEMPOTENCY_MISMATCH");
    e2e_resp_free(&r);
    assert_int_equal(pods_named("idem-mm"), pods);
    post_idem(D.key, "/api/volt/templates", "mm-1", "{\"name\":\"t\",\"image\":\"ubuntu\"}", &r);
    e2e_expect_error(&r, 409, "IDEMPOTENCY_MISMATCH");
    e2e_resp_free(&r);
    /* a 4xx is kept and replayed too */
    post_idem(D.key, "/api/volt/pods", "bad-1", "{\"name\":\"x\",\"bogus\":1}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_null(e2e_header(&r, "Idempotent-Replayed"));
    e2e_resp_free(&r);
    post_idem(D.key, "/api/volt/pods", "bad-1", "{\"name\":\"x\",\"bogus\":1}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_string_equal(e2e_header(&r, "Idempotent-Replayed"), "true");
    e2e_resp_free(&r);
    /* keys are per account: another account's mm-1 is its own */
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key,
            "{\"name\":\"idem-other\",\"credit\":50}", &r);
    assert_int_equal(r.status, 201);
    char other[96];
    snprintf(other, sizeof(other), "%s", e2e_str(&r, "api_key.key"));
    e2e_resp_free(&r);
    post_idem(other, "/api/volt/templates", "mm-1", "{\"name\":\"t\",\"image\":\"ubuntu\"}", &r);
    assert_int_equal(r.status, 201);
    e2e_resp_free(&r);
    /* 255 printable characters are a key; 256, or a byte outside printable ASCII, are not */
    char k[300];
    memset(k, 'k', 255);
    k[255] = '\0';
    post_idem(D.key, "/api/volt/pods", k, dry, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    memset(k, 'k', 256);
    k[256] = '\0';
    post_idem(D.key, "/api/volt/pods", k, dry, &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "Idempotency-Key"));
    e2e_resp_free(&r);
    post_idem(D.key, "/api/volt/pods", "caf\xc3\xa9", dry, &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    e2e_resp_free(&r);
}

/* What the key's row says its first request made ("" none). */
static void made_of(gb_db *db, const char *idem, char *out, size_t n)
{
    gb_q *q = gb_q_prep(db, "SELECT made FROM idempotency_keys WHERE key = ?1");
    assert_non_null(q);
    gb_q_text(q, 1, idem);
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_true(row);
    const char *v = gb_q_col_text(q, 0);
    snprintf(out, n, "%s", v ? v : "");
    gb_q_reset(q);
}

static void test_creates_record_what_they_made(void **state)
{
    (void)state;
    char machine[200], pod[400], path[160], made[128];
    e2e_machine_of(&D, "volt", machine, sizeof(machine), NULL);
    snprintf(pod, sizeof(pod),
             "{\"name\":\"idem-made\",\"machine_id\":\"%s\",\"gpu_count\":1,\"image\":"
             "\"ubuntu\"}",
             machine);
    static const char job[] =
        "{\"name\":\"idem-made-job\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\","
        "\"dsRepo\":\"myorg/support-qa\",\"hours\":1,\"fieldInstruction\":\"instruction\","
        "\"fieldOutput\":\"output\"}";
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", D.key, NULL, &r);
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/%s/credit", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    const struct {
        const char *key, *path, *idem, *body;
        long status;
    } creates[] = {
        {D.key, "/api/volt/pods", "made-pod", pod, 201},
        {D.key, "/api/volt/fine-tuning", "made-job", job, 201},
        {D.key, "/api/volt/ssh-keys", "made-ssh",
         "{\"name\":\"m\",\"public_key\":\"ssh-ed25519 "
         "AAAAC3NzaC1lZDI1NTE5AAAAILPaA7f0kDJdLEwZz3j8EAlDnKQNAmYhJBLHDffoDRxn\"}",
         201},
        {D.key, "/api/volt/docker-credentials", "made-cred",
         "{\"name\":\"m\",\"registry\":\"ghcr.io\",\"username\":\"u\",\"password\":\"p\"}", 201},
        {D.key, "/api/volt/templates", "made-tpl", "{\"name\":\"m\",\"image\":\"ubuntu\"}", 201},
        {D.admin_key, path, "made-credit", "{\"amount\":1.5}", 200},
    };
    char job_id[128] = "", pod_id[128] = "", pid[128] = "";
    gb_db *db = e2e_db_open(&D);
    for (size_t i = 0; i < sizeof(creates) / sizeof(creates[0]); i++) {
        post_idem(creates[i].key, creates[i].path, creates[i].idem, creates[i].body, &r);
        if (r.status != creates[i].status)
            fail_msg("%s: %ld %s", creates[i].path, r.status, r.body);
        made_of(db, creates[i].idem, made, sizeof(made));
        const char *id = e2e_str(&r, "id") ? e2e_str(&r, "id") : e2e_str(&r, "job.id");
        if (!id) fail_msg("%s answered no id: %s", creates[i].path, r.body);
        if (creates[i].status == 200) /* the credit answers the account, not a new object */
            assert_string_equal(made, "a credit");
        else
            assert_string_equal(made, id);
        if (strcmp(creates[i].idem, "made-job") == 0) snprintf(job_id, sizeof(job_id), "%s", id);
        if (strcmp(creates[i].idem, "made-pod") == 0) snprintf(pod_id, sizeof(pod_id), "%s", id);
        e2e_resp_free(&r);
    }
    /* the pod is placed: its one workload at the simulator */
    e2e_wait_placed(&D, D.key, pod_id, pid, sizeof(pid), 15000);
    int at_volt = e2e_sim_count(&D, "volt", NULL);
    int posts = e2e_sim_requests(&D, "volt", "POST");
    /* the state a kill -9 between a create's commit and its stored answer leaves: the
     * reservation unanswered, and (60 s later) past its lease */
    assert_int_equal(gb_db_exec(db, "UPDATE idempotency_keys SET status = 0, body = NULL,"
                                    " created_at = created_at - 61000"
                                    " WHERE key IN ('made-job', 'made-pod')"),
                     GB_OK);
    gb_db_close(db);
    post_idem(D.key, "/api/volt/pods", "made-pod", pod, &r);
    e2e_expect_error(&r, 409, "IDEMPOTENCY_ANSWER_LOST");
    assert_non_null(strstr(e2e_str(&r, "message"), pod_id));
    e2e_resp_free(&r);
    /* the far side: no second workload reaches the simulator (a second pod's create would
     * run there within a second at this simulator speed) */
    usleep(1500000);
    assert_int_equal(e2e_sim_count(&D, "volt", NULL), at_volt);
    /* nor any create request at all (one refused there would leave no workload) */
    assert_int_equal(e2e_sim_requests(&D, "volt", "POST"), posts);
    assert_int_equal(e2e_sim_count(&D, "volt", pid), 1);
    assert_int_equal(pods_named("idem-made"), 1);
    int entries = ledger_entries(D.key, NULL);
    double bal = balance(D.key);
    for (int i = 0; i < 2; i++) {
        post_idem(D.key, "/api/volt/fine-tuning", "made-job", job, &r);
        e2e_expect_error(&r, 409, "IDEMPOTENCY_ANSWER_LOST");
        assert_non_null(strstr(e2e_str(&r, "message"), job_id));
        e2e_resp_free(&r);
    }
    assert_int_equal(jobs_named("idem-made-job"), 1);
    assert_int_equal(ledger_entries(D.key, NULL), entries);
    assert_true(balance(D.key) == bal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequential_retry_one_pod),
        cmocka_unit_test(test_concurrent_placement_one_pod),
        cmocka_unit_test(test_concurrent_charges_once),
        cmocka_unit_test(test_mismatch_and_bad_keys),
        cmocka_unit_test(test_creates_record_what_they_made),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
