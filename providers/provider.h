/* provider.h: the unified model over every GPU platform (offers, pods, normalized statuses)
 * and the adapter interface each platform fills. An adapter translates between this model
 * and one platform's REST API; it never touches the broker's database or HTTP server. All
 * provider HTTP goes through common/http_client (prov_http below). */
#ifndef GB_PROVIDER_H
#define GB_PROVIDER_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"
#include "common/http_client.h"
#include "common/money.h"
#include "gpu/gpu.h" /* gpu_normalize: adapters fill gpu_type with it */

/* The size of every err buffer below: the project's one error-message size (common/gb.h). */
#define PROV_ERR_MAX GB_ERRMSG_MAX
#define PROV_NAME_MAX 32

/* Normalized pod status (DESIGN.md section 4). */
typedef enum {
    POD_PENDING = 0,
    POD_DEPLOYING,
    POD_RUNNING,
    POD_STOPPING,
    POD_STOPPED,
    POD_SUCCEEDED,
    POD_FAILED,
    POD_DELETED,
    POD_UNKNOWN
} pod_status;

const char *pod_status_name(pod_status s); /* "running", ... (static, not freed) */
/* Parses a normalized name (case-insensitive); -1 when unknown. */
int pod_status_parse(const char *s, pod_status *out);
/* True for states a pod does not leave by itself (stopped, succeeded, failed, deleted). */
bool pod_status_settled(pod_status s);

/* One machine type a platform offers now, with its live price. */
typedef struct {
    char id[160]; /* "<provider>:<offer_id>" */
    char provider[PROV_NAME_MAX];
    char offer_id[128]; /* what create takes: machine id, resource name, executor id */
    char gpu_type[32];  /* normalized: "H100", "H200", "B200", "A100-80GB", "RTX4090" */
    char gpu_name[96];  /* the platform's own name for it */
    int gpu_count;      /* GPUs in one unit of this offer */
    int gpu_vram_gb;
    int vcpu;
    int ram_gb;
    int storage_gb;
    char location[64];
    gb_money price_per_hour; /* total for gpu_count GPUs */
    gb_money price_per_gpu_hour;
    int available; /* units (or GPUs, see available_gpus) that can be had now */
    int available_gpus;
    bool confidential;  /* e.g. Intel TDX */
    char tier[16];      /* "secure", "spot" or "" */
    int64_t fetched_at; /* ms */
} prov_offer;

/* A request to create one workload. Strings are borrowed for the call. */
typedef struct {
    const char *name;        /* gpubroker's workload name: unique, lowercase, [a-z0-9-],
                              * at most 63 chars; used to find the workload after an
                              * ambiguous failure (see prov_create) */
    const char *offer_id;    /* the offer's offer_id */
    const char *image;       /* container image (may be NULL when template_id is set) */
    const char *template_id; /* platform template id, or NULL */
    int gpu_count;
    const char *const *env; /* "NAME=value" entries */
    int nenv;
    const int *ports;
    int nports;
    const char *const *ssh_public_keys; /* full "ssh-ed25519 AAAA..." lines */
    int nssh;
    int volume_size_gb;          /* 0 = platform default */
    const char *registry_server; /* private registry auth, or NULL */
    const char *registry_username;
    const char *registry_password;
    gb_money max_price_per_hour; /* 0 = no cap; adapters whose API takes a price pass it */
    const cJSON *options;        /* provider_options, validated by the adapter (may be NULL) */
} prov_create_req;

/* The platform's view of one workload. */
typedef struct {
    char provider_id[128]; /* the platform's id for it */
    char name[96];
    pod_status status;
    char raw_status[64]; /* exactly as the platform sent it */
    char message[256];
    char ip[64];
    int ssh_port;          /* 0 = none */
    char ssh_command[256]; /* "ssh -p 2222 root@1.2.3.4" when known */
    char url[256];         /* first access URL, when the platform gives one */
    char gpu_type[32];
    int gpu_count;
    gb_money price_per_hour; /* 0 when the platform does not say */
    int64_t created_at;      /* ms, 0 = unknown */
} prov_pod;

/* One event of a workload's history, as the platform reports it. */
typedef struct {
    int64_t at; /* ms */
    char type[64];
    char message[256];
} prov_event;

struct prov_adapter;
typedef struct prov_adapter prov_adapter;

/* The vtable.
 *
 * Ownership: every array and string an entry returns through an out-parameter is the
 * caller's, allocated with malloc/calloc/realloc, and freed with free(): list_offers' and
 * list_pods' and events' *out (an array of *n items; it may be NULL when *n is 0, and is NULL
 * with *n 0 whenever the entry fails), logs' *out (a NUL-terminated string; NULL on failure).
 * create, get and find_by_name fill the caller's prov_pod, which owns no memory. auth's *hdr
 * carries the secret: the caller wipes it (gb_memzero) before free(). Arguments are borrowed
 * for the call; an adapter keeps no pointer to them. kind and pinned_settings are static.
 *
 * Every function returns GB_OK or:
 *  GB_ERR_AUTH      the platform refused our credentials (401/403)
 *  GB_ERR_NOT_FOUND no such workload
 *  GB_ERR_INVALID   the platform (or the adapter's own validation) refused the request;
 *                   err names the field when the adapter validated it
 *  GB_ERR_CAPACITY  no capacity for this offer right now
 *  GB_ERR_PAYMENT   the platform account cannot pay (402)
 *  GB_ERR_CONFLICT  wrong state for the operation (409)
 *  GB_ERR_TIMEOUT / GB_ERR_HTTP  the platform could not be reached in time
 *  GB_ERR_PROVIDER  any other error answer (5xx after retries, malformed or truncated body)
 * and fills err (a gb_errmsg) with the platform's reason.
 *
 * Capabilities: start, stop, update, logs and events are NULL when the platform cannot do
 * that (the broker answers 409 NOT_SUPPORTED), and so are validate_options, state_free, auth
 * (no auth header) and error (prov_status_error) when the adapter needs none. The NULL is the
 * capability: there are no separate flags to keep in step with it. The others are required
 * (test_providers_platforms). */
typedef struct {
    const char *kind; /* "targon", "volt", "lium", ... */
    /* The platform's published request limit per key and hour (0 = none published). The
     * broker keeps its calls inside it, and the reconciler's polling inside half of it. */
    int requests_per_hour;
    /* Settings (JSON object text, or NULL) the broker records with a new provider when they
     * are absent, so that a later change of the adapter's defaults never changes a provider
     * already registered (Targon: {"api_version":"v3"}). */
    const char *pinned_settings;
    /* What the platform charges for a stopped workload's disk, in micro-dollars per GB-hour
     * of its volume (0: nothing, or nothing published); the broker meters stopped pods at it
     * (a provider's "stopped_price_per_gb_hour" setting overrides it). docs/providers.md
     * names each platform's source. */
    int64_t stopped_price_per_gb_hour;
    gb_err (*list_offers)(prov_adapter *a, prov_offer **out, size_t *n, gb_errmsg err);
    gb_err (*create)(prov_adapter *a, const prov_create_req *req, prov_pod *out, gb_errmsg err);
    gb_err (*get)(prov_adapter *a, const char *provider_id, prov_pod *out, gb_errmsg err);
    /* Finds a workload by the name given at create (GB_ERR_NOT_FOUND if none). */
    gb_err (*find_by_name)(prov_adapter *a, const char *name, prov_pod *out, gb_errmsg err);
    /* The create of name made no workload after all (an unsure create for which none
     * appeared): drops what the adapter registered for that create before its POST (Volt: the
     * gpubroker-<name> template), which no delete can reach since there is no workload. Best
     * effort, HTTP; NULL: nothing is registered before a create. */
    void (*abandoned)(prov_adapter *a, const char *name);
    /* A workload found by name after an unsure create may be half made (Targon: registered,
     * never deployed, when the create stopped between its two POSTs): makes it whole and
     * gives its state in pp. Errors as create's (a refused deploy also removes the
     * registration). NULL: a create is one call, what is found is whole. */
    gb_err (*finish_create)(prov_adapter *a, prov_pod *pp, gb_errmsg err);
    /* Every workload the credentials can see (for the reconciler's orphan check). */
    gb_err (*list_pods)(prov_adapter *a, prov_pod **out, size_t *n, gb_errmsg err);
    gb_err (*start)(prov_adapter *a, const char *provider_id, gb_errmsg err);
    gb_err (*stop)(prov_adapter *a, const char *provider_id, gb_errmsg err);
    /* changes: the Volt PUT body subset {name, ssh_public_keys:[...]} (hardware changes are
     * refused by the broker while running). */
    gb_err (*update)(prov_adapter *a, const char *provider_id, const cJSON *changes, gb_errmsg err);
    gb_err (*remove)(prov_adapter *a, const char *provider_id, gb_errmsg err);
    gb_err (*logs)(prov_adapter *a, const char *provider_id, int tail, char **out, gb_errmsg err);
    gb_err (*events)(prov_adapter *a, const char *provider_id, prov_event **out, size_t *n,
                     gb_errmsg err);
    /* Maps a raw platform status (case-insensitive) to the normalized one; unknown ->
     * POD_UNKNOWN. Pure function, used by tests to check every documented status. */
    pod_status (*map_status)(const char *raw);
    /* Validates provider_options for create before anything is sent (err names the field). */
    gb_err (*validate_options)(const cJSON *options, gb_errmsg err);
    void (*state_free)(void *state);
    /* The wire (prov_call). Builds this platform's auth header line for one request (*hdr:
     * the caller wipes and frees it). rejected: NULL on a first try; after a 401 the header
     * line that was refused, so a token platform fetches a fresh token (unless another thread
     * already did); a platform with a static key returns GB_ERR_AUTH then. */
    gb_err (*auth)(prov_adapter *a, const char *rejected, char **hdr, gb_errmsg err);
    /* Maps a non-2xx answer to a gb_err with the platform's reason in err (NULL:
     * prov_status_error). */
    gb_err (*error)(prov_adapter *a, const gb_http_resp *resp, gb_errmsg err);
    /* What the platform can never take, whatever the offer, refused without a call: SSH keys
     * where it takes none (or none where it needs one), registry credentials, more ports than
     * it serves, a volume. Only the request's shape is read (name and offer may be NULL).
     * GB_ERR_INVALID with the reason in err. Placement (broker/placement/placement.c) skips
     * the platform's offers with that reason instead of trying them, and the adapter's create
     * calls the same function, so the two cannot disagree. NULL: it takes any such request. */
    gb_err (*precheck)(const prov_create_req *req, gb_errmsg err);
} prov_ops;

/* Request budget: at most `per_minute` requests in any one-minute window and `per_hour` in
 * any one-hour window (fixed windows from their first request; 0 = unlimited). per_hour is
 * the platform's published limit per key (prov_ops.requests_per_hour, or the provider's
 * `requests_per_hour` setting). */
typedef struct {
    int per_minute;
    int per_hour;
    pthread_mutex_t mu;
    int64_t minute_start_ms, hour_start_ms;
    int used_minute, used_hour;
    /* When set, the hourly window is one that every broker using this platform account shares
     * (the broker sets it on PostgreSQL: budget_store.c): shared_take(shared_ud, name,
     * per_hour, &taken) takes one request there. Anything but GB_OK (no connection, an open
     * transaction, a store error) falls back to this adapter's own hourly window. */
    gb_err (*shared_take)(void *ud, const char *provider, int per_hour, bool *taken);
    void *shared_ud;
} prov_budget;

/* An adapter instance: one platform account. Thread-safe for concurrent calls (adapters
 * keep per-instance state such as tokens behind their own lock in `state`). It owns secret and
 * settings (copies made by prov_adapter_init; read-only afterwards) and state (freed by
 * ops->state_free); prov_adapter_free frees them all, wiping the secret. */
struct prov_adapter {
    const prov_ops *ops;
    char name[PROV_NAME_MAX]; /* the broker's name for this provider ("targon") */
    char base_url[256];       /* no trailing slash */
    char *secret;             /* API key / token / "clientID:clientSecret"; never logged */
    cJSON *settings;          /* adapter settings from the broker (rates, org, ...) or NULL */
    gb_http_policy policy;
    prov_budget budget;
    void *state;
};

/* Creates an adapter instance with ops (what prov_adapter_new does after the lookup; tests
 * use it directly with one adapter's ops). name, base_url, secret and settings are copied;
 * ops must outlive the adapter. The caller frees *out with prov_adapter_free. */
gb_err prov_adapter_init(const prov_ops *ops, const char *name, const char *base_url,
                         const char *secret, const cJSON *settings, prov_adapter **out);
/* Creates an adapter of kind ("targon", "volt", "lium") for base_url with its secret.
 * GB_ERR_NOT_FOUND for an unknown kind. */
gb_err prov_adapter_new(const char *kind, const char *name, const char *base_url,
                        const char *secret, const cJSON *settings, prov_adapter **out);
void prov_adapter_free(prov_adapter *a);
/* The registered kinds, NULL-terminated; static, like the ops prov_ops_for returns (NULL for
 * an unknown kind). */
const char *const *prov_kinds(void);
const prov_ops *prov_ops_for(const char *kind);

/* One HTTP exchange with the platform: base_url + path, JSON body (or NULL), the adapter's
 * auth headers (extra_headers, NULL-terminated, e.g. "Authorization: Bearer ..."), the
 * adapter's retry policy (idempotent: may be retried on any retryable failure; otherwise only
 * when the request was surely not processed) and budget. On GB_OK resp holds the answer (any
 * status), which the caller frees with gb_http_resp_free; on failure it holds no body (freeing
 * it is harmless). */
gb_err prov_http(prov_adapter *a, const char *method, const char *path,
                 const char *const *extra_headers, const cJSON *body, bool idempotent,
                 gb_http_resp *resp, gb_errmsg err);

/* A fence on the calling thread's provider calls (NULL held: none). Before each request that
 * changes something (any method but GET and HEAD) prov_http_raw asks held(ud) whether the
 * caller still holds the claim it acts under (a worker paused past its lease must not create
 * what the worker that took its claim over creates too, nor start a pod it stopped since), and
 * by when (*send_by, gb_now_ms(); 0: no limit) the request must have left: a thread paused
 * after the check that wakes later sends nothing (gb_http_req.send_by_ms, checked by libcurl
 * just before it sends). When it does not hold it, or the time passed, that request and every
 * later one is not sent: GB_ERR_HTTP, which every adapter takes for an unknown outcome (so
 * none cleans up or posts again), and prov_fence_tripped() is true until the next
 * prov_fence_set. */
void prov_fence_set(bool (*held)(void *ud, int64_t *send_by), void *ud);
bool prov_fence_tripped(void);
/* The outcome of an adapter call made under the fence: e, unless the call answered GB_OK while
 * the fence kept one of its requests back (a best-effort step such as Volt's template cleanup
 * after a delete): then GB_ERR_HTTP, with err saying so, an unknown outcome the caller asks
 * again, so the step is not lost. */
gb_err prov_fence_outcome(gb_err e, char *err);

/* prov_http with a raw body of content_type (e.g. form-encoded); body may be NULL. resp as
 * for prov_http. */
gb_err prov_http_raw(prov_adapter *a, const char *method, const char *path,
                     const char *const *extra_headers, const char *content_type, const char *body,
                     size_t body_len, bool idempotent, gb_http_resp *resp, gb_errmsg err);

/* The one call path of every adapter: refuses a secret with control characters (it would
 * forge headers), asks ops->auth for the header, sends through prov_http, after a 401 asks
 * ops->auth once more with the refused header and retries once, maps a non-2xx answer
 * through ops->error (or prov_status_error), and parses a 2xx body into *out (NULL when the
 * answer is empty or 204, and on failure; out may be NULL): the caller frees it with
 * cJSON_Delete. status (may be NULL) gets the HTTP status of the last answer, 0 when there was
 * none. */
gb_err prov_call(prov_adapter *a, const char *method, const char *path, const cJSON *body,
                 bool idempotent, cJSON **out, long *status, gb_errmsg err);
/* prov_call with a raw body of content_type and the raw 2xx answer in *resp (the caller
 * frees it with gb_http_resp_free; zeroed on failure). */
gb_err prov_call_raw(prov_adapter *a, const char *method, const char *path,
                     const char *content_type, const char *body, size_t body_len, bool idempotent,
                     gb_http_resp *resp, long *status, gb_errmsg err);
/* Called after every prov_call/prov_call_raw with the platform (ops->kind), the HTTP method,
 * the last answer's status (0: none), the outcome and the time taken: the daemon counts them
 * for /metrics without providers/ depending on it. NULL (the default) turns it off. */
typedef void (*prov_call_hook_fn)(const char *platform, const char *method, long status, gb_err e,
                                  int64_t micros);
void prov_set_call_hook(prov_call_hook_fn fn);
/* Ready-made ops->auth: "Authorization: Bearer <secret>" (GB_ERR_AUTH once rejected); *hdr as
 * for ops->auth. */
gb_err prov_auth_bearer(prov_adapter *a, const char *rejected, char **hdr, gb_errmsg err);
/* "<header>: <value>" for an auth header, malloc'd: the caller wipes and frees it; NULL on
 * allocation failure. */
char *prov_auth_line(const char *header, const char *value);

/* Helpers for adapters: parse a JSON response body (GB_ERR_PROVIDER with "malformed response
 * from <name>: ..." when it is not JSON), and map an HTTP error status to gb_err, copying the
 * platform's message (from "message", "error", "reason" or "detail") into err. *out: the
 * caller frees it with cJSON_Delete (NULL on failure). */
gb_err prov_parse_json(prov_adapter *a, const gb_http_resp *resp, cJSON **out, gb_errmsg err);
gb_err prov_status_error(prov_adapter *a, const gb_http_resp *resp, gb_errmsg err);

/* Waits ms between an adapter's own retries: through the policy's sleep_ms when set (tests
 * record the pauses instead of waiting), else really; not at all once the fence tripped
 * (prov_fence_set: no request of this call goes out any more, so a retry is not worth a
 * pause). */
void prov_sleep(prov_adapter *a, int64_t ms);

#endif
