/* config.h: gpubroker's configuration: built-in defaults, then the YAML file, then
 * GPUBROKER_* environment variables (the key path in capitals, dots as underscores:
 * server.port -> GPUBROKER_SERVER_PORT). Every key is described by one table in config.c. */
#ifndef GB_CONFIG_H
#define GB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"

#define GB_CONFIG_ERR_MAX GB_ERRMSG_MAX /* a big enough err for gb_config_load (common/gb.h) */

typedef struct {
    /* server */
    char *listen;        /* server.listen: IPv4/IPv6 literal to bind, default "127.0.0.1" */
    int port;            /* server.port: 0-65535, default 8080 (0 = any free port) */
    int threads;         /* server.threads: 1-256, default 16 */
    int max_connections; /* server.max_connections: 16-65536, default 4096 */
    int max_connections_per_address; /* server.max_connections_per_address: default 64 */
    int request_timeout_ms;          /* server.request_timeout_ms: default 10000 */
    int shutdown_timeout_ms;         /* server.shutdown_timeout_ms */
    char *tls_cert_file;             /* server.tls_cert_file: "" = plain HTTP */
    char *tls_key_file;              /* server.tls_key_file: both or neither (checked at load) */
    char *dashboard_dir;             /* server.dashboard_dir: "" = the embedded dashboard */
    /* storage */
    char *data_dir;   /* storage.data_dir: default "./gpubroker-data" */
    char *database;   /* storage.database: default "<data_dir>/gpubroker.db" */
    int group_commit; /* storage.group_commit: SQLite group commit (gb_db_txn), default 1 */
    int idle_txn_ms;  /* storage.idle_in_transaction_ms: PostgreSQL, default 10000 */
    /* vault */
    char *master_key_file; /* vault.master_key_file: default "<data_dir>/master.key" */
    /* log */
    int log_level;           /* log.level: debug|info|warn|error, default info (gb_log_level) */
    char *log_format;        /* log.format: text|json, default text */
    int metrics_require_key; /* metrics.require_key: 1: /metrics needs an admin key */
    /* limits */
    int64_t max_body_bytes; /* limits.max_body_bytes: 1024-67108864, default 1048576 */
    int max_json_depth;     /* limits.max_json_depth: 2-128, default 32 */
    int max_list_items;     /* limits.max_list_items: 1-10000, default 256 */
    /* rate limit */
    int rate_limit_per_hour; /* rate_limit.requests_per_hour: 1-10000000, default 1000 */
    /* api */
    int key_cache_ms;       /* api.key_cache_ms: 0-60000, default 1000 (0 = no key cache) */
    int ssh_keys_memory_ms; /* api.ssh_keys_memory_ms: 0-60000, default 1000 (0 = off) */
    /* providers */
    int provider_timeout_ms;          /* providers.timeout_ms: default 30000 */
    int provider_max_retries;         /* providers.max_retries: 0-5, default 5 */
    int provider_requests_per_minute; /* providers.requests_per_minute: default 600 */
    /* offers */
    int offers_ttl_ms;        /* offers.ttl_ms: default 30000 */
    int offers_drop_after_ms; /* offers.drop_after_ms: default 300000 */
    /* placement */
    int placement_block_ms;     /* placement.block_ms: default 120000 */
    int placement_max_attempts; /* placement.max_attempts: default 10 */
    /* jobs */
    char *jobs_trainer_image;        /* jobs.trainer_image */
    char *jobs_report_url;           /* jobs.report_url: "" = http://listen:port */
    char *jobs_providers;            /* jobs.providers: comma list, "" = any */
    char *jobs_trainer_state_url;    /* jobs.trainer_state_url: template, "" = reports only */
    int jobs_interval_ms;            /* jobs.runner_interval_ms: default 1000 */
    int jobs_lease_ms;               /* jobs.lease_ms: default 60000 */
    int jobs_find_nodes_timeout_ms;  /* jobs.find_nodes_timeout_ms: default 600000 */
    char *jobs_hub_url;              /* jobs.hub_url: default https://huggingface.co */
    int jobs_hub_timeout_ms;         /* jobs.hub_timeout_ms: default 3000 */
    int64_t jobs_hub_cache_ttl_ms;   /* jobs.hub_cache_ttl_ms: default 7 days */
    int64_t jobs_hub_dataset_ttl_ms; /* jobs.hub_dataset_ttl_ms: default 60 s */
    int64_t jobs_hub_memory_ms;      /* jobs.hub_memory_ms: default 1 s */
    int64_t jobs_dataset_max_bytes;  /* jobs.dataset_max_bytes: default 100 MiB */
    /* webhooks */
    int64_t webhooks_rotation_overlap_ms; /* webhooks.rotation_overlap_ms: default 24 h */
    int webhooks_attempt_timeout_ms;      /* webhooks.attempt_timeout_ms: default 10000 */
    int64_t webhooks_reclaim_after_ms;    /* webhooks.reclaim_after_ms: 0 = timeout + 60 s */
    int webhooks_poll_ms;                 /* webhooks.poll_ms: default 1000 */
    char *webhooks_allow_cidrs;           /* webhooks.allow_cidrs: "" = none */
    int webhooks_https_only;              /* webhooks.https_only: 0/1 */
    /* the event log and stream */
    int events_retention_days;          /* events.retention_days: default 7 */
    int events_max_streams;             /* events.max_streams: default 256 */
    int events_max_streams_per_account; /* events.max_streams_per_account: default 32 */
    int events_keepalive_ms;            /* events.keepalive_ms: default 15000 */
    /* reconciler */
    int reconcile_interval_ms; /* reconciler.interval_ms: default 5000 */
    int orphan_check_every;    /* reconciler.orphan_check_every: default 12 rounds */
    int64_t orphan_grace_ms;   /* reconciler.orphan_grace_ms: default 600000 */
    /* intents (provider mutations) */
    int intent_workers;       /* intents.workers: default 8 */
    int64_t intent_lease_ms;  /* intents.claim_ms: 0 = 2 x providers.timeout_ms + 10 s */
    int64_t intent_settle_ms; /* intents.settle_ms: default 60000 */
    int intent_max_attempts;  /* intents.tries_per_offer: default 1 */
    /* metering (pod time as money, broker/core/meter.h) */
    int64_t metering_period_ms; /* metering.period_ms: default 60000 */
    int metering_min_run_min;   /* metering.min_run_minutes: default 10 */
    char *metering_low_water;   /* metering.low_water: dollars, default "0" */
    char *metering_margins;     /* metering.margins: "lium=5,targon=2.5" percent, "" = none */
} gb_config;

/* The margin of provider in basis points (1/100 of a percent) from a metering.margins list
 * ("lium=5,targon=2.5": percent with at most 2 decimals, 0..1000); 0 when it is not listed.
 * -1 when the list is malformed (the config loader refuses such a list). */
int gb_config_margin(const char *list, const char *provider);
/* Calls fn for each entry of a metering.margins list in order (name, its length, basis
 * points); a name listed twice comes twice (the last one counts, as gb_config_margin says).
 * 0, or -1 when the list is malformed (then fn is called for none of it). */
int gb_config_margin_each(const char *list,
                          void (*fn)(void *ud, const char *name, size_t len, int bp), void *ud);

/* Fills every field with its default (strings allocated). */
gb_err gb_config_defaults(gb_config *cfg);

/* defaults -> file (if path != NULL; a missing file is an error) -> environment.
 * On error err names the file/line or variable, the key and the problem, e.g.
 * "gpubroker.yaml:7: server.port: must be an integer from 0 to 65535 (got \"eighty\")"
 * or "GPUBROKER_SERVER_PORT: must be an integer from 0 to 65535 (got \"x\")"
 * or "gpubroker.yaml:3: unknown key 'server.prot'". cfg is left freed-and-zeroed on error. */
gb_err gb_config_load(const char *path, gb_config *cfg, char *err, size_t errsz);

/* Writes the commented example config to path with mode 0600; GB_ERR_CONFLICT if path
 * exists (nothing written). The text is the same as config/gpubroker.example.yaml. */
gb_err gb_config_write_default(const char *path);

/* The commented example config text (static). */
const char *gb_config_example_text(void);

void gb_config_free(gb_config *cfg);
/* The paths ("section.key") of the keys whose values differ between a and b, in table order,
 * at most max into changed; returns how many were written. */
size_t gb_config_diff(const gb_config *a, const gb_config *b, const char **changed, size_t max);

#endif
