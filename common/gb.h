/* gb.h: the project-wide error enum and a few tiny helpers every module uses.
 * Results travel through out-parameters; functions return gb_err. */
#ifndef GB_H
#define GB_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    GB_OK = 0,
    GB_ERR_NOMEM,     /* allocation failed */
    GB_ERR_INVALID,   /* bad input (caller's fault) */
    GB_ERR_NOT_FOUND, /* no such object */
    GB_ERR_CONFLICT,  /* exists already / wrong state */
    GB_ERR_DB,        /* SQLite failed */
    GB_ERR_CRYPTO,    /* sealing/opening/verification failed */
    GB_ERR_IO,        /* file or socket I/O failed */
    GB_ERR_AUTH,      /* missing or bad credentials */
    GB_ERR_FORBIDDEN, /* authenticated but not allowed */
    GB_ERR_LIMIT,     /* a size or rate limit was exceeded */
    GB_ERR_HTTP,      /* an HTTP exchange failed */
    GB_ERR_TIMEOUT,   /* an operation timed out */
    GB_ERR_PROVIDER,  /* an upstream provider answered with an error */
    GB_ERR_INTERNAL,  /* a bug or an impossible state */
    GB_ERR_CAPACITY,  /* a provider has no capacity for the request now */
    GB_ERR_PAYMENT    /* not enough money (ours at a provider, or the account's) */
} gb_err;

/* Error messages. A function that takes `char *err` or `gb_errmsg err` writes at most
 * GB_ERRMSG_MAX bytes there (NUL included), whatever its module, so a buffer declared
 * gb_errmsg fits every such function and can be handed on from one module to another. The
 * modules' own names for the size (PROV_ERR_MAX, GB_JSON_ERR_MAX, VAULT_ERR_MAX,
 * SSHKEY_ERR_MAX, GB_CONFIG_ERR_MAX) are this one. Public prototypes spell the parameter
 * gb_errmsg, so GCC refuses a smaller local array passed to them (-Wstringop-overflow). */
#define GB_ERRMSG_MAX 512
typedef char gb_errmsg[GB_ERRMSG_MAX];

/* A short, static, English description of an error code. */
const char *gb_strerror(gb_err e);

#define GB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define GB_UNUSED(x) ((void)(x))

#endif
