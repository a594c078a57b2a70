/* test_providers_lium_rent.c: the Lium adapter's create where a mistake costs money or leaks a
 * secret, read at the Lium simulator: a rent whose outcome is unknown and whose pod cannot be
 * looked up is never sent again, the look-up after a lost answer takes the live pod and not an
 * older namesake that is DELETING (Datura-ai/lium-sdk lium/models/pod.py statuses), and the
 * one-time template carrying the request's env is private (Datura-ai/lium lium/sdk/client.py
 * create_template, is_private). */
#include "test_providers_lium_util.h"

#define RENT "POST /api/executors/:id/rent"

/* The simulator's pods named name (status "DELETING" counted apart); the id of the last one
 * that is not DELETING in live_id. */
static int sim_pods(fx *f, const char *name, int *deleting, char *live_id, size_t n)
{
    cJSON *st = pf_state(f);
    int all = 0;
    *deleting = 0;
    live_id[0] = '\0';
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(st, "pods"))
    {
        if (strcmp(cJSON_GetObjectItem(p, "pod_name")->valuestring, name) != 0) continue;
        all++;
        if (strcmp(cJSON_GetObjectItem(p, "status")->valuestring, "DELETING") == 0)
            (*deleting)++;
        else
            snprintf(live_id, n, "%s", cJSON_GetObjectItem(p, "id")->valuestring);
    }
    cJSON_Delete(st);
    return all;
}

/* The rent's answer is lost (the pod was made) and GET /pods fails: the outcome is unknown, so
 * the adapter reports it as such and never rents blind. A second rent would be refused (the
 * executor is the pod's now) and reported as "no capacity" while the pod runs and bills. */
static void test_no_rent_after_failed_look_up(void **state)
{
    fx *f = *state;
    f->a->policy.max_retries = 0;
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/executors/" X_H100x1
                "/rent\",\"drop_response\":true,\"count\":1}");
    pf_fault(f, "{\"method\":\"GET\",\"path_prefix\":\"/api/pods\",\"status\":500,\"count\":-1}");
    prov_create_req rq = req_for("blind", X_H100x1, 1);
    prov_pod p;
    gb_err e = prov_lium_ops.create(f->a, &rq, &p, f->err);
    assert_int_not_equal(e, GB_OK);
    assert_int_not_equal(e, GB_ERR_CAPACITY);
    assert_non_null(strstr(f->err, "could not be looked up"));
    assert_int_equal(pf_route_count(f, RENT), 1);
    int deleting;
    char id[64];
    assert_int_equal(sim_pods(f, "blind", &deleting, id, sizeof(id)), 1); /* it exists */
    /* once Lium answers again, the broker's own look-up finds it */
    pf_clear_faults(f);
    assert_int_equal(prov_lium_ops.find_by_name(f->a, "blind", &p, f->err), GB_OK);
    assert_string_equal(p.provider_id, id);
}

/* A pod is deleted (DELETING for a while at Lium) and a new one with the same name is rented
 * on another executor, its answer lost: the look-up by name returns the new pod, not the one
 * going away, and so does find_by_name. */
static void test_look_up_skips_deleting_namesake(void **state)
{
    fx *f = *state;
    prov_create_req old = req_for("twin", X_H100x1, 1);
    prov_pod p, q;
    assert_int_equal(prov_lium_ops.create(f->a, &old, &p, f->err), GB_OK);
    assert_int_equal(prov_lium_ops.remove(f->a, p.provider_id, f->err), GB_OK);
    pf_fault(f, "{\"method\":\"POST\",\"path_prefix\":\"/api/executors/" X_4090x2
                "/rent\",\"drop_response\":true,\"count\":1}");
    prov_create_req again = req_for("twin", X_4090x2, 2);
    assert_int_equal(prov_lium_ops.create(f->a, &again, &q, f->err), GB_OK);
    int deleting;
    char live[64];
    assert_int_equal(sim_pods(f, "twin", &deleting, live, sizeof(live)), 2);
    assert_int_equal(deleting, 1);
    assert_string_not_equal(q.provider_id, p.provider_id);
    assert_string_equal(q.provider_id, live);
    assert_int_equal(prov_lium_ops.find_by_name(f->a, "twin", &q, f->err), GB_OK);
    assert_string_equal(q.provider_id, live);
    assert_int_equal(pf_route_count(f, RENT), 2); /* one each, none repeated */
}

/* The one-time template holds the request's env (secrets too): Lium keeps it private. */
static void test_template_is_private(void **state)
{
    fx *f = *state;
    static const char *const env[] = {"HF_TOKEN=hf_secret_value"};
    prov_create_req rq = req_for("priv", X_H100x1, 1);
    rq.env = env;
    rq.nenv = 1;
    prov_pod p;
    assert_int_equal(prov_lium_ops.create(f->a, &rq, &p, f->err), GB_OK);
    cJSON *st = pf_state(f);
    const cJSON *t, *mine = NULL;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(st, "templates"))
    {
        if (strcmp(cJSON_GetObjectItem(t, "name")->valuestring, "gpubroker-priv") == 0) mine = t;
    }
    assert_non_null(mine);
    const cJSON *ev = cJSON_GetObjectItem(mine, "environment");
    assert_string_equal(cJSON_GetObjectItem(ev, "HF_TOKEN")->valuestring, "hf_secret_value");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(mine, "is_private")));
    cJSON_Delete(st);
}

int main(void)
{
    gb_http_global_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, pf_teardown)
    const struct CMUnitTest tests[] = {
        T(test_no_rent_after_failed_look_up),
        T(test_look_up_skips_deleting_namesake),
        T(test_template_is_private),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
