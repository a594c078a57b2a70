/* test_common_worker.c: the worker loop: rounds at the interval, wake, prompt stop, rounds
 * back to back on request, a monotonic deadline, and rounds driven by the test clock. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/worker.h"

#define HOUR 3600000
#define MAX_SEEN 64

typedef struct {
    pthread_mutex_t mu;
    int64_t at[MAX_SEEN]; /* gb_mono_ms() at the start of each round */
    int n;
    int again; /* rounds left that ask for the next one at once */
    int ends;
    pthread_t end_thread;
} probe;

static bool on_round(void *ud)
{
    probe *p = ud;
    pthread_mutex_lock(&p->mu);
    if (p->n < MAX_SEEN) p->at[p->n] = gb_mono_ms();
    p->n++;
    bool again = p->again > 0;
    if (again) p->again--;
    pthread_mutex_unlock(&p->mu);
    return again;
}

static void on_end(void *ud)
{
    probe *p = ud;
    pthread_mutex_lock(&p->mu);
    p->ends++;
    p->end_thread = pthread_self();
    pthread_mutex_unlock(&p->mu);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to timeout_ms for the worker to finish n rounds. */
static bool rounds_reach(gb_worker *w, long n, int timeout_ms)
{
    int64_t end = gb_mono_ms() + timeout_ms;
    while (gb_worker_rounds(w) < n) {
        if (gb_mono_ms() > end) return false;
        sleep_ms(2);
    }
    return true;
}

/* Waits up to timeout_ms for the worker to sleep until its next round. */
static bool waiting(gb_worker *w, int timeout_ms)
{
    int64_t end = gb_mono_ms() + timeout_ms;
    while (gb_worker_deadline(w) == 0) {
        if (gb_mono_ms() > end) return false;
        sleep_ms(2);
    }
    return true;
}

static gb_worker *start(probe *p, int64_t interval_ms)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    gb_worker_cfg cfg = {.name = "test",
                         .interval_ms = interval_ms,
                         .round = on_round,
                         .thread_end = on_end,
                         .ud = p};
    gb_worker *w = NULL;
    assert_int_equal(gb_worker_start(&cfg, &w), GB_OK);
    assert_non_null(w);
    return w;
}

static void finish(gb_worker *w, probe *p)
{
    gb_worker_stop(w);
    assert_int_equal(p->ends, 1);
    pthread_mutex_destroy(&p->mu);
}

static void test_interval(void **state)
{
    (void)state;
    probe p;
    gb_worker *w = start(&p, 40);
    assert_true(rounds_reach(w, 5, 5000));
    gb_worker_stop(w);
    assert_true(p.n >= 5);
    /* the first round at once, then never sooner than the interval */
    for (int i = 1; i < p.n && i < MAX_SEEN; i++)
        assert_true(p.at[i] - p.at[i - 1] >= 39);
    assert_int_equal(p.ends, 1);
    pthread_mutex_destroy(&p.mu);
}

static void test_wake(void **state)
{
    (void)state;
    probe p;
    gb_worker *w = start(&p, HOUR);
    assert_true(rounds_reach(w, 1, 5000));
    assert_true(waiting(w, 5000));
    sleep_ms(50);
    assert_int_equal(gb_worker_rounds(w), 1); /* an hour to wait */
    gb_worker_wake(w);
    assert_true(rounds_reach(w, 2, 5000));
    assert_true(waiting(w, 5000));
    sleep_ms(50);
    assert_int_equal(gb_worker_rounds(w), 2); /* one wake, one round */
    finish(w, &p);
}

static void test_stop_is_prompt(void **state)
{
    (void)state;
    probe p;
    gb_worker *w = start(&p, HOUR);
    assert_true(rounds_reach(w, 1, 5000));
    assert_true(waiting(w, 5000));
    int64_t t0 = gb_mono_ms();
    gb_worker_stop(w);
    assert_true(gb_mono_ms() - t0 < 1000);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.ends, 1);
    assert_false(pthread_equal(p.end_thread, pthread_self())); /* on the worker's thread */
    pthread_mutex_destroy(&p.mu);
}

static void test_again(void **state)
{
    (void)state;
    probe p;
    memset(&p, 0, sizeof(p));
    pthread_mutex_init(&p.mu, NULL);
    p.again = 3;
    gb_worker_cfg cfg = {.interval_ms = HOUR, .round = on_round, .ud = &p};
    gb_worker *w = NULL;
    assert_int_equal(gb_worker_start(&cfg, &w), GB_OK);
    assert_true(rounds_reach(w, 4, 5000)); /* three asked for more at once */
    assert_true(waiting(w, 5000));
    sleep_ms(50);
    assert_int_equal(gb_worker_rounds(w), 4);
    gb_worker_stop(w);
    assert_int_equal(p.ends, 0); /* no thread_end given */
    pthread_mutex_destroy(&p.mu);
}

/* The deadline is on the monotonic clock, not the wall clock; moving the domain clock far back
 * (as a wall-clock jump would) does not stall the rounds. */
static void test_monotonic(void **state)
{
    (void)state;
    probe p;
    gb_worker *w = start(&p, HOUR);
    assert_true(waiting(w, 5000));
    int64_t d = gb_worker_deadline(w), mono = gb_mono_ms(), wall = gb_wall_ms();
    assert_true(d > mono + HOUR - 5000 && d <= mono + HOUR);
    assert_true(d < wall + HOUR - 5000 || d > wall + HOUR + 5000);
    finish(w, &p);

    gb_clock_set(gb_wall_ms() - 86400000LL); /* a day back */
    w = start(&p, 30);
    assert_true(rounds_reach(w, 3, 5000));
    finish(w, &p);
    gb_clock_use_real();
}

/* Under a test clock a round runs once the clock is moved past the deadline, not before. */
static void test_test_clock(void **state)
{
    (void)state;
    gb_clock_set(1800000000000LL);
    probe p;
    gb_worker *w = start(&p, HOUR);
    assert_true(rounds_reach(w, 1, 5000));
    assert_true(waiting(w, 5000));
    gb_clock_advance(HOUR - 1000);
    sleep_ms(100);
    assert_int_equal(gb_worker_rounds(w), 1);
    gb_clock_advance(1000);
    assert_true(rounds_reach(w, 2, 5000));
    assert_true(waiting(w, 5000));
    sleep_ms(50);
    assert_int_equal(gb_worker_rounds(w), 2); /* the next deadline is an hour on */
    gb_clock_advance(HOUR);
    assert_true(rounds_reach(w, 3, 5000));
    finish(w, &p);
    gb_clock_use_real();
}

static void test_bad_config(void **state)
{
    (void)state;
    gb_worker *w = (gb_worker *)&w;
    gb_worker_cfg cfg = {.interval_ms = 10};
    assert_int_equal(gb_worker_start(&cfg, &w), GB_ERR_INVALID);
    assert_null(w);
    gb_worker_stop(NULL);
    gb_worker_wake(NULL);
}

typedef struct {
    int seen;
    gb_worker_status st;
} status_walk;

static void one_status(const gb_worker_status *st, void *ud)
{
    status_walk *w = ud;
    if (strcmp(st->name, "test") != 0) return;
    w->seen++;
    w->st = *st;
}

/* gb_worker_each (readiness, /readyz): a waiting worker is listed with its interval, rounds
 * and when its last round ended, which stays put while it waits; a stopped one is gone. */
static void test_each(void **state)
{
    (void)state;
    probe p;
    gb_worker *w = start(&p, HOUR);
    assert_true(rounds_reach(w, 1, 2000));
    assert_true(waiting(w, 2000));
    status_walk a = {0};
    gb_worker_each(one_status, &a);
    assert_int_equal(a.seen, 1);
    assert_int_equal(a.st.interval_ms, HOUR);
    assert_int_equal(a.st.rounds, 1);
    assert_false(a.st.in_round);
    int64_t age = gb_mono_ms() - a.st.last_progress_ms;
    assert_true(a.st.last_progress_ms > 0 && age >= 0 && age < 2000);
    sleep_ms(30);
    status_walk b = {0};
    gb_worker_each(one_status, &b);
    assert_int_equal(b.st.last_progress_ms, a.st.last_progress_ms); /* waiting: no progress */
    gb_worker_wake(w);
    assert_true(rounds_reach(w, 2, 2000));
    status_walk c = {0};
    gb_worker_each(one_status, &c);
    assert_true(c.st.last_progress_ms >= a.st.last_progress_ms + 30);
    finish(w, &p);
    status_walk d = {0};
    gb_worker_each(one_status, &d);
    assert_int_equal(d.seen, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval),       cmocka_unit_test(test_wake),
        cmocka_unit_test(test_stop_is_prompt), cmocka_unit_test(test_again),
        cmocka_unit_test(test_monotonic),      cmocka_unit_test(test_test_clock),
        cmocka_unit_test(test_bad_config),     cmocka_unit_test(test_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
