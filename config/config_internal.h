/* config_internal.h: the key table and the helpers shared by config.c, config_yaml.c and
 * config_example.c. Not for use outside config/ except by the config unit tests. */
#ifndef GB_CONFIG_INTERNAL_H
#define GB_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define GB_CONFIG_STR_MAX 4096           /* longest string value, in bytes */
#define GB_CONFIG_FILE_MAX (1024 * 1024) /* largest config file, in bytes */
#define GB_CONFIG_MAX_KEYS 80            /* upper bound on the table size */
#define GB_CONFIG_ENV_PREFIX "GPUBROKER_"

typedef enum {
    GB_CONFIG_T_STRING,  /* char *; min/max bound the length in bytes */
    GB_CONFIG_T_INT,     /* int; decimal within [min, max] */
    GB_CONFIG_T_INT64,   /* int64_t; decimal within [min, max] */
    GB_CONFIG_T_LOGLEVEL /* int holding a gb_log_level: debug|info|warn|error */
} gb_config_type;

enum {
    GB_CONFIG_F_IPADDR = 1u << 0, /* string must be an IPv4 or IPv6 literal */
    GB_CONFIG_F_MONEY = 1u << 1,  /* string must be dollars >= 0 ("2.50") */
    GB_CONFIG_F_MARGINS = 1u << 2 /* string must be "provider=percent,..." (gb_config_margin) */
};

typedef struct {
    const char *path; /* "section.key" */
    gb_config_type type;
    size_t offset;       /* offsetof(gb_config, field) */
    int64_t min, max;    /* numeric bounds, or string length bounds */
    int64_t def_num;     /* default of INT, INT64 and LOGLEVEL keys */
    const char *def_str; /* default of STRING keys */
    unsigned flags;      /* GB_CONFIG_F_* */
    const char *desc;    /* one line, for the example file */
} gb_config_key;

extern const gb_config_key gb_config_keys[];
extern const size_t gb_config_nkeys;

/* Length of the section part of k->path (the part before the first dot). */
size_t gb_config_key_section_len(const gb_config_key *k);
/* The key for section (seclen bytes) and name (namelen bytes); NULL if unknown. */
const gb_config_key *gb_config_key_find(const char *section, size_t seclen, const char *name,
                                        size_t namelen);
/* Index of the first key of section (seclen bytes); -1 if no key lives there. */
int gb_config_section_index(const char *section, size_t seclen);
/* "debug", "info", "warn", "error" for a gb_log_level; NULL for anything else. */
const char *gb_config_level_name(int level);
/* "GPUBROKER_SERVER_PORT" for server.port; 0 on success, -1 if it does not fit. */
int gb_config_key_env_name(const gb_config_key *k, char *dst, size_t n);

/* Validates val (len bytes, may contain NULs, which are rejected) for k and stores it in cfg.
 * GB_ERR_INVALID with the problem (no key or location) in problem, e.g.
 * "must be an integer from 0 to 65535 (got \"eighty\")"; GB_ERR_NOMEM. */
gb_err gb_config_set_value(gb_config *cfg, const gb_config_key *k, const char *val, size_t len,
                           char *problem, size_t problemsz);

/* Writes s (len bytes) into dst for an error message: at most 64 bytes, printable ASCII
 * kept, other bytes shown as '?', "..." appended when cut. */
void gb_config_quote(char *dst, size_t n, const char *s, size_t len);

/* Fills cfg with the table defaults, without deriving database/master_key_file. */
gb_err gb_config_raw_defaults(gb_config *cfg);
/* Fills empty database and master_key_file from data_dir. */
gb_err gb_config_derive(gb_config *cfg);
/* Applies every GPUBROKER_<KEY> variable that is set. */
gb_err gb_config_apply_env(gb_config *cfg, char *err, size_t errsz);
/* Applies the YAML text (len bytes) on top of cfg; name prefixes error messages. */
gb_err gb_config_apply_yaml(gb_config *cfg, const char *text, size_t len, const char *name,
                            char *err, size_t errsz);

/* gb_config_load on text instead of a file: defaults -> text (if text != NULL) -> env ->
 * derived paths. name is used in messages in place of the file path. */
gb_err gb_config_load_text(const char *text, size_t len, const char *name, gb_config *cfg,
                           char *err, size_t errsz);

#endif
