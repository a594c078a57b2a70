/* intents.c: the intent pool (see broker/core/intents.h): intents.workers threads, each with
 * its own database connection, claim due intents by lease and run them; a queued intent wakes
 * them, and they look again every second for retries and for other brokers' work. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/workers/intent_int.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "common/worker.h"
#include "vault/vault.h"

#define POLL_MS 1000
#define MAX_BACKOFF_MS 300000

typedef struct {
    intent_pool *pool;
    char owner[64];
    gb_worker *w;
} pool_thread;

struct intent_pool {
    app *a;
    int n;
    pool_thread *t;
    atomic_uint next_wake; /* where intent_pool_wake starts looking for an idle worker */
    char prefix[48];       /* of every owner: "intents-<pid>-<random>-" */
};

void intent_pool_owner_prefix(const intent_pool *p, char *out, size_t n)
{
    gb_strlcpy(out, p->prefix, n);
}

int intent_unsure(gb_err e)
{
    return e == GB_ERR_TIMEOUT || e == GB_ERR_HTTP || e == GB_ERR_PROVIDER;
}

int64_t intent_backoff(int n)
{
    int64_t ms = 1000;
    for (int i = 1; i < n && ms < MAX_BACKOFF_MS; i++)
        ms *= 2;
    return ms < MAX_BACKOFF_MS ? ms : MAX_BACKOFF_MS;
}

gb_err intent_begin(intent_job *j)
{
    return gb_db_begin(j->db);
}

gb_err intent_end(intent_job *j, gb_err e, const char *state, const char *err)
{
    intent_rec *r = j->r;
    gb_strlcpy(r->state, state, sizeof(r->state));
    gb_strlcpy(r->last_error, err ? err : "", sizeof(r->last_error));
    r->unsure_until = 0;
    if (!e) e = intent_save(j->db, r, j->owner, 1);
    if (!e && r->kind == INTENT_CREATE) {
        char ref[64];
        intent_spec_ref(r->id, ref, sizeof(ref));
        e = vault_delete(j->db, ref);
    }
    if (!e)
        e = gb_db_commit(j->db);
    else
        gb_db_rollback(j->db);
    if (e)
        GB_WARN("intents", "%s %s of %s: could not record the outcome: %s",
                intent_kind_name(r->kind), state, r->pod_id, gb_strerror(e));
    return e;
}

bool intent_lease_held(void *ud, int64_t *send_by)
{
    intent_job *j = ud;
    int64_t until = gb_now_ms() + intent_lease_ms(j->a);
    /* a request must leave while the lease lasts; a create's, settle_ms before the worker that
     * takes the intent over (once the lease has run out) stops looking for its workload by
     * name (at the window's end, or at once when it takes over later): a workload made later
     * would be missed, and made twice */
    *send_by = until;
    if (j->window_until)
        *send_by = (j->window_until > until ? j->window_until : until) - j->a->cfg.intent_settle_ms;
    return intent_renew(j->db, j->r->id, j->owner, until) == GB_OK;
}

void intent_fence_begin(intent_job *j)
{
    prov_fence_set(intent_lease_held, j);
}

bool intent_fence_end(intent_job *j, const char *what)
{
    bool fenced = prov_fence_tripped();
    prov_fence_set(NULL, NULL);
    if (fenced)
        GB_WARN("intents",
                "%s: the intent's lease ran out or another worker took it over during the %s;"
                " not sent",
                j->p->id, what);
    return fenced;
}

gb_err intent_retry(intent_job *j, int64_t at, const char *err)
{
    return intent_retry_noting(j, at, err, NULL, NULL);
}

gb_err intent_retry_noting(intent_job *j, int64_t at, const char *err, const char *type,
                           const char *msg)
{
    intent_rec *r = j->r;
    r->next_at = at;
    if (err) gb_strlcpy(r->last_error, err, sizeof(r->last_error));
    gb_err e = type ? gb_db_begin(j->db) : GB_OK;
    if (!e && type) e = pod_event_add(j->db, j->p->id, gb_now_ms(), type, NULL, NULL, msg);
    if (!e) e = intent_save(j->db, r, j->owner, 1);
    if (type) {
        if (!e)
            e = gb_db_commit(j->db);
        else
            gb_db_rollback(j->db);
    }
    if (e)
        GB_WARN("intents", "%s of %s: could not reschedule: %s", intent_kind_name(r->kind),
                r->pod_id, gb_strerror(e));
    return e;
}

gb_err intent_find_by_name(app *a, prov_adapter *ad, const char *name, prov_pod *out, char *err)
{
    if (ad->ops->find_by_name) { /* one request where the platform can filter by name */
        int64_t t0 = gb_mono_ms();
        gb_err e = ad->ops->find_by_name(ad, name, out, err);
        registry_note(a, ad->name, e == GB_ERR_NOT_FOUND ? GB_OK : e, gb_mono_ms() - t0, err);
        return !e && out->status == POD_DELETED ? GB_ERR_NOT_FOUND : e;
    }
    if (!ad->ops->list_pods) {
        gb_snprintf(err, PROV_ERR_MAX, "%s cannot list workloads", ad->name);
        return GB_ERR_NOT_FOUND;
    }
    prov_pod *pods = NULL;
    size_t n = 0;
    int64_t t0 = gb_mono_ms();
    gb_err e = ad->ops->list_pods(ad, &pods, &n, err);
    registry_note(a, ad->name, e, gb_mono_ms() - t0, err);
    if (e) return e == GB_ERR_NOT_FOUND ? GB_ERR_PROVIDER : e;
    e = GB_ERR_NOT_FOUND;
    for (size_t i = 0; i < n; i++)
        if (strcmp(pods[i].name, name) == 0 && pods[i].status != POD_DELETED) {
            *out = pods[i];
            e = GB_OK;
            break;
        }
    free(pods);
    return e;
}

static void run(app *a, gb_db *db, const char *owner, intent_rec *r)
{
    pod_rec p;
    memset(&p, 0, sizeof(p));
    intent_job j = {.a = a, .db = db, .owner = owner, .r = r, .p = &p};
    gb_err e = pod_get(db, r->account_id, r->pod_id, &p);
    if (e == GB_ERR_NOT_FOUND) {
        if (!intent_begin(&j)) intent_end(&j, GB_OK, "cancelled", "the pod no longer exists");
    } else if (e) {
        intent_retry(&j, gb_now_ms() + intent_backoff(1), gb_strerror(e));
    } else if (r->kind == INTENT_CREATE) {
        intent_run_create(&j);
    } else {
        intent_run_op(&j);
    }
    pod_rec_clear(&p);
}

int64_t intent_lease_ms(const app *a)
{
    return a->cfg.intent_lease_ms > 0 ? a->cfg.intent_lease_ms
                                      : 2 * (int64_t)a->cfg.provider_timeout_ms + 10000;
}

int intent_pool_run_due(app *a, gb_db *db, const char *owner, int max)
{
    int ran = 0;
    while (ran < max) {
        intent_rec r;
        if (intent_claim(db, owner, gb_now_ms(), intent_lease_ms(a), &r) != GB_OK) break;
        /* the provider calls and log lines of this intent carry the id of the request that
         * queued it (none for the reconciler's or the job runner's own intents) */
        gb_request_id_set(r.request_id[0] ? r.request_id : NULL);
        run(a, db, owner, &r);
        gb_request_id_set(NULL);
        intent_rec_clear(&r);
        ran++;
    }
    return ran;
}

static bool round_fn(void *ud)
{
    pool_thread *t = ud;
    gb_db *db = app_db(t->pool->a);
    return db && intent_pool_run_due(t->pool->a, db, t->owner, 1) > 0;
}

static void thread_end(void *ud)
{
    (void)ud;
    app_db_release();
}

gb_err intent_pool_start(app *a, intent_pool **out)
{
    *out = NULL;
    intent_pool *p = calloc(1, sizeof(*p));
    int n = a->cfg.intent_workers > 0 ? a->cfg.intent_workers : 1;
    if (!p || !(p->t = calloc((size_t)n, sizeof(*p->t)))) {
        free(p);
        return GB_ERR_NOMEM;
    }
    p->a = a;
    char rnd[9];
    gb_random_base62(rnd, 8);
    snprintf(p->prefix, sizeof(p->prefix), "intents-%d-%s-", (int)getpid(), rnd);
    for (int i = 0; i < n; i++) {
        pool_thread *t = &p->t[i];
        t->pool = p;
        snprintf(t->owner, sizeof(t->owner), "%s%d", p->prefix, i);
        gb_worker_cfg wc = {.name = "intents",
                            .interval_ms = POLL_MS,
                            .round = round_fn,
                            .thread_end = thread_end,
                            .ud = t};
        if (gb_worker_start(&wc, &t->w) != GB_OK) {
            intent_pool_stop(p);
            return GB_ERR_INTERNAL;
        }
        p->n = i + 1;
    }
    a->intents = p;
    *out = p;
    GB_INFO("intents", "%d worker(s) carry out provider mutations", n);
    return GB_OK;
}

void intent_pool_stop(intent_pool *p)
{
    if (!p) return;
    if (p->a && p->a->intents == p) p->a->intents = NULL;
    for (int i = 0; i < p->n; i++)
        gb_worker_stop(p->t[i].w);
    free(p->t);
    free(p);
}

void intent_pool_wake(app *a)
{
    intent_pool *p = a ? a->intents : NULL;
    if (!p) return;
    /* one idle worker is enough (waking all made every create cost n claim transactions); a
     * busy worker that ran an intent looks for the next one as soon as it is done */
    unsigned start = atomic_fetch_add(&p->next_wake, 1u);
    for (int i = 0; i < p->n; i++) {
        pool_thread *t = &p->t[(start + (unsigned)i) % (unsigned)p->n];
        if (gb_worker_deadline(t->w) != 0) {
            gb_worker_wake(t->w);
            return;
        }
    }
}
