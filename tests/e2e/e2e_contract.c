/* e2e_contract.c: end to end against the real daemon: GET /api/volt/openapi.json answers the
 * repository's docs/openapi.json byte for byte without a key, and one short flow calls every
 * resource family (success and error answers) so that, run with GB_E2E_RECORD set
 * (tests/contract/run.sh), its answers can be validated against the document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/str.h"
#include "support_daemon.h"

#define SSH_KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAYT6sc9h882d3yXAYoN7L0sTkZdhPU2bSLreblym+cN"

static e2e_daemon D;

static int setup(void **state)
{
    (void)state;
    static const char *env[] = {"GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000", NULL};
    e2e_start_sandbox(&D, NULL, env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

/* One request that must answer want; r is left for the caller to read and free. */
static void call(const char *method, const char *path, const char *key, const char *body, long want,
                 e2e_resp *r)
{
    e2e_req(&D, method, path, key, body, r);
    if (r->status != want)
        fail_msg("%s %s: %ld (want %ld): %.300s", method, path, r->status, want,
                 r->body ? r->body : "");
}

/* The same, dropping the answer; the string field f (when set) copied into out. */
static void call_id(const char *method, const char *path, const char *key, const char *body,
                    long want, const char *f, char *out, size_t n)
{
    e2e_resp r;
    call(method, path, key, body, want, &r);
    if (f) {
        const char *v = e2e_str(&r, f);
        if (!v) fail_msg("%s %s: no %s in %.300s", method, path, f, r.body);
        gb_strlcpy(out, v, n);
    }
    e2e_resp_free(&r);
}

static char *slurp(const char *rel, size_t *len)
{
    const char *src = getenv("GB_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    gb_buf b = {0};
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
        gb_buf_append(&b, chunk, k);
    fclose(f);
    *len = b.len;
    return gb_buf_take(&b);
}

static void test_document_served(void **state)
{
    (void)state;
    size_t len = 0;
    char *want = slurp("docs/openapi.json", &len);
    assert_non_null(want);
    assert_true(len > 1000);
    e2e_resp r;
    call("GET", "/api/volt/openapi.json", NULL, NULL, 200, &r); /* no key needed */
    assert_string_equal(e2e_header(&r, "Content-Type"), "application/json");
    assert_non_null(r.body);
    assert_int_equal(strlen(r.body), len);
    assert_memory_equal(r.body, want, len);
    assert_non_null(r.json);
    e2e_resp_free(&r);
    /* only GET: another method is 405 (to a key holder; strangers learn nothing: 401) */
    call("POST", "/api/volt/openapi.json", D.key, "{}", 405, &r);
    e2e_resp_free(&r);
    call("POST", "/api/volt/openapi.json", NULL, "{}", 401, &r);
    e2e_resp_free(&r);
    free(want);
}

static void test_flow(void **state)
{
    (void)state;
    const char *k = D.key, *a = D.admin_key;
    char id[128], path[256], body[512], acct[128];
    e2e_resp r;
    /* ops and the account */
    call_id("GET", "/healthz", NULL, NULL, 200, NULL, NULL, 0);
    call_id("GET", "/api/volt/account", k, NULL, 200, "id", acct, sizeof(acct));
    call_id("PUT", "/api/volt/account", k, "{\"monthly_budget\":900}", 200, NULL, NULL, 0);
    call_id("GET", "/api/volt/account/ledger?limit=5", k, NULL, 200, NULL, NULL, 0);
    call_id("GET", "/api/volt/account/usage?group_by=provider", k, NULL, 200, NULL, NULL, 0);
    call_id("GET", "/api/volt/account/ledger?bogus=1", k, NULL, 400, NULL, NULL, 0);
    call_id("GET", "/api/volt/account", NULL, NULL, 401, NULL, NULL, 0);
    /* inventory */
    call_id("GET", "/api/volt/machines", k, NULL, 200, NULL, NULL, 0);
    call_id("GET", "/api/volt/offers?limit=3", k, NULL, 200, NULL, NULL, 0);
    /* API keys */
    call_id("GET", "/api/volt/api-keys", k, NULL, 200, NULL, NULL, 0);
    call_id("POST", "/api/volt/api-keys", k, "{\"name\":\"contract\",\"scopes\":[\"pods\"]}", 201,
            "id", id, sizeof(id));
    snprintf(body, sizeof(body), "{\"key_id\":\"%.64s\"}", id);
    call_id("DELETE", "/api/volt/api-keys", k, body, 200, NULL, NULL, 0);
    /* SSH keys */
    call_id("POST", "/api/volt/ssh-keys", k, "{\"name\":\"c\",\"public_key\":\"" SSH_KEY "\"}", 201,
            "id", id, sizeof(id));
    call_id("POST", "/api/volt/ssh-keys", k, "{\"name\":\"c2\",\"public_key\":\"" SSH_KEY "\"}",
            409, NULL, NULL, 0);
    call_id("GET", "/api/volt/ssh-keys", k, NULL, 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/ssh-keys/%.64s", id);
    call_id("GET", path, k, NULL, 200, NULL, NULL, 0);
    call_id("DELETE", path, k, NULL, 200, NULL, NULL, 0);
    call_id("GET", path, k, NULL, 404, NULL, NULL, 0);
    /* docker credentials */
    call_id("POST", "/api/volt/docker-credentials", k,
            "{\"name\":\"c\",\"registry\":\"ghcr.io\",\"username\":\"u\",\"password\":\"p\"}", 201,
            "id", id, sizeof(id));
    call_id("GET", "/api/volt/docker-credentials", k, NULL, 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/docker-credentials/%.64s", id);
    call_id("GET", path, k, NULL, 200, NULL, NULL, 0);
    call_id("DELETE", path, k, NULL, 200, NULL, NULL, 0);
    /* templates */
    call_id("GET", "/api/volt/templates", k, NULL, 200, NULL, NULL, 0);
    call_id("POST", "/api/volt/templates", k,
            "{\"name\":\"t\",\"image\":\"nginx:1\",\"ports\":[80],\"env_vars\":{\"A\":\"b\"}}", 201,
            "id", id, sizeof(id));
    snprintf(path, sizeof(path), "/api/volt/templates/%.64s", id);
    call_id("GET", path, k, NULL, 200, NULL, NULL, 0);
    call_id("PUT", path, k, "{\"name\":\"t2\"}", 200, NULL, NULL, 0);
    call_id("PUT", path, k, "{\"nmae\":\"t2\"}", 400, NULL, NULL, 0);
    call_id("DELETE", path, k, NULL, 200, NULL, NULL, 0);
    /* a pod through its life */
    char machine[128];
    int gpus = 0;
    e2e_machine_of(&D, "volt", machine, sizeof(machine), &gpus);
    snprintf(body, sizeof(body),
             "{\"machine_id\":\"%.100s\",\"name\":\"contract\",\"image\":\"nginx:1\","
             "\"gpu_count\":1,\"dry_run\":true}",
             machine);
    call_id("POST", "/api/volt/pods", k, body, 200, NULL, NULL, 0);
    snprintf(body, sizeof(body),
             "{\"machine_id\":\"%.100s\",\"name\":\"contract\",\"image\":\"nginx:1\","
             "\"gpu_count\":1}",
             machine);
    call_id("POST", "/api/volt/pods", k, body, 201, "id", id, sizeof(id));
    char pid[128];
    e2e_wait_placed(&D, k, id, pid, sizeof(pid), 20000);
    e2e_wait_pod(&D, k, id, "running", 20000);
    call_id("GET", "/api/volt/pods?limit=10", k, NULL, 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s", id);
    call_id("GET", path, k, NULL, 200, NULL, NULL, 0);
    call_id("PUT", path, k, "{\"name\":\"contract2\"}", 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s/events", id);
    call_id("GET", path, k, NULL, 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s/logs?tail=5", id);
    e2e_req(&D, "GET", path, k, NULL, &r); /* 200, or 409 where the platform serves none */
    assert_true(r.status == 200 || r.status == 409);
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s/stop", id);
    call_id("POST", path, k, NULL, 200, NULL, NULL, 0);
    e2e_wait_pod(&D, k, id, "stopped", 20000);
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s/start", id);
    call_id("POST", path, k, NULL, 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s", id);
    call_id("DELETE", path, k, NULL, 200, NULL, NULL, 0);
    call_id("GET", "/api/volt/pods/pod_nosuchpod", k, NULL, 404, NULL, NULL, 0);
    call_id("PATCH", "/api/volt/pods", k, "{}", 405, NULL, NULL, 0);
    /* fine-tuning */
    call_id("GET", "/api/volt/fine-tuning?limit=5", k, NULL, 200, NULL, NULL, 0);
    call_id("POST", "/api/volt/fine-tuning", k,
            "{\"name\":\"c\",\"taskType\":\"text\",\"model\":\"meta-llama/Llama-3.1-8B-Instruct\","
            "\"dsRepo\":\"myorg/support-qa\",\"hours\":1}",
            201, "job.id", id, sizeof(id));
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%.64s", id);
    call_id("GET", path, k, NULL, 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%.64s/logs", id);
    e2e_req(&D, "GET", path, k, NULL, &r); /* 409 NO_TRAINER_POD until its pod runs */
    assert_true(r.status == 200 || r.status == 409);
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%.64s/report", id);
    call_id("POST", path, NULL, "{\"status\":\"training\"}", 401, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/fine-tuning/%.64s", id);
    call_id("DELETE", path, k, NULL, 200, NULL, NULL, 0);
    /* webhooks */
    call_id("POST", "/api/volt/webhooks", k,
            "{\"url\":\"https://hooks.example.com/x\",\"events\":\"pod.*\"}", 201, "id", id,
            sizeof(id));
    call_id("GET", "/api/volt/webhooks", k, NULL, 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/webhooks/%.64s/test", id);
    call_id("POST", path, k, NULL, 202, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/webhooks/%.64s", id);
    call_id("PATCH", path, k, "{\"enabled\":false}", 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/webhooks/%.64s/test", id);
    call_id("POST", path, k, NULL, 409, NULL, NULL, 0); /* a disabled endpoint */
    call_id("GET", "/api/volt/webhooks/secret", k, NULL, 200, NULL, NULL, 0);
    call_id("POST", "/api/volt/webhooks/secret/rotate", k, NULL, 200, NULL, NULL, 0);
    call_id("GET", "/api/volt/webhooks/ed25519", k, NULL, 404, NULL, NULL, 0);
    call_id("POST", "/api/volt/webhooks/ed25519", k, NULL, 201, NULL, NULL, 0);
    call_id("GET", "/api/volt/webhooks/ed25519", k, NULL, 200, NULL, NULL, 0);
    call_id("DELETE", "/api/volt/webhooks/ed25519", k, NULL, 200, NULL, NULL, 0);
    call("GET", "/api/volt/webhooks/deliveries?limit=5", k, NULL, 200, &r);
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "deliveries"), 0);
    assert_non_null(first); /* the webhook.test message */
    snprintf(path, sizeof(path), "/api/volt/webhooks/deliveries/%.64s/redeliver",
             cJSON_GetStringValue(cJSON_GetObjectItem(first, "id")));
    e2e_resp_free(&r);
    call_id("POST", path, k, NULL, 202, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/webhooks/%.64s", id);
    call_id("DELETE", path, k, NULL, 200, NULL, NULL, 0);
    /* the event stream, as a listing */
    e2e_req(&D, "GET", "/api/volt/events?after=0&follow=false", k, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(e2e_header(&r, "Content-Type"), "text/event-stream"));
    e2e_resp_free(&r);
    /* administration */
    call_id("GET", "/api/volt/admin/accounts", k, NULL, 403, NULL, NULL, 0);
    call_id("GET", "/api/volt/admin/providers", a, NULL, 200, NULL, NULL, 0);
    call_id("GET", "/api/volt/admin/orphans", a, NULL, 200, NULL, NULL, 0);
    call_id("GET", "/api/volt/admin/hub-token", a, NULL, 200, NULL, NULL, 0);
    call_id("PUT", "/api/volt/admin/hub-token", a, "{\"token\":\"hf_contracttoken\"}", 200, NULL,
            NULL, 0);
    call_id("DELETE", "/api/volt/admin/hub-token", a, NULL, 200, NULL, NULL, 0);
    call_id("GET", "/api/volt/admin/accounts", a, NULL, 200, NULL, NULL, 0);
    call_id("POST", "/api/volt/admin/accounts", a, "{\"name\":\"contract-acct\",\"credit\":5}", 201,
            "account.id", id, sizeof(id));
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/%.64s", id);
    call_id("GET", path, a, NULL, 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/%.64s/credit", id);
    call_id("POST", path, a, "{\"amount\":1.5}", 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/%.64s/limits", id);
    call_id("PUT", path, a, "{\"monthly_budget\":50}", 200, NULL, NULL, 0);
    snprintf(path, sizeof(path), "/api/volt/admin/ledger?account_id=%.64s", acct);
    call_id("GET", path, a, NULL, 200, NULL, NULL, 0);
    call_id("GET", "/api/volt/admin/usage?group_by=account", a, NULL, 200, NULL, NULL, 0);
    call_id("GET", "/metrics", NULL, NULL, 200, NULL, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_served),
        cmocka_unit_test(test_flow),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
