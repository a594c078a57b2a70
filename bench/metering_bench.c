/* metering_bench.c: one metering round (meter_round: every running pod settled into one usage
 * ledger entry, in one transaction) over 10,000 running pods, timed against the bare ledger
 * insert of the same rows (ledger_add_usage, one transaction) in the same run, and checked:
 * every steady round writes one entry per pod and charges exactly the expected sum.
 * Usage: metering_bench [PODS] [ROUNDS]   (defaults 10000 10) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/api/scopes.h"
#include "broker/core/accounts.h"
#include "broker/core/app.h"
#include "broker/core/meter.h"
#include "broker/core/pods.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "jobs/ledger.h"

#define HOUR_MS INT64_C(3600000)
#define T0 INT64_C(1796256000000)                      /* 2026-12-03T00:00:00Z: the first round */
#define POD_CREDIT (INT64_C(10000) * INT64_C(1000000)) /* $10,000 a pod: no account runs low */
#define PODS_MAX 1000000
#define ROUNDS_MAX 1000

static uint64_t rng = UINT64_C(0x9e3779b97f4a7c15);
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * UINT64_C(2685821657736338717);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* What a pod has cost after ms of running at rate per hour: round half away from zero (the
 * amounts are positive), written here apart from common/money.c so the check is independent. */
static gb_money cost_at(gb_money rate, int64_t ms)
{
    return (gb_money)(((__int128)rate * ms + HOUR_MS / 2) / HOUR_MS);
}

typedef struct {
    char base_id[GB_ID_MAX]; /* the baseline's pod id (no pod row: the ledger does not ask) */
    int acct;
    gb_money price;
    int64_t since; /* running since (ms) */
} bench_pod;

typedef struct {
    int accounts, per_account, rounds;
    double first_ms, first_base_ms;
    double med_ms, min_ms, base_med_ms, base_min_ms;
} bench_result;

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double minimum(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m) m = v[i];
    return m;
}

/* The whole app (config defaults, no margins, a fresh SQLite file and vault key) in dir. */
static app *bench_app_open(char *dir)
{
    gb_config cfg;
    char err[512] = "";
    app *a = NULL;
    if (!mkdtemp(dir)) return NULL;
    if (gb_config_load(NULL, &cfg, err, sizeof(err)) != GB_OK) {
        fprintf(stderr, "metering_bench: config: %s\n", err);
        return NULL;
    }
    free(cfg.database);
    free(cfg.master_key_file);
    free(cfg.data_dir);
    free(cfg.metering_margins);
    cfg.database = gb_asprintf("%s/gpubroker.db", dir);
    cfg.master_key_file = gb_asprintf("%s/master.key", dir);
    cfg.data_dir = gb_strdup(dir);
    cfg.metering_margins = gb_strdup(""); /* the rate is the pod's price */
    unsetenv("GPUBROKER_MASTER_KEY");
    if (vault_keyfile_create(cfg.master_key_file) != GB_OK ||
        app_open(&cfg, &a, err, sizeof(err)) != GB_OK) {
        fprintf(stderr, "metering_bench: app_open: %s\n", err);
        return NULL;
    }
    return a;
}

static gb_err make_accounts(app *a, gb_db *db, const char *prefix, int n, gb_money credit,
                            char (*ids)[GB_ID_MAX])
{
    for (int i = 0; i < n; i++) {
        char name[64], key[AUTH_KEY_MAX];
        account_rec acc;
        apikey_rec k;
        snprintf(name, sizeof(name), "%s-%d", prefix, i);
        gb_err e = accounts_create(a, db, name, 0, credit, "bench", SCOPE_ALL_USER, &acc, key, &k);
        if (e) return e;
        gb_strlcpy(ids[i], acc.id, GB_ID_MAX);
    }
    return GB_OK;
}

/* n running pods spread over the accounts (pod i belongs to account i % accounts, so the
 * rows are not in account order), prices $0.20 to $30 an hour, running for 1 min to 1 day. */
static gb_err make_pods(gb_db *db, bench_pod *bp, int n, int accounts, char (*acct)[GB_ID_MAX])
{
    gb_err e = gb_db_begin(db);
    for (int i = 0; !e && i < n; i++) {
        pod_rec p;
        memset(&p, 0, sizeof(p));
        gb_id_new("pod_", p.id, sizeof(p.id));
        bp[i].acct = i % accounts;
        gb_strlcpy(p.account_id, acct[bp[i].acct], sizeof(p.account_id));
        snprintf(p.name, sizeof(p.name), "bench-%d", i);
        gb_strlcpy(p.provider, "volt", sizeof(p.provider));
        snprintf(p.provider_id, sizeof(p.provider_id), "wl-%d", i);
        snprintf(p.workload_name, sizeof(p.workload_name), "gpb-bench-%d", i);
        gb_strlcpy(p.kind, "rental", sizeof(p.kind));
        gb_strlcpy(p.offer_id, "mach_1", sizeof(p.offer_id));
        gb_strlcpy(p.image, "ubuntu:22.04", sizeof(p.image));
        gb_strlcpy(p.gpu_type, "H100", sizeof(p.gpu_type));
        p.gpu_count = 1;
        p.status = POD_RUNNING;
        p.price_per_hour = 200000 + (gb_money)(rnd() % 29800001);
        p.running_since = T0 - 60000 - (int64_t)(rnd() % (uint64_t)(24 * HOUR_MS));
        p.created_at = p.running_since - 30000;
        p.next_poll_at = INT64_MAX;
        e = pod_insert(db, &p);
        snprintf(bp[i].base_id, sizeof(bp[i].base_id), "pod_base%d", i);
        bp[i].price = p.price_per_hour;
        bp[i].since = p.running_since;
    }
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    return e;
}

/* The baseline: the rows a round at now writes (pod i's charge since the last round at prev,
 * or since it began when prev is 0), inserted with ledger_add_usage into the baseline
 * accounts in one transaction. *sum gets their sum. */
static gb_err base_round(gb_db *db, const bench_pod *bp, int n, char (*acct)[GB_ID_MAX],
                         int64_t prev, int64_t now, gb_money *sum, double *ms)
{
    int64_t t = now_us();
    gb_money total = 0;
    gb_err e = gb_db_begin(db);
    for (int i = 0; !e && i < n; i++) {
        int64_t from = prev ? prev : bp[i].since;
        gb_money amt = cost_at(bp[i].price, now - bp[i].since) -
                       (prev ? cost_at(bp[i].price, prev - bp[i].since) : 0);
        e = ledger_add_usage(db, acct[bp[i].acct], amt, bp[i].base_id, from, now, "pod usage");
        total += amt;
    }
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    *ms = (double)(now_us() - t) / 1000.0;
    *sum = total;
    return e;
}

/* The sum that a round at now must charge (the same rows as base_round's). */
static gb_money expected(const bench_pod *bp, int n, int64_t prev, int64_t now)
{
    gb_money total = 0;
    for (int i = 0; i < n; i++)
        total += cost_at(bp[i].price, now - bp[i].since) -
                 (prev ? cost_at(bp[i].price, prev - bp[i].since) : 0);
    return total;
}

static gb_err balances(gb_db *db, char (*acct)[GB_ID_MAX], int n, gb_money *sum)
{
    *sum = 0;
    for (int i = 0; i < n; i++) {
        gb_money b = 0;
        gb_err e = ledger_balance(db, acct[i], &b);
        if (e) return e;
        *sum += b;
    }
    return GB_OK;
}

/* One round at now (prev: the last round's time, 0 for the first) and its checks; 0 when
 * every check holds. */
static int timed_round(app *a, gb_db *db, const bench_pod *bp, int n, int64_t prev, int64_t now,
                       double *ms)
{
    meter_stats st;
    gb_clock_set(now);
    int64_t t = now_us();
    gb_err e = meter_round(a, db, now, &st);
    *ms = (double)(now_us() - t) / 1000.0;
    gb_money want = expected(bp, n, prev, now);
    if (e) {
        fprintf(stderr, "metering_bench: meter_round: %s\n", gb_strerror(e));
        return -1;
    }
    if (st.pods != n || st.entries != n || st.charged != want || st.accounts_low ||
        st.stops_requested) {
        fprintf(stderr,
                "metering_bench: round at +%lld ms: %d pods, %d entries, charged %lld, %d low, "
                "%d stops; expected %d, %d, %lld, 0, 0\n",
                (long long)(now - T0), st.pods, st.entries, (long long)st.charged, st.accounts_low,
                st.stops_requested, n, n, (long long)want);
        return -1;
    }
    return 0;
}

/* One run: accounts x per_account pods, the first round and rounds steady rounds, each with
 * its baseline right after it; 0 when every check held. */
static int run(int accounts, int per_account, int rounds, bench_result *res)
{
    char dir[] = "/tmp/gb-meterbench-XXXXXX";
    int n = accounts * per_account, rc = -1;
    bench_pod *bp = calloc((size_t)n, sizeof(*bp));
    char(*macct)[GB_ID_MAX] = calloc((size_t)accounts, GB_ID_MAX);
    char(*bacct)[GB_ID_MAX] = calloc((size_t)accounts, GB_ID_MAX);
    double *ms = calloc((size_t)rounds, sizeof(double));
    double *bms = calloc((size_t)rounds, sizeof(double));
    app *a = NULL;
    gb_db *db = NULL;
    gb_money charged = 0, base_charged = 0, sum = 0, bal = 0;
    memset(res, 0, sizeof(*res));
    res->accounts = accounts;
    res->per_account = per_account;
    res->rounds = rounds;
    if (!bp || !macct || !bacct || !ms || !bms) goto out;
    gb_clock_set(T0 - 2 * 24 * HOUR_MS);
    a = bench_app_open(dir);
    db = a ? app_db(a) : NULL;
    if (!db) goto out;
    int64_t period = a->cfg.metering_period_ms;
    gb_money credit = per_account * POD_CREDIT;
    if (make_accounts(a, db, "meter", accounts, credit, macct) ||
        make_accounts(a, db, "base", accounts, credit, bacct) ||
        make_pods(db, bp, n, accounts, macct)) {
        fprintf(stderr, "metering_bench: setting up failed\n");
        goto out;
    }
    /* the first round opens every meter and charges each pod's time so far */
    if (timed_round(a, db, bp, n, 0, T0, &res->first_ms)) goto out;
    charged += expected(bp, n, 0, T0);
    if (base_round(db, bp, n, bacct, 0, T0, &sum, &res->first_base_ms)) goto out;
    base_charged += sum;
    for (int r = 1; r <= rounds; r++) {
        int64_t prev = T0 + (r - 1) * period, now = T0 + r * period;
        if (timed_round(a, db, bp, n, prev, now, &ms[r - 1])) goto out;
        charged += expected(bp, n, prev, now);
        if (base_round(db, bp, n, bacct, prev, now, &sum, &bms[r - 1])) {
            fprintf(stderr, "metering_bench: baseline insert failed\n");
            goto out;
        }
        base_charged += sum;
    }
    /* the money went where it should: both sets of accounts paid exactly the expected sums */
    if (balances(db, macct, accounts, &bal) || bal != accounts * credit - charged) {
        fprintf(stderr, "metering_bench: metered accounts hold %lld, expected %lld\n",
                (long long)bal, (long long)(accounts * credit - charged));
        goto out;
    }
    if (balances(db, bacct, accounts, &bal) || bal != accounts * credit - base_charged ||
        base_charged != charged) {
        fprintf(stderr, "metering_bench: baseline accounts hold %lld, expected %lld\n",
                (long long)bal, (long long)(accounts * credit - base_charged));
        goto out;
    }
    res->min_ms = minimum(ms, rounds);
    res->med_ms = median(ms, rounds);
    res->base_min_ms = minimum(bms, rounds);
    res->base_med_ms = median(bms, rounds);
    rc = 0;
out:
    if (a) {
        app_db_release();
        app_free(a);
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0) fprintf(stderr, "metering_bench: could not remove %s\n", dir);
    }
    free(bp);
    free(macct);
    free(bacct);
    free(ms);
    free(bms);
    return rc;
}

static void report(const bench_result *r)
{
    int n = r->accounts * r->per_account;
    printf("%d account%s x %d pods = %d running pods, %d steady rounds\n", r->accounts,
           r->accounts == 1 ? "" : "s", r->per_account, n, r->rounds);
    printf("  first round (opens the meters): %.1f ms, its baseline %.1f ms, ratio %.2f\n",
           r->first_ms, r->first_base_ms, r->first_ms / r->first_base_ms);
    printf("  steady round:   median %.1f ms, min %.1f ms\n", r->med_ms, r->min_ms);
    printf("  baseline:       median %.1f ms, min %.1f ms (ledger_add_usage x %d, one "
           "transaction)\n",
           r->base_med_ms, r->base_min_ms, n);
    printf("  ratio (median round / median baseline): %.2f\n", r->med_ms / r->base_med_ms);
    fflush(stdout);
}

static int arg(const char *s, int lo, int hi, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    int pods = 10000, rounds = 10;
    if (argc > 3 || (argc > 1 && arg(argv[1], 100, PODS_MAX, &pods)) ||
        (argc > 2 && arg(argv[2], 1, ROUNDS_MAX, &rounds))) {
        fprintf(stderr, "usage: metering_bench [PODS 100..%d] [ROUNDS 1..%d]\n", PODS_MAX,
                ROUNDS_MAX);
        return 2;
    }
    gb_log_set_level(GB_LOG_WARN);
    /* 100 accounts of pods/100 pods each (rounded down to a whole number), then one account */
    bench_result r;
    int per = pods / 100;
    if (run(100, per, rounds, &r)) return 1;
    report(&r);
    if (run(1, pods, rounds, &r)) return 1;
    report(&r);
    printf("every steady round wrote one entry per pod and charged exactly the expected sum\n");
    return 0;
}
