/* test_vault_util.h: helpers shared by the vault unit tests: a temp directory, a migrated
 * database (test_db_util.h: SQLite, or PostgreSQL in the .postgresql variants), key files
 * written by hand, and raw access to vault_secrets. Header-only. */
#ifndef GB_TEST_VAULT_UTIL_H
#define GB_TEST_VAULT_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/db.h"
#include "common/dbq.h"
#include "common/log.h"
#include "common/str.h"
#include "test_db_util.h"
#include "vault/vault.h"

typedef struct {
    char dir[PATH_MAX];
    char key_file[PATH_MAX];
    char db_path[PATH_MAX]; /* the SQLite file, "" on PostgreSQL */
    const char *db_url;
    gb_db *db;
    vault *v;
} tv_env;

static inline void tv_mkdtemp(char *out, size_t n)
{
    gb_strlcpy(out, "/tmp/gbvault-XXXXXX", n);
    assert_non_null(mkdtemp(out));
}

static inline void tv_rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char p[PATH_MAX];
        if (gb_snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) == 0) unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static inline gb_db *tv_db_open(const char *url)
{
    gb_db *db = NULL;
    assert_int_equal(gb_db_open_url(url, &db), GB_OK);
    assert_int_equal(gb_db_migrate(db, vault_migrations(), 1), GB_OK);
    return db;
}

/* Temp dir with a fresh key file, a migrated database and a vault opened on the file. */
static inline tv_env *tv_env_new(void)
{
    tv_env *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tv_mkdtemp(t->dir, sizeof(t->dir));
    assert_int_equal(gb_snprintf(t->key_file, sizeof(t->key_file), "%s/master.key", t->dir), 0);
    assert_non_null(t->db_url = tdb_fresh_url());
    if (strncmp(t->db_url, "sqlite:", 7) == 0) gb_strlcpy(t->db_path, t->db_url + 7, PATH_MAX);
    assert_int_equal(vault_keyfile_create(t->key_file), GB_OK);
    t->db = tv_db_open(t->db_url);
    char err[VAULT_ERR_MAX] = "";
    assert_int_equal(vault_open(t->key_file, NULL, &t->v, err), GB_OK);
    return t;
}

static inline void tv_env_free(tv_env *t)
{
    if (!t) return;
    vault_free(t->v);
    gb_db_close(t->db);
    tv_rm_rf(t->dir);
    free(t);
}

/* cmocka setup and teardown of a test that runs in a tv_env (*state), with no master key in
 * the environment. */
static inline int tv_setup(void **state)
{
    unsetenv("GPUBROKER_MASTER_KEY");
    *state = tv_env_new();
    return 0;
}

static inline int tv_teardown(void **state)
{
    unsetenv("GPUBROKER_MASTER_KEY");
    tv_env_free(*state);
    return 0;
}

static inline void tv_put(vault *v, gb_db *db, const char *ref, const char *value)
{
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(vault_put(v, db, ref, value, strlen(value)), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
}

/* Asserts that ref opens to exactly value. */
static inline void tv_expect(vault *v, gb_db *db, const char *ref, const char *value)
{
    char *pt = NULL;
    size_t n = 0;
    assert_int_equal(vault_get(v, db, ref, &pt, &n), GB_OK);
    assert_int_equal(n, strlen(value));
    assert_memory_equal(pt, value, n);
    assert_int_equal(pt[n], '\0');
    vault_secret_free(pt, n);
}

/* Writes text to path with mode, replacing it atomically (like a rotation would). */
static inline void tv_write_file(const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX];
    assert_int_equal(gb_snprintf(tmp, sizeof(tmp), "%s.testtmp", path), 0);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static inline char *tv_slurp(const char *path, size_t *len)
{
    char *data = NULL;
    size_t n = 0;
    if (gb_read_file(path, 256u << 20, &data, &n) != GB_OK) return NULL;
    if (len) *len = n;
    return data;
}

/* Key lines (not comments, not blank) of a key file; ids[i] gets each line's key id. */
static inline size_t tv_key_lines(const char *path, char ids[][9], size_t max)
{
    char *text = tv_slurp(path, NULL);
    assert_non_null(text);
    size_t count = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        if (line[0] && line[0] != '#') {
            if (count < max) {
                memcpy(ids[count], line, 8);
                ids[count][8] = '\0';
            }
            count++;
        }
        line = nl ? nl + 1 : NULL;
    }
    gb_memzero(text, strlen(text));
    free(text);
    return count;
}

/* Runs SQL with no result rows (tests only). */
static inline void tv_sql(gb_db *db, const char *sql)
{
    assert_int_equal(gb_db_exec(db, sql), GB_OK);
}

static inline long long tv_count(gb_db *db, const char *sql, const char *arg)
{
    gb_q *q = gb_q_prep(db, sql);
    assert_non_null(q);
    if (arg) gb_q_text(q, 1, arg);
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_int_equal(row, 1);
    long long n = gb_q_col_int64(q, 0);
    gb_q_reset(q);
    return n;
}

/* The raw blob of ref (malloc'd). */
static inline unsigned char *tv_raw_blob(gb_db *db, const char *ref, size_t *len)
{
    gb_q *q = gb_q_prep(db, "SELECT blob FROM vault_secrets WHERE ref = ?1");
    assert_non_null(q);
    gb_q_text(q, 1, ref);
    int row = 0;
    assert_int_equal(gb_q_step(q, &row), GB_OK);
    assert_int_equal(row, 1);
    size_t n = 0;
    const void *b = gb_q_col_blob(q, 0, &n);
    unsigned char *p = malloc(n + 1);
    assert_non_null(p);
    if (n) memcpy(p, b, n);
    gb_q_reset(q);
    *len = n;
    return p;
}

static inline void tv_set_raw_blob(gb_db *db, const char *ref, const unsigned char *blob,
                                   size_t len)
{
    gb_q *q = gb_q_prep(db, "UPDATE vault_secrets SET blob = ?2 WHERE ref = ?1");
    assert_non_null(q);
    gb_q_text(q, 1, ref);
    gb_q_blob(q, 2, blob, len);
    int64_t changed = 0;
    assert_int_equal(gb_q_run(q, &changed), GB_OK);
    assert_int_equal(changed, 1);
}

#endif
