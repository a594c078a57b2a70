/* dbq.h: one statement interface over both store backends (issue 19; docs/store.md): SQLite
 * (the embedded default) and PostgreSQL (several brokers on one database).
 *
 * SQL is written once: placeholders ?N (or ?), the common subset of both dialects, and
 * "FOR UPDATE SKIP LOCKED" on a claim's inner SELECT or "FOR UPDATE" on a row read before it
 * is changed (both dropped for SQLite, whose one writer and BEGIN IMMEDIATE already serialize
 * them). Where a statement's context gives a parameter no
 * type, the SQL casts it (`CAST(?1 AS TEXT) IS NULL`). PostgreSQL prepares a statement at its
 * first execution, with the types of that execution's bindings: an integer is bigint, text is
 * text, a blob bytea, a NULL takes its type from the context. So a statement's SQL errors show
 * at its first gb_q_step there, at gb_q_prep in SQLite.
 *
 * A statement belongs to its connection and its thread, as the connection does. gb_q_prep
 * returns it reset with no bindings; gb_q_step runs it (the first call executes) and gives its
 * rows one at a time; columns are read between steps; gb_q_reset ends it. */
#ifndef GB_DBQ_H
#define GB_DBQ_H

#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"

typedef struct gb_db gb_db;
typedef struct gb_q gb_q;

typedef enum { GB_DB_SQLITE = 1, GB_DB_POSTGRESQL = 2 } gb_db_kind;

/* Opens a database by URL: "sqlite:PATH" or a plain path (SQLite, created when missing), or
 * "postgresql://..." / "postgres://..." (libpq's URI; the password never reaches a log).
 * GB_ERR_INVALID for another scheme, GB_ERR_DB when it cannot connect. */
gb_err gb_db_open_url(const char *url, gb_db **out);
gb_db_kind gb_db_kind_of(const gb_db *db);
/* 1 when url names a PostgreSQL database (postgresql:// or postgres://). */
int gb_db_url_is_pg(const char *url);
/* PostgreSQL: the limit, in ms, on a transaction left idle (0: none, the default). A broker
 * paused inside a transaction (SIGSTOP, a stalled VM) would otherwise hold its row locks, the
 * account balance's among them, and stall every other broker until it wakes. Two parts:
 * gb_db_pg_end_stalled (another broker's sweep) ends every session of a process one of whose
 * sessions sat idle in a transaction this long; and sessions opened (or reconnected) from now
 * on end such a transaction themselves at twice the limit (the server's
 * idle_in_transaction_session_timeout), for a broker that has no peer sweeping. Either way
 * the woken broker's transaction fails and its next statement reconnects. SQLite: no effect. */
void gb_db_pg_set_idle_txn_ms(int ms);

/* Every PostgreSQL session of this process has the application_name gb_db_pg_app_name():
 * GB_DB_PG_APP_PREFIX and 12 random characters, one name per process. */
#define GB_DB_PG_APP_PREFIX "gpubroker/"
const char *gb_db_pg_app_name(void);

/* The sweep for a stalled process (db_stalled.c), on db outside a transaction: every session
 * on db's database, not idle, of a process (another than this one, application_name
 * GB_DB_PG_APP_PREFIX...) one of whose sessions has been idle in a transaction for idle_ms or
 * longer, is ended (pg_terminate_backend). The server's own timeout ends one session at a
 * time: a paused broker's other sessions, queued for the lock the first one held, each took
 * the lock in turn and held it for another whole limit (docs/store.md). *ended (NULL-able):
 * the sessions ended. SQLite, or idle_ms <= 0: nothing (GB_OK). Sessions of other roles are
 * out of reach (GB_ERR_DB: the server refused). */
gb_err gb_db_pg_end_stalled(gb_db *db, int idle_ms, int *ended);
/* The sessions gb_db_pg_end_stalled has ended in this process so far (GET /metrics). */
uint64_t gb_db_pg_stalled_ended(void);

/* The URL's name for logs: the SQLite path, or the PostgreSQL URL with its password hidden. */
void gb_db_url_redact(const char *url, char *out, size_t n);

gb_q *gb_q_prep(gb_db *db, const char *sql);   /* NULL: logged prepare error or no memory */
void gb_q_int64(gb_q *q, int i, int64_t v);    /* i counts from 1 */
void gb_q_text(gb_q *q, int i, const char *v); /* NULL binds SQL NULL */
void gb_q_blob(gb_q *q, int i, const void *p, size_t n);
void gb_q_null(gb_q *q, int i);
/* GB_OK with *row 1 while a row is ready, 0 when done; GB_ERR_CONFLICT for a constraint
 * (unique, foreign key, check, not null), GB_ERR_DB for other errors (logged). */
gb_err gb_q_step(gb_q *q, int *row);
int gb_q_col_is_null(gb_q *q, int i); /* columns count from 0 */
int64_t gb_q_col_int64(gb_q *q, int i);
const char *gb_q_col_text(gb_q *q, int i); /* NULL for SQL NULL; valid until the next step */
const void *gb_q_col_blob(gb_q *q, int i, size_t *n);
/* Rows the last finished INSERT/UPDATE/DELETE changed (RETURNING rows included). */
int64_t gb_q_changes(gb_q *q);
void gb_q_reset(gb_q *q);

/* Steps a change statement to its end (rows of a RETURNING are skipped); *changed may be NULL.
 * The statement is reset. */
gb_err gb_q_run(gb_q *q, int64_t *changed);
/* Runs a change statement of the open transaction whose result nobody reads (an INSERT that
 * must simply happen). SQLite runs it now (gb_q_run). PostgreSQL sends it without waiting for
 * its answer: it goes with the transaction's next statement or its COMMIT, in one round trip
 * (docs/store.md). So its failure (a constraint: GB_ERR_CONFLICT) is returned by that next
 * statement or by gb_db_commit, and fails the transaction; only defer a statement whose
 * failure should fail the transaction, never one whose conflict the caller handles. Outside a
 * transaction it runs now. The statement is reset. */
gb_err gb_q_defer(gb_q *q);

/* As gb_q_defer, but on PostgreSQL the statement is sent only with the transaction's COMMIT
 * (never with a statement between): for a change that takes a lock other transactions wait
 * for (the event log's append order), so the server takes and releases it within the
 * COMMIT's round trip and never holds it while it waits for this client (a broker paused
 * inside the transaction; docs/store.md). The statements run after every other statement of
 * the transaction, in their own order: only for a change no later statement of the
 * transaction reads. Its failure fails the COMMIT. SQLite, or outside a transaction: runs now.
 * The statement is reset. */
gb_err gb_q_defer_commit(gb_q *q);

/* Plans db's statements once for any values (PostgreSQL's plan_cache_mode =
 * force_generic_plan for the session, set again after a reconnect; nothing on SQLite), for a
 * connection whose statements' best plan does not depend on their values: a worker's claims
 * and records. Left to itself PostgreSQL planned the webhook sweep's statement (five WITH
 * queries) on every execution, its generic plan estimated dearer with a LIMIT parameter
 * (docs/benchmarks.md). One round trip the first time, none after. Outside a transaction. */
gb_err gb_db_plan_generic(gb_db *db);

/* A migration's SQL for PostgreSQL (docs/store.md): outside quotes, the words INTEGER PRIMARY
 * KEY AUTOINCREMENT become BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, INTEGER
 * BIGINT (SQLite's integers are 64-bit: money and milliseconds need it), BLOB BYTEA and REAL
 * DOUBLE PRECISION. Returns a malloc'd string, NULL when out of memory. */
char *gb_db_ddl_for_pg(const char *sql);

/* Takes a lock for singleton work (a metering round) until the open transaction ends:
 * PostgreSQL's pg_try_advisory_xact_lock(key) (*got 0 when another connection holds it);
 * SQLite's BEGIN IMMEDIATE already excludes every other writer, so *got is 1. Needs an open
 * transaction (GB_ERR_INTERNAL otherwise). */
gb_err gb_db_try_lock(gb_db *db, int64_t key, int *got);
/* Waits for PostgreSQL's session-level advisory lock key (pg_advisory_lock), held until
 * gb_db_session_unlock or the session's end (a killed process releases it), outside any
 * transaction: for work made of several transactions that must not interleave with another
 * broker's (a vault rotation). SQLite: nothing (GB_OK); its callers lock a file instead. */
gb_err gb_db_session_lock(gb_db *db, int64_t key);
gb_err gb_db_session_unlock(gb_db *db, int64_t key);

#endif
