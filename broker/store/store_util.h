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
