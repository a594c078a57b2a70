/* test_providers_runai_wire.c: the Run:ai adapter and simulator against the contract fixtures
 * in tests/fixtures/wire/runai/ (written from the public OpenAPI spec, see SOURCES.md). A
 * scripted loopback server answers the adapter with the response fixtures (so its parsers read
 * every one) and keeps the requests, whose bodies must fit the request fixtures. Then the
 * simulator's own answers must fit the same fixtures, and it must refuse the old shapes the
 * adapter used to send (dryRun, nodePool, a project name as projectId, priorities the spec does
 * not list, the v2 list and PATCH, a JSON body on the OAuth2 token endpoint). */
#include "test_providers_runai_util.h"
#include "test_script_server.h"
#include "test_wire_util.h"

#include "common/base64.h"
#include "common/json.h"
#include "common/str.h"

#define WID "0b7f3c8e-3d1a-4f0e-9a43-6a1c2d3e4f50"        /* the fixtures' workload id */
#define FX_CLUSTER "71f69d83-ba66-4822-adf5-55ce55efd210" /* the fixtures' cluster id */
/* settings without a cluster id: the project's own (from the answer) is sent */
#define WIRE_SETTINGS                                                                              \
    "{\"rate_per_gpu_hour\":\"1.80\",\"gpu_type\":\"H100\",\"gpus_per_node\":8,"                   \
    "\"project\":\"team-a\"}"

/* A fixture, parsed (must exist). */
static cJSON *fx_json(const char *file)
{
    return wire_json_must("runai", file);
}

/* A fixture as compact text to serve (caller frees). */
static char *fx_text(const char *file)
{
    cJSON *j = fx_json(file);
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(t);
    return t;
}

typedef struct {
    ss_script ss;
    int statuses[SS_MAX];
    char *bodies[SS_MAX];
    prov_adapter *a;
    char err[PROV_ERR_MAX];
} wire_run;

/* Starts a script: each step is "STATUS file" (file NULL: an empty body), and an adapter for
 * it with the test settings. */
static void run_start(wire_run *w, int n, const int *statuses, const char *const *files)
{
    memset(w, 0, sizeof(*w));
    for (int i = 0; i < n; i++) {
        w->statuses[i] = statuses[i];
        w->bodies[i] = files[i] ? fx_text(files[i]) : gb_strdup("");
    }
    w->ss.statuses = w->statuses;
    w->ss.bodies = (const char *const *)w->bodies;
    w->ss.n = n;
    assert_int_equal(ss_start(&w->ss), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", w->ss.port);
    cJSON *s = cJSON_Parse(WIRE_SETTINGS);
    assert_int_equal(prov_adapter_init(&prov_runai_ops, "runai", url, CREDS, s, &w->a), GB_OK);
    cJSON_Delete(s);
    w->a->policy.max_retries = 0;
}

static void run_stop(wire_run *w, int served)
{
    prov_adapter_free(w->a);
    ss_stop(&w->ss);
    assert_int_equal(w->ss.served, served);
    for (int i = 0; i < SS_MAX; i++)
        free(w->bodies[i]);
}

/* The request line of captured request i starts with want. */
static void expect_line(const wire_run *w, int i, const char *want)
{
    if (strncmp(w->ss.got[i], want, strlen(want)) != 0)
        fail_msg("request %d: expected '%s', got '%.120s'", i, want, w->ss.got[i]);
}

static const char *body_of(const wire_run *w, int i)
{
    const char *b = strstr(w->ss.got[i], "\r\n\r\n");
    assert_non_null(b);
    return b + 4;
}

/* Request i's JSON body fits fixture file. */
static cJSON *expect_body_fits(const wire_run *w, int i, const char *file)
{
    cJSON *got = cJSON_Parse(body_of(w, i));
    wire_expect_fits(got, "runai", file);
    return got;
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A form body as a JSON object of strings (percent-decoded). */
static cJSON *form_json(const char *b)
{
    cJSON *o = cJSON_CreateObject();
    char key[64], val[256];
    while (*b) {
        size_t k = 0, v = 0;
        while (*b && *b != '=' && k + 1 < sizeof(key))
            key[k++] = *b++;
        assert_int_equal(*b, '=');
        b++;
        while (*b && *b != '&' && v + 1 < sizeof(val)) {
            if (*b == '%') {
                val[v++] = (char)(hexv(b[1]) * 16 + hexv(b[2]));
                b += 3;
            } else {
                val[v++] = *b++;
            }
        }
        key[k] = val[v] = '\0';
        cJSON_AddStringToObject(o, key, val);
        if (*b == '&') b++;
    }
    return o;
}

/* ---- the adapter against the fixtures ---- */

static void test_token_and_create(void **state)
{
    (void)state;
    static const int st[] = {200, 200, 202};
    static const char *const files[] = {"token_v2_response.json", "projects_list_response.json",
                                        "workloads_v2_create_response.json"};
    wire_run w;
    run_start(&w, 3, st, files);
    prov_create_req req = {.name = "gpb-life", .image = "nginx:latest", .gpu_count = 1};
    prov_pod p;
    assert_int_equal(prov_runai_ops.create(w.a, &req, &p, w.err), GB_OK);
    /* the token: an OAuth2 form that fits the spec's form schema */
    expect_line(&w, 0, "POST /api/v2/token ");
    assert_non_null(strstr(w.ss.got[0], "Content-Type: application/x-www-form-urlencoded"));
    cJSON *form = form_json(body_of(&w, 0)), *want = fx_json("token_v2_request.json");
    char why[512];
    if (!wire_shape_fits(form, want, why, sizeof(why))) fail_msg("token form: %s", why);
    assert_string_equal(gb_jstr(form, "grant_type"), "client_credentials");
    assert_string_equal(gb_jstr(form, "client_id"), "client-id");
    assert_string_equal(gb_jstr(form, "client_secret"), "client-secret");
    cJSON_Delete(form);
    cJSON_Delete(want);
    /* the project's id, looked up by name */
    expect_line(&w, 1, "GET /api/v1/org-unit/projects?filterBy=name%3D%3Dteam-a");
    assert_non_null(strstr(w.ss.got[1], "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpX"));
    /* the create: the spec's WorkloadV2CreateRequest, no query (no dryRun) */
    expect_line(&w, 2, "POST /api/v2/workloads HTTP/1.1");
    cJSON *body = expect_body_fits(&w, 2, "workloads_v2_create_request.json");
    assert_string_equal(gb_jstr(gb_jpath(body, "metadata"), "projectId"), "1");
    assert_string_equal(gb_jstr(gb_jpath(body, "metadata"), "clusterId"), FX_CLUSTER);
    assert_null(gb_jpath(body, "metadata.nodePool"));
    assert_non_null(gb_jstr(body, "manifestBase64Encoded"));
    cJSON_Delete(body);
    /* the 202 WorkloadV2 read */
    assert_string_equal(p.provider_id, WID);
    assert_string_equal(p.name, "gpb-life");
    assert_string_equal(p.raw_status, "Creating");
    assert_int_equal(p.status, POD_PENDING);
    assert_int_equal(p.gpu_count, 2); /* from the answer's rawManifest, not the request */
    assert_true(p.created_at > 0);
    run_stop(&w, 3);
}

static void test_get_v1(void **state)
{
    (void)state;
    static const int st[] = {200, 200};
    static const char *const files[] = {"token_v2_response.json", "workloads_v1_get_response.json"};
    wire_run w;
    run_start(&w, 2, st, files);
    prov_pod p;
    assert_int_equal(prov_runai_ops.get(w.a, WID, &p, w.err), GB_OK);
    expect_line(&w, 1, "GET /api/v1/workloads/" WID " ");
    assert_string_equal(p.provider_id, WID);
    assert_string_equal(p.name, "gpb-life");
    assert_string_equal(p.raw_status, "Pending");
    assert_int_equal(p.status, POD_PENDING);
    assert_non_null(strstr(p.message, "not enough free GPUs"));
    assert_int_equal(p.gpu_count, 2);
    assert_int_equal(p.price_per_hour, 2 * 1800000);
    assert_string_equal(p.url, "https://team-a-gpb-life.example.run.ai");
    assert_int_equal(p.created_at, INT64_C(1705314600000)); /* 2024-01-15T10:30:00Z */
    run_stop(&w, 2);
}

/* v1 does not know the id (yet): the v2 answer {workload, syncInfo} is read. */
static void test_get_v2_fallback(void **state)
{
    (void)state;
    static const int st[] = {200, 404, 200};
    static const char *const files[] = {"token_v2_response.json", "error.json",
                                        "workloads_v2_get_response.json"};
    wire_run w;
    run_start(&w, 3, st, files);
    prov_pod p;
    assert_int_equal(prov_runai_ops.get(w.a, WID, &p, w.err), GB_OK);
    expect_line(&w, 1, "GET /api/v1/workloads/" WID " ");
    expect_line(&w, 2, "GET /api/v2/workloads/" WID " ");
    assert_string_equal(p.provider_id, WID);
    assert_string_equal(p.name, "gpb-life");
    assert_string_equal(p.raw_status, "Synced");
    assert_int_equal(p.status, POD_PENDING);
    assert_string_equal(p.message, "applied to the cluster");
    assert_int_equal(p.gpu_count, 2);
    run_stop(&w, 3);
}

/* The list fixture says "next": 1, so the adapter asks for offset 1; that page says "next":
 * 1 again, not past the offset, and the walk ends. */
static void test_list_and_find(void **state)
{
    (void)state;
    static const int st[] = {200, 200, 200, 200, 200};
    static const char *const files[] = {"token_v2_response.json", "workloads_v1_list_response.json",
                                        "workloads_v1_list_response.json",
                                        "workloads_v1_list_response.json",
                                        "workloads_v1_list_response.json"};
    wire_run w;
    run_start(&w, 5, st, files);
    prov_pod *pods = NULL, p;
    size_t n = 0;
    assert_int_equal(prov_runai_ops.list_pods(w.a, &pods, &n, w.err), GB_OK);
    expect_line(&w, 1, "GET /api/v1/workloads?offset=0&limit=500 ");
    expect_line(&w, 2, "GET /api/v1/workloads?offset=1&limit=500 ");
    assert_int_equal(n, 2); /* one per page */
    assert_string_equal(pods[0].provider_id, WID);
    assert_string_equal(pods[0].raw_status, "Running");
    assert_int_equal(pods[0].status, POD_RUNNING);
    assert_int_equal(pods[0].gpu_count, 2);
    assert_string_equal(pods[0].url, "https://team-a-gpb-life.example.run.ai");
    free(pods);
    assert_int_equal(prov_runai_ops.find_by_name(w.a, "gpb-life", &p, w.err), GB_OK);
    expect_line(&w, 3, "GET /api/v1/workloads?offset=0&limit=500&filterBy=name%3D%3Dgpb-life ");
    assert_string_equal(p.provider_id, WID);
    assert_int_equal(p.status, POD_RUNNING);
    run_stop(&w, 5);
}

static void test_update_and_delete(void **state)
{
    (void)state;
    static const int st[] = {200, 200, 202, 202};
    static const char *const files[] = {"token_v2_response.json", "workloads_v2_get_response.json",
                                        "workloads_v2_create_response.json",
                                        "workloads_v2_create_response.json"};
    wire_run w;
    run_start(&w, 4, st, files);
    cJSON *ch = cJSON_Parse("{\"image\":\"nginx:1.27\"}");
    assert_int_equal(prov_runai_ops.update(w.a, WID, ch, w.err), GB_OK);
    cJSON_Delete(ch);
    expect_line(&w, 1, "GET /api/v2/workloads/" WID " ");
    expect_line(&w, 2, "PUT /api/v2/workloads/" WID " ");
    cJSON *body = expect_body_fits(&w, 2, "workloads_v2_update_request.json");
    unsigned char *yaml = NULL;
    size_t yl = 0;
    assert_int_equal(gb_base64_decode(gb_jstr(body, "manifestBase64Encoded"), &yaml, &yl), GB_OK);
    assert_non_null(strstr((char *)yaml, "image: \"nginx:1.27\""));
    assert_non_null(strstr((char *)yaml, "nvidia.com/gpu: 2")); /* kept from rawManifest */
    free(yaml);
    cJSON_Delete(body);
    assert_int_equal(prov_runai_ops.remove(w.a, WID, w.err), GB_OK);
    expect_line(&w, 3, "DELETE /api/v2/workloads/" WID " ");
    run_stop(&w, 4);
}

/* An older control plane: no /api/v2/token (404), the JSON v1 grant instead. */
static void test_token_v1(void **state)
{
    (void)state;
    static const int st[] = {404, 200, 200, 200};
    static const char *const files[] = {"error.json", "token_v1_response.json",
                                        "workloads_v1_list_response.json",
                                        "workloads_v1_list_response.json"};
    wire_run w;
    run_start(&w, 4, st, files);
    prov_pod *pods = NULL;
    size_t n = 0;
    assert_int_equal(prov_runai_ops.list_pods(w.a, &pods, &n, w.err), GB_OK);
    free(pods);
    expect_line(&w, 0, "POST /api/v2/token ");
    expect_line(&w, 1, "POST /api/v1/token ");
    cJSON *body = expect_body_fits(&w, 1, "token_v1_request.json");
    assert_string_equal(gb_jstr(body, "grantType"), "client_credentials");
    assert_string_equal(gb_jstr(body, "clientID"), "client-id");
    cJSON_Delete(body);
    assert_non_null(strstr(w.ss.got[2], "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpX"
                                        "VCJ9.e30.djE"));
    run_stop(&w, 4); /* two list pages: see test_list_and_find */
}

/* Error bodies: Run:ai's {"code","message"} and OAuth2Error. */
static void test_errors(void **state)
{
    (void)state;
    static const int st[] = {200, 200, 409};
    static const char *const files[] = {"token_v2_response.json", "projects_list_response.json",
                                        "error.json"};
    wire_run w;
    run_start(&w, 3, st, files);
    prov_create_req req = {.name = "gpb-life", .image = "nginx:latest", .gpu_count = 1};
    prov_pod p;
    assert_int_equal(prov_runai_ops.create(w.a, &req, &p, w.err), GB_ERR_CONFLICT);
    assert_non_null(strstr(w.err, "Resource with this name already exists"));
    run_stop(&w, 3);
    static const int st2[] = {401};
    static const char *const files2[] = {"token_v2_error.json"};
    run_start(&w, 1, st2, files2);
    assert_int_equal(prov_runai_ops.get(w.a, WID, &p, w.err), GB_ERR_AUTH);
    assert_non_null(strstr(w.err, "Client authentication failed (invalid_client)"));
    run_stop(&w, 1);
}

/* ---- the simulator against the fixtures ---- */

/* The simulator's answer j fits fixture file; the manifests under manifests_at ("" = the top)
 * are free-form Kubernetes objects (schema Manifest, additionalProperties) and fit anything. */
static void sim_fits(cJSON *j, const char *file, const char *manifests_at)
{
    cJSON *want = fx_json(file);
    char why[512];
    assert_non_null(j);
    if (manifests_at) {
        cJSON *ww = manifests_at[0] ? (cJSON *)gb_jpath(want, manifests_at) : want;
        assert_non_null(ww);
        cJSON_ReplaceItemInObjectCaseSensitive(ww, "rawManifest", cJSON_CreateNull());
        cJSON_ReplaceItemInObjectCaseSensitive(ww, "workloadManifest", cJSON_CreateNull());
    }
    if (!wire_shape_fits(j, want, why, sizeof(why))) fail_msg("simulator vs %s: %s", file, why);
    cJSON_Delete(want);
}

static long sim_post(fx *f, const char *tok, const char *path, const char *body, cJSON **out)
{
    long st = 0;
    cJSON *j = http(f, "POST", path, body, tok, &st);
    if (out)
        *out = j;
    else
        cJSON_Delete(j);
    return st;
}

#define POD_MANIFEST(n)                                                                            \
    "\"manifest\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" n "\"},"      \
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}"

static void test_sim_shapes(void **state)
{
    fx *f = *state;
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    cJSON *j = NULL;
    long st = pf_http_hdrs(f, "POST", "/api/v2/token",
                           "grant_type=client_credentials&client_id=client-id&client_secret=client-"
                           "secret",
                           form, &j);
    assert_int_equal(st, 200);
    sim_fits(j, "token_v2_response.json", NULL);
    char tok[64];
    snprintf(tok, sizeof(tok), "%s", gb_jstr(j, "access_token"));
    cJSON_Delete(j);
    st = pf_http_hdrs(f, "POST", "/api/v2/token",
                      "grant_type=client_credentials&client_id=client-id&client_secret=nope", form,
                      &j);
    assert_int_equal(st, 401);
    sim_fits(j, "token_v2_error.json", NULL);
    assert_string_equal(gb_jstr(j, "error"), "invalid_client");
    cJSON_Delete(j);
    j = http(f, "POST", "/api/v1/token",
             "{\"grantType\":\"client_credentials\",\"clientID\":\"client-id\","
             "\"clientSecret\":\"client-secret\"}",
             NULL, &st);
    assert_int_equal(st, 200);
    sim_fits(j, "token_v1_response.json", NULL);
    cJSON_Delete(j);

    j = http(f, "GET", "/api/v1/org-unit/projects?filterBy=name%3D%3Dteam-b", NULL, tok, &st);
    assert_int_equal(st, 200);
    sim_fits(j, "projects_list_response.json", NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "projects")), 1);
    assert_string_equal(gb_jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "projects"), 0), "id"),
                        "2");
    cJSON_Delete(j);

    assert_int_equal(sim_post(f, tok, "/api/v2/workloads",
                              "{\"metadata\":{\"name\":\"shape\",\"projectId\":\"2\","
                              "\"priority\":\"medium\"}," POD_MANIFEST("shape") "}",
                              &j),
                     202);
    sim_fits(j, "workloads_v2_create_response.json", "");
    char path[128], id[40];
    snprintf(id, sizeof(id), "%s", gb_jstr(gb_jpath(j, "metadata"), "id"));
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/api/v2/workloads/%s", id);
    j = http(f, "GET", path, NULL, tok, &st);
    assert_int_equal(st, 200);
    assert_null(cJSON_GetObjectItem(j, "phase")); /* no phase in v2 */
    sim_fits(j, "workloads_v2_get_response.json", "workload");
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/api/v1/workloads/%s", id);
    j = http(f, "GET", path, NULL, tok, &st);
    assert_int_equal(st, 200);
    sim_fits(j, "workloads_v1_get_response.json", NULL);
    assert_string_equal(gb_jstr(j, "phase"), "Creating");
    cJSON_Delete(j);
    j = http(f, "GET", "/api/v1/workloads?filterBy=name%3D%3Dshape", NULL, tok, &st);
    assert_int_equal(st, 200);
    sim_fits(j, "workloads_v1_list_response.json", NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "workloads")), 1);
    cJSON_Delete(j);
    j = http(f, "GET", "/api/v2/workloads/" NOPE_ID, NULL, tok, &st);
    assert_int_equal(st, 404);
    sim_fits(j, "error.json", NULL);
    cJSON_Delete(j);
}

/* The old shapes the adapter sent before: each refused, nothing created. */
static void test_sim_refuses_old_shapes(void **state)
{
    fx *f = *state;
    char tok[64];
    long st = 0;
    raw_token(f, tok);
    static const struct {
        const char *path, *body, *why;
    } bad[] = {
        {"/api/v2/workloads?dryRun=true",
         "{\"metadata\":{\"name\":\"old\",\"projectId\":\"1\"}," POD_MANIFEST("old") "}", "dryRun"},
        {"/api/v2/workloads",
         "{\"metadata\":{\"name\":\"old\",\"projectId\":\"1\",\"nodePool\":\"h100\"}," POD_MANIFEST(
             "old") "}",
         "nodePool"},
        {"/api/v2/workloads",
         "{\"metadata\":{\"name\":\"old\",\"projectId\":\"team-a\"}," POD_MANIFEST("old") "}",
         "projectId"},
        {"/api/v2/workloads",
         "{\"metadata\":{\"name\":\"old\",\"projectId\":\"1\",\"priority\":\"inference\"}"
         "," POD_MANIFEST("old") "}",
         "priority"},
        {"/api/v2/workloads",
         "{\"metadata\":{\"name\":\"old\",\"projectId\":\"1\"},\"desiredPhase\":"
         "\"Running\"," POD_MANIFEST("old") "}",
         "desiredPhase"},
    };
    for (size_t i = 0; i < GB_ARRAY_LEN(bad); i++) {
        cJSON *j = NULL;
        assert_int_equal(sim_post(f, tok, bad[i].path, bad[i].body, &j), 400);
        sim_fits(j, "error.json", NULL);
        if (!strstr(gb_jstr(j, "message"), bad[i].why))
            fail_msg("case %zu: '%s' does not name %s", i, gb_jstr(j, "message"), bad[i].why);
        cJSON_Delete(j);
    }
    assert_int_equal(workloads_named(f, "old"), 0);
    /* no list and no PATCH in workloads v2 */
    cJSON *j = http(f, "GET", "/api/v2/workloads", NULL, tok, &st);
    assert_int_equal(st, 405);
    sim_fits(j, "error.json", NULL);
    cJSON_Delete(j);
    assert_int_equal(
        sim_post(f, tok, "/api/v2/workloads",
                 "{\"metadata\":{\"name\":\"new\",\"projectId\":\"1\"}," POD_MANIFEST("new") "}",
                 &j),
        202);
    char path[128];
    snprintf(path, sizeof(path), "/api/v2/workloads/%s", gb_jstr(gb_jpath(j, "metadata"), "id"));
    cJSON_Delete(j);
    j = http(f, "PATCH", path, "{\"desiredPhase\":\"Stopped\"}", tok, &st);
    assert_int_equal(st, 405);
    cJSON_Delete(j);
    cJSON *w = pf_state(f); /* the PATCH changed nothing */
    assert_string_equal(
        gb_jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(w, "workloads"), 0), "desiredPhase"),
        "Running");
    cJSON_Delete(w);
    /* the OAuth2 endpoint takes a form, not JSON */
    j = http(f, "POST", "/api/v2/token",
             "{\"grant_type\":\"client_credentials\",\"client_id\":\"client-id\","
             "\"client_secret\":\"client-secret\"}",
             NULL, &st);
    assert_int_equal(st, 400);
    assert_string_equal(gb_jstr(j, "error"), "invalid_request");
    cJSON_Delete(j);
    /* PUT metadata takes priority and category only */
    j = http(f, "PUT", path, "{\"metadata\":{\"name\":\"renamed\"}," POD_MANIFEST("new") "}", tok,
             &st);
    assert_int_equal(st, 400);
    assert_non_null(strstr(gb_jstr(j, "message"), "name"));
    cJSON_Delete(j);
}

int main(void)
{
    gb_http_global_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_and_create),
        cmocka_unit_test(test_get_v1),
        cmocka_unit_test(test_get_v2_fallback),
        cmocka_unit_test(test_list_and_find),
        cmocka_unit_test(test_update_and_delete),
        cmocka_unit_test(test_token_v1),
        cmocka_unit_test(test_errors),
        T(test_sim_shapes),
        T(test_sim_refuses_old_shapes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
