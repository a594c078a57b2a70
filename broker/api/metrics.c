/* metrics.c: atomic counters and histograms, rendered as Prometheus text. */
#include "broker/api/metrics.h"

#include <stdlib.h>

#define NSTATUS 500 /* statuses 100..599 */
#define SLOTS (METRICS_MAX_ROUTES + 1)

static const double BOUNDS_S[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
#define NB (sizeof(BOUNDS_S) / sizeof(BOUNDS_S[0]))

struct metrics {
    uint64_t count[SLOTS][NSTATUS];
    uint64_t hist[SLOTS][NB + 1];
    uint64_t sum_us[SLOTS];
};

metrics *metrics_new(void)
{
    metrics_prov_install();
    return calloc(1, sizeof(metrics));
}

void metrics_free(metrics *m)
{
    free(m);
}

static int slot(int route)
{
    return (route < 0 || route >= METRICS_MAX_ROUTES) ? METRICS_MAX_ROUTES : route;
}

void metrics_observe(metrics *m, int route, int status, int64_t micros)
{
    int s = slot(route);
    if (status < 100 || status > 599) status = 599;
    __atomic_fetch_add(&m->count[s][status - 100], 1, __ATOMIC_RELAXED);
    size_t b = 0;
    while (b < NB && (double)micros / 1e6 > BOUNDS_S[b])
        b++;
    __atomic_fetch_add(&m->hist[s][b], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&m->sum_us[s], (uint64_t)(micros > 0 ? micros : 0), __ATOMIC_RELAXED);
}

static const char *route_name(const char *const *names, int nroutes, int s)
{
    return s < nroutes ? names[s] : "unmatched";
}

gb_err metrics_render(metrics *m, const char *const *names, int nroutes, gb_buf *out)
{
    gb_err e = gb_buf_puts(out, "# HELP gpubroker_http_requests_total HTTP requests by route "
                                "and status.\n# TYPE gpubroker_http_requests_total counter\n");
    for (int s = 0; s < SLOTS && !e; s++) {
        if (s >= nroutes && s != METRICS_MAX_ROUTES) continue;
        for (int st = 0; st < NSTATUS && !e; st++) {
            uint64_t c = __atomic_load_n(&m->count[s][st], __ATOMIC_RELAXED);
            if (c)
                e = gb_buf_printf(
                    out, "gpubroker_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                    route_name(names, nroutes, s), st + 100, (unsigned long long)c);
        }
    }
    if (!e)
        e = gb_buf_puts(out, "# HELP gpubroker_http_request_duration_seconds Request latency.\n"
                             "# TYPE gpubroker_http_request_duration_seconds histogram\n");
    for (int s = 0; s < SLOTS && !e; s++) {
        if (s >= nroutes && s != METRICS_MAX_ROUTES) continue;
        uint64_t cum = 0, total = 0;
        for (size_t b = 0; b <= NB; b++)
            total += __atomic_load_n(&m->hist[s][b], __ATOMIC_RELAXED);
        if (!total) continue;
        const char *rn = route_name(names, nroutes, s);
        for (size_t b = 0; b < NB && !e; b++) {
            cum += __atomic_load_n(&m->hist[s][b], __ATOMIC_RELAXED);
            e = gb_buf_printf(out,
                              "gpubroker_http_request_duration_seconds_bucket{route=\"%s\","
                              "le=\"%g\"} %llu\n",
                              rn, BOUNDS_S[b], (unsigned long long)cum);
        }
        if (!e)
            e = gb_buf_printf(out,
                              "gpubroker_http_request_duration_seconds_bucket{route=\"%s\","
                              "le=\"+Inf\"} %llu\n"
                              "gpubroker_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                              "gpubroker_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                              rn, (unsigned long long)total, rn,
                              (double)__atomic_load_n(&m->sum_us[s], __ATOMIC_RELAXED) / 1e6, rn,
                              (unsigned long long)total);
    }
    return e;
}
