/* meter_worker.h: the worker that runs a metering round (broker/core/meter.h) every
 * metering.period_ms on its own database connection. */
#ifndef GB_METER_WORKER_H
#define GB_METER_WORKER_H

#include "broker/core/app.h"

typedef struct meter_worker meter_worker;

gb_err meter_worker_start(app *a, meter_worker **out);
/* Stops and joins the thread. NULL is fine. */
void meter_worker_stop(meter_worker *w);

#endif
