/* test_providers_targon.c: the Targon adapter against the Targon simulator (lifecycle, status
 * mapping, retries, timeouts, truncated and non-JSON answers, no double create, auth,
 * capacity, option validation, v3 paths) and the simulator's own validation over raw HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "common/str.h"
#include "providers/sim/sim.h"
#include "providers/targon.h"
#include "tests/unit/test_targon_util.h"

/* ---- status mapping ---- */

static void test_status_map(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        pod_status want;
    } cases[] = {
        {"REGISTERED", POD_PENDING},  {"DEPLOYING", POD_DEPLOYING},
        {"RUNNING", POD_RUNNING},     {"DELETED", POD_DELETED},
        {"registered", POD_PENDING},  {"provisioning", POD_DEPLOYING},
        {"running", POD_RUNNING},     {"error", POD_FAILED},
        {"suspended", POD_STOPPED},   {"deleted", POD_DELETED},
        {"deploying", POD_DEPLOYING}, {"Running", POD_RUNNING},
        {"ERROR", POD_FAILED},        {"Suspended", POD_STOPPED},
        {" running ", POD_RUNNING},   {"PROVISIONING", POD_DEPLOYING},
        {"EXPLODED", POD_UNKNOWN},    {"", POD_UNKNOWN},
        {"runnin", POD_UNKNOWN},      {"running2", POD_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (prov_targon_ops.map_status(cases[i].raw) != cases[i].want)
            fail_msg("map_status(\"%s\") = %s, want %s", cases[i].raw,
                     pod_status_name(prov_targon_ops.map_status(cases[i].raw)),
                     pod_status_name(cases[i].want));
    }
    assert_int_equal(prov_targon_ops.map_status(NULL), POD_UNKNOWN);
}

/* ---- paths ---- */

static void test_paths(void **state)
{
    fixture *f = *state;
    char p[PROV_TARGON_PATH_MAX], err[PROV_ERR_MAX];
    /* no api_version: v3, the current API; "v2" only when a provider says so */
    assert_int_equal(prov_targon_version(NULL, err), 3);
    cJSON *v2 = cJSON_Parse("{\"api_version\":\"v2\"}");
    assert_int_equal(prov_targon_version(v2, err), 2);
    assert_int_equal(prov_targon_path_for(2, NULL, "workloads", "/wrk-a/deploy", p, sizeof(p), err),
                     GB_OK);
    assert_string_equal(p, "/tha/v2/workloads/wrk-a/deploy");
    assert_int_equal(prov_targon_path_for(3, "acme", "ssh-keys", "", p, sizeof(p), err), GB_OK);
    assert_string_equal(p, "/tha/v3/orgs/acme/ssh-keys");
    assert_int_equal(prov_targon_path_for(3, "a/b", "workloads", "", p, sizeof(p), err),
                     GB_ERR_INVALID);
    assert_int_equal(prov_targon_inventory_path(NULL, p, sizeof(p), err), GB_OK);
    assert_string_equal(p, "/tha/v3/inventory");
    assert_int_equal(prov_targon_inventory_path(v2, p, sizeof(p), err), GB_OK);
    assert_string_equal(p, "/tha/v2/inventory");
    cJSON *bad = cJSON_Parse("{\"org\":\"a/b\"}");
    assert_int_equal(prov_targon_version(bad, err), -1);
    assert_non_null(strstr(err, "org"));
    cJSON_Delete(bad);
    bad = cJSON_Parse("{\"api_version\":\"v9\"}");
    assert_int_equal(prov_targon_version(bad, err), -1);
    assert_non_null(strstr(err, "api_version"));
    cJSON_Delete(bad);

    /* An org the key is not in: the simulator answers 404 on its v3 paths. */
    cJSON *v3 = cJSON_Parse("{\"api_version\":\"v3\",\"org\":\"acme\"}");
    prov_adapter *a3 = NULL;
    assert_int_equal(prov_adapter_init(&prov_targon_ops, "targon", f->base, SECRET, v3, &a3),
                     GB_OK);
    prov_pod pod;
    prov_offer *offers = NULL;
    size_t n = 0;
    assert_int_equal(prov_targon_ops.get(a3, "wrk-abc123def456", &pod, err), GB_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "organization not found"));
    assert_int_equal(prov_targon_ops.list_offers(a3, &offers, &n, err), GB_OK);
    free(offers);
    assert_int_equal(prov_targon_ops.get(a3, "../etc", &pod, err), GB_ERR_INVALID);
    cJSON *req = pf_requests(f);
    cJSON *by = cJSON_GetObjectItem(req, "by_route");
    assert_non_null(cJSON_GetObjectItem(by, "GET /tha/v3/orgs/:org/workloads/:uid"));
    assert_non_null(cJSON_GetObjectItem(by, "GET /tha/v3/inventory"));
    assert_null(cJSON_GetObjectItem(by, "GET /tha/v3/orgs")); /* org given: no discovery */
    cJSON_Delete(req);
    prov_adapter_free(a3);
    cJSON_Delete(v3);

    /* No org in the settings: the one organization GET /tha/v3/orgs lists, asked once. */
    assert_int_equal(prov_targon_ops.get(f->a, "wrk-abc123def456", &pod, err), GB_ERR_NOT_FOUND);
    assert_int_equal(prov_targon_ops.get(f->a, "wrk-abc123def457", &pod, err), GB_ERR_NOT_FOUND);
    assert_int_equal(pf_route_count(f, "GET /tha/v3/orgs"), 1);
    assert_int_equal(pf_route_count(f, "GET /tha/v3/orgs/:org/workloads/:uid"), 3);
    /* v2 providers keep v2 paths */
    prov_adapter *a2 = NULL;
    assert_int_equal(prov_adapter_init(&prov_targon_ops, "targon", f->base, SECRET, v2, &a2),
                     GB_OK);
    assert_int_equal(prov_targon_ops.get(a2, "wrk-abc123def456", &pod, err), GB_ERR_NOT_FOUND);
    assert_int_equal(pf_route_count(f, "GET /tha/v2/workloads/:uid"), 1);
    /* and cannot suspend: v2 has no suspend */
    assert_int_equal(prov_targon_ops.stop(a2, "wrk-abc123def456", err), GB_ERR_CONFLICT);
    assert_non_null(strstr(err, "v2"));
    prov_adapter_free(a2);
    cJSON_Delete(v2);
}

/* ---- the whole lifecycle ---- */

static const prov_offer *offer(const prov_offer *o, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(o[i].offer_id, id) == 0) return &o[i];
    return NULL;
}

static void test_offers(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_targon_ops.list_offers(f->a, &o, &n, err), GB_OK);
    assert_int_equal(n, 8); /* every GPU resource; cpu-small is not an offer */
    assert_null(offer(o, n, "cpu-small"));
    const prov_offer *h = offer(o, n, "h200-small");
    assert_non_null(h);
    assert_string_equal(h->id, "targon:h200-small");
    assert_string_equal(h->provider, "targon");
    assert_string_equal(h->gpu_type, "H200");
    assert_int_equal(h->gpu_count, 1);
    assert_int_equal(h->gpu_vram_gb, 141);
    assert_int_equal(h->price_per_hour, 2490000);
    assert_int_equal(h->price_per_gpu_hour, 2490000);
    assert_int_equal(h->ram_gb, 112);     /* 115000 MB */
    assert_int_equal(h->storage_gb, 500); /* spec.storage 512000 MB */
    assert_int_equal(h->vcpu, 12);
    assert_int_equal(h->available, 8);
    assert_true(h->confidential);
    const prov_offer *x = offer(o, n, "h200-xl");
    assert_int_equal(x->gpu_count, 8);
    assert_int_equal(x->price_per_hour, 19920000);
    assert_int_equal(x->price_per_gpu_hour, 2490000);
    assert_int_equal(x->available_gpus, 8);
    assert_string_equal(offer(o, n, "rtx4090-small")->gpu_type, "RTX4090");
    assert_string_equal(offer(o, n, "b200-large")->gpu_type, "B200");
    for (size_t i = 0; i < n; i++)
        assert_true(o[i].confidential);
    free(o);
}

static void test_lifecycle(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_pod p, g;
    const char *env[] = {"MODEL_NAME=llama-3", "EMPTY="};
    const int ports[] = {8080};
    cJSON *opts = cJSON_Parse("{\"project_id\":\"prj-abc123def456\",\"commands\":[\"python\"]}");
    prov_create_req req = {.name = "train-1",
                           .offer_id = "h200-small",
                           .image = "pytorch/pytorch:latest",
                           .env = env,
                           .nenv = 2,
                           .ports = ports,
                           .nports = 1,
                           .options = opts};
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_OK);
    assert_int_equal(p.status, POD_DEPLOYING);
    assert_string_equal(p.raw_status, "provisioning");
    assert_true(strncmp(p.provider_id, "wrk-", 4) == 0 && strlen(p.provider_id) == 16);
    assert_string_equal(p.name, "train-1");
    assert_int_equal(p.price_per_hour, 2490000);
    assert_string_equal(p.gpu_type, "H200");
    assert_true(p.created_at > 0);

    assert_int_equal(prov_targon_ops.get(f->a, p.provider_id, &g, err), GB_OK);
    assert_int_equal(g.status, POD_DEPLOYING);
    assert_string_equal(g.ip, "");
    pf_advance(f, 60000);
    assert_int_equal(prov_targon_ops.get(f->a, p.provider_id, &g, err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);
    assert_string_equal(g.raw_status, "running");
    assert_true(g.ip[0] && g.ssh_port > 0);
    assert_non_null(strstr(g.ssh_command, "ssh -p "));
    assert_non_null(strstr(g.url, p.provider_id));
    assert_true(gb_str_starts_with(g.url, "https://"));

    char *logs = NULL;
    assert_int_equal(prov_targon_ops.logs(f->a, p.provider_id, 0, &logs, err), GB_OK);
    assert_non_null(strstr(logs, "Pulling image pytorch/pytorch:latest"));
    assert_non_null(strstr(logs, "started"));
    free(logs);
    assert_int_equal(prov_targon_ops.logs(f->a, p.provider_id, 1, &logs, err), GB_OK);
    int lines = 0;
    for (const char *c = logs; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 1);
    free(logs);

    prov_event *ev = NULL;
    size_t nev = 0;
    assert_int_equal(prov_targon_ops.events(f->a, p.provider_id, &ev, &nev, err), GB_OK);
    assert_true(nev >= 3);
    assert_string_equal(ev[nev - 1].type, "STATUS_CHANGE");
    assert_non_null(strstr(ev[nev - 1].message, "running"));
    assert_true(ev[nev - 1].at >= ev[0].at && ev[0].at > 0);
    free(ev);

    assert_int_equal(prov_targon_ops.find_by_name(f->a, "train-1", &g, err), GB_OK);
    assert_string_equal(g.provider_id, p.provider_id);
    prov_pod *all = NULL;
    size_t nall = 0;
    assert_int_equal(prov_targon_ops.list_pods(f->a, &all, &nall, err), GB_OK);
    assert_int_equal(nall, 1);
    assert_string_equal(all[0].provider_id, p.provider_id);
    free(all);

    /* update: name and an SSH key given as a raw public key: uploaded once, then attached */
    const char *pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3hK0sZCYvWbq me@laptop";
    cJSON *ch = cJSON_CreateObject();
    cJSON_AddStringToObject(ch, "name", "train-1b");
    cJSON_AddItemToObject(ch, "ssh_public_keys", cJSON_CreateStringArray(&pub, 1));
    assert_int_equal(prov_targon_ops.update(f->a, p.provider_id, ch, err), GB_OK);
    assert_int_equal(prov_targon_ops.update(f->a, p.provider_id, ch, err), GB_OK);
    cJSON_Delete(ch);
    assert_int_equal(pf_route_count(f, "POST /tha/v3/orgs/:org/ssh-keys"), 1); /* reused */
    assert_int_equal(prov_targon_ops.get(f->a, p.provider_id, &g, err), GB_OK);
    assert_string_equal(g.name, "train-1b");
    cJSON *st = pf_state(f);
    cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "workloads"), 0);
    cJSON *k0 = cJSON_GetArrayItem(cJSON_GetObjectItem(w, "ssh_keys"), 0);
    assert_string_equal(cJSON_GetObjectItem(k0, "public_key_raw")->valuestring, pub);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "ssh_keys")), 1);
    assert_true(gb_str_starts_with(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(st, "ssh_keys"), 0), "name")
            ->valuestring,
        "gpubroker-"));
    assert_string_equal(cJSON_GetObjectItem(w, "project_id")->valuestring, "prj-abc123def456");
    cJSON_Delete(st);
    ch = cJSON_Parse("{\"ssh_public_keys\":[\"not a key\"]}");
    assert_int_equal(prov_targon_ops.update(f->a, p.provider_id, ch, err), GB_ERR_INVALID);
    cJSON_Delete(ch);
    ch = cJSON_Parse("{\"gpu_count\":2}");
    assert_int_equal(prov_targon_ops.update(f->a, p.provider_id, ch, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "gpu_count"));
    cJSON_Delete(ch);

    /* stop = POST .../suspend (the unit goes back); start = deploy again */
    assert_non_null(prov_targon_ops.stop);
    assert_non_null(prov_targon_ops.start);
    assert_int_equal(sim_available(f, "h200-small"), 7);
    assert_int_equal(prov_targon_ops.stop(f->a, p.provider_id, err), GB_OK);
    assert_int_equal(prov_targon_ops.get(f->a, p.provider_id, &g, err), GB_OK);
    assert_int_equal(g.status, POD_STOPPED);
    assert_string_equal(g.raw_status, "suspended");
    assert_int_equal(sim_available(f, "h200-small"), 8);
    assert_int_equal(prov_targon_ops.stop(f->a, p.provider_id, err), GB_ERR_CONFLICT);
    assert_int_equal(prov_targon_ops.start(f->a, p.provider_id, err), GB_OK);
    assert_int_equal(sim_available(f, "h200-small"), 7);
    pf_advance(f, 60000);
    assert_int_equal(prov_targon_ops.get(f->a, p.provider_id, &g, err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);
    assert_int_equal(prov_targon_ops.start(f->a, p.provider_id, err), GB_ERR_CONFLICT);
    assert_int_equal(pf_route_count(f, "POST /tha/v3/orgs/:org/workloads/:uid/suspend"), 2);

    assert_int_equal(prov_targon_ops.remove(f->a, p.provider_id, err), GB_OK);
    assert_int_equal(prov_targon_ops.get(f->a, p.provider_id, &g, err), GB_OK);
    assert_int_equal(g.status, POD_DELETED);
    assert_int_equal(prov_targon_ops.find_by_name(f->a, "train-1b", &g, err), GB_ERR_NOT_FOUND);
    assert_int_equal(prov_targon_ops.remove(f->a, p.provider_id, err), GB_ERR_NOT_FOUND);
    assert_int_equal(sim_available(f, "h200-small"), 8); /* the unit came back */
    cJSON_Delete(opts);
}

static void test_serverless(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_pod p, g;
    cJSON *opts = cJSON_Parse("{\"type\":\"SERVERLESS\",\"serverless_config\":"
                              "{\"min_replicas\":0,\"max_replicas\":2}}");
    const int ports[] = {8000};
    prov_create_req req = {.name = "infer-1",
                           .offer_id = "rtx4090-small",
                           .image = "vllm:latest",
                           .ports = ports,
                           .nports = 1,
                           .options = opts};
    /* v3 (the default) deprecated SERVERLESS: refused before anything is sent */
    int before = pf_total_requests(f);
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "SERVERLESS is deprecated"));
    assert_int_equal(pf_total_requests(f), before);
    /* a provider that says api_version v2 still has it */
    cJSON *v2 = cJSON_Parse("{\"api_version\":\"v2\"}");
    prov_adapter *a2 = pf_adapter(f, &prov_targon_ops, "targon", "", SECRET, v2);
    cJSON_Delete(v2);
    assert_int_equal(prov_targon_ops.create(a2, &req, &p, err), GB_OK);
    assert_int_equal(p.status, POD_DEPLOYING);
    pf_advance(f, 30000);
    assert_int_equal(prov_targon_ops.get(a2, p.provider_id, &g, err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);
    assert_non_null(strstr(g.url, ".caas.targon.com"));
    assert_string_equal(g.ip, "");
    cJSON *st = pf_state(f);
    cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "workloads"), 0);
    assert_string_equal(cJSON_GetObjectItem(w, "type")->valuestring, "SERVERLESS");
    assert_non_null(cJSON_GetObjectItem(w, "serverless_config"));
    cJSON_Delete(st);
    prov_adapter_free(a2);
    cJSON_Delete(opts);
}

/* ---- retries, timeouts, malformed answers ---- */

static void test_retry_after(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_offer *o = NULL;
    size_t n = 0;
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/tha/v3/inventory\",\"status\":429,"
                "\"count\":1,\"retry_after\":2}");
    assert_int_equal(prov_targon_ops.list_offers(f->a, &o, &n, err), GB_OK);
    assert_int_equal(n, 8);
    free(o);
    assert_int_equal(f->nsleeps, 1);
    assert_int_equal(f->sleeps[0], 2000);
}

static void test_502_twice(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_offer *o = NULL;
    size_t n = 0;
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/tha/v3/inventory\",\"status\":502,"
                "\"count\":2}");
    assert_int_equal(prov_targon_ops.list_offers(f->a, &o, &n, err), GB_OK);
    free(o);
    assert_int_equal(f->nsleeps, 2); /* exponential backoff with +-50% jitter from 250 ms */
    assert_true(f->sleeps[0] >= 125 && f->sleeps[0] < 375);
    assert_true(f->sleeps[1] >= 250 && f->sleeps[1] < 750);
}

static void test_timeout(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_offer *o = NULL;
    size_t n = 0;
    f->a->policy.timeout_ms = 300;
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/tha/v3/inventory\",\"latency_ms\":1500,"
                "\"count\":2}");
    gb_err e = prov_targon_ops.list_offers(f->a, &o, &n, err);
    assert_true(e == GB_ERR_TIMEOUT || e == GB_ERR_HTTP);
    assert_null(o);
    assert_non_null(strstr(err, "targon"));
    assert_non_null(strstr(err, "GET /tha/v3/inventory"));
    assert_non_null(strstr(err, "2 attempts"));
    assert_int_equal(f->nsleeps, 1);
}

static void test_truncated(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_offer *o = NULL;
    size_t n = 0;
    f->a->policy.max_retries = 1;
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/tha/v3/inventory\","
                "\"truncate_body\":true,\"count\":-1}");
    assert_int_equal(prov_targon_ops.list_offers(f->a, &o, &n, err), GB_ERR_PROVIDER);
    assert_non_null(strstr(err, "truncated response from targon"));
    pf_clear_faults(f);
    /* once only: the retry gets the whole answer */
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/tha/v3/inventory\","
                "\"truncate_body\":true,\"count\":1}");
    assert_int_equal(prov_targon_ops.list_offers(f->a, &o, &n, err), GB_OK);
    assert_int_equal(n, 8);
    free(o);
}

static void test_non_json(void **state)
{
    (void)state;
    char err[PROV_ERR_MAX], base[64];
    raw_server rsv;
    raw_server_start(&rsv, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 24\r\n"
                           "Connection: close\r\n\r\n<html>maintenance</html>");
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", rsv.port);
    prov_adapter *a = NULL;
    assert_int_equal(prov_adapter_init(&prov_targon_ops, "targon", base, SECRET, NULL, &a), GB_OK);
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_targon_ops.list_offers(a, &o, &n, err), GB_ERR_PROVIDER);
    assert_non_null(strstr(err, "malformed response from targon"));
    assert_non_null(strstr(err, "not JSON"));
    prov_adapter_free(a);
    raw_server_stop(&rsv);
}

/* ---- never two workloads ---- */

static void test_drop_register(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_pod p;
    prov_create_req req = {.name = "drop-reg", .offer_id = "h200-small", .image = "img:1"};
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/tha/v3/orgs/gpubroker-sim/workloads\","
                "\"drop_response\":true,\"count\":1}");
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_OK);
    assert_int_equal(p.status, POD_DEPLOYING);
    assert_int_equal(sim_count_named(f, "drop-reg", NULL), 1);
    assert_int_equal(pf_route_count(f, "POST /tha/v3/orgs/:org/workloads"), 1);
    assert_int_equal(pf_route_count(f, "POST /tha/v3/orgs/:org/workloads/:uid/deploy"), 1);
    assert_int_equal(sim_available(f, "h200-small"), 7);
}

static void test_drop_deploy(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_pod p;
    prov_create_req req = {.name = "drop-dep", .offer_id = "h200-small", .image = "img:1"};
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/tha/v3/orgs/gpubroker-sim/workloads/\","
                "\"drop_response\":true,\"count\":1}");
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_OK);
    assert_int_equal(p.status, POD_DEPLOYING);
    assert_int_equal(sim_count_named(f, "drop-dep", "provisioning"), 1);
    assert_int_equal(sim_count_named(f, "drop-dep", NULL), 1);
    assert_int_equal(pf_route_count(f, "POST /tha/v3/orgs/:org/workloads/:uid/deploy"), 1);
    assert_int_equal(sim_available(f, "h200-small"), 7);
}

static void test_502_register(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_pod p;
    prov_create_req req = {.name = "gw-502", .offer_id = "b200-small", .image = "img:1"};
    /* 502 from a gateway that never passed the request on: not registered, so try again */
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/tha/v3/orgs/gpubroker-sim/"
                "workloads\",\"status\":502,"
                "\"count\":1}");
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_OK);
    assert_int_equal(sim_count_named(f, "gw-502", NULL), 1);
    assert_int_equal(pf_route_count(f, "POST /tha/v3/orgs/:org/workloads"), 2);
    assert_int_equal(f->nsleeps, 1);
}

/* ---- refusals ---- */

static void test_bad_credentials(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_adapter *a = NULL;
    assert_int_equal(
        prov_adapter_init(&prov_targon_ops, "targon", f->base, "wrong-secret-xyz", NULL, &a),
        GB_OK);
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(prov_targon_ops.list_offers(a, &o, &n, err), GB_ERR_AUTH);
    assert_non_null(strstr(err, "401"));
    assert_non_null(strstr(err, "invalid API key"));
    assert_null(strstr(err, "wrong-secret-xyz"));
    prov_pod p;
    prov_create_req req = {.name = "nope", .offer_id = "h200-small", .image = "img:1"};
    assert_int_equal(prov_targon_ops.create(a, &req, &p, err), GB_ERR_AUTH);
    prov_adapter_free(a);
}

static void test_capacity(void **state)
{
    fixture *f = *state;
    char err[PROV_ERR_MAX];
    prov_pod p;
    prov_create_req req = {.name = "xl-1", .offer_id = "h200-xl", .image = "img:1"};
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_OK);
    req.name = "xl-2";
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_ERR_CAPACITY);
    assert_non_null(strstr(err, "capacity"));
    /* the refused registration was removed again */
    assert_int_equal(sim_count_named(f, "xl-2", "deleted"), 1);
    assert_int_equal(sim_count_named(f, "xl-2", NULL), 1);
    /* the injected form of the same answer */
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/tha/v3/orgs/gpubroker-sim/workloads/\","
                "\"capacity_error\":true,\"count\":1}");
    req.name = "small-1";
    req.offer_id = "h200-small";
    assert_int_equal(prov_targon_ops.create(f->a, &req, &p, err), GB_ERR_CAPACITY);
    assert_int_equal(sim_available(f, "h200-small"), 8);
}

static void test_validate_options(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *field; /* NULL = valid */
    } cases[] = {
        {"null", NULL},
        {"{}", NULL},
        {"{\"type\":\"rental\",\"volumes\":[{\"uid\":\"vol-a1\",\"mount_path\":\"/data\"}]}", NULL},
        {"{\"type\":\"SERVERLESS\",\"serverless_config\":{\"max_replicas\":3}}", NULL},
        {"{\"ssh_keys\":[\"shk-def456ghi789\"],\"args\":[\"-v\"],\"app_id\":\"app-1\"}", NULL},
        {"{\"flavour\":1}", "flavour"},
        {"[]", "object"},
        {"{\"type\":5}", "type"},
        {"{\"type\":\"VM\"}", "type"},
        {"{\"volumes\":{}}", "volumes"},
        {"{\"volumes\":[{\"uid\":\"vol-a1\"}]}", "mount_path"},
        {"{\"volumes\":[{\"uid\":\"vol-a1\",\"mount_path\":\"data\"}]}", "mount_path"},
        {"{\"commands\":[1]}", "commands"},
        {"{\"args\":\"x\"}", "args"},
        {"{\"project_id\":7}", "project_id"},
        {"{\"ssh_keys\":[\"ssh-ed25519 AAAA\"]}", "ssh_keys"},
        {"{\"serverless_config\":{\"min_replicas\":0}}", "serverless_config"},
        {"{\"type\":\"RENTAL\",\"serverless_config\":{}}", "serverless_config"},
        {"{\"type\":\"SERVERLESS\",\"serverless_config\":{},\"volumes\":[]}", "volumes"},
        {"{\"type\":\"SERVERLESS\"}", "serverless_config"},
        {"{\"type\":\"SERVERLESS\",\"serverless_config\":{\"replicas\":1}}", "replicas"},
        {"{\"type\":\"SERVERLESS\",\"serverless_config\":{\"max_replicas\":-1}}", "max_replicas"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[PROV_ERR_MAX] = "";
        cJSON *j = cJSON_Parse(cases[i].json);
        gb_err e = prov_targon_ops.validate_options(j, err);
        cJSON_Delete(j);
        if (!cases[i].field && e != GB_OK) fail_msg("%s: unexpected error: %s", cases[i].json, err);
        if (cases[i].field && (e != GB_ERR_INVALID || !strstr(err, cases[i].field)))
            fail_msg("%s: want an error naming %s, got %d: %s", cases[i].json, cases[i].field, e,
                     err);
    }
}

static void test_create_body(void **state)
{
    (void)state;
    char err[PROV_ERR_MAX];
    cJSON *b = NULL;
    const int bad_ports[] = {22};
    const char *keys[] = {"ssh-ed25519 AAAAC3Nza user@host"};
    const char *bad_env[] = {"NOEQUALS"};
    prov_create_req req = {.name = "job-1",
                           .offer_id = "h200-small",
                           .image = "img:1",
                           .ports = bad_ports,
                           .nports = 1};
    assert_int_equal(prov_targon_create_body(&req, 3, NULL, &b, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "ports[0]"));
    req.nports = 0;
    req.ssh_public_keys = keys;
    req.nssh = 1;
    assert_int_equal(prov_targon_create_body(&req, 3, NULL, &b, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "ssh_public_keys[0]")); /* raw: needs the upload first */
    req.nssh = 0;
    req.env = bad_env;
    req.nenv = 1;
    assert_int_equal(prov_targon_create_body(&req, 3, NULL, &b, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "env[0]"));
    req.nenv = 0;
    req.name = "Job_1";
    assert_int_equal(prov_targon_create_body(&req, 3, NULL, &b, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "name"));
    req.name = "job-1";
    req.image = NULL;
    assert_int_equal(prov_targon_create_body(&req, 3, NULL, &b, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "image"));
    req.image = "registry.example.com/me/img:1";
    req.registry_server = "registry.example.com";
    req.registry_username = "me";
    req.registry_password = "s3cret";
    const char *uids[] = {"shk-def456ghi789"};
    req.ssh_public_keys = uids;
    req.nssh = 1;
    assert_int_equal(prov_targon_create_body(&req, 3, NULL, &b, err), GB_OK);
    assert_string_equal(cJSON_GetObjectItem(b, "type")->valuestring, "RENTAL");
    assert_string_equal(cJSON_GetObjectItem(b, "resource_name")->valuestring, "h200-small");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(b, "registry_auth"), "password")->valuestring,
        "s3cret");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "ssh_keys"), 0)->valuestring,
                        "shk-def456ghi789");
    cJSON_Delete(b);
    /* v3 refuses the v2-only fields; v2 sends them */
    cJSON *o = cJSON_Parse("{\"app_id\":\"app-1\"}");
    req.options = o;
    assert_int_equal(prov_targon_create_body(&req, 3, NULL, &b, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "app_id"));
    assert_int_equal(prov_targon_create_body(&req, 2, NULL, &b, err), GB_OK);
    assert_string_equal(cJSON_GetObjectItem(b, "app_id")->valuestring, "app-1");
    cJSON_Delete(b);
    cJSON_Delete(o);
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_map),
        cmocka_unit_test(test_validate_options),
        cmocka_unit_test(test_create_body),
        cmocka_unit_test(test_non_json),
        cmocka_unit_test_setup_teardown(test_paths, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_offers, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_serverless, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_retry_after, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_502_twice, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_timeout, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_truncated, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_drop_register, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_drop_deploy, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_502_register, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_bad_credentials, fx_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_capacity, fx_setup, pf_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
