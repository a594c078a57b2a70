/* e2e_auth.c: end to end against the real daemon: API key auth (X-API-Key and Bearer),
 * revocation, scopes, rate limiting with Retry-After, and the Volt error answers for bad
 * requests (400, 401, 403, 404, 405, 413), plus /healthz and /metrics. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support_daemon.h"

static e2e_daemon D;

static int setup(void **state)
{
    (void)state;
    /* a key cache that would hold a key for a minute: a revoke must still be seen at once */
    static const char *env[] = {"GPUBROKER_LIMITS_MAX_BODY_BYTES=4096",
                                "GPUBROKER_LIMITS_MAX_JSON_DEPTH=8",
                                "GPUBROKER_API_KEY_CACHE_MS=60000", NULL};
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

static void test_missing_and_invalid_key(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/ssh-keys", NULL, NULL, &r);
    e2e_expect_error(&r, 401, "INVALID_API_KEY");
    assert_non_null(strstr(e2e_str(&r, "message"), "gpubroker keys create"));
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/ssh-keys", "gpb_sk_notarealkeynotarealkeynotarealkey00", NULL,
            &r);
    e2e_expect_error(&r, 401, "INVALID_API_KEY");
    /* how to get a key here, not Volt's dashboard, which a self-hosted broker has not */
    assert_non_null(strstr(e2e_str(&r, "message"), "gpubroker keys create"));
    assert_null(strstr(e2e_str(&r, "message"), "Dashboard"));
    e2e_resp_free(&r);
    /* an unknown path without a key is 401 too: nothing is revealed to strangers */
    e2e_req(&D, "GET", "/api/volt/nothing-here", NULL, NULL, &r);
    e2e_expect_error(&r, 401, "INVALID_API_KEY");
    e2e_resp_free(&r);
}

static void test_bearer_accepted(void **state)
{
    (void)state;
    char h[160];
    snprintf(h, sizeof(h), "Authorization: Bearer %s", D.key);
    const char *hdrs[] = {h, NULL};
    e2e_resp r;
    e2e_req_h(&D, "GET", "/api/volt/account", hdrs, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "name"), "demo");
    const cJSON *bal = cJSON_GetObjectItemCaseSensitive(r.json, "balance");
    assert_true(cJSON_IsNumber(bal));
    assert_true(bal->valuedouble == 1000.0);
    assert_non_null(strstr(r.body, "\"balance\":1000.00"));
    e2e_resp_free(&r);
}

static void test_rate_limit_headers_on_every_response(void **state)
{
    (void)state;
    e2e_resp a, b;
    e2e_req(&D, "GET", "/api/volt/templates", D.key, NULL, &a);
    e2e_req(&D, "GET", "/api/volt/templates", D.key, NULL, &b);
    assert_int_equal(a.status, 200);
    assert_string_equal(e2e_header(&a, "X-RateLimit-Limit"), "1000");
    int ra = atoi(e2e_header(&a, "X-RateLimit-Remaining"));
    int rb = atoi(e2e_header(&b, "X-RateLimit-Remaining"));
    assert_int_equal(rb, ra - 1);
    assert_non_null(e2e_header(&b, "X-RateLimit-Reset"));
    e2e_resp_free(&a);
    e2e_resp_free(&b);
    /* error answers carry them too */
    e2e_req(&D, "GET", "/api/volt/ssh-keys/key_doesnotexist", D.key, NULL, &a);
    e2e_expect_error(&a, 404, "NOT_FOUND");
    assert_non_null(e2e_header(&a, "X-RateLimit-Remaining"));
    e2e_resp_free(&a);
}

static void test_revoked_key_is_401_at_once(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/api-keys", D.key, "{\"name\":\"short-lived\"}", &r);
    assert_int_equal(r.status, 201);
    char key[96], id[64];
    snprintf(key, sizeof(key), "%s", e2e_str(&r, "key"));
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "id"));
    assert_true(strncmp(key, "gpb_sk_", 7) == 0);
    assert_string_equal(e2e_str(&r, "message"),
                        "Store this key securely. It will not be shown again.");
    e2e_resp_free(&r);

    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r); /* now in the key cache */
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);

    /* the list shows a preview, never the key */
    e2e_req(&D, "GET", "/api/volt/api-keys", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, key));
    char preview[32];
    snprintf(preview, sizeof(preview), "gpb_...%s", key + strlen(key) - 4);
    assert_non_null(strstr(r.body, preview));
    e2e_resp_free(&r);

    char body[128];
    snprintf(body, sizeof(body), "{\"key_id\":\"%s\"}", id);
    e2e_req(&D, "DELETE", "/api/volt/api-keys", D.key, body, &r);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "deleted")));
    e2e_resp_free(&r);

    /* at once, although the cache would hold the key for a minute (the revoke dropped it) */
    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r);
    e2e_expect_error(&r, 401, "INVALID_API_KEY");
    e2e_resp_free(&r);

    e2e_req(&D, "DELETE", "/api/volt/api-keys", D.key, body, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
}

static void test_scopes(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/api-keys", D.key,
            "{\"name\":\"ssh only\",\"scopes\":[\"ssh-keys\"]}", &r);
    assert_int_equal(r.status, 201);
    char key[96];
    snprintf(key, sizeof(key), "%s", e2e_str(&r, "key"));
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/ssh-keys", key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/templates", key, NULL, &r);
    e2e_expect_error(&r, 403, "INSUFFICIENT_SCOPE");
    assert_non_null(strstr(e2e_str(&r, "message"), "templates"));
    e2e_resp_free(&r);
    /* a key cannot mint keys (no api-keys scope) */
    e2e_req(&D, "POST", "/api/volt/api-keys", key, "{\"name\":\"x\"}", &r);
    e2e_expect_error(&r, 403, "INSUFFICIENT_SCOPE");
    e2e_resp_free(&r);
    /* a user key cannot grant admin */
    e2e_req(&D, "POST", "/api/volt/api-keys", D.key, "{\"name\":\"x\",\"scopes\":[\"admin\"]}", &r);
    e2e_expect_error(&r, 403, "INSUFFICIENT_SCOPE");
    e2e_resp_free(&r);
    /* and cannot reach the admin API */
    e2e_req(&D, "GET", "/api/volt/admin/accounts", D.key, NULL, &r);
    e2e_expect_error(&r, 403, "INSUFFICIENT_SCOPE");
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/api-keys", D.key, "{\"name\":\"x\",\"scopes\":[\"gpus\"]}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "scopes"));
    e2e_resp_free(&r);
}

/* An account an administrator makes without "admin" gets a key of the user scopes only: it
 * cannot reach the admin API nor credit itself, and its account says so. */
static void test_admin_made_account_is_no_admin(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key, "{\"name\":\"plain\"}", &r);
    assert_int_equal(r.status, 201);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r.json, "account"), "is_admin")));
    char key[96], id[64], path[160];
    snprintf(key, sizeof(key), "%s", e2e_str(&r, "api_key.key"));
    snprintf(id, sizeof(id), "%s", e2e_str(&r, "account.id"));
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(r.json, "scopes"), *it;
    assert_true(cJSON_GetArraySize(sc) > 0);
    cJSON_ArrayForEach(it, sc) assert_string_not_equal(cJSON_GetStringValue(it), "admin");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/admin/accounts", key, NULL, &r);
    e2e_expect_error(&r, 403, "INSUFFICIENT_SCOPE");
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/api/volt/admin/accounts/%s/credit", id);
    e2e_req(&D, "POST", path, key, "{\"amount\":1000}", &r);
    e2e_expect_error(&r, 403, "INSUFFICIENT_SCOPE");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/account", key, NULL, &r);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r.json, "balance")) == 0);
    e2e_resp_free(&r);
}

static void test_bad_requests(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key, "{\"name\": \"x\",", &r);
    e2e_expect_error(&r, 400, "INVALID_JSON");
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key, "[1,2]", &r);
    e2e_expect_error(&r, 400, "INVALID_JSON");
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key, "{\"name\":\"laptop\"}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_string_equal(e2e_str(&r, "message"), "field 'public_key' is required");
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key, "{\"name\":5,\"public_key\":\"x\"}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_string_equal(e2e_str(&r, "message"), "field 'name' must be a string");
    e2e_resp_free(&r);
    e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key,
            "{\"name\":\"a\",\"public_key\":\"x\",\"color\":1}", &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_string_equal(e2e_str(&r, "message"),
                        "unknown field 'color' (allowed: name, public_key)");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/no-such-thing", D.key, NULL, &r);
    e2e_expect_error(&r, 404, "NOT_FOUND");
    e2e_resp_free(&r);
    e2e_req(&D, "PATCH", "/api/volt/ssh-keys", D.key, "{}", &r);
    e2e_expect_error(&r, 405, "METHOD_NOT_ALLOWED");
    assert_string_equal(e2e_header(&r, "Allow"), "GET, POST");
    e2e_resp_free(&r);
}

static void test_limits_413(void **state)
{
    (void)state;
    e2e_resp r;
    /* body over limits.max_body_bytes (4096 here) */
    char *big = malloc(8192);
    memset(big, 'a', 8191);
    big[8191] = '\0';
    memcpy(big, "{\"name\":\"", 9);
    big[8189] = '"';
    big[8190] = '}';
    e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key, big, &r);
    e2e_expect_error(&r, 413, "PAYLOAD_TOO_LARGE");
    e2e_resp_free(&r);
    free(big);
    /* nesting over limits.max_json_depth (8 here) */
    e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key, "{\"a\":[[[[[[[[[[1]]]]]]]]]]}", &r);
    e2e_expect_error(&r, 413, "PAYLOAD_TOO_LARGE");
    e2e_resp_free(&r);
    /* a string over its field's bound is a 400 naming the field */
    char body[512];
    snprintf(body, sizeof(body), "{\"name\":\"%0200d\",\"public_key\":\"x\"}", 0);
    e2e_req(&D, "POST", "/api/volt/ssh-keys", D.key, body, &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "'name' is too long"));
    e2e_resp_free(&r);
    /* nothing was written by any of these */
    e2e_req(&D, "GET", "/api/volt/ssh-keys", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(r.json, "total")->valuedouble, 0);
    e2e_resp_free(&r);
}

/* A socket connected to the daemon (raw requests: ones e2e_req cannot send). */
static int connect_daemon(void)
{
    const char *colon = strrchr(D.url, ':');
    assert_non_null(colon);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)atoi(colon + 1)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Reads the answer on fd until the server closes it into out; returns its status. */
static long read_status(int fd, char *out, size_t n)
{
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = recv(fd, out + got, n - 1 - got, 0)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(fd);
    long status = 0;
    if (sscanf(out, "HTTP/1.1 %ld", &status) != 1) fail_msg("no HTTP answer: %s", out);
    return status;
}

/* POSTs body to path with Transfer-Encoding: chunked (no Content-Length: the server learns
 * the size only as the chunks arrive), in chunks of 1000 bytes, over a raw socket; returns
 * the answer's status and puts its first bytes in out. */
static long post_chunked(const char *path, const char *key, const char *body, char *out, size_t n)
{
    int fd = connect_daemon();
    char head[512];
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: %s\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                      "Connection: close\r\n\r\n",
                      path, key);
    assert_int_equal(send(fd, head, (size_t)hl, MSG_NOSIGNAL), hl);
    for (size_t off = 0, len = strlen(body); off < len;) {
        size_t c = len - off < 1000 ? len - off : 1000;
        char sz[16];
        int zl = snprintf(sz, sizeof(sz), "%zx\r\n", c);
        if (send(fd, sz, (size_t)zl, MSG_NOSIGNAL) != zl ||
            send(fd, body + off, c, MSG_NOSIGNAL) != (ssize_t)c ||
            send(fd, "\r\n", 2, MSG_NOSIGNAL) != 2)
            break; /* the server may answer and close before the rest */
        off += c;
    }
    send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
    return read_status(fd, out, n);
}

/* A path of 2 KiB or more is 414 URI_TOO_LONG, not routed after being cut short (sent raw:
 * e2e_req's URLs are shorter). */
static void test_long_path_414(void **state)
{
    (void)state;
    static char req[4096];
    int l = snprintf(req, sizeof(req),
                     "GET /api/volt/ssh-keys/%03000d HTTP/1.1\r\nHost: x\r\n"
                     "X-API-Key: %s\r\nConnection: close\r\n\r\n",
                     0, D.key);
    int fd = connect_daemon();
    assert_int_equal(send(fd, req, (size_t)l, MSG_NOSIGNAL), l);
    char ans[4096];
    assert_int_equal(read_status(fd, ans, sizeof(ans)), 414);
    assert_non_null(strstr(ans, "URI_TOO_LONG"));
    /* 2 KiB less one byte is routed: no such key */
    l = snprintf(req, sizeof(req),
                 "GET /api/volt/ssh-keys/%0*d HTTP/1.1\r\nHost: x\r\n"
                 "X-API-Key: %s\r\nConnection: close\r\n\r\n",
                 2047 - 19, 0, D.key);
    fd = connect_daemon();
    assert_int_equal(send(fd, req, (size_t)l, MSG_NOSIGNAL), l);
    assert_int_equal(read_status(fd, ans, sizeof(ans)), 404);
}

/* 1 when the account has an SSH key named name. */
static int has_ssh_key(const char *name)
{
    e2e_resp r;
    e2e_req(&D, "GET", "/api/volt/ssh-keys", D.key, NULL, &r);
    assert_int_equal(r.status, 200);
    char quoted[128];
    snprintf(quoted, sizeof(quoted), "\"%s\"", name);
    int hit = strstr(r.body, quoted) != NULL;
    e2e_resp_free(&r);
    return hit;
}

/* A chunked body has no Content-Length to refuse it by: the bound is counted as it arrives. A
 * valid key padded past limits.max_body_bytes is 413 and stores nothing; the same key
 * unpadded, chunked as well, is stored. */
static void test_limits_413_chunked(void **state)
{
    (void)state;
    char kid[64], pub[512];
    e2e_add_ssh_key(&D, D.key, kid, sizeof(kid), pub, sizeof(pub));
    char path[128];
    snprintf(path, sizeof(path), "/api/volt/ssh-keys/%s", kid);
    e2e_resp r;
    e2e_req(&D, "DELETE", path, D.key, NULL, &r); /* its public key is free again */
    assert_true(r.status == 200 || r.status == 204);
    e2e_resp_free(&r);
    char *big = malloc(8192);
    assert_non_null(big);
    int n = snprintf(big, 8192, "{\"name\":\"chunked-big\",\"public_key\":\"%s\"", pub);
    memset(big + n, ' ', 8190 - (size_t)n);
    big[8190] = '}';
    big[8191] = '\0';
    char ans[4096];
    assert_int_equal(post_chunked("/api/volt/ssh-keys", D.key, big, ans, sizeof(ans)), 413);
    assert_non_null(strstr(ans, "PAYLOAD_TOO_LARGE"));
    free(big);
    assert_false(has_ssh_key("chunked-big"));
    char small[1024];
    snprintf(small, sizeof(small), "{\"name\":\"chunked-small\",\"public_key\":\"%s\"}", pub);
    assert_int_equal(post_chunked("/api/volt/ssh-keys", D.key, small, ans, sizeof(ans)), 201);
    assert_true(has_ssh_key("chunked-small"));
}

static void test_health_and_metrics(void **state)
{
    (void)state;
    e2e_resp r;
    e2e_req(&D, "GET", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(e2e_str(&r, "status"), "ok");
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/api/volt/account", D.key, NULL, &r);
    e2e_resp_free(&r);
    e2e_req(&D, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(e2e_header(&r, "Content-Type"), "text/plain"));
    assert_non_null(strstr(
        r.body, "gpubroker_http_requests_total{route=\"GET /api/volt/account\",status=\"200\"}"));
    assert_non_null(strstr(r.body, "gpubroker_http_request_duration_seconds_bucket{route=\"GET "
                                   "/api/volt/account\",le=\"+Inf\"}"));
    assert_non_null(strstr(r.body, "status=\"401\""));
    e2e_resp_free(&r);
}

static void test_rate_limit_429(void **state)
{
    (void)state;
    e2e_daemon d2;
    static const char *env[] = {"GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=5", NULL};
    e2e_start_sandbox(&d2, NULL, env);
    e2e_resp r;
    for (int i = 0; i < 5; i++) {
        e2e_req(&d2, "GET", "/api/volt/account", d2.key, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(atoi(e2e_header(&r, "X-RateLimit-Remaining")), 4 - i);
        e2e_resp_free(&r);
    }
    e2e_req(&d2, "GET", "/api/volt/account", d2.key, NULL, &r);
    e2e_expect_error(&r, 429, "RATE_LIMITED");
    const char *ra = e2e_header(&r, "Retry-After");
    assert_non_null(ra);
    assert_true(atoi(ra) >= 3590 && atoi(ra) <= 3600);
    assert_string_equal(e2e_header(&r, "X-RateLimit-Remaining"), "0");
    e2e_resp_free(&r);
    /* limits are per key: the admin key still works */
    e2e_req(&d2, "GET", "/api/volt/account", d2.admin_key, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    e2e_stop(&d2);
    e2e_cleanup(&d2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_and_invalid_key),
        cmocka_unit_test(test_bearer_accepted),
        cmocka_unit_test(test_rate_limit_headers_on_every_response),
        cmocka_unit_test(test_revoked_key_is_401_at_once),
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_admin_made_account_is_no_admin),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_limits_413),
        cmocka_unit_test(test_limits_413_chunked),
        cmocka_unit_test(test_long_path_414),
        cmocka_unit_test(test_health_and_metrics),
        cmocka_unit_test(test_rate_limit_429),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
