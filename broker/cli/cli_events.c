/* cli_events.c: `gpubroker events [--types LIST] [--id ID] [--after N] [--follow] [--json]`:
 * the account's event log (GET /api/volt/events): what it holds, or with --follow what
 * happens from now on, reconnecting with Last-Event-ID so nothing is lost or repeated. */
#include "broker/cli/cli_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cli/cli_sse.h"
#include "broker/cli/cli_util.h"
#include "common/str.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char EVENTS_HELP[] =
    "usage: gpubroker events [--types LIST] [--id ID] [--after N] [--follow] [--json]\n"
    "\n"
    "The account's events, as webhooks carry them: pod.<status>, placement.attempt,\n"
    "fine_tuning.job.status, fine_tuning.job.completed, account.balance_low, account.budget.\n"
    "Without --follow: the events the log still holds (events.retention_days, 7) after event\n"
    "N (default: all). With --follow: the events from now on (or after N) as they happen,\n"
    "until interrupted; a dropped connection is resumed where it stopped. When events after\n"
    "N were removed by the retention before they were read, a warning says so on stderr.\n"
    "--types takes a comma list (pod.running, pod.*, *), --id a pod or job id. Each line:\n"
    "ID  AT  EVENT  SUBJECT  SUMMARY; --json prints {\"id\", \"event\", \"data\"} a line.\n";

static const char *jstr(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int print_event(void *ud, const cli_sse_event *ev)
{
    int json = *(int *)ud;
    cJSON *p = cJSON_Parse(ev->data);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        int64_t id = 0;
        gb_parse_i64(ev->id, 0, INT64_MAX, &id);
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddStringToObject(o, "event", ev->event);
        if (p)
            cJSON_AddItemToObject(o, "data", p);
        else
            cJSON_AddStringToObject(o, "data", ev->data);
        cli_print_json(stdout, o);
        cJSON_Delete(o);
        fflush(stdout);
        return 0;
    }
    const char *subject = jstr(p, "podId")   ? jstr(p, "podId")
                          : jstr(p, "jobId") ? jstr(p, "jobId")
                                             : jstr(p, "accountId");
    char summary[400] = "";
    const char *st = jstr(p, "status"), *prev = jstr(p, "previousStatus");
    if (!strcmp(ev->event, "placement.attempt")) {
        const cJSON *price = cJSON_GetObjectItemCaseSensitive(p, "price");
        snprintf(summary, sizeof(summary), "%.40s:%.80s $%.2f/h %s%s%.200s",
                 jstr(p, "provider") ?: "?", jstr(p, "offerId") ?: "?",
                 cJSON_IsNumber(price) ? price->valuedouble : 0, jstr(p, "outcome") ?: "?",
                 jstr(p, "reason") ? ": " : "", jstr(p, "reason") ?: "");
    } else if (st) {
        snprintf(summary, sizeof(summary), "%.32s%s%.32s%s%.200s", prev ? prev : "",
                 prev ? " -> " : "", st, jstr(p, "reason") ? ": " : "", jstr(p, "reason") ?: "");
    } else if (jstr(p, "action")) {
        snprintf(summary, sizeof(summary), "%.200s", jstr(p, "action"));
    }
    printf("%-6s %-20s %-26s %-26s %s\n", ev->id, jstr(p, "at") ?: "", ev->event,
           subject ? subject : "", summary);
    fflush(stdout);
    cJSON_Delete(p);
    return 0;
}

static char *events_path(const char *types, const char *id)
{
    char *t = types ? cli_url_escape(types) : NULL, *i = id ? cli_url_escape(id) : NULL;
    char *path = NULL;
    if ((!types || t) && (!id || i))
        path =
            gb_asprintf("/api/volt/events?types=%s%s%s", t ? t : "*", i ? "&id=" : "", i ? i : "");
    free(t);
    free(i);
    return path;
}

typedef struct {
    int json;
    int whole_log; /* a listing of the whole log: its pruned start is no news */
    int (*first)(void *ud);
    void *ud;
    int first_rc; /* -1: not run yet */
} run_ctx;

static int on_event(void *ud, const cli_sse_event *ev)
{
    run_ctx *c = ud;
    if (strcmp(ev->event, "gap") != 0) return print_event(&c->json, ev);
    /* events after our position were pruned unread (docs/api.md, The event stream): said on
     * stderr, so stdout keeps one line per event */
    cJSON *p = cJSON_Parse(ev->data);
    const cJSON *after = cJSON_GetObjectItemCaseSensitive(p, "after"),
                *through = cJSON_GetObjectItemCaseSensitive(p, "prunedThrough");
    if (!c->whole_log && cJSON_IsNumber(after) && cJSON_IsNumber(through))
        fprintf(stderr,
                "warning: events after %.0f through %.0f were removed by the event log's "
                "retention (events.retention_days) before they were read; some may be missing\n",
                after->valuedouble, through->valuedouble);
    cJSON_Delete(p);
    return 0;
}

static int on_open(void *ud)
{
    run_ctx *c = ud;
    if (c->first_rc >= 0 || !c->first) return 0; /* a reconnect: resumed, nothing to print */
    c->first_rc = c->first(c->ud);
    return c->first_rc != 0;
}

static int run(const char *types, const char *id, const char *after, int follow, int json,
               int (*first)(void *ud), void *ud)
{
    char *path = events_path(types, id);
    if (!path) return CLI_ERR_CONN;
    run_ctx c = {json, !after && !follow, first, ud, -1};
    cli_sse_follow_opts o = {
        .path = path, .on_event = on_event, .on_open = on_open, .ud = &c, .once = !follow};
    gb_strlcpy(o.last_id, after ? after : follow ? "" : "0", sizeof(o.last_id));
    int r = cli_sse_follow(&o);
    free(path);
    if (r == CLI_SSE_STOPPED) return c.first_rc > 0 ? c.first_rc : CLI_OK;
    if (r == CLI_SSE_UNAVAILABLE)
        fprintf(stderr, "error: the server offers no event stream to this key (it needs the "
                        "pods, fine-tuning or webhooks scope), or it kept failing\n");
    return r == CLI_SSE_UNAVAILABLE ? CLI_ERR_API : CLI_ERR_CONN;
}

int cli_events_follow(const char *types, const char *id, int json, int (*first)(void *ud), void *ud)
{
    return run(types, id, NULL, 1, json, first, ud);
}

int cli_events(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json"), CLI_VALUE("types"), CLI_VALUE("id"), CLI_VALUE("after"),
                   CLI_FLAG("follow")};
    const char *pos[1];
    int np, help;
    int rc = cli_parse(argc, argv, o, N(o), pos, 0, &np, &help);
    if (rc || help) return rc ? rc : cli_help(EVENTS_HELP);
    int64_t n;
    if (o[3].set && gb_parse_i64(o[3].val, 0, INT64_MAX, &n))
        return cli_usage_error("--after must be an event id (a whole number >= 0)");
    return run(o[1].set ? o[1].val : NULL, o[2].set ? o[2].val : NULL, o[3].set ? o[3].val : NULL,
               o[4].set, o[0].set, NULL, NULL);
}
