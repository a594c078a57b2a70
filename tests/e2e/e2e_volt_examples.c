/* e2e_volt_examples.c: every body example of the Volt API documentation, read from
 * tests/fixtures/volt_examples.json (copied from the document, each with its section), sent to
 * the sandbox as written: none is refused as invalid (400, 413, 415), no field the document
 * names is called unknown, while a field it does not name still is. The objects an example
 * refers to (its SSH keys, credential, pod, template, API key) are the caller's own: the test
 * creates them and puts their ids in place of the document's placeholders. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "common/str.h"
#include "support_daemon.h"

static e2e_daemon D;

/* Two well-formed ed25519 public keys (made for this test, no private half kept). */
#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAYT6sc9h882d3yXAYoN7L0sTkZdhPU2bSLreblym+cN"
#define KEY_B "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILPaA7f0kDJdLEwZz3j8EAlDnKQNAmYhJBLHDffoDRxn"

/* The document's placeholder ids and the ids that stand for them here. */
typedef struct {
    const char *placeholder;
    char id[96];
} subst;

static subst S[] = {{"key_abc123", ""}, {"key_def456", ""},  {"cred_abc123", ""},
                    {"pod_def456", ""}, {"tpl_sdxl_02", ""}, {"ak_002", ""}};
#define NSUBST (sizeof(S) / sizeof(S[0]))

static int setup(void **state)
{
    (void)state;
    gb_http_global_init();
    e2e_start_sandbox(&D, NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&D);
    e2e_cleanup(&D);
    return 0;
}

/* text with every placeholder replaced (caller frees). */
static char *replace_all(const char *text)
{
    gb_buf b = {0};
    for (const char *p = text; *p;) {
        size_t i = 0;
        for (; i < NSUBST; i++)
            if (S[i].id[0] && strncmp(p, S[i].placeholder, strlen(S[i].placeholder)) == 0) break;
        if (i < NSUBST) {
            gb_buf_printf(&b, "%s", S[i].id);
            p += strlen(S[i].placeholder);
        } else {
            gb_buf_append(&b, p, 1);
            p++;
        }
    }
    return gb_buf_take(&b);
}

static void set_subst(const char *placeholder, const char *id)
{
    for (size_t i = 0; i < NSUBST; i++)
        if (strcmp(S[i].placeholder, placeholder) == 0 && id)
            snprintf(S[i].id, sizeof(S[i].id), "%s", id);
}

static void make(const char *key, const char *path, const char *body, const char *placeholder)
{
    e2e_resp r;
    e2e_req(&D, "POST", path, key, body, &r);
    if (r.status != 201) fail_msg("%s: %ld %s", path, r.status, r.body);
    set_subst(placeholder, e2e_str(&r, "id"));
    e2e_resp_free(&r);
}

static void test_examples_accepted(void **state)
{
    (void)state;
    char fixture[1024];
    const char *src = getenv("GB_SOURCE_DIR");
    snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/volt_examples.json", src ? src : ".");
    char *text = e2e_slurp(fixture, NULL);
    assert_non_null(text);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *examples = cJSON_GetObjectItemCaseSensitive(doc, "examples"), *ex;
    assert_true(cJSON_GetArraySize(examples) >= 16);
    /* a Volt user of its own, with money for the jobs */
    e2e_resp r;
    e2e_req(&D, "POST", "/api/volt/admin/accounts", D.admin_key,
            "{\"name\":\"volt-user\",\"credit\":\"5000\"}", &r);
    assert_int_equal(r.status, 201);
    char key[96];
    snprintf(key, sizeof(key), "%s", e2e_str(&r, "api_key.key"));
    e2e_resp_free(&r);
    make(key, "/api/volt/ssh-keys", "{\"name\":\"work-laptop\",\"public_key\":\"" KEY_A "\"}",
         "key_abc123");
    make(key, "/api/volt/ssh-keys", "{\"name\":\"home\",\"public_key\":\"" KEY_B "\"}",
         "key_def456");
    make(key, "/api/volt/docker-credentials",
         "{\"name\":\"GitHub Container Registry\",\"registry\":\"ghcr.io\",\"username\":\"my-org\","
         "\"password\":\"x\"}",
         "cred_abc123");
    int n = 0;
    cJSON_ArrayForEach(ex, examples)
    {
        const char *section = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ex, "section"));
        const char *method = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ex, "method"));
        const char *truncated =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ex, "truncated"));
        char *raw = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(ex, "body"));
        char *body = replace_all(raw);
        char *path =
            replace_all(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ex, "path")));
        e2e_req(&D, method, path, key, body, &r);
        const char *msg = e2e_str(&r, "message");
        if (msg && strstr(msg, "unknown field"))
            fail_msg("%s: a field the document names is called unknown: %s", section, msg);
        if (truncated) {
            /* the document shortens this value with "...": no key can be read from it */
            if (r.status != 400 || !msg || !strstr(msg, truncated))
                fail_msg("%s: %ld %s", section, r.status, r.body);
        } else if (r.status == 400 || r.status == 413 || r.status == 415 || r.status >= 500) {
            fail_msg("%s: refused: %ld %s\nbody: %s", section, r.status, r.body, body);
        }
        /* the objects later examples refer to */
        if (r.status == 201 && strcmp(path, "/api/volt/pods") == 0 && !S[3].id[0])
            set_subst("pod_def456", e2e_str(&r, "id"));
        if (r.status == 201 && strcmp(path, "/api/volt/templates") == 0)
            set_subst("tpl_sdxl_02", e2e_str(&r, "id"));
        if (r.status == 201 && strcmp(path, "/api/volt/api-keys") == 0)
            set_subst("ak_002", e2e_str(&r, "id"));
        e2e_resp_free(&r);
        free(raw);
        free(body);
        free(path);
        n++;
    }
    assert_int_equal(n, cJSON_GetArraySize(examples));
    for (size_t i = 0; i < NSUBST; i++)
        if (!S[i].id[0]) fail_msg("nothing stood for %s", S[i].placeholder);
    /* a field no Volt document names is still refused, and named */
    e2e_req(&D, "POST", "/api/volt/fine-tuning", key,
            "{\"name\":\"x\",\"taskType\":\"text\",\"model\":\"meta-llama/Llama-3.1-8B-Instruct\","
            "\"dsRepo\":\"myorg/dataset\",\"hours\":1,\"learningRateX\":1}",
            &r);
    e2e_expect_error(&r, 400, "VALIDATION_ERROR");
    assert_non_null(strstr(e2e_str(&r, "message"), "learningRateX"));
    e2e_resp_free(&r);
    cJSON_Delete(doc);
}

/* A 400's message ends where its sentence ends (a ')' or '.' or a field name), or with " ..."
 * after a whole word when it is too long: never in the middle of a word. */
#define NREQ_NAMED 6
#define LONG_SEG                                                                                   \
    "volt-examples-a-long-path-segment-volt-examples-a-long-path-segment-volt-examples-a-long-"    \
    "path-segment-volt-examples-a-long-path-segment-"
static void test_messages_whole(void **state)
{
    (void)state;
    static const char *const reqs[][3] = {
        {"POST", "/api/volt/pods", "{\"bogus_field_name\":1}"},
        {"POST", "/api/volt/fine-tuning", "{\"bogus_field_name\":1}"},
        {"POST", "/api/volt/templates", "{\"bogus_field_name\":1}"},
        {"PUT", "/api/volt/account", "{\"bogus_field_name\":1}"},
        {"GET", "/api/volt/offers?bogus_field_name=1", NULL},
        {"GET", "/api/volt/account/ledger?bogus_field_name=1", NULL},
        /* a message over any buffer: the path is echoed (404, the same rule) */
        {"GET", "/api/volt/nosuch/" LONG_SEG LONG_SEG LONG_SEG LONG_SEG, NULL},
    };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        e2e_resp r;
        e2e_req(&D, reqs[i][0], reqs[i][1], D.key, reqs[i][2], &r);
        if (i < NREQ_NAMED)
            e2e_expect_error(&r, 400, "VALIDATION_ERROR");
        else
            e2e_expect_error(&r, 404, "NOT_FOUND");
        const char *m = e2e_str(&r, "message");
        if (i < NREQ_NAMED) assert_non_null(strstr(m, "bogus_field_name"));
        size_t n = strlen(m);
        bool whole = (n > 0 && (m[n - 1] == ')' || m[n - 1] == '.')) ||
                     (n > 4 && strcmp(m + n - 4, " ...") == 0);
        if (!whole) fail_msg("%s %s: cut: %s", reqs[i][0], reqs[i][1], m);
        e2e_resp_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_examples_accepted),
                                       cmocka_unit_test(test_messages_whole)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
