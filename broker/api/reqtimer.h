/* reqtimer.h: the bound on receiving a whole request. Every open connection of the HTTP server
 * has a slot holding its socket and a deadline; a sweep shuts down (shutdown(2)) the sockets
 * whose request has not arrived whole by then, so a client trickling bytes is cut off even
 * though it is never idle. The server removes a slot before its socket is closed, under the
 * same lock the sweep holds, so a sweep never touches a reused descriptor. */
#ifndef GB_REQTIMER_H
#define GB_REQTIMER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct reqtimer reqtimer;
typedef struct reqtimer_slot reqtimer_slot;

/* Room for capacity connections, each given timeout_ms to send a whole request. NULL when
 * out of memory. */
reqtimer *reqtimer_new(int capacity, int64_t timeout_ms);
void reqtimer_free(reqtimer *t);
/* A new connection on socket fd: its first request is due by now_ms + timeout. NULL when every
 * slot is taken (the connection is then not bounded). Thread-safe, like all below. */
reqtimer_slot *reqtimer_add(reqtimer *t, int fd, int64_t now_ms);
/* The connection is about to close its socket: forget it. NULL is fine. */
void reqtimer_remove(reqtimer *t, reqtimer_slot *s);
/* The next request on the connection is due by now_ms + timeout (after an answer). */
void reqtimer_arm(reqtimer *t, reqtimer_slot *s, int64_t now_ms);
/* The request has arrived whole: no deadline while it is answered. */
void reqtimer_disarm(reqtimer *t, reqtimer_slot *s);
/* True when the connection's request is past its deadline. */
bool reqtimer_expired(reqtimer *t, reqtimer_slot *s, int64_t now_ms);
/* Shuts down every socket whose request is past its deadline (each once); returns how many. */
int reqtimer_sweep(reqtimer *t, int64_t now_ms);
/* Connections in slots now. */
int reqtimer_count(reqtimer *t);

#endif
