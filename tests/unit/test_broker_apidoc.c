/* test_broker_apidoc.c: docs/api.md against the code: every route of broker/api/routes.c's
 * table has a row in the endpoint table (its method in the first column, its path in the
 * second), and every error code the API can answer (read from the sources: api_error calls,
 * the placement's and billing's refusals, GB_ERRORS' default answers) is in the doc. */
#include <dirent.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/api/routes.h"
#include "common/str.h"

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

/* True when the method is one of cell's words ("GET / PUT / DELETE"). */
static bool has_word(const char *cell, size_t n, const char *w)
{
    size_t k = strlen(w);
    for (size_t i = 0; i + k <= n; i++)
        if (strncmp(cell + i, w, k) == 0 && (i == 0 || cell[i - 1] == ' ') &&
            (i + k == n || cell[i + k] == ' '))
            return true;
    return false;
}

/* True when a row of doc's tables has method in its first cell and `pattern` (or
 * `pattern?...`) in its second. */
static bool documented(const char *doc, const char *method, const char *pattern)
{
    char want[300];
    snprintf(want, sizeof(want), "`%s", pattern);
    for (const char *line = doc; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 2 && line[0] == '|') {
            const char *c1 = line + 1, *b1 = memchr(c1, '|', len - 1);
            const char *b2 = b1 ? memchr(b1 + 1, '|', (size_t)(line + len - b1 - 1)) : NULL;
            if (b1 && b2 && has_word(c1, (size_t)(b1 - c1), method)) {
                for (const char *p = b1; p < b2; p++) {
                    p = strstr(p, want);
                    if (!p || p >= b2) break;
                    char after = p[strlen(want)];
                    if (after == '`' || after == '?') return true;
                }
            }
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}

static void test_every_route_documented(void **state)
{
    (void)state;
    char *doc = slurp("docs/api.md");
    assert_non_null(doc);
    int n = 0;
    const route *t = routes_table(&n);
    assert_true(n > 40);
    int missing = 0;
    for (int i = 0; i < n; i++) {
        if (!documented(doc, t[i].method, t[i].pattern)) {
            print_error("docs/api.md has no row for %s %s\n", t[i].method, t[i].pattern);
            missing++;
        }
    }
    /* the check itself can fail */
    assert_false(documented(doc, "GET", "/api/volt/no-such-route"));
    assert_false(documented(doc, "PATCH", "/api/volt/pods"));
    free(doc);
    assert_int_equal(missing, 0);
}

/* Adds every first capture of re in text to codes (a '|'-separated list). */
static void collect(const char *text, const char *re_src, gb_buf *codes)
{
    regex_t re;
    assert_int_equal(regcomp(&re, re_src, REG_EXTENDED), 0);
    regmatch_t m[2];
    for (const char *p = text; regexec(&re, p, 2, m, 0) == 0; p += m[0].rm_eo) {
        char code[64];
        size_t len = (size_t)(m[1].rm_eo - m[1].rm_so);
        if (len >= sizeof(code)) continue;
        memcpy(code, p + m[1].rm_so, len);
        code[len] = '\0';
        char tagged[70];
        snprintf(tagged, sizeof(tagged), "|%s|", code);
        if (!codes->data || !strstr(codes->data, tagged))
            gb_buf_printf(codes, "%s%s|", codes->data ? "" : "|", code);
    }
    regfree(&re);
}

/* The text with every run of white space made one space (calls span lines). */
static char *squash(char *text)
{
    size_t w = 0;
    for (size_t r = 0; text[r]; r++) {
        bool sp = text[r] == ' ' || text[r] == '\n' || text[r] == '\t';
        if (sp && w && text[w - 1] == ' ') continue;
        text[w++] = sp ? ' ' : text[r];
    }
    text[w] = '\0';
    return text;
}

static void test_every_code_documented(void **state)
{
    (void)state;
    static const char *const dirs[] = {"broker/api", "broker/core", "broker/placement"};
    gb_buf codes = {0};
    for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s",
                 getenv("GB_SOURCE_DIR") ? getenv("GB_SOURCE_DIR") : ".", dirs[d]);
        DIR *dir = opendir(path);
        assert_non_null(dir);
        struct dirent *e;
        while ((e = readdir(dir))) {
            size_t len = strlen(e->d_name);
            if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0) continue;
            char rel[512];
            snprintf(rel, sizeof(rel), "%s/%s", dirs[d], e->d_name);
            char *text = slurp(rel);
            assert_non_null(text);
            squash(text);
            collect(text, "api_error\\([^,]+, [0-9]{3}, \"([A-Z_]+)\"", &codes);
            collect(text, "fail\\(why, [0-9]{3}, \"([A-Z_]+)\"", &codes);
            collect(text, "refuse\\(why, \"([A-Z_]+)\"", &codes);
            free(text);
        }
        closedir(dir);
    }
    char *gb = slurp("common/gb.h");
    assert_non_null(gb);
    collect(squash(gb), "X\\(GB_[A-Z_]+, \"[^\"]*\", [0-9]{3}, \"([A-Z_]+)\"", &codes);
    free(gb);
    assert_non_null(codes.data);
    /* what the scan must find, or it finds nothing */
    assert_non_null(strstr(codes.data, "|VALIDATION_ERROR|"));
    assert_non_null(strstr(codes.data, "|SPEND_LIMIT|"));
    assert_non_null(strstr(codes.data, "|PRICE_CHANGED|"));
    char *doc = slurp("docs/api.md");
    assert_non_null(doc);
    int missing = 0;
    for (char *p = codes.data + 1; *p;) {
        char *bar = strchr(p, '|');
        *bar = '\0';
        char want[80];
        snprintf(want, sizeof(want), "`%s`", p);
        if (!strstr(doc, want)) {
            print_error("docs/api.md does not list the error code %s\n", p);
            missing++;
        }
        p = bar + 1;
    }
    free(doc);
    gb_buf_free(&codes);
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_route_documented),
                                       cmocka_unit_test(test_every_code_documented)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
