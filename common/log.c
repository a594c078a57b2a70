/* log.c: leveled logging to stderr with an RFC 3339 timestamp, as text or one JSON object a
 * line; one write per line. Also this thread's request id (log.h). */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/str.h"

static volatile int g_level = GB_LOG_INFO;
static volatile int g_json;
static _Thread_local char t_request_id[GB_REQUEST_ID_MAX + 1];

void gb_log_set_json(bool json)
{
    g_json = json;
}

int gb_log_format_parse(const char *s)
{
    if (s && strcmp(s, "text") == 0) return 0;
    if (s && strcmp(s, "json") == 0) return 1;
    return -1;
}

bool gb_request_id_valid(const char *s)
{
    size_t n = 0;
    if (!s) return false;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok || n >= GB_REQUEST_ID_MAX) return false;
    }
    return n > 0;
}

void gb_request_id_new(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    if (n < 33) {
        if (n) out[0] = '\0';
        return;
    }
    /* request ids are labels, not secrets: 16 of them per getrandom call (a syscall per request
     * showed as 3% of an authenticated read's profile, docs/benchmarks.md) */
    static _Thread_local unsigned char pool[256];
    static _Thread_local size_t used = sizeof(pool);
    if (used + sizeof(r) > sizeof(pool)) {
        gb_random_bytes(pool, sizeof(pool));
        used = 0;
    }
    memcpy(r, pool + used, sizeof(r));
    gb_memzero(pool + used, sizeof(r)); /* never handed out twice */
    used += sizeof(r);
    for (size_t i = 0; i < sizeof(r); i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[32] = '\0';
}

void gb_request_id_set(const char *id)
{
    if (gb_request_id_valid(id))
        gb_strlcpy(t_request_id, id, sizeof(t_request_id));
    else
        t_request_id[0] = '\0';
}

const char *gb_request_id(void)
{
    return t_request_id[0] ? t_request_id : NULL;
}

/* Appends s to line[*off..n) as the inside of a JSON string (cut short when full). */
static void json_esc(char *line, size_t n, size_t *off, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s && *off + 7 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            line[(*off)++] = '\\';
            line[(*off)++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(line + *off, "\\u00", 4);
            line[*off + 4] = hex[c >> 4];
            line[*off + 5] = hex[c & 15];
            *off += 6;
        } else {
            line[(*off)++] = (char)c;
        }
    }
}

static void log_json(gb_log_level lvl, const char *module, const char *ts, const char *msg)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    char line[4608];
    size_t off = 0, n = sizeof(line) - 4; /* room for the closing "}\n */
    const char *rid = gb_request_id();
    const char *parts[][2] = {{"{\"ts\":\"", ts},
                              {"\",\"level\":\"", names[lvl]},
                              {"\",\"module\":\"", module},
                              {"\",\"msg\":\"", msg},
                              {"\",\"request_id\":\"", rid}};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (!parts[i][1]) continue;
        size_t k = strlen(parts[i][0]);
        if (off + k >= n) break;
        memcpy(line + off, parts[i][0], k);
        off += k;
        json_esc(line, n, &off, parts[i][1]);
    }
    memcpy(line + off, "\"}\n", 3);
    off += 3;
    ssize_t w = write(STDERR_FILENO, line, off);
    (void)w;
}

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
    if (g_json) {
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (m < 0) line[0] = '\0';
        log_json(lvl, module ? module : "-", ts, line);
        return;
    }
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
