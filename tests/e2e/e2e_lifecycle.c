/* e2e_lifecycle.c: the pod lifecycle on every platform of the one list (providers/
 * platforms.h), through the Volt API of a sandbox: create, running, stop, start where the
 * platform really can, delete, and a create whose response the provider drops (found again
 * by name, never made twice). After every step the simulator's own view (/_sim/workloads)
 * says what really exists at the provider: our answer alone proves nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "providers/provider.h"
#include "support_daemon.h"

static e2e_daemon D;

/* Where each platform's create request goes (the one POST a drop_response fault must hit),
 * below the simulator's root, and whether its workloads carry SSH keys that the far-side view
 * shows (Run:ai passes them in an environment variable the view leaves out; Primus and
 * DataRobot refuse them). Platforms missing here fail the test: add yours. */
static const struct {
    const char *platform;
    const char *create_prefix;
    bool ssh_keys;
} CREATE[] = {
    {"targon", "/tha/v3/orgs/gpubroker-sim/workloads", true},
    {"volt", "/api/volt/pods", true},
    {"lium", "/api/executors/", true},
    {"runai", "/api/v2/workloads", false},
    {"primus", "/api/v1/workloads", false},
    {"datarobot", "/api/v2/workloads/", false},
};

/* The platform's row in CREATE (fails the test when it has none). */
static size_t create_row(const char *platform)
{
    for (size_t i = 0; i < sizeof(CREATE) / sizeof(CREATE[0]); i++)
        if (!strcmp(CREATE[i].platform, platform)) return i;
    fail_msg("no create path for %s in CREATE[]", platform);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    static const char *env[] = {"GPUBROKER_RECONCILER_INTERVAL_MS=100",
                                "GPUBROKER_PROVIDERS_TIMEOUT_MS=3000",
                                "GPUBROKER_PROVIDERS_MAX_RETRIES=1", NULL};
    static const char *extra[] = {"--sim-speed", "200", NULL};
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

static long sim_call(const char *platform, const char *method, const char *path, const char *body,
                     cJSON **out)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", e2e_sim_url(&D, platform), path);
    gb_http_req req = {
        .method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    if (out) *out = cJSON_Parse(resp.body);
    long st = resp.status;
    gb_http_resp_free(&resp);
    return st;
}

/* The far side: the workload with provider id `id` at the simulator (a copy, or NULL when
 * none exists), and how many existing workloads carry `name`. */
static cJSON *far_side(const char *platform, const char *id, const char *name, int *named)
{
    cJSON *all = e2e_sim_workloads(&D, platform), *found = NULL;
    const cJSON *w;
    if (named) *named = 0;
    cJSON_ArrayForEach(w, all)
    {
        const char *wid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "id"));
        const char *wn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "name"));
        if (id && wid && strcmp(wid, id) == 0 && !found) found = cJSON_Duplicate(w, 1);
        if (named && name && wn && strcmp(wn, name) == 0) (*named)++;
    }
    cJSON_Delete(all);
    return found;
}

/* The normalized status the far side's own word maps to, by the platform's adapter. */
static pod_status far_status(const char *platform, const cJSON *w)
{
    const char *raw = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "status"));
    return prov_ops_for(platform)->map_status(raw ? raw : "");
}

/* Waits until the pod's status is want, both in our record and at the far side. */
static void wait_both(const char *platform, const char *id, const char *pid, pod_status want)
{
    char path[128], last[32] = "?";
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s", id);
    for (int i = 0; i < 300; i++) {
        e2e_resp r;
        e2e_req(&D, "GET", path, D.key, NULL, &r);
        assert_int_equal(r.status, 200);
        const char *st = e2e_str(&r, "status");
        snprintf(last, sizeof(last), "%s", st ? st : "?");
        int ours = st && !strcmp(st, pod_status_name(want));
        e2e_resp_free(&r);
        cJSON *w = ours ? far_side(platform, pid, NULL, NULL) : NULL;
        int theirs = w && far_status(platform, w) == want;
        cJSON_Delete(w);
        if (ours && theirs) return;
        usleep(100000);
    }
    fail_msg("%s pod %s: ours %s, wanted %s on both sides", platform, id, last,
             pod_status_name(want));
}

/* Creates a pod on platform; returns our id and the provider's id. */
static void create(const char *platform, const char *name, const char *keys, char *id, char *pid)
{
    char machine[160], body[768];
    e2e_machine_of(&D, platform, machine, sizeof(machine), NULL);
    snprintf(body, sizeof(body),
             "{\"machine_id\":\"%s\",\"name\":\"%s\",\"image\":\"pytorch/pytorch:latest\","
             "\"ssh_key_ids\":%s}",
             machine, name, keys);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", D.key, body, &r);
    if (r.status != 201) fail_msg("create on %s: %ld %s", platform, r.status, r.body);
    assert_string_equal(e2e_str(&r, "provider"), platform);
    const char *st = e2e_str(&r, "status");
    assert_true(st && (!strcmp(st, "deploying") || !strcmp(st, "pending")));
    assert_true(cJSON_GetObjectItemCaseSensitive(r.json, "cost_per_hour")->valuedouble > 0);
    snprintf(id, 64, "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    pid[0] = '\0'; /* the create intent places it (the full form has the ids) */
    e2e_wait_placed(&D, D.key, id, pid, 128, 15000);
}

static void delete_and_check(const char *platform, const char *id, const char *pid)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s", id);
    e2e_resp r;
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "status"), "deleted");
    e2e_resp_free(&r);
    /* the far side: the workload is gone (or going: it may still be terminating) */
    for (int i = 0; i < 100; i++) {
        cJSON *w = far_side(platform, pid, NULL, NULL);
        int gone = !w || far_status(platform, w) == POD_DELETED;
        cJSON_Delete(w);
        if (gone) return;
        usleep(100000);
    }
    fail_msg("%s workload %s still exists at the provider after delete", platform, pid);
}

static void lifecycle(const char *platform)
{
    const prov_ops *ops = prov_ops_for(platform);
    char id[64], pid[128], keys[96] = "[]", kid[64], pub[512] = "", name[64], path[160];
    bool with_key = CREATE[create_row(platform)].ssh_keys;
    if (with_key) {
        e2e_add_ssh_key(&D, D.key, kid, sizeof(kid), pub, sizeof(pub));
        snprintf(keys, sizeof(keys), "[\"%s\"]", kid);
    }
    snprintf(name, sizeof(name), "life-%s", platform);
    create(platform, name, keys, id, pid);
    wait_both(platform, id, pid, POD_RUNNING);
    if (with_key) { /* the key really reached the provider */
        cJSON *w = far_side(platform, pid, NULL, NULL);
        char *txt = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(w, "ssh_keys"));
        char body[64];
        snprintf(body, sizeof(body), "%.40s", strchr(pub, ' ') + 1); /* base64 part */
        if (!txt || !strstr(txt, body)) fail_msg("%s: key not at the provider: %s", platform, txt);
        free(txt);
        cJSON_Delete(w);
    }
    e2e_resp r;
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s", id);
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "ssh_keys")),
                     with_key ? 1 : 0);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(r.json, "uptime_hours"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(r.json, "total_cost"));
    e2e_resp_free(&r);
    /* hardware changes need a stopped pod */
    e2e_req(&D, "PUT", path, D.key, "{\"gpu_count\":2}", &r);
    e2e_expect_error(&r, 409, "CONFLICT");
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s/stop", id);
    e2e_req(&D, "POST", path, D.key, NULL, &r);
    bool stops = ops->stop != NULL;
    if (stops) {
        if (r.status != 200) fail_msg("%s stop: %ld %s", platform, r.status, r.body);
        assert_string_equal(e2e_str(&r, "status"), "stopping");
        e2e_resp_free(&r);
        wait_both(platform, id, pid, POD_STOPPED);
        snprintf(path, sizeof(path), "/api/volt/pods/%.64s/start", id);
        e2e_req(&D, "POST", path, D.key, NULL, &r);
        if (ops->start) {
            if (r.status != 200) fail_msg("%s start: %ld %s", platform, r.status, r.body);
            assert_string_equal(e2e_str(&r, "status"), "starting");
            e2e_resp_free(&r);
            wait_both(platform, id, pid, POD_RUNNING);
        } else {
            e2e_expect_error(&r, 409, "NOT_SUPPORTED");
            e2e_resp_free(&r);
        }
    } else {
        e2e_expect_error(&r, 409, "NOT_SUPPORTED");
        e2e_resp_free(&r);
        cJSON *w = far_side(platform, pid, NULL, NULL); /* and nothing stopped it there */
        assert_int_equal(far_status(platform, w), POD_RUNNING);
        cJSON_Delete(w);
    }
    delete_and_check(platform, id, pid);
    /* our record and its history say the same */
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s", id);
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_string_equal(e2e_str(&r, "status"), "deleted");
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s/events", id);
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"to\":\"running\""));
    assert_non_null(strstr(r.body, "\"type\":\"delete\""));
    if (stops) assert_non_null(strstr(r.body, "\"to\":\"stopped\""));
    e2e_resp_free(&r);
}

/* The provider processes the create and the answer is lost: the broker finds the workload by
 * its name and records it once; exactly one workload of that name exists at the far side. */
static void dropped_create(const char *platform)
{
    size_t row = create_row(platform);
    const char *prefix = CREATE[row].create_prefix;
    char keys[96] = "[]", kid[64], pub[512], name[64], fault[256], id[64], pid[128];
    if (CREATE[row].ssh_keys) {
        e2e_add_ssh_key(&D, D.key, kid, sizeof(kid), pub, sizeof(pub));
        snprintf(keys, sizeof(keys), "[\"%s\"]", kid);
    }
    snprintf(fault, sizeof(fault),
             "{\"method\":\"POST\",\"path_prefix\":\"%s\",\"drop_response\":true,\"count\":1}",
             prefix);
    assert_int_equal(sim_call(platform, "POST", "/_sim/faults", fault, NULL), 200);
    snprintf(name, sizeof(name), "drop-%s", platform);
    create(platform, name, keys, id, pid);
    cJSON *faults = NULL;
    assert_int_equal(sim_call(platform, "GET", "/_sim/faults", NULL, &faults), 200);
    const cJSON *f0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(faults, "faults"), 0);
    const cJSON *fired = cJSON_GetObjectItemCaseSensitive(f0, "fired");
    if (!cJSON_IsNumber(fired) || fired->valuedouble < 1)
        fail_msg("%s: the dropped-response fault never fired", platform);
    cJSON_Delete(faults);
    sim_call(platform, "DELETE", "/_sim/faults", NULL, NULL);
    /* our record's workload name, and how many workloads carry it at the provider */
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s", id);
    e2e_resp r;
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    const char *wn = e2e_str(&r, "workload_name");
    char wname[96];
    snprintf(wname, sizeof(wname), "%s", wn ? wn : "");
    e2e_resp_free(&r);
    int named = 0;
    cJSON *w = far_side(platform, pid, wname, &named);
    if (!w) fail_msg("%s: recorded workload %s does not exist at the provider", platform, pid);
    cJSON_Delete(w);
    if (wname[0] && named != 1)
        fail_msg("%s: %d workloads named %s at the provider", platform, named, wname);
    e2e_req(&D, "GET", "/api/volt/pods?limit=100", D.key, NULL, &r);
    int ours = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(r.json, "pods"))
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));
        if (n && !strcmp(n, name)) ours++;
    }
    e2e_resp_free(&r);
    assert_int_equal(ours, 1);
    delete_and_check(platform, id, pid);
}

static void test_every_platform(void **state)
{
    (void)state;
    for (const char *const *k = prov_kinds(); *k; k++) {
        lifecycle(*k);
        dropped_create(*k);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_platform),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
