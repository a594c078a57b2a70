/* test_providers_volt_util.h: the fixture of the Volt adapter tests: a Volt simulator on a
 * loopback port, an adapter whose sleeps are recorded, and raw calls to /_sim/ and the API.
 * Header-only, included by test_providers_volt.c and test_providers_volt_create.c. */
#ifndef GB_TEST_PROVIDERS_VOLT_UTIL_H
#define GB_TEST_PROVIDERS_VOLT_UTIL_H

#include "test_prov_fixture.h"

extern const prov_ops prov_volt_ops;

#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtestkeyonexxxxxxxxxxxxxxxxxxxxxxxxxxxx a@b"
#define KEY2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtestkeytwoxxxxxxxxxxxxxxxxxxxxxxxxxxxx c@d"
#define IMAGE21 "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel"

typedef pf_fx fx;

static inline prov_adapter *adapter(fx *f, const char *secret)
{
    return pf_adapter(f, &prov_volt_ops, "volt", "", secret, NULL);
}

static inline int setup(void **state)
{
    fx *f = pf_start(sim_platform_volt(), "test-secret");
    f->a = adapter(f, "test-secret");
    *state = f;
    return 0;
}

/* One raw HTTP exchange with the simulator (key: the X-API-Key, or NULL); returns the parsed
 * body (or NULL). */
static inline cJSON *http(fx *f, const char *method, const char *path, const char *body,
                          const char *key, long *status)
{
    return pf_http(f, method, path, body, "X-API-Key: ", key, status);
}

/* Pods in the simulator's state with this name and not deleted. */
static inline int live_pods_named(fx *f, const char *name)
{
    cJSON *st = pf_state(f);
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

static inline int machine_available(fx *f, const char *id)
{
    cJSON *st = pf_state(f);
    int n = -1;
    const cJSON *m;
    cJSON_ArrayForEach(
        m, cJSON_GetObjectItem(
               st, "machines")) if (strcmp(cJSON_GetObjectItem(m, "id")->valuestring, id) == 0) n =
        cJSON_GetObjectItem(m, "available_gpus")->valueint;
    cJSON_Delete(st);
    return n;
}

static inline gb_err create(fx *f, const char *name, const char *offer, int gpus, const char *opts,
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
