/* test_sim_primus.c: the Primus-SaFE simulator spoken to raw, in the current server's shapes
 * (AMD-AGI/Primus-SaFE SaFE/apiserver/pkg/handlers/resources/): login, Bearer auth, create
 * validation and error bodies (the old flat body refused), GET fields, list filters, sorting
 * and paging, PATCH, resume, stop/delete, the batch endpoints, pod logs and containers. */
#include "test_providers_primus_util.h"

#define RES(extra) "\"resources\":[{\"replica\":1,\"cpu\":\"8\",\"memory\":\"8Gi\"" extra "}]"
#define BODY(name, extra)                                                                          \
    "{\"displayName\":\"" name "\",\"workspaceId\":\"ws-sandbox\",\"images\":[\"img:1\"],"         \
    "\"entryPoints\":[\"cHl0aG9uIHRyYWluLnB5\"],\"resources\":[{\"replica\":1,\"cpu\":\"8\","      \
    "\"gpu\":\"1\",\"memory\":\"64Gi\"}]" extra "}"
#define WEBHOOK "admission webhook \"vworkload.kb.io\" denied the request: Bad request. "

static void expect_error(fx *f, const char *method, const char *path, const char *body, long status,
                         const char *code, const char *text)
{
    long st = 0;
    cJSON *j = api(f, method, path, body, &st);
    if (st != status) fail_msg("%s %s: HTTP %ld, want %ld", method, path, st, status);
    assert_string_equal(cJSON_GetObjectItem(j, "errorCode")->valuestring, code);
    const char *m = cJSON_GetObjectItem(j, "errorMessage")->valuestring;
    if (!strstr(m, text)) fail_msg("'%s' lacks '%s'", m, text);
    cJSON_Delete(j);
}

static char *make(fx *f, const char *body, char *id, size_t n)
{
    long st = 0;
    cJSON *j = api(f, "POST", "/api/v1/workloads", body, &st);
    assert_int_equal(st, 200);
    snprintf(id, n, "%s", cJSON_GetObjectItem(j, "workloadId")->valuestring);
    cJSON_Delete(j);
    return id;
}

static void test_auth(void **state)
{
    fx *f = *state;
    long st = 0;
    cJSON *j = http(f, "GET", "/api/v1/workloads", NULL, NULL, &st);
    assert_int_equal(st, 401);
    assert_string_equal(cJSON_GetObjectItem(j, "errorCode")->valuestring, "Primus.00009");
    assert_string_equal(cJSON_GetObjectItem(j, "errorMessage")->valuestring, "token not present");
    cJSON_Delete(j);
    j = http(f, "POST", "/api/v1/login", "{\"name\":\"alice\",\"password\":\"nope\"}", NULL, &st);
    assert_int_equal(st, 401);
    assert_string_equal(cJSON_GetObjectItem(j, "errorMessage")->valuestring,
                        "the password is incorrect");
    cJSON_Delete(j);
    j = http(f, "POST", "/api/v1/login", "{\"name\":\"bob\",\"password\":\"x\"}", NULL, &st);
    assert_int_equal(st, 401);
    assert_string_equal(cJSON_GetObjectItem(j, "errorCode")->valuestring, "Primus.00011");
    cJSON_Delete(j);
    j = http(f, "POST", "/api/v1/login",
             "{\"type\":\"default\",\"name\":\"alice\",\"password\":\"wonder-land-7\"}", NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(cJSON_GetObjectItem(j, "name")->valuestring, "alice");
    assert_true(cJSON_GetObjectItem(j, "expire")->valuedouble > 1.7e9);
    assert_int_equal(strlen(cJSON_GetObjectItem(j, "token")->valuestring), 32);
    cJSON_Delete(j);
    cJSON_Delete(http(f, "GET", "/api/v1/workloads", NULL, "made-up-token", &st));
    assert_int_equal(st, 401);
    cJSON_Delete(api(f, "GET", "/api/v1/workloads", NULL, &st));
    assert_int_equal(st, 200);
}

static void test_create_validation(void **state)
{
    fx *f = *state;
    static const struct {
        const char *body;
        long status;
        const char *code, *text;
    } cases[] = {
        /* the flat body of older servers: resources[] is empty, the webhook refuses it */
        {"{\"displayName\":\"x\",\"workspaceId\":\"ws-sandbox\",\"image\":\"i\",\"entryPoint\":"
         "\"eA==\",\"resource\":{\"replica\":1,\"cpu\":\"8\",\"memory\":\"8Gi\"}}",
         400, "Primus.00002", WEBHOOK "the resources are empty"},
        {"{\"displayName\":\"x\"}", 400, "Primus.00002",
         WEBHOOK "[the workspace is empty, the resources are empty]"},
        {"{\"displayName\":\"x\",\"workspaceId\":\"ws-sandbox\",\"images\":[\"i\"],"
         "\"resources\":[{\"replica\":0,\"cpu\":\"8\",\"memory\":\"8Gi\"}]}",
         400, "Primus.00002", WEBHOOK "the resources are empty"},
        {"{\"displayName\":\"x\",\"workspaceId\":\"ws-sandbox\",\"images\":[\"i\"],"
         "\"resources\":[{\"replica\":1}]}",
         400, "Primus.00002", WEBHOOK "[the cpu is empty, the memory is empty]"},
        /* the new lists beside an old field: the simulator refuses what the server ignores */
        {BODY("x", ",\"image\":\"img:1\""), 400, "Primus.00002",
         "Bad request. json: unknown field \"image\""},
        {BODY("x", ",\"entryPoint\":\"eA==\""), 400, "Primus.00002",
         "unknown field \"entryPoint\""},
        {"{\"displayName\":\"x\",\"workspaceId\":\"ws-sandbox\",\"images\":[\"i\",\"j\"]," RES(
             "") "}",
         400, "Primus.00002", "the images must match the length of resources (1)"},
        {"{\"displayName\":\"x\",\"workspaceId\":\"ws-sandbox\"," RES("") "}", 400, "Primus.00002",
         "the images must match"},
        {BODY("x", ",\"priority\":\"high\""), 400, "Primus.00002",
         "cannot unmarshal string into Go struct field CreateWorkloadRequest.priority"},
        {BODY("x", ",\"groupVersionKind\":{\"kind\":\"TPUJob\"}"), 400, "Primus.00002",
         "resource template of TPUJob"},
        {"{\"displayName\":\"x\",\"workspaceId\":\"ws-mars\",\"images\":[\"i\"]," RES("") "}", 404,
         "Primus.02001", "ws-mars"},
        {"{\"displayName\":\"x\",\"workspaceId\":\"ws-sandbox\",\"images\":[\"i\"],"
         "\"resources\":[{\"replica\":5,\"cpu\":\"8\",\"gpu\":\"8\",\"memory\":\"8Gi\"}]}",
         503, "Primus.00008", "Insufficient resource quota"},
        {"{\"displayName\":\"x\",\"workspaceId\":\"ws-sandbox\",\"images\":[\"i\"],"
         "\"resources\":[{\"replica\":1,\"cpu\":\"8\",\"gpu\":\"9\",\"memory\":\"8Gi\"}]}",
         400, "Primus.00002", "the gpu '9'"},
        {"[1]", 400, "Primus.00002", "cannot unmarshal"},
        {"{bad json", 400, "Primus.00002", "JSON"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(f, "POST", "/api/v1/workloads", cases[i].body, cases[i].status, cases[i].code,
                     cases[i].text);
    cJSON *st = sim_state(f);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "workloads")), 0);
    cJSON_Delete(st);
    expect_error(f, "GET", "/api/v1/workloads/nope-12345", NULL, 404, "Primus.01001", "nope-12345");
    /* the batch clone is gone: gin's NoRoute answer */
    expect_error(f, "POST", "/api/v1/workloads/clone", "{\"workloadIds\":[\"a\"]}", 404,
                 "Primus.00005", "/api/v1/workloads/clone not found");
    /* plain entry points are encoded as the webhook does; an Authoring runs sleep infinity */
    char id[128], path[256];
    long code = 0;
    make(
        f,
        "{\"displayName\":\"plain\",\"workspaceId\":\"ws-sandbox\",\"images\":[\"i\"],"
        "\"entryPoints\":[\"python serve.py\"],\"groupVersionKind\":{\"kind\":\"Deployment\"}," RES(
            "") "}",
        id, sizeof(id));
    snprintf(path, sizeof(path), "/api/v1/workloads/%s", id);
    cJSON *j = api(f, "GET", path, NULL, &code);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "entryPoints"), 0)->valuestring,
                        "python serve.py");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "resources"), 0),
                            "ephemeralStorage")
            ->valuestring,
        "50Gi");
    cJSON_Delete(j);
    make(f,
         "{\"displayName\":\"dev\",\"workspaceId\":\"ws-sandbox\",\"images\":[\"i\",\"i\"],"
         "\"entryPoints\":[\"x\",\"x\"],\"groupVersionKind\":{\"kind\":\"Authoring\"},"
         "\"resources\":[{\"replica\":2,\"cpu\":\"8\",\"memory\":\"8Gi\"},{\"replica\":1,"
         "\"cpu\":\"8\",\"memory\":\"8Gi\"}]}",
         id, sizeof(id));
    st = sim_state(f);
    const cJSON *w = state_wl(st, id);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(w, "resources")), 1);
    assert_string_equal(cJSON_GetObjectItem(w, "command")->valuestring, "sleep infinity");
    cJSON_Delete(st);
}

static void test_get_fields(void **state)
{
    fx *f = *state;
    char id[128], path[512];
    long st;
    make(f, BODY("My Job_1", ",\"groupVersionKind\":{\"kind\":\"PyTorchJob\"},\"timeout\":600"), id,
         sizeof(id));
    assert_true(strncmp(id, "my-job-1-", 9) == 0 && strlen(id) == 14);
    advance(f, 50000);
    snprintf(path, sizeof(path), "/api/v1/workloads/%s", id);
    cJSON *j = api(f, "GET", path, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(cJSON_GetObjectItem(j, "phase")->valuestring, "Running");
    assert_string_equal(cJSON_GetObjectItem(j, "displayName")->valuestring, "My Job_1");
    assert_string_equal(cJSON_GetObjectItem(j, "duration")->valuestring, "30s");
    assert_null(cJSON_GetObjectItem(j, "runtime"));
    assert_null(cJSON_GetObjectItem(j, "resource"));
    assert_null(cJSON_GetObjectItem(j, "image"));
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "images"), 0)->valuestring,
                        "img:1");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "entryPoints"), 0)->valuestring,
                        "python train.py");
    assert_int_equal(cJSON_GetObjectItem(j, "secondsUntilTimeout")->valueint, 570);
    assert_int_equal(cJSON_GetObjectItem(j, "dispatchCount")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(j, "clusterId")->valuestring, "primus-sim-cluster");
    assert_string_equal(cJSON_GetObjectItem(j, "userName")->valuestring, "alice");
    assert_int_equal(strlen(cJSON_GetObjectItem(j, "creationTime")->valuestring), 19);
    const cJSON *pod = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "pods"), 0);
    char pod_id[192];
    snprintf(pod_id, sizeof(pod_id), "%s", cJSON_GetObjectItem(pod, "podId")->valuestring);
    assert_non_null(strstr(pod_id, "-master-0"));
    assert_string_equal(cJSON_GetObjectItem(pod, "rank")->valuestring, "0");
    assert_null(cJSON_GetObjectItem(pod, "sshAddr"));
    const char *ssh = cJSON_GetObjectItem(pod, "sshCommand")->valuestring;
    assert_true(strncmp(ssh, "ssh -o ServerAliveInterval=60 user-alice.", 41) == 0);
    assert_non_null(strstr(ssh, ".pytorch.bash.ws-sandbox@"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "ranks")), 1);
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/api/v1/workloads/%s/pods/%s/containers", id, pod_id);
    j = api(f, "GET", path, NULL, &st);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "containers"), 0), "name")
            ->valuestring,
        "pytorch");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "shells")), 3);
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/api/v1/workloads/%s/pods/%s/logs?tailLines=2", id, pod_id);
    j = api(f, "GET", path, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(cJSON_GetObjectItem(j, "namespace")->valuestring, "ws-sandbox");
    const cJSON *logs = cJSON_GetObjectItem(j, "logs");
    assert_int_equal(cJSON_GetArraySize(logs), 2);
    assert_non_null(strstr(cJSON_GetArrayItem(logs, 0)->valuestring, "+ python train.py"));
    assert_non_null(strstr(cJSON_GetArrayItem(logs, 1)->valuestring, "step 10: loss="));
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/api/v1/workloads/%s/pods/%s/logs?container=bash", id, pod_id);
    expect_error(f, "GET", path, NULL, 400, "Primus.00002", "container bash");
    snprintf(path, sizeof(path), "/api/v1/workloads/%s/pods/nope/logs", id);
    expect_error(f, "GET", path, NULL, 404, "Primus.00005", "nope");
}

static void test_list_filters(void **state)
{
    fx *f = *state;
    char a[128], b[128], c[128], path[256];
    long st;
    make(f, BODY("alpha", ",\"priority\":2,\"description\":\"Nightly run\""), a, sizeof(a));
    advance(f, 1000);
    make(f, BODY("beta", ",\"groupVersionKind\":{\"kind\":\"Deployment\"}"), b, sizeof(b));
    advance(f, 1000);
    make(f,
         "{\"displayName\":\"gamma\",\"workspaceId\":\"ws-research\",\"images\":[\"i\"]," RES(
             "") "}",
         c, sizeof(c));
    snprintf(path, sizeof(path), "/api/v1/workloads/%s/stop", b);
    cJSON_Delete(api(f, "POST", path, NULL, &st));
    assert_int_equal(st, 200);
    static const struct {
        const char *query;
        int total;
        const char *first; /* displayName of items[0], or NULL */
    } cases[] = {
        {"", 3, "gamma"}, /* newest first by default */
        {"?order=asc", 3, "alpha"},
        {"?sortBy=priority&order=desc", 3, "alpha"},
        {"?workspaceId=ws-research", 1, "gamma"},
        {"?phase=Stopped", 1, "beta"},
        {"?phase=Pending,Stopped", 3, NULL},
        {"?kind=Deployment,StatefulSet", 1, "beta"},
        {"?description=nightly", 1, "alpha"},
        {"?workloadId=alph", 1, "alpha"},
        {"?userName=ALI", 3, NULL},
        {"?clusterId=other", 0, NULL},
        {"?limit=1&offset=1", 3, "beta"},
        {"?offset=5", 3, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path, sizeof(path), "/api/v1/workloads%s", cases[i].query);
        cJSON *j = api(f, "GET", path, NULL, &st);
        assert_int_equal(st, 200);
        if (cJSON_GetObjectItem(j, "totalCount")->valueint != cases[i].total)
            fail_msg("%s: totalCount %d", cases[i].query,
                     cJSON_GetObjectItem(j, "totalCount")->valueint);
        const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "items"), 0);
        if (cases[i].first)
            assert_string_equal(cJSON_GetObjectItem(first, "displayName")->valuestring,
                                cases[i].first);
        cJSON_Delete(j);
    }
    expect_error(f, "GET", "/api/v1/workloads?limit=0", NULL, 400, "Primus.00002", "limit");
    expect_error(f, "GET", "/api/v1/workloads?order=up", NULL, 400, "Primus.00002", "order");
    expect_error(f, "GET", "/api/v1/workloads?sortBy=color", NULL, 400, "Primus.00002", "sortBy");
    expect_error(f, "GET", "/api/v1/workloads?since=yesterday", NULL, 400, "Primus.00002", "since");
    cJSON *j =
        api(f, "GET", "/api/v1/workloads?since=2000-01-01T00:00:00.000Z&until=2001-01-01T00:00:00Z",
            NULL, &st);
    assert_int_equal(cJSON_GetObjectItem(j, "totalCount")->valueint, 0);
    cJSON_Delete(j);
}

static void test_patch_stop_delete_batch(void **state)
{
    fx *f = *state;
    char a[128], b[128], path[256];
    long st;
    make(f, BODY("svc", ",\"groupVersionKind\":{\"kind\":\"Deployment\"}"), a, sizeof(a));
    make(f, BODY("other", ""), b, sizeof(b));
    advance(f, 21000);
    snprintf(path, sizeof(path), "/api/v1/workloads/%s", a);
    cJSON *j = api(f, "PATCH", path,
                   "{\"priority\":2,\"images\":[\"img:2\"],\"resources\":[{\"replica\":1,"
                   "\"cpu\":\"8\",\"gpu\":\"2\",\"memory\":\"64Gi\"}]}",
                   &st);
    assert_int_equal(st, 200);
    assert_true(cJSON_IsNull(j)); /* c.JSON(200, nil) */
    cJSON_Delete(j);
    j = api(f, "GET", path, NULL, &st);
    assert_string_equal(cJSON_GetObjectItem(j, "phase")->valuestring, "Updating");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "images"), 0)->valuestring,
                        "img:2");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "resources"), 0), "gpu")
            ->valuestring,
        "2");
    cJSON_Delete(j);
    /* the flat PATCH fields of older servers are refused (the server would ignore them) */
    expect_error(f, "PATCH", path, "{\"gpu\":\"4\"}", 400, "Primus.00002",
                 "Bad request. Bad request. json: unknown field \"gpu\"");
    expect_error(f, "PATCH", path, "{\"image\":\"img:3\"}", 400, "Primus.00002",
                 "unknown field \"image\"");
    expect_error(f, "PATCH", path, "{\"images\":[\"a\",\"b\"]}", 400, "Primus.00002",
                 "the images must match");
    cJSON *s = sim_state(f);
    const cJSON *ws = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "workspaces"), 0);
    assert_int_equal(cJSON_GetObjectItem(ws, "usedGpus")->valueint, 3);
    cJSON_Delete(s);
    /* resume while it runs: its Kubernetes object still exists */
    char rpath[256];
    snprintf(rpath, sizeof(rpath), "/api/v1/workloads/%s/resume", a);
    expect_error(f, "POST", rpath, BODY("svc", ",\"groupVersionKind\":{\"kind\":\"Deployment\"}"),
                 409, "AlreadyExists", "already exists");
    snprintf(path, sizeof(path), "/api/v1/workloads/%s/stop", a);
    cJSON_Delete(api(f, "POST", path, NULL, &st));
    assert_int_equal(st, 200);
    snprintf(path, sizeof(path), "/api/v1/workloads/%s", a);
    expect_error(f, "PATCH", path, "{\"priority\":1}", 500, "Primus.00001",
                 "The workload can only be edited when it is running.");
    /* resume: a bad body changes nothing; a good one queues the same id again */
    expect_error(f, "POST", rpath, "{\"displayName\":\"svc\",\"workspaceId\":\"ws-sandbox\"}", 400,
                 "Primus.00002", "the resources are empty");
    j = api(f, "POST", rpath, BODY("svc", ",\"groupVersionKind\":{\"kind\":\"Deployment\"}"), &st);
    assert_int_equal(st, 200);
    assert_string_equal(cJSON_GetObjectItem(j, "workloadId")->valuestring, a);
    cJSON_Delete(j);
    j = api(f, "GET", path, NULL, &st);
    assert_string_equal(cJSON_GetObjectItem(j, "phase")->valuestring, "Pending");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "images"), 0)->valuestring,
                        "img:1");
    cJSON_Delete(j);
    advance(f, 21000);
    j = api(f, "GET", path, NULL, &st);
    assert_string_equal(cJSON_GetObjectItem(j, "phase")->valuestring, "Running");
    cJSON_Delete(j);
    char body[400];
    snprintf(body, sizeof(body), "{\"workloadIds\":[\"%s\",\"%s\"]}", a, b);
    cJSON_Delete(api(f, "POST", "/api/v1/workloads/stop", body, &st));
    assert_int_equal(st, 200);
    j = api(f, "GET", "/api/v1/workloads?phase=Stopped", NULL, &st);
    assert_int_equal(cJSON_GetObjectItem(j, "totalCount")->valueint, 2);
    cJSON_Delete(j);
    cJSON_Delete(api(f, "POST", "/api/v1/workloads/delete", body, &st));
    assert_int_equal(st, 200);
    j = api(f, "GET", "/api/v1/workloads", NULL, &st);
    assert_int_equal(cJSON_GetObjectItem(j, "totalCount")->valueint, 0);
    cJSON_Delete(j);
    expect_error(f, "POST", "/api/v1/workloads/stop", "{\"workloadIds\":[]}", 400, "Primus.00002",
                 "workloadIds");
    /* stop and delete of a missing workload: IgnoreFound, 200 */
    j = api(f, "DELETE", path, NULL, &st);
    assert_int_equal(st, 200);
    cJSON_Delete(j);
    snprintf(rpath, sizeof(rpath), "/api/v1/workloads/%s/resume", a);
    expect_error(f, "POST", rpath, BODY("svc", ""), 404, "Primus.01001", a);
}

int main(void)
{
    gb_http_global_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_auth),         T(test_create_validation),       T(test_get_fields),
        T(test_list_filters), T(test_patch_stop_delete_batch),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
