/* test_providers_targon_sim.c: the Targon simulator's v2 API over raw HTTP (docs.targon.com/api;
 * the v3 paths are covered by test_providers_targon_wire.c): auth, register validation, list paging
 * and filters, deploy/capacity, state, events, logs, verify, volume and SSH key attachments,
 * inventory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "providers/targon.h"
#include "tests/unit/test_targon_util.h"

#define WL "/tha/v2/workloads"
#define RENTAL(name, res)                                                                          \
    "{\"name\":\"" name "\",\"image\":\"pytorch/pytorch:latest\",\"resource_name\":\"" res         \
    "\",\"type\":\"RENTAL\",\"ports\":[{\"port\":8080,\"protocol\":\"TCP\","                       \
    "\"routing\":\"PROXIED\"}]}"

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Targon's error body is {error: message, reason: CODE} (targon-sdk libs/go/http.go). */
static const char *reason(const cJSON *o)
{
    return str(o, "error");
}

/* Uploads a key (POST /tha/v2/ssh-keys) and returns its uid in uid. */
static void add_key(fixture *f, const char *name, char uid[32])
{
    char body[256];
    cJSON *j = NULL;
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"ssh_key\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%s me@h\"}", name,
             name);
    assert_int_equal(raw_http(f, "POST", "/tha/v2/ssh-keys", body, SECRET, &j), 201);
    gb_strlcpy(uid, str(j, "uid"), 32);
    cJSON_Delete(j);
}

/* Registers body; returns the uid (static buffer per call site is the caller's). */
static void reg(fixture *f, const char *body, char uid[32])
{
    cJSON *j = NULL;
    assert_int_equal(raw_http(f, "POST", WL, body, SECRET, &j), 201);
    gb_strlcpy(uid, str(j, "uid"), 32);
    cJSON_Delete(j);
}

static long call(fixture *f, const char *m, const char *fmt, const char *uid, const char *body,
                 cJSON **out)
{
    char path[256];
    snprintf(path, sizeof(path), fmt, uid);
    return raw_http(f, m, path, body, SECRET, out);
}

static void test_auth(void **state)
{
    fixture *f = *state;
    cJSON *j = NULL;
    assert_int_equal(raw_http(f, "GET", WL, NULL, NULL, &j), 401);
    assert_string_equal(str(j, "reason"), "UNAUTHORIZED");
    assert_true(reason(j)[0] != '\0');
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", WL, NULL, "nope", &j), 401);
    assert_string_equal(reason(j), "invalid API key");
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", WL, NULL, SECRET, &j), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 0);
    cJSON_Delete(j);
}

static void test_register_validation(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *body;
        const char *why;
    } bad[] = {
        {"{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\",\"type\":\"RENTAL\","
         "\"serverless_config\":{\"max_replicas\":1}}",
         "serverless_config"},
        {"{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\",\"type\":\"SERVERLESS\","
         "\"serverless_config\":{},\"volumes\":[{\"uid\":\"vol-a\",\"mount_path\":\"/d\"}]}",
         "volumes"},
        {"{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\",\"type\":"
         "\"SERVERLESS\"}",
         "serverless_config"},
        {"{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\",\"type\":\"SERVERLESS\","
         "\"serverless_config\":{},\"ssh_keys\":[\"shk-a\"]}",
         "ssh_keys"},
        {"{\"name\":\"My_Job\",\"image\":\"i\",\"resource_name\":\"h200-small\",\"type\":"
         "\"RENTAL\"}",
         "name"},
        {"{\"name\":\"a\",\"resource_name\":\"h200-small\",\"type\":\"RENTAL\"}", "image"},
        {"{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h100-small\",\"type\":\"RENTAL\"}",
         "resource_name"},
        {"{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\",\"type\":\"VM\"}",
         "type"},
        {"{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\",\"type\":\"RENTAL\","
         "\"ports\":[{\"port\":80}]}",
         "port"},
        {"{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\",\"type\":\"RENTAL\","
         "\"ports\":[{\"port\":8080,\"routing\":\"NAT\"}]}",
         "routing"},
        {"{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\",\"type\":\"RENTAL\","
         "\"ssh_keys\":[\"ssh-ed25519 AAAA\"]}",
         "ssh_keys"},
        {"{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\",\"type\":\"RENTAL\","
         "\"gpus\":2}",
         "gpus"},
        {"{\"name\":\"a\",", "JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *j = NULL;
        long st = raw_http(f, "POST", WL, bad[i].body, SECRET, &j);
        if (st != 400 || strcmp(str(j, "reason"), "BAD_REQUEST") != 0 ||
            !strstr(reason(j), bad[i].why))
            fail_msg("case %zu: HTTP %ld, reason '%s', want 400 naming %s", i, st, reason(j),
                     bad[i].why);
        cJSON_Delete(j);
    }
    cJSON *st = pf_state(f);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "workloads")), 0);
    cJSON_Delete(st);

    cJSON *j = NULL;
    char key[32], body[512];
    /* a key uid the organization does not have is refused */
    assert_int_equal(raw_http(f, "POST", WL,
                              "{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\","
                              "\"type\":\"RENTAL\",\"ssh_keys\":[\"shk-def456\"]}",
                              SECRET, NULL),
                     400);
    add_key(f, "laptop", key);
    snprintf(body, sizeof(body),
             "{\"name\":\"my-training-job\",\"image\":\"pytorch/pytorch:latest\","
             "\"resource_name\":\"h200-small\",\"type\":\"RENTAL\",\"project_id\":\"prj-1\","
             "\"envs\":[{\"name\":\"A\",\"value\":\"1\"}],\"volumes\":[{\"uid\":"
             "\"vol-xyz789\",\"mount_path\":\"/data\"}],\"ssh_keys\":[\"%s\"]}",
             key);
    assert_int_equal(raw_http(f, "POST", WL, body, SECRET, &j), 201);
    const char *uid = str(j, "uid");
    assert_true(strncmp(uid, "wrk-", 4) == 0 && strlen(uid) == 16);
    for (const char *c = uid + 4; *c; c++)
        assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'));
    assert_string_equal(str(cJSON_GetObjectItem(j, "state"), "status"), "registered");
    assert_true(cJSON_GetObjectItem(j, "cost_per_hour")->valuedouble == 2.49);
    cJSON *res = cJSON_GetObjectItem(j, "resource");
    assert_string_equal(str(res, "gpu_type"), "H200");
    assert_int_equal(cJSON_GetObjectItem(res, "gpu_count")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(res, "memory")->valueint, 115000);
    assert_string_equal(str(j, "revision"), "1");
    assert_true(str(j, "created_at")[0] != '\0');
    assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "ssh_keys"), 0), "uid"), key);
    assert_true(gb_str_starts_with(
        str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "ssh_keys"), 0), "public_key_raw"),
        "ssh-ed25519 "));
    assert_true(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "volumes"), 0), "name")[0]);
    assert_null(cJSON_GetObjectItem(j, "registry_auth")); /* never echoed */
    cJSON_Delete(j);
}

static void test_list_deploy_state(void **state)
{
    fixture *f = *state;
    char a[32], b[32], c[32];
    cJSON *j = NULL;
    reg(f, RENTAL("job-a", "h200-xl"), a);
    reg(f, RENTAL("job-b", "h200-xl"), b);
    reg(f,
        "{\"name\":\"api\",\"image\":\"srv\",\"resource_name\":\"h200-small\","
        "\"type\":\"SERVERLESS\",\"serverless_config\":{\"min_replicas\":0}}",
        c);
    assert_int_equal(raw_http(f, "GET", WL "?limit=2", NULL, SECRET, &j), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 2);
    assert_string_equal(str(j, "next_cursor"), "2");
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", WL "?limit=2&cursor=2", NULL, SECRET, &j), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 1);
    assert_string_equal(str(j, "next_cursor"), "");
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", WL "?type=SERVERLESS", NULL, SECRET, &j), 200);
    assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "items"), 0), "uid"), c);
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", WL "?name=job-b", NULL, SECRET, &j), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 1);
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", WL "?limit=0", NULL, SECRET, NULL), 400);
    assert_int_equal(raw_http(f, "GET", WL "?cursor=abc", NULL, SECRET, NULL), 400);

    assert_int_equal(call(f, "GET", WL "/%s/state", a, NULL, &j), 200);
    assert_string_equal(str(j, "status"), "registered");
    assert_string_equal(str(j, "workload_type"), "RENTAL");
    cJSON_Delete(j);
    /* deploy takes h200-xl's only unit; the second answers the capacity error */
    assert_int_equal(call(f, "POST", WL "/%s/deploy", a, NULL, &j), 202);
    assert_string_equal(str(cJSON_GetObjectItem(j, "state"), "status"), "provisioning");
    cJSON_Delete(j);
    assert_int_equal(call(f, "POST", WL "/%s/deploy", a, NULL, NULL), 409);
    assert_int_equal(call(f, "POST", WL "/%s/deploy", b, NULL, &j), 409);
    assert_string_equal(str(j, "reason"), "WORKLOAD_NO_CAPACITY");
    assert_non_null(strstr(reason(j), "capacity"));
    cJSON_Delete(j);
    pf_advance(f, 19000);
    assert_int_equal(call(f, "GET", WL "/%s/state", a, NULL, &j), 200);
    assert_string_equal(str(j, "status"), "provisioning");
    cJSON_Delete(j);
    pf_advance(f, 1000);
    assert_int_equal(call(f, "GET", WL "/%s/state", a, NULL, &j), 200);
    assert_string_equal(str(j, "status"), "running");
    assert_int_equal(cJSON_GetObjectItem(j, "ready_replicas")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "urls")), 1);
    assert_true(str(j, "public_ip")[0] != '\0');
    cJSON_Delete(j);

    /* update */
    assert_int_equal(call(f, "PATCH", WL "/%s", a, "{\"image\":\"pytorch/pytorch:2.0\"}", &j), 200);
    assert_string_equal(str(j, "image"), "pytorch/pytorch:2.0");
    assert_string_equal(str(j, "revision"), "2");
    assert_string_equal(str(j, "name"), "job-a");
    cJSON_Delete(j);
    assert_int_equal(call(f, "PATCH", WL "/%s", a, "{\"serverless_config\":{}}", NULL), 400);
    assert_int_equal(call(f, "PATCH", WL "/%s", c, "{\"volumes\":[]}", NULL), 400);
    assert_int_equal(call(f, "PATCH", WL "/%s", a, "{\"name\":\"Bad Name\"}", NULL), 400);
    assert_int_equal(call(f, "PATCH", WL "/%s", "wrk-000000000000", "{}", NULL), 404);

    /* events and logs */
    assert_int_equal(call(f, "GET", WL "/%s/events?limit=2", a, NULL, &j), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 2);
    assert_string_equal(str(j, "next_cursor"), "2");
    assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "items"), 1), "new_status"),
                        "provisioning");
    cJSON_Delete(j);
    pf_advance(f, 180000);
    char path[128];
    snprintf(path, sizeof(path), WL "/%s/logs?tail=2&follow=true", a);
    gb_http_resp rs;
    char url[256];
    gb_errmsg err;
    const char *h[] = {"Authorization: Bearer " SECRET, NULL};
    snprintf(url, sizeof(url), "%s%s", f->base, path);
    gb_http_req rq = {.method = "GET", .url = url, .headers = h};
    assert_int_equal(gb_http_do(&rq, &rs, err), GB_OK);
    assert_int_equal(rs.status, 200);
    int lines = 0;
    for (const char *p = rs.body; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2);
    assert_non_null(strstr(rs.body, "heartbeat"));
    char ct[64];
    assert_int_equal(gb_http_resp_header(&rs, "Content-Type", ct, sizeof(ct)), 0);
    assert_true(gb_str_starts_with(ct, "text/plain"));
    gb_http_resp_free(&rs);
    assert_int_equal(call(f, "GET", WL "/%s/logs?tail=x", a, NULL, NULL), 400);
    assert_int_equal(call(f, "GET", WL "/%s/logs?since=yesterday", a, NULL, NULL), 400);

    /* delete gives the unit back; the workload stays visible as DELETED */
    assert_int_equal(call(f, "DELETE", WL "/%s", a, NULL, NULL), 204);
    assert_int_equal(call(f, "GET", WL "/%s", a, NULL, &j), 200);
    assert_string_equal(str(cJSON_GetObjectItem(j, "state"), "status"), "deleted");
    cJSON_Delete(j);
    assert_int_equal(call(f, "DELETE", WL "/%s", a, NULL, NULL), 404);
    assert_int_equal(call(f, "POST", WL "/%s/deploy", a, NULL, NULL), 404);
    assert_int_equal(raw_http(f, "GET", WL "?name=job-a", NULL, SECRET, &j), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 0);
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", WL "?status=deleted", NULL, SECRET, &j), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 1);
    cJSON_Delete(j);
    assert_int_equal(call(f, "POST", WL "/%s/deploy", b, NULL, NULL), 202);
}

static void test_verify(void **state)
{
    fixture *f = *state;
    char uid[32], body[256];
    cJSON *j = NULL;
    reg(f, RENTAL("v-1", "h200-small"), uid);
    cJSON *st = pf_state(f);
    char digest[80];
    gb_strlcpy(digest,
               str(cJSON_GetArrayItem(cJSON_GetObjectItem(st, "workloads"), 0), "image_digest"),
               sizeof(digest));
    cJSON_Delete(st);
    assert_true(gb_str_starts_with(digest, "sha256:") && strlen(digest) == 71);
    snprintf(body, sizeof(body), "{\"uid\":\"%s\",\"digest\":\"%s\"}", uid, digest);
    assert_int_equal(raw_http(f, "POST", WL "/verify", body, SECRET, &j), 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "verified")));
    cJSON_Delete(j);
    snprintf(body, sizeof(body), "{\"uid\":\"%s\",\"digest\":\"%s\"}", uid, digest + 7);
    assert_int_equal(raw_http(f, "POST", WL "/verify", body, SECRET, &j), 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "verified")));
    cJSON_Delete(j);
    snprintf(body, sizeof(body), "{\"uid\":\"%s\",\"digest\":\"5a1b2c3\"}", uid);
    assert_int_equal(raw_http(f, "POST", WL "/verify", body, SECRET, &j), 200);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "verified")));
    cJSON_Delete(j);
    snprintf(body, sizeof(body), "{\"uid\":\"%s\"}", uid);
    assert_int_equal(raw_http(f, "POST", WL "/verify", body, SECRET, &j), 400);
    assert_non_null(strstr(reason(j), "digest"));
    cJSON_Delete(j);
}

static void test_attachments(void **state)
{
    fixture *f = *state;
    char uid[32], sl[32], key[32], path[128];
    cJSON *j = NULL;
    reg(f, RENTAL("att-1", "h200-small"), uid);
    add_key(f, "desk", key);
    snprintf(path, sizeof(path), WL "/%%s/ssh-keys/%s", key);
    reg(f,
        "{\"name\":\"sl\",\"image\":\"srv\",\"resource_name\":\"h200-small\","
        "\"type\":\"SERVERLESS\",\"serverless_config\":{}}",
        sl);
    assert_int_equal(call(f, "PUT", WL "/%s/ssh-keys/shk-def456ghi789", uid, NULL, NULL), 404);
    assert_int_equal(call(f, "PUT", path, uid, NULL, &j), 200);
    assert_string_equal(str(j, "workload_uid"), uid);
    assert_string_equal(str(j, "ssh_key_uid"), key);
    cJSON_Delete(j);
    assert_int_equal(call(f, "PUT", path, uid, NULL, &j), 409);
    assert_string_equal(str(j, "reason"), "CONFLICT");
    cJSON_Delete(j);
    assert_int_equal(call(f, "PUT", WL "/%s/ssh-keys/bogus", uid, NULL, NULL), 404);
    assert_int_equal(call(f, "PUT", WL "/%s/ssh-keys/shk-abc", "wrk-000000000000", NULL, NULL),
                     404);
    assert_int_equal(call(f, "PUT", WL "/%s/volumes/vol-xyz789", uid,
                          "{\"mount_path\":\"/data\",\"read_only\":true}", &j),
                     200);
    assert_string_equal(str(j, "mount_path"), "/data");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "read_only")));
    cJSON_Delete(j);
    assert_int_equal(call(f, "PUT", WL "/%s/volumes/vol-xyz789", uid, "{}", NULL), 400);
    assert_int_equal(call(f, "PUT", WL "/%s/volumes/vol-abc", sl, "{\"mount_path\":\"/d\"}", &j),
                     400);
    assert_string_equal(reason(j), "volumes are only supported on RENTAL workloads");
    cJSON_Delete(j);
    assert_int_equal(call(f, "PUT", path, sl, NULL, &j), 400);
    assert_string_equal(reason(j), "SSH keys are only supported on RENTAL workloads");
    cJSON_Delete(j);
    assert_int_equal(call(f, "DELETE", WL "/%s/volumes/vol-abc", sl, NULL, NULL), 400);
    assert_int_equal(call(f, "PUT", WL "/%s/volumes/xyz", uid, "{\"mount_path\":\"/d\"}", NULL),
                     404);
    assert_int_equal(call(f, "GET", WL "/%s", uid, NULL, &j), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "ssh_keys")), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "volumes")), 1);
    cJSON_Delete(j);
    assert_int_equal(call(f, "DELETE", path, uid, NULL, NULL), 204);
    assert_int_equal(call(f, "DELETE", path, uid, NULL, NULL), 404);
    assert_int_equal(call(f, "DELETE", WL "/%s/volumes/vol-xyz789", uid, NULL, NULL), 204);
    assert_int_equal(call(f, "DELETE", WL "/%s/volumes/vol-xyz789", uid, NULL, NULL), 404);
    assert_int_equal(call(f, "GET", WL "/%s", uid, NULL, &j), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "ssh_keys")), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "volumes")), 0);
    cJSON_Delete(j);
}

static void test_inventory(void **state)
{
    fixture *f = *state;
    cJSON *j = NULL;
    assert_int_equal(raw_http(f, "GET", "/tha/v2/inventory?type=rental&gpu=true", NULL, SECRET, &j),
                     200);
    assert_true(cJSON_IsArray(j));
    assert_int_equal(cJSON_GetArraySize(j), 8);
    cJSON *h = cJSON_GetArrayItem(j, 0);
    assert_string_equal(str(h, "name"), "h200-small");
    assert_string_equal(str(h, "type"), "rental");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(h, "gpu")));
    assert_string_equal(str(cJSON_GetObjectItem(h, "spec"), "gpu_type"), "H200");
    assert_true(cJSON_GetObjectItem(h, "cost_per_hour")->valuedouble == 2.49);
    assert_int_equal(cJSON_GetObjectItem(h, "available")->valueint, 8);
    /* spec.storage and spec.memory are in MB (docs.targon.com/api/inventory) */
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "spec"), "storage")->valueint,
                     512000);
    cJSON_Delete(j);
    /* v3: serverless is deprecated; vm and storage are types */
    assert_int_equal(raw_http(f, "GET", "/tha/v3/inventory?type=serverless", NULL, SECRET, &j),
                     400);
    assert_non_null(strstr(reason(j), "deprecated"));
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", "/tha/v3/inventory?type=vm", NULL, SECRET, &j), 200);
    assert_int_equal(cJSON_GetArraySize(j), 0);
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", "/tha/v2/inventory?type=vm", NULL, SECRET, NULL), 400);
    assert_int_equal(raw_http(f, "GET", "/tha/v2/inventory?gpu=false", NULL, SECRET, &j), 200);
    assert_int_equal(cJSON_GetArraySize(j), 1);
    assert_string_equal(str(cJSON_GetArrayItem(j, 0), "name"), "cpu-small");
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", "/tha/v2/inventory?gpu=maybe", NULL, SECRET, NULL), 400);
    assert_int_equal(raw_http(f, "GET", "/tha/v2/inventory", NULL, NULL, NULL), 401);
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auth, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_register_validation, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_list_deploy_state, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_verify, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_attachments, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_inventory, fx_setup, pf_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
