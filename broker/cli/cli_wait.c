/* cli_wait.c: the CLI's waits (`jobs wait`, `jobs submit --wait`, `pods create|get --wait`,
 * `place --wait`). A wait follows the event stream (GET /api/volt/events filtered to its pod
 * or job: one request however long it waits) after one GET of the current state; when the
 * stream is not available it polls, backing off exponentially (to 30 s) while nothing
 * changes and honouring Retry-After on 429 and 503, so no wait can use up a key's hourly
 * requests. On a terminal, a status line on stderr shows the state and the time waited. */
#include "broker/cli/cli_wait.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_sse.h"
#include "broker/cli/cli_util.h"
#include "common/clock.h"
#include "common/str.h"

#define POLL_CAP_MS 30000
#define CONN_TRIES 5 /* consecutive unreachable GETs before a wait gives up */

typedef struct waiter waiter;
struct waiter {
    const char *kind; /* "pod", "job" */
    const char *id;
    char *path; /* the GET */
    const char *want;
    const char *(*status_of)(const cJSON *answer);
    int (*verdict)(const waiter *w, const char *status); /* 1 reached, -1 failed, 0 not yet */
    int json;
    FILE *out;
    char last[32];
    int done;        /* the verdict of last */
    int rc;          /* set when the wait must end with an error already printed */
    int64_t t0;      /* gb_mono_ms() */
    bool tty;        /* stderr is a terminal */
    bool line_shown; /* the status line is on screen */
    char note[96];   /* extra words on the status line ("rate limited", "polling") */
};

/* ---- the status line ---- */

static void line_clear(waiter *w)
{
    if (w->line_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        w->line_shown = false;
    }
}

static int line_draw(void *ud)
{
    waiter *w = ud;
    if (!w->tty) return 0;
    long s = (long)((gb_mono_ms() - w->t0) / 1000);
    fprintf(stderr, "\r\033[Kwaiting for %s %.64s: %s  %ldm%02lds%s%s", w->kind, w->id,
            w->last[0] ? w->last : "...", s / 60, s % 60, w->note[0] ? "  " : "", w->note);
    fflush(stderr);
    w->line_shown = true;
    return 0;
}

/* A (possibly) new state: printed when it changed; sets w->done. */
static void note_status(waiter *w, const char *st)
{
    if (!st || !st[0] || !strcmp(st, w->last)) return;
    line_clear(w);
    char ts[32];
    time_t now = time(NULL);
    strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&now));
    /* under --json stdout is the answer and stderr an error object only: the changes are
     * shown there to a person (a terminal), never to a program */
    if (!w->json || isatty(STDERR_FILENO)) {
        fprintf(w->out, "%s  %s  %s%s%s\n", ts, w->id, w->last, w->last[0] ? " -> " : "", st);
        fflush(w->out);
    }
    gb_strlcpy(w->last, st, sizeof(w->last));
    w->done = w->verdict(w, st);
    line_draw(w);
}

/* ---- pods and jobs ---- */

static const char *pod_status(const cJSON *j)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status"));
}

static int pod_verdict(const waiter *w, const char *st)
{
    if (!strcmp(st, w->want)) return 1;
    return !strcmp(st, "failed") || !strcmp(st, "deleted") ? -1 : 0;
}

static const char *job_status(const cJSON *j)
{
    return pod_status(cJSON_GetObjectItemCaseSensitive(j, "job"));
}

static int job_verdict(const waiter *w, const char *st)
{
    (void)w;
    if (!strcmp(st, "success")) return 1;
    return !strcmp(st, "cancelled") || !strncmp(st, "failure", 7) ||
                   !strcmp(st, "node_training_failure")
               ? -1
               : 0;
}

/* Prints the end of a wait from the final answer j and returns the exit code. */
static int finish(waiter *w, const cJSON *j)
{
    line_clear(w);
    const char *st = w->last;
    if (!strcmp(w->kind, "pod")) {
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
        if (w->done > 0 && w->json) cli_print_json(stdout, j);
        if (w->done > 0 && !w->json) {
            const char *ssh =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "ssh_command"));
            const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "url"));
            if (ssh) printf("ssh: %s\n", ssh);
            if (url) printf("url: %s\n", url);
        }
        if (w->done < 0)
            cli_error(CLI_WAIT_FAILED, "POD_FAILED", 0, "pod %s is %s%s%s", w->id, st,
                      msg ? ": " : "", msg ? msg : "");
        return w->done > 0 ? CLI_OK : CLI_WAIT_FAILED;
    }
    const cJSON *job = cJSON_GetObjectItemCaseSensitive(j, "job");
    const char *repo =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "outputModelRepo"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "message"));
    if (w->json)
        cli_print_json(stdout, j);
    else if (repo)
        printf("output model: %s\n", repo);
    if (w->done < 0)
        cli_error(!strcmp(st, "cancelled") ? CLI_WAIT_CANCELLED : CLI_WAIT_FAILED,
                  !strcmp(st, "cancelled") ? "JOB_CANCELLED" : "JOB_FAILED", 0,
                  "job %s ended %s%s%s", w->id, st, msg ? ": " : "", msg ? msg : "");
    return w->done > 0 ? CLI_OK : !strcmp(st, "cancelled") ? CLI_WAIT_CANCELLED : CLI_WAIT_FAILED;
}

/* Prints an API error answer like cli_call does. */
static void print_api_error(long status, const cJSON *j)
{
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
    const char *c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "code"));
    if (cli_json_errors)
        cli_error(cli_exit_for_status(status), c ? c : "HTTP_ERROR", status, "%s",
                  m ? m : "request failed");
    else
        fprintf(stderr, "error: %s (HTTP %ld%s%s)\n", m ? m : "request failed", status,
                c ? " " : "", c ? c : "");
}

/* One GET of the state. 1: got it (*out the answer when out is set); 0: try again later
 * (*retry_ms set); -1: the wait ends with w->rc (printed). */
static int get_state(waiter *w, int *conn_fails, int64_t *retry_ms, cJSON **out)
{
    long status = 0;
    cJSON *j = NULL;
    char err[300] = "";
    *retry_ms = -1;
    int r = cli_get_once(w->path, &status, &j, retry_ms, err, sizeof(err));
    if (r == CLI_ERR_USAGE) return w->rc = r, -1;
    if (r) {
        if (++*conn_fails >= CONN_TRIES) {
            line_clear(w);
            cli_error(CLI_ERR_CONN, "CONNECTION", 0, "%s", err);
            return w->rc = CLI_ERR_CONN, -1;
        }
        snprintf(w->note, sizeof(w->note), "(server unreachable, retrying)");
        return 0;
    }
    *conn_fails = 0;
    if (status >= 200 && status < 300 && j) {
        w->note[0] = '\0';
        note_status(w, w->status_of(j));
        if (out)
            *out = j;
        else
            cJSON_Delete(j);
        return 1;
    }
    if (status == 429 || status == 503 || status == 502 || status == 504) {
        snprintf(w->note, sizeof(w->note), "(%s, waiting as asked)",
                 status == 429 ? "rate limited" : "server busy");
        cJSON_Delete(j);
        return 0;
    }
    line_clear(w);
    print_api_error(status, j);
    cJSON_Delete(j);
    return w->rc = cli_exit_for_status(status), -1; /* as cli_call exits */
}

/* ---- following the stream ---- */

static int on_open(void *ud)
{
    waiter *w = ud;
    int fails = 0;
    int64_t ra;
    /* the state as the stream starts: what happens from now on arrives as events */
    if (get_state(w, &fails, &ra, NULL) < 0) return 1;
    return w->done != 0;
}

static int on_event(void *ud, const cli_sse_event *ev)
{
    waiter *w = ud;
    cJSON *p = cJSON_Parse(ev->data);
    if (!strncmp(ev->event, "pod.", 4) || !strncmp(ev->event, "fine_tuning.job.", 16))
        note_status(w, pod_status(p));
    cJSON_Delete(p);
    return w->done != 0;
}

/* ---- polling ---- */

static int poll_loop(waiter *w, int64_t deadline, int64_t base_ms)
{
    int conn_fails = 0, quiet = 0;
    for (;;) {
        int64_t ra = -1;
        char before[32];
        gb_strlcpy(before, w->last, sizeof(before));
        int r = get_state(w, &conn_fails, &ra, NULL);
        if (r < 0 || w->done) return r < 0 ? -1 : 1;
        if (r > 0 && strcmp(before, w->last) != 0) quiet = 0;
        int64_t wait = base_ms;
        for (int i = 0; i < quiet && wait < POLL_CAP_MS; i++)
            wait *= 2;
        if (wait > POLL_CAP_MS) wait = POLL_CAP_MS;
        if (ra > wait) wait = ra; /* Retry-After: never sooner */
        if (r == 0 && ra < 0) wait = cli_backoff_ms(conn_fails ? conn_fails : 1, POLL_CAP_MS, -1);
        quiet++;
        line_draw(w);
        if (cli_sleep_until(wait, deadline, line_draw, w)) return 0;
    }
}

static int wait_for(waiter *w, int timeout_s, const char *types)
{
    w->out = w->json ? stderr : stdout;
    w->t0 = gb_mono_ms();
    w->tty = isatty(STDERR_FILENO) != 0;
    int64_t deadline = w->t0 + (int64_t)timeout_s * 1000;
    int rc = CLI_WAIT_TIMEOUT;
    char *epath = NULL;
    cJSON *final = NULL;
    if (!w->path) return CLI_ERR_CONN;
    int64_t base = 1000;
    int tmp;
    const char *iv = getenv("GPUBROKER_WAIT_INTERVAL_MS");
    if (iv && gb_parse_int(iv, 10, 60000, &tmp) == 0) base = tmp;
    int stream = !(getenv("GPUBROKER_NO_STREAM") && getenv("GPUBROKER_NO_STREAM")[0] == '1');
    int got = 0; /* 1: a verdict, -1: an error (w->rc), 0: the deadline */
    char *eid = cli_url_escape(w->id);
    if (stream && eid && (epath = gb_asprintf("/api/volt/events?types=%s&id=%s", types, eid))) {
        cli_sse_follow_opts o = {.path = epath,
                                 .deadline_ms = deadline,
                                 .on_event = on_event,
                                 .on_open = on_open,
                                 .on_tick = line_draw,
                                 .ud = w};
        int fr = cli_sse_follow(&o);
        if (fr == CLI_SSE_STOPPED) got = w->rc ? -1 : 1;
        if (fr == CLI_SSE_FATAL) {
            got = -1;
            w->rc = CLI_ERR_API;
        }
        if (fr == CLI_SSE_UNAVAILABLE) stream = 0;
    } else {
        stream = 0;
    }
    if (!stream) {
        snprintf(w->note, sizeof(w->note), "(polling)");
        got = poll_loop(w, deadline, base);
    }
    if (got > 0) {
        /* the whole object for the answer (an event carries only its state) */
        int fails = 0;
        int64_t ra;
        int r = 0;
        for (int i = 0; i < CONN_TRIES && (r = get_state(w, &fails, &ra, &final)) == 0; i++)
            cli_sleep_until(cli_backoff_ms(i + 1, POLL_CAP_MS, ra), 0, line_draw, w);
        rc = r > 0 ? finish(w, final) : w->rc ? w->rc : CLI_ERR_CONN;
    } else if (got < 0) {
        rc = w->rc;
    } else {
        line_clear(w);
        if (w->want)
            cli_error(CLI_ERR_TIMEOUT, "TIMEOUT", 0,
                      "pod %s did not reach %s within %d s (it is %s)", w->id, w->want, timeout_s,
                      w->last[0] ? w->last : "unknown");
        else
            cli_error(CLI_ERR_TIMEOUT, "TIMEOUT", 0, "job %s did not finish within %d s (it is %s)",
                      w->id, timeout_s, w->last[0] ? w->last : "unknown");
    }
    line_clear(w);
    cJSON_Delete(final);
    free(epath);
    free(eid);
    free(w->path);
    return rc;
}

/* GET path of id under base (escaped), or NULL. */
static char *path_of(const char *base, const char *id)
{
    char *e = cli_url_escape(id);
    char *p = e ? gb_asprintf("%s/%s", base, e) : NULL;
    free(e);
    return p;
}

int cli_pods_wait(const char *id, const char *want, int timeout_s, int json)
{
    waiter w = {.kind = "pod",
                .id = id,
                .path = path_of("/api/volt/pods", id),
                .want = want,
                .status_of = pod_status,
                .verdict = pod_verdict,
                .json = json};
    return wait_for(&w, timeout_s, "pod.*");
}

int cli_wait_job(const char *id, int timeout_s, int json)
{
    waiter w = {.kind = "job",
                .id = id,
                .path = path_of("/api/volt/fine-tuning", id),
                .status_of = job_status,
                .verdict = job_verdict,
                .json = json};
    return wait_for(&w, timeout_s, "fine_tuning.job.*");
}
