/* metrics.h: request counters by route and status and a latency histogram per route, and
 * provider call counters, rendered in the Prometheus text format. */
#ifndef GB_METRICS_H
#define GB_METRICS_H

#include <stdint.h>

#include "common/str.h"

typedef struct metrics metrics;

#define METRICS_MAX_ROUTES 128

metrics *metrics_new(void);
void metrics_free(metrics *m);
/* route: index into the route table, or -1 for unmatched paths. Lock-free. */
void metrics_observe(metrics *m, int route, int status, int64_t micros);
/* Appends the exposition text; names[i] is the pattern of route i ("GET /api/volt/pods"). */
gb_err metrics_render(metrics *m, const char *const *names, int nroutes, gb_buf *out);

/* Provider calls by platform and operation (metrics_prov.c): metrics_new installs the
 * prov_call hook that counts them (process-wide). */
void metrics_prov_install(void);
gb_err metrics_prov_render(gb_buf *out);

#endif
