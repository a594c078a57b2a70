/* sim_trainer.c: the simulated trainer image. When a platform simulator starts a workload whose
 * image is SIM_TRAINER_IMAGE, a trainer runs beside it: on the simulator clock it reports
 * progress, then "evaluating", then "success" with an output model repo, to the report URL and
 * with the job token it finds in the workload's environment (GPUBROKER_REPORT_URL,
 * GPUBROKER_JOB_TOKEN, GPUBROKER_JOB_HOURS, GPUBROKER_JOB_ID). An hour of training takes five
 * minutes of simulator time. A report the broker does not take (no answer, 5xx, 408, 429) is
 * sent again with backoff until the job's deadline (start + hours on the simulator clock);
 * any other 4xx ends it. GET /_trainer/<workload id> serves the trainer's state as the
 * trainer protocol says (docs/fine-tuning.md). POST /_sim/trainer {"fail_next":N} makes the
 * next N trainers report "failure" half-way instead. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http_client.h"
#include "common/log.h"
#include "common/str.h"
#include "providers/sim/sim_internal.h"

#define SIM_TRAINER_MS_PER_HOUR (5 * 60 * 1000)
#define SIM_TRAINER_MAX 256                /* trainers kept at once, in the whole process */
#define SIM_TRAINER_RETRY_FIRST_MS 500     /* real time before a report is sent again */
#define SIM_TRAINER_RETRY_MAX_MS 30000     /* the backoff's cap, real time */
#define SIM_TRAINER_FAIL_AT 2              /* a failing trainer fails at its third step */
#define SIM_HOUR_MS ((int64_t)3600 * 1000) /* the job's deadline: hours on the sim clock */

typedef struct trainer {
    sim_server *s;
    char key[128]; /* the platform's workload id */
    char job_id[64];
    char url[512];
    char token[256];
    int64_t start, dur, deadline; /* simulator clock */
    int fail;
    volatile int stop;
    volatile int done; /* the thread has returned */
    int joined;        /* under g_mu */
    pthread_t th;
    struct trainer *next;
} trainer;

/* The trainer's steps, as fractions of its duration. */
static const double AT[] = {0.2, 0.4, 0.6, 0.8, 1.0};
#define STEPS ((int)(sizeof(AT) / sizeof(AT[0])))

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static void reap(sim_server *s, int all);
static trainer *g_trainers;
static int g_count; /* trainers in g_trainers */
static int g_fail_next;

/* The body of step k (0-based) as the trainer reports it, in out. */
static void step_json(const trainer *t, int k, char *out, size_t n)
{
    if (t->fail && k >= SIM_TRAINER_FAIL_AT)
        snprintf(out, n,
                 "{\"status\":\"failure\",\"message\":\"simulated trainer failure: loss "
                 "diverged\"}");
    else if (AT[k] < 0.8)
        snprintf(out, n, "{\"status\":\"training\",\"progress\":%.2f}", AT[k]);
    else if (AT[k] < 1.0)
        snprintf(out, n, "{\"status\":\"evaluating\",\"progress\":0.90}");
    else
        snprintf(out, n,
                 "{\"status\":\"success\",\"progress\":1.0,\"outputModelRepo\":\"gpubroker-"
                 "sim/%s\"}",
                 t->key);
}

/* How many steps the trainer has reached at now (0..STEPS); a failing one stops at its
 * failure. */
static int steps_at(const trainer *t, int64_t now)
{
    double frac = (double)(now - t->start) / (double)t->dur;
    int k = 0;
    while (k < STEPS && frac >= AT[k])
        k++;
    if (t->fail && k > SIM_TRAINER_FAIL_AT + 1) k = SIM_TRAINER_FAIL_AT + 1;
    return k;
}

/* Waits ms of real time in short slices; false when told to stop meanwhile. */
static int pause_ms(trainer *t, int64_t ms)
{
    while (ms > 0 && !t->stop) {
        int64_t k = ms > 100 ? 100 : ms;
        if (!sim_sleep_ms(t->s, k)) return 0;
        ms -= k;
    }
    return !t->stop;
}

/* Sends one report until the broker takes it (2xx) or refuses it (a 4xx other than 408 and
 * 429: sending it again cannot help); no answer, 5xx, 408 and 429 are sent again after 0.5 s,
 * doubling up to 30 s, until the job's deadline or the trainer is told to stop. */
static void report(trainer *t, const char *json)
{
    char auth[300];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t->token);
    const char *h[] = {auth, "Content-Type: application/json", "User-Agent: gpubroker-sim-trainer",
                       NULL};
    gb_http_req req = {.method = "POST",
                       .url = t->url,
                       .headers = h,
                       .body = json,
                       .body_len = strlen(json),
                       .timeout_ms = 5000};
    int64_t wait = SIM_TRAINER_RETRY_FIRST_MS;
    for (int tries = 1;; tries++) {
        gb_http_resp resp;
        gb_errmsg err = "";
        long st = 0;
        if (gb_http_do(&req, &resp, err) == GB_OK) {
            st = resp.status;
            gb_http_resp_free(&resp);
        }
        if (st >= 200 && st < 300) return;
        if (st >= 300 && !(st >= 500 || st == 408 || st == 429)) {
            GB_WARN("sim", "trainer %s: report refused with %ld; not sent again", t->key, st);
            return;
        }
        if (sim_now(t->s) >= t->deadline) {
            GB_WARN("sim", "trainer %s: report not taken after %d tries (%s), job deadline passed",
                    t->key, tries, st ? "error status" : err);
            return;
        }
        if (tries == 1)
            GB_INFO("sim", "trainer %s: report not taken (%s); sending it again with backoff",
                    t->key, st ? "error status" : err);
        if (!pause_ms(t, wait)) return;
        wait = wait * 2 > SIM_TRAINER_RETRY_MAX_MS ? SIM_TRAINER_RETRY_MAX_MS : wait * 2;
    }
}

static void *run(void *arg)
{
    trainer *t = arg;
    int sent = 0;
    while (!t->stop && sent < STEPS) {
        if (steps_at(t, sim_now(t->s)) > sent) {
            char body[512];
            step_json(t, sent, body, sizeof(body));
            report(t, body);
            if (t->fail && sent >= SIM_TRAINER_FAIL_AT) break;
            sent++;
            continue;
        }
        if (!pause_ms(t, 50)) break;
    }
    __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static const char *env_get(const cJSON *env, const char *name)
{
    /* {"K":"V"} objects, [{"name":"K","value":"V"}] arrays, or ["K=V"] arrays */
    if (cJSON_IsObject(env))
        return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(env, name));
    const cJSON *it;
    size_t nl = strlen(name);
    cJSON_ArrayForEach(it, env)
    {
        if (cJSON_IsString(it) && strncmp(it->valuestring, name, nl) == 0 &&
            it->valuestring[nl] == '=')
            return it->valuestring + nl + 1;
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
        if (n && strcmp(n, name) == 0)
            return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "value"));
    }
    return NULL;
}

static int stopping(sim_server *s)
{
    pthread_mutex_lock(&s->meta);
    int st = s->stopping;
    pthread_mutex_unlock(&s->meta);
    return st;
}

void sim_trainer_start(sim_server *s, const char *workload, const char *image, const cJSON *env)
{
    if (!image || strncmp(image, SIM_TRAINER_IMAGE, strlen(SIM_TRAINER_IMAGE)) != 0) return;
    const char *url = env_get(env, "GPUBROKER_REPORT_URL");
    const char *token = env_get(env, "GPUBROKER_JOB_TOKEN");
    const char *hours = env_get(env, "GPUBROKER_JOB_HOURS");
    const char *job = env_get(env, "GPUBROKER_JOB_ID");
    int h = 1;
    if (!url || !token) {
        GB_WARN("sim", "trainer for %s: no report URL or token in its environment", workload);
        return;
    }
    if (hours && gb_parse_int(hours, 1, 1000, &h)) h = 1;
    trainer *t = calloc(1, sizeof(*t));
    if (!t) return;
    reap(s, 0); /* join the threads that returned, free the trainers of workloads that ended */
    t->s = s;
    gb_strlcpy(t->key, workload, sizeof(t->key));
    gb_strlcpy(t->job_id, job ? job : "", sizeof(t->job_id));
    gb_strlcpy(t->url, url, sizeof(t->url));
    gb_strlcpy(t->token, token, sizeof(t->token));
    t->start = sim_now(s);
    t->dur = (int64_t)h * SIM_TRAINER_MS_PER_HOUR;
    t->deadline = t->start + (int64_t)h * SIM_HOUR_MS;
    pthread_mutex_lock(&g_mu);
    for (trainer *x = g_trainers; x; x = x->next) {
        if (x->s == s && strcmp(x->key, workload) == 0 && !x->stop) { /* already running */
            pthread_mutex_unlock(&g_mu);
            free(t);
            return;
        }
    }
    if (g_count >= SIM_TRAINER_MAX || stopping(s)) {
        pthread_mutex_unlock(&g_mu);
        GB_WARN("sim", "trainer for %s not started: %s", workload,
                g_count >= SIM_TRAINER_MAX ? "too many trainers" : "simulator stopping");
        free(t);
        return;
    }
    if (g_fail_next > 0) {
        t->fail = 1;
        g_fail_next--;
    }
    if (pthread_create(&t->th, NULL, run, t) != 0) {
        pthread_mutex_unlock(&g_mu);
        free(t);
        return;
    }
    t->next = g_trainers;
    g_trainers = t;
    g_count++;
    pthread_mutex_unlock(&g_mu);
    GB_DEBUG("sim", "trainer started for %s (%d h)%s", workload, h,
             t->fail ? ", told to fail" : "");
}

/* Joins the threads of s that have returned (all of them, told to stop, when all) and frees
 * the trainers that were told to stop (their workload ended). A workload's own stop only
 * flags its trainer: joining it there could wait on a report whose answer needs this very
 * simulator (the broker removes a finished job's pod). */
static void reap(sim_server *s, int all)
{
    pthread_mutex_lock(&g_mu);
    trainer **pp = &g_trainers, *gone = NULL;
    while (*pp) {
        trainer *t = *pp;
        if (t->s == s && !all && !t->joined && __atomic_load_n(&t->done, __ATOMIC_ACQUIRE)) {
            pthread_join(t->th, NULL); /* it has returned: at once */
            t->joined = 1;
        }
        if (t->s == s && (all || (t->stop && t->joined))) {
            t->stop = 1;
            *pp = t->next;
            t->next = gone;
            gone = t;
            g_count--;
        } else {
            pp = &t->next;
        }
    }
    pthread_mutex_unlock(&g_mu);
    while (gone) {
        trainer *n = gone->next;
        if (!gone->joined) pthread_join(gone->th, NULL);
        gb_memzero(gone->token, sizeof(gone->token));
        free(gone);
        gone = n;
    }
}

void sim_trainer_stop(sim_server *s, const char *workload)
{
    pthread_mutex_lock(&g_mu);
    for (trainer *t = g_trainers; t; t = t->next)
        if (t->s == s && strcmp(t->key, workload) == 0) t->stop = 1;
    pthread_mutex_unlock(&g_mu);
}

void sim_trainers_stop_all(sim_server *s)
{
    reap(s, 1);
}

void sim_trainer_state(sim_server *s, const sim_req *rq, sim_resp *rs)
{
    const char *key = rq->path + strlen("/_trainer/");
    if (strcmp(rq->method, "GET") != 0) {
        sim_error(s, rs, 405, "method %s is not allowed on %s", rq->method, rq->path);
        return;
    }
    char body[512] = "", job[64] = "";
    int found = 0;
    int64_t now = sim_now(s);
    pthread_mutex_lock(&g_mu);
    for (trainer *t = g_trainers; t && !found; t = t->next) {
        if (t->s != s || t->stop || strcmp(t->key, key) != 0) continue;
        int k = steps_at(t, now);
        if (k == 0)
            snprintf(body, sizeof(body), "{\"status\":\"training\",\"progress\":0}");
        else
            step_json(t, k - 1, body, sizeof(body));
        gb_strlcpy(job, t->job_id, sizeof(job));
        found = 1;
    }
    pthread_mutex_unlock(&g_mu);
    cJSON *o = found ? cJSON_Parse(body) : NULL;
    if (!o) {
        sim_error(s, rs, 404, "no trainer runs in workload %s", key);
        return;
    }
    cJSON_AddStringToObject(o, "jobId", job);
    sim_json(rs, 200, o);
}

void sim_trainer_control(sim_server *s, const sim_req *rq, sim_resp *rs)
{
    cJSON *b = sim_body(s, rq, rs);
    if (!b) return;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(b, "fail_next");
    if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 1000) {
        cJSON_Delete(b);
        sim_error(s, rs, 400, "fail_next must be a number from 0 to 1000");
        return;
    }
    pthread_mutex_lock(&g_mu);
    g_fail_next = (int)n->valuedouble;
    pthread_mutex_unlock(&g_mu);
    cJSON_Delete(b);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "fail_next", (double)g_fail_next);
    sim_json(rs, 200, o);
}
