/* test_providers_primus_util.h: the fixture of the Primus adapter and simulator tests: a
 * Primus-SaFE simulator on a loopback port (login secret "alice:wonder-land-7"), an adapter
 * with the sandbox settings whose sleeps are recorded, and raw calls to /_sim/ and the API.
 * Header-only, included by test_providers_primus.c and test_sim_primus.c. */
#ifndef GB_TEST_PROVIDERS_PRIMUS_UTIL_H
#define GB_TEST_PROVIDERS_PRIMUS_UTIL_H

#include "test_prov_fixture.h"

#include "providers/primus.h"

const sim_platform *sim_platform_primus(void);

#define USER_SECRET "alice:wonder-land-7"
#define KEY_SECRET "ak-Zx8kQ2mN4pR6sT1vW3yB5dF7"
#define PLAIN_SECRET "Q7dLr2VxK9mTb4NwZ8pYc3HsJ6fGa1Ue5RtWk0Xo"
#define IMAGE "docker.io/rocm/pytorch:rocm6.2_ubuntu22.04_py3.10_pytorch_2.3.0"
#define SETTINGS                                                                                   \
    "{\"rate_per_gpu_hour\":\"1.40\",\"gpu_type\":\"MI300X\",\"gpu_vram_gb\":192,"                 \
    "\"gpus_per_node\":8,\"max_gpus\":32,\"location\":\"on-prem\",\"workspace_id\":\"ws-"          \
    "sandbox\"}"

typedef pf_fx fx;

static inline prov_adapter *adapter(fx *f, const char *secret)
{
    cJSON *settings = cJSON_Parse(SETTINGS);
    prov_adapter *a = pf_adapter(f, &prov_primus_ops, "primus", "", secret, settings);
    cJSON_Delete(settings);
    return a;
}

static inline int setup_with(void **state, const char *secret)
{
    fx *f = pf_start(sim_platform_primus(), secret);
    f->a = adapter(f, secret);
    *state = f;
    return 0;
}

static inline int setup(void **state)
{
    return setup_with(state, USER_SECRET);
}

static inline int setup_key(void **state)
{
    return setup_with(state, KEY_SECRET);
}

static inline int setup_plain(void **state)
{
    return setup_with(state, PLAIN_SECRET);
}

static inline int teardown(void **state)
{
    return pf_teardown(state);
}

/* One raw HTTP exchange with the simulator (bearer may be NULL); the parsed body or NULL. */
static inline cJSON *http(fx *f, const char *method, const char *path, const char *body,
                          const char *bearer, long *status)
{
    return pf_http(f, method, path, body, "Authorization: Bearer ", bearer, status);
}

/* A token from POST /api/v1/login with the fixture's credentials (kept in f->token). */
static inline const char *token(fx *f)
{
    long st = 0;
    cJSON *j =
        http(f, "POST", "/api/v1/login",
             "{\"type\":\"default\",\"name\":\"alice\",\"password\":\"wonder-land-7\"}", NULL, &st);
    assert_int_equal(st, 200);
    snprintf(f->token, sizeof(f->token), "%s", cJSON_GetObjectItem(j, "token")->valuestring);
    cJSON_Delete(j);
    return f->token;
}

/* An authenticated API call (login once per fixture). */
static inline cJSON *api(fx *f, const char *method, const char *path, const char *body,
                         long *status)
{
    return http(f, method, path, body, f->token[0] ? f->token : token(f), status);
}

/* The shared /_sim/ helpers under the names test_sim_primus.c uses. */
static inline void advance(fx *f, int64_t ms)
{
    pf_advance(f, ms);
}

static inline cJSON *sim_state(fx *f)
{
    return pf_state(f);
}

/* The workload of the simulator's state with this id (in st), or NULL. */
static inline const cJSON *state_wl(const cJSON *st, const char *id)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(st, "workloads"))
    {
        if (strcmp(cJSON_GetObjectItem(w, "workloadId")->valuestring, id) == 0) return w;
    }
    return NULL;
}

/* Workloads in the simulator with this displayName. */
static inline int wls_named(fx *f, const char *name)
{
    cJSON *st = pf_state(f);
    int n = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(st, "workloads"))
    {
        if (strcmp(cJSON_GetObjectItem(w, "displayName")->valuestring, name) == 0) n++;
    }
    cJSON_Delete(st);
    return n;
}

static inline gb_err create(fx *f, const char *name, int gpus, const char *opts, prov_pod *out)
{
    cJSON *o = opts ? cJSON_Parse(opts) : NULL;
    if (opts) assert_non_null(o);
    prov_create_req req = {
        .name = name, .offer_id = NULL, .image = IMAGE, .gpu_count = gpus, .options = o};
    gb_err e = prov_primus_ops.create(f->a, &req, out, f->err);
    cJSON_Delete(o);
    return e;
}

static inline pod_status status_of(fx *f, const char *id)
{
    prov_pod p;
    assert_int_equal(prov_primus_ops.get(f->a, id, &p, f->err), GB_OK);
    return p.status;
}

#endif
