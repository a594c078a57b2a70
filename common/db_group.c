/* db_group.c: group commit for one SQLite file. Every write transaction in SQLite pays a
 * BEGIN, a COMMIT that appends its dirty pages to the WAL, now and then a checkpoint, and, on
 * each of the other connections, page re-reads after that commit; with one connection per
 * HTTP thread, job creation spent three quarters of its time there (docs/benchmarks.md). Here
 * the threads hand their transaction's work (a function) to one writer connection: the first
 * thread to arrive leads, runs its own work and that of every thread queued behind it, each in
 * its own SAVEPOINT (a refusal undoes only that work), commits them together, and wakes the
 * others with their results. Threads that arrive while a batch runs make up the next batch,
 * led by the first of them, so a leader only ever runs one batch and waits for no one.
 * Nothing is answered before its commit: a caller's GB_OK means its work is on disk. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/db_int.h"
#include "common/log.h"

#define GROUP_MAX 64           /* works in one transaction at most */
#define CHECKPOINT_FRAMES 1000 /* SQLite's own auto-checkpoint threshold (pages in the WAL) */
/* A WAL this long (16 MB of 4 KB pages) is restarted, not only copied: under writes and reads
 * that never pause, a passive checkpoint never catches up with the last commit, so the next
 * writer never starts the WAL over and it grows by every page written (513 MB after 34,000
 * job creations in bench/jobs_create.sh; each append past the end of the file also costs the
 * kernel a zeroed page). */
#define RESTART_FRAMES 4096
/* A restart waits at most this long for readers still on the WAL; one that could not finish
 * (a reader keeps an old snapshot: a backup, a long export) is tried again only after
 * RESTART_FRAMES more pages, so a long reader costs writers a few milliseconds now and then,
 * never every commit. */
#define RESTART_WAIT_MS 20

typedef enum { W_QUEUED, W_LEAD, W_DONE } wstate;

typedef struct work {
    gb_db_txn_fn fn;
    void *ud;
    gb_db_made_fn made_fn; /* the caller's gb_db_on_made, run on the writer for its work */
    void *made_ud;
    gb_err result;
    wstate state;
    pthread_cond_t cv; /* its caller waits on it: each wakes only when its own state changes */
    struct work *next;
} work;

struct gb_db_group {
    gb_db *db; /* the writer connection: used by the leader of the moment only */
    pthread_mutex_t mu;
    work *head, *tail; /* queued, not yet taken by a leader */
    int leading;       /* a leader runs a batch */
    uint64_t runs, commits;
    /* the checkpointer: a thread of its own copies the WAL into the database each time
     * commits on attached connections have written CHECKPOINT_FRAMES more to it (and it holds
     * that many), so no writer pays a checkpoint (and its fsync) while other writers wait for
     * the write lock */
    gb_db *ck_db;
    pthread_t ck;
    int ck_started;
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cv;
    int ck_due, ck_stop;
    uint64_t checkpoints, restarts, refused;
    int restart_after; /* atomic; frames: no restart before the WAL is this long */
    int ck_due_at;     /* atomic; frames: the WAL's length when a checkpoint was last asked */
    /* held while a checkpoint runs: a restart waits here for the thread's passive one to end
     * (the checkpoint lock would otherwise refuse it, SQLITE_BUSY, under sustained load) */
    pthread_mutex_t ck_run_mu;
};

static void *checkpointer(void *ud)
{
    gb_db_group *g = ud;
    pthread_mutex_lock(&g->ck_mu);
    for (;;) {
        while (!g->ck_due && !g->ck_stop)
            pthread_cond_wait(&g->ck_cv, &g->ck_mu);
        if (g->ck_stop) break;
        g->ck_due = 0;
        pthread_mutex_unlock(&g->ck_mu);
        /* PASSIVE, as SQLite's auto-checkpoint: never waits for readers or writers */
        pthread_mutex_lock(&g->ck_run_mu);
        int rc =
            sqlite3_wal_checkpoint_v2(g->ck_db->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_unlock(&g->ck_run_mu);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) gb_db_check(g->ck_db, rc, "checkpoint");
        pthread_mutex_lock(&g->ck_mu);
        g->checkpoints++;
    }
    pthread_mutex_unlock(&g->ck_mu);
    return NULL;
}

/* sqlite3_wal_hook of attached connections: after each commit, with the WAL's page count.
 * A WAL past RESTART_FRAMES is restarted here, by the writer that just committed: it still
 * holds this process's writer mutex (db_wlock.c), so no writer of ours can append meanwhile,
 * and the checkpointer thread, which would have to win that mutex from writers that take it
 * back at once, cannot be starved of it (under load it was: 35-53 MB). The RESTART copies
 * what the passive checkpoints left and waits (busy handler) for the readers still on the
 * WAL; the next commit starts it over. The writer's own transaction is already committed. */
static int wal_hook(void *ud, sqlite3 *h, const char *name, int frames)
{
    gb_db_group *g = ud;
    /* every commit passes here: the common case (a short WAL) takes no lock */
    int asked = __atomic_load_n(&g->ck_due_at, __ATOMIC_RELAXED);
    if (frames < asked) /* the WAL started over since */
        __atomic_store_n(&g->ck_due_at, asked = 0, __ATOMIC_RELAXED);
    if (frames < CHECKPOINT_FRAMES) {
        if (__atomic_load_n(&g->restart_after, __ATOMIC_RELAXED))
            __atomic_store_n(&g->restart_after, 0, __ATOMIC_RELAXED); /* started over */
        return SQLITE_OK;
    }
    int after = __atomic_load_n(&g->restart_after, __ATOMIC_RELAXED);
    if (frames >= (after > RESTART_FRAMES ? after : RESTART_FRAMES)) {
        pthread_mutex_lock(&g->ck_run_mu);
        sqlite3_busy_timeout(h, RESTART_WAIT_MS);
        int rc = sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        sqlite3_busy_timeout(h, GB_DB_BUSY_TIMEOUT_MS);
        pthread_mutex_unlock(&g->ck_run_mu);
        pthread_mutex_lock(&g->ck_mu);
        g->checkpoints++;
        g->restarts += rc == SQLITE_OK;
        g->refused += rc != SQLITE_OK;
        pthread_mutex_unlock(&g->ck_mu);
        /* at most once per RESTART_FRAMES pages written: an operator sees why the WAL grows */
        if (rc != SQLITE_OK)
            GB_WARN("db",
                    "WAL restart refused (%s): a reader holds an old snapshot (a backup, a long "
                    "export); the WAL is %d pages, tried again after %d more",
                    sqlite3_errstr(rc), frames, RESTART_FRAMES);
        __atomic_store_n(&g->restart_after, rc == SQLITE_OK ? 0 : frames + RESTART_FRAMES,
                         __ATOMIC_RELAXED);
        return SQLITE_OK;
    }
    /* one checkpoint per CHECKPOINT_FRAMES written since the last one was asked for, not one
     * per commit past the threshold: each costs two fsyncs, and back to back they copied the
     * same hot pages again and again (9,000 in 6 s of job creation, docs/benchmarks.md) */
    if (frames - asked < CHECKPOINT_FRAMES) return SQLITE_OK;
    __atomic_store_n(&g->ck_due_at, frames, __ATOMIC_RELAXED);
    pthread_mutex_lock(&g->ck_mu);
    if (!g->ck_due) {
        g->ck_due = 1;
        pthread_cond_signal(&g->ck_cv);
    }
    pthread_mutex_unlock(&g->ck_mu);
    return SQLITE_OK;
}

gb_err gb_db_group_open(const char *path, gb_db_group **out)
{
    *out = NULL;
    if (!path || !path[0] || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return GB_ERR_INVALID; /* another connection would be another database */
    gb_db_group *g = calloc(1, sizeof(*g));
    if (!g) return GB_ERR_NOMEM;
    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->ck_mu, NULL);
    pthread_mutex_init(&g->ck_run_mu, NULL);
    pthread_cond_init(&g->ck_cv, NULL);
    gb_err e = gb_db_open(path, &g->db);
    if (!e) e = gb_db_open(path, &g->ck_db);
    if (!e && pthread_create(&g->ck, NULL, checkpointer, g) != 0) e = GB_ERR_INTERNAL;
    if (e) {
        gb_db_group_close(g);
        return e;
    }
    g->ck_started = 1;
    gb_db_group_attach(g->db, g);
    *out = g;
    return GB_OK;
}

void gb_db_group_close(gb_db_group *g)
{
    if (!g) return;
    if (g->ck_started) {
        pthread_mutex_lock(&g->ck_mu);
        g->ck_stop = 1;
        pthread_cond_signal(&g->ck_cv);
        pthread_mutex_unlock(&g->ck_mu);
        pthread_join(g->ck, NULL);
    }
    gb_db_close(g->db);
    gb_db_close(g->ck_db);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->ck_mu);
    pthread_mutex_destroy(&g->ck_run_mu);
    pthread_cond_destroy(&g->ck_cv);
    free(g);
}

void gb_db_group_attach(gb_db *db, gb_db_group *g)
{
    if (!db || db->kind != GB_DB_SQLITE) return;
    db->group = g;
    if (g)
        sqlite3_wal_hook(db->h, wal_hook, g); /* replaces SQLite's auto-checkpoint */
    else
        sqlite3_wal_autocheckpoint(db->h, CHECKPOINT_FRAMES);
}

uint64_t gb_db_group_checkpoints(gb_db_group *g, uint64_t *restarts, uint64_t *refused)
{
    pthread_mutex_lock(&g->ck_mu);
    uint64_t n = g->checkpoints;
    if (restarts) *restarts = g->restarts;
    if (refused) *refused = g->refused;
    pthread_mutex_unlock(&g->ck_mu);
    return n;
}

void gb_db_group_stats(gb_db_group *g, uint64_t *runs, uint64_t *commits, int *queued)
{
    pthread_mutex_lock(&g->mu);
    if (runs) *runs = g->runs;
    if (commits) *commits = g->commits;
    if (queued) {
        *queued = 0;
        for (work *w = g->head; w; w = w->next)
            if (w->state == W_QUEUED) (*queued)++;
    }
    pthread_mutex_unlock(&g->mu);
}

static gb_err step(gb_db *db, const char *sql)
{
    sqlite3_stmt *s = gb_db_stmt(db, sql);
    return s ? gb_db_check(db, sqlite3_step(s), sql) : GB_ERR_DB;
}

/* One work in its own savepoint: undone alone when it fails, with the after-commit calls it
 * asked for. */
static void run_one(gb_db *db, work *w)
{
    int nafter = db->nafter;
    if ((w->result = step(db, "SAVEPOINT gb_group"))) return;
    gb_db_on_made(db, w->made_fn, w->made_ud);
    w->result = w->fn(db, w->ud);
    gb_db_on_made(db, NULL, NULL);
    if (!gb_db_in_txn(db)) return; /* SQLite ended the transaction (I/O error, full disk) */
    if (w->result) {
        db->nafter = nafter;
        gb_err e = step(db, "ROLLBACK TO gb_group");
        if (!e) e = step(db, "RELEASE gb_group");
        if (e) gb_db_rollback(db); /* the batch fails with it: see run_batch */
        return;
    }
    gb_err e = step(db, "RELEASE gb_group");
    if (e) w->result = e;
}

/* Runs the batch in one transaction; every work gets its result (a failed transaction's
 * error for the ones that had succeeded in it). */
static void run_batch(gb_db_group *g, work *batch)
{
    gb_db *db = g->db;
    gb_err e = gb_db_begin(db);
    for (work *w = batch; w; w = w->next) {
        if (e) {
            w->result = e;
            continue;
        }
        run_one(db, w);
        if (!gb_db_in_txn(db)) {
            e = w->result ? w->result : GB_ERR_DB;
            GB_ERROR("db", "a grouped transaction ended inside one of its works: all fail");
        }
    }
    if (!e) e = gb_db_commit(db); /* runs the after-commit calls of the works that stay */
    if (!e) return;
    gb_db_rollback(db);
    for (work *w = batch; w; w = w->next)
        if (!w->result) w->result = e;
}

static gb_err group_run(gb_db_group *g, gb_db_txn_fn fn, void *ud, const gb_db *caller)
{
    work me = {.fn = fn,
               .ud = ud,
               .made_fn = caller ? caller->made_fn : NULL,
               .made_ud = caller ? caller->made_ud : NULL,
               .state = W_QUEUED};
    pthread_cond_init(&me.cv, NULL);
    pthread_mutex_lock(&g->mu);
    if (g->tail)
        g->tail->next = &me;
    else
        g->head = &me;
    g->tail = &me;
    if (!g->leading) {
        g->leading = 1;
        me.state = W_LEAD;
    }
    while (me.state == W_QUEUED)
        pthread_cond_wait(&me.cv, &g->mu);
    if (me.state == W_DONE) {
        pthread_mutex_unlock(&g->mu);
        pthread_cond_destroy(&me.cv);
        return me.result;
    }
    /* leading: take up to GROUP_MAX queued works (this one is the first: a leader is named
     * only when the queue was empty or from its head) */
    work *batch = g->head, *last = batch;
    int n = 1;
    while (last->next && n < GROUP_MAX) {
        last = last->next;
        n++;
    }
    g->head = last->next;
    if (!g->head) g->tail = NULL;
    last->next = NULL;
    pthread_mutex_unlock(&g->mu);

    run_batch(g, batch);

    pthread_mutex_lock(&g->mu);
    g->runs += (uint64_t)n;
    g->commits++;
    /* one wake-up per caller, not a broadcast that would wake the next batch's callers too */
    for (work *w = batch, *next; w; w = next) {
        next = w->next; /* w lives on its caller's stack: read before it may return */
        w->state = W_DONE;
        if (w != &me) pthread_cond_signal(&w->cv);
    }
    if (g->head) {
        g->head->state = W_LEAD; /* the next batch's leader */
        pthread_cond_signal(&g->head->cv);
    } else {
        g->leading = 0;
    }
    gb_err r = me.result;
    pthread_mutex_unlock(&g->mu);
    pthread_cond_destroy(&me.cv);
    return r;
}

gb_err gb_db_group_run(gb_db_group *g, gb_db_txn_fn fn, void *ud)
{
    return group_run(g, fn, ud, NULL);
}

gb_err gb_db_txn(gb_db *db, gb_db_txn_fn fn, void *ud)
{
    if (gb_db_in_txn(db)) {
        /* the group's connection would wait for this one's write lock */
        GB_ERROR("db", "gb_db_txn inside a transaction");
        return GB_ERR_INTERNAL;
    }
    if (db->group) return group_run(db->group, fn, ud, db);
    gb_err e = gb_db_begin(db);
    if (e) return e;
    e = fn(db, ud);
    if (!e) e = gb_db_commit(db);
    if (e) gb_db_rollback(db);
    return e;
}
