/* test_sim_util.h: a call to a simulator's control API (/_sim/..., providers/sim/sim.h) for
 * the broker's unit tests that run simulators as test doubles (the adapter tests have their
 * own fixture, test_prov_fixture.h). Header-only; include it once per test program. */
#ifndef GB_TEST_SIM_UTIL_H
#define GB_TEST_SIM_UTIL_H

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "common/http_client.h"

/* method on base + path (e.g. "/_sim/requests") with body (NULL: none); it must answer 2xx.
 * Its answer parsed (NULL when it is not JSON; the caller deletes it). */
static inline cJSON *tsim_call(const char *base, const char *method, const char *path,
                               const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", base, path);
    gb_http_req hr = {
        .method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0};
    gb_http_resp hresp;
    assert_int_equal(gb_http_do(&hr, &hresp, NULL), GB_OK);
    assert_int_equal(hresp.status / 100, 2);
    cJSON *j = cJSON_ParseWithLength(hresp.body, hresp.body_len);
    gb_http_resp_free(&hresp);
    return j;
}

/* tsim_call for a change (e.g. "/_sim/faults"), its answer dropped. */
static inline void tsim_control(const char *base, const char *method, const char *path,
                                const char *body)
{
    cJSON_Delete(tsim_call(base, method, path, body));
}

#endif
