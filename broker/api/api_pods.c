/* api_pods.c: /api/volt/pods: list, get, update, start, stop, delete, events and logs (create
 * is in pod_create.c). Every provider call is timed into the provider's health. */
#include <stdlib.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/api/pod_api.h"
#include "broker/core/billing.h"
#include "broker/core/meter.h"
#include "broker/core/pod_actions.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"

typedef struct {
    const app *a;
    cJSON *arr;
    int64_t now;
} list_ctx;

static void add_pod(void *ud, const pod_rec *p)
{
    list_ctx *c = ud;
    cJSON_AddItemToArray(c->arr, pod_json(c->a, p, c->now, 0));
}

void h_pods_list(api_req *rq, api_resp *rs)
{
    const char *status = api_query(rq, "status"), *provider = api_query(rq, "provider"),
               *ls = api_query(rq, "limit"), *os = api_query(rq, "offset");
    int limit = POD_LIST_MAX, offset = 0; /* by default every pod, as before paging */
    pod_status st;
    if (status && pod_status_parse(status, &st) != 0) {
        api_error(rs, 400, "VALIDATION_ERROR",
                  "query 'status' must be one of pending, deploying, running, stopping, stopped, "
                  "succeeded, failed, deleted, unknown");
        return;
    }
    if (provider && strlen(provider) >= PROV_NAME_MAX) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'provider' is too long");
        return;
    }
    if ((ls && gb_parse_int(ls, 1, POD_LIST_MAX, &limit)) ||
        (os && gb_parse_int(os, 0, 100000000, &offset))) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'limit' must be 1-%d and 'offset' >= 0",
                  POD_LIST_MAX);
        return;
    }
    const char *sname = status ? pod_status_name(st) : NULL;
    cJSON *o = cJSON_CreateObject();
    list_ctx c = {rq->app, cJSON_AddArrayToObject(o, "pods"), gb_now_ms()};
    int64_t total = 0;
    gb_err e = pod_list_page(rq->db, rq->account_id, sname, provider, limit, offset, add_pod, &c);
    if (!e) e = pod_count(rq->db, rq->account_id, sname, provider, &total);
    if (e) {
        cJSON_Delete(o);
        api_error_from(rs, e, "pods");
        return;
    }
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddNumberToObject(o, "limit", limit);
    cJSON_AddNumberToObject(o, "offset", offset);
    api_json(rs, 200, o);
}

void h_pods_get(api_req *rq, api_resp *rs)
{
    pod_rec p;
    memset(&p, 0, sizeof(p));
    gb_err e = pod_get(rq->db, rq->account_id, rq->params[0], &p);
    if (e) {
        api_error_from(rs, e, "Pod");
        pod_rec_clear(&p);
        return;
    }
    cJSON *o = pod_json(rq->app, &p, gb_now_ms(), 1);
    /* what its meter charged so far (the ledger's usage entries; beyond the balance: unpaid) */
    meter_rec m;
    gb_err me = meter_get(rq->db, p.id, &m);
    gb_json_add_money(o, "charged", me ? 0 : m.run_charged + m.idle_charged - m.unpaid);
    gb_json_add_money(o, "unpaid", me ? 0 : m.unpaid);
    api_json(rs, 200, o);
    pod_rec_clear(&p);
}

static void reply_action(api_resp *rs, const pod_rec *p, const char *status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", p->id);
    cJSON_AddStringToObject(o, "status", status);
    cJSON_AddStringToObject(o, "message", msg);
    api_json(rs, 200, o);
}

/* pod_request's failure as an answer: a pod that moved while this request ran is a 409 the
 * caller can retry after reading it again. */
static void request_failed(api_resp *rs, gb_err e, const pod_rec *p)
{
    if (e == GB_ERR_CONFLICT)
        api_error(rs, 409, "CONFLICT", "Pod %s changed while this request ran; read it and retry",
                  p->id);
    else
        api_error_from(rs, e, "pod");
}

/* A pod whose create is still queued has nothing at the provider to start, stop or change. */
static int still_creating(api_resp *rs, const pod_rec *p)
{
    if (p->status != POD_PENDING || p->provider_id[0]) return 0;
    api_error(rs, 409, "CONFLICT",
              "Pod %s is still being created; wait until it is deploying (GET /api/volt/pods/%s)",
              p->id, p->id);
    return 1;
}

/* Reads the pod, checks the action fits its state and queues it; answers rs except when the
 * pod moved between the read and the write (GB_ERR_CONFLICT: the caller reads it again). */
static gb_err try_action(api_req *rq, api_resp *rs, intent_kind kind)
{
    pod_rec p;
    gb_err e = GB_OK;
    bool start = kind == INTENT_START;
    prov_adapter *ad = pod_load(rq, rs, &p);
    if (!ad) goto done;
    if (kind == INTENT_DELETE) {
        if (p.status == POD_DELETED) api_error(rs, 404, "NOT_FOUND", "Pod not found");
    } else if (!(start ? ad->ops->start : ad->ops->stop)) {
        api_error(rs, 409, "NOT_SUPPORTED", "Provider %s cannot %s pods; delete the pod instead",
                  p.provider, start ? "start" : "stop");
    } else if (p.status == POD_DELETED) {
        api_error(rs, 409, "CONFLICT", "Pod %s is deleted", p.id);
    } else if (!still_creating(rs, &p) &&
               (start ? (p.status == POD_RUNNING || p.status == POD_DEPLOYING)
                      : (p.status == POD_STOPPED || p.status == POD_STOPPING))) {
        api_error(rs, 409, "CONFLICT", "Pod %s is already %s", p.id, pod_status_name(p.status));
    }
    if (rs->status) goto done;
    billing_refusal why;
    e = start ? pod_request_start(rq->app, rq->db, &p, &why)
              : pod_request(rq->app, rq->db, &p, kind, NULL, NULL);
    if (e == GB_ERR_PAYMENT) {
        api_error(rs, 402, why.code, "%s", why.message);
        goto done;
    }
    if (e == GB_ERR_CONFLICT) goto done;
    if (e)
        request_failed(rs, e, &p);
    else if (kind == INTENT_DELETE)
        reply_action(rs, &p, "deleted", "Pod and all associated resources have been deleted.");
    else if (start)
        reply_action(rs, &p, "starting", "Pod is starting. This typically takes 15-30 seconds.");
    else
        reply_action(rs, &p, "stopping", "Pod is stopping. Data on /root volume is preserved.");
done:
    pod_rec_clear(&p);
    return e;
}

/* Start, stop and delete are queued as intents (the answer does not wait on the provider): the
 * pod moves to deploying, stopping or deleted at once and the intent tells the provider. A
 * pod a worker moved meanwhile is read again (a few times) rather than answered 409. */
static void do_action(api_req *rq, api_resp *rs, intent_kind kind)
{
    gb_err e = GB_ERR_CONFLICT;
    for (int i = 0; i < 3 && e == GB_ERR_CONFLICT; i++)
        e = try_action(rq, rs, kind);
    if (e == GB_ERR_CONFLICT)
        api_error(rs, 409, "CONFLICT", "Pod %s keeps changing; read it and retry", rq->params[0]);
}

void h_pods_start(api_req *rq, api_resp *rs)
{
    do_action(rq, rs, INTENT_START);
}

void h_pods_stop(api_req *rq, api_resp *rs)
{
    do_action(rq, rs, INTENT_STOP);
}

/* The pod is deleted at once for its owner; the intent removes the workload at the provider,
 * retrying until the provider confirms (a warning it gives becomes an event). */
void h_pods_delete(api_req *rq, api_resp *rs)
{
    do_action(rq, rs, INTENT_DELETE);
}

void h_pods_update(api_req *rq, api_resp *rs)
{
    static const char *const allowed[] = {"name",      "ssh_key_ids", "volume_size_gb",
                                          "gpu_count", "machine_id",  "template_id",
                                          "image",     NULL};
    static const char *const hardware[] = {"volume_size_gb", "gpu_count", "machine_id",
                                           "template_id", "image"};
    char err[PROV_ERR_MAX] = "";
    pod_rec p;
    cJSON *changes = NULL, *keys = NULL;
    cJSON *body = NULL;
    prov_adapter *ad = pod_load(rq, rs, &p);
    if (!ad || !(body = api_body_object(rq, rs))) goto done;
    const char *name = NULL;
    const cJSON *ids = NULL, *it;
    if (gb_json_only_keys(body, allowed, err) ||
        gb_json_str(body, "name", 1, NAME_MAX_LEN, false, &name, err) == GB_ERR_INVALID ||
        gb_json_array(body, "ssh_key_ids", 16, false, &ids, err) == GB_ERR_INVALID) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    for (size_t i = 0; i < sizeof(hardware) / sizeof(hardware[0]); i++) {
        if (!cJSON_GetObjectItemCaseSensitive(body, hardware[i])) continue;
        if (p.status != POD_STOPPED) {
            api_error(rs, 409, "CONFLICT",
                      "Pod must be stopped to change hardware settings ('%s'); it is %s",
                      hardware[i], pod_status_name(p.status));
        } else {
            api_error(rs, 400, "VALIDATION_ERROR",
                      "field '%s' cannot be changed on a %s pod; create a new pod instead",
                      hardware[i], p.provider);
        }
        goto done;
    }
    /* The name is gpubroker's own (the provider knows the workload by its gpb- name), so only
     * SSH keys travel to the provider. */
    changes = cJSON_CreateObject();
    if (ids) {
        keys = cJSON_CreateArray();
        cJSON *pub = cJSON_AddArrayToObject(changes, "ssh_public_keys");
        cJSON_ArrayForEach(it, ids)
        {
            sshkey_rec k;
            memset(&k, 0, sizeof(k));
            if (!cJSON_IsString(it) || sshkey_get(rq->db, rq->account_id, it->valuestring, &k)) {
                api_error(rs, 400, "VALIDATION_ERROR",
                          "field 'ssh_key_ids': no SSH key '%.48s' on this account",
                          cJSON_IsString(it) ? it->valuestring : "?");
                goto done;
            }
            cJSON_AddItemToArray(pub, cJSON_CreateString(k.public_key));
            cJSON_AddItemToArray(keys, cJSON_CreateString(k.id));
            sshkey_rec_clear(&k);
        }
        if (!ad->ops->update) {
            api_error(rs, 409, "NOT_SUPPORTED", "Provider %s cannot change the SSH keys of a pod",
                      p.provider);
            goto done;
        }
    }
    if (keys && still_creating(rs, &p)) goto done;
    if (name) gb_strlcpy(p.name, name, sizeof(p.name));
    if (keys) {
        free(p.ssh_key_ids);
        p.ssh_key_ids = cJSON_PrintUnformatted(keys);
    }
    /* the name is ours alone; SSH keys travel to the provider by an intent */
    char *ch =
        ad->ops->update && cJSON_GetArraySize(changes) > 0 ? cJSON_PrintUnformatted(changes) : NULL;
    gb_err e = pod_request(rq->app, rq->db, &p, INTENT_UPDATE, ch, name ? "renamed" : "ssh keys");
    free(ch);
    if (e) {
        request_failed(rs, e, &p);
        goto done;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", p.id);
    cJSON_AddStringToObject(o, "name", p.name);
    cJSON_AddStringToObject(o, "status", pod_status_name(p.status));
    cJSON *k = p.ssh_key_ids ? cJSON_Parse(p.ssh_key_ids) : NULL;
    cJSON_AddItemToObject(o, "ssh_keys", k ? k : cJSON_CreateArray());
    cJSON_AddStringToObject(o, "message", "Pod updated successfully.");
    api_json(rs, 200, o);
done:
    cJSON_Delete(keys);
    cJSON_Delete(changes);
    cJSON_Delete(body);
    pod_rec_clear(&p);
}

static void add_event(void *ud, int64_t at, const char *type, const char *from, const char *to,
                      const char *message)
{
    cJSON *o = cJSON_CreateObject();
    gb_json_add_time(o, "at", at);
    cJSON_AddStringToObject(o, "type", type ? type : "");
    gb_json_add_str_or_null(o, "from", from);
    gb_json_add_str_or_null(o, "to", to);
    cJSON_AddStringToObject(o, "message", message ? message : "");
    cJSON_AddItemToArray(ud, o);
}

void h_pods_events(api_req *rq, api_resp *rs)
{
    pod_rec p;
    memset(&p, 0, sizeof(p));
    gb_err e = pod_get(rq->db, rq->account_id, rq->params[0], &p);
    pod_rec_clear(&p);
    if (e) {
        api_error_from(rs, e, "Pod");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", rq->params[0]);
    cJSON *arr = cJSON_AddArrayToObject(o, "events");
    api_list(rs, o, arr, pod_event_list(rq->db, rq->params[0], add_event, arr), "events");
}

void h_pods_logs(api_req *rq, api_resp *rs)
{
    pod_rec p;
    int tail = 200;
    const char *t = api_query(rq, "tail");
    if (t && gb_parse_int(t, 1, 10000, &tail)) {
        api_error(rs, 400, "VALIDATION_ERROR", "query 'tail' must be a number from 1 to 10000");
        return;
    }
    prov_adapter *ad = pod_load(rq, rs, &p);
    if (!ad) goto done;
    if (!ad->ops->logs) {
        api_error(rs, 409, "NOT_SUPPORTED", "Provider %s does not serve logs", p.provider);
        goto done;
    }
    if (!p.provider_id[0]) { /* its create intent has not placed it yet */
        api_error(rs, 409, "CONFLICT", "Pod %s is still being created; no logs yet", p.id);
        goto done;
    }
    char err[PROV_ERR_MAX] = "", *logs = NULL;
    int64_t t0 = gb_mono_ms();
    gb_err e = ad->ops->logs(ad, p.provider_id, tail, &logs, err);
    pod_note(rq, p.provider, e, t0, err);
    if (e) {
        pod_provider_error(rs, e, p.provider, err);
        goto done;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", p.id);
    cJSON_AddStringToObject(o, "status", pod_status_name(p.status)); /* logs --follow ends */
    cJSON_AddStringToObject(o, "logs", logs ? logs : "");
    free(logs);
    api_json(rs, 200, o);
done:
    pod_rec_clear(&p);
}
