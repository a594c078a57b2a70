/* log.h: leveled logging to stderr, one line per call, safe from any thread: text lines or
 * JSON objects {ts, level, module, msg, request_id?}; and the request id of the request this
 * thread is handling (set by the HTTP server, read by logs, errors and outgoing calls).
 * Never pass secrets to these functions: log lines are not redacted. */
#ifndef GB_LOG_H
#define GB_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { GB_LOG_DEBUG = 0, GB_LOG_INFO, GB_LOG_WARN, GB_LOG_ERROR, GB_LOG_OFF } gb_log_level;

void gb_log_set_level(gb_log_level lvl);
gb_log_level gb_log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns -1 when unknown. */
int gb_log_level_parse(const char *s);
/* Parses "text" (0) and "json" (1); -1 when unknown. */
int gb_log_format_parse(const char *s);
void gb_log_set_json(bool json);
void gb_log(gb_log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Request ids: 1..GB_REQUEST_ID_MAX of [A-Za-z0-9._-]. */
#define GB_REQUEST_ID_MAX 128
bool gb_request_id_valid(const char *s);
/* A new random id (32 hex digits) into out (n >= 33). */
void gb_request_id_new(char *out, size_t n);
/* This thread's current request id (copied; NULL or an invalid one clears it). */
void gb_request_id_set(const char *id);
/* This thread's current request id, or NULL. */
const char *gb_request_id(void);

#define GB_DEBUG(mod, ...) gb_log(GB_LOG_DEBUG, mod, __VA_ARGS__)
#define GB_INFO(mod, ...) gb_log(GB_LOG_INFO, mod, __VA_ARGS__)
#define GB_WARN(mod, ...) gb_log(GB_LOG_WARN, mod, __VA_ARGS__)
#define GB_ERROR(mod, ...) gb_log(GB_LOG_ERROR, mod, __VA_ARGS__)

#endif
