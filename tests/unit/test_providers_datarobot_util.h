/* test_providers_datarobot_util.h: the fixture of the DataRobot adapter tests: a DataRobot
 * simulator on a loopback port, an adapter (with the sandbox settings) whose sleeps are
 * recorded, and raw calls to /_sim/ and the API. Header-only, included by
 * test_providers_datarobot*.c. */
#ifndef GB_TEST_PROVIDERS_DATAROBOT_UTIL_H
#define GB_TEST_PROVIDERS_DATAROBOT_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "providers/datarobot.h"
#include "providers/sim/sim_datarobot.h"

#define SECRET "dr-test-token"
#define IMAGE "nvcr.io/nvidia/tritonserver:24.05-py3"
#define API "/api/v2"

typedef struct {
    sim_server *sim;
    uint16_t port;
    prov_adapter *a;
    int64_t sleeps[64];
    int nsleeps;
    char err[PROV_ERR_MAX];
} fx;

static void rec_sleep(void *ud, int64_t ms)
{
    fx *f = ud;
    if (f->nsleeps < 64) f->sleeps[f->nsleeps++] = ms;
}

/* An adapter for the simulator, registered as the sandbox registers it. */
static prov_adapter *adapter(fx *f, const char *secret)
{
    const sim_platform *p = sim_platform_datarobot();
    char url[96];
    prov_adapter *a = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)f->port, p->api_path);
    cJSON *settings = cJSON_Parse(p->sandbox_settings);
    assert_non_null(settings);
    assert_int_equal(prov_adapter_init(&prov_datarobot_ops, "datarobot", url, secret, settings, &a),
                     GB_OK);
    cJSON_Delete(settings);
    a->policy.sleep_ms = rec_sleep;
    a->policy.sleep_ud = f;
    return a;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(sim_start(sim_platform_datarobot(), 0, SECRET, &f->sim, &f->port), GB_OK);
    f->a = adapter(f, SECRET);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    prov_adapter_free(f->a);
    sim_stop(f->sim);
    free(f);
    return 0;
}

/* One raw HTTP exchange with the simulator; returns the parsed body (or NULL). */
static cJSON *http(fx *f, const char *method, const char *path, const char *body, const char *token,
                   long *status)
{
    char url[256], auth[128];
    const char *hdrs[3];
    int n = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)f->port, path);
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdrs[n++] = auth;
    }
    if (body) hdrs[n++] = "Content-Type: application/json";
    hdrs[n] = NULL;
    gb_http_req rq = {.method = method,
                      .url = url,
                      .headers = hdrs,
                      .body = body,
                      .body_len = body ? strlen(body) : 0};
    gb_http_resp rs;
    char err[256];
    assert_int_equal(gb_http_do(&rq, &rs, err), GB_OK);
    if (status) *status = rs.status;
    cJSON *j = cJSON_ParseWithLength(rs.body, rs.body_len);
    gb_http_resp_free(&rs);
    return j;
}

static void ctl(fx *f, const char *path, const char *body)
{
    long st = 0;
    cJSON_Delete(http(f, "POST", path, body, NULL, &st));
    assert_true(st >= 200 && st < 300);
}

static void advance(fx *f, int64_t ms)
{
    char b[64];
    snprintf(b, sizeof(b), "{\"advance_ms\":%lld}", (long long)ms);
    ctl(f, "/_sim/clock", b);
}

static cJSON *sim_state(fx *f)
{
    cJSON *j = http(f, "GET", "/_sim/state", NULL, NULL, NULL);
    assert_non_null(j);
    return j;
}

/* Workloads in the simulator with this name. */
static int workloads_named(fx *f, const char *name)
{
    cJSON *st = sim_state(f);
    int n = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(st, "workloads"))
    {
        if (strcmp(cJSON_GetObjectItem(w, "name")->valuestring, name) == 0) n++;
    }
    cJSON_Delete(st);
    return n;
}

/* Requests the simulator served on one route ("POST /api/v2/workloads"). */
static int route_count(fx *f, const char *route)
{
    cJSON *j = http(f, "GET", "/_sim/requests", NULL, NULL, NULL);
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_route"), route);
    int n = cJSON_IsNumber(c) ? c->valueint : 0;
    cJSON_Delete(j);
    return n;
}

__attribute__((unused)) static int total_requests(fx *f)
{
    cJSON *j = http(f, "GET", "/_sim/requests", NULL, NULL, NULL);
    int n = cJSON_GetObjectItem(j, "count")->valueint;
    cJSON_Delete(j);
    return n;
}

static gb_err create(fx *f, const char *name, const char *offer, int gpus, const char *opts,
                     prov_pod *out)
{
    static const char *const env[] = {"MODEL=llama", "LOG_LEVEL=info"};
    static const int ports[] = {8000};
    cJSON *o = opts ? cJSON_Parse(opts) : NULL;
    if (opts) assert_non_null(o);
    prov_create_req req = {.name = name,
                           .offer_id = offer,
                           .image = IMAGE,
                           .gpu_count = gpus,
                           .env = env,
                           .nenv = 2,
                           .ports = ports,
                           .nports = 1,
                           .options = o};
    gb_err e = prov_datarobot_ops.create(f->a, &req, out, f->err);
    cJSON_Delete(o);
    return e;
}

/* Creates a workload and brings it to running on the simulator clock. */
__attribute__((unused)) static void create_running(fx *f, const char *name, int gpus,
                                                   const char *opts, prov_pod *out)
{
    assert_int_equal(create(f, name, "a100-80gb-x1", gpus, opts, out), GB_OK);
    advance(f, 21000);
    prov_pod g;
    assert_int_equal(prov_datarobot_ops.get(f->a, out->provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);
}

#endif
