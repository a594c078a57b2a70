/* gb.h: the project-wide error codes (one list, GB_ERRORS) and a few tiny helpers every module
 * uses. Results travel through out-parameters; functions return gb_err. */
#ifndef GB_H
#define GB_H

#include <stddef.h>
#include <stdint.h>

/* THE list of error codes: X(id, description, HTTP status, API error code, API message).
 * The enum, gb_strerror and the API's default answer (gb_err_http) derive from it. The HTTP
 * columns are the answer when an error reaches the API with nothing more specific to say (a
 * store's error for the object named by "%s" in the message); handlers that know more answer
 * their own (a provider's error is a 502 in broker/api/pod_json.c, a short balance a 402).
 * A new code goes at the end. */
#define GB_ERRORS(X)                                                                               \
    /* not an error: answering with it is a bug */                                                 \
    X(GB_OK, "ok", 500, "INTERNAL_ERROR", "Internal server error")                                 \
    /* allocation failed */                                                                        \
    X(GB_ERR_NOMEM, "out of memory", 500, "INTERNAL_ERROR", "Internal server error")               \
    /* bad input (caller's fault) */                                                               \
    X(GB_ERR_INVALID, "invalid input", 400, "VALIDATION_ERROR", "invalid %s")                      \
    /* no such object */                                                                           \
    X(GB_ERR_NOT_FOUND, "not found", 404, "NOT_FOUND", "%s not found")                             \
    /* exists already / wrong state */                                                             \
    X(GB_ERR_CONFLICT, "conflict", 409, "CONFLICT", "%s conflicts with an existing one")           \
    /* SQLite failed */                                                                            \
    X(GB_ERR_DB, "database error", 500, "INTERNAL_ERROR", "Internal server error")                 \
    /* sealing/opening/verification failed */                                                      \
    X(GB_ERR_CRYPTO, "cryptographic failure", 500, "INTERNAL_ERROR", "Internal server error")      \
    /* file or socket I/O failed */                                                                \
    X(GB_ERR_IO, "I/O error", 500, "INTERNAL_ERROR", "Internal server error")                      \
    /* missing or bad credentials */                                                               \
    X(GB_ERR_AUTH, "authentication failed", 500, "INTERNAL_ERROR", "Internal server error")        \
    /* authenticated but not allowed */                                                            \
    X(GB_ERR_FORBIDDEN, "forbidden", 500, "INTERNAL_ERROR", "Internal server error")               \
    /* a size or rate limit was exceeded */                                                        \
    X(GB_ERR_LIMIT, "limit exceeded", 500, "INTERNAL_ERROR", "Internal server error")              \
    /* an HTTP exchange failed */                                                                  \
    X(GB_ERR_HTTP, "HTTP error", 500, "INTERNAL_ERROR", "Internal server error")                   \
    /* an operation timed out */                                                                   \
    X(GB_ERR_TIMEOUT, "timed out", 500, "INTERNAL_ERROR", "Internal server error")                 \
    /* an upstream provider answered with an error */                                              \
    X(GB_ERR_PROVIDER, "provider error", 500, "INTERNAL_ERROR", "Internal server error")           \
    /* a bug or an impossible state */                                                             \
    X(GB_ERR_INTERNAL, "internal error", 500, "INTERNAL_ERROR", "Internal server error")           \
    /* a provider has no capacity for the request now */                                           \
    X(GB_ERR_CAPACITY, "no capacity", 500, "INTERNAL_ERROR", "Internal server error")              \
    /* not enough money (ours at a provider, or the account's) */                                  \
    X(GB_ERR_PAYMENT, "payment required", 500, "INTERNAL_ERROR", "Internal server error")          \
    /* an Idempotency-Key was used before with another request (broker/api/idem.c) */              \
    X(GB_ERR_IDEMPOTENCY, "idempotency key reused", 409, "IDEMPOTENCY_MISMATCH",                   \
      "This Idempotency-Key was used with another %s; send a new key")

typedef enum {
#define GB_ERR_ENUM_(id, text, status, code, message) id,
    GB_ERRORS(GB_ERR_ENUM_)
#undef GB_ERR_ENUM_
} gb_err;

/* Error messages. A function that takes `char *err` or `gb_errmsg err` writes at most
 * GB_ERRMSG_MAX bytes there (NUL included), whatever its module, so a buffer declared
 * gb_errmsg fits every such function and can be handed on from one module to another. The
 * modules' own names for the size (PROV_ERR_MAX, GB_JSON_ERR_MAX, VAULT_ERR_MAX,
 * SSHKEY_ERR_MAX, GB_CONFIG_ERR_MAX) are this one. Public prototypes spell the parameter
 * gb_errmsg, so GCC refuses a smaller local array passed to them (-Wstringop-overflow). */
#define GB_ERRMSG_MAX 512
typedef char gb_errmsg[GB_ERRMSG_MAX];

/* A short, static, English description of an error code ("unknown error" for no code). */
const char *gb_strerror(gb_err e);

/* The API's default answer to an error: the HTTP status, the Volt error code and the
 * message, in which "%s" (if any) stands for the object concerned. */
typedef struct {
    int status;
    const char *code;
    const char *message;
} gb_err_http;

/* The row of GB_ERRORS for e; a value that is no code gets the answer of GB_ERR_INTERNAL. */
const gb_err_http *gb_err_to_http(gb_err e);

#define GB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define GB_UNUSED(x) ((void)(x))

#endif
