/* routes.c: the route table of the Volt API and gpubroker's extensions, and matching. */
#include "broker/api/routes.h"

#include <string.h>

#include "broker/api/handlers.h"
#include "broker/api/scopes.h"
#include "common/str.h"

#define R(m, p, sc, fn)                                                                            \
    {                                                                                              \
        m, p, sc, 0, fn, m " " p, NULL                                                             \
    }
/* A route that takes query parameters q; any other one is a 400 before the handler runs. */
#define RQ(m, p, sc, fn, q)                                                                        \
    {                                                                                              \
        m, p, sc, 0, fn, m " " p, q                                                                \
    }
#define PUBLIC(m, p, fn)                                                                           \
    {                                                                                              \
        m, p, 0, 1, fn, m " " p, NULL                                                              \
    }

static const char *const Q_LEDGER[] = {"limit", "offset", "kind", "from", "to", NULL};
static const char *const Q_ADMIN_LEDGER[] = {"limit", "offset",     "kind", "from",
                                             "to",    "account_id", NULL};
static const char *const Q_USAGE[] = {"from", "to", "group_by", NULL};
static const char *const Q_ADMIN_USAGE[] = {"from", "to", "group_by", "account_id", NULL};
static const char *const Q_OFFERS[] = {
    "gpu",      "min_vram_gb",      "gpu_count", "max_price", "confidential", "tier",
    "provider", "exclude_provider", "location",  "sort",      "limit",        "explain",
    NULL};
static const char *const Q_PODS[] = {"status", "provider", "limit", "offset", NULL};
static const char *const Q_LOGS[] = {"tail", NULL};
static const char *const Q_JOBS[] = {"status", "limit", "offset", NULL};
static const char *const Q_DELIVERIES[] = {"status", "limit", NULL};
static const char *const Q_EVENTS[] = {"types", "id", "after", "follow", NULL};

static const route ROUTES[] = {
    PUBLIC("GET", "/healthz", h_healthz),
    PUBLIC("GET", "/readyz", h_readyz),
    PUBLIC("GET", "/metrics", h_metrics),
    PUBLIC("GET", "/api/volt/openapi.json", h_openapi), /* the contract: docs/openapi.json */
    PUBLIC("GET", "/", h_ui_index),                     /* the dashboard: docs/dashboard.md */
    PUBLIC("GET", "/ui/:file", h_ui_asset),
    R("GET", "/api/volt/account", 0, h_account_get),
    R("PUT", "/api/volt/account", 0, h_account_update),
    RQ("GET", "/api/volt/account/ledger", 0, h_account_ledger, Q_LEDGER),
    RQ("GET", "/api/volt/account/usage", 0, h_account_usage, Q_USAGE),
    RQ("GET", "/api/volt/offers", SCOPE_MACHINES, h_offers_list, Q_OFFERS),
    R("GET", "/api/volt/api-keys", SCOPE_API_KEYS, h_keys_list),
    R("POST", "/api/volt/api-keys", SCOPE_API_KEYS, h_keys_create),
    R("DELETE", "/api/volt/api-keys", SCOPE_API_KEYS, h_keys_delete),
    R("GET", "/api/volt/ssh-keys", SCOPE_SSH_KEYS, h_sshkeys_list),
    R("POST", "/api/volt/ssh-keys", SCOPE_SSH_KEYS, h_sshkeys_create),
    R("GET", "/api/volt/ssh-keys/:id", SCOPE_SSH_KEYS, h_sshkeys_get),
    R("DELETE", "/api/volt/ssh-keys/:id", SCOPE_SSH_KEYS, h_sshkeys_delete),
    R("GET", "/api/volt/docker-credentials", SCOPE_DOCKER_CREDENTIALS, h_creds_list),
    R("POST", "/api/volt/docker-credentials", SCOPE_DOCKER_CREDENTIALS, h_creds_create),
    R("GET", "/api/volt/docker-credentials/:id", SCOPE_DOCKER_CREDENTIALS, h_creds_get),
    R("DELETE", "/api/volt/docker-credentials/:id", SCOPE_DOCKER_CREDENTIALS, h_creds_delete),
    R("GET", "/api/volt/templates", SCOPE_TEMPLATES, h_templates_list),
    R("POST", "/api/volt/templates", SCOPE_TEMPLATES, h_templates_create),
    R("GET", "/api/volt/templates/:id", SCOPE_TEMPLATES, h_templates_get),
    R("PUT", "/api/volt/templates/:id", SCOPE_TEMPLATES, h_templates_update),
    R("DELETE", "/api/volt/templates/:id", SCOPE_TEMPLATES, h_templates_delete),
    RQ("GET", "/api/volt/pods", SCOPE_PODS, h_pods_list, Q_PODS),
    R("POST", "/api/volt/pods", SCOPE_PODS, h_pods_create),
    R("GET", "/api/volt/pods/:id", SCOPE_PODS, h_pods_get),
    R("PUT", "/api/volt/pods/:id", SCOPE_PODS, h_pods_update),
    R("DELETE", "/api/volt/pods/:id", SCOPE_PODS, h_pods_delete),
    R("POST", "/api/volt/pods/:id/start", SCOPE_PODS, h_pods_start),
    R("POST", "/api/volt/pods/:id/stop", SCOPE_PODS, h_pods_stop),
    R("GET", "/api/volt/pods/:id/events", SCOPE_PODS, h_pods_events),
    RQ("GET", "/api/volt/pods/:id/logs", SCOPE_PODS, h_pods_logs, Q_LOGS),
    R("GET", "/api/volt/machines", SCOPE_MACHINES, h_machines_list),
    RQ("GET", "/api/volt/fine-tuning", SCOPE_FINE_TUNING, h_jobs_list, Q_JOBS),
    R("POST", "/api/volt/fine-tuning", SCOPE_FINE_TUNING, h_jobs_create),
    R("GET", "/api/volt/fine-tuning/:id", SCOPE_FINE_TUNING, h_jobs_get),
    R("DELETE", "/api/volt/fine-tuning/:id", SCOPE_FINE_TUNING, h_jobs_cancel),
    RQ("GET", "/api/volt/fine-tuning/:id/logs", SCOPE_FINE_TUNING, h_jobs_logs, Q_LOGS),
    PUBLIC("POST", "/api/volt/fine-tuning/:id/report", h_jobs_report),
    R("GET", "/api/volt/webhooks", SCOPE_WEBHOOKS, h_webhooks_list),
    R("POST", "/api/volt/webhooks", SCOPE_WEBHOOKS, h_webhooks_create),
    R("GET", "/api/volt/webhooks/secret", SCOPE_WEBHOOKS, h_webhooks_secret),
    R("POST", "/api/volt/webhooks/secret/rotate", SCOPE_WEBHOOKS, h_webhooks_rotate),
    RQ("GET", "/api/volt/webhooks/deliveries", SCOPE_WEBHOOKS, h_webhooks_deliveries, Q_DELIVERIES),
    R("GET", "/api/volt/webhooks/ed25519", SCOPE_WEBHOOKS, h_webhooks_ed25519_get),
    R("POST", "/api/volt/webhooks/ed25519", SCOPE_WEBHOOKS, h_webhooks_ed25519_create),
    R("DELETE", "/api/volt/webhooks/ed25519", SCOPE_WEBHOOKS, h_webhooks_ed25519_delete),
    R("POST", "/api/volt/webhooks/deliveries/:id/redeliver", SCOPE_WEBHOOKS, h_webhooks_redeliver),
    R("PATCH", "/api/volt/webhooks/:id", SCOPE_WEBHOOKS, h_webhooks_update),
    R("DELETE", "/api/volt/webhooks/:id", SCOPE_WEBHOOKS, h_webhooks_delete),
    R("POST", "/api/volt/webhooks/:id/test", SCOPE_WEBHOOKS, h_webhooks_test),
    /* the scope is checked by the handler: pods, fine-tuning or webhooks, each seeing its own */
    RQ("GET", "/api/volt/events", 0, h_events, Q_EVENTS),
    R("GET", "/api/volt/admin/providers", SCOPE_ADMIN, h_admin_providers_list),
    R("POST", "/api/volt/admin/providers", SCOPE_ADMIN, h_admin_providers_add),
    R("DELETE", "/api/volt/admin/providers/:id", SCOPE_ADMIN, h_admin_providers_delete),
    R("GET", "/api/volt/admin/orphans", SCOPE_ADMIN, h_admin_orphans),
    R("GET", "/api/volt/admin/hub-token", SCOPE_ADMIN, h_admin_hub_token_get),
    R("PUT", "/api/volt/admin/hub-token", SCOPE_ADMIN, h_admin_hub_token_put),
    R("DELETE", "/api/volt/admin/hub-token", SCOPE_ADMIN, h_admin_hub_token_delete),
    R("GET", "/api/volt/admin/accounts", SCOPE_ADMIN, h_admin_accounts_list),
    R("POST", "/api/volt/admin/accounts", SCOPE_ADMIN, h_admin_accounts_create),
    R("GET", "/api/volt/admin/accounts/:id", SCOPE_ADMIN, h_admin_accounts_get),
    R("POST", "/api/volt/admin/accounts/:id/credit", SCOPE_ADMIN, h_admin_accounts_credit),
    R("PUT", "/api/volt/admin/accounts/:id/limits", SCOPE_ADMIN, h_admin_accounts_limits),
    RQ("GET", "/api/volt/admin/ledger", SCOPE_ADMIN, h_admin_ledger, Q_ADMIN_LEDGER),
    RQ("GET", "/api/volt/admin/usage", SCOPE_ADMIN, h_admin_usage, Q_ADMIN_USAGE),
};

#define NROUTES ((int)(sizeof(ROUTES) / sizeof(ROUTES[0])))

const route *routes_table(int *n)
{
    *n = NROUTES;
    return ROUTES;
}

const char *const *routes_names(void)
{
    static const char *names[NROUTES];
    static int done;
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        for (int i = 0; i < NROUTES; i++)
            names[i] = ROUTES[i].name;
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
    return names;
}

/* Splits path into segments in place; returns the count, or -1 if too many. */
static int split(char *path, char **segs, int max)
{
    int n = 0;
    char *p = path;
    while (*p == '/')
        p++;
    while (*p) {
        if (n == max) return -1;
        segs[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash) break;
        *slash = '\0';
        p = slash + 1;
    }
    return n;
}

static int match_pattern(const char *pattern, char **segs, int nseg, const char **params,
                         int *nparams)
{
    char pat[256];
    char *psegs[16];
    gb_strlcpy(pat, pattern, sizeof(pat));
    int np = split(pat, psegs, 16);
    if (np != nseg) return 0;
    int k = 0;
    for (int i = 0; i < np; i++) {
        if (psegs[i][0] == ':') {
            if (!segs[i][0] || k >= API_MAX_PARAMS) return 0;
            params[k++] = segs[i];
        } else if (strcmp(psegs[i], segs[i]) != 0) {
            return 0;
        }
    }
    *nparams = k;
    return 1;
}

int routes_match(const char *method, char *pathbuf, api_req *rq, char *allow, size_t allow_n)
{
    char *segs[16];
    size_t len = strlen(pathbuf);
    if (len > 1 && pathbuf[len - 1] == '/') pathbuf[len - 1] = '\0'; /* tolerate a trailing / */
    int nseg = split(pathbuf, segs, 16);
    if (nseg < 0) return -1;
    int path_hit = 0;
    allow[0] = '\0';
    for (int i = 0; i < NROUTES; i++) {
        const char *params[API_MAX_PARAMS];
        int np = 0;
        if (!match_pattern(ROUTES[i].pattern, segs, nseg, params, &np)) continue;
        if (strcmp(ROUTES[i].method, method) == 0) {
            for (int k = 0; k < np; k++)
                rq->params[k] = params[k];
            rq->nparams = np;
            return i;
        }
        size_t al = strlen(allow);
        if (!strstr(allow, ROUTES[i].method))
            gb_snprintf(allow + al, allow_n - al, "%s%s", al ? ", " : "", ROUTES[i].method);
        path_hit = 1;
    }
    return path_hit ? -2 : -1;
}
