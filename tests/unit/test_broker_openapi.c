/* test_broker_openapi.c: docs/openapi.json against the code: every route of broker/api/routes.c
 * is a path+method of the document and the document lists no other; every error code the API
 * answers (GB_ERRORS' default answers and docs/api.md's error table) is in its x-error-codes
 * with the same status, and each status's error schema admits exactly those codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "broker/api/routes.h"
#include "common/gb.h"
#include "common/str.h"

static const char *const METHODS[] = {"get",  "put",     "post",  "delete", "patch",
                                      "head", "options", "trace", NULL};

/* The whole file under the source tree (caller frees), or NULL. */
static char *slurp(const char *rel)
{
    const char *src = getenv("GB_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    gb_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        gb_buf_append(&b, chunk, n);
    fclose(f);
    return gb_buf_take(&b);
}

static cJSON *load_doc(void)
{
    char *text = slurp("docs/openapi.json");
    assert_non_null(text);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    return doc;
}

/* A route pattern in OpenAPI's spelling: "/pods/:id/logs" -> "/pods/{id}/logs". */
static void oa_path(const char *pattern, char *out, size_t n)
{
    size_t w = 0;
    for (const char *p = pattern; *p && w + 3 < n;) {
        if (*p == ':') {
            out[w++] = '{';
            p++;
            while (*p && *p != '/' && w + 2 < n)
                out[w++] = *p++;
            out[w++] = '}';
        } else {
            out[w++] = *p++;
        }
    }
    out[w] = '\0';
}

/* The operation of doc for method (any case) and route pattern, or NULL. */
static cJSON *doc_op(cJSON *doc, const char *method, const char *pattern)
{
    char p[300], m[16];
    oa_path(pattern, p, sizeof(p));
    gb_strlcpy(m, method, sizeof(m));
    for (char *c = m; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    cJSON *item = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(doc, "paths"), p);
    return item ? cJSON_GetObjectItemCaseSensitive(item, m) : NULL;
}

/* True when the route table has method (lower case) + OpenAPI path. */
static bool in_table(const char *method, const char *path)
{
    int n = 0;
    const route *t = routes_table(&n);
    for (int i = 0; i < n; i++) {
        char p[300];
        oa_path(t[i].pattern, p, sizeof(p));
        if (strcmp(p, path) == 0 && gb_str_ieq(t[i].method, method)) return true;
    }
    return false;
}

static void test_every_route_in_document(void **state)
{
    (void)state;
    cJSON *doc = load_doc();
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "openapi")), "3.1.0");
    int n = 0;
    const route *t = routes_table(&n);
    assert_true(n > 40);
    int missing = 0;
    for (int i = 0; i < n; i++) {
        cJSON *op = doc_op(doc, t[i].method, t[i].pattern);
        if (!op) {
            print_error("docs/openapi.json lacks %s %s\n", t[i].method, t[i].pattern);
            missing++;
            continue;
        }
        /* each of the route's query parameters is a parameter of the operation */
        for (const char *const *q = t[i].query; q && *q; q++) {
            bool found = false;
            cJSON *prm;
            cJSON_ArrayForEach(prm, cJSON_GetObjectItem(op, "parameters"))
            {
                const char *in = cJSON_GetStringValue(cJSON_GetObjectItem(prm, "in"));
                const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(prm, "name"));
                if (in && name && !strcmp(in, "query") && !strcmp(name, *q)) found = true;
            }
            if (!found) {
                print_error("%s %s: query parameter %s undocumented\n", t[i].method, t[i].pattern,
                            *q);
                missing++;
            }
        }
        /* a public route says so (security: []), a keyed one does not */
        cJSON *sec = cJSON_GetObjectItem(op, "security");
        if (t[i].public_ != (sec != NULL)) {
            print_error("%s %s: security does not say public=%d\n", t[i].method, t[i].pattern,
                        t[i].public_);
            missing++;
        }
    }
    /* the check itself can fail */
    assert_null(doc_op(doc, "GET", "/api/volt/no-such-route"));
    assert_null(doc_op(doc, "PATCH", "/api/volt/pods"));
    cJSON_Delete(doc);
    assert_int_equal(missing, 0);
}

static void test_document_lists_no_other_route(void **state)
{
    (void)state;
    cJSON *doc = load_doc();
    int extra = 0, ops = 0;
    cJSON *path;
    cJSON_ArrayForEach(path, cJSON_GetObjectItem(doc, "paths"))
    {
        cJSON *op;
        cJSON_ArrayForEach(op, path)
        {
            bool is_method = false;
            for (int k = 0; METHODS[k]; k++)
                if (!strcmp(op->string, METHODS[k])) is_method = true;
            if (!is_method) continue;
            ops++;
            if (!in_table(op->string, path->string)) {
                print_error("docs/openapi.json has %s %s; the route table does not\n", op->string,
                            path->string);
                extra++;
            }
        }
    }
    int n = 0;
    routes_table(&n);
    assert_int_equal(ops, n);
    assert_false(in_table("get", "/api/volt/no-such-route"));
    assert_false(in_table("patch", "/api/volt/pods"));
    cJSON_Delete(doc);
    assert_int_equal(extra, 0);
}

/* True when x-error-codes has code with status. */
static bool has_code(cJSON *doc, int status, const char *code)
{
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "x-error-codes"))
    {
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(e, "code"));
        cJSON *s = cJSON_GetObjectItem(e, "status");
        if (c && !strcmp(c, code) && cJSON_IsNumber(s) && s->valueint == status) return true;
    }
    return false;
}

/* True when components.schemas.Error<status> admits code. */
static bool schema_admits(cJSON *doc, int status, const char *code)
{
    char name[32];
    snprintf(name, sizeof(name), "Error%d", status);
    cJSON *s = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "components"), "schemas"), name);
    cJSON *part;
    cJSON_ArrayForEach(part, cJSON_GetObjectItem(s, "allOf"))
    {
        cJSON *en = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(part, "properties"), "code"), "enum");
        cJSON *c;
        cJSON_ArrayForEach(c, en)
        {
            if (cJSON_IsString(c) && !strcmp(c->valuestring, code)) return true;
        }
    }
    return false;
}

#define GB_ERR_ROW_(id, text, status, code, message) {status, code},
static const struct {
    int status;
    const char *code;
} GB_ROWS[] = {GB_ERRORS(GB_ERR_ROW_)};
#undef GB_ERR_ROW_

static void test_every_error_code_in_document(void **state)
{
    (void)state;
    cJSON *doc = load_doc();
    int bad = 0;
    for (size_t i = 0; i < GB_ARRAY_LEN(GB_ROWS); i++) {
        if (!has_code(doc, GB_ROWS[i].status, GB_ROWS[i].code) ||
            !schema_admits(doc, GB_ROWS[i].status, GB_ROWS[i].code)) {
            print_error("GB_ERRORS: %d %s not in docs/openapi.json\n", GB_ROWS[i].status,
                        GB_ROWS[i].code);
            bad++;
        }
    }
    /* docs/api.md's error table: "| 409 | `CONFLICT` / `LIMIT_REACHED` | ..." */
    char *md = slurp("docs/api.md");
    assert_non_null(md);
    int rows = 0;
    for (const char *line = md; line && *line;) {
        const char *end = strchr(line, '\n');
        int status = 0;
        char cell[200];
        if (sscanf(line, "| %3d | %199[^|]|", &status, cell) == 2 && status >= 400 &&
            status < 600) {
            for (char *p = strchr(cell, '`'); p; p = strchr(p, '`')) {
                char *q = strchr(p + 1, '`');
                if (!q) break;
                *q = '\0';
                rows++;
                if (!has_code(doc, status, p + 1) || !schema_admits(doc, status, p + 1)) {
                    print_error("docs/api.md: %d %s not in docs/openapi.json\n", status, p + 1);
                    bad++;
                }
                p = q + 1;
            }
        }
        line = end ? end + 1 : NULL;
    }
    free(md);
    assert_true(rows > 25);
    /* every code of the document is in docs/api.md's table (counted from the other side) */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "x-error-codes")), rows);
    assert_false(has_code(doc, 404, "CONFLICT"));
    assert_false(schema_admits(doc, 404, "CONFLICT"));
    cJSON_Delete(doc);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_in_document),
        cmocka_unit_test(test_document_lists_no_other_route),
        cmocka_unit_test(test_every_error_code_in_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
