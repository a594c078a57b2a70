/* intent_create.c: carrying out a create intent. The offers are tried in order. Before each
 * call the intent is marked unsure (written first), so whatever happens next (a timeout, a
 * lost answer, a kill -9) the next look starts by finding the workload by its gpb- name and
 * adopting it rather than creating a second one. A failure that surely left nothing (no
 * capacity, a refusal) moves to the next offer at once, blocking the failed one for
 * placement; an unsure one first looks for the workload until intents.settle_ms has passed.
 * Every failed attempt is an event of the pod; the last one fails the pod. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/pod_create.h"
#include "broker/core/meter.h"
#include "broker/placement/blocklist.h"
#include "broker/placement/offers.h"
#include "broker/workers/intent_int.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "vault/vault.h"

#define MAX_LIST 128

/* One offer of the intent's list. */
typedef struct {
    char id[160];
    char provider[PROV_NAME_MAX];
    char offer_id[128];
    char gpu_type[32];
    int count, vcpu, ram_gb;
    bool confidential;
    gb_money price;
} offer_entry;

static const char *str_or(const char *v)
{
    return v ? v : "";
}

static int offer_at(const intent_rec *r, int i, offer_entry *o)
{
    memset(o, 0, sizeof(*o));
    cJSON *arr = r->offers ? cJSON_Parse(r->offers) : NULL;
    cJSON *e = cJSON_GetArrayItem(arr, i);
    int n = cJSON_GetArraySize(arr);
    if (e) {
        gb_strlcpy(o->id, str_or(gb_jstr(e, "id")), sizeof(o->id));
        gb_strlcpy(o->provider, str_or(gb_jstr(e, "provider")), sizeof(o->provider));
        gb_strlcpy(o->offer_id, str_or(gb_jstr(e, "offer_id")), sizeof(o->offer_id));
        gb_strlcpy(o->gpu_type, str_or(gb_jstr(e, "gpu_type")), sizeof(o->gpu_type));
        o->count = (int)gb_jint(e, "count", 0);
        o->vcpu = (int)gb_jint(e, "vcpu", 0);
        o->ram_gb = (int)gb_jint(e, "ram_gb", 0);
        o->confidential = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "confidential"));
        o->price = (gb_money)gb_jnum(e, "price", 0);
    }
    cJSON_Delete(arr);
    return e ? n : -1;
}

/* The sealed request, opened (outside any transaction: vault_get may read twice). */
static cJSON *load_spec(intent_job *j, gb_err *e)
{
    char ref[64], *pt = NULL;
    size_t n = 0;
    intent_spec_ref(j->r->id, ref, sizeof(ref));
    *e = vault_get(j->a->vault, j->db, ref, &pt, &n);
    if (*e) return NULL;
    cJSON *spec = cJSON_ParseWithLength(pt, n);
    vault_secret_free(pt, n);
    if (!spec) *e = GB_ERR_INTERNAL;
    return spec;
}

static int str_list(const cJSON *arr, const char **out, int max)
{
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (n < max && cJSON_IsString(it)) out[n++] = it->valuestring;
    }
    return n;
}

/* Calls the provider's create for offer o with the sealed request. */
static gb_err call_create(intent_job *j, prov_adapter *ad, const offer_entry *o, prov_pod *pp,
                          char *err)
{
    gb_err e;
    cJSON *spec = load_spec(j, &e);
    if (!spec) {
        gb_snprintf(err, PROV_ERR_MAX, "the pod's request cannot be read (%s)", gb_strerror(e));
        return GB_ERR_INVALID; /* nothing was sent: never worth a retry */
    }
    const char *env[MAX_ENV], *keys[MAX_SSH_KEYS];
    int ports[MAX_PORTS], nports = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(spec, "ports"))
    {
        if (nports < MAX_PORTS && cJSON_IsNumber(it)) ports[nports++] = it->valueint;
    }
    gb_money cap = (gb_money)gb_jnum(spec, "cap", 0);
    const char *reg = str_or(gb_jstr(spec, "registry_server"));
    prov_create_req req = {
        .name = j->p->workload_name,
        .offer_id = o->offer_id,
        .image = gb_jstr(spec, "image"),
        .gpu_count = o->count,
        .env = env,
        .nenv = str_list(cJSON_GetObjectItemCaseSensitive(spec, "env"), env, MAX_ENV),
        .ports = ports,
        .nports = nports,
        .ssh_public_keys = keys,
        .nssh =
            str_list(cJSON_GetObjectItemCaseSensitive(spec, "ssh_public_keys"), keys, MAX_SSH_KEYS),
        .volume_size_gb = (int)gb_jint(spec, "volume_size_gb", 0),
        .registry_server = reg[0] ? reg : NULL,
        .registry_username = reg[0] ? gb_jstr(spec, "registry_username") : NULL,
        .registry_password = reg[0] ? gb_jstr(spec, "registry_password") : NULL,
        /* the user's cap counts the margin; the provider is told its own price's share */
        .max_price_per_hour = cap ? meter_price_cap(j->a, o->provider, cap) : o->price,
        .options = cJSON_GetObjectItemCaseSensitive(spec, "options")};
    int64_t t0 = gb_mono_ms();
    /* a worker paused past its lease posts nothing, nor so late that the worker that takes the
     * intent over has stopped looking for the workload by name (intent_lease_held) */
    j->window_until = j->r->unsure_until;
    intent_fence_begin(j);
    e = ad->ops->create(ad, &req, pp, err);
    j->window_until = 0;
    if (!intent_fence_end(j, "create")) registry_note(j->a, ad->name, e, gb_mono_ms() - t0, err);
    cJSON *pw = cJSON_GetObjectItemCaseSensitive(spec, "registry_password");
    if (cJSON_IsString(pw)) gb_memzero(pw->valuestring, strlen(pw->valuestring));
    cJSON_Delete(spec);
    return e;
}

/* placement.attempt for offer o with its outcome, in the caller's transaction. */
static gb_err attempt_event(intent_job *j, const offer_entry *o, const char *outcome,
                            const char *reason)
{
    pod_attempt a = {.provider = o->provider,
                     .offer_id = o->offer_id,
                     .gpu_type = o->gpu_type,
                     .gpu_count = o->count,
                     .price = o->price,
                     .attempt = j->r->offer_index + 1,
                     .outcome = outcome,
                     .reason = reason};
    return pod_notify_attempt(j->db, j->p, &a);
}

/* Removes workload id at ad, which this worker's create made but nobody records (why). */
static void remove_unrecorded(intent_job *j, prov_adapter *ad, const char *id, const char *why)
{
    char err[PROV_ERR_MAX] = "";
    gb_err re = ad ? ad->ops->remove(ad, id, err) : GB_ERR_NOT_FOUND;
    GB_WARN("intents", "%s: workload %s %s; removing it: %s", j->p->id, id, why,
            re ? (err[0] ? err : gb_strerror(re)) : "removed");
}

/* A workload this worker created whose record it could not write (it lost the intent's lease
 * during the call, to a worker that took the intent over after a pause past the lease, or the
 * store failed): nobody else knows of it unless the pod records it already (the other worker
 * found it by name), so it is removed rather than left running, paid and unrecorded (seen in
 * e2e_brokers under SIGSTOP: the other worker had given up on the offer before the POST went
 * out). When the pod cannot be read it is left to the orphan sweep. */
static void drop_unrecorded(intent_job *j, const offer_entry *o, const prov_pod *pp)
{
    pod_rec cur;
    memset(&cur, 0, sizeof(cur));
    gb_err e = pod_get(j->db, j->p->account_id, j->p->id, &cur);
    bool recorded = e || strcmp(cur.provider_id, pp->provider_id) == 0;
    pod_rec_clear(&cur);
    if (recorded) return;
    char why[200];
    gb_snprintf(why, sizeof(why), "created on %s but not recorded", o->id);
    remove_unrecorded(j, registry_get(j->a, o->provider), pp->provider_id, why);
}

/* This worker's create at o ended unsure after another worker had taken the intent over (a
 * pause past the lease: its retry was refused). The call may have left a workload, or a
 * template made before the POST (Volt, Lium), that nobody looks for: the holder may have
 * given o up before this worker's POST went out (e2e_brokers under SIGSTOP left a Volt
 * template so). While the intent still creates at o's provider its holder deals with them
 * (finds the workload by name, reuses the template, or drops it on giving up). Otherwise a
 * workload found by name that the pod does not record is removed, and the adapter's leftovers
 * are dropped unless the pod was placed at that provider (under the same name they are its
 * own, deleted with it). When the store cannot be read all is left to the orphan sweep. */
static void clear_stale_unsure(intent_job *j, const offer_entry *o, prov_adapter *ad)
{
    intent_rec cur;
    offer_entry at;
    if (intent_get(j->db, j->r->id, &cur)) return;
    bool holder_here =
        strcmp(cur.state, "queued") == 0 &&
        (offer_at(&cur, cur.offer_index, &at) < 0 || strcmp(at.provider, o->provider) == 0);
    intent_rec_clear(&cur);
    pod_rec p;
    memset(&p, 0, sizeof(p));
    if (holder_here || pod_get(j->db, j->p->account_id, j->p->id, &p)) {
        pod_rec_clear(&p);
        return;
    }
    bool placed_here = p.provider_id[0] && strcmp(p.provider, o->provider) == 0;
    prov_pod pp;
    memset(&pp, 0, sizeof(pp));
    char err[PROV_ERR_MAX] = "";
    gb_err e = intent_find_by_name(j->a, ad, j->p->workload_name, &pp, err);
    if (!e && strcmp(pp.provider_id, p.provider_id) != 0) {
        char why[200];
        gb_snprintf(why, sizeof(why), "of an unsure create on %s, after the intent moved on",
                    o->id);
        remove_unrecorded(j, ad, pp.provider_id, why);
    } else if (e == GB_ERR_NOT_FOUND && !placed_here && ad->ops->abandoned) {
        ad->ops->abandoned(ad, j->p->workload_name);
        GB_INFO("intents",
                "%s: unsure create on %s after the intent moved on: nothing made there"
                "; its leftovers dropped",
                j->p->id, o->id);
    }
    pod_rec_clear(&p);
}

/* Records the workload pp at offer o as the pod's (a create's answer or one found by name). */
static void adopt(intent_job *j, const offer_entry *o, const prov_pod *pp, const char *how)
{
    pod_rec *p = j->p;
    int64_t now = gb_now_ms();
    const char *from = pod_status_name(p->status);
    gb_strlcpy(p->provider, o->provider, sizeof(p->provider));
    gb_strlcpy(p->provider_id, pp->provider_id, sizeof(p->provider_id));
    gb_strlcpy(p->offer_id, o->offer_id, sizeof(p->offer_id));
    gb_strlcpy(p->gpu_type, o->gpu_type, sizeof(p->gpu_type));
    p->gpu_count = o->count;
    p->vcpu = o->vcpu;
    p->ram_gb = o->ram_gb;
    p->confidential = o->confidential;
    p->price_per_hour = o->price;
    gb_err e = intent_begin(j);
    /* read again inside the transaction: the owner may have deleted it during the call */
    pod_rec cur;
    memset(&cur, 0, sizeof(cur));
    if (!e) e = pod_get_for_update(j->db, p->account_id, p->id, &cur);
    bool deleted = !e && cur.status == POD_DELETED; /* its delete intent waits behind */
    if (deleted) p->status = POD_DELETED;
    pod_rec_clear(&cur);
    if (!deleted) {
        pod_set_status(p, pp->status == POD_UNKNOWN ? POD_DEPLOYING : pp->status, now);
        gb_strlcpy(p->raw_status, pp->raw_status, sizeof(p->raw_status));
        gb_strlcpy(p->message, pp->message, sizeof(p->message));
        gb_strlcpy(p->ip, pp->ip, sizeof(p->ip));
        p->ssh_port = pp->ssh_port;
        gb_strlcpy(p->ssh_command, pp->ssh_command, sizeof(p->ssh_command));
        gb_strlcpy(p->url, pp->url, sizeof(p->url));
        p->next_poll_at = now;
    }
    char msg[400];
    snprintf(msg, sizeof(msg), "%s on %s as %s (%s)", how, o->id, pp->provider_id,
             p->workload_name);
    if (!e) e = pod_set_placement(j->db, p);
    if (!e && !deleted) e = pod_update(j->db, p);
    if (!e) e = pod_event_add(j->db, p->id, now, "placed", NULL, NULL, msg);
    if (!e) e = attempt_event(j, o, strcmp(how, "created") ? "adopted" : "created", NULL);
    if (!e && !deleted && strcmp(from, pod_status_name(p->status)) != 0) {
        e = pod_event_add(j->db, p->id, now, "status", from, pod_status_name(p->status), NULL);
        if (!e) e = pod_notify(j->db, p, from);
    }
    if (intent_end(j, e, "done", NULL) == GB_OK) {
        GB_INFO("intents", "%s %s", p->id, msg);
        return;
    }
    if (strcmp(how, "created") == 0) drop_unrecorded(j, o, pp);
}

/* Fails the pod (unless its owner deleted it meanwhile) with why, and with the last attempt's
 * event (attempt, or NULL) in the same transaction. */
static void fail_pod(intent_job *j, const char *why, const char *attempt)
{
    pod_rec *p = j->p;
    int64_t now = gb_now_ms();
    const char *from = pod_status_name(p->status);
    gb_err e = intent_begin(j);
    pod_rec cur; /* read again inside the transaction, as in adopt() */
    memset(&cur, 0, sizeof(cur));
    if (!e) e = pod_get_for_update(j->db, p->account_id, p->id, &cur);
    bool deleted = !e && cur.status == POD_DELETED;
    pod_rec_clear(&cur);
    if (!e && attempt) e = pod_event_add(j->db, p->id, now, "attempt_failed", NULL, NULL, attempt);
    if (!deleted) {
        pod_set_status(p, POD_FAILED, now);
        gb_strlcpy(p->message, why, sizeof(p->message));
        if (!e) e = pod_update(j->db, p);
        if (!e) e = pod_event_add(j->db, p->id, now, "create_failed", from, "failed", why);
        if (!e) e = pod_notify(j->db, p, from);
    }
    if (intent_end(j, e, deleted ? "cancelled" : "failed", why) == GB_OK)
        GB_WARN("intents", "%s: create failed: %s", p->id, why);
}

/* An attempt at offer o failed with e (err): an event, the offer blocked for placement when
 * worth it, and the next offer (or the same one again while attempts remain) queued. */
static void attempt_failed(intent_job *j, const offer_entry *o, int noffers, gb_err e,
                           const char *err)
{
    intent_rec *r = j->r;
    char msg[600];
    snprintf(msg, sizeof(msg), "%s: %s", o->id, err[0] ? err : gb_strerror(e));
    /* the attempt's event in a transaction of its own: what follows commits in another */
    gb_err ee = gb_db_begin(j->db);
    if (!ee) ee = attempt_event(j, o, "failed", err[0] ? err : gb_strerror(e));
    if (!ee)
        ee = gb_db_commit(j->db);
    else
        gb_db_rollback(j->db);
    if (j->p->status == POD_DELETED) { /* deleted meanwhile: nothing more to try */
        fail_pod(j, msg, msg);
        return;
    }
    if (e == GB_ERR_CAPACITY || intent_unsure(e) || e == GB_ERR_LIMIT) {
        blocklist_add(j->a->blocked, o->id, gb_now_ms() + j->a->cfg.placement_block_ms);
        offer_cache_forget_provider(j->a, o->provider);
    }
    bool next = r->offer_index + 1 < noffers;
    bool again = !next && intent_unsure(e) && r->attempts < j->a->cfg.intent_max_attempts;
    if (!next && !again) {
        char why[256];
        gb_snprintf(why, sizeof(why), "%s%.200s",
                    noffers > 1 ? "every placement attempt failed; last: " : "", msg);
        fail_pod(j, why, msg);
        return;
    }
    if (next) { /* a fresh offer: its calls are counted anew (nothing exists at the last) */
        r->offer_index++;
        r->attempts = 0;
    }
    r->unsure_until = 0;
    intent_retry_noting(j, gb_now_ms() + (next ? 0 : intent_backoff(r->attempts)), msg,
                        "attempt_failed", msg);
}

/* The price of the next offer must still fit the spend limit (the pending pod already holds
 * its first price): checked and moved in one transaction. That transaction first proves this
 * worker still holds the intent (intent_save under its owner: a broker paused past its lease,
 * whose intent another broker took over and placed, wrote its stale placement over the
 * recorded one, provider id and all, and the job's workload then outlived the pod's delete;
 * e2e_brokers saw it) and that the pod is still unplaced. GB_ERR_CONFLICT: either moved on. */
static gb_err reserve(intent_job *j, const offer_entry *o, billing_refusal *why)
{
    pod_rec *p = j->p;
    if (o->price == p->price_per_hour) return GB_OK;
    gb_money before = p->price_per_hour;
    gb_err e = gb_db_begin(j->db);
    if (e) return e;
    /* the pod's row before the intent's, the order of every other transaction that takes
     * both (pod_actions.c): the other order can deadlock with an owner's delete */
    pod_rec cur;
    memset(&cur, 0, sizeof(cur));
    e = pod_get_for_update(j->db, p->account_id, p->id, &cur);
    if (!e) e = intent_save(j->db, j->r, j->owner, 0);
    if (!e && (cur.provider_id[0] || cur.status != POD_PENDING)) e = GB_ERR_CONFLICT;
    pod_rec_clear(&cur);
    if (e) {
        gb_db_rollback(j->db);
        return e;
    }
    p->price_per_hour = 0; /* the pod's old price does not count against its new one */
    e = pod_set_placement(j->db, p);
    if (!e && !p->job_id[0])
        e = billing_admit(j->a, j->db, p->account_id, o->provider, o->price, why);
    p->price_per_hour = o->price;
    if (!e) e = pod_set_placement(j->db, p);
    if (!e) e = gb_db_commit(j->db);
    if (e) {
        gb_db_rollback(j->db);
        p->price_per_hour = before;
    }
    return e;
}

void intent_run_create(intent_job *j)
{
    intent_rec *r = j->r;
    char err[PROV_ERR_MAX] = "";
    offer_entry o;
    int n = offer_at(r, r->offer_index, &o);
    /* a provider registered through another broker moments ago is found (a forced sync) */
    prov_adapter *ad = n > 0 ? registry_get_synced(j->a, j->db, o.provider) : NULL;
    if (n <= 0) {
        fail_pod(j, "no offer left to try", NULL);
        return;
    }
    if (!ad) {
        snprintf(err, sizeof(err), "provider %s is no longer registered", o.provider);
        attempt_failed(j, &o, n, GB_ERR_INVALID, err);
        return;
    }
    int64_t now = gb_now_ms();
    if (r->unsure_until) {
        /* the last call may have created the workload: find it before anything else */
        prov_pod pp;
        memset(&pp, 0, sizeof(pp));
        gb_err e = intent_find_by_name(j->a, ad, j->p->workload_name, &pp, err);
        if (!e && ad->ops->finish_create) {
            /* half made (Targon: registered, never deployed): adopted as it is, it would stay
             * pending for good */
            intent_fence_begin(j);
            e = ad->ops->finish_create(ad, &pp, err);
            intent_fence_end(j, "finishing create");
            if (e && !intent_unsure(e)) { /* refused for sure: nothing is left there */
                attempt_failed(j, &o, n, e, err);
                return;
            }
            if (e) {
                intent_retry(j, now + intent_backoff(r->attempts), err);
                return;
            }
        }
        if (!e) {
            adopt(j, &o, &pp, "found by name after an unsure create");
            return;
        }
        if (e != GB_ERR_NOT_FOUND) {
            intent_retry(j, now + intent_backoff(r->attempts), err);
            return;
        }
        if (now < r->unsure_until) {
            int64_t at = now + intent_backoff(1);
            intent_retry(j, at < r->unsure_until ? at : r->unsure_until, NULL);
            return;
        }
        if (ad->ops->abandoned) ad->ops->abandoned(ad, j->p->workload_name);
        attempt_failed(j, &o, n, GB_ERR_TIMEOUT,
                       r->last_error[0] ? r->last_error : "no answer, and no workload appeared");
        return;
    }
    if (j->p->status == POD_DELETED) {
        if (!intent_begin(j)) intent_end(j, GB_OK, "cancelled", "the pod was deleted");
        return;
    }
    billing_refusal why;
    memset(&why, 0, sizeof(why));
    gb_err e = reserve(j, &o, &why);
    if (e == GB_ERR_CONFLICT) { /* another worker has it, or the pod was placed or deleted */
        GB_WARN("intents", "%s: the intent or the pod moved on before the create; left to it",
                j->p->id);
        return;
    }
    if (e) {
        fail_pod(j, e == GB_ERR_PAYMENT ? why.message : gb_strerror(e), NULL);
        return;
    }
    /* written before the call: a crash during it leaves an intent that looks first */
    r->attempts++;
    r->unsure_until = now + j->a->cfg.provider_timeout_ms + j->a->cfg.intent_settle_ms;
    if ((e = intent_save(j->db, r, j->owner, 0))) {
        GB_WARN("intents", "%s: lease lost before the call (%s)", j->p->id, gb_strerror(e));
        return;
    }
    prov_pod pp;
    memset(&pp, 0, sizeof(pp));
    e = call_create(j, ad, &o, &pp, err);
    if (!e) {
        adopt(j, &o, &pp, "created");
        return;
    }
    GB_WARN("intents", "%s: create on %s failed: %s", j->p->id, o.id, err);
    if (intent_unsure(e)) {
        /* a 5xx answer is looked up once; silence until the settle time has passed */
        now = gb_now_ms();
        r->unsure_until = e == GB_ERR_PROVIDER ? now : now + j->a->cfg.intent_settle_ms;
        if (intent_retry(j, now, err) == GB_ERR_CONFLICT) clear_stale_unsure(j, &o, ad);
        return;
    }
    attempt_failed(j, &o, n, e, err);
}
