/* test_sim_framework.c: the simulator framework (routing, auth, clock, fault injection and the
 * control endpoints) against a tiny fake platform that serves a counter resource. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/http_client.h"
#include "common/str.h"
#include "providers/sim/sim.h"

#define SECRET "s3cret-token"
#define MAX_ITEMS 64

/* ---- the fake platform: items that go from "new" to "ready" after 60 s ---- */

typedef struct {
    int id;
    char state[8];
    int64_t created_ms;
} item;

typedef struct {
    item items[MAX_ITEMS];
    int n;
} fake_state;

static void fake_error(sim_resp *rs, int status, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", message);
    cJSON_AddNumberToObject(j, "status", status);
    sim_json(rs, status, j);
}

static void fake_capacity(sim_resp *rs)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", "no capacity");
    sim_json(rs, 503, j);
}

static void *fake_new(sim_server *s)
{
    (void)s;
    return calloc(1, sizeof(fake_state));
}

static void fake_free(void *st)
{
    free(st);
}

static void fake_tick(void *st, int64_t now_ms)
{
    fake_state *f = st;
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->items[i].state, "new") == 0 && now_ms - f->items[i].created_ms >= 60000)
            gb_strlcpy(f->items[i].state, "ready", sizeof(f->items[i].state));
}

static int fake_auth(sim_server *s, void *st, const sim_req *rq, sim_resp *rs)
{
    (void)st;
    const char *h = sim_header(rq, "authorization"); /* the client sends "Authorization" */
    char want[128];
    gb_snprintf(want, sizeof(want), "Bearer %s", sim_secret(s));
    if (h && strcmp(h, want) == 0) return 0;
    sim_error(s, rs, 401, "unauthorized");
    return -1;
}

static cJSON *item_json(const item *it)
{
    cJSON *o = cJSON_CreateObject();
    char id[16];
    gb_snprintf(id, sizeof(id), "%d", it->id);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "state", it->state);
    return o;
}

static cJSON *items_json(const fake_state *f, const char *state)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "items");
    for (int i = 0; i < f->n; i++)
        if (!state || strcmp(state, f->items[i].state) == 0)
            cJSON_AddItemToArray(a, item_json(&f->items[i]));
    return o;
}

static void h_list(sim_server *s, void *st, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sim_json(rs, 200, items_json(st, sim_query(rq, "state")));
}

static void h_create(sim_server *s, void *st, const sim_req *rq, sim_resp *rs)
{
    fake_state *f = st;
    if (rq->body_len) { /* an optional JSON body */
        cJSON *b = sim_body(s, rq, rs);
        if (!b) return;
        cJSON_Delete(b);
    }
    if (f->n == MAX_ITEMS) {
        sim_error(s, rs, 409, "too many items (%d)", MAX_ITEMS);
        return;
    }
    item *it = &f->items[f->n];
    it->id = ++f->n;
    gb_strlcpy(it->state, "new", sizeof(it->state));
    it->created_ms = sim_now(s);
    sim_json(rs, 201, item_json(it));
}

static void h_get(sim_server *s, void *st, const sim_req *rq, sim_resp *rs)
{
    fake_state *f = st;
    int id;
    if (rq->nparams != 1 || gb_parse_int(rq->params[0], 1, f->n, &id) != 0) {
        sim_error(s, rs, 404, "no item %s", rq->nparams ? rq->params[0] : "?");
        return;
    }
    sim_json(rs, 200, item_json(&f->items[id - 1]));
}

static cJSON *fake_dump(void *st)
{
    return items_json(st, NULL);
}

static const sim_route fake_routes[] = {
    {"GET", "/v1/items", h_list},
    {"POST", "/v1/items", h_create},
    {"GET", "/v1/items/:id", h_get},
};

static const sim_platform fake = {
    .name = "fake",
    .routes = fake_routes,
    .nroutes = GB_ARRAY_LEN(fake_routes),
    .state_new = fake_new,
    .state_free = fake_free,
    .tick = fake_tick,
    .auth = fake_auth,
    .error = fake_error,
    .capacity_error = fake_capacity,
    .dump = fake_dump,
};

/* ---- helpers ---- */

typedef struct {
    sim_server *s;
    uint16_t port;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx) return -1;
    if (sim_start(&fake, 0, SECRET, &fx->s, &fx->port) != GB_OK) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    sim_stop(fx->s);
    free(fx);
    return 0;
}

/* One request; auth adds the right bearer token. timeout_ms 0 = 5 s. */
static gb_err call_t(const fixture *fx, const char *method, const char *path, const char *body,
                     int auth, long timeout_ms, gb_http_resp *r)
{
    char url[256];
    gb_snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)fx->port, path);
    const char *hdrs[] = {"Authorization: Bearer " SECRET, NULL};
    const char *bad[] = {"Authorization: Bearer wrong", NULL};
    gb_http_req rq = {
        .method = method,
        .url = url,
        .headers = auth == 1   ? hdrs
                   : auth == 2 ? bad
                               : NULL,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .timeout_ms = timeout_ms ? timeout_ms : 5000,
    };
    return gb_http_do(&rq, r, NULL);
}

static gb_err call(const fixture *fx, const char *method, const char *path, const char *body,
                   int auth, gb_http_resp *r)
{
    return call_t(fx, method, path, body, auth, 0, r);
}

/* Parses the response body (the test fails on malformed JSON). */
static cJSON *resp_json(const gb_http_resp *r)
{
    cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
    assert_non_null(j);
    return j;
}

static const char *jstr(const cJSON *j, const char *key)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(f) ? f->valuestring : "";
}

static double jnum(const cJSON *j, const char *key)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, key);
    assert_true(cJSON_IsNumber(f));
    return f->valuedouble;
}

/* Status of one request, which must get an answer. */
static long status_of(const fixture *fx, const char *method, const char *path, const char *body,
                      int auth)
{
    gb_http_resp r;
    assert_int_equal(call(fx, method, path, body, auth, &r), GB_OK);
    long st = r.status;
    gb_http_resp_free(&r);
    return st;
}

static void add_fault(const fixture *fx, const char *json)
{
    gb_http_resp r;
    assert_int_equal(call(fx, "POST", "/_sim/faults", json, 0, &r), GB_OK);
    assert_int_equal(r.status, 200);
    cJSON *j = resp_json(&r);
    assert_true(jnum(j, "id") >= 1);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
}

/* The state of item id as the API reports it. */
static void item_state(const fixture *fx, int id, char *out, size_t n)
{
    char path[64];
    gb_snprintf(path, sizeof(path), "/v1/items/%d", id);
    gb_http_resp r;
    assert_int_equal(call(fx, "GET", path, NULL, 1, &r), GB_OK);
    assert_int_equal(r.status, 200);
    cJSON *j = resp_json(&r);
    gb_strlcpy(out, jstr(j, "state"), n);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
}

/* How many items GET /_sim/state lists. */
static int dumped_items(const fixture *fx)
{
    gb_http_resp r;
    assert_int_equal(call(fx, "GET", "/_sim/state", NULL, 0, &r), GB_OK);
    assert_int_equal(r.status, 200);
    cJSON *j = resp_json(&r);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "items");
    assert_true(cJSON_IsArray(a));
    int n = cJSON_GetArraySize(a);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- tests ---- */

static void test_routing_params(void **state)
{
    fixture *fx = *state;
    assert_true(fx->port > 0);
    assert_int_equal(sim_port(fx->s), fx->port);
    assert_string_equal(sim_secret(fx->s), SECRET);
    gb_http_resp r;
    assert_int_equal(call(fx, "POST", "/v1/items", "{\"name\":\"a\"}", 1, &r), GB_OK);
    assert_int_equal(r.status, 201);
    char ct[64];
    assert_int_equal(gb_http_resp_header(&r, "Content-Type", ct, sizeof(ct)), 0);
    assert_string_equal(ct, "application/json");
    gb_http_resp_free(&r);
    assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 1), 201);

    assert_int_equal(call(fx, "GET", "/v1/items/2", NULL, 1, &r), GB_OK);
    assert_int_equal(r.status, 200);
    cJSON *j = resp_json(&r);
    assert_string_equal(jstr(j, "id"), "2"); /* the :id parameter reached the handler */
    assert_string_equal(jstr(j, "state"), "new");
    cJSON_Delete(j);
    gb_http_resp_free(&r);

    /* the handler's own 404, in the platform's format */
    assert_int_equal(call(fx, "GET", "/v1/items/99", NULL, 1, &r), GB_OK);
    assert_int_equal(r.status, 404);
    j = resp_json(&r);
    assert_string_equal(jstr(j, "error"), "no item 99");
    cJSON_Delete(j);
    gb_http_resp_free(&r);

    /* the query string is not part of the path; sim_query reads it */
    assert_int_equal(call(fx, "GET", "/v1/items?state=ready", NULL, 1, &r), GB_OK);
    assert_int_equal(r.status, 200);
    j = resp_json(&r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items")), 0);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
    assert_int_equal(call(fx, "GET", "/v1/items?state=new", NULL, 1, &r), GB_OK);
    j = resp_json(&r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items")), 2);
    cJSON_Delete(j);
    gb_http_resp_free(&r);

    /* a bad JSON body gets the platform's 400 through sim_body, and nothing is created */
    assert_int_equal(call(fx, "POST", "/v1/items", "{nope", 1, &r), GB_OK);
    assert_int_equal(r.status, 400);
    j = resp_json(&r);
    assert_string_equal(jstr(j, "error"), "invalid JSON body");
    assert_int_equal((int)jnum(j, "status"), 400);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
    assert_int_equal(dumped_items(fx), 2);
}

static void test_not_found_and_method(void **state)
{
    fixture *fx = *state;
    gb_http_resp r;
    assert_int_equal(call(fx, "GET", "/v1/nothing", NULL, 1, &r), GB_OK);
    assert_int_equal(r.status, 404);
    cJSON *j = resp_json(&r);
    assert_int_equal((int)jnum(j, "status"), 404); /* the platform's error body */
    cJSON_Delete(j);
    gb_http_resp_free(&r);
    /* exact segment count: no prefix matches */
    assert_int_equal(status_of(fx, "GET", "/v1/items/1/extra", NULL, 1), 404);
    assert_int_equal(status_of(fx, "GET", "/v1/items/", NULL, 1), 404);
    assert_int_equal(status_of(fx, "GET", "/v1", NULL, 1), 404);
    assert_int_equal(call(fx, "DELETE", "/v1/items", NULL, 1, &r), GB_OK);
    assert_int_equal(r.status, 405);
    j = resp_json(&r);
    assert_int_equal((int)jnum(j, "status"), 405);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
    assert_int_equal(status_of(fx, "PUT", "/v1/items/1", "{}", 1), 405);
    assert_int_equal(status_of(fx, "GET", "/_sim/nothing", NULL, 0), 404);
    assert_int_equal(status_of(fx, "PUT", "/_sim/faults", "{}", 0), 405);
    /* a platform without a price control says so */
    assert_int_equal(status_of(fx, "POST", "/_sim/prices", "{\"percent\":120}", 0), 501);
    assert_int_equal(status_of(fx, "GET", "/_sim/prices", NULL, 0), 405);
}

static void test_auth(void **state)
{
    fixture *fx = *state;
    gb_http_resp r;
    assert_int_equal(call(fx, "GET", "/v1/items", NULL, 0, &r), GB_OK);
    assert_int_equal(r.status, 401);
    cJSON *j = resp_json(&r);
    assert_string_equal(jstr(j, "error"), "unauthorized");
    cJSON_Delete(j);
    gb_http_resp_free(&r);
    assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 2), 401);
    assert_int_equal(dumped_items(fx), 0); /* a refused create changes nothing */
    assert_int_equal(status_of(fx, "GET", "/v1/items", NULL, 1), 200);
    /* control endpoints need no auth */
    assert_int_equal(status_of(fx, "GET", "/_sim/faults", NULL, 0), 200);
}

static void test_fault_status_count(void **state)
{
    fixture *fx = *state;
    add_fault(fx, "{\"method\":\"GET\",\"path_prefix\":\"/v1/items\",\"status\":502,\"count\":2,"
                  "\"retry_after\":7}");
    /* another method is not affected */
    assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 1), 201);
    for (int i = 0; i < 2; i++) {
        gb_http_resp r;
        assert_int_equal(call(fx, "GET", "/v1/items/1", NULL, 1, &r), GB_OK);
        assert_int_equal(r.status, 502);
        assert_non_null(r.retry_after);
        assert_string_equal(r.retry_after, "7");
        cJSON *j = resp_json(&r);
        assert_string_equal(jstr(j, "error"), "injected fault");
        assert_int_equal((int)jnum(j, "status"), 502);
        cJSON_Delete(j);
        gb_http_resp_free(&r);
    }
    gb_http_resp r;
    assert_int_equal(call(fx, "GET", "/v1/items/1", NULL, 1, &r), GB_OK);
    assert_int_equal(r.status, 200);
    assert_null(r.retry_after);
    gb_http_resp_free(&r);

    /* the listing shows the spent rule with its remaining count */
    assert_int_equal(call(fx, "GET", "/_sim/faults", NULL, 0, &r), GB_OK);
    assert_int_equal(r.status, 200);
    cJSON *j = resp_json(&r);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "faults");
    assert_int_equal(cJSON_GetArraySize(a), 1);
    const cJSON *f0 = cJSON_GetArrayItem(a, 0);
    assert_int_equal((int)jnum(f0, "count"), 0);
    assert_int_equal((int)jnum(f0, "fired"), 2);
    assert_int_equal((int)jnum(f0, "status"), 502);
    assert_string_equal(jstr(f0, "path_prefix"), "/v1/items");
    cJSON_Delete(j);
    gb_http_resp_free(&r);

    /* a fault status even without auth: the fault comes before the platform */
    add_fault(fx, "{\"status\":429,\"retry_after\":3}");
    assert_int_equal(call(fx, "GET", "/v1/items", NULL, 0, &r), GB_OK);
    assert_int_equal(r.status, 429);
    assert_non_null(r.retry_after);
    assert_string_equal(r.retry_after, "3");
    gb_http_resp_free(&r);
    assert_int_equal(status_of(fx, "GET", "/v1/items", NULL, 0), 401);
}

static void test_capacity_error(void **state)
{
    fixture *fx = *state;
    add_fault(fx, "{\"method\":\"POST\",\"path_prefix\":\"/v1/items\",\"capacity_error\":true}");
    gb_http_resp r;
    assert_int_equal(call(fx, "POST", "/v1/items", NULL, 1, &r), GB_OK);
    assert_int_equal(r.status, 503);
    cJSON *j = resp_json(&r);
    assert_string_equal(jstr(j, "error"), "no capacity");
    cJSON_Delete(j);
    gb_http_resp_free(&r);
    assert_int_equal(dumped_items(fx), 0); /* the handler did not run */
    assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 1), 201);
    assert_int_equal(dumped_items(fx), 1);
}

typedef struct {
    const fixture *fx;
    long timeout_ms;
    gb_err e;
    long status;
    int64_t done_ms; /* gb_mono_ms when the answer came */
} slow_call;

static void *slow_thread(void *arg)
{
    slow_call *c = arg;
    gb_http_resp r;
    c->e = call_t(c->fx, "GET", "/v1/items/1", NULL, 1, c->timeout_ms, &r);
    c->status = r.status;
    c->done_ms = gb_mono_ms();
    gb_http_resp_free(&r);
    return NULL;
}

static void test_latency_does_not_block(void **state)
{
    fixture *fx = *state;
    assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 1), 201);
    add_fault(fx, "{\"method\":\"GET\",\"path_prefix\":\"/v1/items/1\",\"latency_ms\":800}");
    slow_call c = {.fx = fx};
    int64_t t0 = gb_mono_ms();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, slow_thread, &c), 0);
    sleep_ms(100); /* the slow request is now sleeping inside the server */
    gb_http_resp r;
    assert_int_equal(call(fx, "GET", "/v1/items", NULL, 1, &r), GB_OK);
    int64_t fast_done = gb_mono_ms();
    assert_int_equal(r.status, 200);
    gb_http_resp_free(&r);
    pthread_join(th, NULL);
    assert_int_equal(c.e, GB_OK);
    assert_int_equal(c.status, 200); /* latency alone only delays */
    assert_true(c.done_ms - t0 >= 800);
    assert_true(fast_done < c.done_ms);
    assert_true(fast_done - t0 < 600);
    /* the rule was spent: the next one is fast */
    int64_t t1 = gb_mono_ms();
    assert_int_equal(status_of(fx, "GET", "/v1/items/1", NULL, 1), 200);
    assert_true(gb_mono_ms() - t1 < 500);
}

static void test_drop_response(void **state)
{
    fixture *fx = *state;
    add_fault(fx, "{\"method\":\"POST\",\"path_prefix\":\"/v1/items\",\"drop_response\":true}");
    gb_http_resp r;
    gb_err e = call(fx, "POST", "/v1/items", "{}", 1, &r);
    assert_int_equal(e, GB_ERR_HTTP); /* sent, but no answer came */
    assert_int_equal(r.status, 0);
    gb_http_resp_free(&r);
    assert_int_equal(dumped_items(fx), 1); /* the work was done all the same */
    assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 1), 201);
    assert_int_equal(dumped_items(fx), 2);
}

static void test_truncate_body(void **state)
{
    fixture *fx = *state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 1), 201);
    gb_http_resp r;
    assert_int_equal(call(fx, "GET", "/v1/items", NULL, 1, &r), GB_OK);
    size_t full = r.body_len;
    gb_http_resp_free(&r);
    assert_true(full > 50);
    add_fault(fx, "{\"method\":\"GET\",\"path_prefix\":\"/v1/items\",\"truncate_body\":true}");
    gb_err e = call(fx, "GET", "/v1/items", NULL, 1, &r);
    if (e == GB_OK) { /* some clients accept it: then the body must be short */
        char cl[32];
        assert_int_equal(gb_http_resp_header(&r, "Content-Length", cl, sizeof(cl)), 0);
        int64_t n;
        assert_int_equal(gb_parse_i64(cl, 0, INT64_MAX, &n), 0);
        assert_true((int64_t)r.body_len < n);
    } else {
        assert_int_equal(e, GB_ERR_HTTP); /* libcurl: CURLE_PARTIAL_FILE */
    }
    gb_http_resp_free(&r);
    /* whole again afterwards */
    assert_int_equal(call(fx, "GET", "/v1/items", NULL, 1, &r), GB_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, full);
    gb_http_resp_free(&r);
}

static void test_faults_clear_and_list(void **state)
{
    fixture *fx = *state;
    add_fault(fx, "{\"path_prefix\":\"/v1/\",\"status\":500,\"count\":-1}");
    add_fault(fx, "{\"method\":\"*\",\"path_prefix\":\"/v1/\",\"status\":503}");
    for (int i = 0; i < 3; i++)
        assert_int_equal(status_of(fx, "GET", "/v1/items", NULL, 1), 500);
    /* control endpoints are never faulted */
    assert_int_equal(status_of(fx, "GET", "/_sim/state", NULL, 0), 200);
    gb_http_resp r;
    assert_int_equal(call(fx, "GET", "/_sim/faults", NULL, 0, &r), GB_OK);
    cJSON *j = resp_json(&r);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "faults");
    assert_int_equal(cJSON_GetArraySize(a), 2);
    assert_int_equal((int)jnum(cJSON_GetArrayItem(a, 0), "count"), -1);
    assert_int_equal((int)jnum(cJSON_GetArrayItem(a, 0), "fired"), 3);
    assert_int_equal((int)jnum(cJSON_GetArrayItem(a, 1), "count"), 1);
    cJSON_Delete(j);
    gb_http_resp_free(&r);

    assert_int_equal(status_of(fx, "DELETE", "/_sim/faults", NULL, 0), 200);
    assert_int_equal(status_of(fx, "GET", "/v1/items", NULL, 1), 200);
    assert_int_equal(call(fx, "GET", "/_sim/faults", NULL, 0, &r), GB_OK);
    j = resp_json(&r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "faults")), 0);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
}

static void test_bad_fault_json(void **state)
{
    fixture *fx = *state;
    static const char *const bad[] = {
        "{not json",
        "[]",
        "{\"method\":5}",
        "{\"path_prefix\":true}",
        "{\"status\":700}",
        "{\"status\":42}",
        "{\"status\":-1}",
        "{\"count\":-2}",
        "{\"count\":1.5}",
        "{\"latency_ms\":-1}",
        "{\"latency_ms\":600001}",
        "{\"retry_after\":86401}",
        "{\"drop_response\":\"yes\"}",
        "{\"capacity_error\":1}",
        "{\"truncate_body\":\"true\"}",
        "{\"statuss\":500}",
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        gb_http_resp r;
        assert_int_equal(call(fx, "POST", "/_sim/faults", bad[i], 0, &r), GB_OK);
        if (r.status != 400) print_error("accepted: %s\n", bad[i]);
        assert_int_equal(r.status, 400);
        cJSON *j = resp_json(&r);
        assert_true(strlen(jstr(j, "error")) > 0);
        cJSON_Delete(j);
        gb_http_resp_free(&r);
    }
    assert_int_equal(status_of(fx, "POST", "/_sim/faults", NULL, 0), 400); /* empty body */
    gb_http_resp r;
    assert_int_equal(call(fx, "GET", "/_sim/faults", NULL, 0, &r), GB_OK);
    cJSON *j = resp_json(&r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "faults")), 0);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
    /* the edges are accepted */
    add_fault(fx, "{\"status\":599,\"count\":-1,\"latency_ms\":0,\"retry_after\":86400,"
                  "\"drop_response\":false,\"capacity_error\":false,\"truncate_body\":false}");
    add_fault(fx, "{\"status\":100,\"method\":\"\",\"path_prefix\":\"\"}");
    add_fault(fx, "{}");
}

static void test_clock_advance(void **state)
{
    fixture *fx = *state;
    assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 1), 201);
    char st[16];
    item_state(fx, 1, st, sizeof(st));
    assert_string_equal(st, "new");
    int64_t before = sim_now(fx->s);
    int64_t wall = gb_wall_ms();
    assert_true(before > wall - 5000 && before < wall + 5000); /* starts at real time */
    gb_http_resp r;
    assert_int_equal(call(fx, "POST", "/_sim/clock", "{\"advance_ms\":59000}", 0, &r), GB_OK);
    assert_int_equal(r.status, 200);
    cJSON *j = resp_json(&r);
    double now = jnum(j, "now_ms");
    assert_true(now >= (double)(before + 59000));
    assert_true(now < (double)(before + 59000 + 5000));
    cJSON_Delete(j);
    gb_http_resp_free(&r);
    item_state(fx, 1, st, sizeof(st));
    assert_string_equal(st, "new"); /* 59 s is not enough */
    assert_int_equal(status_of(fx, "POST", "/_sim/clock", "{\"advance_ms\":1000}", 0), 200);
    item_state(fx, 1, st, sizeof(st));
    assert_string_equal(st, "ready");
    /* the dump ticks too */
    assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 1), 201);
    assert_int_equal(status_of(fx, "POST", "/_sim/clock", "{\"advance_ms\":60000}", 0), 200);
    assert_int_equal(call(fx, "GET", "/_sim/state", NULL, 0, &r), GB_OK);
    j = resp_json(&r);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "items");
    assert_string_equal(jstr(cJSON_GetArrayItem(a, 1), "state"), "ready");
    cJSON_Delete(j);
    gb_http_resp_free(&r);

    static const char *const bad[] = {"{\"advance_ms\":-5}",
                                      "{\"speed\":0}",
                                      "{\"speed\":-1}",
                                      "{\"speed\":100001}",
                                      "{\"speed\":\"fast\"}",
                                      "{\"advance_ms\":1.5}",
                                      "{\"jump\":1}",
                                      "nope",
                                      NULL};
    int64_t t0 = sim_now(fx->s);
    for (int i = 0; bad[i]; i++)
        assert_int_equal(status_of(fx, "POST", "/_sim/clock", bad[i], 0), 400);
    assert_true(sim_now(fx->s) - t0 < 5000); /* nothing applied */
}

static void test_clock_speed(void **state)
{
    fixture *fx = *state;
    assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 1), 201);
    sleep_ms(200); /* real time at speed 1 */
    int64_t before = sim_now(fx->s);
    int64_t t0 = gb_mono_ms();
    assert_int_equal(status_of(fx, "POST", "/_sim/clock", "{\"speed\":1000}", 0), 200);
    /* continuous: the 200 ms at speed 1 are not counted again at speed 1000 */
    int64_t after = sim_now(fx->s);
    assert_true(after >= before);
    assert_true(after - before < (gb_mono_ms() - t0 + 20) * 1000);
    assert_true(after - before < 100000);
    char st[16] = "";
    int64_t ready_at = -1;
    while (gb_mono_ms() - t0 < 3000) {
        item_state(fx, 1, st, sizeof(st));
        if (strcmp(st, "ready") == 0) {
            ready_at = gb_mono_ms() - t0;
            break;
        }
        sleep_ms(10);
    }
    assert_string_equal(st, "ready");
    assert_true(ready_at >= 0 && ready_at < 1000); /* 60 s of sim time in ~60 ms */
    gb_http_resp r;
    assert_int_equal(call(fx, "GET", "/_sim/clock", NULL, 0, &r), GB_OK);
    cJSON *j = resp_json(&r);
    assert_true(jnum(j, "speed") == 1000.0);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
}

static void test_request_counts(void **state)
{
    fixture *fx = *state;
    assert_int_equal(status_of(fx, "GET", "/v1/items", NULL, 1), 200);
    assert_int_equal(status_of(fx, "GET", "/v1/items", NULL, 0), 401); /* counted too */
    assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 1), 201);
    assert_int_equal(status_of(fx, "GET", "/v1/items/1", NULL, 1), 200);
    assert_int_equal(status_of(fx, "GET", "/v1/items/7", NULL, 1), 404);
    assert_int_equal(status_of(fx, "GET", "/_sim/state", NULL, 0), 200); /* not counted */
    gb_http_resp r;
    assert_int_equal(call(fx, "GET", "/_sim/requests", NULL, 0, &r), GB_OK);
    assert_int_equal(r.status, 200);
    cJSON *j = resp_json(&r);
    assert_int_equal((int)jnum(j, "count"), 5);
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(j, "by_route");
    assert_int_equal((int)jnum(by, "GET /v1/items"), 2);
    assert_int_equal((int)jnum(by, "POST /v1/items"), 1);
    assert_int_equal((int)jnum(by, "GET /v1/items/:id"), 2);
    assert_int_equal(cJSON_GetArraySize(by), 3);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
}

static void test_body_too_large(void **state)
{
    fixture *fx = *state;
    size_t n = ((size_t)4 << 20) + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    gb_http_resp r;
    assert_int_equal(call(fx, "POST", "/v1/items", big, 1, &r), GB_OK);
    free(big);
    assert_int_equal(r.status, 413);
    cJSON *j = resp_json(&r);
    assert_int_equal((int)jnum(j, "status"), 413);
    cJSON_Delete(j);
    gb_http_resp_free(&r);
    assert_int_equal(dumped_items(fx), 0);
}

static void test_stop_cuts_latency(void **state)
{
    fixture *fx = *state;
    assert_int_equal(status_of(fx, "POST", "/v1/items", NULL, 1), 201);
    add_fault(fx, "{\"path_prefix\":\"/v1/items/1\",\"latency_ms\":600000}");
    slow_call c = {.fx = fx, .timeout_ms = 20000};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, slow_thread, &c), 0);
    sleep_ms(200);
    int64_t t0 = gb_mono_ms();
    sim_stop(fx->s);
    fx->s = NULL;
    assert_true(gb_mono_ms() - t0 < 5000);
    pthread_join(th, NULL);
    assert_int_not_equal(c.e, GB_OK); /* the sleeping request got no answer */
    sim_stop(NULL);                   /* safe */
}

static void test_start_errors(void **state)
{
    (void)state;
    sim_server *s = (sim_server *)1;
    assert_int_equal(sim_start(NULL, 0, SECRET, &s, NULL), GB_ERR_INVALID);
    assert_null(s);
    uint16_t port = 0;
    assert_int_equal(sim_start(&fake, 0, NULL, &s, &port), GB_OK);
    assert_string_equal(sim_secret(s), "");
    sim_server *s2 = NULL;
    /* the port is taken */
    assert_int_equal(sim_start(&fake, port, SECRET, &s2, NULL), GB_ERR_IO);
    assert_null(s2);
    sim_stop(s);
}

int main(void)
{
    if (gb_http_global_init() != GB_OK) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routing_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_status_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capacity_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency_does_not_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults_clear_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_fault_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_advance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_speed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_cuts_latency, setup, teardown),
        cmocka_unit_test(test_start_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gb_http_global_cleanup();
    return rc;
}
