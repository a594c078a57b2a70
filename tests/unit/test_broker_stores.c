/* test_broker_stores.c: the broker's own tables (stores.h, idem_store.h) on SQLite and on
 * PostgreSQL (the .postgresql variant): the migrations and the seeded system templates,
 * accounts and their money guards beyond 32 bits, budget alerts once, job tokens, webhook
 * rotations, API keys, SSH keys, docker credentials and templates scoped by account, unique
 * and foreign key conflicts, cascades, and the statements that meet a conflict inside a
 * transaction leaving it usable (a failed statement would abort it on PostgreSQL), also when
 * eight connections record one budget alert at once; the shared provider budget and the
 * shared orphan report and checks, each also taken by several connections at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/store/idem_store.h"
#include "broker/store/orphan_store.h"
#include "broker/store/stores.h"
#include "test_db_util.h"

#define T0 1764547200000LL
#define BIG 5000000000000LL /* $5,000,000 in micro-dollars: needs 64 bits */

static const char *url;
static gb_db *db;

static int setup(void **state)
{
    (void)state;
    url = tdb_fresh_url();
    db = tdb_open(url);
    if (!db) return -1;
    if (gb_db_migrate(db, stores_migrations(), 1) || gb_db_migrate(db, idem_migrations(), 1))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gb_db_close(db);
    return 0;
}

static void add_account(const char *id, const char *name, int admin, int64_t at)
{
    account_rec r = {.is_admin = admin, .created_at = at};
    snprintf(r.id, sizeof(r.id), "%s", id);
    snprintf(r.name, sizeof(r.name), "%s", name);
    assert_int_equal(account_insert(db, &r), GB_OK);
}

/* collects ids in the order a list gives them, "," between */
static char seen[4096];

static void seen_add(const char *id)
{
    size_t n = strlen(seen);
    snprintf(seen + n, sizeof(seen) - n, "%s%s", n ? "," : "", id);
}
static void on_account(void *ud, const account_rec *r)
{
    (void)ud;
    seen_add(r->id);
}
static void on_key(void *ud, const apikey_rec *r)
{
    (void)ud;
    seen_add(r->id);
}
static void on_ssh(void *ud, const sshkey_rec *r)
{
    (void)ud;
    seen_add(r->id);
}
static void on_cred(void *ud, const cred_rec *r)
{
    (void)ud;
    seen_add(r->id);
}
static void on_template(void *ud, const template_rec *r)
{
    (void)ud;
    seen_add(r->id);
}

static void test_migrations(void **state)
{
    (void)state;
    assert_int_equal(gb_db_version(db, "broker"), 7);
    assert_int_equal(gb_db_version(db, "idempotency"), 2);
    /* again: nothing to apply, the seed is not inserted twice */
    assert_int_equal(gb_db_migrate(db, stores_migrations(), 1), GB_OK);
    assert_int_equal(gb_db_migrate(db, idem_migrations(), 1), GB_OK);
    add_account("acc_seed", "seed", 0, T0);
    seen[0] = 0;
    assert_int_equal(template_list(db, "acc_seed", on_template, NULL), GB_OK);
    assert_string_equal(seen, "tpl_pytorch21,tpl_pytorch25,tpl_ubuntu2204,tpl_vllm");
    template_rec t;
    assert_int_equal(template_get(db, "acc_seed", "tpl_vllm", &t), GB_OK);
    assert_string_equal(t.account_id, "");
    assert_string_equal(t.docker_credential_id, "");
    assert_string_equal(t.ports_json, "[22,8000]");
    assert_null(t.env_json);
    assert_int_equal(t.is_system, 1);
    assert_true(t.created_at == 1764547200000LL);
    template_rec_clear(&t);
}

static void test_accounts(void **state)
{
    (void)state;
    add_account("acc_a", "alice", 0, T0 + 1);
    add_account("acc_c", "carol", 1, T0 + 3);
    add_account("acc_b", "bob", 1, T0 + 2);
    account_rec r = {.created_at = T0};
    snprintf(r.id, sizeof(r.id), "acc_a");
    snprintf(r.name, sizeof(r.name), "other");
    assert_int_equal(account_insert(db, &r), GB_ERR_CONFLICT); /* the id */
    snprintf(r.id, sizeof(r.id), "acc_x");
    snprintf(r.name, sizeof(r.name), "alice");
    assert_int_equal(account_insert(db, &r), GB_ERR_CONFLICT); /* the name */
    assert_int_equal(account_get(db, "acc_b", &r), GB_OK);
    assert_string_equal(r.name, "bob");
    assert_int_equal(r.is_admin, 1);
    assert_true(r.created_at == T0 + 2);
    assert_int_equal(account_find_by_name(db, "carol", &r), GB_OK);
    assert_string_equal(r.id, "acc_c");
    assert_int_equal(account_find_by_name(db, "Carol", &r), GB_ERR_NOT_FOUND);
    assert_int_equal(account_get(db, "acc_none", &r), GB_ERR_NOT_FOUND);
    assert_int_equal(account_find_admin(db, &r), GB_OK); /* the earliest admin */
    assert_string_equal(r.id, "acc_b");

    account_money m = {.spend_limit = BIG,
                       .admin_spend_limit = 7,
                       .budget = BIG + 1,
                       .admin_budget = 0,
                       .low_balance_at = 99};
    assert_int_equal(account_money_set(db, "acc_a", &m), GB_OK);
    assert_int_equal(account_money_set(db, "acc_none", &m), GB_ERR_NOT_FOUND);
    account_money g;
    assert_int_equal(account_money_get(db, "acc_a", &g), GB_OK);
    assert_true(g.spend_limit == BIG && g.admin_spend_limit == 7 && g.budget == BIG + 1);
    assert_true(g.admin_budget == 0 && g.low_balance_at == 0); /* not written by money_set */
    gb_money lim = 0;
    assert_int_equal(account_spend_limit(db, "acc_a", &lim), GB_OK);
    assert_true(lim == 7);
    assert_int_equal(account_set_spend_limit(db, "acc_b", BIG), GB_OK);
    assert_int_equal(account_spend_limit(db, "acc_b", &lim), GB_OK);
    assert_true(lim == BIG);
    assert_int_equal(account_set_spend_limit(db, "acc_none", 1), GB_ERR_NOT_FOUND);
    assert_int_equal(account_set_low_balance(db, "acc_c", T0 + 50), GB_OK);
    assert_int_equal(account_set_low_balance(db, "acc_none", 1), GB_ERR_NOT_FOUND);
    assert_int_equal(account_money_get(db, "acc_c", &g), GB_OK);
    assert_true(g.low_balance_at == T0 + 50);
    assert_int_equal(account_money_get(db, "acc_none", &g), GB_ERR_NOT_FOUND);

    seen[0] = 0;
    assert_int_equal(account_list(db, on_account, NULL), GB_OK);
    assert_string_equal(seen, "acc_seed,acc_a,acc_b,acc_c");
    seen[0] = 0;
    assert_int_equal(account_with_budgets(db, on_account, NULL), GB_OK);
    assert_string_equal(seen, "acc_a");
    /* an admin's budget alone puts an account on the list too: its spend is checked */
    account_money adm = {.admin_budget = 5};
    assert_int_equal(account_money_set(db, "acc_c", &adm), GB_OK);
    seen[0] = 0;
    assert_int_equal(account_with_budgets(db, on_account, NULL), GB_OK);
    assert_non_null(strstr(seen, "acc_a"));
    assert_non_null(strstr(seen, "acc_c"));
    assert_null(strstr(seen, "acc_b"));
    seen[0] = 0;
    assert_int_equal(account_low(db, on_account, NULL), GB_OK);
    assert_string_equal(seen, "acc_c");
}

/* A budget alert, a job token and a webhook rotation; the alert's second insert inside a
 * transaction leaves it usable. */
static void test_alerts_tokens_rotations(void **state)
{
    (void)state;
    int fresh = -1;
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(budget_alert_once(db, "acc_a", "2026-12", 80, T0, &fresh), GB_OK);
    assert_int_equal(fresh, 1);
    assert_int_equal(budget_alert_once(db, "acc_a", "2026-12", 80, T0 + 1, &fresh), GB_OK);
    assert_int_equal(fresh, 0);
    assert_int_equal(account_set_low_balance(db, "acc_a", T0 + 2), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    account_money g;
    assert_int_equal(account_money_get(db, "acc_a", &g), GB_OK);
    assert_true(g.low_balance_at == T0 + 2);
    assert_int_equal(budget_alert_once(db, "acc_a", "2026-12", 100, T0, &fresh), GB_OK);
    assert_int_equal(fresh, 1);
    assert_int_equal(budget_alert_once(db, "acc_a", "2027-01", 80, T0, &fresh), GB_OK);
    assert_int_equal(fresh, 1);
    assert_int_equal(budget_alert_once(db, "acc_b", "2026-12", 80, T0, &fresh), GB_OK);
    assert_int_equal(fresh, 1);
    assert_int_equal(budget_alert_once(db, "acc_a", "2026-12", 100, T0, &fresh), GB_OK);
    assert_int_equal(fresh, 0);

    assert_int_equal(job_token_check(db, "ftj_1", "h1"), 0);
    assert_int_equal(job_token_put(db, "ftj_1", "h1", T0), GB_OK);
    assert_int_equal(job_token_check(db, "ftj_1", "h1"), 1);
    assert_int_equal(job_token_check(db, "ftj_1", "h2"), 0);
    assert_int_equal(job_token_put(db, "ftj_1", "h2", T0 + 1), GB_OK); /* replaced */
    assert_int_equal(job_token_check(db, "ftj_1", "h1"), 0);
    assert_int_equal(job_token_check(db, "ftj_1", "h2"), 1);
    assert_int_equal(job_token_put(db, "ftj_2", "h2", T0), GB_ERR_CONFLICT); /* hash unique */

    int64_t until = -1;
    assert_int_equal(webhook_rotation_get(db, "acc_a", &until), GB_ERR_NOT_FOUND);
    assert_int_equal(webhook_rotation_set(db, "acc_a", BIG), GB_OK);
    assert_int_equal(webhook_rotation_get(db, "acc_a", &until), GB_OK);
    assert_true(until == BIG);
    assert_int_equal(webhook_rotation_set(db, "acc_a", T0), GB_OK);
    assert_int_equal(webhook_rotation_get(db, "acc_a", &until), GB_OK);
    assert_true(until == T0);
}

static void add_key(const char *id, const char *acct, unsigned scopes, int64_t at, const char *hash,
                    gb_err want)
{
    apikey_rec k = {.scopes = scopes, .created_at = at};
    snprintf(k.id, sizeof(k.id), "%s", id);
    snprintf(k.account_id, sizeof(k.account_id), "%s", acct);
    snprintf(k.name, sizeof(k.name), "key %s", id);
    snprintf(k.preview, sizeof(k.preview), "vk_...%s", id);
    assert_int_equal(apikey_insert(db, &k, hash), want);
}

static void test_apikeys(void **state)
{
    (void)state;
    add_key("key_2", "acc_a", 1u << 8 | 3, T0 + 5, "hash2", GB_OK);
    add_key("key_1", "acc_a", 1, T0 + 5, "hash1", GB_OK); /* same time: ordered by id */
    add_key("key_0", "acc_a", 1, T0 + 1, "hash0", GB_OK);
    add_key("key_9", "acc_b", 1, T0, "hash9", GB_OK);
    add_key("key_x", "acc_b", 1, T0, "hash1", GB_ERR_CONFLICT);    /* the hash */
    add_key("key_y", "acc_none", 1, T0, "hashy", GB_ERR_CONFLICT); /* no such account */
    apikey_rec k;
    assert_int_equal(apikey_lookup_hash(db, "hash2", &k), GB_OK);
    assert_string_equal(k.id, "key_2");
    assert_string_equal(k.account_id, "acc_a");
    assert_string_equal(k.name, "key key_2");
    assert_string_equal(k.preview, "vk_...key_2");
    assert_int_equal(k.scopes, 1u << 8 | 3);
    assert_true(k.created_at == T0 + 5 && k.last_used == 0);
    assert_int_equal(apikey_lookup_hash(db, "nope", &k), GB_ERR_NOT_FOUND);
    assert_int_equal(apikey_touch(db, "key_2", BIG), GB_OK);
    assert_int_equal(apikey_lookup_hash(db, "hash2", &k), GB_OK);
    assert_true(k.last_used == BIG);
    seen[0] = 0;
    assert_int_equal(apikey_list(db, "acc_a", on_key, NULL), GB_OK);
    assert_string_equal(seen, "key_0,key_1,key_2");
    assert_int_equal(apikey_count(db, "acc_a"), 3);
    assert_int_equal(apikey_count(db, "acc_none"), 0);
    assert_int_equal(apikey_delete(db, "acc_b", "key_1"), GB_ERR_NOT_FOUND); /* not b's */
    assert_int_equal(apikey_delete(db, "acc_a", "key_1"), GB_OK);
    assert_int_equal(apikey_delete(db, "acc_a", "key_1"), GB_ERR_NOT_FOUND);
    assert_int_equal(apikey_count(db, "acc_a"), 2);
}

static void add_ssh(const char *id, const char *acct, const char *pub, const char *fp, gb_err want)
{
    sshkey_rec s = {.public_key = (char *)pub, .created_at = T0};
    snprintf(s.id, sizeof(s.id), "%s", id);
    snprintf(s.account_id, sizeof(s.account_id), "%s", acct);
    snprintf(s.name, sizeof(s.name), "laptop");
    snprintf(s.fingerprint, sizeof(s.fingerprint), "%s", fp);
    assert_int_equal(sshkey_insert(db, &s), want);
}

static void test_sshkeys_creds(void **state)
{
    (void)state;
    char *pub = malloc(12001);
    assert_non_null(pub);
    memcpy(pub, "ssh-ed25519 ", 12);
    memset(pub + 12, 'A', 11988);
    pub[12000] = 0;
    add_ssh("ssh_2", "acc_a", pub, "SHA256:one", GB_OK);
    add_ssh("ssh_1", "acc_a", "ssh-ed25519 BBB", "SHA256:two", GB_OK);
    add_ssh("ssh_3", "acc_a", "ssh-ed25519 CCC", "SHA256:one", GB_ERR_CONFLICT);
    add_ssh("ssh_4", "acc_b", "ssh-ed25519 CCC", "SHA256:one", GB_OK); /* another account */
    sshkey_rec s;
    assert_int_equal(sshkey_get(db, "acc_a", "ssh_2", &s), GB_OK);
    assert_string_equal(s.public_key, pub);
    assert_string_equal(s.fingerprint, "SHA256:one");
    assert_string_equal(s.name, "laptop");
    sshkey_rec_clear(&s);
    free(pub);
    assert_int_equal(sshkey_get(db, "acc_b", "ssh_2", &s), GB_ERR_NOT_FOUND);
    seen[0] = 0;
    assert_int_equal(sshkey_list(db, "acc_a", on_ssh, NULL), GB_OK);
    assert_string_equal(seen, "ssh_1,ssh_2");
    assert_int_equal(sshkey_delete(db, "acc_b", "ssh_1"), GB_ERR_NOT_FOUND);
    assert_int_equal(sshkey_delete(db, "acc_a", "ssh_1"), GB_OK);
    assert_int_equal(sshkey_get(db, "acc_a", "ssh_1", &s), GB_ERR_NOT_FOUND);

    cred_rec c = {.created_at = T0 + 2};
    snprintf(c.id, sizeof(c.id), "cred_2");
    snprintf(c.account_id, sizeof(c.account_id), "acc_a");
    snprintf(c.name, sizeof(c.name), "hub");
    snprintf(c.registry, sizeof(c.registry), "registry-1.docker.io");
    snprintf(c.username, sizeof(c.username), "alice");
    assert_int_equal(cred_insert(db, &c), GB_OK);
    assert_int_equal(cred_insert(db, &c), GB_ERR_CONFLICT);
    snprintf(c.id, sizeof(c.id), "cred_1");
    c.created_at = T0 + 1;
    assert_int_equal(cred_insert(db, &c), GB_OK);
    cred_rec g;
    memset(&g, 'x', sizeof(g)); /* every column read back, none left as it was */
    assert_int_equal(cred_get(db, "acc_a", "cred_2", &g), GB_OK);
    assert_string_equal(g.id, "cred_2");
    assert_string_equal(g.account_id, "acc_a");
    assert_string_equal(g.name, "hub");
    assert_string_equal(g.registry, "registry-1.docker.io");
    assert_string_equal(g.username, "alice");
    assert_true(g.created_at == T0 + 2);
    assert_int_equal(cred_get(db, "acc_b", "cred_2", &g), GB_ERR_NOT_FOUND);
    seen[0] = 0;
    assert_int_equal(cred_list(db, "acc_a", on_cred, NULL), GB_OK);
    assert_string_equal(seen, "cred_1,cred_2");
    assert_int_equal(cred_delete(db, "acc_b", "cred_1"), GB_ERR_NOT_FOUND);
    assert_int_equal(cred_delete(db, "acc_a", "cred_1"), GB_OK);
    char ref[128];
    cred_secret_ref("cred_2", ref, sizeof(ref));
    assert_string_equal(ref, "docker_credentials/cred_2/password");
}

static void test_templates(void **state)
{
    (void)state;
    template_rec t = {.ports_json = "[8080]", .created_at = T0 + 9, .updated_at = T0 + 9};
    snprintf(t.id, sizeof(t.id), "tpl_own");
    snprintf(t.account_id, sizeof(t.account_id), "acc_a");
    snprintf(t.name, sizeof(t.name), "mine");
    snprintf(t.image, sizeof(t.image), "me/img:1");
    snprintf(t.category, sizeof(t.category), "custom");
    snprintf(t.docker_credential_id, sizeof(t.docker_credential_id), "cred_2");
    assert_int_equal(template_insert(db, &t), GB_OK);
    assert_int_equal(template_insert(db, &t), GB_ERR_CONFLICT);
    template_rec g;
    assert_int_equal(template_get(db, "acc_a", "tpl_own", &g), GB_OK);
    assert_string_equal(g.account_id, "acc_a");
    assert_string_equal(g.docker_credential_id, "cred_2");
    assert_string_equal(g.ports_json, "[8080]");
    assert_null(g.env_json);
    assert_string_equal(g.description, "");
    assert_int_equal(g.is_system, 0);
    template_rec_clear(&g);
    assert_int_equal(template_get(db, "acc_b", "tpl_own", &g), GB_ERR_NOT_FOUND);
    /* an update: the account's own only, never a system one */
    t.docker_credential_id[0] = 0;
    t.ports_json = NULL;
    t.env_json = "{\"A\":\"1\"}";
    t.updated_at = BIG;
    snprintf(t.image, sizeof(t.image), "me/img:2");
    assert_int_equal(template_update(db, &t), GB_OK);
    assert_int_equal(template_get(db, "acc_a", "tpl_own", &g), GB_OK);
    assert_string_equal(g.image, "me/img:2");
    assert_string_equal(g.docker_credential_id, "");
    assert_null(g.ports_json);
    assert_string_equal(g.env_json, "{\"A\":\"1\"}");
    assert_true(g.updated_at == BIG && g.created_at == T0 + 9);
    template_rec_clear(&g);
    snprintf(t.account_id, sizeof(t.account_id), "acc_b");
    assert_int_equal(template_update(db, &t), GB_ERR_NOT_FOUND);
    template_rec sys = t;
    snprintf(sys.id, sizeof(sys.id), "tpl_vllm");
    snprintf(sys.account_id, sizeof(sys.account_id), "acc_a");
    assert_int_equal(template_update(db, &sys), GB_ERR_NOT_FOUND);
    seen[0] = 0;
    assert_int_equal(template_list(db, "acc_a", on_template, NULL), GB_OK);
    assert_string_equal(seen, "tpl_pytorch21,tpl_pytorch25,tpl_ubuntu2204,tpl_vllm,tpl_own");
    assert_int_equal(template_delete(db, "acc_a", "tpl_vllm"), GB_ERR_NOT_FOUND);
    assert_int_equal(template_delete(db, "acc_b", "tpl_own"), GB_ERR_NOT_FOUND);
    assert_int_equal(template_delete(db, "acc_a", "tpl_own"), GB_OK);
    assert_int_equal(template_get(db, "acc_a", "tpl_own", &g), GB_ERR_NOT_FOUND);
}

/* A reservation that meets an existing key inside a transaction: GB_ERR_CONFLICT, and the
 * transaction goes on. */
static void test_idem_in_transaction(void **state)
{
    (void)state;
    assert_int_equal(gb_db_begin(db), GB_OK);
    assert_int_equal(idem_reserve(db, "acc_a", "k", "d1", T0), GB_OK);
    assert_int_equal(idem_reserve(db, "acc_a", "k", "d2", T0 + 1), GB_ERR_CONFLICT);
    assert_int_equal(idem_reserve(db, "acc_b", "k", "d3", T0 + 2), GB_OK);
    assert_int_equal(idem_finish(db, "acc_a", "k", T0, 201, "{\"ok\":true}"), GB_OK);
    assert_int_equal(gb_db_commit(db), GB_OK);
    idem_rec r;
    assert_int_equal(idem_get(db, "acc_a", "k", &r), GB_OK);
    assert_string_equal(r.digest, "d1");
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "{\"ok\":true}");
    idem_rec_clear(&r);
    assert_int_equal(idem_reserve(db, "acc_none", "k", "d", T0), GB_ERR_CONFLICT);
}

#define THREADS 8

typedef struct {
    pthread_barrier_t *go;
    int fresh;
    gb_err e;
} alerter;

/* One connection's transaction: the alert, then another write in the same transaction. */
static void *alert(void *arg)
{
    alerter *x = arg;
    gb_db *own = tdb_open(url);
    x->e = own ? GB_OK : GB_ERR_DB;
    pthread_barrier_wait(x->go);
    if (!x->e) x->e = gb_db_begin(own);
    if (!x->e) x->e = budget_alert_once(own, "acc_b", "2027-02", 90, T0, &x->fresh);
    if (!x->e) x->e = account_set_low_balance(own, "acc_b", T0 + 7);
    if (!x->e)
        x->e = gb_db_commit(own);
    else
        gb_db_rollback(own);
    gb_db_close(own);
    return NULL;
}

/* Eight connections record one alert at once, each in a transaction that goes on after it:
 * exactly one is told it is fresh, every transaction commits. */
static void test_alert_race(void **state)
{
    (void)state;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, THREADS);
    alerter x[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        x[i] = (alerter){.go = &go, .fresh = -1};
        assert_int_equal(pthread_create(&t[i], NULL, alert, &x[i]), 0);
    }
    int fresh = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(x[i].e, GB_OK);
        fresh += x[i].fresh;
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(fresh, 1);
}

/* Deleting an account deletes what it owns. */
static void test_cascade(void **state)
{
    (void)state;
    assert_int_equal(gb_db_exec(db, "DELETE FROM accounts WHERE id = 'acc_a'"), GB_OK);
    assert_int_equal(apikey_count(db, "acc_a"), 0);
    sshkey_rec s;
    assert_int_equal(sshkey_get(db, "acc_a", "ssh_2", &s), GB_ERR_NOT_FOUND);
    cred_rec c;
    assert_int_equal(cred_get(db, "acc_a", "cred_2", &c), GB_ERR_NOT_FOUND);
    idem_rec r;
    assert_int_equal(idem_get(db, "acc_a", "k", &r), GB_ERR_NOT_FOUND);
    assert_int_equal(idem_get(db, "acc_b", "k", &r), GB_OK);
    idem_rec_clear(&r);
    assert_int_equal(apikey_count(db, "acc_b"), 1);
}

/* provider_budget_take: the limit in one window, refused past it, a window over starts again
 * with the request that finds it so; providers and window lengths apart. */
static void test_provider_budget(void **state)
{
    (void)state;
    bool taken = false;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(provider_budget_take(db, "volt", 3, 3600000, T0 + i, &taken), GB_OK);
        assert_true(taken);
    }
    assert_int_equal(provider_budget_take(db, "volt", 3, 3600000, T0 + 3599999, &taken), GB_OK);
    assert_false(taken); /* the window's last millisecond: still full */
    assert_int_equal(provider_budget_take(db, "lium", 3, 3600000, T0 + 10, &taken), GB_OK);
    assert_true(taken); /* another provider: its own window */
    assert_int_equal(provider_budget_take(db, "volt", 3, 60000, T0 + 10, &taken), GB_OK);
    assert_true(taken); /* another length: its own window */
    assert_int_equal(provider_budget_take(db, "volt", 3, 3600000, T0 + 3600000, &taken), GB_OK);
    assert_true(taken); /* over: a new window, this request its first */
    assert_int_equal(tdb_int(db, "SELECT used FROM provider_budgets WHERE provider = 'volt'"
                                 " AND window_ms = 3600000"),
                     1);
    assert_int_equal(tdb_int(db, "SELECT started_at FROM provider_budgets WHERE provider = 'volt'"
                                 " AND window_ms = 3600000"),
                     T0 + 3600000);
    for (int i = 0; i < 2; i++)
        assert_int_equal(provider_budget_take(db, "volt", 3, 3600000, T0 + 3600001, &taken), GB_OK);
    assert_int_equal(provider_budget_take(db, "volt", 3, 3600000, T0 + 3600002, &taken), GB_OK);
    assert_false(taken);
    assert_int_equal(provider_budget_take(db, "volt", 0, 3600000, T0, &taken), GB_ERR_INVALID);
}

#define RACERS 6
#define BUDGET_EACH 10
#define BUDGET_LIMIT 25

/* One of RACERS brokers (a connection each) asking for something shared at once. */
typedef struct {
    pthread_barrier_t *go;
    bool (*take)(gb_db *own, int i); /* its i-th ask: true when it got it */
    int tries, taken;
} racer;

static void *race_run(void *arg)
{
    racer *x = arg;
    gb_db *own = tdb_open(url);
    pthread_barrier_wait(x->go);
    for (int i = 0; own && i < x->tries; i++)
        x->taken += x->take(own, i);
    gb_db_close(own);
    return NULL;
}

/* What RACERS connections asking tries times each at once got in all. */
static int race(bool (*take)(gb_db *own, int i), int tries)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACERS);
    pthread_t t[RACERS];
    racer x[RACERS];
    for (int i = 0; i < RACERS; i++) {
        x[i] = (racer){.go = &go, .take = take, .tries = tries};
        assert_int_equal(pthread_create(&t[i], NULL, race_run, &x[i]), 0);
    }
    int taken = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(t[i], NULL);
        taken += x[i].taken;
    }
    pthread_barrier_destroy(&go);
    return taken;
}

static bool take_budget(gb_db *own, int i)
{
    bool taken = false;
    return provider_budget_take(own, "shared", BUDGET_LIMIT, 3600000, T0 + i, &taken) == GB_OK &&
           taken;
}

/* Brokers counting one window at once: exactly the limit is taken. */
static void test_provider_budget_race(void **state)
{
    (void)state;
    assert_int_equal(race(take_budget, BUDGET_EACH), BUDGET_LIMIT);
}

/* orphan_check_take: once per period for each provider, whoever asks; when it is due next */
static void test_orphan_checks(void **state)
{
    (void)state;
    bool taken = false;
    int64_t due = -1;
    assert_int_equal(orphan_check_take(db, "volt", T0, 1000, &taken, &due), GB_OK);
    assert_true(taken); /* never taken before */
    assert_true(due == T0 + 1000);
    assert_int_equal(orphan_check_take(db, "volt", T0 + 999, 1000, &taken, &due), GB_OK);
    assert_false(taken); /* taken within the period */
    assert_true(due == T0 + 1000);
    assert_int_equal(orphan_check_take(db, "lium", T0 + 999, 1000, &taken, &due), GB_OK);
    assert_true(taken); /* another provider's is its own */
    assert_true(due == T0 + 1999);
    assert_int_equal(orphan_check_take(db, "volt", T0 + 1000, 1000, &taken, &due), GB_OK);
    assert_true(taken); /* due again */
    assert_true(due == T0 + 2000);
    assert_int_equal(orphan_check_take(db, "volt", T0 + 1500, 1000, &taken, &due), GB_OK);
    assert_false(taken); /* the period counts from the last take */
    assert_true(due == T0 + 2000);
    assert_int_equal(orphan_check_take(db, "volt", T0, 0, &taken, &due), GB_ERR_INVALID);
    assert_int_equal(orphan_check_take(db, "", T0, 1000, &taken, &due), GB_ERR_INVALID);
    assert_false(taken);
}

static bool take_check(gb_db *own, int i)
{
    bool taken = false;
    (void)i;
    int64_t due = 0;
    return orphan_check_take(own, "raced", T0, 60000, &taken, &due) == GB_OK && taken;
}

/* Brokers asking for one provider's check at once: one gets it. */
static void test_orphan_check_race(void **state)
{
    (void)state;
    assert_int_equal(race(take_check, 1), 1);
}

static orphan_rec orphan(const char *provider, const char *id, const char *action, int64_t first)
{
    orphan_rec o;
    memset(&o, 0, sizeof(o));
    snprintf(o.provider, sizeof(o.provider), "%s", provider);
    snprintf(o.provider_id, sizeof(o.provider_id), "%s", id);
    snprintf(o.name, sizeof(o.name), "gpb-%s", id);
    snprintf(o.status, sizeof(o.status), "running");
    snprintf(o.action, sizeof(o.action), "%s", action);
    o.first_seen_at = first;
    return o;
}

static void on_orphan(void *ud, const orphan_rec *r)
{
    char line[256];
    snprintf(line, sizeof(line), "%s/%s/%s/%lld/%lld", r->provider, r->provider_id,
             r->action[0] ? r->action : "-", (long long)(r->first_seen_at - T0),
             (long long)(r->seen_at - T0));
    (void)ud;
    seen_add(line);
}

static const char *orphans_now(void)
{
    seen[0] = 0;
    assert_int_equal(orphan_report_list(db, on_orphan, NULL), GB_OK);
    return seen;
}

/* orphan_report_put replaces one provider's part of the report: a workload seen again keeps
 * its first sighting (read with orphan_first_seen), one not found again leaves it, another
 * provider's part stays; a bad row writes nothing. */
static void test_orphan_report(void **state)
{
    (void)state;
    orphan_rec rows[3] = {orphan("volt", "w1", "", 0), orphan("volt", "w2", "", 0)};
    assert_int_equal(orphan_report_put(db, "volt", rows, 2, T0 + 10), GB_OK);
    rows[0] = orphan("lium", "x1", "", 0);
    assert_int_equal(orphan_report_put(db, "lium", rows, 1, T0 + 20), GB_OK);
    assert_string_equal(orphans_now(), "lium/x1/-/20/20,volt/w1/-/10/10,volt/w2/-/10/10");
    int64_t first = -1;
    assert_int_equal(orphan_first_seen(db, "volt", "w2", &first), GB_OK);
    assert_true(first == T0 + 10);
    assert_int_equal(orphan_first_seen(db, "volt", "w9", &first), GB_OK);
    assert_true(first == 0);
    assert_int_equal(orphan_first_seen(db, "lium", "w2", &first), GB_OK);
    assert_true(first == 0); /* per provider */
    /* the next check: w2 again (settled now), w3 new, w1 gone */
    rows[0] = orphan("volt", "w2", "deleted", T0 + 10);
    rows[1] = orphan("volt", "w3", "", 0);
    assert_int_equal(orphan_report_put(db, "volt", rows, 2, T0 + 30), GB_OK);
    assert_string_equal(orphans_now(), "lium/x1/-/20/20,volt/w2/deleted/10/30,volt/w3/-/30/30");
    /* a check that found none empties the provider's part only */
    assert_int_equal(orphan_report_put(db, "volt", NULL, 0, T0 + 40), GB_OK);
    assert_string_equal(orphans_now(), "lium/x1/-/20/20");
    /* a row of another provider, or without an id: refused, nothing written */
    rows[0] = orphan("volt", "w4", "", 0);
    rows[1] = orphan("lium", "w5", "", 0);
    assert_int_equal(orphan_report_put(db, "volt", rows, 2, T0 + 50), GB_ERR_INVALID);
    rows[1] = orphan("volt", "", "", 0);
    assert_int_equal(orphan_report_put(db, "volt", rows, 2, T0 + 50), GB_ERR_INVALID);
    assert_string_equal(orphans_now(), "lium/x1/-/20/20");
    assert_int_equal(orphan_report_put(db, "", rows, 1, T0 + 50), GB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_accounts),
        cmocka_unit_test(test_alerts_tokens_rotations),
        cmocka_unit_test(test_apikeys),
        cmocka_unit_test(test_sshkeys_creds),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_idem_in_transaction),
        cmocka_unit_test(test_alert_race),
        cmocka_unit_test(test_cascade),
        cmocka_unit_test(test_provider_budget),
        cmocka_unit_test(test_provider_budget_race),
        cmocka_unit_test(test_orphan_checks),
        cmocka_unit_test(test_orphan_check_race),
        cmocka_unit_test(test_orphan_report),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
