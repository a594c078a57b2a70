/* registry.c: provider adapters by name, loaded from the providers table and the vault,
 * with in-memory health figures. */
#include "broker/core/registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/core/pods.h"
#include "broker/store/stores.h"
#include "common/dbq.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"

#define MAX_PROVIDERS 32

typedef struct {
    char name[PROV_NAME_MAX];
    prov_adapter *ad;
    int64_t last_success, last_error_at, latency_ms;
    char last_error[256];
    int64_t stored_at; /* when last_error was last written to the providers table */
    int64_t version;   /* the row's created_at: a re-registration (any broker) changes it */
} entry;

struct registry {
    pthread_rwlock_t lock;
    entry e[MAX_PROVIDERS];
    int n;
    /* replaced or removed adapters: a request may still hold one (registry_get hands out
     * the pointer without a reference), so they are freed with the registry. One each time
     * a provider is re-registered or removed; grows as needed. */
    prov_adapter **retired;
    size_t nretired, capretired;
    int64_t synced_at; /* monotonic ms of the last registry_sync (under lock) */
    /* Registrations and removals made by this broker (under lock), each counted after its
     * commit: a sync that began before one may have listed the table without it, and must
     * not apply that listing (registry_sync). */
    int64_t local_changes;
    /* PostgreSQL: the connection every thread's provider call counts the shared hourly budget
     * on (shared_hour), one call at a time; opened at the first such call. A thread's own
     * connection would be opened and closed by each short-lived offers fetch thread. */
    pthread_mutex_t budget_mu;
    gb_db *budget_db;
    bool budget_failing; /* the last count failed: said once, not at every request */
};

registry *registry_new(void)
{
    registry *r = calloc(1, sizeof(*r));
    if (r) {
        pthread_rwlock_init(&r->lock, NULL);
        pthread_mutex_init(&r->budget_mu, NULL);
    }
    return r;
}

void registry_free(registry *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++)
        prov_adapter_free(r->e[i].ad);
    for (size_t i = 0; i < r->nretired; i++)
        prov_adapter_free(r->retired[i]);
    free(r->retired);
    gb_db_close(r->budget_db);
    pthread_mutex_destroy(&r->budget_mu);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

static void retire(registry *r, prov_adapter *ad)
{
    if (r->nretired == r->capretired) {
        size_t cap = r->capretired ? r->capretired * 2 : 16;
        prov_adapter **grown = realloc(r->retired, cap * sizeof(*grown));
        if (!grown) {
            GB_WARN("registry", "out of memory: keeping %s without freeing", ad->name);
            return;
        }
        r->retired = grown;
        r->capretired = cap;
    }
    r->retired[r->nretired++] = ad;
}

/* Installs ad under name (write lock held by the caller). */
static gb_err install(registry *r, const char *name, prov_adapter *ad, int64_t version)
{
    for (int i = 0; i < r->n; i++) {
        if (strcmp(r->e[i].name, name) == 0) {
            retire(r, r->e[i].ad);
            r->e[i].ad = ad;
            r->e[i].version = version;
            r->e[i].last_error[0] = '\0';
            r->e[i].last_success = r->e[i].last_error_at = r->e[i].latency_ms = 0;
            r->e[i].stored_at = 0;
            return GB_OK;
        }
    }
    if (r->n >= MAX_PROVIDERS) return GB_ERR_LIMIT;
    memset(&r->e[r->n], 0, sizeof(entry));
    gb_strlcpy(r->e[r->n].name, name, sizeof(r->e[0].name));
    r->e[r->n].ad = ad;
    r->e[r->n].version = version;
    r->n++;
    return GB_OK;
}

#define MAX_REQUESTS_PER_HOUR 10000000

/* The broker's own setting `requests_per_hour` (the platform's published limit for this key,
 * overriding the adapter's default): taken out of settings before the adapter sees them.
 * -1 when absent; GB_ERR_INVALID when not a whole number in range. */
static gb_err take_hourly(cJSON *settings, int *out, char *err, size_t errsz)
{
    *out = -1;
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(settings, "requests_per_hour");
    if (!v) return GB_OK;
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    cJSON_Delete(v);
    if (d < 0 || d > MAX_REQUESTS_PER_HOUR || d != (double)(int)d) {
        if (err)
            snprintf(err, errsz,
                     "field 'settings.requests_per_hour' must be a whole number "
                     "from 0 (unlimited) to %d",
                     MAX_REQUESTS_PER_HOUR);
        return GB_ERR_INVALID;
    }
    *out = (int)d;
    return GB_OK;
}

/* The broker's setting `stopped_price_per_gb_hour` (dollars per GB-hour of a stopped pod's
 * volume, broker/core/meter.h) must be an amount of 0 or more. */
int registry_stopped_price(const cJSON *settings, gb_money *out)
{
    const cJSON *v =
        settings ? cJSON_GetObjectItemCaseSensitive(settings, "stopped_price_per_gb_hour") : NULL;
    gb_money m = -1;
    if (!v) return 0;
    if ((cJSON_IsString(v) && gb_money_parse(v->valuestring, &m) == 0 && m >= 0) ||
        (cJSON_IsNumber(v) && gb_money_from_double(v->valuedouble, &m) == 0 && m >= 0)) {
        *out = m;
        return 1;
    }
    return -1;
}

static gb_err check_stopped_price(const cJSON *settings, char *err, size_t errsz)
{
    gb_money m;
    if (registry_stopped_price(settings, &m) >= 0) return GB_OK;
    if (err)
        snprintf(err, errsz,
                 "field 'settings.stopped_price_per_gb_hour' must be an amount of dollars, 0 or "
                 "more");
    return GB_ERR_INVALID;
}

/* prov_budget.shared_take on PostgreSQL: a platform's hourly limit counted in the store, so the
 * brokers that share its account share the limit (an autocommit statement on the registry's
 * own connection: the window's row is locked only while it runs). */
static gb_err shared_hour(void *ud, const char *provider, int per_hour, bool *taken)
{
    app *a = ud;
    registry *r = a->reg;
    pthread_mutex_lock(&r->budget_mu);
    gb_err e = r->budget_db ? GB_OK : gb_db_open_url(a->cfg.database, &r->budget_db);
    if (!e) e = provider_budget_take(r->budget_db, provider, per_hour, 3600000, gb_now_ms(), taken);
    bool said = r->budget_failing;
    r->budget_failing = e != GB_OK;
    pthread_mutex_unlock(&r->budget_mu);
    if (e && !said)
        GB_WARN("registry",
                "%s: the shared request budget cannot be counted (%s): each broker counts its "
                "own until it can",
                provider, gb_strerror(e));
    else if (!e && said)
        GB_INFO("registry", "the shared request budget is counted again");
    return e;
}

static gb_err build(app *a, const char *name, const char *kind, const char *base_url,
                    const char *secret, const char *settings_text, prov_adapter **out, char *err,
                    size_t errsz)
{
    cJSON *settings = settings_text ? cJSON_Parse(settings_text) : NULL;
    int hourly = -1;
    gb_err e = take_hourly(settings, &hourly, err, errsz);
    if (!e) e = check_stopped_price(settings, err, errsz);
    if (!e) e = prov_adapter_new(kind, name, base_url, secret, settings, out);
    cJSON_Delete(settings);
    if (e) return e;
    prov_adapter *ad = *out;
    ad->policy.timeout_ms = a->cfg.provider_timeout_ms;
    ad->policy.connect_timeout_ms = 5000;
    ad->policy.max_retries = a->cfg.provider_max_retries ? a->cfg.provider_max_retries : -1;
    ad->budget.per_minute = a->cfg.provider_requests_per_minute;
    if (hourly >= 0) ad->budget.per_hour = hourly;
    if (gb_db_url_is_pg(a->cfg.database)) { /* SQLite: one broker owns the file */
        ad->budget.shared_take = shared_hour;
        ad->budget.shared_ud = a;
    }
    return GB_OK;
}

typedef struct {
    app *a;
    gb_db *db;
    gb_err e;
    const int64_t *changes; /* a sync's count of local changes when it began; NULL at load */
} load_ctx;

static void load_one(void *ud, const provider_rec *p)
{
    load_ctx *c = ud;
    char ref[128], *secret = NULL;
    size_t n = 0;
    provider_secret_ref(p->name, ref, sizeof(ref));
    gb_err e = vault_get(c->a->vault, c->db, ref, &secret, &n);
    if (e == GB_ERR_NOT_FOUND && c->changes) return; /* removed since the sync's listing */
    prov_adapter *ad = NULL;
    if (!e) e = build(c->a, p->name, p->kind, p->base_url, secret, p->settings, &ad, NULL, 0);
    vault_secret_free(secret, n);
    if (e) {
        GB_ERROR("registry", "cannot load provider %s (%s): %s", p->name, p->kind, gb_strerror(e));
        c->e = e;
        return;
    }
    registry *r = c->a->reg;
    pthread_rwlock_wrlock(&r->lock);
    if (c->changes && *c->changes != r->local_changes) {
        prov_adapter_free(ad); /* a local change since the listing began: it may be older */
        pthread_rwlock_unlock(&r->lock);
        return;
    } else if (install(r, p->name, ad, p->created_at) != GB_OK) {
        prov_adapter_free(ad);
    } else {
        for (int i = 0; i < r->n; i++) { /* the last error recorded before the restart */
            if (strcmp(r->e[i].name, p->name) != 0) continue;
            gb_strlcpy(r->e[i].last_error, p->last_error, sizeof(r->e[i].last_error));
            r->e[i].last_error_at = r->e[i].stored_at = p->last_error_at;
        }
    }
    pthread_rwlock_unlock(&r->lock);
    GB_INFO("registry", "provider %s (%s) at %s", p->name, p->kind, p->base_url);
}

gb_err registry_load(app *a, gb_db *db)
{
    load_ctx c = {a, db, GB_OK, NULL};
    gb_err e = provider_list(db, load_one, &c);
    return e ? e : c.e;
}

/* ---- several brokers: registrations made by another broker ---- */

#define SYNC_EVERY_MS 2000
#define SYNC_MAX 64

typedef struct {
    app *a;
    gb_db *db;
    char names[SYNC_MAX][PROV_NAME_MAX];
    int n;
    gb_err e;
    int64_t changes; /* the registry's local_changes when the sync began */
} sync_ctx;

/* A row this broker has not loaded, or loaded at another version: (re)load it. */
static void sync_one(void *ud, const provider_rec *p)
{
    sync_ctx *c = ud;
    if (c->n < SYNC_MAX) gb_strlcpy(c->names[c->n++], p->name, PROV_NAME_MAX);
    registry *r = c->a->reg;
    int64_t have = -1;
    pthread_rwlock_rdlock(&r->lock);
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->e[i].name, p->name) == 0) have = r->e[i].version;
    pthread_rwlock_unlock(&r->lock);
    if (have == p->created_at) return;
    load_ctx lc = {c->a, c->db, GB_OK, &c->changes};
    load_one(&lc, p);
    if (lc.e) c->e = lc.e;
}

gb_err registry_sync(app *a, gb_db *db, bool force)
{
    registry *r = a->reg;
    int64_t now = gb_mono_ms(), changes;
    pthread_rwlock_wrlock(&r->lock);
    bool due = force || r->synced_at == 0 || now - r->synced_at >= SYNC_EVERY_MS;
    if (due) r->synced_at = now;
    changes = r->local_changes;
    pthread_rwlock_unlock(&r->lock);
    if (!due) return GB_OK;
    sync_ctx *c = calloc(1, sizeof(*c));
    if (!c) return GB_ERR_NOMEM;
    c->a = a;
    c->db = db;
    c->changes = changes;
    /* The listing is read after `changes`: a local change it does not show committed after
     * the listing's snapshot, so it was counted after `changes` too. Such a sync applies
     * nothing more and is due again at once. */
    gb_err e = provider_list(db, sync_one, c);
    pthread_rwlock_wrlock(&r->lock);
    bool stale = r->local_changes != changes;
    if (stale) r->synced_at = 0;
    if (!e && !stale && c->n < SYNC_MAX) { /* rows another broker removed: adapters retire */
        for (int i = r->n - 1; i >= 0; i--) {
            bool listed = false;
            for (int k = 0; k < c->n && !listed; k++)
                listed = strcmp(c->names[k], r->e[i].name) == 0;
            if (listed) continue;
            GB_INFO("registry", "provider %s is no longer registered (removed by a broker)",
                    r->e[i].name);
            retire(r, r->e[i].ad);
            r->e[i] = r->e[r->n - 1];
            r->n--;
        }
    }
    pthread_rwlock_unlock(&r->lock);
    if (!e) e = c->e;
    free(c);
    return e;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= PROV_NAME_MAX) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

/* The settings to record: the given ones, plus the adapter's pinned settings where absent
 * (NULL when there are none, or on allocation failure). */
static char *pinned(const prov_ops *ops, const cJSON *settings)
{
    cJSON *pin = ops->pinned_settings ? cJSON_Parse(ops->pinned_settings) : NULL;
    cJSON *all = settings ? cJSON_Duplicate(settings, 1) : pin ? cJSON_CreateObject() : NULL;
    const cJSON *k;
    if (cJSON_IsObject(all)) cJSON_ArrayForEach(k, pin)
        {
            if (!cJSON_GetObjectItemCaseSensitive(all, k->string))
                cJSON_AddItemToObject(all, k->string, cJSON_Duplicate(k, 1));
        }
    char *text = all ? cJSON_PrintUnformatted(all) : NULL;
    cJSON_Delete(pin);
    cJSON_Delete(all);
    return text;
}

/* Replaces every copy of secret in msg by "***": a platform that echoes the key it refused
 * must not get it into our answer or logs. */
static void scrub(char *msg, const char *secret)
{
    size_t n = strlen(secret);
    char *p;
    if (n < 4) return;
    while ((p = strstr(msg, secret)) != NULL) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + n, strlen(p + n) + 1);
    }
}

/* One authenticated call with the new adapter (its list of workloads: every platform needs
 * the key for it, and it changes nothing), so a wrong key is refused now rather than at the
 * first create. err gets the platform's reason. */
static gb_err verify_key(prov_adapter *ad, const char *secret, char *err, size_t errsz)
{
    prov_pod *pods = NULL;
    size_t n = 0;
    gb_errmsg why = "";
    int retries = ad->policy.max_retries;
    ad->policy.max_retries = 1; /* a down platform answers soon */
    gb_err e = ad->ops->list_pods(ad, &pods, &n, why);
    ad->policy.max_retries = retries;
    free(pods);
    if (!e) return GB_OK;
    scrub(why, secret);
    snprintf(err, errsz, "%s", why[0] ? why : gb_strerror(e));
    return e;
}

gb_err registry_add(app *a, gb_db *db, const char *name, const char *kind, const char *base_url,
                    const char *secret, const cJSON *settings, char *err, size_t errsz)
{
    return registry_add_checked(a, db, name, kind, base_url, secret, settings, false, NULL, err,
                                errsz);
}

gb_err registry_add_checked(app *a, gb_db *db, const char *name, const char *kind,
                            const char *base_url, const char *secret, const cJSON *settings,
                            bool verify, gb_err *refused, char *err, size_t errsz)
{
    if (refused) *refused = GB_OK;
    if (!name_ok(name)) {
        snprintf(err, errsz, "field 'name' must be 1-31 of a-z, 0-9, '-' and '_'");
        return GB_ERR_INVALID;
    }
    if (!prov_ops_for(kind)) {
        gb_buf b = {0};
        for (const char *const *k = prov_kinds(); *k; k++)
            gb_buf_printf(&b, "%s%s", k == prov_kinds() ? "" : ", ", *k);
        snprintf(err, errsz, "field 'kind': unknown provider kind '%.32s' (known: %s)", kind,
                 b.data ? b.data : "");
        gb_buf_free(&b);
        return GB_ERR_INVALID;
    }
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) {
        snprintf(err, errsz, "field 'base_url' must start with http:// or https://");
        return GB_ERR_INVALID;
    }
    if (!registry_get(a, name)) {
        pthread_rwlock_rdlock(&a->reg->lock);
        int full = a->reg->n >= MAX_PROVIDERS;
        pthread_rwlock_unlock(&a->reg->lock);
        if (full) {
            snprintf(err, errsz, "at most %d providers can be registered", MAX_PROVIDERS);
            return GB_ERR_LIMIT;
        }
    }
    char *settings_text = pinned(prov_ops_for(kind), settings);
    if (!settings_text && (settings || prov_ops_for(kind)->pinned_settings)) return GB_ERR_NOMEM;
    prov_adapter *ad = NULL;
    gb_err e = build(a, name, kind, base_url, secret, settings_text, &ad, err, errsz);
    if (!e && verify && (e = verify_key(ad, secret, err, errsz)) != GB_OK) {
        if (refused) *refused = e;
        e = GB_ERR_FORBIDDEN;
    }
    provider_rec rec = {.created_at = gb_now_ms(), .settings = settings_text};
    gb_strlcpy(rec.name, name, sizeof(rec.name));
    gb_strlcpy(rec.kind, kind, sizeof(rec.kind));
    gb_strlcpy(rec.base_url, base_url, sizeof(rec.base_url));
    char ref[128];
    provider_secret_ref(name, ref, sizeof(ref));
    if (!e) e = gb_db_begin(db);
    if (!e) {
        e = provider_upsert(db, &rec);
        if (!e) e = vault_put(a->vault, db, ref, secret, strlen(secret));
        if (!e)
            e = gb_db_commit(db);
        else
            gb_db_rollback(db);
    }
    free(settings_text);
    if (!e) {
        pthread_rwlock_wrlock(&a->reg->lock);
        e = install(a->reg, name, ad, rec.created_at);
        a->reg->local_changes++;
        pthread_rwlock_unlock(&a->reg->lock);
    }
    if (e) {
        prov_adapter_free(ad);
        if (!err[0]) snprintf(err, errsz, "cannot register provider: %s", gb_strerror(e));
    }
    return e;
}

gb_err registry_remove(app *a, gb_db *db, const char *name)
{
    char ref[128];
    provider_secret_ref(name, ref, sizeof(ref));
    gb_err e = gb_db_begin(db);
    if (e) return e;
    e = provider_delete(db, name);
    if (!e) e = vault_delete(db, ref);
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    if (e) return e;
    registry *r = a->reg;
    pthread_rwlock_wrlock(&r->lock);
    r->local_changes++;
    for (int i = 0; i < r->n; i++) {
        if (strcmp(r->e[i].name, name) == 0) {
            retire(r, r->e[i].ad);
            r->e[i] = r->e[r->n - 1];
            r->n--;
            break;
        }
    }
    pthread_rwlock_unlock(&r->lock);
    return GB_OK;
}

prov_adapter *registry_get(app *a, const char *name)
{
    prov_adapter *ad = NULL;
    pthread_rwlock_rdlock(&a->reg->lock);
    for (int i = 0; i < a->reg->n && !ad; i++)
        if (name && strcmp(a->reg->e[i].name, name) == 0) ad = a->reg->e[i].ad;
    pthread_rwlock_unlock(&a->reg->lock);
    return ad;
}

prov_adapter *registry_get_synced(app *a, gb_db *db, const char *name)
{
    prov_adapter *ad = registry_get(a, name);
    if (!ad && name && db && registry_sync(a, db, true) == GB_OK) ad = registry_get(a, name);
    return ad;
}

const char **registry_names(app *a, size_t *n)
{
    pthread_rwlock_rdlock(&a->reg->lock);
    const char **names = calloc((size_t)a->reg->n + 1, sizeof(char *));
    *n = 0;
    if (names) {
        for (int i = 0; i < a->reg->n; i++)
            names[i] = a->reg->e[i].ad->name;
        *n = (size_t)a->reg->n;
    }
    pthread_rwlock_unlock(&a->reg->lock);
    return names;
}

#define STORE_EVERY_MS 60000 /* the same error is written to the table at most once a minute */

void registry_note(app *a, const char *name, gb_err e, int64_t latency_ms, const char *err)
{
    char store[256] = "";
    int64_t store_at = 0;
    pthread_rwlock_wrlock(&a->reg->lock);
    for (int i = 0; i < a->reg->n; i++) {
        entry *x = &a->reg->e[i];
        if (strcmp(x->name, name) != 0) continue;
        x->latency_ms = latency_ms;
        /* Answers about the request itself (not found, invalid) still show a healthy provider. */
        if (e == GB_OK || e == GB_ERR_NOT_FOUND || e == GB_ERR_INVALID || e == GB_ERR_CONFLICT ||
            e == GB_ERR_CAPACITY) {
            x->last_success = gb_now_ms();
        } else {
            const char *msg = err && err[0] ? err : gb_strerror(e);
            int64_t now = gb_now_ms();
            if (strncmp(x->last_error, msg, sizeof(x->last_error) - 1) != 0 ||
                now - x->stored_at >= STORE_EVERY_MS) {
                x->stored_at = store_at = now;
            }
            x->last_error_at = now;
            gb_strlcpy(x->last_error, msg, sizeof(x->last_error));
            if (store_at) gb_strlcpy(store, x->last_error, sizeof(store));
        }
    }
    pthread_rwlock_unlock(&a->reg->lock);
    gb_db *db = store_at ? app_db(a) : NULL;
    if (db && provider_note_error(db, name, store, store_at) != GB_OK)
        GB_WARN("registry", "cannot record the last error of provider %s", name);
}

cJSON *registry_health_json(app *a)
{
    cJSON *arr = cJSON_CreateArray();
    pthread_rwlock_rdlock(&a->reg->lock);
    for (int i = 0; i < a->reg->n; i++) {
        entry *x = &a->reg->e[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", x->name);
        cJSON_AddStringToObject(o, "kind", x->ad->ops->kind);
        cJSON_AddStringToObject(o, "base_url", x->ad->base_url);
        cJSON_AddBoolToObject(o, "healthy", x->last_error_at <= x->last_success);
        gb_json_add_time(o, "last_success", x->last_success);
        gb_json_add_time(o, "last_error_at", x->last_error_at);
        gb_json_add_str_or_null(o, "last_error", x->last_error[0] ? x->last_error : NULL);
        cJSON_AddNumberToObject(o, "latency_ms", (double)x->latency_ms);
        cJSON_AddItemToArray(arr, o);
    }
    pthread_rwlock_unlock(&a->reg->lock);
    return arr;
}
