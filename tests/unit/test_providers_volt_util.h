/* test_providers_volt_util.h: the fixture of the Volt adapter tests: a Volt simulator on a
 * loopback port, an adapter whose sleeps are recorded, and raw calls to /_sim/ and the API.
 * Header-only, included by test_providers_volt.c. */
#ifndef GB_TEST_PROVIDERS_VOLT_UTIL_H
#define GB_TEST_PROVIDERS_VOLT_UTIL_H

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
#include "providers/provider.h"
#include "providers/sim/sim.h"

extern const prov_ops prov_volt_ops;

#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtestkeyonexxxxxxxxxxxxxxxxxxxxxxxxxxxx a@b"
#define KEY2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtestkeytwoxxxxxxxxxxxxxxxxxxxxxxxxxxxx c@d"
#define IMAGE21 "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel"

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

static prov_adapter *adapter(fx *f, const char *secret)
{
    char url[64];
    prov_adapter *a = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)f->port);
    assert_int_equal(prov_adapter_init(&prov_volt_ops, "volt", url, secret, NULL, &a), GB_OK);
    a->policy.sleep_ms = rec_sleep;
    a->policy.sleep_ud = f;
    return a;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(sim_start(sim_platform_volt(), 0, "test-secret", &f->sim, &f->port), GB_OK);
    f->a = adapter(f, "test-secret");
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
static cJSON *http(fx *f, const char *method, const char *path, const char *body, const char *key,
                   long *status)
{
    char url[256], auth[128];
    const char *hdrs[3];
    int n = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)f->port, path);
    if (key) {
        snprintf(auth, sizeof(auth), "X-API-Key: %s", key);
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

/* Pods in the simulator's state with this name and not deleted. */
static int live_pods_named(fx *f, const char *name)
{
    cJSON *st = sim_state(f);
    int n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(st, "pods"))
    {
        if (strcmp(cJSON_GetObjectItem(p, "name")->valuestring, name) == 0 &&
            strcmp(cJSON_GetObjectItem(p, "status")->valuestring, "deleted") != 0)
            n++;
    }
    cJSON_Delete(st);
    return n;
}

static int machine_available(fx *f, const char *id)
{
    cJSON *st = sim_state(f);
    int n = -1;
    const cJSON *m;
    cJSON_ArrayForEach(
        m, cJSON_GetObjectItem(
               st, "machines")) if (strcmp(cJSON_GetObjectItem(m, "id")->valuestring, id) == 0) n =
        cJSON_GetObjectItem(m, "available_gpus")->valueint;
    cJSON_Delete(st);
    return n;
}

/* Requests the simulator served on one route ("POST /api/volt/pods"). */
static int route_count(fx *f, const char *route)
{
    cJSON *j = http(f, "GET", "/_sim/requests", NULL, NULL, NULL);
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_route"), route);
    int n = cJSON_IsNumber(c) ? c->valueint : 0;
    cJSON_Delete(j);
    return n;
}

static gb_err create(fx *f, const char *name, const char *offer, int gpus, const char *opts,
                     prov_pod *out)
{
    static const char *const keys[] = {KEY1};
    cJSON *o = opts ? cJSON_Parse(opts) : NULL;
    prov_create_req req = {.name = name,
                           .offer_id = offer,
                           .image = IMAGE21,
                           .gpu_count = gpus,
                           .ssh_public_keys = keys,
                           .nssh = 1,
                           .options = o};
    gb_err e = prov_volt_ops.create(f->a, &req, out, f->err);
    cJSON_Delete(o);
    return e;
}

#endif
