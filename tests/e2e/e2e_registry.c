/* e2e_registry.c: a template's private registry credential really reaches the provider (the
 * simulator's own view says so), and a credential the vault cannot open fails the create
 * with nothing made at the provider, instead of a pod that silently pulls without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "support_daemon.h"

#define PROVIDER "targon" /* a platform whose API takes registry auth with a create */

static e2e_daemon D;
static char TPL[64], CRED[64];

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    static const char *env[] = {"GPUBROKER_RECONCILER_INTERVAL_MS=100", NULL};
    static const char *extra[] = {"--sim-speed", "200", NULL};
    e2e_start_sandbox_args(&D, NULL, env, extra);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/docker-credentials", D.key,
            "{\"name\":\"private\",\"registry\":\"registry.example.com\",\"username\":\"robot$ci\","
            "\"password\":\"pw-that-must-arrive\"}",
            &r);
    assert_int_equal(r.status, 201);
    snprintf(CRED, sizeof(CRED), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    char body[512];
    snprintf(body, sizeof(body),
             "{\"name\":\"private-tpl\",\"image\":\"registry.example.com/team/train:1\","
             "\"docker_credential_id\":\"%s\"}",
             CRED);
    e2e_req(&D, "POST", "/api/volt/templates", D.key, body, &r);
    assert_int_equal(r.status, 201);
    snprintf(TPL, sizeof(TPL), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

static void test_credential_reaches_provider(void **state)
{
    (void)state;
    char machine[160], body[512], pid[128];
    e2e_machine_of(&D, PROVIDER, machine, sizeof(machine), NULL);
    snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"template_id\":\"%s\"}", machine, TPL);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", D.key, body, &r);
    if (r.status != 201) fail_msg("create: %ld %s", r.status, r.body);
    char pod[64];
    snprintf(pod, sizeof(pod), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    pid[0] = '\0';
    e2e_wait_placed(&D, D.key, pod, pid, sizeof(pid), 15000);
    cJSON *all = e2e_sim_workloads(&D, PROVIDER);
    const cJSON *w, *mine = NULL;
    cJSON_ArrayForEach(w, all)
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "id"));
        if (id && !strcmp(id, pid)) mine = w;
    }
    if (!mine) fail_msg("workload %s not at the provider", pid);
    const char *user =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(mine, "registry_username"));
    if (!user || strcmp(user, "robot$ci") != 0)
        fail_msg("the registry credential did not arrive: %s", user ? user : "(none)");
    const char *image = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(mine, "image"));
    assert_string_equal(image, "registry.example.com/team/train:1");
    cJSON_Delete(all);
}

/* Overwrites the sealed password's ciphertext in the database (as a disk fault or a wrong
 * master key would leave it). */
static void spoil_sealed_password(void)
{
    char ref[160];
    snprintf(ref, sizeof(ref), "docker_credentials/%s/password", CRED);
    gb_db *db = e2e_db_open(&D);
    /* read, spoiled in C (every byte after the 29th zeroed), written back: the same on both
     * backends */
    gb_q *s = gb_q_prep(db, "SELECT blob FROM vault_secrets WHERE ref = ?1");
    assert_non_null(s);
    gb_q_text(s, 1, ref);
    int row = 0;
    assert_int_equal(gb_q_step(s, &row), GB_OK);
    assert_int_equal(row, 1);
    size_t n = 0;
    const void *blob = gb_q_col_blob(s, 0, &n);
    assert_true(n > 29);
    unsigned char *spoiled = calloc(1, n);
    assert_non_null(spoiled);
    memcpy(spoiled, blob, 29);
    gb_q_reset(s);
    s = gb_q_prep(db, "UPDATE vault_secrets SET blob = ?2 WHERE ref = ?1");
    assert_non_null(s);
    gb_q_text(s, 1, ref);
    gb_q_blob(s, 2, spoiled, n);
    int64_t changed = 0;
    assert_int_equal(gb_q_run(s, &changed), GB_OK);
    assert_int_equal(changed, 1);
    free(spoiled);
    gb_db_close(db);
}

static void test_unreadable_credential_fails_create(void **state)
{
    (void)state;
    char machine[160], body[512];
    e2e_machine_of(&D, PROVIDER, machine, sizeof(machine), NULL);
    int n0 = e2e_sim_count(&D, PROVIDER, NULL);
    spoil_sealed_password();
    snprintf(body, sizeof(body),
             "{\"machine_id\":\"%s\",\"template_id\":\"%s\",\"name\":\"nocred\"}", machine, TPL);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/pods", D.key, body, &r);
    e2e_expect_error(&r, 500, "INTERNAL_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "registry credential"));
    assert_null(strstr(r.body, "pw-that-must-arrive"));
    e2e_resp_free(&r);
    assert_int_equal(e2e_sim_count(&D, PROVIDER, NULL), n0); /* nothing made at the provider */
    e2e_req(&D, "GET", "/api/volt/pods", D.key, NULL, &r);
    assert_null(strstr(r.body, "\"nocred\""));
    e2e_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credential_reaches_provider),
        cmocka_unit_test(test_unreadable_credential_fails_create),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
