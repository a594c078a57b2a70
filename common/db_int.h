/* db_int.h: the connection shared by db.c (SQLite, the statement cache, migrations), dbq.c
 * (statements over either backend) and db_pg.c (PostgreSQL through libpq). Only those files
 * include it. */
#ifndef GB_DB_INT_H
#define GB_DB_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "common/db.h"
#include "common/dbq.h"

struct gb_pg; /* db_pg.c */

/* One cached statement: the caller's SQL text is the key. A SQLite entry has stmt (the old
 * gb_db_stmt interface) and, once asked through gb_q_prep, q; a PostgreSQL entry only q. */
typedef struct gb_db_entry {
    unsigned hash; /* of the text: compared first */
    char *sql;     /* our copy, always compared (a caller's buffer may be reused for other SQL) */
    sqlite3_stmt *stmt;
    gb_q *q;
    struct gb_db_entry *next;
} gb_db_entry;

#define GB_DB_BUCKETS 64
#define GB_DB_AFTER_MAX 64

struct gb_db {
    gb_db_kind kind;
    sqlite3 *h; /* GB_DB_SQLITE */
    char *path; /* the SQLite file, or the PostgreSQL URL without its password */
    gb_db_entry *buckets[GB_DB_BUCKETS];
    struct gb_pg *pg; /* GB_DB_POSTGRESQL */
    /* gb_db_after_commit: run after the open transaction commits, dropped if it rolls back */
    struct {
        void (*fn)(void *ud);
        void *ud;
    } after[GB_DB_AFTER_MAX];
    int nafter;
    /* SQLite: this process's writer mutex of the file (db_wlock.c), held from gb_db_begin to
     * the commit or rollback; NULL: none */
    pthread_mutex_t *wlock;
    int wlocked;
    /* PostgreSQL: the channels gb_db_notify named in the open transaction, each sent as a
     * NOTIFY in the same round trip as its COMMIT */
    char notify[GB_DB_NOTIFY_MAX][64];
    int nnotify;
    /* SQLite: gb_db_txn hands its work to this group's writer connection (db_group.c) */
    struct gb_db_group *group;
    /* gb_db_on_made: what gb_db_made runs in the open transaction; NULL: nothing */
    gb_db_made_fn made_fn;
    void *made_ud;
};

/* The cache entry for sql, created empty when missing (NULL when out of memory). */
gb_db_entry *gb_db_entry_get(gb_db *db, const char *sql);

/* A statement of either backend. */
struct gb_q {
    gb_db *db;
    sqlite3_stmt *st; /* SQLite */
    /* PostgreSQL */
    char *sql;      /* with $n placeholders */
    char name[24];  /* the prepared statement's name on the server */
    unsigned epoch; /* the connection epoch it was prepared in (0: not yet) */
    int nparams;
    char **vals; /* owned copies; NULL for SQL NULL */
    int *lens, *fmts;
    unsigned *types; /* Oids fixed at the first execution: int8, bytea or unknown */
    struct pg_result *res;
    int row, nrows, done;
    unsigned char *blob; /* the last decoded bytea column */
    int64_t changes;
};

/* dbq.c: frees a cached statement (NULL is fine). */
void gb_q_destroy(gb_q *q);

/* ---- db_wlock.c ---- */
/* The process's writer mutex of the SQLite file at path (created on first use, never freed);
 * NULL for an in-memory database or when the table is full. */
pthread_mutex_t *gb_db_wlock_for(const char *path);
/* Locks mu, waiting at most timeout_ms: GB_ERR_DB when it timed out. */
gb_err gb_db_wlock_take(pthread_mutex_t *mu, int timeout_ms);

#define GB_DB_BUSY_TIMEOUT_MS 10000 /* a SQLite writer waits this long for another */

/* ---- db_pg.c ---- */
gb_err gb_pg_open(gb_db *db, const char *url);
void gb_pg_close(gb_db *db);
gb_err gb_pg_exec(gb_db *db, const char *sql);
/* BEGIN, and COMMIT or ROLLBACK (sql; "NOTIFY c; COMMIT" too): between them the connection is
 * never reset, so a transaction whose session ended fails to its end (GB_ERR_DB) instead of
 * going on, statement by statement, on a new session. gb_pg_end of a COMMIT that PostgreSQL
 * turned into a ROLLBACK (an earlier error aborted the transaction) is GB_ERR_DB.
 * gb_pg_begin sends nothing: BEGIN goes with the transaction's first statement (one round
 * trip for both), and an end with no statement before it sends nothing (a NOTIFY with its
 * COMMIT is sent as "BEGIN; NOTIFY c; COMMIT"). */
gb_err gb_pg_begin(gb_db *db);
gb_err gb_pg_plan_generic(gb_db *db);
gb_err gb_pg_end(gb_db *db, const char *sql);
/* 1 from gb_pg_begin to gb_pg_end, and while the server reports a transaction open. */
int gb_pg_in_txn(gb_db *db);
gb_err gb_pg_q_init(gb_q *q, const char *sql);
void gb_pg_q_free(gb_q *q);
void gb_pg_q_reset(gb_q *q);
gb_err gb_pg_q_step(gb_q *q, int *row);
/* Sends q's statement inside the open transaction without reading its result (gb_q_defer). */
gb_err gb_pg_q_defer(gb_q *q);
/* gb_q_defer_commit inside a transaction: q's statement and a copy of its parameters are kept
 * to be sent with the COMMIT (dropped with a ROLLBACK). */
gb_err gb_pg_q_hold(gb_q *q);
const char *gb_pg_q_col(gb_q *q, int i, int *isnull);
const void *gb_pg_q_col_blob(gb_q *q, int i, size_t *n);
int gb_pg_q_columns(gb_q *q);

/* SQL for PostgreSQL from our SQL: ?N becomes $N and a bare ? the next $n (outside quotes and
 * comments); *nparams the highest. NULL when out of memory or sql is malformed. */
char *gb_db_sql_for_pg(const char *sql, int *nparams);
/* SQL for SQLite: the same text without " FOR UPDATE SKIP LOCKED" and " FOR UPDATE" (SQLite
 * has one writer: in BEGIN IMMEDIATE a claim or a read-then-write cannot meet another).
 * NULL when out of memory. */
char *gb_db_sql_for_sqlite(const char *sql);

/* The name of the VFS gb_db_open uses (db_walvfs.c: the default VFS, with a transaction's WAL
 * frames written at once), registered on the first call; NULL (the default VFS) if it could
 * not be. */
const char *gb_db_vfs(void);

#endif
