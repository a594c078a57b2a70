/* test_vault_rotate.c: master key rotation: every row re-sealed under a fresh key, the old key
 * gone from the file, a daemon's vault opened before the rotation keeps working (also while
 * it runs), failures leave a two-key file, environment keys are refused, and a running rotation
 * holds the lock file beside the key file exclusively. */
#include "test_db_util.h"
#include "test_vault_util.h"
#include "vault/vault_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <unistd.h>

#define NSECRETS 50

static int setup(void **state)
{
    unsetenv("GPUBROKER_MASTER_KEY");
    *state = tv_env_new();
    return 0;
}

static int teardown(void **state)
{
    unsetenv("GPUBROKER_MASTER_KEY");
    tv_env_free(*state);
    return 0;
}

static void ref_of(int i, char *out, size_t n)
{
    assert_int_equal(gb_snprintf(out, n, "providers/p%02d/api_key", i), 0);
}

static void value_of(int i, char *out, size_t n)
{
    assert_int_equal(gb_snprintf(out, n, "secret-value-%d-%d", i, i * 7919), 0);
}

static void put_many(tv_env *t, int count)
{
    assert_int_equal(gb_db_begin(t->db), GB_OK);
    for (int i = 0; i < count; i++) {
        char ref[64], val[64];
        ref_of(i, ref, sizeof(ref));
        value_of(i, val, sizeof(val));
        assert_int_equal(vault_put(t->v, t->db, ref, val, strlen(val)), GB_OK);
    }
    assert_int_equal(gb_db_commit(t->db), GB_OK);
}

static void expect_many(vault *v, gb_db *db, int count)
{
    for (int i = 0; i < count; i++) {
        char ref[64], val[64];
        ref_of(i, ref, sizeof(ref));
        value_of(i, val, sizeof(val));
        tv_expect(v, db, ref, val);
    }
}

static vault *open_file(const char *path)
{
    vault *v = NULL;
    char err[VAULT_ERR_MAX] = "";
    gb_err e = vault_open(path, NULL, &v, err);
    if (e) fail_msg("vault_open: %s", err);
    return v;
}

/* After rotations: the key file holds one key, every row is sealed under it, and a vault
 * opened on the file now opens the NSECRETS secrets (returned; caller frees). */
static vault *one_key_opens_all(tv_env *t)
{
    char ids[8][9];
    assert_int_equal(tv_key_lines(t->key_file, ids, 8), 1);
    assert_int_equal(
        tv_count(t->db, "SELECT count(*) FROM vault_secrets WHERE key_id <> ?1", ids[0]), 0);
    vault *fresh = open_file(t->key_file);
    expect_many(fresh, t->db, NSECRETS);
    return fresh;
}

static size_t rotate_ok(tv_env *t)
{
    /* A second connection, as the CLI would have. */
    gb_db *db = tv_db_open(t->db_url);
    size_t n = 0;
    char err[VAULT_ERR_MAX] = "";
    gb_err e = vault_rotate(t->key_file, db, &n, err);
    if (e) fail_msg("vault_rotate: %d %s", e, err);
    gb_db_close(db);
    return n;
}

static void test_rotate_reseals_everything(void **state)
{
    tv_env *t = *state;
    put_many(t, NSECRETS);
    char old_id[9], ids[8][9];
    vault_active_key_id(t->v, old_id);
    size_t old_len = 0;
    unsigned char *old_blob = tv_raw_blob(t->db, "providers/p07/api_key", &old_len);

    assert_int_equal(rotate_ok(t), NSECRETS);

    assert_int_equal(tv_key_lines(t->key_file, ids, 8), 1);
    assert_string_not_equal(ids[0], old_id);
    struct stat st;
    assert_int_equal(stat(t->key_file, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(
        tv_count(t->db, "SELECT count(*) FROM vault_secrets WHERE key_id <> ?1", ids[0]), 0);
    assert_int_equal(tv_count(t->db, "SELECT count(*) FROM vault_secrets", NULL), NSECRETS);
    size_t new_len = 0;
    unsigned char *new_blob = tv_raw_blob(t->db, "providers/p07/api_key", &new_len);
    assert_int_equal(new_len, old_len);
    assert_memory_not_equal(new_blob + 1, old_blob + 1, 4); /* blob header: new key id */
    free(new_blob);

    vault *fresh = open_file(t->key_file);
    char kid[9];
    vault_active_key_id(fresh, kid);
    assert_string_equal(kid, ids[0]);
    expect_many(fresh, t->db, NSECRETS);

    /* The old key is gone: a row sealed with it no longer opens, for a fresh vault or for the
     * daemon's vault that had the old key in memory before the rotation. */
    tv_set_raw_blob(t->db, "providers/p07/api_key", old_blob, old_len);
    char *pt = NULL;
    size_t pn = 0;
    assert_int_equal(vault_get(fresh, t->db, "providers/p07/api_key", &pt, &pn), GB_ERR_CRYPTO);
    assert_int_equal(vault_get(t->v, t->db, "providers/p07/api_key", &pt, &pn), GB_ERR_CRYPTO);
    assert_null(pt);
    free(old_blob);
    vault_free(fresh);
}

static void test_daemon_vault_keeps_working(void **state)
{
    tv_env *t = *state;
    put_many(t, NSECRETS);
    /* t->v was opened before the rotation: it plays the running daemon. */
    char before[9], after[9], ids[8][9];
    vault_active_key_id(t->v, before);
    rotate_ok(t);
    assert_int_equal(tv_key_lines(t->key_file, ids, 8), 1);
    expect_many(t->v, t->db, NSECRETS);
    vault_active_key_id(t->v, after);
    assert_string_equal(after, ids[0]);
    assert_string_not_equal(after, before);
    tv_put(t->v, t->db, "written/after", "post-rotation");
    assert_int_equal(tv_count(t->db,
                              "SELECT count(*) FROM vault_secrets WHERE ref = "
                              "'written/after' AND key_id = ?1",
                              ids[0]),
                     1);
    vault *fresh = open_file(t->key_file);
    tv_expect(fresh, t->db, "written/after", "post-rotation");
    vault_free(fresh);

    /* Twice more with the daemon idle in between: it still follows. */
    rotate_ok(t);
    assert_int_equal(rotate_ok(t), NSECRETS + 1);
    assert_int_equal(tv_key_lines(t->key_file, ids, 8), 1);
    vault_active_key_id(t->v, after);
    assert_string_equal(after, ids[0]);
    expect_many(t->v, t->db, NSECRETS);
    tv_expect(t->v, t->db, "written/after", "post-rotation");
}

#define NDAEMONS 2

/* One worker thread of the daemon: its own connection, the daemon's shared vault. */
typedef struct {
    tv_env *t;
    int id;
    atomic_int *stop;
    atomic_int written;
    atomic_int failures;
} daemon_ctx;

static void *daemon_thread(void *arg)
{
    daemon_ctx *c = arg;
    gb_db *db = NULL;
    if (gb_db_open_url(c->t->db_url, &db) != GB_OK) {
        atomic_fetch_add(&c->failures, 1);
        return NULL;
    }
    while ((!atomic_load(c->stop) || atomic_load(&c->written) < 20) &&
           atomic_load(&c->failures) < 100) {
        char ref[64], val[64];
        int w = atomic_load(&c->written);
        gb_snprintf(ref, sizeof(ref), "live/%d/%d", c->id, w);
        gb_snprintf(val, sizeof(val), "live-value-%d-%d", c->id, w);
        if (gb_db_begin(db) != GB_OK) {
            atomic_fetch_add(&c->failures, 1);
            continue;
        }
        if (vault_put(c->t->v, db, ref, val, strlen(val)) != GB_OK || gb_db_commit(db) != GB_OK) {
            gb_db_rollback(db);
            atomic_fetch_add(&c->failures, 1);
            continue;
        }
        char *pt = NULL;
        size_t n = 0;
        if (vault_get(c->t->v, db, ref, &pt, &n) != GB_OK || strcmp(pt, val) != 0)
            atomic_fetch_add(&c->failures, 1);
        vault_secret_free(pt, n);
        /* Reads of older rows too. */
        gb_snprintf(ref, sizeof(ref), "providers/p%02d/api_key", w % NSECRETS);
        if (vault_get(c->t->v, db, ref, &pt, &n) != GB_OK) atomic_fetch_add(&c->failures, 1);
        vault_secret_free(pt, n);
        atomic_fetch_add(&c->written, 1);
    }
    gb_db_close(db);
    return NULL;
}

static int total_written(daemon_ctx *c)
{
    int sum = 0;
    for (int i = 0; i < NDAEMONS; i++)
        sum += atomic_load(&c[i].written);
    return sum;
}

static void test_rotate_while_daemon_writes(void **state)
{
    tv_env *t = *state;
    put_many(t, NSECRETS);
    atomic_int stop;
    atomic_init(&stop, 0);
    daemon_ctx c[NDAEMONS];
    pthread_t th[NDAEMONS];
    for (int i = 0; i < NDAEMONS; i++) {
        c[i].t = t;
        c[i].id = i;
        c[i].stop = &stop;
        atomic_init(&c[i].written, 0);
        atomic_init(&c[i].failures, 0);
        assert_int_equal(pthread_create(&th[i], NULL, daemon_thread, &c[i]), 0);
    }
    /* Each rotation starts only after the daemon wrote more, so they really overlap. Nothing
     * here may fail the test while the daemon threads run (they use t): the outcome is kept,
     * the threads are stopped and joined, and only then is it asserted. */
    gb_err rot = GB_OK;
    char rerr[VAULT_ERR_MAX] = "";
    for (int r = 0; r < 3 && !rot; r++) {
        int target = total_written(c) + 5;
        for (int ms = 0; ms < 60000 && total_written(c) < target; ms++)
            usleep(1000);
        if (total_written(c) < target) {
            rot = GB_ERR_TIMEOUT;
            gb_snprintf(rerr, sizeof(rerr), "the daemon threads stopped writing");
            break;
        }
        gb_db *db = NULL;
        size_t n = 0;
        rot = gb_db_open_url(t->db_url, &db);
        if (!rot) rot = vault_rotate(t->key_file, db, &n, rerr);
        gb_db_close(db);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NDAEMONS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    if (rot) fail_msg("rotation: %d %s", rot, rerr);
    for (int i = 0; i < NDAEMONS; i++)
        assert_int_equal(atomic_load(&c[i].failures), 0);

    /* The daemon may have written after the last rotation: those are under the new key too. */
    vault *fresh = one_key_opens_all(t);
    for (int d = 0; d < NDAEMONS; d++) {
        int written = atomic_load(&c[d].written);
        for (int i = 0; i < written; i++) {
            char ref[64], val[64];
            gb_snprintf(ref, sizeof(ref), "live/%d/%d", d, i);
            gb_snprintf(val, sizeof(val), "live-value-%d-%d", d, i);
            tv_expect(fresh, t->db, ref, val);
        }
    }
    vault_free(fresh);
}

/* The race seen 1 run in 230: a secret's blob is read, a whole rotation runs (re-seals the
 * row and drops the old key from the file), then the blob is opened. vault_get must read the
 * row again and answer the secret, never GB_ERR_CRYPTO. */
static void rotate_now(const char *ref, void *ud)
{
    (void)ref;
    tv_env *t = ud;
    vault_get_hook = NULL; /* once */
    rotate_ok(t);
}

static void test_read_rotate_unseal(void **state)
{
    tv_env *t = *state;
    put_many(t, 3);
    char before[9], after[9];
    vault_active_key_id(t->v, before);
    vault_get_hook = rotate_now;
    vault_get_hook_ud = t;
    char ref[64], val[64], *pt = NULL;
    size_t n = 0;
    ref_of(1, ref, sizeof(ref));
    value_of(1, val, sizeof(val));
    assert_int_equal(vault_get(t->v, t->db, ref, &pt, &n), GB_OK);
    assert_null(vault_get_hook); /* the rotation really ran between read and open */
    assert_int_equal(n, strlen(val));
    assert_memory_equal(pt, val, n);
    vault_secret_free(pt, n);
    vault_active_key_id(t->v, after);
    assert_string_not_equal(before, after);
    char ids[8][9];
    assert_int_equal(tv_key_lines(t->key_file, ids, 8), 1); /* the old key is really gone */
    assert_string_equal(ids[0], after);
}

static void test_failed_rotation_keeps_both_keys(void **state)
{
    tv_env *t = *state;
    put_many(t, 5);
    char old_id[9], ids[8][9];
    vault_active_key_id(t->v, old_id);
    /* A row that no key opens (e.g. sealed under another key): re-sealing must stop. */
    tv_put(t->v, t->db, "broken", "x");
    unsigned char junk[60];
    memset(junk, 0x42, sizeof(junk));
    junk[0] = 1;
    memcpy(junk + 1, "\xde\xad\xbe\xef", 4);
    tv_set_raw_blob(t->db, "broken", junk, sizeof(junk));

    gb_db *db = tv_db_open(t->db_url);
    size_t n = 99;
    char err[VAULT_ERR_MAX] = "";
    assert_int_equal(vault_rotate(t->key_file, db, &n, err), GB_ERR_CRYPTO);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err, "broken"));
    assert_false(gb_db_in_txn(db));
    assert_int_equal(tv_key_lines(t->key_file, ids, 8), 2);
    assert_string_equal(ids[1], old_id);
    /* Nothing was committed: all rows still under the old key, all readable. */
    assert_int_equal(
        tv_count(t->db, "SELECT count(*) FROM vault_secrets WHERE key_id = ?1", old_id), 6);
    expect_many(t->v, t->db, 5);
    vault *fresh = open_file(t->key_file);
    expect_many(fresh, t->db, 5);
    vault_free(fresh);

    /* Remove the cause and run it again: it completes, with a third key. */
    assert_int_equal(vault_delete(t->db, "broken"), GB_OK);
    n = 0;
    assert_int_equal(vault_rotate(t->key_file, db, &n, err), GB_OK);
    assert_int_equal(n, 5);
    char final_ids[8][9];
    assert_int_equal(tv_key_lines(t->key_file, final_ids, 8), 1);
    assert_string_not_equal(final_ids[0], ids[0]);
    assert_string_not_equal(final_ids[0], old_id);
    expect_many(t->v, t->db, 5);
    gb_db_close(db);
}

static void test_rotate_refusals(void **state)
{
    tv_env *t = *state;
    put_many(t, 3);
    char *before = tv_slurp(t->key_file, NULL);
    size_t n = 0;
    char err[VAULT_ERR_MAX] = "";

    assert_int_equal(setenv("GPUBROKER_MASTER_KEY",
                            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1),
                     0);
    assert_int_equal(vault_rotate(t->key_file, t->db, &n, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "GPUBROKER_MASTER_KEY"));
    unsetenv("GPUBROKER_MASTER_KEY");

    assert_int_equal(chmod(t->key_file, 0644), 0);
    assert_int_equal(vault_rotate(t->key_file, t->db, &n, err), GB_ERR_FORBIDDEN);
    assert_non_null(strstr(err, "chmod 600"));
    assert_int_equal(chmod(t->key_file, 0600), 0);

    assert_int_equal(gb_db_begin(t->db), GB_OK);
    assert_int_equal(vault_rotate(t->key_file, t->db, &n, err), GB_ERR_INTERNAL);
    assert_true(gb_db_in_txn(t->db)); /* the caller's transaction is left alone */
    gb_db_rollback(t->db);

    char missing[PATH_MAX];
    gb_snprintf(missing, sizeof(missing), "%s/missing.key", t->dir);
    assert_int_equal(vault_rotate(missing, t->db, &n, err), GB_ERR_NOT_FOUND);
    assert_false(gb_db_in_txn(t->db));

    char *after = tv_slurp(t->key_file, NULL);
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(n, 0);
    expect_many(t->v, t->db, 3);
}

static void test_rotate_empty_table(void **state)
{
    tv_env *t = *state;
    char before[9], ids[8][9];
    vault_active_key_id(t->v, before);
    assert_int_equal(rotate_ok(t), 0);
    assert_int_equal(tv_key_lines(t->key_file, ids, 8), 1);
    assert_string_not_equal(ids[0], before);
    /* No stray temp files are left beside the key file. */
    DIR *d = opendir(t->dir);
    struct dirent *de;
    while ((de = readdir(d)))
        assert_null(strstr(de->d_name, ".tmp"));
    closedir(d);
}

typedef struct {
    tv_env *t;
    size_t n;
    gb_err e;
} rot_ctx;

static void *rotate_thread(void *arg)
{
    rot_ctx *r = arg;
    gb_db *db = NULL;
    char err[VAULT_ERR_MAX] = "";
    r->e = gb_db_open_url(r->t->db_url, &db);
    if (!r->e) r->e = vault_rotate(r->t->key_file, db, &r->n, err);
    gb_db_close(db);
    return NULL;
}

/* Another broker's put is sealed under the old key and not yet committed when a rotation
 * starts: the rotation must wait for it and re-seal it, never drop the old key with that row
 * still under it (SQLite: the write lock; PostgreSQL: the vault's advisory lock). */
static void test_rotate_waits_for_open_put(void **state)
{
    tv_env *t = *state;
    put_many(t, 3);
    char before[9], ids[8][9];
    vault_active_key_id(t->v, before);
    assert_int_equal(gb_db_begin(t->db), GB_OK);
    assert_int_equal(vault_put(t->v, t->db, "late/put", "late-value", 10), GB_OK);
    rot_ctx r = {.t = t};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, rotate_thread, &r), 0);
    usleep(300000); /* the rotation has begun and waits */
    assert_int_equal(gb_db_commit(t->db), GB_OK);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(r.e, GB_OK);
    assert_int_equal(r.n, 4); /* the three and the late one */
    assert_int_equal(tv_key_lines(t->key_file, ids, 8), 1);
    assert_string_not_equal(ids[0], before);
    assert_int_equal(
        tv_count(t->db, "SELECT count(*) FROM vault_secrets WHERE key_id <> ?1", ids[0]), 0);
    vault *fresh = open_file(t->key_file);
    tv_expect(fresh, t->db, "late/put", "late-value");
    vault_free(fresh);
}

/* The lock file (key_file.lock) is what serializes rotations of brokers on one host with
 * SQLite, where no database lock does: while one rotation runs (here kept waiting by an open
 * put), no other process can take that lock at all, not even shared. A shared lock would let
 * two rotations interleave their steps. */
static void test_rotation_holds_lock_file_exclusively(void **state)
{
    tv_env *t = *state;
    put_many(t, 3);
    char lock_path[PATH_MAX];
    assert_int_equal(gb_snprintf(lock_path, sizeof(lock_path), "%s.lock", t->key_file), 0);
    assert_int_equal(gb_db_begin(t->db), GB_OK);
    assert_int_equal(vault_put(t->v, t->db, "late/put", "late-value", 10), GB_OK);
    rot_ctx r = {.t = t};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, rotate_thread, &r), 0);
    /* wait (up to 10 s) until the rotation holds the lock file in some mode */
    int held = 0;
    for (int i = 0; i < 1000 && !held; i++) {
        int fd = open(lock_path, O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
            close(fd);
        }
        if (!held) usleep(10000);
    }
    assert_true(held);
    int fd = open(lock_path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    int shared = flock(fd, LOCK_SH | LOCK_NB);
    int en = errno;
    close(fd);
    assert_int_equal(gb_db_commit(t->db), GB_OK);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(r.e, GB_OK);
    assert_int_equal(shared, -1); /* the rotation's lock is exclusive */
    assert_int_equal(en, EWOULDBLOCK);
    assert_int_equal(r.n, 4);
    /* released when the rotation ends */
    fd = open(lock_path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    close(fd);
}

/* Two brokers rotate at once (each its own connection, the one key file): each rotation runs
 * whole before the other starts, so every row ends under the file's one key and opens; one
 * rotation between the other's steps left rows under a key the file no longer held. */
static void test_two_rotations_at_once(void **state)
{
    tv_env *t = *state;
    put_many(t, NSECRETS);
    for (int round = 0; round < 3; round++) {
        rot_ctx r[2] = {{.t = t}, {.t = t}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&th[i], NULL, rotate_thread, &r[i]), 0);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(pthread_join(th[i], NULL), 0);
            assert_int_equal(r[i].e, GB_OK);
        }
        assert_int_equal(r[0].n + r[1].n, 2 * NSECRETS); /* each re-sealed all of them */
        vault_free(one_key_opens_all(t));
    }
}

int main(void)
{
    gb_log_set_level(GB_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rotate_reseals_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_daemon_vault_keeps_working, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_while_daemon_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_rotate_unseal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_rotation_keeps_both_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_empty_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_waits_for_open_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_rotations_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_holds_lock_file_exclusively, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
