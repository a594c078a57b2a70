/* api_events.h: the event stream's hub (api_events.c): the open Server-Sent Events streams of
 * GET /api/volt/events, parked (suspended) while they have nothing to send, and the notifier
 * thread that resumes them when an event commits, a keepalive is due or the server stops. */
#ifndef GB_API_EVENTS_H
#define GB_API_EVENTS_H

#include "broker/core/app.h"

typedef struct ev_hub ev_hub;

/* Starts the notifier (its own database connection) and registers it as the event log's
 * listener. NULL when the thread cannot start. */
ev_hub *ev_hub_start(app *a);
/* Refuses new streams and ends the open ones: every parked stream is resumed and answers
 * end-of-stream. Call before MHD_stop_daemon (which must not meet a suspended connection). */
void ev_hub_close(ev_hub *h);
/* Stops the notifier and frees what is left; after MHD_stop_daemon. NULL is fine. */
void ev_hub_free(ev_hub *h);
/* Streams open now. */
int ev_hub_open(ev_hub *h);

#endif
