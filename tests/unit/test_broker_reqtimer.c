/* test_broker_reqtimer.c: the request deadlines of the HTTP server: a sweep shuts down exactly
 * the sockets whose request is late (once), an answered request has no deadline until the next
 * is armed, a removed slot is never touched again and is reused, and a full table says so. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/api/reqtimer.h"

typedef struct {
    int ours, peer;
} pair;

static pair mkpair(void)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    return (pair){sv[0], sv[1]};
}

/* True when the peer sees EOF (our side was shut down). */
static bool peer_eof(pair p)
{
    struct pollfd f = {.fd = p.peer, .events = POLLIN};
    if (poll(&f, 1, 0) != 1) return false;
    char c;
    return recv(p.peer, &c, 1, MSG_DONTWAIT) == 0;
}

static void closepair(pair p)
{
    close(p.ours);
    close(p.peer);
}

static void test_sweep_cuts_only_late_requests(void **state)
{
    (void)state;
    reqtimer *t = reqtimer_new(8, 1000);
    assert_non_null(t);
    pair a = mkpair(), b = mkpair(), c = mkpair();
    reqtimer_slot *sa = reqtimer_add(t, a.ours, 0);
    reqtimer_slot *sb = reqtimer_add(t, b.ours, 500);
    reqtimer_slot *sc = reqtimer_add(t, c.ours, 0);
    assert_int_equal(reqtimer_count(t), 3);
    reqtimer_disarm(t, sc); /* c's request arrived whole: it is being answered */

    assert_int_equal(reqtimer_sweep(t, 999), 0);
    assert_false(reqtimer_expired(t, sa, 999));
    assert_false(peer_eof(a));
    assert_true(reqtimer_expired(t, sa, 1000));
    assert_false(reqtimer_expired(t, sb, 1000));
    assert_false(reqtimer_expired(t, sc, 100000));

    assert_int_equal(reqtimer_sweep(t, 1000), 1);
    assert_true(peer_eof(a));
    assert_false(peer_eof(b));
    assert_false(peer_eof(c));
    assert_int_equal(reqtimer_sweep(t, 1001), 0); /* once */

    assert_int_equal(reqtimer_sweep(t, 1500), 1);
    assert_true(peer_eof(b));
    assert_false(peer_eof(c));

    /* c answered, then waits for its next request: due timeout after the answer. */
    reqtimer_arm(t, sc, 5000);
    assert_int_equal(reqtimer_sweep(t, 5999), 0);
    assert_false(peer_eof(c));
    assert_int_equal(reqtimer_sweep(t, 6000), 1);
    assert_true(peer_eof(c));

    reqtimer_remove(t, sa);
    reqtimer_remove(t, sb);
    reqtimer_remove(t, sc);
    reqtimer_remove(t, NULL);
    assert_int_equal(reqtimer_count(t), 0);
    closepair(a);
    closepair(b);
    closepair(c);
    reqtimer_free(t);
}

static void test_removed_slot_is_never_touched(void **state)
{
    (void)state;
    reqtimer *t = reqtimer_new(1, 10);
    pair a = mkpair();
    reqtimer_slot *s = reqtimer_add(t, a.ours, 0);
    assert_non_null(s);
    assert_null(reqtimer_add(t, a.ours, 0)); /* full */
    reqtimer_remove(t, s);
    reqtimer_remove(t, s); /* twice is harmless */
    assert_int_equal(reqtimer_count(t), 0);
    reqtimer_arm(t, s, 0); /* late calls on a removed slot change nothing */
    assert_int_equal(reqtimer_sweep(t, 1000), 0);
    assert_false(peer_eof(a));
    /* the slot is reused for the next connection */
    pair b = mkpair();
    reqtimer_slot *s2 = reqtimer_add(t, b.ours, 0);
    assert_ptr_equal(s2, s);
    assert_int_equal(reqtimer_sweep(t, 10), 1);
    assert_true(peer_eof(b));
    assert_false(peer_eof(a));
    reqtimer_remove(t, s2);
    closepair(a);
    closepair(b);
    reqtimer_free(t);
    assert_null(reqtimer_new(0, 10));
    reqtimer_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_cuts_only_late_requests),
        cmocka_unit_test(test_removed_slot_is_never_touched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
