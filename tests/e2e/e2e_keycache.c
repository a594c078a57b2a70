/* e2e_keycache.c: two brokers sharing one store (two sandboxes on one data directory: the same
 * SQLite file, or in the PostgreSQL variant the same database) and what each keeps in memory:
 * a key revoked on broker A is refused on A at once and on broker B within api.key_cache_ms
 * (plus a margin), after B had accepted (and cached) it; an SSH key added or removed through
 * one broker is in the other's list as soon as its NOTIFY arrives (PostgreSQL), long before
 * api.ssh_keys_memory_ms; and each broker keeps its own rate-limit window. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support_daemon.h"

#define CACHE_MS 1000
#define MARGIN_MS 1500 /* a loaded 2-core machine, both daemons and the store on it */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long status_of(const e2e_daemon *d, const char *key)
{
    e2e_resp r;
    e2e_req(d, "GET", "/api/volt/account", key, NULL, &r);
    long st = r.status;
    if (st != 200) e2e_expect_error(&r, 401, "INVALID_API_KEY");
    e2e_resp_free(&r);
    return st;
}

static void test_revoke_seen_by_the_other_broker(void **state)
{
    (void)state;
    static const char *env[] = {"GPUBROKER_API_KEY_CACHE_MS=1000", NULL};
    e2e_daemon a, b;
    e2e_start_sandbox(&a, NULL, env);
    e2e_start_sandbox(&b, a.dir, env); /* the same store (and master key) */

    e2e_resp r;
    e2e_req(&a, "POST", "/api/volt/api-keys", a.key, "{\"name\":\"shared\"}", &r);
    assert_int_equal(r.status, 201);
    char key[96], body[128];
    snprintf(key, sizeof(key), "%s", e2e_str(&r, "key"));
    snprintf(body, sizeof(body), "{\"key_id\":\"%s\"}", e2e_str(&r, "id"));
    e2e_resp_free(&r);

    /* both accept it (and now hold it in their caches) */
    assert_int_equal(status_of(&b, key), 200);
    assert_int_equal(status_of(&a, key), 200);
    assert_int_equal(status_of(&b, key), 200);

    e2e_req(&a, "DELETE", "/api/volt/api-keys", a.key, body, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    int64_t t0 = mono_ms();
    assert_int_equal(status_of(&a, key), 401); /* the broker that revoked: at once */

    long st = 200;
    int64_t waited = 0;
    while (st == 200 && waited <= CACHE_MS + MARGIN_MS) {
        st = status_of(&b, key);
        waited = mono_ms() - t0;
        if (st == 200) usleep(20000);
    }
    printf("broker B refused the revoked key after %lld ms (api.key_cache_ms %d)\n",
           (long long)waited, CACHE_MS);
    assert_int_equal(st, 401);
    assert_true(waited <= CACHE_MS + MARGIN_MS);
    /* and it stays refused */
    assert_int_equal(status_of(&b, key), 401);
    assert_int_equal(status_of(&a, key), 401);
    /* the other keys still work on both */
    assert_int_equal(status_of(&b, b.key), 200);
    assert_int_equal(status_of(&a, a.key), 200);

    e2e_stop(&b);
    e2e_stop(&a);
    e2e_cleanup(&a);
}

#define SSH_KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAYT6sc9h882d3yXAYoN7L0sTkZdhPU2bSLreblym+cN"
#define NOTIFY_MS 2000 /* a NOTIFY's way to the other broker, on a loaded 2-core machine */

/* The "total" of d's GET /api/volt/ssh-keys for key. */
static int ssh_key_count(const e2e_daemon *d, const char *key)
{
    e2e_resp r;
    e2e_req(d, "GET", "/api/volt/ssh-keys", key, NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(r.json, "total");
    assert_true(cJSON_IsNumber(t));
    int n = t->valueint;
    e2e_resp_free(&r);
    return n;
}

/* Polls d's list until it counts want (true) or NOTIFY_MS passes (false); *ms: how long. */
static bool count_becomes(const e2e_daemon *d, const char *key, int want, int64_t *ms)
{
    int64_t t0 = mono_ms();
    for (;;) {
        if (ssh_key_count(d, key) == want) break;
        if (mono_ms() - t0 > NOTIFY_MS) return false;
        usleep(10000);
    }
    *ms = mono_ms() - t0;
    return true;
}

/* With api.ssh_keys_memory_ms at 60 s, each broker answers the account's SSH key list from
 * memory; a change through A is in A's list at once, and in B's within NOTIFY_MS on
 * PostgreSQL (A's commit carries a NOTIFY that B's listener counts; without it B would answer
 * its old list for a minute). On SQLite, whose brokers share no notification (one process is
 * its deployment: docs/store.md), B's list stays the old one until its memory ages, which is
 * asserted too: it shows the list really comes from memory. */
static void test_ssh_keys_seen_by_the_other_broker(void **state)
{
    (void)state;
    static const char *env[] = {"GPUBROKER_API_SSH_KEYS_MEMORY_MS=60000", NULL};
    e2e_daemon a, b;
    e2e_start_sandbox(&a, NULL, env);
    e2e_start_sandbox(&b, a.dir, env);
    int n0 = ssh_key_count(&b, a.key); /* B keeps it */
    assert_int_equal(ssh_key_count(&a, a.key), n0);

    e2e_resp r;
    e2e_req(&a, "POST", "/api/volt/ssh-keys", a.key,
            "{\"name\":\"shared\",\"public_key\":\"" SSH_KEY "\"}", &r);
    assert_int_equal(r.status, 201);
    char id[64], path[128];
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
    assert_int_equal(ssh_key_count(&a, a.key), n0 + 1); /* its own change: at once */
    int64_t ms = 0;
    if (e2e_db_is_pg()) {
        assert_true(count_becomes(&b, a.key, n0 + 1, &ms));
        printf("broker B listed the added key after %lld ms\n", (long long)ms);
    } else {
        assert_int_equal(ssh_key_count(&b, a.key), n0);
    }

    /* a removal through B: at once there, and on A as its NOTIFY arrives */
    snprintf(path, sizeof(path), "/api/volt/ssh-keys/%s", id);
    e2e_req(&b, "DELETE", path, a.key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    assert_int_equal(ssh_key_count(&b, a.key), n0);
    if (e2e_db_is_pg()) {
        assert_true(count_becomes(&a, a.key, n0, &ms));
        printf("broker A listed the removal after %lld ms\n", (long long)ms);
    } else {
        assert_int_equal(ssh_key_count(&a, a.key), n0 + 1);
    }
    e2e_stop(&b);
    e2e_stop(&a);
    e2e_cleanup(&a);
}

/* Five answers to key from d, then 429 RATE_LIMITED (a limit of 5 an hour). */
static void spend_window(const e2e_daemon *d, const char *key)
{
    e2e_resp r;
    for (int i = 0; i < 5; i++) {
        e2e_req(d, "GET", "/api/volt/account", key, NULL, &r);
        assert_int_equal(r.status, 200);
        e2e_resp_free(&r);
    }
    e2e_req(d, "GET", "/api/volt/account", key, NULL, &r);
    e2e_expect_error(&r, 429, "RATE_LIMITED");
    e2e_resp_free(&r);
}

/* Rate limits are per broker, on purpose (docs/store.md: a shared window would cost a
 * database write per request): with rate_limit.requests_per_hour 5, one key gets 5 answers
 * from broker A, then 429 RATE_LIMITED there, while broker B still answers it 5 times (its own
 * window, as documented: N brokers give up to N x the limit) and then refuses too. */
static void test_rate_limit_is_per_broker(void **state)
{
    (void)state;
    static const char *env[] = {"GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=5", NULL};
    e2e_daemon a, b;
    e2e_start_sandbox(&a, NULL, env);
    e2e_start_sandbox(&b, a.dir, env);
    spend_window(&a, a.key);
    spend_window(&b, a.key); /* its own window: the same key is served 5 times again */
    e2e_stop(&b);
    e2e_stop(&a);
    e2e_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revoke_seen_by_the_other_broker),
        cmocka_unit_test(test_rate_limit_is_per_broker),
        cmocka_unit_test(test_ssh_keys_seen_by_the_other_broker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
