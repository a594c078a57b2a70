/* support_daemon.c: starting and driving the real daemon for end-to-end tests. */
#define _GNU_SOURCE
#include "support_daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/db.h"
#include "common/dbq.h"
#include "common/http_client.h"
#include "common/str.h"
#include "providers/sim/sim.h"

static const char *bin(void)
{
    const char *b = getenv("GPUBROKER_BIN");
    if (!b) fail_msg("GPUBROKER_BIN is not set (run through ctest)");
    return b;
}

void e2e_tmpdir(char *out, size_t n)
{
    char tmpl[] = "/tmp/gpubroker-e2e-XXXXXX";
    if (!mkdtemp(tmpl)) fail_msg("mkdtemp: %s", strerror(errno));
    gb_strlcpy(out, tmpl, n);
}

static void set_env(const char *const *env)
{
    for (const char *const *e = env; e && *e; e++)
        putenv((char *)*e);
}

/* ---- the PostgreSQL variant (ctest e2e.<name>.postgresql, docs/store.md) ----
 * GB_E2E_DB_URL_FILE names the file with the URL of the server scripts/pg.sh started. Each
 * data dir gets its own database there (named by a hash of the dir, so a daemon restarted in
 * the same dir finds its data), handed to the daemon as GPUBROKER_STORAGE_DATABASE; they are
 * dropped at exit. */
#define PG_DBS_MAX 32
static char pg_admin[1024];
static char pg_dbs[PG_DBS_MAX][40];
static int pg_ndbs;

static void pg_drop_all(void)
{
    gb_db *a = NULL;
    if (gb_db_open_url(pg_admin, &a) != GB_OK) return;
    for (int i = 0; i < pg_ndbs; i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %.40s WITH (FORCE)", pg_dbs[i]);
        (void)gb_db_exec(a, sql);
    }
    gb_db_close(a);
}

/* The directory a command's database belongs to: its --config file's directory when it has
 * one (`init --config F` then `serve --config F` share it), else dflt (NULL: none). */
static const char *pg_key_dir(const char *const *args, const char *dflt, char *buf, size_t n)
{
    for (const char *const *a = args; a[0] && a[1]; a++)
        if (strcmp(a[0], "--config") == 0) {
            const char *slash = strrchr(a[1], '/');
            snprintf(buf, n, "%.*s", slash ? (int)(slash - a[1]) : 1, slash ? a[1] : ".");
            return buf;
        }
    return dflt;
}

/* "GPUBROKER_STORAGE_DATABASE=<url>" for dir's database into out (a static of the caller's),
 * or 0 when this is not the PostgreSQL variant. */
static int pg_env_for_dir(const char *dir, char *out, size_t n)
{
    const char *f = getenv("GB_E2E_DB_URL_FILE");
    if (!f) return 0;
    if (!pg_admin[0]) {
        FILE *fp = fopen(f, "r");
        if (!fp || !fgets(pg_admin, sizeof(pg_admin), fp)) {
            fprintf(stderr, "no PostgreSQL (%s): skipped\n", f);
            exit(77);
        }
        fclose(fp);
        pg_admin[strcspn(pg_admin, "\r\n")] = 0;
    }
    unsigned h = 2166136261u;
    for (const char *p = dir; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    char name[40];
    snprintf(name, sizeof(name), "gbe_%d_%08x", (int)getpid(), h);
    int known = 0;
    for (int i = 0; i < pg_ndbs; i++)
        known |= strcmp(pg_dbs[i], name) == 0;
    if (!known) {
        gb_db *a = NULL;
        if (gb_db_open_url(pg_admin, &a) != GB_OK) fail_msg("cannot reach PostgreSQL");
        static int registered; /* after libpq's first connection: runs before OpenSSL's exit */
        if (!registered++) atexit(pg_drop_all);
        char sql[128];
        snprintf(sql, sizeof(sql), "CREATE DATABASE %.40s", name);
        gb_err e = gb_db_exec(a, sql);
        gb_db_close(a);
        if (e) fail_msg("cannot create database %s", name);
        if (pg_ndbs < PG_DBS_MAX) gb_strlcpy(pg_dbs[pg_ndbs++], name, sizeof(pg_dbs[0]));
    }
    const char *slash = strrchr(pg_admin, '/');
    if (!slash) fail_msg("bad PostgreSQL URL");
    snprintf(out, n, "GPUBROKER_STORAGE_DATABASE=%.*s/%s", (int)(slash - pg_admin), pg_admin, name);
    return 1;
}

int e2e_db_is_pg(void)
{
    return getenv("GB_E2E_DB_URL_FILE") != NULL;
}

gb_db *e2e_db_open_dir(const char *dir)
{
    static const char var[] = "GPUBROKER_STORAGE_DATABASE=";
    char env[1200], url[1300];
    if (pg_env_for_dir(dir, env, sizeof(env)))
        snprintf(url, sizeof(url), "%s", env + sizeof(var) - 1);
    else
        snprintf(url, sizeof(url), "sqlite:%s/gpubroker.db", dir);
    gb_db *db = NULL;
    if (gb_db_open_url(url, &db) != GB_OK) fail_msg("cannot open the database of %s", dir);
    return db;
}

int e2e_db_env(const char *dir, char *out, size_t n)
{
    return pg_env_for_dir(dir, out, n);
}

gb_db *e2e_db_open(const e2e_daemon *d)
{
    return e2e_db_open_dir(d->dir);
}

int64_t e2e_db_int(gb_db *db, const char *sql, const char *a1, const char *a2, int *found)
{
    gb_q *q = gb_q_prep(db, sql);
    if (!q) fail_msg("cannot prepare: %s", sql);
    if (a1) gb_q_text(q, 1, a1);
    if (a2) gb_q_text(q, 2, a2);
    int row = 0;
    if (gb_q_step(q, &row) != GB_OK) fail_msg("statement failed: %s", sql);
    int64_t v = row ? gb_q_col_int64(q, 0) : 0;
    gb_q_reset(q);
    if (found)
        *found = row;
    else if (!row)
        fail_msg("no row: %s", sql);
    return v;
}

/* env (NULL-terminated) into out[40] plus, in the PostgreSQL variant and unless env names a
 * database, the one of the command's --config directory, else of dflt_dir (NULL: none). */
static void pg_env_list(const char *const *args, const char *dflt_dir, const char *const *env,
                        const char **out)
{
    static char pg_env[1200];
    int ne = 0, named = 0;
    for (const char *const *e = env; e && *e && ne < 38; e++) {
        named |= strncmp(*e, "GPUBROKER_STORAGE_DATABASE=", 27) == 0;
        out[ne++] = *e;
    }
    char keybuf[512];
    const char *key = pg_key_dir(args, dflt_dir, keybuf, sizeof(keybuf));
    if (!named && key && pg_env_for_dir(key, pg_env, sizeof(pg_env))) out[ne++] = pg_env;
    out[ne] = NULL;
}

pid_t e2e_fork(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    /* the test may have ended between fork and prctl: then no signal would come */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
    return 0;
}

/* Forks and execs the gpubroker binary with args (without "gpubroker") and extra env,
 * its stdin/stdout/stderr on the given descriptors (-1 leaves one as it is); close_fd (or -1)
 * is closed in the child. Returns the child's pid. */
static pid_t spawn(const char *const *args, const char *const *env, int in, int out, int err,
                   int close_fd)
{
    pid_t pid = e2e_fork(); /* a daemon of a test that failed midway must not run on */
    if (pid < 0) fail_msg("fork");
    if (pid > 0) return pid;
    if (in >= 0) dup2(in, 0);
    if (out >= 0) dup2(out, 1);
    if (err >= 0) dup2(err, 2);
    if (close_fd >= 0) close(close_fd);
    set_env(env);
    const char *argv[32] = {"gpubroker"};
    int i = 1;
    for (const char *const *a = args; *a && i < 31; a++)
        argv[i++] = *a;
    argv[i] = NULL;
    execv(bin(), (char *const *)argv);
    _exit(127);
}

static int read_line(int fd, char *buf, size_t n, int timeout_ms)
{
    size_t len = 0;
    while (len + 1 < n) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, timeout_ms);
        if (r <= 0) return -1;
        char c;
        ssize_t k = read(fd, &c, 1);
        if (k <= 0) return -1;
        if (c == '\n') break;
        buf[len++] = c;
    }
    buf[len] = '\0';
    return 0;
}

void e2e_start(e2e_daemon *d, const char *const *args, const char *const *env)
{
    if (!d->dir[0]) e2e_tmpdir(d->dir, sizeof(d->dir));
    snprintf(d->log_path, sizeof(d->log_path), "%s/daemon.log", d->dir);
    int pfd[2];
    if (pipe(pfd) != 0) fail_msg("pipe");
    int logfd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (logfd < 0) fail_msg("cannot open %s", d->log_path);
    /* the PostgreSQL variant: the daemon's database on the server (a simulator has none) */
    const char *env2[40];
    pg_env_list(args, strcmp(args[0], "sim") != 0 ? d->dir : NULL, env, env2);
    pid_t pid = spawn(args, env2, -1, pfd[1], logfd, pfd[0]);
    close(logfd);
    close(pfd[1]);
    d->pid = pid;
    char line[512];
    int sandbox = strcmp(args[0], "sandbox") == 0, want_sims = sandbox; /* + the Hub */
    for (const char *const *nm = sim_platform_names(); sandbox && *nm; nm++)
        want_sims++;
    int sim = strcmp(args[0], "sim") == 0;
    while (sim ? d->nsims < 1
               : (!d->url[0] ||
                  (sandbox && (!d->key[0] || !d->admin_key[0] || d->nsims < want_sims)))) {
        if (read_line(pfd[0], line, sizeof(line), 15000) != 0) {
            close(pfd[0]);
            fail_msg("gpubroker %s did not start; see %s", args[0], d->log_path);
        }
        const char *s;
        if (!strncmp(line, "GPUBROKER_URL=", 14))
            gb_strlcpy(d->url, line + 14, sizeof(d->url));
        else if (!strncmp(line, "GPUBROKER_API_KEY=", 18))
            gb_strlcpy(d->key, line + 18, sizeof(d->key));
        else if (!strncmp(line, "GPUBROKER_ADMIN_API_KEY=", 24))
            gb_strlcpy(d->admin_key, line + 24, sizeof(d->admin_key));
        else if ((s = strstr(line, "serving on ")) != NULL)
            gb_strlcpy(d->url, s + 11, sizeof(d->url));
        else if (!strncmp(line, "SIM_", 4) && (s = strstr(line, "_URL=")) != NULL && d->nsims < 8) {
            size_t n = (size_t)(s - line - 4);
            if (n >= sizeof(d->sim_name[0])) n = sizeof(d->sim_name[0]) - 1;
            for (size_t k = 0; k < n; k++)
                d->sim_name[d->nsims][k] =
                    (char)(line[4 + k] >= 'A' && line[4 + k] <= 'Z' ? line[4 + k] + 32
                                                                    : line[4 + k]);
            d->sim_name[d->nsims][n] = '\0';
            gb_strlcpy(d->sim_url[d->nsims], s + 5, sizeof(d->sim_url[0]));
            d->nsims++;
        }
    }
    close(pfd[0]);
    if (sim) gb_strlcpy(d->url, d->sim_url[0], sizeof(d->url));
}

void e2e_start_sandbox_args(e2e_daemon *d, const char *dir, const char *const *env,
                            const char *const *extra)
{
    char keep[sizeof(d->dir)] = ""; /* dir may be d->dir itself: copied before the memset */
    if (dir) gb_strlcpy(keep, dir, sizeof(keep));
    memset(d, 0, sizeof(*d));
    if (dir)
        gb_strlcpy(d->dir, keep, sizeof(d->dir));
    else
        e2e_tmpdir(d->dir, sizeof(d->dir));
    const char *args[24] = {"sandbox", "--port", "0", "--data-dir", d->dir};
    int n = 5;
    for (const char *const *x = extra; x && *x && n < 23; x++)
        args[n++] = *x;
    args[n] = NULL;
    e2e_start(d, args, env);
}

void e2e_start_sandbox(e2e_daemon *d, const char *dir, const char *const *env)
{
    e2e_start_sandbox_args(d, dir, env, NULL);
}

const char *e2e_sim_url(const e2e_daemon *d, const char *name)
{
    for (int i = 0; i < d->nsims; i++)
        if (strcmp(d->sim_name[i], name) == 0) return d->sim_url[i];
    fail_msg("the sandbox printed no SIM_ URL for %s", name);
    return NULL;
}

void e2e_machine_of(const e2e_daemon *d, const char *provider, char *out, size_t n, int *gpus)
{
    e2e_resp r;
    e2e_req(d, "GET", "/api/volt/machines", d->key, NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *m;
    out[0] = '\0';
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(r.json, "machines"))
    {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "provider"));
        const cJSON *av = cJSON_GetObjectItemCaseSensitive(m, "available_gpus");
        const cJSON *gc = cJSON_GetObjectItemCaseSensitive(m, "gpu_count");
        if (p && !strcmp(p, provider) && cJSON_IsNumber(av) && av->valuedouble >= 1 && !out[0]) {
            snprintf(out, n, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "id")));
            if (gpus) *gpus = cJSON_IsNumber(gc) ? (int)gc->valuedouble : 0;
        }
    }
    e2e_resp_free(&r);
    if (!out[0]) fail_msg("no machine with free GPUs from %s", provider);
}

cJSON *e2e_sim_workloads_at(const char *sim_url)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/_sim/workloads", sim_url);
    gb_http_req req = {.method = "GET", .url = url};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    if (resp.status != 200) fail_msg("%s answered %ld", url, resp.status);
    cJSON *root = cJSON_Parse(resp.body);
    gb_http_resp_free(&resp);
    cJSON *list = cJSON_DetachItemFromObjectCaseSensitive(root, "workloads");
    cJSON_Delete(root);
    if (!cJSON_IsArray(list)) fail_msg("%s has no workloads array", url);
    return list;
}

cJSON *e2e_sim_workloads(const e2e_daemon *d, const char *provider)
{
    return e2e_sim_workloads_at(e2e_sim_url(d, provider));
}

/* GET <provider's simulator><path>, which must answer 200 with JSON (caller deletes). */
static cJSON *sim_get(const e2e_daemon *d, const char *provider, const char *path)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", e2e_sim_url(d, provider), path);
    gb_http_req req = {.method = "GET", .url = url};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    if (resp.status != 200) fail_msg("%s answered %ld", url, resp.status);
    cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
    gb_http_resp_free(&resp);
    if (!j) fail_msg("%s: not JSON", url);
    return j;
}

int e2e_sim_requests(const e2e_daemon *d, const char *provider, const char *method)
{
    char prefix[16];
    snprintf(prefix, sizeof(prefix), "%s ", method);
    cJSON *j = sim_get(d, provider, "/_sim/requests");
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "by_route"))
    {
        if (it->string && strncmp(it->string, prefix, strlen(prefix)) == 0) n += it->valueint;
    }
    cJSON_Delete(j);
    return n;
}

cJSON *e2e_sim_state(const e2e_daemon *d, const char *provider)
{
    return sim_get(d, provider, "/_sim/state");
}

int e2e_sim_count(const e2e_daemon *d, const char *provider, const char *id)
{
    cJSON *list = e2e_sim_workloads(d, provider);
    int n = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, list)
    {
        const char *wid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "id"));
        if (!id || (wid && strcmp(wid, id) == 0)) n++;
    }
    cJSON_Delete(list);
    return n;
}

void e2e_wait_pod(const e2e_daemon *d, const char *key, const char *id, const char *want,
                  int timeout_ms)
{
    char path[128], last[32] = "?";
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s", id);
    for (int waited = 0;; waited += 50) {
        e2e_resp r;
        e2e_req(d, "GET", path, key, NULL, &r);
        assert_int_equal(r.status, 200);
        const char *st = e2e_str(&r, "status");
        snprintf(last, sizeof(last), "%s", st ? st : "?");
        e2e_resp_free(&r);
        if (strcmp(last, want) == 0) return;
        if (waited >= timeout_ms) fail_msg("pod %s stayed %s, wanted %s", id, last, want);
        usleep(50000);
    }
}

void e2e_wait_placed(const e2e_daemon *d, const char *key, const char *id, char *pid, size_t pn,
                     int timeout_ms)
{
    char path[128], last[32] = "?";
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s", id);
    for (int waited = 0;; waited += 50) {
        e2e_resp r;
        e2e_req(d, "GET", path, key, NULL, &r);
        assert_int_equal(r.status, 200);
        const char *p = e2e_str(&r, "provider_id"), *st = e2e_str(&r, "status");
        snprintf(last, sizeof(last), "%s", st ? st : "?");
        if (p && p[0]) snprintf(pid, pn, "%s", p);
        e2e_resp_free(&r);
        if (pid[0]) return;
        if (!strcmp(last, "failed") || waited >= timeout_ms)
            fail_msg("pod %s was not placed (status %s)", id, last);
        usleep(50000);
    }
}

int e2e_pod_event(const e2e_daemon *d, const char *key, const char *id, const char *type,
                  const char *contains)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/volt/pods/%.64s/events", id);
    e2e_resp r;
    e2e_req(d, "GET", path, key, NULL, &r);
    assert_int_equal(r.status, 200);
    int found = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(r.json, "events"))
    {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "type"));
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "message"));
        if (t && strcmp(t, type) == 0 && (!contains || (m && strstr(m, contains)))) found = 1;
    }
    e2e_resp_free(&r);
    return found;
}

void e2e_start_sim(e2e_daemon *sim, const char *provider, const char *secret)
{
    memset(sim, 0, sizeof(*sim));
    const char *args[] = {"sim", "--provider", provider, "--port", "0", "--secret", secret, NULL};
    e2e_start(sim, args, NULL);
}

long e2e_sim_req(const e2e_daemon *sim, const char *secret, const char *method, const char *path,
                 const char *body, char **out)
{
    char url[256], key[160];
    if (snprintf(url, sizeof(url), "%s%s", sim->url, path) >= (int)sizeof(url))
        fail_msg("simulator URL too long: %s%s", sim->url, path);
    snprintf(key, sizeof(key), "X-API-Key: %s", secret);
    const char *h[] = {key, "Content-Type: application/json", NULL};
    gb_http_req req = {.method = method,
                       .url = url,
                       .headers = h,
                       .body = body,
                       .body_len = body ? strlen(body) : 0};
    gb_http_resp resp;
    assert_int_equal(gb_http_do(&req, &resp, NULL), GB_OK);
    long st = resp.status;
    if (out) {
        *out = resp.body;
        resp.body = NULL;
    }
    gb_http_resp_free(&resp);
    return st;
}

void e2e_sim_volt_create(const e2e_daemon *sim, const char *secret, const char *machine,
                         const char *name, char *id, size_t n)
{
    char body[512], *out = NULL;
    const char *colon = strchr(machine, ':');
    snprintf(body, sizeof(body),
             "{\"machine_id\":\"%s\",\"name\":\"%s\",\"template_id\":\"tpl_pytorch21\"}",
             colon ? colon + 1 : machine, name);
    long st = e2e_sim_req(sim, secret, "POST", "/api/volt/pods", body, &out);
    if (st != 201) fail_msg("direct create at the simulator: %ld %s", st, out);
    cJSON *j = cJSON_Parse(out);
    const cJSON *pod = cJSON_GetObjectItemCaseSensitive(j, "pod");
    const char *pid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pod ? pod : j, "id"));
    if (!pid) fail_msg("no pod id in %s", out);
    snprintf(id, n, "%s", pid);
    cJSON_Delete(j);
    free(out);
}

cJSON *e2e_sim_request_log(const e2e_daemon *sim, const char *secret)
{
    char *out = NULL;
    assert_int_equal(e2e_sim_req(sim, secret, "GET", "/_sim/requests", NULL, &out), 200);
    cJSON *j = cJSON_Parse(out);
    free(out);
    assert_non_null(j);
    return j;
}

long e2e_sim_served(const e2e_daemon *sim, const char *secret, const char *route)
{
    cJSON *j = e2e_sim_request_log(sim, secret);
    const cJSON *n =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "by_route"), route);
    long v = cJSON_IsNumber(n) ? (long)n->valuedouble : 0;
    cJSON_Delete(j);
    return v;
}

void e2e_register_sim(const e2e_daemon *d, const e2e_daemon *sim, const char *name,
                      const char *kind, const char *secret, const char *settings)
{
    char body[768];
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"kind\":\"%s\",\"base_url\":\"%s\",\"secret\":\"%s\"%s%s}", name,
             kind, sim->url, secret, settings ? ",\"settings\":" : "", settings ? settings : "");
    e2e_resp r;
    e2e_req(d, "POST", "/api/volt/admin/providers", d->admin_key, body, &r);
    if (r.status != 201) fail_msg("registering %s: %ld %s", name, r.status, r.body);
    e2e_resp_free(&r);
}

struct e2e_canary {
    int fd;
    pthread_t thread;
    atomic_int count;
};

static void *canary_run(void *arg)
{
    e2e_canary *c = arg;
    for (;;) {
        int fd = accept(c->fd, NULL, NULL);
        if (fd < 0) break;
        c->count++;
        close(fd);
    }
    return NULL;
}

e2e_canary *e2e_canary_start(int *port)
{
    e2e_canary *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    assert_int_equal(bind(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(c->fd, (struct sockaddr *)&a, &l), 0);
    assert_int_equal(listen(c->fd, 16), 0);
    *port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&c->thread, NULL, canary_run, c), 0);
    return c;
}

int e2e_canary_count(e2e_canary *c)
{
    return c->count;
}

void e2e_canary_stop(e2e_canary *c)
{
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    pthread_join(c->thread, NULL);
    free(c);
}

static int wait_exit(pid_t pid, int timeout_ms)
{
    int status = 0;
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

void e2e_stop(e2e_daemon *d)
{
    if (d->pid <= 0) return;
    kill(d->pid, SIGTERM);
    int st = wait_exit(d->pid, 10000);
    d->pid = 0;
    if (st == -1) fail_msg("daemon did not stop within 10 s of SIGTERM");
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

void e2e_kill9(e2e_daemon *d)
{
    if (d->pid <= 0) return;
    kill(d->pid, SIGKILL);
    int st;
    waitpid(d->pid, &st, 0);
    d->pid = 0;
}

void e2e_cleanup(e2e_daemon *d)
{
    if (d->pid > 0) e2e_kill9(d);
    if (d->dir[0] && getenv("GB_E2E_KEEP")) { /* debugging: the logs and files stay */
        fprintf(stderr, "kept %s (GB_E2E_KEEP)\n", d->dir);
        return;
    }
    if (d->dir[0]) {
        char *cmd = gb_asprintf("rm -rf '%s'", d->dir);
        if (cmd && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", d->dir);
        free(cmd);
    }
}

/* With GB_E2E_RECORD=file set, appends each exchange as one JSON line {method, path, status,
 * content_type, body} (tests/contract/ validates them against docs/openapi.json). */
static void record(const char *method, const char *path, const e2e_resp *r)
{
    const char *file = getenv("GB_E2E_RECORD");
    if (!file || !*file) return;
    const char *ct = e2e_header(r, "Content-Type");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", method);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddNumberToObject(o, "status", (double)r->status);
    cJSON_AddStringToObject(o, "content_type", ct ? ct : "");
    cJSON_AddStringToObject(o, "body", r->body ? r->body : "");
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int fd = line ? open(file, O_WRONLY | O_APPEND | O_CREAT, 0644) : -1;
    if (fd >= 0) {
        gb_buf b = {0};
        gb_buf_printf(&b, "%s\n", line);
        if (b.data && write(fd, b.data, b.len) != (ssize_t)b.len)
            fprintf(stderr, "record: short write\n");
        gb_buf_free(&b);
        close(fd);
    }
    free(line);
}

void e2e_req_h(const e2e_daemon *d, const char *method, const char *path,
               const char *const *headers, const char *body, e2e_resp *out)
{
    memset(out, 0, sizeof(*out));
    char url[512];
    snprintf(url, sizeof(url), "%s%s", d->url, path);
    gb_http_req req = {.method = method,
                       .url = url,
                       .headers = headers,
                       .body = body,
                       .body_len = body ? strlen(body) : 0,
                       .timeout_ms = 20000};
    gb_http_resp resp;
    gb_errmsg err = "";
    if (gb_http_do(&req, &resp, err) != GB_OK) fail_msg("%s %s: %s", method, path, err);
    out->status = resp.status;
    out->body = resp.body;
    out->headers = resp.headers;
    resp.body = resp.headers = NULL;
    gb_http_resp_free(&resp);
    out->json = cJSON_Parse(out->body);
    record(method, path, out);
}

void e2e_req(const e2e_daemon *d, const char *method, const char *path, const char *key,
             const char *body, e2e_resp *out)
{
    char auth[160];
    snprintf(auth, sizeof(auth), "X-API-Key: %s", key ? key : "");
    const char *h[] = {key ? auth : "X-Nothing: 1", "Content-Type: application/json", NULL};
    e2e_req_h(d, method, path, h, body, out);
}

void e2e_resp_free(e2e_resp *r)
{
    free(r->body);
    free(r->headers);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof(*r));
}

void e2e_expect_error(const e2e_resp *r, long status, const char *code)
{
    if (r->status != status) fail_msg("expected HTTP %ld, got %ld: %s", status, r->status, r->body);
    assert_non_null(r->json);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->json, "error")));
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(r->json, "status");
    assert_true(cJSON_IsNumber(st));
    assert_int_equal((long)st->valuedouble, status);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r->json, "message");
    assert_true(cJSON_IsString(m) && m->valuestring[0]);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(r->json, "code");
    assert_true(cJSON_IsString(c));
    assert_string_equal(c->valuestring, code);
}

const char *e2e_header(const e2e_resp *r, const char *name)
{
    static __thread char val[256];
    gb_http_resp tmp = {.headers = r->headers};
    return gb_http_resp_header(&tmp, name, val, sizeof(val)) == 0 ? val : NULL;
}

const char *e2e_str(const e2e_resp *r, const char *path)
{
    const cJSON *cur = r->json;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char seg[64];
        gb_strlcpy(seg, p, n + 1 < sizeof(seg) ? n + 1 : sizeof(seg));
        cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
        p += n + (dot ? 1 : 0);
    }
    return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

static char *drain(int fd)
{
    gb_buf b = {0};
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        gb_buf_append(&b, chunk, (size_t)n);
    return gb_buf_take(&b);
}

int e2e_cli(const char *const *args, const char *const *env, const char *stdin_text, char **out,
            char **err)
{
    char opath[] = "/tmp/gpubroker-cli-out-XXXXXX", epath[] = "/tmp/gpubroker-cli-err-XXXXXX";
    int ofd = mkstemp(opath), efd = mkstemp(epath), in[2];
    if (ofd < 0 || efd < 0 || pipe(in) != 0) fail_msg("cli temp files");
    /* the PostgreSQL variant: a command with --config uses that config's database */
    const char *env2[40];
    pg_env_list(args, NULL, env, env2);
    pid_t pid = spawn(args, env2, in[0], ofd, efd, in[1]);
    close(in[0]);
    if (stdin_text) {
        ssize_t w = write(in[1], stdin_text, strlen(stdin_text));
        (void)w;
    }
    close(in[1]);
    int st = wait_exit(pid, 60000);
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    char *o = drain(ofd), *e = drain(efd);
    close(ofd);
    close(efd);
    unlink(opath);
    unlink(epath);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}

void e2e_add_ssh_key(const e2e_daemon *d, const char *key, char *kid, size_t kn, char *pub,
                     size_t pn)
{
    static int made; /* a file and a key name of their own for each */
    char path[300], cmd[1024], body[1024];
    made++;
    snprintf(path, sizeof(path), "%s/id_e2e_%d_%d", d->dir, (int)getpid(), made);
    snprintf(cmd, sizeof(cmd), "rm -f %s %s.pub && ssh-keygen -q -N '' -t ed25519 -f %s", path,
             path, path);
    if (system(cmd) != 0) fail_msg("ssh-keygen failed (is openssh-client installed?)");
    snprintf(cmd, sizeof(cmd), "%s.pub", path);
    char *text = e2e_slurp(cmd, NULL);
    assert_non_null(text);
    text[strcspn(text, "\n")] = '\0';
    if (pub) snprintf(pub, pn, "%s", text);
    snprintf(body, sizeof(body), "{\"name\":\"k%d_%d\",\"public_key\":\"%s\"}", (int)getpid(), made,
             text);
    free(text);
    e2e_resp r;
    e2e_req(d, "POST", "/api/volt/ssh-keys", key, body, &r);
    if (r.status != 201) fail_msg("ssh key: %ld %s", r.status, r.body);
    snprintf(kid, kn, "%s", e2e_str(&r, "id"));
    e2e_resp_free(&r);
}

char *e2e_slurp(const char *path, size_t *len)
{
    char *s = NULL;
    size_t n = 0;
    if (gb_read_file(path, (size_t)1 << 30, &s, &n) != GB_OK) return NULL;
    if (len) *len = n;
    return s;
}

int e2e_file_contains(const char *path, const char *needle)
{
    size_t n = 0;
    char *s = e2e_slurp(path, &n);
    if (!s) return 0;
    int hit = memmem(s, n, needle, strlen(needle)) != NULL;
    free(s);
    return hit;
}

double e2e_metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ') return strtod(p + n + 1, NULL);
    return -1;
}

void e2e_text_job(const char *name, char *out, size_t n)
{
    snprintf(out, n,
             "{\"name\":\"%s\",\"taskType\":\"text\",\"model\":\"Qwen/Qwen2.5-0.5B\","
             "\"dsRepo\":\"myorg/support-qa\",\"hours\":1,\"fieldInstruction\":\"instruction\","
             "\"fieldOutput\":\"output\"}",
             name);
}

gb_err e2e_post_raw(const char *base_url, const char *path, const char *key, const char *body,
                    int timeout_ms, gb_http_resp *out)
{
    char url[512], auth[160];
    snprintf(url, sizeof(url), "%s%s", base_url, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    gb_http_req req = {.method = "POST",
                       .url = url,
                       .headers = h,
                       .body = body,
                       .body_len = strlen(body),
                       .timeout_ms = timeout_ms};
    return gb_http_do(&req, out, NULL);
}
