/* test_providers_runai_util.h: the fixture of the Run:ai adapter and simulator tests: a Run:ai
 * simulator on a loopback port, an adapter whose sleeps are recorded, raw calls to /_sim/ and
 * to the API (with a token of their own). Header-only, included by test_providers_runai*.c. */
#ifndef GB_TEST_PROVIDERS_RUNAI_UTIL_H
#define GB_TEST_PROVIDERS_RUNAI_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/http_client.h"
#include "providers/provider.h"
#include "providers/sim/sim.h"

/* Each test file uses only some of the helpers. */
#define HELPER __attribute__((unused)) static

extern const prov_ops prov_runai_ops;
const sim_platform *sim_platform_runai(void);

#define CREDS "client-id:client-secret"
#define CLUSTER "3f1c6d2e-7a4b-4c1d-9e8f-0a1b2c3d4e5f"
#define SETTINGS                                                                                   \
    "{\"rate_per_gpu_hour\":\"1.80\",\"gpu_type\":\"H100\",\"gpu_vram_gb\":80,"                    \
    "\"gpus_per_node\":8,\"max_gpus\":16,\"location\":\"on-prem\",\"project\":\"team-a\","         \
    "\"cluster_id\":\"" CLUSTER "\"}"
#define IMAGE "nvcr.io/nvidia/pytorch:24.05-py3"
#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtestkeyonexxxxxxxxxxxxxxxxxxxxxxxxxxxx a@b"
#define KEY2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtestkeytwoxxxxxxxxxxxxxxxxxxxxxxxxxxxx c@d"
#define NOPE_ID "00000000-0000-4000-8000-000000000000"

typedef struct {
    sim_server *sim;
    uint16_t port;
    prov_adapter *a;
    int64_t sleeps[64];
    int nsleeps;
    char err[PROV_ERR_MAX];
} fx;

HELPER void rec_sleep(void *ud, int64_t ms)
{
    fx *f = ud;
    if (f->nsleeps < 64) f->sleeps[f->nsleeps++] = ms;
}

HELPER prov_adapter *adapter(fx *f, const char *secret, const char *settings)
{
    char url[64];
    prov_adapter *a = NULL;
    cJSON *s = settings ? cJSON_Parse(settings) : NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)f->port);
    assert_int_equal(prov_adapter_init(&prov_runai_ops, "runai", url, secret, s, &a), GB_OK);
    cJSON_Delete(s);
    a->policy.sleep_ms = rec_sleep;
    a->policy.sleep_ud = f;
    return a;
}

HELPER int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(sim_start(sim_platform_runai(), 0, CREDS, &f->sim, &f->port), GB_OK);
    f->a = adapter(f, CREDS, SETTINGS);
    *state = f;
    return 0;
}

HELPER int teardown(void **state)
{
    fx *f = *state;
    gb_clock_use_real();
    prov_adapter_free(f->a);
    sim_stop(f->sim);
    free(f);
    return 0;
}

/* One raw HTTP exchange with the simulator; returns the parsed body (or NULL). */
HELPER cJSON *http(fx *f, const char *method, const char *path, const char *body, const char *token,
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

/* A fresh access token for raw calls (copied into tok, 64 bytes). */
HELPER void raw_token(fx *f, char *tok)
{
    long st = 0;
    cJSON *j = http(f, "POST", "/api/v1/token",
                    "{\"grantType\":\"client_credentials\",\"clientID\":\"client-id\","
                    "\"clientSecret\":\"client-secret\"}",
                    NULL, &st);
    assert_int_equal(st, 200);
    assert_int_equal(cJSON_GetObjectItem(j, "expiresIn")->valueint, 300);
    snprintf(tok, 64, "%s", cJSON_GetObjectItem(j, "accessToken")->valuestring);
    cJSON_Delete(j);
}

HELPER void ctl(fx *f, const char *path, const char *body)
{
    long st = 0;
    cJSON_Delete(http(f, "POST", path, body, NULL, &st));
    assert_true(st >= 200 && st < 300);
}

HELPER void advance(fx *f, int64_t ms)
{
    char b[64];
    snprintf(b, sizeof(b), "{\"advance_ms\":%lld}", (long long)ms);
    ctl(f, "/_sim/clock", b);
}

HELPER cJSON *sim_state(fx *f)
{
    cJSON *j = http(f, "GET", "/_sim/state", NULL, NULL, NULL);
    assert_non_null(j);
    return j;
}

HELPER int state_int(fx *f, const char *key)
{
    cJSON *st = sim_state(f);
    int n = cJSON_GetObjectItem(st, key)->valueint;
    cJSON_Delete(st);
    return n;
}

/* Workloads in the simulator named name. */
HELPER int workloads_named(fx *f, const char *name)
{
    cJSON *st = sim_state(f);
    int n = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(st, "workloads"))
    {
        const cJSON *md = cJSON_GetObjectItem(w, "metadata");
        if (strcmp(cJSON_GetObjectItem(md, "name")->valuestring, name) == 0) n++;
    }
    cJSON_Delete(st);
    return n;
}

/* A copy of the simulator's workload with this id (caller frees). */
HELPER cJSON *state_workload(fx *f, const char *id)
{
    cJSON *st = sim_state(f), *out = NULL;
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(st, "workloads"))
    {
        const cJSON *md = cJSON_GetObjectItem(w, "metadata");
        if (strcmp(cJSON_GetObjectItem(md, "id")->valuestring, id) == 0)
            out = cJSON_Duplicate(w, 1);
    }
    cJSON_Delete(st);
    assert_non_null(out);
    return out;
}

/* Requests the simulator served on one route ("POST /api/v2/workloads"). */
HELPER int route_count(fx *f, const char *route)
{
    cJSON *j = http(f, "GET", "/_sim/requests", NULL, NULL, NULL);
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_route"), route);
    int n = cJSON_IsNumber(c) ? c->valueint : 0;
    cJSON_Delete(j);
    return n;
}

HELPER int total_requests(fx *f)
{
    cJSON *j = http(f, "GET", "/_sim/requests", NULL, NULL, NULL);
    int n = cJSON_GetObjectItem(j, "count")->valueint;
    cJSON_Delete(j);
    return n;
}

HELPER gb_err create(fx *f, const char *name, const char *offer, int gpus, const char *opts,
                     prov_pod *out)
{
    static const char *const keys[] = {KEY1};
    static const char *const env[] = {"MODEL_DIR=/workspace", "QUOTE=say \"hi\"\n"};
    static const int ports[] = {8888};
    cJSON *o = opts ? cJSON_Parse(opts) : NULL;
    prov_create_req req = {.name = name,
                           .offer_id = offer,
                           .image = IMAGE,
                           .gpu_count = gpus,
                           .env = env,
                           .nenv = 2,
                           .ports = ports,
                           .nports = 1,
                           .ssh_public_keys = keys,
                           .nssh = 1,
                           .options = o};
    gb_err e = prov_runai_ops.create(f->a, &req, out, f->err);
    cJSON_Delete(o);
    return e;
}

/* Standard base 64 of s (test helper; caller frees). */
HELPER char *b64(const char *s)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n) v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)s[i + 2];
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

#endif
