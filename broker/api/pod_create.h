/* pod_create.h: the steps of creating a pod that the explicit form (pod_create.c) and
 * placement by live price (placement.c) share: the request's resolved inputs, launching the
 * workload on one offer, recording the pod, and the spending guard. */
#ifndef GB_POD_CREATE_H
#define GB_POD_CREATE_H

#include "broker/api/pod_api.h"
#include "broker/core/billing.h"

#define MAX_SSH_KEYS 16
#define MAX_ENV 128
#define MAX_PORTS 64

typedef struct create_ctx {
    /* resolved inputs */
    prov_adapter *ad;
    prov_offer offer;
    template_rec tpl;
    int have_tpl;
    char *pubkeys[MAX_SSH_KEYS];
    int nkeys;
    char *env[MAX_ENV];
    int nenv;
    int ports[MAX_PORTS];
    int nports;
    char *reg_pass;
    size_t reg_pass_len;
    cred_rec cred;
    int have_cred;
    gb_err fault; /* set when parsing failed on our side (a secret that does not open),
                   * not on the request's: the answer is then 500, not 400 */
    cJSON *key_ids;
    /* request fields */
    const char *name;
    const char *image;
    int gpu_count; /* 0 = the offer's */
    int volume_gb;
    const cJSON *opts;       /* provider_options (borrowed from the body) */
    const char *job_id;      /* the fine-tuning job the pod is for (NULL: none) */
    int64_t max_duration_ms; /* guards (0 = none): stop after this running time */
    gb_money max_cost;       /* or this cost */
} create_ctx;

void pod_ctx_free(create_ctx *c);
/* Reads name, gpu_count, volume_size_gb, provider_options, the image or template (with its
 * ports, env and registry credentials) and the SSH keys. -1 with err naming the field. */
int pod_parse_common(api_req *rq, const cJSON *body, create_ctx *c, char *err);
int pod_resolve_image(api_req *rq, const cJSON *body, create_ctx *c, const char **image, char *err);
int pod_resolve_keys(api_req *rq, const cJSON *body, create_ctx *c, char *err);
/* The price per hour of count GPUs on offer o. */
gb_money pod_offer_price(const prov_offer *o, int count);
/* Fills p for a create of count GPUs of offer o at price (not yet recorded, nothing called):
 * a new id and workload name, status pending, not polled until placed. */
void pod_prepare(const char *account_id, const create_ctx *c, const prov_offer *o, int count,
                 gb_money price, pod_rec *p);
/* One entry of a create intent's offers list (owned by the caller). */
cJSON *pod_offer_entry(const prov_offer *o, int count, gb_money price);
/* Work a caller adds to the create's transaction (the job runner records the job's pod). */
typedef struct {
    gb_err (*fn)(void *ud, gb_db *db, const pod_rec *p);
    void *ud;
} pod_txn_hook;
/* In one transaction: checks the money guards with p's price reserved (billing_admit:
 * GB_ERR_PAYMENT with why filled; a job's pod passes), records p with its "created" event, queues
 * the create intent over offers (tried in order) with the request sealed in the vault, and runs
 * hook; then wakes the intent pool. Nothing is written on failure. cap (0: none) is the most the
 * user pays per hour, margins included: each offer's provider is told its own share of it
 * (meter_price_cap). */
gb_err pod_enqueue_create(app *a, gb_db *db, const create_ctx *c, pod_rec *p, const cJSON *offers,
                          gb_money cap, const pod_txn_hook *hook, billing_refusal *why);

#endif
