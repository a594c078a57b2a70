/* log.h: leveled logging to stderr, one line per call, safe from any thread.
 * Never pass secrets to these functions: log lines are not redacted. */
#ifndef GB_LOG_H
#define GB_LOG_H

typedef enum { GB_LOG_DEBUG = 0, GB_LOG_INFO, GB_LOG_WARN, GB_LOG_ERROR, GB_LOG_OFF } gb_log_level;

void gb_log_set_level(gb_log_level lvl);
gb_log_level gb_log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns -1 when unknown. */
int gb_log_level_parse(const char *s);
void gb_log(gb_log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define GB_DEBUG(mod, ...) gb_log(GB_LOG_DEBUG, mod, __VA_ARGS__)
#define GB_INFO(mod, ...) gb_log(GB_LOG_INFO, mod, __VA_ARGS__)
#define GB_WARN(mod, ...) gb_log(GB_LOG_WARN, mod, __VA_ARGS__)
#define GB_ERROR(mod, ...) gb_log(GB_LOG_ERROR, mod, __VA_ARGS__)

#endif
