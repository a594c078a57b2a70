/* sim_registry.c: the simulators by platform name, for the sandbox and `gpubroker sim` (from
 * the one list of platforms in providers/platforms.h). */
#include <string.h>

#include "providers/platforms.h"
#include "providers/sim/sim.h"

const sim_platform *sim_platform_by_name(const char *name)
{
#define SIM_REF(n) sim_platform_##n(),
    const sim_platform *all[] = {PROV_PLATFORMS(SIM_REF)};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (name && strcmp(all[i]->name, name) == 0) return all[i];
    return NULL;
}

const char *const *sim_platform_names(void)
{
#define SIM_NAME(n) #n,
    static const char *const names[] = {PROV_PLATFORMS(SIM_NAME) NULL};
    return names;
}
