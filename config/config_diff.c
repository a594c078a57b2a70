/* config_diff.c: which keys differ between two loaded configurations (for a reload on SIGHUP:
 * the daemon applies those it can change live and names the rest as needing a restart). */
#include <string.h>

#include "config/config_internal.h"

size_t gb_config_diff(const gb_config *a, const gb_config *b, const char **changed, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        const gb_config_key *k = &gb_config_keys[i];
        const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;
        bool same;
        switch (k->type) {
        case GB_CONFIG_T_STRING: {
            const char *sa = *(char *const *)(const void *)pa,
                       *sb = *(char *const *)(const void *)pb;
            same = strcmp(sa ? sa : "", sb ? sb : "") == 0;
            break;
        }
        case GB_CONFIG_T_INT64:
            same = memcmp(pa, pb, sizeof(int64_t)) == 0;
            break;
        case GB_CONFIG_T_INT:
        case GB_CONFIG_T_LOGLEVEL:
        default:
            same = memcmp(pa, pb, sizeof(int)) == 0;
            break;
        }
        if (!same && n < max) changed[n++] = k->path;
    }
    return n;
}
