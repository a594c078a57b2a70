/* reconciler.c: polls due pods at their providers (one list call per provider and round
 * where the platform has one, paced inside half of the platform's published request budget;
 * backoff on failures and slower polls for settled pods), writes each status change with an
 * event in one transaction, and lists each provider's workloads for orphans every few rounds.
 * Several brokers on one database share the due pods by claiming them (pod_claim_due), every
 * write back is conditional on the status read, and a provider's orphan check is taken by
 * one broker per period (orphan_check_take), whose report all of them show. */
#include "broker/workers/reconciler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/core/intents.h"
#include "broker/core/pods.h"
#include "broker/core/registry.h"
#include "broker/core/meter.h"
#include "broker/store/orphan_store.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "common/worker.h"
#include "jobs/ledger.h"

#define BATCH 256
#define MAX_BACKOFF_MS 300000
#define SETTLED_FACTOR 6
#define MAX_PACED 64

/* When the reconciler may next call one provider (pacing inside its hourly budget). */
typedef struct {
    char name[PROV_NAME_MAX];
    int64_t next_at;       /* monotonic ms */
    int64_t orphan_due_at; /* ms: the store is not asked for the orphan check before */
} pace;

struct reconciler {
    app *a;
    gb_worker *w;
    pace paces[MAX_PACED]; /* the worker thread's own */
    int npaces;
};

typedef struct {
    pod_rec *items;
    size_t n, cap;
} pod_batch;

static void collect(void *ud, const pod_rec *p)
{
    pod_batch *b = ud;
    if (b->n == b->cap) return;
    b->items[b->n] = *p;
    b->items[b->n].ssh_key_ids = gb_strdup(p->ssh_key_ids);
    b->items[b->n].options = gb_strdup(p->options);
    b->n++;
}

/* Records what the provider said of p: e and pp from a get or the provider's list. */
static void apply(app *a, gb_db *db, pod_rec *p, int64_t interval, gb_err e, const prov_pod *pp,
                  const char *err)
{
    int64_t now = gb_now_ms();
    pod_status read_as = p->status; /* written back only while the record still says so */
    const char *from = pod_status_name(p->status);
    pod_status to = p->status;
    const char *type = "status", *msg = NULL;
    if (e == GB_ERR_NOT_FOUND) {
        to = POD_DELETED;
        type = "gone";
        msg = "the workload no longer exists at the provider (deleted out of band)";
    } else if (e) {
        p->poll_failures++;
        int64_t back = interval;
        for (int i = 0; i < p->poll_failures && back < MAX_BACKOFF_MS; i++)
            back *= 2;
        p->next_poll_at = now + (back < MAX_BACKOFF_MS ? back : MAX_BACKOFF_MS);
        GB_WARN("reconciler", "%s at %s: %s (failure %d)", p->id, p->provider, err,
                p->poll_failures);
        gb_err w = pod_update_from(db, p, read_as);
        if (w && w != GB_ERR_CONFLICT) GB_WARN("reconciler", "cannot update %s", p->id);
        return;
    } else {
        to = pp->status;
        if (to == POD_UNKNOWN && strcmp(pp->raw_status, p->raw_status) != 0)
            GB_WARN("reconciler", "%s: provider %s sent unknown status '%s'", p->id, p->provider,
                    pp->raw_status);
        gb_strlcpy(p->raw_status, pp->raw_status, sizeof(p->raw_status));
        gb_strlcpy(p->message, pp->message, sizeof(p->message));
        if (pp->ip[0]) gb_strlcpy(p->ip, pp->ip, sizeof(p->ip));
        if (pp->ssh_port) p->ssh_port = pp->ssh_port;
        if (pp->ssh_command[0]) gb_strlcpy(p->ssh_command, pp->ssh_command, sizeof(p->ssh_command));
        if (pp->url[0]) gb_strlcpy(p->url, pp->url, sizeof(p->url));
        msg = pp->message[0] ? pp->message : pp->raw_status;
        if (to == POD_DELETED) {
            /* our own deletes mark the record at once, so this one happened elsewhere */
            type = "gone";
            msg = "the provider reports the workload deleted (deleted out of band)";
        }
    }
    p->poll_failures = 0;
    int changed = to != p->status;
    gb_err w = gb_db_begin(db);
    /* a change is charged with it (meter_settle): the pod's row and then the balance are
     * locked first (pod_request's order), and the time of the change is read after them; read
     * before, it could be earlier than the end of what a metering round that held the locks
     * had just charged (test_broker_metering test_gone_behind_a_round) */
    if (!w && changed) w = pod_lock(db, p->id);
    if (w == GB_ERR_NOT_FOUND) w = GB_ERR_CONFLICT;
    if (!w && changed && meter_charges(p)) w = ledger_lock(db, p->account_id);
    now = gb_now_ms();
    pod_set_status(p, to, now);
    p->next_poll_at = now + (pod_status_settled(to) ? interval * SETTLED_FACTOR : interval);
    if (!w) w = pod_update_from(db, p, read_as);
    if (!w && changed) w = meter_settle(a, db, p, read_as, now, NULL); /* its time so far */
    if (!w && changed) w = pod_event_add(db, p->id, now, type, from, pod_status_name(to), msg);
    if (!w && changed) w = pod_notify(db, p, from);
    if (!w)
        w = gb_db_commit(db);
    else
        gb_db_rollback(db);
    if (w == GB_ERR_CONFLICT)
        GB_DEBUG("reconciler", "%s changed while polled; the next round looks again", p->id);
    else if (w)
        GB_WARN("reconciler", "cannot record %s: %s", p->id, gb_strerror(w));
    else if (changed)
        GB_INFO("reconciler", "%s: %s -> %s", p->id, from, pod_status_name(to));
}

/* A pod whose provider is gone from the registry: looked at again much later. */
static void park(gb_db *db, pod_rec *p, int64_t until)
{
    p->next_poll_at = until;
    if (pod_poll_at(db, p->id, until) != GB_OK) GB_WARN("reconciler", "cannot update %s", p->id);
}

static void poll_one(app *a, gb_db *db, prov_adapter *ad, pod_rec *p, int64_t interval)
{
    prov_pod pp;
    memset(&pp, 0, sizeof(pp));
    char err[PROV_ERR_MAX] = "";
    int64_t t0 = gb_mono_ms();
    gb_err e = ad->ops->get(ad, p->provider_id, &pp, err);
    registry_note(a, ad->name, e, gb_mono_ms() - t0, err);
    apply(a, db, p, interval, e, &pp, err);
}

static const prov_pod *find_listed(const prov_pod *pods, size_t n, const pod_rec *p)
{
    for (size_t i = 0; i < n; i++)
        if (p->provider_id[0] && strcmp(pods[i].provider_id, p->provider_id) == 0) return &pods[i];
    for (size_t i = 0; i < n; i++)
        if (p->workload_name[0] && strcmp(pods[i].name, p->workload_name) == 0) return &pods[i];
    return NULL;
}

/* The due pods of one provider (group[0..n)): one list call when it covers two or more, else
 * a get each. A pod missing from the list is asked for alone (the list may be cut short, and
 * a get tells "deleted" from "not listed"). */
static gb_err list_workloads(app *a, prov_adapter *ad, prov_pod **pods, size_t *np, char *err)
{
    *pods = NULL;
    *np = 0;
    int64_t t0 = gb_mono_ms();
    gb_err e = ad->ops->list_pods(ad, pods, np, err);
    registry_note(a, ad->name, e, gb_mono_ms() - t0, err);
    return e;
}

/* ... and hands the provider's whole list to *listed (caller frees) when it made one. With
 * want_list (an orphan check is due) a single pod is polled by the list too. */
static void poll_provider(app *a, gb_db *db, prov_adapter *ad, pod_rec **group, size_t n,
                          int64_t interval, bool want_list, prov_pod **listed, size_t *nlisted)
{
    if ((n < 2 && !want_list) || !ad->ops->list_pods) {
        for (size_t i = 0; i < n; i++)
            poll_one(a, db, ad, group[i], interval);
        return;
    }
    prov_pod *pods = NULL;
    size_t np = 0;
    char err[PROV_ERR_MAX] = "";
    gb_err e = list_workloads(a, ad, &pods, &np, err);
    for (size_t i = 0; i < n; i++) {
        if (e) {
            apply(a, db, group[i], interval, e == GB_ERR_NOT_FOUND ? GB_ERR_PROVIDER : e, NULL,
                  err);
            continue;
        }
        const prov_pod *pp = find_listed(pods, np, group[i]);
        if (pp)
            apply(a, db, group[i], interval, GB_OK, pp, "");
        else
            poll_one(a, db, ad, group[i], interval);
    }
    if (e) return;
    *listed = pods;
    *nlisted = np;
}

/* The reconciler's minimum gap between two polls of ad: half of the platform's hourly budget
 * for polling (0 when it publishes none). */
static int64_t pace_gap(const prov_adapter *ad)
{
    return ad->budget.per_hour > 0 ? 2 * 3600000LL / ad->budget.per_hour : 0;
}

static pace *pace_of(reconciler *r, const char *name)
{
    if (!r) return NULL;
    for (int i = 0; i < r->npaces; i++)
        if (strcmp(r->paces[i].name, name) == 0) return &r->paces[i];
    if (r->npaces == MAX_PACED) return NULL;
    pace *p = &r->paces[r->npaces++];
    gb_strlcpy(p->name, name, sizeof(p->name));
    p->next_at = 0;
    p->orphan_due_at = 0;
    return p;
}

/* A gpb- workload no record accounts for, seen for the grace period: adopted when its name is
 * a pod still waiting for its workload, else deleted at the provider; an event and a webhook
 * tell the pod's owner when there is one. Returns the action taken ("adopted", "deleted") or
 * NULL when it failed. */
static const char *settle_orphan(app *a, gb_db *db, prov_adapter *ad, const prov_pod *w,
                                 pod_rec *rec, bool have_rec)
{
    char err[PROV_ERR_MAX] = "", msg[400];
    int64_t now = gb_now_ms();
    if (have_rec && rec->status == POD_PENDING && !rec->provider_id[0]) {
        const char *from = pod_status_name(rec->status);
        gb_strlcpy(rec->provider_id, w->provider_id, sizeof(rec->provider_id));
        pod_set_status(rec, w->status == POD_UNKNOWN ? POD_DEPLOYING : w->status, now);
        rec->next_poll_at = now;
        snprintf(msg, sizeof(msg), "adopted workload %s (%s) found at %s", w->provider_id, w->name,
                 ad->name);
        gb_err e = gb_db_begin(db);
        if (!e) e = pod_set_placement(db, rec);
        /* only while still pending: rec was read before this transaction, its owner may have
         * deleted it since, or another broker's reconciler adopted it first (GB_ERR_CONFLICT) */
        if (!e) e = pod_update_from(db, rec, POD_PENDING);
        if (!e)
            e = pod_event_add(db, rec->id, now, "orphan_adopted", from,
                              pod_status_name(rec->status), msg);
        if (!e) e = pod_notify_event(db, rec, "orphan_adopted", msg);
        if (!e)
            e = gb_db_commit(db);
        else
            gb_db_rollback(db);
        if (!e) GB_WARN("reconciler", "%s: %s", rec->id, msg);
        return e ? NULL : "adopted";
    }
    int64_t t0 = gb_mono_ms();
    gb_err e = ad->ops->remove(ad, w->provider_id, err);
    registry_note(a, ad->name, e, gb_mono_ms() - t0, err);
    if (e && e != GB_ERR_NOT_FOUND) {
        GB_WARN("reconciler", "orphan %s (%s) at %s: delete failed: %s", w->provider_id, w->name,
                ad->name, err);
        return NULL;
    }
    snprintf(msg, sizeof(msg), "deleted orphaned workload %s (%s) at %s", w->provider_id, w->name,
             ad->name);
    GB_WARN("reconciler", "%s%s%s", msg, have_rec ? " of pod " : "", have_rec ? rec->id : "");
    if (have_rec) {
        e = gb_db_begin(db);
        if (!e) e = pod_event_add(db, rec->id, now, "orphan_deleted", NULL, NULL, msg);
        if (!e) e = pod_notify_event(db, rec, "orphan_deleted", msg);
        if (!e)
            e = gb_db_commit(db);
        else
            gb_db_rollback(db);
        if (e) GB_WARN("reconciler", "%s: cannot record the orphan's delete", rec->id);
    }
    return "deleted";
}

/* Replaces what the orphan report says of provider ad with what its list shows now, and
 * settles the orphans seen for reconciler.orphan_grace_ms (counted from the report's first
 * sighting, by whichever broker made it). A gpb- workload is accounted for when a pod record
 * at ad has its name and its id, or has its name while its create intent is still queued
 * (that intent adopts it). When the store cannot be read the report keeps its last look. */
static void note_orphans(app *a, gb_db *db, prov_adapter *ad, const prov_pod *pods, size_t n)
{
    orphan_rec *rows = calloc(n ? n : 1, sizeof(*rows));
    size_t nrows = 0;
    int64_t now = gb_now_ms();
    bool failed = !rows;
    for (size_t k = 0; !failed && k < n; k++) {
        if (strncmp(pods[k].name, "gpb-", 4) != 0 || pods[k].status == POD_DELETED) continue;
        pod_rec rec;
        memset(&rec, 0, sizeof(rec));
        gb_err e = pod_by_workload(db, ad->name, pods[k].name, &rec);
        bool have = e == GB_OK;
        failed = e && e != GB_ERR_NOT_FOUND;
        bool known = false;
        if (have)
            known = !strcmp(rec.provider_id, pods[k].provider_id) ||
                    (!rec.provider_id[0] && intent_create_pending(db, rec.id));
        if (have && !known && !rec.provider_id[0]) {
            /* its create may have placed it between the two reads (the pod's id and the
             * intent's end commit together): the record read again says */
            pod_rec_clear(&rec);
            memset(&rec, 0, sizeof(rec));
            e = pod_by_workload(db, ad->name, pods[k].name, &rec);
            have = e == GB_OK;
            failed = e && e != GB_ERR_NOT_FOUND;
            known = have && !strcmp(rec.provider_id, pods[k].provider_id);
        }
        int64_t first = 0;
        if (!failed && !known)
            failed = orphan_first_seen(db, ad->name, pods[k].provider_id, &first) != GB_OK;
        if (failed || known) {
            pod_rec_clear(&rec);
            continue;
        }
        if (!first) {
            first = now;
            GB_WARN("reconciler",
                    "orphan at %s: %s (%s) has no record and may cost money; settled in %lld s",
                    ad->name, pods[k].name, pods[k].provider_id,
                    (long long)(a->cfg.orphan_grace_ms / 1000));
        }
        const char *action = NULL;
        if (now - first >= a->cfg.orphan_grace_ms)
            action = settle_orphan(a, db, ad, &pods[k], &rec, have);
        pod_rec_clear(&rec);
        orphan_rec *o = &rows[nrows++];
        gb_strlcpy(o->provider, ad->name, sizeof(o->provider));
        gb_strlcpy(o->provider_id, pods[k].provider_id, sizeof(o->provider_id));
        gb_strlcpy(o->name, pods[k].name, sizeof(o->name));
        gb_strlcpy(o->status, pod_status_name(pods[k].status), sizeof(o->status));
        gb_strlcpy(o->action, action ? action : "", sizeof(o->action));
        o->first_seen_at = first;
    }
    if (failed || orphan_report_put(db, ad->name, rows, nrows, now) != GB_OK)
        GB_WARN("reconciler",
                "%s: the orphan report could not be read or written; it keeps "
                "its last look",
                ad->name);
    free(rows);
}

/* Whether this broker lists ad for orphans now: its check is due, no broker on the store
 * having taken it within reconciler.orphan_check_every rounds, and this caller took it. */
static bool orphan_check_due(app *a, gb_db *db, reconciler *r, prov_adapter *ad)
{
    if (!r || !ad->ops->list_pods) return false;
    int64_t period = (int64_t)a->cfg.orphan_check_every * a->cfg.reconcile_interval_ms;
    int64_t now = gb_now_ms(), due_at = 0;
    pace *pc = pace_of(r, ad->name);
    if (pc && now < pc->orphan_due_at) return false; /* as the store said when last asked */
    bool taken = false;
    if (orphan_check_take(db, ad->name, now, period, &taken, &due_at) != GB_OK) return false;
    if (pc) pc->orphan_due_at = due_at;
    return taken;
}

/* The orphan check of every provider this round's polls did not consider (checked[] names
 * those), each inside its pace and when its check is due. */
static void check_orphans(app *a, gb_db *db, reconciler *r, char (*checked)[PROV_NAME_MAX],
                          size_t nchecked)
{
    size_t np = 0;
    const char **names = registry_names(a, &np);
    for (size_t i = 0; names && i < np; i++) {
        bool seen = false;
        for (size_t k = 0; k < nchecked && !seen; k++)
            seen = strcmp(checked[k], names[i]) == 0;
        prov_adapter *ad = seen ? NULL : registry_get(a, names[i]);
        if (!ad || !ad->ops->list_pods) continue;
        pace *pc = pace_of(r, ad->name);
        if (pc && gb_mono_ms() < pc->next_at) continue; /* the report keeps its last look */
        if (!orphan_check_due(a, db, r, ad)) continue;
        prov_pod *pods = NULL;
        size_t n = 0;
        char err[PROV_ERR_MAX] = "";
        gb_err e = list_workloads(a, ad, &pods, &n, err);
        if (pc) pc->next_at = gb_mono_ms() + pace_gap(ad);
        if (!e) note_orphans(a, db, ad, pods, n);
        free(pods);
    }
    free(names);
}

int64_t reconciler_lease_ms(const app *a)
{
    int64_t calls = 2 * (int64_t)a->cfg.provider_timeout_ms + 10000;
    int64_t rounds = 4 * (int64_t)a->cfg.reconcile_interval_ms;
    return calls > rounds ? calls : rounds;
}

void reconciler_round(app *a, gb_db *db, reconciler *r)
{
    pod_rec *items = calloc(BATCH, sizeof(*items));
    pod_rec **group = calloc(BATCH, sizeof(*group));
    bool *done = calloc(BATCH, sizeof(*done));
    pod_batch b = {items, 0, items ? BATCH : 0};
    int64_t interval = a->cfg.reconcile_interval_ms;
    char checked[MAX_PACED][PROV_NAME_MAX];
    size_t nchecked = 0;
    bool synced = false;
    int64_t lease = reconciler_lease_ms(a);
    if (items && group && done &&
        pod_claim_due(db, gb_now_ms(), lease, BATCH, collect, &b) == GB_OK) {
        for (size_t i = 0; i < b.n; i++) {
            if (done[i]) continue;
            size_t n = 0;
            for (size_t k = i; k < b.n; k++) {
                if (done[k] || strcmp(items[k].provider, items[i].provider) != 0) continue;
                done[k] = true;
                group[n++] = &items[k];
            }
            /* a provider registered through another broker since this one's last sync is
             * found, not parked as a removed one's for five minutes (e2e_brokers: a job
             * waited for its pod until the test timed out); one forced sync a round */
            prov_adapter *ad = registry_get(a, items[i].provider);
            if (!ad && !synced) {
                synced = true;
                ad = registry_get_synced(a, db, items[i].provider);
            }
            pace *pc = ad ? pace_of(r, ad->name) : NULL;
            int64_t mono = gb_mono_ms();
            if (!ad) {
                for (size_t k = 0; k < n; k++)
                    park(db, group[k], gb_now_ms() + MAX_BACKOFF_MS);
            } else if (pc && mono < pc->next_at) {
                /* inside the provider's budget: these pods wait for the next allowed poll */
                for (size_t k = 0; k < n; k++)
                    park(db, group[k], gb_now_ms() + (pc->next_at - mono));
            } else {
                prov_pod *listed = NULL;
                size_t nlisted = 0;
                /* the polls' list serves the orphan check too when it is due */
                bool want_list = orphan_check_due(a, db, r, ad);
                poll_provider(a, db, ad, group, n, interval, want_list, &listed, &nlisted);
                if (pc) pc->next_at = gb_mono_ms() + pace_gap(ad);
                if (listed && want_list) note_orphans(a, db, ad, listed, nlisted);
                if (nchecked < MAX_PACED) gb_strlcpy(checked[nchecked++], ad->name, PROV_NAME_MAX);
                free(listed);
            }
        }
    }
    for (size_t i = 0; i < b.n; i++)
        pod_rec_clear(&items[i]);
    free(items);
    free(group);
    free(done);
    if (r) check_orphans(a, db, r, checked, nchecked);
}

/* The worker's round, on its own database connection. */
static bool round_fn(void *ud)
{
    reconciler *r = ud;
    gb_db *db = app_db(r->a);
    /* providers registered or removed through another broker sharing the database */
    if (db && registry_sync(r->a, db, false) != GB_OK)
        GB_WARN("reconciler", "cannot read the registered providers");
    if (db) reconciler_round(r->a, db, r);
    return false;
}

static void thread_end(void *ud)
{
    (void)ud;
    app_db_release();
}

gb_err reconciler_start(app *a, reconciler **out)
{
    reconciler *r = calloc(1, sizeof(*r));
    if (!r) return GB_ERR_NOMEM;
    r->a = a;
    gb_worker_cfg wc = {.name = "reconciler",
                        .interval_ms = a->cfg.reconcile_interval_ms,
                        .round = round_fn,
                        .thread_end = thread_end,
                        .ud = r};
    gb_err e = gb_worker_start(&wc, &r->w);
    if (e) {
        reconciler_stop(r);
        return e;
    }
    *out = r;
    return GB_OK;
}

void reconciler_stop(reconciler *r)
{
    if (!r) return;
    gb_worker_stop(r->w);
    free(r);
}
