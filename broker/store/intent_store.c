/* intent_store.c: the pod_intents table (see broker/core/intents.h): inserting, claiming by
 * lease in pod order, saving progress, cancelling a create no worker has started. */
#include <stdio.h>
#include <stdlib.h>

#include "broker/core/intents.h"
#include "broker/store/store_util.h"
#include "common/clock.h"
#include "common/log.h"

static const char *const KIND_NAMES[] = {"create", "start", "stop", "update", "delete"};

const char *intent_kind_name(intent_kind k)
{
    return (unsigned)k < sizeof(KIND_NAMES) / sizeof(KIND_NAMES[0]) ? KIND_NAMES[k] : "?";
}

int intent_kind_parse(const char *s, intent_kind *out)
{
    for (size_t i = 0; s && i < sizeof(KIND_NAMES) / sizeof(KIND_NAMES[0]); i++)
        if (strcmp(s, KIND_NAMES[i]) == 0) {
            *out = (intent_kind)i;
            return 0;
        }
    return -1;
}

void intent_rec_clear(intent_rec *r)
{
    if (!r) return;
    free(r->offers);
    free(r->changes);
    r->offers = r->changes = NULL;
}

void intent_spec_ref(int64_t id, char *out, size_t n)
{
    snprintf(out, n, "intents/%lld/spec", (long long)id);
}

#define COLS                                                                                       \
    "id, pod_id, account_id, kind, state, attempts, offer_index, offers, changes, unsure_until,"   \
    " next_at, lease_owner, lease_until, created_at, last_error, request_id"

static void row(gb_q *s, void *out)
{
    intent_rec *r = out;
    r->id = gb_q_col_int64(s, 0);
    sq_col(s, 1, r->pod_id, sizeof(r->pod_id));
    sq_col(s, 2, r->account_id, sizeof(r->account_id));
    const char *k = gb_q_col_text(s, 3);
    if (intent_kind_parse(k ? k : "", &r->kind)) r->kind = INTENT_DELETE;
    sq_col(s, 4, r->state, sizeof(r->state));
    r->attempts = (int)gb_q_col_int64(s, 5);
    r->offer_index = (int)gb_q_col_int64(s, 6);
    r->offers = sq_col_dup(s, 7);
    r->changes = sq_col_dup(s, 8);
    r->unsure_until = gb_q_col_int64(s, 9);
    r->next_at = gb_q_col_int64(s, 10);
    sq_col(s, 11, r->lease_owner, sizeof(r->lease_owner));
    r->lease_until = gb_q_col_int64(s, 12);
    r->created_at = gb_q_col_int64(s, 13);
    sq_col(s, 14, r->last_error, sizeof(r->last_error));
    sq_col(s, 15, r->request_id, sizeof(r->request_id));
}

gb_err intent_insert(gb_db *db, intent_rec *r)
{
    gb_q *s = gb_q_prep(
        db, "INSERT INTO pod_intents(pod_id, account_id, kind, state, offers, changes, next_at,"
            " created_at, updated_at, request_id) VALUES(?1,?2,?3,'queued',?4,?5,?6,?7,?7,?8)"
            " RETURNING id");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, r->pod_id);
    gb_q_text(s, 2, r->account_id);
    gb_q_text(s, 3, intent_kind_name(r->kind));
    gb_q_text(s, 4, r->offers);
    gb_q_text(s, 5, r->changes);
    gb_q_int64(s, 6, r->next_at);
    gb_q_int64(s, 7, r->created_at);
    if (!r->request_id[0] && gb_request_id())
        gb_strlcpy(r->request_id, gb_request_id(), sizeof(r->request_id));
    gb_q_text(s, 8, r->request_id);
    int has = 0;
    gb_err e = gb_q_step(s, &has);
    if (!e && !has) e = GB_ERR_DB; /* RETURNING gives the row it inserted */
    if (!e) {
        r->id = gb_q_col_int64(s, 0);
        gb_strlcpy(r->state, "queued", sizeof(r->state));
    }
    gb_q_reset(s);
    return e;
}

gb_err intent_claim(gb_db *db, const char *owner, int64_t now, int64_t lease_ms, intent_rec *out)
{
    memset(out, 0, sizeof(*out));
    gb_err e = gb_db_begin(db);
    if (e) return e;
    gb_q *s =
        gb_q_prep(db, "SELECT " COLS " FROM pod_intents i WHERE state = 'queued' AND next_at <= ?1"
                      " AND lease_until <= ?1 AND NOT EXISTS (SELECT 1 FROM pod_intents j WHERE"
                      " j.pod_id = i.pod_id AND j.state = 'queued' AND j.id < i.id)"
                      " ORDER BY next_at, id LIMIT 1 FOR UPDATE SKIP LOCKED");
    if (!s) {
        e = GB_ERR_DB;
        goto fail;
    }
    gb_q_int64(s, 1, now);
    if ((e = sq_one(s, row, out))) goto fail;
    s = gb_q_prep(db, "UPDATE pod_intents SET lease_owner = ?2, lease_until = ?3, updated_at = ?4"
                      " WHERE id = ?1");
    if (!s) {
        e = GB_ERR_DB;
        goto fail;
    }
    gb_q_int64(s, 1, out->id);
    gb_q_text(s, 2, owner);
    gb_q_int64(s, 3, now + lease_ms);
    gb_q_int64(s, 4, now);
    if ((e = sq_change(s, 1, NULL))) goto fail;
    if ((e = gb_db_commit(db))) goto fail;
    gb_strlcpy(out->lease_owner, owner, sizeof(out->lease_owner));
    out->lease_until = now + lease_ms;
    return GB_OK;
fail:
    gb_db_rollback(db);
    intent_rec_clear(out);
    return e;
}

gb_err intent_get(gb_db *db, int64_t id, intent_rec *out)
{
    memset(out, 0, sizeof(*out));
    gb_q *s = gb_q_prep(db, "SELECT " COLS " FROM pod_intents WHERE id = ?1");
    if (!s) return GB_ERR_DB;
    gb_q_int64(s, 1, id);
    return sq_one(s, row, out);
}

gb_err intent_save(gb_db *db, const intent_rec *r, const char *owner, int release)
{
    gb_q *s = gb_q_prep(db, "UPDATE pod_intents SET state = ?3, attempts = ?4, offer_index = ?5,"
                            " unsure_until = ?6, next_at = ?7, last_error = ?8, updated_at = ?9,"
                            " lease_until = CASE WHEN ?10 <> 0 THEN 0 ELSE lease_until END,"
                            " lease_owner = CASE WHEN ?10 <> 0 THEN '' ELSE lease_owner END"
                            " WHERE id = ?1 AND lease_owner = ?2");
    if (!s) return GB_ERR_DB;
    gb_q_int64(s, 1, r->id);
    gb_q_text(s, 2, owner);
    gb_q_text(s, 3, r->state);
    gb_q_int64(s, 4, r->attempts);
    gb_q_int64(s, 5, r->offer_index);
    gb_q_int64(s, 6, r->unsure_until);
    gb_q_int64(s, 7, r->next_at);
    gb_q_text(s, 8, r->last_error);
    gb_q_int64(s, 9, gb_now_ms());
    gb_q_int64(s, 10, release);
    gb_err e = sq_change(s, 1, NULL);
    return e == GB_ERR_NOT_FOUND ? GB_ERR_CONFLICT : e;
}

gb_err intent_renew(gb_db *db, int64_t id, const char *owner, int64_t until)
{
    gb_q *s = gb_q_prep(db, "UPDATE pod_intents SET lease_until = ?3 WHERE id = ?1"
                            " AND lease_owner = ?2 AND state = 'queued'");
    if (!s) return GB_ERR_DB;
    gb_q_int64(s, 1, id);
    gb_q_text(s, 2, owner);
    gb_q_int64(s, 3, until);
    gb_err e = sq_change(s, 1, NULL);
    return e == GB_ERR_NOT_FOUND ? GB_ERR_CONFLICT : e;
}

gb_err intent_cancel_unstarted_create(gb_db *db, const char *pod_id, int64_t now, int *cancelled)
{
    *cancelled = 0;
    gb_q *s = gb_q_prep(
        db, "UPDATE pod_intents SET state = 'cancelled', updated_at = ?2 WHERE pod_id = ?1 AND"
            " kind = 'create' AND state = 'queued' AND attempts = 0 AND lease_until <= ?2");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, pod_id);
    gb_q_int64(s, 2, now);
    int64_t n = 0;
    gb_err e = sq_change(s, 0, &n);
    if (!e) *cancelled = n > 0;
    return e;
}

gb_err intent_count_queued(gb_db *db, int64_t *out)
{
    gb_q *s = gb_q_prep(db, "SELECT count(*) FROM pod_intents WHERE state = 'queued'");
    if (!s) return GB_ERR_DB;
    return sq_int64(s, out);
}

gb_err intent_release_prefix(gb_db *db, const char *prefix, int64_t *released)
{
    gb_q *s = gb_q_prep(db, "UPDATE pod_intents SET lease_until = 0, lease_owner = ''"
                            " WHERE state = 'queued' AND lease_owner <> ''"
                            " AND substr(lease_owner, 1, length(?1)) = ?1");
    if (!s) return GB_ERR_DB;
    gb_q_text(s, 1, prefix);
    return sq_change(s, 0, released);
}

int intent_create_pending(gb_db *db, const char *pod_id)
{
    gb_q *s = gb_q_prep(db, "SELECT 1 FROM pod_intents WHERE pod_id = ?1 AND"
                            " kind = 'create' AND state = 'queued'");
    if (!s) return 1; /* on error, assume it may */
    gb_q_text(s, 1, pod_id);
    int yes = 0;
    if (gb_q_step(s, &yes)) yes = 1; /* on error, assume it may */
    gb_q_reset(s);
    return yes;
}
