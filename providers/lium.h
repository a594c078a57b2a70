/* lium.h: what the Lium adapter's files share (Lium's error bodies and ids,
 * the JSON-to-model mapping, the create path). Only providers/lium*.c include it. */
#ifndef GB_PROV_LIUM_H
#define GB_PROV_LIUM_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "providers/provider.h"

#define PROV_LIUM_ID_MAX 64       /* executor, pod and template ids (UUIDs in practice) */
#define PROV_LIUM_NAME_MAX 128    /* pod_name */
#define PROV_LIUM_MAX_ITEMS 10000 /* entries read from one list answer */
#define PROV_LIUM_MAX_KEYS 16     /* user_public_key entries per rent */
/* The executor list as Lium.ls asks for it (Datura-ai/lium lium/sdk/client.py: size=1000). */
#define PROV_LIUM_EXECUTORS "/executors?size=1000"

/* Maps an error answer: prov_status_error's mapping, plus FastAPI's 422 detail lists
 * ("pod_name: field required") in err. */
gb_err prov_lium_status_error(prov_adapter *a, const gb_http_resp *resp, char *err);
/* True when s is a plausible Lium id ([A-Za-z0-9_-], 1..PROV_LIUM_ID_MAX) for a URL path. */
bool prov_lium_id_ok(const char *s);

/* The items of a list answer: the array itself or its "items"/"data"/<key> member. */
const cJSON *prov_lium_list_items(const cJSON *j, const char *key);
/* Executor JSON -> offer; -1 when it lacks an id, a GPU count or a price. */
int prov_lium_offer_from_json(const prov_adapter *a, const cJSON *x, prov_offer *o);
/* Pod JSON -> prov_pod (status rules, SSH parsing, price); -1 when it has no id. */
int prov_lium_pod_from_json(const cJSON *p, prov_pod *out);
/* Finds the pod named name in a GET /pods answer (live ones first); NULL if none. */
const cJSON *prov_lium_pod_by_name(const cJSON *items, const char *name);
/* Parses "ssh root@1.2.3.4 -p 40022" (or "ssh -p N user@host"); 0 when a host was found. */
int prov_lium_parse_ssh(const char *cmd, char *user, size_t user_n, char *host, size_t host_n,
                        int *port);

pod_status prov_lium_map_status(const char *raw);
gb_err prov_lium_validate_options(const cJSON *options, char *err);

/* lium.c */
gb_err prov_lium_find_by_name(prov_adapter *a, const char *name, prov_pod *out, char *err);
/* lium_create.c */
gb_err prov_lium_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err);
/* prov_ops.precheck: 1 to 16 SSH keys are needed; no registry credentials. */
gb_err prov_lium_precheck(const prov_create_req *req, char *err);
/* lium_template.c: the id of this pod's own one-time template (POST /templates with
 * one_time_template, which Lium deletes when the pod is removed), named
 * prov_lium_template_name(req->name); one left by an earlier try of the same create is reused.
 * The caller deletes it (prov_lium_template_delete) when the rent fails for good. tid gets
 * PROV_LIUM_ID_MAX+1 bytes. */
gb_err prov_lium_ensure_template(prov_adapter *a, const prov_create_req *req, char *tid, char *err);
/* "gpubroker-<pod name>" (at most 128 characters) into out. */
void prov_lium_template_name(const char *pod_name, char *out, size_t n);
/* DELETE /templates/{id}, best effort (Datura-ai/lium-sdk templates.delete). */
void prov_lium_template_delete(prov_adapter *a, const char *tid);
/* prov_ops.abandoned: deletes the template named after pod_name (no pod took it). */
void prov_lium_template_abandoned(prov_adapter *a, const char *pod_name);

#endif
