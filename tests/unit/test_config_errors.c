/* test_config_errors.c: every class of config file error names the file, the line and the
 * key or section, and leaves the config freed and zeroed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void assert_zeroed(const gb_config *cfg)
{
    gb_config zero;
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(cfg, &zero, sizeof(zero));
}

/* Parses text as "gpubroker.yaml" and returns the error (static buffer). */
static const char *load_err(const char *text, gb_err want)
{
    static char err[GB_CONFIG_ERR_MAX];
    gb_config cfg;
    memset(err, 0, sizeof(err));
    gb_err e = gb_config_load_text(text, strlen(text), "gpubroker.yaml", &cfg, err, sizeof(err));
    if (e != want) fail_msg("got %s (%s), want %s", gb_strerror(e), err, gb_strerror(want));
    assert_zeroed(&cfg);
    return err;
}

static void expect(const char *text, const char *want)
{
    assert_string_equal(load_err(text, GB_ERR_INVALID), want);
}

static void test_unknown_key(void **state)
{
    (void)state;
    expect("server:\n  port: 8080\n  prot: 1\n", "gpubroker.yaml:3: unknown key 'server.prot'");
    /* A key that exists in another section is still unknown here. */
    expect("log:\n  port: 1\n", "gpubroker.yaml:2: unknown key 'log.port'");
    expect("server: {listen: \"::1\", bogus: 2}\n", "gpubroker.yaml:1: unknown key 'server.bogus'");
    /* Case matters. */
    expect("server:\n  Port: 1\n", "gpubroker.yaml:2: unknown key 'server.Port'");
}

static void test_unknown_section(void **state)
{
    (void)state;
    expect("server:\n  port: 1\n\nservr:\n  port: 2\n",
           "gpubroker.yaml:4: unknown section 'servr'");
    expect("port: 8080\n", "gpubroker.yaml:1: unknown section 'port'");
    /* The name is shown without control characters and cut when long. */
    char text[256];
    char want[256];
    char name[101];
    memset(name, 'x', 100);
    name[100] = '\0';
    assert_int_equal(gb_snprintf(text, sizeof(text), "%s: {}\n", name), 0);
    assert_int_equal(
        gb_snprintf(want, sizeof(want), "gpubroker.yaml:1: unknown section '%.64s...'", name), 0);
    expect(text, want);
    expect("\"a\\tb\": 1\n", "gpubroker.yaml:1: unknown section 'a?b'");
}

static void test_shape_errors(void **state)
{
    (void)state;
    /* A scalar where a mapping is expected. */
    expect("server: 8080\n",
           "gpubroker.yaml:1: section 'server' must be a mapping of keys, not a scalar");
    expect("log:\n  - level\n",
           "gpubroker.yaml:2: section 'log' must be a mapping of keys, not a sequence");
    expect("just a string\n",
           "gpubroker.yaml:1: the top level must be a mapping of sections (like 'server:'), "
           "not a scalar");
    expect("- server\n",
           "gpubroker.yaml:1: the top level must be a mapping of sections (like 'server:'), "
           "not a sequence");
    /* A mapping or sequence where a scalar is expected. */
    expect("server:\n  port:\n    value: 1\n",
           "gpubroker.yaml:3: server.port: must be a single value, not a mapping");
    expect("server:\n  listen: [\"::1\", 127.0.0.1]\n",
           "gpubroker.yaml:2: server.listen: must be a single value, not a sequence");
    /* Non-scalar names. */
    expect("? [a, b]\n: 1\n",
           "gpubroker.yaml:1: section names must be plain names, not a sequence");
    expect("server:\n  ? {a: 1}\n  : 2\n",
           "gpubroker.yaml:2: keys in section 'server' must be plain names, not a mapping");
}

static void test_duplicates(void **state)
{
    (void)state;
    expect("server:\n  port: 1\n  port: 2\n", "gpubroker.yaml:3: duplicate key 'server.port'");
    expect("server:\n  port: 1\nlog:\n  level: info\nserver:\n  threads: 2\n",
           "gpubroker.yaml:5: duplicate section 'server'");
    /* Twice with the same value is still a duplicate. */
    expect("log: {level: info, level: info}\n", "gpubroker.yaml:1: duplicate key 'log.level'");
}

static void test_bad_values(void **state)
{
    (void)state;
    expect("# gpubroker\n\nserver:\n  listen: 127.0.0.1\n  threads: 2\n\n  port: eighty\n",
           "gpubroker.yaml:7: server.port: must be an integer from 0 to 65535 (got \"eighty\")");
    expect("server:\n  port: 65536\n",
           "gpubroker.yaml:2: server.port: must be an integer from 0 to 65535 (got \"65536\")");
    expect(
        "log:\n  level: verbose\n",
        "gpubroker.yaml:2: log.level: must be one of debug, info, warn, error (got \"verbose\")");
    /* The value's own line, for a value on a later line than its key. */
    expect("server:\n  port:\n    \"x\"\n",
           "gpubroker.yaml:3: server.port: must be an integer from 0 to 65535 (got \"x\")");
}

/* Money settings: a negative low-water mark or a margin over 1000 % is refused, not used. */
static void test_money_values(void **state)
{
    (void)state;
    expect("metering:\n  low_water: \"-0.50\"\n",
           "gpubroker.yaml:2: metering.low_water: must be an amount of dollars, 0 or more "
           "(got \"-0.50\")");
    expect("metering:\n  margins: \"lium=5,targon=1000.01\"\n",
           "gpubroker.yaml:2: metering.margins: must be a list of provider=percent (0 to 1000, 2 "
           "decimals at most) (got \"lium=5,targon=1000.01\")");
    /* the bounds themselves load */
    gb_config cfg;
    char err[GB_CONFIG_ERR_MAX];
    const char *ok = "metering:\n  low_water: \"0\"\n  margins: \"targon=1000\"\n";
    assert_int_equal(gb_config_load_text(ok, strlen(ok), "gpubroker.yaml", &cfg, err, sizeof(err)),
                     GB_OK);
    assert_int_equal(gb_config_margin(cfg.metering_margins, "targon"), 100000);
    gb_config_free(&cfg);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    const char *e = load_err("server:\n  port: 8080\n listen: x\n", GB_ERR_INVALID);
    assert_string_equal(e, "gpubroker.yaml:3: YAML syntax error: did not find expected key "
                           "(while parsing a block mapping on line 1)");

    e = load_err("server:\n\tport: 1\n", GB_ERR_INVALID);
    assert_string_equal(e, "gpubroker.yaml:2: YAML syntax error: found character that cannot "
                           "start any token (while scanning for the next token on line 2)");

    e = load_err("server:\n  listen: \"abc\n  port: 1\n", GB_ERR_INVALID);
    assert_true(gb_str_starts_with(e, "gpubroker.yaml:4: YAML syntax error: found unexpected "
                                      "end of stream"));

    e = load_err("server: {port: 1\n", GB_ERR_INVALID);
    assert_string_equal(e, "gpubroker.yaml:2: YAML syntax error: did not find expected ',' or "
                           "'}' (while parsing a flow mapping on line 1)");

    /* Invalid UTF-8 is a reader error, reported by byte offset. */
    e = load_err("server:\n  listen: \xff\xfe\n", GB_ERR_INVALID);
    assert_string_equal(e, "gpubroker.yaml:2: invalid YAML input: invalid leading UTF-8 octet "
                           "(byte 18)");
    /* So are control characters. */
    e = load_err("# ok\n\nserver:\n  listen: a\x01b\n", GB_ERR_INVALID);
    assert_true(gb_str_starts_with(e, "gpubroker.yaml:4: invalid YAML input: "));
}

static void test_unsupported_yaml(void **state)
{
    (void)state;
    expect("server:\n  listen: &a \"::1\"\n  port: *a\n",
           "gpubroker.yaml:3: server.port: aliases are not supported");
    expect("server:\n  port: 1\n---\nlog:\n  level: info\n",
           "gpubroker.yaml:3: only one YAML document is allowed");
}

/* Through gb_config_load the message starts with the real path. */
static void test_file_path_in_message(void **state)
{
    (void)state;
    char dir[] = "/tmp/gb_config_errors_XXXXXX";
    char path[128], want[GB_CONFIG_ERR_MAX], err[GB_CONFIG_ERR_MAX] = "";
    gb_config cfg;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(gb_snprintf(path, sizeof(path), "%s/gpubroker.yaml", dir), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("server:\n  listen: 127.0.0.1\n  prot: 8080\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(gb_config_load(path, &cfg, err, sizeof(err)), GB_ERR_INVALID);
    assert_int_equal(gb_snprintf(want, sizeof(want), "%s:3: unknown key 'server.prot'", path), 0);
    assert_string_equal(err, want);
    assert_zeroed(&cfg);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    clear_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_key),      cmocka_unit_test(test_unknown_section),
        cmocka_unit_test(test_shape_errors),     cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_bad_values),       cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_unsupported_yaml), cmocka_unit_test(test_file_path_in_message),
        cmocka_unit_test(test_money_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
