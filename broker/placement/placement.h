/* placement.h: placement by live price: the C entry point that places and records a pod on the
 * cheapest offer that fits (the pods API's "provider":"auto" and the job runner both call it),
 * and reading its filter from a POST /api/volt/pods body. */
#ifndef GB_PLACEMENT_H
#define GB_PLACEMENT_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "broker/core/app.h"
#include "broker/core/pods.h"
#include "broker/api/pod_create.h"
#include "broker/placement/rank.h"

/* A pod to place: who asks, what it runs, and which offers may run it. */
typedef struct {
    const char *account_id;
    const char *name; /* the pod's name; NULL: its workload name */
    const char *image;
    const char *const *env; /* "NAME=value" each (at most 128) */
    int nenv;
    rank_filter filter; /* placement_filter_init, then gpu_type (normalized) or
                         * min_vram_gb, gpu_count (0: the offer's), max_price (0: no cap),
                         * providers allowed and excluded, confidential, tier, location */
    /* The pods API's resolved request (name, image, template, ports, env, SSH keys, registry
     * credential, volume, provider_options); when set, name, image and env above are not
     * used. NULL for none. */
    const struct create_ctx *more;
    const pod_txn_hook *hook; /* work in the create's transaction, or NULL */
    const char *job_id;       /* the fine-tuning job the pod is for (paid by it), or NULL */
    bool dry_run; /* rank and fill *out for the first candidate, but record and queue nothing
                   * (no money check either: the caller asks billing_admit itself) */
    /* When set, gets every offer left out, [{offer, reason}] (at most 100, owned by the
     * caller): those the filter rejected and those whose platform cannot take this request
     * (SSH keys, registry credentials, ports, volume, provider_options), which are never
     * tried. */
    cJSON **rejected;
} placement_req;

/* Why a placement failed. */
typedef struct {
    int status;       /* 400, 402 (billing.h's codes), 409 NO_OFFER; 0: a store
                       * error about `what` (the pods API answers it with api_error_from) */
    const char *code; /* "VALIDATION_ERROR", "SPEND_LIMIT", "NO_OFFER" */
    char message[256];
    const char *what; /* status 0: "offers", "account" or "pod" */
    cJSON *reasons;   /* NO_OFFER: [{offer, reason}], at most 100 (owned) */
} placement_error;

/* An empty filter: any offer, cheapest first, confidential either way, now. */
void placement_filter_init(rank_filter *f);
/* Reads the placement fields of a POST /api/volt/pods body (gpu_type, max_price_per_hour,
 * min_vram_gb, confidential, tier, providers, exclude_providers, location) into f; a
 * gpu_count of 0 (none given) asks for one GPU, never "whatever the offer has". -1 with err
 * naming the field. */
int placement_filter_from_body(const cJSON *body, int gpu_count, rank_filter *f, char *err);

/* Sets f's margins from a metering.margins list ("lium=5,volt=12.5": percent per provider,
 * gb_config_margin); NULL or "" sets none. GB_ERR_INVALID for a list config would refuse or
 * one naming more than RANK_MAX_PROVIDERS providers. */
gb_err placement_filter_margins(rank_filter *f, const char *list);

/* Filters and ranks every provider's live offers by req->filter, leaves out the offers whose
 * platform cannot take the request (prov_ops.precheck, validate_options: never tried, their
 * reason with the filter's in NO_OFFER's reasons and req->rejected), and queues the pod's
 * create intent over the ranked offers (at most placement.max_attempts): the pod is recorded
 * pending
 * on the first, its price reserved against the spend limit, and returned in *out
 * (pod_rec_clear); the intent pool tries the offers in order, each failure an event of the
 * pod. *attempts gets the candidates [{offer, price_per_hour}] (owned). On failure returns
 * non-OK with *why filled (placement_error_clear) and nothing written. With req->dry_run,
 * *out is the pod the first candidate would make (not recorded) and nothing is written. */
gb_err placement_create(app *a, gb_db *db, const placement_req *req, pod_rec *out, cJSON **attempts,
                        placement_error *why);
void placement_error_clear(placement_error *why);

#endif
