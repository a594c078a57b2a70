/* test_sim_util.h: a call to a simulator's control API (/_sim/..., providers/sim/sim.h) for
 * the broker's unit tests that run simulators as test doubles (the adapter tests have their
 * own fixture, test_prov_fixture.h). Header-only; include it once per test program. */
#ifndef GB_TEST_SIM_UTIL_H
#define GB_TEST_SIM_UTIL_H

#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/http_client.h"

/* method on base + path (e.g. "/_sim/faults") with body (NULL: none); it must answer 2xx. */
static inline void tsim_control(const char *base, const char *method, const char *path,
                                const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", base, path);
    gb_http_req hr = {
        .method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0};
    gb_http_resp hresp;
    assert_int_equal(gb_http_do(&hr, &hresp, NULL), GB_OK);
    assert_int_equal(hresp.status / 100, 2);
    gb_http_resp_free(&hresp);
}

#endif
