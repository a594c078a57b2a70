/* test_providers_lium_util.h: the fixture of the Lium adapter tests against the Lium simulator:
 * its executors, an adapter whose sleeps are recorded (10 s timeout), and a create request.
 * Header-only, included by test_providers_lium.c and test_providers_lium_rent.c. */
#ifndef GB_TEST_PROVIDERS_LIUM_UTIL_H
#define GB_TEST_PROVIDERS_LIUM_UTIL_H

#include "test_prov_fixture.h"

extern const prov_ops prov_lium_ops;

#define SECRET "test-secret"
#define X_H100x8 "6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e01"
#define X_4090x4 "6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e02"
#define X_H100x1 "6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e06"
#define X_4090x2 "6f1c2a3e-91d4-4b7a-8e2f-0a1b2c3d4e07"
#define IMAGE "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel"

static const char *const KEYS[] = {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb5pQm3 user@test"};

typedef pf_fx fx;

static inline prov_adapter *adapter(fx *f, const char *secret)
{
    prov_adapter *a = pf_adapter(f, &prov_lium_ops, "lium", "/api", secret, NULL);
    a->policy.timeout_ms = 10000;
    return a;
}

static inline int setup(void **state)
{
    fx *f = pf_start(sim_platform_lium(), SECRET);
    f->a = adapter(f, SECRET);
    *state = f;
    return 0;
}

/* A create of gpus GPUs on executor offer, with the image and KEYS. */
static inline prov_create_req req_for(const char *name, const char *offer, int gpus)
{
    prov_create_req r;
    memset(&r, 0, sizeof(r));
    r.name = name;
    r.offer_id = offer;
    r.image = IMAGE;
    r.gpu_count = gpus;
    r.ssh_public_keys = KEYS;
    r.nssh = 1;
    return r;
}

#endif
