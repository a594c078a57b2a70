/* platforms.h: the one list of the platforms gpubroker speaks to. Each entry X(name) stands
 * for an adapter `prov_<name>_ops` (providers/<name>*.c) and a simulator
 * `sim_platform_<name>()` (providers/sim/sim_<name>*.c); the adapter registry, the simulator
 * registry, the CLI's help and the tests derive from it. Adding a platform: see
 * docs/providers.md, "Adding a platform". */
#ifndef GB_PLATFORMS_H
#define GB_PLATFORMS_H

#define PROV_PLATFORMS(X) X(targon) X(volt) X(lium) X(runai) X(primus) X(datarobot)

#endif
