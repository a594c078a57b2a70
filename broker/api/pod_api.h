/* pod_api.h: what the pod handlers share: the pod's JSON form (the Volt fields plus
 * extensions), mapping provider errors to API answers, and timed provider calls. */
#ifndef GB_POD_API_H
#define GB_POD_API_H

#include "broker/api/api.h"
#include "broker/core/pods.h"
#include "broker/core/registry.h"

/* The Volt pod object; full adds the detail fields of GET /pods/:id. Its cost_per_hour and
 * total_cost are what the user pays: the locked price plus the provider's margin
 * (metering.margins, meter_rate); price_per_hour is the provider's locked price. */
cJSON *pod_json(const app *a, const pod_rec *p, int64_t now_ms, int full);
/* Answers a failed provider call: capacity 409 NO_CAPACITY, invalid 400, credentials 502
 * PROVIDER_AUTH_FAILED, budget 503 PROVIDER_BUSY, anything else 502 PROVIDER_ERROR, always with
 * the provider's reason. */
void pod_provider_error(api_resp *rs, gb_err e, const char *provider, const char *err);
/* Records latency and outcome of a provider call that started at t0 (gb_mono_ms). */
void pod_note(api_req *rq, const char *provider, gb_err e, int64_t t0, const char *err);
/* Loads the caller's pod from params[0] and its adapter (registry_get_synced: also one
 * registered through another broker since this one's last sync); answers 404 / 502 itself and
 * returns NULL on failure. */
prov_adapter *pod_load(api_req *rq, api_resp *rs, pod_rec *p);

#endif
