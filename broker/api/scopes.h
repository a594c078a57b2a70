/* scopes.h: API key scopes as a bit mask, and their names as the Volt API spells them, all
 * from the one list GB_SCOPES. */
#ifndef GB_SCOPES_H
#define GB_SCOPES_H

#include <cjson/cJSON.h>

/* THE list of scopes: X(id, name, given to a new key by default). A scope's bit is its place
 * in the list and keys store their mask in the database, so a new scope goes at the end.
 * docs/api.md lists the names by hand (test_broker_scopes checks it). */
#define GB_SCOPES(X)                                                                               \
    X(SCOPE_PODS, "pods", 1)                                                                       \
    X(SCOPE_TEMPLATES, "templates", 1)                                                             \
    X(SCOPE_SSH_KEYS, "ssh-keys", 1)                                                               \
    X(SCOPE_DOCKER_CREDENTIALS, "docker-credentials", 1)                                           \
    X(SCOPE_MACHINES, "machines", 1)                                                               \
    X(SCOPE_FINE_TUNING, "fine-tuning", 1)                                                         \
    X(SCOPE_WEBHOOKS, "webhooks", 1)                                                               \
    X(SCOPE_API_KEYS, "api-keys", 1)                                                               \
    X(SCOPE_ADMIN, "admin", 0) /* implies every scope */

enum {
#define SCOPE_BIT_(id, name, user) id##_BIT,
    GB_SCOPES(SCOPE_BIT_)
#undef SCOPE_BIT_
        SCOPE_COUNT
};

enum {
#define SCOPE_MASK_(id, name, user) id = 1u << id##_BIT,
    GB_SCOPES(SCOPE_MASK_)
#undef SCOPE_MASK_
};

#define SCOPE_USER_(id, name, user) | ((user) ? (unsigned)id : 0u)
#define SCOPE_ANY_(id, name, user) | (unsigned)id
/* Every scope given by default (all but admin): the default for a new key. */
#define SCOPE_ALL_USER (0u GB_SCOPES(SCOPE_USER_))
#define SCOPE_ALL (0u GB_SCOPES(SCOPE_ANY_))

/* "pods" -> SCOPE_PODS; 0 when unknown. */
unsigned scope_parse(const char *name);
/* Adds the scope names of mask to arr (a JSON array). */
void scope_to_json(unsigned mask, cJSON *arr);
/* The name of a single scope bit, or "?" */
const char *scope_name(unsigned bit);
/* Every name in the list's order: "pods, templates, ..., admin" (for messages and help). */
const char *scope_names(void);

#endif
