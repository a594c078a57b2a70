/* ratelimit.h: per-API-key request limits in fixed one-hour windows, in memory. */
#ifndef GB_RATELIMIT_H
#define GB_RATELIMIT_H

#include <stdint.h>

typedef struct ratelimit ratelimit;

typedef struct {
    int allowed;        /* 1 when the request may proceed */
    int limit;          /* requests per window */
    int remaining;      /* left in this window after this request */
    int64_t reset_at_s; /* Unix seconds when the window resets */
    int retry_after_s;  /* seconds to wait when !allowed (at least 1) */
} ratelimit_result;

ratelimit *ratelimit_new(int per_hour);
void ratelimit_free(ratelimit *rl);
/* Counts one request for key at now_ms (the domain clock). Thread-safe. */
void ratelimit_hit(ratelimit *rl, const char *key, int64_t now_ms, ratelimit_result *out);
/* A new limit for every key from the next request on (a config reload); counts are kept. */
void ratelimit_set_limit(ratelimit *rl, int per_hour);

#endif
