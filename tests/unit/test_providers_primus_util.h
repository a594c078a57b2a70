/* test_providers_primus_util.h: the fixture of the Primus adapter and simulator tests: a
 * Primus-SaFE simulator on a loopback port (login secret "alice:wonder-land-7"), an adapter
 * with the sandbox settings whose sleeps are recorded, and raw calls to /_sim/ and the API.
 * Header-only, included by test_providers_primus.c and test_sim_primus.c. */
#ifndef GB_TEST_PROVIDERS_PRIMUS_UTIL_H
#define GB_TEST_PROVIDERS_PRIMUS_UTIL_H

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
#include "providers/primus.h"
#include "providers/provider.h"
#include "providers/sim/sim.h"

const sim_platform *sim_platform_primus(void);

#define USER_SECRET "alice:wonder-land-7"
#define KEY_SECRET "ak-Zx8kQ2mN4pR6sT1vW3yB5dF7"
#define PLAIN_SECRET "Q7dLr2VxK9mTb4NwZ8pYc3HsJ6fGa1Ue5RtWk0Xo"
#define IMAGE "docker.io/rocm/pytorch:rocm6.2_ubuntu22.04_py3.10_pytorch_2.3.0"
#define SETTINGS                                                                                   \
    "{\"rate_per_gpu_hour\":\"1.40\",\"gpu_type\":\"MI300X\",\"gpu_vram_gb\":192,"                 \
    "\"gpus_per_node\":8,\"max_gpus\":32,\"location\":\"on-prem\",\"workspace_id\":\"ws-"          \
    "sandbox\"}"

typedef struct {
    sim_server *sim;
    uint16_t port;
    prov_adapter *a;
    int64_t sleeps[64];
    int nsleeps;
    char token[128];
    char err[PROV_ERR_MAX];
} fx;

static inline void rec_sleep(void *ud, int64_t ms)
{
    fx *f = ud;
    if (f->nsleeps < 64) f->sleeps[f->nsleeps++] = ms;
}

static inline prov_adapter *adapter(fx *f, const char *secret)
{
    char url[64];
    prov_adapter *a = NULL;
    cJSON *settings = cJSON_Parse(SETTINGS);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)f->port);
    assert_int_equal(prov_adapter_init(&prov_primus_ops, "primus", url, secret, settings, &a),
                     GB_OK);
    cJSON_Delete(settings);
    a->policy.sleep_ms = rec_sleep;
    a->policy.sleep_ud = f;
    return a;
}

static inline int setup_with(void **state, const char *secret)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(sim_start(sim_platform_primus(), 0, secret, &f->sim, &f->port), GB_OK);
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
    fx *f = *state;
    prov_adapter_free(f->a);
    sim_stop(f->sim);
    free(f);
    return 0;
}

/* One raw HTTP exchange with the simulator (bearer may be NULL); the parsed body or NULL. */
static inline cJSON *http(fx *f, const char *method, const char *path, const char *body,
                          const char *bearer, long *status)
{
    char url[1100], auth[192];
    const char *hdrs[3];
    int n = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)f->port, path);
    if (bearer) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
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
    cJSON *j = rs.body_len ? cJSON_ParseWithLength(rs.body, rs.body_len) : NULL;
    gb_http_resp_free(&rs);
    return j;
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

static inline void ctl(fx *f, const char *path, const char *body)
{
    long st = 0;
    cJSON_Delete(http(f, "POST", path, body, NULL, &st));
    assert_true(st >= 200 && st < 300);
}

static inline void advance(fx *f, int64_t ms)
{
    char b[64];
    snprintf(b, sizeof(b), "{\"advance_ms\":%lld}", (long long)ms);
    ctl(f, "/_sim/clock", b);
}

static inline cJSON *sim_state(fx *f)
{
    cJSON *j = http(f, "GET", "/_sim/state", NULL, NULL, NULL);
    assert_non_null(j);
    return j;
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
    cJSON *st = sim_state(f);
    int n = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(st, "workloads"))
    {
        if (strcmp(cJSON_GetObjectItem(w, "displayName")->valuestring, name) == 0) n++;
    }
    cJSON_Delete(st);
    return n;
}

static inline int state_int(fx *f, const char *key)
{
    cJSON *st = sim_state(f);
    int v = cJSON_GetObjectItem(st, key)->valueint;
    cJSON_Delete(st);
    return v;
}

/* Requests the simulator served on one route ("POST /api/v1/workloads"). */
static inline int route_count(fx *f, const char *route)
{
    cJSON *j = http(f, "GET", "/_sim/requests", NULL, NULL, NULL);
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_route"), route);
    int n = cJSON_IsNumber(c) ? c->valueint : 0;
    cJSON_Delete(j);
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
