/* pod_model.c: the rules of a pod record that are not SQL: status changes with their
 * running-time accounting, and cost so far. */
#include "broker/core/pods.h"

void pod_set_status(pod_rec *p, pod_status to, int64_t now_ms)
{
    if (p->status == to) return;
    if (p->status == POD_RUNNING && p->running_since) {
        p->running_ms += now_ms - p->running_since;
        p->running_since = 0;
    }
    if (to == POD_RUNNING) p->running_since = now_ms;
    if (to == POD_STOPPED || to == POD_SUCCEEDED || to == POD_FAILED) p->stopped_at = now_ms;
    if (to == POD_DELETED) p->deleted_at = now_ms;
    p->status = to;
}

int64_t pod_running_ms(const pod_rec *p, int64_t now_ms)
{
    int64_t ms = p->running_ms;
    if (p->status == POD_RUNNING && p->running_since && now_ms > p->running_since)
        ms += now_ms - p->running_since;
    return ms;
}

gb_money pod_cost(const pod_rec *p, gb_money rate, int64_t now_ms)
{
    gb_money c = 0;
    if (gb_money_mul_ratio(rate, pod_running_ms(p, now_ms), 3600000, &c) != 0) return 0;
    return c;
}
