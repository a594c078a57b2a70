/* api_health.c: GET /healthz (liveness: the database answers), GET /readyz (readiness: the
 * database takes writes, the vault's key is there, the workers run, and how the providers
 * fare) and GET /metrics (Prometheus text: metrics.c, metrics_prov.c, store/metrics_store.c). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/api/handlers.h"
#include "broker/api/metrics.h"
#include "broker/api/auth.h"
#include "broker/api/routes.h"
#include "broker/api/scopes.h"
#include "broker/core/intents.h"
#include "broker/core/registry.h"
#include "broker/placement/offer_cache.h"
#include "broker/store/metrics_store.h"
#include "common/clock.h"
#include "common/dbq.h"
#include "broker/store/ready_store.h"
#include "common/str.h"
#include "common/worker.h"

/* A worker is alive while its last round started or ended within this many intervals plus
 * READY_GRACE_MS (a round that waits on a slow platform is not a dead worker). */
#define READY_INTERVALS 3
#define READY_GRACE_MS 30000

void h_healthz(api_req *rq, api_resp *rs)
{
    int ok = rq->db && gb_db_exec(rq->db, "SELECT 1") == GB_OK;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", ok ? "ok" : "unavailable");
    cJSON_AddStringToObject(o, "version", GPUBROKER_VERSION);
    api_json(rs, ok ? 200 : 503, o);
}

static cJSON *check(cJSON *checks, const char *name, bool ok, const char *detail)
{
    cJSON *c = cJSON_AddObjectToObject(checks, name);
    if (!c) return NULL;
    cJSON_AddBoolToObject(c, "ok", ok);
    cJSON_AddStringToObject(c, "detail", detail);
    return c;
}

static bool vault_ready(app *a, const char **detail)
{
    struct stat st;
    if (!a->vault) {
        *detail = "the vault is not open";
        return false;
    }
    const char *env = getenv("GPUBROKER_MASTER_KEY");
    if (env && *env) {
        *detail = "open; the master key came from GPUBROKER_MASTER_KEY";
        return true;
    }
    if (!a->cfg.master_key_file || stat(a->cfg.master_key_file, &st) != 0 || !S_ISREG(st.st_mode) ||
        access(a->cfg.master_key_file, R_OK) != 0) {
        *detail = "the master key file is missing or unreadable";
        return false;
    }
    *detail = "open; the master key file is readable";
    return true;
}

typedef struct {
    cJSON *arr;
    int64_t now;
    int stale;
} worker_walk;

static void one_worker(const gb_worker_status *st, void *ud)
{
    worker_walk *w = ud;
    int64_t age = st->last_progress_ms ? w->now - st->last_progress_ms : 0;
    bool alive = age <= READY_INTERVALS * st->interval_ms + READY_GRACE_MS;
    if (!alive) w->stale++;
    cJSON *o = cJSON_CreateObject();
    if (!o) return;
    cJSON_AddStringToObject(o, "name", st->name);
    cJSON_AddBoolToObject(o, "ok", alive);
    cJSON_AddNumberToObject(o, "interval_ms", (double)st->interval_ms);
    cJSON_AddNumberToObject(o, "rounds", (double)st->rounds);
    cJSON_AddNumberToObject(o, "last_round_age_ms", (double)age);
    cJSON_AddBoolToObject(o, "in_round", st->in_round);
    cJSON_AddItemToArray(w->arr, o);
}

/* Unhealthy providers are listed but do not make the broker unready: it still serves reads,
 * the other platforms and the retries of the work waiting on that one (docs/operations.md). */
static int providers_check(app *a, cJSON *checks)
{
    cJSON *list = a->reg ? registry_health_json(a) : cJSON_CreateArray();
    int bad = 0, n = cJSON_GetArraySize(list);
    for (int i = 0; i < n; i++) {
        cJSON *p = cJSON_GetArrayItem(list, i);
        bad += !cJSON_IsTrue(cJSON_GetObjectItem(p, "healthy"));
        /* no key is asked: where the platforms are and what they answered stays behind one
         * (GET /api/volt/admin/providers) */
        cJSON_DeleteItemFromObjectCaseSensitive(p, "base_url");
        cJSON_DeleteItemFromObjectCaseSensitive(p, "last_error");
    }
    cJSON *c = check(checks, "providers", true,
                     bad ? "some providers failed their last call (reported, not unready)"
                         : "every provider's last call succeeded");
    if (c) {
        cJSON_AddNumberToObject(c, "unhealthy", bad);
        cJSON_AddItemToObject(c, "providers", list);
    } else {
        cJSON_Delete(list);
    }
    return bad;
}

void h_readyz(api_req *rq, api_resp *rs)
{
    app *a = rq->app;
    cJSON *o = cJSON_CreateObject();
    cJSON *checks = o ? cJSON_AddObjectToObject(o, "checks") : NULL;
    if (!checks) {
        cJSON_Delete(o);
        api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    const char *d = NULL;
    bool ok = ready_store_probe_write(a->cfg.database, &d);
    check(checks, "database", ok, d);
    bool vok = vault_ready(a, &d);
    check(checks, "vault", vok, d);
    ok = ok && vok;
    worker_walk w = {cJSON_CreateArray(), gb_mono_ms(), 0};
    gb_worker_each(one_worker, &w);
    cJSON *wc = check(checks, "workers", w.stale == 0,
                      w.stale ? "a worker has not finished a round within its bound"
                              : "every worker ran a round within its bound");
    if (wc)
        cJSON_AddItemToObject(wc, "workers", w.arr);
    else
        cJSON_Delete(w.arr);
    ok = ok && w.stale == 0;
    providers_check(a, checks);
    cJSON_AddStringToObject(o, "status", ok ? "ready" : "unready");
    cJSON_AddStringToObject(o, "version", GPUBROKER_VERSION);
    api_json(rs, ok ? 200 : 503, o);
}

typedef struct {
    gb_buf *out;
    gb_err e;
} age_walk;

static void one_age(void *ud, const char *provider, int64_t age_ms)
{
    age_walk *w = ud;
    if (!w->e && age_ms >= 0)
        w->e = gb_buf_printf(w->out, "gpubroker_offer_cache_age_seconds{provider=\"%s\"} %.3f\n",
                             provider, (double)age_ms / 1000);
}

/* With metrics.require_key, an admin key (X-API-Key or Authorization: Bearer) is needed. */
static bool metrics_allowed(api_req *rq, api_resp *rs)
{
    if (!rq->app->cfg.metrics_require_key) return true;
    if (!rq->db) {
        api_error(rs, 503, "UNAVAILABLE", "Database unavailable");
        return false;
    }
    const char *key = api_header(rq, "X-API-Key");
    const char *au = api_header(rq, "Authorization");
    if (!(key && *key) && au && strncasecmp(au, "Bearer ", 7) == 0) key = au + 7;
    if (auth_check(rq, rs, key && *key ? key : NULL) != 0) return false;
    if (!(rq->scopes & SCOPE_ADMIN)) {
        api_error(rs, 403, "INSUFFICIENT_SCOPE", "This API key lacks the '%s' scope",
                  scope_name(SCOPE_ADMIN));
        return false;
    }
    return true;
}

void h_metrics(api_req *rq, api_resp *rs)
{
    if (!metrics_allowed(rq, rs)) return;
    int n;
    routes_table(&n);
    gb_buf b = {0};
    int64_t queued = 0; /* provider mutations waiting or under way (docs/intents.md) */
    gb_err e = rq->db ? intent_count_queued(rq->db, &queued) : GB_ERR_DB;
    if (!e) e = metrics_render(rq->app->metrics, routes_names(), n, &b);
    if (!e)
        e = gb_buf_printf(
            &b,
            "# HELP gpubroker_intents_queued Provider mutations queued or under way.\n"
            "# TYPE gpubroker_intents_queued gauge\ngpubroker_intents_queued %lld\n",
            (long long)queued);
    if (!e && rq->app->wgroup) { /* SQLite's group commit (docs/store.md) */
        uint64_t works = 0, commits = 0, restarts = 0, refused = 0;
        gb_db_group_stats(rq->app->wgroup, &works, &commits, NULL);
        uint64_t checkpoints = gb_db_group_checkpoints(rq->app->wgroup, &restarts, &refused);
        e = gb_buf_printf(
            &b,
            "# HELP gpubroker_db_group_works_total Write transactions' works run by group "
            "commit.\n# TYPE gpubroker_db_group_works_total counter\n"
            "gpubroker_db_group_works_total %llu\n"
            "# HELP gpubroker_db_group_commits_total Commits of grouped works.\n"
            "# TYPE gpubroker_db_group_commits_total counter\n"
            "gpubroker_db_group_commits_total %llu\n"
            "# HELP gpubroker_db_checkpoints_total WAL checkpoints run by the group's thread and "
            "its writers.\n"
            "# TYPE gpubroker_db_checkpoints_total counter\n"
            "gpubroker_db_checkpoints_total %llu\n"
            "# HELP gpubroker_db_wal_restarts_total Checkpoints that restarted a WAL grown past "
            "its limit.\n# TYPE gpubroker_db_wal_restarts_total counter\n"
            "gpubroker_db_wal_restarts_total %llu\n"
            "# HELP gpubroker_db_wal_restarts_refused_total Restarts a reader's old snapshot "
            "refused (the WAL grows until the reader ends).\n"
            "# TYPE gpubroker_db_wal_restarts_refused_total counter\n"
            "gpubroker_db_wal_restarts_refused_total %llu\n",
            (unsigned long long)works, (unsigned long long)commits, (unsigned long long)checkpoints,
            (unsigned long long)restarts, (unsigned long long)refused);
    }
    if (!e && rq->db && gb_db_kind_of(rq->db) == GB_DB_POSTGRESQL) /* docs/operations.md */
        e = gb_buf_printf(&b,
                          "# HELP gpubroker_db_stalled_sessions_ended_total Database sessions of "
                          "other brokers stalled inside a transaction that this broker ended.\n"
                          "# TYPE gpubroker_db_stalled_sessions_ended_total counter\n"
                          "gpubroker_db_stalled_sessions_ended_total %llu\n",
                          (unsigned long long)gb_db_pg_stalled_ended());
    if (!e) e = metrics_prov_render(&b);
    if (!e) e = metrics_store_render(rq->db, &b);
    if (!e)
        e = gb_buf_puts(&b, "# HELP gpubroker_offer_cache_age_seconds Age of each provider's "
                            "cached offers.\n# TYPE gpubroker_offer_cache_age_seconds gauge\n");
    age_walk w = {&b, e};
    if (!e) offer_cache_ages(rq->app->offers, one_age, &w);
    e = w.e;
    if (e) {
        gb_buf_free(&b);
        api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    api_text(rs, 200, "text/plain; version=0.0.4", gb_buf_take(&b));
}
