/* test_broker_sshkey_recent.c: sshkey_list_recent (stores.h) on both backends. An account's SSH
 * key list is answered from memory while it is young: a row changed behind its back (as an
 * operator's SQL would) is not seen until max_age_ms has passed, which shows the store was not
 * read. A change of this process (sshkey_insert, sshkey_delete) is seen at once, committed or
 * not, and one rolled back is not kept. On PostgreSQL a change announced by another broker's
 * NOTIFY is seen as soon as the listener hears it, long before max_age_ms, and one announced
 * while the listener's session was gone is seen when it connects again. What comes from
 * memory is field for field what the store gave, in its order. */
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "broker/store/stores.h"
#include "common/clock.h"
#include "test_db_util.h"

#define ACC "acc_a"
#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAYT6sc9h882d3yXAYoN7L0sTkZdhPU2bSLreblym+cN"
#define KEY_B "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILPaA7f0kDJdLEwZz3j8EAlDnKQNAmYhJBLHDffoDRxn"
#define LONG 60000 /* ms: nothing ages during a test */

typedef struct {
    const char *url;
    gb_db *db;
    gb_memo *m;
} env;

static int setup(void **state)
{
    env *t = calloc(1, sizeof(*t));
    t->url = tdb_fresh_url();
    t->db = tdb_open(t->url);
    t->m = gb_memo_new(8, NULL);
    if (!t->db || !t->m || gb_db_migrate(t->db, stores_migrations(), 1)) return -1;
    account_rec a = {.created_at = 1};
    snprintf(a.id, sizeof(a.id), "%s", ACC);
    snprintf(a.name, sizeof(a.name), "a");
    if (account_insert(t->db, &a)) return -1;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    env *t = *state;
    gb_memo_free(t->m);
    gb_db_close(t->db);
    free(t);
    return 0;
}

/* The list, one line per key: "id|account|name|public_key|fingerprint|created_at". */
typedef struct {
    char text[8192];
    int n;
} listing;

static void on_key(void *ud, const sshkey_rec *r)
{
    listing *l = ud;
    size_t at = strlen(l->text);
    snprintf(l->text + at, sizeof(l->text) - at, "%s|%s|%s|%s|%s|%lld\n", r->id, r->account_id,
             r->name, r->public_key, r->fingerprint, (long long)r->created_at);
    l->n++;
}

static int count(env *t, gb_db *db, int64_t age)
{
    listing l = {.n = 0};
    assert_int_equal(sshkey_list_recent(db, t->m, age, ACC, on_key, &l), GB_OK);
    return l.n;
}

static void add(gb_db *db, const char *id, const char *pub, int64_t at)
{
    sshkey_rec r = {.created_at = at, .public_key = (char *)pub};
    snprintf(r.id, sizeof(r.id), "%s", id);
    snprintf(r.account_id, sizeof(r.account_id), "%s", ACC);
    snprintf(r.name, sizeof(r.name), "name of %s", id);
    snprintf(r.fingerprint, sizeof(r.fingerprint), "SHA256:%s", id);
    assert_int_equal(sshkey_insert(db, &r), GB_OK);
}

/* Changes the table the way another broker's write reaches it when no NOTIFY does: not
 * through this process's store functions. */
static void delete_behind(gb_db *db, const char *id)
{
    gb_q *q = gb_q_prep(db, "DELETE FROM ssh_keys WHERE id = ?1");
    assert_non_null(q);
    gb_q_text(q, 1, id);
    assert_int_equal(gb_q_run(q, NULL), GB_OK);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_kept_until_old(void **state)
{
    env *t = *state;
    add(t->db, "key_1", KEY_A, 10);
    assert_int_equal(count(t, t->db, LONG), 1);
    delete_behind(t->db, "key_1");
    assert_int_equal(count(t, t->db, LONG), 1); /* from memory: the store was not read */
    assert_int_equal(count(t, t->db, 0), 0);    /* max_age 0 reads it */
    assert_int_equal(sshkey_list_recent(t->db, NULL, LONG, ACC, on_key, &(listing){0}), GB_OK);
    sleep_ms(60);
    assert_int_equal(count(t, t->db, 50), 0); /* older than 50 ms: read again, gone */
}

static void test_own_changes_seen_at_once(void **state)
{
    env *t = *state;
    assert_int_equal(count(t, t->db, LONG), 0); /* an empty list is kept too */
    add(t->db, "key_1", KEY_A, 10);
    assert_int_equal(count(t, t->db, LONG), 1);
    /* through another connection of this process: the count is the process's */
    gb_db *other = tdb_open(t->url);
    add(other, "key_2", KEY_B, 20);
    assert_int_equal(count(t, t->db, LONG), 2);
    assert_int_equal(sshkey_delete(other, ACC, "key_1"), GB_OK);
    assert_int_equal(count(t, t->db, LONG), 1);
    /* a delete in a transaction: its own view inside, everyone's after the commit */
    assert_int_equal(gb_db_begin(other), GB_OK);
    assert_int_equal(sshkey_delete(other, ACC, "key_2"), GB_OK);
    assert_int_equal(count(t, other, LONG), 0);
    assert_int_equal(count(t, t->db, LONG), 1); /* not committed yet: the old list, kept */
    assert_int_equal(gb_db_commit(other), GB_OK);
    assert_int_equal(count(t, t->db, LONG), 0);
    gb_db_close(other);
}

static void test_rolled_back_change_not_kept(void **state)
{
    env *t = *state;
    add(t->db, "key_1", KEY_A, 10);
    assert_int_equal(count(t, t->db, LONG), 1);
    assert_int_equal(gb_db_begin(t->db), GB_OK);
    add(t->db, "key_2", KEY_B, 20);
    assert_int_equal(count(t, t->db, LONG), 2); /* read in the transaction, not kept */
    gb_db_rollback(t->db);
    assert_int_equal(count(t, t->db, LONG), 1);
}

/* The answer from memory is the store's, field for field and in order; another account's
 * list is kept apart. */
static void test_memory_gives_the_store_answer(void **state)
{
    env *t = *state;
    char pub[4096];
    snprintf(pub, sizeof(pub), "%s %0*d", KEY_B, 3000, 7); /* a long comment */
    add(t->db, "key_2", pub, 20);
    add(t->db, "key_1", KEY_A, 10);
    listing store = {.n = 0}, first = {.n = 0}, kept = {.n = 0};
    assert_int_equal(sshkey_list(t->db, ACC, on_key, &store), GB_OK);
    assert_int_equal(sshkey_list_recent(t->db, t->m, LONG, ACC, on_key, &first), GB_OK);
    delete_behind(t->db, "key_2"); /* so the next answer can only come from memory */
    assert_int_equal(sshkey_list_recent(t->db, t->m, LONG, ACC, on_key, &kept), GB_OK);
    assert_int_equal(store.n, 2);
    assert_true(strncmp(store.text, "key_1|acc_a|name of key_1|" KEY_A "|SHA256:key_1|10\n",
                        strlen(KEY_A) + 40) == 0);
    assert_string_equal(first.text, store.text);
    assert_string_equal(kept.text, store.text);
    /* another account: its own (empty) list, not acc_a's */
    listing none = {.n = 0};
    assert_int_equal(sshkey_list_recent(t->db, t->m, LONG, "acc_b", on_key, &none), GB_OK);
    assert_int_equal(none.n, 0);
}

/* Another broker: a connection that changes the table with SQL of its own and announces it
 * with gb_db_notify, as sshkey_changed does in that broker. */
static int heard;
static void on_heard(void *ud)
{
    sshkey_changed_elsewhere(ud);
    __atomic_add_fetch(&heard, 1, __ATOMIC_SEQ_CST);
}

static void test_other_broker_heard(void **state)
{
    env *t = *state;
    if (!tdb_is_pg()) skip(); /* SQLite: one process; gb_db_listen runs nothing */
    gb_db_listener *l = NULL;
    assert_int_equal(gb_db_listen(t->url, SSHKEY_NOTIFY_CHANNEL, on_heard, NULL, &l), GB_OK);
    assert_non_null(l);
    for (int i = 0; i < 500 && !__atomic_load_n(&heard, __ATOMIC_SEQ_CST); i++)
        sleep_ms(10); /* its first call: connected and listening */
    assert_true(__atomic_load_n(&heard, __ATOMIC_SEQ_CST) > 0);

    int h = __atomic_load_n(&heard, __ATOMIC_SEQ_CST);
    add(t->db, "key_1", KEY_A, 10);
    for (int i = 0; i < 500 && __atomic_load_n(&heard, __ATOMIC_SEQ_CST) == h; i++)
        sleep_ms(10); /* this process's own NOTIFY reaches its listener too */
    assert_true(__atomic_load_n(&heard, __ATOMIC_SEQ_CST) > h);
    assert_int_equal(count(t, t->db, LONG), 1);
    gb_db *other = tdb_open(t->url);
    delete_behind(other, "key_1"); /* no NOTIFY: still answered from memory */
    sleep_ms(100);
    assert_int_equal(count(t, t->db, LONG), 1);
    assert_int_equal(gb_db_begin(other), GB_OK);
    assert_int_equal(gb_db_exec(other, "UPDATE ssh_keys SET name = 'x' WHERE id = 'none'"), GB_OK);
    assert_int_equal(gb_db_notify(other, SSHKEY_NOTIFY_CHANNEL), GB_OK);
    int64_t t0 = gb_mono_ms();
    assert_int_equal(gb_db_commit(other), GB_OK);
    int n = 1;
    while ((n = count(t, t->db, LONG)) != 0 && gb_mono_ms() - t0 < 5000)
        sleep_ms(5);
    assert_int_equal(n, 0);
    printf("the NOTIFY was heard within %lld ms\n", (long long)(gb_mono_ms() - t0));

    /* the listener's session ended by the server: a change announced while it is away is not
     * heard, and its reconnection counts one change, so that change is seen anyway */
    add(t->db, "key_2", KEY_B, 20);
    sleep_ms(100); /* its own NOTIFY heard */
    assert_int_equal(count(t, t->db, LONG), 1);
    int before = __atomic_load_n(&heard, __ATOMIC_SEQ_CST);
    assert_true(tdb_int(other, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE application_name = 'gpubroker-listen'"
                               " AND datname = current_database()") >= 1);
    delete_behind(other, "key_2");
    assert_int_equal(gb_db_notify(other, SSHKEY_NOTIFY_CHANNEL), GB_OK);
    t0 = gb_mono_ms();
    while ((n = count(t, t->db, LONG)) != 0 && gb_mono_ms() - t0 < 5000)
        sleep_ms(20);
    assert_int_equal(n, 0);
    assert_true(__atomic_load_n(&heard, __ATOMIC_SEQ_CST) > before);
    printf("after the listener's session ended, the change was seen within %lld ms\n",
           (long long)(gb_mono_ms() - t0));
    gb_db_close(other);
    gb_db_listen_stop(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kept_until_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_changes_seen_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rolled_back_change_not_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_gives_the_store_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_broker_heard, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
