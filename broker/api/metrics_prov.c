/* metrics_prov.c: counts every provider call (the prov_call hook, providers/provider.h) by
 * platform and HTTP method: requests, errors and a latency histogram, for /metrics. */
#include <pthread.h>
#include <string.h>

#include "broker/api/metrics.h"
#include "common/str.h"
#include "providers/provider.h"

#define MAX_SERIES 64 /* platforms x methods; more are counted under the last one */

static const double BOUNDS_S[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};
#define NB (sizeof(BOUNDS_S) / sizeof(BOUNDS_S[0]))

typedef struct {
    char platform[32];
    char method[8];
    uint64_t requests, errors, sum_us;
    uint64_t hist[NB + 1];
} series;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static series g_series[MAX_SERIES];
static int g_n;

static series *find(const char *platform, const char *method)
{
    for (int i = 0; i < g_n; i++)
        if (strcmp(g_series[i].platform, platform) == 0 && strcmp(g_series[i].method, method) == 0)
            return &g_series[i];
    if (g_n == MAX_SERIES) return &g_series[MAX_SERIES - 1];
    series *s = &g_series[g_n++];
    gb_strlcpy(s->platform, platform, sizeof(s->platform));
    gb_strlcpy(s->method, method, sizeof(s->method));
    return s;
}

static void on_call(const char *platform, const char *method, long status, gb_err e, int64_t micros)
{
    (void)status;
    pthread_mutex_lock(&g_mu);
    series *s = find(platform ? platform : "-", method ? method : "-");
    s->requests++;
    s->errors += e != GB_OK;
    s->sum_us += micros > 0 ? (uint64_t)micros : 0;
    size_t b = 0;
    while (b < NB && (double)micros / 1e6 > BOUNDS_S[b])
        b++;
    s->hist[b]++;
    pthread_mutex_unlock(&g_mu);
}

void metrics_prov_install(void)
{
    prov_set_call_hook(on_call);
}

gb_err metrics_prov_render(gb_buf *out)
{
    gb_err e =
        gb_buf_printf(out, "# HELP gpubroker_provider_requests_total Calls to provider APIs.\n"
                           "# TYPE gpubroker_provider_requests_total counter\n");
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_n && !e; i++)
        e = gb_buf_printf(out,
                          "gpubroker_provider_requests_total{platform=\"%s\",operation=\"%s\"} "
                          "%llu\n",
                          g_series[i].platform, g_series[i].method,
                          (unsigned long long)g_series[i].requests);
    if (!e)
        e = gb_buf_printf(out, "# HELP gpubroker_provider_errors_total Provider calls that "
                               "failed (no answer, or not 2xx).\n"
                               "# TYPE gpubroker_provider_errors_total counter\n");
    for (int i = 0; i < g_n && !e; i++)
        e = gb_buf_printf(
            out, "gpubroker_provider_errors_total{platform=\"%s\",operation=\"%s\"} %llu\n",
            g_series[i].platform, g_series[i].method, (unsigned long long)g_series[i].errors);
    if (!e)
        e = gb_buf_printf(out, "# HELP gpubroker_provider_request_duration_seconds Time of one "
                               "provider call, retries included.\n"
                               "# TYPE gpubroker_provider_request_duration_seconds histogram\n");
    for (int i = 0; i < g_n && !e; i++) {
        const series *s = &g_series[i];
        uint64_t cum = 0;
        for (size_t b = 0; b <= NB && !e; b++) {
            cum += s->hist[b];
            char le[32];
            if (b < NB)
                gb_snprintf(le, sizeof(le), "%g", BOUNDS_S[b]);
            else
                gb_strlcpy(le, "+Inf", sizeof(le));
            e = gb_buf_printf(out,
                              "gpubroker_provider_request_duration_seconds_bucket{platform=\"%s\","
                              "operation=\"%s\",le=\"%s\"} %llu\n",
                              s->platform, s->method, le, (unsigned long long)cum);
        }
        if (!e)
            e = gb_buf_printf(out,
                              "gpubroker_provider_request_duration_seconds_sum{platform=\"%s\","
                              "operation=\"%s\"} %.6f\n"
                              "gpubroker_provider_request_duration_seconds_count{platform=\"%s\","
                              "operation=\"%s\"} %llu\n",
                              s->platform, s->method, (double)s->sum_us / 1e6, s->platform,
                              s->method, (unsigned long long)s->requests);
    }
    pthread_mutex_unlock(&g_mu);
    return e;
}
