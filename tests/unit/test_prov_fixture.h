/* test_prov_fixture.h: what the provider adapter tests share: a simulator on a free loopback
 * port with an adapter whose backoff sleeps are recorded instead of slept, one raw HTTP
 * exchange with the simulator, and the simulator's /_sim/ control calls (faults, clock,
 * state, request counts). Header-only (static inline, prefixed pf_); each platform's util
 * header adds its own helpers on top. */
#ifndef GB_TEST_PROV_FIXTURE_H
#define GB_TEST_PROV_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/http_client.h"
#include "providers/provider.h"
#include "providers/sim/sim.h"

#define PF_MAX_SLEEPS 64

typedef struct {
    sim_server *sim;
    uint16_t port;
    char base[64]; /* "http://127.0.0.1:<port>" */
    prov_adapter *a;
    int64_t sleeps[PF_MAX_SLEEPS]; /* what a->policy.sleep_ms was asked to sleep */
    int nsleeps;
    char token[128]; /* a bearer token a platform's helpers may cache (Primus login) */
    char err[PROV_ERR_MAX];
} pf_fx;

/* The adapter's sleep function: records ms in the fixture (ud) instead of sleeping. */
static inline void pf_rec_sleep(void *ud, int64_t ms)
{
    pf_fx *f = ud;
    if (f->nsleeps < PF_MAX_SLEEPS) f->sleeps[f->nsleeps++] = ms;
}

/* A fresh fixture with platform p's simulator (accepting secret) on a free port. */
static inline pf_fx *pf_start(const sim_platform *p, const char *secret)
{
    pf_fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(sim_start(p, 0, secret, &f->sim, &f->port), GB_OK);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", (unsigned)f->port);
    return f;
}

/* An adapter of ops for the simulator at base + suffix ("" or an API prefix), with settings
 * (borrowed; may be NULL), whose sleeps are recorded in f. */
static inline prov_adapter *pf_adapter(pf_fx *f, const prov_ops *ops, const char *name,
                                       const char *suffix, const char *secret,
                                       const cJSON *settings)
{
    char url[256];
    prov_adapter *a = NULL;
    snprintf(url, sizeof(url), "%s%s", f->base, suffix);
    assert_int_equal(prov_adapter_init(ops, name, url, secret, settings, &a), GB_OK);
    a->policy.sleep_ms = pf_rec_sleep;
    a->policy.sleep_ud = f;
    return a;
}

/* Frees the fixture's adapter, stops its simulator and frees it. */
static inline void pf_stop(pf_fx *f)
{
    prov_adapter_free(f->a);
    sim_stop(f->sim);
    free(f);
}

/* A cmocka teardown for a fixture made by pf_start. */
static inline int pf_teardown(void **state)
{
    pf_stop(*state);
    return 0;
}

/* One raw HTTP exchange with the simulator; hdrs is a NULL-ended list of header lines.
 * Returns the status; *out gets the parsed body (NULL when none or not JSON) unless out is
 * NULL. */
static inline long pf_http_hdrs(const pf_fx *f, const char *method, const char *path,
                                const char *body, const char *const *hdrs, cJSON **out)
{
    char url[1100];
    snprintf(url, sizeof(url), "%s%s", f->base, path);
    gb_http_req rq = {.method = method,
                      .url = url,
                      .headers = hdrs,
                      .body = body,
                      .body_len = body ? strlen(body) : 0};
    gb_http_resp rs;
    gb_errmsg err;
    assert_int_equal(gb_http_do(&rq, &rs, err), GB_OK);
    if (out) *out = rs.body_len ? cJSON_ParseWithLength(rs.body, rs.body_len) : NULL;
    long status = rs.status;
    gb_http_resp_free(&rs);
    return status;
}

/* One raw HTTP exchange with the simulator: the header auth (e.g. "Authorization: Bearer ")
 * followed by key unless key is NULL, and a JSON Content-Type when there is a body. Returns
 * the parsed body (or NULL); *status gets the status unless status is NULL. */
static inline cJSON *pf_http(const pf_fx *f, const char *method, const char *path, const char *body,
                             const char *auth, const char *key, long *status)
{
    char line[192];
    const char *hdrs[3];
    int n = 0;
    if (key) {
        snprintf(line, sizeof(line), "%s%s", auth, key);
        hdrs[n++] = line;
    }
    if (body) hdrs[n++] = "Content-Type: application/json";
    hdrs[n] = NULL;
    cJSON *j = NULL;
    long st = pf_http_hdrs(f, method, path, body, hdrs, &j);
    if (status) *status = st;
    return j;
}

/* A call to the simulator's /_sim/ control API (no auth), which must answer 200; returns the
 * parsed answer (caller frees; NULL when none). */
static inline cJSON *pf_sim(const pf_fx *f, const char *method, const char *path, const char *body)
{
    long st = 0;
    cJSON *j = pf_http(f, method, path, body, NULL, NULL, &st);
    assert_int_equal(st, 200);
    return j;
}

/* GET of a /_sim/ endpoint that must answer 200 with a JSON body (caller frees). */
static inline cJSON *pf_sim_get(const pf_fx *f, const char *path)
{
    cJSON *j = pf_sim(f, "GET", path, NULL);
    assert_non_null(j);
    return j;
}

/* POST /_sim/faults: adds one fault rule. */
static inline void pf_fault(const pf_fx *f, const char *rule)
{
    cJSON_Delete(pf_sim(f, "POST", "/_sim/faults", rule));
}

/* DELETE /_sim/faults: drops every fault rule. */
static inline void pf_clear_faults(const pf_fx *f)
{
    cJSON_Delete(pf_sim(f, "DELETE", "/_sim/faults", NULL));
}

/* POST /_sim/clock: moves the simulator's clock on by ms. */
static inline void pf_advance(const pf_fx *f, int64_t ms)
{
    char b[64];
    snprintf(b, sizeof(b), "{\"advance_ms\":%lld}", (long long)ms);
    cJSON_Delete(pf_sim(f, "POST", "/_sim/clock", b));
}

/* GET /_sim/state (caller frees). */
static inline cJSON *pf_state(const pf_fx *f)
{
    return pf_sim_get(f, "/_sim/state");
}

/* One integer member of /_sim/state. */
static inline int pf_state_int(const pf_fx *f, const char *key)
{
    cJSON *st = pf_state(f);
    int n = cJSON_GetObjectItem(st, key)->valueint;
    cJSON_Delete(st);
    return n;
}

/* GET /_sim/requests (caller frees). */
static inline cJSON *pf_requests(const pf_fx *f)
{
    return pf_sim_get(f, "/_sim/requests");
}

/* Requests the simulator served on one route ("POST /api/v2/workloads"). */
static inline int pf_route_count(const pf_fx *f, const char *route)
{
    cJSON *j = pf_requests(f);
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_route"), route);
    int n = cJSON_IsNumber(c) ? c->valueint : 0;
    cJSON_Delete(j);
    return n;
}

/* Requests the simulator served in all. */
/* How many workloads named name exist at the simulator (its far-side view, /_sim/workloads). */
static inline int pf_named(const pf_fx *f, const char *name)
{
    cJSON *j = pf_sim_get(f, "/_sim/workloads");
    int n = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(j, "workloads"))
    {
        const char *wn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "name"));
        if (wn && strcmp(wn, name) == 0) n++;
    }
    cJSON_Delete(j);
    return n;
}

/* Waits (real time, at most deadline_ms) until `want` workloads named name exist at the
 * simulator, e.g. until a request the adapter gave up on has finished there; returns the
 * last count seen. Replaces a fixed sleep: as fast as the condition, and never too short. */
static inline int pf_wait_named(const pf_fx *f, const char *name, int want, int deadline_ms)
{
    int n = pf_named(f, name);
    for (int waited = 0; n != want && waited < deadline_ms; waited += 20) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        n = pf_named(f, name);
    }
    return n;
}

static inline int pf_total_requests(const pf_fx *f)
{
    cJSON *j = pf_requests(f);
    int n = cJSON_GetObjectItem(j, "count")->valueint;
    cJSON_Delete(j);
    return n;
}

/* One provider_options case for validate_options: the options JSON and a field the error
 * must name (NULL when the options are valid). */
typedef struct {
    const char *json;
    const char *field;
} pf_opt_case;

/* Runs ops->validate_options on each case: GB_OK for a valid one, GB_ERR_INVALID naming the
 * field otherwise; absent options (NULL) are valid. */
static inline void pf_check_options(const prov_ops *ops, const pf_opt_case *cases, size_t n)
{
    char err[PROV_ERR_MAX];
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_Parse(cases[i].json);
        if (!o) fail_msg("case %zu is not JSON: %s", i, cases[i].json);
        err[0] = '\0';
        gb_err e = ops->validate_options(o, err);
        if (!cases[i].field && e != GB_OK) fail_msg("%s: refused: %s", cases[i].json, err);
        if (cases[i].field && (e != GB_ERR_INVALID || !strstr(err, cases[i].field)))
            fail_msg("%s: want an error naming %s, got %d '%s'", cases[i].json, cases[i].field,
                     (int)e, err);
        cJSON_Delete(o);
    }
    if (ops->validate_options(NULL, err) != GB_OK) fail_msg("absent options refused: %s", err);
}

#endif
