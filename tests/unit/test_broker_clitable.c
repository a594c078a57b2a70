/* test_broker_clitable.c: the CLI's tables (broker/cli/cli_table.c) on a terminal: fitted to
 * the width by cutting the widest columns with an ellipsis, never inside a UTF-8 character,
 * never below 8 columns or the header, never the id column; whole with --wide, in a pipe, or
 * when they fit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/cli/cli_table.h"
#include "broker/cli/cli_util.h"

static const cli_col COLS[] = {
    {"ID", "id", COL_STR}, {"NAME", "name", COL_STR}, {"NOTE", "note", COL_STR}};

/* The rows: a short id, a long ASCII name, a long note in two-byte characters. */
static cJSON *rows(void)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < 3; i++) {
        cJSON *o = cJSON_CreateObject();
        char id[16], name[128], note[256] = "";
        snprintf(id, sizeof(id), "p%d", i);
        snprintf(name, sizeof(name), "name-%d-abcdefghijklmnopqrstuvwxyz-0123456789", i);
        for (int k = 0; k < 40; k++)
            strcat(note, "\xC3\xBC"); /* U+00FC */
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "note", note);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* The table as printed to a file (not a terminal: GPUBROKER_FORCE_TTY decides). */
static char *render(const cJSON *arr)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    cli_table(f, arr, COLS, 3);
    fclose(f);
    return text;
}

/* Columns of each line; fails on a broken UTF-8 sequence. */
static int widest_line(const char *text)
{
    int widest = 0, cols = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\n') {
            if (cols > widest) widest = cols;
            cols = 0;
            continue;
        }
        if ((*p & 0xC0) == 0x80) continue;
        int follow = *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC0 ? 1 : 0;
        for (int k = 1; k <= follow; k++)
            if ((p[k] & 0xC0) != 0x80) fail_msg("broken UTF-8 at %s", (const char *)p);
        cols++;
    }
    return widest;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_fits_the_terminal(void **state)
{
    (void)state;
    cJSON *arr = rows();
    setenv("GPUBROKER_FORCE_TTY", "1", 1);
    setenv("COLUMNS", "60", 1);
    cli_wide = 0;
    char *t = render(arr);
    assert_true(widest_line(t) <= 60);
    assert_int_equal(count(t, "\xE2\x80\xA6"), 6); /* NAME and NOTE cut in each of 3 rows */
    assert_non_null(strstr(t, "p0  "));            /* the narrow column is whole */
    assert_null(strstr(t, "0123456789"));
    free(t);
    /* too narrow for everything: columns stop at 8 (or their header) and the line runs over */
    setenv("COLUMNS", "20", 1);
    t = render(arr);
    assert_true(widest_line(t) == 2 + 2 + 8 + 2 + 8);
    free(t);
    /* wide enough: nothing is cut */
    setenv("COLUMNS", "200", 1);
    t = render(arr);
    assert_int_equal(count(t, "\xE2\x80\xA6"), 0);
    assert_int_equal(count(t, "0123456789"), 3);
    free(t);
    cJSON_Delete(arr);
}

/* The id column is never cut (people copy ids out of tables): the others give way. */
static void test_ids_stay_whole(void **state)
{
    (void)state;
    cJSON *arr = cJSON_CreateArray(), *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", "targon:h200-sxm-x8-us-east-long-offer-id");
    cJSON_AddStringToObject(o, "name", "a name that is much too long for forty columns");
    cJSON_AddItemToArray(arr, o);
    setenv("GPUBROKER_FORCE_TTY", "1", 1);
    setenv("COLUMNS", "60", 1);
    cli_wide = 0;
    char *t = render(arr);
    assert_non_null(strstr(t, "targon:h200-sxm-x8-us-east-long-offer-id"));
    assert_int_equal(count(t, "\xE2\x80\xA6"), 1);
    assert_true(widest_line(t) <= 60);
    free(t);
    cJSON_Delete(arr);
}

static void test_wide_and_pipes_show_everything(void **state)
{
    (void)state;
    cJSON *arr = rows();
    setenv("COLUMNS", "60", 1);
    setenv("GPUBROKER_FORCE_TTY", "1", 1);
    cli_wide = 1;
    char *t = render(arr);
    assert_int_equal(count(t, "\xE2\x80\xA6"), 0);
    assert_int_equal(count(t, "0123456789"), 3);
    assert_true(widest_line(t) > 60);
    free(t);
    cli_wide = 0;
    unsetenv("GPUBROKER_FORCE_TTY"); /* a memstream is no terminal */
    t = render(arr);
    assert_int_equal(count(t, "\xE2\x80\xA6"), 0);
    assert_int_equal(count(t, "0123456789"), 3);
    free(t);
    cJSON_Delete(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits_the_terminal),
        cmocka_unit_test(test_ids_stay_whole),
        cmocka_unit_test(test_wide_and_pipes_show_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
