/* sim_trainer.c: the simulated trainer image. When a platform simulator starts a workload whose
 * image is SIM_TRAINER_IMAGE, a trainer runs beside it: on the simulator clock it reports
 * progress, then "evaluating", then "success" with an output model repo, to the report URL and
 * with the job token it finds in the workload's environment (GPUBROKER_REPORT_URL,
 * GPUBROKER_JOB_TOKEN, GPUBROKER_JOB_HOURS). An hour of training takes five minutes of
 * simulator time. POST /_sim/trainer {"fail_next":N} makes the next N trainers report
 * "failure" half-way instead. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/http_client.h"
#include "common/log.h"
#include "common/str.h"
#include "providers/sim/sim_internal.h"

#define SIM_TRAINER_MS_PER_HOUR (5 * 60 * 1000)

typedef struct trainer {
    sim_server *s;
    char key[128]; /* the platform's workload id */
    char url[512];
    char token[256];
    int64_t start, dur;
    int fail;
    volatile int stop;
    volatile int done; /* the thread has returned */
    pthread_t th;
    struct trainer *next;
} trainer;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static void reap(sim_server *s, int all);
static trainer *g_trainers;
static int g_fail_next;

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
    gb_http_resp resp;
    gb_errmsg err = "";
    for (int i = 0; i < 3; i++) { /* a trainer retries a report a couple of times */
        if (gb_http_do(&req, &resp, err) == GB_OK) {
            long st = resp.status;
            gb_http_resp_free(&resp);
            if (st < 500) {
                if (st >= 300) GB_WARN("sim", "trainer %s: report answered %ld", t->key, st);
                return;
            }
        }
        struct timespec ts = {0, 200000000};
        nanosleep(&ts, NULL);
    }
    GB_WARN("sim", "trainer %s: report failed: %s", t->key, err);
}

static void *run(void *arg)
{
    trainer *t = arg;
    static const double at[] = {0.2, 0.4, 0.6, 0.8, 1.0};
    int step = 0;
    while (!t->stop && step < 5) {
        double frac = (double)(sim_now(t->s) - t->start) / (double)t->dur;
        if (frac >= at[step]) {
            char body[512];
            if (t->fail && at[step] >= 0.6) {
                report(t, "{\"status\":\"failure\",\"message\":\"simulated trainer failure: loss "
                          "diverged\"}");
                break;
            }
            if (at[step] < 0.8)
                snprintf(body, sizeof(body), "{\"status\":\"training\",\"progress\":%.2f}",
                         at[step]);
            else if (at[step] < 1.0)
                snprintf(body, sizeof(body), "{\"status\":\"evaluating\",\"progress\":0.90}");
            else
                snprintf(body, sizeof(body),
                         "{\"status\":\"success\",\"progress\":1.0,\"outputModelRepo\":\"gpubroker-"
                         "sim/%s\"}",
                         t->key);
            report(t, body);
            step++;
            continue;
        }
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
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

void sim_trainer_start(sim_server *s, const char *workload, const char *image, const cJSON *env)
{
    if (!image || strncmp(image, SIM_TRAINER_IMAGE, strlen(SIM_TRAINER_IMAGE)) != 0) return;
    const char *url = env_get(env, "GPUBROKER_REPORT_URL");
    const char *token = env_get(env, "GPUBROKER_JOB_TOKEN");
    const char *hours = env_get(env, "GPUBROKER_JOB_HOURS");
    int h = 1;
    if (!url || !token) {
        GB_WARN("sim", "trainer for %s: no report URL or token in its environment", workload);
        return;
    }
    if (hours && gb_parse_int(hours, 1, 1000, &h)) h = 1;
    trainer *t = calloc(1, sizeof(*t));
    if (!t) return;
    reap(s, 0); /* free the trainers of workloads that ended */
    t->s = s;
    gb_strlcpy(t->key, workload, sizeof(t->key));
    gb_strlcpy(t->url, url, sizeof(t->url));
    gb_strlcpy(t->token, token, sizeof(t->token));
    t->start = sim_now(s);
    t->dur = (int64_t)h * SIM_TRAINER_MS_PER_HOUR;
    pthread_mutex_lock(&g_mu);
    for (trainer *x = g_trainers; x; x = x->next) {
        if (x->s == s && strcmp(x->key, workload) == 0 && !x->stop) { /* already running */
            pthread_mutex_unlock(&g_mu);
            free(t);
            return;
        }
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
    pthread_mutex_unlock(&g_mu);
    GB_DEBUG("sim", "trainer started for %s (%d h)%s", workload, h,
             t->fail ? ", told to fail" : "");
}

/* Joins and frees the trainers of s (all when all, else those that have finished and were
 * told to stop). A workload's own stop only flags its trainer: joining it there could wait on
 * a report whose answer needs this very simulator (the broker removes a finished job's pod). */
static void reap(sim_server *s, int all)
{
    pthread_mutex_lock(&g_mu);
    trainer **pp = &g_trainers, *done = NULL;
    while (*pp) {
        trainer *t = *pp;
        if (t->s == s && (all || (t->stop && __atomic_load_n(&t->done, __ATOMIC_ACQUIRE)))) {
            t->stop = 1;
            *pp = t->next;
            t->next = done;
            done = t;
        } else {
            pp = &t->next;
        }
    }
    pthread_mutex_unlock(&g_mu);
    while (done) {
        trainer *n = done->next;
        pthread_join(done->th, NULL);
        free(done);
        done = n;
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
