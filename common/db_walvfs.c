/* db_walvfs.c: the VFS every gb_db_open connection uses: SQLite's default (unix) VFS, except
 * that a transaction's WAL frames reach the file in one write instead of two per page.
 *
 * SQLite appends each frame to the WAL as two writes, its 24-byte header and then its page
 * (walWriteOneFrame in SQLite's wal.c), so a commit that dirties eight pages is sixteen
 * pwrite calls; on this VM they were about half of a job creation's COMMIT
 * (docs/benchmarks.md). Here the WAL file's writes that continue one another are kept in a
 * buffer and written at once when the commit frame's page arrives (the frame header whose
 * "database size after commit" field, bytes 4-7, is not zero: the WAL format in SQLite's
 * fileformat2 documentation, https://www.sqlite.org/fileformat2.html#walformat).
 *
 * Safety: another connection reads a frame only after the writer publishes it in the
 * WAL-index header, and SQLite publishes (walIndexWriteHdr) only after the frames' writes,
 * through the main file's xShmBarrier; a write lock is given up through xShmLock. Both, and
 * every other operation on the WAL file (a read, a sync, a size, a truncate, a close), write
 * the buffer out first, so no frame is published, read back or left behind unwritten. A
 * write that fails is the error of the xWrite that completed the commit frame, and SQLite
 * rolls that commit back. A kill -9 loses only frames no reader could yet see. */
#include "common/db_int.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#define WV_NAME "gb-wal"
#define WV_FRAME_HDR 24 /* a WAL frame header */
#define WV_WAL_HDR 32   /* the WAL file's header, before the first frame */
/* a longer run is written in parts: the unix VFS writes at most 128 KiB - 1 bytes a call
 * (seekAndWriteFd masks the length with 0x1ffff) */
#define WV_BUF_MAX (120 * 1024)

typedef struct wv_file wv_file;
struct wv_file {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, in the same allocation */
    wv_file *wal;       /* a main database: its connection's open WAL file */
    wv_file *main;      /* a WAL file: its connection's main database */
    int is_wal;
    int commit_next;    /* the last buffered write was a commit frame's header */
    unsigned char *buf; /* WAL writes not yet in the file: [off, off + len) */
    size_t len, cap;
    sqlite3_int64 off;
};

static sqlite3_vfs g_vfs;
static sqlite3_vfs *g_real;

static int real_write(wv_file *f, const void *p, int n, sqlite3_int64 off)
{
    return f->real->pMethods->xWrite(f->real, p, n, off);
}

static int flush(wv_file *f)
{
    if (!f || !f->len) return SQLITE_OK;
    int rc = real_write(f, f->buf, (int)f->len, f->off);
    f->len = 0;
    f->commit_next = 0;
    return rc;
}

static int wv_close(sqlite3_file *p)
{
    wv_file *f = (wv_file *)p;
    int rc = flush(f);
    if (f->main && f->main->wal == f) f->main->wal = NULL;
    if (f->wal && f->wal->main == f) f->wal->main = NULL;
    int rc2 = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc ? rc : rc2;
}

static int wv_read(sqlite3_file *p, void *buf, int n, sqlite3_int64 off)
{
    wv_file *f = (wv_file *)p;
    int rc = flush(f);
    return rc ? rc : f->real->pMethods->xRead(f->real, buf, n, off);
}

/* a WAL write: appended to the buffer when it continues it; the commit frame's page ends it */
static int wv_write(sqlite3_file *p, const void *data, int n, sqlite3_int64 off)
{
    wv_file *f = (wv_file *)p;
    if (!f->is_wal || n <= 0) return f->real->pMethods->xWrite(f->real, data, n, off);
    int commit = f->commit_next; /* this write is the commit frame's page */
    const unsigned char *h = data;
    int header_of_commit = n == WV_FRAME_HDR && off >= WV_WAL_HDR && (h[4] | h[5] | h[6] | h[7]);
    bool follows = off == f->off + (sqlite3_int64)f->len;
    if (f->len && (!follows || f->len + (size_t)n > WV_BUF_MAX)) {
        int rc = flush(f);
        if (rc) return rc;
    }
    if (f->len + (size_t)n > f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64 * 1024;
        if (cap > WV_BUF_MAX) cap = WV_BUF_MAX;
        unsigned char *grown = f->len + (size_t)n <= cap ? realloc(f->buf, cap) : NULL;
        if (!grown) { /* bigger than a buffer, or no memory: straight to the file */
            int rc = flush(f);
            return rc ? rc : real_write(f, data, n, off);
        }
        f->buf = grown;
        f->cap = cap;
    }
    if (!f->len) f->off = off;
    memcpy(f->buf + f->len, data, (size_t)n);
    f->len += (size_t)n;
    f->commit_next = header_of_commit;
    return commit ? flush(f) : SQLITE_OK;
}

static int wv_truncate(sqlite3_file *p, sqlite3_int64 size)
{
    wv_file *f = (wv_file *)p;
    int rc = flush(f);
    return rc ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wv_sync(sqlite3_file *p, int flags)
{
    wv_file *f = (wv_file *)p;
    int rc = flush(f);
    if (!rc) rc = flush(f->wal);
    return rc ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wv_size(sqlite3_file *p, sqlite3_int64 *size)
{
    wv_file *f = (wv_file *)p;
    int rc = flush(f);
    return rc ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wv_lock(sqlite3_file *p, int level)
{
    wv_file *f = (wv_file *)p;
    return f->real->pMethods->xLock(f->real, level);
}

static int wv_unlock(sqlite3_file *p, int level)
{
    wv_file *f = (wv_file *)p;
    int rc = flush(f->wal);
    return rc ? rc : f->real->pMethods->xUnlock(f->real, level);
}

static int wv_reserved(sqlite3_file *p, int *out)
{
    wv_file *f = (wv_file *)p;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int wv_fcntl(sqlite3_file *p, int op, void *arg)
{
    wv_file *f = (wv_file *)p;
    int rc = flush(f);
    return rc ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wv_sector(sqlite3_file *p)
{
    wv_file *f = (wv_file *)p;
    return f->real->pMethods->xSectorSize(f->real);
}

static int wv_caps(sqlite3_file *p)
{
    wv_file *f = (wv_file *)p;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int wv_shm_map(sqlite3_file *p, int pg, int pgsz, int extend, void volatile **out)
{
    wv_file *f = (wv_file *)p;
    return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, out);
}

static int wv_shm_lock(sqlite3_file *p, int offset, int n, int flags)
{
    wv_file *f = (wv_file *)p;
    int rc = flush(f->wal);
    return rc ? rc : f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

/* SQLite calls it between writing the WAL-index header's two copies (walIndexWriteHdr), so
 * the frames it publishes are in the file first. The commit frame's page wrote them already;
 * anything still buffered here that cannot be written would be published unwritten, and
 * there is no way to say so (the method returns nothing): the process stops instead. */
static void wv_shm_barrier(sqlite3_file *p)
{
    wv_file *f = (wv_file *)p;
    if (flush(f->wal) != SQLITE_OK) {
        GB_ERROR("db", "cannot write WAL frames before publishing them; stopping");
        abort();
    }
    f->real->pMethods->xShmBarrier(f->real);
}

static int wv_shm_unmap(sqlite3_file *p, int del)
{
    wv_file *f = (wv_file *)p;
    int rc = flush(f->wal);
    return rc ? rc : f->real->pMethods->xShmUnmap(f->real, del);
}

static int wv_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
    wv_file *f = (wv_file *)p;
    int rc = flush(f);
    return rc ? rc : f->real->pMethods->xFetch(f->real, off, n, out);
}

static int wv_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
    wv_file *f = (wv_file *)p;
    return f->real->pMethods->xUnfetch(f->real, off, page);
}

static const sqlite3_io_methods k_io = {
    3,           wv_close,       wv_read,      wv_write, wv_truncate, wv_sync, wv_size,
    wv_lock,     wv_unlock,      wv_reserved,  wv_fcntl, wv_sector,   wv_caps, wv_shm_map,
    wv_shm_lock, wv_shm_barrier, wv_shm_unmap, wv_fetch, wv_unfetch,
};

static int wv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *p, int flags, int *out_flags)
{
    (void)vfs;
    wv_file *f = (wv_file *)p;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
    /* SQLite closes what has methods, even after a failed open */
    p->pMethods = f->real->pMethods ? &k_io : NULL;
    if (rc != SQLITE_OK) return rc;
    if (f->real->pMethods->iVersion < 3) { /* not what this forwards to: refuse, not guess */
        f->real->pMethods->xClose(f->real);
        p->pMethods = NULL;
        return SQLITE_CANTOPEN;
    }
    if ((flags & SQLITE_OPEN_WAL) && name) {
        sqlite3_file *m = sqlite3_database_file_object(name);
        if (m && m->pMethods == &k_io) {
            f->is_wal = 1;
            f->main = (wv_file *)m;
            f->main->wal = f;
        }
    }
    return SQLITE_OK;
}

static void register_vfs(void)
{
    g_real = sqlite3_vfs_find(NULL);
    if (!g_real) return;
    g_vfs = *g_real;
    g_vfs.zName = WV_NAME;
    g_vfs.pNext = NULL;
    g_vfs.pAppData = NULL;
    g_vfs.szOsFile = (int)sizeof(wv_file) + g_real->szOsFile; /* its file after ours */
    g_vfs.xOpen = wv_open;
    if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) g_real = NULL;
}

const char *gb_db_vfs(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_vfs);
    return g_real ? WV_NAME : NULL;
}
