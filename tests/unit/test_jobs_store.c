/* test_jobs_store.c: the fine_tuning_jobs store on both backends (test_db_util.h): the debit
 * at creation (sent with the COMMIT on PostgreSQL), listing, every cancel case and its refund,
 * illegal transitions, automatic refunds, refunds at most once (also against hand-written SQL) and
 * the trainer's reports. */
#include "jobs/job_store_int.h"
#include "test_db_util.h"
#include "test_jobs_util.h"

static void test_create_debits(void **state)
{
    (void)state;
    gb_db *db = open_db();
    credit(db, "a", USD(100, 0));
    ft_job j;
    assert_int_equal(create(db, "a", 2, &j), GB_OK);
    assert_int_equal(bal(db, "a"), USD(44, 50));
    assert_true(gb_id_valid(j.id, "ftj_"));
    assert_int_equal(j.status, FT_PENDING);
    assert_int_equal(j.cost_per_hour, USD(27, 75));
    assert_int_equal(j.total_cost, USD(55, 50));
    assert_int_equal(j.created_at, T0);
    assert_false(j.refunded);
    assert_string_equal(j.account_id, "a");
    assert_non_null(strstr(j.params, "\"fieldInstruction\":\"instruction\""));
    assert_int_equal(q(db, "SELECT amount FROM ledger WHERE kind = 'debit' AND ref = ?1", j.id),
                     -USD(55, 50));
    /* too little money: 402, and neither a job row nor a ledger entry */
    ft_job k;
    assert_int_equal(create(db, "a", 2, &k), GB_ERR_PAYMENT);
    assert_int_equal(create(db, "b", 1, &k), GB_ERR_PAYMENT);
    assert_int_equal(q(db, "SELECT count(*) FROM fine_tuning_jobs", NULL), 1);
    assert_int_equal(q(db, "SELECT count(*) FROM ledger", NULL), 2);
    assert_int_equal(bal(db, "a"), USD(44, 50));
    assert_int_equal(create(db, "nobody", 1, NULL), GB_ERR_CONFLICT); /* foreign key */
    /* hours outside 1..168 refused by the store too (the API checks first), nothing written */
    assert_int_equal(create(db, "a", FT_HOURS_MIN - 1, &k), GB_ERR_INVALID);
    assert_int_equal(create(db, "a", FT_HOURS_MAX + 1, &k), GB_ERR_INVALID);
    assert_int_equal(q(db, "SELECT count(*) FROM fine_tuning_jobs", NULL), 1);
    /* exactly enough goes down to zero */
    credit(db, "b", USD(27, 75));
    assert_int_equal(create(db, "b", 1, &k), GB_OK);
    assert_int_equal(bal(db, "b"), 0);
    /* reading is per account */
    assert_int_equal(ft_job_get(db, "a", j.id, &k), GB_OK);
    assert_string_equal(k.id, j.id);
    assert_int_equal(ft_job_get(db, "b", j.id, &k), GB_ERR_NOT_FOUND);
    assert_int_equal(ft_job_load(db, j.id, &k), GB_OK);
    /* the job the create answered (its INSERT's RETURNING) is the row as stored */
    assert_memory_equal(&j, &k, sizeof(j));
    /* its id is ordered by its creation time (the key index's right edge, common/ids.h) */
    char made[GB_ID_MAX];
    assert_int_equal(gb_id_new_ordered("ftj_", j.created_at, made, sizeof(made)), GB_OK);
    assert_memory_equal(j.id, made, 4 + GB_ID_TIME_CHARS);
    int64_t n = -1;
    assert_int_equal(ft_job_count(db, "a", NULL, &n), GB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ft_job_count(db, "a", "training", &n), GB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ft_job_count(db, "a", "bogus", &n), GB_ERR_INVALID);
    assert_int_equal(ft_job_list(db, "a", NULL, 0, 0, NULL, NULL), GB_ERR_INVALID);
    done(db);
}

/* On PostgreSQL: another session can lock acct's balance row at once (NOWAIT) and reads want
 * there, so the transaction open on the test's connection holds no lock on it yet. */
static void balance_unlocked(const char *acct, gb_money want)
{
    if (!tdb_is_pg()) return;
    gb_db *other = open_conn();
    assert_int_equal(gb_db_begin(other), GB_OK);
    assert_int_equal(
        q(other, "SELECT balance FROM ledger_balances WHERE account_id = ?1 FOR UPDATE NOWAIT",
          acct),
        want);
    gb_db_rollback(other);
    done(other);
}

/* A create's debit goes with its COMMIT on PostgreSQL: while the transaction is open the
 * account's balance row is not locked, so other debits of the account do not wait for this
 * client (2,400 creates/s from eight connections of one account before, docs/benchmarks.md);
 * a debit past the balance fails the COMMIT and writes nothing. On SQLite it runs at once and
 * refuses at once. */
static void test_debit_at_commit(void **state)
{
    (void)state;
    gb_db *db = open_db();
    credit(db, "a", USD(10, 0));
    assert_int_equal(ledger_debit_at_commit(db, "a", USD(1, 0), "r0", "t"), GB_ERR_INTERNAL);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(ledger_debit_at_commit(db, "a", USD(4, 0), "r1", "t"), GB_OK);
    balance_unlocked("a", USD(10, 0)); /* and not debited yet */
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(bal(db, "a"), USD(6, 0));
    /* past the balance, and an account with no balance row at all */
    assert_int_equal(gb_db_begin(db), GB_OK);
    gb_err e = ledger_debit_at_commit(db, "a", USD(6, 1), "r2", "t");
    if (!e) e = gb_db_commit(db);
    if (e) gb_db_rollback(db);
    assert_int_equal(e, tdb_is_pg() ? GB_ERR_CONFLICT : GB_ERR_LIMIT);
    assert_int_equal(gb_db_begin(db), GB_OK);
    e = ledger_debit_at_commit(db, "b", USD(0, 1), "r3", "t");
    if (!e) e = gb_db_commit(db);
    if (e) gb_db_rollback(db);
    assert_int_equal(e, tdb_is_pg() ? GB_ERR_CONFLICT : GB_ERR_LIMIT);
    assert_int_equal(bal(db, "a"), USD(6, 0));
    assert_int_equal(q(db, "SELECT count(*) FROM ledger WHERE kind = 'debit'", NULL), 1);
    /* exactly the balance goes */
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(ledger_debit_at_commit(db, "a", USD(6, 0), "r4", "t"), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(bal(db, "a"), 0);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(ledger_debit_at_commit(db, "a", 0, "r5", "t"), GB_ERR_INVALID);
    gb_db_rollback(db);
    done(db);
}

/* A job's refund goes with its COMMIT on PostgreSQL too (ft_job_apply, for a cancel, a failure
 * or a goodwill refund): while the job's transaction is open the account's balance row is
 * neither locked nor credited, so the account's creates do not wait for this broker; a second
 * refund of a job fails at the COMMIT and writes nothing. */
static void test_refund_at_commit(void **state)
{
    (void)state;
    gb_db *db = open_db();
    NEEDS_TRANSITIONS(db);
    credit(db, "a", USD(100, 0));
    ft_job j, cur;
    assert_int_equal(create(db, "a", 2, &j), GB_OK);
    assert_int_equal(bal(db, "a"), USD(44, 50));
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(ft_job_load_locked(db, j.id, &cur), GB_OK);
    gb_money r = -1;
    assert_int_equal(ft_job_apply(db, &cur, FT_CANCELLED, "stop", FT_REFUND_BY_RULE, &r), GB_OK);
    assert_int_equal(r, USD(55, 50));
    balance_unlocked("a", USD(44, 50)); /* and not refunded yet */
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(bal(db, "a"), USD(100, 0));
    assert_int_equal(q(db, "SELECT amount FROM ledger WHERE kind = 'refund' AND ref = ?1", j.id),
                     USD(55, 50));
    /* the same job refunded again: refused (at the COMMIT on PostgreSQL), nothing written */
    assert_int_equal(gb_db_begin(db), GB_OK);
    gb_err e = ledger_refund_at_commit(db, "a", USD(55, 50), j.id, "again");
    if (!e) e = gb_db_commit(db);
    if (e) gb_db_rollback(db);
    assert_int_equal(e, GB_ERR_CONFLICT);
    assert_int_equal(bal(db, "a"), USD(100, 0));
    assert_int_equal(q(db, "SELECT count(*) FROM ledger WHERE kind = 'refund'", NULL), 1);
    /* outside a transaction, or nothing to give back */
    assert_int_equal(ledger_refund_at_commit(db, "a", USD(1, 0), "r9", "t"), GB_ERR_INTERNAL);
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(ledger_refund_at_commit(db, "a", 0, "r9", "t"), GB_ERR_INVALID);
    gb_db_rollback(db);
    done(db);
}

static void count_cb(void *ud, const ft_job *j)
{
    int *n = ud;
    assert_int_equal(j->status, FT_PENDING);
    (*n)++;
}

static void test_list(void **state)
{
    (void)state;
    gb_db *db = open_db();
    credit(db, "a", USD(1000, 0));
    for (int i = 0; i < 5; i++) {
        gb_clock_advance(1000);
        assert_int_equal(create(db, "a", 1, NULL), GB_OK);
    }
    int n = 0;
    assert_int_equal(ft_job_list(db, "a", "pending", 3, 0, count_cb, &n), GB_OK);
    assert_int_equal(n, 3);
    n = 0;
    assert_int_equal(ft_job_list(db, "a", NULL, 10, 3, count_cb, &n), GB_OK);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(ft_job_list(db, "b", NULL, 10, 0, count_cb, &n), GB_OK);
    assert_int_equal(n, 0);
    done(db);
}

static void test_cancel_rules(void **state)
{
    (void)state;
    gb_db *db = open_db();
    NEEDS_TRANSITIONS(db);
    credit(db, "a", USD(10000, 0));
    /* ready too: its pod is placed but training has not started (Volt: "Full refund if
     * cancelled before training starts") */
    static const ft_state refundable[] = {FT_PENDING, FT_PREPARING_DATA, FT_IDLE,
                                          FT_LOOKING_FOR_NODES, FT_READY};
    static const ft_state kept[] = {FT_TRAINING, FT_EVALUATING};
    ft_job j, c;
    char msg[256];
    gb_money refunded = -1;
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(create(db, "a", 2, &j), GB_OK);
        walk(db, j.id, refundable[i]);
        gb_money before = bal(db, "a");
        gb_clock_advance(60000);
        assert_int_equal(ft_job_cancel(db, "b", j.id, &c, &refunded, msg), GB_ERR_NOT_FOUND);
        assert_int_equal(ft_job_cancel(db, "a", j.id, &c, &refunded, msg), GB_OK);
        assert_string_equal(msg, "Job cancelled and $55.50 refunded to your account");
        assert_int_equal(refunded, USD(55, 50));
        assert_int_equal(bal(db, "a"), before + USD(55, 50));
        assert_int_equal(c.status, FT_CANCELLED);
        assert_true(c.refunded);
        assert_int_equal(c.completed_at, gb_now_ms());
        assert_string_equal(c.message, msg);
        assert_int_equal(
            q(db, "SELECT amount FROM ledger WHERE kind = 'refund' AND ref = ?1", j.id),
            USD(55, 50));
        /* a second cancel: finished -> 409, no money */
        assert_int_equal(ft_job_cancel(db, "a", j.id, &c, &refunded, msg), GB_ERR_CONFLICT);
        assert_non_null(strstr(msg, "already finished"));
        assert_int_equal(refunded, 0);
        assert_int_equal(bal(db, "a"), before + USD(55, 50));
    }
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(create(db, "a", 2, &j), GB_OK);
        walk(db, j.id, kept[i]);
        gb_money before = bal(db, "a");
        assert_int_equal(ft_job_cancel(db, "a", j.id, &c, &refunded, msg), GB_OK);
        assert_int_equal(refunded, 0);
        assert_non_null(strstr(msg, "without a refund"));
        assert_non_null(strstr(msg, ft_state_name(kept[i])));
        assert_int_equal(bal(db, "a"), before);
        assert_int_equal(c.status, FT_CANCELLED);
        assert_false(c.refunded);
        assert_int_not_equal(c.started_at, 0);
        assert_int_equal(
            q(db, "SELECT count(*) FROM ledger WHERE kind = 'refund' AND ref = ?1", j.id), 0);
    }
    /* finished jobs: 409 and nothing moves */
    static const ft_state finished[] = {FT_SUCCESS, FT_FAILURE, FT_NODE_TRAINING_FAILURE};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(create(db, "a", 1, &j), GB_OK);
        if (finished[i] == FT_SUCCESS)
            walk(db, j.id, FT_SUCCESS);
        else {
            walk(db, j.id, FT_TRAINING);
            assert_int_equal(
                ft_job_transition(db, j.id, FT_TRAINING, finished[i], "boom", 0, NULL, NULL),
                GB_OK);
        }
        gb_money before = bal(db, "a");
        assert_int_equal(ft_job_cancel(db, "a", j.id, &c, &refunded, msg), GB_ERR_CONFLICT);
        assert_int_equal(bal(db, "a"), before);
        assert_int_equal(ft_job_load(db, j.id, &c), GB_OK);
        assert_int_equal(c.status, finished[i]);
    }
    assert_int_equal(ft_job_cancel(db, "a", "ftj_none", &c, &refunded, msg), GB_ERR_NOT_FOUND);
    done(db);
}

static void test_illegal_transitions(void **state)
{
    (void)state;
    gb_db *db = open_db();
    NEEDS_TRANSITIONS(db);
    credit(db, "a", USD(1000, 0));
    ft_job j, k;
    assert_int_equal(create(db, "a", 2, &j), GB_OK);
    gb_clock_advance(5000);
    gb_money before = bal(db, "a");
    /* not in the table */
    assert_int_equal(ft_job_transition(db, j.id, FT_PENDING, FT_TRAINING, "x", 0, NULL, NULL),
                     GB_ERR_INVALID);
    assert_int_equal(ft_job_transition(db, j.id, FT_PENDING, FT_SUCCESS, "x", 0, NULL, NULL),
                     GB_ERR_INVALID);
    assert_int_equal(ft_job_transition(db, j.id, FT_PENDING, FT_PENDING, "x", 0, NULL, NULL),
                     GB_ERR_INVALID);
    /* allowed edge, but the job is not in `from`: lost a race */
    assert_int_equal(
        ft_job_transition(db, j.id, FT_PREPARING_DATA, FT_LOOKING_FOR_NODES, "x", 0, NULL, NULL),
        GB_ERR_CONFLICT);
    assert_int_equal(ft_job_transition(db, "ftj_none", FT_PENDING, FT_IDLE, "x", 0, NULL, NULL),
                     GB_ERR_NOT_FOUND);
    /* goodwill refunds only into a failure or cancelled */
    assert_int_equal(ft_job_transition(db, j.id, FT_PENDING, FT_PREPARING_DATA, "x",
                                       FT_REFUND_GOODWILL, NULL, NULL),
                     GB_ERR_INVALID);
    assert_int_equal(ft_job_transition(db, j.id, FT_PENDING, FT_IDLE, "x", 7, NULL, NULL),
                     GB_ERR_INVALID);
    assert_int_equal(ft_job_load(db, j.id, &k), GB_OK);
    assert_int_equal(k.status, FT_PENDING);
    assert_int_equal(k.updated_at, j.updated_at);
    assert_string_equal(k.message, "");
    assert_int_equal(bal(db, "a"), before);
    /* the schema: a finished job never changes status, a refund is never undone */
    walk(db, j.id, FT_SUCCESS);
    assert_int_equal(ft_job_load(db, j.id, &k), GB_OK);
    assert_int_equal(k.progress, 100);
    assert_int_equal(ft_job_transition(db, j.id, FT_SUCCESS, FT_TRAINING, NULL, 0, NULL, NULL),
                     GB_ERR_INVALID);
    assert_int_equal(gb_db_exec(db, "UPDATE fine_tuning_jobs SET status = 'pending'"),
                     GB_ERR_CONFLICT);
    assert_int_equal(gb_db_exec(db, "UPDATE fine_tuning_jobs SET status = 'bogus'"),
                     GB_ERR_CONFLICT);
    assert_int_equal(create(db, "a", 1, &j), GB_OK);
    assert_int_equal(ft_job_cancel(db, "a", j.id, NULL, NULL, NULL), GB_OK);
    assert_int_equal(gb_db_exec(db, "UPDATE fine_tuning_jobs SET refunded = 0"), GB_ERR_CONFLICT);
    assert_int_equal(gb_db_exec(db, "UPDATE fine_tuning_jobs SET refunded = refunded + 1"),
                     GB_ERR_CONFLICT);
    done(db);
}

static void test_refund_once(void **state)
{
    (void)state;
    gb_db *db = open_db();
    NEEDS_TRANSITIONS(db);
    credit(db, "a", USD(1000, 0));
    ft_job j, k;
    gb_money r = -1;
    assert_int_equal(create(db, "a", 2, &j), GB_OK);
    assert_int_equal(ft_job_cancel(db, "a", j.id, NULL, &r, NULL), GB_OK);
    assert_int_equal(r, USD(55, 50));
    gb_money after = bal(db, "a");
    /* hand-written SQL cannot add a second refund for the same job */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO ledger(account_id, kind, amount, ref, created_at)"
             " VALUES ('a', 'refund', 55500000, '%s', 0)",
             j.id);
    assert_int_equal(gb_db_exec(db, sql), GB_ERR_CONFLICT);
    assert_int_equal(bal(db, "a"), after);
    /* a goodwill refund after training failed: once, and then the job is finished */
    assert_int_equal(create(db, "a", 2, &j), GB_OK);
    walk(db, j.id, FT_TRAINING);
    gb_money before = bal(db, "a");
    assert_int_equal(ft_job_transition(db, j.id, FT_TRAINING, FT_NODE_TRAINING_FAILURE, "gone",
                                       FT_REFUND_GOODWILL, &k, &r),
                     GB_OK);
    assert_int_equal(r, USD(55, 50));
    assert_true(k.refunded);
    assert_int_equal(bal(db, "a"), before + USD(55, 50));
    assert_int_equal(ft_job_transition(db, j.id, FT_NODE_TRAINING_FAILURE, FT_FAILURE, "again",
                                       FT_REFUND_GOODWILL, &k, &r),
                     GB_ERR_INVALID);
    assert_int_equal(bal(db, "a"), before + USD(55, 50));
    /* refund rows and refunded flags agree */
    assert_int_equal(q(db,
                       "SELECT count(*) FROM fine_tuning_jobs j WHERE refunded <>"
                       " (SELECT count(*) FROM ledger WHERE kind = 'refund' AND ref = j.id)",
                       NULL),
                     0);
    done(db);
}

static void test_auto_refund(void **state)
{
    (void)state;
    gb_db *db = open_db();
    NEEDS_TRANSITIONS(db);
    credit(db, "a", USD(1000, 0));
    static const struct {
        ft_state at, to;
        bool refund;
    } cases[] = {
        {FT_LOOKING_FOR_NODES, FT_FAILURE_FINDING_NODES, true},
        {FT_LOOKING_FOR_NODES, FT_FAILURE, true},
        {FT_PREPARING_DATA, FT_FAILURE, true},
        {FT_PENDING, FT_FAILURE, true},
        {FT_IDLE, FT_FAILURE, true},
        {FT_READY, FT_FAILURE, true},
        {FT_TRAINING, FT_NODE_TRAINING_FAILURE, false},
        {FT_EVALUATING, FT_FAILURE, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ft_job j, k;
        gb_money r = -1;
        assert_int_equal(create(db, "a", 2, &j), GB_OK);
        walk(db, j.id, cases[i].at);
        gb_money before = bal(db, "a");
        assert_int_equal(ft_job_transition(db, j.id, cases[i].at, cases[i].to, "no nodes",
                                           FT_REFUND_BY_RULE, &k, &r),
                         GB_OK);
        assert_int_equal(r, cases[i].refund ? USD(55, 50) : 0);
        assert_int_equal(k.refunded, cases[i].refund);
        assert_int_equal(bal(db, "a"), before + r);
        assert_int_equal(k.completed_at, gb_now_ms());
        assert_string_equal(k.message, "no nodes");
    }
    /* through a trainer's report too */
    ft_job j, k;
    assert_int_equal(create(db, "a", 2, &j), GB_OK);
    gb_money before = bal(db, "a");
    ft_report rep = {.has_status = true, .status = FT_FAILURE, .message = "dataset not found"};
    assert_int_equal(ft_job_report(db, j.id, &rep, &k), GB_OK);
    assert_true(k.refunded);
    assert_int_equal(k.status, FT_FAILURE);
    assert_string_equal(k.message, "dataset not found");
    assert_int_equal(bal(db, "a"), before + USD(55, 50));
    done(db);
}

static void test_report(void **state)
{
    (void)state;
    gb_db *db = open_db();
    NEEDS_TRANSITIONS(db);
    credit(db, "a", USD(1000, 0));
    ft_job j, k;
    wh_endpoint ep;
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(wh_endpoint_insert(db, "a", "https://example.com/hook", "*", &ep), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    assert_int_equal(create(db, "a", 2, &j), GB_OK);
    ft_report r = {.has_progress = true, .progress = 12.5, .pod_id = "pod_123"};
    assert_int_equal(ft_job_report(db, j.id, &r, &k), GB_OK);
    assert_true(k.progress == 12.5);
    assert_string_equal(k.pod_id, "pod_123");
    assert_int_equal(k.status, FT_PENDING);
    /* an illegal status change writes nothing, not even the other fields */
    r = (ft_report){
        .has_status = true, .status = FT_TRAINING, .has_progress = true, .progress = 50};
    assert_int_equal(ft_job_report(db, j.id, &r, &k), GB_ERR_INVALID);
    assert_int_equal(ft_job_load(db, j.id, &k), GB_OK);
    assert_true(k.progress == 12.5);
    r = (ft_report){.has_progress = true, .progress = 150};
    assert_int_equal(ft_job_report(db, j.id, &r, NULL), GB_ERR_INVALID);
    r = (ft_report){.output_model_repo = "not a repo"};
    assert_int_equal(ft_job_report(db, j.id, &r, NULL), GB_ERR_INVALID);
    r = (ft_report){.output_model_repo = "my-finetune"}; /* an output repo has an owner */
    assert_int_equal(ft_job_report(db, j.id, &r, NULL), GB_ERR_INVALID);
    assert_int_equal(ft_job_load(db, j.id, &k), GB_OK);
    assert_string_equal(k.output_model_repo, "");
    r = (ft_report){.has_status = true, .status = FT_PENDING, .message = "queued"};
    assert_int_equal(ft_job_report(db, j.id, &r, &k), GB_OK); /* same status: no change */
    assert_string_equal(k.message, "queued");
    walk(db, j.id, FT_EVALUATING);
    r = (ft_report){.has_status = true,
                    .status = FT_SUCCESS,
                    .output_model_repo = "voltagegpu/my-finetune-abc123"};
    assert_int_equal(ft_job_report(db, j.id, &r, &k), GB_OK);
    assert_int_equal(k.status, FT_SUCCESS);
    assert_string_equal(k.output_model_repo, "voltagegpu/my-finetune-abc123");
    assert_true(k.progress == 100);
    /* the fine_tuning.job.completed webhook carries the repo the same report set (it was null:
     * the transition queued the webhook before the report's fields were written) */
    gb_q *pq = gb_q_prep(db, "SELECT payload FROM wh_messages"
                             " WHERE event = 'fine_tuning.job.completed'");
    int row = 0, n = 0;
    while (!gb_q_step(pq, &row) && row) { /* read in C: the dialects share no JSON function */
        cJSON *o = cJSON_Parse(gb_q_col_text(pq, 0));
        const cJSON *repo = cJSON_GetObjectItemCaseSensitive(o, "outputModelRepo");
        n +=
            cJSON_IsString(repo) && strcmp(repo->valuestring, "voltagegpu/my-finetune-abc123") == 0;
        cJSON_Delete(o);
    }
    gb_q_reset(pq);
    assert_int_equal(n, 1);
    r = (ft_report){.message = "late"};
    assert_int_equal(ft_job_report(db, j.id, &r, NULL), GB_ERR_CONFLICT);
    assert_int_equal(ft_job_report(db, "ftj_none", &r, NULL), GB_ERR_NOT_FOUND);
    done(db);
}

/* What changes a job without changing its status (so on both backends today): the trainer's
 * fields, the progress exactly as reported (a double that needs all 17 digits), the pod, the
 * waiting message (cut at FT_MESSAGE_MAX, only while the job is in that status). */
static void test_fields(void **state)
{
    (void)state;
    gb_db *db = open_db();
    credit(db, "a", USD(1000, 0));
    ft_job j, k;
    assert_int_equal(create(db, "a", 1, &j), GB_OK);
    assert_true(j.progress == 0);
    ft_report r = {.has_progress = true, .progress = 100.0 / 3, .message = "epoch 1"};
    assert_int_equal(ft_job_report(db, j.id, &r, &k), GB_OK);
    assert_true(k.progress == 100.0 / 3);
    assert_string_equal(k.message, "epoch 1");
    r = (ft_report){.has_progress = true, .progress = 0.07 * 100, .output_model_repo = "org/out"};
    assert_int_equal(ft_job_report(db, j.id, &r, NULL), GB_OK);
    assert_int_equal(ft_job_load(db, j.id, &k), GB_OK);
    assert_true(k.progress == 0.07 * 100);
    assert_string_equal(k.output_model_repo, "org/out");
    assert_string_equal(k.message, "epoch 1"); /* unset members leave the column alone */
    r = (ft_report){.message = "epoch 2"};
    assert_int_equal(ft_job_report(db, j.id, &r, &k), GB_OK);
    assert_true(k.progress == 0.07 * 100);
    r = (ft_report){.has_progress = true, .progress = 100.5};
    assert_int_equal(ft_job_report(db, j.id, &r, NULL), GB_ERR_INVALID);
    assert_int_equal(ft_job_report(db, "ftj_none", &(ft_report){.message = "x"}, NULL),
                     GB_ERR_NOT_FOUND);
    /* the pod is recorded only by the lease's holder (the fencing of a paused runner) */
    assert_int_equal(ft_job_set_pod(db, j.id, "runner-x", "pod_9"), GB_ERR_CONFLICT);
    assert_int_equal(ft_job_set_pod(db, j.id, "", "pod_9"), GB_ERR_INVALID);
    assert_int_equal(ft_job_load(db, j.id, &k), GB_OK);
    assert_string_equal(k.pod_id, "");
    ft_job c;
    assert_int_equal(ft_job_claim(db, "runner-a", gb_now_ms() + 1000, 60000, &c), GB_OK);
    assert_string_equal(c.id, j.id);
    assert_int_equal(ft_job_set_pod(db, j.id, "runner-b", "pod_8"), GB_ERR_CONFLICT);
    assert_int_equal(ft_job_set_pod(db, j.id, "runner-a", "pod_9"), GB_OK);
    assert_int_equal(ft_job_release(db, j.id, "runner-a", 0), GB_OK);
    assert_int_equal(ft_job_set_pod(db, j.id, "runner-a", "pod_7"), GB_ERR_CONFLICT);
    assert_int_equal(ft_job_set_pod(db, "ftj_none", "runner-a", "pod_9"), GB_ERR_NOT_FOUND);
    char long_msg[FT_MESSAGE_MAX + 40];
    memset(long_msg, 'm', sizeof(long_msg) - 1);
    long_msg[sizeof(long_msg) - 1] = '\0';
    assert_int_equal(ft_job_set_message(db, j.id, FT_PENDING, long_msg), GB_OK);
    assert_int_equal(ft_job_set_message(db, j.id, FT_TRAINING, "no"), GB_ERR_CONFLICT);
    assert_int_equal(ft_job_load(db, j.id, &k), GB_OK);
    assert_string_equal(k.pod_id, "pod_9");
    assert_int_equal(strlen(k.message), FT_MESSAGE_MAX);
    assert_int_equal(k.status, FT_PENDING);
    /* listing and counting with and without a status */
    int64_t n = -1;
    assert_int_equal(ft_job_count(db, "a", "pending", &n), GB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ft_job_count(db, "a", NULL, &n), GB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ft_job_count(db, "b", NULL, &n), GB_OK);
    assert_int_equal(n, 0);
    /* the schema refuses what the code never writes */
    assert_int_equal(gb_db_exec(db, "UPDATE fine_tuning_jobs SET params = '{bad'"),
                     GB_ERR_CONFLICT);
    assert_int_equal(gb_db_exec(db, "UPDATE fine_tuning_jobs SET status = 'bogus'"),
                     GB_ERR_CONFLICT);
    done(db);
}

/* A job never ends in success without its pod: a job that reached evaluating with no pod
 * recorded (a report from a trainer whose pod was never written down, e.g. after a crash
 * between placement and its record) is refused, by report and by transition alike, and
 * nothing is written; the same job with its pod may succeed. */
static void test_success_needs_pod(void **state)
{
    (void)state;
    gb_db *db = open_db();
    NEEDS_TRANSITIONS(db);
    credit(db, "a", USD(1000, 0));
    ft_job j, k;
    assert_int_equal(create(db, "a", 1, &j), GB_OK);
    static const ft_state path[] = {FT_PENDING, FT_PREPARING_DATA, FT_LOOKING_FOR_NODES,
                                    FT_READY,   FT_TRAINING,       FT_EVALUATING};
    for (size_t i = 1; i < sizeof(path) / sizeof(path[0]); i++)
        assert_int_equal(ft_job_transition(db, j.id, path[i - 1], path[i], NULL, 0, NULL, NULL),
                         GB_OK);
    ft_report r = {.has_status = true, .status = FT_SUCCESS, .output_model_repo = "org/out"};
    assert_int_equal(ft_job_report(db, j.id, &r, NULL), GB_ERR_INVALID);
    assert_int_equal(ft_job_transition(db, j.id, FT_EVALUATING, FT_SUCCESS, NULL, 0, NULL, NULL),
                     GB_ERR_INVALID);
    assert_int_equal(ft_job_load(db, j.id, &k), GB_OK);
    assert_int_equal(k.status, FT_EVALUATING);
    assert_string_equal(k.output_model_repo, "");
    /* with its pod recorded, the same report succeeds */
    ft_report pod = {.pod_id = "pod_1"};
    assert_int_equal(ft_job_report(db, j.id, &pod, NULL), GB_OK);
    assert_int_equal(ft_job_report(db, j.id, &r, &k), GB_OK);
    assert_int_equal(k.status, FT_SUCCESS);
    done(db);
}

/* The schema's status lists come from the state list: the CHECK names every state, the
 * claimable index and the finished-job trigger name exactly the terminal ones. */
static void test_schema_lists(void **state)
{
    (void)state;
    gb_db *db = open_db();
    static const char *const objs[] = {"fine_tuning_jobs", "fine_tuning_jobs_claimable",
                                       "fine_tuning_jobs_final"};
    char sql[3][4096];
    /* where each backend keeps an object's SQL (PostgreSQL gives it back deparsed: IN (...)
     * as = ANY (ARRAY['a'::text, ...]), the quoted names stay) */
    const char *lookup =
        tdb_is_pg() ? "SELECT COALESCE((SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                      " WHERE conname = ?1 || '_status_check'),"
                      " (SELECT indexdef FROM pg_indexes WHERE indexname = ?1),"
                      " (SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = ?1))"
                    : "SELECT sql FROM sqlite_master WHERE name = ?1";
    for (int o = 0; o < 3; o++) {
        gb_q *s = gb_q_prep(db, lookup);
        assert_non_null(s);
        gb_q_text(s, 1, objs[o]);
        int row = 0;
        assert_int_equal(gb_q_step(s, &row), GB_OK);
        assert_true(row);
        assert_non_null(gb_q_col_text(s, 0));
        snprintf(sql[o], sizeof(sql[o]), "%s", gb_q_col_text(s, 0));
        gb_q_reset(s);
    }
    int terminal = 0;
    for (int i = 0; i < FT_STATE_COUNT; i++) {
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "'%s'", ft_state_name((ft_state)i));
        bool term = ft_state_terminal((ft_state)i);
        terminal += term;
        if (!strstr(sql[0], quoted)) fail_msg("the status CHECK lacks %s", quoted);
        if ((strstr(sql[1], quoted) != NULL) != term) fail_msg("claimable index and %s", quoted);
        if ((strstr(sql[2], quoted) != NULL) != term) fail_msg("final trigger and %s", quoted);
    }
    assert_true(terminal > 0 && terminal < FT_STATE_COUNT);
    for (int o = 0; o < 3; o++) { /* each list well formed: no stray comma */
        assert_null(strstr(sql[o], ",)"));
        assert_null(strstr(sql[o], "(,"));
    }
    done(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_debits),
        cmocka_unit_test(test_debit_at_commit),
        cmocka_unit_test(test_refund_at_commit),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_cancel_rules),
        cmocka_unit_test(test_illegal_transitions),
        cmocka_unit_test(test_refund_once),
        cmocka_unit_test(test_auto_refund),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_schema_lists),
        cmocka_unit_test(test_success_needs_pod),
        cmocka_unit_test(test_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
