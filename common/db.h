/* db.h: the SQLite wrapper: opening a connection (WAL, busy timeout, foreign keys), per-module
 * schema migrations with a version table, statements prepared once per connection, and
 * transactions. Only *_store.c files and db.c include sqlite3.h; they get the raw statement
 * handle from gb_db_stmt(). */
#ifndef GB_DB_H
#define GB_DB_H

#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"

typedef struct gb_db gb_db;
struct sqlite3;
struct sqlite3_stmt;

/* One schema step of one module. Versions start at 1 and increase by 1. */
typedef struct {
    int version;
    const char *sql; /* may hold several statements */
} gb_migration;

/* A module's schema steps. On PostgreSQL each step runs as gb_db_ddl_for_pg(sql) (dbq.h)
 * unless pg_steps has the same version: the SQL that translation cannot give (a trigger's
 * body). Initialize with designated initializers. */
typedef struct {
    const char *module;
    const gb_migration *steps;
    size_t count;
    const gb_migration *pg_steps;
    size_t pg_count;
} gb_migration_set;

/* Opens (creating if needed) the database file with WAL, a busy timeout, foreign keys on. */
gb_err gb_db_open(const char *path, gb_db **out);
void gb_db_close(gb_db *db);
const char *gb_db_path(const gb_db *db);

/* Applies every step newer than the module's recorded version, each in its own transaction. */
gb_err gb_db_migrate(gb_db *db, const gb_migration_set *sets, size_t nsets);
/* The version recorded for module, 0 if none. */
int gb_db_version(gb_db *db, const char *module);

/* ---- db_backup.c ---- */
/* GB_ERR_CONFLICT (err says which module) when the database records a schema version newer
 * than sets know, or a module they do not know (a newer gpubroker wrote it); else GB_OK with
 * *pending the number of steps still to apply. */
gb_err gb_db_schema_check(gb_db *db, const gb_migration_set *sets, size_t nsets, int *pending,
                          gb_errmsg err);
/* The check above, then, when an existing database has steps to apply, an online copy of it
 * to <path>.before-upgrade-<UTC time> (its path into backup_path, "" when none was needed),
 * logged, then gb_db_migrate. */
gb_err gb_db_upgrade(gb_db *db, const gb_migration_set *sets, size_t nsets, char *backup_path,
                     size_t backup_size, gb_errmsg err);
/* A consistent online copy of the database into the file dest (written as dest.part, synced,
 * then renamed over dest): SQLite's backup API in one read transaction. */
gb_err gb_db_backup(gb_db *db, const char *dest, gb_errmsg err);
gb_err gb_db_backup_handle(struct sqlite3 *src, const char *dest, gb_errmsg err);
/* Restores the backup file into dest: the backup must be an intact gpubroker database whose
 * schema sets know (else GB_ERR_CONFLICT / GB_ERR_INVALID, nothing changed); it is copied to
 * dest.restoring, a database at dest (with its -wal and -shm) is moved to
 * dest.replaced-<UTC time> (that path into moved, "" when there was none), and the copy takes
 * its place. The caller makes sure no process has dest open. */
gb_err gb_db_restore(const char *backup, const char *dest, const gb_migration_set *sets,
                     size_t nsets, char *moved, size_t moved_size, gb_errmsg err);

/* Returns the cached prepared statement for sql (prepared on first use on this connection),
 * reset with its bindings cleared; NULL on a prepare error (logged). The key is the sql text. */
struct sqlite3_stmt *gb_db_stmt(gb_db *db, const char *sql);
struct sqlite3 *gb_db_handle(gb_db *db);

/* Runs statements without results (for DDL and simple updates). */
gb_err gb_db_exec(gb_db *db, const char *sql);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Transactions do not nest: a begin inside one fails
 * with GB_ERR_INTERNAL. rollback is safe to call when no transaction is open. */
gb_err gb_db_begin(gb_db *db);
gb_err gb_db_commit(gb_db *db);
void gb_db_rollback(gb_db *db);
int gb_db_in_txn(gb_db *db);
/* Calls fn(ud) on this thread once the open transaction has committed (never if it rolls
 * back); at once when no transaction is open. The same fn and ud asked twice in one
 * transaction run once. For telling others about committed work (waking a worker): fn must
 * be quick and must not use db. Returns GB_ERR_NOMEM when the transaction already holds
 * GB_DB_AFTER_MAX (64: a grouped transaction holds the calls of up to 64 works) other calls
 * (then fn is not called). */
gb_err gb_db_after_commit(gb_db *db, void (*fn)(void *ud), void *ud);

/* What a request made, recorded in the transaction that made it. A caller that must know
 * whether a request's work committed even when it dies right after the commit (the
 * Idempotency-Key's reservation, broker/api/idem.c) sets fn on its connection for the request;
 * the code that makes the request's object calls gb_db_made(db, what) inside that object's
 * transaction (what: its id, under 128 bytes), which runs fn(db, what, ud) there, so fn's
 * writes commit or roll back with the object. gb_db_txn carries the caller's fn to the
 * connection its work runs on (the group's writer). gb_db_made is GB_OK and does nothing when
 * no fn is set; GB_ERR_INTERNAL outside a transaction. gb_db_on_made(db, NULL, NULL) clears. */
typedef gb_err (*gb_db_made_fn)(gb_db *db, const char *what, void *ud);
void gb_db_on_made(gb_db *db, gb_db_made_fn fn, void *ud);
gb_err gb_db_made(gb_db *db, const char *what);

/* Tells the processes that LISTEN on channel (gb_db_listen, PostgreSQL only) that the open
 * transaction committed work for them: a NOTIFY sent with its COMMIT (never if it rolls back),
 * or at once when no transaction is open. Nothing on SQLite, whose writers are all in this
 * process (gb_db_after_commit tells them). channel: [a-z_], under 64 characters; up to
 * GB_DB_NOTIFY_MAX channels a transaction, each sent once however often it is named
 * (GB_ERR_NOMEM past that: the channel is not told). */
#define GB_DB_NOTIFY_MAX 4
gb_err gb_db_notify(gb_db *db, const char *channel);
/* 1 when channel is a name gb_db_notify and gb_db_listen take ([a-z_], 1 to 63 chars). */
int gb_db_channel_ok(const char *channel);

/* A thread that LISTENs on channel over a connection of its own to url (PostgreSQL) and calls
 * fn(ud) after notifications arrive (several at once: one call), and once after each
 * (re)connection, since notifications sent while it was away are lost; a connection that broke
 * is opened again every second. For a SQLite url *out is NULL and nothing runs (GB_OK).
 * gb_db_listen_stop ends the thread (within about 200 ms) and frees it; NULL is fine. */
typedef struct gb_db_listener gb_db_listener;
gb_err gb_db_listen(const char *url, const char *channel, void (*fn)(void *ud), void *ud,
                    gb_db_listener **out);
void gb_db_listen_stop(gb_db_listener *l);

/* ---- db_group.c ---- */
/* A write transaction's work: fn(db, ud) runs inside it on db, which may be another connection
 * than the caller's (so fn uses db, never the caller's connection or thread-local state).
 * fn must not begin or commit; a result other than GB_OK undoes its writes. */
typedef gb_err (*gb_db_txn_fn)(gb_db *db, void *ud);
/* Runs fn in a write transaction and returns its result once that transaction committed (or
 * the begin's or commit's error; then nothing of fn stays). On a connection attached to a
 * group, the transaction is shared with other threads' calls (group commit); otherwise it is
 * this connection's own. GB_ERR_INTERNAL inside an open transaction. */
gb_err gb_db_txn(gb_db *db, gb_db_txn_fn fn, void *ud);

/* Group commit for one SQLite file: a writer connection of its own on which the works of
 * concurrent gb_db_txn calls run one after the other, each in its own savepoint (a failed one
 * is undone alone), and commit together; the first caller to arrive runs a batch (at most 64)
 * while the next gathers. A failed commit fails every work of its batch. A thread of the
 * group runs the WAL checkpoints of the connections attached to it. GB_ERR_INVALID for
 * ":memory:" and "file:" names (another connection would see another database). */
typedef struct gb_db_group gb_db_group;
gb_err gb_db_group_open(const char *path, gb_db_group **out);
/* After every connection attached to it is closed or idle for good. NULL is fine. */
void gb_db_group_close(gb_db_group *g);
/* gb_db_txn on db (SQLite) uses g from now on, and db's commits leave checkpoints to g's
 * checkpointer thread (instead of running SQLite's auto-checkpoint themselves); NULL: its own
 * transactions and auto-checkpoints again. */
void gb_db_group_attach(gb_db *db, gb_db_group *g);
gb_err gb_db_group_run(gb_db_group *g, gb_db_txn_fn fn, void *ud);
/* Works run and transactions committed so far, and works waiting for a leader now (each
 * NULL-able). */
void gb_db_group_stats(gb_db_group *g, uint64_t *runs, uint64_t *commits, int *queued);
/* WAL checkpoints run so far (the group's thread's, and the restarts its writers ran);
 * *restarts and *refused (NULL-able): the restarts of a WAL grown past its limit that went
 * through, and those a reader's snapshot refused (db_group.c). */
uint64_t gb_db_group_checkpoints(gb_db_group *g, uint64_t *restarts, uint64_t *refused);

/* Maps a SQLite result code to gb_err (constraint -> GB_ERR_CONFLICT), logging real errors. */
gb_err gb_db_check(gb_db *db, int rc, const char *what);

#endif
