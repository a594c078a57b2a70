/* cli_util.c: the CLI's HTTP calls to the daemon and its table/JSON output. */
#include "broker/cli/cli_util.h"

#include "providers/provider.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/api/idem.h"
#include "common/http_client.h"
#include "common/ids.h"
#include "common/str.h"

int cli_is_help(const char *arg)
{
    return arg && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0);
}

int cli_help(const char *text)
{
    fputs(text, stdout);
    return CLI_OK;
}

const char *cli_platforms(void)
{
    static char list[256];
    if (!list[0]) {
        size_t n = 0;
        for (const char *const *k = prov_kinds(); *k && n + 32 < sizeof(list); k++)
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", *k);
    }
    return list;
}

int cli_help_platforms(const char *text)
{
    for (const char *p = text; *p; p++) {
        if (p[0] == '%' && p[1] == 'P') {
            fputs(cli_platforms(), stdout);
            p++;
        } else {
            fputc(*p, stdout);
        }
    }
    return CLI_OK;
}

int cli_json_errors;

int cli_exit_for_status(long status)
{
    switch (status) {
    case 404:
        return CLI_ERR_NOT_FOUND;
    case 401:
    case 403:
        return CLI_ERR_AUTH;
    case 409:
    case 422:
        return CLI_ERR_REFUSED;
    case 402:
    case 429:
        return CLI_ERR_LIMITS;
    case 502:
    case 503:
    case 504:
        return CLI_ERR_UNAVAILABLE;
    default:
        return CLI_ERR_API;
    }
}

static int verror(int exit, const char *code, long status, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (!cli_json_errors) {
        fprintf(stderr, "error: %s\n", msg);
        return exit;
    }
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddNumberToObject(e, "status", (double)status);
    cJSON_AddNumberToObject(e, "exit_code", exit);
    cli_print_json(stderr, o);
    cJSON_Delete(o);
    return exit;
}

int cli_error(int exit, const char *code, long status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(exit, code, status, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(CLI_ERR_USAGE, "USAGE", 0, fmt, ap);
    va_end(ap);
    return rc;
}

char *cli_read_stdin(size_t max)
{
    gb_buf b = {0};
    char chunk[4096];
    ssize_t n;
    while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0) {
        if (b.len + (size_t)n > max || gb_buf_append(&b, chunk, (size_t)n)) {
            if (b.data) gb_memzero(b.data, b.len);
            gb_buf_free(&b);
            return NULL;
        }
    }
    if (n < 0) {
        gb_buf_free(&b);
        return NULL;
    }
    char *s = gb_buf_take(&b);
    size_t l = s ? strlen(s) : 0;
    if (l && s[l - 1] == '\n') s[--l] = '\0';
    if (l && s[l - 1] == '\r') s[--l] = '\0';
    return s;
}

static const char *ca_opt; /* --ca FILE */

const char *cli_ca_file(void)
{
    const char *env = getenv("GPUBROKER_CA_FILE");
    return ca_opt ? ca_opt : env && *env ? env : NULL;
}

int cli_ca_option(int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strncmp(a, "--ca=", 5) == 0) return *(ca_opt = a + 5) ? 1 : -1;
    if (strcmp(a, "--ca") != 0) return 0;
    if (*i + 1 >= argc || !*argv[*i + 1]) return -1;
    ca_opt = argv[++*i];
    return 1;
}

int cli_call(const char *method, const char *path, const cJSON *body, cJSON **out)
{
    return cli_call_err(method, path, body, out, NULL);
}

static int call(const char *method, const char *path, const cJSON *body, cJSON **out,
                cJSON **err_body, int quiet, long *status);

int cli_call_err(const char *method, const char *path, const cJSON *body, cJSON **out,
                 cJSON **err_body)
{
    return call(method, path, body, out, err_body, 0, NULL);
}

int cli_call_quiet(const char *method, const char *path, cJSON **out, cJSON **err_body,
                   long *status)
{
    return call(method, path, NULL, out, err_body, 1, status);
}

static int call(const char *method, const char *path, const cJSON *body, cJSON **out,
                cJSON **err_body, int quiet, long *status)
{
    *out = NULL;
    if (status) *status = 0;
    if (err_body) *err_body = NULL;
    const char *base = getenv("GPUBROKER_URL");
    const char *key = getenv("GPUBROKER_API_KEY");
    if (!base || !*base) base = "http://127.0.0.1:8080";
    if (!key || !*key)
        return cli_error(CLI_ERR_USAGE, "USAGE", 0,
                         "GPUBROKER_API_KEY is not set (run `gpubroker init` or "
                         "`gpubroker sandbox` to get one)");
    char *url = gb_asprintf("%s%s", base, path);
    char *auth = gb_asprintf("X-API-Key: %s", key);
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    int rc = CLI_ERR_CONN;
    if (!url || !auth || (body && !text)) goto done;
    /* a create or charge carries a fresh Idempotency-Key, so retrying it is safe (idem.c) */
    char idem[64] = "", rnd[33];
    int safe = idem_covers(method, path);
    if (safe) {
        gb_random_base62(rnd, 32);
        snprintf(idem, sizeof(idem), "Idempotency-Key: cli-%s", rnd);
    }
    const char *hdrs[] = {auth,
                          "Content-Type: application/json",
                          "Accept: application/json",
                          "User-Agent: gpubroker-cli/" GPUBROKER_VERSION,
                          safe ? idem : NULL,
                          NULL};
    gb_http_req req = {.method = method,
                       .url = url,
                       .headers = hdrs,
                       .body = text,
                       .body_len = text ? strlen(text) : 0,
                       .timeout_ms = 120000,
                       .ca_file = cli_ca_file()};
    gb_http_policy pol = {
        .max_retries = safe ? 2 : -1, .max_retry_after_ms = 5000, .timeout_ms = 120000};
    gb_http_resp resp;
    gb_errmsg err = "";
    if (gb_http_do_retry(&req, &pol, safe, &resp, err, NULL) != GB_OK) {
        if (!quiet && resp.tls_untrusted)
            cli_error(CLI_ERR_CONN, "TLS", 0,
                      "cannot verify gpubroker at %s: %s; give the CA certificate that signed it "
                      "with --ca FILE or GPUBROKER_CA_FILE",
                      base, err);
        else if (!quiet)
            cli_error(CLI_ERR_CONN, "CONNECTION", 0, "cannot reach gpubroker at %s: %s", base, err);
        goto done;
    }
    cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
    if (status) *status = resp.status;
    if (resp.status >= 200 && resp.status < 300) {
        if (!j) {
            if (!quiet)
                cli_error(CLI_ERR_CONN, "NOT_JSON", resp.status,
                          "the server's answer is not JSON (HTTP %ld)", resp.status);
        } else {
            *out = j;
            j = NULL;
            rc = CLI_OK;
        }
    } else {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
        const char *msg = cJSON_IsString(m) ? m->valuestring : "request failed";
        rc = cli_exit_for_status(resp.status);
        if (!quiet && cli_json_errors)
            cli_error(rc, cJSON_IsString(c) ? c->valuestring : "HTTP_ERROR", resp.status, "%s",
                      msg);
        else if (!quiet)
            fprintf(stderr, "error: %s (HTTP %ld%s%s)\n", msg, resp.status,
                    cJSON_IsString(c) ? " " : "", cJSON_IsString(c) ? c->valuestring : "");
        if (err_body) {
            *err_body = j;
            j = NULL;
        }
    }
    cJSON_Delete(j);
    gb_http_resp_free(&resp);
done:
    if (auth) gb_memzero(auth, strlen(auth));
    free(auth);
    free(url);
    free(text);
    return rc;
}

void cli_print_json(FILE *f, const cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    if (t) {
        fputs(t, f);
        fputc('\n', f);
        free(t);
    }
}

void cli_print_env(const char *lines, int json)
{
    if (!json) {
        fputs(lines, stdout);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    for (const char *p = lines; *p;) {
        const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq && eq - p < 64) {
            char name[64];
            char *value = gb_strndup(eq + 1, (size_t)(end - eq - 1));
            gb_strlcpy(name, p, (size_t)(eq - p) + 1);
            if (value) cJSON_AddStringToObject(o, name, value);
            if (value) gb_memzero(value, strlen(value)); /* keys among them */
            free(value);
        }
        p = nl ? nl + 1 : end;
    }
    char *t = cJSON_PrintUnformatted(o);
    if (t) {
        puts(t);
        gb_memzero(t, strlen(t));
        free(t);
    }
    cJSON_Delete(o);
}

cli_opt *cli_opt_get(cli_opt *opts, int nopts, const char *name)
{
    for (int i = 0; i < nopts; i++)
        if (strcmp(opts[i].name, name) == 0) return &opts[i];
    return NULL;
}

int cli_parse(int argc, char **argv, cli_opt *opts, int nopts, const char **pos, int maxpos,
              int *npos, int *help)
{
    *npos = 0;
    *help = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            *help = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (*npos >= maxpos) return cli_usage_error("unexpected argument '%s'", a);
            pos[(*npos)++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        cli_opt *o = NULL;
        for (int k = 0; k < nopts; k++)
            if (strlen(opts[k].name) == nl && strncmp(opts[k].name, name, nl) == 0) o = &opts[k];
        if (!o) return cli_usage_error("unknown option '--%.*s' (see --help)", (int)nl, name);
        o->set = 1;
        if (!o->has_arg) {
            if (eq) return cli_usage_error("option '--%s' takes no value", o->name);
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) return cli_usage_error("option '--%s' needs a value", o->name);
        o->val = v;
        if (o->nvals >= CLI_MAX_MULTI) return cli_usage_error("too many '--%s' options", o->name);
        o->vals[o->nvals++] = v;
    }
    return CLI_OK;
}

char *cli_url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    gb_buf b = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || *p == ':' || *p == ',') {
            gb_buf_append(&b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            gb_buf_append(&b, e, 3);
        }
    }
    return gb_buf_take(&b);
}

int cli_guard_args(cli_opt *opts, int nopts, cJSON *body)
{
    cli_opt *d = cli_opt_get(opts, nopts, "max-duration");
    cli_opt *c = cli_opt_get(opts, nopts, "max-cost");
    if (d && d->set) {
        size_t len = strlen(d->val);
        int64_t unit = 1, n = 0;
        char num[16];
        char last = len ? d->val[len - 1] : '\0';
        if (last == 's' || last == 'm' || last == 'h' || last == 'd') {
            unit = last == 's' ? 1 : last == 'm' ? 60 : last == 'h' ? 3600 : 86400;
            len--;
        }
        if (len == 0 || len >= sizeof(num) ||
            (gb_strlcpy(num, d->val, len + 1), gb_parse_i64(num, 1, 31622400, &n)) ||
            n * unit < 60 || n * unit > 31622400)
            return cli_usage_error("--max-duration %s: give seconds or 90m, 2h, 1d (1 minute to "
                                   "366 days)",
                                   d->val);
        cJSON_AddNumberToObject(body, "max_duration", (double)(n * unit));
    }
    if (c && c->set) cJSON_AddStringToObject(body, "max_cost", c->val);
    return CLI_OK;
}
