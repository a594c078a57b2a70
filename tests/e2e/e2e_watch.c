/* e2e_watch.c: watching the daemon (docs/operations.md, Monitoring): /readyz without a key goes
 * 503 when the vault's key file is removed or the database file is made read-only, and back to
 * 200; a request id sent in X-Request-Id is echoed in the header and a 404's body, a bad one
 * replaced, and the one of a pod create (run by an intent worker) and of a pod-logs request
 * reach the simulator; under --log-format json
 * every line the daemon writes to stderr is one JSON object {ts, level, module, msg}; /metrics
 * after those flows has every family, each once, with the values the flows imply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "support_daemon.h"

static e2e_daemon D;

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    static const char *env[] = {"GPUBROKER_RECONCILER_INTERVAL_MS=100",
                                "GPUBROKER_WEBHOOKS_ALLOW_CIDRS=127.0.0.0/8",
                                "GPUBROKER_LOG_LEVEL=debug", NULL}; /* access lines too */
    static const char *extra[] = {"--sim-speed", "200", "--log-format", "json", NULL};
    e2e_start_sandbox_args(&D, NULL, env, extra);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_cleanup(&D);
    gb_http_global_cleanup();
    return 0;
}

/* GET /readyz without a key: its status, and whether check name is ok. */
static long readyz(const char *name, int *ok)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/readyz", NULL, NULL, &r);
    long st = r.status;
    const cJSON *c =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r.json, "checks"), name);
    if (!cJSON_IsObject(c)) fail_msg("readyz has no check %s: %s", name, r.body);
    *ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "ok"));
    const char *status = e2e_str(&r, "status");
    assert_non_null(status);
    assert_string_equal(status, st == 200 ? "ready" : "unready");
    e2e_resp_free(&r);
    return st;
}

static void test_readyz(void **state)
{
    (void)state;
    int ok;
    assert_int_equal(readyz("database", &ok), 200);
    assert_true(ok);
    assert_int_equal(readyz("workers", &ok), 200);
    assert_true(ok);
    assert_int_equal(readyz("providers", &ok), 200);
    /* the providers are listed, but where they are and what they said stays behind a key */
    e2e_resp p;
    e2e_req(&D, "GET", "/readyz", NULL, NULL, &p);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p.json, "checks"),
                                         "providers"),
        "providers");
    assert_true(cJSON_GetArraySize(list) >= 5); /* the sandbox's simulators */
    assert_non_null(strstr(p.body, "\"healthy\""));
    assert_null(strstr(p.body, "base_url"));
    assert_null(strstr(p.body, e2e_sim_url(&D, "volt")));
    e2e_resp_free(&p);
    /* the vault's key file removed: unready; back: ready */
    char key[400], moved[420], db[400];
    snprintf(key, sizeof(key), "%s/master.key", D.dir);
    snprintf(moved, sizeof(moved), "%s.away", key);
    assert_int_equal(rename(key, moved), 0);
    assert_int_equal(readyz("vault", &ok), 503);
    assert_false(ok);
    assert_int_equal(readyz("database", &ok), 503);
    assert_true(ok); /* only the vault failed */
    assert_int_equal(rename(moved, key), 0);
    assert_int_equal(readyz("vault", &ok), 200);
    assert_true(ok);
    /* the database file made read-only: unready; writable again: ready (SQLite: on
     * PostgreSQL there is no file; unit.test_broker_readystore.postgresql makes its
     * transactions read-only instead) */
    if (!getenv("GB_E2E_DB_URL_FILE")) {
        snprintf(db, sizeof(db), "%s/gpubroker.db", D.dir);
        assert_int_equal(chmod(db, 0444), 0);
        assert_int_equal(readyz("database", &ok), 503);
        assert_false(ok);
        assert_int_equal(chmod(db, 0600), 0);
    }
    assert_int_equal(readyz("database", &ok), 200);
    assert_true(ok);
    /* /healthz stays the liveness check */
    e2e_resp r;
    e2e_req(&D, "GET", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
}

static void test_request_id(void **state)
{
    (void)state;
    char auth[160];
    snprintf(auth, sizeof(auth), "X-API-Key: %s", D.key);
    const char *h[] = {auth, "X-Request-Id: e2e.Watch_1-a", NULL};
    e2e_resp r;
    e2e_req_h(&D, "GET", "/api/volt/no-such-thing", h, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    assert_non_null(e2e_header(&r, "X-Request-Id"));
    assert_string_equal(e2e_header(&r, "X-Request-Id"), "e2e.Watch_1-a");
    assert_non_null(e2e_str(&r, "request_id"));
    assert_string_equal(e2e_str(&r, "request_id"), "e2e.Watch_1-a");
    e2e_resp_free(&r);
    /* not of [A-Za-z0-9._-], or longer than 128: replaced by a new one */
    char longid[160];
    snprintf(longid, sizeof(longid), "X-Request-Id: %0129d", 7);
    const char *bad[][3] = {{auth, "X-Request-Id: has space", NULL},
                            {auth, "X-Request-Id: a/b", NULL},
                            {auth, longid, NULL}};
    char seen[40] = "";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e2e_req_h(&D, "GET", "/api/volt/no-such-thing", bad[i], NULL, &r);
        const char *got = e2e_header(&r, "X-Request-Id");
        assert_non_null(got);
        assert_int_equal(strlen(got), 32);
        assert_string_not_equal(got, seen); /* new each time */
        snprintf(seen, sizeof(seen), "%s", got);
        assert_string_equal(e2e_str(&r, "request_id"), seen);
        e2e_resp_free(&r);
    }
    /* none sent: one is made */
    e2e_req(&D, "GET", "/healthz", NULL, NULL, &r);
    assert_non_null(e2e_header(&r, "X-Request-Id"));
    assert_int_equal(strlen(e2e_header(&r, "X-Request-Id")), 32);
    e2e_resp_free(&r);
}

/* Whether the simulator of provider saw a request with X-Request-Id rid. */
static int sim_saw(const char *provider, const char *rid)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/_sim/requests", e2e_sim_url(&D, provider));
    gb_http_req req = {.method = "GET", .url = url};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(j, "request_ids");
    int found = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, ids) found += cJSON_IsString(x) && strcmp(x->valuestring, rid) == 0;
    cJSON_Delete(j);
    gb_http_resp_free(&resp);
    return found;
}

static void test_request_id_reaches_provider(void **state)
{
    (void)state;
    char machine[160], body[400], id[64], path[160];
    /* a webhook endpoint nobody listens on: its deliveries fail and stay in the outbox */
    e2e_resp w;
    e2e_req(&D, "POST", "/api/volt/webhooks", D.key,
            "{\"url\":\"http://127.0.0.1:9/hook\",\"events\":\"pod.*\"}", &w);
    if (w.status != 201) fail_msg("webhook: %ld %s", w.status, w.body);
    e2e_resp_free(&w);
    e2e_machine_of(&D, "primus", machine, sizeof(machine), NULL);
    snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"image\":\"x/y:1\"}", machine);
    e2e_resp r;
    char auth[160];
    snprintf(auth, sizeof(auth), "X-API-Key: %s", D.key);
    /* the create is queued as an intent and run by a worker thread: the id goes with it */
    const char *hc[] = {auth, "Content-Type: application/json", "X-Request-Id: e2e-create-1", NULL};
    assert_int_equal(sim_saw("primus", "e2e-create-1"), 0);
    e2e_req_h(&D, "POST", "/api/volt/pods", hc, body, &r);
    if (r.status != 201) fail_msg("create: %ld %s", r.status, r.body);
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    e2e_wait_pod(&D, D.key, id, "running", 15000);
    assert_true(sim_saw("primus", "e2e-create-1") >= 1);
    assert_int_equal(sim_saw("primus", "e2e-logs-1"), 0);
    const char *h[] = {auth, "X-Request-Id: e2e-logs-1", NULL}; /* Primus serves logs */
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s/logs", id);
    e2e_req_h(&D, "GET", path, h, NULL, &r);
    if (r.status != 200) fail_msg("logs: %ld %s", r.status, r.body);
    e2e_resp_free(&r);
    assert_true(sim_saw("primus", "e2e-logs-1") >= 1);
}

/* Every family once (one TYPE line each), no series twice, and the values the flows above
 * imply: a running Primus pod, provider calls, the sandbox's credit, a failed delivery. */
static void test_metrics(void **state)
{
    (void)state;
    static const char *families[] = {"gpubroker_http_requests_total",
                                     "gpubroker_http_request_duration_seconds",
                                     "gpubroker_intents_queued",
                                     "gpubroker_provider_requests_total",
                                     "gpubroker_provider_errors_total",
                                     "gpubroker_provider_request_duration_seconds",
                                     "gpubroker_pods",
                                     "gpubroker_running_cost_per_hour_dollars",
                                     "gpubroker_jobs",
                                     "gpubroker_webhook_outbox_depth",
                                     "gpubroker_webhook_outbox_oldest_age_seconds",
                                     "gpubroker_webhook_delivery_attempts",
                                     "gpubroker_ledger_total_dollars",
                                     "gpubroker_offer_cache_age_seconds"};
    e2e_resp r;
    /* the failed delivery is attempted by the webhook worker: wait for it */
    for (int i = 0; i < 100; i++) {
        e2e_req(&D, "GET", "/metrics", NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        if (e2e_metric(r.body, "gpubroker_webhook_delivery_attempts{result=\"error\"}") > 0) break;
        e2e_resp_free(&r);
        usleep(100000);
    }
    const char *t = r.body;
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        char type[160];
        snprintf(type, sizeof(type), "# TYPE %s ", families[i]);
        const char *at = strstr(t, type);
        if (!at) fail_msg("no family %s in\n%s", families[i], t);
        if (strstr(at + 1, type)) fail_msg("two TYPE lines for %s", families[i]);
    }
    /* no series line twice */
    char *copy = strdup(t);
    assert_non_null(copy);
    int nlines = 0;
    char *lines[4096];
    for (char *l = copy, *nl; l && *l && nlines < 4096; l = nl ? nl + 1 : NULL) {
        nl = strchr(l, '\n');
        if (nl) *nl = '\0';
        if (l[0] == '#' || !l[0]) continue;
        char *sp = strrchr(l, ' ');
        assert_non_null(sp);
        *sp = '\0';
        for (int j = 0; j < nlines; j++)
            if (strcmp(lines[j], l) == 0) fail_msg("series twice: %s", l);
        lines[nlines++] = l;
    }
    assert_true(nlines > 20);
    free(copy);
    assert_true(e2e_metric(t, "gpubroker_pods{provider=\"primus\",status=\"running\"}") >= 1);
    assert_true(e2e_metric(t, "gpubroker_running_cost_per_hour_dollars") > 0);
    assert_true(e2e_metric(t, "gpubroker_provider_requests_total{platform=\"primus\","
                              "operation=\"GET\"}") > 0);
    assert_true(e2e_metric(t, "gpubroker_provider_request_duration_seconds_count{platform=\""
                              "primus\",operation=\"POST\"}") > 0);
    assert_true(e2e_metric(t, "gpubroker_ledger_total_dollars{kind=\"credit\"}") > 0);
    assert_true(e2e_metric(t, "gpubroker_webhook_delivery_attempts{result=\"error\"}") > 0);
    assert_true(e2e_metric(t, "gpubroker_webhook_outbox_depth") > 0);
    assert_true(e2e_metric(t, "gpubroker_offer_cache_age_seconds{provider=\"primus\"}") >= 0);
    assert_true(e2e_metric(t, "gpubroker_http_requests_total{route=\"GET /readyz\","
                              "status=\"503\"}") >= 2);
    /* the Grafana dashboard uses only names the daemon exposes (histograms by their _bucket) */
    char path[512];
    const char *src = getenv("GB_SOURCE_DIR");
    if (!src) fail_msg("GB_SOURCE_DIR is not set (ctest sets it)");
    snprintf(path, sizeof(path), "%s/docs/grafana/gpubroker.json", src);
    char *dash = e2e_slurp(path, NULL);
    assert_non_null(dash);
    cJSON *dj = cJSON_Parse(dash);
    assert_non_null(dj);
    cJSON_Delete(dj);
    int used = 0;
    for (const char *p = strstr(dash, "gpubroker_"); p; p = strstr(p + 1, "gpubroker_")) {
        char name[96], line[120], type[120];
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
        snprintf(name, sizeof(name), "%.*s", (int)n, p);
        snprintf(line, sizeof(line), "\n%s", name);       /* a series (a histogram's _bucket) */
        snprintf(type, sizeof(type), "# TYPE %s ", name); /* a family with none yet */
        if (!strstr(t, line) && !strstr(t, type))
            fail_msg("the dashboard uses %s, which /metrics lacks", name);
        used++;
    }
    free(dash);
    assert_true(used >= 10);
    e2e_resp_free(&r);
}

/* metrics.require_key: 1: /metrics wants an admin key; /readyz and /healthz stay open. */
static void test_metrics_require_key(void **state)
{
    (void)state;
    e2e_daemon k;
    memset(&k, 0, sizeof(k));
    static const char *env[] = {"GPUBROKER_METRICS_REQUIRE_KEY=1", NULL};
    e2e_start_sandbox(&k, NULL, env);
    e2e_resp r;
    e2e_req(&k, "GET", "/metrics", NULL, NULL, &r);
    e2e_expect_error(&r, 401, "INVALID_API_KEY");
    e2e_resp_free(&r);
    e2e_req(&k, "GET", "/metrics", k.key, NULL, &r);
    e2e_expect_error(&r, 403, "INSUFFICIENT_SCOPE");
    e2e_resp_free(&r);
    e2e_req(&k, "GET", "/metrics", k.admin_key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "# TYPE gpubroker_pods gauge"));
    e2e_resp_free(&r);
    e2e_req(&k, "GET", "/readyz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    e2e_stop(&k);
    e2e_cleanup(&k);
}

/* Last: stops the daemon, then reads every line it wrote to stderr. */
static void test_json_logs(void **state)
{
    (void)state;
    e2e_stop(&D);
    size_t len = 0;
    char *text = e2e_slurp(D.log_path, &len);
    assert_non_null(text);
    char *text_copy = strdup(text);
    assert_non_null(text_copy);
    int lines = 0, with_rid = 0;
    for (char *line = text, *nl; line < text + len; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(text + len - line));
        if (!nl) fail_msg("the log ends without a newline: %s", line);
        *nl = '\0';
        cJSON *o = cJSON_Parse(line);
        if (!cJSON_IsObject(o)) fail_msg("not a JSON object: %s", line);
        static const char *keys[] = {"ts", "level", "module", "msg"};
        for (size_t i = 0; i < 4; i++)
            if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, keys[i])))
                fail_msg("no string %s in %s", keys[i], line);
        with_rid += cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "request_id"));
        cJSON_Delete(o);
        lines++;
    }
    free(text);
    assert_true(lines >= 2); /* at least the start and the stop */
    /* lines logged while a request was handled carry its id: the debug access line of the
     * 404 above, say */
    assert_true(with_rid >= 1);
    assert_non_null(strstr(text_copy, "\"request_id\":\"e2e.Watch_1-a\""));
    free(text_copy);
    /* an unknown format is refused, from the flag and from the config */
    const char *flag[] = {"sandbox", "--log-format", "xml", NULL};
    char *out = NULL, *err = NULL;
    assert_int_not_equal(e2e_cli(flag, NULL, NULL, &out, &err), 0);
    assert_non_null(strstr(err, "--log-format must be text or json"));
    free(out);
    free(err);
    const char *serve[] = {"serve", NULL};
    const char *env[] = {"GPUBROKER_LOG_FORMAT=xml", NULL};
    assert_int_not_equal(e2e_cli(serve, env, NULL, &out, &err), 0);
    assert_non_null(strstr(err, "log.format must be text or json"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readyz),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_request_id_reaches_provider),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_metrics_require_key),
        cmocka_unit_test(test_json_logs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
