/* registry.c: the adapter kinds gpubroker knows, by name. */
#include <string.h>

#include "providers/provider.h"

extern const prov_ops prov_targon_ops;
extern const prov_ops prov_volt_ops;
extern const prov_ops prov_lium_ops;
extern const prov_ops prov_runai_ops;
extern const prov_ops prov_primus_ops;
extern const prov_ops prov_datarobot_ops;

static const prov_ops *const KINDS[] = {&prov_targon_ops, &prov_volt_ops,   &prov_lium_ops,
                                        &prov_runai_ops,  &prov_primus_ops, &prov_datarobot_ops};
#define NKINDS (sizeof(KINDS) / sizeof(KINDS[0]))

const char *const *prov_kinds(void)
{
    static const char *const names[] = {"targon", "volt",   "lium",
                                        "runai",  "primus", "datarobot", NULL};
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
