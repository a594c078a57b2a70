/* clock.c: real and test clocks, RFC 3339 formatting and parsing. */
#include "common/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile int g_fixed_set;
static volatile int64_t g_fixed_ms;
static void (*volatile g_on_change)(void);

static void changed(void)
{
    void (*fn)(void) = __atomic_load_n(&g_on_change, __ATOMIC_ACQUIRE);
    if (fn) fn();
}

void gb_clock_on_change(void (*fn)(void))
{
    __atomic_store_n(&g_on_change, fn, __ATOMIC_RELEASE);
}

int gb_clock_is_test(void)
{
    return __atomic_load_n(&g_fixed_set, __ATOMIC_ACQUIRE);
}

int64_t gb_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gb_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gb_now_ms(void)
{
    if (__atomic_load_n(&g_fixed_set, __ATOMIC_ACQUIRE))
        return __atomic_load_n(&g_fixed_ms, __ATOMIC_ACQUIRE);
    return gb_wall_ms();
}

void gb_clock_set(int64_t ms)
{
    __atomic_store_n(&g_fixed_ms, ms, __ATOMIC_RELEASE);
    __atomic_store_n(&g_fixed_set, 1, __ATOMIC_RELEASE);
    changed();
}

void gb_clock_advance(int64_t delta_ms)
{
    if (!__atomic_load_n(&g_fixed_set, __ATOMIC_ACQUIRE)) gb_clock_set(gb_wall_ms());
    __atomic_add_fetch(&g_fixed_ms, delta_ms, __ATOMIC_ACQ_REL);
    changed();
}

void gb_clock_use_real(void)
{
    __atomic_store_n(&g_fixed_set, 0, __ATOMIC_RELEASE);
    changed();
}

void gb_time_format(int64_t ms, char *buf, size_t n)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (n == 0) return;
    if (!gmtime_r(&secs, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) buf[0] = '\0';
}

static int digits(const char *s, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int gb_time_parse(const char *s, int64_t *ms_out)
{
    int y, mo, d, h, mi, se, frac = 0;
    if (!s || strlen(s) < 20) return -1;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        int nd = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (nd < 3) frac = frac * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0) return -1;
        for (; nd < 3; nd++)
            frac *= 10;
    }
    if ((*p != 'Z' && *p != 'z') || p[1] != '\0') return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    *ms_out = (int64_t)t * 1000 + frac;
    return 0;
}
