/* pod_create.h: the steps of creating a pod that the explicit form (pod_create.c) and
 * placement by live price (placement.c) share: the request's resolved inputs, launching the
 * workload on one offer, recording the pod, and the spending guard. */
#ifndef GB_POD_CREATE_H
#define GB_POD_CREATE_H

#include "broker/api/pod_api.h"

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
    const cJSON *opts; /* provider_options (borrowed from the body) */
} create_ctx;

void pod_ctx_free(create_ctx *c);
/* Reads name, gpu_count, volume_size_gb, provider_options, the image or template (with its
 * ports, env and registry credentials) and the SSH keys. -1 with err naming the field. */
int pod_parse_common(api_req *rq, const cJSON *body, create_ctx *c, char *err);
int pod_resolve_image(api_req *rq, const cJSON *body, create_ctx *c, const char **image, char *err);
int pod_resolve_keys(api_req *rq, const cJSON *body, create_ctx *c, char *err);
/* The price per hour of count GPUs on offer o. */
gb_money pod_offer_price(const prov_offer *o, int count);
/* GB_ERR_PAYMENT with msg (the SPEND_LIMIT message) when price would take the account's
 * committed cost per hour over its limit; a store error otherwise, GB_OK when it fits. */
gb_err pod_spend_allowed(gb_db *db, const char *account_id, gb_money price, char *msg,
                         size_t msgsz);
/* pod_spend_allowed answered into rs: 402 SPEND_LIMIT, or the store error (returns non-OK). */
gb_err pod_spend_check(api_req *rq, api_resp *rs, gb_money price);
/* Creates the workload for offer o at ad for account_id and fills p (not yet recorded); the
 * provider's error (with err) otherwise. The call is timed into the provider's health. */
gb_err pod_launch(app *a, const char *account_id, const create_ctx *c, prov_adapter *ad,
                  const prov_offer *o, int count, gb_money price, gb_money cap, pod_rec *p,
                  char *err);
/* Records p with its events (attempts: [{offer, error?}] of a placement, or NULL) in one
 * transaction; if that fails the workload is removed again. */
gb_err pod_record(gb_db *db, prov_adapter *ad, pod_rec *p, const cJSON *attempts);

#endif
