/* test_broker_cli_idem.c: the CLI's HTTP helper (cli_call) sends a fresh Idempotency-Key on
 * each create or charge and the SAME key on its own retries (after a 503 here), so a retry
 * cannot make a second pod; a route the key does not cover gets no key and no blind retry.
 * Against a scripted loopback server that keeps what was sent. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/cli/cli_util.h"
#include "common/http_client.h"
#include "test_script_server.h"

/* The Idempotency-Key value in a request head, copied into out ("" when none). */
static void key_of(const char *head, char *out, size_t n)
{
    const char *p = strstr(head, "Idempotency-Key: ");
    out[0] = '\0';
    if (!p) return;
    p += strlen("Idempotency-Key: ");
    size_t k = strcspn(p, "\r\n");
    if (k >= n) k = n - 1;
    memcpy(out, p, k);
    out[k] = '\0';
}

static void point_at(const ss_script *s)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
    setenv("GPUBROKER_URL", url, 1);
    setenv("GPUBROKER_API_KEY", "gpb_sk_test", 1);
}

static void test_same_key_on_retry(void **state)
{
    (void)state;
    static const int st[] = {503, 201, 201};
    static const char *const bodies[] = {"{\"error\":true}", "{\"id\":\"pod_1\"}",
                                         "{\"id\":\"pod_2\"}"};
    ss_script s = {.statuses = st, .bodies = bodies, .n = 3};
    assert_int_equal(ss_start(&s), 0);
    point_at(&s);
    cJSON *body = cJSON_Parse("{\"name\":\"a\"}"), *out = NULL;
    assert_int_equal(cli_call("POST", "/api/volt/pods", body, &out), CLI_OK);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "id")), "pod_1");
    cJSON_Delete(out);
    assert_int_equal(cli_call("POST", "/api/volt/pods", body, &out), CLI_OK); /* a new create */
    cJSON_Delete(out);
    cJSON_Delete(body);
    ss_stop(&s);
    assert_int_equal(s.served, 3);
    char k0[300], k1[300], k2[300];
    key_of(s.got[0], k0, sizeof(k0));
    key_of(s.got[1], k1, sizeof(k1));
    key_of(s.got[2], k2, sizeof(k2));
    assert_int_equal(strncmp(k0, "cli-", 4), 0);
    assert_int_equal(strlen(k0), 36);
    assert_string_equal(k0, k1);     /* the retry reuses it */
    assert_string_not_equal(k0, k2); /* the next create has its own */
}

static void test_uncovered_route(void **state)
{
    (void)state;
    static const int st[] = {503, 200};
    ss_script s = {.statuses = st, .n = 2};
    assert_int_equal(ss_start(&s), 0);
    point_at(&s);
    cJSON *out = NULL;
    assert_int_equal(cli_call("POST", "/api/volt/pods/pod_1/stop", NULL, &out),
                     CLI_ERR_UNAVAILABLE);
    cJSON_Delete(out);
    ss_stop(&s);
    assert_int_equal(s.served, 1); /* no retry */
    assert_null(strstr(s.got[0], "Idempotency-Key"));
}

int main(void)
{
    gb_http_global_init();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_same_key_on_retry),
                                       cmocka_unit_test(test_uncovered_route)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
