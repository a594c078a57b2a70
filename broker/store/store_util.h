/* store_util.h: small helpers shared by the broker's *_store.c files (the only includers):
 * copying text columns into fixed buffers and running single-statement changes. */
#ifndef GB_STORE_UTIL_H
#define GB_STORE_UTIL_H

#include <sqlite3.h>
#include <string.h>

#include "common/db.h"
#include "common/str.h"

static inline void su_col(sqlite3_stmt *s, int i, char *buf, size_t n)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    gb_strlcpy(buf, t ? (const char *)t : "", n);
}

static inline char *su_col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? gb_strdup((const char *)t) : NULL;
}

static inline void su_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

/* Steps a bound change statement to completion; GB_ERR_NOT_FOUND when it changed no row
 * and must_change is set. */
static inline gb_err su_change(gb_db *db, sqlite3_stmt *s, int must_change, const char *what)
{
    int rc = sqlite3_step(s);
    gb_err e = gb_db_check(db, rc, what);
    if (!e && must_change && sqlite3_changes(gb_db_handle(db)) == 0) e = GB_ERR_NOT_FOUND;
    sqlite3_reset(s);
    return e;
}

/* Steps a bound query that gives one integer (an aggregate such as sum or count) into *out. */
static inline gb_err su_int64(gb_db *db, sqlite3_stmt *s, int64_t *out, const char *what)
{
    int rc = sqlite3_step(s);
    gb_err e = gb_db_check(db, rc, what);
    if (!e) *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return e;
}

#endif

/* ---- the same over common/dbq.h (both backends; docs/store.md): the stores move to these
 * one module at a time, then the sqlite3 versions above go ---- */
#ifndef GB_STORE_UTIL_Q
#define GB_STORE_UTIL_Q
#include "common/dbq.h"

static inline void sq_col(gb_q *q, int i, char *buf, size_t n)
{
    const char *t = gb_q_col_text(q, i);
    gb_strlcpy(buf, t ? t : "", n);
}

static inline char *sq_col_dup(gb_q *q, int i)
{
    const char *t = gb_q_col_text(q, i);
    return t ? gb_strdup(t) : NULL;
}

/* Runs a bound change statement to its end; GB_ERR_NOT_FOUND when it changed no row and
 * must_change is set. *changed (may be NULL) gets the count. */
static inline gb_err sq_change(gb_q *q, int must_change, int64_t *changed)
{
    int64_t n = 0;
    gb_err e = gb_q_run(q, &n);
    if (changed) *changed = n;
    if (!e && must_change && n == 0) e = GB_ERR_NOT_FOUND;
    return e;
}

/* Steps a bound query that gives one integer (an aggregate such as sum or count) into *out
 * (0 for no row or NULL). */
static inline gb_err sq_int64(gb_q *q, int64_t *out)
{
    int row = 0;
    gb_err e = gb_q_step(q, &row);
    *out = !e && row ? gb_q_col_int64(q, 0) : 0;
    gb_q_reset(q);
    return e;
}

/* Steps a bound query expected to give at most one row; row() copies it into out.
 * GB_ERR_NOT_FOUND for no row. */
static inline gb_err sq_one(gb_q *q, void (*row)(gb_q *, void *), void *out)
{
    int has = 0;
    gb_err e = gb_q_step(q, &has);
    if (!e && !has) e = GB_ERR_NOT_FOUND;
    if (!e) row(q, out);
    gb_q_reset(q);
    return e;
}
#endif

#ifndef GB_STORE_UTIL_ONE
#define GB_STORE_UTIL_ONE
/* Steps a bound query expected to give at most one row; row() copies it into out. */
static inline gb_err su_one(gb_db *db, sqlite3_stmt *s, void (*row)(sqlite3_stmt *, void *),
                            void *out, const char *what)
{
    int rc = sqlite3_step(s);
    gb_err e = rc == SQLITE_ROW    ? GB_OK
               : rc == SQLITE_DONE ? GB_ERR_NOT_FOUND
                                   : gb_db_check(db, rc, what);
    if (!e) row(s, out);
    sqlite3_reset(s);
    return e;
}
#endif
