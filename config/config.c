/* config.c: the table of every configuration key, and the defaults, value validation,
 * GPUBROKER_* environment overrides, derived paths, loading and freeing driven by it. */
#include "config/config_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/money.h"
#include "common/str.h"

/* offsetof(gb_config, f), failing to compile unless the field has type T. */
#define FIELD(f, T)                                                                                \
    (offsetof(gb_config, f) + 0 * sizeof(char[_Generic(((gb_config *)0)->f, T : 1, default : -1)]))

#define KEY_STR(path, f, minlen, def, flags, desc)                                                 \
    {                                                                                              \
        path, GB_CONFIG_T_STRING, FIELD(f, char *), minlen, GB_CONFIG_STR_MAX, 0, def, flags, desc \
    }
#define KEY_INT(path, f, lo, hi, def, desc)                                                        \
    {                                                                                              \
        path, GB_CONFIG_T_INT, FIELD(f, int), lo, hi, def, NULL, 0, desc                           \
    }
#define KEY_I64(path, f, lo, hi, def, desc)                                                        \
    {                                                                                              \
        path, GB_CONFIG_T_INT64, FIELD(f, int64_t), lo, hi, def, NULL, 0, desc                     \
    }
#define KEY_LEVEL(path, f, def, desc)                                                              \
    {                                                                                              \
        path, GB_CONFIG_T_LOGLEVEL, FIELD(f, int), GB_LOG_DEBUG, GB_LOG_ERROR, def, NULL, 0, desc  \
    }

/* Every key, grouped by section (the example file follows this order). */
const gb_config_key gb_config_keys[] = {
    KEY_STR("server.listen", listen, 1, "127.0.0.1", GB_CONFIG_F_IPADDR,
            "Address to listen on: an IPv4 or IPv6 literal."),
    KEY_INT("server.port", port, 0, 65535, 8080, "TCP port to listen on; 0 picks any free port."),
    KEY_INT("server.threads", threads, 1, 256, 16,
            "HTTP worker threads (a fixed number, not the core count)."),
    KEY_INT("server.max_connections", max_connections, 16, 65536, 4096,
            "Open HTTP connections at most, from all addresses together."),
    KEY_INT("server.max_connections_per_address", max_connections_per_address, 1, 65536, 64,
            "Open HTTP connections at most from one client address; more are closed unanswered."),
    KEY_INT("server.shutdown_timeout_ms", shutdown_timeout_ms, 1000, 600000, 20000,
            "On SIGTERM/SIGINT, the longest the daemon takes to stop before it exits anyway."),
    KEY_INT("server.request_timeout_ms", request_timeout_ms, 100, 600000, 10000,
            "Time to receive a whole request (headers and body); slower clients are cut off."),
    KEY_STR("server.tls_cert_file", tls_cert_file, 0, "", 0,
            "PEM certificate (and chain): with tls_key_file the API is HTTPS only; empty: HTTP."),
    KEY_STR(
        "server.tls_key_file", tls_key_file, 0, "", 0,
        "PEM private key of tls_cert_file; refused if group or others may read it (chmod 600)."),
    KEY_STR("server.dashboard_dir", dashboard_dir, 0, "", 0,
            "Serve the dashboard from this directory's files; empty: the copy built in."),
    KEY_STR("storage.data_dir", data_dir, 1, "./gpubroker-data", 0,
            "Directory holding the database and the master key."),
    KEY_STR("storage.database", database, 0, "", 0,
            "SQLite file (empty: <data_dir>/gpubroker.db) or postgresql://USER:PW@HOST/DB"),
    KEY_INT("storage.group_commit", group_commit, 0, 1, 1,
            "SQLite: 1 commits concurrent job creations together on one writer connection."),
    KEY_INT("storage.idle_in_transaction_ms", idle_txn_ms, 0, 3600000, 10000,
            "PostgreSQL: a broker idle this long inside a transaction is taken as stopped."),
    KEY_STR("vault.master_key_file", master_key_file, 0, "", 0,
            "Master key file (mode 0600); empty means <data_dir>/master.key."),
    KEY_LEVEL("log.level", log_level, GB_LOG_INFO, "Least severe level that is logged."),
    KEY_STR("log.format", log_format, 1, "text", 0,
            "text, or json: one object a line {ts, level, module, msg, request_id}."),
    KEY_INT("metrics.require_key", metrics_require_key, 0, 1, 0,
            "1: GET /metrics needs an admin API key; 0: it is open like /healthz."),
    KEY_I64("limits.max_body_bytes", max_body_bytes, 1024, 67108864, 1048576,
            "Largest HTTP request body accepted, in bytes."),
    KEY_INT("limits.max_json_depth", max_json_depth, 2, 128, 32,
            "Deepest nesting accepted in a JSON request body."),
    KEY_INT("limits.max_list_items", max_list_items, 1, 10000, 256,
            "Most items in one list (request array or response page)."),
    KEY_INT("rate_limit.requests_per_hour", rate_limit_per_hour, 1, 10000000, 1000,
            "Requests each API key may make per hour."),
    KEY_INT("api.key_cache_ms", key_cache_ms, 0, 60000, 1000,
            "How long a verified API key is used from memory; 0: read it on every request."),
    KEY_INT("api.ssh_keys_memory_ms", ssh_keys_memory_ms, 0, 60000, 1000,
            "How long an account's SSH key list is answered from memory; 0: read it every time."),
    KEY_INT("providers.timeout_ms", provider_timeout_ms, 100, 600000, 30000,
            "Time limit of one request to a provider, in milliseconds."),
    KEY_INT("providers.max_retries", provider_max_retries, 0, 5, 5,
            "Retries of a failed provider request (429, 5xx, connection errors)."),
    KEY_INT("providers.requests_per_minute", provider_requests_per_minute, 0, 100000, 600,
            "Request budget per provider per minute; 0 means unlimited."),
    KEY_INT("offers.ttl_ms", offers_ttl_ms, 100, 86400000, 30000,
            "Offers younger than this are served from the cache without asking the provider."),
    KEY_INT("offers.drop_after_ms", offers_drop_after_ms, 100, 86400000, 300000,
            "Offers older than this are no longer served (a provider that stays down drops out)."),
    KEY_INT("placement.block_ms", placement_block_ms, 0, 86400000, 120000,
            "How long an offer whose create failed (capacity, 5xx, timeout) is skipped."),
    KEY_INT("placement.max_attempts", placement_max_attempts, 1, 100, 10,
            "Most offers one placement tries before it gives up."),
    KEY_STR("jobs.trainer_image", jobs_trainer_image, 1, "gpubroker/trainer:latest", 0,
            "Container image that trains a fine-tuning job on its pod."),
    KEY_STR("jobs.providers", jobs_providers, 0, "", 0,
            "Providers a job's pod may be placed on (comma list); empty means any."),
    KEY_STR("jobs.report_url", jobs_report_url, 0, "", 0,
            "Base URL trainers report to; empty means http://<server.listen>:<port>."),
    KEY_STR("jobs.trainer_state_url", jobs_trainer_state_url, 0, "", 0,
            "URL of a trainer's state, e.g. {provider_url}/_trainer/{workload_id}; empty: none."),
    KEY_INT("jobs.runner_interval_ms", jobs_interval_ms, 50, 3600000, 1000,
            "How often the job runner looks for work, in milliseconds."),
    KEY_INT(
        "jobs.lease_ms", jobs_lease_ms, 1000, 3600000, 60000,
        "How long a runner holds a job it works on; a crashed runner's jobs are free after it."),
    KEY_INT("jobs.find_nodes_timeout_ms", jobs_find_nodes_timeout_ms, 1000, 86400000, 600000,
            "How long a job looks for nodes before it fails as failure_finding_nodes."),
    KEY_STR("jobs.hub_url", jobs_hub_url, 1, "https://huggingface.co", 0,
            "Hugging Face Hub base URL: model sizes and datasets are looked up there."),
    KEY_INT("jobs.hub_timeout_ms", jobs_hub_timeout_ms, 100, 60000, 3000,
            "Time limit of one Hub request; past it the cached size or the name is used."),
    KEY_I64("jobs.hub_cache_ttl_ms", jobs_hub_cache_ttl_ms, 0, 31536000000, 604800000,
            "How long a model size read from the Hub is used without asking again."),
    KEY_I64("jobs.hub_dataset_ttl_ms", jobs_hub_dataset_ttl_ms, 0, 86400000, 60000,
            "How long a dataset's Hub answer is used by later jobs; 0: every job asks."),
    KEY_I64("jobs.hub_memory_ms", jobs_hub_memory_ms, 0, 60000, 1000,
            "How long the Hub token and model sizes read from the store are kept in memory."),
    KEY_I64("jobs.dataset_max_bytes", jobs_dataset_max_bytes, 1024, 10737418240, 104857600,
            "Largest datasetUrl download accepted while preparing data."),
    KEY_I64("webhooks.rotation_overlap_ms", webhooks_rotation_overlap_ms, 0, 2592000000, 86400000,
            "How long the previous signing secret keeps signing after a rotation."),
    KEY_INT("webhooks.attempt_timeout_ms", webhooks_attempt_timeout_ms, 100, 600000, 10000,
            "Time limit of one delivery attempt, in milliseconds."),
    KEY_I64("webhooks.reclaim_after_ms", webhooks_reclaim_after_ms, 0, 86400000, 0,
            "Claimed deliveries a crash left are retried after this; 0: attempt timeout + 60 s."),
    KEY_INT("webhooks.poll_ms", webhooks_poll_ms, 10, 3600000, 1000,
            "How often deliveries look for due messages; this broker's own go out at once."),
    KEY_STR("webhooks.allow_cidrs", webhooks_allow_cidrs, 0, "", 0,
            "CIDRs deliveries may reach although not public (comma list); empty means none."),
    KEY_INT("webhooks.https_only", webhooks_https_only, 0, 1, 0,
            "1: deliver only to https:// URLs."),
    KEY_INT("events.retention_days", events_retention_days, 1, 3650, 7,
            "Days the event log (GET /api/volt/events, Last-Event-ID) keeps an event."),
    KEY_INT("events.max_streams", events_max_streams, 0, 100000, 256,
            "Most event streams open at once; one more is answered 503."),
    KEY_INT("events.max_streams_per_account", events_max_streams_per_account, 1, 100000, 32,
            "Most event streams one account keeps open at once; one more is answered 429."),
    KEY_INT("events.keepalive_ms", events_keepalive_ms, 100, 25000, 15000,
            "An open event stream gets a keepalive comment after this long without an event."),
    KEY_INT("reconciler.interval_ms", reconcile_interval_ms, 50, 3600000, 5000,
            "How often the reconciler polls active pods, in milliseconds."),
    KEY_INT("reconciler.orphan_check_every", orphan_check_every, 1, 100000, 12,
            "Look for orphaned workloads at the providers every N reconciler rounds."),
    KEY_I64("reconciler.orphan_grace_ms", orphan_grace_ms, 0, 604800000, 600000,
            "An orphaned gpb- workload is adopted or deleted once seen this long."),
    KEY_INT("intents.workers", intent_workers, 1, 256, 8,
            "Threads that carry out provider mutations (creates, starts, stops, deletes)."),
    KEY_I64("intents.claim_ms", intent_lease_ms, 0, 86400000, 0,
            "How long a worker holds an intent; 0 means 2 x providers.timeout_ms + 10 s."),
    KEY_I64("intents.settle_ms", intent_settle_ms, 0, 86400000, 60000,
            "After a create timed out, how long its workload is looked for before retrying."),
    KEY_INT("intents.tries_per_offer", intent_max_attempts, 1, 100, 1,
            "Create calls on the last (or only) offer before the create gives up."),
    KEY_I64("metering.period_ms", metering_period_ms, 100, 3600000, 60000,
            "How often running pods are charged to their accounts (one ledger entry each)."),
    KEY_INT("metering.min_run_minutes", metering_min_run_min, 0, 10080, 10,
            "Creating or starting a pod needs a balance that pays this many minutes of it."),
    KEY_STR("metering.low_water", metering_low_water, 1, "0", GB_CONFIG_F_MONEY,
            "Dollars: at or below this balance an account's pods are stopped."),
    KEY_STR("metering.margins", metering_margins, 0, "", GB_CONFIG_F_MARGINS,
            "Percent added to providers' prices, e.g. \"lium=5,targon=2.5\"; empty means none."),
};
const size_t gb_config_nkeys = GB_ARRAY_LEN(gb_config_keys);

_Static_assert(GB_ARRAY_LEN(gb_config_keys) <= GB_CONFIG_MAX_KEYS, "raise GB_CONFIG_MAX_KEYS");

/* One "percent" with at most two decimals, 0..1000, into basis points; -1 if malformed. */
static int percent_bp(const char *s, size_t n)
{
    int bp = 0, decimals = -1;
    if (n == 0) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' && decimals < 0 && i > 0) {
            decimals = 0;
        } else if (s[i] >= '0' && s[i] <= '9' && decimals < 2 && bp <= 100000) {
            bp = bp * 10 + (s[i] - '0');
            if (decimals >= 0) decimals++;
        } else {
            return -1;
        }
    }
    if (decimals == 0) return -1; /* "5." */
    for (int d = decimals < 0 ? 0 : decimals; d < 2; d++)
        bp *= 10;
    return bp <= 100000 ? bp : -1;
}

/* One pass over the list: checks every entry, and calls fn for each when fn is set. */
static int margin_walk(const char *list, void (*fn)(void *, const char *, size_t, int), void *ud)
{
    const char *p = list ? list : "";
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq || eq == p) return -1;
        int bp = percent_bp(eq + 1, n - (size_t)(eq + 1 - p));
        if (bp < 0) return -1;
        if (fn) fn(ud, p, (size_t)(eq - p), bp);
        p += n + (comma ? 1 : 0);
        if (comma && !*p) return -1; /* trailing comma */
    }
    return 0;
}

int gb_config_margin_each(const char *list,
                          void (*fn)(void *ud, const char *name, size_t len, int bp), void *ud)
{
    if (margin_walk(list, NULL, NULL)) return -1; /* the whole list is sound first */
    return margin_walk(list, fn, ud);
}

typedef struct {
    const char *provider;
    int found;
} margin_find;

static void find_margin(void *ud, const char *name, size_t len, int bp)
{
    margin_find *m = ud;
    if (m->provider && strlen(m->provider) == len && !strncmp(name, m->provider, len))
        m->found = bp;
}

int gb_config_margin(const char *list, const char *provider)
{
    margin_find m = {provider, 0};
    return margin_walk(list, find_margin, &m) ? -1 : m.found;
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

const char *gb_config_level_name(int level)
{
    if (level < 0 || (size_t)level >= GB_ARRAY_LEN(level_names)) return NULL;
    return level_names[level];
}

size_t gb_config_key_section_len(const gb_config_key *k)
{
    const char *dot = strchr(k->path, '.');
    return dot ? (size_t)(dot - k->path) : strlen(k->path);
}

int gb_config_section_index(const char *section, size_t seclen)
{
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        const gb_config_key *k = &gb_config_keys[i];
        if (gb_config_key_section_len(k) == seclen && memcmp(k->path, section, seclen) == 0)
            return (int)i;
    }
    return -1;
}

const gb_config_key *gb_config_key_find(const char *section, size_t seclen, const char *name,
                                        size_t namelen)
{
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        const gb_config_key *k = &gb_config_keys[i];
        size_t sl = gb_config_key_section_len(k);
        const char *kn = k->path + sl + 1;
        if (sl == seclen && memcmp(k->path, section, seclen) == 0 && strlen(kn) == namelen &&
            memcmp(kn, name, namelen) == 0)
            return k;
    }
    return NULL;
}

int gb_config_key_env_name(const gb_config_key *k, char *dst, size_t n)
{
    size_t plen = strlen(GB_CONFIG_ENV_PREFIX), klen = strlen(k->path);
    if (plen + klen + 1 > n) return -1;
    memcpy(dst, GB_CONFIG_ENV_PREFIX, plen);
    for (size_t i = 0; i < klen; i++) {
        char c = k->path[i];
        if (c == '.')
            c = '_';
        else if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        dst[plen + i] = c;
    }
    dst[plen + klen] = '\0';
    return 0;
}

void gb_config_quote(char *dst, size_t n, const char *s, size_t len)
{
    const size_t shown_max = 64;
    size_t o = 0;
    if (!n) return;
    for (size_t i = 0; i < len && i < shown_max && o + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (len > shown_max) {
        for (int i = 0; i < 3 && o + 1 < n; i++)
            dst[o++] = '.';
    }
    dst[o] = '\0';
}

/* Optional '-' and one or more ASCII digits, nothing else. */
static bool is_decimal(const char *s, size_t len)
{
    size_t i = 0;
    if (len && s[0] == '-') i = 1;
    if (i == len) return false;
    for (; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static gb_err set_string(gb_config *cfg, const gb_config_key *k, const char *val, size_t len,
                         char *problem, size_t problemsz)
{
    if ((int64_t)len > k->max) {
        gb_snprintf(problem, problemsz, "must be at most %lld bytes (got %zu)", (long long)k->max,
                    len);
        return GB_ERR_INVALID;
    }
    if ((int64_t)len < k->min) {
        gb_snprintf(problem, problemsz, "must not be empty");
        return GB_ERR_INVALID;
    }
    char *copy = gb_strndup(val, len);
    if (!copy) return GB_ERR_NOMEM;
    if (k->flags & GB_CONFIG_F_IPADDR) {
        unsigned char addr[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, copy, addr) != 1 && inet_pton(AF_INET6, copy, addr) != 1) {
            char shown[80];
            gb_config_quote(shown, sizeof(shown), val, len);
            gb_snprintf(problem, problemsz, "must be an IPv4 or IPv6 address literal (got \"%s\")",
                        shown);
            free(copy);
            return GB_ERR_INVALID;
        }
    }
    gb_money m;
    if (((k->flags & GB_CONFIG_F_MONEY) && (gb_money_parse(copy, &m) != 0 || m < 0)) ||
        ((k->flags & GB_CONFIG_F_MARGINS) && gb_config_margin(copy, "") < 0)) {
        char shown[80];
        gb_config_quote(shown, sizeof(shown), val, len);
        gb_snprintf(problem, problemsz, "%s (got \"%s\")",
                    k->flags & GB_CONFIG_F_MONEY
                        ? "must be an amount of dollars, 0 or more"
                        : "must be a list of provider=percent (0 to 1000, 2 decimals at most)",
                    shown);
        free(copy);
        return GB_ERR_INVALID;
    }
    char **slot = (char **)((char *)cfg + k->offset);
    free(*slot);
    *slot = copy;
    return GB_OK;
}

static gb_err set_number(gb_config *cfg, const gb_config_key *k, const char *val, size_t len,
                         char *problem, size_t problemsz)
{
    char num[32];
    int64_t v = 0;
    if (!is_decimal(val, len) || len >= sizeof(num)) goto bad;
    memcpy(num, val, len);
    num[len] = '\0';
    if (gb_parse_i64(num, k->min, k->max, &v)) goto bad;
    if (k->type == GB_CONFIG_T_INT)
        *(int *)((char *)cfg + k->offset) = (int)v;
    else
        *(int64_t *)((char *)cfg + k->offset) = v;
    return GB_OK;
bad:;
    char shown[80];
    gb_config_quote(shown, sizeof(shown), val, len);
    gb_snprintf(problem, problemsz, "must be an integer from %lld to %lld (got \"%s\")",
                (long long)k->min, (long long)k->max, shown);
    return GB_ERR_INVALID;
}

static gb_err set_level(gb_config *cfg, const gb_config_key *k, const char *val, size_t len,
                        char *problem, size_t problemsz)
{
    char lower[16];
    int level = -1;
    if (len < sizeof(lower)) {
        for (size_t i = 0; i < len; i++) {
            char c = val[i];
            lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        lower[len] = '\0';
        level = gb_log_level_parse(lower);
    }
    if (level < k->min || level > k->max) { /* also refuses "off" */
        char shown[80];
        gb_config_quote(shown, sizeof(shown), val, len);
        gb_snprintf(problem, problemsz, "must be one of debug, info, warn, error (got \"%s\")",
                    shown);
        return GB_ERR_INVALID;
    }
    *(int *)((char *)cfg + k->offset) = level;
    return GB_OK;
}

gb_err gb_config_set_value(gb_config *cfg, const gb_config_key *k, const char *val, size_t len,
                           char *problem, size_t problemsz)
{
    if (memchr(val, '\0', len)) {
        gb_snprintf(problem, problemsz, "must not contain NUL bytes");
        return GB_ERR_INVALID;
    }
    switch (k->type) {
    case GB_CONFIG_T_STRING:
        return set_string(cfg, k, val, len, problem, problemsz);
    case GB_CONFIG_T_INT:
    case GB_CONFIG_T_INT64:
        return set_number(cfg, k, val, len, problem, problemsz);
    case GB_CONFIG_T_LOGLEVEL:
        return set_level(cfg, k, val, len, problem, problemsz);
    }
    gb_snprintf(problem, problemsz, "internal error: bad key type");
    return GB_ERR_INTERNAL;
}

gb_err gb_config_raw_defaults(gb_config *cfg)
{
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        const gb_config_key *k = &gb_config_keys[i];
        char *base = (char *)cfg + k->offset;
        switch (k->type) {
        case GB_CONFIG_T_STRING: {
            char *copy = gb_strdup(k->def_str);
            if (!copy) return GB_ERR_NOMEM;
            free(*(char **)base);
            *(char **)base = copy;
            break;
        }
        case GB_CONFIG_T_INT:
        case GB_CONFIG_T_LOGLEVEL:
            *(int *)base = (int)k->def_num;
            break;
        case GB_CONFIG_T_INT64:
            *(int64_t *)base = k->def_num;
            break;
        }
    }
    return GB_OK;
}

/* If *slot is empty, sets it to <data_dir>/file (data_dir's trailing slashes dropped). */
static gb_err derive_path(char **slot, const char *data_dir, const char *file)
{
    if (*slot && **slot) return GB_OK;
    size_t dlen = strlen(data_dir);
    while (dlen > 0 && data_dir[dlen - 1] == '/')
        dlen--;
    char *p = gb_asprintf("%.*s/%s", (int)dlen, data_dir, file);
    if (!p) return GB_ERR_NOMEM;
    free(*slot);
    *slot = p;
    return GB_OK;
}

gb_err gb_config_derive(gb_config *cfg)
{
    if (!cfg->data_dir) return GB_ERR_INTERNAL;
    /* sqlite:PATH is the path: every user of a SQLite database (its lock, backups) wants one */
    if (cfg->database && strncmp(cfg->database, "sqlite:", 7) == 0)
        memmove(cfg->database, cfg->database + 7, strlen(cfg->database + 7) + 1);
    gb_err e = derive_path(&cfg->database, cfg->data_dir, "gpubroker.db");
    if (!e) e = derive_path(&cfg->master_key_file, cfg->data_dir, "master.key");
    return e;
}

gb_err gb_config_apply_env(gb_config *cfg, char *err, size_t errsz)
{
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        const gb_config_key *k = &gb_config_keys[i];
        char name[128];
        char problem[GB_CONFIG_ERR_MAX];
        if (gb_config_key_env_name(k, name, sizeof(name))) return GB_ERR_INTERNAL;
        const char *val = getenv(name);
        if (!val) continue;
        gb_err e = gb_config_set_value(cfg, k, val, strlen(val), problem, sizeof(problem));
        if (e == GB_ERR_INVALID) gb_snprintf(err, errsz, "%s: %s", name, problem);
        if (e) return e;
    }
    return GB_OK;
}

gb_err gb_config_load_text(const char *text, size_t len, const char *name, gb_config *cfg,
                           char *err, size_t errsz)
{
    char local[GB_CONFIG_ERR_MAX];
    if (!err || !errsz) {
        err = local;
        errsz = sizeof(local);
    }
    err[0] = '\0';
    memset(cfg, 0, sizeof(*cfg));
    gb_err e = gb_config_raw_defaults(cfg);
    if (e) goto fail;
    if (text && (e = gb_config_apply_yaml(cfg, text, len, name ? name : "<config>", err, errsz)))
        goto fail;
    if ((e = gb_config_apply_env(cfg, err, errsz))) goto fail;
    if ((e = gb_config_derive(cfg))) goto fail;
    if (!cfg->tls_cert_file[0] != !cfg->tls_key_file[0]) { /* TLS wants both or neither */
        gb_snprintf(err, errsz,
                    "server.tls_cert_file and server.tls_key_file: set both (HTTPS) "
                    "or neither (HTTP)");
        e = GB_ERR_INVALID;
        goto fail;
    }
    return GB_OK;
fail:
    gb_config_free(cfg);
    if (!err[0]) gb_snprintf(err, errsz, "configuration: %s", gb_strerror(e));
    return e;
}

gb_err gb_config_load(const char *path, gb_config *cfg, char *err, size_t errsz)
{
    char *text = NULL;
    size_t len = 0;
    gb_err e;
    if (!path) return gb_config_load_text(NULL, 0, NULL, cfg, err, errsz);
    memset(cfg, 0, sizeof(*cfg));
    e = gb_read_file(path, GB_CONFIG_FILE_MAX, &text, &len);
    if (e) {
        int saved = errno;
        if (!err || !errsz) return e;
        if (e == GB_ERR_NOT_FOUND)
            gb_snprintf(err, errsz, "%s: no such file", path);
        else if (e == GB_ERR_LIMIT)
            gb_snprintf(err, errsz, "%s: larger than %d bytes", path, GB_CONFIG_FILE_MAX);
        else if (e == GB_ERR_IO)
            gb_snprintf(err, errsz, "%s: cannot read: %s", path, strerror(saved));
        else
            gb_snprintf(err, errsz, "%s: %s", path, gb_strerror(e));
        return e;
    }
    e = gb_config_load_text(text, len, path, cfg, err, errsz);
    free(text);
    return e;
}

gb_err gb_config_defaults(gb_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    gb_err e = gb_config_raw_defaults(cfg);
    if (!e) e = gb_config_derive(cfg);
    if (e) gb_config_free(cfg);
    return e;
}

void gb_config_free(gb_config *cfg)
{
    if (!cfg) return;
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        const gb_config_key *k = &gb_config_keys[i];
        if (k->type != GB_CONFIG_T_STRING) continue;
        char **slot = (char **)((char *)cfg + k->offset);
        free(*slot);
        *slot = NULL;
    }
    memset(cfg, 0, sizeof(*cfg));
}
