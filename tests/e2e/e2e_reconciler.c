/* e2e_reconciler.c: end to end with a provider registered by hand (a standalone
 * `gpubroker sim` whose secret the test knows): the reconciler notices a workload deleted
 * out of band and one that carries gpubroker's name but has no record (an orphan), and the
 * pods CLI follows state changes with --wait and reports them with its exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/http_client.h"
#include "support_daemon.h"

#define SECRET "e2e-volt-secret-0123456789"

static e2e_daemon D, SIM;
static char MACHINE[160];

static long sim_req(const char *method, const char *path, const char *body, char **out)
{
    return e2e_sim_req(&SIM, SECRET, method, path, body, out);
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    e2e_start_sim(&SIM, "volt", SECRET);
    assert_int_equal(sim_req("POST", "/_sim/clock", "{\"speed\":300}", NULL), 200);
    static const char *env[] = {"GPUBROKER_RECONCILER_INTERVAL_MS=100",
                                "GPUBROKER_RECONCILER_ORPHAN_CHECK_EVERY=1", NULL};
    e2e_start_sandbox(&D, NULL, env);
    char body[512];
    e2e_resp r;
    /* the broker's own setting is checked before anything is stored */
    snprintf(body, sizeof(body),
             "{\"name\":\"bad\",\"kind\":\"volt\",\"base_url\":\"%s\",\"secret\":\"%s\","
             "\"settings\":{\"requests_per_hour\":-1}}",
             SIM.url, SECRET);
    e2e_req(&D, "POST", "/api/volt/admin/providers", D.admin_key, body, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "requests_per_hour"));
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/admin/providers", D.admin_key, NULL, &r);
    assert_null(strstr(r.body, "\"bad\""));
    e2e_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"name\":\"mine\",\"kind\":\"volt\",\"base_url\":\"%s\",\"secret\":\"%s\","
             "\"settings\":{\"requests_per_hour\":18000}}",
             SIM.url, SECRET);
    e2e_req(&D, "POST", "/api/volt/admin/providers", D.admin_key, body, &r);
    assert_int_equal(r.status, 201);
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/machines", D.key, NULL, &r);
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(r.json, "machines"))
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "id"));
        if (id && !strncmp(id, "mine:", 5) && !MACHINE[0])
            snprintf(MACHINE, sizeof(MACHINE), "%s", id);
    }
    e2e_resp_free(&r);
    assert_true(MACHINE[0] != '\0');
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    e2e_stop(&SIM);
    e2e_cleanup(&SIM);
    return 0;
}

static char *poll_until(const char *path, const char *key, const char *needle)
{
    for (int i = 0; i < 200; i++) {
        e2e_resp r;
        e2e_req(&D, "GET", path, key, NULL, &r);
        if (r.status == 200 && strstr(r.body, needle)) {
            char *b = r.body;
            r.body = NULL;
            e2e_resp_free(&r);
            return b;
        }
        e2e_resp_free(&r);
        usleep(100000);
    }
    fail_msg("%s never showed %s", path, needle);
    return NULL;
}

static void test_deleted_out_of_band(void **state)
{
    (void)state;
    char body[512], id[64], pid[128], path[128];
    snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"image\":\"pytorch/pytorch:latest\"}",
             MACHINE);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", D.key, body, &r);
    assert_int_equal(r.status, 201);
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/pods/%s", id);
    free(poll_until(path, D.key, "\"status\":\"running\""));
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    snprintf(pid, sizeof(pid), "%s", e2e_str(&r, "provider_id"));
    e2e_resp_free(&r);
    /* somebody deletes it at the provider, behind gpubroker's back */
    char sp[200];
    snprintf(sp, sizeof(sp), "/api/volt/pods/%s", pid);
    long st = sim_req("DELETE", sp, NULL, NULL);
    assert_true(st == 200 || st == 204);
    free(poll_until(path, D.key, "\"status\":\"deleted\""));
    snprintf(path, sizeof(path), "/api/volt/pods/%s/events", id);
    char *ev = poll_until(path, D.key, "\"type\":\"gone\"");
    assert_non_null(strstr(ev, "out of band"));
    free(ev);
}

/* Creates a pod directly at the simulator (behind gpubroker's back); its id into id. */
static void sim_create(const char *name, char id[64])
{
    e2e_sim_volt_create(&SIM, SECRET, MACHINE, name, id, 64);
}

static void test_orphan_reported(void **state)
{
    (void)state;
    char ids[3][64], path[128];
    sim_create("gpb-orphan0001", ids[0]);
    char *orph = poll_until("/api/volt/admin/orphans", D.admin_key, "gpb-orphan0001");
    assert_non_null(strstr(orph, "\"provider\":\"mine\""));
    free(orph);
    /* a workload without gpubroker's name is somebody else's, not an orphan */
    sim_create("not-ours", ids[1]);
    /* a second orphan made after it: once the report shows that one, a check has seen
     * not-ours too, and left it out (no fixed sleep before asserting an absence) */
    sim_create("gpb-orphan0002", ids[2]);
    orph = poll_until("/api/volt/admin/orphans", D.admin_key, "gpb-orphan0002");
    assert_null(strstr(orph, "not-ours"));
    assert_non_null(strstr(orph, "gpb-orphan0001"));
    free(orph);
    for (int i = 0; i < 3; i++) { /* give the simulator its GPUs back */
        snprintf(path, sizeof(path), "/api/volt/pods/%.64s", ids[i]);
        long st = sim_req("DELETE", path, NULL, NULL);
        assert_true(st == 200 || st == 204);
    }
}

/* d's report line for the workload name (its "first_seen_at" into first), polled until it
 * shows. */
static void orphan_seen_by(const e2e_daemon *d, const char *name, char *first, size_t n)
{
    for (int i = 0; i < 200; i++) {
        e2e_resp r;
        e2e_req(d, "GET", "/api/volt/admin/orphans", d->admin_key, NULL, &r);
        assert_int_equal(r.status, 200);
        const cJSON *o;
        cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r.json, "orphans"))
        {
            const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));
            const char *f =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "first_seen_at"));
            if (nm && f && strcmp(nm, name) == 0) {
                snprintf(first, n, "%s", f);
                e2e_resp_free(&r);
                return;
            }
        }
        e2e_resp_free(&r);
        usleep(100000);
    }
    fail_msg("%s's orphan report never showed %s", d->url, name);
}

/* The status of the workload id in the simulator's own state ("" when it has none). */
static void sim_pod_status(const e2e_daemon *sim, const char *id, char *st, size_t n)
{
    char *out = NULL;
    st[0] = '\0';
    assert_int_equal(e2e_sim_req(sim, SECRET, "GET", "/_sim/state", NULL, &out), 200);
    cJSON *j = cJSON_Parse(out);
    free(out);
    assert_non_null(j);
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(j, "pods"))
    {
        const char *pid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "id"));
        const char *ps = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "status"));
        if (pid && ps && strcmp(pid, id) == 0) snprintf(st, n, "%s", ps);
    }
    cJSON_Delete(j);
}

/* Two brokers on one store share the orphan report and its checks: both show an orphan
 * with the same first sighting (its grace is counted once, not per broker), a provider is
 * listed for orphans once per period (reconciler.orphan_check_every rounds) between them,
 * not once per period by each, and at the grace's end the orphan is deleted at the
 * provider once, not once by each broker (all read at the simulator: a simulator of its
 * own, since this file's broker lists the other one). */
static void test_orphan_report_shared(void **state)
{
    (void)state;
    static const char *env[] = {"GPUBROKER_RECONCILER_INTERVAL_MS=100",
                                "GPUBROKER_RECONCILER_ORPHAN_CHECK_EVERY=10",
                                "GPUBROKER_RECONCILER_ORPHAN_GRACE_MS=6000", NULL};
    e2e_daemon sim, a, b;
    e2e_start_sim(&sim, "volt", SECRET);
    e2e_start_sandbox(&a, NULL, env);
    e2e_start_sandbox(&b, a.dir, env); /* the same store (and master key) */
    char body[512], id[64], fa[64], fb[64];
    snprintf(body, sizeof(body),
             "{\"name\":\"shared\",\"kind\":\"volt\",\"base_url\":\"%s\",\"secret\":\"%s\","
             "\"settings\":{\"requests_per_hour\":360000}}",
             sim.url, SECRET);
    e2e_resp r;
    e2e_req(&a, "POST", "/api/volt/admin/providers", a.admin_key, body, &r);
    assert_int_equal(r.status, 201);
    e2e_resp_free(&r);
    e2e_sim_volt_create(&sim, SECRET, MACHINE, "gpb-orphan0009", id, sizeof(id));
    orphan_seen_by(&a, "gpb-orphan0009", fa, sizeof(fa));
    orphan_seen_by(&b, "gpb-orphan0009", fb, sizeof(fb));
    assert_string_equal(fa, fb);
    /* no pod of either is at this simulator: every list is an orphan check's */
    long lists0 = e2e_sim_served(&sim, SECRET, "GET /api/volt/pods");
    int64_t t0 = gb_mono_ms();
    usleep(3000000);
    long lists = e2e_sim_served(&sim, SECRET, "GET /api/volt/pods") - lists0;
    int64_t ms = gb_mono_ms() - t0;
    printf("%ld orphan checks of one provider in %lld ms by two brokers (period 1,000 ms)\n", lists,
           (long long)ms);
    assert_true(lists >= 1);
    if (lists > ms / 1000 + 1)
        fail_msg("%ld lists in %lld ms: the brokers did not share the check", lists, (long long)ms);
    /* still one first sighting, on both, and within its grace the workload is untouched */
    orphan_seen_by(&b, "gpb-orphan0009", fb, sizeof(fb));
    assert_string_equal(fa, fb);
    char st[32];
    sim_pod_status(&sim, id, st, sizeof(st));
    if (!st[0] || strcmp(st, "deleted") == 0) fail_msg("the orphan is %s within its grace", st);
    assert_int_equal(e2e_sim_served(&sim, SECRET, "DELETE /api/volt/pods/:id"), 0);
    /* the grace's end: deleted at the provider, by one of the two */
    for (int i = 0; i < 200 && strcmp(st, "deleted") != 0; i++) {
        usleep(100000);
        sim_pod_status(&sim, id, st, sizeof(st));
    }
    assert_string_equal(st, "deleted");
    /* two more checks (a period each) after it: neither broker deletes it again */
    long after = e2e_sim_served(&sim, SECRET, "GET /api/volt/pods");
    for (int i = 0; i < 100 && e2e_sim_served(&sim, SECRET, "GET /api/volt/pods") < after + 2; i++)
        usleep(100000);
    assert_true(e2e_sim_served(&sim, SECRET, "GET /api/volt/pods") >= after + 2);
    assert_int_equal(e2e_sim_served(&sim, SECRET, "DELETE /api/volt/pods/:id"), 1);
    e2e_stop(&b);
    e2e_stop(&a);
    e2e_cleanup(&a);
    e2e_stop(&sim);
    e2e_cleanup(&sim);
}

/* The simulator's count of requests to one route ("GET /api/volt/pods/:id"). */
static long sim_count(const char *route)
{
    return e2e_sim_served(&SIM, SECRET, route);
}

/* Volt allows 1,000 requests an hour per key: polling each pod every round would spend it
 * in minutes. The reconciler lists the provider's pods once a round (no per-pod GET while
 * the list covers them), at most once per 2 h / budget (here 18,000/h: every 400 ms). */
static void test_polls_by_list_within_budget(void **state)
{
    (void)state;
    char body[512], path[384];
    char ids[4][64], machines[4][160];
    int nm = 0;
    e2e_resp mr;
    e2e_req(&D, "GET", "/api/volt/machines", D.key, NULL, &mr);
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(mr.json, "machines"))
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "id"));
        const cJSON *av = cJSON_GetObjectItemCaseSensitive(m, "available_gpus");
        if (nm < 4 && id && !strncmp(id, "mine:", 5) && strcmp(id, MACHINE) != 0 &&
            cJSON_IsNumber(av) && av->valuedouble >= 1)
            snprintf(machines[nm++], sizeof(machines[0]), "%s", id);
    }
    e2e_resp_free(&mr);
    if (nm < 4) fail_msg("the volt simulator offers only %d free machines", nm);
    for (int i = 0; i < 4; i++) {
        snprintf(body, sizeof(body), "{\"machine_id\":\"%.160s\",\"image\":\"x/y:1\"}",
                 machines[i]);
        e2e_resp r;
        e2e_req(&D, "POST", "/api/volt/pods", D.key, body, &r);
        if (r.status != 201) fail_msg("create %d: %ld %s", i, r.status, r.body);
        snprintf(ids[i], sizeof(ids[i]), "%s", e2e_str(&r, "id"));
        e2e_resp_free(&r);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "/api/volt/pods/%.64s", ids[i]);
        free(poll_until(path, D.key, "\"status\":\"running\""));
    }
    long gets0 = sim_count("GET /api/volt/pods/:id"), lists0 = sim_count("GET /api/volt/pods");
    int64_t t0 = gb_mono_ms();
    usleep(2000000); /* a window of rounds (interval 100 ms), paced to one list per 400 ms */
    long gets = sim_count("GET /api/volt/pods/:id") - gets0;
    long lists = sim_count("GET /api/volt/pods") - lists0;
    int64_t ms = gb_mono_ms() - t0;
    assert_int_equal(gets, 0);
    assert_true(lists >= 2);
    if (lists > ms / 400 + 2)
        fail_msg("%ld list calls in %lld ms: over the budget's pace", lists, (long long)ms);
    /* the pods were really polled: a stop at the provider shows up */
    char pid[128], sp[200];
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s", ids[0]);
    e2e_resp r;
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    snprintf(pid, sizeof(pid), "%s", e2e_str(&r, "provider_id"));
    e2e_resp_free(&r);
    snprintf(sp, sizeof(sp), "/api/volt/pods/%s/stop", pid);
    assert_int_equal(sim_req("POST", sp, NULL, NULL), 200);
    free(poll_until(path, D.key, "\"status\":\"stopped\""));
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "/api/volt/pods/%.64s", ids[i]);
        e2e_req(&D, "DELETE", path, D.key, NULL, &r);
        e2e_resp_free(&r);
    }
}

static void test_cli_wait(void **state)
{
    (void)state;
    char url[200], key[160];
    snprintf(url, sizeof(url), "GPUBROKER_URL=%s", D.url);
    snprintf(key, sizeof(key), "GPUBROKER_API_KEY=%s", D.key);
    const char *env[] = {url, key, "GPUBROKER_WAIT_INTERVAL_MS=100", NULL};
    char *out, *err;
    const char *create[] = {"pods",    "create", "--machine", MACHINE, "--image", "x/y:1", "--name",
                            "cli-pod", "--wait", "--timeout", "60",    "--json",  NULL};
    int rc = e2e_cli(create, env, NULL, &out, &err);
    if (rc != 0) fail_msg("pods create --wait: %d %s", rc, err);
    /* --json and no terminal: the final pod on stdout, nothing else on either (state changes
     * are shown to a terminal only, docs/cli.md) */
    assert_null(strstr(err, "->"));
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status")),
                        "running");
    char id[64];
    snprintf(id, sizeof(id), "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "id")));
    cJSON_Delete(j);
    free(out);
    free(err);
    const char *stop[] = {"pods", "stop", id, NULL};
    assert_int_equal(e2e_cli(stop, env, NULL, NULL, NULL), 0);
    const char *wait_stopped[] = {"pods", "get", id, "--wait", "stopped", "--timeout", "60", NULL};
    rc = e2e_cli(wait_stopped, env, NULL, &out, &err);
    if (rc != 0) fail_msg("pods get --wait stopped: %d %s", rc, err);
    assert_non_null(strstr(out, "stopped"));
    /* without --json the state lines are on stdout: "TIME  ID  [OLD -> ]stopped" (the pod may
     * already be stopped when the wait starts, then there is no arrow) */
    char line[80];
    snprintf(line, sizeof(line), "  %s  ", id);
    const char *sl = strstr(out, line);
    assert_non_null(sl);
    assert_true(!strncmp(sl + strlen(line), "stopped\n", 8) ||
                strstr(sl + strlen(line), " -> stopped\n") != NULL);
    free(out);
    free(err);
    /* a state the pod never reaches: exit 5 after the timeout */
    const char *never[] = {"pods", "get", id, "--wait", "succeeded", "--timeout", "1", NULL};
    rc = e2e_cli(never, env, NULL, &out, &err);
    assert_int_equal(rc, 5);
    assert_non_null(strstr(err, "did not reach succeeded"));
    free(out);
    free(err);
    const char *rm[] = {"pods", "rm", id, NULL};
    assert_int_equal(e2e_cli(rm, env, NULL, NULL, NULL), 0);
    /* waiting on a deleted pod for running: exit 4 */
    const char *gone[] = {"pods", "get", id, "--wait", "running", "--timeout", "10", NULL};
    rc = e2e_cli(gone, env, NULL, &out, &err);
    assert_int_equal(rc, 4);
    assert_non_null(strstr(err, "deleted"));
    free(out);
    free(err);
    const char *events[] = {"pods", "events", id, NULL};
    rc = e2e_cli(events, env, NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "running"));
    assert_non_null(strstr(out, "stopped"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deleted_out_of_band),         cmocka_unit_test(test_orphan_reported),
        cmocka_unit_test(test_orphan_report_shared),        cmocka_unit_test(test_cli_wait),
        cmocka_unit_test(test_polls_by_list_within_budget),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
