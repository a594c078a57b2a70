/* cli_util.h: what the CLI's client commands share: calling the daemon's API with
 * GPUBROKER_URL and GPUBROKER_API_KEY, reporting its errors, and printing tables or JSON. */
#ifndef GB_CLI_UTIL_H
#define GB_CLI_UTIL_H

#include <cjson/cJSON.h>
#include <stdio.h>

/* Exit codes shared by every command. */
#define CLI_OK 0
#define CLI_ERR_API 1   /* the server answered with an error */
#define CLI_ERR_USAGE 2 /* bad command line */
#define CLI_ERR_CONN 3  /* could not reach the server / local failure */

/* Calls the API: method, path (e.g. "/api/volt/ssh-keys"), body (cJSON, not consumed, or NULL).
 * On 2xx returns CLI_OK with *out = parsed JSON (caller deletes). Otherwise prints
 * "error: <message> (HTTP <status> <code>)" to stderr and returns CLI_ERR_API/CLI_ERR_CONN. */
int cli_call(const char *method, const char *path, const cJSON *body, cJSON **out);

/* cli_call that also hands back the error body (the Volt error object) when the server
 * answered with an error; *err_body is NULL otherwise. The error is still printed. */
int cli_call_err(const char *method, const char *path, const cJSON *body, cJSON **out,
                 cJSON **err_body);
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
