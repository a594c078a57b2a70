/* store_util.h: small helpers shared by the broker's *_store.c files (the only includers), over
 * common/dbq.h (both backends; docs/store.md): copying text columns into fixed buffers and
 * running single-statement changes and one-row queries. */
#ifndef GB_STORE_UTIL_H
#define GB_STORE_UTIL_H

#include <string.h>

#include "common/db.h"
#include "common/dbq.h"
#include "common/str.h"

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
