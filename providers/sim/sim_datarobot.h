/* sim_datarobot.h: the DataRobot Workload API simulator's entry point, until sim.h lists it
 * beside the other platforms. */
#ifndef GB_SIM_DATAROBOT_H
#define GB_SIM_DATAROBOT_H

#include "providers/sim/sim.h"

const sim_platform *sim_platform_datarobot(void);

#endif
