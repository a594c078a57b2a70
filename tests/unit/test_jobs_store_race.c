/* test_jobs_store_race.c: the fine_tuning_jobs store under concurrency on both backends
 * (test_db_util.h; on PostgreSQL the connections are several brokers), each thread with its
 * own connection: leases (one runner per job, expired leases taken over, a job claimed by two
 * connections at once claimed once, a job another claim holds skipped) and random cancels and
 * transitions after which every refund happened at most once and the money adds up. */
#include <pthread.h>

#include "test_db_util.h"
#include "test_jobs_util.h"

static void test_claims(void **state)
{
    (void)state;
    gb_db *db = open_db();
    NEEDS_TRANSITIONS(db);
    credit(db, "a", USD(1000, 0));
    ft_job j[3], c;
    for (int i = 0; i < 3; i++) {
        gb_clock_advance(10);
        assert_int_equal(create(db, "a", 1, &j[i]), GB_OK);
    }
    int64_t now = gb_now_ms();
    walk(db, j[2].id, FT_SUCCESS); /* finished: never claimed */
    /* the transitions made j[2] due "now"; the others were due at creation */
    assert_int_equal(ft_job_claim(db, "A", now, 1000, &c), GB_OK);
    assert_string_equal(c.id, j[0].id);
    assert_string_equal(c.lease_owner, "A");
    assert_int_equal(c.lease_until, now + 1000);
    assert_int_equal(c.attempts, 1);
    assert_int_equal(ft_job_claim(db, "B", now, 1000, &c), GB_OK);
    assert_string_equal(c.id, j[1].id);
    assert_int_equal(ft_job_claim(db, "C", now, 1000, &c), GB_ERR_NOT_FOUND);
    /* release: only by the owner; the next step is scheduled */
    assert_int_equal(ft_job_release(db, j[1].id, "A", now + 5000), GB_ERR_CONFLICT);
    assert_int_equal(ft_job_release(db, j[1].id, "B", now + 5000), GB_OK);
    assert_int_equal(ft_job_claim(db, "C", now + 999, 1000, &c), GB_ERR_NOT_FOUND);
    /* A's lease expires at now+1000: another runner takes the job over */
    assert_int_equal(ft_job_claim(db, "C", now + 1000, 100000, &c), GB_OK);
    assert_string_equal(c.id, j[0].id);
    assert_int_equal(c.attempts, 2);
    assert_int_equal(ft_job_release(db, j[0].id, "A", now), GB_ERR_CONFLICT);
    assert_int_equal(ft_job_claim(db, "D", now + 4999, 1000, &c), GB_ERR_NOT_FOUND);
    assert_int_equal(ft_job_claim(db, "D", now + 5000, 1000, &c), GB_OK);
    assert_string_equal(c.id, j[1].id);
    /* a status change resets attempts; cancelled jobs are no longer claimable */
    assert_int_equal(
        ft_job_transition(db, j[1].id, FT_PENDING, FT_PREPARING_DATA, NULL, 0, &c, NULL), GB_OK);
    assert_int_equal(c.attempts, 0);
    assert_string_equal(c.lease_owner, "D");
    assert_int_equal(ft_job_cancel(db, "a", j[0].id, NULL, NULL, NULL), GB_OK);
    assert_int_equal(ft_job_claim(db, "E", now + 100000, 1000, &c), GB_OK);
    assert_string_equal(c.id, j[1].id);
    assert_int_equal(ft_job_claim(db, "E", now + 100000, 1000, &c), GB_ERR_NOT_FOUND);
    /* a release ends the lease at once: the job is due at its next step, not when the lease
     * would have run out */
    assert_int_equal(ft_job_release(db, j[1].id, "E", now + 100000), GB_OK);
    assert_int_equal(ft_job_claim(db, "F", now + 100000, 1000, &c), GB_OK);
    assert_string_equal(c.id, j[1].id);
    assert_int_equal(ft_job_claim(db, "", now, 1000, &c), GB_ERR_INVALID);
    assert_int_equal(ft_job_claim(db, "E", now, 0, &c), GB_ERR_INVALID);
    done(db);
}

#define RACE_JOBS 20

typedef struct {
    const char *owner;
    char ids[RACE_JOBS][GB_ID_MAX];
    int n;
} claimer;

static void *claim_all(void *arg)
{
    claimer *cl = arg;
    gb_db *db = open_conn();
    ft_job *j = malloc(sizeof(*j));
    gb_err e;
    while ((e = ft_job_claim(db, cl->owner, T0 + 1000000, 60000, j)) == GB_OK)
        if (cl->n < RACE_JOBS) snprintf(cl->ids[cl->n++], GB_ID_MAX, "%s", j->id);
    if (e != GB_ERR_NOT_FOUND) cl->n = -1000;
    free(j);
    gb_db_close(db);
    return NULL;
}

static void test_claim_race(void **state)
{
    (void)state;
    gb_db *db = open_db();
    credit(db, "a", USD(10000, 0));
    for (int i = 0; i < RACE_JOBS; i++)
        assert_int_equal(create(db, "a", 1, NULL), GB_OK);
    static claimer cl[2] = {{.owner = "runner-1"}, {.owner = "runner-2"}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, claim_all, &cl[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_true(cl[0].n >= 0 && cl[1].n >= 0);
    assert_int_equal(cl[0].n + cl[1].n, RACE_JOBS);
    for (int a = 0; a < cl[0].n; a++)
        for (int b = 0; b < cl[1].n; b++)
            assert_string_not_equal(cl[0].ids[a], cl[1].ids[b]);
    assert_int_equal(q(db,
                       "SELECT count(DISTINCT lease_owner) FROM fine_tuning_jobs"
                       " WHERE attempts = 1",
                       NULL),
                     (cl[0].n > 0) + (cl[1].n > 0));
    assert_int_equal(q(db, "SELECT count(*) FROM fine_tuning_jobs WHERE attempts <> 1", NULL), 0);
    done(db);
}

#define MIX_JOBS 50
#define MIX_THREADS 4
#define MIX_OPS 300

static char g_ids[MIX_JOBS][GB_ID_MAX];

typedef struct {
    unsigned seed;
    int bad; /* unexpected results */
    int ok, conflicts;
} mixer;

static void *mix(void *arg)
{
    mixer *m = arg;
    gb_db *db = open_conn();
    ft_job *j = malloc(sizeof(*j));
    for (int op = 0; op < MIX_OPS; op++) {
        int k = (int)(rand_r(&m->seed) % MIX_JOBS);
        const char *acct = k % 2 ? "b" : "a";
        int what = (int)(rand_r(&m->seed) % 10);
        gb_err e;
        if (what == 0) {
            char msg[256];
            e = ft_job_cancel(db, acct, g_ids[k], NULL, NULL, msg);
        } else {
            if (ft_job_load(db, g_ids[k], j) != GB_OK) {
                m->bad++;
                continue;
            }
            /* mostly a legal next state (a runner), sometimes anything (a bug) */
            ft_state to = (ft_state)(rand_r(&m->seed) % FT_STATE_COUNT);
            for (int tries = 0;
                 tries < 50 && rand_r(&m->seed) % 4 && !ft_transition_allowed(j->status, to);
                 tries++)
                to = (ft_state)(rand_r(&m->seed) % FT_STATE_COUNT);
            ft_refund_mode mode =
                rand_r(&m->seed) % 8 == 0 ? FT_REFUND_GOODWILL : FT_REFUND_BY_RULE;
            e = ft_job_transition(db, g_ids[k], j->status, to, "mix", mode, NULL, NULL);
        }
        if (e == GB_OK)
            m->ok++;
        else if (e == GB_ERR_CONFLICT)
            m->conflicts++;
        else if (e != GB_ERR_INVALID)
            m->bad++;
    }
    free(j);
    gb_db_close(db);
    return NULL;
}

static void test_concurrency(void **state)
{
    (void)state;
    gb_db *db = open_db();
    NEEDS_TRANSITIONS(db);
    credit(db, "a", USD(5000, 0));
    credit(db, "b", USD(3000, 0));
    for (int i = 0; i < MIX_JOBS; i++) {
        ft_job j;
        assert_int_equal(create(db, i % 2 ? "b" : "a", 1 + i % 3, &j), GB_OK);
        snprintf(g_ids[i], GB_ID_MAX, "%s", j.id);
    }
    static mixer mx[MIX_THREADS];
    pthread_t t[MIX_THREADS];
    for (int i = 0; i < MIX_THREADS; i++) {
        mx[i].seed = 1234u + (unsigned)i * 7919u;
        assert_int_equal(pthread_create(&t[i], NULL, mix, &mx[i]), 0);
    }
    for (int i = 0; i < MIX_THREADS; i++)
        pthread_join(t[i], NULL);
    int ok = 0, conflicts = 0;
    for (int i = 0; i < MIX_THREADS; i++) {
        assert_int_equal(mx[i].bad, 0);
        ok += mx[i].ok;
        conflicts += mx[i].conflicts;
    }
    print_message("concurrency: %d changes, %d conflicts\n", ok, conflicts);
    assert_true(ok > MIX_JOBS);
    /* every job refunded at most once, and flags match the ledger */
    assert_int_equal(q(db,
                       "SELECT count(*) FROM (SELECT ref FROM ledger WHERE kind = 'refund'"
                       " GROUP BY ref HAVING count(*) > 1) AS r",
                       NULL),
                     0);
    assert_int_equal(q(db,
                       "SELECT count(*) FROM fine_tuning_jobs j WHERE refunded <>"
                       " (SELECT count(*) FROM ledger WHERE kind = 'refund' AND ref = j.id"
                       "  AND amount = j.total_cost)",
                       NULL),
                     0);
    assert_int_equal(q(db,
                       "SELECT count(*) FROM fine_tuning_jobs WHERE refunded = 1 AND"
                       " status NOT IN ('cancelled', 'failure', 'failure_finding_nodes',"
                       " 'node_training_failure')",
                       NULL),
                     0);
    assert_true(q(db, "SELECT count(*) FROM fine_tuning_jobs WHERE refunded = 1", NULL) > 0);
    static const struct {
        const char *acct;
        gb_money credit;
    } accts[] = {{"a", USD(5000, 0)}, {"b", USD(3000, 0)}};
    for (int i = 0; i < 2; i++) {
        const char *a = accts[i].acct;
        gb_money b = bal(db, a);
        assert_int_equal(b, q(db, "SELECT sum(amount) FROM ledger WHERE account_id = ?1", a));
        gb_money debits = q(db,
                            "SELECT sum(total_cost) FROM fine_tuning_jobs"
                            " WHERE account_id = ?1",
                            a);
        gb_money refunds = q(db,
                             "SELECT coalesce(sum(total_cost), 0) FROM fine_tuning_jobs"
                             " WHERE account_id = ?1 AND refunded = 1",
                             a);
        assert_int_equal(b, accts[i].credit - debits + refunds);
        assert_true(b >= 0);
    }
    done(db);
}

#define DUEL_ROUNDS 40

/* Two runners (connections) claiming at the same moment, each round one due job: */
typedef struct {
    const char *owner;
    pthread_barrier_t *go;
    int won, lost, bad;
} duelist;

static void *duel(void *arg)
{
    duelist *d = arg;
    gb_db *db = open_conn();
    ft_job *j = malloc(sizeof(*j));
    for (int r = 0; r < DUEL_ROUNDS; r++) {
        pthread_barrier_wait(d->go); /* the job of round r is due */
        gb_err e = ft_job_claim(db, d->owner, T0 + 1000000 + r, 60000, j);
        if (e == GB_OK)
            d->won++;
        else if (e == GB_ERR_NOT_FOUND)
            d->lost++;
        else
            d->bad++;
        pthread_barrier_wait(d->go); /* both claimed */
    }
    free(j);
    gb_db_close(db);
    return NULL;
}

/* A job claimed by two connections at once is claimed once: each round makes one job due,
 * both runners claim it together; exactly one gets it, the other finds nothing. */
static void test_claim_same_job(void **state)
{
    (void)state;
    gb_db *db = open_db();
    credit(db, "a", USD(10000, 0));
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, 3), 0);
    duelist d[2] = {{.owner = "broker-1", .go = &go}, {.owner = "broker-2", .go = &go}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, duel, &d[i]), 0);
    for (int r = 0; r < DUEL_ROUNDS; r++) {
        ft_job j;
        assert_int_equal(create(db, "a", 1, &j), GB_OK);
        /* not due before this round's time, and nothing older is left unclaimed */
        assert_int_equal(
            q(db, "SELECT count(*) FROM fine_tuning_jobs WHERE lease_owner = ''", NULL), 1);
        pthread_barrier_wait(&go);
        pthread_barrier_wait(&go);
        assert_int_equal(q(db,
                           "SELECT count(*) FROM fine_tuning_jobs WHERE id = ?1"
                           " AND lease_owner <> '' AND attempts = 1",
                           j.id),
                         1);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    assert_int_equal(d[0].bad + d[1].bad, 0);
    assert_int_equal(d[0].won + d[1].won, DUEL_ROUNDS);
    assert_int_equal(d[0].lost + d[1].lost, DUEL_ROUNDS);
    assert_int_equal(q(db, "SELECT count(*) FROM fine_tuning_jobs WHERE attempts <> 1", NULL), 0);
    print_message("same job: broker-1 won %d, broker-2 won %d\n", d[0].won, d[1].won);
    done(db);
}

/* PostgreSQL: a claim does not wait for a job another broker's transaction holds locked (a
 * claim under way there): it takes the next due job (FOR UPDATE SKIP LOCKED). SQLite has one
 * writer: the holder's transaction would block the claim itself, so this is PostgreSQL's. */
static void test_claim_skips_locked(void **state)
{
    (void)state;
    if (!tdb_is_pg()) skip();
    gb_db *db = open_db();
    credit(db, "a", USD(1000, 0));
    ft_job j[2], c;
    for (int i = 0; i < 2; i++) {
        gb_clock_advance(10);
        assert_int_equal(create(db, "a", 1, &j[i]), GB_OK);
    }
    gb_db *other = open_conn();
    /* a lock wait fails the claim after 3 s instead of hanging the test */
    assert_int_equal(gb_db_exec(other, "SET lock_timeout = '3s'"), GB_OK);
    assert_int_equal(gb_db_begin(db), GB_OK);
    gb_q *lock = gb_q_prep(db, "SELECT id FROM fine_tuning_jobs WHERE id = ?1 FOR UPDATE");
    assert_non_null(lock);
    gb_q_text(lock, 1, j[0].id);
    int row = 0;
    assert_int_equal(gb_q_step(lock, &row), GB_OK);
    assert_true(row);
    gb_q_reset(lock);
    assert_int_equal(ft_job_claim(other, "broker-2", T0 + 1000000, 60000, &c), GB_OK);
    assert_string_equal(c.id, j[1].id); /* the first due job is held: the next one */
    assert_int_equal(ft_job_claim(other, "broker-2", T0 + 1000000, 60000, &c), GB_ERR_NOT_FOUND);
    gb_db_rollback(db);
    assert_int_equal(ft_job_claim(other, "broker-2", T0 + 1000000, 60000, &c), GB_OK);
    assert_string_equal(c.id, j[0].id);
    gb_db_close(other);
    done(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_claim_race),
        cmocka_unit_test(test_concurrency),
        cmocka_unit_test(test_claim_same_job),
        cmocka_unit_test(test_claim_skips_locked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
