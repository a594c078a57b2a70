/* test_providers_datarobot_util.h: the fixture of the DataRobot adapter tests: a DataRobot
 * simulator on a loopback port, an adapter (with the sandbox settings) whose sleeps are
 * recorded, and raw calls to /_sim/ and the API. Header-only, included by
 * test_providers_datarobot*.c. */
#ifndef GB_TEST_PROVIDERS_DATAROBOT_UTIL_H
#define GB_TEST_PROVIDERS_DATAROBOT_UTIL_H

#include "test_prov_fixture.h"

#include "common/json.h"
#include "providers/datarobot.h"
#include "providers/sim/sim_datarobot.h"

#define SECRET "dr-test-token"
#define IMAGE "nvcr.io/nvidia/tritonserver:24.05-py3"
#define API "/api/v2"

typedef pf_fx fx;

/* An adapter for the simulator, registered as the sandbox registers it. */
static prov_adapter *adapter(fx *f, const char *secret)
{
    const sim_platform *p = sim_platform_datarobot();
    cJSON *settings = cJSON_Parse(p->sandbox_settings);
    assert_non_null(settings);
    prov_adapter *a =
        pf_adapter(f, &prov_datarobot_ops, "datarobot", p->api_path, secret, settings);
    cJSON_Delete(settings);
    return a;
}

static int setup(void **state)
{
    fx *f = pf_start(sim_platform_datarobot(), SECRET);
    f->a = adapter(f, SECRET);
    *state = f;
    return 0;
}

/* One raw HTTP exchange with the simulator (token: a bearer token, or NULL); returns the
 * parsed body (or NULL). */
static cJSON *http(fx *f, const char *method, const char *path, const char *body, const char *token,
                   long *status)
{
    return pf_http(f, method, path, body, "Authorization: Bearer ", token, status);
}

/* Workloads in the simulator with this name. */
static int workloads_named(fx *f, const char *name)
{
    cJSON *st = pf_state(f);
    int n = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(st, "workloads"))
    {
        if (strcmp(cJSON_GetObjectItem(w, "name")->valuestring, name) == 0) n++;
    }
    cJSON_Delete(st);
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

/* Creates a one-GPU workload with one extra environment entry ("SIM_FAULT=..."). */
__attribute__((unused)) static gb_err create_env(fx *f, const char *name, const char *env1,
                                                 prov_pod *out)
{
    const char *env[] = {env1};
    static const int ports[] = {8000};
    prov_create_req req = {.name = name,
                           .offer_id = "gpu.a100.large",
                           .image = IMAGE,
                           .gpu_count = 1,
                           .env = env,
                           .nenv = 1,
                           .ports = ports,
                           .nports = 1};
    return prov_datarobot_ops.create(f->a, &req, out, f->err);
}

/* Creates a workload and brings it to running on the simulator clock. */
__attribute__((unused)) static void create_running(fx *f, const char *name, int gpus,
                                                   const char *opts, prov_pod *out)
{
    assert_int_equal(create(f, name, "gpu.a100.large", gpus, opts, out), GB_OK);
    pf_advance(f, 21000);
    prov_pod g;
    assert_int_equal(prov_datarobot_ops.get(f->a, out->provider_id, &g, f->err), GB_OK);
    assert_int_equal(g.status, POD_RUNNING);
}

#endif
