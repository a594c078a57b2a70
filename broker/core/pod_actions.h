/* pod_actions.h: asking for a provider mutation of an existing pod (start, stop, update,
 * delete): the pod's new state, its event and webhook and the intent that makes the provider
 * call later are written in one transaction; the intent pool is woken. */
#ifndef GB_POD_ACTIONS_H
#define GB_POD_ACTIONS_H

#include "broker/core/app.h"
#include "broker/core/billing.h"
#include "broker/core/intents.h"
#include "broker/core/pods.h"

/* Moves p to the state kind asks for (start: deploying, stop: stopping, delete: deleted,
 * update: unchanged; p is updated too) with an event of that type and message why (NULL for
 * none), and queues the intent (update: changes is the JSON the provider gets, NULL when nothing
 * travels). A delete of a pod whose create no worker has started cancels that create instead. */
gb_err pod_request(app *a, gb_db *db, pod_rec *p, intent_kind kind, const char *changes,
                   const char *why);
/* pod_request's start, with the money guards of a create (billing_admit) checked inside its
 * transaction (a job's pod passes): GB_ERR_PAYMENT with refusal filled and nothing written
 * when the account cannot pay for it. */
gb_err pod_request_start(app *a, gb_db *db, pod_rec *p, billing_refusal *refusal);

#endif
