/* targon.h: the Targon adapter's pure parts (status mapping, option validation, request
 * bodies, API paths, response parsing), shared by its files and exercised by its tests. The
 * adapter itself is prov_targon_ops. */
#ifndef GB_PROVIDERS_TARGON_H
#define GB_PROVIDERS_TARGON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "providers/provider.h"

#define PROV_TARGON_PATH_MAX 512

extern const prov_ops prov_targon_ops;

/* Raw Targon status (the seed's uppercase ones and the real service's lowercase ones),
 * case-insensitive, to the normalized status; anything else -> POD_UNKNOWN. */
pod_status prov_targon_map_status(const char *raw);

/* provider_options for create: type, serverless_config, volumes, project_id, app_id,
 * commands, args, ssh_keys. err (PROV_ERR_MAX) names the offending field. (type SERVERLESS,
 * serverless_config and app_id exist only in the v2 API; the create body refuses them on v3.) */
gb_err prov_targon_validate_options(const cJSON *options, char *err);

/* The Create Workload body for req (options already validated) for API version 2 or 3.
 * key_uids: the SSH key uids (shk-...) to attach, already resolved from req->ssh_public_keys
 * and provider_options.ssh_keys by prov_targon_key_uids; NULL = take the uids from req as they
 * are and refuse a raw public key. Caller frees *out. */
gb_err prov_targon_create_body(const prov_create_req *req, int version, const cJSON *key_uids,
                               cJSON **out, char *err);

/* The Update Workload (PATCH) body for the broker's changes {name, image, ssh_public_keys,
 * ssh_keys}; key_uids as above (NULL: only uids accepted). *out is NULL when there is nothing
 * to change. */
gb_err prov_targon_update_body(const cJSON *changes, const cJSON *key_uids, cJSON **out, char *err);

/* The API version of settings: {"api_version":"v2"} -> 2; absent or "v3" -> 3 (the current
 * API, targon-sdk CHANGELOG python/3.0.0); -1 with err for anything else or a malformed org. */
int prov_targon_version(const cJSON *settings, char *err);
/* The path of a collection (kind "workloads" or "ssh-keys") + suffix: v2
 * "/tha/v2/<kind><suffix>", v3 "/tha/v3/orgs/<org>/<kind><suffix>" (org: 1-64 letters, digits,
 * - or _). GB_ERR_INVALID with err for a bad org or an over-long path. */
gb_err prov_targon_path_for(int version, const char *org, const char *kind, const char *suffix,
                            char *out, size_t n, char *err);
/* GET inventory path: "/tha/v2/inventory" or "/tha/v3/inventory" (not org-scoped). */
gb_err prov_targon_inventory_path(const cJSON *settings, char *out, size_t n, char *err);

/* Parses a workload object, a list/deploy summary item or a GET .../state answer into out
 * (provider_id stays "" when the object has no uid). */
void prov_targon_parse_pod(const cJSON *w, prov_pod *out);
/* Parses one inventory entry; 0 = an offer, 1 = skipped (no GPU), -1 = malformed. */
int prov_targon_parse_offer(const cJSON *item, const char *provider, int64_t now_ms,
                            prov_offer *out);
void prov_targon_parse_event(const cJSON *e, prov_event *out);
/* True when an error answer says the resource has no capacity left. */
bool prov_targon_is_capacity(const char *body, size_t len);

/* ---- attachments and checks (targon_attach.c) ---- */

/* PUT/DELETE .../workloads/{uid}/volumes/{volume_uid} (rental workloads; mount_path absolute). */
gb_err prov_targon_attach_volume(prov_adapter *a, const char *uid, const char *volume_uid,
                                 const char *mount_path, bool read_only, char *err);
gb_err prov_targon_detach_volume(prov_adapter *a, const char *uid, const char *volume_uid,
                                 char *err);
/* PUT/DELETE .../workloads/{uid}/ssh-keys/{key_uid}; attaching twice is GB_ERR_CONFLICT. */
gb_err prov_targon_attach_ssh_key(prov_adapter *a, const char *uid, const char *key_uid, char *err);
gb_err prov_targon_detach_ssh_key(prov_adapter *a, const char *uid, const char *key_uid, char *err);
/* POST .../workloads/verify {uid, digest}: *verified tells whether the digest matches. */
gb_err prov_targon_verify(prov_adapter *a, const char *uid, const char *digest, bool *verified,
                          char *err);

/* ---- shared by the adapter's own files ---- */

/* ops->error: the gb_err for a non-2xx answer (GB_ERR_CAPACITY for Targon's capacity answers). */
gb_err prov_targon_answer_error(prov_adapter *a, const gb_http_resp *r, char *err);
/* GET path and parse the JSON answer (*out NULL on error). */
gb_err prov_targon_get_json(prov_adapter *a, const char *path, cJSON **out, char *err);
/* The adapter's path of kind + suffix (see prov_targon_path_for); on v3 the org comes from
 * settings.org or, when settings name none, from GET /tha/v3/orgs (the one organization the
 * key belongs to), found once and kept (targon_keys.c). out has PROV_TARGON_PATH_MAX bytes. */
gb_err prov_targon_path(prov_adapter *a, const char *kind, const char *suffix, char *out,
                        char *err);
/* The path of workload uid + tail ("/deploy", ...); GB_ERR_INVALID for a malformed uid.
 * out has PROV_TARGON_PATH_MAX bytes. */
gb_err prov_targon_uid_path(prov_adapter *a, const char *uid, const char *tail, char *out,
                            char *err);
/* Percent-encodes s for a query string into out (n bytes). */
void prov_targon_query_escape(const char *s, char *out, size_t n);
/* Resolves SSH keys to Targon key uids appended to uids (a JSON array): an entry that is a uid
 * (shk-...) is kept; a raw public key line ("ssh-ed25519 AAAA... comment") is looked up among
 * the account's keys by its type and key data and, when none matches, uploaded with POST
 * .../ssh-keys {name: "gpubroker-<hash>", ssh_key} (targon_keys.c). */
gb_err prov_targon_key_uids(prov_adapter *a, const char *const *lines, int n, cJSON *uids,
                            char *err);
/* Frees the adapter state (the discovered org). */
void prov_targon_state_free(void *state);
/* The create entry of prov_targon_ops: register then deploy (targon_create.c). */
gb_err prov_targon_create(prov_adapter *a, const prov_create_req *req, prov_pod *out, char *err);
/* ops->finish_create: a registered workload (found by name) is deployed, as create would. */
gb_err prov_targon_finish_create(prov_adapter *a, prov_pod *pp, char *err);

#endif
