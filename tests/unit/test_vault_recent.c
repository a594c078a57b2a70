/* test_vault_recent.c: vault_get_recent (vault.h) on both backends. Its answer, a secret or
 * its absence, is given from memory while it is young: the store is not read (a row deleted
 * behind its back, as another broker would, still answers) until max_age_ms has passed. A
 * put or a delete of this process is seen at once, committed or not: an open transaction
 * reads the store, and what it saw is not kept past a rollback. */
#include <time.h>

#include "test_db_util.h"
#include "test_vault_util.h"

#define REF "hub/token"

/* vault_get_recent's answer: the secret (asserted equal to want), or NULL for none. */
static void expect_recent(tv_env *t, gb_db *db, int64_t age, const char *want)
{
    char *pt = NULL;
    size_t n = 0;
    gb_err e = vault_get_recent(t->v, db, REF, age, &pt, &n);
    if (!want) {
        assert_int_equal(e, GB_ERR_NOT_FOUND);
        assert_null(pt);
        return;
    }
    assert_int_equal(e, GB_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(pt, want, n);
    vault_secret_free(pt, n);
}

/* Deletes the row the way another broker's change reaches the store: not through this
 * process's vault. */
static void delete_behind(gb_db *db)
{
    gb_q *q = gb_q_prep(db, "DELETE FROM vault_secrets WHERE ref = ?1");
    assert_non_null(q);
    gb_q_text(q, 1, REF);
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_kept_until_old(void **state)
{
    tv_env *t = *state;
    tv_put(t->v, t->db, REF, "hf_first");
    expect_recent(t, t->db, 60000, "hf_first");
    delete_behind(t->db);
    expect_recent(t, t->db, 60000, "hf_first"); /* from memory: the store was not read */
    expect_recent(t, t->db, 0, NULL);           /* max_age 0 reads it */
    sleep_ms(60);
    expect_recent(t, t->db, 50, NULL); /* older than 50 ms: read again, gone */
}

static void test_own_changes_seen_at_once(void **state)
{
    tv_env *t = *state;
    expect_recent(t, t->db, 60000, NULL);
    tv_put(t->v, t->db, REF, "hf_one");
    expect_recent(t, t->db, 60000, "hf_one"); /* the put: seen at once */
    tv_put(t->v, t->db, REF, "hf_two");
    expect_recent(t, t->db, 60000, "hf_two");
    assert_int_equal(vault_delete(t->db, REF), GB_OK); /* outside a transaction */
    expect_recent(t, t->db, 60000, NULL);
    tv_put(t->v, t->db, REF, "hf_three");
    assert_int_equal(gb_db_begin(t->db), GB_OK);
    assert_int_equal(vault_delete(t->db, REF), GB_OK);
    expect_recent(t, t->db, 60000, NULL); /* in the transaction: its own view */
    assert_int_equal(gb_db_commit(t->db), GB_OK);
    expect_recent(t, t->db, 60000, NULL);
}

static void test_rolled_back_change_not_kept(void **state)
{
    tv_env *t = *state;
    tv_put(t->v, t->db, REF, "hf_kept");
    expect_recent(t, t->db, 60000, "hf_kept");
    assert_int_equal(gb_db_begin(t->db), GB_OK);
    assert_int_equal(vault_put(t->v, t->db, REF, "hf_never", 8), GB_OK);
    expect_recent(t, t->db, 60000, "hf_never"); /* read in the transaction, not kept */
    gb_db_rollback(t->db);
    expect_recent(t, t->db, 60000, "hf_kept");
    /* and another connection of this process to the same store shares the answer */
    gb_db *other = tv_db_open(t->db_url);
    delete_behind(other);
    expect_recent(t, other, 60000, "hf_kept");
    gb_db_close(other);
}

int main(void)
{
    gb_log_set_level(GB_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kept_until_old, tv_setup, tv_teardown),
        cmocka_unit_test_setup_teardown(test_own_changes_seen_at_once, tv_setup, tv_teardown),
        cmocka_unit_test_setup_teardown(test_rolled_back_change_not_kept, tv_setup, tv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
