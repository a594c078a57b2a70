/* scopes.c: scope names, from the one list GB_SCOPES. */
#include "broker/api/scopes.h"

#include <string.h>

static const char *const NAMES[] = {
#define SCOPE_NAME_(id, name, user) [id##_BIT] = name,
    GB_SCOPES(SCOPE_NAME_)
#undef SCOPE_NAME_
};

/* ", pods, templates, ..." : the list is read from its third byte. */
static const char NAME_LIST[] =
#define SCOPE_ITEM_(id, name, user) ", " name
    GB_SCOPES(SCOPE_ITEM_)
#undef SCOPE_ITEM_
    ;

_Static_assert(SCOPE_COUNT <= 32, "scopes are bits of an unsigned mask");

unsigned scope_parse(const char *name)
{
    for (unsigned i = 0; i < SCOPE_COUNT; i++)
        if (name && strcmp(name, NAMES[i]) == 0) return 1u << i;
    return 0;
}

void scope_to_json(unsigned mask, cJSON *arr)
{
    for (unsigned i = 0; i < SCOPE_COUNT; i++)
        if (mask & (1u << i)) cJSON_AddItemToArray(arr, cJSON_CreateString(NAMES[i]));
}

const char *scope_name(unsigned bit)
{
    for (unsigned i = 0; i < SCOPE_COUNT; i++)
        if (bit == (1u << i)) return NAMES[i];
    return "?";
}

const char *scope_names(void)
{
    return NAME_LIST + 2;
}
