/* log.c: leveled logging to stderr with an RFC 3339 timestamp; one write per line. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"

static volatile int g_level = GB_LOG_INFO;

void gb_log_set_level(gb_log_level lvl)
{
    g_level = (int)lvl;
}

gb_log_level gb_log_get_level(void)
{
    return (gb_log_level)g_level;
}

int gb_log_level_parse(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (s && strcmp(s, names[i]) == 0) return (int)i;
    return -1;
}

void gb_log(gb_log_level lvl, const char *module, const char *fmt, ...)
{
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};
    if ((int)lvl < g_level || lvl >= GB_LOG_OFF) return;
    char line[2048];
    char ts[32];
    gb_time_format(gb_wall_ms(), ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "%s %-5s [%s] ", ts, tags[lvl], module ? module : "-");
    if (n < 0) return;
    size_t off = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
    va_end(ap);
    if (m > 0) off += (size_t)m < sizeof(line) - off ? (size_t)m : sizeof(line) - off - 1;
    if (off >= sizeof(line) - 1) off = sizeof(line) - 2;
    line[off++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, off);
    (void)w;
}
