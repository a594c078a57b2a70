/* db_pg.c: PostgreSQL connections through libpq for dbq.h: statements prepared on their
 * first execution (with the types of their first bindings), results read whole, SQLSTATE
 * mapped to gb_err, and a connection that broke reset on the next statement outside a
 * transaction (its prepared statements are prepared again). A transaction's BEGIN is not a
 * round trip of its own: it is sent with the transaction's first statement (a pipeline of
 * the two, or "BEGIN; sql" in one simple query), and a transaction that ran no statement
 * sends nothing. A deferred statement (gb_q_defer: a change whose result nobody reads) is sent
 * in an open pipeline without waiting; the statement after it, or the COMMIT, sends itself in
 * the same pipeline and reads every result at once, so a transaction of writes is one round
 * trip at its end. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db_int.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/str.h"

struct gb_pg {
    PGconn *c;
    unsigned epoch;  /* increases at each (re)connection: statements prepared before are gone */
    unsigned serial; /* names of prepared statements */
    int txn;         /* begun, no COMMIT or ROLLBACK yet: never reconnect in between */
    int begin_due;   /* begun, but BEGIN not sent yet: it goes with the first statement */
    int piped;       /* in libpq's pipeline mode: statements sent, their results not read */
    int pending;     /* results the pipeline's sync will bring (BEGIN, deferred statements) */
    int generic;     /* gb_db_plan_generic: set again on each new session */
    /* gb_q_defer_commit's statements, in their order, sent with the COMMIT */
    struct held *held, **held_tail;
    int nheld;
};

/* A statement held for the COMMIT: its prepared name and a copy of its parameters. */
struct held {
    struct held *next;
    char name[24];
    unsigned epoch;
    int n;
    char **vals;
    int *lens, *fmts;
};

#define GENERIC_SQL "SET plan_cache_mode = force_generic_plan"

/* Deferred statements sent before their results are read, at most: the server's answers to
 * them wait in its socket buffer until the sync, which must not fill. */
#define PIPE_MAX 64

static _Atomic int g_idle_txn_ms; /* gb_db_pg_set_idle_txn_ms */

void gb_db_pg_set_idle_txn_ms(int ms)
{
    g_idle_txn_ms = ms > 0 ? ms : 0;
}

/* This process's sessions' application_name: "gpubroker/" and 12 random base62 characters,
 * one per process, so another broker's sweep (db_stalled.c) can tell this process's sessions
 * from every other's. */
static char g_app_name[32];
static pthread_once_t g_app_once = PTHREAD_ONCE_INIT;

static void app_name_init(void)
{
    char r[13];
    gb_random_base62(r, 12);
    r[12] = '\0';
    snprintf(g_app_name, sizeof(g_app_name), "%s%s", GB_DB_PG_APP_PREFIX, r);
}

const char *gb_db_pg_app_name(void)
{
    pthread_once(&g_app_once, app_name_init);
    return g_app_name;
}

/* A new session's settings: the server's own end of a transaction left idle, at twice the
 * limit. The limit itself is the brokers' sweep (db_stalled.c), which ends every session of the
 * stalled process at once; the server's setting ends one at a time (a backstop for a broker
 * with no peer sweeping), and it must come later than the sweep or the sweep would never see
 * the idle session that tells it a process stalled. False when the server refused. */
static bool session_setup(PGconn *c)
{
    int ms = g_idle_txn_ms;
    if (ms <= 0) return true;
    long long backstop = 2LL * ms;
    char sql[96];
    snprintf(sql, sizeof(sql), "SET idle_in_transaction_session_timeout = %lld",
             backstop > 2147483647LL ? 2147483647LL : backstop);
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

static void quiet_notice(void *arg, const PGresult *res)
{
    (void)arg;
    (void)res; /* NOTICEs (an IF NOT EXISTS that existed) are not ours to print */
}

gb_err gb_pg_open(gb_db *db, const char *url)
{
    db->pg = calloc(1, sizeof(*db->pg));
    if (!db->pg) return GB_ERR_NOMEM;
    db->pg->held_tail = &db->pg->held;
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {url, "10", gb_db_pg_app_name(), NULL};
    db->pg->c = PQconnectdbParams(keys, vals, 1);
    if (!db->pg->c || PQstatus(db->pg->c) != CONNECTION_OK) {
        /* libpq's message names the host and the reason, never the password */
        GB_ERROR("db", "cannot connect to %s: %s", db->path,
                 db->pg->c ? PQerrorMessage(db->pg->c) : "out of memory");
        return GB_ERR_DB;
    }
    PQsetNoticeReceiver(db->pg->c, quiet_notice, NULL);
    if (!session_setup(db->pg->c)) {
        GB_ERROR("db", "cannot set up a session on %s: %s", db->path, PQerrorMessage(db->pg->c));
        return GB_ERR_DB;
    }
    db->pg->epoch = 1;
    return GB_OK;
}

static void held_free(struct held *h)
{
    if (!h) return;
    for (int i = 0; h->vals && i < h->n; i++)
        free(h->vals[i]);
    free(h->vals);
    free(h->lens);
    free(h->fmts);
    free(h);
}

static void held_free_all(struct gb_pg *pg)
{
    while (pg->held) {
        struct held *h = pg->held;
        pg->held = h->next;
        held_free(h);
    }
    pg->held_tail = &pg->held;
    pg->nheld = 0;
}

void gb_pg_close(gb_db *db)
{
    if (!db->pg) return;
    held_free_all(db->pg);
    if (db->pg->c) PQfinish(db->pg->c);
    free(db->pg);
    db->pg = NULL;
}

/* Before a statement: a connection that broke is reset, outside a transaction only. Inside
 * one the transaction is lost and its caller must see the error: a statement run on a new
 * session would commit on its own, and a COMMIT there would answer OK for nothing. */
static gb_err ensure(gb_db *db)
{
    if (PQstatus(db->pg->c) == CONNECTION_OK) return GB_OK;
    if (db->pg->txn && !db->pg->begin_due) { /* nothing sent yet: a new session is fine */
        GB_ERROR("db", "the connection to %s broke inside a transaction: it is lost", db->path);
        return GB_ERR_DB;
    }
    PQreset(db->pg->c);
    if (PQstatus(db->pg->c) != CONNECTION_OK) {
        GB_ERROR("db", "reconnect to %s failed: %s", db->path, PQerrorMessage(db->pg->c));
        return GB_ERR_DB;
    }
    PQsetNoticeReceiver(db->pg->c, quiet_notice, NULL);
    if (!session_setup(db->pg->c)) {
        GB_ERROR("db", "cannot set up a session on %s: %s", db->path, PQerrorMessage(db->pg->c));
        return GB_ERR_DB;
    }
    db->pg->epoch++;
    GB_WARN("db", "reconnected to %s", db->path);
    if (db->pg->generic) { /* the session's setting went with the old session */
        PGresult *r = PQexec(db->pg->c, GENERIC_SQL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) db->pg->generic = 0; /* tried again later */
        PQclear(r);
    }
    return GB_OK;
}

/* The gb_err of a failed result: a constraint (SQLSTATE class 23) is a conflict. */
static gb_err result_err(gb_db *db, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state && strncmp(state, "23", 2) == 0) return GB_ERR_CONFLICT;
    GB_ERROR("db", "%s: %s", what,
             r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : PQerrorMessage(db->pg->c));
    return GB_ERR_DB;
}

/* Opens the pipeline (or keeps the open one) and sends the BEGIN that is due in it. 0 when
 * libpq refused (no memory, a broken connection). */
static int pipe_open(struct gb_pg *pg)
{
    if (!pg->piped) {
        if (PQenterPipelineMode(pg->c) != 1) return 0;
        pg->piped = 1;
    }
    if (pg->begin_due) {
        pg->begin_due = 0;
        if (PQsendQueryParams(pg->c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) != 1) return 0;
        pg->pending++;
    }
    return 1;
}

/* Sends q's prepared statement (prepared on this session already) in the open pipeline. */
static int pipe_send(gb_q *q)
{
    struct gb_pg *pg = q->db->pg;
    if (PQsendQueryPrepared(pg->c, q->name, q->nparams, (const char *const *)q->vals, q->lens,
                            q->fmts, 0) != 1)
        return 0;
    pg->pending++;
    return 1;
}

/* Sends a statement without parameters (NOTIFY c, COMMIT) in the open pipeline. */
static int pipe_send_sql(struct gb_pg *pg, const char *sql)
{
    if (PQsendQueryParams(pg->c, sql, 0, NULL, NULL, NULL, NULL, 0) != 1) return 0;
    pg->pending++;
    return 1;
}

/* Sends the held statements, in their order, in the open pipeline (pipe_open first), and
 * forgets them. 0 when one could not be sent (the transaction is then lost). */
static int held_send(struct gb_pg *pg)
{
    int ok = 1;
    for (struct held *h = pg->held; h && ok; h = h->next) {
        ok = h->epoch == pg->epoch && /* prepared on this session */
             PQsendQueryPrepared(pg->c, h->name, h->n, (const char *const *)h->vals, h->lens,
                                 h->fmts, 0) == 1;
        if (ok) pg->pending++;
    }
    held_free_all(pg);
    return ok;
}

/* Closes the pipeline: a sync, then every result sent since it opened is read. Returns the
 * first failure among them (GB_ERR_CONFLICT for a constraint, as the statement's own error
 * would be); the statements after a failure are skipped by the server (PGRES_PIPELINE_ABORTED)
 * and the transaction is aborted. With last, the final result is kept there for the caller
 * (NULL when it never came). The pipeline is left whatever happened. */
static gb_err pipe_finish(gb_db *db, PGresult **last)
{
    struct gb_pg *pg = db->pg;
    int n = pg->pending, seen = 0, nulls = 0;
    gb_err e = GB_OK;
    pg->pending = 0;
    if (last) *last = NULL;
    if (PQpipelineSync(pg->c) != 1) {
        e = result_err(db, NULL, "pipeline");
    } else {
        for (;;) { /* each result, a NULL after it, then the sync point */
            PGresult *r = PQgetResult(pg->c);
            if (!r) {
                if (++nulls > 1) break; /* nothing more will come (a broken connection) */
                continue;
            }
            nulls = 0;
            ExecStatusType st = PQresultStatus(r);
            if (st == PGRES_PIPELINE_SYNC) {
                PQclear(r);
                break;
            }
            if (last && seen++ == n - 1) {
                *last = r;
                continue;
            }
            if (!e && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
                st != PGRES_PIPELINE_ABORTED)
                e = result_err(db, r, "pipeline");
            PQclear(r);
        }
    }
    if (!e && last && !*last) e = result_err(db, NULL, "pipeline");
    (void)PQexitPipelineMode(pg->c);
    pg->piped = 0;
    return e;
}

gb_err gb_pg_exec(gb_db *db, const char *sql)
{
    gb_err e = db->pg->piped ? pipe_finish(db, NULL) : GB_OK; /* simple queries are not piped */
    if (!e) e = ensure(db);
    if (e) return e;
    char *with_begin = NULL;
    if (db->pg->begin_due) { /* one simple query: BEGIN, then sql, in the transaction */
        if (!(with_begin = gb_asprintf("BEGIN; %s", sql))) return GB_ERR_NOMEM;
        db->pg->begin_due = 0;
        sql = with_begin;
    }
    PGresult *r = PQexec(db->pg->c, sql);
    free(with_begin);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    e = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? GB_OK : result_err(db, r, "exec");
    PQclear(r);
    return e;
}

gb_err gb_pg_begin(gb_db *db)
{
    gb_err e = ensure(db); /* a broken connection is reset now, while nothing is open */
    if (e) return e;
    db->pg->txn = 1;
    db->pg->begin_due = 1;
    return GB_OK;
}

gb_err gb_pg_plan_generic(gb_db *db)
{
    if (db->pg->generic) return GB_OK;
    if (gb_pg_in_txn(db)) return GB_ERR_INTERNAL; /* a SET in it would end with it */
    gb_err e = gb_pg_exec(db, GENERIC_SQL);
    if (!e) db->pg->generic = 1;
    return e;
}

/* The end of a transaction with deferred statements in flight. A COMMIT (and a NOTIFY with
 * it) goes in the same pipeline, one statement at a time: one round trip for everything the
 * transaction deferred. A ROLLBACK reads what was sent, then rolls back. A COMMIT that fails
 * leaves the server's transaction aborted: gb_db_commit rolls it back. */
static gb_err end_piped(gb_db *db, const char *sql)
{
    db->pg->txn = 0;
    if (strcmp(sql, "ROLLBACK") == 0) {
        (void)pipe_finish(db, NULL); /* their failures do not matter any more */
        PGresult *r = PQexec(db->pg->c, "ROLLBACK");
        gb_err e =
            r && PQresultStatus(r) == PGRES_COMMAND_OK ? GB_OK : result_err(db, r, "rollback");
        PQclear(r);
        return e;
    }
    char *copy = gb_asprintf("%s", sql), *save = NULL;
    int sent = copy != NULL;
    for (char *t = copy ? strtok_r(copy, ";", &save) : NULL; t && sent;
         t = strtok_r(NULL, ";", &save)) {
        while (*t == ' ')
            t++;
        sent = pipe_send_sql(db->pg, t);
    }
    free(copy);
    PGresult *r = NULL;
    gb_err e = pipe_finish(db, sent ? &r : NULL);
    if (!e && !sent) e = result_err(db, NULL, "end of transaction");
    if (!e && (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0))
        e = result_err(db, r, "end of transaction");
    PQclear(r);
    return e;
}

gb_err gb_pg_end(gb_db *db, const char *sql)
{
    if (db->pg->held) { /* sent now, with the COMMIT: one round trip, no wait in between */
        bool commit = strstr(sql, "COMMIT") != NULL;
        if (commit && !(pipe_open(db->pg) && held_send(db->pg))) {
            gb_err e = result_err(db, NULL, "held statement");
            (void)end_piped(db, "ROLLBACK");
            return e;
        }
        held_free_all(db->pg); /* sent; or a ROLLBACK, and they never happened */
    }
    if (db->pg->begin_due) {
        /* no statement ran: nothing to commit or roll back, unless a NOTIFY goes with it */
        db->pg->txn = db->pg->begin_due = 0;
        if (strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0) return GB_OK;
        db->pg->txn = db->pg->begin_due = 1; /* sent as "BEGIN; sql" below */
    }
    if (db->pg->piped) return end_piped(db, sql);
    if (!db->pg->txn && PQtransactionStatus(db->pg->c) == PQTRANS_IDLE) return GB_OK;
    if (PQstatus(db->pg->c) != CONNECTION_OK) {
        db->pg->txn = 0; /* the next statement reconnects */
        GB_ERROR("db", "the connection to %s broke inside a transaction: it is lost", db->path);
        return GB_ERR_DB;
    }
    db->pg->txn = 0;
    char *with_begin = db->pg->begin_due ? gb_asprintf("BEGIN; %s", sql) : NULL;
    if (db->pg->begin_due && !with_begin) {
        db->pg->begin_due = 0;
        return GB_ERR_NOMEM;
    }
    db->pg->begin_due = 0;
    PGresult *r = PQexec(db->pg->c, with_begin ? with_begin : sql);
    free(with_begin);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    gb_err e = st == PGRES_COMMAND_OK ? GB_OK : result_err(db, r, "end of transaction");
    /* a COMMIT of a transaction an error aborted answers ROLLBACK, with no error */
    if (!e && strstr(sql, "COMMIT") && r && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
        GB_ERROR("db", "commit: the transaction had failed and was rolled back");
        e = GB_ERR_DB;
    }
    PQclear(r);
    return e;
}

int gb_pg_in_txn(gb_db *db)
{
    if (db->pg->txn) return 1;
    PGTransactionStatusType t = PQtransactionStatus(db->pg->c);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

gb_err gb_pg_q_init(gb_q *q, const char *sql)
{
    int n = 0;
    q->sql = gb_db_sql_for_pg(sql, &n);
    if (!q->sql) {
        GB_ERROR("db", "cannot translate: %.80s", sql);
        return GB_ERR_INTERNAL;
    }
    q->nparams = n;
    size_t k = n ? (size_t)n : 1;
    q->vals = calloc(k, sizeof(*q->vals));
    q->lens = calloc(k, sizeof(*q->lens));
    q->fmts = calloc(k, sizeof(*q->fmts));
    q->types = calloc(k, sizeof(*q->types));
    if (!q->vals || !q->lens || !q->fmts || !q->types) return GB_ERR_NOMEM;
    gb_snprintf(q->name, sizeof(q->name), "gb%u", ++q->db->pg->serial);
    return GB_OK;
}

void gb_pg_q_reset(gb_q *q)
{
    if (q->res) PQclear(q->res);
    q->res = NULL;
    q->row = q->nrows = q->done = 0;
    free(q->blob);
    q->blob = NULL;
    for (int i = 0; i < q->nparams; i++) {
        free(q->vals[i]);
        q->vals[i] = NULL;
        q->lens[i] = q->fmts[i] = 0;
    }
}

void gb_pg_q_free(gb_q *q)
{
    if (!q->db || q->db->kind != GB_DB_POSTGRESQL) return;
    if (q->vals) gb_pg_q_reset(q);
    free(q->vals);
    free(q->lens);
    free(q->fmts);
    free(q->types);
    free(q->sql);
}

static gb_err prepare(gb_q *q)
{
    struct gb_pg *pg = q->db->pg;
    PGresult *r = PQprepare(pg->c, q->name, q->sql, q->nparams, (const Oid *)q->types);
    gb_err e = r && PQresultStatus(r) == PGRES_COMMAND_OK ? GB_OK : result_err(q->db, r, "prepare");
    PQclear(r);
    if (!e) q->epoch = pg->epoch;
    return e;
}

/* prepare, outside the pipeline (PQprepare waits for its answer): an open one is closed first,
 * with the first failure of what it carried. */
static gb_err prepare_now(gb_q *q)
{
    gb_err e = q->db->pg->piped ? pipe_finish(q->db, NULL) : GB_OK;
    return e ? e : prepare(q);
}

/* Before a statement of an open transaction is sent or held: the session checked while
 * nothing of the transaction was sent (a reset is still fine then), and q prepared on it. */
static gb_err prepared_on_session(gb_q *q)
{
    struct gb_pg *pg = q->db->pg;
    gb_err e = pg->begin_due ? ensure(q->db) : GB_OK;
    if (!e && q->epoch != pg->epoch) e = prepare_now(q);
    return e;
}

gb_err gb_pg_q_defer(gb_q *q)
{
    struct gb_pg *pg = q->db->pg;
    gb_err e = prepared_on_session(q);
    if (e) return e;
    if (!pipe_open(pg) || !pipe_send(q)) {
        e = result_err(q->db, NULL, "deferred statement");
        (void)pipe_finish(q->db, NULL);
        return e;
    }
    return pg->pending >= PIPE_MAX ? pipe_finish(q->db, NULL) : GB_OK;
}

gb_err gb_pg_q_hold(gb_q *q)
{
    struct gb_pg *pg = q->db->pg;
    gb_err e = prepared_on_session(q);
    if (e) return e;
    if (pg->nheld >= PIPE_MAX) { /* too many to wait: the earlier ones go now, in order */
        if (!pipe_open(pg) || !held_send(pg)) {
            e = result_err(q->db, NULL, "held statement");
            (void)pipe_finish(q->db, NULL);
            return e;
        }
        if (pg->pending >= PIPE_MAX && (e = pipe_finish(q->db, NULL))) return e;
    }
    struct held *h = calloc(1, sizeof(*h));
    size_t k = q->nparams ? (size_t)q->nparams : 1;
    if (!h || !(h->vals = calloc(k, sizeof(*h->vals))) ||
        !(h->lens = calloc(k, sizeof(*h->lens))) || !(h->fmts = calloc(k, sizeof(*h->fmts)))) {
        held_free(h);
        return GB_ERR_NOMEM;
    }
    memcpy(h->name, q->name, sizeof(h->name));
    h->epoch = q->epoch;
    h->n = q->nparams;
    for (int i = 0; i < q->nparams; i++) {
        h->lens[i] = q->lens[i];
        h->fmts[i] = q->fmts[i];
        if (!q->vals[i]) continue;
        size_t len = q->fmts[i] ? (size_t)q->lens[i] : strlen(q->vals[i]) + 1;
        if (!(h->vals[i] = malloc(len ? len : 1))) {
            held_free(h); /* never in the list: a copy cut short would send a NULL value */
            return GB_ERR_NOMEM;
        }
        memcpy(h->vals[i], q->vals[i], len);
    }
    *pg->held_tail = h;
    pg->held_tail = &h->next;
    pg->nheld++;
    return GB_OK;
}

gb_err gb_pg_q_step(gb_q *q, int *row)
{
    *row = 0;
    if (!q->res && !q->done) { /* the first step executes */
        struct gb_pg *pg = q->db->pg;
        gb_err e = GB_OK;
        if (!gb_pg_in_txn(q->db) || pg->begin_due) e = ensure(q->db);
        if (!e && q->epoch != pg->epoch) e = prepare_now(q);
        if (e) {
            q->done = 1;
            return e;
        }
        if (pg->begin_due || pg->piped) { /* with what is due or deferred: one round trip */
            int sent = pipe_open(pg) && pipe_send(q);
            e = pipe_finish(q->db, sent ? &q->res : NULL);
            if (!e && !sent) e = result_err(q->db, NULL, "step");
            if (e) { /* an earlier statement of the transaction failed: this one did not run */
                PQclear(q->res);
                q->res = NULL;
                q->done = 1;
                q->changes = 0;
                return e;
            }
        } else {
            q->res = PQexecPrepared(pg->c, q->name, q->nparams, (const char *const *)q->vals,
                                    q->lens, q->fmts, 0);
        }
        ExecStatusType st = q->res ? PQresultStatus(q->res) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            e = result_err(q->db, q->res, "step");
            PQclear(q->res);
            q->res = NULL;
            q->done = 1;
            q->changes = 0;
            return e;
        }
        const char *ct = PQcmdTuples(q->res);
        q->changes = ct && ct[0] ? strtoll(ct, NULL, 10) : 0;
        q->nrows = st == PGRES_TUPLES_OK ? PQntuples(q->res) : 0;
        q->row = -1;
    }
    if (q->done || !q->res) return GB_OK;
    if (q->row + 1 < q->nrows) {
        q->row++;
        *row = 1;
        return GB_OK;
    }
    q->done = 1;
    return GB_OK;
}

const char *gb_pg_q_col(gb_q *q, int i, int *isnull)
{
    *isnull = 1;
    if (!q->res || q->row < 0 || q->row >= q->nrows || i < 0 || i >= PQnfields(q->res)) return NULL;
    if (PQgetisnull(q->res, q->row, i)) return NULL;
    *isnull = 0;
    return PQgetvalue(q->res, q->row, i);
}

const void *gb_pg_q_col_blob(gb_q *q, int i, size_t *n)
{
    *n = 0;
    int isnull = 1;
    const char *v = gb_pg_q_col(q, i, &isnull);
    if (isnull) return NULL;
    free(q->blob);
    q->blob = PQunescapeBytea((const unsigned char *)v, n);
    return q->blob;
}

int gb_pg_q_columns(gb_q *q)
{
    return q->res ? PQnfields(q->res) : 0;
}
