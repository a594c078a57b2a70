/* sim_util.c: the simulator clock (real time, sped up or advanced by tests) and the helpers
 * platform handlers use to read requests and write answers. */
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/json.h"
#include "providers/sim/sim_internal.h"

#define SIM_JSON_DEPTH 64

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Caller holds meta. */
static int64_t now_locked(const sim_server *s, int64_t mono)
{
    double run = (double)(mono - s->clk_base_mono_us) * s->clk_speed / 1000.0;
    return s->clk_base_sim + (int64_t)run;
}

void sim_clock_init(sim_server *s)
{
    s->clk_base_sim = gb_wall_ms();
    s->clk_base_mono_us = mono_us();
    s->clk_speed = 1.0;
}

int64_t sim_now(sim_server *s)
{
    pthread_mutex_lock(&s->meta);
    int64_t now = now_locked(s, mono_us());
    pthread_mutex_unlock(&s->meta);
    return now;
}

void sim_clock_advance(sim_server *s, int64_t ms)
{
    pthread_mutex_lock(&s->meta);
    s->clk_base_sim += ms;
    pthread_mutex_unlock(&s->meta);
}

void sim_clock_set_speed(sim_server *s, double speed)
{
    pthread_mutex_lock(&s->meta);
    int64_t mono = mono_us();
    s->clk_base_sim = now_locked(s, mono); /* rebase: no jump at the change */
    s->clk_base_mono_us = mono;
    s->clk_speed = speed;
    pthread_mutex_unlock(&s->meta);
}

double sim_clock_speed(sim_server *s)
{
    pthread_mutex_lock(&s->meta);
    double v = s->clk_speed;
    pthread_mutex_unlock(&s->meta);
    return v;
}

bool sim_sleep_ms(sim_server *s, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->meta);
    while (!s->stopping)
        if (pthread_cond_timedwait(&s->wake, &s->meta, &ts) == ETIMEDOUT) break;
    bool ok = !s->stopping;
    pthread_mutex_unlock(&s->meta);
    return ok;
}

uint16_t sim_port(const sim_server *s)
{
    return s ? s->port : 0;
}

const char *sim_secret(const sim_server *s)
{
    return s ? s->secret : NULL;
}

const char *sim_header(const sim_req *rq, const char *name)
{
    if (!rq || !rq->conn || !name) return NULL;
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *sim_query(const sim_req *rq, const char *name)
{
    if (!rq || !rq->conn || !name) return NULL;
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

void sim_json(sim_resp *rs, int status, cJSON *body)
{
    free(rs->body);
    rs->body = NULL;
    rs->status = status;
    if (!body) return;
    rs->body = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!rs->body) rs->status = 500; /* out of memory: an empty 500 */
}

/* The answer when a platform has no error function: {"error":message,"status":N}. */
static void default_error(sim_resp *rs, int status, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "error", message);
        cJSON_AddNumberToObject(j, "status", status);
    }
    sim_json(rs, status, j);
}

void sim_error(sim_server *s, sim_resp *rs, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) msg[0] = '\0';
    free(rs->body);
    rs->body = NULL;
    if (s && s->p && s->p->error)
        s->p->error(rs, status, msg);
    else
        default_error(rs, status, msg);
}

cJSON *sim_body(sim_server *s, const sim_req *rq, sim_resp *rs)
{
    cJSON *j = NULL;
    if (gb_json_parse(rq->body, rq->body_len, SIM_JSON_DEPTH, &j, NULL) != GB_OK) {
        sim_error(s, rs, 400, "invalid JSON body");
        return NULL;
    }
    return j;
}
