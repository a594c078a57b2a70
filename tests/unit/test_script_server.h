/* test_script_server.h: a tiny scripted loopback HTTP server for unit tests. It answers the
 * i-th connection with statuses[i] (and bodies[i] when given, else "ok"), one request per
 * connection, and keeps the head of every request it received so a test can check what was
 * really sent. Header-only (static inline, prefixed ss_). */
#ifndef GB_TEST_SCRIPT_SERVER_H
#define GB_TEST_SCRIPT_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SS_MAX 16

typedef struct {
    const int *statuses;
    const char *const *bodies; /* may be NULL */
    int n;
    const char *retry_after; /* sent with every answer when set */
    const char *header;      /* one more header line ("Name: value") sent with every answer */
    /* When set, requests may come in any order (concurrent calls): each is answered with the
     * first unused entry whose routes[i] begins its request line ("GET /api/v2/x"). */
    const char *const *routes;
    /* filled by the server */
    int fd;
    int port;
    atomic_int served;      /* counted before the answer is sent: a client that has its answer
                             * sees it counted */
    char got[SS_MAX][2048]; /* the first bytes of each request, in arrival order */
    bool used[SS_MAX];      /* with routes: the entries already answered */
    pthread_t thread;
} ss_script;

/* The script entry that answers request number k whose head is req. */
static inline int ss_pick(ss_script *s, int k, const char *req)
{
    if (!s->routes) return k;
    for (int i = 0; i < s->n && i < SS_MAX; i++) {
        if (!s->used[i] && strncmp(req, s->routes[i], strlen(s->routes[i])) == 0) {
            s->used[i] = true;
            return i;
        }
    }
    return -1;
}

static inline void *ss_serve(void *arg)
{
    ss_script *s = arg;
    for (int k = 0; k < s->n; k++) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) break;
        char *buf = k < SS_MAX ? s->got[k] : NULL;
        char scratch[2048];
        ssize_t r = read(c, buf ? buf : scratch, 2047); /* small requests fit in one read */
        (buf ? buf : scratch)[r > 0 ? r : 0] = '\0';
        int i = ss_pick(s, k, buf ? buf : scratch);
        int status = i >= 0 ? s->statuses[i] : 599;
        const char *body = i < 0                       ? "no such route in the script"
                           : s->bodies && s->bodies[i] ? s->bodies[i]
                                                       : "ok";
        char resp[4096];
        int len = snprintf(resp, sizeof(resp),
                           "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s%s%s%s%s"
                           "\r\n%s",
                           status, strlen(body), s->retry_after ? "Retry-After: " : "",
                           s->retry_after ? s->retry_after : "", s->retry_after ? "\r\n" : "",
                           s->header ? s->header : "", s->header ? "\r\n" : "", body);
        s->served++;
        ssize_t w = write(c, resp, (size_t)len);
        (void)w;
        close(c);
    }
    return NULL;
}

/* Binds a free loopback port and starts serving; 0 on success. */
static inline int ss_start(ss_script *s)
{
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &l) != 0 || listen(s->fd, 16) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->thread, NULL, ss_serve, s) == 0 ? 0 : -1;
}

/* Stops the server (a connection not yet made is not waited for) and joins its thread. */
static inline void ss_stop(ss_script *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
}

#endif
