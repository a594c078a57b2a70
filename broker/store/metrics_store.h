/* metrics_store.h: the /metrics families that come from the database (metrics_store.c). */
#ifndef GB_METRICS_STORE_H
#define GB_METRICS_STORE_H

#include "common/db.h"
#include "common/str.h"

/* Appends the families in the Prometheus text format. */
gb_err metrics_store_render(gb_db *db, gb_buf *out);

#endif
