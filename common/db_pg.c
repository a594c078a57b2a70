/* db_pg.c: PostgreSQL connections through libpq for dbq.h: statements prepared on their
 * first execution (with the types of their first bindings), results read whole, SQLSTATE
 * mapped to gb_err, and a connection that broke reset on the next statement outside a
 * transaction (its prepared statements are prepared again). A transaction's BEGIN is not a
 * round trip of its own: it is sent with the transaction's first statement (a pipeline of
 * the two, or "BEGIN; sql" in one simple query), and a transaction that ran no statement
 * sends nothing. */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "common/db_int.h"
#include "common/log.h"
#include "common/str.h"

struct gb_pg {
    PGconn *c;
    unsigned epoch;  /* increases at each (re)connection: statements prepared before are gone */
    unsigned serial; /* names of prepared statements */
    int txn;         /* begun, no COMMIT or ROLLBACK yet: never reconnect in between */
    int begin_due;   /* begun, but BEGIN not sent yet: it goes with the first statement */
};

static void quiet_notice(void *arg, const PGresult *res)
{
    (void)arg;
    (void)res; /* NOTICEs (an IF NOT EXISTS that existed) are not ours to print */
}

gb_err gb_pg_open(gb_db *db, const char *url)
{
    db->pg = calloc(1, sizeof(*db->pg));
    if (!db->pg) return GB_ERR_NOMEM;
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {url, "10", "gpubroker", NULL};
    db->pg->c = PQconnectdbParams(keys, vals, 1);
    if (!db->pg->c || PQstatus(db->pg->c) != CONNECTION_OK) {
        /* libpq's message names the host and the reason, never the password */
        GB_ERROR("db", "cannot connect to %s: %s", db->path,
                 db->pg->c ? PQerrorMessage(db->pg->c) : "out of memory");
        return GB_ERR_DB;
    }
    PQsetNoticeReceiver(db->pg->c, quiet_notice, NULL);
    db->pg->epoch = 1;
    return GB_OK;
}

void gb_pg_close(gb_db *db)
{
    if (!db->pg) return;
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
    db->pg->epoch++;
    GB_WARN("db", "reconnected to %s", db->path);
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

gb_err gb_pg_exec(gb_db *db, const char *sql)
{
    gb_err e = ensure(db);
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

gb_err gb_pg_end(gb_db *db, const char *sql)
{
    if (db->pg->begin_due) {
        /* no statement ran: nothing to commit or roll back, unless a NOTIFY goes with it */
        db->pg->txn = db->pg->begin_due = 0;
        if (strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0) return GB_OK;
        db->pg->txn = db->pg->begin_due = 1; /* sent as "BEGIN; sql" below */
    }
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

/* Executes q's prepared statement after a BEGIN, both in one pipeline (one round trip); the
 * statement's result, or NULL when it could not be sent or read (the caller reports the
 * connection's error). A failed BEGIN leaves the statement aborted (PGRES_PIPELINE_ABORTED),
 * which the caller reports as any failed statement. */
static PGresult *exec_after_begin(gb_q *q)
{
    PGconn *c = q->db->pg->c;
    q->db->pg->begin_due = 0;
    if (PQenterPipelineMode(c) != 1) return NULL;
    PGresult *res = NULL;
    if (PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1 &&
        PQsendQueryPrepared(c, q->name, q->nparams, (const char *const *)q->vals, q->lens, q->fmts,
                            0) == 1 &&
        PQpipelineSync(c) == 1) {
        /* BEGIN's result, NULL, the statement's, NULL, then the sync point */
        int seen = 0, nulls = 0;
        for (;;) {
            PGresult *r = PQgetResult(c);
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
            if (seen++ == 1 && !res)
                res = r;
            else
                PQclear(r);
        }
    }
    (void)PQexitPipelineMode(c);
    return res;
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

gb_err gb_pg_q_step(gb_q *q, int *row)
{
    *row = 0;
    if (!q->res && !q->done) { /* the first step executes */
        gb_err e = GB_OK;
        if (!gb_pg_in_txn(q->db) || q->db->pg->begin_due) e = ensure(q->db);
        if (!e && q->epoch != q->db->pg->epoch) e = prepare(q);
        if (e) {
            q->done = 1;
            return e;
        }
        if (q->db->pg->begin_due)
            q->res = exec_after_begin(q);
        else
            q->res = PQexecPrepared(q->db->pg->c, q->name, q->nparams, (const char *const *)q->vals,
                                    q->lens, q->fmts, 0);
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
