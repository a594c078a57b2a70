/* test_providers_runai_map.c: the Run:ai adapter's pure parts (every phase and v2 sync status
 * mapped, GPU counts read, options validated with the field named, offers shaped by the
 * settings, the price limit) and the Run:ai simulator's own API checks (token grant, manifest
 * forms and limits, YAML subset, ids, PUT) and scheduler (workloads beyond the cluster's GPUs
 * stay Pending; the capacity fault). */
#include "test_providers_runai_util.h"

#include "common/base64.h"
#include "common/str.h"
#include "providers/runai_int.h"

static void test_status_mapping(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        pod_status want;
    } cases[] = {
        {"Creating", POD_PENDING},
        {"Pending", POD_PENDING},
        {"Initializing", POD_DEPLOYING},
        {"Resuming", POD_DEPLOYING},
        {"Running", POD_RUNNING},
        {"Updating", POD_RUNNING},
        {"Degraded", POD_RUNNING},
        {"Stopping", POD_STOPPING},
        {"Terminating", POD_STOPPING},
        {"Deleting", POD_STOPPING},
        {"Stopped", POD_STOPPED},
        {"Completed", POD_SUCCEEDED},
        {"Failed", POD_FAILED},
        {"Deleted", POD_UNKNOWN}, /* a desiredPhase / syncInfo value, not a Phase */
        {"Unknown", POD_UNKNOWN},
        {"RUNNING", POD_RUNNING},
        {"running", POD_RUNNING},
        {"pEnDiNg", POD_PENDING},
        {"STOPPED", POD_STOPPED},
        {"completed", POD_SUCCEEDED},
        {"degraded", POD_RUNNING},
        {"TERMINATING", POD_STOPPING},
        {"Exploded", POD_UNKNOWN},
        {"Running ", POD_UNKNOWN},
        {"", POD_UNKNOWN},
        {NULL, POD_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(prov_runai_ops.map_status(cases[i].raw), cases[i].want);
}

/* A v2 answer's syncInfo.status: every value of WorkloadV2SyncStatus (Queued, Applying,
 * Deleting, Synced, Deleted, Failed; runai-professional-services/runapy,
 * .generator/swagger.json 1.224.0). */
static void test_v2_sync_status(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        pod_status want;
    } cases[] = {
        {"Queued", POD_PENDING},    {"Applying", POD_PENDING}, {"Synced", POD_PENDING},
        {"Deleting", POD_STOPPING}, {"Deleted", POD_DELETED},  {"Failed", POD_FAILED},
    };
    runai_settings s = {0};
    for (size_t i = 0; i < GB_ARRAY_LEN(cases); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "{\"workload\":{\"metadata\":{\"id\":\"" NOPE_ID "\",\"name\":\"w\"}},"
                 "\"syncInfo\":{\"status\":\"%s\"}}",
                 cases[i].raw);
        cJSON *j = cJSON_Parse(text);
        assert_non_null(j);
        prov_pod p;
        assert_int_equal(prov_runai_parse_v2(&s, j, &p), 0);
        assert_string_equal(p.raw_status, cases[i].raw);
        assert_int_equal(p.status, cases[i].want);
        cJSON_Delete(j);
    }
}

/* The GPUs (and so the price) of a v1 Workload (schema Workload in
 * runai-professional-services/runapy, .generator/swagger.json 1.224.0): gpu.request is a
 * RequestResourceCores number (format double: Run:ai's fractional GPUs), and a fraction holds
 * a whole GPU for billing; when workloadRequestedResources is null (it is nullable),
 * podsRequestedResources is per pod, times requestedPods.number. */
static void test_v1_gpus(void **state)
{
    fx *f = *state;
    static const struct {
        const char *res;
        int gpus;
    } cases[] = {
        {"\"workloadRequestedResources\":{\"gpuRequestType\":\"portion\",\"gpu\":{"
         "\"request\":0.5,\"limit\":0.5}}",
         1},
        {"\"workloadRequestedResources\":{\"gpu\":{\"request\":1.5}}", 2},
        {"\"workloadRequestedResources\":{\"gpu\":{\"request\":3}}", 3},
        {"\"workloadRequestedResources\":null,\"podsRequestedResources\":{\"gpuRequestType\":"
         "\"portion\",\"gpu\":{\"request\":2,\"limit\":2}},\"requestedPods\":{\"number\":3}",
         6},
        {"\"podsRequestedResources\":{\"gpu\":{\"request\":0.25}},\"requestedPods\":{"
         "\"number\":4}",
         4},
        {"\"podsRequestedResources\":{\"gpu\":{\"request\":2}},\"requestedPods\":{"
         "\"number\":null}",
         2},
    };
    runai_settings s;
    assert_int_equal(prov_runai_settings(f->a, &s, f->err), GB_OK);
    for (size_t i = 0; i < GB_ARRAY_LEN(cases); i++) {
        char text[512];
        snprintf(text, sizeof(text), "{\"id\":\"" NOPE_ID "\",\"phase\":\"Running\",%s}",
                 cases[i].res);
        cJSON *j = cJSON_Parse(text);
        assert_non_null(j);
        prov_pod p;
        assert_int_equal(prov_runai_parse_v1(&s, j, &p), 0);
        assert_int_equal(p.gpu_count, cases[i].gpus);
        assert_int_equal(p.price_per_hour, cases[i].gpus * 1800000);
        cJSON_Delete(j);
    }
}

static void test_validate_options(void **state)
{
    fx *f = *state;
    static const pf_opt_case cases[] = {
        {"{\"command\":[\"python\",\"train.py\"],\"args\":[\"--epochs\",\"3\"]}", NULL},
        {"{\"command\":\"sleep infinity\",\"project\":\"team-b\",\"priority\":\"very-high\"}",
         NULL},
        {"{\"workload_kind\":\"Deployment\",\"priority\":\"medium-low\"}", NULL},
        {"{}", NULL},
        {"{\"foo\":1}", "'foo'"},
        {"{\"command\":[]}", "'command'"},
        {"{\"command\":[1]}", "'command'"},
        {"{\"command\":\"\"}", "'command'"},
        {"{\"args\":\"--x\"}", "'args'"},
        {"{\"project\":\"Team A\"}", "'project'"},
        {"{\"project\":7}", "'project'"},
        {"{\"priority\":\"urgent\"}", "'priority'"},
        {"{\"priority\":\"train\"}", "'priority'"},       /* not in the spec's list */
        {"{\"priority\":\"inference\"}", "'priority'"},   /* not in the spec's list */
        {"{\"node_pool\":\"h100-pool\"}", "'node_pool'"}, /* no nodePool in v2 metadata */
        {"{\"workload_kind\":\"Job\"}", "'workload_kind'"},
        {"[1]", "JSON object"},
    };
    pf_check_options(&prov_runai_ops, cases, GB_ARRAY_LEN(cases));
    prov_pod p; /* create refuses bad options before sending anything */
    int before = pf_total_requests(f);
    assert_int_equal(create(f, "gpb-bad", "gpu-1", 1, "{\"priority\":\"urgent\"}", &p),
                     GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "priority"));
    assert_int_equal(pf_total_requests(f), before);
}

static void test_offers_from_settings(void **state)
{
    fx *f = *state;
    prov_offer *o = NULL;
    size_t n = 0;
    prov_adapter *a = adapter(f, CREDS, sim_platform_runai()->sandbox_settings);
    assert_string_equal(sim_platform_runai()->api_path, "");
    assert_int_equal(prov_runai_ops.list_offers(a, &o, &n, f->err), GB_OK); /* the sandbox's */
    assert_int_equal(n, 4);
    assert_int_equal(o[3].price_per_hour, 8 * 1800000);
    assert_int_equal(o[3].available_gpus, 16);
    free(o);
    prov_adapter_free(a);
    a = adapter(f, CREDS,
                "{\"rate_per_gpu_hour\":2.5,\"gpu_type\":\"NVIDIA A100 "
                "80GB\",\"gpus_per_node\":6,\"project\":\"team-a\"}");
    assert_int_equal(prov_runai_ops.list_offers(a, &o, &n, f->err), GB_OK);
    assert_int_equal(n, 4); /* 1, 2, 4 and the whole node */
    assert_int_equal(o[3].gpu_count, 6);
    assert_string_equal(o[3].offer_id, "gpu-6");
    assert_int_equal(o[3].price_per_hour, 15000000);
    assert_string_equal(o[0].gpu_type, "A100-80GB");
    assert_string_equal(o[0].gpu_name, "NVIDIA A100 80GB");
    assert_int_equal(o[0].gpu_vram_gb, 80);
    assert_int_equal(o[0].available_gpus, 6); /* max_gpus defaults to one node */
    free(o);
    prov_adapter_free(a);
    a = adapter(f, CREDS, "{\"gpu_type\":\"H100\"}");
    assert_int_equal(prov_runai_ops.list_offers(a, &o, &n, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "rate_per_gpu_hour"));
    prov_pod p;
    assert_int_equal(
        prov_runai_ops.create(
            a, &(prov_create_req){.name = "gpb-np", .image = IMAGE, .gpu_count = 1}, &p, f->err),
        GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "project"));
    prov_adapter_free(a);
    a = adapter(f, CREDS, "{\"rate_per_gpu_hour\":\"cheap\"}");
    assert_int_equal(prov_runai_ops.list_offers(a, &o, &n, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "settings: field 'rate_per_gpu_hour'"));
    prov_adapter_free(a);
    a = adapter(f, CREDS, "{\"rate_per_gpu_hour\":\"1\",\"gpus_per_node\":0}");
    assert_int_equal(prov_runai_ops.list_offers(a, &o, &n, f->err), GB_ERR_INVALID);
    assert_non_null(strstr(f->err, "gpus_per_node"));
    prov_adapter_free(a);
    /* a max_price_per_hour below the operator's rate */
    assert_int_equal(prov_runai_ops.create(f->a,
                                           &(prov_create_req){.name = "gpb-max",
                                                              .image = IMAGE,
                                                              .gpu_count = 2,
                                                              .max_price_per_hour = 3000000},
                                           &p, f->err),
                     GB_ERR_CONFLICT);
    assert_non_null(strstr(f->err, "price"));
    /* no gpu_count: the offer's GPUs are what is billed (gpu-8: 8 x $1.80 = $14.40) */
    assert_int_equal(prov_runai_ops.create(f->a,
                                           &(prov_create_req){.name = "gpb-max8",
                                                              .image = IMAGE,
                                                              .offer_id = "gpu-8",
                                                              .max_price_per_hour = 10000000},
                                           &p, f->err),
                     GB_ERR_CONFLICT);
    assert_non_null(strstr(f->err, "$14.40/hour"));
    assert_int_equal(pf_route_count(f, "POST /api/v2/workloads"), 0);
    assert_int_equal(workloads_named(f, "gpb-max8"), 0);
}

/* Beyond the cluster's 16 GPUs a workload waits in Pending; the capacity fault is a 409 quota
 * refusal the adapter reports as GB_ERR_CAPACITY. */
static void test_capacity(void **state)
{
    fx *f = *state;
    prov_pod a, b, c, g;
    prov_offer *o = NULL;
    size_t n = 0;
    assert_int_equal(create(f, "gpb-cap-a", "gpu-8", 8, NULL, &a), GB_OK);
    assert_int_equal(create(f, "gpb-cap-b", "gpu-8", 8, NULL, &b), GB_OK);
    assert_int_equal(create(f, "gpb-cap-c", "gpu-1", 1, NULL, &c), GB_OK);
    pf_advance(f, 21000);
    assert_int_equal(prov_runai_ops.get(f->a, a.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);
    assert_int_equal(prov_runai_ops.get(f->a, c.provider_id, &g, f->err), GB_OK);
    assert_string_equal(g.raw_status, "Pending");
    assert_int_equal(g.status, POD_PENDING);
    assert_non_null(strstr(g.message, "not enough free GPUs"));
    assert_int_equal(prov_runai_ops.list_offers(f->a, &o, &n, f->err), GB_OK);
    assert_int_equal(o[0].available_gpus, 0); /* 17 asked for, 16 there */
    assert_int_equal(o[0].available, 0);
    free(o);
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/v2/workloads\","
                "\"capacity_error\":true,\"count\":1}");
    assert_int_equal(create(f, "gpb-cap-d", "gpu-1", 1, NULL, &g), GB_ERR_CAPACITY);
    assert_non_null(strstr(f->err, "Insufficient capacity"));
    assert_int_equal(workloads_named(f, "gpb-cap-d"), 0);
    assert_int_equal(prov_runai_ops.remove(f->a, a.provider_id, f->err), GB_OK);
    pf_advance(f, 3500); /* the deleted workload's GPUs go to the pending one */
    assert_int_equal(prov_runai_ops.get(f->a, c.provider_id, &g, f->err), GB_OK);
    assert_string_equal(g.raw_status, "Initializing");
    pf_advance(f, 15000);
    assert_int_equal(prov_runai_ops.get(f->a, c.provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);
    assert_int_equal(create(f, "gpb-cap-e", "gpu-8", 8, NULL, &a), GB_OK);
    pf_advance(f, 6000); /* 7 GPUs free on one node: the 8-GPU pod waits */
    assert_int_equal(prov_runai_ops.get(f->a, a.provider_id, &g, f->err), GB_OK);
    assert_string_equal(g.raw_status, "Pending");
}

static long post(fx *f, const char *tok, const char *path, const char *body, char *msg)
{
    long st = 0;
    cJSON *j = http(f, "POST", path, body, tok, &st);
    const cJSON *m = cJSON_GetObjectItem(j, "message");
    snprintf(msg, 256, "%s", cJSON_IsString(m) ? m->valuestring : "");
    if (st == 202)
        snprintf(msg, 256, "%s",
                 cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "id")->valuestring);
    cJSON_Delete(j);
    return st;
}

static char *body_b64(const char *name, const char *yaml)
{
    char *enc = b64(yaml);
    size_t n = strlen(enc) + 200;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n,
             "{\"metadata\":{\"name\":\"%s\",\"projectId\":\"1\"},"
             "\"manifestBase64Encoded\":\"%s\"}",
             name, enc);
    free(enc);
    return out;
}

static const char YAML_OK[] = "# hand-written, in the styles kubectl users write\n"
                              "apiVersion: v1\n"
                              "kind: Pod\n"
                              "metadata:\n"
                              "  name: raw-one   # trailing comment\n"
                              "spec:\n"
                              "  containers:\n"
                              "  - name: main\n"
                              "    image: 'busybox:1.36'\n"
                              "    args: [\"sh\"]\n"
                              "    env:\n"
                              "      - name: GREETING\n"
                              "        value: \"it's \\\"quoted\\\"\\n\"\n"
                              "      - name: SINGLE\n"
                              "        value: 'it''s'\n"
                              "    resources:\n"
                              "      limits:\n"
                              "        \"nvidia.com/gpu\": \"1\"\n";

static void test_sim_api(void **state)
{
    fx *f = *state;
    char tok[64], msg[256], path[320];
    long st = 0;
    raw_token(f, tok);
    cJSON_Delete(http(f, "POST", "/api/v1/token",
                      "{\"grantType\":\"password\",\"clientID\":"
                      "\"client-id\",\"clientSecret\":\"x\"}",
                      NULL, &st));
    assert_int_equal(st, 400);
    /* flow collections are outside the simulator's YAML subset */
    char *b = body_b64("raw-one", YAML_OK);
    assert_int_equal(post(f, tok, "/api/v2/workloads", b, msg), 400);
    assert_non_null(strstr(msg, "line 10"));
    free(b);
    char *yaml = gb_strdup(YAML_OK), *flow = strstr(yaml, "    args: [\"sh\"]\n");
    memmove(flow, flow + 17, strlen(flow + 17) + 1);
    b = body_b64("raw-one", yaml);
    assert_int_equal(post(f, tok, "/api/v2/workloads?dryRun=true", b, msg), 400); /* no such */
    assert_non_null(strstr(msg, "dryRun"));
    assert_int_equal(workloads_named(f, "raw-one"), 0);
    assert_int_equal(post(f, tok, "/api/v2/workloads", b, msg), 202);
    assert_int_equal(post(f, tok, "/api/v2/workloads", b, path), 409);
    free(b);
    b = body_b64("other-name", yaml);
    assert_int_equal(post(f, tok, "/api/v2/workloads", b, path), 400);
    assert_non_null(strstr(path, "differs"));
    free(b);
    free(yaml);
    cJSON *w = state_workload(f, msg);
    assert_int_equal(cJSON_GetObjectItem(w, "requestedGPUs")->valueint, 1);
    const cJSON *c = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(w, "rawManifest"), "spec"),
                            "containers"),
        0);
    assert_string_equal(cJSON_GetObjectItem(c, "image")->valuestring, "busybox:1.36");
    const cJSON *env = cJSON_GetObjectItem(c, "env");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(env, 0), "value")->valuestring,
                        "it's \"quoted\"\n");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(env, 1), "value")->valuestring,
                        "it's");
    cJSON_Delete(w);
    static const struct {
        const char *body;
        const char *why;
    } bad[] = {
        {"{\"metadata\":{\"name\":\"x\",\"projectId\":\"1\"},\"manifest\":{},"
         "\"manifestBase64Encoded\":\"YQ==\"}",
         "mutually exclusive"},
        {"{\"metadata\":{\"name\":\"x\",\"projectId\":\"1\"}}", "required"},
        {"{\"metadata\":{\"name\":\"x\",\"projectId\":\"1\"},\"manifestBase64Encoded\":"
         "\"@@@\"}",
         "base 64"},
        {"{\"metadata\":{\"name\":\"x\",\"projectId\":\"1\"},\"manifestBase64Encoded\":"
         "\"IyBvbmx5IGEgY29tbWVudAo=\"}",
         "empty"},
        {"{\"manifestBase64Encoded\":\"YQ==\"}", "metadata is required"},
        {"{\"metadata\":{\"name\":\"x\",\"projectId\":\"nobody\"},\"manifest\":{}}", "project"},
        {"{\"metadata\":{\"name\":\"json-one\",\"projectId\":\"1\"},\"manifest\":{"
         "\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"json-one\"}}}",
         "not registered"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(post(f, tok, "/api/v2/workloads", bad[i].body, msg), 400);
        assert_non_null(strstr(msg, bad[i].why));
    }
    size_t big = 2097152 + 4; /* just above 2 MiB of base 64 */
    char *huge = malloc(big + 128);
    assert_non_null(huge);
    int k = snprintf(huge, 128,
                     "{\"metadata\":{\"name\":\"x\",\"projectId\":\"1\"},"
                     "\"manifestBase64Encoded\":\"");
    memset(huge + k, 'A', big);
    snprintf(huge + k + big, 8, "\"}");
    assert_int_equal(post(f, tok, "/api/v2/workloads", huge, msg), 400);
    assert_non_null(strstr(msg, "2 MiB"));
    free(huge);
    /* the JSON form of a manifest */
    assert_int_equal(post(f, tok, "/api/v2/workloads",
                          "{\"metadata\":{\"name\":\"json-one\",\"projectId\":\"1\"},"
                          "\"manifest\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
                          "\"name\":\"json-one\"},\"spec\":{\"containers\":[{\"name\":\"c\","
                          "\"image\":\"busybox\"}]}}}",
                          msg),
                     202);
    snprintf(path, sizeof(path), "/api/v2/workloads/%s", msg);
    cJSON_Delete(http(f, "PUT", path,
                      "{\"metadata\":{\"priority\":\"low\"},\"manifest\":{\"apiVersion\":\"v1\","
                      "\"kind\":\"Pod\",\"metadata\":{\"name\":\"json-one\"},\"spec\":{"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"busybox:2\"}]}}}",
                      tok, &st));
    assert_int_equal(st, 202);
    cJSON *w2 = state_workload(f, msg);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(w2, "metadata"), "priority")->valuestring, "low");
    cJSON_Delete(w2);
    cJSON_Delete(http(f, "PUT", path,
                      "{\"manifest\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
                      "\"metadata\":{\"name\":\"renamed\"},\"spec\":{\"containers\":"
                      "[{\"name\":\"c\",\"image\":\"busybox\"}]}}}",
                      tok, &st));
    assert_int_equal(st, 400);
    cJSON_Delete(http(f, "GET", "/api/v2/workloads/not-a-uuid", NULL, tok, &st));
    assert_int_equal(st, 400);
    cJSON_Delete(http(f, "GET", "/api/v2/workloads/" NOPE_ID, NULL, tok, &st));
    assert_int_equal(st, 404);
    cJSON_Delete(http(f, "DELETE", path, NULL, tok, &st));
    assert_int_equal(st, 202);
    cJSON_Delete(http(f, "PUT", path,
                      "{\"manifest\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
                      "\"name\":\"json-one\"},\"spec\":{\"containers\":[{\"name\":\"c\","
                      "\"image\":\"busybox\"}]}}}",
                      tok, &st));
    assert_int_equal(st, 409); /* being deleted */
    pf_advance(f, 301 * 1000);
    cJSON *j = http(f, "GET", "/api/v1/workloads", NULL, tok, &st);
    assert_int_equal(st, 401);
    assert_non_null(strstr(cJSON_GetObjectItem(j, "message")->valuestring, "expired"));
    cJSON_Delete(j);
}

/* Paging of the list: the adapter follows "next". */
static void test_list_pages(void **state)
{
    fx *f = *state;
    char tok[64], msg[256];
    raw_token(f, tok);
    for (int i = 0; i < 520; i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"metadata\":{\"name\":\"w%d\",\"projectId\":\"2\"},\"manifest\":{"
                 "\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"w%d\"},\"spec\":"
                 "{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}",
                 i, i);
        assert_int_equal(post(f, tok, "/api/v2/workloads", body, msg), 202);
    }
    prov_pod *pods = NULL, p;
    size_t n = 0;
    assert_int_equal(prov_runai_ops.list_pods(f->a, &pods, &n, f->err), GB_OK);
    assert_int_equal(n, 520);
    free(pods);
    assert_int_equal(pf_route_count(f, "GET /api/v1/workloads"), 2);
    assert_int_equal(prov_runai_ops.find_by_name(f->a, "w519", &p, f->err), GB_OK);
    assert_string_equal(p.name, "w519");
    assert_int_equal(strlen(p.provider_id), 36);
}

/* The manifest is Unicode YAML: text that is not UTF-8, or a key no YAML parser would take
 * as a key, is refused; control and non-printable characters are escaped (found by
 * fuzz_runai_manifest, whose libyaml check rejected what was written before). */
static void test_manifest_text(void **state)
{
    fx *f = *state;
    char err[PROV_ERR_MAX], *b64 = NULL;
    static const char *const BAD[] = {
        "{\"kind\":\"Pod\",\"spec\":{\"x\":\"v1\xde\xd3\"}}", /* not UTF-8 */
        "{\"metadata\":{\"labels\":{\"a\\u0002b\":\"x\"}}}",  /* control char in a key */
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        cJSON *m = cJSON_Parse(BAD[i]);
        assert_non_null(m);
        assert_int_equal(prov_runai_manifest_encode(f->a, m, &b64, err), GB_ERR_INVALID);
        assert_null(b64);
        assert_non_null(strstr(err, "UTF-8"));
        cJSON_Delete(m);
    }
    cJSON *m = cJSON_Parse("{\"env\":\"a\\u0002b\\u0085c\\ufffed\\u00e9\"}");
    assert_int_equal(prov_runai_manifest_encode(f->a, m, &b64, err), GB_OK);
    unsigned char *yaml = NULL;
    size_t n = 0;
    assert_int_equal(gb_base64_decode(b64, &yaml, &n), GB_OK);
    assert_string_equal((char *)yaml, "env: \"a\\u0002b\\u0085c\\ufffed\xc3\xa9\"\n");
    free(yaml);
    free(b64);
    cJSON_Delete(m);
}

int main(void)
{
    gb_http_global_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_status_mapping),   T(test_v2_sync_status),       T(test_v1_gpus),
        T(test_validate_options), T(test_offers_from_settings), T(test_capacity),
        T(test_sim_api),          T(test_list_pages),           T(test_manifest_text),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
