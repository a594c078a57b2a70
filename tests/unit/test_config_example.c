/* test_config_example.c: the generated example config lists every key, parses to exactly the
 * defaults, matches config/gpubroker.example.yaml, and gb_config_write_default writes it 0600.
 * Run with "--write-example PATH" to (re)generate the committed file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/str.h"
#include "config/config.h"
#include "config/config_internal.h"

static void clear_env(void)
{
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        char name[128];
        assert_int_equal(gb_config_key_env_name(&gb_config_keys[i], name, sizeof(name)), 0);
        unsetenv(name);
    }
}

/* Every field of a equals the same field of b. */
static void assert_config_equal(const gb_config *a, const gb_config *b)
{
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        const gb_config_key *k = &gb_config_keys[i];
        const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;
        switch (k->type) {
        case GB_CONFIG_T_STRING:
            assert_non_null(*(char *const *)pa);
            assert_non_null(*(char *const *)pb);
            assert_string_equal(*(char *const *)pa, *(char *const *)pb);
            break;
        case GB_CONFIG_T_INT:
        case GB_CONFIG_T_LOGLEVEL:
            assert_int_equal(*(const int *)pa, *(const int *)pb);
            break;
        case GB_CONFIG_T_INT64:
            assert_int_equal(*(const int64_t *)pa, *(const int64_t *)pb);
            break;
        }
    }
}

/* The lines of section sec: from its "sec:" line to the next line starting with a letter. */
static char *section_body(const char *text, const char *sec)
{
    char head[80];
    assert_int_equal(gb_snprintf(head, sizeof(head), "\n%s:\n", sec), 0);
    const char *start = strstr(text, head);
    if (!start) return NULL;
    start += strlen(head) - 1;
    const char *end = start;
    while ((end = strchr(end + 1, '\n')) && end[1] && (end[1] == ' ' || end[1] == '\n'))
        ;
    return gb_strndup(start, end ? (size_t)(end - start) + 1 : strlen(start));
}

static void test_every_key_listed(void **state)
{
    (void)state;
    const char *text = gb_config_example_text();
    assert_true(strlen(text) > 500);
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        const gb_config_key *k = &gb_config_keys[i];
        char sec[64], line[128], env[128];
        size_t seclen = gb_config_key_section_len(k);
        assert_true(seclen < sizeof(sec));
        memcpy(sec, k->path, seclen);
        sec[seclen] = '\0';
        char *body = section_body(text, sec);
        if (!body) fail_msg("section '%s' missing from the example", sec);
        assert_int_equal(gb_snprintf(line, sizeof(line), "\n  %s: ", k->path + seclen + 1), 0);
        if (!strstr(body, line)) fail_msg("key '%s' missing from the example", k->path);
        free(body);
        assert_int_equal(gb_config_key_env_name(k, env, sizeof(env)), 0);
        if (!strstr(text, env)) fail_msg("%s missing from the example", env);
        if (!strstr(text, k->desc)) fail_msg("description of '%s' missing", k->path);
    }
    /* The header explains precedence. */
    assert_non_null(strstr(text, "defaults, then this file, then GPUBROKER_*"));
    /* Tidy text: ends with a newline, no long lines, no tabs, no trailing spaces. */
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_null(strchr(text, '\t'));
    assert_null(strstr(text, " \n"));
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (nl - p > 90) fail_msg("line too long: %.*s", (int)(nl - p), p);
        p = nl + 1;
    }
}

static void test_example_parses_to_defaults(void **state)
{
    (void)state;
    const char *text = gb_config_example_text();
    gb_config parsed, defaults;
    char err[GB_CONFIG_ERR_MAX] = "";
    gb_err e = gb_config_load_text(text, strlen(text), "example", &parsed, err, sizeof(err));
    if (e) fail_msg("example does not parse: %s", err);
    assert_int_equal(gb_config_defaults(&defaults), GB_OK);
    assert_config_equal(&parsed, &defaults);
    assert_int_equal(parsed.port, 8080); /* and the defaults are the documented ones */
    assert_string_equal(parsed.database, "./gpubroker-data/gpubroker.db");
    gb_config_free(&parsed);

    /* Every key in the example is live: breaking its value is an error naming it. */
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        const gb_config_key *k = &gb_config_keys[i];
        const char *name = k->path + gb_config_key_section_len(k) + 1;
        char line[128];
        assert_int_equal(gb_snprintf(line, sizeof(line), "\n  %s: ", name), 0);
        const char *at = strstr(text, line);
        assert_non_null(at);
        const char *eol = strchr(at + 1, '\n');
        assert_non_null(eol);
        gb_buf b = {0};
        assert_int_equal(gb_buf_append(&b, text, (size_t)(at - text) + strlen(line)), GB_OK);
        /* A value no key accepts: not a number, level, or IP, and too long for a string. */
        assert_int_equal(gb_buf_puts(&b, "\"x"), GB_OK);
        for (int j = 0; j < GB_CONFIG_STR_MAX; j++)
            assert_int_equal(gb_buf_puts(&b, "y"), GB_OK);
        assert_int_equal(gb_buf_puts(&b, "\""), GB_OK);
        assert_int_equal(gb_buf_puts(&b, eol), GB_OK);
        gb_config cfg;
        assert_int_equal(gb_config_load_text(b.data, b.len, "ex", &cfg, err, sizeof(err)),
                         GB_ERR_INVALID);
        char want[160];
        assert_int_equal(gb_snprintf(want, sizeof(want), ": %s: must be", k->path), 0);
        if (!strstr(err, want)) fail_msg("breaking %s gave: %s", k->path, err);
        gb_buf_free(&b);
    }
    gb_config_free(&defaults);
}

static void test_matches_committed_file(void **state)
{
    (void)state;
    const char *src = getenv("GB_SOURCE_DIR");
    if (!src) fail_msg("GB_SOURCE_DIR is not set (ctest sets it)");
    char path[1024];
    assert_int_equal(gb_snprintf(path, sizeof(path), "%s/config/gpubroker.example.yaml", src), 0);
    char *file = NULL;
    size_t len = 0;
    if (gb_read_file(path, 1024 * 1024, &file, &len) != GB_OK) fail_msg("cannot read %s", path);
    const char *text = gb_config_example_text();
    if (strcmp(file, text) != 0)
        fail_msg("%s is out of date; regenerate it: rm %s && test_config_example "
                 "--write-example %s",
                 path, path, path);
    assert_int_equal(len, strlen(text));

    /* And the committed file loads to the defaults. */
    gb_config parsed, defaults;
    char err[GB_CONFIG_ERR_MAX] = "";
    if (gb_config_load(path, &parsed, err, sizeof(err))) fail_msg("%s", err);
    assert_int_equal(gb_config_defaults(&defaults), GB_OK);
    assert_config_equal(&parsed, &defaults);
    gb_config_free(&parsed);
    gb_config_free(&defaults);
    free(file);
}

static void test_write_default(void **state)
{
    (void)state;
    char dir[] = "/tmp/gb_config_example_XXXXXX";
    char path[128], missing[160];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(gb_snprintf(path, sizeof(path), "%s/gpubroker.yaml", dir), 0);

    mode_t old = umask(0); /* the mode comes from open() alone */
    gb_err e = gb_config_write_default(path);
    umask(old);
    assert_int_equal(e, GB_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    char *file = NULL;
    assert_int_equal(gb_read_file(path, 1024 * 1024, &file, NULL), GB_OK);
    assert_string_equal(file, gb_config_example_text());
    free(file);

    /* Refuses to overwrite, and leaves the existing file alone. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("keep me\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(gb_config_write_default(path), GB_ERR_CONFLICT);
    assert_int_equal(gb_read_file(path, 1024, &file, NULL), GB_OK);
    assert_string_equal(file, "keep me\n");
    free(file);

    /* A missing directory is an I/O error. */
    assert_int_equal(gb_snprintf(missing, sizeof(missing), "%s/no/such/dir.yaml", dir), 0);
    assert_int_equal(gb_config_write_default(missing), GB_ERR_IO);
    assert_int_equal(gb_config_write_default(NULL), GB_ERR_INVALID);

    unlink(path);
    rmdir(dir);
}

static void *example_thread(void *arg)
{
    (void)arg;
    return (void *)gb_config_example_text();
}

static void test_example_text_threads(void **state)
{
    (void)state;
    pthread_t t[8];
    void *got[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, example_thread, NULL), 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_join(t[i], &got[i]), 0);
    for (int i = 0; i < 8; i++) {
        assert_ptr_equal(got[i], gb_config_example_text());
        assert_true(strlen(got[i]) > 0);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-example") == 0) {
        gb_err e = gb_config_write_default(argv[2]);
        if (e) fprintf(stderr, "%s: %s\n", argv[2], gb_strerror(e));
        return e ? 1 : 0;
    }
    clear_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_text_threads),
        cmocka_unit_test(test_every_key_listed),
        cmocka_unit_test(test_example_parses_to_defaults),
        cmocka_unit_test(test_matches_committed_file),
        cmocka_unit_test(test_write_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
