/* api_server.h: the HTTP server (libmicrohttpd, epoll, a thread pool): body limits, the
 * auth -> rate limit -> scope -> handler pipeline, metrics and access logs. */
#ifndef GB_API_SERVER_H
#define GB_API_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "broker/core/app.h"

typedef struct api_server api_server;

/* Listens on cfg.listen:cfg.port (0 = any free port); *port_out gets the bound port. */
gb_err api_server_start(app *a, api_server **out, uint16_t *port_out, char *err, size_t errsz);
void api_server_stop(api_server *s);
/* With TLS on (server.tls_cert_file), reads the certificate and key files again and serves
 * them to new connections; open ones keep theirs. On failure the old pair stays and err says
 * why (a key readable by others, a mismatched pair, ...). */
gb_err api_server_tls_reload(api_server *s, const char *cert_path, const char *key_path, char *err,
                             size_t errsz);
/* The hub of the server's event streams (api_events.h). */
struct ev_hub *api_server_hub(api_server *s);

#endif
