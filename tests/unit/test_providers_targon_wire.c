/* test_providers_targon_wire.c: the Targon adapter against fixtures written from Targon's public
 * sources (tests/fixtures/wire/targon, see its SOURCES.md): its parsers read every response
 * fixture, the bodies its builders send fit the request fixtures, and the simulator refuses the
 * old (v2) create body on v3 with Targon's own error body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "providers/targon.h"
#include "tests/unit/test_wire_util.h" /* before test_targon_util.h: its typedef "fixture" */
#include "tests/unit/test_script_server.h"
#include "tests/unit/test_targon_util.h"

static cJSON *fx(const char *file)
{
    return wire_json_must("targon", file);
}

static void fits(const cJSON *body, const char *file)
{
    wire_expect_fits(body, "targon", file);
}

/* ---- responses ---- */

static void test_parse_workloads(void **state)
{
    (void)state;
    prov_pod p;
    cJSON *j = fx("workload.response.json");
    prov_targon_parse_pod(j, &p);
    assert_string_equal(p.provider_id, "wrk-abc123def456");
    assert_string_equal(p.name, "train-1");
    assert_int_equal(p.status, POD_RUNNING);
    assert_string_equal(p.ip, "203.0.113.7");
    assert_int_equal(p.ssh_port, 32022);
    assert_string_equal(p.ssh_command, "ssh -p 32022 root@203.0.113.7");
    assert_string_equal(p.url, "https://wrk-abc123def456.caas.targon.com");
    assert_string_equal(p.gpu_type, "H200");
    assert_int_equal(p.gpu_count, 1);
    assert_int_equal(p.price_per_hour, 2490000);
    assert_true(p.created_at > 0);
    cJSON_Delete(j);

    j = fx("workload_list.response.json");
    prov_targon_parse_pod(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "items"), 0), &p);
    assert_string_equal(p.provider_id, "wrk-abc123def456");
    assert_int_equal(p.status, POD_DEPLOYING); /* provisioning */
    assert_string_equal(p.ip, "");             /* public_ip null */
    assert_string_equal(cJSON_GetObjectItem(j, "next_cursor")->valuestring, "eyJvZmZzZXQiOjF9");
    cJSON_Delete(j);

    j = fx("workload_operation.response.json");
    prov_targon_parse_pod(j, &p);
    assert_int_equal(p.status, POD_STOPPED); /* suspended */
    assert_string_equal(p.raw_status, "suspended");
    cJSON_Delete(j);

    j = fx("workload_state.response.json");
    prov_targon_parse_pod(j, &p);
    assert_string_equal(p.provider_id, "wrk-abc123def456");
    assert_int_equal(p.status, POD_RUNNING);
    assert_int_equal(p.ssh_port, 32022);
    cJSON_Delete(j);

    prov_event ev;
    j = fx("workload_events.response.json");
    prov_targon_parse_event(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "items"), 0), &ev);
    assert_string_equal(ev.type, "STATUS_CHANGE");
    assert_non_null(strstr(ev.message, "[running] Workload is now running (Started)"));
    assert_true(ev.at > 0);
    cJSON_Delete(j);

    /* every status the sources list maps to a known state */
    static const char *const statuses[] = {"registered", "provisioning", "running",
                                           "error",      "suspended",    "deleted"};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        assert_int_not_equal(prov_targon_map_status(statuses[i]), POD_UNKNOWN);
}

static void test_parse_inventory(void **state)
{
    (void)state;
    cJSON *j = fx("inventory.response.json");
    assert_true(cJSON_IsArray(j));
    prov_offer o;
    assert_int_equal(prov_targon_parse_offer(cJSON_GetArrayItem(j, 0), "targon", 1, &o), 0);
    assert_string_equal(o.offer_id, "h200-small");
    assert_string_equal(o.gpu_type, "H200");
    assert_int_equal(o.ram_gb, 112);     /* 115000 MB */
    assert_int_equal(o.storage_gb, 500); /* 512000 MB, not 512000 GB */
    assert_int_equal(o.available, 5);
    assert_int_equal(o.price_per_hour, 2490000);
    assert_int_equal(prov_targon_parse_offer(cJSON_GetArrayItem(j, 1), "targon", 1, &o), 1);
    /* the fixture's GPU item edited: no GPUs in its spec, or "gpu": false, is no GPU offer
     * whatever the other says */
    cJSON *it = cJSON_Duplicate(cJSON_GetArrayItem(j, 0), 1);
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(it, "spec");
    cJSON_ReplaceItemInObjectCaseSensitive(spec, "gpu_count", cJSON_CreateNumber(0));
    cJSON_DeleteItemFromObjectCaseSensitive(it, "gpu");
    assert_int_equal(prov_targon_parse_offer(it, "targon", 1, &o), 1);
    cJSON_ReplaceItemInObjectCaseSensitive(spec, "gpu_count", cJSON_CreateNumber(8));
    cJSON_AddFalseToObject(it, "gpu");
    assert_int_equal(prov_targon_parse_offer(it, "targon", 1, &o), 1);
    cJSON_Delete(it);
    cJSON_Delete(j);
}

static void test_parse_error(void **state)
{
    (void)state;
    char *body = wire_read("targon", "error.response.json");
    assert_non_null(body);
    assert_true(prov_targon_is_capacity(body, strlen(body)));
    prov_adapter *a = NULL;
    assert_int_equal(
        prov_adapter_init(&prov_targon_ops, "targon", "http://127.0.0.1:9", SECRET, NULL, &a),
        GB_OK);
    gb_http_resp r = {.status = 409, .body = body, .body_len = strlen(body)};
    char err[PROV_ERR_MAX];
    assert_int_equal(prov_targon_ops.error(a, &r, err), GB_ERR_CAPACITY);
    /* the message is "error"; the code "reason" follows it */
    assert_non_null(strstr(err, "no capacity available for the requested resource"));
    assert_non_null(strstr(err, "(WORKLOAD_SANDBOX_NO_CAPACITY)"));
    const char *nf = "{\"error\":\"workload not found\",\"reason\":\"WORKLOAD_NOT_FOUND\"}";
    gb_http_resp r2 = {.status = 404, .body = (char *)nf, .body_len = strlen(nf)};
    assert_int_equal(prov_targon_ops.error(a, &r2, err), GB_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "workload not found"));
    prov_adapter_free(a);
    free(body);
}

/* The body of a request the scripted server received (after the blank line), parsed. */
static cJSON *sent_body(const char *got)
{
    return wire_request_json(got);
}

/* Org discovery, SSH key look-up and upload, verify and volume attach against a scripted server
 * answering with the fixtures; the bodies sent are checked against the request fixtures. */
static void test_account_calls(void **state)
{
    (void)state;
    char *orgs = wire_read("targon", "orgs.response.json");
    char *keys = wire_read("targon", "ssh_keys.response.json");
    char *key = wire_read("targon", "ssh_key.response.json");
    char *ver = wire_read("targon", "verify.response.json");
    assert_true(orgs && keys && key && ver);
    const int statuses[] = {200, 200, 200, 201, 200, 200};
    const char *bodies[] = {
        orgs,
        keys,
        keys,
        key,
        ver,
        "{\"workload_uid\":\"wrk-abc123def456\",\"uid\":\"vol-xyz789\",\"mount_path\":\"/data\","
        "\"read_only\":false}"};
    ss_script s = {.statuses = statuses, .bodies = bodies, .n = 6};
    assert_int_equal(ss_start(&s), 0);
    char base[64], err[PROV_ERR_MAX];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", s.port);
    prov_adapter *a = NULL;
    assert_int_equal(prov_adapter_init(&prov_targon_ops, "targon", base, SECRET, NULL, &a), GB_OK);

    /* one key the account has (matched by its type and data, whatever the comment), one new */
    const char *lines[] = {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3hK0sZCYvWbq other-comment",
                           "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnewkeynewkeynew me@desk"};
    cJSON *uids = cJSON_CreateArray();
    if (prov_targon_key_uids(a, lines, 2, uids, err) != GB_OK) fail_msg("key_uids: %s", err);
    assert_int_equal(cJSON_GetArraySize(uids), 2);
    assert_string_equal(cJSON_GetArrayItem(uids, 0)->valuestring, "shk-abc123def456");
    assert_string_equal(cJSON_GetArrayItem(uids, 1)->valuestring, "shk-new000000001");
    bool ok = false;
    assert_int_equal(prov_targon_verify(a, "wrk-abc123def456", "sha256:0f1e2d3c", &ok, err), GB_OK);
    assert_true(ok);
    assert_int_equal(
        prov_targon_attach_volume(a, "wrk-abc123def456", "vol-xyz789", "/data", false, err), GB_OK);
    ss_stop(&s);
    assert_int_equal(s.served, 6);
    assert_true(gb_str_starts_with(s.got[0], "GET /tha/v3/orgs?limit=100 "));
    assert_true(gb_str_starts_with(s.got[1], "GET /tha/v3/orgs/acme/ssh-keys?limit=100 "));
    assert_true(gb_str_starts_with(s.got[3], "POST /tha/v3/orgs/acme/ssh-keys "));
    assert_true(gb_str_starts_with(s.got[4], "POST /tha/v3/orgs/acme/workloads/verify "));
    assert_true(gb_str_starts_with(
        s.got[5], "PUT /tha/v3/orgs/acme/workloads/wrk-abc123def456/volumes/vol-xyz789 "));
    cJSON *b = sent_body(s.got[3]);
    assert_non_null(b);
    fits(b, "create_ssh_key.request.json");
    assert_string_equal(cJSON_GetObjectItem(b, "ssh_key")->valuestring, lines[1]);
    cJSON_Delete(b);
    b = sent_body(s.got[4]);
    fits(b, "verify.request.json");
    cJSON_Delete(b);
    b = sent_body(s.got[5]);
    fits(b, "attach_volume.request.json");
    cJSON_Delete(b);
    cJSON_Delete(uids);
    prov_adapter_free(a);
    free(orgs);
    free(keys);
    free(key);
    free(ver);
}

/* A workload list item (shape of workload_list.response.json) named train-1 with this uid and
 * state.status; "deleted" is one of Targon's states (targon-sdk cli/src/client/types/common.rs
 * State::DELETED). */
#define LIST_ITEM(uid, status)                                                                     \
    "{\"uid\":\"" uid "\",\"name\":\"train-1\",\"image\":\"img:1\",\"type\":\"RENTAL\","           \
    "\"state\":{\"status\":\"" status "\",\"message\":\"\",\"urls\":[],\"public_ip\":null,"        \
    "\"ssh_port\":null},\"cost_per_hour\":2.49,\"created_at\":\"2026-07-28T10:30:00Z\"}"

/* A deleted workload that still carries the name is never the one find_by_name answers with:
 * the live namesake is (a create's look-up would otherwise take a dead workload for the new
 * one), and with only the deleted one the name is free. */
static void test_find_by_name_skips_deleted(void **state)
{
    (void)state;
    char *orgs = wire_read("targon", "orgs.response.json");
    assert_non_null(orgs);
    const int statuses[] = {200, 200, 200};
    const char *bodies[] = {
        orgs,
        "{\"items\":[" LIST_ITEM("wrk-old000000001", "deleted") "," LIST_ITEM(
            "wrk-new000000002", "running") "],\"next_cursor\":\"\"}",
        "{\"items\":[" LIST_ITEM("wrk-old000000001", "deleted") "],\"next_cursor\":\"\"}"};
    ss_script s = {.statuses = statuses, .bodies = bodies, .n = 3};
    assert_int_equal(ss_start(&s), 0);
    char base[64], err[PROV_ERR_MAX];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", s.port);
    prov_adapter *a = NULL;
    assert_int_equal(prov_adapter_init(&prov_targon_ops, "targon", base, SECRET, NULL, &a), GB_OK);
    prov_pod p;
    if (prov_targon_ops.find_by_name(a, "train-1", &p, err) != GB_OK) fail_msg("find: %s", err);
    assert_string_equal(p.provider_id, "wrk-new000000002");
    assert_int_equal(prov_targon_ops.find_by_name(a, "train-1", &p, err), GB_ERR_NOT_FOUND);
    ss_stop(&s);
    assert_int_equal(s.served, 3);
    assert_true(
        gb_str_starts_with(s.got[1], "GET /tha/v3/orgs/acme/workloads?limit=100&name=train-1 "));
    prov_adapter_free(a);
    free(orgs);
}

/* ---- requests ---- */

static void test_builders(void **state)
{
    (void)state;
    char err[PROV_ERR_MAX];
    const char *env[] = {"MODEL_NAME=llama-3"};
    const int ports[] = {8080};
    cJSON *opts = cJSON_Parse("{\"project_id\":\"prj-abc123def456\",\"commands\":[\"python\"],"
                              "\"args\":[\"train.py\"],\"volumes\":[{\"uid\":\"vol-xyz789\","
                              "\"mount_path\":\"/data\",\"read_only\":false}]}");
    cJSON *uids = cJSON_CreateArray();
    cJSON_AddItemToArray(uids, cJSON_CreateString("shk-abc123def456"));
    const char *raw[] = {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3hK0sZCYvWbq me@laptop"};
    prov_create_req req = {.name = "train-1",
                           .offer_id = "h200-small",
                           .image = "pytorch/pytorch:latest",
                           .env = env,
                           .nenv = 1,
                           .ports = ports,
                           .nports = 1,
                           .ssh_public_keys = raw,
                           .nssh = 1,
                           .registry_server = "registry.example.com",
                           .registry_username = "me",
                           .registry_password = "s3cret",
                           .options = opts};
    cJSON *b = NULL;
    assert_int_equal(prov_targon_create_body(&req, 3, uids, &b, err), GB_OK);
    fits(b, "create_workload_v3.request.json");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "ssh_keys"), 0)->valuestring,
                        "shk-abc123def456");
    cJSON_Delete(b);
    /* the v3 body does not fit the v2-only fields' absence the other way: app_id is v2 only */
    cJSON *o2 = cJSON_Parse("{\"type\":\"SERVERLESS\",\"app_id\":\"app-abc123def456\","
                            "\"serverless_config\":{\"min_replicas\":0}}");
    req.options = o2;
    req.nssh = 0;
    assert_int_equal(prov_targon_create_body(&req, 3, NULL, &b, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "deprecated"));
    assert_int_equal(prov_targon_create_body(&req, 2, NULL, &b, err), GB_OK);
    fits(b, "create_workload_v2.request.json");
    char why[256];
    cJSON *f3 = fx("create_workload_v3.request.json");
    assert_false(wire_shape_fits(b, f3, why, sizeof(why))); /* app_id, serverless_config */
    cJSON_Delete(f3);
    cJSON_Delete(b);

    cJSON *ch = cJSON_Parse("{\"name\":\"train-1b\",\"image\":\"pytorch/pytorch:2.0\","
                            "\"ssh_public_keys\":[\"x\"]}");
    assert_int_equal(prov_targon_update_body(ch, uids, &b, err), GB_OK);
    fits(b, "update_workload_v3.request.json");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "ssh_keys")), 1);
    cJSON_Delete(b);
    cJSON_Delete(ch);
    cJSON_Delete(uids);
    cJSON_Delete(opts);
    cJSON_Delete(o2);
}

/* ---- the simulator refuses the old shapes on v3 ---- */

static void test_sim_refuses_old(void **state)
{
    fixture *f = *state;
    char *old = wire_read("targon", "old_create_serverless.request.json");
    assert_non_null(old);
    cJSON *j = NULL;
    const char *v3 = "/tha/v3/orgs/"
                     "gpubroker-sim"
                     "/workloads";
    assert_int_equal(raw_http(f, "POST", v3, old, SECRET, &j), 400);
    assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, "BAD_REQUEST");
    assert_non_null(strstr(cJSON_GetObjectItem(j, "error")->valuestring, "app_id"));
    cJSON_Delete(j);
    /* without the removed fields, the type itself is refused */
    const char *sl = "{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\","
                     "\"type\":\"SERVERLESS\"}";
    assert_int_equal(raw_http(f, "POST", v3, sl, SECRET, &j), 400);
    assert_string_equal(cJSON_GetObjectItem(j, "error")->valuestring,
                        "workload type SERVERLESS has been deprecated");
    cJSON_Delete(j);
    /* an unknown field, and another org */
    const char *extra = "{\"name\":\"a\",\"image\":\"i\",\"resource_name\":\"h200-small\","
                        "\"type\":\"RENTAL\",\"gpu_count\":1}";
    assert_int_equal(raw_http(f, "POST", v3, extra, SECRET, &j), 400);
    assert_non_null(strstr(cJSON_GetObjectItem(j, "error")->valuestring, "gpu_count"));
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", "/tha/v3/orgs/other/workloads", NULL, SECRET, NULL), 404);
    /* nothing was registered; v2 still takes the old body */
    cJSON *st = pf_state(f);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "workloads")), 0);
    cJSON_Delete(st);
    assert_int_equal(raw_http(f, "POST", "/tha/v2/workloads", old, SECRET, NULL), 201);
    /* suspend exists on v3 only */
    assert_int_equal(
        raw_http(f, "POST", "/tha/v2/workloads/wrk-abc123def456/suspend", NULL, SECRET, NULL), 404);
    free(old);
}

/* The simulator's v3 answers fit the same fixtures the parsers read. */
static void test_sim_shapes(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_create_req req = {.name = "shape-1", .offer_id = "h200-small", .image = "img:1"};
    prov_pod p;
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_OK);
    pf_advance(f, 60000);
    cJSON *j = NULL, *want;
    char path[200], why[512];
    snprintf(path, sizeof(path), "/tha/v3/orgs/gpubroker-sim/workloads/%s", p.provider_id);
    assert_int_equal(raw_http(f, "GET", path, NULL, SECRET, &j), 200);
    want = fx("workload.response.json");
    /* every field the simulator sends is one the source has, with the same type */
    cJSON_DeleteItemFromObject(j, "app_id");
    if (!wire_shape_fits(j, want, why, sizeof(why))) fail_msg("workload: %s", why);
    cJSON_Delete(want);
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", "/tha/v3/orgs", NULL, SECRET, &j), 200);
    want = fx("orgs.response.json");
    if (!wire_shape_fits(j, want, why, sizeof(why))) fail_msg("orgs: %s", why);
    cJSON_Delete(want);
    cJSON_Delete(j);
    assert_int_equal(raw_http(f, "GET", "/tha/v3/inventory?type=rental&gpu=true", NULL, SECRET, &j),
                     200);
    want = fx("inventory.response.json");
    if (!wire_shape_fits(j, want, why, sizeof(why))) fail_msg("inventory: %s", why);
    cJSON_Delete(want);
    cJSON_Delete(j);
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_workloads),
        cmocka_unit_test(test_parse_inventory),
        cmocka_unit_test(test_parse_error),
        cmocka_unit_test(test_account_calls),
        cmocka_unit_test(test_find_by_name_skips_deleted),
        cmocka_unit_test(test_builders),
        cmocka_unit_test_setup_teardown(test_sim_refuses_old, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_sim_shapes, fx_setup, pf_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
