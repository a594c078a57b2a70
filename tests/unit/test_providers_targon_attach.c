/* test_providers_targon_attach.c: the Targon adapter's volume and SSH key attachments and the
 * image digest check, against the Targon simulator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "providers/sim/sim.h"
#include "providers/targon.h"

static sim_server *S;
static prov_adapter *A;
static char UID[128];

static cJSON *sim_state(void)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/_sim/state", sim_port(S));
    gb_http_req req = {.method = "GET", .url = url};
    gb_http_resp r;
    assert_int_equal(gb_http_do(&req, &r, NULL), GB_OK);
    cJSON *j = cJSON_Parse(r.body);
    gb_http_resp_free(&r);
    assert_non_null(j);
    return j;
}

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    uint16_t port;
    assert_int_equal(sim_start(sim_platform_targon(), 0, "tk", &S, &port), GB_OK);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
    assert_int_equal(prov_adapter_init(&prov_targon_ops, "targon", url, "tk", NULL, &A), GB_OK);
    prov_create_req req = {.name = "gpb-attach",
                           .offer_id = "h200-small",
                           .image = "pytorch/pytorch:latest",
                           .gpu_count = 1};
    prov_pod p;
    char err[PROV_ERR_MAX] = "";
    if (A->ops->create(A, &req, &p, err) != GB_OK) fail_msg("create: %s", err);
    snprintf(UID, sizeof(UID), "%s", p.provider_id);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    prov_adapter_free(A);
    sim_stop(S);
    gb_http_global_cleanup();
    return 0;
}

static void test_volumes(void **state)
{
    (void)state;
    char err[PROV_ERR_MAX] = "";
    assert_int_equal(prov_targon_attach_volume(A, UID, "vol-data01", "/data", false, err), GB_OK);
    cJSON *st = sim_state();
    char *txt = cJSON_PrintUnformatted(st);
    assert_non_null(strstr(txt, "vol-data01"));
    assert_non_null(strstr(txt, "\"/data\""));
    free(txt);
    cJSON_Delete(st);
    assert_int_equal(prov_targon_detach_volume(A, UID, "vol-data01", err), GB_OK);
    st = sim_state();
    txt = cJSON_PrintUnformatted(st);
    assert_null(strstr(txt, "vol-data01"));
    free(txt);
    cJSON_Delete(st);
    /* bad input is refused before anything is sent */
    assert_int_equal(prov_targon_attach_volume(A, UID, "vol/../x", "/data", false, err),
                     GB_ERR_INVALID);
    assert_int_equal(prov_targon_attach_volume(A, UID, "vol-a", "relative", false, err),
                     GB_ERR_INVALID);
    assert_int_equal(prov_targon_detach_volume(A, "wrk-nosuch00000", "vol-a", err),
                     GB_ERR_NOT_FOUND);
}

/* The object with "uid": uid anywhere in j (depth first), or NULL. */
static const cJSON *find_uid(const cJSON *j, const char *uid)
{
    const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "uid"));
    if (cJSON_IsObject(j) && u && strcmp(u, uid) == 0) return j;
    const cJSON *c, *hit;
    cJSON_ArrayForEach(c, j) if ((hit = find_uid(c, uid))) return hit;
    return NULL;
}

/* read_only reaches Targon as asked (PUT .../volumes/{uid} {mount_path, read_only}: targon-sdk
 * cli/src/client/types/workload.rs AttachVolumeRequest): the simulator's workload keeps the
 * volume read-only, then writable once attached so again. */
static void test_volume_read_only(void **state)
{
    (void)state;
    char err[PROV_ERR_MAX] = "";
    const bool modes[] = {true, false};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(
            prov_targon_attach_volume(A, UID, "vol-models01", "/models", modes[i], err), GB_OK);
        cJSON *st = sim_state();
        const cJSON *v = find_uid(st, "vol-models01");
        assert_non_null(v);
        assert_string_equal(cJSON_GetObjectItem(v, "mount_path")->valuestring, "/models");
        assert_true(cJSON_IsBool(cJSON_GetObjectItem(v, "read_only")));
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(v, "read_only")), modes[i]);
        cJSON_Delete(st);
    }
    assert_int_equal(prov_targon_detach_volume(A, UID, "vol-models01", err), GB_OK);
}

static void test_ssh_keys(void **state)
{
    (void)state;
    char err[PROV_ERR_MAX] = "";
    /* a key the organization does not have */
    assert_int_equal(prov_targon_attach_ssh_key(A, UID, "shk-laptop01", err), GB_ERR_NOT_FOUND);
    /* upload one (POST .../ssh-keys) through the adapter, then attach it by uid */
    const char *line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx8attachtestkey0 me@laptop";
    cJSON *uids = cJSON_CreateArray();
    assert_int_equal(prov_targon_key_uids(A, &line, 1, uids, err), GB_OK);
    const char *key = cJSON_GetArrayItem(uids, 0)->valuestring;
    assert_true(strncmp(key, "shk-", 4) == 0);
    assert_int_equal(prov_targon_attach_ssh_key(A, UID, key, err), GB_OK);
    assert_int_equal(prov_targon_attach_ssh_key(A, UID, key, err), GB_ERR_CONFLICT);
    assert_non_null(strstr(err, "409"));
    cJSON *st = sim_state();
    char *txt = cJSON_PrintUnformatted(st);
    assert_non_null(strstr(txt, "AAAAC3NzaC1lZDI1NTE5AAAAIGx8attachtestkey0"));
    free(txt);
    cJSON_Delete(st);
    assert_int_equal(prov_targon_detach_ssh_key(A, UID, key, err), GB_OK);
    assert_int_equal(prov_targon_detach_ssh_key(A, UID, key, err), GB_ERR_NOT_FOUND);
    cJSON_Delete(uids);
}

static void test_verify(void **state)
{
    (void)state;
    cJSON *st = sim_state();
    const char *digest = NULL;
    const cJSON *w;
    cJSON_ArrayForEach(
        w,
        cJSON_GetObjectItemCaseSensitive(
            st,
            "workloads")) if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w,
                                                                                            "uid"))
                                          ?: "",
                                      UID)) digest =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "image_digest"));
    assert_non_null(digest);
    char err[PROV_ERR_MAX] = "";
    bool ok = false;
    assert_int_equal(prov_targon_verify(A, UID, digest, &ok, err), GB_OK);
    assert_true(ok);
    assert_int_equal(prov_targon_verify(A, UID, "0000deadbeef", &ok, err), GB_OK);
    assert_false(ok);
    assert_int_equal(prov_targon_verify(A, UID, "", &ok, err), GB_ERR_INVALID);
    cJSON_Delete(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_volumes), cmocka_unit_test(test_volume_read_only),
        cmocka_unit_test(test_ssh_keys), cmocka_unit_test(test_verify)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
