/* cli_logs.c: `gpubroker pods logs ID` and `gpubroker jobs logs ID` (the job's trainer pod),
 * once or with --follow: no platform streams logs to us, so --follow polls the last lines
 * with a growing pause while nothing comes, prints only the lines after the longest overlap
 * with the previous answer, and ends when the pod stops (the job ends) or on Ctrl-C. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_util.h"
#include "common/str.h"
#include "jobs/finetune.h"
#include "providers/provider.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define WINDOW 1000          /* lines asked for on each poll of --follow */
#define BASE_MS 5000         /* the pause after lines came (GPUBROKER_LOGS_INTERVAL_MS) */
#define IDLE_MAX_MS 30000    /* the longest pause while nothing comes */
#define MAX_LINE_BYTES 65536 /* a longer "line" is cut (the platforms' own limits are lower) */

typedef struct {
    char **v;
    size_t n;
} lines;

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Splits text at '\n' (a last line without one counts; "\r\n" loses its '\r'). */
static gb_err lines_split(const char *text, lines *out)
{
    out->v = NULL;
    out->n = 0;
    size_t cap = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        size_t keep = len > MAX_LINE_BYTES ? MAX_LINE_BYTES : len;
        if (keep && p[keep - 1] == '\r') keep--;
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **v = realloc(out->v, nc * sizeof(*v));
            if (!v) goto oom;
            out->v = v;
            cap = nc;
        }
        if (!(out->v[out->n] = gb_strndup(p, keep))) goto oom;
        out->n++;
        p = nl ? nl + 1 : p + len;
    }
    return GB_OK;
oom:
    lines_free(out);
    return GB_ERR_NOMEM;
}

/* The largest k with the last k lines of prev equal to the first k of cur: cur's lines from
 * k on are new. (Identical lines repeated across the whole overlap can hide new ones; logs
 * with timestamps, as the platforms write them, cannot.) */
static size_t overlap(const lines *prev, const lines *cur)
{
    size_t max = prev->n < cur->n ? prev->n : cur->n;
    for (size_t k = max; k > 0; k--) {
        size_t i = 0;
        while (i < k && strcmp(prev->v[prev->n - k + i], cur->v[i]) == 0)
            i++;
        if (i == k) return k;
    }
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void print_line(const char *id, const char *line, int json)
{
    if (!json) {
        puts(line);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "line", line);
        cli_print_json(stdout, o);
        cJSON_Delete(o);
    }
}

typedef struct {
    const char *id;
    const char *base; /* "/api/volt/pods/ID/logs" */
    int job;          /* a job's logs: it ends with the job */
    int tail;
    int json;
} logs_req;

/* True when the answer says nothing more will come: the pod settled, the job ended. */
static int ended(const cJSON *j, int job)
{
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status"));
    if (!st) return 0;
    if (job) {
        ft_state s;
        return ft_state_parse(st, &s) == 0 && ft_state_terminal(s);
    }
    pod_status s;
    return pod_status_parse(st, &s) == 0 && pod_status_settled(s);
}

/* After a logs call failed while following: has the pod or job ended (its logs may be gone
 * with it)? */
static int ended_now(const logs_req *r)
{
    char *path = r->job ? gb_asprintf("/api/volt/fine-tuning/%s", r->id)
                        : gb_asprintf("/api/volt/pods/%s", r->id);
    cJSON *j = NULL;
    long status = 0;
    int rc = path ? cli_call_quiet("GET", path, &j, NULL, &status) : CLI_ERR_CONN;
    free(path);
    int done = !rc && ended(r->job ? cJSON_GetObjectItemCaseSensitive(j, "job") : j, r->job);
    cJSON_Delete(j);
    return done || status == 404;
}

static int once(const logs_req *r)
{
    char *path = gb_asprintf("%s?tail=%d", r->base, r->tail);
    cJSON *j = NULL;
    int rc = path ? cli_call("GET", path, NULL, &j) : CLI_ERR_CONN;
    free(path);
    if (rc) return rc;
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "logs"));
    if (!r->json) {
        fputs(text ? text : "", stdout);
        if (text && *text && text[strlen(text) - 1] != '\n') fputc('\n', stdout);
    } else {
        lines l;
        if (lines_split(text, &l)) {
            cJSON_Delete(j);
            return cli_error(CLI_ERR_CONN, "NO_MEMORY", 0, "out of memory");
        }
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < l.n; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(l.v[i]));
        lines_free(&l);
        cJSON_DeleteItemFromObjectCaseSensitive(j, "logs");
        cJSON_AddItemToObject(j, "lines", arr);
        cli_print_json(stdout, j);
    }
    cJSON_Delete(j);
    return CLI_OK;
}

static int follow(const logs_req *r)
{
    long base = BASE_MS, pause = BASE_MS;
    int ms, first = 1, rc = CLI_OK;
    const char *iv = getenv("GPUBROKER_LOGS_INTERVAL_MS");
    if (iv && gb_parse_int(iv, 10, 60000, &ms) == 0) base = pause = ms;
    char *path = gb_asprintf("%s?tail=%d", r->base, r->tail > WINDOW ? r->tail : WINDOW);
    lines prev = {0};
    if (!path) return cli_error(CLI_ERR_CONN, "NO_MEMORY", 0, "out of memory");
    for (;;) {
        cJSON *j = NULL, *eb = NULL;
        long status = 0;
        int e = cli_call_quiet("GET", path, &j, &eb, &status);
        if (e) {
            const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(eb, "message"));
            const char *c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(eb, "code"));
            int passing = e == CLI_ERR_CONN || status == 429 || status >= 500;
            if (!first && ended_now(r)) { /* its logs went with it */
                cJSON_Delete(eb);
                break;
            }
            rc = cli_error(e, c ? c : "CONNECTION", status, "%s%s", m ? m : "cannot read the logs",
                           first || !passing ? "" : " (retrying)");
            cJSON_Delete(eb);
            if (first || !passing) break;
            rc = CLI_OK;
            pause = pause * 2 > IDLE_MAX_MS ? IDLE_MAX_MS : pause * 2;
            sleep_ms(pause);
            continue;
        }
        lines cur;
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "logs"));
        if (lines_split(text, &cur)) {
            cJSON_Delete(j);
            rc = cli_error(CLI_ERR_CONN, "NO_MEMORY", 0, "out of memory");
            break;
        }
        size_t from =
            first ? (cur.n > (size_t)r->tail ? cur.n - (size_t)r->tail : 0) : overlap(&prev, &cur);
        for (size_t i = from; i < cur.n; i++)
            print_line(r->id, cur.v[i], r->json);
        fflush(stdout);
        int done = ended(j, r->job), grew = from < cur.n;
        cJSON_Delete(j);
        lines_free(&prev);
        prev = cur;
        first = 0;
        if (done) break;
        pause = grew ? base : (pause * 2 > IDLE_MAX_MS ? IDLE_MAX_MS : pause * 2);
        if (pause < base) pause = base;
        sleep_ms(pause);
    }
    lines_free(&prev);
    free(path);
    return rc;
}

static const char POD_LOGS_HELP[] =
    "usage: gpubroker pods logs ID [--tail N] [--follow] [--json]\n"
    "\n"
    "The pod's last N lines (default 200, at most 10000) as its platform keeps them. --follow\n"
    "then prints each new line once as it comes, until the pod stops or Ctrl-C: the platform\n"
    "is polled (every 5 s while lines come, up to 30 s while none do;\n"
    "GPUBROKER_LOGS_INTERVAL_MS sets the shorter pause). --json prints one object\n"
    "{\"id\",\"status\",\"lines\":[...]}, with --follow one {\"id\",\"line\"} object per line.\n";

static const char JOB_LOGS_HELP[] =
    "usage: gpubroker jobs logs ID [--tail N] [--follow] [--json]\n"
    "\n"
    "The training logs of a fine-tuning job: its trainer pod's last N lines (default 200).\n"
    "--follow prints new lines as they come until the job ends (or Ctrl-C); --json as for\n"
    "`gpubroker pods logs` (the object also has pod_id and pod_status). A job that has no pod\n"
    "yet answers 409 NO_TRAINER_POD (exit 11).\n";

static int logs_cmd(int argc, char **argv, int job)
{
    cli_opt o[] = {CLI_FLAG("json"), CLI_VALUE("tail"), CLI_FLAG("follow")};
    const char *pos[1];
    int np, help, tail = 200;
    int rc = cli_parse(argc, argv, o, N(o), pos, 1, &np, &help);
    if (rc) return rc;
    if (help) return cli_help(job ? JOB_LOGS_HELP : POD_LOGS_HELP);
    if (np != 1) return cli_usage_error("%s logs: give one ID (see --help)", job ? "jobs" : "pods");
    if (o[1].set && gb_parse_int(o[1].val, 1, 10000, &tail))
        return cli_usage_error("--tail must be a number from 1 to 10000");
    char *base = job ? gb_asprintf("/api/volt/fine-tuning/%s/logs", pos[0])
                     : gb_asprintf("/api/volt/pods/%s/logs", pos[0]);
    if (!base) return cli_error(CLI_ERR_CONN, "NO_MEMORY", 0, "out of memory");
    logs_req r = {.id = pos[0], .base = base, .job = job, .tail = tail, .json = o[0].set};
    rc = o[2].set ? follow(&r) : once(&r);
    free(base);
    return rc;
}

int cli_pods_logs(int argc, char **argv)
{
    return logs_cmd(argc, argv, 0);
}

int cli_jobs_logs(int argc, char **argv)
{
    return logs_cmd(argc, argv, 1);
}
