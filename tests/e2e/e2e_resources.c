/* e2e_resources.c: end to end: SSH keys (fingerprints as ssh-keygen prints them),
 * docker credentials, templates (system ones read-only, credential references checked),
 * accounts and credit (its bounds: a credit's maximum, a balance that would pass the ledger's
 * cap), and tenancy: another account's objects answer 404 and survive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support_daemon.h"

static e2e_daemon D;
static char OTHER_KEY[96]; /* a second account's key */

static int setup(void **state)
{
    (void)state;
    e2e_start_sandbox(&D, NULL, NULL);
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key,
            "{\"name\":\"other\",\"credit\":\"25.50\"}", &r);
    assert_int_equal(r.status, 201);
    snprintf(OTHER_KEY, sizeof(OTHER_KEY), "%s", e2e_str(&r, "api_key.key"));
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

/* Generates a key with ssh-keygen; returns the .pub line and its ssh-keygen fingerprint. */
static void keygen(const char *type, char *pub, size_t pubn, char *fp, size_t fpn)
{
    char path[512], cmd[1024];
    snprintf(path, sizeof(path), "%s/k_%s_%d", D.dir, type, rand());
    snprintf(cmd, sizeof(cmd), "ssh-keygen -q -N '' -t %s -C 'me@host' -f %s", type, path);
    if (system(cmd) != 0) fail_msg("ssh-keygen failed (is openssh-client installed?)");
    snprintf(cmd, sizeof(cmd), "ssh-keygen -lf %s.pub", path);
    FILE *p = popen(cmd, "r");
    char line[512] = "";
    if (!p || !fgets(line, sizeof(line), p)) fail_msg("ssh-keygen -lf failed");
    pclose(p);
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    assert_non_null(sp2);
    *sp2 = '\0';
    snprintf(fp, fpn, "%s", sp1 + 1);
    snprintf(cmd, sizeof(cmd), "%s.pub", path);
    char *text = e2e_slurp(cmd, NULL);
    assert_non_null(text);
    text[strcspn(text, "\n")] = '\0';
    snprintf(pub, pubn, "%s", text);
    free(text);
}

static void test_ssh_keys(void **state)
{
    (void)state;
    const char *types[] = {"ed25519", "rsa", "ecdsa"};
    char id0[64] = "";
    for (int i = 0; i < 3; i++) {
        char pub[4096], fp[128], body[5000];
        keygen(types[i], pub, sizeof(pub), fp, sizeof(fp));
        snprintf(body, sizeof(body), "{\"name\":\"k-%s\",\"public_key\":\"%s\"}", types[i], pub);
        e2e_resp r;
        e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key, body, &r);
        assert_int_equal(r.status, 201);
        assert_string_equal(e2e_str(&r, "fingerprint"), fp);
        assert_string_equal(e2e_str(&r, "public_key"), pub);
        assert_true(strncmp(e2e_str(&r, "id"), "key_", 4) == 0);
        if (i == 0) snprintf(id0, sizeof(id0), "%s", e2e_str(&r, "id"));
        e2e_resp_free(&r);
        /* the same key twice is a conflict */
        e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key, body, &r);
        e2e_expect_error(&r, 409, "CONFLICT");
        e2e_resp_free(&r);
    }
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/ssh-keys", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(r.json, "total")->valuedouble, 3);
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key,
            "{\"name\":\"bad\",\"public_key\":\"ssh-dss AAAAB3NzaC1kc3MAAACBAP\"}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "ssh-dss"));
    e2e_resp_free(&r);
    /* another account cannot see or delete it */
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/ssh-keys/%s", id0);
    e2e_req(&D, "GET", path, OTHER_KEY, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", path, OTHER_KEY, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/ssh-keys", OTHER_KEY, NULL, &r);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(r.json, "total")->valuedouble, 0);
    e2e_resp_free(&r);
    /* the owner still has it, and can delete it */
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "message"), "SSH key removed from account.");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
}

static void test_docker_credentials_and_templates(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/docker-credentials", D.key,
            "{\"name\":\"GHCR\",\"registry\":\"ghcr.io\",\"username\":\"my-org\","
            "\"password\":\"pw-1\"}",
            &r);
    assert_int_equal(r.status, 201);
    char cred[64];
    snprintf(cred, sizeof(cred), "%s", e2e_str(&r, "id"));
    assert_null(cJSON_GetObjectItemCaseSensitive(r.json, "password"));
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/docker-credentials", D.key,
            "{\"name\":\"x\",\"registry\":\"ghcr.io\",\"username\":\"u\"}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_string_equal(e2e_str(&r, "message"), "field 'password' is required");
    e2e_resp_free(&r);

    char body[1024];
    snprintf(
        body, sizeof(body),
        "{\"name\":\"SDXL\",\"image\":\"ghcr.io/my-org/sdxl:v2\",\"category\":\"image-generation\","
        "\"docker_credential_id\":\"%s\",\"ports\":[8188,22],"
        "\"env_vars\":{\"MODEL_DIR\":\"/workspace/models\"}}",
        cred);
    e2e_req(&D, "POST", "/api/volt/templates", D.key, body, &r);
    assert_int_equal(r.status, 201);
    char tpl[64], path[128];
    snprintf(tpl, sizeof(tpl), "%s", e2e_str(&r, "id"));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "is_system")));
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/templates/%s", tpl);
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "docker_credential_id"), cred);
    assert_string_equal(e2e_str(&r, "env_vars.MODEL_DIR"), "/workspace/models");
    e2e_resp_free(&r);
    e2e_req(&D, "PUT", path, D.key, "{\"name\":\"SDXL v2.1\",\"ports\":[70000]}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "ports"));
    e2e_resp_free(&r);
    e2e_req(&D, "GET", path, D.key, NULL, &r); /* the failed update changed nothing */
    assert_string_equal(e2e_str(&r, "name"), "SDXL");
    e2e_resp_free(&r);
    e2e_req(&D, "PUT", path, D.key, "{\"name\":\"SDXL v2.1\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "message"),
                        "Template updated. Existing pods are not affected.");
    e2e_resp_free(&r);

    /* a template without ports or env_vars: [] and {}, never null (one type per field) */
    e2e_req(&D, "POST", "/api/volt/templates", D.key, "{\"name\":\"bare\",\"image\":\"x/y\"}", &r);
    assert_int_equal(r.status, 201);
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r.json, "ports")));
    char bare[128];
    snprintf(bare, sizeof(bare), "/api/volt/templates/%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    e2e_req(&D, "GET", bare, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r.json, "env_vars")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "env_vars")), 0);
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r.json, "ports")));
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", bare, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);

    /* the other account cannot use my credential, nor see my template */
    snprintf(body, sizeof(body),
             "{\"name\":\"t\",\"image\":\"x/y\",\"docker_credential_id\":\"%s\"}", cred);
    e2e_req(&D, "POST", "/api/volt/templates", OTHER_KEY, body, &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "docker_credential_id"));
    e2e_resp_free(&r);
    e2e_req(&D, "GET", path, OTHER_KEY, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    e2e_req(&D, "PUT", path, OTHER_KEY, "{\"name\":\"hijack\"}", &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    char cpath[128];
    snprintf(cpath, sizeof(cpath), "/api/volt/docker-credentials/%s", cred);
    e2e_req(&D, "DELETE", cpath, OTHER_KEY, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", cpath, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "registry"), "ghcr.io");
    e2e_resp_free(&r);

    /* system templates: listed for everybody, read-only */
    e2e_req(&D, "GET", "/api/volt/templates", OTHER_KEY, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "tpl_pytorch21"));
    assert_null(strstr(r.body, tpl));
    e2e_resp_free(&r);
    e2e_req(&D, "PUT", "/api/volt/templates/tpl_pytorch21", D.key, "{\"name\":\"mine\"}", &r);
    e2e_expect_error(&r, 403, "FORBIDDEN");
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", "/api/volt/templates/tpl_pytorch21", D.key, NULL, &r);
    e2e_expect_error(&r, 403, "FORBIDDEN");
    e2e_resp_free(&r);

    e2e_req(&D, "DELETE", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "deleted")));
    e2e_resp_free(&r);
    e2e_req(&D, "DELETE", cpath, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "message"), "Docker credential removed.");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", cpath, D.key, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
}

/* A NUL would cut the password short, invalid UTF-8 would be stored and sent back out, a
 * field named twice is ambiguous: each is refused with 400 naming the field, nothing written. */
static void test_text_hygiene(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/docker-credentials", D.key, NULL, &r);
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r.json, "credentials")));
    int before = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "credentials"));
    e2e_resp_free(&r);
    static const struct {
        const char *body, *field;
    } BAD[] = {
        {"{\"name\":\"n1\",\"registry\":\"r.example\",\"username\":\"u\",\"password\":"
         "\"p\\u0000q\"}",
         "password"},
        {"{\"name\":\"n\xc3\",\"registry\":\"r.example\",\"username\":\"u\",\"password\":\"pq\"}",
         "name"},
        {"{\"name\":\"n2\",\"registry\":\"r.example\",\"username\":\"u\",\"password\":\"a\","
         "\"password\":\"b\"}",
         "password"},
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        e2e_req(&D, "POST", "/api/volt/docker-credentials", D.key, BAD[i].body, &r);
        e2e_expect_error(&r, 400, "INVALID_JSON");
        const char *msg = e2e_str(&r, "message");
        if (!msg || !strstr(msg, BAD[i].field)) fail_msg("case %zu: %s", i, r.body);
        e2e_resp_free(&r);
    }
    e2e_req(&D, "GET", "/api/volt/docker-credentials", D.key, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "credentials")),
                     before);
    e2e_resp_free(&r);
}

static void test_accounts_and_credit(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/account", OTHER_KEY, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"balance\":25.50"));
    char id[64], path[160];
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/%s/credit", id);
    e2e_req(&D, "POST", path, D.admin_key, "{\"amount\":0.1}", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"balance\":25.60"));
    e2e_resp_free(&r);
    e2e_req(&D, "POST", path, D.admin_key, "{\"amount\":\"-5\"}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    e2e_resp_free(&r);
    e2e_req(&D, "POST", path, D.admin_key, "{\"amount\":\"abc\"}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "amount"));
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/admin/accounts/acct_nope/credit", D.admin_key, "{\"amount\":1}",
            &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key, "{\"name\":\"other\"}", &r);
    e2e_expect_error(&r, 409, "CONFLICT");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/account", OTHER_KEY, NULL, &r);
    assert_non_null(strstr(r.body, "\"balance\":25.60"));
    e2e_resp_free(&r);
}

/* An administrator's credit, and an opening credit, is at most $1,000,000,000 (400 naming the
 * field past it), and one that would take the balance past the ledger's $1e12 is 400, not a
 * 500, with the balance unchanged in the store. */
static void test_credit_bounds(void **state)
{
    (void)state;
    e2e_resp r;
    /* an opening credit has the same bound; the refused account is not made */
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key,
            "{\"name\":\"rich\",\"credit\":1000000000.01}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "'credit'"));
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key, "{\"name\":\"rich\"}", &r);
    assert_int_equal(r.status, 201);
    char id[64], path[160];
    snprintf(
        id, sizeof(id), "%s",
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r.json, "account"), "id")
            ->valuestring);
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/%s/credit", id);
    e2e_req(&D, "POST", path, D.admin_key, "{\"amount\":1000000000.01}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "'amount'"));
    e2e_resp_free(&r);
    gb_db *db = e2e_db_open(&D);
    const char *bal_sql = "SELECT COALESCE((SELECT balance FROM ledger_balances"
                          " WHERE account_id = ?1), 0)";
    assert_true(e2e_db_int(db, bal_sql, id, NULL, NULL) == 0);
    /* $999,500,000,000 already (an entry written in the store): $1e9 more would pass the cap */
    e2e_db_int(db,
               "INSERT INTO ledger(account_id, kind, amount, note, created_at)"
               " VALUES (?1, 'credit', 999500000000000000, 'near the cap', 1) RETURNING id",
               id, NULL, NULL);
    e2e_req(&D, "POST", path, D.admin_key, "{\"amount\":1000000000}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "overflow"));
    e2e_resp_free(&r);
    assert_true(e2e_db_int(db, bal_sql, id, NULL, NULL) == INT64_C(999500000000000000));
    e2e_req(&D, "POST", path, D.admin_key, "{\"amount\":500000000}", &r); /* up to the cap */
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    assert_true(e2e_db_int(db, bal_sql, id, NULL, NULL) == INT64_C(1000000000000000000));
    gb_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssh_keys),
        cmocka_unit_test(test_docker_credentials_and_templates),
        cmocka_unit_test(test_text_hygiene),
        cmocka_unit_test(test_accounts_and_credit),
        cmocka_unit_test(test_credit_bounds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
