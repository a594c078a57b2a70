/* e2e_owned_limits.c: the objects an account owns (SSH keys, its own templates, Docker
 * credentials, webhook endpoints) are bounded by limits.max_list_items, so that each of their
 * unpaged lists stays one page: with the limit at 3, three adds of each kind are made, the
 * fourth answers 409 LIMIT_REACHED and makes nothing, and after a delete there is room again.
 * Eight adds at once from 0 make exactly 3 (the account's row is locked while each counts:
 * on PostgreSQL two transactions would otherwise both count 2 and both add). API keys are
 * bounded apart, at 100 an account. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64.h"
#include "support_daemon.h"

#define LIMIT 3
#define AT_ONCE 8

static e2e_daemon D;

static int setup(void **state)
{
    (void)state;
    static const char *env[] = {"GPUBROKER_LIMITS_MAX_LIST_ITEMS=3", NULL};
    e2e_start_sandbox(&D, NULL, env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

/* An ed25519 public key line whose 32 key bytes are all n (a well-formed key, unique per n). */
static void ssh_key_line(int n, char *out, size_t outsz)
{
    unsigned char blob[4 + 11 + 4 + 32];
    memcpy(blob, "\0\0\0\013ssh-ed25519\0\0\0\040", 19);
    memset(blob + 19, n & 0xff, 32);
    char *b64 = gb_base64_encode(blob, sizeof(blob));
    assert_non_null(b64);
    snprintf(out, outsz, "ssh-ed25519 %s n%d", b64, n);
    free(b64);
}

/* The n-th add's body for a kind. */
static void body_of(const char *path, int n, char *out, size_t outsz)
{
    if (strstr(path, "ssh-keys")) {
        char line[200];
        ssh_key_line(n, line, sizeof(line));
        snprintf(out, outsz, "{\"name\":\"k%d\",\"public_key\":\"%s\"}", n, line);
    } else if (strstr(path, "templates")) {
        snprintf(out, outsz, "{\"name\":\"t%d\",\"image\":\"nginx:1.%d\"}", n, n);
    } else if (strstr(path, "docker-credentials")) {
        snprintf(out, outsz,
                 "{\"name\":\"c%d\",\"registry\":\"ghcr.io\",\"username\":\"u%d\","
                 "\"password\":\"p%d\"}",
                 n, n, n);
    } else {
        snprintf(out, outsz, "{\"url\":\"https://hooks.example.com/%d\"}", n);
    }
}

/* The "total" of the kind's list, or the length of its array (webhooks). */
static int count_of(const char *path, const char *array)
{
    e2e_resp r;
    e2e_req(&D, "GET", path, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(r.json, array);
    assert_true(cJSON_IsArray(a));
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        /* system templates are not the account's own */
        const cJSON *sys = cJSON_GetObjectItemCaseSensitive(it, "is_system");
        if (!cJSON_IsTrue(sys)) n++;
    }
    e2e_resp_free(&r);
    return n;
}

static void limit_of_kind(const char *path, const char *array)
{
    char body[512], id[64] = "", del[160];
    e2e_resp r;
    int base = count_of(path, array);
    assert_int_equal(base, 0);
    for (int i = 0; i < LIMIT; i++) {
        body_of(path, i, body, sizeof(body));
        e2e_req(&D, "POST", path, D.key, body, &r);
        assert_int_equal(r.status, 201);
        if (i == 0) snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
        e2e_resp_free(&r);
    }
    body_of(path, LIMIT, body, sizeof(body));
    e2e_req(&D, "POST", path, D.key, body, &r);
    e2e_expect_error(&r, 409, "LIMIT_REACHED");
    assert_non_null(strstr(r.body, "at most 3"));
    e2e_resp_free(&r);
    assert_int_equal(count_of(path, array), LIMIT); /* the refused one made nothing */
    snprintf(del, sizeof(del), "%s/%s", path, id);
    e2e_req(&D, "DELETE", del, D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    e2e_req(&D, "POST", path, D.key, body, &r); /* room again */
    assert_int_equal(r.status, 201);
    e2e_resp_free(&r);
    assert_int_equal(count_of(path, array), LIMIT);
}

static void test_ssh_keys(void **state)
{
    (void)state;
    limit_of_kind("/api/volt/ssh-keys", "ssh_keys");
}

static void test_templates(void **state)
{
    (void)state;
    limit_of_kind("/api/volt/templates", "templates");
}

static void test_docker_credentials(void **state)
{
    (void)state;
    limit_of_kind("/api/volt/docker-credentials", "credentials");
}

static void test_webhook_endpoints(void **state)
{
    (void)state;
    limit_of_kind("/api/volt/webhooks", "webhooks");
}

typedef struct {
    const char *key;
    int n;
    long status;
} adder;

static void *add_one(void *p)
{
    adder *a = p;
    char body[512];
    body_of("/api/volt/ssh-keys", a->n, body, sizeof(body));
    gb_http_resp r;
    if (e2e_post_raw(D.url, "/api/volt/ssh-keys", a->key, body, 30000, &r) == GB_OK) {
        a->status = r.status;
        gb_http_resp_free(&r);
    }
    return NULL;
}

/* Another account (a fresh admin-made one), eight adds at once: exactly LIMIT made. */
static void test_adds_at_once(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key, "{\"name\":\"racer\"}", &r);
    assert_int_equal(r.status, 201);
    char key[128];
    const char *k = e2e_str(&r, "api_key.key");
    assert_non_null(k);
    snprintf(key, sizeof(key), "%s", k);
    e2e_resp_free(&r);
    pthread_t t[AT_ONCE];
    adder a[AT_ONCE];
    for (int i = 0; i < AT_ONCE; i++) {
        a[i] = (adder){.key = key, .n = 100 + i};
        assert_int_equal(pthread_create(&t[i], NULL, add_one, &a[i]), 0);
    }
    int made = 0, refused = 0;
    for (int i = 0; i < AT_ONCE; i++) {
        pthread_join(t[i], NULL);
        made += a[i].status == 201;
        refused += a[i].status == 409;
    }
    assert_int_equal(made, LIMIT);
    assert_int_equal(refused, AT_ONCE - LIMIT);
    e2e_req(&D, "GET", "/api/volt/ssh-keys", key, NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(r.json, "total");
    assert_true(cJSON_IsNumber(total));
    assert_int_equal(total->valueint, LIMIT);
    e2e_resp_free(&r);
}

/* API keys have their own fixed bound, 100 an account (api_keys.c), not max_list_items: a
 * fresh account holds the one key it was made with, 99 more are made, the 101st is 409
 * LIMIT_REACHED and made nothing. */
static void test_api_keys_at_most_100(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key, "{\"name\":\"keyholder\"}", &r);
    assert_int_equal(r.status, 201);
    char key[128];
    snprintf(key, sizeof(key), "%s", e2e_str(&r, "api_key.key"));
    e2e_resp_free(&r);
    for (int i = 1; i < 100; i++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"name\":\"k%d\"}", i);
        e2e_req(&D, "POST", "/api/volt/api-keys", key, body, &r);
        if (r.status != 201) fail_msg("key %d: %ld %s", i + 1, r.status, r.body);
        e2e_resp_free(&r);
    }
    e2e_req(&D, "POST", "/api/volt/api-keys", key, "{\"name\":\"one too many\"}", &r);
    e2e_expect_error(&r, 409, "LIMIT_REACHED");
    assert_non_null(strstr(r.body, "at most 100 API keys"));
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/api-keys", key, NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(r.json, "total");
    assert_true(cJSON_IsNumber(total));
    assert_int_equal(total->valueint, 100);
    e2e_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssh_keys),           cmocka_unit_test(test_templates),
        cmocka_unit_test(test_docker_credentials), cmocka_unit_test(test_webhook_endpoints),
        cmocka_unit_test(test_adds_at_once),       cmocka_unit_test(test_api_keys_at_most_100),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
