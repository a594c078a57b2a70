/* stores.h: the broker's tables (accounts, API keys, SSH keys, docker credentials,
 * templates): records and the functions that read and write them. The SQL lives in the
 * *_store.c files; every function works on the caller's connection and, where noted,
 * inside the caller's transaction. Lookups scoped by account answer GB_ERR_NOT_FOUND for
 * another account's object. */
#ifndef GB_STORES_H
#define GB_STORES_H

#include <stdbool.h>
#include <stdint.h>

#include "common/db.h"
#include "common/ids.h"
#include "common/memo.h"
#include "common/money.h"

#define NAME_MAX_LEN 128

const gb_migration_set *stores_migrations(void);

/* accounts */
typedef struct {
    char id[GB_ID_MAX];
    char name[NAME_MAX_LEN + 1];
    int is_admin;
    int64_t created_at;
} account_rec;

gb_err account_insert(gb_db *db, const account_rec *rec);
gb_err account_get(gb_db *db, const char *id, account_rec *out);
/* The first admin account, if any. */
gb_err account_find_admin(gb_db *db, account_rec *out);
gb_err account_find_by_name(gb_db *db, const char *name, account_rec *out);
/* Inside a transaction: queues the account's other writers of the same kind on its accounts
 * row until the transaction ends (PostgreSQL: FOR UPDATE; SQLite's BEGIN IMMEDIATE already
 * serializes them). An account with no row locks nothing. */
gb_err account_lock(gb_db *db, const char *account_id);
/* How many objects of one kind the account owns (*n). */
typedef gb_err (*account_count_fn)(gb_db *db, const char *account_id, int64_t *n);
/* Inside the transaction that adds one object: locks the account (account_lock), so that two
 * adds at once are counted one after the other, then counts; GB_ERR_LIMIT when the account
 * already owns max or more. */
gb_err account_room(gb_db *db, const char *account_id, account_count_fn count, int64_t max);
/* The account's cap on its committed cost per hour (micro-dollars; 0 = none): the lower of
 * its own and the administrator's. */
gb_err account_spend_limit(gb_db *db, const char *id, gb_money *out);
gb_err account_set_spend_limit(gb_db *db, const char *id, gb_money limit);

/* The money guards of an account (micro-dollars, 0 = none). The holder sets spend_limit and
 * budget, an administrator admin_*; the effective one is the lower non-zero of the two. */
typedef struct {
    gb_money spend_limit, admin_spend_limit; /* per hour */
    gb_money budget, admin_budget;           /* per calendar month (UTC) */
    int64_t low_balance_at;                  /* ms the balance was seen low, 0 = it is not */
} account_money;

/* The lower of two caps where 0 means none. */
gb_money account_cap(gb_money own, gb_money admin);
gb_err account_money_get(gb_db *db, const char *id, account_money *out);
/* The same inside the caller's transaction, the account's row locked until it ends
 * (PostgreSQL; SQLite's BEGIN IMMEDIATE already excludes other writers): admissions of one
 * account's pods run one at a time, so concurrent creates cannot together pass its limits. */
gb_err account_money_lock(gb_db *db, const char *id, account_money *out);
/* Writes the four caps of m (not low_balance_at). */
gb_err account_money_set(gb_db *db, const char *id, const account_money *m);
gb_err account_set_low_balance(gb_db *db, const char *id, int64_t at);
/* Records the budget alert (account, "YYYY-MM", percent) once: *fresh is 1 the first time. */
gb_err budget_alert_once(gb_db *db, const char *id, const char *month, int percent, int64_t at,
                         int *fresh);
typedef void (*account_each)(void *ud, const account_rec *rec);
gb_err account_list(gb_db *db, account_each fn, void *ud);
/* The ids of accounts with a budget (own or admin), for the metering round. */
gb_err account_with_budgets(gb_db *db, account_each fn, void *ud);
/* The accounts whose balance was last seen low (low_balance_at set). */
gb_err account_low(gb_db *db, account_each fn, void *ud);

/* API keys */
typedef struct {
    char id[GB_ID_MAX];
    char account_id[GB_ID_MAX];
    char name[NAME_MAX_LEN + 1];
    char preview[24];
    unsigned scopes;
    int64_t created_at;
    int64_t last_used; /* 0 = never */
} apikey_rec;

gb_err apikey_insert(gb_db *db, const apikey_rec *rec, const char *hash);
gb_err apikey_lookup_hash(gb_db *db, const char *hash, apikey_rec *out);
gb_err apikey_touch(gb_db *db, const char *id, int64_t now_ms);
typedef void (*apikey_each)(void *ud, const apikey_rec *rec);
gb_err apikey_list(gb_db *db, const char *account_id, apikey_each fn, void *ud);
gb_err apikey_delete(gb_db *db, const char *account_id, const char *id);
int apikey_count(gb_db *db, const char *account_id);

/* SSH keys */
#define SSH_PUBKEY_MAX 16384
typedef struct {
    char id[GB_ID_MAX];
    char account_id[GB_ID_MAX];
    char name[NAME_MAX_LEN + 1];
    char *public_key; /* owned by the record; free with sshkey_rec_clear */
    char fingerprint[64];
    int64_t created_at;
} sshkey_rec;

void sshkey_rec_clear(sshkey_rec *rec);
gb_err sshkey_insert(gb_db *db, const sshkey_rec *rec); /* CONFLICT: same fingerprint */
gb_err sshkey_get(gb_db *db, const char *account_id, const char *id, sshkey_rec *out);
typedef void (*sshkey_each)(void *ud, const sshkey_rec *rec);
gb_err sshkey_list(gb_db *db, const char *account_id, sshkey_each fn, void *ud);
gb_err sshkey_delete(gb_db *db, const char *account_id, const char *id);
gb_err sshkey_count(gb_db *db, const char *account_id, int64_t *n);
/* budget_store.c. Takes one request from provider's window of window_ms (started by its first
 * request, again by the first after it is over) in one statement: *taken is false when the
 * window already holds limit. Several brokers on one store share each window. now: ms since
 * the epoch (brokers' clocks apart shift a window's end by as much, never its count). */
gb_err provider_budget_take(gb_db *db, const char *provider, int64_t limit, int64_t window_ms,
                            int64_t now, bool *taken);

/* sshkey_recent.c. The account's list as sshkey_list gives it, from m (the broker's memo) when
 * it was read less than max_age_ms ago and no change was counted since: an insert or delete of
 * this process (sshkey_insert and sshkey_delete call sshkey_changed) is seen at once, one made
 * through another broker when its NOTIFY on SSHKEY_NOTIFY_CHANNEL reaches this broker's
 * listener (sshkey_changed_elsewhere), anything else within max_age_ms. Reads the store when m
 * is NULL, max_age_ms <= 0 or a transaction is open on db. */
#define SSHKEY_NOTIFY_CHANNEL "gb_ssh_keys"
gb_err sshkey_list_recent(gb_db *db, gb_memo *m, int64_t max_age_ms, const char *account_id,
                          sshkey_each fn, void *ud);
/* Counts a change of the ssh_keys table now and at db's commit, and tells other brokers. */
void sshkey_changed(gb_db *db);
/* gb_db_listen's fn on SSHKEY_NOTIFY_CHANNEL: another broker changed an SSH key. */
void sshkey_changed_elsewhere(void *ud);

/* Docker registry credentials (the password lives in the vault, see cred_secret_ref). */
typedef struct {
    char id[GB_ID_MAX];
    char account_id[GB_ID_MAX];
    char name[NAME_MAX_LEN + 1];
    char registry[256];
    char username[256];
    int64_t created_at;
} cred_rec;

/* "docker_credentials/<id>/password" */
void cred_secret_ref(const char *cred_id, char *out, size_t n);
gb_err cred_insert(gb_db *db, const cred_rec *rec);
gb_err cred_get(gb_db *db, const char *account_id, const char *id, cred_rec *out);
typedef void (*cred_each)(void *ud, const cred_rec *rec);
gb_err cred_list(gb_db *db, const char *account_id, cred_each fn, void *ud);
gb_err cred_delete(gb_db *db, const char *account_id, const char *id);
gb_err cred_count(gb_db *db, const char *account_id, int64_t *n);

/* Job-scoped tokens trainers report with (stored as the keyed hash, like API keys). */
gb_err job_token_put(gb_db *db, const char *job_id, const char *hash, int64_t now_ms);
/* 1 when hash is the token of job_id. */
int job_token_check(gb_db *db, const char *job_id, const char *hash);

/* When the previous webhook signing secret of an account stops signing (ms). */
gb_err webhook_rotation_set(gb_db *db, const char *account_id, int64_t previous_until);
gb_err webhook_rotation_get(gb_db *db, const char *account_id, int64_t *previous_until);

/* Templates: system ones have an empty account_id and is_system = 1. */
typedef struct {
    char id[GB_ID_MAX];
    char account_id[GB_ID_MAX];
    char name[NAME_MAX_LEN + 1];
    char image[512];
    char category[64];
    char description[1025];
    char docker_credential_id[GB_ID_MAX]; /* "" = none */
    char *ports_json;                     /* JSON array text, owned; NULL = none */
    char *env_json;                       /* JSON object text, owned; NULL = none */
    int is_system;
    int64_t created_at;
    int64_t updated_at;
} template_rec;

void template_rec_clear(template_rec *rec);
gb_err template_insert(gb_db *db, const template_rec *rec);
gb_err template_update(gb_db *db, const template_rec *rec); /* account's own only */
/* Finds a system template or one of account_id's own. */
gb_err template_get(gb_db *db, const char *account_id, const char *id, template_rec *out);
typedef void (*template_each)(void *ud, const template_rec *rec);
gb_err template_list(gb_db *db, const char *account_id, template_each fn, void *ud);
gb_err template_delete(gb_db *db, const char *account_id, const char *id);
gb_err template_count(gb_db *db, const char *account_id, int64_t *n); /* its own, not system */

#endif
