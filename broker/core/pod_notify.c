/* pod_notify.c: a pod's state change as a webhook event ("pod.running", "pod.stopped", ...),
 * and each offer its placement tried ("placement.attempt"), queued in the caller's
 * transaction with the change itself. */
#include "broker/core/pods.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "webhooks/outbox.h"

/* "pod.<what>" with the pod's fields and the extra field (name, value or NULL) queued for its
 * account in the caller's transaction. */
static gb_err queue(gb_db *db, const pod_rec *p, const char *what, const char *field,
                    const char *value)
{
    char event[48];
    snprintf(event, sizeof(event), "pod.%s", what);
    cJSON *o = cJSON_CreateObject();
    if (!o) return GB_ERR_NOMEM;
    cJSON_AddStringToObject(o, "event", event);
    cJSON_AddStringToObject(o, "podId", p->id);
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "provider", p->provider);
    cJSON_AddStringToObject(o, "status", pod_status_name(p->status));
    gb_json_add_str_or_null(o, field, value);
    if (!strcmp(field, "previousStatus"))
        gb_json_add_str_or_null(o, "providerStatus", p->raw_status[0] ? p->raw_status : NULL);
    /* why the broker stopped it (its balance, a guard), on the stop and what follows */
    if (p->stop_reason[0] && p->status != POD_RUNNING && p->status != POD_DEPLOYING)
        cJSON_AddStringToObject(o, "reason", p->stop_reason);
    gb_json_add_time(o, "at", gb_now_ms());
    gb_err e = wh_enqueue(db, p->account_id, event, o, NULL, NULL);
    cJSON_Delete(o);
    if (e) GB_WARN("pods", "%s: could not queue %s: %s", p->id, event, gb_strerror(e));
    return e;
}

gb_err pod_notify(gb_db *db, const pod_rec *p, const char *from)
{
    return queue(db, p, pod_status_name(p->status), "previousStatus", from);
}

gb_err pod_notify_event(gb_db *db, const pod_rec *p, const char *what, const char *message)
{
    return queue(db, p, what, "message", message);
}

gb_err pod_notify_attempt(gb_db *db, const pod_rec *p, const pod_attempt *a)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return GB_ERR_NOMEM;
    cJSON_AddStringToObject(o, "event", "placement.attempt");
    cJSON_AddStringToObject(o, "podId", p->id);
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "provider", a->provider);
    cJSON_AddStringToObject(o, "offerId", a->offer_id);
    gb_json_add_str_or_null(o, "gpuType", a->gpu_type && a->gpu_type[0] ? a->gpu_type : NULL);
    cJSON_AddNumberToObject(o, "gpuCount", a->gpu_count);
    gb_json_add_money(o, "price", a->price);
    cJSON_AddNumberToObject(o, "attempt", a->attempt);
    cJSON_AddStringToObject(o, "outcome", a->outcome);
    gb_json_add_str_or_null(o, "reason", a->reason);
    gb_json_add_time(o, "at", gb_now_ms());
    gb_err e = wh_enqueue(db, p->account_id, "placement.attempt", o, NULL, NULL);
    cJSON_Delete(o);
    if (e) GB_WARN("pods", "%s: could not queue placement.attempt: %s", p->id, gb_strerror(e));
    return e;
}
