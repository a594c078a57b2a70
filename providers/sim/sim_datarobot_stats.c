/* sim_datarobot_stats.c: the DataRobot simulator's request statistics: aggregated stats per
 * workload and across workloads, per-metric time series, and the statistics reset. Synthetic
 * and deterministic: each running replica serves 1 request/s; the response time at quantile q
 * is 50 + 300q ms; no errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_datarobot_int.h"

#define MAX_BUCKETS 1000

static const char *const METRICS[] = {"totalRequests",      "requestsOverN", "requestsPerMinute",
                                      "concurrentRequests", "responseTime",  "totalErrorRate"};

typedef struct {
    int64_t start, end;
    const char *proton;
    double quantile;
    int slow_ms;
} query;

typedef struct {
    double v[6]; /* in METRICS order */
} metrics;

/* Reads the common query parameters; -1 after answering 422 (or 404 for a proton). */
static int read_query(const sim_req *rq, const sdr_wl *w, int64_t def_start, int64_t now, query *q,
                      sim_resp *rs)
{
    const char *s = sim_query(rq, "startTime"), *e = sim_query(rq, "endTime");
    const char *qt = sim_query(rq, "responseTimeQuantile");
    const char *sl = sim_query(rq, "slowRequestsThreshold");
    q->start = def_start;
    q->end = now;
    q->proton = sim_query(rq, "protonId");
    q->quantile = 0.5;
    q->slow_ms = 2000;
    if (s && gb_time_parse(s, &q->start)) {
        sim_datarobot_invalid(rs, "startTime", "must be an RFC 3339 time");
        return -1;
    }
    if (e && gb_time_parse(e, &q->end)) {
        sim_datarobot_invalid(rs, "endTime", "must be an RFC 3339 time");
        return -1;
    }
    if (q->end <= q->start) {
        sim_datarobot_invalid(rs, "endTime", "must be after startTime");
        return -1;
    }
    if (qt) {
        char *end = NULL;
        errno = 0;
        double d = strtod(qt, &end);
        if (errno || !end || *end || !(d > 0.0 && d < 1.0)) {
            sim_datarobot_invalid(rs, "responseTimeQuantile", "must be a number between 0 and 1");
            return -1;
        }
        q->quantile = d;
    }
    if (sl && gb_parse_int(sl, 0, 3600000, &q->slow_ms)) {
        sim_datarobot_invalid(rs, "slowRequestsThreshold", "must be milliseconds (0-3600000)");
        return -1;
    }
    bool found = !q->proton || !w;
    for (int i = 0; w && q->proton && i < w->nprotons; i++)
        found = found || strcmp(w->protons[i].id, q->proton) == 0;
    if (!found) {
        sim_datarobot_err(rs, 404, "Proton not found: %.64s", q->proton);
        return -1;
    }
    return 0;
}

/* Running time of w inside [s, e). */
static int64_t overlap(const sdr_wl *w, int64_t s, int64_t e, int64_t now)
{
    int64_t ms = 0;
    for (int i = 0; i <= w->nruns; i++) {
        int64_t a = i < w->nruns ? w->runs[i][0] : w->running_since;
        int64_t b = i < w->nruns ? w->runs[i][1] : now;
        if (i == w->nruns && !w->running_since) break;
        if (a < s) a = s;
        if (b > e) b = e;
        if (b > a) ms += b - a;
    }
    return ms;
}

static void compute(const sdr_wl *w, const query *q, int64_t s, int64_t e, int64_t now, metrics *m)
{
    int64_t ms = overlap(w, s, e, now);
    double total = (double)((ms / 1000) * w->settings.replicas);
    double rt = 50.0 + 300.0 * q->quantile;
    double frac = 1.0 - ((double)q->slow_ms - 50.0) / 300.0;
    if (frac < 0) frac = 0;
    if (frac > 1) frac = 1;
    double minutes = (double)(e - s) / 60000.0;
    m->v[0] = total;
    m->v[1] = (double)(int64_t)(total * frac);
    m->v[2] = total / (minutes < 1.0 ? 1.0 : minutes);
    m->v[3] = (double)ms / (double)(e - s) * w->settings.replicas * (rt / 1000.0);
    m->v[4] = total > 0 ? rt : 0;
    m->v[5] = 0;
}

static cJSON *metrics_json(const metrics *m)
{
    cJSON *j = cJSON_CreateObject();
    for (size_t i = 0; j && i < GB_ARRAY_LEN(METRICS); i++)
        cJSON_AddNumberToObject(j, METRICS[i], m->v[i]);
    return j;
}

static cJSON *stats_body(const query *q, const metrics *m)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *per = j ? cJSON_AddObjectToObject(j, "period") : NULL;
    if (!per) return j;
    gb_json_add_time(per, "start", q->start);
    gb_json_add_time(per, "end", q->end);
    gb_json_add_str_or_null(j, "protonId", q->proton);
    cJSON_AddNumberToObject(j, "responseTimeQuantile", q->quantile);
    cJSON_AddNumberToObject(j, "slowRequestsThreshold", q->slow_ms);
    cJSON_AddItemToObject(j, "metrics", metrics_json(m));
    return j;
}

void sim_datarobot_stats(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    query q;
    metrics m;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w || read_query(rq, w, w->created_at, st->now, &q, rs)) return;
    compute(w, &q, q.start, q.end, st->now, &m);
    cJSON *j = stats_body(&q, &m);
    if (j) cJSON_AddStringToObject(j, "workloadId", w->id);
    sim_json(rs, 200, j);
}

/* ISO 8601 durations the time series accepts. */
static int64_t resolution_ms(const char *r)
{
    static const struct {
        const char *name;
        int64_t ms;
    } R[] = {{"PT1M", 60000},    {"PT5M", 300000},  {"PT15M", 900000}, {"PT1H", 3600000},
             {"PT6H", 21600000}, {"P1D", 86400000}, {"P7D", 604800000}};
    for (size_t i = 0; i < GB_ARRAY_LEN(R); i++)
        if (strcmp(r, R[i].name) == 0) return R[i].ms;
    return 0;
}

void sim_datarobot_stats_metric(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    query q;
    metrics m;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w) return;
    size_t k = 0;
    while (k < GB_ARRAY_LEN(METRICS) && strcmp(METRICS[k], rq->params[1]) != 0)
        k++;
    if (k == GB_ARRAY_LEN(METRICS)) {
        sim_datarobot_err(rs, 404,
                          "Unknown metric '%.40s' (totalRequests, requestsOverN, "
                          "requestsPerMinute, concurrentRequests, responseTime, totalErrorRate)",
                          rq->params[1]);
        return;
    }
    const char *res = sim_query(rq, "resolution");
    int64_t step = resolution_ms(res ? res : "P1D");
    if (!step) {
        sim_datarobot_invalid(rs, "resolution",
                              "must be PT1M, PT5M, PT15M, PT1H, PT6H, P1D or P7D");
        return;
    }
    if (read_query(rq, w, w->created_at, st->now, &q, rs)) return;
    if ((q.end - q.start + step - 1) / step > MAX_BUCKETS) {
        sim_datarobot_invalid(rs, "resolution", "more than %d buckets for this period",
                              MAX_BUCKETS);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON *data = j ? cJSON_AddArrayToObject(j, "data") : NULL;
    for (int64_t b = q.start; data && b < q.end; b += step) {
        int64_t e = b + step < q.end ? b + step : q.end;
        compute(w, &q, b, e, st->now, &m);
        cJSON *it = cJSON_CreateObject();
        if (!it) break;
        gb_json_add_time(it, "startTime", b);
        gb_json_add_time(it, "endTime", e);
        cJSON_AddNumberToObject(it, "value", m.v[k]);
        cJSON_AddItemToArray(data, it);
    }
    if (j) {
        cJSON_AddStringToObject(j, "workloadId", w->id);
        cJSON_AddStringToObject(j, "metric", METRICS[k]);
        cJSON_AddStringToObject(j, "resolution", res ? res : "P1D");
    }
    sim_json(rs, 200, j);
}

/* DELETE .../stats[?startTime&endTime&protonId]: forgets the traffic of the window (all of
 * it without one). The simulator counts all traffic on the active proton. */
void sim_datarobot_stats_reset(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    query q;
    sdr_wl *w = sim_datarobot_find(st, rq->params[0], rs);
    if (!w || read_query(rq, w, INT64_MIN / 2, INT64_MAX / 2, &q, rs)) return;
    int64_t kept[2 * SDR_MAX_RUNS + 1][2];
    int n = 0;
    if (w->running_since) { /* close the open run at now; it goes on from now */
        if (w->nruns == SDR_MAX_RUNS) {
            memmove(&w->runs[0], &w->runs[1], (SDR_MAX_RUNS - 1) * sizeof(w->runs[0]));
            w->nruns--;
        }
        w->runs[w->nruns][0] = w->running_since;
        w->runs[w->nruns][1] = st->now;
        w->nruns++;
        w->running_since = st->now;
    }
    for (int i = 0; i < w->nruns; i++) {
        int64_t a = w->runs[i][0], b = w->runs[i][1];
        if (a < q.start) { /* the part before the window */
            kept[n][0] = a;
            kept[n][1] = b < q.start ? b : q.start;
            n++;
        }
        if (b > q.end) { /* the part after it */
            kept[n][0] = a > q.end ? a : q.end;
            kept[n][1] = b;
            n++;
        }
    }
    int from = n > SDR_MAX_RUNS ? n - SDR_MAX_RUNS : 0;
    w->nruns = n - from;
    memcpy(w->runs, kept[from], (size_t)w->nruns * sizeof(w->runs[0]));
    sim_datarobot_event(w, st->now, "Normal", "StatsReset", NULL, "Request statistics reset");
    sim_json(rs, 204, NULL);
}

/* GET /workloads/stats: summed over the workloads that pass GET /workloads' filters. */
void sim_datarobot_stats_all(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sdr_state *st = state;
    int64_t first = st->now - 1000;
    for (size_t i = 0; i < st->n; i++)
        if (st->wls[i]->created_at < first) first = st->wls[i]->created_at;
    query q;
    metrics sum, m;
    memset(&sum, 0, sizeof(sum));
    if (read_query(rq, NULL, first, st->now, &q, rs)) return;
    int count = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (!sim_datarobot_wl_matches(st->wls[i], rq)) continue;
        compute(st->wls[i], &q, q.start, q.end, st->now, &m);
        for (size_t k = 0; k < GB_ARRAY_LEN(METRICS); k++)
            sum.v[k] += m.v[k];
        count++;
    }
    sum.v[4] = sum.v[0] > 0 ? 50.0 + 300.0 * q.quantile : 0; /* a quantile, not a sum */
    cJSON *j = stats_body(&q, &sum);
    if (j) cJSON_AddNumberToObject(j, "workloadCount", count);
    sim_json(rs, 200, j);
}
