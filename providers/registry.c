/* registry.c: the adapter kinds gpubroker knows, by name (from the list in platforms.h). */
#include <string.h>

#include "providers/platforms.h"
#include "providers/provider.h"

#define PROV_DECLARE(n) extern const prov_ops prov_##n##_ops;
PROV_PLATFORMS(PROV_DECLARE)

#define PROV_REF(n) &prov_##n##_ops,
static const prov_ops *const KINDS[] = {PROV_PLATFORMS(PROV_REF)};
#define NKINDS (sizeof(KINDS) / sizeof(KINDS[0]))

const char *const *prov_kinds(void)
{
#define PROV_NAME(n) #n,
    static const char *const names[] = {PROV_PLATFORMS(PROV_NAME) NULL};
    return names;
}

const prov_ops *prov_ops_for(const char *kind)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (kind && strcmp(KINDS[i]->kind, kind) == 0) return KINDS[i];
    return NULL;
}

gb_err prov_adapter_new(const char *kind, const char *name, const char *base_url,
                        const char *secret, const cJSON *settings, prov_adapter **out)
{
    const prov_ops *ops = prov_ops_for(kind);
    if (!ops) {
        *out = NULL;
        return GB_ERR_NOT_FOUND;
    }
    return prov_adapter_init(ops, name, base_url, secret, settings, out);
}
