/* test_providers_precheck.c: prov_ops.precheck, what a platform can never take (placement
 * leaves its offers out with the reason): each platform's answer to SSH keys, registry
 * credentials, ports and volumes, and a plain request that every platform takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "providers/provider.h"

static const char *const KEYS[] = {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtest user@host"};
static const int PORTS2[] = {8080, 8081};

/* 1 when kind refuses r (err then holds a reason), 0 when it takes it. */
static int refuses(const char *kind, const prov_create_req *r, char *err)
{
    const prov_ops *ops = prov_ops_for(kind);
    assert_non_null(ops);
    err[0] = '\0';
    if (!ops->precheck) return 0;
    gb_err e = ops->precheck(r, err);
    if (e) {
        assert_int_equal(e, GB_ERR_INVALID);
        assert_true(err[0] != '\0');
    }
    return e != GB_OK;
}

static void test_each_platform(void **state)
{
    (void)state;
    gb_errmsg err;
    prov_create_req plain = {.image = "ubuntu"};
    prov_create_req keyed = {.image = "ubuntu", .ssh_public_keys = KEYS, .nssh = 1};
    prov_create_req cred = {.image = "ubuntu",
                            .ssh_public_keys = KEYS,
                            .nssh = 1,
                            .registry_server = "ghcr.io",
                            .registry_username = "u",
                            .registry_password = "p"};
    prov_create_req ports = {.image = "ubuntu", .ports = PORTS2, .nports = 2};
    prov_create_req volume = {.image = "ubuntu", .volume_size_gb = 50};
    /* DataRobot: no SSH keys, credentials, volumes, nor more than one port */
    assert_false(refuses("datarobot", &plain, err));
    assert_true(refuses("datarobot", &keyed, err));
    assert_non_null(strstr(err, "take no SSH keys"));
    assert_true(refuses("datarobot", &cred, err));
    assert_true(refuses("datarobot", &ports, err));
    assert_true(refuses("datarobot", &volume, err));
    /* Primus-SaFE: no SSH keys, credentials nor more than one port; a volume is fine */
    assert_false(refuses("primus", &plain, err));
    assert_true(refuses("primus", &keyed, err));
    assert_true(refuses("primus", &cred, err));
    assert_true(refuses("primus", &ports, err));
    assert_false(refuses("primus", &volume, err));
    /* Lium: needs a key, takes no credentials */
    assert_true(refuses("lium", &plain, err));
    assert_non_null(strstr(err, "SSH"));
    assert_false(refuses("lium", &keyed, err));
    assert_true(refuses("lium", &cred, err));
    /* Run:ai: keys and ports yes, credentials no */
    assert_false(refuses("runai", &keyed, err));
    assert_false(refuses("runai", &ports, err));
    assert_true(refuses("runai", &cred, err));
    /* Volt: credentials only through a Volt template named in provider_options */
    assert_false(refuses("volt", &keyed, err));
    assert_true(refuses("volt", &cred, err));
    cJSON *opts = cJSON_Parse("{\"template_id\":\"tpl_x\"}");
    cred.options = opts;
    assert_false(refuses("volt", &cred, err));
    cJSON_Delete(opts);
    /* every platform takes an image with one SSH key, or says why it cannot */
    for (const char *const *k = prov_kinds(); *k; k++) {
        if (refuses(*k, &keyed, err) && strcmp(*k, "datarobot") && strcmp(*k, "primus"))
            fail_msg("%s refuses a plain keyed request: %s", *k, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_each_platform)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
