/* test_config_load.c: gb_config defaults, file values, GPUBROKER_* overrides, derived paths,
 * bounds and type checks, and gb_config_free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"
#include "config/config.h"
#include "config/config_internal.h"

static char tmpdir[64];
static char cfgpath[128];

static void clear_env(void)
{
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        char name[128];
        assert_int_equal(gb_config_key_env_name(&gb_config_keys[i], name, sizeof(name)), 0);
        unsetenv(name);
    }
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clear_env();
    unlink(cfgpath);
    return 0;
}

static void write_cfg(const char *text)
{
    FILE *f = fopen(cfgpath, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void assert_zeroed(const gb_config *cfg)
{
    gb_config zero;
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(cfg, &zero, sizeof(zero));
}

/* Loads text (as a file) and expects failure with exactly "<path><suffix>". */
static void expect_file_error(const char *text, const char *suffix)
{
    gb_config cfg;
    char err[GB_CONFIG_ERR_MAX] = "";
    char want[GB_CONFIG_ERR_MAX];
    write_cfg(text);
    assert_int_equal(gb_config_load(cfgpath, &cfg, err, sizeof(err)), GB_ERR_INVALID);
    assert_int_equal(gb_snprintf(want, sizeof(want), "%s%s", cfgpath, suffix), 0);
    assert_string_equal(err, want);
    assert_zeroed(&cfg);
}

static void load_ok(const char *text, gb_config *cfg)
{
    char err[GB_CONFIG_ERR_MAX] = "";
    write_cfg(text);
    gb_err e = gb_config_load(cfgpath, cfg, err, sizeof(err));
    if (e) fail_msg("load failed: %s", err);
}

static void test_defaults(void **state)
{
    (void)state;
    gb_config cfg;
    assert_int_equal(gb_config_defaults(&cfg), GB_OK);
    assert_string_equal(cfg.listen, "127.0.0.1");
    assert_int_equal(cfg.port, 8080);
    assert_int_equal(cfg.threads, 16); /* fixed, not the core count */
    assert_int_equal(cfg.max_connections, 4096);
    assert_int_equal(cfg.max_connections_per_address, 64);
    assert_int_equal(cfg.request_timeout_ms, 10000);
    assert_string_equal(cfg.data_dir, "./gpubroker-data");
    assert_string_equal(cfg.database, "./gpubroker-data/gpubroker.db");
    assert_string_equal(cfg.master_key_file, "./gpubroker-data/master.key");
    assert_int_equal(cfg.log_level, GB_LOG_INFO);
    assert_int_equal(cfg.max_body_bytes, 1048576);
    assert_int_equal(cfg.max_json_depth, 32);
    assert_int_equal(cfg.max_list_items, 256);
    assert_int_equal(cfg.rate_limit_per_hour, 1000);
    gb_config_free(&cfg);

    /* No file: the same defaults. */
    char err[GB_CONFIG_ERR_MAX] = "";
    assert_int_equal(gb_config_load(NULL, &cfg, err, sizeof(err)), GB_OK);
    assert_string_equal(cfg.listen, "127.0.0.1");
    assert_int_equal(cfg.port, 8080);
    assert_string_equal(cfg.database, "./gpubroker-data/gpubroker.db");
    gb_config_free(&cfg);
}

static void test_empty_and_comment_files(void **state)
{
    (void)state;
    const char *texts[] = {"", "# only a comment\n\n   # another\n", "---\n", "---\n...\n",
                           "server:\n  # port: 1\nlog: ~\n"};
    for (size_t i = 0; i < GB_ARRAY_LEN(texts); i++) {
        gb_config cfg;
        load_ok(texts[i], &cfg);
        assert_int_equal(cfg.port, 8080);
        assert_int_equal(cfg.log_level, GB_LOG_INFO);
        assert_string_equal(cfg.database, "./gpubroker-data/gpubroker.db");
        gb_config_free(&cfg);
    }
}

static void test_file_overrides(void **state)
{
    (void)state;
    gb_config cfg;
    load_ok("# every key\n"
            "server:\n"
            "  listen: \"::1\"\n"
            "  port: 9090\n"
            "  threads: 4\n"
            "storage:\n"
            "  data_dir: /var/lib/gb\n"
            "  database: /db/main.sqlite\n"
            "vault:\n"
            "  master_key_file: '/keys/mk'\n"
            "log:\n"
            "  level: debug\n"
            "limits:\n"
            "  max_body_bytes: 2048\n"
            "  max_json_depth: 8\n"
            "  max_list_items: 50\n"
            "rate_limit:\n"
            "  requests_per_hour: 77\n",
            &cfg);
    assert_string_equal(cfg.listen, "::1");
    assert_int_equal(cfg.port, 9090);
    assert_int_equal(cfg.threads, 4);
    assert_string_equal(cfg.data_dir, "/var/lib/gb");
    assert_string_equal(cfg.database, "/db/main.sqlite");
    assert_string_equal(cfg.master_key_file, "/keys/mk");
    assert_int_equal(cfg.log_level, GB_LOG_DEBUG);
    assert_int_equal(cfg.max_body_bytes, 2048);
    assert_int_equal(cfg.max_json_depth, 8);
    assert_int_equal(cfg.max_list_items, 50);
    assert_int_equal(cfg.rate_limit_per_hour, 77);
    gb_config_free(&cfg);

    /* Flow style and a partial file: the rest keeps its defaults. */
    load_ok("server: {port: 1234}\n", &cfg);
    assert_int_equal(cfg.port, 1234);
    assert_string_equal(cfg.listen, "127.0.0.1");
    assert_int_equal(cfg.threads, 16);
    gb_config_free(&cfg);
}

static void test_env_overrides_file(void **state)
{
    (void)state;
    gb_config cfg;
    setenv("GPUBROKER_SERVER_PORT", "9100", 1);
    setenv("GPUBROKER_LOG_LEVEL", "error", 1);
    setenv("GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR", "5", 1);
    setenv("GPUBROKER_LIMITS_MAX_BODY_BYTES", "4096", 1);
    /* Not config keys: ignored, never an error. */
    setenv("GPUBROKER_URL", "http://x", 1);
    setenv("GPUBROKER_API_KEY", "secret", 1);
    setenv("GPUBROKER_NOT_A_KEY", "whatever", 1);
    load_ok("server:\n  port: 9000\n  threads: 3\nlog:\n  level: warn\n", &cfg);
    assert_int_equal(cfg.port, 9100);              /* env beats file */
    assert_int_equal(cfg.log_level, GB_LOG_ERROR); /* env beats file */
    assert_int_equal(cfg.threads, 3);              /* file only */
    assert_int_equal(cfg.rate_limit_per_hour, 5);  /* env only */
    assert_int_equal(cfg.max_body_bytes, 4096);    /* env only, int64 */
    assert_int_equal(cfg.max_json_depth, 32);      /* default */
    gb_config_free(&cfg);
    unsetenv("GPUBROKER_URL");
    unsetenv("GPUBROKER_API_KEY");
    unsetenv("GPUBROKER_NOT_A_KEY");
}

/* server.tls_cert_file and tls_key_file: both (HTTPS) or neither (HTTP), never one. */
static void test_tls_pair(void **state)
{
    (void)state;
    gb_config cfg;
    char err[GB_CONFIG_ERR_MAX] = "";
    const char *names[] = {"GPUBROKER_SERVER_TLS_CERT_FILE", "GPUBROKER_SERVER_TLS_KEY_FILE"};
    for (int i = 0; i < 2; i++) {
        clear_env();
        setenv(names[i], "/etc/x.pem", 1);
        assert_int_equal(gb_config_load(NULL, &cfg, err, sizeof(err)), GB_ERR_INVALID);
        assert_non_null(strstr(err, "set both (HTTPS) or neither (HTTP)"));
    }
    setenv(names[0], "/etc/c.pem", 1);
    assert_int_equal(gb_config_load(NULL, &cfg, err, sizeof(err)), GB_OK);
    assert_string_equal(cfg.tls_cert_file, "/etc/c.pem");
    assert_string_equal(cfg.tls_key_file, "/etc/x.pem");
    gb_config_free(&cfg);
    clear_env();
    assert_int_equal(gb_config_load(NULL, &cfg, err, sizeof(err)), GB_OK);
    assert_string_equal(cfg.tls_cert_file, "");
    gb_config_free(&cfg);
}

/* Every key in the table has a working GPUBROKER_* variable. */
static void test_env_every_key(void **state)
{
    (void)state;
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        const gb_config_key *k = &gb_config_keys[i];
        char name[128], val[64];
        gb_config cfg;
        char err[GB_CONFIG_ERR_MAX] = "";
        int64_t want = 0;
        assert_int_equal(gb_config_key_env_name(k, name, sizeof(name)), 0);
        switch (k->type) {
        case GB_CONFIG_T_STRING:
            gb_strlcpy(val,
                       (k->flags & GB_CONFIG_F_IPADDR)    ? "10.1.2.3"
                       : (k->flags & GB_CONFIG_F_MONEY)   ? "2.5"
                       : (k->flags & GB_CONFIG_F_MARGINS) ? "lium=5,targon=2.25"
                                                          : "/env/value",
                       sizeof(val));
            break;
        case GB_CONFIG_T_INT:
        case GB_CONFIG_T_INT64:
            want = k->def_num == k->min ? k->max : k->min;
            assert_int_equal(gb_snprintf(val, sizeof(val), "%lld", (long long)want), 0);
            break;
        case GB_CONFIG_T_LOGLEVEL:
            want = GB_LOG_DEBUG;
            gb_strlcpy(val, "debug", sizeof(val));
            break;
        }
        clear_env();
        setenv(name, val, 1);
        if (!strncmp(k->path, "server.tls_", 11)) { /* the TLS pair: both or neither */
            setenv("GPUBROKER_SERVER_TLS_CERT_FILE", val, 1);
            setenv("GPUBROKER_SERVER_TLS_KEY_FILE", val, 1);
        }
        gb_err e = gb_config_load(NULL, &cfg, err, sizeof(err));
        if (e) fail_msg("%s=%s: %s", name, val, err);
        const char *base = (const char *)&cfg + k->offset;
        switch (k->type) {
        case GB_CONFIG_T_STRING:
            assert_string_equal(*(char *const *)base, val);
            break;
        case GB_CONFIG_T_INT:
        case GB_CONFIG_T_LOGLEVEL:
            assert_int_equal(*(const int *)base, want);
            break;
        case GB_CONFIG_T_INT64:
            assert_int_equal(*(const int64_t *)base, want);
            break;
        }
        gb_config_free(&cfg);
    }
    assert_true(gb_config_nkeys >= 11);
}

static void test_env_names(void **state)
{
    (void)state;
    const char *want[] = {"GPUBROKER_SERVER_PORT", "GPUBROKER_LOG_LEVEL",
                          "GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR",
                          "GPUBROKER_VAULT_MASTER_KEY_FILE", "GPUBROKER_STORAGE_DATA_DIR"};
    for (size_t w = 0; w < GB_ARRAY_LEN(want); w++) {
        bool found = false;
        for (size_t i = 0; i < gb_config_nkeys; i++) {
            char name[128];
            assert_int_equal(gb_config_key_env_name(&gb_config_keys[i], name, sizeof(name)), 0);
            if (strcmp(name, want[w]) == 0) found = true;
        }
        if (!found) fail_msg("no key for %s", want[w]);
    }
}

static void test_env_bad_values(void **state)
{
    (void)state;
    struct {
        const char *var, *val, *err;
    } cases[] = {
        {"GPUBROKER_SERVER_PORT", "x",
         "GPUBROKER_SERVER_PORT: must be an integer from 0 to 65535 (got \"x\")"},
        {"GPUBROKER_SERVER_PORT", "",
         "GPUBROKER_SERVER_PORT: must be an integer from 0 to 65535 (got \"\")"},
        {"GPUBROKER_LOG_LEVEL", "loud",
         "GPUBROKER_LOG_LEVEL: must be one of debug, info, warn, error (got \"loud\")"},
        {"GPUBROKER_SERVER_LISTEN", "", "GPUBROKER_SERVER_LISTEN: must not be empty"},
        {"GPUBROKER_LIMITS_MAX_BODY_BYTES", "67108865",
         "GPUBROKER_LIMITS_MAX_BODY_BYTES: must be an integer from 1024 to 67108864 "
         "(got \"67108865\")"},
    };
    for (size_t i = 0; i < GB_ARRAY_LEN(cases); i++) {
        gb_config cfg;
        char err[GB_CONFIG_ERR_MAX] = "";
        clear_env();
        setenv(cases[i].var, cases[i].val, 1);
        /* The env error wins over a valid file value too. */
        write_cfg("server:\n  port: 9000\n");
        assert_int_equal(gb_config_load(cfgpath, &cfg, err, sizeof(err)), GB_ERR_INVALID);
        assert_string_equal(err, cases[i].err);
        assert_zeroed(&cfg);
    }
}

static void test_derived_paths(void **state)
{
    (void)state;
    gb_config cfg;

    /* The data_dir variable alone moves both files. */
    setenv("GPUBROKER_STORAGE_DATA_DIR", "/srv/gb", 1);
    load_ok("storage:\n  data_dir: /from/file\n", &cfg);
    assert_string_equal(cfg.data_dir, "/srv/gb");
    assert_string_equal(cfg.database, "/srv/gb/gpubroker.db");
    assert_string_equal(cfg.master_key_file, "/srv/gb/master.key");
    gb_config_free(&cfg);
    clear_env();

    /* From the file; trailing slashes are not doubled. */
    load_ok("storage:\n  data_dir: /from/file//\n", &cfg);
    assert_string_equal(cfg.database, "/from/file/gpubroker.db");
    assert_string_equal(cfg.master_key_file, "/from/file/master.key");
    gb_config_free(&cfg);

    /* Explicit values are kept; empty or null ones are derived. */
    load_ok("storage:\n  data_dir: d\n  database: /x/db.sqlite\nvault:\n  master_key_file: \"\"\n",
            &cfg);
    assert_string_equal(cfg.database, "/x/db.sqlite");
    assert_string_equal(cfg.master_key_file, "d/master.key");
    gb_config_free(&cfg);
    load_ok("storage:\n  database: ~\nvault:\n  master_key_file:\n", &cfg);
    assert_string_equal(cfg.database, "./gpubroker-data/gpubroker.db");
    assert_string_equal(cfg.master_key_file, "./gpubroker-data/master.key");
    gb_config_free(&cfg);

    /* An explicit env value beats derivation. */
    setenv("GPUBROKER_VAULT_MASTER_KEY_FILE", "/run/secrets/mk", 1);
    load_ok("storage:\n  data_dir: /a\n", &cfg);
    assert_string_equal(cfg.master_key_file, "/run/secrets/mk");
    assert_string_equal(cfg.database, "/a/gpubroker.db");
    gb_config_free(&cfg);
}

static void test_port_bounds(void **state)
{
    (void)state;
    gb_config cfg;
    load_ok("server:\n  port: 65535\n", &cfg);
    assert_int_equal(cfg.port, 65535);
    gb_config_free(&cfg);
    load_ok("server:\n  port: 0\n", &cfg);
    assert_int_equal(cfg.port, 0);
    gb_config_free(&cfg);
    expect_file_error("server:\n  port: 65536\n",
                      ":2: server.port: must be an integer from 0 to 65535 (got \"65536\")");
    expect_file_error("server:\n  port: -1\n",
                      ":2: server.port: must be an integer from 0 to 65535 (got \"-1\")");
    expect_file_error("server:\n  port: 99999999999999999999999\n",
                      ":2: server.port: must be an integer from 0 to 65535 "
                      "(got \"99999999999999999999999\")");
}

static void test_other_bounds(void **state)
{
    (void)state;
    gb_config cfg;
    load_ok("limits:\n  max_body_bytes: 67108864\n  max_json_depth: 2\n", &cfg);
    assert_int_equal(cfg.max_body_bytes, 67108864);
    assert_int_equal(cfg.max_json_depth, 2);
    gb_config_free(&cfg);
    expect_file_error("limits:\n  max_body_bytes: 1023\n",
                      ":2: limits.max_body_bytes: must be an integer from 1024 to 67108864 "
                      "(got \"1023\")");
    expect_file_error("limits:\n  max_json_depth: 129\n",
                      ":2: limits.max_json_depth: must be an integer from 2 to 128 "
                      "(got \"129\")");
    expect_file_error("server:\n  threads: 257\n",
                      ":2: server.threads: must be an integer from 1 to 256 (got \"257\")");
    expect_file_error("server:\n  threads: 0\n",
                      ":2: server.threads: must be an integer from 1 to 256 (got \"0\")");
    expect_file_error("server:\n  max_connections_per_address: 0\n",
                      ":2: server.max_connections_per_address: must be an integer from 1 to "
                      "65536 (got \"0\")");
    expect_file_error("rate_limit:\n  requests_per_hour: 0\n",
                      ":2: rate_limit.requests_per_hour: must be an integer from 1 to 10000000 "
                      "(got \"0\")");
}

static void test_wrong_types(void **state)
{
    (void)state;
    /* Line 7, as in the header's example. */
    expect_file_error("# comment\n\nserver:\n  listen: 127.0.0.1\n\n  # the port\n"
                      "  port: eighty\n",
                      ":7: server.port: must be an integer from 0 to 65535 (got \"eighty\")");
    const char *not_decimal[] = {"0x1f90",  "+80",  "8080.0", "1e3",
                                 "\" 80\"", "true", "\"\"",   "80 "};
    const char *shown[] = {"0x1f90", "+80", "8080.0", "1e3", " 80", "true", "", "80"};
    for (size_t i = 0; i < GB_ARRAY_LEN(not_decimal); i++) {
        char text[128], suffix[160];
        assert_int_equal(gb_snprintf(text, sizeof(text), "server:\n  port: %s\n", not_decimal[i]),
                         0);
        if (i == GB_ARRAY_LEN(not_decimal) - 1) {
            /* YAML drops trailing spaces of a plain scalar: "80 " is 80. */
            gb_config cfg;
            load_ok(text, &cfg);
            assert_int_equal(cfg.port, 80);
            gb_config_free(&cfg);
            continue;
        }
        assert_int_equal(gb_snprintf(suffix, sizeof(suffix),
                                     ":2: server.port: must be an integer from 0 to 65535 "
                                     "(got \"%s\")",
                                     shown[i]),
                         0);
        expect_file_error(text, suffix);
    }
    expect_file_error("log:\n  level: loud\n",
                      ":2: log.level: must be one of debug, info, warn, error (got \"loud\")");
    expect_file_error("log:\n  level: off\n",
                      ":2: log.level: must be one of debug, info, warn, error (got \"off\")");
    expect_file_error("log:\n  level: 1\n",
                      ":2: log.level: must be one of debug, info, warn, error (got \"1\")");
    expect_file_error("server:\n  listen: localhost\n",
                      ":2: server.listen: must be an IPv4 or IPv6 address literal "
                      "(got \"localhost\")");
    expect_file_error("server:\n  listen:\n", ":2: server.listen: must not be empty");
    expect_file_error("storage:\n  data_dir: \"a\\0b\"\n",
                      ":2: storage.data_dir: must not contain NUL bytes");

    /* Quoted integers are still integers; level names ignore case. */
    gb_config cfg;
    load_ok("server:\n  port: \"81\"\nlog:\n  level: WARN\n", &cfg);
    assert_int_equal(cfg.port, 81);
    assert_int_equal(cfg.log_level, GB_LOG_WARN);
    gb_config_free(&cfg);
}

static void test_string_length(void **state)
{
    (void)state;
    gb_buf b = {0};
    gb_config cfg;
    assert_int_equal(gb_buf_puts(&b, "storage:\n  data_dir: "), GB_OK);
    for (int i = 0; i < 4096; i++)
        assert_int_equal(gb_buf_puts(&b, "d"), GB_OK);
    assert_int_equal(gb_buf_puts(&b, "\n"), GB_OK);
    load_ok(b.data, &cfg);
    assert_int_equal(strlen(cfg.data_dir), 4096);
    assert_int_equal(strlen(cfg.database), 4096 + strlen("/gpubroker.db"));
    gb_config_free(&cfg);

    b.len--; /* drop the newline, add one more byte */
    assert_int_equal(gb_buf_puts(&b, "d\n"), GB_OK);
    expect_file_error(b.data, ":2: storage.data_dir: must be at most 4096 bytes (got 4097)");
    gb_buf_free(&b);
}

static void test_missing_and_large_file(void **state)
{
    (void)state;
    gb_config cfg;
    char err[GB_CONFIG_ERR_MAX] = "";
    char want[GB_CONFIG_ERR_MAX];
    unlink(cfgpath);
    assert_int_equal(gb_config_load(cfgpath, &cfg, err, sizeof(err)), GB_ERR_NOT_FOUND);
    assert_int_equal(gb_snprintf(want, sizeof(want), "%s: no such file", cfgpath), 0);
    assert_string_equal(err, want);
    assert_zeroed(&cfg);

    /* 1 MiB of comments is fine, one byte more is not. */
    gb_buf b = {0};
    while (b.len < 1024 * 1024 - 64)
        assert_int_equal(
            gb_buf_puts(&b, "#-------------------------------------------------------------\n"),
            GB_OK);
    while (b.len < 1024 * 1024 - 1)
        assert_int_equal(gb_buf_puts(&b, "#"), GB_OK);
    assert_int_equal(gb_buf_puts(&b, "\n"), GB_OK);
    assert_int_equal(b.len, 1024 * 1024);
    load_ok(b.data, &cfg);
    assert_int_equal(cfg.port, 8080);
    gb_config_free(&cfg);
    assert_int_equal(gb_buf_puts(&b, "\n"), GB_OK);
    write_cfg(b.data);
    assert_int_equal(gb_config_load(cfgpath, &cfg, err, sizeof(err)), GB_ERR_LIMIT);
    assert_non_null(strstr(err, cfgpath));
    assert_non_null(strstr(err, "larger than"));
    assert_zeroed(&cfg);
    gb_buf_free(&b);

    /* A NULL error buffer is allowed. */
    write_cfg("server:\n  port: no\n");
    assert_int_equal(gb_config_load(cfgpath, &cfg, NULL, 0), GB_ERR_INVALID);
    assert_zeroed(&cfg);
}

static void test_free_twice(void **state)
{
    (void)state;
    gb_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    gb_config_free(&cfg); /* zeroed struct */
    assert_zeroed(&cfg);
    assert_int_equal(gb_config_defaults(&cfg), GB_OK);
    assert_non_null(cfg.listen);
    gb_config_free(&cfg);
    assert_zeroed(&cfg);
    gb_config_free(&cfg); /* twice */
    assert_zeroed(&cfg);
    gb_config_free(NULL);
}

/* gb_config_diff names exactly the keys that differ, in table order */
static void test_diff(void **state)
{
    (void)state;
    gb_config a, b;
    assert_int_equal(gb_config_defaults(&a), GB_OK);
    assert_int_equal(gb_config_defaults(&b), GB_OK);
    const char *changed[8];
    assert_int_equal(gb_config_diff(&a, &b, changed, 8), 0);
    b.port = a.port + 1;
    b.log_level = GB_LOG_DEBUG;
    b.rate_limit_per_hour = a.rate_limit_per_hour + 5;
    free(b.listen);
    b.listen = strdup("::1");
    size_t n = gb_config_diff(&a, &b, changed, 8);
    assert_int_equal(n, 4);
    const char *want[] = {"server.listen", "server.port", "log.level",
                          "rate_limit.requests_per_hour"};
    for (size_t i = 0; i < n; i++)
        assert_string_equal(changed[i], want[i]);
    assert_int_equal(gb_config_diff(&a, &b, changed, 2), 2); /* bounded by max */
    gb_config_free(&a);
    gb_config_free(&b);
}

int main(void)
{
    if (gb_snprintf(tmpdir, sizeof(tmpdir), "/tmp/gb_config_load_XXXXXX") || !mkdtemp(tmpdir) ||
        gb_snprintf(cfgpath, sizeof(cfgpath), "%s/gpubroker.yaml", tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_comment_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_overrides_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_every_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derived_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_large_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_twice, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(cfgpath);
    rmdir(tmpdir);
    return rc;
}
