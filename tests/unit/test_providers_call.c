/* test_providers_call.c: the one adapter call path (prov_call) against a scripted loopback
 * server: the auth header really sent, one retry with a fresh token after a 401 (and none for
 * a static key), the platform's error mapping, secrets that would forge headers, raw bodies;
 * the lease fence (a mutating request not sent once the claim is lost, reads still sent, no
 * pause before an adapter's retry after that). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "providers/provider.h"
#include "test_script_server.h"
#include "test_wire_util.h"

static int auth_calls;
static int token_gen;

/* A token platform: "tok-<gen>"; a rejected header renews the token. */
static gb_err token_auth(prov_adapter *a, const char *rejected, char **hdr, char *err)
{
    (void)a;
    (void)err;
    auth_calls++;
    if (rejected) token_gen++;
    *hdr = gb_asprintf("Authorization: Bearer tok-%d", token_gen);
    return *hdr ? GB_OK : GB_ERR_NOMEM;
}

static gb_err teapot_error(prov_adapter *a, const gb_http_resp *r, char *err)
{
    snprintf(err, PROV_ERR_MAX, "%s mapped %ld", a->name, r->status);
    return r->status == 418 ? GB_ERR_CAPACITY : GB_ERR_PROVIDER;
}

static const prov_ops TOKEN_OPS = {.kind = "tok", .auth = token_auth, .error = teapot_error};
static const prov_ops STATIC_OPS = {.kind = "key", .auth = prov_auth_bearer};

static prov_adapter *adapter(const prov_ops *ops, ss_script *s, const char *secret)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
    prov_adapter *a = NULL;
    assert_int_equal(prov_adapter_init(ops, NULL, url, secret, NULL, &a), GB_OK);
    a->policy.max_retries = -1;
    return a;
}

static void test_token_refresh_once(void **state)
{
    (void)state;
    int st[] = {401, 200};
    const char *bodies[] = {"{\"message\":\"expired\"}", "{\"id\":\"w-1\"}"};
    ss_script s = {.statuses = st, .bodies = bodies, .n = 2};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = adapter(&TOKEN_OPS, &s, "id:secret");
    auth_calls = token_gen = 0;
    cJSON *out = NULL;
    long status = 0;
    char err[PROV_ERR_MAX] = "";
    assert_int_equal(prov_call(a, "GET", "/w/1", NULL, true, &out, &status, err), GB_OK);
    assert_int_equal(status, 200);
    assert_string_equal(cJSON_GetObjectItem(out, "id")->valuestring, "w-1");
    assert_int_equal(auth_calls, 2);
    assert_non_null(strstr(s.got[0], "Authorization: Bearer tok-0\r\n"));
    assert_non_null(strstr(s.got[1], "Authorization: Bearer tok-1\r\n"));
    cJSON_Delete(out);
    prov_adapter_free(a);
    ss_stop(&s);
    assert_int_equal(s.served, 2); /* counted once joined */
}

static void test_two_401s_map_through_error(void **state)
{
    (void)state;
    int st[] = {401, 401};
    ss_script s = {.statuses = st, .n = 2};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = adapter(&TOKEN_OPS, &s, "k");
    auth_calls = token_gen = 0;
    long status = 0;
    char err[PROV_ERR_MAX] = "";
    assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, &status, err), GB_ERR_PROVIDER);
    assert_int_equal(status, 401);
    assert_string_equal(err, "tok mapped 401"); /* ops->error was used */
    prov_adapter_free(a);
    ss_stop(&s);
    assert_int_equal(s.served, 2); /* counted once joined */
}

static void test_static_key_not_retried(void **state)
{
    (void)state;
    int st[] = {401, 200};
    ss_script s = {.statuses = st, .n = 2};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = adapter(&STATIC_OPS, &s, "sk-live");
    long status = 0;
    char err[PROV_ERR_MAX] = "";
    assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, &status, err), GB_ERR_AUTH);
    assert_int_equal(status, 401);
    assert_non_null(strstr(err, "401")); /* prov_status_error's message, not the auth's */
    assert_non_null(strstr(s.got[0], "Authorization: Bearer sk-live\r\n"));
    prov_adapter_free(a);
    ss_stop(&s);
    assert_int_equal(s.served, 1); /* counted once joined */
}

static void test_error_mapping_and_body(void **state)
{
    (void)state;
    int st[] = {418, 204};
    ss_script s = {.statuses = st, .n = 2};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = adapter(&TOKEN_OPS, &s, "k");
    char err[PROV_ERR_MAX] = "";
    cJSON *body = cJSON_Parse("{\"name\":\"gb-1\"}");
    cJSON *out = (cJSON *)1;
    assert_int_equal(prov_call(a, "POST", "/w", body, false, &out, NULL, err), GB_ERR_CAPACITY);
    assert_null(out);
    assert_non_null(strstr(s.got[0], "POST /w HTTP/1.1"));
    assert_non_null(strstr(s.got[0], "Content-Type: application/json"));
    assert_non_null(strstr(s.got[0], "{\"name\":\"gb-1\"}"));
    /* a 204 gives no JSON and no error */
    out = (cJSON *)1;
    assert_int_equal(prov_call(a, "DELETE", "/w/1", NULL, true, &out, NULL, err), GB_OK);
    assert_null(out);
    cJSON_Delete(body);
    prov_adapter_free(a);
    ss_stop(&s);
}

static void test_raw_form_body(void **state)
{
    (void)state;
    int st[] = {200};
    const char *bodies[] = {"plain log line\n"};
    ss_script s = {.statuses = st, .bodies = bodies, .n = 1};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = adapter(&TOKEN_OPS, &s, "k");
    char err[PROV_ERR_MAX] = "";
    gb_http_resp r;
    const char *form = "grant_type=client_credentials";
    assert_int_equal(prov_call_raw(a, "POST", "/t", "application/x-www-form-urlencoded", form,
                                   strlen(form), true, &r, NULL, err),
                     GB_OK);
    assert_string_equal(r.body, "plain log line\n");
    assert_non_null(strstr(s.got[0], "Content-Type: application/x-www-form-urlencoded\r\n"));
    assert_non_null(strstr(s.got[0], "grant_type=client_credentials"));
    gb_http_resp_free(&r);
    prov_adapter_free(a);
    ss_stop(&s);
}

static void test_bad_secrets_send_nothing(void **state)
{
    (void)state;
    int st[] = {200};
    ss_script s = {.statuses = st, .n = 1};
    assert_int_equal(ss_start(&s), 0);
    static const char *const BAD[] = {"", "key\r\nX-Evil: 1", "tab\tkey", "del\x7f"};
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        prov_adapter *a = adapter(&STATIC_OPS, &s, BAD[i]);
        char err[PROV_ERR_MAX] = "";
        assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, NULL, err), GB_ERR_AUTH);
        assert_non_null(strstr(err, "credentials are"));
        assert_null(strstr(err, "Evil")); /* the secret is never echoed */
        prov_adapter_free(a);
    }
    ss_stop(&s);
    assert_int_equal(s.served, 0); /* counted once joined */
}

/* The API request a call serves is named to the platform (X-Request-Id, docs/operations.md),
 * and only then; a key of printable ASCII (spaces and '~' too) is sent as it is. */
static void test_request_id_and_printable_key(void **state)
{
    (void)state;
    int st[] = {200, 200};
    ss_script s = {.statuses = st, .n = 2};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = adapter(&STATIC_OPS, &s, "key with ~");
    char err[PROV_ERR_MAX] = "";
    gb_request_id_set("unit-req_1");
    assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, NULL, err), GB_OK);
    gb_request_id_set(NULL);
    assert_int_equal(prov_call(a, "GET", "/y", NULL, true, NULL, NULL, err), GB_OK);
    prov_adapter_free(a);
    ss_stop(&s);
    assert_non_null(strstr(s.got[0], "\r\nX-Request-Id: unit-req_1\r\n"));
    assert_non_null(strstr(s.got[0], "Authorization: Bearer key with ~\r\n"));
    assert_null(strstr(s.got[1], "X-Request-Id"));
}

/* The platform's hourly budget: the third call of two allowed sends nothing. */
static void test_hourly_budget(void **state)
{
    (void)state;
    int st[] = {200, 200, 200};
    ss_script s = {.statuses = st, .n = 3};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = adapter(&STATIC_OPS, &s, "k");
    a->budget.per_hour = 2;
    char err[PROV_ERR_MAX] = "";
    assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, NULL, err), GB_OK);
    assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, NULL, err), GB_OK);
    assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, NULL, err), GB_ERR_LIMIT);
    assert_non_null(strstr(err, "2 per hour"));
    prov_adapter_free(a);
    ss_stop(&s);
    assert_int_equal(s.served, 2); /* counted once joined */
}

/* A stand-in for the store's shared hourly window (prov_budget.shared_take): answers with
 * g_shared_err, and takes a request while g_shared_left lasts. */
static int g_shared_calls, g_shared_left;
static gb_err g_shared_err;

static gb_err fake_shared(void *ud, const char *provider, int per_hour, bool *taken)
{
    (void)ud;
    assert_string_equal(provider, "p");
    assert_int_equal(per_hour, 2);
    g_shared_calls++;
    if (g_shared_err) return g_shared_err;
    *taken = g_shared_left > 0;
    if (*taken) g_shared_left--;
    return GB_OK;
}

/* The shared hourly window: its refusal sends nothing and says "per hour"; a request the
 * minute refuses never reaches it (the platform's count is not spent on what is not sent),
 * and a refused hour gives the minute back; while it cannot answer, the adapter's own window
 * counts. */
static void test_shared_hourly_budget(void **state)
{
    (void)state;
    int st[] = {200, 200, 200, 200};
    ss_script s = {.statuses = st, .n = 4};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = adapter(&STATIC_OPS, &s, "k");
    gb_strlcpy(a->name, "p", sizeof(a->name));
    a->budget.per_hour = 2;
    a->budget.per_minute = 2;
    a->budget.shared_take = fake_shared;
    g_shared_calls = 0;
    g_shared_left = 1;
    g_shared_err = GB_OK;
    char err[PROV_ERR_MAX] = "";
    assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, NULL, err), GB_OK);
    assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, NULL, err), GB_ERR_LIMIT);
    assert_non_null(strstr(err, "2 per hour")); /* another broker spent the rest */
    assert_int_equal(g_shared_calls, 2);
    /* the refused one gave its minute back: one more is asked of the store, and refused */
    assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, NULL, err), GB_ERR_LIMIT);
    assert_int_equal(g_shared_calls, 3);
    /* the store cannot answer: this adapter's own hour (2) decides, and the minute (2) */
    g_shared_err = GB_ERR_DB;
    assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, NULL, err), GB_OK);
    assert_int_equal(prov_call(a, "GET", "/x", NULL, true, NULL, NULL, err), GB_ERR_LIMIT);
    assert_non_null(strstr(err, "2 per minute"));
    assert_int_equal(g_shared_calls, 4); /* the minute refused before the store was asked */
    prov_adapter_free(a);
    ss_stop(&s);
    assert_int_equal(s.served, 2);
}

static bool g_held;
static int64_t g_paused;

static bool held(void *ud, int64_t *send_by)
{
    (void)ud;
    *send_by = 0; /* no time limit */
    return g_held;
}

/* Held when asked, good for one more second; then the worker pauses (SIGSTOP) for five before
 * its request leaves, past its lease: emulated with the test clock moved on at the check. */
static bool held_then_paused(void *ud, int64_t *send_by)
{
    (void)ud;
    int64_t now = gb_now_ms();
    *send_by = now + 1000;
    gb_clock_set(now + 5000);
    return true;
}

static bool held_for_a_second(void *ud, int64_t *send_by)
{
    (void)ud;
    *send_by = gb_now_ms() + 1000;
    return true;
}

static void record_pause(void *ud, int64_t ms)
{
    (void)ud;
    g_paused += ms;
}

static int clear_fence(void **state)
{
    (void)state;
    prov_fence_set(NULL, NULL); /* also when the test failed midway: the next tests send */
    gb_clock_use_real();
    return 0;
}

static void test_fence(void **state)
{
    (void)state;
    int st[] = {200, 200, 200, 200};
    ss_script s = {.statuses = st, .n = 4};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = adapter(&STATIC_OPS, &s, "k");
    a->policy.sleep_ms = record_pause;
    char err[PROV_ERR_MAX] = "";
    g_held = true;
    g_paused = 0;
    prov_fence_set(held, NULL);
    assert_int_equal(prov_call(a, "POST", "/w", NULL, false, NULL, NULL, err), GB_OK);
    prov_sleep(a, 100);
    assert_int_equal(g_paused, 100); /* while the claim is held: a real pause */
    g_held = false;                  /* another worker took the claim over */
    assert_int_equal(prov_call(a, "DELETE", "/w/1", NULL, true, NULL, NULL, err), GB_ERR_HTTP);
    assert_non_null(strstr(err, "not sent"));
    assert_true(prov_fence_tripped());
    assert_int_equal(prov_call(a, "GET", "/w/1", NULL, true, NULL, NULL, err),
                     GB_OK); /* reads go */
    prov_sleep(a, 500);
    assert_int_equal(g_paused, 100); /* nothing would go out after it: no pause */
    g_held = true; /* tripped stays tripped for this call, even if held() says yes again */
    assert_int_equal(prov_call(a, "POST", "/w", NULL, false, NULL, NULL, err), GB_ERR_HTTP);
    prov_fence_set(NULL, NULL);
    assert_false(prov_fence_tripped());
    assert_int_equal(prov_call(a, "POST", "/w", NULL, false, NULL, NULL, err), GB_OK);
    prov_adapter_free(a);
    ss_stop(&s);
    assert_int_equal(s.served, 3); /* the POST, the GET, the last POST */
    assert_non_null(strstr(s.got[0], "POST /w "));
    assert_non_null(strstr(s.got[1], "GET /w/1 "));
    assert_non_null(strstr(s.got[2], "POST /w "));
}

/* A worker paused after the fence said yes and before its request left (e2e_brokers saw it:
 * a create sent seconds after the lease had passed, after the worker that took the intent over
 * had looked for the workload by name and found nothing) sends nothing once it wakes past the
 * time the fence allowed: the check is made again by libcurl just before the request goes out
 * (CURLOPT_PREREQFUNCTION), on a new connection or a kept one. */
static void test_fence_paused_after_check(void **state)
{
    (void)state;
    int st[] = {200, 200};
    ss_script s = {.statuses = st, .n = 2};
    assert_int_equal(ss_start(&s), 0);
    prov_adapter *a = adapter(&STATIC_OPS, &s, "k");
    a->policy.max_retries = 3; /* a late request is not tried again either */
    a->policy.sleep_ms = record_pause;
    g_paused = 0;
    char err[PROV_ERR_MAX] = "";
    gb_clock_set(1700000000000LL);
    prov_fence_set(held_then_paused, NULL);
    assert_int_equal(prov_call(a, "POST", "/w", NULL, false, NULL, NULL, err), GB_ERR_HTTP);
    assert_non_null(strstr(err, "not sent"));
    assert_true(prov_fence_tripped());
    assert_int_equal(g_paused, 0);
    /* the call's outcome: a step kept back makes an OK answer unknown, an error stays */
    assert_int_equal(prov_fence_outcome(GB_OK, err), GB_ERR_HTTP);
    assert_non_null(strstr(err, "not sent"));
    assert_int_equal(prov_fence_outcome(GB_ERR_CAPACITY, err), GB_ERR_CAPACITY);
    prov_fence_set(held_for_a_second, NULL); /* in time: it goes */
    assert_int_equal(prov_call(a, "PUT", "/w/1", NULL, true, NULL, NULL, err), GB_OK);
    assert_false(prov_fence_tripped());
    assert_int_equal(prov_fence_outcome(GB_OK, err), GB_OK);
    prov_fence_set(NULL, NULL);
    gb_clock_use_real();
    prov_adapter_free(a);
    ss_stop(&s);
    assert_int_equal(s.served, 1); /* only the PUT reached the platform */
    assert_non_null(strstr(s.got[0], "PUT /w/1 "));
}

/* The contract tests' shape check itself: each kind of misfit is caught. */
static void test_wire_shape_fits(void **state)
{
    (void)state;
    cJSON *fx = cJSON_Parse("{\"$required\":[\"name\",\"resources\"],\"name\":\"x\","
                            "\"resources\":[{\"gpu\":\"8\",\"replica\":1}],\"any\":null}");
    char why[256];
    static const struct {
        const char *body;
        bool ok;
        const char *why;
    } CASES[] = {
        {"{\"name\":\"a\",\"resources\":[{\"gpu\":\"1\"}],\"any\":[1]}", true, ""},
        {"{\"name\":\"a\"}", false, "resources: required by the source, not sent"},
        {"{\"name\":\"a\",\"resources\":[],\"image\":\"i\"}", false,
         "image: sent, but the source has no such field"},
        {"{\"name\":\"a\",\"resources\":[{\"gpu\":8}]}", false,
         "resources[0].gpu: sent number, the source has string"},
        {"{\"name\":1,\"resources\":[]}", false, "name: sent number, the source has string"},
        {"[]", false, "(body): sent array, the source has object"},
    };
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        cJSON *b = cJSON_Parse(CASES[i].body);
        assert_non_null(b);
        assert_int_equal(wire_shape_fits(b, fx, why, sizeof(why)), CASES[i].ok);
        assert_string_equal(why, CASES[i].why);
        cJSON_Delete(b);
    }
    cJSON_Delete(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_refresh_once),
        cmocka_unit_test(test_request_id_and_printable_key),
        cmocka_unit_test_teardown(test_fence, clear_fence),
        cmocka_unit_test(test_two_401s_map_through_error),
        cmocka_unit_test(test_static_key_not_retried),
        cmocka_unit_test(test_error_mapping_and_body),
        cmocka_unit_test(test_raw_form_body),
        cmocka_unit_test(test_bad_secrets_send_nothing),
        cmocka_unit_test(test_wire_shape_fits),
        cmocka_unit_test(test_hourly_budget),
        cmocka_unit_test(test_shared_hourly_budget),
        cmocka_unit_test_teardown(test_fence_paused_after_check, clear_fence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
