/* test_common_dblisten.c: gb_db_notify and gb_db_listen (common/db_listen.c), on SQLite and,
 * as unit.test_common_dblisten.postgresql, on PostgreSQL. On PostgreSQL a listener on its own
 * connection hears a NOTIFY sent with a COMMIT (not before it, never after a ROLLBACK) and one
 * sent outside a transaction; a listener on another channel hears nothing; one transaction
 * tells several channels (up to GB_DB_NOTIFY_MAX); a bad channel name
 * is refused; a listener whose connection the server killed connects again. On SQLite there is
 * nothing to listen to: no thread, and notify is a no-op. On both: a listener still connecting
 * to a server that never answers stops at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include "test_db_util.h"

static atomic_int heard, heard_other;

static void on_note(void *ud)
{
    atomic_fetch_add((atomic_int *)ud, 1);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to ms for *c to exceed before; returns its value. */
static int wait_above(atomic_int *c, int before, int ms)
{
    for (int64_t end = now_ms() + ms; atomic_load(c) <= before && now_ms() < end;)
        usleep(10000);
    return atomic_load(c);
}

static void test_notify_reaches_listeners_at_commit(void **state)
{
    (void)state;
    const char *url = tdb_fresh_url();
    assert_non_null(url);
    gb_db *db = tdb_open(url);
    assert_non_null(db);
    gb_db_listener *l = NULL, *other = NULL;
    assert_int_equal(gb_db_listen(url, "Bad-Name", on_note, &heard, &l), GB_ERR_INVALID);
    assert_int_equal(gb_db_notify(db, "bad name"), GB_ERR_INVALID);
    assert_int_equal(gb_db_listen(url, "gb_test_chan", on_note, &heard, &l), GB_OK);
    assert_int_equal(gb_db_listen(url, "gb_other_chan", on_note, &heard_other, &other), GB_OK);
    if (!tdb_is_pg()) {
        assert_null(l); /* SQLite: nothing to listen to */
        assert_null(other);
        assert_int_equal(gb_db_notify(db, "gb_test_chan"), GB_OK);
        assert_int_equal(gb_db_begin(db), GB_OK);
        assert_int_equal(gb_db_notify(db, "gb_test_chan"), GB_OK);
        assert_int_equal(gb_db_commit(db), GB_OK);
        gb_db_close(db);
        return;
    }
    assert_non_null(l);
    /* a listener calls once after connecting (what was sent before it listened is lost) */
    int h = wait_above(&heard, 0, 5000);
    assert_true(h >= 1);
    int o = wait_above(&heard_other, 0, 5000);
    assert_true(o >= 1);

    /* inside a transaction: nothing before the commit, once after it */
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(gb_db_notify(db, "gb_test_chan"), GB_OK);
    assert_int_equal(wait_above(&heard, h, 500), h);
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_true(wait_above(&heard, h, 5000) > h);
    h = atomic_load(&heard);

    /* rolled back: never */
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(gb_db_notify(db, "gb_test_chan"), GB_OK);
    gb_db_rollback(db);
    assert_int_equal(wait_above(&heard, h, 800), h);
    /* a later transaction without a notify of its own sends none (the rolled back one's is
     * gone) */
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(wait_above(&heard, h, 800), h);

    /* outside a transaction: at once */
    assert_int_equal(gb_db_notify(db, "gb_test_chan"), GB_OK);
    assert_true(wait_above(&heard, h, 5000) > h);
    assert_int_equal(atomic_load(&heard_other), o); /* the other channel heard none of it */

    /* two channels in one transaction, one of them named twice: each heard at the commit;
     * a fifth channel is refused (GB_DB_NOTIFY_MAX), the four still go */
    h = atomic_load(&heard);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(gb_db_notify(db, "gb_test_chan"), GB_OK);
    assert_int_equal(gb_db_notify(db, "gb_other_chan"), GB_OK);
    assert_int_equal(gb_db_notify(db, "gb_test_chan"), GB_OK);
    assert_int_equal(gb_db_notify(db, "gb_third_chan"), GB_OK);
    assert_int_equal(gb_db_notify(db, "gb_fourth_chan"), GB_OK);
    assert_int_equal(gb_db_notify(db, "gb_fifth_chan"), GB_ERR_NOMEM);
    assert_int_equal(wait_above(&heard_other, o, 300), o);
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_true(wait_above(&heard, h, 5000) > h);
    assert_true(wait_above(&heard_other, o, 5000) > o);

    /* the listener's connection killed by the server: it connects again, calls once (what
     * was sent meanwhile is lost), and hears the next notification */
    h = atomic_load(&heard);
    assert_true(tdb_int(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                            " WHERE application_name = 'gpubroker-listen'"
                            " AND datname = current_database()") >= 2);
    int back = wait_above(&heard, h, 8000);
    assert_true(back > h);
    usleep(300000);
    h = atomic_load(&heard);
    assert_int_equal(gb_db_notify(db, "gb_test_chan"), GB_OK);
    assert_true(wait_above(&heard, h, 5000) > h);

    gb_db_listen_stop(l);
    gb_db_listen_stop(other);
    gb_db_close(db);
}

/* A server that takes connections (the kernel's backlog) and never answers: a listener's
 * connect waits for the startup answer meanwhile; its stop must not wait for the connect
 * timeout (10 s). */
static void test_stop_while_connecting(void **state)
{
    (void)state;
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(srv >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(bind(srv, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(srv, 4), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(srv, (struct sockaddr *)&sa, &len), 0);
    char url[128];
    snprintf(url, sizeof(url), "postgresql://u:p@127.0.0.1:%d/silent", ntohs(sa.sin_port));
    gb_db_listener *l = NULL;
    assert_int_equal(gb_db_listen(url, "gb_test_chan", on_note, &heard, &l), GB_OK);
    assert_non_null(l);
    usleep(300000); /* it is inside its connect now */
    int64_t t0 = now_ms();
    gb_db_listen_stop(l);
    int64_t took = now_ms() - t0;
    close(srv);
    if (took > 1000)
        fail_msg("the listener took %lld ms to stop while connecting", (long long)took);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_reaches_listeners_at_commit),
        cmocka_unit_test(test_stop_while_connecting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
