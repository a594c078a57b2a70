/* scopes.c: scope names. */
#include "broker/api/scopes.h"

#include <string.h>

static const char *const NAMES[] = {"pods",     "templates",   "ssh-keys", "docker-credentials",
                                    "machines", "fine-tuning", "webhooks", "api-keys",
                                    "admin"};

unsigned scope_parse(const char *name)
{
    for (unsigned i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++)
        if (name && strcmp(name, NAMES[i]) == 0) return 1u << i;
    return 0;
}

void scope_to_json(unsigned mask, cJSON *arr)
{
    for (unsigned i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++)
        if (mask & (1u << i)) cJSON_AddItemToArray(arr, cJSON_CreateString(NAMES[i]));
}

const char *scope_name(unsigned bit)
{
    for (unsigned i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++)
        if (bit == (1u << i)) return NAMES[i];
    return "?";
}
