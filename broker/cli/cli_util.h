/* cli_util.h: what the CLI's client commands share: calling the daemon's API with
 * GPUBROKER_URL and GPUBROKER_API_KEY, reporting its errors, and printing tables or JSON. */
#ifndef GB_CLI_UTIL_H
#define GB_CLI_UTIL_H

#include <cjson/cJSON.h>
#include <stdio.h>

/* Exit codes shared by every command: THE list (CLI_EXIT_CODES feeds `gpubroker --help`;
 * docs/cli.md lists the same). The numbers of 0-8 are those the commands always had. */
#define CLI_OK 0
#define CLI_ERR_API 1           /* any other error the server answered with (e.g. 400) */
#define CLI_ERR_USAGE 2         /* bad command line */
#define CLI_ERR_CONN 3          /* could not reach gpubroker / a local failure */
#define CLI_ERR_FAILED 4        /* the pod or job failed (or went away) while waiting */
#define CLI_ERR_TIMEOUT 5       /* a --wait or --timeout ran out */
#define CLI_ERR_NO_OFFER 6      /* place: no offer fits */
#define CLI_ERR_PLACEMENT 7     /* place: every attempt failed */
#define CLI_ERR_JOB_CANCELLED 8 /* jobs wait: the job was cancelled */
#define CLI_ERR_NOT_FOUND 9     /* HTTP 404 */
#define CLI_ERR_AUTH 10         /* HTTP 401 or 403: no key, a wrong key, a missing scope */
#define CLI_ERR_REFUSED 11      /* HTTP 409 or 422: a conflict, or a refusal (a provider's key) */
#define CLI_ERR_LIMITS 12       /* HTTP 402 or 429: money, a spend limit, a rate limit */
#define CLI_ERR_UNAVAILABLE 13  /* HTTP 502, 503 or 504: a provider failed or is unavailable */
#define CLI_ERR_SCHEMA 14       /* the database was written by a newer gpubroker */
#define CLI_EXIT_CODES                                                                             \
    "exit codes:\n"                                                                                \
    "   0 ok                        7 place: every attempt failed\n"                               \
    "   1 other server error (400)  8 jobs wait: cancelled\n"                                      \
    "   2 usage                     9 not found (404)\n"                                           \
    "   3 cannot reach gpubroker   10 auth: 401, 403\n"                                            \
    "   4 pod or job failed        11 conflict or refused: 409, 422\n"                             \
    "   5 timeout                  12 payment or limits: 402, 429\n"                               \
    "   6 place: no offer fits     13 provider or service unavailable: 502, 503, 504\n"            \
    "                              14 the database's schema is newer than this gpubroker\n"

/* The exit code for an HTTP error status (CLI_ERR_API for one without its own). */
int cli_exit_for_status(long status);
/* Set by cli_main when the command line holds --json: errors are then printed as
 * {"error":{"code":"...","message":"...","status":N}} on stderr (status 0 when no HTTP
 * answer was involved). */
extern int cli_json_errors;
/* Prints an error ("error: message" or the JSON object above) and returns exit. code is the
 * API's error code or the CLI's own (USAGE, CONNECTION, ...). */
int cli_error(int exit, const char *code, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Calls the API: method, path (e.g. "/api/volt/ssh-keys"), body (cJSON, not consumed, or NULL).
 * On 2xx returns CLI_OK with *out = parsed JSON (caller deletes). Otherwise prints
 * "error: <message> (HTTP <status> <code>)" to stderr (cli_error) and returns the exit code
 * for the status (cli_exit_for_status) or CLI_ERR_CONN. */
int cli_call(const char *method, const char *path, const cJSON *body, cJSON **out);

/* cli_call that also hands back the error body (the Volt error object) when the server
 * answered with an error; *err_body is NULL otherwise. The error is still printed. */
int cli_call_err(const char *method, const char *path, const cJSON *body, cJSON **out,
                 cJSON **err_body);
/* A GET-style call (no body) that prints nothing: the exit code as cli_call_err, the HTTP
 * status in *status (0 when there was no answer). For loops that decide themselves what an
 * error means (logs --follow). */
int cli_call_quiet(const char *method, const char *path, cJSON **out, cJSON **err_body,
                   long *status);
/* The CA file an https GPUBROKER_URL is verified against: --ca FILE, else GPUBROKER_CA_FILE,
 * else NULL (the system's CAs). cli_ca_option takes "--ca FILE" / "--ca=FILE" at argv[*i]
 * (moving *i past its value): 1 taken, 0 not --ca, -1 without a value. */
const char *cli_ca_file(void);
int cli_ca_option(int argc, char **argv, int *i);
/* Percent-encodes s for a query string (malloc'd). */
char *cli_url_escape(const char *s);

/* A column of a table: header, the JSON key to show, and how to show it. */
/* COL_MICROS: an exact amount in micro-dollars ("-$0.000417", at least two decimals) */
typedef enum { COL_STR, COL_NUM, COL_MONEY, COL_BOOL, COL_LIST, COL_TIME, COL_MICROS } col_kind;
typedef struct {
    const char *header;
    const char *key;
    col_kind kind;
} cli_col;

/* Prints arr (array of objects) as an aligned table, or "(none)". */
void cli_table(FILE *f, const cJSON *arr, const cli_col *cols, int ncols);
/* Prints one object as "key: value" lines in the order of cols. */
void cli_fields(FILE *f, const cJSON *obj, const cli_col *cols, int ncols);
/* Prints JSON on one line with a newline. */
void cli_print_json(FILE *f, const cJSON *j);

/* Prints "NAME=value" lines (what the daemon commands announce: GPUBROKER_URL=..., SIM_X_URL=...)
 * as they are, or with json as one object {"NAME":"value",...}. */
void cli_print_env(const char *lines, int json);
/* A --help text printed to stdout by every command. */
int cli_help(const char *text);
/* Prints help text in which "%P" stands for the list of platforms ("targon, volt, ..."). */
int cli_help_platforms(const char *text);
/* "targon, volt, lium, ..." from the one list of platforms (static storage). */
const char *cli_platforms(void);
/* "error: ..." on stderr, returns CLI_ERR_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads all of stdin up to max bytes, trimming one trailing newline; NULL on failure. */
char *cli_read_stdin(size_t max);
/* True if arg is "-h" or "--help". */
int cli_is_help(const char *arg);

/* A command-line option: "--name VALUE", "--name=VALUE" or a flag "--name". Repeated
 * options with has_arg collect up to CLI_MAX_MULTI values in vals. */
#define CLI_MAX_MULTI 32
typedef struct {
    const char *name; /* without the dashes */
    int has_arg;
    int set;
    const char *val; /* last value */
    const char *vals[CLI_MAX_MULTI];
    int nvals;
} cli_opt;

/* Parses argv[0..argc) into opts and positionals. "--help"/"-h" sets *help. Returns CLI_OK
 * or prints the problem and returns CLI_ERR_USAGE. */
int cli_parse(int argc, char **argv, cli_opt *opts, int nopts, const char **pos, int maxpos,
              int *npos, int *help);
cli_opt *cli_opt_get(cli_opt *opts, int nopts, const char *name);
/* The per-pod guards of a create: --max-duration (seconds, or 90m, 2h, 1d) and --max-cost
 * (dollars) into body's max_duration and max_cost when given. CLI_ERR_USAGE after printing
 * the problem. */
int cli_guard_args(cli_opt *opts, int nopts, cJSON *body);
#define CLI_FLAG(n)                                                                                \
    {                                                                                              \
        .name = (n), .has_arg = 0                                                                  \
    }
#define CLI_VALUE(n)                                                                               \
    {                                                                                              \
        .name = (n), .has_arg = 1                                                                  \
    }

#endif
