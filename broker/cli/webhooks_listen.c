/* webhooks_listen.c: `gpubroker webhooks listen`: a local endpoint for the receiver's side. It
 * verifies every request (Standard Webhooks signature, timestamp within 5 minutes, a
 * webhook-id not seen before), prints each verified event on one line (the raw body with
 * --json) and answers 400 to anything else. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/cli/cli_resources.h"
#include "broker/cli/cli_util.h"
#include "common/clock.h"
#include "common/str.h"
#include "webhooks/sign.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define SEEN_MAX 4096
#define BODY_MAX (1 << 20)

typedef struct {
    const char *secret;
    int json;
    int delay_ms; /* each verified answer waits this long (a slow receiver) */
    pthread_mutex_t mu;
    char seen[SEEN_MAX][WH_ID_MAX + 1];
    int nseen, next;
    long verified, rejected;
} listener;

typedef struct {
    gb_buf body;
    int too_big;
} req;

static int seen_before(listener *l, const char *id)
{
    for (int i = 0; i < l->nseen; i++)
        if (strcmp(l->seen[i], id) == 0) return 1;
    gb_strlcpy(l->seen[l->next], id, sizeof(l->seen[0]));
    l->next = (l->next + 1) % SEEN_MAX;
    if (l->nseen < SEEN_MAX) l->nseen++;
    return 0;
}

static enum MHD_Result answer(struct MHD_Connection *c, int status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    (void)url;
    (void)version;
    listener *l = cls;
    req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof(*r)))) return MHD_NO;
        *con_cls = r;
        return MHD_YES;
    }
    if (*size) {
        if (r->body.len + *size > BODY_MAX)
            r->too_big = 1;
        else
            gb_buf_append(&r->body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0) return answer(c, 405, "POST only\n");
    if (r->too_big) return answer(c, 413, "body too large\n");
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-id");
    const char *ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-timestamp");
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-signature");
    const char *body = r->body.data ? r->body.data : "";
    wh_verify_result v = wh_verify(l->secret, id, ts, sig, body, r->body.len, gb_wall_ms() / 1000,
                                   WH_DEFAULT_TOLERANCE_S);
    pthread_mutex_lock(&l->mu);
    int dup = v == WH_VERIFY_OK && seen_before(l, id);
    if (v == WH_VERIFY_OK && !dup) {
        l->verified++;
        if (l->json) {
            fwrite(body, 1, r->body.len, stdout);
            fputc('\n', stdout);
        } else {
            cJSON *j = cJSON_ParseWithLength(body, r->body.len);
            const char *ev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "event"));
            const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status"));
            char t[32];
            gb_time_format(gb_wall_ms(), t, sizeof(t));
            printf("%s %s %s%s%s\n", t, ev ? ev : "(no event)", id, st ? " status=" : "",
                   st ? st : "");
            cJSON_Delete(j);
        }
        fflush(stdout);
    } else {
        l->rejected++;
        fprintf(stderr, "rejected %s: %s\n", id ? id : "(no webhook-id)",
                dup ? "duplicate webhook-id" : wh_verify_str(v));
    }
    pthread_mutex_unlock(&l->mu);
    if (v != WH_VERIFY_OK) return answer(c, 400, wh_verify_str(v));
    if (l->delay_ms > 0) { /* thread per connection: only this answer waits */
        struct timespec d = {l->delay_ms / 1000, (long)(l->delay_ms % 1000) * 1000000L};
        nanosleep(&d, NULL);
    }
    return dup ? answer(c, 200, "duplicate ignored\n") : answer(c, 200, "ok\n");
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    req *r = *con_cls;
    if (r) {
        gb_buf_free(&r->body);
        free(r);
    }
}

static const char LISTEN_HELP[] =
    "usage: gpubroker webhooks listen --secret whsec_... [--port N] [--json] [--delay-ms N]\n"
    "\n"
    "Serves POST on 127.0.0.1:PORT (default 9000; 0 = any free port, printed), verifies every\n"
    "request (Standard Webhooks signature, timestamp within 5 minutes, webhook-id not seen\n"
    "before) and prints each verified event on one line (--json: the raw body). Anything else\n"
    "gets 400 and a line on stderr. --delay-ms N (0-60000) answers each verified event N ms\n"
    "after printing it, like a slow receiver: to watch your deliveries time out and retry.\n"
    "Runs until SIGINT/SIGTERM.\n";

int cli_webhooks_listen(int argc, char **argv)
{
    cli_opt o[] = {CLI_VALUE("secret"), CLI_VALUE("port"), CLI_FLAG("json"), CLI_VALUE("delay-ms")};
    const char *pos[1];
    int np, help, port = 9000, delay = 0;
    int rc = cli_parse(argc, argv, o, N(o), pos, 0, &np, &help);
    if (rc || help) return rc ? rc : cli_help(LISTEN_HELP);
    if (!o[0].set || (strncmp(o[0].val, "whsec_", 6) && strncmp(o[0].val, "whpk_", 5)))
        return cli_usage_error("--secret whsec_... (or a whpk_ public key) is required");
    if (o[1].set && gb_parse_int(o[1].val, 0, 65535, &port))
        return cli_usage_error("--port must be a number from 0 to 65535");
    if (o[3].set && gb_parse_int(o[3].val, 0, 60000, &delay))
        return cli_usage_error("--delay-ms must be a number from 0 to 60000");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    listener *l = calloc(1, sizeof(*l));
    if (!l) return CLI_ERR_CONN;
    l->secret = o[0].val;
    l->json = o[2].set;
    l->delay_ms = delay;
    pthread_mutex_init(&l->mu, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, (uint16_t)port, NULL, NULL,
        on_request, l, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
        on_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!d) {
        cli_error(CLI_ERR_CONN, "IO", 0, "cannot listen on 127.0.0.1:%d", port);
        free(l);
        return CLI_ERR_CONN;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "listening on http://127.0.0.1:%u\n", info ? info->port : (unsigned)port);
    printf("LISTEN_URL=http://127.0.0.1:%u\n", info ? info->port : (unsigned)port);
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    fprintf(stderr, "%ld verified, %ld rejected\n", l->verified, l->rejected);
    pthread_mutex_destroy(&l->mu);
    free(l);
    return CLI_OK;
}
