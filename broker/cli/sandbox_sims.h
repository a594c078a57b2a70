/* sandbox_sims.h: the one door between the daemon and the provider simulators. The sandbox
 * starts a simulator of every platform through it and `gpubroker sim` runs one alone; it is
 * built apart (gb_sandbox, which links gb_sim), so the daemon's core (gb_broker) does not link
 * the simulators and only the gpubroker binary carries them. */
#ifndef GB_SANDBOX_SIMS_H
#define GB_SANDBOX_SIMS_H

#include <stdio.h>

#include "broker/core/app.h"

typedef struct sandbox_sims sandbox_sims;

/* The image whose pods the simulators run as a fine-tuning trainer ("<name>:latest"). */
const char *sandbox_trainer_image(void);
/* Starts a simulator of every platform on loopback with a fresh random secret, runs its clock
 * speed times faster than real time and registers it as the provider of the same name. On
 * failure prints why to stderr, stops what started and returns non-OK (*out NULL). */
gb_err sandbox_sims_start(app *a, int speed, sandbox_sims **out);
/* Prints SIM_<NAME>_URL=http://127.0.0.1:<port>, one line per simulator. */
void sandbox_sims_print(const sandbox_sims *s, FILE *f);
/* Stops every simulator and frees s. NULL is fine. */
void sandbox_sims_stop(sandbox_sims *s);

#endif
