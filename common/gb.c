/* gb.c: descriptions of the project-wide error codes. */
#include "common/gb.h"

const char *gb_strerror(gb_err e)
{
    switch (e) {
    case GB_OK: return "ok";
    case GB_ERR_NOMEM: return "out of memory";
    case GB_ERR_INVALID: return "invalid input";
    case GB_ERR_NOT_FOUND: return "not found";
    case GB_ERR_CONFLICT: return "conflict";
    case GB_ERR_DB: return "database error";
    case GB_ERR_CRYPTO: return "cryptographic failure";
    case GB_ERR_IO: return "I/O error";
    case GB_ERR_AUTH: return "authentication failed";
    case GB_ERR_FORBIDDEN: return "forbidden";
    case GB_ERR_LIMIT: return "limit exceeded";
    case GB_ERR_HTTP: return "HTTP error";
    case GB_ERR_TIMEOUT: return "timed out";
    case GB_ERR_PROVIDER: return "provider error";
    case GB_ERR_INTERNAL: return "internal error";
    case GB_ERR_CAPACITY: return "no capacity";
    case GB_ERR_PAYMENT: return "payment required";
    }
    return "unknown error";
}
