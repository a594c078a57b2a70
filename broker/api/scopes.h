/* scopes.h: API key scopes as a bit mask, and their names as the Volt API spells them. */
#ifndef GB_SCOPES_H
#define GB_SCOPES_H

#include <cjson/cJSON.h>

enum {
    SCOPE_PODS = 1u << 0,
    SCOPE_TEMPLATES = 1u << 1,
    SCOPE_SSH_KEYS = 1u << 2,
    SCOPE_DOCKER_CREDENTIALS = 1u << 3,
    SCOPE_MACHINES = 1u << 4,
    SCOPE_FINE_TUNING = 1u << 5,
    SCOPE_WEBHOOKS = 1u << 6,
    SCOPE_API_KEYS = 1u << 7,
    SCOPE_ADMIN = 1u << 8,
};
#define SCOPE_ALL_USER 0xffu /* every scope but admin: the default for a new key */
#define SCOPE_ALL 0x1ffu

/* "pods" -> SCOPE_PODS; 0 when unknown. */
unsigned scope_parse(const char *name);
/* Adds the scope names of mask to arr (a JSON array). */
void scope_to_json(unsigned mask, cJSON *arr);
/* The name of a single scope bit, or "?" */
const char *scope_name(unsigned bit);

#endif
