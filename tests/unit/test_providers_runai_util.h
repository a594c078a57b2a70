/* test_providers_runai_util.h: the fixture of the Run:ai adapter and simulator tests: a Run:ai
 * simulator on a loopback port, an adapter whose sleeps are recorded, raw calls to /_sim/ and
 * to the API (with a token of their own). Header-only, included by test_providers_runai*.c. */
#ifndef GB_TEST_PROVIDERS_RUNAI_UTIL_H
#define GB_TEST_PROVIDERS_RUNAI_UTIL_H

#include "test_prov_fixture.h"

#include "common/clock.h"

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

typedef pf_fx fx;

HELPER prov_adapter *adapter(fx *f, const char *secret, const char *settings)
{
    cJSON *s = settings ? cJSON_Parse(settings) : NULL;
    prov_adapter *a = pf_adapter(f, &prov_runai_ops, "runai", "", secret, s);
    cJSON_Delete(s);
    return a;
}

HELPER int setup(void **state)
{
    fx *f = pf_start(sim_platform_runai(), CREDS);
    f->a = adapter(f, CREDS, SETTINGS);
    *state = f;
    return 0;
}

HELPER int teardown(void **state)
{
    gb_clock_use_real();
    pf_stop(*state);
    return 0;
}

/* One raw HTTP exchange with the simulator (token: a bearer token, or NULL); returns the
 * parsed body (or NULL). */
HELPER cJSON *http(fx *f, const char *method, const char *path, const char *body, const char *token,
                   long *status)
{
    return pf_http(f, method, path, body, "Authorization: Bearer ", token, status);
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

/* Workloads in the simulator named name. */
HELPER int workloads_named(fx *f, const char *name)
{
    cJSON *st = pf_state(f);
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
    cJSON *st = pf_state(f), *out = NULL;
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
