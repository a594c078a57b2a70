/* test_providers_datarobot_wire.c: the DataRobot adapter against fixtures written from
 * DataRobot's public sources (tests/fixtures/wire/datarobot/SOURCES.md): a scripted loopback
 * server answers with the response fixtures and keeps what the adapter sent, so the parsers
 * read every response fixture and the bodies the builders produce are checked against the
 * request fixtures' shapes; then the simulator serves the same shapes and refuses the old
 * ones (the settings{...} body, uppercase importance, unknown fields) with DataRobot's 422. */
#include "test_prov_fixture.h"
#include "test_script_server.h"
#include "test_wire_util.h"

#include "common/json.h"
#include "providers/datarobot.h"
#include "providers/sim/sim_datarobot.h"

#define WL_ID "68b0c1d2e3f4a5b6c7d8e9f1"
#define SECRET "dr-wire-token"

/* The fixture's text (asserted present). */
static char *fixture(const char *file)
{
    return wire_text_must("datarobot", file);
}

typedef struct {
    ss_script ss;
    int statuses[SS_MAX];
    char *bodies[SS_MAX];
    prov_adapter *a;
    char err[PROV_ERR_MAX];
} wire;

/* Serves the fixtures (status, file) in order, one per request; an adapter points at it. */
static void serve(wire *w, int n, const int *statuses, const char *const *files)
{
    memset(w, 0, sizeof(*w));
    for (int i = 0; i < n; i++) {
        w->statuses[i] = statuses[i];
        w->bodies[i] = files[i] ? fixture(files[i]) : NULL;
    }
    w->ss.statuses = w->statuses;
    w->ss.bodies = (const char *const *)w->bodies;
    w->ss.n = n;
    assert_int_equal(ss_start(&w->ss), 0);
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v2", w->ss.port);
    cJSON *set = cJSON_Parse("{\"rate_per_gpu_hour\":\"2.10\",\"max_gpus\":16}");
    assert_int_equal(prov_adapter_init(&prov_datarobot_ops, "datarobot", url, SECRET, set, &w->a),
                     GB_OK);
    cJSON_Delete(set);
    w->a->policy.max_retries = 0;
}

static void done(wire *w, int want_served)
{
    ss_stop(&w->ss);
    assert_int_equal(w->ss.served, want_served);
    prov_adapter_free(w->a);
    for (int i = 0; i < SS_MAX; i++)
        free(w->bodies[i]);
}

/* The request line of request i starts with want ("GET /api/v2/workloads/x/ "). */
static void request_line(const wire *w, int i, const char *want)
{
    if (strncmp(w->ss.got[i], want, strlen(want)) != 0)
        fail_msg("request %d: want '%s', sent '%.120s'", i, want, w->ss.got[i]);
    assert_non_null(strstr(w->ss.got[i], "Authorization: Bearer " SECRET));
}

/* The JSON body of request i. */
static cJSON *request_body(const wire *w, int i)
{
    cJSON *j = wire_request_json(w->ss.got[i]);
    if (!j) fail_msg("request %d: no whole JSON body: %.200s", i, w->ss.got[i]);
    return j;
}

static void fits(const cJSON *produced, const char *file)
{
    wire_expect_fits(produced, "datarobot", file);
}

/* ---- the parsers read every response fixture ---- */

static void test_get_workload(void **state)
{
    (void)state;
    wire w;
    prov_pod p;
    serve(&w, 1, (const int[]){200}, (const char *const[]){"workload.json"});
    assert_int_equal(prov_datarobot_ops.get(w.a, WL_ID, &p, w.err), GB_OK);
    request_line(&w, 0, "GET /api/v2/workloads/" WL_ID "/ ");
    done(&w, 1);
    assert_string_equal(p.provider_id, WL_ID);
    assert_string_equal(p.name, "my-api-service");
    assert_int_equal(p.status, POD_RUNNING);
    assert_string_equal(p.raw_status, "running");
    assert_int_equal(p.gpu_count, 2); /* replicaCount 2 x gpu 1 */
    assert_string_equal(p.gpu_type, "A100-80GB");
    assert_int_equal(p.price_per_hour, 4200000);
    assert_non_null(strstr(p.url, "/endpoints/workloads/" WL_ID "/"));
    assert_true(p.created_at > 0);
    assert_string_equal(p.message, "");

    /* terminated: unrecoverable, failed; the reason is the log tail's last line */
    serve(&w, 1, (const int[]){200}, (const char *const[]){"workload_errored.json"});
    assert_int_equal(prov_datarobot_ops.get(w.a, "68b0c1d2e3f4a5b6c7d8e9f3", &p, w.err), GB_OK);
    done(&w, 1);
    assert_int_equal(p.status, POD_FAILED);
    assert_string_equal(p.raw_status, "terminated");
    assert_string_equal(p.message, "exec /app/server: exec format error");
    assert_int_equal(p.gpu_count, 2);
}

static void test_offers_from_bundles(void **state)
{
    (void)state;
    wire w;
    prov_offer *o = NULL;
    size_t n = 0;
    serve(&w, 2, (const int[]){200, 200},
          (const char *const[]){"bundles.json", "workload_list.json"});
    /* the two reads run at once: each is answered by its path, whatever comes first */
    static const char *const routes[] = {"GET /api/v2/mlops/compute/bundles/?offset=0&limit=100 ",
                                         "GET /api/v2/workloads/?offset=0&limit=100 "};
    w.ss.routes = routes;
    assert_int_equal(prov_datarobot_ops.list_offers(w.a, &o, &n, w.err), GB_OK);
    assert_true(w.ss.used[0] && w.ss.used[1]);
    done(&w, 2);
    assert_int_equal(n, 1); /* cpu.small has no GPU; gpu.a100.large is deleted */
    assert_string_equal(o[0].offer_id, "gpu.l4.small");
    assert_string_equal(o[0].id, "datarobot:gpu.l4.small");
    assert_string_equal(o[0].gpu_type, "L4");
    assert_int_equal(o[0].gpu_count, 1);
    assert_int_equal(o[0].gpu_vram_gb, 24);
    assert_int_equal(o[0].vcpu, 8);
    assert_int_equal(o[0].ram_gb, 32);
    assert_int_equal(o[0].price_per_hour, 2100000);
    assert_int_equal(o[0].available_gpus, 14); /* 16 minus the running workload's 2 */
    free(o);
}

static void test_create_body(void **state)
{
    (void)state;
    wire w;
    prov_pod p;
    static const char *const env[] = {"MODEL=llama"};
    static const int ports[] = {8000};
    cJSON *opts = cJSON_Parse("{\"importance\":\"HIGH\",\"cpu\":4,\"memory_mb\":2048}");
    prov_create_req req = {.name = "my-api-service",
                           .offer_id = "gpu.l4.small",
                           .image = "ghcr.io/org/my-app:latest",
                           .gpu_count = 2,
                           .env = env,
                           .nenv = 1,
                           .ports = ports,
                           .nports = 1,
                           .options = opts};
    serve(&w, 2, (const int[]){200, 201}, (const char *const[]){"bundle.json", "workload.json"});
    assert_int_equal(prov_datarobot_ops.create(w.a, &req, &p, w.err), GB_OK);
    request_line(&w, 0, "GET /api/v2/mlops/compute/bundles/gpu.l4.small/ ");
    request_line(&w, 1, "POST /api/v2/workloads/ ");
    cJSON *body = request_body(&w, 1);
    done(&w, 2);
    fits(body, "create_request.json");
    /* the values the source asks for */
    assert_string_equal(gb_jstr(body, "importance"), "high");
    const cJSON *c = cJSON_GetArrayItem(gb_jpath(body, "artifact.spec.containerGroups"), 0);
    c = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "containers"), 0);
    assert_true(gb_jint(c, "port", 0) >= 1024);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "primary")));
    const cJSON *g = cJSON_GetArrayItem(gb_jpath(body, "runtime.containerGroups"), 0);
    assert_int_equal(gb_jint(g, "replicaCount", 0), 2); /* 2 GPUs of a 1-GPU bundle */
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(g, "resourceBundles"), 0)->valuestring,
        "gpu.l4.small");
    assert_string_equal(
        gb_jstr(gb_jpath(cJSON_GetArrayItem(cJSON_GetObjectItem(g, "containers"), 0),
                         "resourceAllocation"),
                "memory"),
        "2048MB");
    assert_null(cJSON_GetObjectItem(body, "settings"));
    cJSON_Delete(body);
    assert_string_equal(p.provider_id, WL_ID);

    /* autoscaling instead of replicaCount */
    cJSON_Delete(opts);
    opts = cJSON_Parse("{\"min_replicas\":1,\"max_replicas\":4}");
    req.options = opts;
    req.gpu_count = 1;
    serve(&w, 2, (const int[]){200, 201}, (const char *const[]){"bundle.json", "workload.json"});
    assert_int_equal(prov_datarobot_ops.create(w.a, &req, &p, w.err), GB_OK);
    body = request_body(&w, 1);
    done(&w, 2);
    fits(body, "create_request.json");
    g = cJSON_GetArrayItem(gb_jpath(body, "runtime.containerGroups"), 0);
    assert_null(cJSON_GetObjectItem(g, "replicaCount"));
    assert_int_equal(gb_jint(cJSON_GetObjectItem(g, "autoscaling"), "maxReplicaCount", 0), 4);
    cJSON_Delete(body);
    cJSON_Delete(opts);
}

static void test_day2_calls(void **state)
{
    (void)state;
    wire w;
    cJSON *j = NULL;
    /* start/stop: POST .../start/ and .../stop/ with {} */
    serve(&w, 2, (const int[]){202, 200},
          (const char *const[]){"operation_response.json", "operation_response.json"});
    assert_int_equal(prov_datarobot_ops.start(w.a, WL_ID, w.err), GB_OK);
    assert_int_equal(prov_datarobot_ops.stop(w.a, WL_ID, w.err), GB_OK);
    request_line(&w, 0, "POST /api/v2/workloads/" WL_ID "/start/ ");
    request_line(&w, 1, "POST /api/v2/workloads/" WL_ID "/stop/ ");
    done(&w, 2);

    /* update: PATCH /workloads/{id}/ */
    cJSON *ch =
        cJSON_Parse("{\"name\":\"renamed\",\"description\":\"x\",\"importance\":\"CRITICAL\"}");
    serve(&w, 1, (const int[]){200}, (const char *const[]){"workload.json"});
    assert_int_equal(prov_datarobot_ops.update(w.a, WL_ID, ch, w.err), GB_OK);
    request_line(&w, 0, "PATCH /api/v2/workloads/" WL_ID "/ ");
    j = request_body(&w, 0);
    done(&w, 1);
    fits(j, "update_request.json");
    assert_string_equal(gb_jstr(j, "importance"), "critical");
    cJSON_Delete(j);
    cJSON_Delete(ch);

    /* settings: GET and PATCH {runtime} -> Replacement */
    serve(&w, 2, (const int[]){200, 202},
          (const char *const[]){"settings.json", "replacement.json"});
    assert_int_equal(prov_datarobot_settings_get(w.a, WL_ID, &j, w.err), GB_OK);
    assert_int_equal(
        gb_jint(cJSON_GetArrayItem(gb_jpath(j, "runtime.containerGroups"), 0), "replicaCount", 0),
        3);
    assert_int_equal(prov_datarobot_settings_patch(w.a, WL_ID, j, w.err), GB_OK);
    request_line(&w, 0, "GET /api/v2/workloads/" WL_ID "/settings/ ");
    request_line(&w, 1, "PATCH /api/v2/workloads/" WL_ID "/settings/ ");
    cJSON *sent = request_body(&w, 1);
    done(&w, 2);
    fits(sent, "settings_patch_request.json");
    cJSON_Delete(sent);
    cJSON_Delete(j);

    /* protons, statusDetails, stats */
    serve(&w, 3, (const int[]){200, 200, 200},
          (const char *const[]){"protons.json", "status_details.json", "stats.json"});
    assert_int_equal(prov_datarobot_protons(w.a, WL_ID, &j, w.err), GB_OK);
    assert_string_equal(gb_jstr(cJSON_GetArrayItem(j, 0), "role"), "active");
    cJSON_Delete(j);
    assert_int_equal(
        prov_datarobot_proton_status(w.a, WL_ID, "68b0c1d2e3f4a5b6c7d8e9f2", &j, w.err), GB_OK);
    assert_string_equal(gb_jstr(gb_jpath(j, "overallStatus"), "state"), "errored");
    cJSON_Delete(j);
    assert_int_equal(prov_datarobot_stats(w.a, WL_ID, NULL, &j, w.err), GB_OK);
    assert_int_equal(gb_jint(gb_jpath(j, "metrics"), "totalRequests", 0), 1200);
    cJSON_Delete(j);
    request_line(&w, 0, "GET /api/v2/workloads/" WL_ID "/protons/?offset=0&limit=100 ");
    request_line(
        &w, 1, "GET /api/v2/workloads/" WL_ID "/protons/68b0c1d2e3f4a5b6c7d8e9f2/statusDetails/ ");
    request_line(&w, 2, "GET /api/v2/workloads/" WL_ID "/stats/ ");
    done(&w, 3);

    /* events: {timestamp, type, reason, message, details} */
    prov_event *ev = NULL;
    size_t n = 0;
    serve(&w, 1, (const int[]){200}, (const char *const[]){"events.json"});
    assert_int_equal(prov_datarobot_ops.events(w.a, WL_ID, &ev, &n, w.err), GB_OK);
    request_line(&w, 0, "GET /api/v2/workloads/" WL_ID "/events/?offset=0&limit=100 ");
    done(&w, 1);
    assert_int_equal(n, 2);
    assert_string_equal(ev[0].type, "StatusChange");
    assert_string_equal(ev[1].type, "BackOff");
    assert_string_equal(ev[1].message, "warning: Back-off restarting failed container main");
    assert_true(ev[1].at > ev[0].at);
    free(ev);
}

static void test_error_bodies(void **state)
{
    (void)state;
    wire w;
    prov_pod p;
    serve(&w, 4, (const int[]){422, 403, 409, 401},
          (const char *const[]){"error_422.json", "error_403_limit.json", "error_409.json",
                                "error_401.json"});
    assert_int_equal(prov_datarobot_ops.get(w.a, WL_ID, &p, w.err), GB_ERR_INVALID);
    assert_non_null(strstr(w.err, "(id: Artifact not found)"));
    assert_int_equal(prov_datarobot_ops.get(w.a, WL_ID, &p, w.err), GB_ERR_CAPACITY);
    assert_non_null(strstr(w.err, "exceeds the maximum allowed (3)"));
    assert_int_equal(prov_datarobot_ops.get(w.a, WL_ID, &p, w.err), GB_ERR_CONFLICT);
    assert_non_null(strstr(w.err, "must be stopped"));
    assert_int_equal(prov_datarobot_ops.get(w.a, WL_ID, &p, w.err), GB_ERR_AUTH);
    assert_non_null(strstr(w.err, "Invalid API key"));
    done(&w, 4);
}

/* ---- the simulator serves these shapes and refuses the old ones ---- */

/* The first 422 detail entry of j has path and code. */
static void refused_at(cJSON *j, long st, const char *path, const char *code)
{
    if (st != 422) fail_msg("want 422 at %s, got %ld %s", path, st, cJSON_PrintUnformatted(j));
    const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "detail"), 0);
    if (!d || strcmp(gb_jstr(d, "path"), path) != 0 || strcmp(gb_jstr(d, "code"), code) != 0)
        fail_msg("want 422 at %s (%s), got %s", path, code, cJSON_PrintUnformatted(j));
    cJSON_Delete(j);
}

static cJSON *sim_post(pf_fx *f, const char *body, long *st)
{
    return pf_http(f, "POST", "/api/v2/workloads/", body, "Authorization: Bearer ", SECRET, st);
}

/* POSTs body to the simulator's create and expects a 422 at path with code. */
static void refused(pf_fx *f, const char *body, const char *path, const char *code)
{
    long st = 0;
    cJSON *j = sim_post(f, body, &st);
    refused_at(j, st, path, code);
}

/* The create fixture without its "$required" annotations, with the simulator's bundle. */
static cJSON *create_fixture(void)
{
    cJSON *j = wire_json("datarobot", "create_request.json");
    assert_non_null(j);
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    /* strip every "$required":[...] member */
    for (char *p; (p = strstr(t, "\"$required\":"));) {
        char *e = strchr(p, ']');
        size_t skip = (size_t)(e - p) + 1 + (e[1] == ',' ? 1 : 0);
        memmove(p, p + skip, strlen(p + skip) + 1);
    }
    j = cJSON_Parse(t);
    free(t);
    assert_non_null(j);
    cJSON *g = cJSON_GetArrayItem(gb_jpath(j, "runtime.containerGroups"), 0);
    cJSON_DeleteItemFromObject(g, "autoscaling"); /* the fixture shows both; one is sent */
    cJSON_ReplaceItemInObject(g, "resourceBundles", cJSON_Parse("[\"gpu.a100.large\"]"));
    return j;
}

static void test_sim_shapes(void **state)
{
    (void)state;
    pf_fx *f = pf_start(sim_platform_datarobot(), SECRET);
    long st = 0;
    /* the source's own create body is taken */
    cJSON *body = create_fixture();
    char *text = cJSON_PrintUnformatted(body);
    cJSON *j = sim_post(f, text, &st);
    free(text);
    assert_int_equal(st, 201);
    /* and what the simulator answers, once running, fits the documented workload */
    char path[128];
    snprintf(path, sizeof(path), "/api/v2/workloads/%s/", gb_jstr(j, "id"));
    cJSON_Delete(j);
    pf_advance(f, 21000);
    j = pf_http(f, "GET", path, NULL, "Authorization: Bearer ", SECRET, &st);
    assert_int_equal(st, 200);
    assert_string_equal(gb_jstr(j, "status"), "running");
    fits(j, "workload.json");
    snprintf(path, sizeof(path), "/api/v2/workloads/%s/events/", gb_jstr(j, "id"));
    cJSON_Delete(j);
    j = pf_http(f, "GET", path, NULL, "Authorization: Bearer ", SECRET, &st);
    assert_int_equal(st, 200);
    fits(j, "events.json");
    cJSON_Delete(j);
    j = pf_http(f, "GET", "/api/v2/mlops/compute/bundles/", NULL, "Authorization: Bearer ", SECRET,
                &st);
    assert_int_equal(st, 200);
    fits(j, "bundles.json");
    cJSON_Delete(j);

    /* the old settings{...} body: refused, nothing created */
    char *old = fixture("old_create_settings.json");
    refused(f, old, "settings", "extra_forbidden");
    free(old);
    /* uppercase importance */
    cJSON_ReplaceItemInObject(body, "importance", cJSON_CreateString("LOW"));
    text = cJSON_PrintUnformatted(body);
    refused(f, text, "importance", "invalid");
    free(text);
    cJSON_ReplaceItemInObject(body, "importance", cJSON_CreateString("low"));
    /* an unknown field deep inside: the container's resources belong to the runtime */
    cJSON *c = cJSON_GetArrayItem(gb_jpath(body, "artifact.spec.containerGroups"), 0);
    c = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "containers"), 0);
    cJSON_AddItemToObject(c, "resources", cJSON_Parse("{\"gpu\":1}"));
    text = cJSON_PrintUnformatted(body);
    refused(f, text, "artifact.spec.containerGroups[0].containers[0].resources", "extra_forbidden");
    free(text);
    cJSON_DeleteItemFromObject(c, "resources");
    /* a port below 1024, two bundles, replicaCount with autoscaling */
    cJSON_ReplaceItemInObject(c, "port", cJSON_CreateNumber(80));
    text = cJSON_PrintUnformatted(body);
    refused(f, text, "artifact.spec.containerGroups[0].containers[0].port", "invalid");
    free(text);
    cJSON_ReplaceItemInObject(c, "port", cJSON_CreateNumber(8000));
    cJSON *g = cJSON_GetArrayItem(gb_jpath(body, "runtime.containerGroups"), 0);
    cJSON_ReplaceItemInObject(g, "resourceBundles",
                              cJSON_Parse("[\"gpu.a100.large\",\"cpu.small\"]"));
    text = cJSON_PrintUnformatted(body);
    refused(f, text, "runtime.containerGroups[0].resourceBundles", "invalid");
    free(text);
    cJSON_ReplaceItemInObject(g, "resourceBundles", cJSON_Parse("[\"gpu.a100.large\"]"));
    cJSON_AddItemToObject(
        g, "autoscaling",
        cJSON_Parse("{\"enabled\":true,\"minReplicaCount\":1,\"maxReplicaCount\":2}"));
    text = cJSON_PrintUnformatted(body);
    refused(f, text, "runtime.containerGroups[0]", "invalid");
    free(text);
    cJSON_Delete(body);
    /* the old settings PATCH shape */
    j = pf_state(f);
    snprintf(path, sizeof(path), "/api/v2/workloads/%s/settings/",
             gb_jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "workloads"), 0), "id"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "workloads")), 1); /* only one */
    cJSON_Delete(j);
    j = pf_http(f, "PATCH", path, "{\"replicas\":2}", "Authorization: Bearer ", SECRET, &st);
    refused_at(j, st, "replicas", "extra_forbidden");
    /* the old paths without the trailing "/" are not served */
    cJSON_Delete(
        pf_http(f, "GET", "/api/v2/workloads", NULL, "Authorization: Bearer ", SECRET, &st));
    assert_int_equal(st, 404);
    pf_stop(f); /* f->a is NULL: no adapter was made */
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_workload), cmocka_unit_test(test_offers_from_bundles),
        cmocka_unit_test(test_create_body),  cmocka_unit_test(test_day2_calls),
        cmocka_unit_test(test_error_bodies), cmocka_unit_test(test_sim_shapes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
