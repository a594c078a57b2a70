/* sim_registry.c: the simulators by platform name, for the sandbox and `gpubroker sim`. */
#include <string.h>

#include "providers/sim/sim.h"

const sim_platform *sim_platform_by_name(const char *name)
{
    const sim_platform *all[] = {sim_platform_targon(), sim_platform_volt(),
                                 sim_platform_lium(),   sim_platform_runai(),
                                 sim_platform_primus(), sim_platform_datarobot()};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (name && strcmp(all[i]->name, name) == 0) return all[i];
    return NULL;
}

const char *const *sim_platform_names(void)
{
    static const char *const names[] = {"targon", "volt",   "lium",
                                        "runai",  "primus", "datarobot", NULL};
    return names;
}
