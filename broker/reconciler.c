/* reconciler.c: polls due pods at their providers (with backoff on failures and slower polls
 * for settled pods), writes each status change with an event in one transaction, and every
 * few rounds lists each provider's workloads to find orphans. */
#include "broker/reconciler.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/pods.h"
#include "broker/registry.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"

#define BATCH 64
#define MAX_BACKOFF_MS 300000
#define SETTLED_FACTOR 6

struct reconciler {
    app *a;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    int started;
    long rounds;
    cJSON *orphans; /* guarded by mu */
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

static void poll_one(app *a, gb_db *db, pod_rec *p, int64_t interval)
{
    prov_adapter *ad = registry_get(a, p->provider);
    int64_t now = gb_now_ms();
    if (!ad) {
        p->next_poll_at = now + MAX_BACKOFF_MS;
        if (pod_update(db, p) != GB_OK) GB_WARN("reconciler", "cannot update %s", p->id);
        return;
    }
    prov_pod pp;
    memset(&pp, 0, sizeof(pp));
    char err[PROV_ERR_MAX] = "";
    int64_t t0 = gb_mono_ms();
    gb_err e = ad->ops->get(ad, p->provider_id, &pp, err);
    registry_note(a, ad->name, e, gb_mono_ms() - t0, err);
    now = gb_now_ms();
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
        for (int i = 0; i < p->poll_failures && back < MAX_BACKOFF_MS; i++) back *= 2;
        p->next_poll_at = now + (back < MAX_BACKOFF_MS ? back : MAX_BACKOFF_MS);
        GB_WARN("reconciler", "%s at %s: %s (failure %d)", p->id, p->provider, err, p->poll_failures);
        if (pod_update(db, p) != GB_OK) GB_WARN("reconciler", "cannot update %s", p->id);
        return;
    } else {
        to = pp.status;
        if (to == POD_UNKNOWN && strcmp(pp.raw_status, p->raw_status) != 0)
            GB_WARN("reconciler", "%s: provider %s sent unknown status '%s'", p->id, p->provider,
                    pp.raw_status);
        gb_strlcpy(p->raw_status, pp.raw_status, sizeof(p->raw_status));
        gb_strlcpy(p->message, pp.message, sizeof(p->message));
        if (pp.ip[0]) gb_strlcpy(p->ip, pp.ip, sizeof(p->ip));
        if (pp.ssh_port) p->ssh_port = pp.ssh_port;
        if (pp.ssh_command[0]) gb_strlcpy(p->ssh_command, pp.ssh_command, sizeof(p->ssh_command));
        if (pp.url[0]) gb_strlcpy(p->url, pp.url, sizeof(p->url));
        msg = pp.message[0] ? pp.message : pp.raw_status;
        if (to == POD_DELETED) {
            /* our own deletes mark the record at once, so this one happened elsewhere */
            type = "gone";
            msg = "the provider reports the workload deleted (deleted out of band)";
        }
    }
    p->poll_failures = 0;
    int changed = to != p->status;
    pod_set_status(p, to, now);
    p->next_poll_at = now + (pod_status_settled(to) ? interval * SETTLED_FACTOR : interval);
    gb_err w = gb_db_begin(db);
    if (!w) w = pod_update(db, p);
    if (!w && changed) w = pod_event_add(db, p->id, now, type, from, pod_status_name(to), msg);
    if (!w && changed) w = pod_notify(db, p, from);
    if (!w) w = gb_db_commit(db);
    else gb_db_rollback(db);
    if (w) GB_WARN("reconciler", "cannot record %s: %s", p->id, gb_strerror(w));
    else if (changed) GB_INFO("reconciler", "%s: %s -> %s", p->id, from, pod_status_name(to));
}

static void check_orphans(app *a, gb_db *db, reconciler *r)
{
    size_t np = 0;
    const char **names = registry_names(a, &np);
    cJSON *found = cJSON_CreateArray();
    for (size_t i = 0; names && i < np; i++) {
        prov_adapter *ad = registry_get(a, names[i]);
        if (!ad || !ad->ops->list_pods) continue;
        prov_pod *pods = NULL;
        size_t n = 0;
        char err[PROV_ERR_MAX] = "";
        if (ad->ops->list_pods(ad, &pods, &n, err) != GB_OK) continue;
        for (size_t k = 0; k < n; k++) {
            if (strncmp(pods[k].name, "gpb-", 4) != 0 || pods[k].status == POD_DELETED) continue;
            if (pod_workload_known(db, ad->name, pods[k].name)) continue;
            GB_WARN("reconciler", "orphan at %s: %s (%s) has no record and may cost money",
                    ad->name, pods[k].name, pods[k].provider_id);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "provider", ad->name);
            cJSON_AddStringToObject(o, "provider_id", pods[k].provider_id);
            cJSON_AddStringToObject(o, "name", pods[k].name);
            cJSON_AddStringToObject(o, "status", pod_status_name(pods[k].status));
            gb_json_add_time(o, "seen_at", gb_now_ms());
            cJSON_AddItemToArray(found, o);
        }
        free(pods);
    }
    free(names);
    pthread_mutex_lock(&r->mu);
    cJSON_Delete(r->orphans);
    r->orphans = found;
    pthread_mutex_unlock(&r->mu);
}

void reconciler_round(app *a, gb_db *db, reconciler *r)
{
    pod_rec items[BATCH];
    pod_batch b = {items, 0, BATCH};
    int64_t interval = a->cfg.reconcile_interval_ms;
    if (pod_list_due(db, gb_now_ms(), BATCH, collect, &b) == GB_OK)
        for (size_t i = 0; i < b.n; i++) poll_one(a, db, &items[i], interval);
    for (size_t i = 0; i < b.n; i++) pod_rec_clear(&items[i]);
    if (r && (r->rounds++ % a->cfg.orphan_check_every) == 0) check_orphans(a, db, r);
}

static void *run(void *arg)
{
    reconciler *r = arg;
    gb_db *db = app_db(r->a);
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        pthread_mutex_unlock(&r->mu);
        if (db) reconciler_round(r->a, db, r);
        pthread_mutex_lock(&r->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (int64_t)r->a->cfg.reconcile_interval_ms * 1000000;
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        if (!r->stop) pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    app_db_release();
    return NULL;
}

gb_err reconciler_start(app *a, reconciler **out)
{
    reconciler *r = calloc(1, sizeof(*r));
    if (!r) return GB_ERR_NOMEM;
    r->a = a;
    r->orphans = cJSON_CreateArray();
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        reconciler_stop(r);
        return GB_ERR_INTERNAL;
    }
    r->started = 1;
    a->recon = r;
    *out = r;
    return GB_OK;
}

void reconciler_stop(reconciler *r)
{
    if (!r) return;
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    if (r->a && r->a->recon == r) r->a->recon = NULL;
    cJSON_Delete(r->orphans);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

cJSON *reconciler_orphans_json(reconciler *r)
{
    if (!r) return cJSON_CreateArray();
    pthread_mutex_lock(&r->mu);
    cJSON *copy = cJSON_Duplicate(r->orphans, 1);
    pthread_mutex_unlock(&r->mu);
    return copy ? copy : cJSON_CreateArray();
}
